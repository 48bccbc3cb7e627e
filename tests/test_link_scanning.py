"""Emailed links that are safe to scan, and addresses nobody can reserve
(SECURITY.md, "Emailed links").

Mail scanners, link previews and antivirus gateways open every link in an
email, without cookies, before the person does. So opening a link changes
nothing: its page has a button, and the button's POST does the work. And a
registration that was never confirmed belongs to nobody yet: whoever registered
an address first may not own the mailbox, so a later registration of the same
address gets a link of its own, and using that link makes the account the later
registration's (issue #15, row 8). A new reset link ends the older ones (row 9)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import csrf_from, submit, without_csrf
from support.mail import link_in, outbox
from support.people import account, confirm, login, register_velzio
from support.texts import expected, gettext_in

from webapp.extensions import db
from webapp.models import Account, Token

VICTIM = "auka@example.com"
ATTACKER = {
    **VELZIO_OK,
    "email": VICTIM,
    "first_name": "Piktas",
    "last_name": "Piktaitis",
    "password": "Piktas123",
    "password2": "Piktas123",
    "phone": "869999999",
    "invoices_by_email": "",
    "sms_consent": "y",
}
OWNER = {
    **VELZIO_OK,
    "email": VICTIM,
    "first_name": "Aušra",
    "last_name": "Aukštaitė",
    "password": "Savas1234",
    "password2": "Savas1234",
    "phone": "861111111",
    "invoices_by_email": "y",
}


def someone(app, address: str):
    """A browser of its own (its own cookies, its own address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def register(app, data: dict, address: str) -> None:
    response = submit(someone(app, address), f"/{slug_of(data)}/register", data)
    assert response.status_code == 303, response.get_data(as_text=True)


def slug_of(data: dict) -> str:
    return "elektrum" if "company_code" in data else "velzio"


def scan(app, link: str):
    """What a mail scanner does: one GET without cookies."""
    return someone(app, "198.51.100.7").get(link)


def verifies(stored: str | None, password: str) -> bool:
    try:
        return stored is not None and PasswordHasher().verify(stored, password)
    except VerificationError:
        return False


def open_tokens(app, email: str) -> list[Token]:
    with app.app_context():
        tokens = list(
            db.session.scalars(
                select(Token)
                .join(Account)
                .where(Account.email == email, Token.used_at.is_(None))
                .order_by(Token.id)
            )
        )
        db.session.expunge_all()
        return tokens


# --- opening a link changes nothing ------------------------------------------------------


def emailed_link(app, client, kind: str) -> tuple[str, str]:
    """(the link's path, its email's recipient) of a fresh email of `kind`."""
    if kind == "confirm":
        register(app, VELZIO_OK, "192.0.2.10")
        return link_in(outbox(app)[-1], "/confirm/"), VELZIO_OK["email"]
    if kind == "activate":
        register(app, ELEKTRUM_OK, "192.0.2.10")
        return link_in(outbox(app)[-1], "/activate/"), ELEKTRUM_OK["email"]
    email = register_velzio(client, app)
    submit(someone(app, "192.0.2.10"), "/velzio/forgot", {"email": email})
    return link_in(outbox(app)[-1], "/reset/"), email


@pytest.mark.parametrize("kind", ["confirm", "activate", "reset"])
def test_opening_an_emailed_link_changes_nothing(client, app, kind):
    """A scanner's GET (twice, without cookies) shows the link's page and its
    button; the link stays unused, the account as it was, and the person who
    opens the link next still gets the page with the button."""
    link, email = emailed_link(app, client, kind)
    slug = "elektrum" if kind == "activate" else "velzio"
    before = account(app, slug, email)

    for _ in range(2):
        page = scan(app, link)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert '<form class="form" method="post"' in html and 'name="csrf_token"' in html

    after = account(app, slug, email)
    assert after.email_confirmed_at == before.email_confirmed_at
    assert after.password_hash == before.password_hash
    assert [t.purpose for t in open_tokens(app, email)] == [kind]


def test_the_confirmation_page_has_a_button_that_works_without_javascript(app):
    """The page names the person and the address, in Lithuanian and English; a
    plain form POST of its button (no htmx, no script) confirms."""
    register(app, VELZIO_OK, "192.0.2.11")
    link = link_in(outbox(app)[-1], "/confirm/")
    person = someone(app, "192.0.2.12")
    buttons = {"lt": "Patvirtinti el. pašto adresą", "en": "Confirm email address"}
    for language, button in buttons.items():
        html = person.get(link, headers={"Accept-Language": language}).get_data(as_text=True)
        assert f'<button class="button button--primary" type="submit">{button}</button>' in html
        assert VELZIO_OK["email"] in html and VELZIO_OK["first_name"] in html
        assert "<script" not in html.split("<main", 1)[-1].split("</main>", 1)[0]
    assert account(app, "velzio", VELZIO_OK["email"]).email_confirmed_at is None

    done = confirm(person, link)
    assert done.status_code == 303 and done.headers["Location"].endswith("/velzio/")
    assert expected(app, "EMAIL_CONFIRMED") in person.get("/velzio/").get_data(as_text=True)
    assert account(app, "velzio", VELZIO_OK["email"]).email_confirmed_at is not None


def test_the_button_needs_the_pages_csrf_token(app):
    """A POST straight at the link (another site's form, a scanner that posts)
    is refused with the 400 page and confirms nothing."""
    register(app, VELZIO_OK, "192.0.2.13")
    link = link_in(outbox(app)[-1], "/confirm/")
    response = someone(app, "192.0.2.14").post(link, data={})
    assert response.status_code == 400
    assert account(app, "velzio", VELZIO_OK["email"]).email_confirmed_at is None


# --- row 8: an unconfirmed registration never blocks the owner -----------------------------


def test_a_scanned_link_does_not_confirm_someone_elses_registration(app):
    """The reproduction: an attacker registers the victim's address with a
    password of their own; the victim's mail scanner opens the link; the
    attacker tries to log in. Before: the GET confirmed, and the login worked."""
    register(app, ATTACKER, "203.0.113.66")
    link = link_in(outbox(app, VICTIM)[-1], "/confirm/")
    assert scan(app, link).status_code == 200

    attacker = someone(app, "203.0.113.66")
    response = login(attacker, "velzio", VICTIM, ATTACKER["password"])
    assert response.status_code == 422
    assert expected(app, "LOGIN_UNCONFIRMED") in response.get_data(as_text=True)
    assert account(app, "velzio", VICTIM).email_confirmed_at is None


def test_the_owner_registering_later_takes_the_account_over(app):
    """The owner registers the address someone registered before them: the same
    answer as any registration, a confirmation link of their own (before: "you
    already have an account", and their password was dropped). Their link
    makes the account theirs, with their data; nothing of the attacker's stays,
    and the attacker's link confirms nothing any more."""
    register(app, ATTACKER, "203.0.113.66")
    attackers_link = link_in(outbox(app, VICTIM)[-1], "/confirm/")

    owner = someone(app, "192.0.2.20")
    response = submit(owner, "/velzio/register", OWNER)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/velzio/register/sent")
    mails = outbox(app, VICTIM)
    assert [m.kind for m in mails] == ["confirm", "confirm"]
    assert gettext_in(app, "Hello, %(name)s,", name=OWNER["first_name"]) in mails[-1].text_body
    # Until the owner's link is used, the account is as the first registration left it.
    assert account(app, "velzio", VICTIM).first_name == ATTACKER["first_name"]

    assert confirm(owner, link_in(mails[-1], "/confirm/")).status_code == 303

    taken = account(app, "velzio", VICTIM)
    assert taken.email_confirmed_at is not None
    assert (taken.first_name, taken.last_name) == (OWNER["first_name"], OWNER["last_name"])
    assert taken.phone == "+37061111111"
    assert taken.sms_consent is False and taken.invoices_by_email is True
    assert taken.terms_version == "2025-09" and taken.terms_accepted_at is not None
    assert verifies(taken.password_hash, OWNER["password"])
    assert not verifies(taken.password_hash, ATTACKER["password"])
    assert login(owner, "velzio", VICTIM, OWNER["password"]).status_code == 303
    attacker = someone(app, "203.0.113.66")
    assert login(attacker, "velzio", VICTIM, ATTACKER["password"]).status_code == 422

    # The attacker's link says "already confirmed" and changes nothing; no
    # registration waits behind any link any more.
    assert open_tokens(app, VICTIM) == []
    used = someone(app, "203.0.113.66")
    response = used.get(attackers_link)
    assert response.status_code == 303
    page = used.get(response.headers["Location"]).get_data(as_text=True)
    assert expected(app, "EMAIL_ALREADY_CONFIRMED") in page
    assert verifies(account(app, "velzio", VICTIM).password_hash, OWNER["password"])


def test_the_owners_first_link_still_wins_over_a_later_registration(app):
    """The other order: the owner registers first, someone registers the address
    again before the owner confirms. The owner's own link confirms the owner's
    data, and the later registration's link dies with it."""
    register(app, OWNER, "192.0.2.21")
    register(app, ATTACKER, "203.0.113.66")
    owners, attackers = (link_in(m, "/confirm/") for m in outbox(app, VICTIM))

    assert confirm(someone(app, "192.0.2.21"), owners).status_code == 303
    kept = account(app, "velzio", VICTIM)
    assert kept.first_name == OWNER["first_name"] and kept.sms_consent is False
    assert verifies(kept.password_hash, OWNER["password"])
    assert scan(app, attackers).status_code == 303  # "already confirmed", nothing more
    assert account(app, "velzio", VICTIM).first_name == OWNER["first_name"]


def test_a_waiting_registration_keeps_the_password_only_as_its_hash(app):
    """The later registration waits with its link, its password as an argon2
    hash and never in plain text; the first link carries nothing (the account
    holds the first registration's data)."""
    register(app, ATTACKER, "203.0.113.66")
    register(app, OWNER, "192.0.2.22")
    first, second = open_tokens(app, VICTIM)
    assert first.registration is None
    waiting = second.registration
    assert waiting["first_name"] == OWNER["first_name"]
    assert waiting["password_hash"].startswith("$argon2id$")
    assert verifies(waiting["password_hash"], OWNER["password"])
    assert OWNER["password"] not in repr(waiting)


def test_registering_an_unconfirmed_address_answers_like_any_registration(app):
    """New, known but unconfirmed, and known and confirmed: the same page (the
    work that differs runs after the answer, see test_enumeration.py)."""
    register_velzio(someone(app, "192.0.2.30"), app, email="patvirtinta@example.com")
    register(app, {**VELZIO_OK, "email": "laukia@example.com"}, "192.0.2.31")
    pages = []
    for email in ("nauja@example.com", "laukia@example.com", "patvirtinta@example.com"):
        person = someone(app, "192.0.2.32")
        response = submit(person, "/velzio/register", {**OWNER, "email": email})
        assert response.status_code == 303
        assert response.headers["Location"] == "/velzio/register/sent"
        page = person.get(response.headers["Location"]).get_data(as_text=True)
        pages.append(without_csrf(page).replace(email, "X"))
    assert pages[0] == pages[1] == pages[2]
    kinds = {e: [m.kind for m in outbox(app, e)] for e in ("laukia@example.com",)}
    assert kinds == {"laukia@example.com": ["confirm", "confirm"]}
    confirmed = [m.kind for m in outbox(app, "patvirtinta@example.com")]
    assert confirmed == ["confirm", "already_registered"]


def test_send_again_sends_the_newest_registration(app):
    """'Send the confirmation email again' after a second registration: the new
    link is for the newest registration (its name in the greeting, its data
    when used)."""
    register(app, ATTACKER, "203.0.113.66")
    register(app, OWNER, "192.0.2.23")
    submit(someone(app, "192.0.2.23"), "/velzio/resend", {"email": VICTIM})
    resent = outbox(app, VICTIM)[-1]
    assert gettext_in(app, "Hello, %(name)s,", name=OWNER["first_name"]) in resent.text_body
    assert confirm(someone(app, "192.0.2.23"), link_in(resent, "/confirm/")).status_code == 303
    assert verifies(account(app, "velzio", VICTIM).password_hash, OWNER["password"])


BUSINESS_ATTACKER = {
    **ELEKTRUM_OK,
    "email": VICTIM,
    "first_name": "Piktas",
    "company_code": "302477747",
    "contract_number": "4100012346",
}
BUSINESS_OWNER = {**ELEKTRUM_OK, "email": VICTIM, "first_name": "Aušra", "is_customer": "no"}
BUSINESS_OWNER.pop("contract_number")


def test_a_business_owner_registering_later_takes_the_account_over(app):
    """The same for a business account: the owner's activation link (set a
    password) makes the account the owner's company's; the earlier registration's
    activation link no longer works."""
    register(app, BUSINESS_ATTACKER, "203.0.113.66")
    owner = someone(app, "192.0.2.24")
    assert submit(owner, "/elektrum/register", BUSINESS_OWNER).status_code == 303
    attackers, owners = (link_in(m, "/activate/") for m in outbox(app, VICTIM))

    password = "Stipru5Savas"
    done = submit(owner, owners, {"password": password, "password2": password})
    assert done.status_code == 303

    taken = account(app, "elektrum", VICTIM)
    assert taken.first_name == "Aušra" and taken.company_code == ELEKTRUM_OK["company_code"]
    assert taken.is_customer is False and taken.contract_number is None
    assert verifies(taken.password_hash, password)
    assert scan(app, attackers).status_code == 410


# --- row 9: a new reset link ends the older ones -----------------------------------------


def test_a_new_reset_link_ends_the_older_one(client, app):
    """Asking for a reset twice: only the newest email's link resets. Before:
    the first link kept working."""
    email = register_velzio(client, app)
    for _ in range(2):
        submit(someone(app, "192.0.2.40"), "/velzio/forgot", {"email": email})
    first, second = (link_in(m, "/reset/") for m in outbox(app, email)[-2:])

    old = scan(app, first)
    assert old.status_code == 410
    assert gettext_in(app, "This link no longer works") in old.get_data(as_text=True)
    person = someone(app, "192.0.2.41")
    page = person.get(second).get_data(as_text=True)
    password = {"password": "Naujas123", "password2": "Naujas123"}
    refused = person.post(first, data={"csrf_token": csrf_from(page), **password})
    assert refused.status_code == 410
    assert verifies(account(app, "velzio", email).password_hash, VELZIO_OK["password"])

    done = submit(person, second, password)
    assert done.status_code == 303
    assert scan(app, second).status_code == 410  # used: single use, as before
