"""What second factors do: enrol and check passkeys (the `webauthn` package),
set up and check authenticator-app codes (`pyotp`), make and use recovery
codes, and the tenant's policy. Flows take the tenant and the account, own
their commits, raise FactorError subclasses, and never touch the request
(the views keep the WebAuthn challenge in the session and pass it in)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import pyotp
import segno
from flask_babel import format_date, gettext
from sqlalchemy import delete, func, or_, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import events, mail
from ..accounts import SECURE_LINK_HOURS, secure_link
from ..auth.stepup import mark_reauthenticated
from ..extensions import db
from ..links import email_link, public_base
from ..models import Account, LoginSession, Passkey, RecoveryCode, Tenant, TotpFactor, utcnow
from ..tenants import TenantSettings, settings_for
from .secrets import account_context, open_sealed, seal

RECOVERY_CODES = 10
# 31 letters and digits without look-alikes (no 0/o, 1/l/i): 12 of them carry
# about 59 random bits, so the stored SHA-256 cannot be guessed back.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 12
PASSKEY_NAME_MAX = 60
TIMEOUT_MS = 120_000
# The names of a few common passkey providers, by the AAGUID their passkeys
# carry (the community list passkeydeveloper/passkey-authenticator-aaguids).
# Anything else is "Passkey <date>", and the person may rename it.
AAGUID_NAMES = {
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
    "6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
    "d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
    "531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
}
TRANSPORTS = {transport.value for transport in AuthenticatorTransport}


class FactorError(Exception):
    """A second factor could not be used; the person sees one generic message."""


class WrongCode(FactorError):
    """The code is not (or no longer) valid: typed wrong, used, or too old."""


class PasskeyRefused(FactorError):
    """The browser's answer does not prove a passkey of this account."""


class LastFactor(FactorError):
    """The tenant requires a second factor and this is the account's last one."""


class FactorNotFound(FactorError):
    """No such factor of this account."""


@dataclass(frozen=True)
class Remover:
    """A staff member removing a customer's factor (webapp/console/actions.py),
    after checking the customer's identity: their audit actor and reason."""

    actor: str
    reason: str


# Policy


def factor_count(account: Account) -> int:
    """The account's passkeys and confirmed authenticator apps."""
    passkeys = db.session.scalar(
        select(func.count(Passkey.id)).where(
            Passkey.tenant_id == account.tenant_id, Passkey.account_id == account.id
        )
    )
    apps = db.session.scalar(
        select(func.count(TotpFactor.id)).where(
            TotpFactor.tenant_id == account.tenant_id,
            TotpFactor.account_id == account.id,
            TotpFactor.confirmed_at.is_not(None),
        )
    )
    return passkeys + apps


def needs_second_step(account: Account) -> bool:
    """The login step's rule: an account with a factor is asked for it; at a
    tenant that requires one, an account without sets one up. A tenant with
    factors off asks nothing (factors made before it turned them off wait)."""
    policy = settings_for(account.tenant).second_factor
    if policy == "off":
        return False
    return policy == "required" or factor_count(account) > 0


# Passkeys


def relying_party(settings: TenantSettings) -> tuple[str, str]:
    """(rp id, origin): the host of the tenant's public address, and its origin.
    Passkeys are bound to that host; a WebAuthn rp id cannot be an IP address."""
    base = urlsplit(public_base(settings))
    return base.hostname or "", f"{base.scheme}://{base.netloc}"


def passkeys_of(account: Account) -> list[Passkey]:
    return list(
        db.session.scalars(
            select(Passkey)
            .where(Passkey.tenant_id == account.tenant_id, Passkey.account_id == account.id)
            .order_by(Passkey.created_at, Passkey.id)
        )
    )


def _descriptors(account: Account) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(passkey.credential_id),
            transports=[AuthenticatorTransport(t) for t in passkey.transports if t in TRANSPORTS],
        )
        for passkey in passkeys_of(account)
    ]


def registration_options(settings: TenantSettings, account: Account) -> tuple[str, str]:
    """The options for navigator.credentials.create() as JSON, and the
    challenge (base64url) the answer must sign. Makes the account's random
    user handle with its first passkey."""
    if account.webauthn_handle is None:
        account.webauthn_handle = bytes_to_base64url(secrets.token_bytes(32))
        db.session.commit()
    rp_id, _ = relying_party(settings)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=settings.product_name,
        user_id=base64url_to_bytes(account.webauthn_handle),
        user_name=account.email,
        user_display_name=account.full_name or account.email,
        timeout=TIMEOUT_MS,
        exclude_credentials=_descriptors(account),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def _verified(verify, settings: TenantSettings, parsed: dict, challenge: str, **checks):
    """py_webauthn's `verify` of the browser's answer for this site and
    challenge; anything it (or a malformed answer) raises is PasskeyRefused."""
    rp_id, origin = relying_party(settings)
    try:
        return verify(
            credential=parsed,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            **checks,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused from exc


def _parse(credential: str) -> dict:
    try:
        parsed = json.loads(credential)
    except (TypeError, ValueError) as exc:
        raise PasskeyRefused from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str):
        raise PasskeyRefused
    return parsed


def add_passkey(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    credential: str,
    challenge: str,
    address: str | None = None,
) -> Passkey:
    """Keep the passkey the browser made for `challenge`; tell the owner by email."""
    parsed = _parse(credential)
    verified = _verified(
        verify_registration_response, settings, parsed, challenge, require_user_verification=True
    )
    credential_id = bytes_to_base64url(verified.credential_id)
    taken = db.session.scalar(
        select(Passkey.id).where(
            Passkey.tenant_id == tenant.id, Passkey.credential_id == credential_id
        )
    )
    if taken is not None:
        raise PasskeyRefused
    transports = parsed.get("response", {}).get("transports") or []
    passkey = Passkey(
        tenant_id=tenant.id,
        account_id=account.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[t for t in transports if isinstance(t, str) and t in TRANSPORTS],
        aaguid=verified.aaguid,
        name=AAGUID_NAMES.get(verified.aaguid)
        or gettext("Passkey %(date)s", date=format_date(utcnow(), "yyyy-MM-dd")),
    )
    db.session.add(passkey)
    _factor_changed(tenant, settings, account, "factor.added", "passkey", passkey.name, address)
    db.session.commit()
    return passkey


def authentication_options(
    settings: TenantSettings, account: Account | None = None, *, verify: bool = False
) -> tuple[str, str]:
    """Options for navigator.credentials.get() as JSON, and the challenge. With
    no account (a passwordless login) the browser offers any passkey it holds
    for this site and must verify the person; for a second step, the
    account's own passkeys, verification preferred (a security key without a
    PIN is a fine second factor); `verify` requires it (step-up: the passkey
    stands in for the password, so the person is checked, not only the key)."""
    rp_id, _ = relying_party(settings)
    required = account is None or verify
    options = generate_authentication_options(
        rp_id=rp_id,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(account) if account is not None else [],
        user_verification=UserVerificationRequirement.REQUIRED
        if required
        else UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def check_passkey(
    tenant: Tenant,
    settings: TenantSettings,
    credential: str,
    challenge: str,
    account: Account | None = None,
) -> tuple[Account, bool]:
    """The account whose passkey signed `challenge`, and whether the person was
    verified. With `account` given, the passkey must be one of its own;
    without, it must name its account by the user handle and verify the person.
    A sign count that does not grow (a cloned authenticator) is refused."""
    parsed = _parse(credential)
    passkey = db.session.scalar(
        select(Passkey).where(Passkey.tenant_id == tenant.id, Passkey.credential_id == parsed["id"])
    )
    if passkey is None or (account is not None and passkey.account_id != account.id):
        raise PasskeyRefused
    owner = passkey.account
    handle = (parsed.get("response") or {}).get("userHandle")
    if account is None and handle != owner.webauthn_handle:
        raise PasskeyRefused
    verified = _verified(
        verify_authentication_response,
        settings,
        parsed,
        challenge,
        credential_public_key=passkey.public_key,
        credential_current_sign_count=passkey.sign_count,
        require_user_verification=account is None,
    )
    # Only ever forwards: two answers racing cannot both move it.
    moved = db.session.execute(
        update(Passkey)
        .where(
            Passkey.id == passkey.id,
            or_(Passkey.sign_count < verified.new_sign_count, Passkey.sign_count == 0),
        )
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
    )
    if moved.rowcount != 1:
        db.session.rollback()
        raise PasskeyRefused
    db.session.commit()
    return owner, verified.user_verified


def confirm_with_passkey(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    login: LoginSession | None,
    credential: str,
    challenge: str,
) -> None:
    """ "Confirm it is you" with one of the account's own passkeys, the person
    verified by the authenticator (a PIN, a fingerprint): the login counts as
    just proved (step-up). PasskeyRefused otherwise."""
    _, user_verified = check_passkey(tenant, settings, credential, challenge, account=account)
    if not user_verified:
        raise PasskeyRefused
    mark_reauthenticated(login)
    db.session.commit()


def rename_passkey(account: Account, passkey_id: int, name: str) -> None:
    passkey = _own_passkey(account, passkey_id)
    passkey.name = name.strip()[:PASSKEY_NAME_MAX] or passkey.name
    db.session.commit()


def remove_passkey(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    passkey_id: int,
    address: str | None = None,
    *,
    by: Remover | None = None,
) -> None:
    """Remove a passkey (not the last factor where the tenant requires one,
    unless staff remove it: see Remover)."""
    passkey = _own_passkey(account, passkey_id)
    _refuse_last(settings, account, by)
    name = passkey.name
    db.session.delete(passkey)
    _factor_changed(tenant, settings, account, "factor.removed", "passkey", name, address, by)
    _drop_codes_without_factor(account)
    db.session.commit()


def _own_passkey(account: Account, passkey_id: int) -> Passkey:
    passkey = db.session.scalar(
        select(Passkey).where(
            Passkey.id == passkey_id,
            Passkey.tenant_id == account.tenant_id,
            Passkey.account_id == account.id,
        )
    )
    if passkey is None:
        raise FactorNotFound
    return passkey


# Authenticator apps


def authenticator(account: Account, confirmed: bool = True) -> TotpFactor | None:
    query = select(TotpFactor).where(
        TotpFactor.tenant_id == account.tenant_id, TotpFactor.account_id == account.id
    )
    if confirmed:
        query = query.where(TotpFactor.confirmed_at.is_not(None))
    else:
        query = query.where(TotpFactor.confirmed_at.is_(None))
    return db.session.scalar(query.order_by(TotpFactor.id.desc()).limit(1))


def start_authenticator(account: Account) -> tuple[str, str]:
    """A new secret for an authenticator app, kept unconfirmed until a code from
    it is typed (the same one while the setup page is reloaded): the key as
    text (in groups of four) and the QR code as inline SVG."""
    factor = authenticator(account, confirmed=False)
    secret = _secret(factor) if factor is not None else None
    if secret is None:
        secret = pyotp.random_base32()
        db.session.execute(
            delete(TotpFactor).where(
                TotpFactor.tenant_id == account.tenant_id,
                TotpFactor.account_id == account.id,
                TotpFactor.confirmed_at.is_(None),
            )
        )
        db.session.add(
            TotpFactor(
                tenant_id=account.tenant_id,
                account_id=account.id,
                secret=seal(secret, account_context(account.id)),
            )
        )
    db.session.commit()
    settings = settings_for(account.tenant)
    return authenticator_qr(secret, account.email, settings.product_name)


def authenticator_qr(secret: str, name: str, issuer: str) -> tuple[str, str]:
    """The key as text (in groups of four) and its QR code as inline SVG."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)
    qr = segno.make(uri, error="m").svg_inline(scale=5, border=2, omitsize=False)
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), qr


def _secret(factor: TotpFactor) -> str | None:
    """The factor's secret, or None when no key opens it. One stored in an
    older format or under a SECRET_KEY_FALLBACKS key is sealed anew on the
    row (written with the caller's commit)."""
    opened = open_sealed(factor.secret, account_context(factor.account_id))
    if opened is None:
        return None
    if opened.resealed:
        factor.secret = opened.resealed
    return opened.text


def matching_step(
    secret: str | None, code: str, now: datetime, last_step: int | None
) -> int | None:
    """The time step `code` belongs to, RFC 6238 with one step either side (a
    clock a little off, a code typed as it changed), if it is newer than
    `last_step`; else None. The caller moves its `last_step` to it with a
    conditional UPDATE, so a code is taken once, even by two requests at once.
    (pyotp's TOTP.verify(valid_window=1) says whether, not which step, matched.)"""
    if secret is None or not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept_code(factor: TotpFactor, code: str, now: datetime) -> bool:
    """A code of this app's, not taken before (see matching_step)."""
    step = matching_step(_secret(factor), code, now, factor.last_step)
    if step is None:
        return False
    moved = db.session.execute(
        update(TotpFactor)
        .where(
            TotpFactor.id == factor.id,
            or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step),
        )
        .values(last_step=step, last_used_at=utcnow())
    )
    return moved.rowcount == 1


def confirm_authenticator(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    code: str,
    address: str | None = None,
    now: datetime | None = None,
) -> list[str] | None:
    """Confirm the app being set up with a code from it. Returns new recovery
    codes when the account had none (to show once), else None."""
    factor = authenticator(account, confirmed=False)
    if factor is None or not _accept_code(factor, digits(code), now or utcnow()):
        db.session.rollback()
        raise WrongCode
    factor.confirmed_at = utcnow()
    # One app at a time: a new one replaces the old.
    db.session.execute(
        delete(TotpFactor).where(
            TotpFactor.tenant_id == account.tenant_id,
            TotpFactor.account_id == account.id,
            TotpFactor.id != factor.id,
        )
    )
    _factor_changed(tenant, settings, account, "factor.added", "authenticator", None, address)
    codes = None if _unused_codes(account) else _make_codes(account)
    db.session.commit()
    return codes


def remove_authenticator(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    address: str | None = None,
    *,
    by: Remover | None = None,
) -> None:
    factor = authenticator(account)
    if factor is None:
        raise FactorNotFound
    _refuse_last(settings, account, by)
    db.session.delete(factor)
    _factor_changed(tenant, settings, account, "factor.removed", "authenticator", None, address, by)
    _drop_codes_without_factor(account)
    db.session.commit()


def digits(code: str) -> str:
    """A typed code without its spaces (apps show "123 456"), at most 20 characters."""
    return "".join((code or "").split())[:20]


# The second step: a code from the app, or a recovery code


def check_code(account: Account, code: str, now: datetime | None = None) -> tuple[str, ...]:
    """The method references of a valid code of the account's: a code from its
    authenticator app, or one of its unused recovery codes (used up). Both are
    one-time passwords ("otp"); after the first step's factor, "mfa"."""
    typed = digits(code)
    factor = authenticator(account)
    if factor is not None and _accept_code(factor, typed, now or utcnow()):
        db.session.commit()
        return ("otp", "mfa")
    recovery = typed.replace("-", "").lower()
    if len(recovery) == RECOVERY_LENGTH:
        used = db.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.tenant_id == account.tenant_id,
                RecoveryCode.account_id == account.id,
                RecoveryCode.digest == _digest(recovery),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
        if used.rowcount == 1:
            db.session.commit()
            return ("otp", "mfa")
    db.session.rollback()
    raise WrongCode


# Recovery codes


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _unused_codes(account: Account) -> int:
    return db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.tenant_id == account.tenant_id,
            RecoveryCode.account_id == account.id,
            RecoveryCode.used_at.is_(None),
        )
    )


def unused_recovery_codes(account: Account) -> int:
    return _unused_codes(account)


def _make_codes(account: Account) -> list[str]:
    db.session.execute(
        delete(RecoveryCode).where(
            RecoveryCode.tenant_id == account.tenant_id, RecoveryCode.account_id == account.id
        )
    )
    codes = []
    for _ in range(RECOVERY_CODES):
        code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append(code)
        db.session.add(
            RecoveryCode(tenant_id=account.tenant_id, account_id=account.id, digest=_digest(code))
        )
    return [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]


def renew_recovery_codes(tenant: Tenant, account: Account, address: str | None = None) -> list[str]:
    """Ten new recovery codes (to show once); the old ones stop working."""
    if factor_count(account) == 0:
        raise FactorNotFound
    codes = _make_codes(account)
    events.emit(tenant.id, "recovery_codes_renewed", account=account, address=address)
    db.session.commit()
    return codes


def _drop_codes_without_factor(account: Account) -> None:
    db.session.flush()
    if factor_count(account) == 0:
        db.session.execute(
            delete(RecoveryCode).where(
                RecoveryCode.tenant_id == account.tenant_id,
                RecoveryCode.account_id == account.id,
            )
        )


def _refuse_last(settings: TenantSettings, account: Account, by: Remover | None = None) -> None:
    # Staff remove a lost factor after checking who asks: the next login then
    # sets up a new one where the tenant requires it.
    if by is not None:
        return
    if settings.second_factor == "required" and factor_count(account) <= 1:
        raise LastFactor


def _factor_changed(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    kind: str,
    factor: str,
    name: str | None,
    address: str | None,
    by: Remover | None = None,
) -> None:
    """The event and the owner's security email, in the caller's transaction:
    a factor they did not add (or remove) does not go unnoticed."""
    events.emit(
        tenant.id,
        kind,
        account=account,
        data={"factor": factor, "name": name},
        address=address,
        **({"actor": by.actor, "reason": by.reason} if by is not None else {}),
    )
    mail.queue(
        tenant,
        settings,
        kind.replace(".", "_"),
        account.email,
        account.language,
        account=account,
        factor=factor,
        name=name,
        security_link=email_link(settings, "factors.security"),
        secure_link=secure_link(settings, account),
        hours=SECURE_LINK_HOURS,
    )
