"""Alembic env for the benchmark: online mode only, URL from -x db=PATH."""
from alembic import context
from sqlalchemy import create_engine

x = context.get_x_argument(as_dictionary=True)
engine = create_engine(f"sqlite:///{x['db']}", echo=x.get("echo") == "1")

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
