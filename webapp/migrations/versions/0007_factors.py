"""second factors: passkeys, authenticator apps, recovery codes; the WebAuthn user handle

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _owned(name, *columns, constraints=()):
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        *columns,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        *constraints,
    )


def upgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("webauthn_handle", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(
            "uq_accounts_webauthn_handle", ["tenant_id", "webauthn_handle"]
        )
    _owned(
        "passkeys",
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        constraints=[
            sa.UniqueConstraint(
                "tenant_id", "credential_id", name="uq_passkeys_tenant_credential"
            )
        ],
    )
    op.create_index("ix_passkeys_account", "passkeys", ["account_id"])
    _owned(
        "totp_factors",
        sa.Column("secret", sa.String(length=300), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_totp_factors_account", "totp_factors", ["account_id"])
    _owned(
        "recovery_codes",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        constraints=[
            sa.UniqueConstraint(
                "tenant_id", "account_id", "digest", name="uq_recovery_codes_digest"
            )
        ],
    )


def downgrade():
    op.drop_table("recovery_codes")
    op.drop_index("ix_totp_factors_account", table_name="totp_factors")
    op.drop_table("totp_factors")
    op.drop_index("ix_passkeys_account", table_name="passkeys")
    op.drop_table("passkeys")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("uq_accounts_webauthn_handle", type_="unique")
        batch.drop_column("webauthn_handle")
