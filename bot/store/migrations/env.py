"""Alembic environment: uses the connection handed over by bot.store.db.upgrade (or, offline, the URL)."""

from alembic import context
from sqlalchemy import Connection

from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
elif context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:  # migrations run in-process on the store's own async connection (bot/store/db.py upgrade)
    raise SystemExit("run migrations through the advisor (any command that opens the store), not the alembic CLI")
