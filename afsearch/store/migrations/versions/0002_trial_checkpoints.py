"""Trial checkpoints: where a trial's latest training state lies, and after which epoch.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("afs_trials") as batch:
        batch.add_column(sa.Column("checkpoint", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("checkpoint_epoch", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("afs_trials") as batch:
        batch.drop_column("checkpoint_epoch")
        batch.drop_column("checkpoint")
