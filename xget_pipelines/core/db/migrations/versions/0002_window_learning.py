"""Learned rate-limit window length and the start of the current window, per account and operation.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_operations") as batch:
        batch.add_column(sa.Column("window_s", sa.Float))
        batch.add_column(sa.Column("window_started_at", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("account_operations") as batch:
        batch.drop_column("window_started_at")
        batch.drop_column("window_s")
