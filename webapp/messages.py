"""Every user-facing message of the flows and forms, by key. Tests refer to the
keys; translators see one place. Each says how to fix the problem, in the words
of the field's label."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

MESSAGES = {
    # Second factors (webapp/factors)
    "CODE_REQUIRED": _l("Enter the code."),
    "CODE_WRONG": _l(
        "This code did not work. Enter the newest code from your app, or one of your "
        "recovery codes."
    ),
    "PASSKEY_FAILED": _l("The passkey did not work. Try again, or log in another way."),
    "PASSKEY_ADDED": _l("The passkey was added."),
    "PASSKEY_RENAMED": _l("The passkey was renamed."),
    "PASSKEY_REMOVED": _l("The passkey was removed."),
    "PASSKEY_NAME_REQUIRED": _l("Enter a name for the passkey."),
    "AUTHENTICATOR_ADDED": _l("The authenticator app was set up."),
    "AUTHENTICATOR_REMOVED": _l("The authenticator app was removed."),
    "FACTOR_LAST": _l(
        "%(name)s requires a second way to log in: add another one before removing this one."
    ),
    # Registration and profile fields
    "FIRST_NAME_REQUIRED": _l("Enter your first name."),
    "LAST_NAME_REQUIRED": _l("Enter your last name."),
    "NAME_INVALID": _l("Use letters only: spaces, hyphens and apostrophes are fine."),
    "COMPANY_CODE_REQUIRED": _l("Enter your company code."),
    "COMPANY_CODE_FORMAT": _l("Enter the 9-digit company code, for example 110053842."),
    "COMPANY_CODE_CHECKSUM": _l(
        "Check the company code: its last (check) digit does not match the others."
    ),
    "EMAIL_REQUIRED": _l("Enter your email address."),
    "EMAIL_INVALID": _l("Enter an email address like name@example.com."),
    "EMAIL_ENCODED_WORD": _l(
        "Enter the email address itself: “=?…?=” is encoded text, not part of an address."
    ),
    "EMAIL_LOOKALIKE": _l(
        "This address has letters that only look like Latin ones (such as a Cyrillic “о”) "
        "or mixes alphabets. Type it again with one keyboard layout."
    ),
    "EMAIL_LOCAL_ASCII": _l(
        "We cannot send email to an address with letters other than a–z before the @ "
        "(such as “ą” or “ж”). Enter another address."
    ),
    "CUSTOMER_REQUIRED": _l("Choose Yes or No: are you an existing %(name)s customer?"),
    "CONTRACT_REQUIRED": _l("Enter your contract number: it is on your monthly invoice."),
    "CONTRACT_FORMAT": _l("Check the contract number: it should look like %(example)s."),
    "CONTRACT_NOT_FOUND": _l(
        "We found no active contract with this number for this company code. "
        "Check both numbers or contact us."
    ),
    "PASSWORD_REQUIRED": _l("Enter a password."),
    "PASSWORD_NEW_REQUIRED": _l("Enter a new password."),
    "PASSWORD_CURRENT_REQUIRED": _l("Enter your current password."),
    "PASSWORD_CURRENT_WRONG": _l("The current password is not correct: try again."),
    "PASSWORD_WEAK": _l("The password must have: %(rules)s."),
    "PASSWORD_FORBIDDEN_CHARACTER": _l(
        "The password cannot contain “%(char)s”. Use letters, digits and these symbols: %(symbols)s"
    ),
    "PASSWORD_FORBIDDEN_SPACE": _l(
        "The password cannot contain a space. Use letters, digits and these symbols: %(symbols)s"
    ),
    "PASSWORD_COMMON": _l(
        "This is one of the most common passwords and easy to guess: choose another one."
    ),
    "PASSWORD_REPEAT_REQUIRED": _l("Repeat the password."),
    "PASSWORD_MISMATCH": _l("The passwords do not match: type the same password in both fields."),
    "PASSWORDS_MATCH": _l("The passwords match."),
    "PHONE_INVALID": _l("Enter a phone number like 861234567 or +370 612 34567."),
    "PHONE_REQUIRED": _l("Enter your phone number."),
    "PHONE_NEEDED_FOR_SMS": _l(
        "To accept SMS messages, enter your phone number, or untick “Accept SMS messages”."
    ),
    "TERMS_REQUIRED": _l("Tick the box to agree to the site rules."),
    "VALUE_TOO_LONG": _l("This is too long: shorten it."),
    # Login and links
    "LOGIN_FAILED": _l(
        "The email or password is incorrect. Check them and try again, or reset your password."
    ),
    "LOGIN_UNCONFIRMED": _l(
        "Confirm your email address first: open the link we sent you, or ask for a new one."
    ),
    "LOGIN_REQUIRED": _l("Log in to see this page."),
    "LOGIN_STEP_EXPIRED": _l("Your login was not finished in time. Log in again."),
    "LOGGED_OUT": _l("You have logged out."),
    "APP_DISCONNECTED": _l("The app is disconnected: it can no longer see your details."),
    "EMAIL_CONFIRMED": _l("Your email address is confirmed. Log in with your email and password."),
    "EMAIL_ALREADY_CONFIRMED": _l("Your email address is already confirmed. Log in."),
    "PASSWORD_SET": _l("Your password is saved. Welcome!"),
    "PASSWORD_SAVED": _l("Your password is saved."),
    "PASSWORD_CHANGED": _l("Your password has been changed."),
    "PREFERENCES_SAVED": _l("Your choices are saved."),
    # Security and privacy
    "REAUTHENTICATE_FAILED": _l("The password is not correct. Check it and try again."),
    "EMAIL_SAME": _l("This is already your email address: enter a new one."),
    "EMAIL_CHANGE_SENT": _l(
        "We have sent a confirmation link to %(email)s. "
        "Your email address changes when you open it."
    ),
    "EMAIL_CHANGED": _l("Your email address is now %(email)s. Log in with it from now on."),
    "SESSIONS_ENDED": _l("You have been logged out on every other device."),
    "SESSION_ENDED": _l("That device has been logged out."),
    "DELETE_PASSWORD_WRONG": _l("The password is not correct: your account was not deleted."),
    # The banner above it says when (templates/privacy/_deletion_banner.html).
    "DELETION_REQUESTED": _l(
        "We have emailed you a link that cancels the deletion, in case you change your mind."
    ),
    "DELETION_CANCELLED": _l("The deletion is cancelled: your account stays."),
}

PASSWORD_RULES = {
    "PW_RULE_MIN": lambda n, s: lazy_ngettext(
        "at least %(num)d character", "at least %(num)d characters", n
    ),
    "PW_RULE_MAX": lambda n, s: lazy_ngettext(
        "at most %(num)d character", "at most %(num)d characters", n
    ),
    "PW_RULE_UPPER": lambda n, s: _l("an upper-case letter"),
    "PW_RULE_LOWER": lambda n, s: _l("a lower-case letter"),
    "PW_RULE_DIGIT": lambda n, s: _l("a digit"),
    "PW_RULE_SYMBOLS": lambda n, s: _l("only letters, digits and %(symbols)s", symbols=s),
    "PW_RULE_COMMON": lambda n, s: _l("not one of the most common passwords"),
}


def message(key: str, **params) -> str:
    """The message for `key` in the current language."""
    text = MESSAGES[key]
    return str(text) % params if params else str(text)


def rule_text(rule) -> str:
    return str(PASSWORD_RULES[rule.key](rule.number, rule.symbols))
