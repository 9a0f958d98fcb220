"""escalations, their events, relayed messages and FAQ drafts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("dossier", sa.JSON, nullable=False),
        sa.Column("ambassador_id", sa.String(64)),
        sa.Column("notified", sa.JSON, nullable=False),
        sa.Column("notify_level", sa.Integer, nullable=False),
        sa.Column("forum_chat_id", sa.BigInteger),
        sa.Column("forum_topic_id", sa.BigInteger),
        sa.Column("card_message_id", sa.BigInteger),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("notified_at", TZ),
        sa.Column("claimed_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("rating", sa.Integer),
        sa.Column("rating_comment", sa.Text),
    )
    op.create_index("ix_escalations_user_id", "escalations", ["user_id"])
    op.create_index("ix_escalations_status", "escalations", ["status"])
    op.create_index("ix_escalations_ambassador_id", "escalations", ["ambassador_id"])
    op.create_table(
        "escalation_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("escalation_id", sa.Integer, sa.ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_escalation_events_escalation_id", "escalation_events", ["escalation_id"])
    op.create_table(
        "relays",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("escalation_id", sa.Integer, sa.ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("source_chat_id", sa.BigInteger, nullable=False),
        sa.Column("source_message_id", sa.BigInteger, nullable=False),
        sa.Column("target_chat_id", sa.BigInteger, nullable=False),
        sa.Column("target_message_id", sa.BigInteger),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("source_chat_id", "source_message_id", name="uq_relays_source"),
    )
    op.create_index("ix_relays_escalation_id", "relays", ["escalation_id"])
    op.create_index("ix_relays_target_message_id", "relays", ["target_message_id"])
    op.create_table(
        "faq_drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("escalation_id", sa.Integer, sa.ForeignKey("escalations.id", ondelete="SET NULL")),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("reviewer", sa.String(80)),
        sa.Column("faq_id", sa.String(80)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("reviewed_at", TZ),
    )
    op.create_index("ix_faq_drafts_user_id", "faq_drafts", ["user_id"])


def downgrade() -> None:
    op.drop_table("faq_drafts")
    op.drop_table("relays")
    op.drop_table("escalation_events")
    op.drop_table("escalations")
