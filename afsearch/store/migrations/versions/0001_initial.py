"""Initial afsearch schema: studies, activations, trials and per-epoch metrics.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when the models do.
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
STUDY_STATUSES = ("running", "completed", "interrupted", "failed")
TRIAL_STATUSES = (
    "running",
    "completed",
    "pruned",
    "failed",
    "diverged",
    "duplicate",
    "interrupted",
)


def _status_check(table: str, enum_name: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"status IN ({allowed})", name=op.f(f"ck_{table}_{enum_name}"))


def upgrade() -> None:
    op.create_table(
        "afs_activations",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("srepr", sa.Text(), nullable=False),
        sa.Column("latex", sa.Text(), nullable=False),
        sa.Column("family", sa.String(length=255), nullable=False),
        sa.Column("params", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_afs_activations")),
    )
    op.create_table(
        "afs_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("space", JSON, nullable=True),
        sa.Column("space_path", sa.Text(), nullable=True),
        sa.Column("task", sa.String(length=255), nullable=False),
        sa.Column("task_settings", JSON, nullable=True),
        sa.Column("metric", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=3), nullable=False),
        sa.Column("sampler", sa.String(length=255), nullable=False),
        sa.Column("scheduler", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("optuna_study_name", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("num_samples", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_afs_studies")),
        sa.UniqueConstraint("name", name=op.f("uq_afs_studies_name")),
        _status_check("afs_studies", "afs_study_status", STUDY_STATUSES),
    )
    op.create_table(
        "afs_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("tune_trial_id", sa.String(length=255), nullable=True),
        sa.Column("activation_id", sa.String(length=128), nullable=True),
        sa.Column("config", JSON, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metric_value", sa.Float(), nullable=True),
        sa.Column("best_epoch", sa.Integer(), nullable=True),
        sa.Column("learned_params", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("node", sa.String(length=255), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["afs_activations.id"],
            name=op.f("fk_afs_trials_activation_id_afs_activations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["afs_trials.id"],
            name=op.f("fk_afs_trials_duplicate_of_afs_trials"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["afs_studies.id"],
            name=op.f("fk_afs_trials_study_id_afs_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_afs_trials")),
        sa.UniqueConstraint("study_id", "number", name=op.f("uq_afs_trials_study_id_number")),
        sa.UniqueConstraint(
            "study_id", "tune_trial_id", name=op.f("uq_afs_trials_study_id_tune_trial_id")
        ),
        _status_check("afs_trials", "afs_trial_status", TRIAL_STATUSES),
    )
    op.create_index(op.f("ix_afs_trials_dedup_key"), "afs_trials", ["dedup_key"])
    op.create_index(
        "ix_afs_trials_study_status_metric",
        "afs_trials",
        ["study_id", "status", "metric_value"],
    )
    op.create_table(
        "afs_trial_epochs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("metric_value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["afs_trials.id"],
            name=op.f("fk_afs_trial_epochs_trial_id_afs_trials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_afs_trial_epochs")),
        sa.UniqueConstraint("trial_id", "epoch", name=op.f("uq_afs_trial_epochs_trial_id_epoch")),
    )


def downgrade() -> None:
    op.drop_table("afs_trial_epochs")
    op.drop_index("ix_afs_trials_study_status_metric", table_name="afs_trials")
    op.drop_index(op.f("ix_afs_trials_dedup_key"), table_name="afs_trials")
    op.drop_table("afs_trials")
    op.drop_table("afs_studies")
    op.drop_table("afs_activations")
