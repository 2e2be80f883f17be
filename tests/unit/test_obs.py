from typing import Any

import pytest

from gateway.config import LicenceSettings
from gateway.licensing import KEY_PREFIX, LicenceRegistry, hash_key, new_licence_key
from gateway.obs.redact import MASK, redact, redact_processor, scrub


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer ya29.fake-secret", "ya29.fake-secret"),
        ("bearer abcdefghijklmnop", "abcdefghijklmnop"),
        ("Cookie: __Secure-next-auth.session-token=eyJfake.xyz; other=1", "eyJfake.xyz"),
        ("key sk-flow-AbCdEfGhIjKlMnOp_qr-st used", "sk-flow-AbCdEfGhIjKlMnOp_qr-st"),
        ('{"token": "0cAFcWeyJ0eXAiOiJKV1QiLCJhbGciOi"}', "0cAFcWeyJ0eXAiOiJKV1QiLCJhbGciOi"),
        ("SAPISID=AbCdEf123/xyz; SID=g.a000abc", "AbCdEf123/xyz"),
        ("__Secure-1PSID=g.a000abcdef; x", "g.a000abcdef"),
    ],
)
def test_scrub(text: str, secret: str) -> None:
    cleaned = scrub(text)
    assert secret not in cleaned
    assert MASK in cleaned


def test_plain_text_untouched() -> None:
    for text in ("image_generate", "upstream_attempt_failed on acc_1a2b3c", "model=nano_banana-4K"):
        assert scrub(text) == text


def test_redact_keys_recursively() -> None:
    event: dict[str, Any] = {
        "event": "x",
        "headers": {"Authorization": "Bearer abc", "Content-Type": "json"},
        "items": [{"session_token": "st"}, "fine"],
        "access_token": "ya29.zzz",
        "count": 3,
    }
    out = redact_processor(None, "info", event)
    assert out["headers"] == {"Authorization": MASK, "Content-Type": "json"}
    assert out["items"] == [{"session_token": MASK}, "fine"]
    assert out["access_token"] == MASK
    assert out["count"] == 3
    assert redact({"token": ""}) == {"token": ""}


def test_licence_keys() -> None:
    key = new_licence_key()
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 43
    assert new_licence_key() != key
    registry = LicenceRegistry([LicenceSettings(id="a", key_sha256=hash_key(key), name="Alice")])
    found = registry.authenticate(key)
    assert found is not None and (found.id, found.name) == ("a", "Alice")
    assert key not in repr(found)
    assert registry.authenticate(key + "x") is None
    assert registry.authenticate("") is None
    assert registry.authenticate("x" * 10_000) is None


def test_redaction_by_field_skips_our_own_names_but_never_free_text() -> None:
    token = "ya29." + "a" * 40
    ours = redact_processor(
        None,
        "info",
        {"event": "upstream_call", "route": "/v1/images", "path": f"/x?key={token}", "msg": token},
    )
    assert ours["event"] == "upstream_call" and ours["route"] == "/v1/images"
    assert token not in ours["path"] and token not in ours["msg"]
    # A record from a third-party library (stdlib logging) carries its message in ``event``: scrubbed.
    foreign = redact_processor(None, "info", {"event": f"GET /?access_token={token}", "_record": object()})
    assert token not in foreign["event"]
