/*
 * store_sqlite.c — the embedded online store: one SQLite file.
 *
 * Layout: one table per project and view, named "<project>:<view>" (':'
 * is in neither kind of name, so two projects never share a table; with
 * "__" project "a" view "b__c" and project "a__b" view "c" did), with
 * one packed row per entity key:
 *   entity_key BLOB PRIMARY KEY  -- entity key serialized (v3)
 *   event_ts   INTEGER           -- microseconds since the epoch
 *   created_ts INTEGER           -- microseconds, 0 when none
 *   value      BLOB              -- every feature of the view, packed
 * WITHOUT ROWID, so a read is one B-tree descent. The database runs in WAL
 * mode with a busy timeout; writers use BEGIN IMMEDIATE.
 *
 * Packed value: u16 feature count, then per feature: u8 name length (255:
 * a u32 length follows, for names of 255 bytes or more), name,
 * u8 ValueType (0 = null), value: Int32/Float32 4 bytes, Int64, Float64,
 * UnixTimestamp (microseconds) 8 bytes, Bool 1 byte, anything else u32
 * length + bytes (lists as the JSON list codec's canonical text, json.c).
 * Names make rows self-describing, so a view that gains a feature reads old
 * rows with that feature absent. Writes refuse a String that is not UTF-8
 * text without NUL and a list cell that is not a valid list; reads take
 * lists through the codec again, so text an older version wrote comes out
 * canonical (or as an error naming the feature).
 *
 * The write statement only replaces a row whose event_ts is older (or
 * equal with an older or equal created_ts): the store itself enforces
 * "never replace newer data with older".
 *
 * Reads with a reuse bound (read_reuse_us > 0: `moonfeast serve`,
 * feature_server.read_reuse_us) keep their read transaction open after
 * the call and read the next call from it, as long as it began less than
 * read_reuse_us ago and no write transaction of this process on this file
 * (any connection, any store) has ended since it began: each file has a
 * write generation, bumped after every write transaction, that the reader
 * compares with the one it saw when it began. So a read sees every write
 * this process committed before it, and every write of another process
 * committed read_reuse_us before it or earlier; it saves the lock calls
 * of a transaction's begin and end (an fcntl each) on most reads. A held
 * transaction that its thread leaves idle is ended by a sweeper thread
 * (one per process, while such connections are open) once it is
 * read_reuse_us old, looking every SWEEP_US at most (a busy thread begins
 * its reads anew itself; waking each millisecond cost the sweeper 4 % of a
 * busy server's time), so an idle server pins no snapshot and a
 * checkpoint waits for it read_reuse_us + SWEEP_US at most. Such a
 * connection is used under its own mutex (its thread, or the sweeper
 * ending its read).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <sqlite3.h>

#include "mf_json.h"
#include "mf_online.h"

/* Statements of one view's table, prepared once per connection. */
typedef struct view_stmts {
    char *table; /* unquoted "<project>:<view>" */
    sqlite3_stmt *get, *put;
} view_stmts;

struct path_lock;
struct split_reader;

typedef struct sqlite_store {
    mf__online base;
    char *path;
    sqlite3 *db;
    view_stmts *vs;
    size_t nvs;
    sqlite3_stmt *begin, *commit; /* a read transaction around multi-row reads */
    sqlite3_stmt *pin;            /* split reads' twin: takes its snapshot */
    struct path_lock *pl;         /* the file's writer mutex and write generation */
    mf__buf scratch; /* packed row being written */
    /* read reuse (reuse_us > 0); the fields below cmu are used under it */
    int64_t reuse_us;
    int64_t mmap_bytes;         /* PRAGMA mmap_size of the connection (0: off) */
    bool mmap_auto;             /* mmap_bytes chosen by the file's size (map_auto) */
    pthread_mutex_t cmu;        /* the connection: its thread, or the sweeper */
    bool held;                  /* a read transaction is open between calls */
    int64_t held_t0;            /* monotonic time before it began */
    uint64_t held_gen;          /* the file's write generation before it began */
    struct sqlite_store *snext; /* on the sweeper's list (under sweep_mu) */
    /* split reads (split_keys > 0): see split_reader */
    int64_t split_keys;
    struct split_reader *sr; /* made at the first split read */
    bool sr_failed;          /* it could not be made: no split reads */
} sqlite_store;

/*---- Helpers ---------------------------------------------------------------*/

/* One mutex per database file for the whole process, taken around every
 * write transaction: SQLite lets one writer in at a time and makes the
 * others sleep and poll (the busy handler sleeps up to 100 ms a time);
 * threads of one process (materialize jobs, server threads pushing) queue
 * on the mutex instead and go in as soon as the writer before them is
 * done. Other processes still meet the busy timeout. The table lives as
 * long as the process (a few paths). */
typedef struct path_lock {
    char *path;
    pthread_mutex_t mu;
    uint64_t gen; /* atomic: write transactions of this process ended on the file */
    struct path_lock *next;
} path_lock;

static pthread_mutex_t path_locks_mu = PTHREAD_MUTEX_INITIALIZER;
static path_lock *path_locks;

/* The name the table knows a file by: the real path of the deepest folder
 * of its path that exists, and the rest of the path as given, so that
 * "d/./online.db" or a link to d is the same file as "d/online.db" (the
 * file, and folders under d, may not exist yet: the store makes them at
 * its first write; the name stays the same once they exist only when the
 * rest is plain names, which a path made by the configuration is). The
 * path as given when no folder of it resolves. */
static char *lock_name(const char *path) {
    char *dir = mf__xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *rest = slash ? path + (slash - dir) + 1 : path;
    if (slash) *slash = '\0';
    else snprintf(dir, strlen(dir) + 1, "%s", ".");
    char *real = NULL;
    for (;;) {
        real = realpath(*dir ? dir : "/", NULL);
        if (real || errno != ENOENT || strcmp(dir, ".") == 0) break;
        char *up = strrchr(dir, '/');
        if (up) { /* one folder up ("" is the root) */
            *up = '\0';
            rest = path + (up - dir) + 1;
        } else { /* a relative path's first folder: the current one */
            rest = path;
            snprintf(dir, strlen(dir) + 1, "%s", ".");
        }
    }
    free(dir);
    if (!real) return mf__xstrdup(path);
    char *name = mf__xasprintf("%s/%s", strcmp(real, "/") ? real : "", rest);
    free(real);
    return name;
}

static path_lock *writer_lock(const char *given) {
    char *path = lock_name(given);
    pthread_mutex_lock(&path_locks_mu);
    path_lock *l = path_locks;
    while (l && strcmp(l->path, path) != 0) l = l->next;
    if (!l) {
        l = mf__xcalloc(1, sizeof *l);
        l->path = path;
        path = NULL;
        pthread_mutex_init(&l->mu, NULL);
        l->next = path_locks;
        path_locks = l;
    }
    pthread_mutex_unlock(&path_locks_mu);
    free(path);
    return l;
}

/* After every write transaction (committed or not): held reads of this
 * process begin again. */
static void wrote(sqlite_store *s) { __atomic_add_fetch(&s->pl->gen, 1, __ATOMIC_RELEASE); }

/* The connection's mutex, when reads are reused (else one thread has it). */
static void conn_lock(sqlite_store *s) {
    if (s->reuse_us > 0) pthread_mutex_lock(&s->cmu);
}

static void conn_unlock(sqlite_store *s) {
    if (s->reuse_us > 0) pthread_mutex_unlock(&s->cmu);
}

/* End the held read transaction (cmu held). */
static void end_held(sqlite_store *s) {
    if (!s->held) return;
    s->held = false;
    int st = sqlite3_step(s->commit);
    sqlite3_reset(s->commit);
    if (st != SQLITE_DONE && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/*---- The sweeper: ends held reads left idle ---------------------------------*/

#define SWEEP_US 10000 /* the sweeper's shortest sleep */

static pthread_mutex_t sweep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sweep_cv;
static pthread_once_t sweep_once = PTHREAD_ONCE_INIT;
static sqlite_store *sweep_list;
static uint64_t sweep_epoch;  /* the running sweeper's; another value stops it */
static bool sweep_running;
static pthread_t sweep_tid;
static bool sweep_sleeping;   /* atomic: waiting with no deadline */

static void sweep_init(void) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&sweep_cv, &a);
    pthread_condattr_destroy(&a);
}

static void *sweeper(void *arg) {
    uint64_t epoch = (uint64_t)(uintptr_t)arg;
    pthread_mutex_lock(&sweep_mu);
    while (sweep_epoch == epoch) {
        /* sleeping first: a reader that holds a read after the scan saw
         * it not held finds the flag set and wakes this thread */
        __atomic_store_n(&sweep_sleeping, true, __ATOMIC_SEQ_CST);
        int64_t now = mf__mono_us(), next = INT64_MAX;
        for (sqlite_store *s = sweep_list; s; s = s->snext) {
            if (pthread_mutex_trylock(&s->cmu) != 0) { /* reading: look again later */
                if (now + s->reuse_us < next) next = now + s->reuse_us;
                continue;
            }
            if (s->held) {
                int64_t due = s->held_t0 + s->reuse_us;
                if (now >= due) end_held(s);
                else if (due < next) next = due;
            }
            pthread_mutex_unlock(&s->cmu);
        }
        if (next == INT64_MAX) {
            pthread_cond_wait(&sweep_cv, &sweep_mu);
        } else {
            __atomic_store_n(&sweep_sleeping, false, __ATOMIC_SEQ_CST);
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait = next - now > SWEEP_US ? next - now : SWEEP_US;
            ts.tv_sec += (time_t)(wait / 1000000);
            ts.tv_nsec += (long)(wait % 1000000) * 1000;
            if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
            pthread_cond_timedwait(&sweep_cv, &sweep_mu, &ts);
        }
    }
    pthread_mutex_unlock(&sweep_mu);
    return NULL;
}

/* Put s on the sweeper's list, starting the sweeper when it is the first.
 * Returns 0, or an errno when the sweeper cannot start (then s reads
 * without reuse). */
static int sweep_add(sqlite_store *s) {
    pthread_once(&sweep_once, sweep_init);
    int rc = 0;
    pthread_mutex_lock(&sweep_mu);
    if (!sweep_running) {
        sweep_epoch++;
        rc = pthread_create(&sweep_tid, NULL, sweeper, (void *)(uintptr_t)sweep_epoch);
        sweep_running = rc == 0;
    }
    if (rc == 0) {
        s->snext = sweep_list;
        sweep_list = s;
    }
    pthread_mutex_unlock(&sweep_mu);
    return rc;
}

/* Take s off the list (no held read); the last one stops the sweeper. */
static void sweep_remove(sqlite_store *s) {
    pthread_mutex_lock(&sweep_mu);
    sqlite_store **p = &sweep_list;
    while (*p && *p != s) p = &(*p)->snext;
    if (*p) *p = s->snext;
    bool stop = !sweep_list && sweep_running;
    pthread_t tid = sweep_tid;
    if (stop) {
        sweep_epoch++;
        sweep_running = false;
        pthread_cond_signal(&sweep_cv);
    }
    pthread_mutex_unlock(&sweep_mu);
    if (stop) pthread_join(tid, NULL);
}

/* A held read began (cmu held): wake a sweeper that waits for none. */
static void sweep_wake(void) {
    if (!__atomic_load_n(&sweep_sleeping, __ATOMIC_SEQ_CST)) return;
    pthread_mutex_lock(&sweep_mu);
    pthread_cond_signal(&sweep_cv);
    pthread_mutex_unlock(&sweep_mu);
}

/* The map a connection takes when mmap_size_mb is not set: none for a
 * file the page cache can hold (64 MiB: every page it reads stays cached,
 * and mapped pages would only cost their mapping), else the largest map
 * SQLite allows, decided when the connection opens. */
#define MAP_AUTO_MIN (INT64_C(64) << 20)
#define MAP_AUTO_SIZE (INT64_C(2048) << 20)
static int64_t map_auto(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && (int64_t)st.st_size >= MAP_AUTO_MIN ? MAP_AUTO_SIZE : 0;
}

static int db_open(sqlite_store *s, mf_error *err) {
    if (s->db) return MF_OK;
    int rc = mf__mkdirs(s->path, true, err);
    if (rc) return rc;
    mf__sqlite_setup();
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = mf__err(err, MF_ESTORE, "cannot open online store %s: %s", s->path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        s->db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* switching a new database to WAL takes a lock that the busy handler
     * does not wait for: retry for up to 5 s when other processes are
     * opening the same file at the same moment */
    char *msg = NULL;
    int prc;
    for (int tries = 0;; tries++) {
        /* a 64 MiB page cache at most (it grows only as used) and fewer
         * checkpoints: bulk writes (materialize) spill and re-read pages
         * less */
        prc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                           "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=10000;",
                           NULL, NULL, &msg);
        if ((prc != SQLITE_BUSY && prc != SQLITE_LOCKED) || tries >= 500) break;
        sqlite3_free(msg);
        msg = NULL;
        sqlite3_sleep(10);
    }
    /* pages read through a memory map (mmap_size_mb): a page that is not
     * in the connection's cache costs no read() system call, only a first
     * touch; SQLite caps the map at its compile-time maximum (2 GiB in
     * Debian's build) and reads the rest of a larger file as before */
    if (prc == SQLITE_OK && s->mmap_auto) s->mmap_bytes = map_auto(s->path);
    if (prc == SQLITE_OK) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA mmap_size=%lld;", (long long)s->mmap_bytes);
        prc = sqlite3_exec(s->db, pragma, NULL, NULL, &msg);
    }
    if (prc != SQLITE_OK) {
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

/* "<project>:<view>" quoted; caller frees. */
static char *table_name(const char *project, const char *view) {
    char *raw = mf__xasprintf("%s:%s", project, view);
    char *q = mf__sql_ident(raw);
    free(raw);
    return q;
}

/*---- Interface -------------------------------------------------------------*/

static void drop_stmts(sqlite_store *s);
static int update_locked(sqlite_store *s, const char *project, Mf__FeatureView *const *keep,
                         size_t n_keep, Mf__FeatureView *const *drop, size_t n_drop,
                         mf_error *err);

static int sq_update(mf__online *base, const char *project, Mf__FeatureView *const *keep,
                     size_t n_keep, Mf__FeatureView *const *drop, size_t n_drop,
                     mf_error *err) {
    sqlite_store *s = (sqlite_store *)base;
    conn_lock(s);
    int rc = update_locked(s, project, keep, n_keep, drop, n_drop, err);
    conn_unlock(s);
    return rc;
}

static int update_locked(sqlite_store *s, const char *project, Mf__FeatureView *const *keep,
                         size_t n_keep, Mf__FeatureView *const *drop, size_t n_drop,
                         mf_error *err) {
    int rc = db_open(s, err);
    if (rc) return rc;
    end_held(s);
    drop_stmts(s);
    /* the file's writer mutex, as every write transaction takes it: a
     * write of another thread of this process is waited for, not polled
     * for until the busy timeout */
    pthread_mutex_lock(&s->pl->mu);
    rc = exec(s, "BEGIN IMMEDIATE", err);
    if (rc) {
        pthread_mutex_unlock(&s->pl->mu);
        return rc;
    }
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
    if (rc == MF_OK) rc = exec(s, "COMMIT", err);
    else exec(s, "ROLLBACK", NULL);
    if (!sqlite3_get_autocommit(s->db)) exec(s, "ROLLBACK", NULL);
    wrote(s);
    pthread_mutex_unlock(&s->pl->mu);
    return rc;
}

static int sq_teardown(mf__online *base, const char *project,
                       Mf__FeatureView *const *views, size_t n, mf_error *err) {
    return sq_update(base, project, NULL, 0, views, n, err);
}

/*---- Rows ------------------------------------------------------------------*/

static void drop_stmts(sqlite_store *s) {
    for (size_t i = 0; i < s->nvs; i++) {
        sqlite3_finalize(s->vs[i].get);
        sqlite3_finalize(s->vs[i].put);
        free(s->vs[i].table);
    }
    free(s->vs);
    s->vs = NULL;
    s->nvs = 0;
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->pin);
    s->begin = s->commit = s->pin = NULL;
}

/* Prepared statements for project/view, prepared on first use. */
static int stmts_for(sqlite_store *s, const char *project, const char *view, view_stmts **out,
                     mf_error *err) {
    int rc = db_open(s, err);
    if (rc) return rc;
    size_t pl = strlen(project);
    for (size_t i = 0; i < s->nvs; i++) {
        const char *t = s->vs[i].table;
        if (strncmp(t, project, pl) == 0 && t[pl] == ':' && strcmp(t + pl + 1, view) == 0) {
            *out = &s->vs[i];
            return MF_OK;
        }
    }
    char *q = table_name(project, view);
    char *get = mf__xasprintf("SELECT event_ts, value FROM %s WHERE entity_key = ?1", q);
    char *put = mf__xasprintf(
        "INSERT INTO %s (entity_key, event_ts, created_ts, value) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (entity_key) DO UPDATE SET event_ts = excluded.event_ts, created_ts = "
        "excluded.created_ts, value = excluded.value WHERE excluded.event_ts > event_ts OR "
        "(excluded.event_ts = event_ts AND excluded.created_ts >= created_ts)", q);
    view_stmts v = {mf__xasprintf("%s:%s", project, view), NULL, NULL};
    if (sqlite3_prepare_v3(s->db, get, -1, SQLITE_PREPARE_PERSISTENT, &v.get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(s->db, put, -1, SQLITE_PREPARE_PERSISTENT, &v.put, NULL) != SQLITE_OK) {
        rc = mf__err(err, MF_ESTORE, "online store %s: feature view '%s' has no table (run "
                     "`moonfeast apply`): %s", s->path, view, sqlite3_errmsg(s->db));
        sqlite3_finalize(v.get);
        sqlite3_finalize(v.put);
        free(v.table);
    } else {
        s->vs = mf__xrealloc(s->vs, (s->nvs + 1) * sizeof *s->vs);
        s->vs[s->nvs] = v;
        *out = &s->vs[s->nvs++];
    }
    free(q);
    free(get);
    free(put);
    return rc;
}

/* Append the packed value of row `row` of column c to b. String cells
 * must be UTF-8 text without NUL, list cells valid lists, written in the
 * JSON list codec's canonical text (as every other path keeps them).
 * Returns 0, or -1 with a reason in why. */
static int pack_value(mf__buf *b, const mf__col *c, size_t row, char *why) {
    if (!c->valid[row]) {
        mf__buf_putc(b, 0);
        return 0;
    }
    mf__buf_putc(b, (char)c->type);
    switch (c->sc) {
    case MF__SC_I32: mf__buf_put(b, (const int32_t *)c->data + row, 4); break;
    case MF__SC_F32: mf__buf_put(b, (const float *)c->data + row, 4); break;
    case MF__SC_I64: mf__buf_put(b, (const int64_t *)c->data + row, 8); break;
    case MF__SC_F64: mf__buf_put(b, (const double *)c->data + row, 8); break;
    case MF__SC_BOOL: mf__buf_put(b, (const uint8_t *)c->data + row, 1); break;
    case MF__SC_TEXT: {
        bool list = !c->raw && c->type >= MF__VALUE_TYPE__VT_BYTES_LIST;
        size_t at = b->len;
        uint32_t n = 0;
        mf__buf_put(b, &n, 4);
        if (list) { /* the canonical text, straight after its length */
            if (mf__col_cell_check(c, row, b, why) != 0) return -1;
            n = (uint32_t)(b->len - at - 4);
        } else {
            if (mf__col_cell_check(c, row, NULL, why) != 0) return -1;
            n = (uint32_t)(c->off[row + 1] - c->off[row]);
            mf__buf_put(b, c->heap + c->off[row], n);
        }
        memcpy(b->data + at, &n, 4);
        break;
    }
    }
    return 0;
}

int mf__row_pack(mf__buf *b, const Mf__FeatureViewSpec *view, const mf__col *feat, size_t row,
                 mf_error *err) {
    if (view->n_features > UINT16_MAX) /* the count is stored in 16 bits */
        return mf__err(err, MF_EDATA, "feature view '%s' has %zu features; an online row "
                       "holds at most %d", view->name, view->n_features, UINT16_MAX);
    uint16_t nf = (uint16_t)view->n_features;
    mf__buf_put(b, &nf, 2);
    for (size_t f = 0; f < view->n_features; f++) {
        size_t nl = strlen(view->features[f]->name);
        if (nl < 255) {
            mf__buf_putc(b, (char)nl);
        } else { /* a long (inferred) name: 255, then u32 length */
            uint32_t l = (uint32_t)nl;
            mf__buf_putc(b, (char)255);
            mf__buf_put(b, &l, 4);
        }
        mf__buf_put(b, view->features[f]->name, nl);
        char why[MF__JSON_WHYLEN];
        if (pack_value(b, &feat[f], row, why) != 0)
            return mf__col_cell_err(&feat[f], row, view->name, why, err);
    }
    return MF_OK;
}

static int write_locked(sqlite_store *s, const char *project, const mf__write_batch *wb,
                        mf_error *err);

static int sq_write(mf__online *base, const char *project, const mf__write_batch *wb,
                    mf_error *err) {
    sqlite_store *s = (sqlite_store *)base;
    conn_lock(s);
    int rc = write_locked(s, project, wb, err);
    conn_unlock(s);
    return rc;
}

static int write_locked(sqlite_store *s, const char *project, const mf__write_batch *wb,
                        mf_error *err) {
    view_stmts *v;
    int rc = stmts_for(s, project, wb->view->name, &v, err);
    if (rc) return rc;
    end_held(s);
    pthread_mutex_lock(&s->pl->mu);
    rc = exec(s, "BEGIN IMMEDIATE", err);
    if (rc) {
        pthread_mutex_unlock(&s->pl->mu);
        return rc;
    }
    const Mf__FeatureViewSpec *view = wb->view;
    for (size_t i = 0; i < wb->n && rc == MF_OK; i++) {
        mf__buf *b = &s->scratch;
        b->len = 0;
        rc = mf__row_pack(b, view, wb->feat, wb->rows ? wb->rows[i] : i, err);
        if (rc) break;
        /* a row past SQLite's largest value (or int) is an error: a failed
         * bind would leave the value NULL and write a row of nulls */
        if (b->len > (size_t)sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1) ||
            wb->key_lens[i] > (size_t)sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1)) {
            rc = mf__err(err, MF_EDATA, "online store %s: feature view '%s': a row of %zu bytes "
                         "is larger than SQLite's largest value (%d bytes)", s->path, view->name,
                         b->len, sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1));
            break;
        }
        if (sqlite3_bind_blob(v->put, 1, wb->keys[i], (int)wb->key_lens[i], SQLITE_STATIC) ||
            sqlite3_bind_int64(v->put, 2, wb->event_ts[i]) ||
            sqlite3_bind_int64(v->put, 3, wb->created_ts ? wb->created_ts[i] : 0) ||
            sqlite3_bind_blob(v->put, 4, b->data, (int)b->len, SQLITE_STATIC))
            rc = mf__err(err, MF_ESTORE, "online store %s: writing feature view '%s': %s", s->path,
                         view->name, sqlite3_errmsg(s->db));
        else if (sqlite3_step(v->put) != SQLITE_DONE)
            rc = mf__err(err, MF_ESTORE, "online store %s: writing feature view '%s': %s", s->path,
                         view->name, sqlite3_errmsg(s->db));
        sqlite3_reset(v->put);
    }
    if (rc == MF_OK) rc = exec(s, "COMMIT", err);
    else exec(s, "ROLLBACK", NULL);
    /* a COMMIT that failed leaves no transaction open either */
    if (!sqlite3_get_autocommit(s->db)) exec(s, "ROLLBACK", NULL);
    wrote(s);
    pthread_mutex_unlock(&s->pl->mu);
    return rc;
}

/* Append the stored value at p (type byte first) to column c; returns the
 * bytes consumed, 0 when malformed (and then *bad when it is a list that is
 * not a valid list). A stored type that differs from the column's (the
 * view's dtype changed) reads as null. */
static size_t unpack_value(const unsigned char *p, const unsigned char *end, mf__col *c,
                           bool *bad) {
    if (p >= end) return 0;
    int t = *p++;
    size_t sz;
    if (t == 0) {
        if (c) mf__col_push_null(c);
        return 1;
    }
    mf__store_class sc = mf__store_class_of((Mf__ValueType)t);
    switch (sc) {
    case MF__SC_I32: case MF__SC_F32: sz = 4; break;
    case MF__SC_I64: case MF__SC_F64: sz = 8; break;
    case MF__SC_BOOL: sz = 1; break;
    default: {
        uint32_t n;
        if (p + 4 > end) return 0;
        memcpy(&n, p, 4);
        if (p + 4 + n > end) return 0;
        if (c) {
            if ((int)c->type != t) {
                mf__col_push_null(c);
            } else if (c->type >= MF__VALUE_TYPE__VT_BYTES_LIST) {
                /* through the codec: canonical text whatever wrote it */
                if (n == 0 || mf__col_push_text(c, (const char *)p + 4, n) != 0) {
                    *bad = true;
                    return 0;
                }
            } else {
                mf__col_push_str(c, (const char *)p + 4, n);
            }
        }
        return 5 + n;
    }
    }
    if (p + sz > end) return 0;
    if (c) {
        if ((int)c->type != t) {
            mf__col_push_null(c);
        } else {
            mf__col_reserve(c, c->n + 1);
            memcpy((char *)c->data + c->n * sz, p, sz);
            c->valid[c->n++] = 1;
        }
    }
    return 1 + sz;
}

int mf__row_unpack(const unsigned char *p, size_t len, mf__read_batch *rb, const char *where,
                   mf_error *err) {
    const Mf__FeatureViewSpec *view = rb->view;
    const unsigned char *end = p ? p + len : p;
    int rc = MF_OK;
    /* per requested feature: its column's length before this row, and its
     * name's length (compared with every stored name) */
    size_t before[128], *seen = rb->nfeat <= 64 ? before : mf__xcalloc(2 * rb->nfeat, sizeof *seen);
    size_t *wlen = seen + rb->nfeat;
    for (size_t f = 0; f < rb->nfeat; f++) {
        seen[f] = rb->out[f]->n;
        wlen[f] = strlen(view->features[rb->feat_idx[f]]->name);
    }
    uint16_t nf = 0;
    if (p && p + 2 <= end) memcpy(&nf, p, 2), p += 2;
    for (uint16_t k = 0; k < nf && p < end; k++) {
        size_t nl = *p++;
        if (nl == 255) {
            uint32_t l;
            if (end - p < 4) break;
            memcpy(&l, p, 4);
            p += 4;
            nl = l;
        }
        if ((size_t)(end - p) < nl) break;
        const char *name = (const char *)p;
        p += nl;
        /* every requested column of this feature (a read may ask for one
         * feature twice) */
        size_t used = 0;
        bool wanted = false, bad = false;
        for (size_t f = 0; f < rb->nfeat; f++) {
            const char *want = view->features[rb->feat_idx[f]]->name;
            if (wlen[f] == nl && rb->out[f]->n == seen[f] && memcmp(want, name, nl) == 0) {
                wanted = true;
                if (!(used = unpack_value(p, end, rb->out[f], &bad))) break;
            }
        }
        if (!wanted) used = unpack_value(p, end, NULL, &bad);
        if (bad) {
            rc = mf__err(err, MF_ESTORE, "online store %s: feature view '%s', feature '%.*s': a "
                         "stored value is not a valid list (written by an older version? "
                         "materialize the view again)", where, view->name, (int)nl, name);
            break;
        }
        if (!used) break;
        p += used;
    }
    /* features absent from the stored row read as null */
    for (size_t f = 0; f < rb->nfeat; f++)
        if (rb->out[f]->n == seen[f]) mf__col_push_null(rb->out[f]);
    if (seen != before) free(seen);
    return rc;
}

/* The reads of one view's batch, in whatever transaction is open. */
static int read_rows(sqlite_store *s, const char *project, mf__read_batch *rb, mf_error *err) {
    view_stmts *v;
    int rc = stmts_for(s, project, rb->view->name, &v, err);
    if (rc) return rc;
    const Mf__FeatureViewSpec *view = rb->view;
    for (size_t i = 0; i < rb->n; i++) {
        sqlite3_bind_blob(v->get, 1, rb->keys[i], (int)rb->key_lens[i], SQLITE_STATIC);
        int st = sqlite3_step(v->get);
        if (st != SQLITE_ROW) {
            sqlite3_reset(v->get);
            if (st != SQLITE_DONE)
                return mf__err(err, MF_ESTORE, "online store %s: reading feature view '%s': %s",
                               s->path, view->name, sqlite3_errmsg(s->db));
            rb->found[i] = 0;
            rb->event_ts[i] = 0;
            for (size_t f = 0; f < rb->nfeat; f++) mf__col_push_null(rb->out[f]);
            continue;
        }
        rb->found[i] = 1;
        rb->event_ts[i] = sqlite3_column_int64(v->get, 0);
        const unsigned char *p = sqlite3_column_blob(v->get, 1);
        rc = mf__row_unpack(p, (size_t)sqlite3_column_bytes(v->get, 1), rb, s->path, err);
        sqlite3_reset(v->get);
        if (rc) return rc;
    }
    return MF_OK;
}

static int prepare_txn(sqlite_store *s, mf_error *err) {
    if (s->begin) return MF_OK;
    if (sqlite3_prepare_v2(s->db, "BEGIN", -1, &s->begin, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(s->db, "COMMIT", -1, &s->commit, NULL) == SQLITE_OK)
        return MF_OK;
    int rc = mf__err(err, MF_ESTORE, "online store %s: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    s->begin = s->commit = NULL;
    return rc;
}

static int step_begin(sqlite_store *s, mf_error *err) {
    int st = sqlite3_step(s->begin);
    sqlite3_reset(s->begin);
    if (st != SQLITE_DONE)
        return mf__err(err, MF_ESTORE, "online store %s: starting a read: %s", s->path,
                       sqlite3_errmsg(s->db));
    return MF_OK;
}

/* Reads with reuse (cmu held): the held transaction when it is young
 * enough and this process wrote nothing on the file since it began, else
 * a new one, left open for the next call. */
static int read_held(sqlite_store *s, const char *project, mf__read_batch *rbs, size_t nb,
                     mf_error *err) {
    int rc = prepare_txn(s, err);
    if (rc) return rc;
    /* the generation and the time before the transaction's snapshot */
    uint64_t gen = __atomic_load_n(&s->pl->gen, __ATOMIC_ACQUIRE);
    int64_t now = mf__mono_us();
    if (s->held && (gen != s->held_gen || now - s->held_t0 >= s->reuse_us)) end_held(s);
    if (!s->held) {
        if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if ((rc = step_begin(s, err))) return rc;
        s->held = true;
        s->held_t0 = now;
        s->held_gen = gen;
        sweep_wake();
    }
    for (size_t b = 0; b < nb && rc == MF_OK; b++) rc = read_rows(s, project, &rbs[b], err);
    if (rc) end_held(s); /* the next call begins afresh */
    return rc;
}

/* End a call's read transaction: a read commits without writing; should
 * COMMIT fail, leave no transaction open on this connection. rc is the
 * call's result so far, returned unless it is MF_OK and COMMIT failed. */
static int end_read(sqlite_store *s, int rc, mf_error *err) {
    int st = sqlite3_step(s->commit);
    sqlite3_reset(s->commit);
    if (st != SQLITE_DONE) {
        if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if (rc == MF_OK)
            rc = mf__err(err, MF_ESTORE, "online store %s: ending a read: %s", s->path,
                         sqlite3_errmsg(s->db));
    }
    return rc;
}

/* Several reads in one read transaction: one lock of the WAL (and one
 * consistent snapshot of the database) for the whole call instead of one
 * per row. A single row reads in its own implicit transaction, which
 * costs the same. With reuse, see read_held. */
static int read_many_here(sqlite_store *s, const char *project, mf__read_batch *rbs, size_t nb,
                          mf_error *err) {
    int rc;
    if (s->reuse_us > 0) {
        pthread_mutex_lock(&s->cmu);
        rc = db_open(s, err);
        if (rc == MF_OK) rc = read_held(s, project, rbs, nb, err);
        pthread_mutex_unlock(&s->cmu);
        return rc;
    }
    size_t rows = 0;
    for (size_t b = 0; b < nb; b++) rows += rbs[b].n;
    rc = db_open(s, err);
    if (rc) return rc;
    bool txn = rows > 1 && sqlite3_get_autocommit(s->db);
    if (txn && ((rc = prepare_txn(s, err)) || (rc = step_begin(s, err)))) return rc;
    for (size_t b = 0; b < nb && rc == MF_OK; b++) rc = read_rows(s, project, &rbs[b], err);
    return txn ? end_read(s, rc, err) : rc;
}

/*---- Split reads ---------------------------------------------------------------*/

/* A call that reads at least split_keys keys from two or more views reads
 * its views on two connections at once: the calling thread reads the
 * first views on this connection while a helper thread reads the others
 * on a second connection to the same file (the twin, opened with the same
 * settings but no read reuse). The point reads of a large request are
 * bound by memory latency, one B-tree descent after the other; two threads
 * halve the wait when a core is free. Each half is one read transaction of
 * its own: the twin's is begun and its snapshot taken on the calling
 * thread (pin_read), then this connection's is begun afresh (a held one is
 * ended first), so this half's snapshot is never older than the helper's:
 * a write committed between the two starts shows in this half's views
 * only, and the thread's next calls, which may reuse this connection's
 * snapshot, never see less than the helper's half showed. The helper and
 * the twin (its database opened here, on the calling thread) are made at
 * the first split read and live as long as the store; when either cannot
 * be made, every call reads on this connection alone. */
enum { SR_IDLE, SR_WORK, SR_DONE, SR_QUIT };

typedef struct split_reader {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sqlite_store *twin;
    int state; /* under mu */
    const char *project;
    mf__read_batch *rbs;
    size_t nb;
    int rc;
    mf_error err;
} split_reader;

/* Begin a read transaction on twin t and take its snapshot (in WAL mode,
 * at the transaction's first read), on the calling thread. */
static int pin_read(sqlite_store *t, mf_error *err) {
    int rc = prepare_txn(t, err);
    if (rc) return rc;
    if (!t->pin && sqlite3_prepare_v2(t->db, "PRAGMA schema_version", -1, &t->pin, NULL) != SQLITE_OK)
        return mf__err(err, MF_ESTORE, "online store %s: %s", t->path, sqlite3_errmsg(t->db));
    if (!sqlite3_get_autocommit(t->db)) sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
    if ((rc = step_begin(t, err))) return rc;
    int st = sqlite3_step(t->pin);
    sqlite3_reset(t->pin);
    if (st == SQLITE_ROW) return MF_OK;
    rc = mf__err(err, MF_ESTORE, "online store %s: starting a read: %s", t->path,
                 sqlite3_errmsg(t->db));
    sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* The helper's half, in the transaction pin_read began. */
static int read_pinned(sqlite_store *t, const char *project, mf__read_batch *rbs, size_t nb,
                       mf_error *err) {
    int rc = MF_OK;
    for (size_t b = 0; b < nb && rc == MF_OK; b++) rc = read_rows(t, project, &rbs[b], err);
    return end_read(t, rc, err);
}

static void *split_main(void *arg) {
    split_reader *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->state != SR_WORK && r->state != SR_QUIT) pthread_cond_wait(&r->cv, &r->mu);
        if (r->state == SR_QUIT) break;
        pthread_mutex_unlock(&r->mu);
        memset(&r->err, 0, sizeof r->err);
        int rc = read_pinned(r->twin, r->project, r->rbs, r->nb, &r->err);
        pthread_mutex_lock(&r->mu);
        r->rc = rc;
        r->state = SR_DONE;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void sq_close(mf__online *base);

static void split_stop(sqlite_store *s) {
    split_reader *r = s->sr;
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->state = SR_QUIT;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->tid, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    sq_close(&r->twin->base);
    free(r);
    s->sr = NULL;
}

/* The helper, made at the first split read: false when it cannot be. */
static bool split_ready(sqlite_store *s) {
    if (s->sr) return true;
    if (s->sr_failed) return false;
    mf__online *twin = NULL;
    mf_error e;
    if (mf__online_sqlite_open(s->path, 0, s->mmap_auto ? -1 : s->mmap_bytes, 0, &twin, &e) !=
            MF_OK ||
        db_open((sqlite_store *)twin, &e) != MF_OK) {
        if (twin) sq_close(twin);
        s->sr_failed = true;
        mf__log(MF_LOG_DEBUG, "online store %s: no second connection (%s): reads stay on one",
                s->path, e.message);
        return false;
    }
    split_reader *r = mf__xcalloc(1, sizeof *r);
    r->twin = (sqlite_store *)twin;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->tid, NULL, split_main, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        sq_close(twin);
        free(r);
        s->sr_failed = true;
        mf__log(MF_LOG_DEBUG, "online store %s: no helper thread: reads stay on one connection",
                s->path);
        return false;
    }
    s->sr = r;
    return true;
}

/* Where a call's views split: the first k batches stay on this
 * connection, the rest go to the helper (the halves as even in keys as
 * the views allow; this thread takes the larger one, the helper starts
 * later). 0: the call is not split. */
static size_t split_at(const sqlite_store *s, const mf__read_batch *rbs, size_t nb) {
    if (s->split_keys <= 0 || nb < 2) return 0;
    size_t total = 0;
    for (size_t b = 0; b < nb; b++) total += rbs[b].n;
    if (total < (uint64_t)s->split_keys) return 0;
    size_t best = 0, best_max = SIZE_MAX, pre = 0;
    for (size_t k = 1; k < nb; k++) {
        pre += rbs[k - 1].n;
        size_t post = total - pre, m = pre > post ? pre : post;
        if (m < best_max || (m == best_max && pre >= post)) best = k, best_max = m;
    }
    return best;
}

static int sq_read_many(mf__online *base, const char *project, mf__read_batch *rbs, size_t nb,
                        mf_error *err) {
    sqlite_store *s = (sqlite_store *)base;
    size_t k = split_at(s, rbs, nb);
    if (k == 0 || !split_ready(s)) return read_many_here(s, project, rbs, nb, err);
    split_reader *r = s->sr;
    /* the helper's snapshot first, then this connection's, begun afresh */
    int rc = pin_read(r->twin, err);
    if (rc) return rc;
    if (s->reuse_us > 0) {
        pthread_mutex_lock(&s->cmu);
        end_held(s);
        pthread_mutex_unlock(&s->cmu);
    }
    pthread_mutex_lock(&r->mu);
    r->project = project;
    r->rbs = rbs + k;
    r->nb = nb - k;
    r->state = SR_WORK;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    rc = read_many_here(s, project, rbs, k, err);
    pthread_mutex_lock(&r->mu);
    while (r->state != SR_DONE) pthread_cond_wait(&r->cv, &r->mu);
    r->state = SR_IDLE;
    int hrc = r->rc;
    pthread_mutex_unlock(&r->mu);
    if (rc == MF_OK && hrc != MF_OK) {
        if (err) *err = r->err;
        rc = hrc;
    }
    return rc;
}

static int sq_read(mf__online *base, const char *project, mf__read_batch *rb, mf_error *err) {
    return read_many_here((sqlite_store *)base, project, rb, 1, err);
}

static void sq_close(mf__online *base) {
    sqlite_store *s = (sqlite_store *)base;
    split_stop(s);
    if (s->reuse_us > 0) {
        sweep_remove(s);
        end_held(s);
        pthread_mutex_destroy(&s->cmu);
    }
    drop_stmts(s);
    mf__buf_free(&s->scratch);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

/* Opening the database and reading its schema: a database that cannot be
 * opened or read fails here. */
static int sq_ping(mf__online *base, mf_error *err) {
    sqlite_store *s = (sqlite_store *)base;
    conn_lock(s);
    int rc = db_open(s, err);
    if (rc == MF_OK) rc = exec(s, "SELECT count(*) FROM sqlite_master", err);
    conn_unlock(s);
    return rc;
}

int64_t mf__online_sqlite_map(mf__online *base) {
    sqlite_store *s = (sqlite_store *)base;
    int64_t v = -1;
    conn_lock(s);
    sqlite3_stmt *st = NULL;
    if (s->db && sqlite3_prepare_v2(s->db, "PRAGMA mmap_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    conn_unlock(s);
    return v;
}

int mf__online_sqlite_split(mf__online *base) { return ((sqlite_store *)base)->sr != NULL; }

/* In WAL mode with synchronous=NORMAL a commit reaches the write-ahead log
 * without an fsync (checkpoints sync the log, then the database): the
 * commits made so far are durable once the log is synced. No log: every
 * commit is in the database file, synced by its checkpoint. */
static int sq_sync(mf__online *base, mf_error *err) {
    sqlite_store *s = (sqlite_store *)base;
    char *wal = mf__xasprintf("%s-wal", s->path);
    int rc = MF_OK, fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            rc = mf__err(err, MF_ESTORE, "online store %s: opening %s to sync it: %s", s->path,
                         wal, strerror(errno));
    } else {
        if (fsync(fd) != 0)
            rc = mf__err(err, MF_ESTORE, "online store %s: syncing %s: %s", s->path, wal,
                         strerror(errno));
        close(fd);
    }
    free(wal);
    return rc;
}

static const mf__online_vt sqlite_vt = {"sqlite", sq_update, sq_teardown, sq_write, sq_read,
                                        sq_read_many, sq_ping, sq_close, sq_sync};

int mf__online_sqlite_open(const char *path, int64_t read_reuse_us, int64_t mmap_bytes,
                           int64_t split_keys, mf__online **out, mf_error *err) {
    MF__UNUSED(err);
    sqlite_store *s = mf__xcalloc(1, sizeof *s);
    s->split_keys = split_keys;
    s->base.vt = &sqlite_vt;
    s->path = mf__xstrdup(path);
    s->mmap_bytes = mmap_bytes > 0 ? mmap_bytes : 0;
    s->mmap_auto = mmap_bytes < 0;
    s->pl = writer_lock(path);
    if (read_reuse_us > 0) {
        pthread_mutex_init(&s->cmu, NULL);
        s->reuse_us = read_reuse_us;
        if (sweep_add(s) != 0) { /* no sweeper: no reuse */
            pthread_mutex_destroy(&s->cmu);
            s->reuse_us = 0;
        }
    }
    *out = &s->base;
    return MF_OK;
}
