"""The staff console's accounts: the operator's `flask staff add` and its
emailed invitation, the password from its link, the authenticator app the
console requires, login with a code (replay refused, wrong codes and
passwords throttled, one answer for every failure), logout, removal, and a
session that is not the customers' session."""

from __future__ import annotations

import re

from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from support.data import VELZIO_OK
from support.forms import csrf_from, submit
from support.mail import outbox
from support.people import Customer
from support.staff import CONSOLE, PASSWORD, StaffMember
from support.texts import expected, gettext_in

from webapp.console.models import Staff, StaffLogin, StaffToken
from webapp.extensions import db
from webapp.mail import build_email
from webapp.models import OutboxMessage


def test_staff_add_emails_an_invitation_from_the_public_address(client, app):
    rasa = StaffMember(client, app, "Rasa@Velzio.LT")
    result = rasa.add()
    assert "rasa@velzio.lt: support at velzio; invitation emailed" in result.output
    [message] = outbox(app, "rasa@velzio.lt")
    assert message.tenant_id is None
    assert message.language == "lt"
    assert message.subject == gettext_in(
        app, "Set up your %(product)s staff console account", product="Savitarna"
    )
    assert "Sveiki, Rasa," in message.text_body
    link = rasa.invitation_link()
    assert f"{app.config['PUBLIC_URL']}{link}" in message.text_body
    # The development mailbox lists it for the newcomer.
    assert "rasa@velzio.lt" in client.get("/_mailbox/").get_data(as_text=True)
    with app.app_context():
        token = db.session.scalar(select(StaffToken))
        assert token.digest not in link and link.rsplit("/", 1)[1] != token.digest


def test_invitation_in_english(client, app):
    john = StaffMember(client, app, "john@velzio.lt", name="John Smith", language="en")
    john.add()
    message = outbox(app, "john@velzio.lt")[-1]
    assert message.subject == "Set up your Savitarna staff console account"
    assert message.text_body.startswith("Hello, John,")


def test_staff_add_refuses_what_it_cannot_do(client, app):
    runner = app.test_cli_runner()
    for args, problem in (
        (["not-an-email", "--tenant", "velzio", "--role", "viewer"], "not an email address"),
        (["a@velzio.lt", "--tenant", "nowhere", "--role", "viewer"], "No tenant 'nowhere'"),
        (["a@velzio.lt", "--tenant", "velzio"], "Give --role with --tenant"),
        (["a@velzio.lt"], "--owner"),
    ):
        result = runner.invoke(args=["staff", "add", *args])
        assert result.exit_code != 0 and problem in result.output, result.output
    assert outbox(app) == []


def test_invitation_link_password_app_then_logged_in(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.add()
    page = client.get(rasa.invitation_link())
    assert page.status_code == 200
    assert "rasa@velzio.lt" in page.get_data(as_text=True)
    saved = rasa.set_password()
    assert saved.headers["Location"] == f"{CONSOLE}/login/set-up"
    # The password alone is not a login: the console is still closed.
    assert client.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"
    done = rasa.set_up_app()
    assert done.headers["Location"] == f"{CONSOLE}/"
    home = client.get(f"{CONSOLE}/").get_data(as_text=True)
    assert "Rasa Petraitė" in home and "VšĮ Velžio komunalinis ūkis" in home
    with app.app_context():
        staff = db.session.scalar(select(Staff))
        assert staff.password_hash.startswith("$argon2id$")
        assert staff.totp_confirmed_at is not None
        # The app's key is stored sealed, never as the key itself.
        assert rasa.phone.key.replace(" ", "") not in staff.totp_secret
    # The link was used up.
    assert client.get(rasa.invitation_link()).status_code == 410


def test_the_password_follows_the_staff_rules(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.add()
    short = rasa.set_password("Trump1")
    assert short.status_code == 422
    assert expected(app, "PASSWORD_WEAK", rules="x").split(":")[0] in short.get_data(as_text=True)
    mismatch = rasa.set_password(PASSWORD, PASSWORD + "x")
    assert mismatch.status_code == 422
    # Nothing was spent: the link still works.
    assert client.get(rasa.invitation_link()).status_code == 200


def test_login_asks_for_the_code_and_refuses_a_wrong_one(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    rasa.logout()
    assert rasa.enter_password().headers["Location"] == f"{CONSOLE}/login/code"
    # Half-way is not logged in.
    assert client.get(f"{CONSOLE}/velzio/customers").headers["Location"] == f"{CONSOLE}/login"
    wrong = rasa.enter_code("000000" if rasa.phone.code(1) != "000000" else "111111")
    assert wrong.status_code == 422
    assert expected(app, "CONSOLE_CODE_WRONG") in wrong.get_data(as_text=True)
    right = rasa.enter_code(rasa.next_code())
    assert right.headers["Location"] == f"{CONSOLE}/"
    assert client.get(f"{CONSOLE}/velzio/customers").status_code == 200


def test_a_code_is_taken_once(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    rasa.logout()
    code = rasa.next_code()
    rasa.enter_password()
    assert rasa.enter_code(code).status_code == 303
    rasa.logout()
    rasa.enter_password()
    replay = rasa.enter_code(code)
    assert replay.status_code == 422
    assert expected(app, "CONSOLE_CODE_WRONG") in replay.get_data(as_text=True)


def test_wrong_codes_are_throttled_even_the_right_one_waits(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    rasa.logout()
    rasa.enter_password()
    for _ in range(5):
        assert rasa.enter_code("12345x").status_code == 422
    blocked = rasa.enter_code(rasa.next_code())
    assert blocked.status_code == 429
    assert gettext_in(app, "Too many attempts") in blocked.get_data(as_text=True)
    assert 0 < int(blocked.headers["Retry-After"]) <= 300


def test_failed_logins_are_throttled_and_answered_alike(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    rasa.logout()
    answers = []
    for email in ("rasa@velzio.lt", "nobody@velzio.lt"):
        for _ in range(5):
            response = rasa.enter_password(email, "Wrong-password-1")
            assert response.status_code == 422
            answers.append(response)
        assert rasa.enter_password(email, "Wrong-password-1").status_code == 429
    html = [a.get_data(as_text=True) for a in (answers[0], answers[5])]
    assert expected(app, "LOGIN_FAILED") in html[0]
    # Known or unknown address: the same page but for the CSRF token and the typed email.
    typed = ("rasa", "nobody")
    pages = [
        page.replace(csrf_from(page), "").replace(who, "")
        for page, who in zip(html, typed, strict=True)
    ]
    assert pages[0] == pages[1]
    # The right password waits too.
    assert rasa.enter_password().status_code == 429


def test_customer_and_staff_sessions_are_separate(client, app):
    ona = Customer(client, app, "velzio", email="ona@velzio.lt")
    ona.register()
    ona.login()
    assert client.get("/velzio/account/").status_code == 200
    # A logged-in customer is nobody in the console, and a customer's password is no
    # staff password.
    assert client.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"
    refused = submit(client, f"{CONSOLE}/login", {"email": ona.email, "password": ona.password})
    assert refused.status_code == 422
    rasa = StaffMember(client, app, "ona@velzio.lt")  # the same address, as staff
    rasa.join()
    console_cookie = client.get_cookie("savitarna_console", path="/console")
    assert console_cookie is not None and console_cookie.path == "/console"
    assert console_cookie.http_only and console_cookie.same_site == "Strict"
    customer_cookie = client.get_cookie("savitarna_session")
    assert customer_cookie.value != console_cookie.value
    # Both logins hold side by side in one browser; each ends on its own.
    assert client.get("/velzio/account/").status_code == 200
    ona.logout()
    assert client.get("/velzio/account/").status_code == 302
    assert client.get(f"{CONSOLE}/").status_code == 200
    # The staff password does not log in a customer.
    customer_try = submit(client, "/velzio/", {"email": ona.email, "password": PASSWORD})
    assert customer_try.status_code == 422


def test_a_session_signed_for_customer_pages_is_no_console_session(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    with app.app_context():
        public_id = db.session.scalar(select(StaffLogin.public_id))
    content = {"staff_login": public_id}
    customers_signer = SecureCookieSessionInterface().get_signing_serializer(app)
    with app.test_request_context(f"{CONSOLE}/"):
        console_signer = app.session_interface.get_signing_serializer(app)
    forged = app.test_client()
    forged.set_cookie("savitarna_console", customers_signer.dumps(content), path="/console")
    assert forged.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"
    # The console reads its own cookie only, never the customers' one.
    misplaced = app.test_client()
    misplaced.set_cookie("savitarna_session", console_signer.dumps(content))
    assert misplaced.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"
    # The same content signed as the console signs it is a login (the control).
    genuine = app.test_client()
    genuine.set_cookie("savitarna_console", console_signer.dumps(content), path="/console")
    assert genuine.get(f"{CONSOLE}/").status_code == 200


def test_console_forms_have_their_own_csrf_tokens(client, app):
    customer_page = client.get("/velzio/").get_data(as_text=True)
    token = csrf_from(customer_page)
    refused = client.post(
        f"{CONSOLE}/login",
        data={"csrf_token": token, "email": "rasa@velzio.lt", "password": PASSWORD},
    )
    assert refused.status_code == 400
    assert gettext_in(app, "This form has expired") in refused.get_data(as_text=True)


def test_console_pages_are_never_framed(client, app):
    for path in (f"{CONSOLE}/login", f"{CONSOLE}/set-password/nothing"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'self'" in client.get("/velzio/").headers["Content-Security-Policy"]


def test_logout_ends_the_login_everywhere_it_was_copied(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    copied = client.get_cookie("savitarna_console", path="/console").value
    rasa.logout()
    assert client.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"
    thief = app.test_client()
    thief.set_cookie("savitarna_console", copied, path="/console")
    assert thief.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"


def test_removed_staff_are_logged_out_and_cannot_log_in(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    result = app.test_cli_runner().invoke(args=["staff", "remove", "rasa@velzio.lt"])
    assert result.exit_code == 0 and "removed" in result.output
    assert client.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"
    assert rasa.enter_password().status_code == 422
    with app.app_context():
        assert db.session.scalar(select(StaffLogin.ended_at)) is not None
    listed = app.test_cli_runner().invoke(args=["staff", "list"])
    assert "rasa@velzio.lt" not in listed.output


def test_staff_list_shows_roles_and_state(client, app):
    StaffMember(client, app, "rasa@velzio.lt").join()
    StaffMember(app.test_client(), app, "owner@savitarna.lt", tenant=None, owner=True).add()
    listed = app.test_cli_runner().invoke(args=["staff", "list"]).output
    assert "rasa@velzio.lt\tRasa Petraitė\tvelzio:support\tactive" in listed
    assert "owner@savitarna.lt\tRasa Petraitė\towner\tinvited" in listed


def test_an_expired_half_login_starts_again(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    rasa.logout()
    rasa.enter_password()
    app.config["LOGIN_STEP_SECONDS"] = -1
    response = client.get(f"{CONSOLE}/login/code")
    assert response.headers["Location"] == f"{CONSOLE}/login"


def test_customer_registration_still_works_beside_the_console(client, app):
    # The customers' pages keep their own cookie, path / (not /console).
    response = submit(client, "/velzio/register", VELZIO_OK)
    assert response.status_code == 303
    cookie = client.get_cookie("savitarna_session")
    assert cookie is not None and cookie.path == "/"


INPUT_RE = re.compile(r"<input\b[^>]*>")


def unlabelled_inputs(html: str) -> list[str]:
    """The visible inputs of a page that no <label for=...> names."""
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
    missing = []
    for tag in INPUT_RE.findall(html):
        if 'type="hidden"' in tag:
            continue
        found = re.search(r'\bid="([^"]+)"', tag)
        if found is None or found.group(1) not in labelled:
            missing.append(tag)
    return missing


def test_every_console_input_has_a_label(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.add()
    pages = {"login": client.get(f"{CONSOLE}/login")}
    pages["set password"] = client.get(rasa.invitation_link())
    rasa.set_password()
    pages["set up"] = client.get(f"{CONSOLE}/login/set-up")
    rasa.set_up_app()
    pages["customers"] = client.get(f"{CONSOLE}/velzio/customers")
    rasa.logout()
    rasa.enter_password()
    pages["code"] = client.get(f"{CONSOLE}/login/code")
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert INPUT_RE.search(html), name
        assert unlabelled_inputs(html) == [], name
    # A password manager learns the staff password rules.
    assert 'passwordrules="minlength: 12;' in pages["set password"].get_data(as_text=True)


def test_an_idle_login_ends(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    assert client.get(f"{CONSOLE}/").status_code == 200
    app.config["CONSOLE_IDLE_SECONDS"] = -1
    assert client.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"
    app.config["CONSOLE_IDLE_SECONDS"] = 1800
    # Ended for good, not only while the setting was short.
    assert client.get(f"{CONSOLE}/").headers["Location"] == f"{CONSOLE}/login"


def test_adding_a_role_to_someone_with_a_password_sends_nothing(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.join()
    again = StaffMember(client, app, "rasa@velzio.lt", tenant="elektrum", role="viewer")
    result = again.add()
    assert result.output.strip() == "rasa@velzio.lt: viewer at elektrum"
    assert len(outbox(app, "rasa@velzio.lt")) == 1
    listed = app.test_cli_runner().invoke(args=["staff", "list"]).output
    assert "elektrum:viewer, velzio:support" in listed


def test_the_invitation_is_sent_under_the_deployments_name(client, app):
    StaffMember(client, app, "rasa@velzio.lt").add()
    [message] = outbox(app, "rasa@velzio.lt")
    with app.app_context():
        email = build_email(db.session.get(OutboxMessage, message.id))
    assert email["From"].addresses[0].display_name == "Savitarna"
    assert email["To"] == "rasa@velzio.lt"


ODD = ["\x00", "a@velzio.lt\x00", "ą" * 5000, "=?utf-8?q?x?=@velzio.lt", "' OR 1=1 --", "\u202e"]


def test_odd_input_gets_a_4xx_never_a_500(client, app):
    rasa = StaffMember(client, app, "rasa@velzio.lt")
    rasa.add()
    for value in ODD:
        assert rasa.enter_password(value, value).status_code in (400, 413, 422), value
        assert rasa.set_password(value, value).status_code in (400, 413, 422), value
        assert client.get(f"{CONSOLE}/set-password/{value}").status_code in (404, 410), value
    assert rasa.set_password().status_code == 303
    for value in ODD:
        html = client.get(f"{CONSOLE}/login/set-up").get_data(as_text=True)
        response = client.post(
            f"{CONSOLE}/login/set-up", data={"csrf_token": csrf_from(html), "code": value}
        )
        assert response.status_code in (400, 413, 422, 429), value
