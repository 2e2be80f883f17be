"""Signing in to the console: the session cookie's flags, the cookie standing for the admin key on
``/admin`` (with a CSRF token on every change), the bearer key unchanged, signing out, and wrong
keys slowed down."""

from __future__ import annotations

from http.cookies import SimpleCookie

from aiohttp.test_utils import TestClient

from gateway.console.guard import COOKIE
from tests.console.conftest import ADMIN_KEY, ConsoleClient, sign_in

BEARER = {"Authorization": f"Bearer {ADMIN_KEY}"}
NEW_LICENCE = {"name": "from the console"}


async def licence_names(http: TestClient) -> list[str]:
    doc = await (await http.get("/admin/licences", headers=BEARER)).json()
    return [licence["name"] for licence in doc["data"]]


async def test_signing_in_sets_a_random_http_only_strict_cookie(http: TestClient) -> None:
    resp = await http.post("/console/session", json={"key": ADMIN_KEY})
    assert resp.status == 201
    assert resp.headers["Cache-Control"] == "no-store"
    morsel = SimpleCookie(resp.headers["Set-Cookie"])[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == "43200"  # [console] session_ttl: 12 h
    assert not morsel["secure"]  # plain HTTP here: a Secure cookie would never come back
    assert ADMIN_KEY not in resp.headers["Set-Cookie"] and len(morsel.value) >= 43
    doc = await resp.json()
    assert doc["signed_in"] is True and doc["csrf_header"] == "x-csrf-token"
    assert len(doc["csrf_token"]) >= 43 and doc["csrf_token"] != morsel.value
    assert ADMIN_KEY not in await resp.text()


async def test_the_session_tells_the_page_its_csrf_token_and_nobody_else(http: TestClient) -> None:
    signed = await sign_in(http)
    doc = await (await http.get("/console/session", headers=signed.headers())).json()
    assert doc["signed_in"] is True and doc["csrf_token"] == signed.csrf
    anonymous = await http.get("/console/session")
    assert anonymous.status == 200 and await anonymous.json() == {
        "object": "console.session",
        "signed_in": False,
    }
    forged = await http.get("/console/session", headers={"Cookie": f"{COOKIE}=forged"})
    assert (await forged.json())["signed_in"] is False


async def test_the_cookie_reads_the_admin_api_and_changes_need_the_csrf_token(http: TestClient) -> None:
    signed = await sign_in(http)
    assert (await http.get("/admin/licences", headers=signed.headers())).status == 200
    refused = await http.post("/admin/licences", json=NEW_LICENCE, headers=signed.headers())
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "csrf_token_invalid"
    wrong = await http.post(
        "/admin/licences", json=NEW_LICENCE, headers={**signed.headers(), "x-csrf-token": "guess"}
    )
    assert wrong.status == 403
    assert NEW_LICENCE["name"] not in await licence_names(http)  # refused before the handler ran
    made = await http.post("/admin/licences", json=NEW_LICENCE, headers=signed.headers(csrf=True))
    assert made.status == 201
    licence_id = (await made.json())["id"]
    for method in ("PATCH", "DELETE"):
        body = {"notes": "x"} if method == "PATCH" else None
        path = f"/admin/licences/{licence_id}"
        assert (await http.request(method, path, json=body, headers=signed.headers())).status == 403
        assert (await http.request(method, path, json=body, headers=signed.headers(csrf=True))).status == 200


async def test_one_sessions_csrf_token_does_not_serve_another_session(http: TestClient) -> None:
    first, second = await sign_in(http), await sign_in(http)
    crossed = {**second.headers(), "x-csrf-token": first.csrf}
    assert (await http.post("/admin/licences", json=NEW_LICENCE, headers=crossed)).status == 403


async def test_the_bearer_key_works_as_before_and_wins_over_a_cookie(http: TestClient) -> None:
    assert (await http.post("/admin/licences", json=NEW_LICENCE, headers=BEARER)).status == 201  # no CSRF
    assert (await http.get("/admin/licences", headers={"x-admin-key": ADMIN_KEY})).status == 200
    signed = await sign_in(http)
    wrong_bearer = {**signed.headers(csrf=True), "Authorization": "Bearer sk-admin-wrong"}
    assert (await http.get("/admin/licences", headers=wrong_bearer)).status == 401
    assert (await http.get("/admin/licences")).status == 401


async def test_signing_out_ends_the_session_on_the_server(http: TestClient) -> None:
    signed = await sign_in(http)
    without_token = await http.delete("/console/session", headers=signed.headers())
    assert without_token.status == 403
    assert (await http.get("/admin/licences", headers=signed.headers())).status == 200  # still signed in
    out = await http.delete("/console/session", headers=signed.headers(csrf=True))
    assert out.status == 204
    cleared = SimpleCookie(out.headers["Set-Cookie"])[COOKIE]
    assert cleared.value == "" and cleared["max-age"] == "0"
    replayed = await http.get("/admin/licences", headers=signed.headers())  # a copy of the old cookie
    assert replayed.status == 401
    again = await http.get("/console/session", headers=signed.headers())
    assert (await again.json())["signed_in"] is False


async def test_a_wrong_key_signs_nobody_in(http: TestClient) -> None:
    resp = await http.post("/console/session", json={"key": "sk-admin-wrong"})
    assert resp.status == 401 and "Set-Cookie" not in resp.headers
    assert (await resp.json())["error"]["code"] == "invalid_api_key"


async def test_signing_in_takes_json_only(http: TestClient) -> None:
    # A cross-site HTML form can post a form encoding or text/plain, never application/json.
    form = await http.post("/console/session", data={"key": ADMIN_KEY})
    plain = await http.post(
        "/console/session", data=f'{{"key": "{ADMIN_KEY}"}}', headers={"Content-Type": "text/plain"}
    )
    for resp in (form, plain):
        assert resp.status == 400 and "Set-Cookie" not in resp.headers
    for body in ({"key": 5}, ["key"], {}):
        assert (await http.post("/console/session", json=body)).status == 400


async def test_wrong_keys_lock_the_address_out_for_sign_in_and_bearer_alike(
    console_client: ConsoleClient,
) -> None:
    http = await console_client({"GATEWAY_CONSOLE_FREE_ATTEMPTS": "2"})
    assert (await http.get("/admin/licences")).status == 401  # no key at all: no guess, not counted
    for _ in range(2):
        assert (await http.post("/console/session", json={"key": "sk-admin-guess"})).status == 401
    assert (await http.get("/admin/licences", headers={"x-admin-key": "sk-admin-guess"})).status == 401
    locked = await http.post("/console/session", json={"key": ADMIN_KEY})  # even the right key waits
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert (await locked.json())["error"]["code"] == "rate_limit_exceeded"
    assert (await http.get("/admin/licences", headers=BEARER)).status == 429


async def test_forwarded_addresses_count_only_behind_a_trusted_proxy(console_client: ConsoleClient) -> None:
    trusting = await console_client({"GATEWAY_CONSOLE_FREE_ATTEMPTS": "1", "GATEWAY_TRUST_FORWARDED": "true"})
    guess = {"key": "sk-admin-guess"}
    for _ in range(2):
        await trusting.post("/console/session", json=guess, headers={"X-Forwarded-For": "198.51.100.7"})
    other = {"X-Forwarded-For": "203.0.113.1, 198.51.100.9"}  # the proxy appended the last entry
    assert (await trusting.post("/console/session", json={"key": ADMIN_KEY}, headers=other)).status == 201
    spoofed = {"X-Forwarded-For": "198.51.100.7, 198.51.100.7"}
    assert (await trusting.post("/console/session", json={"key": ADMIN_KEY}, headers=spoofed)).status == 429

    direct = await console_client({"GATEWAY_CONSOLE_FREE_ATTEMPTS": "1"})
    for i in range(2):  # untrusted: the header is ignored, every guess is the peer's
        await direct.post("/console/session", json=guess, headers={"X-Forwarded-For": f"192.0.2.{i}"})
    assert (await direct.post("/console/session", json={"key": ADMIN_KEY})).status == 429


async def test_the_cookie_is_secure_over_tls_as_a_trusted_proxy_says(console_client: ConsoleClient) -> None:
    https = {"X-Forwarded-Proto": "https"}

    async def secure(http: TestClient, headers: dict[str, str]) -> bool:
        resp = await http.post("/console/session", json={"key": ADMIN_KEY}, headers=headers)
        return bool(SimpleCookie(resp.headers["Set-Cookie"])[COOKIE]["secure"])

    trusting = await console_client({"GATEWAY_TRUST_FORWARDED": "true"})
    assert await secure(trusting, https) is True
    assert await secure(trusting, {}) is False
    untrusting = await console_client()
    assert await secure(untrusting, https) is False  # anyone can send the header
    always = await console_client({"GATEWAY_CONSOLE_SECURE_COOKIE": "always"})
    assert await secure(always, {}) is True
