"""A study's confirmation: its runs on fresh seeds and its verdicts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# As the models define it then: JSON, JSONB on PostgreSQL.
JSONType = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _keys(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["afs_studies.id"],
            name=op.f(f"fk_{table}_study_id_afs_studies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["afs_trials.id"],
            name=op.f(f"fk_{table}_trial_id_afs_trials"),
            ondelete="SET NULL",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "afs_confirm_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("arm", sa.String(length=255), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("metric_value", sa.Float(), nullable=True),
        sa.Column("metrics", JSONType, nullable=True),
        sa.Column("diverged", sa.Boolean(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_keys("afs_confirm_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_afs_confirm_runs")),
        sa.UniqueConstraint(
            "study_id",
            "kind",
            "arm",
            "seed",
            name=op.f("uq_afs_confirm_runs_study_id_kind_arm_seed"),
        ),
    )
    op.create_table(
        "afs_confirm_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("arm", sa.String(length=255), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=True),
        sa.Column("std", sa.Float(), nullable=True),
        sa.Column("baseline", sa.String(length=255), nullable=True),
        sa.Column("delta", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("t", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("p_holm", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("options", JSONType, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_keys("afs_confirm_verdicts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_afs_confirm_verdicts")),
        sa.UniqueConstraint(
            "study_id", "kind", "arm", name=op.f("uq_afs_confirm_verdicts_study_id_kind_arm")
        ),
    )


def downgrade() -> None:
    op.drop_table("afs_confirm_verdicts")
    op.drop_table("afs_confirm_runs")
