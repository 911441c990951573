#include <sqlite3.h>
#include "CSQLiteSettings.h"

int vmdb_sqlite_enable_triggers(struct sqlite3 *db, int enabled) {
    int now = -1;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, enabled, &now) != SQLITE_OK) return -1;
    return now;
}

int vmdb_sqlite_enable_dqs_ddl(struct sqlite3 *db, int enabled) {
    int now = -1;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, enabled, &now) != SQLITE_OK) return -1;
    return now;
}
