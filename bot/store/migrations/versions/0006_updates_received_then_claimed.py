"""updates are kept from the moment they arrive; the answer sent for one is noted

A fetched (or webhook-delivered) update is stored before Telegram is told it arrived, unclaimed;
a handler claims it when it runs. The id of the answer sent for it lets a replay after a crash
skip what the user already has; the replica that received it replays it at once after its own
restart, the others only once nobody has touched it for a while.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reply_message_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("owner", sa.String(64), nullable=True))
    # Rows from before were written when their handler started: they were claimed then.
    op.execute(sa.text("UPDATE processed_updates SET claimed_at = processed_at"))


def downgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_column("owner")
        batch.drop_column("reply_message_id")
        batch.drop_column("claimed_at")
