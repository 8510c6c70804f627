"""A watchlist key carries its collection parameters (budget, product), as JSON: ``watchlist.params``.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watchlist") as batch:
        batch.add_column(sa.Column("params", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watchlist") as batch:
        batch.drop_column("params")
