"""Sessions and devices: the account's logins still going, described the way a
person recognises them ("Chrome, Android", "5 min. ago"), and ending them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_timedelta
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import events
from ..accounts import end_login, end_sessions
from ..extensions import db
from ..models import Account, LoginSession, utcnow

# Checked in this order: Edge and Opera also say "Chrome", Chrome also says
# "Safari". Product names are not translated.
BROWSERS = (
    (re.compile(r"\bEdg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"\bOPR/|\bOpera\b"), "Opera"),
    (re.compile(r"\bSamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"\bFirefox/|\bFxiOS/"), "Firefox"),
    (re.compile(r"\bChrome/|\bCriOS/|\bChromium/"), "Chrome"),
    (re.compile(r"\bVersion/[\d.]+.*\bSafari/"), "Safari"),
)
SYSTEMS = (
    (re.compile(r"\bAndroid\b"), "Android"),
    (re.compile(r"\biPad\b"), "iPadOS"),
    (re.compile(r"\biPhone\b|\biPod\b"), "iOS"),
    (re.compile(r"\bCrOS\b"), "ChromeOS"),
    (re.compile(r"\bWindows\b"), "Windows"),
    (re.compile(r"\bMacintosh\b|\bMac OS X\b"), "macOS"),
    (re.compile(r"\bLinux\b"), "Linux"),
)
UNKNOWN_BROWSER = _l("Unknown browser")
UNKNOWN_SYSTEM = _l("unknown system")


def describe(user_agent: str | None) -> tuple[str, str]:
    """The browser and the system a User-Agent names, or "unknown" ones."""
    text = user_agent or ""
    browser = next((name for rule, name in BROWSERS if rule.search(text)), None)
    system = next((name for rule, name in SYSTEMS if rule.search(text)), None)
    return browser or str(UNKNOWN_BROWSER), system or str(UNKNOWN_SYSTEM)


def ago(moment: datetime, now: datetime | None = None) -> str:
    """'5 min. ago' in the current language; 'just now' under a minute."""
    elapsed = (now or utcnow()) - moment
    if elapsed < timedelta(minutes=1):
        return str(_l("just now"))
    # Babel's own: Flask-Babel's wrapper has no short format ("5 min. ago").
    return format_timedelta(
        -elapsed, granularity="minute", add_direction=True, format="short", locale=get_locale()
    )


@dataclass(frozen=True)
class Device:
    id: int
    browser: str
    system: str
    last_seen: str
    started: datetime
    current: bool


def live_logins(account: Account) -> list[LoginSession]:
    """The account's logins not ended and seen within the session lifetime
    (an older one's cookie has expired anyway), newest first."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    return list(
        db.session.scalars(
            select(LoginSession)
            .where(
                LoginSession.account_id == account.id,
                LoginSession.tenant_id == account.tenant_id,
                LoginSession.ended_at.is_(None),
                LoginSession.last_seen_at >= cutoff,
            )
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
        )
    )


def devices(account: Account, current: LoginSession | None) -> list[Device]:
    """What the page lists: this device first."""
    now = utcnow()
    listed = []
    for login in live_logins(account):
        browser, system = describe(login.user_agent)
        is_current = current is not None and login.id == current.id
        listed.append(
            Device(
                id=login.id,
                browser=browser,
                system=system,
                last_seen=str(_l("now")) if is_current else ago(login.last_seen_at, now),
                started=login.authenticated_at,
                current=is_current,
            )
        )
    return sorted(listed, key=lambda device: not device.current)


def end_other_sessions(account: Account, keep: LoginSession | None, address: str | None) -> None:
    """ "Log out everywhere else": every login but `keep` ends, on every
    instance (the caller gives its own browser a fresh cookie)."""
    end_sessions(account, keep=keep)
    events.emit(account.tenant_id, "sessions_ended", account=account, address=address)
    db.session.commit()


def end_other_session(
    account: Account, login_id: int, current: LoginSession | None, address: str | None
) -> bool:
    """End one other device's login; False when it is not one of this
    account's live logins (or is this one: that is what "Log out" is for)."""
    login = db.session.scalar(
        select(LoginSession).where(
            LoginSession.id == login_id,
            LoginSession.account_id == account.id,
            LoginSession.tenant_id == account.tenant_id,
            LoginSession.ended_at.is_(None),
        )
    )
    if login is None or (current is not None and login.id == current.id):
        return False
    end_login(login)
    events.emit(account.tenant_id, "sessions_ended", account=account, address=address)
    db.session.commit()
    return True
