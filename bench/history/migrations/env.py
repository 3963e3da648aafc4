"""Alembic's environment for the history's migrations: run on the connection bench.history.store hands in."""

from __future__ import annotations

from alembic import context

from bench.history.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` by hand: the URL from its -x url=... option
    from sqlalchemy import create_engine

    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///history.sqlite")
    with create_engine(url).begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        context.run_migrations()
else:
    # render_as_batch: SQLite alters a table by copying it; the same script works on PostgreSQL.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
