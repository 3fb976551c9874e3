/*
 * test_threads.c — one mf_store shared by many threads, against SQLite and
 * against Redis, while definitions change under it.
 *
 * For each online store: a repo (project "th", registry cache ttl 1 s;
 * SQLite splitting the reads of 4 keys or more over two connections) and
 * one store handle that every thread uses:
 *   4 readers   mf_get_online_features of 1..8 random drivers, in turn by
 *               feature refs, by the feature service, and by refs to pv:a
 *               and the on-demand view od:y = a * 1000 + k (k given beside
 *               the driver ids; run by each thread's own Lua runtime,
 *               compiled again as snapshots change), every cell of every
 *               answer checked;
 *   2 pushers   mf_push (online) of 1..8 drivers to push source "ps",
 *               which feeds view "pv";
 *   2 writers   mf_write_to_online_store of 1..8 drivers to view "wv";
 *   1 applier   mf_apply through the shared store every 50 ms (a commit
 *               through the store: the snapshot is swapped at once);
 *   1 churner   starts short-lived threads that each read once and exit
 *               (workers created and released while the others run);
 * and, meanwhile, another process runs `moonfeast apply` on the same repo
 * over and over, alternating between two definition sets that both hold
 * the views and the service the threads use (they differ in descriptions
 * and an extra view), which the threads see through the ttl.
 *
 * Every write of a view has a version v unique to the view: pusher p (of
 * P) writes v = k * P + p + 1 in its k-th push, at event time T0 + v s,
 * with a = v, b = v * 1000 + driver, s = "e<driver>v<v>", n = v * 7 +
 * driver, or null when v is odd. A reader checks each row: the join key;
 * a view's features all NOT_FOUND (null, time 0) or all from one write
 * (never a torn row): the same v in every feature and in the event time,
 * statuses PRESENT, n NULL_VALUE exactly when v is odd; v one that a
 * writer had started to write; and v never smaller than the last v the
 * same reader saw for that driver (stores never replace newer data).
 * Any error fails the test.
 *
 * Redis then goes away (SIGKILL) while the threads keep running: every
 * call must fail with MF_ESTORE. And 8 threads write large batches to a
 * server that closes each connection as it comes, so that writes fail with
 * EPIPE: every call fails with MF_ESTORE and the process, which leaves
 * SIGPIPE at its default (death), lives on.
 *
 * MF_BIN names the moonfeast binary (tests/run.sh sets it; default
 * bin/moonfeast). MF_TEST_THREADS_SECONDS sets the time each store runs
 * (default 2).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "mft.h"
#include "mft_redis.h"
#include "mft_repo.h"

enum { READERS = 4, PUSHERS = 2, WRITERS = 2, K = 64, MAXROWS = 8 };
static const int64_t T0 = 1735689600; /* 2025-01-01T00:00:00Z */
static const int64_t S = 1000000;

static char *tmp_root, *repo;
static server redis_srv;

/*---- Definitions --------------------------------------------------------------*/

/* Definition set A or B: both hold pv, wv and svc as the threads use them. */
static char *defs_text(bool b) {
    return mf__xasprintf(
        "local driver = entity { name = 'driver', join_keys = { 'driver_id' }, value_type = Int64 }\n"
        "local src = file_source { name = 'src', path = 'data/src.csv', timestamp_field = 'ts' }\n"
        "local src2 = file_source { name = 'src2', path = 'data/src2.csv', timestamp_field = 'ts' }\n"
        "local ps = push_source { name = 'ps', batch_source = src }\n"
        "local schema = { field { name = 'a', dtype = Int64 }, field { name = 'b', dtype = Float64 },\n"
        "  field { name = 's', dtype = String }, field { name = 'n', dtype = Int64 } }\n"
        "local pv = feature_view { name = 'pv', entities = { driver }, ttl = 0, schema = schema,\n"
        "  source = ps, description = 'pushed (%s)' }\n"
        "local wv = feature_view { name = 'wv', entities = { driver }, ttl = 0, schema = schema,\n"
        "  source = src2, description = 'written (%s)' }\n"
        "feature_service { name = 'svc', features = { pv, wv:select { 'a', 's' } } }\n"
        "local req = request_source { name = 'req', schema = { field { name = 'k', dtype = Int64 } } }\n"
        "on_demand_feature_view { name = 'od', sources = { pv:select { 'a' }, req },\n"
        "  schema = { field { name = 'y', dtype = Int64 } },\n"
        "  transform = function(r)\n"
        "    if r.a == nil then return { y = null } end\n"
        "    return { y = r.a * 1000 + r.k }\n"
        "  end }\n"
        "%s",
        b ? "B" : "A", b ? "B" : "A",
        b ? "feature_view { name = 'extra', entities = { driver }, ttl = 0,\n"
            "  schema = { field { name = 'x', dtype = Int64 } }, source = src2 }\n"
          : "");
}

/* The repo for an online store section (YAML text, "" = SQLite with its
 * defaults). */
static int make_repo(const char *online) {
    free(repo);
    repo = mf__xasprintf("%s/repo_%s", tmp_root, strstr(online, "redis") ? "redis" : "sqlite");
    char *data = mf__xasprintf("%s/data", repo);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", repo);
    char *ytext = mf__xasprintf("project: th\nregistry:\n  path: data/registry.db\n"
                                "  cache_ttl_seconds: 1\n%s", online);
    char *defs = mf__xasprintf("%s/defs.lua", repo);
    char *da = defs_text(false), *db = defs_text(true);
    char *pa = mf__xasprintf("%s/defs_a.lua.txt", tmp_root);
    char *pb = mf__xasprintf("%s/defs_b.lua.txt", tmp_root);
    char *src = mf__xasprintf("%s/data/src.csv", repo);
    char *src2 = mf__xasprintf("%s/data/src2.csv", repo);
    int rc = mkdir(repo, 0700) || mkdir(data, 0700) || mft_write(yaml, ytext) ||
             mft_write(defs, da) || mft_write(pa, da) || mft_write(pb, db) ||
             mft_write(src, "driver_id,ts,a,b,s,n\n0,2025-01-01T00:00:00Z,0,0,x,0\n") ||
             mft_write(src2, "driver_id,ts,a,b,s,n,x\n0,2025-01-01T00:00:00Z,0,0,x,0,0\n");
    free(data), free(yaml), free(ytext), free(defs), free(da), free(db), free(pa), free(pb);
    free(src), free(src2);
    if (rc) return -1;
    mf_error err;
    mf_store *s = NULL;
    if (mf_store_open(repo, NULL, &s, &err) != MF_OK || mf_apply(s, NULL, &err) != MF_OK) {
        printf("#   preparing %s: %s\n", repo, err.message);
        mf_store_close(s);
        return -1;
    }
    mf_store_close(s);
    return 0;
}

/*---- The other process ---------------------------------------------------------*/

/* `moonfeast apply` in a loop, alternating the two definition sets, until
 * <tmp_root>/stop exists; counts in <tmp_root>/applies, failures (with
 * their output) in <tmp_root>/apply.err. Started before any thread. */
static pid_t start_applier(void) {
    const char *bin = getenv("MF_BIN");
    char *binp = bin && *bin ? mf__xstrdup(bin) : realpath("bin/moonfeast", NULL);
    if (!binp) {
        printf("#   no moonfeast binary (set MF_BIN)\n");
        return -1;
    }
    char *script = mf__xasprintf(
        "cd '%s' || exit 1; rm -f stop applies apply.err; i=0\n"
        "while [ ! -e stop ]; do\n"
        "  if [ $((i %% 2)) = 0 ]; then cp defs_b.lua.txt '%s/defs.tmp'; else cp defs_a.lua.txt '%s/defs.tmp'; fi\n"
        "  mv '%s/defs.tmp' '%s/defs.lua'\n"
        "  if ! '%s' -C '%s' apply >apply.out 2>&1; then echo \"apply $i failed:\" >>apply.err; cat apply.out >>apply.err; fi\n"
        "  i=$((i + 1)); echo $i >applies\n"
        "done\n",
        tmp_root, repo, repo, repo, repo, binp, repo);
    free(binp);
    fflush(stdout);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        /* never outlive the test (and never hold its output open) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1), dup2(null, 2);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    free(script);
    return pid;
}

/* Stop the applier and return how many applies it ran (-1: it failed). */
static long stop_applier(pid_t pid) {
    char *stop = mf__xasprintf("%s/stop", tmp_root);
    mft_write(stop, "");
    free(stop);
    int st = 0;
    for (int i = 0; i < 600 && waitpid(pid, &st, WNOHANG) == 0; i++) usleep(100000);
    if (waitpid(pid, &st, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        printf("#   the applier did not stop\n");
        return -1;
    }
    char *p = mf__xasprintf("%s/applies", tmp_root);
    FILE *f = fopen(p, "r");
    long n = -1;
    if (!f || fscanf(f, "%ld", &n) != 1) n = -1;
    if (f) fclose(f);
    free(p);
    p = mf__xasprintf("%s/apply.err", tmp_root);
    f = fopen(p, "r");
    free(p);
    if (f) {
        char line[512];
        for (int i = 0; i < 20 && fgets(line, sizeof line, f); i++) printf("#   applier: %s", line);
        fclose(f);
        return -1;
    }
    return n;
}

/*---- Shared state ----------------------------------------------------------------*/

static mf_store *store;
static atomic_int stop;         /* 1: threads end */
static atomic_int down;         /* 1: the online store is gone; MF_ESTORE expected */
static atomic_long started[2][4]; /* [pv, wv][writer]: the k each writer started */
static atomic_long n_reads, n_cells, n_pushes, n_writes, n_applies, n_churn, n_down_errors;
static atomic_long n_transformed; /* on-demand outputs checked */
static atomic_int n_failures;

/* A failure: counted, the first few printed. */
static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failure(const char *fmt, ...) {
    if (atomic_fetch_add(&n_failures, 1) >= 20) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("#   %s\n", msg);
}

/* A call's result: MF_OK; while the store is down, MF_ESTORE is expected. */
static bool call_ok(int rc, const mf_error *err, const char *what) {
    if (rc == MF_OK) return true;
    if (atomic_load(&down) && rc == MF_ESTORE) {
        atomic_fetch_add(&n_down_errors, 1);
        return false;
    }
    failure("%s: error %d: %s", what, rc, err->message);
    return false;
}

static uint64_t rnd(uint64_t *x) {
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/*---- Writers ------------------------------------------------------------------------*/

typedef struct writer_arg {
    int view; /* 0 pv (push), 1 wv (direct write) */
    int index, count;
} writer_arg;

static void *writer_main(void *p) {
    const writer_arg *a = p;
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(a->view * 8 + a->index + 1);
    for (long k = 0; !atomic_load(&stop); k++) {
        int64_t v = k * a->count + a->index + 1;
        size_t m = 1 + rnd(&seed) % MAXROWS;
        int64_t id[MAXROWS], ts[MAXROWS], av[MAXROWS], bv[MAXROWS], nv[MAXROWS];
        uint8_t nok[MAXROWS];
        char sbuf[MAXROWS][32];
        const char *sv[MAXROWS];
        bool used[K + 1] = {false};
        for (size_t i = 0; i < m; i++) {
            int64_t e;
            do e = 1 + (int64_t)(rnd(&seed) % K);
            while (used[e]);
            used[e] = true;
            id[i] = e, ts[i] = (T0 + v) * S, av[i] = v, bv[i] = v * 1000 + e;
            nv[i] = v * 7 + e, nok[i] = v % 2 == 0;
            snprintf(sbuf[i], sizeof sbuf[i], "e%lldv%lld", (long long)e, (long long)v);
            sv[i] = sbuf[i];
        }
        mf_entity_df *df = mf_entity_df_new(m);
        mf_error err;
        int rc = mf_entity_df_add_int64(df, "driver_id", id, NULL, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", ts, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "a", av, NULL, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "b", bv, NULL, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_text(df, "s", sv, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "n", nv, nok, &err);
        if (rc) {
            failure("building a frame: %s", err.message);
            mf_entity_df_free(df);
            break;
        }
        atomic_store(&started[a->view][a->index], k);
        if (a->view == 0) {
            rc = mf_push(store, "ps", df, MF_PUSH_ONLINE, &err);
            if (call_ok(rc, &err, "mf_push")) atomic_fetch_add(&n_pushes, 1);
        } else {
            rc = mf_write_to_online_store(store, "wv", df, &err);
            if (call_ok(rc, &err, "mf_write_to_online_store")) atomic_fetch_add(&n_writes, 1);
        }
        mf_entity_df_free(df);
    }
    return NULL;
}

/*---- Readers --------------------------------------------------------------------------*/

static const char *const col_names[] = {"driver_id", "pv__a", "pv__b", "pv__s",
                                        "pv__n",     "wv__a", "wv__s"};

/* Check the features of one view in row i (columns c0.., nfeat of them: a,
 * b, s, n or a, s) for driver e; *last is the last v this reader saw. */
static void check_view(const mf_online_response *r, size_t i, int view, size_t c0, size_t nfeat,
                       int64_t e, int64_t *last) {
    const char *vn = view ? "wv" : "pv";
    mf_status_code st0 = mf_online_response_status(r, c0, i);
    if (st0 == MF_STATUS_NOT_FOUND) {
        for (size_t c = c0; c < c0 + nfeat; c++)
            if (mf_online_response_status(r, c, i) != MF_STATUS_NOT_FOUND ||
                !mf_online_response_is_null(r, c, i) || mf_online_response_event_ts(r, c, i) != 0)
                failure("%s driver %lld: torn NOT_FOUND row (column %zu)", vn, (long long)e, c);
        if (*last > 0) failure("%s driver %lld: NOT_FOUND after v %lld", vn, (long long)e, (long long)*last);
        return;
    }
    int64_t v = mf_online_response_int64(r, c0, i);
    int count = view ? WRITERS : PUSHERS;
    if (st0 != MF_STATUS_PRESENT || v < 1 ||
        (v - 1) / count > atomic_load(&started[view][(v - 1) % count])) {
        failure("%s driver %lld: a = %lld (%s), never written", vn, (long long)e, (long long)v,
                mf_status_name(st0));
        return;
    }
    if (v < *last)
        failure("%s driver %lld: v %lld after v %lld", vn, (long long)e, (long long)v,
                (long long)*last);
    *last = v;
    char want_s[32];
    snprintf(want_s, sizeof want_s, "e%lldv%lld", (long long)e, (long long)v);
    size_t len = 0;
    const char *sp;
    for (size_t c = c0; c < c0 + nfeat; c++) {
        const char *name = col_names[c] + 4;
        mf_status_code st = mf_online_response_status(r, c, i);
        if (mf_online_response_event_ts(r, c, i) != (T0 + v) * S)
            failure("%s driver %lld v %lld: %s has event time %lld", vn, (long long)e, (long long)v,
                    name, (long long)mf_online_response_event_ts(r, c, i));
        bool ok;
        switch (name[0]) {
        case 'a': ok = st == MF_STATUS_PRESENT && mf_online_response_int64(r, c, i) == v; break;
        case 'b':
            ok = st == MF_STATUS_PRESENT && mf_online_response_double(r, c, i) == (double)(v * 1000 + e);
            break;
        case 's':
            sp = mf_online_response_text(r, c, i, &len);
            ok = st == MF_STATUS_PRESENT && sp && len == strlen(want_s) && memcmp(sp, want_s, len) == 0;
            break;
        default:
            ok = v % 2 ? st == MF_STATUS_NULL_VALUE && mf_online_response_is_null(r, c, i)
                       : st == MF_STATUS_PRESENT && mf_online_response_int64(r, c, i) == v * 7 + e;
        }
        if (!ok) failure("%s driver %lld v %lld: feature %s is wrong (%s)", vn, (long long)e,
                         (long long)v, name, mf_status_name(st));
    }
}

/* Check a whole answer for the drivers ids[0..m). */
static void check_answer(const mf_online_response *r, const int64_t *ids, size_t m,
                         int64_t last[2][K + 1]) {
    if (mf_online_response_ncols(r) != MF__ARRAY_LEN(col_names) || mf_online_response_nrows(r) != m) {
        failure("answer of %zu columns, %zu rows (want %zu, %zu)", mf_online_response_ncols(r),
                mf_online_response_nrows(r), MF__ARRAY_LEN(col_names), m);
        return;
    }
    for (size_t c = 0; c < MF__ARRAY_LEN(col_names); c++)
        if (strcmp(mf_online_response_name(r, c), col_names[c]) != 0)
            failure("column %zu is '%s', want '%s'", c, mf_online_response_name(r, c), col_names[c]);
    for (size_t i = 0; i < m; i++) {
        if (mf_online_response_int64(r, 0, i) != ids[i] ||
            mf_online_response_status(r, 0, i) != MF_STATUS_PRESENT)
            failure("row %zu: driver_id %lld, want %lld", i, (long long)mf_online_response_int64(r, 0, i),
                    (long long)ids[i]);
        check_view(r, i, 0, 1, 4, ids[i], &last[0][ids[i]]);
        check_view(r, i, 1, 5, 2, ids[i], &last[1][ids[i]]);
    }
    atomic_fetch_add(&n_cells, (long)(m * MF__ARRAY_LEN(col_names)));
}

static const char *const refs[] = {"pv:a", "pv:b", "pv:s", "pv:n", "wv:a", "wv:s"};

/* One read of m random drivers through req (refs or the service). */
static void read_once(mf_online_request *req, mf_online_response *resp, uint64_t *seed,
                      int64_t last[2][K + 1]) {
    size_t m = 1 + rnd(seed) % MAXROWS;
    int64_t ids[MAXROWS];
    for (size_t i = 0; i < m; i++) ids[i] = 1 + (int64_t)(rnd(seed) % K);
    mf_error err;
    mf_online_request_clear_entities(req);
    int rc = mf_online_request_add_int64(req, "driver_id", ids, m, &err);
    if (rc == MF_OK) rc = mf_get_online_features(store, req, resp, &err);
    if (!call_ok(rc, &err, "mf_get_online_features")) return;
    check_answer(resp, ids, m, last);
    atomic_fetch_add(&n_reads, 1);
}

/* One read of pv:a and the on-demand od:y (y = a * 1000 + k, k given
 * beside the driver ids as the request field) for m random drivers. */
static void read_odfv_once(mf_online_request *req, mf_online_response *resp, uint64_t *seed) {
    size_t m = 1 + rnd(seed) % MAXROWS;
    int64_t ids[MAXROWS], ks[MAXROWS];
    for (size_t i = 0; i < m; i++) ids[i] = 1 + (int64_t)(rnd(seed) % K), ks[i] = (int64_t)(rnd(seed) % 1000);
    mf_error err;
    mf_online_request_clear_entities(req);
    int rc = mf_online_request_add_int64(req, "driver_id", ids, m, &err);
    if (rc == MF_OK) rc = mf_online_request_add_int64(req, "k", ks, m, &err);
    if (rc == MF_OK) rc = mf_get_online_features(store, req, resp, &err);
    if (!call_ok(rc, &err, "mf_get_online_features (on-demand)")) return;
    if (mf_online_response_ncols(resp) != 3 || mf_online_response_nrows(resp) != m ||
        strcmp(mf_online_response_name(resp, 2), "od__y") != 0) {
        failure("on-demand answer of %zu columns, %zu rows", mf_online_response_ncols(resp),
                mf_online_response_nrows(resp));
        return;
    }
    for (size_t i = 0; i < m; i++) {
        bool found = mf_online_response_status(resp, 1, i) != MF_STATUS_NOT_FOUND &&
                     !mf_online_response_is_null(resp, 1, i);
        if (!found) {
            if (!mf_online_response_is_null(resp, 2, i) ||
                mf_online_response_status(resp, 2, i) != MF_STATUS_NULL_VALUE)
                failure("driver %lld: od:y is not null without pv:a", (long long)ids[i]);
            continue;
        }
        int64_t want = mf_online_response_int64(resp, 1, i) * 1000 + ks[i];
        if (mf_online_response_status(resp, 2, i) != MF_STATUS_PRESENT ||
            mf_online_response_int64(resp, 2, i) != want)
            failure("driver %lld: od:y %lld, want %lld", (long long)ids[i],
                    (long long)mf_online_response_int64(resp, 2, i), (long long)want);
        atomic_fetch_add(&n_transformed, 1);
    }
    atomic_fetch_add(&n_reads, 1);
}

static mf_online_request *new_request(bool service) {
    mf_error err;
    mf_online_request *req = mf_online_request_new();
    int rc = service ? mf_online_request_set_feature_service(req, "svc", &err)
                     : mf_online_request_set_features(req, refs, MF__ARRAY_LEN(refs), &err);
    if (rc) failure("setting the features: %s", err.message);
    mf_online_request_set_full_feature_names(req, 1);
    return req;
}

static void *reader_main(void *p) {
    uint64_t seed = 0x2545f4914f6cdd1dull * (uint64_t)((intptr_t)p + 1);
    mf_online_request *req[2] = {new_request(false), new_request(true)};
    mf_online_request *oreq = mf_online_request_new();
    static const char *const orefs[] = {"pv:a", "od:y"};
    mf_error err;
    if (mf_online_request_set_features(oreq, orefs, 2, &err) != MF_OK)
        failure("setting the on-demand features: %s", err.message);
    mf_online_request_set_full_feature_names(oreq, 1);
    mf_online_response *resp = mf_online_response_new();
    static __thread int64_t last[2][K + 1];
    memset(last, 0, sizeof last);
    for (long i = 0; !atomic_load(&stop); i++) {
        if (i % 3 == 2) read_odfv_once(oreq, resp, &seed);
        else read_once(req[i % 3], resp, &seed, last);
    }
    mf_online_request_free(req[0]);
    mf_online_request_free(req[1]);
    mf_online_request_free(oreq);
    mf_online_response_free(resp);
    return NULL;
}

/*---- Applier and churner ----------------------------------------------------------------*/

static void *applier_main(void *p) {
    (void)p;
    while (!atomic_load(&stop)) {
        mf_error err;
        int rc = mf_apply(store, NULL, &err);
        if (call_ok(rc, &err, "mf_apply")) atomic_fetch_add(&n_applies, 1);
        usleep(50000);
    }
    return NULL;
}

static void *short_main(void *p) {
    uint64_t seed = (uint64_t)(intptr_t)p * 0x9e3779b97f4a7c15ull + 1;
    int64_t last[2][K + 1];
    memset(last, 0, sizeof last);
    mf_online_request *req = new_request(rnd(&seed) % 2);
    mf_online_response *resp = mf_online_response_new();
    read_once(req, resp, &seed, last);
    mf_online_request_free(req);
    mf_online_response_free(resp);
    return NULL;
}

static void *churner_main(void *p) {
    (void)p;
    for (intptr_t i = 0; !atomic_load(&stop); i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_main, (void *)i) != 0) {
            failure("pthread_create failed");
            break;
        }
        pthread_join(t, NULL);
        atomic_fetch_add(&n_churn, 1);
    }
    return NULL;
}

/*---- A run ---------------------------------------------------------------------------------*/

static double run_seconds(void) {
    const char *e = getenv("MF_TEST_THREADS_SECONDS");
    double d = e && *e ? atof(e) : 2.0;
    return d > 0 ? d : 2.0;
}

/* Run every thread on the repo's shared store for the set time; with
 * `kill_redis`, then stop Redis and run on for a while. */
static void run_threads(bool kill_redis) {
    atomic_store(&stop, 0);
    atomic_store(&down, 0);
    atomic_store(&n_failures, 0);
    n_reads = n_cells = n_pushes = n_writes = n_applies = n_churn = n_down_errors = 0;
    n_transformed = 0;
    memset(started, 0, sizeof started);
    mf_error err;
    if (mf_store_open(repo, NULL, &store, &err) != MF_OK) {
        failure("mf_store_open: %s", err.message);
        return;
    }
    pid_t applier = start_applier();
    CHECK(applier > 0);
    pthread_t th[READERS + PUSHERS + WRITERS + 2];
    writer_arg wa[PUSHERS + WRITERS];
    size_t nt = 0;
    for (intptr_t i = 0; i < READERS; i++) pthread_create(&th[nt++], NULL, reader_main, (void *)i);
    for (int i = 0; i < PUSHERS; i++) {
        wa[i] = (writer_arg){0, i, PUSHERS};
        pthread_create(&th[nt++], NULL, writer_main, &wa[i]);
    }
    for (int i = 0; i < WRITERS; i++) {
        wa[PUSHERS + i] = (writer_arg){1, i, WRITERS};
        pthread_create(&th[nt++], NULL, writer_main, &wa[PUSHERS + i]);
    }
    pthread_create(&th[nt++], NULL, applier_main, NULL);
    pthread_create(&th[nt++], NULL, churner_main, NULL);
    usleep((useconds_t)(run_seconds() * 1e6));
    long applies = stop_applier(applier);
    if (kill_redis) {
        atomic_store(&down, 1);
        kill(redis_srv.pid, SIGKILL);
        waitpid(redis_srv.pid, NULL, 0);
        redis_srv.pid = 0;
        usleep(500000);
    }
    atomic_store(&stop, 1);
    for (size_t i = 0; i < nt; i++) pthread_join(th[i], NULL);
    mf_store_close(store);
    store = NULL;
    printf("#   %ld reads (%ld cells checked, %ld on-demand outputs), %ld pushes, %ld writes, "
           "%ld applies in the process and %ld by another, %ld short-lived threads, %ld calls "
           "refused while the store was down\n",
           (long)n_reads, (long)n_cells, (long)n_transformed, (long)n_pushes, (long)n_writes,
           (long)n_applies, applies, (long)n_churn, (long)n_down_errors);
    CHECK(atomic_load(&n_failures) == 0);
    CHECK(n_transformed > 0);
    CHECK(applies >= 1);
    CHECK(n_reads > 0 && n_pushes > 0 && n_writes > 0 && n_applies > 0 && n_churn > 0);
    if (kill_redis) CHECK(n_down_errors > 0);
}

static void test_sqlite_threads(void) {
    /* calls of 4 keys or more over several views split their reads over
     * two connections (a helper thread per reading thread) */
    CHECK(make_repo("online_store:\n  type: sqlite\n  split_read_keys: 4\n") == 0);
    run_threads(false);
}

static void test_redis_threads(void) {
    CHECK(server_start(&redis_srv) == 0);
    char *online = mf__xasprintf("online_store:\n  type: redis\n  connection_string: "
                                 "\"127.0.0.1:%d\"\n  connect_timeout_ms: 500\n"
                                 "  command_timeout_ms: 2000\n",
                                 redis_srv.port);
    int rc = make_repo(online);
    free(online);
    CHECK(rc == 0);
    run_threads(true);
}

/*---- A server that hangs up ------------------------------------------------------*/

/* Accepts connections on a loopback port, answers the first command (the
 * write script's SCRIPT LOAD) with a SHA1, and closes the connection: the
 * client's pipeline of writes that follows gets a reset, and a write after
 * it EPIPE, which raises SIGPIPE unless the writer guards against it. */
typedef struct hangup {
    int fd, port;
    atomic_int stop;
    atomic_long accepted;
} hangup;

static void *hangup_main(void *p) {
    hangup *h = p;
    static const char sha[] = "$40\r\n0123456789012345678901234567890123456789\r\n";
    while (!atomic_load(&h->stop)) {
        struct pollfd pf = {h->fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0) continue;
        int c = accept(h->fd, NULL, NULL);
        if (c < 0) continue;
        atomic_fetch_add(&h->accepted, 1);
        struct pollfd pc = {c, POLLIN, 0};
        char buf[65536];
        if (poll(&pc, 1, 2000) > 0 && read(c, buf, sizeof buf) > 0 &&
            write(c, sha, sizeof sha - 1) < 0) {
        }
        close(c);
    }
    return NULL;
}

/* The rows the big pushers write (filled before they start). */
enum { BIG_ROWS = 4000 };
static int64_t big_id[BIG_ROWS], big_ts[BIG_ROWS];
static char big_text[BIG_ROWS][64];
static const char *big_sv[BIG_ROWS];

static void *big_pusher_main(void *p) {
    (void)p;
    enum { ROWS = BIG_ROWS };
    const int64_t *id = big_id, *ts = big_ts;
    const char *const *sv = big_sv;
    for (int k = 0; k < 5; k++) {
        mf_error err;
        mf_entity_df *df = mf_entity_df_new(ROWS);
        int rc = mf_entity_df_add_int64(df, "driver_id", id, NULL, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", ts, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "a", id, NULL, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "b", id, NULL, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_text(df, "s", sv, &err);
        if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "n", id, NULL, &err);
        if (rc == MF_OK) rc = mf_write_to_online_store(store, "wv", df, &err);
        mf_entity_df_free(df);
        if (rc == MF_ESTORE) atomic_fetch_add(&n_down_errors, 1);
        else failure("a write to a server that hangs up: %d (%s), want MF_ESTORE", rc, err.message);
    }
    return NULL;
}

/* 8 threads write large batches to a "Redis" that closes every
 * connection: each call fails with MF_ESTORE, and the process, which does
 * not ignore SIGPIPE, lives on. */
static void test_redis_hangs_up(void) {
    CHECK(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    hangup h = {socket(AF_INET, SOCK_STREAM, 0), 0, 0, 0};
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK(h.fd >= 0 && bind(h.fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(h.fd, 64) == 0 &&
          getsockname(h.fd, (struct sockaddr *)&a, &len) == 0);
    h.port = ntohs(a.sin_port);
    /* the repo of the Redis test, pointed at the hanging-up server */
    char *yaml = mf__xasprintf("%s/feature_store.yaml", repo);
    char *ytext = mf__xasprintf("project: th\nregistry:\n  path: data/registry.db\n"
                                "online_store:\n  type: redis\n  connection_string: "
                                "\"127.0.0.1:%d\"\n  connect_timeout_ms: 500\n"
                                "  command_timeout_ms: 2000\n", h.port);
    int rc = mft_write(yaml, ytext);
    free(yaml), free(ytext);
    CHECK(rc == 0);
    mf_error err;
    CHECK(mf_store_open(repo, NULL, &store, &err) == MF_OK);
    atomic_store(&n_failures, 0);
    n_down_errors = 0;
    for (int i = 0; i < BIG_ROWS; i++) {
        big_id[i] = i + 1, big_ts[i] = T0 * S;
        memset(big_text[i], 'x', 63);
        big_sv[i] = big_text[i];
    }
    pthread_t srv, th[8];
    pthread_create(&srv, NULL, hangup_main, &h);
    for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, big_pusher_main, NULL);
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    atomic_store(&h.stop, 1);
    pthread_join(srv, NULL);
    close(h.fd);
    mf_store_close(store);
    store = NULL;
    printf("#   %ld connections closed, %ld calls refused\n", (long)h.accepted, (long)n_down_errors);
    CHECK(atomic_load(&n_failures) == 0 && n_down_errors == 40 && h.accepted > 0);
}

static void stop_redis(void) { server_stop(&redis_srv); }

int main(void) {
    tmp_root = mft_tmpdir("threads");
    if (!tmp_root) return 1;
    mft_redis_dir = tmp_root;
    atexit(stop_redis);
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(test_sqlite_threads);
    RUN(test_redis_threads);
    RUN(test_redis_hangs_up);
    stop_redis();
    mft_rmtree(tmp_root);
    free(tmp_root);
    free(repo);
    MFT_END();
}
