"""The console in a real browser: Debian's Chromium (headless, driven by Playwright, no browser
download) against a gateway on the simulator. An operator signs in by keyboard, adds and disables
an account, creates a licence (its key shown once), generates an image and a video in the
playground, finds them under Tasks and Usage, enrols a worker (which then connects with the token
the page showed) and revokes it, reads the audit trail and signs out; a POST with the
cookie but no CSRF token is refused; the pages are labelled for screen readers and fit a phone.
Screenshots of every page go to ``tests/console/artifacts/``. Skipped only outside CI when the
browser or Playwright is missing (as ``tests/e2e/test_real_browser.py``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.console.guard import COOKIE
from gateway.simulator import SimAccount
from tests.conftest import SimHandle
from tests.console.conftest import ADMIN_KEY, ConsoleClient
from tests.support.scripted_worker import ScriptedWorker, WorkerAccount

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FAST = {
    "GATEWAY_TASKS_POLL_INTERVAL": "0.1",
    "GATEWAY_TASKS_POLL_AFTER_MS": "50",
    "GATEWAY_TASKS_LINK_DELAY": "0.05",
    "GATEWAY_POOL_SYNC_INTERVAL": "0.1",
}
NEW_TOKEN = "st-console-1"  # the simulator knows it; the gateway learns it in the browser
CONFIGURED = "".join(
    f'[[accounts]]\nlabel = "{label}"\nsession_token = "{token}"\ngroups = ["ultra"]\n\n'
    for label, token in (("ultra1", "st-ultra-1"), ("ultra2", "st-ultra-2"))
)
# Every form control has a name a screen reader can say; the landmarks are there.
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !el.textContent.trim())
  .map((el) => el.outerHTML.slice(0, 80))"""
LANDMARKS = """() => ({main: !!document.querySelector('main'),
  nav: document.querySelector('nav')?.getAttribute('aria-label'),
  banner: !!document.querySelector('body > header'), live: !!document.querySelector('[aria-live]')})"""


def _require_browser() -> None:
    missing = not Path(CHROMIUM).exists()
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium and Playwright (.ci/run installs them)")
        pytest.skip("Chromium or Playwright is not installed")


@pytest.fixture
def sim_accounts(sim_accounts: list[SimAccount]) -> list[SimAccount]:
    return [*sim_accounts, SimAccount(NEW_TOKEN, "console1@example.com", "PAYGATE_TIER_TWO", credits=1000)]


@pytest.fixture
async def gateway(console_client: ConsoleClient) -> TestClient:
    return await console_client(FAST, accounts=CONFIGURED)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _require_browser()
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


async def shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def open_page(page: Any, name: str) -> None:
    from playwright.async_api import expect

    await page.get_by_role("navigation", name="Console pages").get_by_role("link", name=name).click()
    await expect(page.get_by_role("heading", level=1, name=name)).to_be_focused()  # announced on arrival
    assert await page.evaluate(UNLABELLED) == [], f"unlabelled controls on {name}"


async def sign_in_by_keyboard(page: Any, base: str) -> None:
    from playwright.async_api import expect

    await page.goto(base + "/console")
    await expect(page.get_by_label("Admin key")).to_be_focused()
    await shot(page, "sign-in")
    await page.keyboard.type("sk-admin-wrong")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert").filter(has_text="not the admin key")).to_be_visible()
    await page.keyboard.type(ADMIN_KEY)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()


async def add_and_disable_an_account(page: Any) -> None:
    from playwright.async_api import expect

    await open_page(page, "Accounts")
    await page.get_by_text("Add an account").click()
    await page.get_by_label("Label", exact=True).fill("console-added")
    await page.get_by_label("Session token").fill(NEW_TOKEN)
    await page.get_by_label("Groups").first.fill("ultra")
    await page.get_by_role("button", name="Add the account").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("button", name="console-added"))
    await expect(row).to_be_visible()
    await row.get_by_role("button", name="Disable").click()
    await expect(row.get_by_role("button", name="Enable")).to_be_visible()
    await expect(row.get_by_text("disabled", exact=True)).to_be_visible()
    await shot(page, "accounts")


async def create_a_licence(page: Any) -> str:
    from playwright.async_api import expect

    await open_page(page, "Licences")
    await page.get_by_label("Name").fill("Team B")
    await page.get_by_label("Models").fill("nano_banana*, veo_3_1*")
    await page.get_by_label("Credits per day").fill("500")
    await page.get_by_role("button", name="Create the licence").click()
    dialog = page.get_by_role("dialog", name="Licence Team B")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Copy the key")).to_be_visible()
    key: str = await dialog.get_by_test_id("issued-key").inner_text()
    assert key.startswith("sk-flow-")
    await shot(page, "licence-key-once")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has_text="Team B")
    await expect(row).to_contain_text("500 of 500")  # nothing spent yet
    await expect(page.get_by_test_id("issued-key")).to_have_count(0)  # the closed dialog is removed
    assert key not in await page.content()  # shown once: gone with its dialog
    await shot(page, "licences")
    return key


async def generate(page: Any, model: str, expect_role: str) -> None:
    from playwright.async_api import expect

    await page.get_by_label("Model and variant").select_option(model)
    await page.get_by_label("Prompt").fill(f"a red fox in snow ({model})")
    await page.get_by_role("button", name="Generate").click()
    result = page.locator("section").filter(has=page.get_by_role("heading", name="Result"))
    await expect(result.locator(expect_role)).to_be_visible(timeout=20_000)
    await expect(page.get_by_role("button", name="Generate")).to_be_enabled()


async def use_the_playground(page: Any, licence_key: str) -> None:
    from playwright.async_api import expect

    await open_page(page, "Playground")
    await page.get_by_label("Licence key").fill(licence_key)
    await page.get_by_role("button", name="Load the models").click()
    await expect(page.get_by_label("Model and variant")).to_be_enabled()
    await generate(page, "nano_banana-landscape", "img")
    image = page.get_by_role("img", name="Generated image 1")
    assert await image.evaluate("img => img.complete && img.naturalWidth > 0")  # it really loaded
    await shot(page, "playground-image")
    await generate(page, "veo_3_1-landscape-fast", "video")
    link = page.get_by_role("link", name="Download the video")
    assert (await link.get_attribute("href") or "").startswith("blob:")
    await shot(page, "playground")


async def find_them_under_tasks_and_usage(page: Any, licence_id: str) -> None:
    from playwright.async_api import expect

    await open_page(page, "Tasks")
    rows = page.get_by_role("row").filter(has_text=licence_id)
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="nano_banana-landscape")).to_contain_text("completed")
    video_row = rows.filter(has_text="veo_3_1-landscape-fast")
    await expect(video_row).to_contain_text("completed")
    await video_row.get_by_role("button").first.click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.locator("video")).to_be_visible()
    assert (await dialog.locator("video").get_attribute("src") or "").startswith("/console/media/vid_")
    await shot(page, "tasks-inspect")
    await page.keyboard.press("Escape")
    await shot(page, "tasks")

    await open_page(page, "Usage")
    await page.get_by_label("Group by").select_option("licence_id")
    await page.get_by_role("button", name="Show").click()
    row = page.get_by_role("row").filter(has_text=licence_id)
    await expect(row).to_be_visible()
    assert (await row.get_by_role("cell").nth(0).inner_text()) == "2"  # requests: the image and the video
    await expect(page.get_by_role("img", name="Flow credits by licence")).to_be_visible()
    csv = await page.get_by_role("link", name="Download as CSV").get_attribute("href")
    assert csv is not None and "format=csv" in csv and "group_by=licence_id" in csv
    await shot(page, "usage")


async def enrol_a_worker(page: Any, gateway: TestClient, simulator: SimHandle) -> None:
    from playwright.async_api import expect

    await open_page(page, "Workers")
    await expect(page.get_by_text("No worker is connected.")).to_be_visible()
    await page.get_by_label("Worker name").fill("kitchen laptop")
    await page.get_by_role("button", name="Enrol").click()
    dialog = page.get_by_role("dialog", name="Worker kitchen laptop")
    token = await dialog.get_by_test_id("enrolment-token").inner_text()
    assert token.startswith("fwe_")
    command = await dialog.locator("pre").inner_text()
    assert f'--secret "{token}"' in command and "/flow/v1/flow-worker" in command
    await shot(page, "workers-enrol")
    await page.keyboard.press("Escape")
    url = str(gateway.make_url("/flow/v1/flow-worker")).replace("http", "ws", 1) + f"?key={token}"
    account = WorkerAccount("acct-browser", "st-ultra-1", simulator.sim.project_of("st-ultra-1"))
    worker = ScriptedWorker(url, simulator.url, [account])
    await worker.start()  # the worker presents the token the page showed
    try:
        await open_page(page, "Workers")
        await expect(page.get_by_role("row").filter(has_text="acct-browser")).to_be_visible()
        enrolled = page.get_by_role("row").filter(has_text="kitchen laptop")
        await expect(enrolled).to_contain_text("connected")
        await shot(page, "workers")
        page.once("dialog", lambda confirm: confirm.accept())
        await enrolled.get_by_role("button", name="Revoke").click()
        await expect(enrolled).to_contain_text("revoked")
    finally:
        await worker.stop()


async def test_an_operator_day_in_the_console(
    gateway: TestClient, browser: Any, simulator: SimHandle
) -> None:
    from playwright.async_api import expect

    base = str(gateway.make_url("")).rstrip("/")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    await sign_in_by_keyboard(page, base)
    cookie = next(c for c in await context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert await page.evaluate("document.cookie") == ""  # no script can read the session
    assert await page.evaluate("localStorage.length + sessionStorage.length") == 0  # nor a kept key
    assert ADMIN_KEY not in await page.content()
    assert await page.evaluate(LANDMARKS) == {
        "main": True,
        "nav": "Console pages",
        "banner": True,
        "live": True,
    }
    await expect(page.get_by_text("active", exact=True).first).to_be_visible()
    await shot(page, "overview")

    await add_and_disable_an_account(page)
    licence_key = await create_a_licence(page)
    licence_id = (
        await page.get_by_role("row").filter(has_text="Team B").locator("small").inner_text()
    ).split(" ")[0]
    await use_the_playground(page, licence_key)
    await find_them_under_tasks_and_usage(page, licence_id)
    await open_page(page, "Overview")
    await expect(page.get_by_text("Upstream outcomes")).to_be_visible()
    await shot(page, "overview-after-work")
    await enrol_a_worker(page, gateway, simulator)
    await open_page(page, "Audit")
    await expect(
        page.get_by_role("row").filter(has_text="licence.create").filter(has_text=licence_id)
    ).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text="account.disable")).to_be_visible()
    await shot(page, "audit")

    # The cookie alone changes nothing: a POST without the CSRF token is refused.
    status = await page.evaluate(
        """() => fetch('/admin/licences', {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({name: 'forged'})}).then((r) => r.status)"""
    )
    assert status == 403

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Admin key")).to_be_visible()
    assert not [c for c in await context.cookies() if c["name"] == COOKIE]
    replayed = await gateway.get("/admin/licences", headers={"Cookie": f"{COOKIE}={cookie['value']}"})
    assert replayed.status == 401  # revoked on the server, not only forgotten by the browser
    assert errors == []
    await context.close()


async def test_the_console_fits_a_phone(gateway: TestClient, browser: Any) -> None:
    from playwright.async_api import expect

    base = str(gateway.make_url("")).rstrip("/")
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    await page.goto(base + "/console/")
    await page.get_by_label("Admin key").fill(ADMIN_KEY)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("active", exact=True).first).to_be_visible()
    for name in ("Overview", "Accounts", "Licences"):
        await open_page(page, name)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways on a phone"
        await shot(page, f"phone-{name.lower()}")
    await context.close()
