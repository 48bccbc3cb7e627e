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
    # The staff console (webapp/console)
    "CONSOLE_CODE_WRONG": _l(
        "This code did not work. Enter the newest code from your authenticator app."
    ),
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
    "PASSWORD_BREACHED": _l(
        "This password has appeared in known data breaches, so others may try it: "
        "choose another one."
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
    # The staff console's actions (webapp/console/actions.py)
    "CONSOLE_REASON_REQUIRED": _l("Enter the reason: it is kept in the audit log."),
    "CONSOLE_REASON_TOO_LONG": _l("Shorten the reason to at most %(max)d characters."),
    "CONSOLE_NOT_FOUND": _l("There is no such customer at this utility."),
    "CONSOLE_ALREADY_CONFIRMED": _l(
        "This customer's email address is already confirmed: there is nothing to send again."
    ),
    "CONSOLE_BLOCKED": _l("This account is blocked: unblock it first."),
    "CONSOLE_ALREADY_BLOCKED": _l("This account is already blocked."),
    "CONSOLE_NOT_BLOCKED": _l("This account is not blocked."),
    "CONSOLE_NOTHING_CHANGED": _l("Nothing was changed: the details are the same as before."),
    "CONSOLE_PHONE_NEEDED_FOR_SMS": _l(
        "The customer accepts SMS messages, so the phone number cannot be removed."
    ),
    "CONSOLE_NO_CONTRACTS": _l("This utility's accounts have no contract number."),
    "CONSOLE_CONTRACT_NOT_FOUND": _l(
        "The registry has no active contract with this number for the customer's company code."
    ),
    "CONSOLE_IDENTITY_UNCHECKED": _l(
        "Check the customer's identity first, then tick the box to say you did."
    ),
    "CONSOLE_FACTOR_NOT_FOUND": _l("The customer has no such way to log in (any more)."),
    "CONSOLE_DONE": _l("Done: the action is recorded in the audit log."),
    "CONSOLE_FILE_REQUIRED": _l("Choose the CSV file to upload."),
    "CONSOLE_FILE_REFUSED": _l("The file cannot be imported: see the lines below."),
    "CONSOLE_UPLOAD_GONE": _l(
        "This preview is no longer current (another file was uploaded since): "
        "upload the file again."
    ),
    "CONSOLE_IMPORTED": _l(
        "The registry is imported: %(created)d added, %(updated)d changed, "
        "%(unchanged)d unchanged, %(ended)d ended."
    ),
    "CONSOLE_WEBHOOK_URL_REQUIRED": _l("Enter the endpoint's address, starting https://."),
    "CONSOLE_WEBHOOK_REFUSED": _l(
        "This address cannot receive webhooks. Use an https:// address of a public server "
        "(%(detail)s)."
    ),
    "CONSOLE_WEBHOOK_TEST_SENT": _l(
        "A test event is queued: the log below shows whether it was delivered."
    ),
    "CONSOLE_WEBHOOK_REMOVED": _l("The endpoint was removed."),
    "CONSOLE_WEBHOOK_RETRIED": _l("The delivery will be tried again in a moment."),
    "CONSOLE_FUNNEL_CHOICE": _l("Choose one of the options shown."),
    # The contract registry import (webapp/contracts.py): the CLI prints these in
    # English after "line N: ", the staff console in the reader's language.
    "REGISTRY_NO_FORMAT": _l("tenant %(slug)s has no contract format"),
    "REGISTRY_EMPTY": _l("the file is empty"),
    "REGISTRY_CSV": _l("this is not readable CSV (%(error)s)"),
    "REGISTRY_HEADER": _l("the header must be %(header)s"),
    "REGISTRY_COLUMNS": _l("expected 3 columns, found %(found)d"),
    "REGISTRY_NUMBER_LONG": _l("contract number is longer than 40 characters"),
    "REGISTRY_NUMBER_FORMAT": _l(
        "contract number “%(number)s” does not match the format (e.g. %(example)s)"
    ),
    "REGISTRY_COMPANY_CODE": _l("company code “%(code)s” is not a valid 9-digit code"),
    "REGISTRY_STATUS": _l("status must be active or ended, not “%(status)s”"),
    "REGISTRY_REPEATED": _l("contract %(number)s repeats line %(earlier)d"),
    "REGISTRY_MORE": _l("... and %(count)d more"),
    "REGISTRY_FULL_SYNC_EMPTY": _l("the export lists no contracts: a full sync would end them all"),
    "REGISTRY_ENCODING": _l(
        "the file is not UTF-8 text: save it as “CSV UTF-8” and upload it again"
    ),
    "REGISTRY_TOO_BIG": _l("the file is larger than %(size)d MB: split it into smaller files"),
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
