"""What the console's staff accounts do: be added (with an emailed
set-password link) and removed, set their password from the link, log in
with the password and an authenticator code, and log out. Flows take plain
arguments, own their commits, raise ConsoleError subclasses and never touch
the request (the views keep the half-done login in the console session)."""

from __future__ import annotations

import hashlib
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from flask import current_app, has_request_context
from sqlalchemy import delete, or_, select, update

from .. import mail
from ..extensions import db
from ..factors.flows import authenticator_qr, digits, matching_step
from ..factors.secrets import seal, unseal
from ..forms import normalize_email
from ..jobs import worker_request_context
from ..links import link_at
from ..models import Tenant, utcnow
from ..policy import PasswordPolicy
from ..security import hash_password, verify_password
from .models import ROLES, Staff, StaffLogin, StaffRole, StaffToken

INVITE_PURPOSE = "invite"
USER_AGENT_MAX_LENGTH = 300
# Staff reach every customer of a utility: a longer password than customers
# are asked for, and never one of the most common ones.
STAFF_PASSWORD = PasswordPolicy(min_length=12, max_length=128, reject_common=True)


@dataclass(frozen=True)
class ConsoleBrand:
    """What the email layout reads of a tenant's settings, for the console's
    own mail (it belongs to no utility)."""

    product_name: str = "Savitarna"
    name: str = "Savitarna"
    brand_primary: str = "#1f4e79"
    brand_on_primary: str = "#ffffff"
    support_phone: str = ""
    support_email: str = ""


CONSOLE_BRAND = ConsoleBrand()


class ConsoleError(Exception):
    """A console step could not be taken; the person sees one generic message."""


class StaffLoginFailed(ConsoleError):
    """Unknown email, removed staff member, no password yet, or a wrong password."""


class WrongStaffCode(ConsoleError):
    """The authenticator code is wrong, used before, or too old."""


class StaffDataError(ValueError):
    """What the `flask staff` commands were given cannot be done (their message)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Staff members (the `flask staff` commands)


def find_staff(email: str) -> Staff | None:
    """The staff member with this address (any spelling of it), removed or not."""
    normalised = normalize_email(email)
    if normalised is None:
        return None
    return db.session.scalar(select(Staff).where(Staff.email == normalised))


def add_staff(
    email: str,
    *,
    tenant: Tenant | None = None,
    role: str | None = None,
    owner: bool = False,
    name: str | None = None,
    language: str = "lt",
) -> tuple[Staff, bool]:
    """Give the person at `email` a role at `tenant` (or make them the owner,
    who sees every tenant), creating their staff account if need be. Someone
    without a password yet is emailed a set-password link. Returns the staff
    member and whether an invitation was sent."""
    normalised = normalize_email(email)
    if normalised is None:
        raise StaffDataError(f"{email!r} is not an email address.")
    if tenant is None and not owner:
        raise StaffDataError("Give --tenant SLUG with --role ROLE, or --owner.")
    if tenant is not None and role not in ROLES:
        raise StaffDataError(f"--role must be one of {', '.join(ROLES)}.")
    if language not in current_app.config["LANGUAGES"]:
        raise StaffDataError(
            f"--language must be one of {', '.join(current_app.config['LANGUAGES'])}."
        )
    staff = db.session.scalar(select(Staff).where(Staff.email == normalised))
    if staff is None:
        staff = Staff(email=normalised, name=(name or "").strip()[:200], language=language)
        db.session.add(staff)
    elif staff.removed_at is not None:
        # Back after removal: a new start, with nothing of the old credentials.
        _reset_credentials(staff)
        staff.removed_at = None
        staff.is_owner = False
    if name:
        staff.name = name.strip()[:200]
    staff.is_owner = staff.is_owner or owner
    db.session.flush()
    if tenant is not None:
        existing = db.session.scalar(
            select(StaffRole).where(
                StaffRole.staff_id == staff.id, StaffRole.tenant_id == tenant.id
            )
        )
        if existing is None:
            db.session.add(StaffRole(staff_id=staff.id, tenant_id=tenant.id, role=role))
        else:
            existing.role = role
    invited = staff.password_hash is None
    if invited:
        _invite(staff)
    db.session.commit()
    return staff, invited


def _reset_credentials(staff: Staff) -> None:
    staff.password_hash = None
    staff.password_set_at = None
    staff.totp_secret = None
    staff.totp_confirmed_at = None
    staff.totp_last_step = None


def _invite(staff: Staff) -> None:
    """A new set-password link (older ones stop working) and its email, in
    the caller's transaction."""
    _revoke_links(staff)
    secret = secrets.token_urlsafe(32)
    hours = current_app.config["CONSOLE_INVITE_HOURS"]
    db.session.add(
        StaffToken(
            staff_id=staff.id,
            purpose=INVITE_PURPOSE,
            digest=_digest(secret),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    staff.invited_at = utcnow()
    public_url = current_app.config["PUBLIC_URL"]
    # `flask staff add` runs outside any request; the templates need one.
    outside = not has_request_context()
    with worker_request_context(current_app._get_current_object()) if outside else nullcontext():
        mail.queue(
            None,
            CONSOLE_BRAND,
            "staff_invite",
            staff.email,
            staff.language,
            staff=staff,
            link=link_at(public_url, "console.set_password", token=secret),
            hours=hours,
        )


def _revoke_links(staff: Staff) -> None:
    db.session.execute(
        update(StaffToken)
        .where(StaffToken.staff_id == staff.id, StaffToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def remove_staff(email: str, tenant: Tenant | None = None) -> Staff:
    """Take the staff member's role at `tenant` away, or (no tenant) remove
    them altogether: no role, not the owner, every login and link ended. The
    row stays, so the audit log's "staff:<id>" still has a name."""
    staff = find_staff(email)
    if staff is None or staff.removed_at is not None:
        raise StaffDataError(f"No staff member {email!r}.")
    if tenant is not None:
        removed = db.session.execute(
            delete(StaffRole).where(
                StaffRole.staff_id == staff.id, StaffRole.tenant_id == tenant.id
            )
        )
        if removed.rowcount == 0:
            raise StaffDataError(f"{staff.email} has no role at {tenant.slug}.")
    else:
        db.session.execute(delete(StaffRole).where(StaffRole.staff_id == staff.id))
        staff.removed_at = utcnow()
        staff.is_owner = False
        _reset_credentials(staff)
        _revoke_links(staff)
        end_logins(staff)
    db.session.commit()
    return staff


def list_staff() -> list[Staff]:
    """Every staff member who has not been removed, by email."""
    return list(
        db.session.scalars(select(Staff).where(Staff.removed_at.is_(None)).order_by(Staff.email))
    )


# The set-password link


def link_staff(secret: str) -> Staff | None:
    """The staff member whose unused, unexpired link this is, or None."""
    token = _usable_token(secret)
    return token.staff if token is not None else None


def _usable_token(secret: str) -> StaffToken | None:
    if not isinstance(secret, str) or not secret or len(secret) > 100:
        return None
    return db.session.scalar(
        select(StaffToken)
        .join(Staff)
        .where(
            StaffToken.digest == _digest(secret),
            StaffToken.purpose == INVITE_PURPOSE,
            StaffToken.used_at.is_(None),
            StaffToken.expires_at > utcnow(),
            Staff.removed_at.is_(None),
        )
    )


def set_password_from_link(secret: str, password: str) -> Staff | None:
    """Use the link: the new password, the link spent (one conditional
    UPDATE: of two posts, one wins), every login of the staff member ended.
    None when the link is not (or no longer) usable."""
    token = _usable_token(secret)
    if token is None:
        return None
    used = db.session.execute(
        update(StaffToken)
        .where(StaffToken.id == token.id, StaffToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:
        db.session.rollback()
        return None
    staff = token.staff
    staff.password_hash = hash_password(password)
    staff.password_set_at = utcnow()
    _revoke_links(staff)
    end_logins(staff)
    db.session.commit()
    return staff


# Logging in


def authenticate(email: str, password: str) -> Staff:
    """The staff member with this email and password, or StaffLoginFailed.
    The same work and the same answer whatever was wrong (no enumeration)."""
    normalised = normalize_email(email)
    staff = None
    if normalised is not None:
        staff = db.session.scalar(
            select(Staff).where(Staff.email == normalised, Staff.removed_at.is_(None))
        )
    if not verify_password(staff, password) or staff is None:
        db.session.rollback()
        current_app.logger.info("console login failed")
        raise StaffLoginFailed
    db.session.commit()  # a rehashed password, if the parameters changed
    return staff


def pending_staff(staff_id: object, password_set_at: object) -> Staff | None:
    """The staff member of a half-done login, if they may still finish it: not
    removed, and their password not changed since (a new link ends it)."""
    if not isinstance(staff_id, int):
        return None
    staff = db.session.scalar(select(Staff).where(Staff.id == staff_id, Staff.removed_at.is_(None)))
    if staff is None or staff.password_hash is None:
        return None
    stamp = staff.password_set_at.isoformat() if staff.password_set_at else None
    return staff if stamp == password_set_at else None


def start_authenticator(staff: Staff) -> tuple[str, str]:
    """The authenticator app's key being set up (the same one while the page
    is reloaded) as text, and its QR code. Only while none is confirmed: a
    confirmed app is never replaced from a login."""
    assert staff.totp_confirmed_at is None
    secret = unseal(staff.totp_secret) if staff.totp_secret else None
    if secret is None:
        secret = pyotp.random_base32()
        staff.totp_secret = seal(secret)
        staff.totp_last_step = None
        db.session.commit()
    return authenticator_qr(secret, staff.email, f"{CONSOLE_BRAND.product_name} console")


def _accept(staff: Staff, code: str, now: datetime | None) -> bool:
    secret = unseal(staff.totp_secret) if staff.totp_secret else None
    step = matching_step(secret, digits(code), now or utcnow(), staff.totp_last_step)
    if step is None:
        return False
    moved = db.session.execute(
        update(Staff)
        .where(
            Staff.id == staff.id,
            or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return moved.rowcount == 1


def confirm_authenticator(staff: Staff, code: str, now: datetime | None = None) -> None:
    """Confirm the app being set up with a code from it (WrongStaffCode otherwise)."""
    if staff.totp_confirmed_at is not None or not _accept(staff, code, now):
        db.session.rollback()
        raise WrongStaffCode
    staff.totp_confirmed_at = utcnow()
    db.session.commit()


def check_code(staff: Staff, code: str, now: datetime | None = None) -> None:
    """A code from the staff member's confirmed app, not used before."""
    if staff.totp_confirmed_at is None or not _accept(staff, code, now):
        db.session.rollback()
        raise WrongStaffCode
    db.session.commit()


def start_login(staff: Staff, user_agent: str | None) -> StaffLogin:
    """The login both steps have earned (the caller puts its public_id in a
    fresh console session)."""
    login = StaffLogin(
        staff_id=staff.id,
        public_id=secrets.token_urlsafe(32),
        user_agent=(user_agent or None) and user_agent[:USER_AGENT_MAX_LENGTH],
    )
    db.session.add(login)
    staff.last_login_at = utcnow()
    db.session.commit()
    return login


def find_login(public_id: object) -> StaffLogin | None:
    """The open login with this id, within the idle and absolute time limits
    (CONSOLE_IDLE_SECONDS, CONSOLE_SESSION_SECONDS); its last_seen_at is kept
    up to date (at most once a minute)."""
    if not isinstance(public_id, str) or len(public_id) > 64:
        return None
    login = db.session.scalar(
        select(StaffLogin)
        .join(Staff)
        .where(
            StaffLogin.public_id == public_id,
            StaffLogin.ended_at.is_(None),
            Staff.removed_at.is_(None),
        )
    )
    if login is None:
        return None
    now = utcnow()
    config = current_app.config
    if now - login.last_seen_at > timedelta(seconds=config["CONSOLE_IDLE_SECONDS"]) or (
        now - login.authenticated_at > timedelta(seconds=config["CONSOLE_SESSION_SECONDS"])
    ):
        end_login(login)
        return None
    if now - login.last_seen_at > timedelta(seconds=60):
        login.last_seen_at = now
        db.session.commit()
    return login


def end_login(login: StaffLogin) -> None:
    """This login ends (logout, or its time is up)."""
    db.session.execute(
        update(StaffLogin)
        .where(StaffLogin.id == login.id, StaffLogin.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    db.session.commit()


def end_logins(staff: Staff) -> None:
    """Every open login of the staff member ends (in the caller's transaction)."""
    db.session.execute(
        update(StaffLogin)
        .where(StaffLogin.staff_id == staff.id, StaffLogin.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
