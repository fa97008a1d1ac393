"""audit_log.entity_id holds conversation ids, which are up to 128 characters.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column(
            "entity_id", existing_type=sa.String(length=64), type_=sa.String(length=128)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column(
            "entity_id", existing_type=sa.String(length=128), type_=sa.String(length=64)
        )
