"""The route table of Google's dialect, under ``/gemini/{v1,v1beta,v1beta1}`` and ``/{v1beta,v1beta1}``.

Both families of paths are served under every version (the SDK's Gemini API client calls ``v1``
with a custom base URL, Google's docs ``v1beta``; its Vertex AI client ``v1beta1``): the Gemini
API's ``models/...`` and Vertex AI's ``publishers/google/models/...``, the latter also under the
``projects/{p}/locations/{l}/`` of Google's Vertex REST docs. Nothing here collides with the OpenAI
routes (whose root ``/v1`` stays theirs).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway import keys
from gateway.gemini import content, models, operations
from gateway.gemini.dialect import PREFIX, ROOT_PREFIXES, VERSIONS
from gateway.gemini.names import NAMES, GoogleNames

MODEL = "/models/{model}"
GENERATION: tuple[tuple[str, Handler], ...] = (
    (":generateContent", content.generate_content),
    (":streamGenerateContent", content.stream_generate_content),
    (":predict", content.predict),
    (":predictLongRunning", operations.predict_long_running),
)
DEVELOPER: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/models", models.list_models),
    ("GET", MODEL, models.get_model),
    *(("POST", MODEL + method, handler) for method, handler in GENERATION),
    ("GET", MODEL + "/operations/{operation}", operations.get_operation),
    ("GET", "/operations/{operation}", operations.get_operation),
    # ``.+``: the SDK sends a plain-http URI back whole (files/http://host/.../files/<id>:download)
    ("GET", "/files/{file:.+}:download", operations.download_file),
)
VERTEX: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/models", models.list_publisher_models),
    ("GET", MODEL, models.get_publisher_model),
    *(("POST", MODEL + method, handler) for method, handler in GENERATION),
    ("POST", MODEL + ":fetchPredictOperation", operations.fetch_predict_operation),
    ("GET", MODEL + "/operations/{operation}", operations.get_vertex_operation),
)
PUBLISHERS = ("/publishers/google", "/projects/{project}/locations/{location}/publishers/google")


def bases() -> list[str]:
    """Every prefix and version the dialect is served under."""
    return [f"{PREFIX}/{v}" for v in VERSIONS] + list(ROOT_PREFIXES)


def add_gemini_routes(app: web.Application) -> None:
    """Register Google's dialect (the catalogue must be on the app: Google's names are checked
    against it here, at start)."""
    app[NAMES] = GoogleNames.load(app[keys.CATALOG])
    for base in bases():
        routes = [(m, base + p, h) for m, p, h in DEVELOPER]
        routes += [(m, base + publisher + p, h) for publisher in PUBLISHERS for m, p, h in VERTEX]
        for method, path, handler in routes:
            if method == "GET":
                app.router.add_get(path, handler)  # and HEAD (curl -I of a file's download URI)
            else:
                app.router.add_route(method, path, handler)
