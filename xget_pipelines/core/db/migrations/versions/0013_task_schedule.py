"""Scrape tasks recur and have a priority: ``tasks.priority`` (Dagster's run priority), ``tasks.schedule``
(a cron expression, UTC) and ``tasks.next_at`` (when a recurring task starts its next attempt).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("priority", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("schedule", sa.String(100), nullable=True))
        batch.add_column(sa.Column("next_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("next_at")
        batch.drop_column("schedule")
        batch.drop_column("priority")
