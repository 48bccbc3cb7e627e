"""Lithuanian grammar the templates need: a given name in the vocative, the case
Lithuanian addresses people in ("Sveiki, Jonai," not "Sveiki, Jonas,").

Only names that look Lithuanian are changed. A foreign name whose ending looks
like a Lithuanian one ("Boris", "Lucas", "Dennis") is declined by rules of its
own, or not at all, and a wrong guess ("Bori", "Luca") reads worse than leaving
the name out; so such a name is not placed and the greeting goes without it."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import get_locale, gettext

# Lithuanian letters; q, w and x (and other languages' diacritics) mark a foreign name.
_LETTERS = set("aąbcčdeęėfghiįyjklmnoprsštuųūvzž")
_VOWELS = set("aąeęėiįyouųū")
# Spellings Lithuanian words do not have: "Thomas", "Louis", "Lucas", "Marcus".
_FOREIGN = re.compile(r"th|ph|sh|ck|ou|ee|oo|ea|ae|oe|[aeiouy]y|c[aou]|(.)\1")
# Nominative ending -> vocative ending, first match wins, and what the stem
# before the ending must end with.
_ENDINGS = (
    ("ius", "iau", "consonant"),  # Andrius -> Andriau
    ("jus", "jau", "vowel"),  # Motiejus -> Motiejau
    ("us", "au", "consonant"),  # a rare ending for a Lithuanian given name
    ("as", "ai", "consonant"),  # Jonas -> Jonai
    ("ys", "y", "consonant"),  # Kazys -> Kazy
    # Gytis, Jurgis, Aidis, Naglis; not Boris, Denis, Elvis (foreign) nor
    # Ugnis (a woman's name: Ugnie).
    ("is", "i", "tgdl"),
    ("ė", "e", "consonant"),  # Eglė -> Egle
)
_SEPARATORS = re.compile(r"([\s-]+)")


def vocative(name: str | None) -> str | None:
    """The vocative of a Lithuanian given name, or None when we cannot tell it.

    Each part of a double name is declined ("Jonas Petras" -> "Jonai Petrai",
    "Rūta-Eglė" -> "Rūta-Egle"); if any part cannot be placed, neither can the
    name. Capitals are kept as they were typed ("JONAS" -> "JONAI")."""
    name = unicodedata.normalize("NFC", " ".join((name or "").split()))
    if not name:
        return None
    parts = _SEPARATORS.split(name)
    out = []
    for index, part in enumerate(parts):
        if index % 2:  # a separator
            out.append(part)
            continue
        declined = _vocative_word(part)
        if declined is None:
            return None
        out.append(declined)
    return "".join(out)


def _vocative_word(word: str) -> str | None:
    lower = word.lower()
    if len(lower) < 2 or not lower.isalpha():
        return None
    if lower.endswith("a"):
        # Rūta, Marija, and foreign Anna, Olga, Nikita alike: the vocative is
        # the nominative.
        return word
    if not set(lower) <= _LETTERS or _FOREIGN.search(lower):
        return None
    for ending, replacement, stem_end in _ENDINGS:
        if not lower.endswith(ending):
            continue
        stem = lower[: -len(ending)]
        if not (set(stem) & _VOWELS):  # "Chris", "Kris"
            return None
        last = stem[-1]
        if stem_end == "consonant" and last in _VOWELS:
            return None
        if stem_end == "vowel" and last not in _VOWELS:
            return None
        if stem_end not in ("consonant", "vowel") and last not in stem_end:
            return None
        kept = word[: -len(ending)]
        tail = word[-len(ending) :]
        return kept + (replacement.upper() if tail.isupper() else replacement)
    return None


def greeting(first_name: str | None) -> str:
    """The email's first line in the current language: "Hello, Jonas," in
    English, "Sveiki, Jonai," in Lithuanian, and "Laba diena," when the
    Lithuanian vocative of the name is not known (or there is no name)."""
    name = " ".join((first_name or "").split())
    if str(get_locale()) == "lt":
        name = vocative(name)
    if not name:
        return gettext("Hello,")
    return gettext("Hello, %(name)s,", name=name)
