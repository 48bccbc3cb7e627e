"""The most common passwords, which a tenant may refuse.

The list is zxcvbn's 30,000 most frequent leaked passwords (a maintained
package), plus data/common-passwords-lt.txt: Lithuanian ones it lacks.
Comparison ignores case, so "Password1" is as common as "password1"."""

from __future__ import annotations

from functools import cache

from .config import RESOURCE_ROOT

EXTRA_LIST = RESOURCE_ROOT / "data" / "common-passwords-lt.txt"


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words = set(FREQUENCY_LISTS["passwords"])
    if EXTRA_LIST.exists():
        for line in EXTRA_LIST.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                words.add(line.lower())
    return frozenset(words)


def is_common(password: str) -> bool:
    return password.lower() in common_passwords()
