"""Embed mode (webapp/embed): framing policy per tenant, the session-free form
token, the Origin / Sec-Fetch-Site check, cookies in a frame, and links."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import csrf_from, title_of
from support.mail import link_in, outbox
from support.people import confirm, register_velzio
from support.texts import expected, gettext_in

from webapp.embed.csrf import TOKEN_SALT
from webapp.embed.probe import PROBE_COOKIE

HOST = "http://localhost:5001"  # the demo host page, on both demo tenants' lists
# Where `flask embed-demo` now serves it (another site than make run's localhost).
DEMO_HOST = "http://127.0.0.1:5001"
SAME_ORIGIN = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
LT = {"Accept-Language": "lt"}


def frame_ancestors(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    [directive] = [d.strip() for d in policy.split(";") if "frame-ancestors" in d]
    return directive


def embed_token(client, slug: str = "velzio") -> str:
    return csrf_from(client.get(f"/{slug}/embed/register", headers=LT).get_data(as_text=True))


def expired_title(app) -> str:
    return gettext_in(app, "This page has expired")


# ---------------------------------------------------------------- framing


@pytest.mark.parametrize(
    ("slug", "site"),
    [("velzio", "https://velziokomunalinis.lt"), ("elektrum", "https://www.elektrum.lt")],
)
@pytest.mark.parametrize("path", ["/embed/register", "/embed/"])
def test_embed_pages_may_be_framed_by_the_tenants_sites_only(client, slug, site, path):
    response = client.get(f"/{slug}{path}")
    assert response.status_code == 200
    assert frame_ancestors(response) == f"frame-ancestors {site} {HOST} {DEMO_HOST}"
    assert "X-Frame-Options" not in response.headers


@pytest.mark.parametrize("path", ["/velzio/register", "/velzio/", "/elektrum/register", "/"])
def test_other_pages_may_only_be_framed_by_the_app(client, path):
    assert frame_ancestors(client.get(path)) == "frame-ancestors 'self'"


def test_a_tenant_without_sites_cannot_be_framed_at_all(app, client):
    from support.apps import tenant

    from webapp.extensions import db

    with app.app_context():
        row = tenant("velzio")
        row.settings = {**row.settings, "embed_origins": []}
        db.session.commit()
    assert frame_ancestors(client.get("/velzio/embed/register")) == "frame-ancestors 'none'"


@pytest.mark.parametrize("page", ["forgot", "resend", "rules", "account/password"])
def test_pages_that_are_not_embeddable_answer_404(client, page):
    response = client.get(f"/velzio/embed/{page}", headers=LT)
    assert response.status_code == 404


def test_embed_page_has_no_site_chrome_and_keeps_links_in_the_frame(client):
    html = client.get("/velzio/embed/register?host=" + HOST, headers=LT).get_data(as_text=True)
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert '<base target="_top">' in html
    assert re.search(r'<script src="/static/js/embed-frame(\.\w+)?\.js"', html)
    assert f'data-embed-host="{HOST}"' in html
    assert 'data-embed-event="savitarna:form-shown"' in html
    # The form and its live checks stay embedded, with the host page carried on.
    assert f'action="/velzio/embed/register?host={HOST}" target="_self"' in html
    assert f'hx-post="/velzio/embed/register/check/first_name?host={HOST}"' in html
    assert f'hx-post="/velzio/embed/password-rules?host={HOST}"' in html
    # Pages that leave the frame are full-site pages (base target _top).
    assert 'href="/velzio/resend"' in html
    assert 'href="/velzio/rules" target="_blank"' in html


def test_full_site_pages_load_no_frame_script(client):
    html = client.get("/velzio/register", headers=LT).get_data(as_text=True)
    assert "embed-frame.js" not in html and "<base" not in html
    assert 'class="site-header"' in html


@pytest.mark.parametrize(
    ("query", "referer", "host"),
    [
        (f"?host={HOST}", None, HOST),
        ("", HOST + "/some/page", HOST),
        ("?host=https://evil.example", None, ""),
        ("", "https://evil.example/", ""),
        ("", None, ""),
    ],
)
def test_host_origin_is_taken_only_from_the_tenants_list(client, query, referer, host):
    headers = {"Referer": referer} if referer else {}
    html = client.get("/velzio/embed/register" + query, headers=headers).get_data(as_text=True)
    assert f'data-embed-host="{host}"' in html


def test_the_language_is_carried_in_links_not_a_cookie(client):
    response = client.get("/velzio/embed/register?lang=en")
    html = response.get_data(as_text=True)
    assert '<html lang="en"' in html
    assert 'action="/velzio/embed/register?lang=en"' in html
    assert "Set-Cookie" not in response.headers


# ---------------------------------------------------------------- no cookies


def test_registration_in_a_frame_needs_and_sets_no_cookie(app, client):
    get = client.get("/velzio/embed/register", headers=LT)
    assert "Set-Cookie" not in get.headers
    token = csrf_from(get.get_data(as_text=True))
    client._cookies.clear()  # the frame's browser keeps nothing
    response = client.post(
        "/velzio/embed/register",
        data={"csrf_token": token, **VELZIO_OK},
        headers={**LT, **SAME_ORIGIN},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    # The 'confirmed yet?' ticket rides in the fragment, which no server sees.
    assert response.headers["Location"].startswith("/velzio/embed/register/sent#")
    assert "Set-Cookie" not in response.headers
    sent = client.get("/velzio/embed/register/sent", headers=LT).get_data(as_text=True)
    assert 'data-embed-event="savitarna:registered"' in sent
    # The emailed link is a full-site link: it needs nothing of the frame.
    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/")
    assert link.startswith("/velzio/confirm/")
    client._cookies.clear()
    assert confirm(client, link).status_code == 303


def test_business_registration_and_its_htmx_requests_work_without_cookies(app, client):
    token = embed_token(client, "elektrum")
    client._cookies.clear()
    headers = {**LT, **SAME_ORIGIN, "HX-Request": "true"}
    toggle = client.post(
        "/elektrum/embed/register/customer",
        data={"csrf_token": token, "is_customer": "yes"},
        headers=headers,
    )
    assert toggle.status_code == 200
    assert 'hx-post="/elektrum/embed/register/check/contract_number"' in toggle.get_data(
        as_text=True
    )
    check = client.post(
        "/elektrum/embed/register/check/company_code",
        data={"csrf_token": token, "company_code": "123"},
        headers=headers,
    )
    assert check.status_code == 422
    assert expected(app, "COMPANY_CODE_FORMAT") in check.get_data(as_text=True)
    full = client.post(
        "/elektrum/embed/register", data={"csrf_token": token, **ELEKTRUM_OK}, headers=headers
    )
    assert full.status_code == 303
    assert link_in(outbox(app, ELEKTRUM_OK["email"])[-1], "/activate/").startswith(
        "/elektrum/activate/"
    )


def test_password_rules_in_a_frame_work_without_cookies(client):
    token = embed_token(client)
    client._cookies.clear()
    response = client.post(
        "/velzio/embed/password-rules",
        data={"csrf_token": token, "password": "abc"},
        headers={**LT, **SAME_ORIGIN, "HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "rule--unmet" in response.get_data(as_text=True)


# ---------------------------------------------------------------- the form token


def _past_token(app, slug: str) -> str:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - app.config["WTF_CSRF_TIME_LIMIT"] - 60

    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=TOKEN_SALT, signer=Past).dumps(
        {"tenant": slug}
    )


def _tampered(token: str) -> str:
    payload, rest = token.split(".", 1)
    return payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest


BAD_TOKENS = {
    "missing": lambda app, client: None,
    "expired": lambda app, client: _past_token(app, "velzio"),
    "other tenant": lambda app, client: embed_token(client, "elektrum"),
    "tampered": lambda app, client: _tampered(embed_token(client)),
    "other salt": lambda app, client: URLSafeTimedSerializer(app.config["SECRET_KEY"]).dumps(
        {"tenant": "velzio"}
    ),
    "session token": lambda app, client: csrf_from(
        client.get("/velzio/register").get_data(as_text=True)
    ),
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize(
    "url", ["/velzio/embed/register", "/velzio/embed/register/check/email", "/velzio/embed/"]
)
def test_a_bad_form_token_is_refused_with_the_expired_page(app, client, kind, url):
    token = BAD_TOKENS[kind](app, client)
    data = {**VELZIO_OK, **({"csrf_token": token} if token else {})}
    response = client.post(url, data=data, headers={**LT, **SAME_ORIGIN})
    assert response.status_code == 400
    assert title_of(response.get_data(as_text=True)).startswith(expired_title(app))
    assert outbox(app, VELZIO_OK["email"]) == []


def test_the_expired_page_is_translated(app, client):
    response = client.post(
        "/velzio/embed/register?lang=en", data=VELZIO_OK, headers={**SAME_ORIGIN}
    )
    assert response.status_code == 400
    assert title_of(response.get_data(as_text=True)).startswith("This page has expired")


def test_the_full_site_keeps_session_bound_csrf(app, client):
    """The embed token is no key to the full site's forms."""
    token = embed_token(client)
    response = client.post(
        "/velzio/register", data={"csrf_token": token, **VELZIO_OK}, headers={**LT, **SAME_ORIGIN}
    )
    assert response.status_code == 400
    assert outbox(app, VELZIO_OK["email"]) == []


# ---------------------------------------------------------------- origin checks


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": HOST, "Sec-Fetch-Site": "cross-site"},  # even an allowed host page
        {"Origin": "https://evil.example"},  # a browser without Fetch Metadata
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "null"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
        {},  # neither: refuse rather than guess
    ],
    ids=[
        "evil",
        "host page",
        "origin only",
        "fetch-site only",
        "same-site",
        "null",
        "mixed",
        "none",
    ],
)
def test_posts_from_anywhere_but_the_app_itself_are_refused(app, client, headers):
    token = embed_token(client)
    response = client.post(
        "/velzio/embed/register", data={"csrf_token": token, **VELZIO_OK}, headers={**LT, **headers}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert title_of(html).startswith(gettext_in(app, "The request could not be handled"))
    assert outbox(app, VELZIO_OK["email"]) == []


@pytest.mark.parametrize(
    "headers", [{"Origin": "http://localhost"}, {"Sec-Fetch-Site": "same-origin"}, SAME_ORIGIN]
)
def test_posts_from_the_app_itself_pass(client, headers):
    token = embed_token(client)
    response = client.post(
        "/velzio/embed/register/check/first_name",
        data={"csrf_token": token, "first_name": "Ona"},
        headers={**LT, **headers, "HX-Request": "true"},
    )
    assert response.status_code == 200


# ---------------------------------------------------------------- login in a frame


def test_login_in_a_frame_without_cookies_offers_a_new_tab(app, client):
    email = register_velzio(client, app)
    token = csrf_from(client.get("/velzio/embed/", headers=LT).get_data(as_text=True))
    client._cookies.clear()
    response = client.post(
        "/velzio/embed/",
        data={"csrf_token": token, "email": email, "password": VELZIO_OK["password"]},
        headers={**LT, **SAME_ORIGIN},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        gettext_in(app, "Your browser does not let this embedded form keep you logged in.") in html
    )
    assert re.search(r'<a class="button button--primary" href="/velzio/" target="_blank"', html)
    assert gettext_in(app, "Continue in a new tab") in html
    assert "savitarna_session" not in response.headers.get("Set-Cookie", "")


def test_login_in_a_frame_that_keeps_cookies_uses_partitioned_cookies(app, client):
    email = register_velzio(client, app)
    client._cookies.clear()
    page = client.get("/velzio/embed/", headers=LT)
    probe = page.headers["Set-Cookie"]
    assert probe.startswith(f"{PROBE_COOKIE}=")
    for attribute in ("Secure", "SameSite=None", "Partitioned", "HttpOnly"):
        assert attribute in probe
    response = client.post(
        "/velzio/embed/",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "email": email,
            "password": VELZIO_OK["password"],
        },
        headers={**LT, **SAME_ORIGIN},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/velzio/embed/account/"
    session_cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("savitarna_session=")
    )
    for attribute in ("Secure", "SameSite=None", "Partitioned", "HttpOnly"):
        assert attribute in session_cookie
    account = client.get("/velzio/embed/account/", headers=LT)
    assert account.status_code == 200
    assert frame_ancestors(account).startswith("frame-ancestors https://velziokomunalinis.lt")


def test_full_site_session_cookie_is_unchanged(app, client):
    email = register_velzio(client, app)
    client._cookies.clear()
    page = client.get("/velzio/", headers=LT)
    response = client.post(
        "/velzio/",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "email": email,
            "password": VELZIO_OK["password"],
        },
        headers=LT,
    )
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "Partitioned" not in cookie


def test_emails_from_a_frame_link_to_the_full_site(app, client):
    register_velzio(client, app)
    token = embed_token(client)
    client.post(
        "/velzio/embed/register",
        data={"csrf_token": token, **VELZIO_OK},
        headers={**LT, **SAME_ORIGIN},
    )
    message = outbox(app, VELZIO_OK["email"])[-1]
    assert message.kind == "already_registered"
    assert link_in(message, "/velzio/") == "/velzio/"
    assert "/embed" not in message.text_body


# ---------------------------------------------------------------- confirmed yet?


def _register_in_frame(client, slug: str, data: dict) -> tuple[str, str]:
    """Register through the frame; return (the form token, the ticket)."""
    token = embed_token(client, slug)
    response = client.post(
        f"/{slug}/embed/register", data={"csrf_token": token, **data}, headers={**LT, **SAME_ORIGIN}
    )
    assert response.status_code == 303
    return token, response.headers["Location"].split("#", 1)[1]


def _confirmed_yet(client, slug: str, token: str, ticket: str):
    return client.post(
        f"/{slug}/embed/register/confirmed",
        data={"csrf_token": token, "ticket": ticket},
        headers={**LT, **SAME_ORIGIN},
    )


def test_the_sent_page_in_a_frame_learns_when_the_address_is_confirmed(app, client):
    token, ticket = _register_in_frame(client, "velzio", VELZIO_OK)
    sent = client.get("/velzio/embed/register/sent", headers=LT).get_data(as_text=True)
    assert 'data-embed-poll="/velzio/embed/register/confirmed"' in sent
    assert _confirmed_yet(client, "velzio", token, ticket).status_code == 204
    confirm(client, link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/"))
    assert _confirmed_yet(client, "velzio", token, ticket).status_code == 200


def test_an_account_confirmed_before_never_counts(app, client):
    """Registering a known (confirmed) address answers exactly like a new one."""
    register_velzio(client, app)
    token, ticket = _register_in_frame(client, "velzio", VELZIO_OK)
    assert _confirmed_yet(client, "velzio", token, ticket).status_code == 204


def test_a_bad_or_foreign_ticket_is_refused(app, client):
    token, ticket = _register_in_frame(client, "elektrum", ELEKTRUM_OK)
    velzio_token = embed_token(client, "velzio")
    assert _confirmed_yet(client, "velzio", velzio_token, ticket).status_code == 400
    assert _confirmed_yet(client, "elektrum", token, ticket[:-3] + "abc").status_code == 400
    assert _confirmed_yet(client, "elektrum", token, "").status_code == 400
    full_site = client.post("/elektrum/register/confirmed", data={"ticket": ticket})
    assert full_site.status_code in (400, 404)


def test_the_https_origin_passes_behind_a_proxy_that_ends_tls(app, client):
    app.config["PREFERRED_URL_SCHEME"] = "https"
    token = embed_token(client)
    response = client.post(
        "/velzio/embed/register/check/first_name",
        data={"csrf_token": token, "first_name": "Ona"},
        headers={**LT, "Origin": "https://localhost", "HX-Request": "true"},
    )
    assert response.status_code == 200


def test_a_live_check_with_a_bad_token_answers_with_the_fields_error_line(app, client):
    response = client.post(
        "/velzio/embed/register/check/email",
        data={"csrf_token": _past_token(app, "velzio"), "email": "ona@example.com"},
        headers={**LT, **SAME_ORIGIN, "HX-Request": "true", "HX-Target": "email-error"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert html.startswith('<p class="field-error" id="email-error">')
    assert expired_title(app) in html
