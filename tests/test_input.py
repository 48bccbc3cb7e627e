"""What a request body may be, and what the rate limits count (issue 15, rows
2, 3, 6 and 7): forms take form-encoded and multipart bodies only, a value of
the wrong type is a field error, the per-account limits count one address
however its domain is spelt, a burst of parallel wrong passwords gets no more
guesses than the limit, and the per-address limits count an IPv6 network as
one client."""

from __future__ import annotations

import io
import os
import threading
import time
import uuid

import pytest
from support.apps import ServerLikeClient, base_config
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import csrf_from
from support.people import logout, register_velzio
from support.texts import expected, gettext_in
from werkzeug.routing import IntegerConverter

REDIS_URL = os.environ.get("TEST_REDIS_URL")
STORAGES = ["memory"] + (["redis"] if REDIS_URL else [])


def browser(app, address: str = "127.0.0.1"):
    """A client of its own, as one browser from `address`."""
    app.test_client_class = ServerLikeClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def token(client, page: str) -> str:
    return csrf_from(client.get(page, headers={"Accept-Language": "lt"}).get_data(as_text=True))


def test_an_id_no_database_holds_is_not_found(client, app):
    """Every URL with a row's id (`<int:...>`), asked with a larger id than a
    column holds, by its own method: 404, as for an id with no row (SQLite
    refused such a number as a parameter: a 500 on the mailbox's pages)."""
    huge = 99999999999999999999
    urls = app.url_map.bind("localhost")
    asked = []
    for rule in app.url_map.iter_rules():
        ints = {n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)}
        if not ints:
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        values = {name: huge if name in ints else "velzio" for name in rule.arguments}
        path = urls.build(rule.endpoint, values, method=method)
        answer = client.open(path, method=method)
        asked.append(rule.endpoint)
        assert answer.status_code == 404, (path, answer.status_code)
    # The customers' pages (passkeys, apps, sessions), the mailboxes, the console.
    assert {"factors.rename", "mailbox.show", "qa_mail.message"} <= set(asked)
    assert any(endpoint.startswith("console.") for endpoint in asked)


# --- Row 2: only form bodies ------------------------------------------------------


POSTS = [
    ("/velzio/", {"email": "ona@example.com", "password": "Wrong1234"}),
    ("/velzio/forgot", {"email": "ona@example.com"}),
    ("/velzio/resend", {"email": "ona@example.com"}),
    ("/velzio/register", VELZIO_OK),
    ("/velzio/register/check/first_name", {"first_name": 1}),
    ("/elektrum/register/check/contract_number", ELEKTRUM_OK),
    ("/elektrum/register", ELEKTRUM_OK),
]


@pytest.mark.parametrize(("url", "data"), POSTS)
def test_a_json_body_is_refused_with_a_translated_415(client, app, url, data):
    """Flask-WTF would read a JSON body as the form (with the CSRF token in
    X-CSRFToken); the limits would not see it. Such bodies are refused before
    anything reads them."""
    page = "/" + url.split("/")[1] + "/"
    csrf = token(client, page)
    response = client.post(url, json=data, headers={"X-CSRFToken": csrf, "Accept-Language": "lt"})
    assert response.status_code == 415
    html = response.get_data(as_text=True)
    assert f"<h1>{gettext_in(app, 'Only a form sent from the page is accepted here')}</h1>" in html


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/json"])
def test_other_body_types_are_refused_too(client, app, content_type):
    csrf = token(client, "/velzio/")
    response = client.post(
        "/velzio/",
        data=f"csrf_token={csrf}&email=ona@example.com&password=Wrong1234",
        content_type=content_type,
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 415
    html = response.get_data(as_text=True)
    assert gettext_in(app, "Only a form sent from the page is accepted here", "en") in html


def test_a_refused_body_from_htmx_swaps_nothing(client, app):
    csrf = token(client, "/velzio/register")
    response = client.post(
        "/velzio/register/check/first_name",
        json={"first_name": 1},
        headers={"X-CSRFToken": csrf, "HX-Request": "true", "HX-Target": "first_name-error"},
    )
    assert response.status_code == 415
    assert response.headers["HX-Reswap"] == "none"


def test_the_htmx_live_check_still_takes_its_form_body(client, app):
    csrf = token(client, "/velzio/register")
    headers = {"HX-Request": "true", "HX-Target": "first_name-error", "Accept-Language": "lt"}
    url = "/velzio/register/check/first_name"
    ok = client.post(url, data={"csrf_token": csrf, "first_name": "Ona"}, headers=headers)
    assert ok.status_code == 200
    bad = client.post(url, data={"csrf_token": csrf, "first_name": ""}, headers=headers)
    assert bad.status_code == 422
    assert expected(app, "FIRST_NAME_REQUIRED") in bad.get_data(as_text=True)


def test_json_contract_lookups_are_not_answered(client, app):
    """Before: JSON look-ups were exempt from the contract limit (it read
    request.form) and every one of them was answered."""
    app.config["RATELIMIT_CONTRACT_IP"] = "2 per 10 minutes"
    csrf = token(client, "/elektrum/")
    url = "/elektrum/register/check/contract_number"
    data = {**ELEKTRUM_OK, "contract_number": "4100000001"}
    statuses = [
        client.post(url, json=data, headers={"X-CSRFToken": csrf}).status_code for _ in range(4)
    ]
    assert statuses == [415] * 4


FILE_PARTS = [
    ("/velzio/", {"password": "Wrong1234"}, "email", "EMAIL_REQUIRED"),
    ("/velzio/forgot", {}, "email", "EMAIL_REQUIRED"),
    ("/velzio/resend", {}, "email", "EMAIL_REQUIRED"),
    (
        "/velzio/register",
        {k: v for k, v in VELZIO_OK.items() if k != "email"},
        "email",
        "EMAIL_REQUIRED",
    ),
    ("/velzio/register/check/first_name", {}, "first_name", "FIRST_NAME_REQUIRED"),
    ("/elektrum/register/check/email", {}, "email", "EMAIL_REQUIRED"),
]


@pytest.mark.parametrize(("url", "data", "field", "key"), FILE_PARTS)
def test_a_file_where_text_is_expected_is_a_field_error(client, app, url, data, field, key):
    """A multipart file part named like a text field is not that field's value."""
    page = "/" + url.split("/")[1] + "/"
    payload = {
        "csrf_token": token(client, page),
        **data,
        field: (io.BytesIO(b"ona@example.com"), "value.txt"),
    }
    response = client.post(
        url, data=payload, content_type="multipart/form-data", headers={"Accept-Language": "lt"}
    )
    assert response.status_code == 422
    assert expected(app, key) in response.get_data(as_text=True)


def test_a_multipart_form_without_files_works_like_a_form(client, app):
    email = register_velzio(client, app)
    payload = {
        "csrf_token": token(client, "/velzio/"),
        "email": email,
        "password": VELZIO_OK["password"],
    }
    response = client.post("/velzio/", data=payload, content_type="multipart/form-data")
    assert response.status_code == 303


# --- Row 3: one address however its domain is spelt -------------------------------


SPELLINGS = ["rl@ｅxample.com", "rl@example。com", "rl@EXAMPLE．COM", "RL@Example.Com"]


def test_normalize_email_folds_what_the_validator_folds():
    from webapp.forms import normalize_email

    assert normalize_email("rl@example.com") == "rl@example.com"
    for spelling in SPELLINGS:
        assert normalize_email(spelling) == "rl@example.com", spelling
    assert normalize_email(" rl@example.com ") == "rl@example.com"
    assert normalize_email("not an address") is None
    assert normalize_email("") is None


def test_registration_limit_counts_every_spelling_of_one_address(client, app):
    """Before: each spelling had its own bucket and sent another email."""
    app.config["RATELIMIT_REGISTER_ACCOUNT"] = "1 per hour"
    app.config["RATELIMIT_REGISTER_IP"] = "100 per hour"
    person = browser(app)
    csrf = token(person, "/velzio/register")
    first = person.post(
        "/velzio/register", data={**VELZIO_OK, "csrf_token": csrf, "email": "rl@example.com"}
    )
    assert first.status_code == 303
    for spelling in SPELLINGS:
        again = person.post(
            "/velzio/register", data={**VELZIO_OK, "csrf_token": csrf, "email": spelling}
        )
        assert again.status_code == 429, spelling


@pytest.mark.parametrize("page", ["/velzio/forgot", "/velzio/resend"])
def test_email_limits_count_every_spelling_of_one_address(client, app, page):
    app.config["RATELIMIT_EMAIL_ACCOUNT"] = "1 per 15 minutes"
    csrf = token(client, page)
    assert (
        client.post(page, data={"csrf_token": csrf, "email": "rl@example.com"}).status_code == 200
    )
    for spelling in SPELLINGS:
        again = client.post(page, data={"csrf_token": csrf, "email": spelling})
        assert again.status_code == 429, spelling
    other = client.post(page, data={"csrf_token": csrf, "email": "rl2@example.com"})
    assert other.status_code == 200


# --- Row 6: parallel wrong passwords ----------------------------------------------


def race(works):
    """Run each callable in a thread of its own, released together."""
    barrier = threading.Barrier(len(works))
    results: list = [None] * len(works)
    errors: list[BaseException] = []

    def run(i):
        barrier.wait(timeout=30)
        try:
            results[i] = works[i]()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing request hung"
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def slow_password_check(monkeypatch):
    """Checking a password takes 50 ms (argon2 in production takes longer), so
    parallel attempts overlap the way they do against a real server."""
    from webapp.auth import flows

    real = flows.authenticate

    def slow(*args, **kwargs):
        time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(flows, "authenticate", slow)
    from webapp.auth import views

    monkeypatch.setattr(views, "authenticate", slow)


@pytest.mark.parametrize("storage", STORAGES)
def test_parallel_wrong_passwords_get_no_more_than_the_limit(
    app, database, tmp_path, storage, slow_password_check
):
    """40 wrong passwords for one account from 40 addresses at once: at most 10
    are checked ("wrong password", 422); the rest wait (429). Before: the
    account's count was charged after each answer, so every attempt that
    started before the tenth answer was checked too."""
    config = base_config(tmp_path, database)
    if storage == "redis":
        config["RATELIMIT_STORAGE_URI"] = REDIS_URL
    from webapp import create_app

    server = create_app(config)
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    browsers = [browser(server, f"10.0.{n}.1") for n in range(40)]
    tokens = [token(b, "/velzio/") for b in browsers]

    def attempt(n):
        data = {"csrf_token": tokens[n], "email": email, "password": "Wrong1234"}
        return browsers[n].post("/velzio/", data=data).status_code

    statuses = race([lambda n=n: attempt(n) for n in range(40)])
    assert statuses.count(422) == 10, statuses
    assert statuses.count(429) == 30, statuses


def test_a_successful_login_gives_its_reservation_back(client, app):
    """Every attempt is charged before the password is checked; a right password
    gives the charge back, so the owner logging in often is never locked out,
    and failures still add up to the limit."""
    app.config["RATELIMIT_LOGIN_ACCOUNT"] = "3 per 15 minutes"
    email = register_velzio(client, app)
    csrf = token(client, "/velzio/")
    wrong = {"csrf_token": csrf, "email": email, "password": "Wrong1234"}
    right = {"csrf_token": csrf, "email": email, "password": VELZIO_OK["password"]}
    assert client.post("/velzio/", data=wrong).status_code == 422
    assert client.post("/velzio/", data=wrong).status_code == 422
    for _ in range(5):
        assert client.post("/velzio/", data=right).status_code == 303
        assert logout(client, "velzio").status_code == 303
        wrong["csrf_token"] = right["csrf_token"] = token(client, "/velzio/")
    assert client.post("/velzio/", data=wrong).status_code == 422
    assert client.post("/velzio/", data=wrong).status_code == 429


# --- Row 7: addresses as the limits count them ------------------------------------


def forgot_from(app, address: str, n: int) -> int:
    client = browser(app, address)
    csrf = token(client, "/velzio/forgot")
    data = {"csrf_token": csrf, "email": f"v6-{n}@example.com"}
    return client.post("/velzio/forgot", data=data).status_code


def test_ipv6_addresses_of_one_64_network_share_a_limit(app):
    """Before: each of the 2^64 addresses of one network had its own count."""
    app.config["RATELIMIT_EMAIL_IP"] = "2 per 10 minutes"
    assert forgot_from(app, "2001:db8:1:2::1", 1) == 200
    assert forgot_from(app, "2001:db8:1:2:aaaa::5", 2) == 200
    assert forgot_from(app, "2001:db8:1:2:ffff:ffff:ffff:ffff", 3) == 429
    # Another /64 is another client.
    assert forgot_from(app, "2001:db8:1:3::1", 4) == 200


def test_an_ipv4_mapped_address_counts_as_the_ipv4_address(app):
    app.config["RATELIMIT_EMAIL_IP"] = "2 per 10 minutes"
    assert forgot_from(app, "192.0.2.1", 1) == 200
    assert forgot_from(app, "::ffff:192.0.2.1", 2) == 200
    assert forgot_from(app, "192.0.2.1", 3) == 429
    assert forgot_from(app, "192.0.2.2", 4) == 200


def test_limit_address_keys():
    from webapp.addresses import limit_address

    assert limit_address("192.0.2.1") == "192.0.2.1"
    assert limit_address("::ffff:192.0.2.1") == "192.0.2.1"
    assert limit_address("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert limit_address("2001:DB8:1:2::9") == "2001:db8:1:2::/64"
    assert limit_address("fe80::1%eth0") == "fe80::/64"
    assert limit_address("") == "unknown"
    assert limit_address(None) == "unknown"
    assert limit_address("not-an-address") == "not-an-address"


def contract_check(app, address: str, number: str, code: str = "110053842") -> int:
    client = browser(app, address)
    csrf = token(client, "/elektrum/register")
    data = {
        "csrf_token": csrf,
        "company_code": code,
        "is_customer": "yes",
        "contract_number": number,
    }
    headers = {"HX-Request": "true", "HX-Target": "contract_number-error"}
    url = "/elektrum/register/check/contract_number"
    return client.post(url, data=data, headers=headers).status_code


def test_one_contract_number_tried_from_many_addresses_is_limited(app):
    """Before: contract look-ups had a per-address limit only, so an attacker
    with many addresses could try company codes for one contract number (or
    numbers for one company) without end."""
    app.config["RATELIMIT_CONTRACT_NUMBER"] = "2 per hour"
    app.config["RATELIMIT_CONTRACT_COMPANY"] = "100 per hour"
    assert contract_check(app, "10.1.0.1", "4100000001") == 422
    assert contract_check(app, "10.2.0.1", "41 0000 0001", "302333501") == 422
    assert contract_check(app, "10.3.0.1", "4100000001", "302333519") == 429
    # Another number is not held back.
    assert contract_check(app, "10.4.0.1", "4100000002") == 422


def test_one_company_tried_from_many_addresses_is_limited(app):
    app.config["RATELIMIT_CONTRACT_NUMBER"] = "100 per hour"
    app.config["RATELIMIT_CONTRACT_COMPANY"] = "2 per hour"
    assert contract_check(app, "10.1.0.1", "4100000001") == 422
    assert contract_check(app, "10.2.0.1", "4100000002") == 422
    assert contract_check(app, "10.3.0.1", "4100000003") == 429
    assert contract_check(app, "10.4.0.1", "4100000003", "302333501") == 422


def test_a_contract_found_does_not_use_up_its_limits(app):
    """Only refused look-ups keep their charge: a customer checking their own
    contract (or double-clicking "Registruotis") is not held back."""
    app.config["RATELIMIT_CONTRACT_NUMBER"] = "2 per hour"
    app.config["RATELIMIT_CONTRACT_COMPANY"] = "2 per hour"
    for n in range(4):
        assert contract_check(app, f"10.5.{n}.1", "4100012345") == 200
    assert contract_check(app, "10.6.0.1", "4100000001") == 422
    assert contract_check(app, "10.6.1.1", "4100000001") == 422
    assert contract_check(app, "10.6.2.1", "4100000001") == 429


def test_contract_limits_cover_the_full_registration_post(app):
    app.config["RATELIMIT_CONTRACT_NUMBER"] = "1 per hour"
    client = browser(app, "10.9.0.1")
    csrf = token(client, "/elektrum/register")
    data = {**ELEKTRUM_OK, "csrf_token": csrf, "contract_number": "4100000001"}
    assert client.post("/elektrum/register", data=data).status_code == 422
    other = browser(app, "10.9.1.1")
    data["csrf_token"] = token(other, "/elektrum/register")
    assert other.post("/elektrum/register", data=data).status_code == 429
