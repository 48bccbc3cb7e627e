"""The progressive web app in a real browser: what a first visit costs on the wire,
the offline page when the network drops, and what the service worker keeps."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from webapp.assets import assets

from .conftest import LiveServer
from .pages import LANGUAGES, PASSWORD, Ui, unique_email

pytestmark = pytest.mark.e2e

BUDGET = 30 * 1024
TENANTS = ("velzio", "elektrum")

CACHED_PATHS = """async () => {
  const paths = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      paths.push(url.pathname + url.search);
    }
  }
  return paths;
}"""


# What a browser fetches when it considers offering to install the app.
INSTALL_FETCHES = """async () => {
  const link = document.querySelector("link[rel=manifest]");
  const manifest = await (await fetch(link.href)).json();
  const icon = manifest.icons.find((icon) => icon.sizes === "192x192");
  await (await fetch(new URL(icon.src, link.href))).arrayBuffer();
}"""


# The one cache left once a newer worker has taken over (polled in the page).
NEXT_CACHE = """async (old) => {
  for (let tries = 0; tries < 100; tries++) {
    const names = await caches.keys();
    if (names.length === 1 && names[0] !== old) return names[0];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}"""


def wait_for_service_worker(page: Page) -> None:
    """Until the utility's worker is installed (its files kept), active and in
    charge of this page."""
    page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.active.state)")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


class WireCount:
    """WSGI middleware in front of the app: each response as it leaves the app
    (path, status, Content-Encoding, body bytes after compression, header bytes)."""

    def __init__(self, app):
        self.app = app
        self.sent: list[tuple[str, int, str, int, int]] = []

    def __call__(self, environ, start_response):
        query = environ.get("QUERY_STRING")
        path = environ["PATH_INFO"] + (f"?{query}" if query else "")
        seen = {}

        def start(status, headers, exc_info=None):
            seen["status"], seen["headers"] = int(status.split()[0]), headers
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        size = 0
        try:
            for chunk in body:
                size += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()
        headers = seen.get("headers", [])
        encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "-")
        header_bytes = sum(len(k) + len(v) + 4 for k, v in headers)
        self.sent.append((path, seen.get("status", 0), encoding, size, header_bytes))


@pytest.fixture(scope="module")
def counted_server(live_server_factory) -> tuple[LiveServer, WireCount]:
    """An app of its own whose every response is counted."""
    server = live_server_factory()
    counter = WireCount(server.app.wsgi_app)
    server.app.wsgi_app = counter
    return server, counter


@pytest.mark.parametrize("tenant", TENANTS)
def test_first_visit_to_registration_page_is_at_most_30_kb(page, counted_server, tenant):
    """Cold cache (a new browser context), everything the app sends for a first
    visit: the page, its stylesheets and scripts, the logo, the service worker and
    what it keeps for offline use, and the manifest with its 192 px icon (which a
    browser fetches to offer installation; headless Chromium does not, so the test
    asks for them). Bodies as they leave the app, compressed; headers are reported
    apart (HTTP/2 and HTTP/3 compress them)."""
    server, counter = counted_server
    counter.sent.clear()
    page.goto(server(f"/{tenant}/register"))
    wait_for_service_worker(page)
    page.wait_for_load_state("networkidle")
    page.evaluate(INSTALL_FETCHES)
    # A response is counted when the server has closed it, which may come just
    # after the browser has read it: wait (bounded) for the last two.
    deadline = time.monotonic() + 5
    wanted = (f"/{tenant}/manifest.webmanifest", f"/static/tenants/{tenant}/icon-192.")
    while time.monotonic() < deadline and not all(
        any(row[0].startswith(prefix) for row in counter.sent) for prefix in wanted
    ):
        time.sleep(0.05)

    rows = [f"  {size:6d} B  {encoding:4s}  {path}" for path, _, encoding, size, _ in counter.sent]
    body_total = sum(row[3] for row in counter.sent)
    header_total = sum(row[4] for row in counter.sent)
    print(
        f"\nfirst visit to /{tenant}/register: {body_total} B ({body_total / 1024:.1f} KB) "
        f"of compressed bodies in {len(rows)} responses; headers {header_total} B more"
    )
    print("\n".join(rows))

    paths = [row[0] for row in counter.sent]
    assert paths[0] == f"/{tenant}/register" and f"/{tenant}/sw.js" in paths
    assert any(path.startswith("/static/vendor/htmx-2.0.11.min.") for path in paths)
    assert any(path.startswith(f"/{tenant}/manifest.webmanifest") for path in paths)
    assert any(path.startswith(f"/static/tenants/{tenant}/icon-192.") for path in paths)
    for path, status, encoding, size, _ in counter.sent:
        assert status == 200, path
        # Compression really happens on this server path, not just in theory.
        if not path.endswith(".png") and size > 1024:
            assert encoding in ("br", "gzip"), f"{path} left the app uncompressed"
    assert body_total <= BUDGET, f"{body_total} B is more than {BUDGET} B"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_offline_page_when_the_network_drops(page, live_server, lang):
    ui = Ui(page, live_server, "velzio", lang)
    ui.open("/register")
    wait_for_service_worker(page)
    expect(ui.field("email")).to_be_visible()

    page.context.set_offline(True)
    page.goto(live_server("/velzio/rules"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("You are offline"))
    expect(page).to_have_title(re.compile("^" + re.escape(ui.t("You are offline"))))
    # The offline page keeps the utility's look (its stylesheet from the worker).
    expect(page.locator(".brand__name")).to_have_text("MOKESTA savitarna")
    expect(page.locator(".brand__logo")).to_have_js_property("naturalWidth", 32)

    # Back online, "Try again" opens the page that was asked for.
    page.context.set_offline(False)
    page.get_by_role("link", name=ui.t("Try again")).click()
    expect(page).to_have_url(re.compile(r"/velzio/rules$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Site rules"))


def test_worker_keeps_no_account_page_post_or_fragment(page, live_server):
    """A customer registers (POSTs, live checks), logs in, changes a choice on the
    account page (an htmx fragment). The worker's cache holds only the offline
    pages and static files; offline, the account page is not shown from anywhere."""
    ui = Ui(page, live_server, "velzio", "lt")
    email = unique_email("velzio-pwa")
    ui.open("/register")
    wait_for_service_worker(page)
    ui.field("email").fill("not an email")
    ui.field("first_name").focus()
    expect(ui.error_of("email")).not_to_be_empty()
    ui.fill_residential(email)
    ui.submit()
    ui.expect_sent(email)
    ui.open_link(email, "confirm", "/confirm/")
    ui.confirm_email()
    ui.log_in(email, PASSWORD)
    ui.expect_account_page()
    invoices = ui.field("invoices")
    invoices.uncheck()
    expect(page.get_by_role("status")).to_have_text(ui.t("Your choices are saved."))

    cached = page.evaluate(CACHED_PATHS)
    assert "/velzio/offline?lang=lt" in cached and "/velzio/offline?lang=en" in cached
    kept = re.compile(r"^/velzio/(offline(\?lang=(lt|en))?|brand\.css)$|^/static/")
    assert [path for path in cached if not kept.match(path)] == []

    page.context.set_offline(True)
    page.goto(live_server("/velzio/account/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("You are offline"))
    expect(page.get_by_text(email)).to_have_count(0)


@pytest.mark.parametrize(
    ("method", "path", "headers", "navigate", "handled"),
    [
        ("GET", "/velzio/rules", {}, True, True),
        ("GET", "/velzio/account/", {}, True, True),
        ("POST", "/velzio/register", {}, True, False),
        ("GET", "/velzio/register", {"HX-Request": "true"}, False, False),
        ("POST", "/velzio/register/validate/email", {"HX-Request": "true"}, False, False),
        ("GET", "/velzio/embed/register", {}, True, False),
        ("GET", "/elektrum/register", {}, True, False),
        ("GET", "/velzio/account/", {}, False, False),
    ],
)
def test_worker_rules(page, live_server, method, path, headers, navigate, handled):
    """The worker's own rule for which requests it answers at all, run in the
    browser: POSTs, htmx requests, other utilities and embedded pages are not
    its business (and a page it answers is fetched, never kept)."""
    page.goto(live_server("/velzio/offline"))
    page.add_script_tag(url=live_server("/velzio/sw.js"))
    answer = page.evaluate(
        """([method, path, headers, navigate]) => self.savitarna.handles({
            method, url: new URL(path, location).href, headers: new Headers(headers),
            mode: navigate ? "navigate" : "cors",
        })""",
        [method, path, headers, navigate],
    )
    assert answer is handled


def test_a_release_replaces_the_old_cache(page, counted_server):
    """A new release (here: a new release digest) changes the worker's script; the
    browser installs the new worker, which deletes the old release's cache."""
    server, _ = counted_server
    page.goto(server("/velzio/register"))
    wait_for_service_worker(page)
    [old] = page.evaluate("caches.keys()")
    assert old.startswith("savitarna-velzio-")

    release = assets(server.app).release
    assets(server.app).release = "next-release"
    try:
        page.reload()
        new = page.evaluate(NEXT_CACHE, old)
    finally:
        assets(server.app).release = release
    assert new and new.startswith("savitarna-velzio-") and new != old
    assert "/velzio/offline?lang=lt" in page.evaluate(CACHED_PATHS)
