"""The Lithuanian catalogue: complete, not fuzzy, placeholders intact, and
actually used by the pages."""

import re

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from webapp.config import PROJECT_ROOT
from webapp.messages import MESSAGES, message

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalogue(language):
    path = PROJECT_ROOT / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        return read_po(file)


def test_lithuanian_catalogue_is_complete_and_not_fuzzy():
    problems = []
    for entry in catalogue("lt"):
        if not entry.id:
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        if entry.fuzzy or not all(strings):
            problems.append(f"missing or fuzzy: {ids[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r} -> {text!r}")
    assert problems == []


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_is_translated(app, key):
    params = {
        "name": "Elektrum",
        "example": "4100012345",
        "rules": "x",
        "char": "!",
        "symbols": "_",
        # The registry import's and the console's
        "max": 500,
        "slug": "velzio",
        "error": "x",
        "header": "a,b,c",
        "found": 2,
        "number": "4100000001",
        "code": "110053842",
        "status": "x",
        "earlier": 2,
        "count": 5,
        "size": 20,
        "created": 1,
        "updated": 2,
        "unchanged": 3,
        "ended": 4,
        "detail": "x",
    }
    wanted = set(PLACEHOLDER.findall(MESSAGES[key]._args[0]))
    params = {k: v for k, v in params.items() if k in wanted}
    with app.test_request_context("/"):
        with force_locale("en"):
            english = message(key, **params)
        with force_locale("lt"):
            lithuanian = message(key, **params)
    assert lithuanian and lithuanian != english


def test_pages_default_to_lithuanian(client):
    html = client.get("/velzio/register").get_data(as_text=True)
    assert '<html lang="lt"' in html
    english = client.get("/velzio/register", headers={"Accept-Language": "en"})
    assert '<html lang="en"' in english.get_data(as_text=True)


def test_lithuanian_names_a_forbidden_space_instead_of_quoting_it(client):
    """„ “ shows nothing a customer can read; the message says "tarpo"."""
    from support.data import ELEKTRUM_OK
    from support.forms import submit
    from support.mail import link_in, outbox

    submit(client, "/elektrum/register", ELEKTRUM_OK)
    link = link_in(outbox(client.application)[0], "/activate/")
    html = submit(client, link, {"password": "Slapta 123", "password2": "Slapta 123"}).get_data(
        as_text=True
    )
    assert "Slaptažodyje negali būti tarpo." in html
    assert "„ “" not in html


def test_common_password_rule_does_not_read_as_its_opposite(app):
    """ "ne vienas iš …" is the idiom "quite a few of …": the rule said the opposite."""
    from webapp.messages import PASSWORD_RULES

    with app.test_request_context("/"), force_locale("lt"):
        text = str(PASSWORD_RULES["PW_RULE_COMMON"](0, ""))
    assert text == "nėra tarp dažniausiai naudojamų slaptažodžių"
