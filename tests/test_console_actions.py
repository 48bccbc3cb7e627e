"""The staff console's actions on a customer's account (webapp/console/actions.py):
each needs a reason, writes its audit row with the staff member and the reason,
emits its event (a webhook where the utility's systems care), tells the
customer by email where the customer should know, and acts only on the
staff member's own utility's accounts."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select
from support.console_actions import ConsoleAgent, audit_rows, webhook_types
from support.data import VELZIO_OK
from support.factors import STEP_PATH, phone_of, set_up_on_step
from support.forms import csrf_from, submit
from support.mail import link_in, outbox
from support.people import Customer, login
from support.texts import expected, gettext_in

from webapp import webhooks
from webapp.console import actions
from webapp.extensions import db
from webapp.models import Account, Contract, TotpFactor
from webapp.tenants import settings_for

REASON = "  Asked by phone, ticket 4411  "
STORED_REASON = "Asked by phone, ticket 4411"


@pytest.fixture
def hooked(app):
    """An endpoint at each tenant receiving every event (never reached: the
    rows are what these tests look at)."""
    with app.app_context():
        from support.apps import tenant

        for slug in ("velzio", "elektrum"):
            webhooks.add_endpoint(tenant(slug), "http://127.0.0.1:9/hook", ["*"])


@pytest.fixture
def ona(client, app):
    person = Customer(client, app, "velzio")
    person.register()
    assert person.login().status_code == 303
    return person


@pytest.fixture
def agent(app):
    return ConsoleAgent(app, "velzio", staff_id=7)


def signed_in(customer) -> bool:
    return customer.client.get(f"/{customer.slug}/account/").status_code == 200


# The reason


@pytest.mark.parametrize(
    ("reason", "key"),
    [(None, "CONSOLE_REASON_REQUIRED"), ("  \n ", "CONSOLE_REASON_REQUIRED"), ("x" * 501, None)],
)
@pytest.mark.parametrize(
    "action", ["block", "end_sessions", "send_password_reset", "resend_confirmation"]
)
def test_every_action_needs_a_short_reason_and_does_nothing_without(
    app, ona, agent, action, reason, key
):
    mails = len(outbox(app))
    refused = agent.act(action, ona.email, reason)
    assert refused == (key or "CONSOLE_REASON_TOO_LONG")
    assert expected(app, refused, max=500)  # the page can say why
    assert [r for r in audit_rows(app, "account_blocked") if r[0] == agent.actor] == []
    assert len(outbox(app)) == mails
    assert signed_in(ona)


def test_a_reason_of_500_characters_is_kept_whole(app, ona, agent):
    assert agent.act("end_sessions", ona.email, "ą" * 500) is None
    assert audit_rows(app, "sessions_ended") == [(agent.actor, "ą" * 500, ona.account().id)]


# Emails and links


def test_resending_the_confirmation_email(app, client, agent, hooked):
    data = {**VELZIO_OK, "email": "petras@example.com"}
    assert submit(client, "/velzio/register", data).status_code == 303
    assert agent.act("resend_confirmation", data["email"], REASON) is None
    account_id = Customer(client, app, "velzio", **data).account().id
    assert audit_rows(app, "confirmation_resent") == [(agent.actor, STORED_REASON, account_id)]
    sent = outbox(app, data["email"])
    assert len(sent) == 2 and sent[-1].kind == "confirm"
    # The new link works, and the staff member was never shown it (nothing returned).
    assert submit(client, link_in(sent[-1], "/confirm/"), {}).status_code == 303
    assert "account.email_confirmed" in webhook_types(app)
    # Once confirmed there is nothing to send again.
    assert agent.act("resend_confirmation", data["email"], REASON) == "CONSOLE_ALREADY_CONFIRMED"
    assert len(outbox(app, data["email"])) == 2


def test_sending_a_password_reset(app, ona, agent, hooked):
    assert agent.act("send_password_reset", ona.email, REASON) is None
    assert audit_rows(app, "reset_requested") == [(agent.actor, STORED_REASON, ona.account().id)]
    assert webhook_types(app)[-1] == "password.reset_requested"
    reset = outbox(app, ona.email)[-1]
    assert reset.kind == "reset"
    link = link_in(reset, "/reset/")
    answer = submit(ona.client, link, {"password": "Nauja1234", "password2": "Nauja1234"})
    assert answer.status_code == 303
    assert login(app.test_client(), "velzio", ona.email, "Nauja1234").status_code == 303


# Access


def test_blocking_ends_the_sessions_and_refuses_login_like_a_wrong_password(
    app, ona, agent, hooked
):
    assert signed_in(ona)
    assert agent.act("block", ona.email, REASON) is None
    assert audit_rows(app, "account_blocked") == [(agent.actor, STORED_REASON, ona.account().id)]
    assert webhook_types(app)[-1] == "account.blocked"
    assert not signed_in(ona)
    # The right password gets the wrong password's answer: nothing tells a
    # guesser that the password was right.
    for password in (ona.password, "Neteisinga1"):
        answer = ona.login(password)
        assert answer.status_code == 422
        assert expected(app, "LOGIN_FAILED") in answer.get_data(as_text=True)
    assert agent.act("block", ona.email, REASON) == "CONSOLE_ALREADY_BLOCKED"
    # A reset is not sent to a blocked account from the console.
    assert agent.act("send_password_reset", ona.email, REASON) == "CONSOLE_BLOCKED"


def test_a_blocked_account_cannot_log_in_with_a_reset_link_either(app, ona, agent):
    forgot = submit(ona.client, "/velzio/forgot", {"email": ona.email})
    assert forgot.status_code in (200, 303)
    link = link_in(outbox(app, ona.email)[-1], "/reset/")
    assert agent.act("block", ona.email, REASON) is None
    # Blocking ended the link already sent.
    assert ona.client.get(link).status_code == 410
    assert not signed_in(ona)


def test_a_blocked_account_is_sent_no_reset_link(app, ona, agent):
    assert agent.act("block", ona.email, REASON) is None
    sent = len(outbox(app, ona.email))
    assert submit(ona.client, "/velzio/forgot", {"email": ona.email}).status_code in (200, 303)
    assert len(outbox(app, ona.email)) == sent


def test_a_login_half_done_when_the_block_comes_is_not_finished(app, client):
    jonas = Customer(client, app, "elektrum")
    jonas.register()
    jonas.logout()
    phone = phone_of(app, "elektrum", jonas.email)
    answer = submit(client, "/elektrum/", {"email": jonas.email, "password": jonas.password})
    assert answer.headers["Location"] == f"/elektrum{STEP_PATH}"
    step_page = client.get(f"/elektrum{STEP_PATH}").get_data(as_text=True)
    assert ConsoleAgent(app, "elektrum").act("block", jonas.email, REASON) is None
    code = {"csrf_token": csrf_from(step_page), "code": phone.code(steps=1)}
    answer = client.post(f"/elektrum{STEP_PATH}", data=code)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/elektrum/")
    assert client.get("/elektrum/account/").status_code == 302


def test_unblocking_lets_the_customer_log_in_again(app, ona, agent, hooked):
    assert agent.act("unblock", ona.email, REASON) == "CONSOLE_NOT_BLOCKED"
    agent.act("block", ona.email, "Suspicious logins")
    assert agent.act("unblock", ona.email, REASON) is None
    assert audit_rows(app, "account_unblocked") == [(agent.actor, STORED_REASON, ona.account().id)]
    assert webhook_types(app)[-1] == "account.unblocked"
    assert ona.login().status_code == 303
    assert signed_in(ona)


def test_ending_all_sessions(app, ona, agent, hooked):
    other_browser = Customer(app.test_client(), app, "velzio")
    assert other_browser.login().status_code == 303
    sent_before = webhook_types(app)
    assert agent.act("end_sessions", ona.email, REASON) is None
    assert not signed_in(ona) and not signed_in(other_browser)
    assert audit_rows(app, "sessions_ended") == [(agent.actor, STORED_REASON, ona.account().id)]
    assert webhook_types(app) == sent_before  # audited only
    # The customer may log in again at once.
    assert ona.login().status_code == 303


# Details


def test_correcting_the_name_and_phone_tells_the_customer(app, ona, agent, hooked):
    changes = {"first_name": " Onutė ", "phone": "+370 612 34568"}
    assert agent.act("correct_details", ona.email, REASON, changes=changes) is None
    account = ona.account()
    assert (account.first_name, account.phone) == ("Onutė", "+37061234568")
    assert audit_rows(app, "details_changed") == [(agent.actor, STORED_REASON, account.id)]
    with app.app_context():
        delivery = webhooks.deliveries(_tenant("velzio"))[0]
    assert delivery.type == "account.details_changed"
    assert '"changed":{"first_name":"Onutė","phone":"+37061234568"}' in delivery.payload
    told = outbox(app, ona.email)[-1]
    assert told.kind == "details_corrected" and told.language == "lt"
    assert told.subject == _subject(app, "velzio", "lt")
    assert "Onutė" in told.text_body and "+37061234568" in told.text_body
    assert gettext_in(app, "Phone number") in told.text_body


def test_the_correction_email_is_in_the_customers_language(app, client, agent):
    data = {**VELZIO_OK, "email": "john@example.com"}
    person = Customer(client, app, "velzio", **data)
    person.register()
    with app.app_context():
        db.session.scalar(select(Account).where(Account.email == data["email"])).language = "en"
        db.session.commit()
    assert (
        agent.act("correct_details", data["email"], REASON, changes={"last_name": "Smith"}) is None
    )
    told = outbox(app, data["email"])[-1]
    assert told.language == "en" and told.subject == _subject(app, "velzio", "en")
    assert "Our staff corrected your details" in told.text_body and "Smith" in told.text_body


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"first_name": ""}, "FIRST_NAME_REQUIRED"),
        ({"last_name": "R2D2"}, "NAME_INVALID"),
        ({"phone": "12"}, "PHONE_INVALID"),
        ({"first_name": "Ona"}, "CONSOLE_NOTHING_CHANGED"),
        ({"contract_number": "4100012345"}, "CONSOLE_NO_CONTRACTS"),
    ],
)
def test_a_bad_correction_changes_nothing(app, ona, agent, changes, key):
    before = ona.account()
    assert agent.act("correct_details", ona.email, REASON, changes=changes) == key
    after = ona.account()
    assert (after.first_name, after.last_name, after.phone) == (
        before.first_name,
        before.last_name,
        before.phone,
    )
    assert audit_rows(app, "details_changed") == []
    assert outbox(app, ona.email)[-1].kind != "details_corrected"


def test_correcting_a_contract_number_checks_the_registry(app, client):
    jonas = Customer(client, app, "elektrum")
    jonas.register()
    agent = ConsoleAgent(app, "elektrum")
    assert (
        agent.act("correct_details", jonas.email, REASON, changes={"contract_number": "4100099998"})
        == "CONSOLE_CONTRACT_NOT_FOUND"
    )
    assert (
        agent.act("correct_details", jonas.email, REASON, changes={"contract_number": "12"})
        == "CONTRACT_FORMAT"
    )
    # 4100012346 is active for another company; 4100099999 is Jonas's but ended.
    for number in ("4100012346", "4100099999"):
        assert (
            agent.act("correct_details", jonas.email, REASON, changes={"contract_number": number})
            == "CONSOLE_CONTRACT_NOT_FOUND"
        )
    number = "4100012399"
    with app.app_context():
        db.session.add(
            Contract(
                tenant_id=_tenant("elektrum").id,
                contract_number=number,
                company_code="110053842",
                status="active",
            )
        )
        db.session.commit()
    changes = {"contract_number": " 4100 012399 "}
    assert agent.act("correct_details", jonas.email, REASON, changes=changes) is None
    assert jonas.account().contract_number == number
    assert outbox(app, jonas.email)[-1].kind == "details_corrected"


# Second factors


def test_removing_a_lost_authenticator_after_checking_identity(app, client, hooked):
    jonas = Customer(client, app, "elektrum")
    jonas.register()
    agent = ConsoleAgent(app, "elektrum", staff_id=12)
    assert (
        agent.act("remove_factor", jonas.email, REASON, identity_checked=False)
        == "CONSOLE_IDENTITY_UNCHECKED"
    )
    assert _factors(app, jonas) == 1
    # The last factor of a tenant that requires one: staff may remove it.
    assert agent.act("remove_factor", jonas.email, REASON, identity_checked=True) is None
    assert _factors(app, jonas) == 0
    assert audit_rows(app, "factor_removed") == [("staff:12", STORED_REASON, jonas.account().id)]
    assert webhook_types(app)[-1] == "factor.removed"
    assert outbox(app, jonas.email)[-1].kind == "factor_removed"
    assert (
        agent.act("remove_factor", jonas.email, REASON, identity_checked=True)
        == "CONSOLE_FACTOR_NOT_FOUND"
    )
    # The next login sets a new one up.
    fresh = app.test_client()
    answer = submit(fresh, "/elektrum/", {"email": jonas.email, "password": jonas.password})
    assert answer.headers["Location"] == f"/elektrum{STEP_PATH}"
    assert set_up_on_step(fresh, app, "elektrum", jonas.email).status_code == 303


# Isolation


def test_staff_cannot_act_on_another_utilitys_customer(app, ona):
    elektrum_agent = ConsoleAgent(app, "elektrum")
    for action in ("block", "end_sessions", "send_password_reset"):
        assert elektrum_agent.act(action, ona.email, REASON, slug="velzio") == "CONSOLE_NOT_FOUND"
    assert (
        elektrum_agent.act(
            "correct_details", ona.email, REASON, slug="velzio", changes={"first_name": "X"}
        )
        == "CONSOLE_NOT_FOUND"
    )
    assert signed_in(ona) and ona.account().blocked_at is None
    assert audit_rows(app, "account_blocked") == [] and audit_rows(app, "sessions_ended") == []


def test_an_actor_must_be_a_staff_member(app, ona):
    with app.app_context():
        account = db.session.get(Account, ona.account().id)
        with pytest.raises(ValueError, match="not a staff actor"):
            actions.block(_tenant("velzio"), "customer", account, REASON)
    assert ona.account().blocked_at is None


# Helpers


def _tenant(slug):
    from support.apps import tenant

    return tenant(slug)


def _factors(app, customer) -> int:
    with app.app_context():
        return len(
            db.session.scalars(
                select(TotpFactor).where(TotpFactor.account_id == customer.account().id)
            ).all()
        )


def _subject(app, slug: str, language: str) -> str:
    with app.app_context():
        product = settings_for(_tenant(slug)).product_name
    with app.test_request_context("/"), force_locale(language):
        return gettext("Your details at %(product)s were corrected", product=product)


def test_blocking_ends_an_applications_tokens(app, client):
    from support.oidc import (
        add_client,
        authlib_client,
        authorize_url,
        discover,
        exchange,
        follow,
        logged_in,
        returned,
    )

    person = logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id, scope="openid email offline_access")
    metadata = discover(http)
    token = exchange(http, metadata, returned(follow(client, authorize_url(http, metadata))))
    assert http.get(metadata["userinfo_endpoint"]).status_code == 200
    assert ConsoleAgent(app, "velzio").act("block", person.email, REASON) is None
    assert http.get(metadata["userinfo_endpoint"]).status_code == 401
    refreshed = http.request(
        "POST",
        metadata["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": client_id,
        },
        withhold_token=True,
    )
    assert refreshed.status_code == 400
