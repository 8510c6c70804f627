"""Sticky account-to-proxy binding.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("proxy_id", sa.Integer))
        batch.create_foreign_key("fk_accounts_proxy_id", "proxies", ["proxy_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_accounts_proxy_id", ["proxy_id"])


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_proxy_id")
        batch.drop_constraint("fk_accounts_proxy_id", type_="foreignkey")
        batch.drop_column("proxy_id")
