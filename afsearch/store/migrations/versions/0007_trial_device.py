"""The device each trial trained on ("cpu", or "cuda:0 (<GPU name>, Ray GPU <id>)").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("afs_trials") as batch:
        batch.add_column(sa.Column("device", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("afs_trials") as batch:
        batch.drop_column("device")
