"""Hostile input, generated (hypothesis), at every form and fragment endpoint of
both tenants (velzio: residential, elektrum: business).

Properties, for every example:
- no server error (status < 500; in tests an exception propagates and fails);
- no injected markup comes back unescaped in an HTML answer;
- a body over the 64 KB limit answers 413, a smaller one never does;
- nothing half-written: a refused POST changes no stored row, an accepted
  registration leaves exactly one account for its address and one email.

The rate limits are lifted (they are read from the config at request time), so
every example reaches validation. `test_report_fuzz_counts` runs last for each
backend, prints the examples per endpoint and checks each endpoint got enough.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from urllib.parse import quote, urlencode

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import csrf_from
from support.people import login, register_elektrum, register_velzio

from webapp.extensions import db
from webapp.limits import DEFAULT_LIMITS
from webapp.models import Account, OutboxMessage, Tenant, Token
from webapp.registration.forms import registration_form
from webapp.security import issue_token
from webapp.tenants import settings_for

TENANTS = ("velzio", "elektrum")
FIELDS = {
    "velzio": (
        "first_name",
        "last_name",
        "email",
        "password",
        "password2",
        "phone",
        "invoices_by_email",
        "sms_consent",
        "terms",
    ),
    "elektrum": (
        "first_name",
        "last_name",
        "company_code",
        "email",
        "is_customer",
        "contract_number",
    ),
}
BASE = {"velzio": VELZIO_OK, "elektrum": ELEKTRUM_OK}
PASSWORD = {"velzio": "Slapta123", "elektrum": "Stipru5Slaptaz"}
BODY_LIMIT = 64 * 1024
MIN_EXAMPLES = 12

FUZZ = settings(
    max_examples=25,
    deadline=None,
    # CI replays the same examples on every run (a red CI is a real regression);
    # a developer's run draws new ones and keeps failures in .hypothesis/.
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---------------------------------------------------------------- strategies

LITHUANIAN = "ąčęėįšųūžĄČĘĖĮŠŲŪŽ"
MARKUP = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "{{ 7*7 }}{% raw %}",
)
# What must never come back as-is: each starts a tag or breaks out of one.
DANGEROUS = (
    "<script>alert",
    "<img src=x onerror",
    "<svg onload",
    '<a href="javascript:',
    "</textarea><script",
)
SQL = (
    "' OR 1=1 --",
    "'; DROP TABLE accounts; --",
    "ona@example.com' OR '1'='1",
    '" OR ""="',
    "1 UNION SELECT password_hash FROM accounts",
)
ODD = ("\x00", "\u200f", "\u200e", "\u202e", "\ufeff", "\r\n", "\t", "\x7f", "\u00a0")

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
lithuanian_text = st.text(
    st.sampled_from(LITHUANIAN + "aeiou AEIOU-'." + "".join(ODD)), min_size=1, max_size=30
)
emoji = st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), min_size=1, max_size=6)
control = st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=8)
markup = st.builds(
    "{}{}{}".format, st.sampled_from(["", "Ona", "ą", "\u202e"]), st.sampled_from(MARKUP), any_text
)
sql = st.sampled_from(SQL)
# Lengths around the body limit, and clearly under and over it.
huge = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["a", "ą", "<", "😀"]),
    st.sampled_from([3_000, 20_000, 60_000, 70_000]),
)
scalar = st.one_of(
    any_text, lithuanian_text, emoji, control, markup, sql, st.sampled_from(ODD + ("", " "))
)
scalar_or_huge = st.one_of(scalar, scalar, scalar, scalar, huge)
value = st.one_of(scalar_or_huge, st.lists(scalar, min_size=2, max_size=3))
unknown_key = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=15)
tokens = st.one_of(
    any_text, markup, sql, control, st.builds(lambda n: "A" * n, st.integers(90, 5000))
)


@st.composite
def mutated(draw, base: dict, fields: tuple[str, ...]):
    """`base` with up to three fields replaced, dropped or sent several times,
    and up to two unknown fields added."""
    data = dict(base)
    for name in draw(st.lists(st.sampled_from(fields), unique=True, max_size=3)):
        action = draw(st.sampled_from(("replace", "replace", "drop", "repeat")))
        if action == "drop":
            data.pop(name, None)
        elif action == "repeat":
            data[name] = [data.get(name, ""), draw(scalar)]
        else:
            data[name] = draw(value)
    for _ in range(draw(st.integers(0, 2))):
        key = draw(unknown_key)
        if key not in fields and key != "csrf_token":
            data[key] = draw(value)
    return data


# ---------------------------------------------------------------- counting

EXAMPLES: Counter = Counter()
STATUSES: defaultdict = defaultdict(Counter)


def note(backend: str, endpoint: str, status: int) -> None:
    EXAMPLES[backend, endpoint] += 1
    STATUSES[backend, endpoint][status] += 1


def endpoints() -> list[str]:
    names = []
    for t in TENANTS:
        names += [f"GET /{t}/register", f"POST /{t}/register"]
        names += [f"POST /{t}/register/check/{field}" for field in FIELDS[t]]
        names.append(f"POST /{t}/register/check/<unknown>")
        if t == "elektrum":
            names.append("POST /elektrum/register/customer")
        names += [f"POST /{t}/password-rules", f"POST /{t}/", f"POST /{t}/forgot"]
        names += [f"POST /{t}/resend", f"GET /{t}/confirm/<token>", f"POST /{t}/confirm/<token>"]
        for link in ("activate", "reset"):
            names += [f"GET /{t}/{link}/<token>", f"POST /{t}/{link}/<token>"]
        names += [f"POST /{t}/account/preferences", f"POST /{t}/account/password"]
        names.append(f"POST /{t}/account/privacy/delete")
        names += [f"{m} /{t}/account/privacy/delete/cancel/<token>" for m in ("GET", "POST")]
        names += [f"POST /{t}/account/privacy/email", f"POST /{t}/confirm-it-is-you"]
        names.append(f"POST /{t}/<any> without CSRF")
    return names


# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def no_limits(app):
    """Every example must reach validation: the limits are lifted (read per request)."""
    for key in DEFAULT_LIMITS:
        app.config[key] = "100000 per minute"


def body_size(data: dict) -> int:
    return len(urlencode(data, doseq=True))


def check(response, data: dict | None = None, unrouted_ok: bool = False) -> str:
    """The properties every answer has; returns the body."""
    assert response.status_code < 500
    body = response.get_data(as_text=True)
    if response.mimetype == "text/html":
        for marker in DANGEROUS:
            assert marker not in body, f"{marker!r} came back unescaped"
    if data is not None:
        size = body_size({"csrf_token": "x" * 90, **data})
        if size > BODY_LIMIT + 2_000:
            # A URL that matches no route answers 404 before the body is read.
            assert response.status_code == 413 or (unrouted_ok and response.status_code == 404)
        elif size < BODY_LIMIT - 2_000:
            assert response.status_code != 413, size
    return body


def fresh_client(app):
    # The `client` fixture has set the class: every client waits for deferred work.
    return app.test_client()


def csrf(client, page: str) -> str:
    html = client.get(page, headers={"Accept-Language": "lt"}).get_data(as_text=True)
    return csrf_from(html)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Account, OutboxMessage, Token)
        )


def first(value):
    return value[0] if isinstance(value, list) else value


def normalised_email(value) -> str | None:
    try:
        return validate_email(
            (first(value) or "").strip(), check_deliverability=False
        ).normalized.lower()
    except EmailNotValidError:
        return None


def accounts_with(app, slug: str, email: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Account)
            .join(Tenant)
            .where(Tenant.slug == slug, Account.email == email)
        )


def stored_account(app, slug: str, email: str) -> Account:
    with app.app_context():
        found = db.session.scalar(
            select(Account).join(Tenant).where(Tenant.slug == slug, Account.email == email)
        )
        db.session.expunge_all()
        return found


def new_token(app, slug: str, email: str, purpose: str) -> str:
    """A fresh, usable link secret of `purpose` for the account."""
    with app.app_context():
        account = db.session.scalar(
            select(Account).join(Tenant).where(Tenant.slug == slug, Account.email == email)
        )
        secret = issue_token(account, purpose, 1)
        db.session.commit()
        return secret


def token_used(app, secret: str) -> bool:
    import hashlib

    digest = hashlib.sha256(secret.encode()).hexdigest()
    with app.app_context():
        return db.session.scalar(select(Token.used_at).where(Token.digest == digest)) is not None


def sign_up(client, app, slug: str) -> str:
    """A confirmed account at `slug`, with PASSWORD[slug]; return its email."""
    if slug == "velzio":
        return register_velzio(client, app)
    return register_elektrum(client, app)


# ---------------------------------------------------------------- coverage


def test_fuzz_covers_every_form_field_and_post_endpoint(app):
    """A new field or POST endpoint must be added to this file's lists."""
    with app.test_request_context("/"), app.app_context():
        for slug in TENANTS:
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
            form = registration_form(settings_for(tenant), meta={"csrf": False})
            assert tuple(form._fields) == FIELDS[slug]
    # <tenant:tenant> also accepts "<slug>/embed" (webapp/embed): the same endpoints.
    posts = {
        rule.rule.replace("<tenant:tenant>", "<tenant>")
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
    }
    assert posts == {
        "/<tenant>/",
        "/<tenant>/logout",  # covered by the CSRF test only: it takes no input
        "/<tenant>/confirm/<token>",
        "/<tenant>/activate/<token>",
        "/<tenant>/reset/<token>",
        "/<tenant>/forgot",
        "/<tenant>/resend",
        "/<tenant>/password-rules",
        "/<tenant>/register",
        "/<tenant>/register/check/<field>",
        "/<tenant>/register/customer",
        "/<tenant>/account/preferences",
        "/<tenant>/account/password",
        "/<tenant>/register/confirmed",  # embed mode only: tests/test_embed.py
        # Second factors: tests/test_factors_*.py (codes, names and passkey answers).
        "/<tenant>/account/security/passkeys/options",
        "/<tenant>/account/security/passkeys",
        "/<tenant>/account/security/passkeys/<int:passkey_id>/name",
        "/<tenant>/account/security/passkeys/<int:passkey_id>/remove",
        "/<tenant>/account/security/authenticator",
        "/<tenant>/account/security/authenticator/remove",
        "/<tenant>/account/security/recovery-codes",
        "/<tenant>/passkey/options",
        "/<tenant>/passkey/login",
        "/<tenant>/login/second-factor",
        "/<tenant>/login/second-factor/continue",
        "/<tenant>/login/second-factor/passkey/options",
        "/<tenant>/login/second-factor/passkey",
        "/<tenant>/login/second-factor/passkeys/options",
        "/<tenant>/login/second-factor/passkeys",
        # OpenID Connect (webapp/oidc): their refusals are tests/test_oidc_refusals.py;
        # token, revoke and introspect take a client's form, not a person's.
        "/<tenant>/oidc/authorize",
        "/<tenant>/oidc/token",
        "/<tenant>/oidc/userinfo",
        "/<tenant>/oidc/revoke",
        "/<tenant>/oidc/introspect",
        "/<tenant>/oidc/logout",
        "/<tenant>/oidc/logout/confirm",
        "/<tenant>/account/apps/<int:consent_id>/revoke",
        # Security and privacy (webapp/privacy); step-up and "this was not me"
        # (webapp/auth). Deleting the account, its cancel link, change email and
        # "confirm it is you" are fuzzed below; the passkey answers are
        # tests/test_privacy_deletion.py's and test_stepup.py's, the buttons take
        # nothing but the CSRF token (the CSRF test below); their stories are
        # tests/test_devices.py, test_email_change.py and test_secure_account.py.
        "/<tenant>/account/privacy/delete",
        "/<tenant>/account/privacy/delete/passkey/options",
        "/<tenant>/account/privacy/delete/passkey",
        "/<tenant>/account/privacy/delete/cancel",
        "/<tenant>/account/privacy/delete/cancel/<token>",
        "/<tenant>/confirm-it-is-you",
        "/<tenant>/confirm-it-is-you/passkey/options",
        "/<tenant>/confirm-it-is-you/passkey",
        "/<tenant>/secure/<token>",
        "/<tenant>/account/privacy/sessions/others",
        "/<tenant>/account/privacy/sessions/<int:login_id>/end",
        "/<tenant>/account/privacy/email",
        "/<tenant>/account/privacy/email/confirm/<token>",
        # The staff console (webapp/console): tests/test_console_auth.py; its
        # actions' hostile input: tests/test_console_action_pages.py.
        "/console/login",
        "/console/login/code",
        "/console/login/set-up",
        "/console/logout",
        "/console/set-password/<token>",
        "/console/<slug>/customers/<int:account_id>/<action>",
        "/console/<slug>/registry",
        "/console/<slug>/registry/apply",
        "/console/<slug>/webhooks",
        "/console/<slug>/webhooks/<int:endpoint_id>/test",
        "/console/<slug>/webhooks/<int:endpoint_id>/remove",
        "/console/<slug>/webhooks/deliveries/<int:delivery_id>/retry",
    }


# ---------------------------------------------------------------- registration


@pytest.mark.parametrize("slug", TENANTS)
def test_register_page_takes_any_query(client, app, backend, slug):
    @FUZZ
    @given(query=st.dictionaries(st.one_of(unknown_key, st.just("lang")), scalar, max_size=3))
    def run(query):
        response = client.get(f"/{slug}/register", query_string=query)
        check(response)
        assert response.status_code == 200
        note(backend, f"GET /{slug}/register", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
def test_register_post_is_all_or_nothing(client, app, backend, slug):
    token = csrf(client, f"/{slug}/register")
    serial = iter(range(1_000_000))

    @FUZZ
    @given(data=st.data(), htmx=st.booleans())
    def run(data, htmx):
        # A fresh address each time, so an earlier example cannot explain a row.
        base = {**BASE[slug], "email": f"fuzz{next(serial)}.{slug}@example.com"}
        form = data.draw(mutated(base, FIELDS[slug]))
        before = counts(app)
        response = client.post(
            f"/{slug}/register",
            data={"csrf_token": token, **form},
            headers={"HX-Request": "true"} if htmx else {},
        )
        check(response, form)
        after = counts(app)
        if response.status_code == 303:
            email = normalised_email(form.get("email"))
            assert email is not None
            assert accounts_with(app, slug, email) == 1
            assert after[0] - before[0] in (0, 1)  # 0: the address had an account
            assert after[1] == before[1] + 1  # its one email: link or 'already'
        else:
            assert response.status_code in (413, 422)
            assert after == before, "a refused registration wrote something"
        note(backend, f"POST /{slug}/register", response.status_code)

    run()
    assert STATUSES[backend, f"POST /{slug}/register"][303] > 0, "no example was accepted"


@pytest.mark.parametrize(
    ("slug", "field"),
    [(slug, field) for slug in TENANTS for field in FIELDS[slug]] + [(s, None) for s in TENANTS],
)
def test_live_check_writes_nothing(client, app, backend, slug, field):
    token = csrf(client, f"/{slug}/register")
    label = f"POST /{slug}/register/check/{field or '<unknown>'}"

    @FUZZ
    @given(data=st.data())
    def run(data):
        form = data.draw(mutated(BASE[slug], FIELDS[slug]))
        name = field or data.draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
        before = counts(app)
        response = client.post(
            f"/{slug}/register/check/{quote(name, safe='')}",
            data={"csrf_token": token, **form},
            headers={"HX-Request": "true", "HX-Target": f"{field or 'x'}-error"},
        )
        # An unknown name may match no route at all (404 before the body is read),
        # and one with an encoded "/" is merged by werkzeug and redirected (308).
        check(response, form, unrouted_ok=field is None)
        allowed = {200, 413, 422} if field else {308, 404, 405, 413}
        if field is None and name in FIELDS[slug]:
            allowed = {200, 413, 422}
        assert response.status_code in allowed
        assert counts(app) == before
        note(backend, label, response.status_code)

    run()


def test_customer_toggle(client, app, backend):
    token = csrf(client, "/elektrum/register")

    @FUZZ
    @given(data=st.data())
    def run(data):
        form = data.draw(mutated(ELEKTRUM_OK, FIELDS["elektrum"]))
        before = counts(app)
        response = client.post(
            "/elektrum/register/customer",
            data={"csrf_token": token, **form},
            headers={"HX-Request": "true"},
        )
        check(response, form)
        assert response.status_code in (200, 413)
        assert counts(app) == before
        note(backend, "POST /elektrum/register/customer", response.status_code)

    run()


# ---------------------------------------------------------------- auth


@pytest.mark.parametrize("slug", TENANTS)
def test_password_rules(client, app, backend, slug):
    token = csrf(client, f"/{slug}/register")

    @FUZZ
    @given(password=value, password2=value)
    def run(password, password2):
        form = {"password": password, "password2": password2}
        response = client.post(
            f"/{slug}/password-rules",
            data={"csrf_token": token, **form},
            headers={"HX-Request": "true"},
        )
        check(response, form)
        assert response.status_code in (200, 413)
        note(backend, f"POST /{slug}/password-rules", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
def test_login(client, app, backend, slug):
    email = sign_up(client, app, slug)
    base = {"email": email, "password": PASSWORD[slug]}

    @FUZZ
    @given(data=st.data())
    def run(data):
        form = data.draw(mutated(base, ("email", "password")))
        visitor = fresh_client(app)
        before = counts(app)
        response = visitor.post(
            f"/{slug}/", data={"csrf_token": csrf(visitor, f"/{slug}/"), **form}
        )
        check(response, form)
        if response.status_code == 303:
            assert first(form["email"]).strip().lower() == email
            assert first(form["password"]) == PASSWORD[slug]
        else:
            assert response.status_code in (413, 422)
        assert counts(app) == before
        note(backend, f"POST /{slug}/", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
@pytest.mark.parametrize("page", ["forgot", "resend"])
def test_email_forms(client, app, backend, slug, page):
    """Forgot password and 'send again' answer alike for any text; an email goes
    out only to a known address."""
    email = sign_up(client, app, slug)
    token = csrf(client, f"/{slug}/{page}")

    @FUZZ
    @given(
        form=st.one_of(
            mutated({"email": email}, ("email",)), st.fixed_dictionaries({"email": value})
        )
    )
    def run(form):
        before = counts(app)
        response = client.post(f"/{slug}/{page}", data={"csrf_token": token, **form})
        check(response, form)
        assert response.status_code in (200, 413, 422)
        after = counts(app)
        typed = (first(form.get("email")) or "").strip().lower()
        if typed != email:
            assert after == before, "an unknown address caused a write"
        assert after[0] == before[0]
        note(backend, f"POST /{slug}/{page}", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
def test_confirm_link(client, app, backend, slug):
    email = sign_up(client, app, slug)
    visitor = app.test_client()  # `client` is logged in: its login page redirects
    csrf = csrf_from(visitor.get(f"/{slug}/").get_data(as_text=True))

    @FUZZ
    @given(secret=st.one_of(tokens, st.just(None)))
    def run(secret):
        real = secret is None
        if real:
            secret = new_token(app, slug, email, "confirm")
        before = counts(app)
        url = f"/{slug}/confirm/{quote(secret, safe='')}"
        # Opening the link changes nothing (the account is confirmed already).
        response = visitor.get(url)
        check(response)
        assert counts(app) == before and not token_used(app, secret)
        note(backend, f"GET /{slug}/confirm/<token>", response.status_code)
        response = visitor.post(url, data={"csrf_token": csrf})
        check(response)
        if real:
            assert response.status_code == 303 and token_used(app, secret)
        else:
            # 308: werkzeug merges a doubled slash ("//") and redirects.
            assert response.status_code in (308, 404, 410)
            assert counts(app) == before
        note(backend, f"POST /{slug}/confirm/<token>", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
@pytest.mark.parametrize("link", ["activate", "reset"])
def test_link_pages_get(client, app, backend, slug, link):
    email = sign_up(client, app, slug)

    @FUZZ
    @given(
        secret=st.one_of(tokens, st.just(None)),
        query=st.dictionaries(unknown_key, scalar, max_size=2),
    )
    def run(secret, query):
        real = secret is None
        if real:
            secret = new_token(app, slug, email, link)
        response = client.get(f"/{slug}/{link}/{quote(secret, safe='')}", query_string=query)
        check(response)
        assert response.status_code == 200 if real else response.status_code in (308, 404, 410)
        if real:
            assert not token_used(app, secret), "opening the link used it up"
        note(backend, f"GET /{slug}/{link}/<token>", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
@pytest.mark.parametrize("link", ["activate", "reset"])
def test_link_pages_post(client, app, backend, slug, link):
    """A new password from a link is saved whole (token used, hash changed) or
    not at all."""
    email = sign_up(client, app, slug)
    good = {"velzio": "Naujas123", "elektrum": "Naujas_123"}[slug]

    @FUZZ
    @given(data=st.data(), fake=st.one_of(st.none(), tokens))
    def run(data, fake):
        secret = new_token(app, slug, email, link)
        visitor = fresh_client(app)
        page = f"/{slug}/{link}/{quote(secret, safe='')}"
        token = csrf(visitor, page)
        form = data.draw(mutated({"password": good, "password2": good}, ("password", "password2")))
        target = page if fake is None else f"/{slug}/{link}/{quote(fake, safe='')}"
        before = stored_account(app, slug, email).password_hash
        response = visitor.post(target, data={"csrf_token": token, **form})
        check(response, form, unrouted_ok=fake is not None)
        after = stored_account(app, slug, email).password_hash
        if response.status_code == 303:
            assert fake is None and token_used(app, secret) and after != before
        else:
            assert response.status_code in (308, 404, 410, 413, 422)
            assert not token_used(app, secret) and after == before
        note(backend, f"POST /{slug}/{link}/<token>", response.status_code)

    run()


# ---------------------------------------------------------------- account


@pytest.mark.parametrize("slug", TENANTS)
def test_preferences(client, app, backend, slug):
    email = sign_up(client, app, slug)
    if slug == "velzio":
        login(client, slug, email, PASSWORD[slug])
    token = csrf(client, f"/{slug}/account/")
    base = {"invoices_by_email": "y", "sms_consent": "y", "phone": "+370 612 34567"}
    fields = ("invoices_by_email", "sms_consent", "phone")

    @FUZZ
    @given(data=st.data(), htmx=st.booleans())
    def run(data, htmx):
        form = data.draw(mutated(base, fields))
        before = stored_account(app, slug, email)
        response = client.post(
            f"/{slug}/account/preferences",
            data={"csrf_token": token, **form},
            headers={"HX-Request": "true"} if htmx else {},
        )
        check(response, form)
        after = stored_account(app, slug, email)
        if response.status_code in (413, 422):
            assert (after.phone, after.invoices_by_email, after.sms_consent) == (
                before.phone,
                before.invoices_by_email,
                before.sms_consent,
            )
        else:
            assert response.status_code == (200 if htmx else 303)
            assert after.phone is None or re.fullmatch(r"\+[0-9]{8,15}", after.phone)
        note(backend, f"POST /{slug}/account/preferences", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
def test_change_password(client, app, backend, slug):
    email = sign_up(client, app, slug)
    if slug == "velzio":
        login(client, slug, email, PASSWORD[slug])
    # A changed password renews the session, and with it the form's CSRF token.
    current = {"password": PASSWORD[slug], "token": csrf(client, f"/{slug}/account/password")}
    good = {"velzio": "Naujas123", "elektrum": "Naujas_123"}[slug]

    @FUZZ
    @given(data=st.data())
    def run(data):
        base = {"current_password": current["password"], "password": good, "password2": good}
        form = data.draw(mutated(base, tuple(base)))
        before_hash = stored_account(app, slug, email).password_hash
        before = counts(app)
        response = client.post(
            f"/{slug}/account/password", data={"csrf_token": current["token"], **form}
        )
        check(response, form)
        after_hash = stored_account(app, slug, email).password_hash
        if response.status_code == 303:
            assert after_hash != before_hash
            assert counts(app)[1] == before[1] + 1  # the 'password changed' email
            current["password"] = first(form["password"])
            current["token"] = csrf(client, f"/{slug}/account/password")
        else:
            assert response.status_code in (413, 422)
            assert after_hash == before_hash and counts(app) == before
        note(backend, f"POST /{slug}/account/password", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
def test_delete_account(client, app, backend, slug):
    """A wrong, missing or odd password deletes nothing (and says so)."""
    email = sign_up(client, app, slug)
    if slug == "velzio":
        login(client, slug, email, PASSWORD[slug])
    path = f"/{slug}/account/privacy/delete"
    token = csrf(client, path)

    @FUZZ
    @given(data=st.data(), htmx=st.booleans())
    def run(data, htmx):
        form = data.draw(mutated({"password": PASSWORD[slug] + "x"}, ("password",)))
        before = counts(app)
        response = client.post(
            path,
            data={"csrf_token": token, **form},
            headers={"HX-Request": "true"} if htmx else {},
        )
        check(response, form)
        assert response.status_code in (413, 422)
        assert stored_account(app, slug, email).deletion_due_at is None
        assert counts(app) == before
        note(backend, f"POST {path}", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
def test_deletion_cancel_link(client, app, backend, slug):
    """Only the emailed secret opens the cancel page; a made-up one cancels nothing."""
    email = sign_up(client, app, slug)
    if slug == "velzio":
        login(client, slug, email, PASSWORD[slug])
    path = f"/{slug}/account/privacy/delete"
    client.post(path, data={"csrf_token": csrf(client, path), "password": PASSWORD[slug]})
    assert stored_account(app, slug, email).deletion_due_at is not None
    real = new_token(app, slug, email, "delete_cancel")
    visitor = fresh_client(app)
    token = csrf(visitor, f"/{slug}/account/privacy/delete/cancel/{real}")

    @FUZZ
    @given(fake=tokens, data=st.data())
    def run(fake, data):
        target = f"/{slug}/account/privacy/delete/cancel/{quote(fake, safe='')}"
        opened = visitor.get(target)
        check(opened)
        assert opened.status_code in (308, 404, 410)
        note(backend, f"GET /{slug}/account/privacy/delete/cancel/<token>", opened.status_code)
        form = data.draw(
            st.dictionaries(unknown_key.filter(lambda key: key != "csrf_token"), value, max_size=2)
        )
        response = visitor.post(target, data={"csrf_token": token, **form})
        check(response, form, unrouted_ok=True)
        assert response.status_code in (308, 404, 410, 413)
        assert stored_account(app, slug, email).deletion_due_at is not None
        note(backend, f"POST /{slug}/account/privacy/delete/cancel/<token>", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
def test_change_email(client, app, backend, slug):
    """Asking for a new address never changes the stored one (only its link
    does), whatever is typed."""
    email = sign_up(client, app, slug)
    if slug == "velzio":
        login(client, slug, email, PASSWORD[slug])
    token = csrf(client, f"/{slug}/account/privacy/email")
    serial = iter(range(1_000_000))

    @FUZZ
    @given(data=st.data())
    def run(data):
        form = data.draw(mutated({"email": f"nauja{next(serial)}.{slug}@example.com"}, ("email",)))
        response = client.post(f"/{slug}/account/privacy/email", data={"csrf_token": token, **form})
        check(response, form)
        if response.status_code == 303:
            assert response.headers["Location"] == f"/{slug}/account/privacy/"
        else:
            assert response.status_code in (413, 422)
        assert stored_account(app, slug, email) is not None
        note(backend, f"POST /{slug}/account/privacy/email", response.status_code)

    run()


@pytest.mark.parametrize("slug", TENANTS)
def test_reauthenticate(client, app, backend, slug):
    """ "Confirm it is you": a wrong or odd password is a 422, and the way back
    is never a page of another site or tenant."""
    email = sign_up(client, app, slug)
    if slug == "velzio":
        login(client, slug, email, PASSWORD[slug])
    token = csrf(client, f"/{slug}/confirm-it-is-you")
    base = {"password": PASSWORD[slug], "next": f"/{slug}/account/privacy/email"}

    @FUZZ
    @given(data=st.data())
    def run(data):
        form = data.draw(mutated(base, ("password", "next")))
        response = client.post(f"/{slug}/confirm-it-is-you", data={"csrf_token": token, **form})
        check(response, form)
        if response.status_code == 303:
            assert response.headers["Location"].startswith(f"/{slug}/")
            assert not response.headers["Location"].startswith(f"/{slug}//")
        else:
            assert response.status_code in (413, 422)
        note(backend, f"POST /{slug}/confirm-it-is-you", response.status_code)

    run()


# ---------------------------------------------------------------- CSRF


@pytest.mark.parametrize("slug", TENANTS)
def test_posts_without_a_valid_csrf_token_are_refused(client, app, backend, slug):
    email = sign_up(client, app, slug)
    if slug == "velzio":
        login(client, slug, email, PASSWORD[slug])
    real = csrf(client, f"/{slug}/account/")
    paths = [
        f"/{slug}/",
        f"/{slug}/logout",
        f"/{slug}/register",
        f"/{slug}/register/check/email",
        f"/{slug}/register/customer",
        f"/{slug}/password-rules",
        f"/{slug}/forgot",
        f"/{slug}/resend",
        f"/{slug}/activate/{new_token(app, slug, email, 'activate')}",
        f"/{slug}/reset/{new_token(app, slug, email, 'reset')}",
        f"/{slug}/account/preferences",
        f"/{slug}/account/password",
        f"/{slug}/account/privacy/delete",
        f"/{slug}/account/privacy/delete/cancel",
        f"/{slug}/account/privacy/delete/cancel/{new_token(app, slug, email, 'delete_cancel')}",
        f"/{slug}/confirm-it-is-you",
        f"/{slug}/secure/{new_token(app, slug, email, 'secure')}",
        f"/{slug}/account/privacy/sessions/others",
        f"/{slug}/account/privacy/email",
        f"/{slug}/account/privacy/email/confirm/{new_token(app, slug, email, 'email_change')}",
    ]

    @FUZZ
    @given(
        path=st.sampled_from(paths),
        data=st.data(),
        token=st.one_of(
            st.none(),
            scalar,
            st.builds(lambda s: real[:-2] + s, st.text("ab", min_size=2, max_size=2)),
        ),
    )
    def run(path, data, token):
        form = data.draw(mutated({**VELZIO_OK, **ELEKTRUM_OK}, ("email", "password", "phone")))
        form = {k: v for k, v in form.items() if not isinstance(v, str) or len(v) < 1000}
        if token is not None and token != real:
            form["csrf_token"] = token
        before = counts(app)
        response = client.post(path, data=form, headers={"HX-Request": "true"})
        check(response, form)
        assert response.status_code in (400, 413), path
        assert counts(app) == before
        note(backend, f"POST /{slug}/<any> without CSRF", response.status_code)

    run()


# ---------------------------------------------------------------- report


def test_report_fuzz_counts(backend, capsys):
    """Runs after this backend's fuzz tests: every endpoint got its examples."""
    rows = [
        f"  {endpoint:<48} {EXAMPLES[backend, endpoint]:>4}  "
        + " ".join(f"{code}:{n}" for code, n in sorted(STATUSES[backend, endpoint].items()))
        for endpoint in endpoints()
    ]
    table = f"\nfuzz examples per endpoint ({backend}):\n" + "\n".join(rows)
    with capsys.disabled():
        print(table)
    short = [e for e in endpoints() if EXAMPLES[backend, e] < MIN_EXAMPLES]
    assert not short, f"endpoints with fewer than {MIN_EXAMPLES} examples: {short}{table}"
