"""The progressive web app in a real browser: what a first visit costs on the wire,
the offline page when the network drops, and what the service worker keeps."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from bench import first_visit
from webapp.assets import assets

from .conftest import LiveServer
from .pages import LANGUAGES, PASSWORD, Ui, unique_email

pytestmark = pytest.mark.e2e

BUDGET = first_visit.BUDGET  # 25 KiB
PAGES = [path for _, path in first_visit.PAGES]

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


@pytest.fixture(scope="module")
def counted_server(live_server_factory) -> LiveServer:
    """An app of its own (the release test changes its release digest)."""
    return live_server_factory()


@pytest.mark.parametrize("path", PAGES)
def test_first_visit_to_registration_page_is_at_most_25_kib(browser, counted_server, path):
    """Cold cache (a new browser context), every request of a first visit as
    Chromium counts it on the wire, headers included (bench/first_visit.py): the
    page, its stylesheets and script, the logo, the service worker and what it
    keeps for offline use, and the manifest with its 192 px icon (which a browser
    fetches to offer installation; headless Chromium does not, so the visit asks
    for them). htmx is not part of it: it comes when the form is first used."""
    found = first_visit.visit(browser, counted_server.url, path)
    print(f"\nfirst visit to {path}: {found['total_bytes']} B in {found['requests']} requests")
    for row in found["rows"]:
        print(f"  {row['bytes']:6d} B  {row['encoding']:4s}  {row['url']}")

    urls = [row["url"] for row in found["rows"]]
    tenant = path.split("/")[1]
    assert path in urls and found["failed"] == []
    assert not [url for url in urls if url.startswith("/static/vendor/htmx-")]
    if "/embed/" in path:
        assert found["service_worker"] is False
        assert f"/{tenant}/sw.js" not in urls
    else:
        assert found["service_worker"] is True
        assert f"/{tenant}/sw.js" in urls
        assert any(url.startswith(f"/{tenant}/manifest.webmanifest") for url in urls)
        assert any(url.startswith(f"/static/tenants/{tenant}/icon-192.") for url in urls)
        # The worker starts its downloads once the page has loaded, never before.
        assert [row["url"] for row in found["rows"] if row["from_worker"]]
        assert found["worker_before_load"] == []
    for row in found["rows"]:
        assert row["status"] in (200, 304), row
        # Compression really happens on this server path, not just in theory.
        if not row["url"].endswith(".png") and row["body_bytes"] > 1024:
            assert row["encoding"] in ("br", "gzip"), f"{row['url']} came uncompressed"
    # Using the form brings htmx, compressed.
    [htmx] = [row for row in found["first_use_rows"] if "/vendor/htmx-" in row["url"]]
    assert htmx["encoding"] == "br" and htmx["status"] == 200
    assert found["total_bytes"] <= BUDGET, f"{found['total_bytes']} B is more than {BUDGET} B"


def test_a_field_left_before_htmx_arrived_is_checked_once_it_has(page, live_server):
    """htmx loads on the first focus; a field filled and left at once (faster
    than htmx arrives) is checked all the same, and errors show as usual."""
    ui = Ui(page, live_server, "velzio", "lt")
    ui.open("/register")
    assert page.evaluate("() => window.htmx === undefined")
    # Held back until the field has been left, so the change comes first.
    release = []
    page.route("**/static/vendor/htmx-*", lambda route: release.append(route))
    ui.field("email").fill("not an email")
    ui.field("first_name").focus()
    page.wait_for_function("() => document.querySelector('script[src*=\"/vendor/htmx-\"]')")
    expect(ui.error_of("email")).to_be_empty()
    assert len(release) == 1
    release[0].continue_()
    expect(ui.error_of("email")).not_to_be_empty()
    expect(ui.field("email")).to_have_attribute("aria-invalid", "true")


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
    server = counted_server
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
