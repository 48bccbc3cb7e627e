"""Authenticator-app codes and recovery codes, as a customer uses them: set up
on the security page, asked for at the next login, a code taken once, one
step either side, recovery codes single use and made anew, the per-account
throttle, the emails and events, and Elektrum's "required" policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support.data import VELZIO_OK
from support.factors import (
    STEP_PATH,
    add_authenticator,
    codes_on,
    pass_step,
    phone_of,
    press,
    waits_for_step,
)
from support.forms import csrf_from, submit
from support.mail import outbox
from support.people import Customer, login, logout
from support.texts import expected, gettext_in

from webapp.extensions import db
from webapp.factors.flows import WrongCode, check_code
from webapp.models import Account, AuditEvent, RecoveryCode, TotpFactor, utcnow
from webapp.tenants import TenantDataError, parse_settings


def first_step(client, slug="velzio", email=VELZIO_OK["email"], password=VELZIO_OK["password"]):
    """The password only: the answer that leads to the second step."""
    return submit(client, f"/{slug}/", {"email": email, "password": password})


@pytest.fixture
def ona(client, app):
    """Ona at Velžio (factors optional), logged in, with an authenticator app."""
    person = Customer(client, app, "velzio")
    person.register()
    assert person.login().headers["Location"] == "/velzio/account/"
    add_authenticator(client, app, "velzio", person.email)
    return person


def audit(app, event: str) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)).all())


def test_an_app_set_up_is_asked_for_at_the_next_login(client, app, ona):
    phone = phone_of(app, "velzio", ona.email)
    logout(client, "velzio")
    response = first_step(client)
    assert waits_for_step(response, "velzio")
    assert client.get("/velzio/account/").status_code == 302
    page = client.get(f"/velzio{STEP_PATH}").get_data(as_text=True)
    assert gettext_in(app, "Confirm it is you") in page
    # The code the app shows after the one used to set it up.
    done = pass_step(client, "velzio", phone.code(1))
    assert done.headers["Location"] == "/velzio/account/"
    assert client.get("/velzio/account/").status_code == 200
    with app.app_context():
        from webapp.models import LoginSession

        login_row = db.session.scalars(select(LoginSession).order_by(LoginSession.id)).all()[-1]
        assert login_row.amr == ["pwd", "otp", "mfa"]


def test_a_code_is_taken_once(client, app, ona):
    phone = phone_of(app, "velzio", ona.email)
    logout(client, "velzio")
    code = phone.code(1)
    first_step(client)
    assert pass_step(client, "velzio", code).status_code == 303
    logout(client, "velzio")
    first_step(client)
    replayed = pass_step(client, "velzio", code)
    assert replayed.status_code == 422
    assert expected(app, "CODE_WRONG") in replayed.get_data(as_text=True)
    # An older code than the newest accepted is no good either.
    assert pass_step(client, "velzio", phone.code(0)).status_code == 422
    assert client.get("/velzio/account/").status_code == 302


def test_one_time_step_either_side_is_accepted_and_no_more(app, ona):
    phone = phone_of(app, "velzio", ona.email)
    later = utcnow() + timedelta(minutes=10)
    at = later.timestamp()
    with app.test_request_context("/"):
        account = db.session.scalar(select(Account).where(Account.email == ona.email))
        with pytest.raises(WrongCode):
            check_code(account, phone.totp.at(at - 60), now=later)  # two steps early
        with pytest.raises(WrongCode):
            check_code(account, phone.totp.at(at + 60), now=later)  # two steps late
        assert check_code(account, phone.totp.at(at - 30), now=later) == ("otp", "mfa")
        assert check_code(account, phone.totp.at(at), now=later) == ("otp", "mfa")
        assert check_code(account, phone.totp.at(at + 30), now=later) == ("otp", "mfa")
        with pytest.raises(WrongCode):
            check_code(account, phone.totp.at(at + 30), now=later)


def test_a_recovery_code_works_once(client, app, ona):
    code = phone_of(app, "velzio", ona.email).recovery_code()
    logout(client, "velzio")
    first_step(client)
    assert pass_step(client, "velzio", code.upper()).headers["Location"] == "/velzio/account/"
    logout(client, "velzio")
    first_step(client)
    assert pass_step(client, "velzio", code).status_code == 422
    with app.app_context():
        used = db.session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
        assert len(used.all()) == 1


def test_new_recovery_codes_replace_the_old(client, app, ona):
    old = phone_of(app, "velzio", ona.email).recovery_codes
    shown = press(client, "velzio", "/velzio/account/security/recovery-codes")
    assert shown.status_code == 200
    new = codes_on(shown.get_data(as_text=True))
    assert set(new).isdisjoint(old)
    assert audit(app, "recovery_codes_renewed") == 1
    logout(client, "velzio")
    first_step(client)
    assert pass_step(client, "velzio", old[0]).status_code == 422
    assert pass_step(client, "velzio", new[0]).headers["Location"] == "/velzio/account/"


def test_wrong_codes_are_throttled_per_account(client, app, ona):
    logout(client, "velzio")
    first_step(client)
    for _ in range(5):
        assert pass_step(client, "velzio", "000000").status_code == 422
    # The right code too, and from another browser at another address.
    code = phone_of(app, "velzio", ona.email).recovery_code()
    assert pass_step(client, "velzio", code).status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.99"
    first_step(other)
    assert pass_step(other, "velzio", code).status_code == 429


def test_adding_and_removing_an_app_is_told_by_email_and_event(client, app, ona):
    kinds = [message.kind for message in outbox(app, ona.email)]
    assert kinds[-1] == "factor_added"
    added = outbox(app, ona.email)[-1]
    assert added.text_body.startswith("Sveiki, Ona,")  # the vocative (webapp/lithuanian.py)
    assert "/velzio/account/security" in added.text_body
    assert audit(app, "factor_added") == 1

    done = press(client, "velzio", "/velzio/account/security/authenticator/remove")
    assert done.status_code == 303
    page = client.get("/velzio/account/security").get_data(as_text=True)
    assert expected(app, "AUTHENTICATOR_REMOVED") in page
    assert outbox(app, ona.email)[-1].kind == "factor_removed"
    assert audit(app, "factor_removed") == 1
    with app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
        assert db.session.scalars(select(TotpFactor)).all() == []
    # No factor left at an "optional" tenant: the password alone logs in.
    logout(client, "velzio")
    assert first_step(client).headers["Location"] == "/velzio/account/"


def test_removing_needs_a_login(client, app, ona):
    logout(client, "velzio")
    html = client.get("/velzio/").get_data(as_text=True)
    refused = client.post(
        "/velzio/account/security/authenticator/remove", data={"csrf_token": csrf_from(html)}
    )
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/velzio/")
    with app.app_context():
        assert len(db.session.scalars(select(TotpFactor)).all()) == 1


def test_the_secret_is_not_stored_as_it_is(app, ona):
    phone = phone_of(app, "velzio", ona.email)
    with app.app_context():
        stored = db.session.scalar(select(TotpFactor)).secret
    assert phone.key.replace(" ", "") not in stored


def test_elektrum_requires_a_factor_before_the_account_page(client, app):
    """A business customer sets up an app at the first login (the activation
    link's), and is asked for it ever after; the last factor cannot go."""
    jonas = Customer(client, app, "elektrum")
    jonas.register()  # tests/support: passes the set-up step
    assert client.get("/elektrum/account/").status_code == 200
    assert outbox(app, jonas.email)[-1].kind == "factor_added"
    logout(client, "elektrum")
    response = first_step(client, "elektrum", jonas.email, jonas.password)
    assert waits_for_step(response, "elektrum")
    assert client.get(f"/elektrum{STEP_PATH}").status_code == 200
    assert jonas.login().headers["Location"] == "/elektrum/account/"
    refused = press(client, "elektrum", "/elektrum/account/security/authenticator/remove")
    assert refused.status_code == 303
    page = client.get("/elektrum/account/security").get_data(as_text=True)
    assert expected(app, "FACTOR_LAST", name="Elektrum") in page
    with app.app_context():
        assert len(db.session.scalars(select(TotpFactor)).all()) == 1


def test_the_set_up_step_refuses_a_wrong_code(client, app):
    jonas = Customer(client, app, "elektrum")
    jonas.register()
    other = app.test_client()
    # A second Elektrum customer, stopped at the set-up step.
    from support.data import ELEKTRUM_OK
    from support.mail import link_in

    submit(other, "/elektrum/register", {**ELEKTRUM_OK, "email": "petras@example.com"})
    link = link_in(outbox(app, "petras@example.com")[-1], "/activate/")
    response = submit(other, link, {"password": "Slapta_123", "password2": "Slapta_123"})
    assert waits_for_step(response, "elektrum")
    page = other.get(f"/elektrum{STEP_PATH}").get_data(as_text=True)
    assert gettext_in(app, "One more step: protect your account") in page
    refused = other.post(
        f"/elektrum{STEP_PATH}", data={"csrf_token": csrf_from(page), "code": "123"}
    )
    assert refused.status_code == 422
    assert expected(app, "CODE_WRONG") in refused.get_data(as_text=True)
    # "Continue" without a factor set up is no way round it.
    skipped = other.post(f"/elektrum{STEP_PATH}/continue", data={"csrf_token": csrf_from(page)})
    assert other.get("/elektrum/account/").status_code == 302
    assert skipped.status_code == 303


def test_the_policy_is_validated():
    import tomllib

    from support.apps import TENANTS_FILE

    data = tomllib.loads(TENANTS_FILE.read_text(encoding="utf-8"))["tenants"]
    policies = {entry["slug"]: parse_settings(entry).second_factor for entry in data}
    assert policies == {"elektrum": "required", "velzio": "optional"}
    with pytest.raises(TenantDataError, match="second_factor"):
        parse_settings({**data[1], "second_factor": "always"})


def test_a_tenant_with_factors_off_offers_none(client, app):
    from webapp.models import Tenant

    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "velzio"))
        tenant.settings = {**tenant.settings, "second_factor": "off"}
        db.session.commit()
    ona = Customer(client, app, "velzio")
    ona.register()
    login(client, "velzio", ona.email, ona.password)
    home = client.get("/velzio/account/").get_data(as_text=True)
    assert "/velzio/account/security" not in home
