"""Characters that look right but are not: digits of other scripts in company
codes and contract numbers, and email addresses in several spellings, mixed
alphabets or encoded words (issue 15, rows 10 and 11)."""

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from support.apps import tenant
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import submit
from support.mail import link_in, outbox
from support.people import account, confirm, login, register_velzio
from support.texts import expected

from webapp import mail
from webapp.extensions import db
from webapp.forms import normalize_email
from webapp.models import Account, OutboxMessage, utcnow
from webapp.policy import company_code_checksum_ok, normalise_contract_number
from webapp.registration.flows import Registration, register_customer
from webapp.security import hash_password
from webapp.tenants import ContractFormat, settings_for

FULLWIDTH_CODE = "１１００５３８４２"  # 110053842 in full-width digits
ARABIC_INDIC_CODE = "١١٠٠٥٣٨٤٢"  # the same in Arabic-Indic digits
DEVANAGARI_CODE = "११००५३८४२"
MIXED_CODE = "11005384٢"  # one Arabic-Indic digit at the end


def register_business(client, **changes):
    data = {key: value for key, value in {**ELEKTRUM_OK, **changes}.items() if value is not None}
    return submit(client, "/elektrum/register", data)


# Row 10: ASCII digits only --------------------------------------------------


@pytest.mark.parametrize("code", [ARABIC_INDIC_CODE, DEVANAGARI_CODE, MIXED_CODE])
def test_company_code_in_other_digits_is_refused(client, app, code):
    # A non-customer: nothing but the form stands between the code and the row.
    response = register_business(client, company_code=code, is_customer="no")
    assert response.status_code == 422
    assert expected(app, "COMPANY_CODE_FORMAT") in response.get_data(as_text=True)
    assert account(app, "elektrum", ELEKTRUM_OK["email"]) is None
    assert outbox(app) == []


def test_full_width_company_code_is_stored_in_ascii(client, app):
    response = register_business(client, company_code=FULLWIDTH_CODE, is_customer="no")
    assert response.status_code == 303
    assert account(app, "elektrum", ELEKTRUM_OK["email"]).company_code == "110053842"


def test_full_width_company_code_and_contract_find_the_registry(client, app):
    response = register_business(
        client, company_code=FULLWIDTH_CODE, contract_number="４１０００１２３４５"
    )
    assert response.status_code == 303
    stored = account(app, "elektrum", ELEKTRUM_OK["email"])
    assert (stored.company_code, stored.contract_number) == ("110053842", "4100012345")


def test_contract_number_in_other_digits_is_refused(client, app):
    response = register_business(client, contract_number="٤١٠٠٠١٢٣٤٥")
    assert response.status_code == 422
    assert expected(app, "CONTRACT_FORMAT", example="4100012345") in response.get_data(as_text=True)


def test_company_code_check_takes_ascii_digits_only():
    assert company_code_checksum_ok("110053842")
    for code in (FULLWIDTH_CODE, ARABIC_INDIC_CODE, DEVANAGARI_CODE, "110053842\n"):
        assert not company_code_checksum_ok(code)


def test_a_tenants_digit_class_takes_ascii_digits_only():
    """A tenant may write `\\d` in its contract pattern; it still means 0-9."""
    contract = ContractFormat(pattern=r"\d{10}", example="4100012345", registry=True)
    assert contract.matches("4100012345")
    assert not contract.matches("٤١٠٠٠١٢٣٤٥")
    assert not contract.matches("４１０００１２３４５")
    assert contract.matches(normalise_contract_number("４１０００ １２３４５"))


def test_upper_case_does_not_turn_other_letters_into_ascii():
    """ "ı".upper() is "I" and "ﬀ".upper() is "FF": the format check must see the
    letters that were typed."""
    contract = ContractFormat(pattern="[A-Z]{2}[0-9]{4}", example="AB1234", registry=True)
    assert normalise_contract_number(" ab 1234 ") == "AB1234"
    assert normalise_contract_number("ＡＢ１２３４") == "AB1234"
    for typed in ("ıb1234", "ﬀ1234"):
        assert not contract.matches(normalise_contract_number(typed))


# Row 11: one stored form of an address, and nothing that reads as another ----

UNICODE_DOMAIN = "ona@испытание.com"
PUNYCODE_DOMAIN = "ona@xn--80akhbyknj4f.com"
ENCODED_WORD = "=?utf-8?q?x=2C_attacker=40evil.example?=@example.com"


def register_residential(client, address):
    return submit(client, "/velzio/register", {**VELZIO_OK, "email": address})


def refused(response, app, key, address):
    assert response.status_code == 422
    assert expected(app, key) in response.get_data(as_text=True)
    assert outbox(app) == []
    with app.app_context():
        assert db.session.scalars(db.select(Account.email)).all() == []


@pytest.mark.parametrize(
    "typed",
    [PUNYCODE_DOMAIN, UNICODE_DOMAIN, "ONA@XN--80AKHBYKNJ4F.COM", "ona@испытание。com"],
)
def test_every_spelling_of_an_address_is_one_stored_form(typed):
    assert normalize_email(typed) == PUNYCODE_DOMAIN


def test_not_an_address_has_no_stored_form():
    for typed in ("ona@", "", "ona@example.com\x00", 123, None):
        assert normalize_email(typed) is None


@pytest.mark.parametrize(
    ("registered", "logs_in"),
    [(PUNYCODE_DOMAIN, UNICODE_DOMAIN), (UNICODE_DOMAIN, PUNYCODE_DOMAIN)],
)
def test_either_spelling_of_the_domain_logs_in(client, app, registered, logs_in):
    response = register_residential(client, registered)
    assert response.status_code == 303
    [message] = outbox(app)
    assert message.recipient == PUNYCODE_DOMAIN  # stored, and mailed, in ASCII
    assert confirm(client, link_in(message, "/confirm/")).status_code == 303
    for spelling in (logs_in, registered):
        assert (
            login(app.test_client(), "velzio", spelling, VELZIO_OK["password"]).status_code == 303
        )


def test_second_registration_in_the_other_spelling_is_the_same_account(client, app):
    register_velzio(client, app, email=PUNYCODE_DOMAIN)
    assert register_residential(app.test_client(), UNICODE_DOMAIN).status_code == 303
    kinds = [m.kind for m in outbox(app)]
    assert kinds == ["confirm", "already_registered"]


def test_forgot_in_the_other_spelling_reaches_the_account(client, app):
    register_velzio(client, app, email=PUNYCODE_DOMAIN)
    submit(app.test_client(), "/velzio/forgot", {"email": UNICODE_DOMAIN})
    assert [m.kind for m in outbox(app, PUNYCODE_DOMAIN)] == ["confirm", "reset"]


def test_account_stored_with_a_unicode_domain_still_logs_in(app):
    """The first release stored the domain in Unicode; no migration rewrites
    those rows, so the look-up finds them under either spelling."""
    with app.app_context():
        db.session.add(
            Account(
                tenant_id=tenant("velzio").id,
                email=UNICODE_DOMAIN,
                first_name="Ona",
                last_name="Onaitė",
                password_hash=hash_password(VELZIO_OK["password"]),
                email_confirmed_at=utcnow(),
            )
        )
        db.session.commit()
    for spelling in (UNICODE_DOMAIN, PUNYCODE_DOMAIN, "Ona@Испытание.com"):
        assert (
            login(app.test_client(), "velzio", spelling, VELZIO_OK["password"]).status_code == 303
        )


@pytest.mark.parametrize(
    "address",
    [
        "jоnas@example.com",  # Cyrillic о in a Latin name
        "οna@example.com",  # Greek omicron
        "рор@example.com",  # all Cyrillic, reads "pop"
        "ｏna@example.com",  # full-width o
        "ona@exаmple.com",  # Cyrillic а in the domain
    ],
)
def test_look_alike_letters_are_refused(client, app, address):
    app.config["MAIL_SMTPUTF8"] = True  # refused for what they look like, not for SMTP
    refused(register_residential(client, address), app, "EMAIL_LOOKALIKE", address)


def test_an_address_in_one_other_alphabet_is_fine(client, app):
    app.config["MAIL_SMTPUTF8"] = True
    assert register_residential(client, "иван@испытание.com").status_code == 303
    assert outbox(app)[0].recipient == "иван@xn--80akhbyknj4f.com"


def test_a_cyrillic_twin_of_an_account_is_not_a_second_account(client, app):
    register_velzio(client, app, email="jonas@example.com")
    app.config["MAIL_SMTPUTF8"] = True
    twin = register_residential(app.test_client(), "jоnas@example.com")
    assert twin.status_code == 422
    assert account(app, "velzio", "jоnas@example.com") is None


def test_encoded_word_local_part_is_refused(client, app):
    refused(register_residential(client, ENCODED_WORD), app, "EMAIL_ENCODED_WORD", ENCODED_WORD)


def test_non_ascii_local_part_needs_a_relay_with_smtputf8(client, app):
    assert app.config["MAIL_SMTPUTF8"] is False  # the default
    refused(register_residential(client, "jūratė@example.com"), app, "EMAIL_LOCAL_ASCII", "")
    app.config["MAIL_SMTPUTF8"] = True
    assert register_residential(client, "Jūratė@example.com").status_code == 303
    assert outbox(app)[0].recipient == "jūratė@example.com"


class Collector:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        text = envelope.original_content.decode("utf-8")  # SMTPUTF8: headers in UTF-8
        parsed = email.message_from_string(text, policy=email.policy.default)
        self.received.append((envelope.rcpt_tos, parsed))
        return "250 OK"


def relay(smtputf8: bool):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Collector()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8, decode_data=False
    )
    controller.start()
    return controller, handler


def queue_for(app, address: str) -> None:
    """A registration of `address` as a row of the first release might hold it:
    the flow takes what it is given, the form's checks are not in the way."""
    with app.test_request_context("/", base_url="http://localhost"):
        velzio = tenant("velzio")
        data = Registration(first_name="X", last_name="Y", email=address, language="lt")
        register_customer(velzio, settings_for(velzio), data)


def test_an_address_that_a_header_would_rewrite_is_never_sent(app):
    controller, handler = relay(smtputf8=False)
    try:
        queue_for(app, ENCODED_WORD)
        app.config["MAIL_URL"] = f"smtp://127.0.0.1:{controller.port}"
        with app.app_context():
            assert mail.deliver() == (0, 1)
            [message] = db.session.scalars(db.select(OutboxMessage)).all()
            assert message.attempts == mail.MAX_ATTEMPTS  # given up, not retried
            assert "UnsendableAddress" in message.last_error
    finally:
        controller.stop()
    assert handler.received == []


def test_to_header_and_envelope_are_exactly_the_stored_address(app):
    app.config["MAIL_SMTPUTF8"] = True
    controller, handler = relay(smtputf8=True)
    try:
        queue_for(app, "jūratė@xn--80akhbyknj4f.com")
        app.config["MAIL_URL"] = f"smtp://127.0.0.1:{controller.port}"
        with app.app_context():
            assert mail.deliver() == (1, 0)
    finally:
        controller.stop()
    [(envelope, message)] = handler.received
    assert envelope == ["jūratė@xn--80akhbyknj4f.com"]
    assert [a.addr_spec for a in message["To"].addresses] == ["jūratė@xn--80akhbyknj4f.com"]
