"""The audit log: each security-relevant event is recorded with its tenant,
time, account and the address's network only; `flask audit list` reads it."""

from __future__ import annotations

from sqlalchemy import select
from support.data import VELZIO_OK
from support.forms import csrf_from, submit
from support.mail import link_in, outbox
from support.people import login, logout, register_velzio

from webapp.audit import network_of
from webapp.extensions import db
from webapp.models import AuditEvent

ADDRESS = "192.0.2.77"


def events(app) -> list[tuple[str, int | None, str | None]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(row.event, row.account_id, row.network) for row in rows]


def test_a_customer_journey_is_recorded(client, app):
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    email = register_velzio(client, app)
    login(client, "velzio", email, "Wrong1234")
    login(client, "velzio", email, VELZIO_OK["password"])
    html = client.get("/velzio/account/").get_data(as_text=True)
    assert "Ona" in html
    submit(
        client, "/velzio/account/", {"invoices_by_email": "y"}, action="/velzio/account/preferences"
    )
    submit(
        client,
        "/velzio/account/password",
        {
            "current_password": VELZIO_OK["password"],
            "password": "Naujas456",
            "password2": "Naujas456",
        },
    )
    logout(client, "velzio")
    submit(client, "/velzio/forgot", {"email": email})

    recorded = events(app)
    kinds = [kind for kind, _, _ in recorded]
    assert kinds == [
        "registered",
        "confirmed",
        "login_failed",
        "login_succeeded",
        "preferences_changed",
        # The form above sent no phone: the registered one was removed.
        "details_changed",
        "password_changed",
        "logout",
        "reset_requested",
    ]
    account_ids = {account_id for _, account_id, _ in recorded}
    assert len(account_ids) == 1 and None not in account_ids
    # Only the network is kept, never the address itself.
    assert {network for _, _, network in recorded} == {"192.0.2.0/24"}
    with app.app_context():
        stored = " ".join(
            str(v) for row in db.session.scalars(select(AuditEvent)) for v in vars(row).values()
        )
    assert ADDRESS not in stored


def test_failed_login_on_an_unknown_email_is_recorded_without_the_email(client, app):
    login(client, "velzio", "stranger@example.com", "Wrong1234")
    with app.app_context():
        [row] = db.session.scalars(select(AuditEvent)).all()
        assert row.event == "login_failed" and row.account_id is None
        assert row.email_digest and "stranger" not in row.email_digest


def test_repeated_registration_and_resend_are_recorded(client, app):
    # The same form posted twice (a double click: one page, one CSRF token).
    page = client.get("/velzio/register").get_data(as_text=True)
    form = {**VELZIO_OK, "csrf_token": csrf_from(page)}
    client.post("/velzio/register", data=form)
    submit(client, "/velzio/resend", {"email": VELZIO_OK["email"]})
    client.post("/velzio/register", data=form)
    assert [kind for kind, _, _ in events(app)] == [
        "registered",
        "confirmation_resent",
        "registration_repeated",
    ]


def test_business_activation_records_confirmation_password_and_login(client, app):
    from support.data import ELEKTRUM_OK
    from support.factors import through_step

    assert submit(client, "/elektrum/register", ELEKTRUM_OK).status_code == 303
    link = link_in(outbox(app, ELEKTRUM_OK["email"])[-1], "/activate/")
    response = submit(client, link, {"password": "Elektra123", "password2": "Elektra123"})
    through_step(client, app, "elektrum", ELEKTRUM_OK["email"], response)
    # Setting the password from the link logs in, recorded as every login is,
    # once the second factor Elektrum requires is set up.
    assert [kind for kind, _, _ in events(app)] == [
        "registered",
        "confirmed",
        "password_changed",
        "factor_added",
        "login_succeeded",
    ]


def test_audit_list_command(client, app):
    client.environ_base["REMOTE_ADDR"] = "2001:db8:1234:5678::1"
    email = register_velzio(client, app)
    login(client, "velzio", "stranger@example.com", "Wrong1234")
    runner = app.test_cli_runner()

    everything = runner.invoke(args=["audit", "list"]).output.splitlines()
    assert len(everything) == 3
    assert everything[0].split("\t")[1:] == ["velzio", "login_failed", "-", "2001:db8:1234::/48"]

    mine = runner.invoke(args=["audit", "list", "--email", email]).output.splitlines()
    assert [line.split("\t")[2] for line in mine] == ["confirmed", "registered"]
    theirs = runner.invoke(args=["audit", "list", "--email", "Stranger@example.com"]).output
    assert "login_failed" in theirs and len(theirs.splitlines()) == 1
    other = runner.invoke(args=["audit", "list", "--tenant", "elektrum"]).output
    assert other == ""
    bad = runner.invoke(args=["audit", "list", "--event", "nonsense"])
    assert bad.exit_code != 0


def test_network_of():
    assert network_of("203.0.113.200") == "203.0.113.0/24"
    assert network_of("2001:db8::1") == "2001:db8::/48"
    assert network_of("not an address") is None
    assert network_of(None) is None
