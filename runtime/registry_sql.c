/*
 * registry_sql.c — the SQL registry: one row per object in SQLite or
 * PostgreSQL.
 *
 * registry: {registry_type: sql, path: URL}. URLs as SQLAlchemy writes them:
 * sqlite:///relative/path (from the repo folder), sqlite:////absolute/path,
 * postgresql://user:password@host:port/db, postgresql:///db?host=/socket/dir
 * (a libpq connection URI; a "+driver" after the scheme is ignored).
 *
 * Tables (created on first use, in one transaction):
 *   mf_schema    (version)                       the layout's version, 1
 *   mf_projects  (project, created_us, present, version, last_updated_us)
 *   mf_objects   (id, project, kind, name, body) one row per object: the
 *                packed Entity, DataSource, FeatureView (without its
 *                intervals), OnDemandFeatureView or FeatureService message
 *   mf_intervals (project, view, seq, start_us, end_us) a view's
 *                materialized intervals, in order
 *
 * A commit is one transaction. It first locks its project's row in
 * mf_projects (PostgreSQL: SELECT ... FOR UPDATE; SQLite: BEGIN IMMEDIATE
 * serializes every writer), reads the registry as committed, runs the
 * mutator on a copy, and writes only the rows that differ: an apply writes
 * its project's objects, a materialization its view's intervals. Then it
 * adds one to the version of the writer's project (and of any other
 * project whose rows it changed), so concurrent writers never lose each
 * other's updates and the registry's version (the sum of the projects'
 * versions, which only grows) counts every commit. A project removed from
 * the registry keeps its row (present = 0), so the sum never goes down.
 *
 * A load reads everything in one read transaction (PostgreSQL: REPEATABLE
 * READ), so it is a consistent snapshot. version() is the cheap check long
 * running processes make before reloading: one SELECT of that sum.
 *
 * Connections: one per registry object, opened on first use and kept,
 * used under a mutex. A call that finds the database down fails naming it;
 * a broken connection is dropped and the next call connects again (an
 * operation whose first statement meets a connection that broke while it
 * was idle, as after a server restart, reconnects and runs once more).
 * PostgreSQL statements time out after 30 s (statement_timeout); connecting
 * after 10 s unless the URL says otherwise.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "mf_internal.h"

#define SCHEMA_VERSION 1

enum { ENGINE_SQLITE, ENGINE_PG };

typedef struct sql_registry {
    mf__registry base;
    int engine;
    char *where;    /* the URL, password hidden, for messages */
    char *project;  /* the writer's project: bumped by every commit */
    pthread_mutex_t mu;
    bool schema_ok; /* the tables are there (checked once per connection) */
    /* SQLite */
    char *path;
    sqlite3 *db;
    dev_t dev; /* the database file opened (replaced or deleted: noticed) */
    ino_t ino;
    bool opened; /* opened once: never created again (a deleted file is an error) */
    /* PostgreSQL */
    char *url;
    PGconn *pg;
} sql_registry;

/*---- Parameters and rows, for both engines ---------------------------------*/

typedef struct sqlv {
    char type; /* 'i' int64, 't' text, 'b' bytes */
    int64_t i;
    const void *p;
    size_t n;
} sqlv;

#define I(v) ((sqlv){'i', (v), NULL, 0})
#define T(s) ((sqlv){'t', 0, (s), strlen(s)})
#define B(ptr, len) ((sqlv){'b', 0, (ptr), (len)})

/* A result cell: an integer, or bytes (text or blob); null is NULL p. */
typedef struct sqlcell {
    int64_t i;
    const char *p;
    size_t n;
} sqlcell;

typedef int (*row_fn)(void *ud, const sqlcell *c, int n, mf_error *err);

static int db_err(sql_registry *r, const char *what, mf_error *err) {
    if (r->engine == ENGINE_SQLITE)
        return mf__err(err, MF_EREGISTRY, "SQL registry %s: %s: %s", r->where, what,
                       r->db ? sqlite3_errmsg(r->db) : "cannot open the database");
    const char *m = r->pg ? PQerrorMessage(r->pg) : "no connection";
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' ')) n--;
    return mf__err(err, MF_EREGISTRY, "SQL registry %s: %s: %.*s", r->where, what, (int)n, m);
}

/* SQL is written with numbered placeholders ($1, $2, and so on); SQLite reads them as ?1, ?2. */
static int sq_run(sql_registry *r, const char *sql, const sqlv *v, int nv, row_fn fn, void *ud,
                  mf_error *err) {
    char *q = mf__xstrdup(sql);
    for (char *c = q; *c; c++)
        if (*c == '$') *c = '?';
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(r->db, q, -1, &st, NULL);
    free(q);
    if (rc != SQLITE_OK) return db_err(r, "preparing a statement", err);
    for (int k = 0; k < nv; k++) {
        if (v[k].type == 'i') sqlite3_bind_int64(st, k + 1, v[k].i);
        else if (v[k].type == 't') sqlite3_bind_text(st, k + 1, v[k].p, (int)v[k].n, SQLITE_STATIC);
        else sqlite3_bind_blob(st, k + 1, v[k].p, (int)v[k].n, SQLITE_STATIC);
    }
    int out = MF_OK;
    int64_t busy_until = 0;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) break;
        /* a statement that starts a transaction of its own (BEGIN, a
         * PRAGMA, a lone SELECT) can meet SQLITE_BUSY without the busy
         * handler being called (a journal mode change, a WAL recovery by
         * another connection): it waits here as the handler would */
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && sqlite3_get_autocommit(r->db)) {
            int64_t now = mf__mono_us();
            if (!busy_until) busy_until = now + 30000000;
            if (now < busy_until) {
                sqlite3_reset(st);
                struct timespec ts = {0, 2000000};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        if (rc != SQLITE_ROW) {
            out = db_err(r, "running a statement", err);
            break;
        }
        int nc = sqlite3_column_count(st);
        sqlcell cells[8];
        for (int c = 0; c < nc && c < 8; c++) {
            int t = sqlite3_column_type(st, c);
            cells[c].i = sqlite3_column_int64(st, c);
            cells[c].p = t == SQLITE_NULL ? NULL
                         : t == SQLITE_BLOB ? sqlite3_column_blob(st, c)
                                            : (const char *)sqlite3_column_text(st, c);
            cells[c].n = (size_t)sqlite3_column_bytes(st, c);
            if (t == SQLITE_BLOB && !cells[c].p) cells[c].p = "";
        }
        if (fn && (out = fn(ud, cells, nc < 8 ? nc : 8, err)) != MF_OK) break;
    }
    sqlite3_finalize(st);
    return out;
}

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25

static int pg_run(sql_registry *r, const char *sql, const sqlv *v, int nv, row_fn fn, void *ud,
                  mf_error *err) {
    Oid types[16];
    const char *vals[16];
    int lens[16], fmts[16];
    uint64_t be[16];
    for (int k = 0; k < nv && k < 16; k++) {
        if (v[k].type == 'i') {
            be[k] = htobe64((uint64_t)v[k].i);
            types[k] = OID_INT8, vals[k] = (const char *)&be[k], lens[k] = 8, fmts[k] = 1;
        } else {
            types[k] = v[k].type == 't' ? OID_TEXT : OID_BYTEA;
            vals[k] = v[k].p, lens[k] = (int)v[k].n, fmts[k] = 1;
        }
    }
    PGresult *res = PQexecParams(r->pg, sql, nv, types, vals, lens, fmts, 1);
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(res);
        size_t n = strlen(m);
        while (n && (m[n - 1] == '\n' || m[n - 1] == ' ')) n--;
        int rc = mf__err(err, MF_EREGISTRY, "SQL registry %s: %.*s", r->where, (int)n,
                         n ? m : PQerrorMessage(r->pg));
        PQclear(res);
        return rc;
    }
    int out = MF_OK;
    int nc = PQnfields(res);
    for (int row = 0; fn && row < PQntuples(res) && out == MF_OK; row++) {
        sqlcell cells[8];
        for (int c = 0; c < nc && c < 8; c++) {
            cells[c].i = 0;
            cells[c].p = PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
            cells[c].n = (size_t)PQgetlength(res, row, c);
            Oid t = PQftype(res, c);
            if (cells[c].p && t == OID_INT8 && cells[c].n == 8) {
                uint64_t x;
                memcpy(&x, cells[c].p, 8);
                cells[c].i = (int64_t)be64toh(x);
            } else if (cells[c].p && t == OID_INT4 && cells[c].n == 4) {
                uint32_t x;
                memcpy(&x, cells[c].p, 4);
                cells[c].i = (int32_t)ntohl(x);
            }
        }
        out = fn(ud, cells, nc < 8 ? nc : 8, err);
    }
    PQclear(res);
    return out;
}

static int run(sql_registry *r, const char *sql, const sqlv *v, int nv, row_fn fn, void *ud,
               mf_error *err) {
    return r->engine == ENGINE_SQLITE ? sq_run(r, sql, v, nv, fn, ud, err)
                                      : pg_run(r, sql, v, nv, fn, ud, err);
}

static int exec0(sql_registry *r, const char *sql, mf_error *err) {
    return run(r, sql, NULL, 0, NULL, NULL, err);
}

/*---- Connections and the schema ---------------------------------------------*/

static void disconnect(sql_registry *r) {
    if (r->db) sqlite3_close(r->db);
    r->db = NULL;
    if (r->pg) PQfinish(r->pg);
    r->pg = NULL;
    r->schema_ok = false;
}

static bool broken(sql_registry *r) {
    return r->engine == ENGINE_PG && (!r->pg || PQstatus(r->pg) != CONNECTION_OK);
}

static int got_schema(void *ud, const sqlcell *c, int n, mf_error *err) {
    (void)err;
    if (n > 0) *(int64_t *)ud = c[0].i;
    return MF_OK;
}

/* Create the tables when missing (one transaction; PostgreSQL: under an
 * advisory lock, so that two first users do not race) and check the
 * layout's version. */
static int ensure_schema(sql_registry *r, mf_error *err) {
    if (r->schema_ok) return MF_OK;
    static const char *const sqlite_ddl[] = {
        "CREATE TABLE IF NOT EXISTS mf_schema (version INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS mf_projects (project TEXT PRIMARY KEY, created_us BIGINT "
        "NOT NULL, present INTEGER NOT NULL, version BIGINT NOT NULL, last_updated_us BIGINT "
        "NOT NULL)",
        "CREATE TABLE IF NOT EXISTS mf_objects (id INTEGER PRIMARY KEY AUTOINCREMENT, project "
        "TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL, "
        "UNIQUE (project, kind, name))",
        "CREATE TABLE IF NOT EXISTS mf_intervals (project TEXT NOT NULL, view TEXT NOT NULL, "
        "seq INTEGER NOT NULL, start_us BIGINT NOT NULL, end_us BIGINT NOT NULL, PRIMARY KEY "
        "(project, view, seq))"};
    static const char *const pg_ddl[] = {
        "SELECT pg_advisory_xact_lock(7262017)",
        "CREATE TABLE IF NOT EXISTS mf_schema (version INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS mf_projects (project TEXT PRIMARY KEY, created_us BIGINT "
        "NOT NULL, present INTEGER NOT NULL, version BIGINT NOT NULL, last_updated_us BIGINT "
        "NOT NULL)",
        "CREATE TABLE IF NOT EXISTS mf_objects (id BIGSERIAL PRIMARY KEY, project TEXT NOT "
        "NULL, kind INTEGER NOT NULL, name TEXT NOT NULL, body BYTEA NOT NULL, UNIQUE "
        "(project, kind, name))",
        "CREATE TABLE IF NOT EXISTS mf_intervals (project TEXT NOT NULL, view TEXT NOT NULL, "
        "seq INTEGER NOT NULL, start_us BIGINT NOT NULL, end_us BIGINT NOT NULL, PRIMARY KEY "
        "(project, view, seq))"};
    bool lite = r->engine == ENGINE_SQLITE;
    const char *const *ddl = lite ? sqlite_ddl : pg_ddl;
    size_t nddl = lite ? MF__ARRAY_LEN(sqlite_ddl) : MF__ARRAY_LEN(pg_ddl);
    /* tables made earlier: a read, which never waits for a writer */
    int64_t v = -1;
    mf_error e;
    int rc = run(r, "SELECT version FROM mf_schema", NULL, 0, got_schema, &v, &e);
    if (rc == MF_OK && v == SCHEMA_VERSION) {
        r->schema_ok = true;
        return MF_OK;
    }
    if (rc != MF_OK && broken(r)) {
        if (err) *err = e;
        return rc;
    }
    rc = exec0(r, lite ? "BEGIN IMMEDIATE" : "BEGIN", err);
    if (rc) return rc;
    for (size_t i = 0; i < nddl && rc == MF_OK; i++) rc = exec0(r, ddl[i], err);
    v = -1;
    if (rc == MF_OK) rc = run(r, "SELECT version FROM mf_schema", NULL, 0, got_schema, &v, err);
    if (rc == MF_OK && v < 0) {
        sqlv p[] = {I(SCHEMA_VERSION)};
        rc = run(r, "INSERT INTO mf_schema (version) VALUES ($1)", p, 1, NULL, NULL, err);
        v = SCHEMA_VERSION;
    }
    if (rc == MF_OK && v != SCHEMA_VERSION)
        rc = mf__err(err, MF_EREGISTRY, "SQL registry %s: its tables have layout version %lld, "
                     "and this moonfeast reads version %d", r->where, (long long)v,
                     SCHEMA_VERSION);
    if (rc == MF_OK) rc = exec0(r, "COMMIT", err);
    else {
        mf_error ignored;
        exec0(r, "ROLLBACK", &ignored);
    }
    if (rc == MF_OK) r->schema_ok = true;
    return rc;
}

static int connect_db(sql_registry *r, mf_error *err) {
    if (r->engine == ENGINE_SQLITE) {
        if (r->db) {
            /* a file put in its place (a restore, a migrate into a new
             * file) is opened anew; a deleted one is an error, never a new
             * empty registry */
            struct stat st;
            if (stat(r->path, &st) != 0)
                return mf__err(err, MF_EREGISTRY, "SQL registry %s: its database file %s is "
                               "gone (%s)", r->where, r->path, strerror(errno));
            if (st.st_dev == r->dev && st.st_ino == r->ino) return ensure_schema(r, err);
            disconnect(r);
        }
        int rc = mf__mkdirs(r->path, true, err);
        if (rc) return rc;
        mf__sqlite_setup();
        if (sqlite3_open_v2(r->path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                            (r->opened ? 0 : SQLITE_OPEN_CREATE), NULL) != SQLITE_OK) {
            rc = db_err(r, "opening", err);
            disconnect(r);
            return rc;
        }
        sqlite3_busy_timeout(r->db, 30000);
        mf_error e;
        /* WAL: readers never wait for a writer; FULL: a commit is on disk
         * when it returns (NORMAL could lose the last ones to a power loss) */
        if (exec0(r, "PRAGMA journal_mode=WAL", &e) != MF_OK ||
            exec0(r, "PRAGMA synchronous=FULL", &e) != MF_OK) {
            if (err) *err = e;
            disconnect(r);
            return MF_EREGISTRY;
        }
        rc = ensure_schema(r, err);
        struct stat st; /* the file as it is now there (SQLite creates it lazily) */
        if (rc == MF_OK && stat(r->path, &st) == 0)
            r->dev = st.st_dev, r->ino = st.st_ino, r->opened = true;
        return rc;
    }
    if (r->pg && PQstatus(r->pg) == CONNECTION_OK) return ensure_schema(r, err);
    disconnect(r);
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", "moonfeast", r->url, NULL};
    r->pg = PQconnectdbParams(keys, vals, 1);
    if (!r->pg || PQstatus(r->pg) != CONNECTION_OK) {
        int rc = db_err(r, "cannot connect", err);
        disconnect(r);
        return rc;
    }
    mf_error e;
    if (exec0(r, "SET statement_timeout = 30000", &e) != MF_OK ||
        exec0(r, "SET client_min_messages = warning", &e) != MF_OK) {
        if (err) *err = e;
        disconnect(r);
        return MF_EREGISTRY;
    }
    return ensure_schema(r, err);
}

/*---- Loading ------------------------------------------------------------------*/

static const ProtobufCMessageDescriptor *kind_desc(int kind) {
    switch (kind) {
    case MF_KIND_ENTITY: return &mf__entity__descriptor;
    case MF_KIND_DATA_SOURCE: return &mf__data_source__descriptor;
    case MF_KIND_FEATURE_VIEW: return &mf__feature_view__descriptor;
    case MF_KIND_ON_DEMAND_FEATURE_VIEW: return &mf__on_demand_feature_view__descriptor;
    case MF_KIND_FEATURE_SERVICE: return &mf__feature_service__descriptor;
    default: return NULL;
    }
}

typedef struct load_ctx {
    sql_registry *r;
    Mf__Registry *reg;
} load_ctx;

static int got_project(void *ud, const sqlcell *c, int n, mf_error *err) {
    (void)err, (void)n;
    load_ctx *x = ud;
    x->reg->version += (uint64_t)c[3].i;
    if (c[4].i > x->reg->last_updated_us) x->reg->last_updated_us = c[4].i;
    if (!c[2].i) return MF_OK;
    Mf__Project *p = (Mf__Project *)mf__pb_new(&mf__project__descriptor);
    p->name = mf__xstrndup(c[0].p, c[0].n);
    p->created_us = c[1].i;
    mf__pb_append(&x->reg->base, "projects", &p->base);
    return MF_OK;
}

static int got_object(void *ud, const sqlcell *c, int n, mf_error *err) {
    (void)n;
    load_ctx *x = ud;
    int kind = (int)c[1].i;
    const ProtobufCMessageDescriptor *d = kind_desc(kind);
    ProtobufCMessage *m = d ? protobuf_c_message_unpack(d, NULL, c[3].n, (const uint8_t *)c[3].p)
                            : NULL;
    /* every reader dereferences an object's spec (field 1) */
    const ProtobufCFieldDescriptor *f = m ? protobuf_c_message_descriptor_get_field(d, 1) : NULL;
    if (!m || !*(ProtobufCMessage *const *)((const char *)m + f->offset)) {
        if (m) protobuf_c_message_free_unpacked(m, NULL);
        return mf__err(err, MF_EREGISTRY, "SQL registry %s: the row of %s '%.*s' (project "
                       "'%.*s') is corrupt", x->r->where, d ? mf_kind_name(kind) : "an object",
                       (int)c[2].n, c[2].p, (int)c[0].n, c[0].p);
    }
    mf__reg_add(x->reg, kind, m);
    return MF_OK;
}

static int got_interval(void *ud, const sqlcell *c, int n, mf_error *err) {
    (void)n, (void)err;
    load_ctx *x = ud;
    char *project = mf__xstrndup(c[0].p, c[0].n), *view = mf__xstrndup(c[1].p, c[1].n);
    long i = mf__reg_find(x->reg, MF_KIND_FEATURE_VIEW, project, view);
    free(project);
    free(view);
    if (i < 0) return MF_OK; /* the view was deleted: its intervals go with it */
    Mf__MaterializationInterval *iv =
        (Mf__MaterializationInterval *)mf__pb_new(&mf__materialization_interval__descriptor);
    iv->start_us = c[2].i;
    iv->end_us = c[3].i;
    mf__pb_append(&x->reg->feature_views[i]->base, "intervals", &iv->base);
    return MF_OK;
}

/* Read every table into a new registry; inside a transaction. */
static int read_all(sql_registry *r, Mf__Registry **out, mf_error *err) {
    load_ctx x = {r, mf__reg_new()};
    x.reg->version = 0;
    int rc = run(r, "SELECT project, created_us, present, version, last_updated_us FROM "
                 "mf_projects ORDER BY created_us, project", NULL, 0, got_project, &x, err);
    if (rc == MF_OK)
        rc = run(r, "SELECT project, kind, name, body FROM mf_objects ORDER BY id", NULL, 0,
                 got_object, &x, err);
    if (rc == MF_OK)
        rc = run(r, "SELECT project, view, start_us, end_us FROM mf_intervals ORDER BY project, "
                 "view, seq", NULL, 0, got_interval, &x, err);
    if (rc) {
        mf__reg_free(x.reg);
        return rc;
    }
    *out = x.reg;
    return MF_OK;
}

/* Run op once, and once more on a fresh connection when its first step
 * met a connection that had broken while idle. */
typedef int (*op_fn)(sql_registry *r, void *ud, bool *started, mf_error *err);

static int with_conn(sql_registry *r, op_fn op, void *ud, mf_error *err) {
    pthread_mutex_lock(&r->mu);
    int rc = MF_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool had = r->db || r->pg;
        rc = connect_db(r, err);
        if (rc) break;
        bool started = false;
        rc = op(r, ud, &started, err);
        if (rc == MF_OK) break;
        bool dead = broken(r);
        if (dead) disconnect(r);
        if (!(dead && had && !started)) break;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int rollback(sql_registry *r) {
    mf_error ignored;
    return exec0(r, "ROLLBACK", &ignored);
}

static int op_load(sql_registry *r, void *ud, bool *started, mf_error *err) {
    int rc = exec0(r, r->engine == ENGINE_SQLITE ? "BEGIN"
                                                 : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   err);
    if (rc) return rc;
    *started = true;
    rc = read_all(r, ud, err);
    if (rc == MF_OK) {
        rc = exec0(r, "COMMIT", err);
        if (rc) { /* the caller gets no registry: none to free twice */
            mf__reg_free(*(Mf__Registry **)ud);
            *(Mf__Registry **)ud = NULL;
        }
    } else {
        rollback(r);
    }
    return rc;
}

static int sql_load(mf__registry *base, Mf__Registry **out, mf_error *err) {
    sql_registry *r = (sql_registry *)base;
    *out = NULL;
    return with_conn(r, op_load, out, err);
}

static int got_version(void *ud, const sqlcell *c, int n, mf_error *err) {
    (void)err;
    if (n > 0) *(uint64_t *)ud = (uint64_t)c[0].i;
    return MF_OK;
}

static int op_version(sql_registry *r, void *ud, bool *started, mf_error *err) {
    (void)started;
    return run(r, "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM mf_projects", NULL, 0,
               got_version, ud, err);
}

static int sql_version(mf__registry *base, uint64_t *token, mf_error *err) {
    *token = 0;
    return with_conn((sql_registry *)base, op_version, token, err);
}

/*---- Committing -----------------------------------------------------------------*/

/* An object as stored: its kind, project, name and packed body (a view
 * without its intervals). */
typedef struct row {
    int kind;
    const char *project, *name;
    uint8_t *body;
    size_t len;
    const Mf__FeatureView *fv; /* views: for the intervals */
} row;

static uint8_t *pack_obj(int kind, ProtobufCMessage *m, size_t *len) {
    Mf__FeatureView *fv = kind == MF_KIND_FEATURE_VIEW ? (Mf__FeatureView *)m : NULL;
    size_t keep = fv ? fv->n_intervals : 0;
    if (fv) fv->n_intervals = 0;
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = mf__xmalloc(*len ? *len : 1);
    protobuf_c_message_pack(m, b);
    if (fv) fv->n_intervals = keep;
    return b;
}

static row *rows_of(Mf__Registry *reg, size_t *n) {
    size_t total = 0;
    for (int k = 0; k < MF_KIND_COUNT; k++) total += mf__reg_count(reg, k);
    row *rows = mf__xcalloc(total + 1, sizeof *rows);
    size_t j = 0;
    for (int k = 0; k < MF_KIND_COUNT; k++)
        for (size_t i = 0; i < mf__reg_count(reg, k); i++, j++) {
            mf__obj o;
            mf__reg_get(reg, k, i, &o);
            rows[j] = (row){k, o.project, o.name, NULL, 0, NULL};
            rows[j].body = pack_obj(k, o.msg, &rows[j].len);
            if (k == MF_KIND_FEATURE_VIEW) rows[j].fv = reg->feature_views[i];
        }
    *n = total;
    return rows;
}

static void rows_free(row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) free(rows[i].body);
    free(rows);
}

static const row *row_find(const row *rows, size_t n, const row *like) {
    for (size_t i = 0; i < n; i++)
        if (rows[i].kind == like->kind && !strcmp(rows[i].name, like->name) &&
            !strcmp(rows[i].project, like->project))
            return &rows[i];
    return NULL;
}

static bool same_intervals(const Mf__FeatureView *a, const Mf__FeatureView *b) {
    size_t na = a ? a->n_intervals : 0, nb = b ? b->n_intervals : 0;
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (a->intervals[i]->start_us != b->intervals[i]->start_us ||
            a->intervals[i]->end_us != b->intervals[i]->end_us)
            return false;
    return true;
}

/* The projects whose rows a commit changed. */
typedef struct touched {
    char **names;
    size_t n;
} touched;

static void touch(touched *t, const char *project) {
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->names[i], project)) return;
    t->names = mf__xrealloc(t->names, (t->n + 1) * sizeof *t->names);
    t->names[t->n++] = mf__xstrdup(project);
}

static int write_intervals(sql_registry *r, const row *o, const row *n, mf_error *err) {
    const Mf__FeatureView *a = o ? o->fv : NULL, *b = n ? n->fv : NULL;
    if (same_intervals(a, b)) return MF_OK;
    const row *x = n ? n : o;
    size_t na = a ? a->n_intervals : 0, nb = b ? b->n_intervals : 0;
    /* new intervals after the old ones: only those rows are added */
    size_t keep = 0;
    while (keep < na && keep < nb && a->intervals[keep]->start_us == b->intervals[keep]->start_us &&
           a->intervals[keep]->end_us == b->intervals[keep]->end_us)
        keep++;
    sqlv d[] = {T(x->project), T(x->name), I((int64_t)keep)};
    int rc = run(r, "DELETE FROM mf_intervals WHERE project = $1 AND view = $2 AND seq >= $3", d,
                 3, NULL, NULL, err);
    for (size_t i = keep; i < nb && rc == MF_OK; i++) {
        sqlv p[] = {T(x->project), T(x->name), I((int64_t)i), I(b->intervals[i]->start_us),
                    I(b->intervals[i]->end_us)};
        rc = run(r, "INSERT INTO mf_intervals (project, view, seq, start_us, end_us) VALUES "
                 "($1, $2, $3, $4, $5)", p, 5, NULL, NULL, err);
    }
    return rc;
}

static int write_diff(sql_registry *r, Mf__Registry *old, Mf__Registry *reg, touched *t,
                      mf_error *err) {
    size_t no, nn;
    row *ro = rows_of(old, &no), *rn = rows_of(reg, &nn);
    int rc = MF_OK;
    for (size_t i = 0; i < no && rc == MF_OK; i++) {
        if (row_find(rn, nn, &ro[i])) continue;
        sqlv p[] = {T(ro[i].project), I(ro[i].kind), T(ro[i].name)};
        rc = run(r, "DELETE FROM mf_objects WHERE project = $1 AND kind = $2 AND name = $3", p, 3,
                 NULL, NULL, err);
        if (rc == MF_OK && ro[i].kind == MF_KIND_FEATURE_VIEW)
            rc = write_intervals(r, &ro[i], NULL, err);
        touch(t, ro[i].project);
    }
    for (size_t i = 0; i < nn && rc == MF_OK; i++) {
        const row *o = row_find(ro, no, &rn[i]);
        bool same = o && o->len == rn[i].len && !memcmp(o->body, rn[i].body, o->len);
        if (!same) {
            sqlv p[] = {T(rn[i].project), I(rn[i].kind), T(rn[i].name), B(rn[i].body, rn[i].len)};
            rc = run(r, o ? "UPDATE mf_objects SET body = $4 WHERE project = $1 AND kind = $2 AND "
                            "name = $3"
                          : "INSERT INTO mf_objects (project, kind, name, body) VALUES ($1, $2, "
                            "$3, $4)",
                     p, 4, NULL, NULL, err);
            touch(t, rn[i].project);
        }
        if (rc == MF_OK && rn[i].kind == MF_KIND_FEATURE_VIEW && !same_intervals(o ? o->fv : NULL, rn[i].fv)) {
            rc = write_intervals(r, o, &rn[i], err);
            touch(t, rn[i].project);
        }
    }
    /* projects added to or removed from the registry */
    for (size_t i = 0; i < reg->n_projects && rc == MF_OK; i++) {
        bool was = false;
        for (size_t j = 0; j < old->n_projects && !was; j++)
            was = !strcmp(old->projects[j]->name, reg->projects[i]->name);
        if (was) continue;
        sqlv p[] = {T(reg->projects[i]->name), I(reg->projects[i]->created_us)};
        rc = run(r, "INSERT INTO mf_projects (project, created_us, present, version, "
                 "last_updated_us) VALUES ($1, $2, 1, 0, $2) ON CONFLICT (project) DO UPDATE SET "
                 "present = 1, created_us = $2", p, 2, NULL, NULL, err);
        /* bumped below: its version counts this commit */
        touch(t, reg->projects[i]->name);
    }
    for (size_t j = 0; j < old->n_projects && rc == MF_OK; j++) {
        bool is = false;
        for (size_t i = 0; i < reg->n_projects && !is; i++)
            is = !strcmp(old->projects[j]->name, reg->projects[i]->name);
        if (is) continue;
        sqlv p[] = {T(old->projects[j]->name)};
        rc = run(r, "UPDATE mf_projects SET present = 0 WHERE project = $1", p, 1, NULL, NULL, err);
        touch(t, old->projects[j]->name);
    }
    rows_free(ro, no);
    rows_free(rn, nn);
    return rc;
}

typedef struct commit_ctx {
    mf__registry_mutator fn;
    void *ud;
} commit_ctx;

static int op_commit(sql_registry *r, void *ud, bool *started, mf_error *err) {
    commit_ctx *c = ud;
    bool lite = r->engine == ENGINE_SQLITE;
    int64_t now = mf__now_us();
    int rc = exec0(r, lite ? "BEGIN IMMEDIATE" : "BEGIN", err);
    if (rc) return rc;
    *started = true;
    /* the writer's project row: created when missing, then locked, so that
     * writers of one project take turns (SQLite: BEGIN IMMEDIATE already
     * serializes every writer) */
    sqlv p[] = {T(r->project), I(now)};
    bool writer = r->project[0] != '\0'; /* none: a migration, which bumps what it writes */
    if (writer)
        rc = run(r, "INSERT INTO mf_projects (project, created_us, present, version, "
                 "last_updated_us) VALUES ($1, $2, 0, 0, $2) ON CONFLICT (project) DO NOTHING", p,
                 2, NULL, NULL, err);
    if (rc == MF_OK && !lite && writer)
        rc = run(r, "SELECT version FROM mf_projects WHERE project = $1 FOR UPDATE", p, 1, NULL,
                 NULL, err);
    /* one read, and the mutator works on a copy: the rows written are the
     * ones it changed (a second read could see another project's newer
     * commit, and writing that back would race it) */
    Mf__Registry *old = NULL, *reg = NULL;
    if (rc == MF_OK) rc = read_all(r, &old, err);
    if (rc == MF_OK) reg = (Mf__Registry *)mf__pb_clone(&old->base);
    if (rc == MF_OK) rc = c->fn(reg, c->ud, err);
    touched t = {NULL, 0};
    if (writer) touch(&t, r->project);
    if (rc == MF_OK) rc = write_diff(r, old, reg, &t, err);
    for (size_t i = 0; i < t.n && rc == MF_OK; i++) {
        sqlv q[] = {T(t.names[i]), I(now)};
        rc = run(r, "UPDATE mf_projects SET version = version + 1, last_updated_us = $2 WHERE "
                 "project = $1", q, 2, NULL, NULL, err);
    }
    for (size_t i = 0; i < t.n; i++) free(t.names[i]);
    free(t.names);
    mf__reg_free(old);
    mf__reg_free(reg);
    if (rc == MF_OK) rc = exec0(r, "COMMIT", err);
    else rollback(r);
    return rc;
}

static int sql_commit(mf__registry *base, mf__registry_mutator fn, void *ud, mf_error *err) {
    commit_ctx c = {fn, ud};
    return with_conn((sql_registry *)base, op_commit, &c, err);
}

static void sql_close(mf__registry *base) {
    sql_registry *r = (sql_registry *)base;
    disconnect(r);
    pthread_mutex_destroy(&r->mu);
    free(r->where);
    free(r->project);
    free(r->path);
    free(r->url);
    free(r);
}

static const mf__registry_vt sql_vt = {"sql", sql_load, sql_commit, sql_close, sql_version};

/*---- URLs ---------------------------------------------------------------------*/

/* The URL with its password replaced by "***", for messages: the one of
 * user:password@ and the value of a password= query parameter (libpq
 * takes either; masked in any text). Returns a copy. */
char *mf__url_hide_password(const char *url) {
    char *out = mf__xstrdup(url);
    const char *s = strstr(url, "://");
    const char *at = s ? strchr(s + 3, '@') : NULL;
    const char *slash = s ? strchr(s + 3, '/') : NULL;
    const char *colon = at && !(slash && slash < at) ? memchr(s + 3, ':', (size_t)(at - (s + 3)))
                                                     : NULL;
    if (colon) {
        free(out);
        out = mf__xasprintf("%.*s:***%s", (int)(colon - url), url, at);
    }
    char *q = strchr(out, '?');
    for (char *p = q; p && *p;) {
        p++; /* past ? or & */
        char *end = p + strcspn(p, "&");
        if (!strncmp(p, "password=", 9)) {
            char *v = p + 9;
            char *fixed = mf__xasprintf("%.*s***%s", (int)(v - out), out, end);
            p = fixed + (v - out) + 3;
            free(out);
            out = fixed;
            end = p;
        }
        p = *end ? end : NULL;
    }
    return out;
}

int mf__registry_sql_open(const char *url, const char *repo, const char *project,
                          mf__registry **out, mf_error *err) {
    *out = NULL;
    sql_registry *r = mf__xcalloc(1, sizeof *r);
    r->base.vt = &sql_vt;
    pthread_mutex_init(&r->mu, NULL);
    r->project = mf__xstrdup(project ? project : "");
    r->where = mf__url_hide_password(url);
    int rc = MF_OK;
    const char *rest;
    if (!strncmp(url, "sqlite:///", 10)) {
        rest = url + 10;
        r->engine = ENGINE_SQLITE;
        if (!*rest || !strcmp(rest, ":memory:"))
            rc = mf__err(err, MF_ECONFIG, "registry.path '%s': give a database file "
                         "(sqlite:///relative/path or sqlite:////absolute/path)", url);
        else
            r->path = rest[0] == '/' ? mf__xstrdup(rest) : mf__path_join(repo ? repo : ".", rest);
    } else if (!strncmp(url, "postgresql", 10) || !strncmp(url, "postgres://", 11)) {
        /* postgresql://, postgres://, postgresql+driver:// */
        const char *s = strstr(url, "://");
        size_t scheme = s ? (size_t)(s - url) : 0;
        bool ok = s && (scheme == 8 || scheme == 10 || (scheme > 11 && url[10] == '+'));
        if (!ok)
            rc = mf__err(err, MF_ECONFIG, "registry.path '%s': not a PostgreSQL URL "
                         "(postgresql://user:password@host:port/database)", r->where);
        else {
            r->engine = ENGINE_PG;
            r->url = mf__xasprintf("postgresql%s", s);
        }
    } else {
        rc = mf__err(err, MF_ECONFIG, "registry.path '%s': unsupported database URL (expected "
                     "sqlite:///PATH or postgresql://...)", r->where);
    }
    if (rc) {
        sql_close(&r->base);
        return rc;
    }
    *out = &r->base;
    return MF_OK;
}
