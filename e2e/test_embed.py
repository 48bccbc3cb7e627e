"""The embedded forms in a utility's own page: a demo host page on a second
origin (localhost) frames the app (127.0.0.1), in a Chromium that blocks
third-party cookies."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.error import HTTPError
from urllib.request import HTTPRedirectHandler, Request, build_opener

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect
from sqlalchemy import select
from support.forms import csrf_from
from support.mail import link_in
from werkzeug.serving import make_server

from webapp.embed.demo import host_app
from webapp.extensions import db
from webapp.models import Tenant

from .conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer
from .pages import LABELS, PASSWORD, Ui, label, mailbox, t, unique_email

pytestmark = pytest.mark.e2e

# Frames load and post messages after their host page: give them as long as
# the page fixtures give any action (the machine may be busy).
SLOW = 10_000
# Chromium's switch for the third-party cookie phase-out: cookies of a frame on
# another site are refused unless they are Partitioned (CHIPS).
BLOCK_THIRD_PARTY_COOKIES = "--test-third-party-cookie-phaseout"
L = LABELS["lt"]


@dataclass
class Host:
    url: str  # http://localhost:PORT

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def _serve(app_url: str) -> tuple[Host, object]:
    server = make_server("127.0.0.1", 0, host_app(app_url), threaded=True)
    threading.Thread(target=server.serve_forever, name="e2e-host", daemon=True).start()
    return Host(f"http://localhost:{server.server_port}"), server


@pytest.fixture(scope="module")
def embed_site(live_server_factory) -> Iterator[tuple[LiveServer, Host, Host]]:
    """The app; a host page on the tenants' lists; another one that is not."""
    app = live_server_factory(EMBED_CONFIRM_POLL_SECONDS=1)
    allowed, first = _serve(app.url)
    stranger, second = _serve(app.url)
    with app.app.app_context():
        for tenant in db.session.scalars(select(Tenant)):
            tenant.settings = {**tenant.settings, "embed_origins": [allowed.url]}
        db.session.commit()
        db.session.remove()
    yield app, allowed, stranger
    for server in (first, second):
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def strict_browser(browser) -> Iterator[Browser]:
    """A second Chromium, with third-party cookies blocked (through the same
    Playwright as conftest's `browser`: one sync Playwright per thread)."""
    options = {"headless": True, "args": [*CHROMIUM_ARGS, BLOCK_THIRD_PARTY_COOKIES]}
    if CHROMIUM.exists():
        options["executable_path"] = str(CHROMIUM)
    try:
        chromium = browser.browser_type.launch(**options)
    except Exception as exc:
        pytest.fail(f"Chromium could not start, so no browser test can run: {exc}")
    yield chromium
    chromium.close()


@pytest.fixture
def host_page(strict_browser) -> Iterator[Page]:
    context = strict_browser.new_context(viewport={"width": 1280, "height": 900}, locale="lt-LT")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def field(frame: FrameLocator, key: str):
    return frame.get_by_label(label(L[key], more=key == "terms"))


def frame_height(page: Page, frame_id: str) -> float:
    return page.locator(f"#{frame_id}").bounding_box()["height"]


def wait_for_resize(page: Page, frame_id: str, other_than: float) -> float:
    page.wait_for_function(
        "([id, h]) => Math.abs(document.getElementById(id).getBoundingClientRect().height - h) > 1",
        arg=[frame_id, other_than],
    )
    return frame_height(page, frame_id)


def events(page: Page, name: str, tenant: str):
    return page.locator(f'#events li[data-event="{name}"][data-tenant="{tenant}"]')


def test_registration_completes_in_a_cross_origin_frame_without_cookies(
    host_page, embed_site, output
):
    app, host, _ = embed_site
    page = host_page
    app_requests = []
    page.on(
        "request",
        lambda request: app_requests.append(request) if request.url.startswith(app.url) else None,
    )
    page.goto(host())
    frame = page.frame_locator("#velzio-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text(t("New user registration", "lt"))
    expect(events(page, "savitarna:form-shown", "velzio")).to_have_count(1, timeout=SLOW)
    expect(events(page, "savitarna:form-shown", "elektrum")).to_have_count(1, timeout=SLOW)

    # The browser really refuses this frame's (unpartitioned) cookies.
    inner = page.frame(url=re.compile(r"/velzio/embed/register"))
    stored = inner.evaluate("document.cookie = 'probe=1; SameSite=None; Secure'; document.cookie")
    assert stored == ""

    email = unique_email("embed-velzio")
    field(frame, "first_name").fill("Ona")
    field(frame, "last_name").fill("Onaitė")
    field(frame, "email").fill(email)
    field(frame, "password").fill(PASSWORD)
    field(frame, "password2").fill(PASSWORD)
    field(frame, "terms").check()
    frame.get_by_role("button", name=L["register"], exact=True).click()

    expect(frame.get_by_role("heading", level=1)).to_have_text(
        t("Check your email", "lt"), timeout=SLOW
    )
    expect(events(page, "savitarna:registered", "velzio")).to_have_count(1, timeout=SLOW)
    assert inner.evaluate("document.cookie") == ""
    posts = [r for r in app_requests if r.method == "POST"]
    full_post = re.compile(r"/velzio/embed/register(\?|$)")
    assert any(full_post.search(r.url) for r in posts), [r.url for r in posts]
    # The server never saw a cookie from the frame, and never set one.
    for request in app_requests:
        assert "cookie" not in request.all_headers(), request.url
        response = request.response()
        if response is not None:
            assert "set-cookie" not in response.all_headers(), request.url

    [message] = mailbox(app, email)
    assert message["kind"] == "confirm"
    # The emailed link works in a fresh tab with nothing of the frame.
    confirm = page.context.new_page()
    confirm.goto(link_in(message["text"], "/confirm/", full_url=True))
    Ui(confirm, app, "velzio", "lt").confirm_email()
    expect(confirm).to_have_url(re.compile(r"/velzio/$"))
    expect(confirm.get_by_role("status")).to_have_text(
        t("Your email address is confirmed. Log in with your email and password.", "lt")
    )
    # ... and the frame, still showing 'check your email', tells the host page.
    expect(events(page, "savitarna:confirmed", "velzio")).to_have_count(1, timeout=SLOW)
    expect(page.locator("#events li")).to_have_count(
        4, timeout=SLOW
    )  # shown ×2, registered, confirmed


def test_the_frame_grows_as_errors_appear(host_page, embed_site):
    app, host, _ = embed_site
    page = host_page
    page.goto(host())
    frame = page.frame_locator("#elektrum-frame")
    expect(events(page, "savitarna:form-shown", "elektrum")).to_have_count(1, timeout=SLOW)
    # embed.js replaced the fallback height (the iframe's height="900").
    before = wait_for_resize(page, "elektrum-frame", 900)
    with page.expect_response(re.compile(r"/elektrum/embed/register")) as answer:
        frame.get_by_role("button", name=L["register"], exact=True).click()
    assert answer.value.status == 422
    expect(frame.locator("#error-summary")).to_be_visible()
    after = wait_for_resize(page, "elektrum-frame", before)
    assert after > before + 100, (before, after)
    # Exactly the content: no scrollbar inside the frame.
    inner = page.frame(url=re.compile(r"/elektrum/embed/register"))
    content = inner.evaluate("document.documentElement.scrollHeight")
    assert abs(after - content) <= 2, (after, content)


def test_a_site_not_on_the_list_cannot_frame_the_form(host_page, embed_site):
    app, _, stranger = embed_site
    page = host_page

    def refused(frame) -> bool:
        return frame.parent_frame is not None and frame.url.startswith("chrome-error://")

    with (
        page.expect_event("framenavigated", predicate=refused, timeout=SLOW),
        page.expect_response(re.compile(r"/velzio/embed/register")) as answer,
    ):
        page.goto(stranger())
    policy = answer.value.headers["content-security-policy"]
    ancestors = re.search(r"frame-ancestors ([^;]+)", policy).group(1)
    assert stranger.url not in ancestors.split()
    assert "x-frame-options" not in answer.value.headers
    # The browser refused it: the frame holds Chromium's error page, not the form.
    velzio = page.locator("#velzio-frame").element_handle().content_frame()
    assert refused(velzio), velzio.url
    expect(page.frame_locator("#velzio-frame").get_by_role("heading")).to_have_count(0)
    expect(page.locator("#events li")).to_have_count(0)


def test_demo_host_page_sizes_both_frames(host_page, embed_site, output):
    """Both tenants' forms fit their frames; the screenshot (e2e/output) is the
    one in the README (docs/embed-demo.png)."""
    app, host, _ = embed_site
    page = host_page
    page.goto(host())
    for frame_id in ("velzio-frame", "elektrum-frame"):
        wait_for_resize(page, frame_id, 900)
    expect(events(page, "savitarna:form-shown", "elektrum")).to_have_count(1, timeout=SLOW)
    # A viewport as tall as the page: Chromium's full-page capture leaves the
    # cross-origin frames' lower parts blank.
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": height})
    page.screenshot(path=output / "embed-demo.png")


def _confirmed_velzio_account(server: LiveServer) -> str:
    """A residential account registered and confirmed on the full site."""
    client = server.app.test_client()
    html = client.get("/velzio/register").get_data(as_text=True)
    token = csrf_from(html)
    email = unique_email("embed-login")
    data = {"first_name": "Ona", "last_name": "Onaitė", "email": email, "terms": "y"}
    data.update(csrf_token=token, password=PASSWORD, password2=PASSWORD)
    assert client.post("/velzio/register", data=data).status_code == 303
    link = link_in(mailbox(server, email)[0]["text"], "/confirm/")
    html = client.get(link).get_data(as_text=True)
    token = csrf_from(html)
    assert client.post(link, data={"csrf_token": token}).status_code == 303
    return email


def test_login_in_the_frame_keeps_a_partitioned_session(host_page, embed_site):
    app, host, _ = embed_site
    email = _confirmed_velzio_account(app)
    page = host_page
    page.goto(host())
    frame = page.frame_locator("#velzio-frame")
    frame.get_by_role("link", name=t("Log in", "lt"), exact=True).click()
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        t("Log in to the self-service", "lt")
    )
    frame.get_by_label(label(L["login_email"])).fill(email)
    frame.get_by_label(label(L["password"])).fill(PASSWORD)
    frame.get_by_role("button", name=L["log_in"], exact=True).click()
    expect(frame.get_by_role("heading", level=1)).to_have_text(t("My account", "lt"))
    expect(page).to_have_url(host())  # the host page stayed where it was
    [session] = [c for c in page.context.cookies() if c["name"] == "savitarna_session"]
    assert session["sameSite"] == "None" and session["secure"]
    assert session.get("partitionKey") == "http://localhost"


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _without_cookies(route) -> None:
    """Send the browser's request with no Cookie header, and hand back the
    answer without its Set-Cookie: a browser that keeps nothing for the frame."""
    request = route.request
    headers = {
        name: value
        for name, value in request.all_headers().items()
        if name not in ("cookie", "accept-encoding") and not name.startswith(":")
    }
    url, body, method = request.url, request.post_data_buffer, request.method
    outgoing = Request(url, body, headers, method=method)  # noqa: S310 (the app, on loopback)
    try:
        answer = build_opener(_NoRedirects).open(outgoing, timeout=10)  # noqa: S310
    except HTTPError as error:  # 3xx (not followed) and 4xx come back as errors
        answer = error
    with answer:
        kept = {k: v for k, v in answer.headers.items() if k.lower() != "set-cookie"}
        route.fulfill(status=answer.status, headers=kept, body=answer.read())


def test_login_in_a_frame_that_keeps_no_cookies_offers_a_new_tab(host_page, embed_site):
    """As in a browser without partitioned cookies (route: _without_cookies)."""
    app, host, _ = embed_site
    email = _confirmed_velzio_account(app)
    page = host_page

    page.route(re.compile("^" + re.escape(app.url) + "/"), _without_cookies)
    page.goto(host())
    frame = page.frame_locator("#velzio-frame")
    frame.get_by_role("link", name=t("Log in", "lt"), exact=True).click()
    frame.get_by_label(label(L["login_email"])).fill(email)
    frame.get_by_label(label(L["password"])).fill(PASSWORD)
    frame.get_by_role("button", name=L["log_in"], exact=True).click()

    expect(frame.get_by_role("alert")).to_contain_text(
        t("Your browser does not let this embedded form keep you logged in.", "lt")
    )
    assert page.context.cookies(app.url) == []
    new_tab = frame.get_by_role(
        "link", name=re.compile(re.escape(t("Continue in a new tab", "lt")))
    )
    expect(new_tab).to_have_attribute("target", "_blank")
    page.unroute_all()
    with page.expect_popup() as popup:
        new_tab.click()
    login = popup.value
    expect(login).to_have_url(app("/velzio/"))
    expect(login.get_by_role("heading", level=1)).to_have_text(
        t("Log in to the self-service", "lt")
    )


@pytest.mark.parametrize("lang", ["lt", "en"])
@pytest.mark.parametrize("tenant", ["velzio", "elektrum"])
def test_embed_pages_pass_axe(browser, embed_site, tenant, lang):
    """The pages a frame shows, checked like every other page (see
    test_accessibility.py): axe at a phone and a desktop width, no violation."""
    from .test_accessibility import AXE_EXTRA_RULES, AXE_FILE, AXE_RUN, AXE_TAGS, SIZES

    app, host, _ = embed_site
    context = browser.new_context(viewport=SIZES["phone"], locale="lt-LT")
    context.set_default_timeout(10_000)
    context.add_init_script(path=str(AXE_FILE))
    page = context.new_page()
    problems, checked = [], 0

    def check(name: str) -> None:
        nonlocal checked
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            for violation in page.evaluate(AXE_RUN, [AXE_TAGS, AXE_EXTRA_RULES]):
                problems.append(f"{name} @ {size}: {violation['id']}: {violation['nodes']}")
            checked += 1

    page.goto(app(f"/{tenant}/embed/register?lang={lang}&host={host.url}"))
    check("register")
    with page.expect_navigation():
        page.get_by_role("button", name=LABELS[lang]["register"], exact=True).click()
    expect(page.locator("#error-summary")).to_be_visible()
    check("register with errors")
    page.goto(app(f"/{tenant}/embed/?lang={lang}"))
    check("login")
    context.close()
    assert checked == 6
    assert not problems, "\n".join(problems)
