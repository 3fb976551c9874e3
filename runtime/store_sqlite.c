/*
 * store_sqlite.c — the embedded online store: one SQLite file.
 *
 * Layout: one table per project and view, named "<project>__<view>", with
 * one packed row per entity key:
 *   entity_key BLOB PRIMARY KEY  -- entity key serialized (v3)
 *   event_ts   INTEGER           -- microseconds since the epoch
 *   created_ts INTEGER           -- microseconds, 0 when none
 *   value      BLOB              -- every feature of the view, packed
 * WITHOUT ROWID, so a read is one B-tree descent. The database runs in WAL
 * mode with a busy timeout; writers use BEGIN IMMEDIATE.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mf_internal.h"

typedef struct sqlite_store {
    mf__online base;
    char *path;
    sqlite3 *db;
} sqlite_store;

/*---- Helpers ---------------------------------------------------------------*/

static int db_open(sqlite_store *s, mf_error *err) {
    if (s->db) return MF_OK;
    int rc = mf__mkdirs(s->path, true, err);
    if (rc) return rc;
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = mf__err(err, MF_ESTORE, "cannot open online store %s: %s", s->path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        s->db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        rc = mf__err(err, MF_ESTORE, "online store %s: %s", s->path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(s->db);
        s->db = NULL;
        return rc;
    }
    return MF_OK;
}

static int exec(sqlite_store *s, const char *sql, mf_error *err) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = mf__err(err, MF_ESTORE, "online store %s: %s", s->path,
                         msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return MF_OK;
}

/* "<project>__<view>" quoted; caller frees. */
static char *table_name(const char *project, const char *view) {
    char *raw = mf__xasprintf("%s__%s", project, view);
    char *q = mf__sql_ident(raw);
    free(raw);
    return q;
}

/*---- Interface -------------------------------------------------------------*/

static int sq_update(mf__online *base, const char *project, Mf__FeatureView *const *keep,
                     size_t n_keep, Mf__FeatureView *const *drop, size_t n_drop,
                     mf_error *err) {
    sqlite_store *s = (sqlite_store *)base;
    int rc = db_open(s, err);
    if (rc) return rc;
    rc = exec(s, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    for (size_t i = 0; i < n_keep && rc == MF_OK; i++) {
        if (!keep[i]->spec->online) continue;
        char *t = table_name(project, keep[i]->spec->name);
        char *sql = mf__xasprintf("CREATE TABLE IF NOT EXISTS %s (entity_key BLOB "
                                  "PRIMARY KEY, event_ts INTEGER NOT NULL, created_ts "
                                  "INTEGER NOT NULL, value BLOB) WITHOUT ROWID", t);
        rc = exec(s, sql, err);
        free(sql);
        free(t);
    }
    for (size_t i = 0; i < n_drop && rc == MF_OK; i++) {
        char *t = table_name(project, drop[i]->spec->name);
        char *sql = mf__xasprintf("DROP TABLE IF EXISTS %s", t);
        rc = exec(s, sql, err);
        free(sql);
        free(t);
    }
    if (rc == MF_OK) return exec(s, "COMMIT", err);
    exec(s, "ROLLBACK", NULL);
    return rc;
}

static int sq_teardown(mf__online *base, const char *project,
                       Mf__FeatureView *const *views, size_t n, mf_error *err) {
    return sq_update(base, project, NULL, 0, views, n, err);
}

static void sq_close(mf__online *base) {
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

static const mf__online_vt sqlite_vt = {"sqlite", sq_update, sq_teardown, sq_close};

int mf__online_sqlite_open(const char *path, mf__online **out, mf_error *err) {
    MF__UNUSED(err);
    sqlite_store *s = mf__xcalloc(1, sizeof *s);
    s->base.vt = &sqlite_vt;
    s->path = mf__xstrdup(path);
    *out = &s->base;
    return MF_OK;
}
