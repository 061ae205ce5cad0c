"""What a study's prescreen did: its pool, and the candidates it filtered with their reasons.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# As the models define it then: JSON, JSONB on PostgreSQL.
JSONType = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("afs_studies") as batch:
        batch.add_column(sa.Column("prescreen", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("afs_studies") as batch:
        batch.drop_column("prescreen")
