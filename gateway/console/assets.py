"""The console's static files: hand-written HTML, CSS and JavaScript modules shipped in the package
(``gateway/console/static``), read once when the app is built; nothing is built at install time
and nothing is fetched from elsewhere at run time.

Every file is served under ``/console/static/<version>/``, ``version`` being a hash of the whole
bundle. A path rather than ``?v=``: the modules import each other by relative URLs, which then
carry the version too, so a browser never mixes an old module with a new one. Those responses are
cached for a year (``immutable``); the page itself (``index.html``, which names the version) is
``no-cache``, so an upgrade is seen at the next load. Text files are also kept gzipped, for slow
links.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).parent / "static"
INDEX = "index.html"
TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
}
VERSION_CHARS = 12  # 48 bits of the bundle's hash: enough to tell releases apart
MIN_GZIP = 512  # smaller files gain nothing worth a Content-Encoding


@dataclass(frozen=True, slots=True)
class Asset:
    """One file: its bytes, its gzipped bytes (when worth it) and its media type."""

    body: bytes
    gzipped: bytes | None
    content_type: str


def _asset(body: bytes, suffix: str) -> Asset:
    packed = gzip.compress(body, compresslevel=9, mtime=0) if len(body) >= MIN_GZIP else None
    return Asset(body, packed if packed is not None and len(packed) < len(body) else None, TYPES[suffix])


@dataclass(frozen=True, slots=True)
class AssetBundle:
    """The console's files by their path under ``static/``, the bundle's version, and the page."""

    files: Mapping[str, Asset]
    version: str
    index: Asset

    @classmethod
    def load(cls, *, mount: str, api_base: str, root: Path = STATIC) -> AssetBundle:
        """Read every file under ``root``; the page names ``mount/static/<version>`` and ``api_base``."""
        raw = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file() and path.suffix in TYPES
        }
        digest = hashlib.sha256()
        for name, body in raw.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
        version = digest.hexdigest()[:VERSION_CHARS]
        page = (
            raw.pop(INDEX)
            .decode()
            .replace("{{static}}", f"{mount}/static/{version}")
            .replace("{{api_base}}", api_base)
        )
        files = {name: _asset(body, Path(name).suffix) for name, body in raw.items()}
        return cls(files, version, _asset(page.encode(), ".html"))
