"""The history's first schema: runs, units, each unit's part of a run, tests, steps, measurements.

Revision ID: 0001
Revises:
Create Date: 2026-12-07 08:48:10.105757
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("bench", sa.String(length=100), nullable=True),
        sa.Column("revision", sa.String(length=100), nullable=True),
        sa.Column("tool_version", sa.String(length=50), nullable=True),
        sa.Column("inventory_sha256", sa.String(length=64), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("started", sa.Float(), nullable=False),
        sa.Column("ended", sa.Float(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("interrupted", sa.String(length=100), nullable=True),
        sa.Column("folder", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_runs_started"), ["started"], unique=False)

    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("oui", sa.String(length=20), nullable=False),
        sa.Column("product_class", sa.String(length=100), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("oui", "product_class", "serial"),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_product_class"), ["product_class"], unique=False)

    op.create_table(
        "unit_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("hardware_version", sa.String(length=100), nullable=True),
        sa.Column("software_version", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unit_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_runs_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_runs_software_version"), ["software_version"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_runs_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["unit_run_id"], ["unit_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measurements_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_measurements_unit_run_id"), ["unit_run_id"], unique=False)

    op.create_table(
        "tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_run_id", sa.Integer(), nullable=False),
        sa.Column("test", sa.String(length=300), nullable=False),
        sa.Column("clause", sa.String(length=30), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error_kind", sa.String(length=100), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["unit_run_id"], ["unit_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tests_unit_run_id"), ["unit_run_id"], unique=False)

    op.create_table(
        "steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("unit_run_id", sa.Integer(), nullable=False),
        sa.Column("clause", sa.String(length=30), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error_kind", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["test_id"], ["tests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_run_id"], ["unit_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index("ix_steps_clause_step", ["clause", "step"], unique=False)
        batch_op.create_index(batch_op.f("ix_steps_test_id"), ["test_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_steps_unit_run_id"), ["unit_run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_unit_run_id"))
        batch_op.drop_index(batch_op.f("ix_steps_test_id"))
        batch_op.drop_index("ix_steps_clause_step")

    op.drop_table("steps")
    with op.batch_alter_table("tests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tests_unit_run_id"))

    op.drop_table("tests")
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measurements_unit_run_id"))
        batch_op.drop_index(batch_op.f("ix_measurements_name"))

    op.drop_table("measurements")
    with op.batch_alter_table("unit_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_runs_unit_id"))
        batch_op.drop_index(batch_op.f("ix_unit_runs_software_version"))
        batch_op.drop_index(batch_op.f("ix_unit_runs_run_id"))

    op.drop_table("unit_runs")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_product_class"))

    op.drop_table("units")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_started"))
        batch_op.drop_index(batch_op.f("ix_runs_run_id"))

    op.drop_table("runs")
