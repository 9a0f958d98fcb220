"""thread ids are never reused (SQLite AUTOINCREMENT)

An ambassador's old "#1" buttons and /claim 1 must never act on another SME's thread. SQLite
reuses the highest rowid after it is deleted unless the key is AUTOINCREMENT; PostgreSQL
sequences never go back, so only SQLite needs the table rebuilt. The rebuild drops the old table,
and with foreign keys on (they cannot be turned off inside the migration's transaction) that
deletes the rows that point at it: they are copied aside first and put back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

# Tables whose rows point at escalations: ON DELETE CASCADE or SET NULL would act on the rebuild.
DEPENDENTS = ("escalation_events", "relays", "faq_drafts")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in DEPENDENTS:
        op.execute(sa.text(f"CREATE TEMP TABLE _keep_{table} AS SELECT * FROM {table}"))
    with op.batch_alter_table("escalations", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass
    for table in DEPENDENTS:
        op.execute(sa.text(f"DELETE FROM {table}"))
        op.execute(sa.text(f"INSERT INTO {table} SELECT * FROM _keep_{table}"))
        op.execute(sa.text(f"DROP TABLE _keep_{table}"))


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
