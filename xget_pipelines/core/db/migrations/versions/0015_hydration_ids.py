"""The tweet ids of hydration datasets, as HYDRATE tasks (``POST /v1/tasks``) hand them in: one row per
(dataset, tweet id), in the order given; the ``x_hydrate`` runs read them (``core/db/hydration.py``).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hydration_ids",
        sa.Column("dataset", sa.String(100), primary_key=True),
        sa.Column("tweet_id", sa.BigInteger, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("task_id", sa.String(36)),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hydration_ids_dataset_seq", "hydration_ids", ["dataset", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_hydration_ids_dataset_seq", "hydration_ids")
    op.drop_table("hydration_ids")
