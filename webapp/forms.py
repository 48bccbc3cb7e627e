"""Form building blocks shared by the features: fields that render with the
right keyboard and autofill hints, validators that speak our messages, and the
per-field validation used by the live (htmx) checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email
from flask import Flask, abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from markupsafe import Markup, escape
from wtforms import Field, PasswordField
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets.core import Input, clean_key

from .breached_passwords import is_breached
from .embed.csrf import FormTokenCSRF
from .messages import message, rule_text
from .policy import (
    PASSWORD_CEILING,
    PasswordPolicy,
    imitates_latin,
    is_encoded_word,
    name_acceptable,
    normalise_phone,
)

if TYPE_CHECKING:
    from .tenants import TenantSettings

# What a browser's form sends. Flask-WTF would also read a JSON body as the
# form (with the CSRF token in a header), which nothing else here reads the
# same way: the rate limits' keys and the contract look-up's exemption read
# request.form.
FORM_BODIES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def init_app(app: Flask) -> None:
    """Render inputs with `html_params` below (WTForms' Input widgets read it
    from their `html_params` attribute, which is there to be replaced), and
    refuse POST bodies that are not forms. Call before the CSRF hook, so such
    a body is told what is wrong with it rather than that its token is missing."""
    Input.html_params = staticmethod(html_params)
    app.before_request(refuse_other_bodies)


def refuse_other_bodies() -> None:
    """before_request: a POST with a body carries a form, or is answered 415."""
    if request.method != "POST" or request.mimetype in FORM_BODIES:
        return
    if not request.mimetype and not request.content_length:
        return  # no body at all (a bare POST): an empty form
    abort(415)


def html_params(**kwargs) -> Markup:
    """WTForms' html_params, to the byte, about six times faster: WTForms formats
    every attribute through Markup.format, which was a third of the registration
    page's server time (each input carries a dozen aria and hx attributes)."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = clean_key(key)
        if value is True:
            params.append(escape(key))
        elif value is not False:
            # A Markup value is not escaped again, but its quotes still must be.
            value = str(escape(value)).replace('"', "&quot;")
            params.append(f'{escape(key)}="{value}"')
    return Markup(" ".join(params))  # noqa: S704 (every part escaped above)


class Form(FlaskForm):
    """Every form's base: its csrf_token field holds the session-free token in
    embed mode, Flask-WTF's session-bound one elsewhere (webapp/embed). It
    reads request.form only: a multipart file part is never a field's value
    (a file named `email` leaves the email empty, a field error), and no JSON."""

    class Meta:
        csrf_class = FormTokenCSRF

        def wrap_formdata(self, form, formdata):
            if formdata is _Auto:
                # As Flask-WTF does, an empty body leaves the fields' defaults.
                return (request.form or None) if form.is_submitted() else None
            return formdata


def strip(value):
    return value.strip() if isinstance(value, str) else value


def collapse_spaces(value):
    return " ".join(value.split()) if isinstance(value, str) else value


class Required:
    """Stop with our message when the field is empty (whitespace counts as empty)."""

    field_flags = {"required": True}

    def __init__(self, key: str, **params):
        self.key, self.params = key, params

    def __call__(self, form, field: Field):
        data = field.data
        if data is None or data is False or (isinstance(data, str) and not data.strip()):
            field.errors[:] = []
            raise StopValidation(message(self.key, **self.params))


class MaxLength:
    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, form, field: Field):
        if isinstance(field.data, str) and len(field.data) > self.limit:
            raise StopValidation(message("VALUE_TOO_LONG"))


class PersonName:
    def __call__(self, form, field: Field):
        if field.data and not name_acceptable(field.data):
            raise ValidationError(message("NAME_INVALID"))


def normalize_email(value) -> str | None:
    """The one form in which an address is stored, and looked up: what login,
    forgot and resend are given is normalised the same way, so every spelling of
    one address finds the one account, and every limit keyed on an address
    (webapp/limits.py) counts them together.

    email-validator's normalisation (Unicode NFC; the domain's case, full-width
    letters and dot variants such as "。" folded), the domain in its ASCII (IDNA)
    form, so "x@испытание.com" and "x@xn--80akhbyknj4f.com" are one address, and
    the whole in lower case, because people type their login name in any case.
    Lower case, not casefold(): this is also the address mail is sent to, and
    casefold() rewrites some local parts ("ß" becomes "ss"). For ASCII the two
    are the same.

    None when `value` is not an address at all. It does not refuse what the
    registration form refuses (look-alike letters, encoded words, non-ASCII local
    parts without SMTPUTF8): an account stored before those rules still logs in."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return normal_form(result)


def normal_form(result) -> str:
    """`normalize_email`'s answer from email-validator's result."""
    return f"{result.local_part}@{result.ascii_domain}".lower()


def legacy_email(value: str) -> str | None:
    """The form the first release stored: `normalize_email` with the domain in
    Unicode. Looked up too, so an account stored then is still found."""
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


class Email:
    """A new address (registration): syntax (no DNS look-up here), then what
    would make it read or travel as another address; the field's data becomes
    the stored form (`normalize_email`)."""

    def __call__(self, form, field: Field):
        if not field.data:
            return
        try:
            result = validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as exc:
            raise StopValidation(message("EMAIL_INVALID")) from exc
        if is_encoded_word(result.local_part):
            raise StopValidation(message("EMAIL_ENCODED_WORD"))
        if any(imitates_latin(part) for part in [result.local_part, *result.domain.split(".")]):
            raise StopValidation(message("EMAIL_LOOKALIKE"))
        if not result.local_part.isascii() and not current_app.config["MAIL_SMTPUTF8"]:
            # The relay would refuse it (no SMTPUTF8): the confirmation would never go.
            raise StopValidation(message("EMAIL_LOCAL_ASCII"))
        # What normalize_email(field.data) gives, without validating it again
        # (an address that passed has no space around it and no NUL).
        field.data = normal_form(result)


def password_problem(policy: PasswordPolicy, password: str) -> str | None:
    """The message for a password the policy refuses, or None when it is fine."""
    if len(password) > PASSWORD_CEILING:
        return message("VALUE_TOO_LONG")
    char = policy.forbidden_character(password)
    if char is not None and policy.allowed_symbols is not None:
        if char.isspace():  # „ “ would show nothing: the message names it
            return message("PASSWORD_FORBIDDEN_SPACE", symbols=policy.symbols_display)
        shown = char if char.isprintable() else repr(char).strip("'")
        return message("PASSWORD_FORBIDDEN_CHARACTER", char=shown, symbols=policy.symbols_display)
    checks = policy.check(password)
    unmet = [rule_text(rule) for rule, met in checks if not met and rule.key != "PW_RULE_COMMON"]
    if unmet:
        return message("PASSWORD_WEAK", rules=", ".join(unmet))
    if any(not met for rule, met in checks if rule.key == "PW_RULE_COMMON"):
        return message("PASSWORD_COMMON")
    return None


class PasswordRules:
    """The tenant's password policy, for every form where a new password is chosen."""

    def __init__(self, policy: PasswordPolicy):
        self.policy = policy

    def __call__(self, form, field: Field):
        password = field.data or ""
        problem = password_problem(self.policy, password)
        if problem:
            raise StopValidation(problem)
        # The breach check asks a remote API, so it runs on the full POST only,
        # never in the live check (validate_field marks the form): that one runs
        # at every pause in typing, and would send a hash prefix of each
        # half-typed password and wait up to the API's timeout each time.
        live = getattr(form, "live_check", False)
        if self.policy.reject_breached and not live and is_breached(password):
            raise StopValidation(message("PASSWORD_BREACHED"))


class SameAs:
    def __init__(self, other: str):
        self.other = other

    def __call__(self, form, field: Field):
        if field.data != form[self.other].data:
            raise ValidationError(message("PASSWORD_MISMATCH"))


def validate_field(form, name: str) -> bool:
    """Run one field's validators, inline `validate_<name>` included, exactly as
    `form.validate()` would for that field, except checks too slow to run while
    a person types (PasswordRules' breach check): the full POST makes them."""
    form.live_check = True
    field = form[name]
    inline = getattr(type(form), f"validate_{name}", None)
    return field.validate(form, [inline] if inline else [])


def first_error(field: Field) -> str:
    return field.errors[0] if field.errors else ""


TEXT = {"spellcheck": "false"}
NAME_KW = {"autocapitalize": "words", "spellcheck": "false"}
EMAIL_KW = {
    "autocomplete": "email",
    "inputmode": "email",
    "spellcheck": "false",
    "autocapitalize": "none",
}
NEW_PASSWORD_KW = {"autocomplete": "new-password", "spellcheck": "false", "autocapitalize": "none"}
CURRENT_PASSWORD_KW = {
    "autocomplete": "current-password",
    "spellcheck": "false",
    "autocapitalize": "none",
}
PHONE_KW = {"autocomplete": "tel", "inputmode": "tel"}


class NewPasswordForm(Form):
    """'Set new password', from an activation or reset link."""

    password = PasswordField(_l("New password"), render_kw=NEW_PASSWORD_KW)
    password2 = PasswordField(
        _l("Repeat new password"),
        validators=[Required("PASSWORD_REPEAT_REQUIRED"), SameAs("password")],
        render_kw=NEW_PASSWORD_KW,
    )

    def __init__(self, policy: PasswordPolicy, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy
        self.password.validators = [Required("PASSWORD_NEW_REQUIRED"), PasswordRules(policy)]


class ContactChoices:
    """The phone and the invoice and SMS choices as a tenant asks for them
    (its registration.phone, invoices_by_email and sms settings), for every form
    that has them: the residential registration and the account page. The form
    declares the fields `phone`, `invoices_by_email` and `sms_consent` in its
    own order, sets `self.settings` and calls `drop_unasked` in __init__."""

    settings: TenantSettings

    def drop_unasked(self, settings: TenantSettings) -> None:
        """Remove the fields this tenant does not ask for."""
        if settings.phone == "off":
            del self.phone
        if not settings.invoices_by_email:
            del self.invoices_by_email
        if not settings.sms or settings.phone == "off":
            del self.sms_consent

    def validate_phone(self, field):
        value = field.data or ""
        if not value:
            if self.settings.phone == "required":
                raise StopValidation(message("PHONE_REQUIRED"))
            if "sms_consent" in self and self.sms_consent.data:
                raise StopValidation(message("PHONE_NEEDED_FOR_SMS"))
            field.data = None
            return
        normalised = normalise_phone(value)
        if normalised is None:
            raise StopValidation(message("PHONE_INVALID"))
        field.data = normalised
