"""staff console: staff, roles per tenant, set-password links, logins; mail of no tenant

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _staff():
    return sa.Column(
        "staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False
    )


def upgrade():
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("totp_secret", sa.String(300), nullable=True),
        sa.Column("totp_confirmed_at", TZ, nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("is_owner", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("invited_at", TZ, nullable=True),
        sa.Column("password_set_at", TZ, nullable=True),
        sa.Column("last_login_at", TZ, nullable=True),
        sa.Column("removed_at", TZ, nullable=True),
    )
    op.create_table(
        "staff_roles",
        sa.Column("id", sa.Integer(), primary_key=True),
        _staff(),
        sa.Column(
            "tenant_id",
            sa.Integer(),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("staff_id", "tenant_id", name="uq_staff_roles_staff_tenant"),
    )
    op.create_index("ix_staff_roles_tenant", "staff_roles", ["tenant_id"])
    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        _staff(),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
    )
    op.create_index("ix_staff_tokens_staff", "staff_tokens", ["staff_id"])
    op.create_table(
        "staff_logins",
        sa.Column("id", sa.Integer(), primary_key=True),
        _staff(),
        sa.Column("public_id", sa.String(64), nullable=False, unique=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.Column("authenticated_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("ended_at", TZ, nullable=True),
    )
    op.create_index("ix_staff_logins_staff", "staff_logins", ["staff_id", "ended_at"])
    # A staff invitation belongs to no utility.
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("tenant_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    op.execute("DELETE FROM outbox WHERE tenant_id IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("tenant_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_staff_logins_staff", table_name="staff_logins")
    op.drop_table("staff_logins")
    op.drop_index("ix_staff_tokens_staff", table_name="staff_tokens")
    op.drop_table("staff_tokens")
    op.drop_index("ix_staff_roles_tenant", table_name="staff_roles")
    op.drop_table("staff_roles")
    op.drop_table("staff")
