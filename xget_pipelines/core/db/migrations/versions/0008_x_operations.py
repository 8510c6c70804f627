"""X's GraphQL operations as last found in its web bundles: query id, feature switches, where and when.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "x_operations",
        sa.Column("operation", sa.String(64), primary_key=True),
        sa.Column("query_id", sa.String(64), nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("field_toggles", sa.JSON, nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("found_at", _TS, nullable=False),
        sa.Column("checked_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("x_operations")
