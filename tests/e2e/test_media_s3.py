"""The gateway with its media in S3 (``GATEWAY_MEDIA_S3_BUCKET`` alone selects it), against moto's
S3 server over real HTTP: an image and a video generated against the simulator are stored in the
bucket, nothing on disk, and served from it (the video streamed, ``Range`` honoured); two gateways on
one Redis and one bucket each serve what the other made; S3 refusing answers 503 ``media_unavailable``
in the caller's dialect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yarl
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.config import Settings
from tests.e2e.test_videos_http import FAST, finished
from tests.support.redis_server import RedisServer, unique_prefix
from tests.support.s3_server import CREDENTIALS, S3Server, make_bucket, s3_client

AppFactory = Callable[[Settings], web.Application]


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway reads S3 credentials from the standard AWS environment, as in production."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


async def started(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def keys_in(server: S3Server, bucket: str) -> list[str]:
    async with s3_client(server) as client:
        listed = await client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


async def make_image_and_video(http: TestClient, auth: dict[str, str]) -> tuple[yarl.URL, str]:
    body = {"model": "nano_banana", "prompt": "a fox", "response_format": "url"}
    resp = await http.post("/v1/images/generations", json=body, headers=auth)
    assert resp.status == 200, await resp.text()
    image = yarl.URL((await resp.json())["data"][0]["url"])
    resp = await http.post("/flow/v1/videos", json={"prompt": "a fox", "model": "veo_3_1-fast"}, headers=auth)
    video_id = (await resp.json())["id"]
    assert (await finished(http, auth, video_id))["status"] == "completed"
    return image, video_id


async def served(http: TestClient, auth: dict[str, str], image: yarl.URL, video_id: str) -> dict[str, Any]:
    """What the gateway serves of the image and the video, checked along the way."""
    picture = await http.get(image.path_qs)
    assert picture.status == 200 and picture.headers["Content-Type"] == "image/jpeg"
    content = await http.get(f"/flow/v1/videos/{video_id}/content", headers=auth)
    assert content.status == 200 and content.headers["Content-Type"] == "video/mp4"
    video = await content.read()
    assert video[4:8] == b"ftyp" and int(content.headers["Content-Length"]) == len(video)
    part = await http.get(f"/flow/v1/videos/{video_id}/content", headers={**auth, "Range": "bytes=4-7"})
    assert (part.status, await part.read()) == (206, b"ftyp")
    assert part.headers["Content-Range"] == f"bytes 4-7/{len(video)}"
    tail = await http.get(f"/flow/v1/videos/{video_id}/content", headers={**auth, "Range": "bytes=-16"})
    assert (tail.status, await tail.read()) == (206, video[-16:])
    past = await http.get(
        f"/flow/v1/videos/{video_id}/content", headers={**auth, "Range": f"bytes={len(video)}-"}
    )
    assert (past.status, past.headers["Content-Range"]) == (416, f"bytes */{len(video)}")
    head = await http.head(f"/flow/v1/videos/{video_id}/content", headers=auth)
    assert (head.status, head.headers["Content-Length"], await head.read()) == (200, str(len(video)), b"")
    assert (await past.json())["error"]["code"] == "range_not_satisfiable"
    return {"image": await picture.read(), "video": video}


async def test_images_and_videos_are_stored_in_s3_and_served_from_it(
    settings_factory: Callable[..., Settings],
    app_factory: AppFactory,
    s3_server: S3Server,
    licence_key: str,
    tmp_path: Path,
) -> None:
    bucket = await make_bucket(s3_server)
    settings = settings_factory({**FAST, "GATEWAY_MEDIA_S3_BUCKET": bucket, **s3_server.environment(bucket)})
    assert settings.media.backend == "s3"
    auth = {"Authorization": f"Bearer {licence_key}"}
    http = await started(app_factory(settings))
    try:
        assert await http.app[keys.MEDIA].path("img_" + "a" * 26) is None  # no local file: streamed
        image, video_id = await make_image_and_video(http, auth)
        got = await served(http, auth, image, video_id)
        stored = await keys_in(s3_server, bucket)
        assert f"media/{image.path.rsplit('/', 1)[-1]}.jpg" in stored
        assert any(key.startswith("media/vid_") and key.endswith(".mp4") for key in stored)
        assert any(key.startswith("media/pst_") for key in stored)  # the poster
        thumbnail = await http.get(f"/flow/v1/videos/{video_id}/content?variant=thumbnail", headers=auth)
        assert thumbnail.status == 200 and thumbnail.headers["Content-Type"].startswith("image/")
        assert len(got["image"]) > 0
    finally:
        await http.close()
    assert not (tmp_path / "media").exists()  # nothing was written to the disk store's root


async def test_two_gateways_on_one_bucket_serve_each_others_results(
    settings_factory: Callable[..., Settings],
    app_factory: AppFactory,
    s3_server: S3Server,
    redis_server: RedisServer,
    licence_key: str,
) -> None:
    bucket = await make_bucket(s3_server)
    env = {
        **FAST,
        **s3_server.environment(bucket),
        "GATEWAY_STORE_URL": redis_server.url,
        "GATEWAY_STORE_PREFIX": unique_prefix(),
    }
    auth = {"Authorization": f"Bearer {licence_key}"}
    first = await started(app_factory(settings_factory(env)))
    second = await started(app_factory(settings_factory(env)))
    try:
        image, video_id = await make_image_and_video(first, auth)
        from_first = await served(first, auth, image, video_id)
        from_second = await served(second, auth, image, video_id)
        assert from_second == from_first
    finally:
        await first.close()
        await second.close()


async def test_s3_refusing_is_a_503_in_the_callers_dialect(
    settings_factory: Callable[..., Settings],
    app_factory: AppFactory,
    s3_server: S3Server,
    licence_key: str,
) -> None:
    # The bucket does not exist: S3 refuses every write (as with wrong credentials or a 5xx).
    http = await started(app_factory(settings_factory({**FAST, **s3_server.environment("no-such-bucket")})))
    try:
        body = {"model": "nano_banana", "prompt": "a fox", "response_format": "url"}
        resp = await http.post(
            "/v1/images/generations", json=body, headers={"Authorization": f"Bearer {licence_key}"}
        )
        assert resp.status == 503 and resp.headers["Retry-After"] == "2"
        assert (await resp.json())["error"] == {
            "message": "the media storage refused the request; try again shortly",
            "type": "server_error",
            "param": None,
            "code": "media_unavailable",
        }
        google = await http.post(
            "/v1beta/models/gemini-2.5-flash-image:generateContent",
            json={"contents": [{"parts": [{"text": "a fox"}]}]},
            headers={"x-goog-api-key": licence_key},
        )
        assert google.status == 503 and google.headers["Retry-After"] == "2"
        assert (await google.json())["error"]["status"] == "UNAVAILABLE"
    finally:
        await http.close()
