"""console actions: the staff member's reason on audit rows, blocked accounts,
the contract registry's uploads and import history

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _tenant():
    return sa.Column(
        "tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def upgrade():
    with op.batch_alter_table("audit_events") as table:
        table.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("accounts") as table:
        table.add_column(sa.Column("blocked_at", TZ, nullable=True))
    op.create_table(
        "contract_uploads",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("full_sync", sa.Boolean(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_contract_uploads_tenant", "contract_uploads", ["tenant_id", "created_at"])
    op.create_table(
        "contract_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("full_sync", sa.Boolean(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("ended", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_contract_imports_tenant", "contract_imports", ["tenant_id", "created_at"])


def downgrade():
    op.drop_index("ix_contract_imports_tenant", table_name="contract_imports")
    op.drop_table("contract_imports")
    op.drop_index("ix_contract_uploads_tenant", table_name="contract_uploads")
    op.drop_table("contract_uploads")
    with op.batch_alter_table("accounts") as table:
        table.drop_column("blocked_at")
    with op.batch_alter_table("audit_events") as table:
        table.drop_column("reason")
