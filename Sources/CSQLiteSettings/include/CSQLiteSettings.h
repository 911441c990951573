#ifndef CSQLITESETTINGS_H
#define CSQLITESETTINGS_H

struct sqlite3;

/// Turns the connection's triggers on (1) or off (0); returns the setting now
/// in force (0 or 1), or -1 when SQLite refused. A wrapper because
/// sqlite3_db_config() is variadic, which Swift cannot call.
int vmdb_sqlite_enable_triggers(struct sqlite3 *db, int enabled);

/// Lets CREATE statements take a double-quoted string where no column has that name
/// (1), as SQLite's default build does, or not (0); returns the setting now in force,
/// or -1 when SQLite refused.
int vmdb_sqlite_enable_dqs_ddl(struct sqlite3 *db, int enabled);

#endif
