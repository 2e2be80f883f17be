"""``[store]``: a Redis URL alone selects the Redis backend (the deployments' HA variants rely on it),
and a bad one is refused at start without the message repeating it (it may hold a password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings
from gateway.store.factory import store_for
from gateway.store.redis_store import RedisStore


def test_the_url_selects_redis_even_over_a_file_saying_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[store]\nbackend = "sqlite"\npath = "/data/gateway.sqlite3"\n')
    assert load_settings(path, environ={}).store.backend == "sqlite"
    settings = load_settings(path, environ={"GATEWAY_STORE_URL": "rediss://:pw@redis.example:6380/2"})
    assert (settings.store.backend, settings.store.prefix) == ("redis", "flow:")
    assert isinstance(store_for(settings.store), RedisStore)
    unix = load_settings(
        None, environ={"GATEWAY_STORE_URL": "unix:///run/redis.sock", "GATEWAY_STORE_PREFIX": "gw2:"}
    )
    assert (unix.store.backend, unix.store.prefix) == ("redis", "gw2:")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GATEWAY_STORE_BACKEND": "redis"}, 'store: backend "redis" needs url'),
        ({"GATEWAY_STORE_URL": "http://:hunter2@redis:6379"}, "store: url must start with redis://"),
        ({"GATEWAY_STORE_URL": "redis://r", "GATEWAY_STORE_PREFIX": "a b"}, "store: prefix must not contain"),
    ],
)
def test_bad_store_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(None, environ=environ)
    assert "hunter2" not in str(caught.value)
