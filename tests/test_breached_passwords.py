"""Breached passwords (#11): where a tenant says reject_breached, a password
seen in known data breaches is refused wherever a new one is chosen (residential
registration, the activation and reset links, the account page), asked of a
range API on loopback that sees only five hex characters of the SHA-1. When the
API is down, unreachable or too slow, the password is accepted (fail open),
logged and counted. The live check never asks it."""

from __future__ import annotations

import hashlib
import logging
import re
import time
import tomllib

import pytest
from support.apps import TENANTS_FILE
from support.data import ELEKTRUM_OK, ELEKTRUM_PASSWORD, VELZIO_OK
from support.forms import htmx_post, submit
from support.mail import link_in, outbox
from support.people import account, login, register_velzio
from support.range_api import RangeAPI
from support.servers import free_port
from support.texts import expected

from webapp.breached_passwords import unchecked_count
from webapp.config import ConfigError, load_config
from webapp.tenants import TenantDataError, load_tenants, parse_settings

# Both meet Velzio's and Elektrum's rules, and neither is a most common password.
BREACHED = "Pavogtas77"
FRESH = "Naujas123"
# Its suffix is in the answer as a padding line (count 0): not a breach.
PADDED = "Atsitiktinis8"


@pytest.fixture
def range_api(app):
    api = RangeAPI({BREACHED: 3912}, padding=(PADDED,)).start()
    app.config["BREACHED_PASSWORDS_URL"] = api.url
    yield api
    api.stop()


def register(client, password: str):
    data = {**VELZIO_OK, "password": password, "password2": password}
    return submit(client, "/velzio/register", data)


def test_registration_refuses_a_breached_password_and_says_why(client, app, range_api):
    response = register(client, BREACHED)
    assert response.status_code == 422
    assert expected(app, "PASSWORD_BREACHED") in response.get_data(as_text=True)
    assert account(app, "velzio", VELZIO_OK["email"]) is None
    assert outbox(app) == []

    english = submit(
        client,
        "/velzio/register?lang=en",
        {**VELZIO_OK, "password": BREACHED, "password2": BREACHED},
    )
    assert expected(app, "PASSWORD_BREACHED", "en") in english.get_data(as_text=True)


def test_a_password_not_listed_registers(client, app, range_api):
    assert register(client, FRESH).status_code == 303
    assert account(app, "velzio", VELZIO_OK["email"]) is not None
    [asked] = range_api.requests
    assert asked["headers"]["Add-Padding"] == "true"


def test_a_padding_line_is_not_a_breach(client, app, range_api):
    assert register(client, PADDED).status_code == 303
    assert len(range_api.requests) == 1


def test_only_five_hex_characters_of_the_hash_leave_the_server(client, app, range_api):
    register(client, BREACHED)
    [asked] = range_api.requests
    digest = hashlib.sha1(BREACHED.encode()).hexdigest().upper()  # noqa: S324 (the API's hash)
    assert asked["path"] == f"/range/{digest[:5]}"
    assert re.fullmatch(r"/range/[0-9A-F]{5}", asked["path"])
    sent = (asked["path"] + repr(asked["headers"])).upper()
    assert digest[5:] not in sent and digest[5:12] not in sent
    assert BREACHED.upper() not in sent


def test_unreachable_api_accepts_the_password_logs_and_counts(client, app, caplog):
    app.config["BREACHED_PASSWORDS_URL"] = f"http://127.0.0.1:{free_port()}/range/"
    with caplog.at_level(logging.WARNING, logger="webapp.breached_passwords"):
        assert register(client, BREACHED).status_code == 303
    assert account(app, "velzio", VELZIO_OK["email"]) is not None
    [record] = [r for r in caplog.records if r.name == "webapp.breached_passwords"]
    assert "accepted unchecked" in record.getMessage()
    assert record.fields == {"breached_passwords_unchecked": 1}
    digest = hashlib.sha1(BREACHED.encode()).hexdigest().upper()  # noqa: S324
    assert digest[:5] not in record.getMessage().upper()
    with app.app_context():
        assert unchecked_count() == 1


def test_an_error_status_accepts_the_password(client, app, range_api):
    range_api.mode = "503"
    assert register(client, BREACHED).status_code == 303
    with app.app_context():
        assert unchecked_count() == 1


def test_a_slow_api_is_not_waited_for(client, app, range_api):
    range_api.mode = "hold"
    app.config["BREACHED_PASSWORDS_TIMEOUT"] = 0.3
    started = time.monotonic()
    response = register(client, BREACHED)
    waited = time.monotonic() - started
    range_api.release.set()
    assert response.status_code == 303
    assert len(range_api.requests) == 1
    assert waited < 5  # the API holds its answer for 10 s
    with app.app_context():
        assert unchecked_count() == 1


def test_the_live_check_does_not_ask_the_api(client, app, range_api):
    response = htmx_post(
        client,
        "/velzio/register/check/password",
        {"password": BREACHED},
        page="/velzio/register",
    )
    assert response.status_code == 200
    assert expected(app, "PASSWORD_BREACHED") not in response.get_data(as_text=True)
    assert range_api.requests == []
    # The full POST does.
    assert register(client, BREACHED).status_code == 422
    assert len(range_api.requests) == 1


def test_the_reset_link_refuses_a_breached_password(client, app, range_api):
    register_velzio(client, app)
    submit(app.test_client(), "/velzio/forgot", {"email": VELZIO_OK["email"]})
    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/velzio/reset/")
    refused = submit(client, link, {"password": BREACHED, "password2": BREACHED})
    assert refused.status_code == 422
    assert expected(app, "PASSWORD_BREACHED") in refused.get_data(as_text=True)
    assert login(app.test_client(), "velzio", VELZIO_OK["email"], BREACHED).status_code == 422
    done = submit(client, link, {"password": FRESH, "password2": FRESH})
    assert done.status_code == 303


def test_the_activation_link_refuses_a_breached_password(client, app, range_api):
    assert submit(client, "/elektrum/register", ELEKTRUM_OK).status_code == 303
    link = link_in(outbox(app, ELEKTRUM_OK["email"])[-1], "/activate/")
    refused = submit(client, link, {"password": BREACHED, "password2": BREACHED})
    assert refused.status_code == 422
    assert expected(app, "PASSWORD_BREACHED") in refused.get_data(as_text=True)
    assert account(app, "elektrum", ELEKTRUM_OK["email"]).password_hash is None
    done = submit(client, link, {"password": ELEKTRUM_PASSWORD, "password2": ELEKTRUM_PASSWORD})
    assert done.status_code == 303


def test_the_account_page_refuses_a_breached_password(client, app, range_api):
    register_velzio(client, app)
    assert login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"]).status_code == 303
    page = "/velzio/account/password"
    data = {"current_password": VELZIO_OK["password"], "password": BREACHED, "password2": BREACHED}
    refused = submit(client, page, data)
    assert refused.status_code == 422
    assert expected(app, "PASSWORD_BREACHED") in refused.get_data(as_text=True)
    assert [m.kind for m in outbox(app, VELZIO_OK["email"])] == ["confirm"]
    done = submit(client, page, {**data, "password": FRESH, "password2": FRESH})
    assert done.status_code == 303


def test_a_tenant_without_the_setting_never_asks(client, app, range_api, tmp_path):
    text = TENANTS_FILE.read_text(encoding="utf-8")
    changed = tmp_path / "tenants.toml"
    changed.write_text(text.replace("reject_breached = true", "reject_breached = false"))
    with app.app_context():
        load_tenants(changed)
    assert register(client, BREACHED).status_code == 303
    assert range_api.requests == []


def test_the_setting_must_be_true_or_false(app):
    with app.app_context():
        velzio = next(
            entry
            for entry in tomllib.loads(TENANTS_FILE.read_text())["tenants"]
            if entry["slug"] == "velzio"
        )
        assert parse_settings(velzio).password.reject_breached is True
        velzio["password"]["reject_breached"] = "yes"
        with pytest.raises(TenantDataError, match="reject_breached must be true or false"):
            parse_settings(velzio)


def test_the_api_address_is_a_deployment_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("BREACHED_PASSWORDS_URL", raising=False)
    config = load_config(tmp_path, {"APP_ENV": "development"})
    assert config["BREACHED_PASSWORDS_URL"] == "https://api.pwnedpasswords.com/range/"
    assert config["BREACHED_PASSWORDS_TIMEOUT"] == 2.0
    monkeypatch.setenv("BREACHED_PASSWORDS_URL", "")
    assert load_config(tmp_path, {"APP_ENV": "development"})["BREACHED_PASSWORDS_URL"] == ""
    monkeypatch.setenv("BREACHED_PASSWORDS_URL", "ftp://mirror.example/range/")
    with pytest.raises(ConfigError, match="BREACHED_PASSWORDS_URL"):
        load_config(tmp_path, {"APP_ENV": "development"})
