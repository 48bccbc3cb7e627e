"""Rate limits: per address and per account, a translated 429 with Retry-After,
the same answer for known and unknown emails, and counts shared through Redis
by separate processes (several instances)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from support.data import VELZIO_OK
from support.forms import csrf_from, submit
from support.people import logout, register_velzio

from webapp.config import PROJECT_ROOT

REDIS_URL = os.environ.get("TEST_REDIS_URL")
STORAGES = ["memory"] + (["redis"] if REDIS_URL else [])


def login_attempt(client, email: str, password: str = "Wrong1234"):
    return submit(client, "/velzio/", {"email": email, "password": password})


def test_failed_logins_are_throttled_per_account_the_same_for_unknown_emails(client, app):
    known = register_velzio(client, app)
    unknown = "nobody@example.com"
    for _ in range(10):
        assert login_attempt(client, known).status_code == 422
        assert login_attempt(client, unknown).status_code == 422
    blocked_known = login_attempt(client, known)
    blocked_unknown = login_attempt(client, unknown)
    assert blocked_known.status_code == blocked_unknown.status_code == 429
    # Nothing in the answer tells the two apart.
    assert blocked_known.get_data() == blocked_unknown.get_data()
    # Each window started at that email's first failure, milliseconds apart: the
    # rounded seconds may differ by one on a slow machine, never by more.
    waits = [int(r.headers["Retry-After"]) for r in (blocked_known, blocked_unknown)]
    assert abs(waits[0] - waits[1]) <= 1
    # The lock is temporary: at most the 15-minute window.
    assert 0 < int(blocked_known.headers["Retry-After"]) <= 15 * 60
    html = blocked_known.get_data(as_text=True)
    with app.test_request_context("/"):
        from flask_babel import force_locale, gettext

        with force_locale("lt"):
            assert gettext("Too many attempts") in html
    # Even the right password waits: the attacker cannot tell it from a wrong one.
    assert login_attempt(client, known, VELZIO_OK["password"]).status_code == 429
    # Another account from the same address is not affected.
    assert login_attempt(client, "someone.else@example.com").status_code == 422


def test_a_successful_login_does_not_count(client, app):
    email = register_velzio(client, app)
    for _ in range(12):
        response = login_attempt(client, email, VELZIO_OK["password"])
        assert response.status_code == 303
        assert logout(client, "velzio").status_code == 303


def test_forgot_password_per_email_limit(client, app):
    for _ in range(3):
        assert submit(client, "/velzio/forgot", {"email": "x@example.com"}).status_code == 200
    assert submit(client, "/velzio/forgot", {"email": "x@example.com"}).status_code == 429
    assert submit(client, "/velzio/forgot", {"email": "y@example.com"}).status_code == 200


def test_registration_per_address_limit(client, app):
    app.config["RATELIMIT_REGISTER_IP"] = "3 per hour"
    for n in range(3):
        data = {**VELZIO_OK, "email": f"person{n}@example.com"}
        assert submit(client, "/velzio/register", data).status_code == 303
    data = {**VELZIO_OK, "email": "person9@example.com"}
    assert submit(client, "/velzio/register", data).status_code == 429


def test_a_limit_counts_the_methods_it_names_only(client, app):
    """The registration page's limits count its POSTs: its GETs are never
    counted nor refused, before or after the POSTs are. The console's page
    limit names no method: its pages' GETs are counted and refused past it."""
    app.config["RATELIMIT_REGISTER_IP"] = "2 per hour"
    for _ in range(5):
        assert client.get("/velzio/register").status_code == 200
    for n in range(2):
        data = {**VELZIO_OK, "email": f"person{n}@example.com"}
        assert submit(client, "/velzio/register", data).status_code == 303
    refused = submit(client, "/velzio/register", {**VELZIO_OK, "email": "person9@example.com"})
    assert refused.status_code == 429
    assert client.get("/velzio/register").status_code == 200

    app.config["RATELIMIT_CONSOLE_PAGE_IP"] = "3 per minute"
    for _ in range(3):
        assert client.get("/console/").status_code == 303  # to the console's login
    assert client.get("/console/").status_code == 429


def test_contract_lookups_are_limited(client, app):
    app.config["RATELIMIT_CONTRACT_IP"] = "2 per 10 minutes"
    page = client.get("/elektrum/register").get_data(as_text=True)
    token = csrf_from(page)
    form = {
        "csrf_token": token,
        "company_code": "110053842",
        "is_customer": "yes",
        "contract_number": "4100000001",
    }
    headers = {"HX-Request": "true", "HX-Target": "contract_number-error"}
    url = "/elektrum/register/check/contract_number"
    assert client.post(url, data=form, headers=headers).status_code == 422
    assert client.post(url, data=form, headers=headers).status_code == 422
    limited = client.post(url, data=form, headers=headers)
    assert limited.status_code == 429
    # The live check gets its own error line back, so htmx shows it in place.
    body = limited.get_data(as_text=True)
    assert body.lstrip().startswith('<p class="field-error" id="contract_number-error">')
    assert "Retry-After" in limited.headers
    # Other fields' checks do not look anything up and are not held back.
    form_name = {"csrf_token": token, "first_name": "Ona"}
    assert client.post("/elektrum/register/check/first_name", data=form_name).status_code == 200


def test_non_field_htmx_request_over_the_limit_is_not_swapped(client, app):
    app.config["RATELIMIT_CHECK_IP"] = "1 per minute"
    token = csrf_from(client.get("/elektrum/register").get_data(as_text=True))
    headers = {"HX-Request": "true", "HX-Target": "contract-region"}
    form = {"csrf_token": token, "is_customer": "yes"}
    assert client.post("/elektrum/register/customer", data=form, headers=headers).status_code == 200
    limited = client.post("/elektrum/register/customer", data=form, headers=headers)
    assert limited.status_code == 429
    assert limited.headers["HX-Reswap"] == "none"


def test_limit_messages_are_translated(app):
    with app.test_request_context("/"):
        from flask_babel import force_locale, ngettext

        with force_locale("lt"):
            text = ngettext(
                "Too many attempts. Wait %(num)d minute and try again.",
                "Too many attempts. Wait %(num)d minutes and try again.",
                15,
            )
    assert text == "Per daug bandymų. Palaukite 15 minučių ir bandykite dar kartą."


SECOND_INSTANCE = """
import json, os, sys
sys.path.insert(0, {tests!r})
from support.data import VELZIO_OK
from support.forms import csrf_from
from webapp import create_app
app = create_app(json.loads(os.environ["INSTANCE_CONFIG"]))
client = app.test_client()
html = client.get("/velzio/").get_data(as_text=True)
response = client.post("/velzio/", data={{"csrf_token": csrf_from(html),
    "email": sys.argv[1], "password": "Wrong1234"}})
print(response.status_code)
"""


@pytest.mark.parametrize("storage", STORAGES)
def test_limits_hold_across_instances_only_with_shared_storage(database, tmp_path, storage):
    """A second process (another instance) sees the first one's count through
    Redis; with in-memory storage it does not, which is why production needs
    REDIS_URL."""
    from support.apps import base_config

    from webapp import create_app
    from webapp.extensions import db
    from webapp.tenants import load_tenants

    config = base_config(tmp_path, database)
    config["SECRET_KEY"] = "shared-" + uuid.uuid4().hex
    config["RATELIMIT_LOGIN_ACCOUNT"] = "3 per 15 minutes"
    if storage == "redis":
        config["RATELIMIT_STORAGE_URI"] = REDIS_URL
    first = create_app(config)
    with first.app_context():
        load_tenants(PROJECT_ROOT / "data" / "tenants.toml")
        db.engine.dispose()
    client = first.test_client()
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(3):
        assert login_attempt(client, email).status_code == 422
    assert login_attempt(client, email).status_code == 429

    env = {**os.environ, "INSTANCE_CONFIG": json.dumps(config)}
    code = SECOND_INSTANCE.format(tests=str(PROJECT_ROOT / "tests"))
    result = subprocess.run(
        [sys.executable, "-c", code, email],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=True,
    )
    status = int(result.stdout.strip().splitlines()[-1])
    assert status == (429 if storage == "redis" else 422)
