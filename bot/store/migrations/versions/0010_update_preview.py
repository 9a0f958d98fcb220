"""the progress message an answer is being written into is noted with its update

A long answer shows its progress in one message, edited as it is written. A process stopped
mid-answer leaves that message half-written; handled again, the answer is finished in it
instead of arriving as a second message below.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.add_column(sa.Column("preview_message_id", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_column("preview_message_id")
