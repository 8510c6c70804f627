"""Account quarantine (soft bans) and per-operation error counts for health-weighted rotation.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("quarantined_until", sa.Float))
        batch.add_column(sa.Column("quarantines", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("account_operations") as batch:
        batch.add_column(sa.Column("soft_bans", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("errors", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("account_operations") as batch:
        batch.drop_column("errors")
        batch.drop_column("soft_bans")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("quarantines")
        batch.drop_column("quarantined_until")
