"""v2 -> v3: UNIQUE(vm_id) -> UNIQUE(network, vm_id); vm_events gains network and a
composite foreign key. Batch mode, recreate="always", as an Alembic user writes it.

Revision ID: 0002
Revises: 0001

Batch mode reflects a table, CREATEs _alembic_tmp_<table>, INSERT ... SELECTs the
common columns, DROPs the old table, RENAMEs and re-creates the reflected indexes.
It cannot fill a new column from another table during its copy, so vm_events.network
is added first (ALTER TABLE ADD COLUMN) and filled by an UPDATE with a correlated
subquery. It knows nothing of triggers (lost with DROP TABLE) and views (the RENAME
fails on SQLite >= 3.26 while a view names the dropped table): unless -x naive=1, the
view is dropped and re-created and the trigger re-created by hand.
"""
import sqlalchemy as sa
from alembic import context, op
from sqlalchemy import text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# v2's UNIQUE on vms.vm_id and the FK vm_events.vm_id -> vms(vm_id) are unnamed;
# a naming convention makes them addressable so they can be dropped.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade():
    naive = context.get_x_argument(as_dictionary=True).get("naive") == "1"
    bind = op.get_bind()
    saved = []
    if not naive:
        saved = bind.execute(text(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'view') AND sql IS NOT NULL "
            "AND (tbl_name IN ('vms', 'vm_events') OR (type = 'view' AND (sql LIKE '%vms%' OR sql LIKE '%vm_events%')))"
        )).fetchall()
        for type_, name, _ in saved:
            if type_ == "view":
                op.execute(f'DROP VIEW "{name}"')

    # vm_events: network from its VM (vm_id is still globally unique here).
    op.add_column("vm_events", sa.Column("network", sa.Text()))
    op.execute("UPDATE vm_events SET network = (SELECT v.network FROM vms AS v WHERE v.vm_id = vm_events.vm_id)")
    with op.batch_alter_table("vm_events", recreate="always", naming_convention=NAMING) as batch:
        batch.alter_column("network", existing_type=sa.Text(), nullable=False)
        batch.drop_constraint("fk_vm_events_vm_id_vms", type_="foreignkey")
        batch.create_foreign_key("fk_vm_events_network_vms", "vms", ["network", "vm_id"], ["network", "vm_id"],
                                 ondelete="CASCADE", onupdate="CASCADE")
        batch.drop_index("vm_events_vm")
        batch.create_index("vm_events_vm", ["network", "vm_id"])

    with op.batch_alter_table("vms", recreate="always", naming_convention=NAMING) as batch:
        batch.alter_column("network", existing_type=sa.Text(), nullable=False)
        batch.add_column(sa.Column("origin", sa.Text(), nullable=False, server_default="provision"))
        batch.create_check_constraint("ck_vms_network", "network <> ''")
        batch.drop_constraint("uq_vms_vm_id", type_="unique")
        batch.create_unique_constraint("uq_vms_network_vm_id", ["network", "vm_id"])

    op.create_table(
        "vm_repairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("network", sa.Text, nullable=False),
        sa.Column("vm_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("entry", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
    )
    op.create_index("vm_repairs_vm", "vm_repairs", ["network", "vm_id"])
    for _, _, sql in saved:  # the trigger went with the old table; the view was dropped above
        op.execute(sql)
    op.execute("ANALYZE vms")
    op.execute("ANALYZE vm_events")


def downgrade():
    raise NotImplementedError
