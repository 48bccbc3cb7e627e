"""Characters that look right but are not: digits of other scripts in company
codes and contract numbers, and email addresses in several spellings, mixed
alphabets or encoded words (issue 15, rows 10 and 11)."""

import pytest
from conftest import ELEKTRUM_OK, account, expected, outbox, submit

from webapp.policy import company_code_checksum_ok, normalise_contract_number
from webapp.tenants import ContractFormat

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
