"""The budget of distinct functions: proposals of known functions a study avoided, and why a
study stopped before its samples were drawn (its space exhausted).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("afs_studies") as batch:
        batch.add_column(
            sa.Column("duplicates_avoided", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("afs_studies") as batch:
        batch.drop_column("stop_reason")
        batch.drop_column("duplicates_avoided")
