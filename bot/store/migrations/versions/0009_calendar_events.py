"""upcoming events ambassadors post (site visits, workshops, demonstration projects)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendar_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ),
        sa.Column("all_day", sa.Boolean, nullable=False),
        sa.Column("visible_until", TZ, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("place", sa.String(120)),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("url", sa.String(500)),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("posted_by", sa.String(80), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_calendar_events_visible_until", "calendar_events", ["visible_until"])
    op.create_index("ix_calendar_events_country", "calendar_events", ["country"])


def downgrade() -> None:
    op.drop_index("ix_calendar_events_country", table_name="calendar_events")
    op.drop_index("ix_calendar_events_visible_until", table_name="calendar_events")
    op.drop_table("calendar_events")
