"""The Lithuanian catalogue: complete, not fuzzy, placeholders intact, and
actually used by the pages."""

import re

import pytest
from babel.messages.pofile import read_po
from conftest import PROJECT_ROOT
from flask_babel import force_locale

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
