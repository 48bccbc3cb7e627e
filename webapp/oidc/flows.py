"""Consents and the connected-apps list. Flows take the tenant and account
they work for and commit."""

from __future__ import annotations

from sqlalchemy import select, update

from .. import events
from ..extensions import db
from ..models import Account, Tenant, utcnow
from .models import Client, Consent, OAuthToken


def has_consent(account: Account, client: Client, scope: str) -> bool:
    """Whether the account has already allowed `client` every scope of `scope`."""
    consent = _consent(account, client)
    return consent is not None and set(scope.split()) <= set(consent.scopes)


def _consent(account: Account, client: Client) -> Consent | None:
    return db.session.scalar(
        select(Consent).where(
            Consent.tenant_id == account.tenant_id,
            Consent.account_id == account.id,
            Consent.client_pk == client.id,
        )
    )


def grant_consent(tenant: Tenant, account: Account, client: Client, scope: str) -> None:
    """Remember that the account allows `client` these scopes (added to what
    it allowed before)."""
    consent = _consent(account, client)
    if consent is None:
        consent = Consent(
            tenant_id=tenant.id, account_id=account.id, client_pk=client.id, scopes=[]
        )
        db.session.add(consent)
    consent.scopes = sorted(set(consent.scopes) | set(scope.split()))
    consent.granted_at = utcnow()
    events.emit(
        tenant.id,
        "oidc.consent_granted",
        account=account,
        data={"client_id": client.client_id, "scopes": consent.scopes},
    )
    db.session.commit()


def connected_apps(tenant: Tenant, account: Account) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent)
            .where(Consent.tenant_id == tenant.id, Consent.account_id == account.id)
            .order_by(Consent.granted_at.desc())
        )
    )


def revoke_consent(tenant: Tenant, account: Account, consent_id: int) -> bool:
    """Forget a consent and revoke every token the client holds for the
    account. False when the account has no such consent."""
    consent = db.session.scalar(
        select(Consent).where(
            Consent.id == consent_id,
            Consent.tenant_id == tenant.id,
            Consent.account_id == account.id,
        )
    )
    if consent is None:
        return False
    client_id = consent.client.client_id
    db.session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.tenant_id == tenant.id,
            OAuthToken.account_id == account.id,
            OAuthToken.client_pk == consent.client_pk,
            OAuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    db.session.delete(consent)
    events.emit(tenant.id, "oidc.consent_revoked", account=account, data={"client_id": client_id})
    db.session.commit()
    return True


def revoke_tokens_of(account: Account) -> None:
    """Every access and refresh token the account's applications hold stops
    working (its sessions were ended: a password reset, "log out everywhere");
    the consents stay, so the next login through the application asks nothing."""
    db.session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.tenant_id == account.tenant_id,
            OAuthToken.account_id == account.id,
            OAuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
