"""The authenticator-app secret at rest, sealed by webapp/sealing.py (purpose
"totp", bound to the account): a copy of the database alone yields no
secret. After a SECRET_KEY change the old key kept in SECRET_KEY_FALLBACKS
still opens them (and they are sealed anew on use); without it those people
set their app up again (their recovery codes still work).

`seal`/`unseal` take the secret as text; `context` names the row the secret
belongs to ("account:<id>" for a customer's factor)."""

from __future__ import annotations

from .. import sealing

PURPOSE = "totp"


def account_context(account_id: int) -> str:
    return f"account:{account_id}"


def seal(secret: str, context: str = "") -> str:
    return sealing.seal(PURPOSE, secret, context)


def unseal(sealed: str, context: str = "") -> str | None:
    """The secret, or None when it opens under none of the keys."""
    opened = open_sealed(sealed, context)
    return opened.text if opened else None


def open_sealed(sealed: str, context: str = "") -> sealing.Opened | None:
    """The secret and, when it was stored otherwise, its v1 form under SECRET_KEY."""
    try:
        return sealing.unseal(PURPOSE, sealed, context)
    except sealing.Unreadable:
        return None
