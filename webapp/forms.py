"""Form building blocks shared by the features: fields that render with the
right keyboard and autofill hints, validators that speak our messages, and the
per-field validation used by the live (htmx) checks."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets.core import Input, clean_key

from .embedding import FormTokenCSRF
from .messages import message, rule_text
from .policy import PASSWORD_CEILING, PasswordPolicy, name_acceptable


def init_app(app: Flask) -> None:
    """Render inputs with `html_params` below (WTForms' Input widgets read it
    from their `html_params` attribute, which is there to be replaced)."""
    Input.html_params = staticmethod(html_params)


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
    embed mode, Flask-WTF's session-bound one elsewhere (webapp/embed)."""

    class Meta:
        csrf_class = FormTokenCSRF


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


class Email:
    """Syntax only (no DNS look-up here); the stored form is lower case, because
    people type their login name in any case and expect it to work."""

    def __call__(self, form, field: Field):
        if not field.data:
            return
        try:
            result = validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as exc:
            raise StopValidation(message("EMAIL_INVALID")) from exc
        field.data = result.normalized.lower()


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
    def __init__(self, policy: PasswordPolicy):
        self.policy = policy

    def __call__(self, form, field: Field):
        problem = password_problem(self.policy, field.data or "")
        if problem:
            raise StopValidation(problem)


class SameAs:
    def __init__(self, other: str):
        self.other = other

    def __call__(self, form, field: Field):
        if field.data != form[self.other].data:
            raise ValidationError(message("PASSWORD_MISMATCH"))


def validate_field(form, name: str) -> bool:
    """Run one field's validators, inline `validate_<name>` included, exactly as
    `form.validate()` would for that field."""
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
