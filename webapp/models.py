"""Persistence. Every row that belongs to a utility carries its tenant, and every
unique constraint includes it: the same email may hold accounts at two utilities."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Tenant(db.Model):
    """A utility. Its settings (fields, rules, texts, brand) live in `settings`,
    loaded from the tenants data file and read through `tenants.TenantSettings`."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Account(UserMixin, db.Model):
    """A customer's login at one utility."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email", name="uq_accounts_tenant_email"),
        UniqueConstraint("tenant_id", "webauthn_handle", name="uq_accounts_webauthn_handle"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    company_code: Mapped[str | None] = mapped_column(String(9))
    is_customer: Mapped[bool | None] = mapped_column(Boolean)
    contract_number: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    invoices_by_email: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    terms_version: Mapped[str | None] = mapped_column(String(40))
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terms_language: Mapped[str | None] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8), default="lt")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "embedded" or "direct": the form the registration that made the account
    # was filled in, so the funnel (webapp/funnel) counts its confirmation and
    # first login there too; emptied when that first login is counted.
    funnel_channel: Mapped[str | None] = mapped_column(String(10))
    # Bumped on logout and password change: every session that carries an older
    # value stops working, on every instance, without a server-side session store.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The WebAuthn user handle: random (base64url of 32 bytes), made with the
    # first passkey; never the email, so an authenticator holds nothing personal.
    webauthn_handle: Mapped[str | None] = mapped_column(String(64))
    # The person asked to delete the account: it is purged at this time unless
    # they cancel first (webapp/privacy/deletion.py). `deleted_at`: purged; the
    # row stays, without personal data, so the audit rows keep their reference.
    deletion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by staff (webapp/console/actions.py): a blocked account cannot log in
    # (it is told what a wrong password is told) until it is unblocked.
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_id(self) -> str:
        return f"{self.tenant_id}:{self.id}:{self.session_epoch}"


class Contract(db.Model):
    """A utility's contract registry, imported from its CSV export."""

    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "contract_number", name="uq_contracts_tenant_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    contract_number: Mapped[str] = mapped_column(String(40))
    company_code: Mapped[str] = mapped_column(String(9))
    status: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContractUpload(db.Model):
    """A registry file a staff member uploaded and previewed, kept until it is
    applied (or replaced by the next upload), so that "apply" writes exactly
    the file the preview was made from, on whichever instance answers."""

    __tablename__ = "contract_uploads"
    __table_args__ = (Index("ix_contract_uploads_tenant", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    full_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[bytes] = mapped_column(db.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContractImport(db.Model):
    """The registry's import history: who applied which file (its SHA-256),
    when, and what it did. Written in the import's own transaction."""

    __tablename__ = "contract_imports"
    __table_args__ = (Index("ix_contract_imports_tenant", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # "staff:<id>" (or "system" for the CLI), as on audit rows.
    actor: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    full_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    ended: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Token(db.Model):
    """A single-use emailed link. Only the SHA-256 of the secret is stored, so a
    database reader cannot use a link; `used_at` makes it single use.

    A confirmation link made by a registration of an address whose account is
    still unconfirmed carries that registration (`registration`: the account's
    columns as it would set them, the password only as its argon2 hash). Using
    the link writes them onto the account; until then the account keeps the data
    of its first registration. `submission` names the form post that made the
    link, so the same post arriving twice sends one email."""

    __tablename__ = "tokens"
    __table_args__ = (Index("ix_tokens_account_purpose", "account_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    submission: Mapped[str | None] = mapped_column(String(64))

    account: Mapped[Account] = relationship()


class OutboxMessage(db.Model):
    """An email, written in the same transaction as the change that causes it and
    delivered after commit (or shown on the development mailbox page)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for mail of no utility's: a staff console invitation (webapp/console).
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    tenant: Mapped[Tenant | None] = relationship()


class AuditEvent(db.Model):
    """Something a security reviewer may ask about later. See audit.py."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_tenant_time", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    event: Mapped[str] = mapped_column(String(40))
    network: Mapped[str | None] = mapped_column(String(50))
    email_digest: Mapped[str | None] = mapped_column(String(32))
    # Who acted: "customer", "staff:<id>" or "system" (see events.emit).
    actor: Mapped[str | None] = mapped_column(String(60))
    # The request that caused it (logs.py's id, also for work done after the answer).
    request_id: Mapped[str | None] = mapped_column(String(128))
    # Why a staff member did it, in their words (console actions).
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship()
    account: Mapped[Account | None] = relationship()


class Job(db.Model):
    """Work promised by an answer (see jobs.py): written and committed before the
    answer, run right after it or by the worker, marked done in the transaction
    that does the work. The payload holds no password and no link secret."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "done_at", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    # The flow's arguments as JSON; wiped when the job is done or given up.
    payload: Mapped[Any | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(db.Model):
    """A utility's receiver of signed webhooks (see webhooks.py). The secret,
    the Standard Webhooks `whsec_...` key, is stored sealed (webapp/sealing.py,
    purpose "webhook", bound to the endpoint's id): a database reader without
    SECRET_KEY cannot sign messages the receiver would accept. It never goes
    into tenants.toml or the logs; webhooks.endpoint_secret opens it."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    # The event types it receives: a list of names, or ["*"] for all.
    event_types: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship()

    def receives(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class WebhookDelivery(db.Model):
    """One event for one endpoint: written in the transaction of the event,
    sent by the worker, retried with backoff under the same webhook id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "delivered_at", "failed_at", "next_attempt_at"),
        Index("ix_webhook_deliveries_tenant", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    # The webhook-id header: the same on every attempt, so a receiver can
    # drop a message it already has.
    webhook_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    # The exact JSON body that is signed and sent.
    payload: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship()


class LoginSession(db.Model):
    """One login of an account on one browser: what "Sessions and devices"
    lists, what a logout ends, and where OpenID Connect reads `auth_time` and
    `amr`. The cookie carries `public_id` (signed); ending a login sets
    `ended_at`, and the loader refuses a cookie whose login has ended. Holds no
    address, only the browser's own description of itself."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_account", "account_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    # RFC 8176 method references of the whole login ("pwd", later "otp", "hwk" ...).
    amr: Mapped[list[str]] = mapped_column(JSON)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # When the login was completed (OpenID Connect's auth_time), when a
    # password or passkey was last asked for again (step-up), when last seen.
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reauthenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()

    @property
    def verified_at(self) -> datetime:
        """The last time the person proved who they are in this login."""
        return max(self.authenticated_at, self.reauthenticated_at or self.authenticated_at)


class Passkey(db.Model):
    """A WebAuthn credential of an account (webapp/factors). The public key and
    the authenticator's sign count, nothing secret."""

    __tablename__ = "passkeys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "credential_id", name="uq_passkeys_tenant_credential"),
        Index("ix_passkeys_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # base64url, as the browser names it.
    credential_id: Mapped[str] = mapped_column(String(1400))
    public_key: Mapped[bytes] = mapped_column(db.LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class TotpFactor(db.Model):
    """An authenticator app (RFC 6238). The secret is sealed under a key
    derived from SECRET_KEY (webapp/sealing.py, bound to the account); `last_step` is the
    newest time step accepted, so a code is accepted once. Unconfirmed until
    the person has typed one code from it."""

    __tablename__ = "totp_factors"
    __table_args__ = (Index("ix_totp_factors_account", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    secret: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(db.BigInteger)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class RecoveryCode(db.Model):
    """A single-use recovery code: only its SHA-256 is kept (a code carries
    60 random bits, so a digest cannot be guessed back)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id", "digest", name="uq_recovery_codes_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FunnelDay(db.Model):
    """How many times one step of the registration funnel happened at a
    utility on one UTC day, per channel and language (see webapp/funnel): a
    count, never a person. `field` names the form field of a field_error row
    and is "" on the other steps (not NULL: NULLs never collide in a unique
    key, so the upsert would add a row each time)."""

    __tablename__ = "funnel_days"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "day", "channel", "language", "step", "field", name="uq_funnel_days_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(8))
    step: Mapped[str] = mapped_column(String(20))
    field: Mapped[str] = mapped_column(String(40), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
