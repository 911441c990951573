#!/usr/bin/env python3
"""v2 -> v3 with sqlite-utils' transform machinery (adapted from ../shared/peers).

usage: migrate_sqlite_utils.py DB [--mode edited|api]

sqlite-utils has no parameter to drop or add a UNIQUE constraint or to add a CHECK:
transform() re-parses the table and carries every existing UNIQUE (so v2's global
UNIQUE(vm_id) survives) and CHECK. It recreates the table's indexes, keeps views
(it renames with legacy_alter_table=ON), but does not recreate triggers.

Modes:
  api     only the library's API, as a user would first write it: add_column,
          an UPDATE to fill vm_events.network, transform(not_null, drop/add foreign
          keys), create_index(unique). NOT a valid migration (see the verify output).
  edited  transform_sql(), its CREATE TABLE edited (drop the column UNIQUE on vm_id,
          add CHECK (network <> '') and UNIQUE (network, vm_id)), every statement run
          in one db.atomic() with foreign keys off, the captured triggers re-created.
          Same rules as the floor.
"""
import argparse
import re
import sys

import sqlite_utils
from sqlite_utils.db import ForeignKey

FK = ForeignKey("vm_events", None, "vms", None, columns=("network", "vm_id"), other_columns=("network", "vm_id"),
                is_compound=True, on_delete="CASCADE", on_update="CASCADE")
FILL = "UPDATE vm_events SET network = (SELECT v.network FROM vms AS v WHERE v.vm_id = vm_events.vm_id)"
REPAIRS = {"id": int, "network": str, "vm_id": str, "action": str, "source": str, "entry": str, "recorded_at": str}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--mode", choices=["edited", "api"], default="edited")
    a = ap.parse_args()
    db = sqlite_utils.Database(a.db)
    vms, events = db["vms"], db["vm_events"]

    if a.mode == "api":
        events.add_column("network", str)
        db.execute(FILL)
        db.conn.commit()
        events.transform(not_null={"network"}, drop_foreign_keys=["vm_id"], add_foreign_keys=[FK])
        events.drop_index("vm_events_vm") if hasattr(events, "drop_index") else db.execute("DROP INDEX vm_events_vm")
        events.create_index(["network", "vm_id"], index_name="vm_events_vm")
        vms.add_column("origin", str, not_null_default="provision")
        vms.transform(not_null={"network"})
        vms.create_index(["network", "vm_id"], unique=True, index_name="vms_identity")
        db.create_table("vm_repairs", REPAIRS, pk="id", not_null=set(REPAIRS) - {"id"})
        db["vm_repairs"].create_index(["network", "vm_id"], index_name="vm_repairs_vm")
        db.execute("ANALYZE")
        db.conn.commit()
        db.close()
        return

    triggers = [t.sql for t in vms.triggers] + [t.sql for t in events.triggers]
    fk_was_on = bool(db.execute("PRAGMA foreign_keys").fetchone()[0])
    if fk_was_on:
        db.execute("PRAGMA foreign_keys=0")
    try:
        with db.atomic():
            # vm_events: the new column, filled from its VM, then the rebuild with the composite key.
            db.execute("ALTER TABLE vm_events ADD COLUMN network TEXT")
            db.execute(FILL)
            for sql in events.transform_sql(not_null={"network"}, drop_foreign_keys=["vm_id"], add_foreign_keys=[FK]):
                db.execute(sql)
            db.execute("DROP INDEX vm_events_vm")
            db.execute("CREATE INDEX vm_events_vm ON vm_events(network, vm_id)")
            # vms: the new column, then the rebuild with the edited constraints.
            db.execute("ALTER TABLE vms ADD COLUMN origin TEXT NOT NULL DEFAULT 'provision'")
            sqls = vms.transform_sql(not_null={"network"})
            create = sqls[0]
            assert create.startswith("CREATE TABLE"), create
            new = re.sub(r'("vm_id" TEXT NOT NULL) UNIQUE\b', r"\1", create, count=1)
            new = re.sub(r'("network" TEXT NOT NULL)', r"\1 CHECK (network <> '')", new, count=1)
            new, n = re.subn(r"\n\)\s*;?\s*$", ',\n   UNIQUE ("network", "vm_id")\n);', new)
            if new == create or n != 1 or "CHECK" not in new:
                sys.exit("could not edit the CREATE TABLE:\n" + create)
            sqls[0] = new
            for sql in sqls:
                db.execute(sql)
            for sql in triggers:
                db.execute(sql)
            db.execute("""CREATE TABLE vm_repairs (id INTEGER PRIMARY KEY, network TEXT NOT NULL, vm_id TEXT NOT NULL,
                          action TEXT NOT NULL, source TEXT NOT NULL, entry TEXT NOT NULL, recorded_at TEXT NOT NULL)""")
            db.execute("CREATE INDEX vm_repairs_vm ON vm_repairs(network, vm_id)")
            db.execute("ANALYZE vms")
            db.execute("ANALYZE vm_events")
            bad = db.execute("PRAGMA foreign_key_check").fetchall()
            if bad:
                raise RuntimeError(f"foreign_key_check: {bad[:5]}")
    finally:
        if fk_was_on:
            db.execute("PRAGMA foreign_keys=1")
    db.close()


if __name__ == "__main__":
    main()
