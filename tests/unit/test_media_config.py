"""``[media]``'s storage backend settings: S3 chosen by its bucket, refused without one, and no
message that could repeat a secret pasted into the endpoint URL."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings
from gateway.media.backends import open_media_store
from gateway.media.storage import DiskMediaStore


def settings_of(tmp_path: Path, media: str, environ: dict[str, str] | None = None) -> object:
    path = tmp_path / "gateway.toml"
    path.write_text(f"[media]\n{media}\n")
    return load_settings(path, environ=environ or {})


def test_disk_is_the_default_and_a_bucket_selects_s3(tmp_path: Path) -> None:
    assert load_settings(None, environ={}).media.backend == "disk"
    media = load_settings(None, environ={"GATEWAY_MEDIA_S3_BUCKET": "results"}).media
    assert (media.backend, media.s3_bucket, media.s3_prefix) == ("s3", "results", "media/")
    env = {
        "GATEWAY_MEDIA_BACKEND": "s3",
        "GATEWAY_MEDIA_S3_BUCKET": "b",
        "GATEWAY_MEDIA_S3_ADDRESSING_STYLE": "path",
    }
    assert load_settings(None, environ=env).media.s3_addressing_style == "path"


def test_s3_without_a_bucket_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="s3_bucket"):
        settings_of(tmp_path, 'backend = "s3"')
    with pytest.raises(ConfigError, match="addressing"):
        load_settings(None, environ={"GATEWAY_MEDIA_S3_ADDRESSING_STYLE": "sideways"})


@pytest.mark.parametrize(
    ("endpoint", "complaint"),
    [
        ("https://AKIAEXAMPLE:wJalrXUtnSECRET@minio.internal:9000", "must not carry credentials"),
        ("ftp://AKIAEXAMPLE:wJalrXUtnSECRET@host", "http:// or https://"),
        ("minio.internal:9000", "http:// or https://"),
    ],
)
def test_a_bad_endpoint_is_refused_without_repeating_it(
    tmp_path: Path, endpoint: str, complaint: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_of(tmp_path, f'backend = "s3"\ns3_bucket = "b"\ns3_endpoint_url = "{endpoint}"')
    assert complaint in str(caught.value)
    assert "wJalrXUtn" not in str(caught.value) and "AKIAEXAMPLE" not in str(caught.value)


async def test_the_disk_store_needs_no_s3_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gateway.media.s3", None)  # as if aiobotocore were not installed
    async with open_media_store(load_settings(None, environ={}).media) as store:
        assert isinstance(store, DiskMediaStore)
    s3 = load_settings(None, environ={"GATEWAY_MEDIA_S3_BUCKET": "b"}).media
    with pytest.raises(ConfigError, match=r"flow-gateway\[s3\]"):
        async with open_media_store(s3):
            pass
