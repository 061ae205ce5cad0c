"""Every objective's value of a trial of a multi-objective study, in the order of the study's
``objectives`` (Optuna's ``values``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# As the models define it then: JSON, JSONB on PostgreSQL.
JSONType = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("afs_trials") as batch:
        batch.add_column(sa.Column("objective_values", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("afs_trials") as batch:
        batch.drop_column("objective_values")
