"""OpenID Connect provider: clients, codes, tokens, consents, subjects, signing keys

Revision ID: 0009
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _tenant():
    return sa.Column(
        "tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _account(unique=False):
    return sa.Column(
        "account_id",
        sa.Integer(),
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        unique=unique,
    )


def _client():
    return sa.Column(
        "client_pk",
        sa.Integer(),
        sa.ForeignKey("oidc_clients.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade():
    op.create_table(
        "oidc_clients",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_digest", sa.String(64), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("client_uri", sa.String(2000), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("tenant_id", "client_id", name="uq_oidc_clients_tenant_id"),
    )
    op.create_table(
        "oidc_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        _client(),
        _account(),
        sa.Column(
            "login_id",
            sa.Integer(),
            sa.ForeignKey("login_sessions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("nonce", sa.String(300), nullable=True),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(10), nullable=True),
        sa.Column("auth_time", TZ, nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
    )
    op.create_table(
        "oidc_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        _client(),
        _account(),
        sa.Column(
            "code_id",
            sa.Integer(),
            sa.ForeignKey("oidc_codes.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("access_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("refresh_digest", sa.String(64), nullable=True, unique=True),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("refresh_expires_at", TZ, nullable=True),
        sa.Column("refreshed_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_index("ix_oidc_tokens_family", "oidc_tokens", ["family"])
    op.create_index("ix_oidc_tokens_code_id", "oidc_tokens", ["code_id"])
    op.create_table(
        "oidc_consents",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        _account(),
        _client(),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("granted_at", TZ, nullable=False),
        sa.UniqueConstraint("account_id", "client_pk", name="uq_oidc_consents_account_client"),
    )
    op.create_table(
        "oidc_subjects",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        _account(unique=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.UniqueConstraint("tenant_id", "subject", name="uq_oidc_subjects_tenant"),
    )
    op.create_table(
        "oidc_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("kid", sa.String(64), nullable=False, unique=True),
        sa.Column("alg", sa.String(10), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("retired_at", TZ, nullable=True),
    )
    op.create_index("ix_oidc_keys_tenant", "oidc_keys", ["tenant_id", "retired_at"])


def downgrade():
    op.drop_index("ix_oidc_keys_tenant", table_name="oidc_keys")
    op.drop_table("oidc_keys")
    op.drop_table("oidc_subjects")
    op.drop_table("oidc_consents")
    op.drop_index("ix_oidc_tokens_code_id", table_name="oidc_tokens")
    op.drop_index("ix_oidc_tokens_family", table_name="oidc_tokens")
    op.drop_table("oidc_tokens")
    op.drop_table("oidc_codes")
    op.drop_table("oidc_clients")
