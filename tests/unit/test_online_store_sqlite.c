/*
 * test_online_store_sqlite.c — the embedded SQLite online store
 * (runtime/store_sqlite.c) and entity key serialization
 * (runtime/entity_key.c).
 *
 * 1. The store suite of store_suite.h (the contract every online store
 *    meets) on a fresh data/online.db.
 * 2. What is SQLite's own: the layout ("<project>__<view>" tables keyed by
 *    the v3 entity key), two handles on one file (a serving process and an
 *    apply in another), reopening, damaged rows, a file that cannot be
 *    opened, a view that has no table.
 * 3. Entity keys, version 3, byte for byte against bytes written out here
 *    by hand from docs/concepts.md, "Online stores".
 * 4. Read reuse (a server's feature_server.read_reuse_us): the suite again
 *    on a handle that reuses its reads; writes of this process seen at
 *    once, other processes' within the bound; an idle held read ended by
 *    the sweeper (a checkpoint then completes); threads reading while
 *    others write (also under ThreadSanitizer).
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_suite.h"

/*---- Files --------------------------------------------------------------------*/

static char *tmp_root;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* A new empty folder under tmp_root; caller frees. */
static char *new_dir(const char *name) {
    char *d = mf__xasprintf("%s/%s", tmp_root, name);
    mkdir(d, 0700);
    return d;
}

static mf__online *open_reuse(const char *path, int64_t reuse_us) {
    mf__online *s = NULL;
    mf_error err;
    if (mf__online_sqlite_open(path, reuse_us, (int64_t)64 << 20, 0, &s, &err) != MF_OK) {
        printf("#   open %s: %s\n", path, err.message);
        return NULL;
    }
    return s;
}

static mf__online *open_at(const char *path) { return open_reuse(path, 0); }

/* One integer from a query on the database file, or -1. */
static long long query_int(const char *db_path, const char *sql) {
    sqlite3 *db;
    long long v = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    return v;
}

static int exec_sql(const char *db_path, const char *sql) {
    sqlite3 *db;
    int rc = sqlite3_open(db_path, &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/*---- SQLite layout ------------------------------------------------------------*/

static void test_layout(void) {
    char *dir = new_dir("layout");
    char *db = mf__xasprintf("%s/data/online.db", dir);
    mf__online *s = open_at(db);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("proj", "driver_stats");
    MFS_OK(mfs_update(s, "proj", fv, NULL, NULL, &mfs_e));
    CHECK(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                        "'proj:driver_stats'") == 1);
    MFS_OK(mfs_put1(s, "proj", fv, 1001, 1735689600123456, 1735689700000000, 5, 1, &mfs_e));
    /* the key column holds the v3 key of id=1001, written out by hand */
    CHECK(query_int(db, "SELECT count(*) FROM \"proj:driver_stats\" WHERE entity_key = x'"
                        "01000000" "02000000" "02000000" "6964" /* "id" */
                        "04000000" "08000000" "e903000000000000'") == 1);
    CHECK(query_int(db, "SELECT event_ts FROM \"proj:driver_stats\"") == 1735689600123456);
    CHECK(query_int(db, "SELECT created_ts FROM \"proj:driver_stats\"") == 1735689700000000);
    CHECK(query_int(db, "SELECT count(*) FROM \"proj:driver_stats\"") == 1);
    /* WAL, so that readers in other processes do not wait for a writer */
    CHECK(query_int(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
    MFS_OK(s->vt->teardown(s, "proj", &fv, 1, &mfs_e));
    CHECK(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'proj:driver_stats'") == 0);
    s->vt->close(s);
    MFS_FREE(fv);
    free(db);
    free(dir);
}

/* Data survives closing; a second handle sees the first one's writes, and
 * keeps working when the first drops and creates the table again (an
 * `apply` or `delete` in another process while a server runs). */
static void test_two_handles(void) {
    char *dir = new_dir("two");
    char *db = mf__xasprintf("%s/online.db", dir);
    mf__online *a = open_at(db), *b = open_at(db);
    CHECK(a && b);
    Mf__FeatureView *fv = mfs_view1("p", "v");
    MFS_OK(mfs_update(a, "p", fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_put1(a, "p", fv, 1, 100, 0, 11, 1, &mfs_e));
    int64_t id = 1;
    mfs_got g;
    MFS_OK(mfs_read(b, "p", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 11);
    mfs_got_free(&g);
    /* b's statements are prepared; a drops and recreates the table */
    MFS_OK(mfs_update(a, "p", NULL, NULL, fv, &mfs_e));
    MFS_OK(mfs_update(a, "p", fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_read(b, "p", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 0);
    mfs_got_free(&g);
    MFS_OK(mfs_put1(b, "p", fv, 1, 50, 0, 12, 1, &mfs_e));
    MFS_OK(mfs_read(a, "p", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 12);
    mfs_got_free(&g);
    /* older data from the other handle loses */
    MFS_OK(mfs_put1(a, "p", fv, 1, 49, 0, 13, 1, &mfs_e));
    a->vt->close(a);
    b->vt->close(b);
    /* reopened */
    a = open_at(db);
    CHECK(a);
    MFS_OK(mfs_read(a, "p", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 12 && g.ts[0] == 50);
    mfs_got_free(&g);
    a->vt->close(a);
    MFS_FREE(fv);
    free(db);
    free(dir);
}

/* Rows damaged on disk read as nulls (found), never a crash or a read out
 * of bounds (the ASan build runs this too). */
static void test_damaged_rows(void) {
    char *dir = new_dir("damaged");
    char *db = mf__xasprintf("%s/online.db", dir);
    mf__online *s = open_at(db);
    CHECK(s);
    static const char *const fn[] = {"a", "s"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_STRING};
    Mf__FeatureView *fv = mfs_view("p", "v", 0, fn, ft, 2);
    MFS_OK(mfs_update(s, "p", fv, NULL, NULL, &mfs_e));
    /* keys 1..8, with values: NULL; empty; a count of 5 features and
     * nothing; a name running past the end; a string length past the end;
     * an Int64 cut short; a long-name length cut short; a long-name length
     * past the end */
    static const char *const values[] = {
        "NULL", "x''", "x'0500'", "x'0100" "09" "61'",
        "x'0200" "01" "61" "04" "0700000000000000" "01" "73" "02" "ffffff7f" "616263'",
        "x'0100" "01" "61" "04" "070000'",
        "x'0100" "ff" "0100'", "x'0100" "ff" "ffffffff" "61'"};
    for (size_t i = 0; i < 8; i++) {
        /* the key bytes as the store would write them */
        mfs_keys k;
        int64_t id = (int64_t)i + 1;
        mfs_keys_make(&k, &id, 1);
        mf__buf sql;
        mf__buf_init(&sql);
        mf__buf_puts(&sql, "INSERT INTO \"p:v\" VALUES (x'");
        for (size_t j = 0; j < k.len[0]; j++) mf__buf_printf(&sql, "%02x", k.p[0][j]);
        mf__buf_printf(&sql, "', 7, 0, %s)", values[i]);
        int rc = exec_sql(db, sql.data);
        mf__buf_free(&sql);
        mfs_keys_free(&k);
        CHECK(rc == SQLITE_OK);
    }
    int64_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    mfs_got g;
    MFS_OK(mfs_read(s, "p", fv, ids, 8, NULL, 0, &g, &mfs_e));
    CHECK(g.cols[0].n == 8 && g.cols[1].n == 8);
    for (size_t i = 0; i < 8; i++) {
        CHECK(g.found[i] == 1);
        CHECK(g.ts[i] == 7);
        CHECK(!g.cols[1].valid[i]);
        /* row 5 holds a whole a = 7 before its damaged s */
        if (i == 4) CHECK(mfs_i64(&g.cols[0], i) == 7);
        else CHECK(!g.cols[0].valid[i]);
    }
    mfs_got_free(&g);
    s->vt->close(s);
    MFS_FREE(fv);
    free(db);
    free(dir);
}

/* A path under a regular file: every call fails with a message naming the
 * path; a view without a table: the message names the view. */
static void test_cannot_open(void) {
    char *dir = new_dir("blocked");
    char *file = mf__xasprintf("%s/afile", dir);
    FILE *f = fopen(file, "w");
    CHECK(f);
    fputs("not a folder\n", f);
    fclose(f);
    char *db = mf__xasprintf("%s/data/online.db", file);
    mf__online *s = open_at(db);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("p", "v");
    mf_error err;
    err.message[0] = 0;
    int rc = mfs_update(s, "p", fv, NULL, NULL, &err);
    CHECK(rc != MF_OK);
    CHECK_HAS(err.message, file);
    mfs_got g;
    int64_t id = 1;
    err.message[0] = 0;
    rc = mfs_read(s, "p", fv, &id, 1, NULL, 0, &g, &err);
    mfs_got_free(&g);
    CHECK(rc != MF_OK);
    CHECK_HAS(err.message, file);
    err.message[0] = 0;
    rc = mfs_put1(s, "p", fv, 1, 1, 0, 1, 1, &err);
    CHECK(rc != MF_OK);
    CHECK_HAS(err.message, file);
    s->vt->close(s);

    /* a good file, a view never created */
    char *db2 = mf__xasprintf("%s/ok.db", dir);
    s = open_at(db2);
    CHECK(s);
    err.message[0] = 0;
    rc = mfs_read(s, "p", fv, &id, 1, NULL, 0, &g, &err);
    mfs_got_free(&g);
    CHECK(rc == MF_ESTORE);
    CHECK_HAS(err.message, "'v'");
    err.message[0] = 0;
    rc = mfs_put1(s, "p", fv, 1, 1, 0, 1, 1, &err);
    CHECK(rc == MF_ESTORE);
    CHECK_HAS(err.message, "'v'");
    /* and once created, the same handle works */
    MFS_OK(mfs_update(s, "p", fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_put1(s, "p", fv, 1, 1, 0, 1, 1, &mfs_e));
    s->vt->close(s);
    MFS_FREE(fv);
    free(db2);
    free(db);
    free(file);
    free(dir);
}

/*---- Entity keys, v3 ----------------------------------------------------------*/

/* bytes == want (n bytes); prints both in hex when not. */
static bool same_bytes(const mf__buf *got, const unsigned char *want, size_t n) {
    if (got->len == n && memcmp(got->data, want, n) == 0) return true;
    printf("#   got  ");
    for (size_t i = 0; i < got->len; i++) printf("%02x", (unsigned char)got->data[i]);
    printf("\n#   want ");
    for (size_t i = 0; i < n; i++) printf("%02x", want[i]);
    printf("\n");
    return false;
}

static void test_ekey_driver_id(void) {
    /* docs/concepts.md, "Online stores": 01000000 02000000 09000000 "driver_id"
     * 04000000 08000000 e903000000000000 */
    static const unsigned char want[] = {
        0x01, 0x00, 0x00, 0x00,                          /* one join key */
        0x02, 0x00, 0x00, 0x00,                          /* type of the name: STRING */
        0x09, 0x00, 0x00, 0x00,                          /* name length 9 */
        'd', 'r', 'i', 'v', 'e', 'r', '_', 'i', 'd',     /* name */
        0x04, 0x00, 0x00, 0x00,                          /* INT64 */
        0x08, 0x00, 0x00, 0x00,                          /* 8 bytes */
        0xe9, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}; /* 1001 */
    const char *names[] = {"driver_id"};
    Mf__ValueType types[] = {MF__VALUE_TYPE__VT_INT64};
    mf__kval v = {1001, NULL, 0};
    size_t order[1];
    mf__ekey_order(names, 1, order);
    mf__buf b;
    mf__buf_init(&b);
    CHECK(mf__ekey_serialize(&b, names, types, &v, 1, order) == 0);
    CHECK(same_bytes(&b, want, sizeof want));
    /* a negative Int64: two's complement, little-endian */
    b.len = 0;
    v.i = -2;
    CHECK(mf__ekey_serialize(&b, names, types, &v, 1, order) == 0);
    CHECK(b.len == sizeof want);
    CHECK(memcmp(b.data + 29, "\xfe\xff\xff\xff\xff\xff\xff\xff", 8) == 0);
    mf__buf_free(&b);
}

static void test_ekey_composite(void) {
    /* given as user_id (Int64) = 7, item (String) = "sku-9": written in
     * sorted name order, item first */
    static const unsigned char want[] = {
        0x02, 0x00, 0x00, 0x00,                               /* two join keys */
        0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,       /* STRING, 4 */
        'i', 't', 'e', 'm',                                   /* "item" */
        0x02, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,       /* STRING, 7 */
        'u', 's', 'e', 'r', '_', 'i', 'd',                    /* "user_id" */
        0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,       /* item: STRING, 5 bytes */
        's', 'k', 'u', '-', '9',                              /* "sku-9" */
        0x04, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,       /* user_id: INT64, 8 */
        0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};      /* 7 */
    const char *names[] = {"user_id", "item"};
    Mf__ValueType types[] = {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_STRING};
    mf__kval v[2] = {{7, NULL, 0}, {0, "sku-9", 5}};
    size_t order[2];
    mf__ekey_order(names, 2, order);
    CHECK(order[0] == 1 && order[1] == 0);
    mf__buf b;
    mf__buf_init(&b);
    CHECK(mf__ekey_serialize(&b, names, types, v, 2, order) == 0);
    CHECK(same_bytes(&b, want, sizeof want));
    /* the same key given the other way round: the same bytes */
    const char *names2[] = {"item", "user_id"};
    Mf__ValueType types2[] = {MF__VALUE_TYPE__VT_STRING, MF__VALUE_TYPE__VT_INT64};
    mf__kval v2[2] = {{0, "sku-9", 5}, {7, NULL, 0}};
    mf__ekey_order(names2, 2, order);
    b.len = 0;
    CHECK(mf__ekey_serialize(&b, names2, types2, v2, 2, order) == 0);
    CHECK(same_bytes(&b, want, sizeof want));
    mf__buf_free(&b);
}

static void test_ekey_other_types(void) {
    /* Int32 = -1 (4 bytes), an empty String, three keys sorted byte-wise
     * ("B" < "a" < "b") */
    static const unsigned char want[] = {
        0x03, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 'B',
        0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 'a',
        0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 'b',
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* B: "" */
        0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, /* a: -1 */
        0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}; /* b: Bytes 00 fe */
    const char *names[] = {"b", "a", "B"};
    Mf__ValueType types[] = {MF__VALUE_TYPE__VT_BYTES, MF__VALUE_TYPE__VT_INT32,
                             MF__VALUE_TYPE__VT_STRING};
    mf__kval v[3] = {{0, "\0\xfe", 2}, {-1, NULL, 0}, {0, "", 0}};
    size_t order[3];
    mf__ekey_order(names, 3, order);
    mf__buf b;
    mf__buf_init(&b);
    CHECK(mf__ekey_serialize(&b, names, types, v, 3, order) == 0);
    CHECK(same_bytes(&b, want, sizeof want));
    /* a float key cannot be serialized */
    Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_DOUBLE};
    size_t one[] = {0};
    b.len = 0;
    CHECK(mf__ekey_serialize(&b, names, ft, v, 1, one) != 0);
    mf__buf_free(&b);
}

/*---- Read reuse ---------------------------------------------------------------*/

/* PRAGMA wal_checkpoint(TRUNCATE) on a connection of its own: 1 when a
 * reader kept it from completing, 0 when it completed, -1 on error. */
static int checkpoint_busy(const char *db_path) {
    sqlite3 *db;
    int busy = -1;
    if (sqlite3_open(db_path, &db) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) busy = sqlite3_column_int(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    return busy;
}

static int64_t read1(mf__online *s, const Mf__FeatureView *fv, int64_t id, int *found) {
    mfs_got g;
    mf_error e;
    int64_t v = INT64_MIN;
    *found = -1;
    if (mfs_read(s, "p", fv, &id, 1, NULL, 0, &g, &e) == MF_OK) {
        *found = g.found[0];
        v = mfs_i64(&g.cols[0], 0);
        mfs_got_free(&g);
    }
    return v;
}

/* A handle reusing its reads for 0.3 s: every write of this process (on
 * any handle of the file) is read back at once; a write of another
 * connection (as another process's) within the bound may be missed, and
 * is seen once the bound has passed; a held read left idle is ended by
 * the sweeper, so a checkpoint completes. */
static void test_read_reuse(void) {
    const int64_t bound = 300000;
    char *dir = new_dir("reuse");
    char *db = mf__xasprintf("%s/online.db", dir);
    mf__online *r = open_reuse(db, bound), *w = open_at(db);
    CHECK(r && w);
    Mf__FeatureView *fv = mfs_view1("p", "v");
    MFS_OK(mfs_update(w, "p", fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_put1(w, "p", fv, 1, 100, 0, 11, 1, &mfs_e));
    int found;
    CHECK(read1(r, fv, 1, &found) == 11 && found == 1);
    /* this process's writes through another handle: read at once, each
     * well within the bound of the read held since the first */
    bool all = true;
    for (int i = 0; i < 20; i++) {
        MFS_OK(mfs_put1(w, "p", fv, 1, 101 + i, 0, 12 + i, 1, &mfs_e));
        if (read1(r, fv, 1, &found) != 12 + i) all = false;
    }
    CHECK(all);
    /* ... also through handles naming the file another way: "dir/./online.db",
     * and a link to the folder */
    char *dot = mf__xasprintf("%s/./online.db", dir);
    char *link = mf__xasprintf("%s.link", dir);
    char *via_link = mf__xasprintf("%s/online.db", link);
    CHECK(symlink(dir, link) == 0);
    mf__online *w2 = open_at(dot), *w3 = open_at(via_link);
    CHECK(w2 && w3);
    MFS_OK(mfs_put1(w2, "p", fv, 1, 150, 0, 40, 1, &mfs_e));
    CHECK(read1(r, fv, 1, &found) == 40);
    MFS_OK(mfs_put1(w3, "p", fv, 1, 151, 0, 41, 1, &mfs_e));
    CHECK(read1(r, fv, 1, &found) == 41);
    w2->vt->close(w2);
    w3->vt->close(w3);
    /* ... and a handle opened before the file's folder existed (the store
     * makes it at its first write) and one opened after, through the link */
    char *deep = mf__xasprintf("%s/new/online.db", link);
    mf__online *r2 = open_reuse(deep, bound);
    CHECK(r2 != NULL);
    MFS_OK(mfs_update(r2, "p", fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_put1(r2, "p", fv, 1, 100, 0, 60, 1, &mfs_e));
    CHECK(read1(r2, fv, 1, &found) == 60);
    mf__online *w4 = open_at(deep);
    CHECK(w4 != NULL);
    MFS_OK(mfs_put1(w4, "p", fv, 1, 101, 0, 61, 1, &mfs_e));
    CHECK(read1(r2, fv, 1, &found) == 61);
    r2->vt->close(r2);
    w4->vt->close(w4);
    free(deep);
    unlink(link);
    free(dot);
    free(link);
    free(via_link);
    /* ... and through the reusing handle itself (its held read ends) */
    MFS_OK(mfs_put1(r, "p", fv, 1, 200, 0, 50, 1, &mfs_e));
    CHECK(read1(r, fv, 1, &found) == 50);
    MFS_OK(mfs_put1(w, "p", fv, 1, 201, 0, 51, 1, &mfs_e));
    CHECK(read1(r, fv, 1, &found) == 51);
    /* another connection's write (not this process's): held reads may
     * miss it within the bound */
    int64_t t0 = mf__mono_us();
    MFS_OK(mfs_put1(w, "p", fv, 2, 100, 0, 7, 1, &mfs_e)); /* r's next read begins anew */
    CHECK(read1(r, fv, 2, &found) == 7);
    CHECK(exec_sql(db, "DELETE FROM \"p:v\"") == SQLITE_OK);
    int64_t stale = read1(r, fv, 2, &found);
    int busy = checkpoint_busy(db);
    if (mf__mono_us() - t0 < bound) {
        /* the held read: the row deleted after it began, and the WAL
         * frames it reads from, are still there */
        CHECK(stale == 7 && found == 1);
        CHECK(busy == 1);
    } else {
        printf("# the machine was too slow to see the held read (%lld us)\n",
               (long long)(mf__mono_us() - t0));
    }
    /* past the bound, idle: the sweeper ended the held read */
    usleep((useconds_t)(2 * bound + 100000));
    CHECK(checkpoint_busy(db) == 0);
    CHECK(read1(r, fv, 2, &found) == INT64_MIN && found == 0);
    CHECK(read1(r, fv, 1, &found) == INT64_MIN && found == 0);
    r->vt->close(r);
    w->vt->close(w);
    MFS_FREE(fv);
    free(db);
    free(dir);
}

/* Threads: two reusing readers while a writer of this process counts up;
 * each reader sees the count never go down, and every reader sees the
 * final count as soon as the writer is done. */
typedef struct reuse_arg {
    const char *db;
    const Mf__FeatureView *fv;
    int *done;         /* atomic */
    int64_t last;      /* the reader's last value */
    int backwards;     /* times it went down */
    int errors;
} reuse_arg;

static void *reuse_reader(void *p) {
    reuse_arg *a = p;
    mf__online *r = open_reuse(a->db, 1000);
    if (!r) {
        a->errors++;
        return NULL;
    }
    a->last = INT64_MIN;
    for (;;) {
        bool done = __atomic_load_n(a->done, __ATOMIC_ACQUIRE);
        int64_t id = 1, v = INT64_MIN;
        mfs_got g;
        mf_error e;
        if (mfs_read(r, "p", a->fv, &id, 1, NULL, 0, &g, &e) == MF_OK) {
            v = mfs_i64(&g.cols[0], 0);
            mfs_got_free(&g);
        } else {
            a->errors++;
        }
        if (v < a->last) a->backwards++;
        a->last = v;
        if (done) break; /* this read began after the writer's last commit */
    }
    r->vt->close(r);
    return NULL;
}

static void test_read_reuse_threads(void) {
    char *dir = new_dir("reuse_threads");
    char *db = mf__xasprintf("%s/online.db", dir);
    mf__online *w = open_at(db);
    CHECK(w);
    Mf__FeatureView *fv = mfs_view1("p", "v");
    MFS_OK(mfs_update(w, "p", fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_put1(w, "p", fv, 1, 1, 0, 0, 1, &mfs_e));
    int done = 0;
    reuse_arg a[2] = {{db, fv, &done, 0, 0, 0}, {db, fv, &done, 0, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, reuse_reader, &a[i]);
    const int n = 200;
    for (int i = 1; i <= n; i++) {
        MFS_OK(mfs_put1(w, "p", fv, 1, 1 + i, 0, i, 1, &mfs_e));
        if (i % 20 == 0) usleep(2000); /* some held reads expire, some are swept */
    }
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].errors == 0 && a[i].backwards == 0);
        CHECK(a[i].last == n);
    }
    w->vt->close(w);
    MFS_FREE(fv);
    free(db);
    free(dir);
}

/* Split reads: a call of split_keys keys or more over several views reads
 * its views on two connections (the helper made at the first such call),
 * with the answers of a store that does not split; an error in either half
 * fails the call, names the view, and leaves the store usable; a smaller
 * call, or a single view, stays on one connection. */
static int split_read(mf__online *s, Mf__FeatureView **fv, size_t nv, const int64_t *ids,
                      size_t n, mfs_got *g, mf_error *err) {
    mfs_keys k;
    mfs_keys_make(&k, ids, n);
    static const size_t feat0[] = {0};
    mf__read_batch b[4];
    mf__col *outs[4];
    for (size_t v = 0; v < nv; v++) {
        memset(&g[v], 0, sizeof g[v]);
        g[v].n = n, g[v].nfeat = 1;
        g[v].cols = mf__xcalloc(1, sizeof *g[v].cols);
        g[v].found = mf__xmalloc(n);
        g[v].ts = mf__xmalloc(n * sizeof *g[v].ts);
        memset(g[v].found, 7, n);
        mf__col_init(g[v].cols, "v", MF__VALUE_TYPE__VT_INT64, false);
        outs[v] = g[v].cols;
        b[v] = (mf__read_batch){fv[v]->spec, n, k.p, k.len, feat0, 1, &outs[v], g[v].found, g[v].ts};
    }
    int rc = s->vt->read_many(s, "p", b, nv, err);
    mfs_keys_free(&k);
    return rc;
}

/* Every view v (0-based) holds id -> id * 10 + v at event time 100 + id
 * for ids 1..50; id 99 is absent. */
static bool split_answers_ok(const mfs_got *g, size_t nv, const int64_t *ids, size_t n) {
    for (size_t v = 0; v < nv; v++)
        for (size_t i = 0; i < n; i++) {
            bool there = ids[i] != 99;
            if (g[v].found[i] != (there ? 1 : 0)) return false;
            if (mfs_i64(&g[v].cols[0], i) != (there ? ids[i] * 10 + (int64_t)v : INT64_MIN))
                return false;
            if (there && g[v].ts[i] != 100 + ids[i]) return false;
        }
    return true;
}

static void split_free(mfs_got *g, size_t nv) {
    for (size_t v = 0; v < nv; v++) mfs_got_free(&g[v]);
}

static void test_split_reads(void) {
    char *dir = new_dir("split");
    for (int reuse = 0; reuse < 2; reuse++) {
        char *db = mf__xasprintf("%s/online%d.db", dir, reuse);
        mf__online *s = NULL, *small = NULL;
        mf_error err;
        CHECK(mf__online_sqlite_open(db, reuse ? 100000 : 0, 0, 8, &s, &err) == MF_OK);
        CHECK(mf__online_sqlite_open(db, reuse ? 100000 : 0, 0, 1000, &small, &err) == MF_OK);
        if (!s || !small) return;
        Mf__FeatureView *fv[4] = {mfs_view1("p", "a"), mfs_view1("p", "b"), mfs_view1("p", "c"),
                                  mfs_view1("p", "gone")};
        MFS_OK(s->vt->update(s, "p", fv, 3, NULL, 0, &mfs_e));
        for (int64_t id = 1; id <= 50; id++)
            for (int v = 0; v < 3; v++)
                MFS_OK(mfs_put1(s, "p", fv[v], id, 100 + id, 0, id * 10 + v, 1, &mfs_e));
        const int64_t ids[] = {3, 99, 50, 1, 7};
        mfs_got g[4];
        /* 15 keys over 3 views: split (the first view here, two there) */
        CHECK(mf__online_sqlite_split(s) == 0);
        CHECK(split_read(s, fv, 3, ids, 5, g, &err) == MF_OK);
        CHECK(split_answers_ok(g, 3, ids, 5));
        split_free(g, 3);
        CHECK(mf__online_sqlite_split(s) == 1);
        /* the same call below the threshold: the same answers, no helper */
        CHECK(split_read(small, fv, 3, ids, 5, g, &err) == MF_OK);
        CHECK(split_answers_ok(g, 3, ids, 5));
        split_free(g, 3);
        CHECK(mf__online_sqlite_split(small) == 0);
        /* one view, however many keys: no split needed */
        int64_t many[40];
        for (int i = 0; i < 40; i++) many[i] = i + 1;
        CHECK(split_read(small, fv, 1, many, 40, g, &err) == MF_OK);
        CHECK(split_answers_ok(g, 1, many, 40));
        split_free(g, 1);
        CHECK(mf__online_sqlite_split(small) == 0);
        /* a write between calls is read by both halves */
        for (int v = 0; v < 3; v++)
            MFS_OK(mfs_put1(s, "p", fv[v], 7, 200, 0, 1000 + v, 1, &mfs_e));
        CHECK(split_read(s, fv, 3, ids, 5, g, &err) == MF_OK);
        for (int v = 0; v < 3; v++) CHECK(mfs_i64(&g[v].cols[0], 4) == 1000 + v && g[v].ts[4] == 200);
        split_free(g, 3);
        for (int v = 0; v < 3; v++)
            MFS_OK(mfs_put1(s, "p", fv[v], 7, 300, 0, 70 + v, 1, &mfs_e));
        /* a view with no table in the helper's half, then in this thread's */
        Mf__FeatureView *bad1[3] = {fv[0], fv[1], fv[3]}, *bad2[3] = {fv[3], fv[0], fv[1]};
        err.message[0] = 0;
        CHECK(split_read(s, bad1, 3, ids, 5, g, &err) == MF_ESTORE);
        CHECK(strstr(err.message, "feature view 'gone' has no table") != NULL);
        split_free(g, 3);
        err.message[0] = 0;
        CHECK(split_read(s, bad2, 3, ids, 5, g, &err) == MF_ESTORE);
        CHECK(strstr(err.message, "feature view 'gone' has no table") != NULL);
        split_free(g, 3);
        /* and the store still answers, split */
        CHECK(split_read(s, fv, 3, ids, 5, g, &err) == MF_OK);
        for (int v = 0; v < 3; v++) CHECK(mfs_i64(&g[v].cols[0], 4) == 70 + v && g[v].ts[4] == 300);
        split_free(g, 3);
        s->vt->close(s);
        small->vt->close(small);
        for (int v = 0; v < 4; v++) MFS_FREE(fv[v]);
        free(db);
    }
    free(dir);
}

/* A store of views a and b under p, ids 1..50 (value id * 10 + view,
 * event time 100 + id), at path with the given reuse and split threshold. */
static mf__online *split_store(const char *path, int64_t reuse_us, int64_t split_keys,
                               Mf__FeatureView **fv) {
    mf__online *s = NULL;
    mf_error err;
    if (mf__online_sqlite_open(path, reuse_us, 0, split_keys, &s, &err) != MF_OK) return NULL;
    fv[0] = mfs_view1("p", "a");
    fv[1] = mfs_view1("p", "b");
    if (s->vt->update(s, "p", fv, 2, NULL, 0, &err) != MF_OK) goto fail;
    for (int64_t id = 1; id <= 50; id++)
        for (int v = 0; v < 2; v++)
            if (mfs_put1(s, "p", fv[v], id, 100 + id, 0, id * 10 + v, 1, &err) != MF_OK) goto fail;
    return s;
fail:
    printf("#   %s: %s\n", path, err.message);
    s->vt->close(s);
    MFS_FREE(fv[0]);
    MFS_FREE(fv[1]);
    return NULL;
}

/* When the second connection cannot be opened (here: no file descriptor
 * is left once this one is open), a call large enough to split reads on
 * this connection alone, and answers, instead of failing. */
static void test_split_no_twin(void) {
    char *dir = new_dir("split_no_twin");
    char *db = mf__xasprintf("%s/online.db", dir);
    Mf__FeatureView *fv[2];
    mf__online *s = split_store(db, 0, 4, fv);
    CHECK(s);
    if (!s) return;
    const int64_t ids[] = {3, 99, 50, 1, 7};
    mfs_got g[2];
    mf_error err;
    CHECK(split_read(s, fv, 1, ids, 5, g, &err) == MF_OK); /* one view: this connection */
    split_free(g, 1);
    struct rlimit old, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    int fd = open("/dev/null", O_RDONLY); /* the lowest free descriptor */
    CHECK(fd >= 0);
    close(fd);
    low = old;
    low.rlim_cur = (rlim_t)fd;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    err.message[0] = 0;
    int rc = split_read(s, fv, 2, ids, 5, g, &err);
    int helper = mf__online_sqlite_split(s);
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    if (rc != MF_OK) printf("#   split read without a second connection: %s\n", err.message);
    CHECK(rc == MF_OK && split_answers_ok(g, 2, ids, 5));
    CHECK(helper == 0);
    split_free(g, 2);
    /* and later calls, descriptors free again, still answer */
    CHECK(split_read(s, fv, 2, ids, 5, g, &err) == MF_OK && split_answers_ok(g, 2, ids, 5));
    split_free(g, 2);
    s->vt->close(s);
    MFS_FREE(fv[0]);
    MFS_FREE(fv[1]);
    free(db);
    free(dir);
}

/* With read reuse, a thread's reads never go back in time across a split
 * call: a write by another process (here a second handle on the file under
 * another spelling of its path, so that this handle does not count it as
 * its own) that a split call's helper half shows is shown by the thread's
 * next call too, though its own connection held a snapshot from before. */
static void test_split_never_back(void) {
    char *dir = new_dir("split_back");
    char *db = mf__xasprintf("%s/online.db", dir), *other = mf__xasprintf("%s/./online.db", dir);
    Mf__FeatureView *fv[2];
    mf__online *s = split_store(db, 1000000, 4, fv), *w = NULL;
    mf_error err;
    CHECK(s);
    CHECK(mf__online_sqlite_open(other, 0, 0, 0, &w, &err) == MF_OK);
    if (!s || !w) return;
    const int64_t seven[] = {7}, ids[] = {3, 99, 50, 1, 7};
    mfs_got g[2];
    /* this thread reads view b alone: its connection holds that snapshot */
    CHECK(split_read(s, fv + 1, 1, seven, 1, g, &err) == MF_OK);
    CHECK(mfs_i64(&g[0].cols[0], 0) == 71);
    split_free(g, 1);
    MFS_OK(mfs_put1(w, "p", fv[1], 7, 200, 0, 999, 1, &mfs_e));
    /* a split call: view a here, view b on the helper's connection */
    CHECK(split_read(s, fv, 2, ids, 5, g, &err) == MF_OK);
    CHECK(mf__online_sqlite_split(s) == 1);
    int64_t in_split = mfs_i64(&g[1].cols[0], 4);
    split_free(g, 2);
    CHECK(split_read(s, fv + 1, 1, seven, 1, g, &err) == MF_OK);
    int64_t after = mfs_i64(&g[0].cols[0], 0);
    split_free(g, 1);
    if (in_split != 999 || after != 999)
        printf("#   key 7 of view b: %lld in the split call, then %lld\n", (long long)in_split,
               (long long)after);
    CHECK(in_split == 999 && after == 999);
    w->vt->close(w);
    s->vt->close(s);
    MFS_FREE(fv[0]);
    MFS_FREE(fv[1]);
    free(db);
    free(other);
    free(dir);
}

/* The memory map: with mmap_size_mb not set (-1), a connection maps a file
 * of 64 MiB or more (SQLite's largest map) and none smaller, decided as it
 * opens; a size given is kept whatever the file's size, 0 included. */
static mf__online *open_map(const char *path, int64_t bytes) {
    mf__online *s = NULL;
    mf_error err;
    if (mf__online_sqlite_open(path, 0, bytes, 0, &s, &err) != MF_OK ||
        s->vt->ping(s, &err) != MF_OK) {
        printf("#   open %s: %s\n", path, err.message);
        if (s) s->vt->close(s);
        return NULL;
    }
    return s;
}

static void test_map_auto(void) {
    char *dir = new_dir("map");
    char *path = mf__xasprintf("%s/online.db", dir);
    mf__online *s = open_map(path, -1);
    CHECK(s);
    if (s) {
        CHECK(mf__online_sqlite_map(s) == 0); /* a new, small file */
        s->vt->close(s);
    }
    /* the file grows past 64 MiB (another table, as a store's views would) */
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE filler(b); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                       "SELECT x + 1 FROM c WHERE x < 66) INSERT INTO filler SELECT "
                       "zeroblob(1048576) FROM c; PRAGMA wal_checkpoint(TRUNCATE);",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size >= (INT64_C(64) << 20));
    s = open_map(path, -1);
    CHECK(s);
    if (s) {
        int64_t m = mf__online_sqlite_map(s);
        if (m < (INT64_C(1) << 30)) printf("#   map of a %lld-byte file: %lld\n", (long long)st.st_size, (long long)m);
        CHECK(m >= (INT64_C(1) << 30));
        s->vt->close(s);
    }
    s = open_map(path, 0);
    CHECK(s);
    if (s) {
        CHECK(mf__online_sqlite_map(s) == 0);
        s->vt->close(s);
    }
    s = open_map(path, INT64_C(8) << 20);
    CHECK(s);
    if (s) {
        CHECK(mf__online_sqlite_map(s) == (INT64_C(8) << 20));
        s->vt->close(s);
    }
    free(path);
    free(dir);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    tmp_root = mf__xasprintf("%s/mft_online_sqlite_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        printf("not ok - mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    char *suite_db = mf__xasprintf("%s/suite/data/online.db", tmp_root);
    mf__online *s = open_at(suite_db);
    if (s) {
        mfs_run_all(s, "sqlite", "proj");
        s->vt->close(s);
    } else {
        printf("not ok - open the suite's store\n");
        mft_failed++;
    }
    /* the same on a handle that reuses its reads (for 1 s) */
    char *reuse_db = mf__xasprintf("%s/suite_reuse/data/online.db", tmp_root);
    s = open_reuse(reuse_db, 1000000);
    if (s) {
        mfs_run_all(s, "sqlite_reuse", "proj");
        s->vt->close(s);
    } else {
        printf("not ok - open the reuse suite's store\n");
        mft_failed++;
    }
    free(reuse_db);
    RUN(test_layout);
    RUN(test_two_handles);
    RUN(test_damaged_rows);
    RUN(test_cannot_open);
    RUN(test_map_auto);
    RUN(test_read_reuse);
    RUN(test_read_reuse_threads);
    RUN(test_split_reads);
    RUN(test_split_no_twin);
    RUN(test_split_never_back);
    RUN(test_ekey_driver_id);
    RUN(test_ekey_composite);
    RUN(test_ekey_other_types);
    nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp_root);
    free(suite_db);
    MFT_END();
}
