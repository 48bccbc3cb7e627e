"""Rules that decide whether a value is acceptable, as pure functions. Forms call
them to produce messages; the password checklist shows each rule met or unmet."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

import phonenumbers

from .common_passwords import is_common

RULE_KINDS = ("upper", "lower", "digit")
# A hard ceiling whatever a tenant says, so hashing cannot be abused with huge input.
PASSWORD_CEILING = 128


@dataclass(frozen=True)
class Rule:
    """One line of the password checklist: a key for the message, and its number."""

    key: str
    number: int = 0
    symbols: str = ""


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 8
    max_length: int = 64
    require: tuple[str, ...] = RULE_KINDS
    # None: any character is allowed. A string: letters, digits and these only.
    allowed_symbols: str | None = None
    # Refuse the most common passwords (see common_passwords.py).
    reject_common: bool = False
    # Refuse passwords seen in known data breaches (see breached_passwords.py):
    # asked of a remote API, so only when a password is saved, never live.
    reject_breached: bool = False

    @classmethod
    def from_mapping(cls, data: dict) -> PasswordPolicy:
        policy = cls(
            min_length=data.get("min_length", 8),
            max_length=data.get("max_length", 64),
            require=tuple(data.get("require", RULE_KINDS)),
            allowed_symbols=data.get("allowed_symbols"),
            reject_common=data.get("reject_common", False),
            reject_breached=data.get("reject_breached", False),
        )
        for name in ("reject_common", "reject_breached"):
            if not isinstance(getattr(policy, name), bool):
                raise ValueError(f"{name} must be true or false")
        if not isinstance(policy.min_length, int) or not 6 <= policy.min_length <= 64:
            raise ValueError("min_length must be a whole number from 6 to 64")
        if not isinstance(policy.max_length, int) or not (
            policy.min_length <= policy.max_length <= PASSWORD_CEILING
        ):
            raise ValueError(f"max_length must be from min_length to {PASSWORD_CEILING}")
        unknown = set(policy.require) - set(RULE_KINDS)
        if unknown:
            raise ValueError(f"unknown rules in require: {', '.join(sorted(unknown))}")
        if policy.allowed_symbols is not None and (
            not isinstance(policy.allowed_symbols, str)
            or any(c.isalnum() or c.isspace() for c in policy.allowed_symbols)
        ):
            raise ValueError("allowed_symbols must be a string of punctuation characters")
        return policy

    @property
    def rules(self) -> list[Rule]:
        rules = [Rule("PW_RULE_MIN", self.min_length)]
        if self.max_length < PASSWORD_CEILING:
            rules.append(Rule("PW_RULE_MAX", self.max_length))
        rules += [Rule(f"PW_RULE_{kind.upper()}") for kind in self.require]
        if self.allowed_symbols is not None:
            rules.append(Rule("PW_RULE_SYMBOLS", symbols=self.symbols_display))
        if self.reject_common:
            rules.append(Rule("PW_RULE_COMMON"))
        return rules

    @property
    def symbols_display(self) -> str:
        return " ".join(self.allowed_symbols or "")

    def check(self, password: str) -> list[tuple[Rule, bool]]:
        """Every rule with whether `password` meets it, in display order."""
        return [(rule, self._meets(rule, password)) for rule in self.rules]

    def _meets(self, rule: Rule, password: str) -> bool:
        match rule.key:
            case "PW_RULE_MIN":
                return len(password) >= self.min_length
            case "PW_RULE_MAX":
                return len(password) <= self.max_length
            case "PW_RULE_UPPER":
                return any(c.isupper() for c in password)
            case "PW_RULE_LOWER":
                return any(c.islower() for c in password)
            case "PW_RULE_DIGIT":
                return any(c in string.digits for c in password)
            case "PW_RULE_SYMBOLS":
                return self.forbidden_character(password) is None
            case "PW_RULE_COMMON":
                return not is_common(password)
        raise AssertionError(rule.key)

    def forbidden_character(self, password: str) -> str | None:
        """The first character the policy does not allow, if any."""
        for char in password:
            if self.allowed_symbols is None:
                if not char.isprintable():
                    return char
            elif not (char.isalpha() or char in string.digits or char in self.allowed_symbols):
                return char
        return None

    def passwordrules(self) -> str:
        """The `passwordrules` attribute value (Apple's password rules language,
        also read by 1Password and Firefox), so a password manager generates a
        password this policy accepts.

        Generators only use ASCII, so a policy's non-ASCII symbols are left out
        (the rules stay true, merely narrower). In a custom class `-` counts only
        first and `]` always ends the class: `-` goes first, `]` is left out."""
        parts = [f"minlength: {self.min_length}", f"maxlength: {self.max_length}"]
        parts += [f"required: {kind}" for kind in self.require]
        allowed = ["upper", "lower", "digit"]
        if self.allowed_symbols is None:
            allowed.append("special")
        else:
            symbols = sorted(
                {c for c in self.allowed_symbols if c.isascii() and c != "]"},
                key=lambda c: (c != "-", self.allowed_symbols.index(c)),
            )
            if symbols:
                allowed.append("[" + "".join(symbols) + "]")
        parts.append("allowed: " + ", ".join(allowed))
        return "; ".join(parts) + ";"


# ASCII digits only: `\d` and str.isdigit() also take Arabic-Indic, Devanagari,
# full-width ... digits, which would be stored as such and never match the registry.
COMPANY_CODE_RE = re.compile(r"[0-9]{9}")
# Full-width forms (U+FF01..U+FF5E, what a Japanese or Chinese input method types)
# and the ideographic space, folded to their ASCII twins: the same characters the
# NFKC normalisation gives for them, but without NFKC's other foldings (superscripts,
# circled digits, ligatures), which are not a code somebody typed.
FULLWIDTH_TO_ASCII = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}


def fold_fullwidth(value: str) -> str:
    """Full-width letters, digits and punctuation as ASCII; everything else kept."""
    return value.translate(FULLWIDTH_TO_ASCII)


def normalise_company_code(value: str) -> str:
    """Spaces (including no-break spaces a copy from a PDF brings) are tolerated,
    and full-width digits become ASCII ones. Other digit scripts are kept, so the
    check below refuses them."""
    return re.sub(r"\s+", "", fold_fullwidth(value or ""))


def normalise_contract_number(value: str) -> str:
    """A contract number as typed, in the form the registry holds: full-width
    characters as ASCII, without spaces, upper case. Upper case only for ASCII:
    str.upper() turns some non-ASCII letters into ASCII ones ("ı" -> "I",
    "ﬀ" -> "FF"), which would let them pass the ASCII-only format check."""
    number = re.sub(r"\s+", "", fold_fullwidth(value or ""))
    return number.upper() if number.isascii() else number


def company_code_checksum_ok(code: str) -> bool:
    """Lithuanian legal entity code: 9 digits, the last a check digit.

    Weights 1..8, sum mod 11; a remainder of 10 is retried with weights
    3,4,5,6,7,8,9,1, and a second 10 means 0."""
    if not COMPANY_CODE_RE.fullmatch(code):
        return False
    digits = [int(c) for c in code]
    remainder = sum(d * w for d, w in zip(digits[:8], range(1, 9), strict=True)) % 11
    if remainder == 10:
        weights = (3, 4, 5, 6, 7, 8, 9, 1)
        remainder = sum(d * w for d, w in zip(digits[:8], weights, strict=True)) % 11
        if remainder == 10:
            remainder = 0
    return remainder == digits[8]


def normalise_phone(value: str, region: str = "LT") -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number."""
    if len(value) > 40:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """How a stored number is shown back to its owner."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


NAME_FORBIDDEN = re.compile(r"[<>\"{}\[\]\\/=;@#$%^*_+|~`0-9]")


def name_acceptable(value: str) -> bool:
    """Letters from any alphabet, spaces, hyphens, apostrophes and dots."""
    return all(c.isprintable() for c in value) and not NAME_FORBIDDEN.search(value)


# Alphabets with letters that look like Latin ones (Cyrillic "о", Greek "ο",
# Armenian "օ", Cherokee "Ꭺ" ...): mixed with Latin, or with each other, they make
# an address that reads like another one.
LOOKALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})
# Lower-case letters of those alphabets that pass for a Latin letter on their own,
# for a word written wholly in one of them ("рор" for "pop").
LATIN_LOOKALIKES = frozenset("асеһіјԁԛорѕԝхуүӏοαιρνυκχօսհ")
ENCODED_WORD_RE = re.compile(r"=\?.*\?=", re.S)


def _script(char: str) -> str:
    # unicodedata has no script property; a letter's name starts with its script
    # ("CYRILLIC SMALL LETTER O"), which is all this check needs.
    return unicodedata.name(char, "").split(" ", 1)[0]


def imitates_latin(text: str) -> bool:
    """Whether `text` (a local part or a domain label) is written so that it
    looks like different Latin text: compatibility characters (full-width,
    mathematical bold, ligatures), letters of two look-alike alphabets mixed, or
    a word wholly in Cyrillic, Greek ... letters that all pass for Latin ones."""
    if unicodedata.normalize("NFKC", text) != text:
        return True
    letters = [c for c in text.lower() if c.isalpha()]
    scripts = {_script(c) for c in letters}
    lookalike = scripts & LOOKALIKE_SCRIPTS
    if len(lookalike) > 1:
        return True
    return lookalike != {"LATIN"} and bool(letters) and all(c in LATIN_LOOKALIKES for c in letters)


def is_encoded_word(text: str) -> bool:
    """An RFC 2047 encoded word ("=?utf-8?q?...?="): mail software decodes it in a
    header, so an address holding one is shown (and may be sent) as other text."""
    return ENCODED_WORD_RE.search(text) is not None
