"""pending registrations: a confirmation link carries the registration it confirms

Revision ID: 0003_pending_registrations
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_pending_registrations"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("registration", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("submission", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("submission")
        batch.drop_column("registration")
