/*
 * test_push.c — pushes and direct writes through the public C API (push.c
 * over the SQLite online store), with rows built in memory
 * (mf_entity_df_new + add_int64 / add_timestamps / add_text).
 *
 * The repo (project "pu"): entity driver (driver_id Int64); file source
 * "src" (data/stats.csv, ts, created); push source "ps" on it; view
 * "fresh" fed by ps and view "batch" fed by src directly, both with trips
 * Int64, rate Float64, label String; view "offline_only" (online = false)
 * on another CSV; push source "kps" (data/keys.csv) feeding views keyed by
 * one entity each: "v32" (d32 Int32), "vts" (tk UnixTimestamp), "vb" (bk
 * Bool), each with n Int64. Each test uses its own driver ids, so the
 * order of the tests does not matter.
 *
 * Checked: mf_push online then mf_get_online_features returns the values,
 * statuses and event times (and leaves the batch CSV and views the source
 * does not feed alone); newer-wins (older event time, equal event time with
 * a smaller / greater created time); mf_push with a missing column returns
 * MF_EREQUEST and a value that does not parse MF_EDATA, writing nothing
 * (CSV bytes, online values); mf_push offline appends the exact text and a
 * later mf_materialize loads it; a push of no rows; unknown / non-push
 * sources and a bad destination; mf_write_to_online_store writes, keeps
 * newer values and refuses an unknown view and an offline view; join keys
 * given as integers: an Int32 key outside Int32 (2^32 + 5, -2^31 - 1) is
 * refused by push and write (never stored wrapped), the bounds are keys; a
 * UnixTimestamp key is epoch seconds, a Bool key 0 or 1; event and created
 * times given as integers (epoch seconds) or microseconds outside the
 * years 0001..9999, or overflowing as microseconds, are refused naming the
 * value, writing nothing; the bounds are accepted and read back.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_internal.h"
#include "mft.h"

static char *tmp_root, *repo, *csv_path;
static mf_store *store;

static const int64_t S = 1000000;
static const int64_t T0 = 1735689600; /* 2025-01-01T00:00:00Z */
static const int64_t T1 = 1735776000; /* 2025-01-02T00:00:00Z */
static const int64_t T2 = 1735862400; /* 2025-01-03T00:00:00Z */

static const char csv_text[] = "driver_id,ts,created,trips,rate,label\n"
                               "1,2025-01-01T00:00:00Z,,1,0.5,old\n";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The whole file as a NUL-terminated string (caller frees), or NULL. */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    mf__buf b;
    mf__buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) mf__buf_put(&b, chunk, n);
    fclose(f);
    mf__buf_putc(&b, '\0');
    return mf__buf_steal(&b);
}

static int make_repo(void) {
    repo = mf__xasprintf("%s/repo", tmp_root);
    char *data = mf__xasprintf("%s/data", repo);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", repo);
    char *defs = mf__xasprintf("%s/defs.lua", repo);
    char *other = mf__xasprintf("%s/data/other.csv", repo);
    char *keys = mf__xasprintf("%s/data/keys.csv", repo);
    csv_path = mf__xasprintf("%s/data/stats.csv", repo);
    const char *dtext =
        "local driver = entity { name = 'driver', join_keys = { 'driver_id' }, value_type = Int64 }\n"
        "local src = file_source { name = 'src', path = 'data/stats.csv', timestamp_field = 'ts',\n"
        "  created_timestamp_column = 'created' }\n"
        "local ps = push_source { name = 'ps', batch_source = src }\n"
        "local schema = { field { name = 'trips', dtype = Int64 },\n"
        "  field { name = 'rate', dtype = Float64 }, field { name = 'label', dtype = String } }\n"
        "feature_view { name = 'fresh', entities = { driver }, ttl = 0, schema = schema, source = ps }\n"
        "feature_view { name = 'batch', entities = { driver }, ttl = 0, schema = schema, source = src }\n"
        "local osrc = file_source { name = 'osrc', path = 'data/other.csv', timestamp_field = 'ts' }\n"
        "feature_view { name = 'offline_only', entities = { driver }, ttl = 0, online = false,\n"
        "  schema = { field { name = 'x', dtype = Int64 } }, source = osrc }\n"
        "local d32 = entity { name = 'd32', join_keys = { 'd32' }, value_type = Int32 }\n"
        "local tkey = entity { name = 'tkey', join_keys = { 'tk' }, value_type = UnixTimestamp }\n"
        "local bkey = entity { name = 'bkey', join_keys = { 'bk' }, value_type = Bool }\n"
        "local ksrc = file_source { name = 'ksrc', path = 'data/keys.csv', timestamp_field = 'ts' }\n"
        "local kps = push_source { name = 'kps', batch_source = ksrc }\n"
        "local nschema = { field { name = 'n', dtype = Int64 } }\n"
        "feature_view { name = 'v32', entities = { d32 }, ttl = 0, schema = nschema, source = kps }\n"
        "feature_view { name = 'vts', entities = { tkey }, ttl = 0, schema = nschema, source = kps }\n"
        "feature_view { name = 'vb', entities = { bkey }, ttl = 0, schema = nschema, source = kps }\n";
    int rc = (mkdir(repo, 0700) == 0 && mkdir(data, 0700) == 0 &&
              write_text(yaml, "project: pu\n") == 0 && write_text(defs, dtext) == 0 &&
              write_text(csv_path, csv_text) == 0 &&
              write_text(other, "driver_id,ts,x\n1,2025-01-01T00:00:00Z,1\n") == 0 &&
              write_text(keys, "d32,tk,bk,ts,n\n1,2025-01-01T00:00:00Z,true,2025-01-01T00:00:00Z,1\n") == 0)
                 ? 0
                 : -1;
    if (rc) printf("#   cannot write the repo in %s: %s\n", repo, strerror(errno));
    free(data);
    free(yaml);
    free(defs);
    free(other);
    free(keys);
    if (rc) return rc;
    mf_error err;
    mf_open_options o = {NULL, 0};
    if (mf_store_open(repo, &o, &store, &err) != MF_OK || mf_apply(store, NULL, &err) != MF_OK) {
        printf("#   preparing %s: %s\n", repo, err.message);
        return -1;
    }
    return 0;
}

#define API_OK(call)                                                          \
    do {                                                                      \
        int api_rc = (call);                                                  \
        if (api_rc != MF_OK) {                                                \
            printf("#   %s:%d: %s failed (%d): %s\n", __FILE__, __LINE__,    \
                   #call, api_rc, err.message);                               \
            mft_failed_now = 1;                                               \
            return;                                                           \
        }                                                                     \
    } while (0)

/*---- Online reads -----------------------------------------------------------*/

/* One feature cell of one driver. */
typedef struct cell {
    mf_status_code st;
    int null;
    int64_t i;
    double d;
    char s[64];
    int64_t ts;
} cell;

/* Read trips, rate, label of `view` for driver `id` into c[0..2]. */
static int read3(const char *view, int64_t id, cell c[3]) {
    char r0[64], r1[64], r2[64];
    snprintf(r0, sizeof r0, "%s:trips", view);
    snprintf(r1, sizeof r1, "%s:rate", view);
    snprintf(r2, sizeof r2, "%s:label", view);
    const char *refs[3] = {r0, r1, r2};
    mf_error err;
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    int rc = mf_online_request_set_features(req, refs, 3, &err);
    if (rc == MF_OK) rc = mf_online_request_add_int64(req, "driver_id", &id, 1, &err);
    if (rc == MF_OK) rc = mf_get_online_features(store, req, resp, &err);
    if (rc == MF_OK && (mf_online_response_ncols(resp) != 4 || mf_online_response_nrows(resp) != 1)) {
        printf("#   response of %zu columns, %zu rows\n", mf_online_response_ncols(resp),
               mf_online_response_nrows(resp));
        rc = MF_EINTERNAL;
    }
    for (size_t k = 0; rc == MF_OK && k < 3; k++) {
        cell *x = &c[k];
        memset(x, 0, sizeof *x);
        x->st = mf_online_response_status(resp, k + 1, 0);
        x->null = mf_online_response_is_null(resp, k + 1, 0);
        x->ts = mf_online_response_event_ts(resp, k + 1, 0);
        x->i = mf_online_response_int64(resp, k + 1, 0);
        x->d = mf_online_response_double(resp, k + 1, 0);
        size_t len = 0;
        const char *p = mf_online_response_text(resp, k + 1, 0, &len);
        if (p) snprintf(x->s, sizeof x->s, "%.*s", (int)len, p);
    }
    if (rc) printf("#   reading %s for driver %lld: %s\n", view, (long long)id, err.message);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    return rc;
}

/* Whether driver id has, in view, exactly these values at event time ts
 * (label NULL = a null label). */
static bool has(const char *view, int64_t id, int64_t ts, int64_t trips, double rate,
                const char *label) {
    cell c[3];
    if (read3(view, id, c) != MF_OK) return false;
    bool ok = c[0].st == MF_STATUS_PRESENT && !c[0].null && c[0].i == trips && c[0].ts == ts &&
              c[1].st == MF_STATUS_PRESENT && !c[1].null && c[1].d == rate && c[1].ts == ts &&
              c[2].ts == ts &&
              (label ? c[2].st == MF_STATUS_PRESENT && strcmp(c[2].s, label) == 0
                     : c[2].st == MF_STATUS_NULL_VALUE && c[2].null);
    if (!ok)
        printf("#   %s driver %lld: trips %s %lld @%lld, rate %s %g, label %s '%s' (want %lld, "
               "%g, '%s' @%lld)\n",
               view, (long long)id, mf_status_name(c[0].st), (long long)c[0].i,
               (long long)c[0].ts, mf_status_name(c[1].st), c[1].d, mf_status_name(c[2].st),
               c[2].s, (long long)trips, rate, label ? label : "(null)", (long long)ts);
    return ok;
}

static bool absent(const char *view, int64_t id) {
    cell c[3];
    if (read3(view, id, c) != MF_OK) return false;
    for (int k = 0; k < 3; k++)
        if (c[k].st != MF_STATUS_NOT_FOUND) {
            printf("#   %s driver %lld: feature %d is %s, want NOT_FOUND\n", view, (long long)id,
                   k, mf_status_name(c[k].st));
            return false;
        }
    return true;
}

/* A frame of one row: driver_id, ts, created (created_us < 0: no column),
 * trips, rate (text), label (text). */
static mf_entity_df *row1(int64_t id, int64_t ts_us, int64_t created_us, int64_t trips,
                          const char *rate, const char *label) {
    mf_error err;
    mf_entity_df *df = mf_entity_df_new(1);
    const char *r[1] = {rate}, *l[1] = {label};
    if (mf_entity_df_add_int64(df, "driver_id", &id, NULL, &err) != MF_OK ||
        mf_entity_df_add_timestamps(df, "ts", &ts_us, &err) != MF_OK ||
        (created_us >= 0 && mf_entity_df_add_timestamps(df, "created", &created_us, &err) != MF_OK) ||
        mf_entity_df_add_int64(df, "trips", &trips, NULL, &err) != MF_OK ||
        mf_entity_df_add_text(df, "rate", r, &err) != MF_OK ||
        mf_entity_df_add_text(df, "label", l, &err) != MF_OK) {
        printf("#   building a frame: %s\n", err.message);
        mf_entity_df_free(df);
        return NULL;
    }
    return df;
}

/*---- Tests -------------------------------------------------------------------*/

static void test_push_online(void) {
    mf_error err;
    char *before = read_text(csv_path);
    CHECK(before);
    mf_entity_df *df = mf_entity_df_new(3);
    int64_t ids[3] = {10, 11, 12};
    int64_t ts[3] = {T1 * S, (T1 + 1) * S, (T1 + 2) * S};
    int64_t cr[3] = {T1 * S, T1 * S, T1 * S};
    int64_t trips[3] = {100, 110, 0};
    uint8_t trips_ok[3] = {1, 1, 0};
    const char *rate[3] = {"0.25", "1.5", "-2"};
    const char *label[3] = {"a", NULL, "c"};
    int rc = mf_entity_df_add_int64(df, "driver_id", ids, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", ts, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "created", cr, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "trips", trips, trips_ok, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "rate", rate, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "label", label, &err);
    if (rc == MF_OK) rc = mf_push(store, "ps", df, MF_PUSH_ONLINE, &err);
    mf_entity_df_free(df);
    if (rc) printf("#   push: %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK(has("fresh", 10, T1 * S, 100, 0.25, "a"));
    CHECK(has("fresh", 11, (T1 + 1) * S, 110, 1.5, NULL));
    cell c[3];
    CHECK(read3("fresh", 12, c) == MF_OK);
    CHECK(c[0].st == MF_STATUS_NULL_VALUE && c[0].null && c[0].ts == (T1 + 2) * S);
    CHECK(c[1].st == MF_STATUS_PRESENT && c[1].d == -2.0);
    CHECK(c[2].st == MF_STATUS_PRESENT && strcmp(c[2].s, "c") == 0);
    CHECK(absent("fresh", 13));
    CHECK(absent("batch", 10)); /* the push source does not feed it */
    char *after = read_text(csv_path);
    bool same = after && strcmp(before, after) == 0;
    free(before);
    free(after);
    CHECK(same);
}

static void test_push_newer_wins(void) {
    mf_error err;
    mf_entity_df *df;
    CHECK((df = row1(15, T1 * S, T1 * S, 150, "1", "first")));
    int rc = mf_push(store, "ps", df, MF_PUSH_ONLINE, &err);
    mf_entity_df_free(df);
    CHECK(rc == MF_OK);
    CHECK(has("fresh", 15, T1 * S, 150, 1, "first"));
    /* older event time: kept */
    CHECK((df = row1(15, T0 * S, T2 * S, 151, "2", "older")));
    rc = mf_push(store, "ps", df, MF_PUSH_ONLINE, &err);
    mf_entity_df_free(df);
    CHECK(rc == MF_OK);
    CHECK(has("fresh", 15, T1 * S, 150, 1, "first"));
    /* equal event time, greater created: replaced */
    CHECK((df = row1(15, T1 * S, (T1 + 10) * S, 152, "3", "greater")));
    rc = mf_push(store, "ps", df, MF_PUSH_ONLINE, &err);
    mf_entity_df_free(df);
    CHECK(rc == MF_OK);
    CHECK(has("fresh", 15, T1 * S, 152, 3, "greater"));
    /* equal event time, smaller created: kept */
    CHECK((df = row1(15, T1 * S, (T1 + 5) * S, 153, "4", "smaller")));
    rc = mf_push(store, "ps", df, MF_PUSH_ONLINE, &err);
    mf_entity_df_free(df);
    CHECK(rc == MF_OK);
    CHECK(has("fresh", 15, T1 * S, 152, 3, "greater"));
    /* newer event time: replaced */
    CHECK((df = row1(15, T2 * S, -1, 154, "5", "newer")));
    rc = mf_push(store, "ps", df, MF_PUSH_ONLINE, &err);
    mf_entity_df_free(df);
    CHECK(rc == MF_OK);
    CHECK(has("fresh", 15, T2 * S, 154, 5, "newer"));
}

static void test_push_missing_column_writes_nothing(void) {
    mf_error err;
    char *before = read_text(csv_path);
    CHECK(before);
    /* no rate column */
    mf_entity_df *df = mf_entity_df_new(1);
    int64_t id = 20, ts = T1 * S, trips = 200;
    const char *label[1] = {"z"};
    int rc = mf_entity_df_add_int64(df, "driver_id", &id, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", &ts, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "trips", &trips, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "label", label, &err);
    if (rc != MF_OK) {
        mf_entity_df_free(df);
        free(before);
        CHECK(rc == MF_OK);
    }
    rc = mf_push(store, "ps", df, MF_PUSH_ONLINE_AND_OFFLINE, &err);
    int rc_online = mf_push(store, "ps", df, MF_PUSH_ONLINE, &err);
    mf_entity_df_free(df);
    char *after = read_text(csv_path);
    bool same = after && strcmp(before, after) == 0;
    free(before);
    free(after);
    CHECK(rc == MF_EREQUEST);
    CHECK(rc_online == MF_EREQUEST);
    CHECK(err.code == MF_EREQUEST);
    CHECK_HAS(err.message, "'rate'");
    CHECK_HAS(err.message, "'fresh'");
    CHECK(same);
    CHECK(absent("fresh", 20));
}

static void test_push_bad_value_writes_nothing(void) {
    mf_error err;
    char *before = read_text(csv_path);
    CHECK(before);
    /* row 1 is fine, row 2's trips is not an Int64 */
    mf_entity_df *df = mf_entity_df_new(2);
    int64_t ids[2] = {21, 22}, ts[2] = {T1 * S, T1 * S};
    const char *trips[2] = {"7", "x7"}, *rate[2] = {"1", "2"}, *label[2] = {"p", "q"};
    int rc = mf_entity_df_add_int64(df, "driver_id", ids, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", ts, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "trips", trips, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "rate", rate, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "label", label, &err);
    if (rc == MF_OK) rc = mf_push(store, "ps", df, MF_PUSH_ONLINE_AND_OFFLINE, &err);
    mf_entity_df_free(df);
    char *after = read_text(csv_path);
    bool same = after && strcmp(before, after) == 0;
    free(before);
    free(after);
    CHECK(rc == MF_EDATA);
    CHECK_HAS(err.message, "row 2");
    CHECK_HAS(err.message, "'trips'");
    CHECK_HAS(err.message, "'x7'");
    CHECK(same);
    CHECK(absent("fresh", 21));
    CHECK(absent("fresh", 22));
}

static void test_push_offline_then_materialize(void) {
    mf_error err;
    char *before = read_text(csv_path);
    CHECK(before);
    mf_entity_df *df = row1(30, T2 * S, -1, 300, "0.75", "x,\"y\"");
    int rc = df ? mf_push(store, "ps", df, MF_PUSH_OFFLINE, &err) : MF_EINTERNAL;
    mf_entity_df_free(df);
    char *after = read_text(csv_path);
    char *want = mf__xasprintf("%s30,2025-01-03T00:00:00Z,,300,0.75,\"x,\"\"y\"\"\"\n", before);
    bool same = after && strcmp(after, want) == 0;
    if (!same) printf("#   CSV after the push:\n%s#   want:\n%s", after ? after : "(none)", want);
    free(before);
    free(after);
    free(want);
    if (rc) printf("#   push: %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK(same);
    CHECK(absent("fresh", 30));
    const char *views[1] = {"fresh"};
    API_OK(mf_materialize(store, T2 * S, T2 * S, views, 1, NULL, &err));
    CHECK(has("fresh", 30, T2 * S, 300, 0.75, "x,\"y\""));
}

static void test_push_no_rows(void) {
    mf_error err;
    char *before = read_text(csv_path);
    CHECK(before);
    mf_entity_df *df = mf_entity_df_new(0);
    int rc = mf_entity_df_add_int64(df, "driver_id", NULL, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "trips", NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "rate", NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "label", NULL, &err);
    if (rc == MF_OK) rc = mf_push(store, "ps", df, MF_PUSH_ONLINE_AND_OFFLINE, &err);
    mf_entity_df_free(df);
    char *after = read_text(csv_path);
    bool same = after && strcmp(before, after) == 0;
    free(before);
    free(after);
    if (rc) printf("#   push: %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK(same);
}

static void test_push_bad_calls(void) {
    mf_error err;
    mf_entity_df *df = row1(50, T1 * S, -1, 500, "1", "b");
    CHECK(df);
    int r1 = mf_push(store, "nope", df, MF_PUSH_ONLINE, &err);
    bool m1 = strstr(err.message, "unknown push source 'nope'") != NULL;
    int r2 = mf_push(store, "src", df, MF_PUSH_ONLINE, &err);
    bool m2 = strstr(err.message, "'src' is not a push source") != NULL;
    int r3 = mf_push(store, "ps", df, (mf_push_to)0, &err);
    int r4 = mf_push(store, "ps", df, (mf_push_to)7, &err);
    mf_entity_df_free(df);
    CHECK(r1 == MF_ENOTFOUND && m1);
    CHECK(r2 == MF_ENOTFOUND && m2);
    CHECK(r3 == MF_EUSAGE);
    CHECK(r4 == MF_EUSAGE);
    CHECK(absent("fresh", 50));
}

static void test_write_to_online_store(void) {
    mf_error err;
    char *before = read_text(csv_path);
    CHECK(before);
    mf_entity_df *df = row1(40, T1 * S, T1 * S, 400, "4.5", "w");
    CHECK(df);
    int rc = mf_write_to_online_store(store, "batch", df, &err);
    mf_entity_df_free(df);
    if (rc) printf("#   write: %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK(has("batch", 40, T1 * S, 400, 4.5, "w"));
    CHECK(absent("fresh", 40));
    /* older: kept; equal event time, greater created: replaced */
    CHECK((df = row1(40, T0 * S, -1, 401, "5", "older")));
    rc = mf_write_to_online_store(store, "batch", df, &err);
    mf_entity_df_free(df);
    CHECK(rc == MF_OK);
    CHECK(has("batch", 40, T1 * S, 400, 4.5, "w"));
    CHECK((df = row1(40, T1 * S, (T1 + 1) * S, 402, "6", "again")));
    rc = mf_write_to_online_store(store, "batch", df, &err);
    mf_entity_df_free(df);
    CHECK(rc == MF_OK);
    CHECK(has("batch", 40, T1 * S, 402, 6, "again"));
    /* refusals */
    CHECK((df = row1(41, T1 * S, -1, 410, "1", "r")));
    int r1 = mf_write_to_online_store(store, "nope", df, &err);
    bool m1 = strstr(err.message, "unknown feature view 'nope'") != NULL;
    int r2 = mf_write_to_online_store(store, "offline_only", df, &err);
    bool m2 = strstr(err.message, "'offline_only' is not online") != NULL;
    mf_entity_df_free(df);
    CHECK(r1 == MF_ENOTFOUND && m1);
    CHECK(r2 == MF_EREQUEST && m2);
    CHECK(absent("batch", 41));
    /* a missing column: nothing written */
    df = mf_entity_df_new(1);
    int64_t id = 42, ts = T1 * S;
    rc = mf_entity_df_add_int64(df, "driver_id", &id, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", &ts, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "trips", &id, NULL, &err);
    if (rc == MF_OK) rc = mf_write_to_online_store(store, "batch", df, &err);
    mf_entity_df_free(df);
    CHECK(rc == MF_EREQUEST);
    CHECK_HAS(err.message, "'rate'");
    CHECK(absent("batch", 42));
    char *after = read_text(csv_path);
    bool same = after && strcmp(before, after) == 0;
    free(before);
    free(after);
    CHECK(same);
}

/*---- Key types and timestamp ranges ------------------------------------------*/

/* Status and value of view:n for the entity whose join key `key` has the
 * text `val`; 0, or -1 when the read fails. */
static int read_n(const char *view, const char *key, const char *val, mf_status_code *st,
                  int64_t *n) {
    char ref[64];
    snprintf(ref, sizeof ref, "%s:n", view);
    const char *refs[1] = {ref}, *vals[1] = {val};
    mf_error err;
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    int rc = mf_online_request_set_features(req, refs, 1, &err);
    if (rc == MF_OK) rc = mf_online_request_add_text(req, key, vals, 1, &err);
    if (rc == MF_OK) rc = mf_get_online_features(store, req, resp, &err);
    if (rc == MF_OK) {
        *st = mf_online_response_status(resp, 1, 0);
        *n = mf_online_response_int64(resp, 1, 0);
    } else {
        printf("#   reading %s for %s=%s: %s\n", view, key, val, err.message);
    }
    mf_online_response_free(resp);
    mf_online_request_free(req);
    return rc == MF_OK ? 0 : -1;
}

/* One row for the key views (push source kps): d32 and bk as integers
 * (bk < 0: as the text "true"), tk as text, ts in microseconds, n. */
static mf_entity_df *key_row(int64_t d32, const char *tk, int64_t bk, int64_t ts_us, int64_t n) {
    mf_error err;
    mf_entity_df *df = mf_entity_df_new(1);
    const char *t[1] = {tk}, *b[1] = {"true"};
    int rc = mf_entity_df_add_int64(df, "d32", &d32, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "tk", t, &err);
    if (rc == MF_OK)
        rc = bk < 0 ? mf_entity_df_add_text(df, "bk", b, &err)
                    : mf_entity_df_add_int64(df, "bk", &bk, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", &ts_us, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "n", &n, NULL, &err);
    if (rc != MF_OK) {
        printf("#   building a frame: %s\n", err.message);
        mf_entity_df_free(df);
        return NULL;
    }
    return df;
}

static void test_push_int32_key_out_of_range(void) {
    mf_error err;
    char *kpath = mf__xasprintf("%s/data/keys.csv", repo);
    char *before = read_text(kpath);
    CHECK(before);
    /* 4294967301 = 2^32 + 5: must not be stored as 5 */
    mf_entity_df *df = key_row(INT64_C(4294967301), "2025-01-01T00:00:00Z", -1, T1 * S, 7);
    int r1 = df ? mf_push(store, "kps", df, MF_PUSH_ONLINE_AND_OFFLINE, &err) : MF_EINTERNAL;
    char m1[sizeof err.message];
    memcpy(m1, err.message, sizeof m1);
    int r2 = df ? mf_write_to_online_store(store, "v32", df, &err) : MF_EINTERNAL;
    char m2[sizeof err.message];
    memcpy(m2, err.message, sizeof m2);
    mf_entity_df_free(df);
    df = key_row(INT64_C(-2147483649), "2025-01-01T00:00:00Z", -1, T1 * S, 7);
    int r3 = df ? mf_push(store, "kps", df, MF_PUSH_ONLINE, &err) : MF_EINTERNAL;
    mf_entity_df_free(df);
    char *after = read_text(kpath);
    bool same = after && strcmp(before, after) == 0;
    free(before);
    free(after);
    free(kpath);
    CHECK(r1 == MF_EDATA);
    CHECK_HAS(m1, "column 'd32': '4294967301' is not a valid Int32 join key");
    CHECK(r2 == MF_EDATA);
    CHECK_HAS(m2, "column 'd32': '4294967301' is not a valid Int32 join key");
    CHECK(r3 == MF_EDATA);
    CHECK_HAS(err.message, "'-2147483649' is not a valid Int32 join key");
    CHECK(same);
    mf_status_code st;
    int64_t n;
    CHECK(read_n("v32", "d32", "5", &st, &n) == 0);
    CHECK(st == MF_STATUS_NOT_FOUND);
    CHECK(read_n("v32", "d32", "-1", &st, &n) == 0);
    CHECK(st == MF_STATUS_NOT_FOUND);
    /* the bounds themselves are keys */
    df = key_row(INT32_MAX, "2025-01-01T00:00:00Z", -1, T1 * S, 8);
    int r4 = df ? mf_write_to_online_store(store, "v32", df, &err) : MF_EINTERNAL;
    mf_entity_df_free(df);
    df = key_row(INT32_MIN, "2025-01-01T00:00:00Z", -1, T1 * S, 9);
    int r5 = df ? mf_write_to_online_store(store, "v32", df, &err) : MF_EINTERNAL;
    mf_entity_df_free(df);
    if (r4 || r5) printf("#   write: %s\n", err.message);
    CHECK(r4 == MF_OK && r5 == MF_OK);
    CHECK(read_n("v32", "d32", "2147483647", &st, &n) == 0);
    CHECK(st == MF_STATUS_PRESENT && n == 8);
    CHECK(read_n("v32", "d32", "-2147483648", &st, &n) == 0);
    CHECK(st == MF_STATUS_PRESENT && n == 9);
}

static void test_push_timestamp_and_bool_keys_from_integers(void) {
    mf_error err;
    /* an integer for a UnixTimestamp key is epoch seconds, as its text is */
    mf_entity_df *df = mf_entity_df_new(1);
    int64_t d32 = 31, tk = T2, bk = 0, ts = T1 * S, n = 31;
    int rc = mf_entity_df_add_int64(df, "d32", &d32, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "tk", &tk, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "bk", &bk, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", &ts, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "n", &n, NULL, &err);
    if (rc == MF_OK) rc = mf_write_to_online_store(store, "vts", df, &err);
    mf_entity_df_free(df);
    if (rc) printf("#   write: %s\n", err.message);
    CHECK(rc == MF_OK);
    mf_status_code st;
    int64_t got;
    CHECK(read_n("vts", "tk", "2025-01-03T00:00:00Z", &st, &got) == 0);
    CHECK(st == MF_STATUS_PRESENT && got == 31);
    /* and read back by the same integer: epoch seconds there too (it was
     * taken as microseconds: NOT_FOUND) */
    {
        const char *refs[1] = {"vts:n"};
        mf_online_request *req = mf_online_request_new();
        mf_online_response *resp = mf_online_response_new();
        int64_t k = T2;
        int r2 = mf_online_request_set_features(req, refs, 1, &err);
        if (r2 == MF_OK) r2 = mf_online_request_add_int64(req, "tk", &k, 1, &err);
        if (r2 == MF_OK) r2 = mf_get_online_features(store, req, resp, &err);
        CHECK(r2 == MF_OK);
        CHECK(r2 == MF_OK && mf_online_response_status(resp, 1, 0) == MF_STATUS_PRESENT &&
              mf_online_response_int64(resp, 1, 0) == 31 &&
              mf_online_response_int64(resp, 0, 0) == T2 * S);
        k = INT64_MAX;
        mf_online_request_clear_entities(req);
        if (mf_online_request_add_int64(req, "tk", &k, 1, &err) == MF_OK)
            CHECK(mf_get_online_features(store, req, resp, &err) == MF_EREQUEST);
        CHECK_HAS(err.message, "an integer is epoch seconds");
        mf_online_response_free(resp);
        mf_online_request_free(req);
    }
    /* a UnixTimestamp key from a timestamp column: in the years 0001..9999
     * like any other time (INT64_MAX was written, and appended to an
     * offline CSV as text no reader takes back) */
    for (int bad = 0; bad < 2; bad++) {
        df = mf_entity_df_new(1);
        int64_t tk_us = bad ? INT64_MAX : T2 * S, n2 = 34;
        rc = mf_entity_df_add_int64(df, "d32", &d32, NULL, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "tk", &tk_us, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "bk", &bk, NULL, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", &ts, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "n", &n2, NULL, &err);
        if (rc == MF_OK) rc = mf_write_to_online_store(store, "vts", df, &err);
        mf_entity_df_free(df);
        if (bad) {
            CHECK(rc == MF_EDATA);
            CHECK_HAS(err.message, "'tk'");
        } else {
            if (rc) printf("#   write: %s\n", err.message);
            CHECK(rc == MF_OK);
            CHECK(read_n("vts", "tk", "2025-01-03T00:00:00Z", &st, &got) == 0);
            CHECK(st == MF_STATUS_PRESENT && got == 34);
        }
    }
    /* a Bool key from an integer: 0 and 1 only, as its text */
    df = key_row(32, "2025-01-01T00:00:00Z", 5, T1 * S, 32);
    rc = df ? mf_write_to_online_store(store, "vb", df, &err) : MF_EINTERNAL;
    mf_entity_df_free(df);
    CHECK(rc == MF_EDATA);
    CHECK_HAS(err.message, "column 'bk': '5' is not a valid Bool join key");
    CHECK(read_n("vb", "bk", "true", &st, &got) == 0);
    CHECK(st == MF_STATUS_NOT_FOUND);
    df = key_row(33, "2025-01-01T00:00:00Z", 1, T1 * S, 33);
    rc = df ? mf_write_to_online_store(store, "vb", df, &err) : MF_EINTERNAL;
    mf_entity_df_free(df);
    CHECK(rc == MF_OK);
    CHECK(read_n("vb", "bk", "true", &st, &got) == 0);
    CHECK(st == MF_STATUS_PRESENT && got == 33);
}

/* Push one row to ps with the event time ts given as an integer column
 * (epoch seconds) or, with as_us, a timestamp column, and the created time
 * as an integer column (created < 0: none); returns the code, err set. */
static int push_ts(int64_t id, int64_t ts, bool as_us, int64_t created, mf_push_to to,
                   mf_error *err) {
    mf_entity_df *df = mf_entity_df_new(1);
    int64_t trips = 1;
    const char *r[1] = {"1"}, *l[1] = {"t"};
    int rc = mf_entity_df_add_int64(df, "driver_id", &id, NULL, err);
    if (rc == MF_OK)
        rc = as_us ? mf_entity_df_add_timestamps(df, "ts", &ts, err)
                   : mf_entity_df_add_int64(df, "ts", &ts, NULL, err);
    if (rc == MF_OK && created >= 0) rc = mf_entity_df_add_int64(df, "created", &created, NULL, err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "trips", &trips, NULL, err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "rate", r, err);
    if (rc == MF_OK) rc = mf_entity_df_add_text(df, "label", l, err);
    if (rc == MF_OK) rc = mf_push(store, "ps", df, to, err);
    mf_entity_df_free(df);
    return rc;
}

static void test_push_timestamp_ranges(void) {
    mf_error err;
    char *before = read_text(csv_path);
    CHECK(before);
    const int64_t max_sec = INT64_C(253402300799);  /* 9999-12-31T23:59:59Z */
    const int64_t min_sec = INT64_C(-62135596800); /* 0001-01-01T00:00:00Z */
    /* epoch seconds whose microseconds overflow int64 */
    int r1 = push_ts(60, INT64_C(9223372036854), false, -1, MF_PUSH_ONLINE_AND_OFFLINE, &err);
    char m1[sizeof err.message];
    memcpy(m1, err.message, sizeof m1);
    int r2 = push_ts(60, INT64_MIN, false, -1, MF_PUSH_ONLINE_AND_OFFLINE, &err);
    char m2[sizeof err.message];
    memcpy(m2, err.message, sizeof m2);
    /* just outside the years 0001..9999 */
    int r3 = push_ts(60, max_sec + 1, false, -1, MF_PUSH_ONLINE_AND_OFFLINE, &err);
    char m3[sizeof err.message];
    memcpy(m3, err.message, sizeof m3);
    int r4 = push_ts(60, min_sec - 1, false, -1, MF_PUSH_OFFLINE, &err);
    char m4[sizeof err.message];
    memcpy(m4, err.message, sizeof m4);
    /* the created column, as epoch seconds */
    int r5 = push_ts(60, T1, false, INT64_C(9223372036855), MF_PUSH_ONLINE_AND_OFFLINE, &err);
    char m5[sizeof err.message];
    memcpy(m5, err.message, sizeof m5);
    /* microseconds beyond 9999-12-31T23:59:59.999999Z: no text reads back */
    int r6 = push_ts(60, INT64_MAX, true, -1, MF_PUSH_OFFLINE, &err);
    char m6[sizeof err.message];
    memcpy(m6, err.message, sizeof m6);
    int r7 = push_ts(60, (max_sec + 1) * S, true, -1, MF_PUSH_ONLINE_AND_OFFLINE, &err);
    char m7[sizeof err.message];
    memcpy(m7, err.message, sizeof m7);
    char *after = read_text(csv_path);
    bool same = after && strcmp(before, after) == 0;
    free(before);
    free(after);
    CHECK(r1 == MF_EDATA);
    CHECK_HAS(m1, "column 'ts': '9223372036854' is not a timestamp in the years 0001 to 9999");
    CHECK(r2 == MF_EDATA);
    CHECK_HAS(m2, "'-9223372036854775808' is not a timestamp in the years 0001 to 9999");
    CHECK(r3 == MF_EDATA);
    CHECK_HAS(m3, "'253402300800' is not a timestamp in the years 0001 to 9999");
    CHECK(r4 == MF_EDATA);
    CHECK_HAS(m4, "'-62135596801' is not a timestamp in the years 0001 to 9999");
    CHECK(r5 == MF_EDATA);
    CHECK_HAS(m5, "column 'created': '9223372036855' is not a timestamp in the years 0001 to 9999");
    CHECK(r6 == MF_EDATA);
    CHECK_HAS(m6, "column 'ts': '");
    CHECK_HAS(m6, "' is not a timestamp in the years 0001 to 9999");
    CHECK(r7 == MF_EDATA);
    CHECK_HAS(m7, "'10000-01-01T00:00:00Z' is not a timestamp in the years 0001 to 9999");
    CHECK(same);
    CHECK(absent("fresh", 60));
    /* the bounds themselves are accepted and read back */
    CHECK(push_ts(61, max_sec, false, -1, MF_PUSH_ONLINE, &err) == MF_OK);
    CHECK(has("fresh", 61, max_sec * S, 1, 1, "t"));
    CHECK(push_ts(62, max_sec * S + 999999, true, -1, MF_PUSH_ONLINE, &err) == MF_OK);
    CHECK(has("fresh", 62, max_sec * S + 999999, 1, 1, "t"));
    CHECK(push_ts(63, min_sec, false, -1, MF_PUSH_ONLINE, &err) == MF_OK);
    CHECK(has("fresh", 63, min_sec * S, 1, 1, "t"));
}

/* Historical retrieval with event times given as integers (epoch seconds):
 * out of the years 0001..9999 (where microseconds would overflow) is an
 * error naming the value, not undefined arithmetic. */
static void test_historical_integer_times_out_of_range(void) {
    const int64_t bad[] = {INT64_C(9223372036854), INT64_MIN, INT64_C(253402300800)};
    const char *const text[] = {"'9223372036854'", "'-9223372036854775808'", "'253402300800'"};
    const char *refs[] = {"batch:trips"};
    mf_historical_options o = {refs, 1, NULL, false, 0, 0};
    for (size_t b = 0; b < MF__ARRAY_LEN(bad); b++) {
        mf_error err;
        mf_entity_df *df = mf_entity_df_new(2);
        int64_t ids[2] = {1, 1}, ts[2] = {T1, bad[b]};
        CHECK(mf_entity_df_add_int64(df, "driver_id", ids, NULL, &err) == MF_OK);
        CHECK(mf_entity_df_add_int64(df, "event_timestamp", ts, NULL, &err) == MF_OK);
        mf_table *t = NULL;
        int rc = mf_get_historical_features(store, df, &o, &t, &err);
        mf_entity_df_free(df);
        mf_table_free(t);
        CHECK(rc == MF_EDATA);
        CHECK_HAS(err.message, "column 'event_timestamp'");
        CHECK_HAS(err.message, text[b]);
        CHECK_HAS(err.message, "is not a timestamp in the years 0001 to 9999");
    }
    /* an integer join key out of its type's range is named in the error */
    {
        mf_error err;
        mf_entity_df *df = mf_entity_df_new(1);
        int64_t k = INT64_C(4294967301), ts = T1;
        CHECK(mf_entity_df_add_int64(df, "d32", &k, NULL, &err) == MF_OK);
        CHECK(mf_entity_df_add_int64(df, "event_timestamp", &ts, NULL, &err) == MF_OK);
        const char *krefs[] = {"v32:n"};
        mf_historical_options ko = {krefs, 1, NULL, false, 0, 0};
        mf_table *t = NULL;
        int rc = mf_get_historical_features(store, df, &ko, &t, &err);
        mf_entity_df_free(df);
        mf_table_free(t);
        CHECK(rc == MF_EDATA);
        CHECK_HAS(err.message, "column 'd32': '4294967301' is not");
    }
    /* in range: answered */
    mf_error err;
    mf_entity_df *df = mf_entity_df_new(1);
    int64_t id = 1, ts = T1;
    CHECK(mf_entity_df_add_int64(df, "driver_id", &id, NULL, &err) == MF_OK);
    CHECK(mf_entity_df_add_int64(df, "event_timestamp", &ts, NULL, &err) == MF_OK);
    mf_table *t = NULL;
    CHECK(mf_get_historical_features(store, df, &o, &t, &err) == MF_OK);
    CHECK(t && mf_table_nrows(t) == 1);
    mf_entity_df_free(df);
    mf_table_free(t);
}

/* A String cell that is not UTF-8 text is refused by push and direct
 * write before anything is written (the CSV and the online store). */
static void test_push_string_not_utf8_writes_nothing(void) {
    mf_error err;
    char *before = read_text(csv_path);
    CHECK(before);
    mf_entity_df *df = row1(70, T1 * S, -1, 1, "1", "caf\xe9");
    int rc = df ? mf_push(store, "ps", df, MF_PUSH_ONLINE_AND_OFFLINE, &err) : -1;
    char m1[sizeof err.message];
    memcpy(m1, err.message, sizeof m1);
    int rc2 = df ? mf_write_to_online_store(store, "fresh", df, &err) : -1;
    mf_entity_df_free(df);
    char *after = read_text(csv_path);
    bool same = after && strcmp(before, after) == 0;
    free(before);
    free(after);
    CHECK(rc == MF_EDATA);
    CHECK_HAS(m1, "'label'");
    CHECK(rc2 == MF_EDATA);
    CHECK_HAS(err.message, "'label'");
    CHECK(same);
    CHECK(absent("fresh", 70));
    /* UTF-8 text passes */
    df = row1(71, T1 * S, -1, 1, "1", "caf\xc3\xa9");
    CHECK(df && mf_push(store, "ps", df, MF_PUSH_ONLINE, &err) == MF_OK);
    mf_entity_df_free(df);
    CHECK(has("fresh", 71, T1 * S, 1, 1, "caf\xc3\xa9"));
}

int main(void) {
    const char *base = getenv("TMPDIR");
    tmp_root = mf__xasprintf("%s/mft_push_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        printf("not ok - mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    if (make_repo() != 0) {
        printf("not ok - preparing the repo\n");
        mf_store_close(store);
        nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    RUN(test_push_online);
    RUN(test_push_newer_wins);
    RUN(test_push_missing_column_writes_nothing);
    RUN(test_push_bad_value_writes_nothing);
    RUN(test_push_offline_then_materialize);
    RUN(test_push_no_rows);
    RUN(test_push_bad_calls);
    RUN(test_write_to_online_store);
    RUN(test_push_int32_key_out_of_range);
    RUN(test_push_timestamp_and_bool_keys_from_integers);
    RUN(test_push_timestamp_ranges);
    RUN(test_historical_integer_times_out_of_range);
    RUN(test_push_string_not_utf8_writes_nothing);
    mf_store_close(store);
    nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp_root);
    free(repo);
    free(csv_path);
    MFT_END();
}
