/*
 * lua_store.c — the online store written in Lua (examples/lua_memory_store)
 * against the SQLite store, in one process.
 *
 *   lua_store SQLITE_REPO LUA_REPO NKEYS NVIEWS CALLS1 CALLS100 SEED
 *
 * SQLITE_REPO is the online_sqlite workload's repo (views ov1..ovNVIEWS of
 * 10 features, NKEYS keys, materialized), or a configuration file of it
 * (the bench gives the one that reads on one connection, as the Lua store
 * does); LUA_REPO has the same
 * definitions with the Lua memory store. The memory store lives in this
 * process's thread, so this program fills it: mf_materialize of every view
 * (one job), timed: `materialize_s`, `rows_read`. Then reads through both
 * stores, the same keys in the same order, taking turns (a block of calls
 * each): 1 entity x 10 features of ov1 (CALLS1 calls) and 100 entities x
 * 10 features of every view (CALLS100 calls). Every value is checked
 * PRESENT. Prints `key value` lines: materialize_s, rows_read,
 * sqlite_1x10_median_us, lua_1x10_median_us, sqlite_100_median_us,
 * lua_100_median_us (and p99s).
 */
#include <moonfeast.h>

#include "mfb.h"
#include "mfb_open.h"

static uint64_t rows_read;

static void on_progress(void *ud, const char *view, uint64_t read, uint64_t written, int done) {
    (void)ud, (void)view, (void)written;
    if (done) rows_read += read;
}

static void die(const char *what, const mf_error *err) {
    fprintf(stderr, "lua_store: %s: %s\n", what, err->message);
    exit(1);
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
    qsort(v, n, sizeof *v, cmp_d);
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i];
}

/* A request for nviews views x 10 features, full names. */
static mf_online_request *request(int nviews) {
    mf_online_request *r = mf_online_request_new();
    const char *refs[50];
    char buf[50][32];
    int n = 0;
    for (int v = 1; v <= nviews; v++)
        for (int f = 0; f < 10; f++) {
            snprintf(buf[n], sizeof buf[n], "ov%d:feat_%02d", v, f);
            refs[n] = buf[n];
            n++;
        }
    mf_error err;
    if (mf_online_request_set_features(r, refs, (size_t)n, &err)) die("features", &err);
    mf_online_request_set_full_feature_names(r, 1);
    return r;
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* calls calls of nent entities, the two stores taking turns in blocks. */
static void run_case(const char *label, mf_store *sq, mf_store *lu, size_t nent, int nviews,
                     size_t calls, uint64_t nkeys, uint64_t seed) {
    mf_online_request *rq[2] = {request(nviews), request(nviews)};
    mf_online_response *rs = mf_online_response_new();
    mf_store *st[2] = {sq, lu};
    double *lat[2] = {mfb_xmalloc(calls * sizeof(double)), mfb_xmalloc(calls * sizeof(double))};
    int64_t *ids = mfb_xmalloc(nent * sizeof *ids);
    size_t block = nent == 1 ? 1000 : 20;
    mfb_rng rng = {seed};
    uint64_t bad = 0;
    for (size_t done = 0; done < calls; done += block) {
        size_t nb = calls - done < block ? calls - done : block;
        uint64_t bseed = mfb_rnd(&rng);
        for (int w = 0; w < 2; w++) {
            mfb_rng r = {bseed};
            for (size_t c = 0; c < nb; c++) {
                mfb_draw_keys(&r, ids, nent, nkeys);
                mf_error err;
                double t0 = now_us();
                mf_online_request_clear_entities(rq[w]);
                if (mf_online_request_add_int64(rq[w], "driver_id", ids, nent, &err) ||
                    mf_get_online_features(st[w], rq[w], rs, &err))
                    die("read", &err);
                lat[w][done + c] = now_us() - t0;
                for (size_t col = 1; col < mf_online_response_ncols(rs); col++)
                    for (size_t row = 0; row < nent; row++)
                        bad += mf_online_response_status(rs, col, row) != MF_STATUS_PRESENT &&
                               mf_online_response_status(rs, col, row) != MF_STATUS_OUTSIDE_MAX_AGE;
            }
        }
    }
    printf("sqlite_%s_median_us %.2f\n", label, pct(lat[0], calls, 0.5));
    printf("sqlite_%s_p99_us %.2f\n", label, pct(lat[0], calls, 0.99));
    printf("lua_%s_median_us %.2f\n", label, pct(lat[1], calls, 0.5));
    printf("lua_%s_p99_us %.2f\n", label, pct(lat[1], calls, 0.99));
    printf("%s_not_present %llu\n", label, (unsigned long long)bad);
    free(lat[0]);
    free(lat[1]);
    free(ids);
    mf_online_request_free(rq[0]);
    mf_online_request_free(rq[1]);
    mf_online_response_free(rs);
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: lua_store SQLITE_REPO LUA_REPO NKEYS NVIEWS CALLS1 CALLS100 SEED\n");
        return 2;
    }
    uint64_t nkeys = strtoull(argv[3], NULL, 10), seed = strtoull(argv[7], NULL, 10);
    int nviews = atoi(argv[4]);
    size_t calls1 = strtoull(argv[5], NULL, 10), calls100 = strtoull(argv[6], NULL, 10);
    mf_error err;
    mf_store *sq = NULL, *lu = NULL;
    if (mfb_store_open(argv[1], &sq, &err)) die(argv[1], &err);
    if (mf_store_open(argv[2], NULL, &lu, &err)) die(argv[2], &err);
    mf_materialize_options mo = {on_progress, NULL, 1};
    double t0 = now_us();
    if (mf_materialize(lu, 1735689600LL * 1000000, (1735689600LL + 40 * 86400) * 1000000, NULL, 0,
                       &mo, &err))
        die("materialize into the Lua store", &err);
    double secs = (now_us() - t0) / 1e6;
    printf("materialize_s %.3f\nrows_read %llu\n", secs, (unsigned long long)rows_read);
    run_case("1x10", sq, lu, 1, 1, calls1, nkeys, seed);
    run_case("100", sq, lu, 100, nviews, calls100, nkeys, seed + 1);
    mf_store_close(sq);
    mf_store_close(lu);
    return 0;
}
