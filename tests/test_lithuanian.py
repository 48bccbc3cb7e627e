"""The vocative of a given name, which every Lithuanian email greets with, and the
greeting itself in both languages."""

import pytest
from flask_babel import force_locale

from webapp.lithuanian import greeting, vocative


@pytest.mark.parametrize(
    ("name", "wanted"),
    [
        # -ius -> -iau, -jus -> -jau, -us -> -au
        ("Andrius", "Andriau"),
        ("Darius", "Dariau"),
        ("Julius", "Juliau"),
        ("Motiejus", "Motiejau"),
        ("Kajus", "Kajau"),
        ("Markus", "Markau"),
        # -as -> -ai
        ("Jonas", "Jonai"),
        ("Žydrūnas", "Žydrūnai"),
        ("Vytautas", "Vytautai"),
        ("Tobijas", "Tobijai"),
        # -ys -> -y, -is -> -i
        ("Kazys", "Kazy"),
        ("Gytis", "Gyti"),
        ("Jurgis", "Jurgi"),
        ("Kęstutis", "Kęstuti"),
        ("Aidis", "Aidi"),
        ("Naglis", "Nagli"),
        # -ė -> -e, -a unchanged
        ("Eglė", "Egle"),
        ("Gabrielė", "Gabriele"),
        ("Rūta", "Rūta"),
        ("Marija", "Marija"),
        # capitals kept as typed, spaces tidied
        ("JONAS", "JONAI"),
        ("EGLĖ", "EGLE"),
        ("jonas", "jonai"),
        ("  Jonas  ", "Jonai"),
        # each part of a double name, split on spaces and hyphens
        ("Jonas Petras", "Jonai Petrai"),
        ("Rūta-Eglė", "Rūta-Egle"),
        ("Ona Marija", "Ona Marija"),
        ("Andrius - Jonas", "Andriau - Jonai"),
        # a decomposed ė (e + combining dot) is the same letter
        ("Egle\u0307", "Egle"),
        # foreign names ending in -a: the vocative is the nominative in Lithuanian too
        ("Anna", "Anna"),
        ("Olga", "Olga"),
        ("Nikita", "Nikita"),
        ("María", "María"),
        # foreign names we cannot place: no name rather than a wrong one
        ("John", None),
        ("Oleg", None),
        ("Sergej", None),
        ("Marie", None),
        ("Zoë", None),
        ("Li", None),
        ("Boris", None),  # not "Bori": Borisai, if anything
        ("Denis", None),
        ("Elvis", None),
        ("Doris", None),
        ("Ugnis", None),  # a woman's name: Ugnie, not "Ugni"
        ("Chris", None),
        ("Louis", None),
        ("Dennis", None),
        ("Thomas", None),
        ("Lucas", None),
        ("Nicolas", None),
        ("Marcus", None),
        ("Andreas", None),
        ("Matias", None),
        ("Klaus", None),
        ("Jürgen", None),
        ("Wiktoras", None),
        ("D'Arcy", None),
        # one part we cannot place: the whole name is not placed
        ("Jonas John", None),
        ("Ana-Marie", None),
        # nothing to place
        ("", None),
        ("   ", None),
        (None, None),
        ("J.", None),
        ("J", None),
    ],
)
def test_vocative(name, wanted):
    assert vocative(name) == wanted


@pytest.mark.parametrize(
    ("language", "name", "wanted"),
    [
        ("lt", "Jonas", "Sveiki, Jonai,"),
        ("lt", "Eglė", "Sveiki, Egle,"),
        ("lt", "Rūta", "Sveiki, Rūta,"),
        ("lt", "John", "Laba diena,"),
        ("lt", "", "Laba diena,"),
        ("en", "Jonas", "Hello, Jonas,"),
        ("en", "John", "Hello, John,"),
        ("en", "", "Hello,"),
    ],
)
def test_greeting(app, language, name, wanted):
    with app.test_request_context("/"), force_locale(language):
        assert greeting(name) == wanted


def test_greeting_is_a_template_filter(app):
    with app.test_request_context("/"), force_locale("lt"):
        template = app.jinja_env.from_string("{{ name|greeting }} / {{ name|vocative }}")
        assert template.render(name="Andrius") == "Sveiki, Andriau, / Andriau"
