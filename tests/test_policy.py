"""The pure rules: company code check digit, phone numbers, names, password policy."""

import itertools

import pytest

from webapp.policy import (
    PasswordPolicy,
    company_code_checksum_ok,
    format_phone,
    name_acceptable,
    normalise_company_code,
    normalise_phone,
)


@pytest.mark.parametrize("code", ["110053842", "302477747"])
def test_real_company_codes_pass(code):
    assert company_code_checksum_ok(code)


@pytest.mark.parametrize("code", ["110053843", "302477740", "11005384", "1100538420", "11005384x"])
def test_wrong_check_digit_or_shape_fails(code):
    assert not company_code_checksum_ok(code)


def test_spaces_are_tolerated_by_normalisation():
    assert normalise_company_code("110 053 842") == "110053842"
    assert normalise_company_code("\u00a0110\u00a0053 842 ") == "110053842"
    assert company_code_checksum_ok(normalise_company_code("110 053 842"))


def _first_remainder(digits):
    return sum(d * w for d, w in zip(digits, range(1, 9), strict=True)) % 11


def _second_remainder(digits):
    return sum(d * w for d, w in zip(digits, (3, 4, 5, 6, 7, 8, 9, 1), strict=True)) % 11


def _codes_with_first_remainder_ten(second_is_ten: bool):
    for combo in itertools.product(range(10), repeat=8):
        digits = [1, *combo[1:]]  # a realistic leading digit
        if _first_remainder(digits) == 10 and (_second_remainder(digits) == 10) == second_is_ten:
            yield digits


def test_remainder_ten_retries_with_weights_three_to_nine_and_one():
    # A code whose second remainder is neither 0 nor 10, so only the retry rule
    # (not "10 means 0") gives the right check digit.
    digits = next(
        d for d in _codes_with_first_remainder_ten(False) if _second_remainder(d) not in (0,)
    )
    check = _second_remainder(digits)
    code = "".join(map(str, digits)) + str(check)
    assert company_code_checksum_ok(code)
    assert not company_code_checksum_ok(code[:8] + "0")
    assert not company_code_checksum_ok(code[:8] + str((check + 1) % 10))


def test_second_remainder_ten_means_zero():
    digits = next(_codes_with_first_remainder_ten(True))
    code = "".join(map(str, digits))
    assert company_code_checksum_ok(code + "0")
    assert not company_code_checksum_ok(code + "1")


@pytest.mark.parametrize("typed", ["861234567", "061234567", "+370 612 34567", "+37061234567"])
def test_lithuanian_mobile_numbers_normalise_to_e164(typed):
    assert normalise_phone(typed) == "+37061234567"


@pytest.mark.parametrize("typed", ["12", "abc", "+370 000", "8" * 41, "86123\x004567"])
def test_invalid_phone_numbers_give_none(typed):
    assert normalise_phone(typed) is None


def test_format_phone_shows_international_form():
    assert format_phone("+37061234567") == "+370 612 34567"


@pytest.mark.parametrize("name", ["Ona", "Žydrūnė", "Jean-Luc", "O'Brien", "Анна Мария"])
def test_names_from_any_alphabet_are_acceptable(name):
    assert name_acceptable(name)


@pytest.mark.parametrize("name", ["<script>", "Ona1", "a\x00b", "x@y", "Ona\u200b"])
def test_names_with_markup_digits_or_control_characters_are_refused(name):
    assert not name_acceptable(name)


VELZIO = PasswordPolicy(min_length=8, max_length=16)
ELEKTRUM = PasswordPolicy(min_length=8, max_length=64, allowed_symbols="_@#$%&*()")


def unmet(policy, password):
    return [rule.key for rule, met in policy.check(password) if not met]


def test_password_policy_rules_in_order():
    assert [r.key for r in VELZIO.rules] == [
        "PW_RULE_MIN",
        "PW_RULE_MAX",
        "PW_RULE_UPPER",
        "PW_RULE_LOWER",
        "PW_RULE_DIGIT",
    ]
    assert ELEKTRUM.rules[-1].key == "PW_RULE_SYMBOLS"
    assert ELEKTRUM.symbols_display == "_ @ # $ % & * ( )"


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("Slapta123", []),
        ("Slap123", ["PW_RULE_MIN"]),
        ("Slapta123456789ab", ["PW_RULE_MAX"]),  # 17 characters
        ("slapta123", ["PW_RULE_UPPER"]),
        ("SLAPTA123", ["PW_RULE_LOWER"]),
        ("Slaptazodis", ["PW_RULE_DIGIT"]),
        ("Slapta12345678ab", []),  # exactly 16
    ],
)
def test_residential_policy(password, missing):
    assert unmet(VELZIO, password) == missing


def test_allowed_symbols_only():
    assert unmet(ELEKTRUM, "Slapta_@#$%&*()1") == []
    assert unmet(ELEKTRUM, "Slapta123!") == ["PW_RULE_SYMBOLS"]
    assert ELEKTRUM.forbidden_character("Slapta 123") == " "
    assert ELEKTRUM.forbidden_character("Šlapta123") is None  # letters of any alphabet
    assert VELZIO.forbidden_character("Slapta!123 ") is None
    assert VELZIO.forbidden_character("Slapta\x00123") == "\x00"


@pytest.mark.parametrize(
    "mapping",
    [
        {"min_length": 5},
        {"min_length": 10, "max_length": 9},
        {"max_length": 129},
        {"require": ["upper", "emoji"]},
        {"allowed_symbols": "ab"},
        {"allowed_symbols": "_ @"},
    ],
)
def test_bad_policies_are_refused(mapping):
    with pytest.raises(ValueError):
        PasswordPolicy.from_mapping(mapping)


def test_passwordrules_attribute():
    assert ELEKTRUM.passwordrules() == (
        "minlength: 8; maxlength: 64; required: upper; required: lower; required: digit; "
        "allowed: upper, lower, digit, [_@#$%&*()];"
    )
    assert "special" in VELZIO.passwordrules()


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        # Any character allowed: every ASCII symbol ("special") may be generated.
        (
            {"min_length": 12, "max_length": 128, "require": ["digit"]},
            "minlength: 12; maxlength: 128; required: digit; "
            "allowed: upper, lower, digit, special;",
        ),
        # Nothing required: no "required" rule at all; letters and digits only.
        (
            {"min_length": 6, "max_length": 16, "require": [], "allowed_symbols": ""},
            "minlength: 6; maxlength: 16; allowed: upper, lower, digit;",
        ),
        # "-" only counts as the first character of a class; "]" always ends it,
        # so it is left out; so are symbols a generator cannot type (non-ASCII).
        (
            {"require": ["upper", "lower"], "allowed_symbols": "!-]§.-"},
            "minlength: 8; maxlength: 64; required: upper; required: lower; "
            "allowed: upper, lower, digit, [-!.];",
        ),
        # Only symbols a generator cannot use: letters and digits remain.
        (
            {"require": ["lower"], "allowed_symbols": "§"},
            "minlength: 8; maxlength: 64; required: lower; allowed: upper, lower, digit;",
        ),
    ],
)
def test_passwordrules_follow_the_policy(mapping, expected):
    assert PasswordPolicy.from_mapping(mapping).passwordrules() == expected
