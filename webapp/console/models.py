"""The staff console's persistence: staff members (deployment-wide, not
customers of any utility), their role at each utility, their emailed
set-password links and their logins. Staff rows are never tenant-scoped
themselves: one person may work for several utilities, and an owner for all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Tenant, UTCDateTime, utcnow

# Each role can do what the roles before it can.
ROLES = ("viewer", "support", "admin")


class Staff(db.Model):
    """A member of a utility's (or the deployment's) staff. The password is an
    argon2 hash (webapp/security.py); the authenticator-app secret is sealed
    under SECRET_KEY (webapp/factors/secrets.py) and is mandatory: until it is
    confirmed, a login goes no further than setting it up. `removed_at` keeps
    the row (audit rows name "staff:<id>") while ending every login."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised as customer emails are (forms.normalize_email); unique across the deployment.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="lt")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(300))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest time step accepted: a code is taken once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", order_by="StaffRole.tenant_id"
    )

    @property
    def actor(self) -> str:
        """How events.emit names this person (events.ACTOR_RE)."""
        return f"staff:{self.id}"


class StaffRole(db.Model):
    """What one staff member may do at one utility: viewer (read only),
    support (customer actions) or admin (staff, webhooks, registry)."""

    __tablename__ = "staff_roles"
    __table_args__ = (
        UniqueConstraint("staff_id", "tenant_id", name="uq_staff_roles_staff_tenant"),
        Index("ix_staff_roles_tenant", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[Staff] = relationship(back_populates="roles")
    tenant: Mapped[Tenant] = relationship()


class StaffToken(db.Model):
    """An emailed set-password link of a staff member: only the SHA-256 of its
    secret is stored; single use (`used_at`), expiring."""

    __tablename__ = "staff_tokens"
    __table_args__ = (Index("ix_staff_tokens_staff", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship()


class StaffLogin(db.Model):
    """One completed console login (password and authenticator code) on one
    browser: the console cookie carries `public_id`; logout, removal and the
    idle and absolute time limits end it."""

    __tablename__ = "staff_logins"
    __table_args__ = (Index("ix_staff_logins_staff", "staff_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship()
