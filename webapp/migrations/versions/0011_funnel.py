"""funnel: daily counts of the registration steps; the channel of an account's registration

Revision ID: 0011
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "funnel_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "tenant_id", "day", "channel", "language", "step", "field", name="uq_funnel_days_key"
        ),
    )
    # Plain ALTER TABLE (SQLite 3.35+ drops a column too), never batch mode's
    # copy of the table: with foreign keys on, SQLite's DROP TABLE of the old
    # accounts table would cascade to every row that refers to an account.
    op.add_column("accounts", sa.Column("funnel_channel", sa.String(length=10), nullable=True))


def downgrade():
    op.drop_column("accounts", "funnel_channel")
    op.drop_table("funnel_days")
