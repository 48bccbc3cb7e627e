"""What a page says, through the catalogues: a test asserts the translation,
never a copy of it."""

from __future__ import annotations

from flask_babel import force_locale, gettext
from markupsafe import escape

from webapp.messages import message


def expected(app, key: str, language: str = "lt", **params) -> str:
    """The message `key` as a page in `language` shows it (HTML-escaped)."""
    with app.test_request_context("/"), force_locale(language):
        return str(escape(message(key, **params)))


def gettext_in(app, text: str, language: str = "lt", **params) -> str:
    """A template string (not a message key) in `language`, HTML-escaped."""
    with app.test_request_context("/"), force_locale(language):
        return str(escape(gettext(text, **params)))


def error_prefix(app, language: str = "lt") -> str:
    """The start of an error page's title: the translation of "Error: %(title)s"."""
    with app.test_request_context("/"), force_locale(language):
        return gettext("Error: %(title)s", title="\x00").split("\x00")[0]
