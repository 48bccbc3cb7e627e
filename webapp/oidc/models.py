"""The provider's rows: clients, codes, tokens, consents, subjects and signing
keys. Every row carries its tenant, and every look-up includes it: a client,
code or token of one utility is worthless at another. Secrets (client secrets,
codes, access and refresh tokens) are stored as their SHA-256 only: each is a
random value of some 250 bits or more (Authlib's 42 to 48 letters and digits, a
secret's 32 bytes), so a fast hash is enough and a database reader cannot use one."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, scope_to_list
from authlib.oidc.core import AuthorizationCodeMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Account, LoginSession, UTCDateTime, utcnow

# The scopes a client may ask for (discovery's scopes_supported).
SCOPES = ("openid", "profile", "email", "phone", "offline_access", "utility")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(ClientMixin, db.Model):
    """A utility's portal (or another application) that logs customers in
    through us. Public clients (a browser or mobile app) have no secret and
    must use PKCE; first-party clients (the utility's own portal) skip the
    consent page."""

    __tablename__ = "oidc_clients"
    __table_args__ = (UniqueConstraint("tenant_id", "client_id", name="uq_oidc_clients_tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The client's start page, for "back to ..." links (default: the origin of
    # its first redirect URI).
    client_uri: Mapped[str | None] = mapped_column(String(2000))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Authlib's ClientMixin

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only a client with a single redirect URI may leave it out (RFC 6749 3.1.2.3).
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(s for s in dict.fromkeys(scope_to_list(scope)) if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exactly as registered: no prefixes, no wildcards.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_digest is None or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self.secret_digest, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")

    @property
    def client_metadata(self) -> dict[str, Any]:
        # Read by Authlib's end-session endpoint.
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris or ())}

    @property
    def start_page(self) -> str:
        """Where "back to the portal" leads: its client_uri, or the origin of
        its first redirect URI."""
        if self.client_uri:
            return self.client_uri
        from urllib.parse import urlsplit

        parts = urlsplit(self.redirect_uris[0])
        return f"{parts.scheme}://{parts.netloc}/"


class AuthorizationCode(AuthorizationCodeMixin, db.Model):
    """A code handed to the client's redirect URI: single use, about a minute,
    bound to the client, the redirect URI, the PKCE challenge, and the login it
    came from (auth_time and amr for the ID token)."""

    __tablename__ = "oidc_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    login_id: Mapped[int | None] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="SET NULL")
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(300))
    nonce: Mapped[str | None] = mapped_column(String(300))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    amr: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship()
    account: Mapped[Account] = relationship()
    login: Mapped[LoginSession | None] = relationship()

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_amr(self) -> list[str] | None:
        return list(self.amr) or None


class OAuthToken(TokenMixin, db.Model):
    """An access token (minutes) and, with offline_access, its refresh token.
    A refresh replaces the row's refresh token by a new row of the same
    family; presenting a replaced refresh token again revokes the family."""

    __tablename__ = "oidc_tokens"
    __table_args__ = (Index("ix_oidc_tokens_family", "family"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("oidc_codes.id", ondelete="SET NULL"), index=True
    )
    family: Mapped[str] = mapped_column(String(32))
    access_digest: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the refresh token was exchanged for a new one.
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship()
    account: Mapped[Account] = relationship()

    def check_client(self, client) -> bool:
        return client is not None and client.id == self.client_pk

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_user(self) -> Account:
        return self.account

    def get_client(self) -> Client:
        return self.client


class Consent(db.Model):
    """What a customer allowed a (third-party) client to receive: asked once
    per client and scopes, listed and revocable under "Connected apps"."""

    __tablename__ = "oidc_consents"
    __table_args__ = (
        UniqueConstraint("account_id", "client_pk", name="uq_oidc_consents_account_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship()


class Subject(db.Model):
    """The `sub` of an account: a random value made once, stable, neither the
    email nor a database number, and different at every utility."""

    __tablename__ = "oidc_subjects"
    __table_args__ = (UniqueConstraint("tenant_id", "subject", name="uq_oidc_subjects_tenant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    subject: Mapped[str] = mapped_column(String(64))


class SigningKey(db.Model):
    """A tenant's ES256 key for ID tokens. The private key is stored encrypted
    with a key derived from SECRET_KEY (keys.py): the database alone cannot
    sign. A retired key signs nothing more but stays in the JWKS until what
    it signed has expired."""

    __tablename__ = "oidc_keys"
    __table_args__ = (Index("ix_oidc_keys_tenant", "tenant_id", "retired_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(10))
    private_key: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
