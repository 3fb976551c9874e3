/*
 * floor_sqlite_insert.c — the floor of materializing into SQLite: a bulk
 * insert of the rows written, in one transaction, with one prepared
 * statement.
 *
 *   floor_sqlite_insert SRC_DB TABLE DST_DB REPS
 *
 * Reads every row of TABLE in SRC_DB (what moonfeast's materialization
 * wrote: entity_key, event_ts, created_ts, value) into memory and sorts
 * them by entity_key, the B-tree's order (moonfeast sorts its rows by key
 * before writing them, so a floor in any other order would do more work
 * than moonfeast does). Then REPS times: removes DST_DB (and its -wal, -shm), opens it with moonfeast's online
 * store settings (journal_mode=WAL, synchronous=NORMAL, cache_size=-65536,
 * wal_autocheckpoint=10000), creates the same table (entity_key BLOB
 * PRIMARY KEY, event_ts, created_ts, value BLOB, WITHOUT ROWID), and times
 * the whole write: BEGIN; a prepared plain INSERT of every row; COMMIT;
 * and closing the connection, whose final checkpoint moves the WAL into
 * the database (moonfeast's timed run includes its store's close, which
 * does the same). The count check in between is not timed.
 *
 * Prints: rows N sorted_s S (the median of REPS)
 */
#include <sqlite3.h>
#include <unistd.h>

#include "mfb.h"

typedef struct row {
    void *key, *val;
    int klen, vlen;
    int64_t ts, cr;
} row;

static int cmp_row(const void *a, const void *b) {
    const row *x = a, *y = b;
    int n = x->klen < y->klen ? x->klen : y->klen, c = memcmp(x->key, y->key, (size_t)n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static void check(sqlite3 *db, int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "floor_sqlite_insert: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(sqlite3 *db, const char *sql) { check(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql); }

static double one_run(const char *dst, const char *table, const row *rows, size_t n) {
    char p[4200];
    unlink(dst);
    snprintf(p, sizeof p, "%s-wal", dst);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", dst);
    unlink(p);
    sqlite3 *db;
    if (sqlite3_open_v2(dst, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        fprintf(stderr, "floor_sqlite_insert: %s: %s\n", dst, sqlite3_errmsg(db));
        exit(1);
    }
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; "
             "PRAGMA wal_autocheckpoint=10000;");
    char sql[1024];
    snprintf(sql, sizeof sql, "CREATE TABLE \"%s\" (entity_key BLOB PRIMARY KEY, event_ts INTEGER "
             "NOT NULL, created_ts INTEGER NOT NULL, value BLOB) WITHOUT ROWID", table);
    exec(db, sql);
    snprintf(sql, sizeof sql, "INSERT INTO \"%s\" (entity_key, event_ts, created_ts, value) "
             "VALUES (?1, ?2, ?3, ?4)", table);
    sqlite3_stmt *ins;
    check(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL), sql);
    int64_t t0 = mfb_now_ns();
    exec(db, "BEGIN IMMEDIATE");
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_blob(ins, 1, rows[i].key, rows[i].klen, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, rows[i].ts);
        sqlite3_bind_int64(ins, 3, rows[i].cr);
        sqlite3_bind_blob(ins, 4, rows[i].val, rows[i].vlen, SQLITE_STATIC);
        check(db, sqlite3_step(ins), "insert");
        sqlite3_reset(ins);
    }
    exec(db, "COMMIT");
    int64_t t1 = mfb_now_ns();
    sqlite3_finalize(ins);
    /* the rows are all there */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    sqlite3_stmt *cnt;
    check(db, sqlite3_prepare_v2(db, sql, -1, &cnt, NULL), sql);
    check(db, sqlite3_step(cnt), sql);
    if ((size_t)sqlite3_column_int64(cnt, 0) != n) {
        fprintf(stderr, "floor_sqlite_insert: %lld rows after inserting %zu\n",
                (long long)sqlite3_column_int64(cnt, 0), n);
        exit(1);
    }
    sqlite3_finalize(cnt);
    int64_t t2 = mfb_now_ns();
    sqlite3_close(db);
    int64_t t3 = mfb_now_ns();
    return (double)((t1 - t0) + (t3 - t2)) / 1e9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: floor_sqlite_insert SRC_DB TABLE DST_DB REPS\n");
        return 2;
    }
    const char *src = argv[1], *table = argv[2], *dst = argv[3];
    int reps = atoi(argv[4]);
    if (reps < 1) reps = 1;
    sqlite3 *db;
    if (sqlite3_open_v2(src, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "floor_sqlite_insert: %s: %s\n", src, sqlite3_errmsg(db));
        return 1;
    }
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT entity_key, event_ts, created_ts, value FROM \"%s\"", table);
    sqlite3_stmt *s;
    check(db, sqlite3_prepare_v2(db, sql, -1, &s, NULL), sql);
    size_t n = 0, cap = 1024;
    row *rows = mfb_xmalloc(cap * sizeof *rows);
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof *rows);
            if (!rows) return 1;
        }
        row *r = &rows[n++];
        r->klen = sqlite3_column_bytes(s, 0);
        r->key = mfb_xmalloc((size_t)r->klen);
        memcpy(r->key, sqlite3_column_blob(s, 0), (size_t)r->klen);
        r->ts = sqlite3_column_int64(s, 1);
        r->cr = sqlite3_column_int64(s, 2);
        r->vlen = sqlite3_column_bytes(s, 3);
        r->val = mfb_xmalloc((size_t)r->vlen);
        if (r->vlen) memcpy(r->val, sqlite3_column_blob(s, 3), (size_t)r->vlen);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (!n) {
        fprintf(stderr, "floor_sqlite_insert: %s has no rows in %s\n", src, table);
        return 1;
    }
    double *srt_s = mfb_xmalloc((size_t)reps * sizeof *srt_s);
    qsort(rows, n, sizeof *rows, cmp_row);
    for (int k = 0; k < reps; k++) srt_s[k] = one_run(dst, table, rows, n);
    qsort(srt_s, (size_t)reps, sizeof *srt_s, cmp_d);
    printf("rows %zu sorted_s %.4f\n", n, srt_s[(reps - 1) / 2]);
    for (size_t i = 0; i < n; i++) free(rows[i].key), free(rows[i].val);
    free(rows);
    free(srt_s);
    return 0;
}
