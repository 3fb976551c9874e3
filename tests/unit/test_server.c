/*
 * test_server.c — the feature server's request handling (server.c) shared
 * by many threads, as the daemon's thread pool shares it, without sockets:
 * each thread calls mf__server_handle with JSON bodies.
 *
 *   3 readers    POST /get-online-features of 1..8 drivers (features,
 *                then the feature service, then an on-demand view with a
 *                request field); every answer parsed and every cell checked
 *   2 pushers    POST /push to push source "ps" (view pv)
 *   1 writer     POST /write-to-online-store to view "wv"
 *   1 materializer  POST /materialize?async=true and sync of view "mv":
 *                202, 200 or 409 (one of the others is running), nothing else
 *   1 other      GET /health, GET /metrics, a refresh of the registry (as
 *                SIGHUP does), and bad requests (400, 401, 403, 404, 405,
 *                413, 422)
 * Writes carry a version v per view: pusher p writes v = k * P + p + 1 at
 * event time T0 + v s with a = v and s = "e<driver>v<v>"; a reader checks
 * that a row holds one write (a, s and the event time agree) and that v
 * never goes back for a driver. Runs under ThreadSanitizer too (TSAN_TESTS).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#include <jansson.h>

#include "mft.h"
#include "mft_repo.h"
#include "mf_server.h"

enum { READERS = 3, PUSHERS = 2, MAXROWS = 8, DRIVERS = 16 };
static const int64_t T0 = 1735689600; /* 2025-01-01T00:00:00Z */

static char *tmp_root, *repo;
static mf_store *store;
static mf__server *srv;
static atomic_int stop_flag, failures;
static _Atomic int64_t pushed_max; /* the largest v a pusher started */

static const char *DEFS =
    "local driver = entity { name = 'driver', join_keys = { 'driver_id' }, value_type = Int64 }\n"
    "local src = file_source { name = 'src', path = 'data/src.csv', timestamp_field = 'ts' }\n"
    "local msrc = file_source { name = 'msrc', path = 'data/m.csv', timestamp_field = 'ts' }\n"
    "local ps = push_source { name = 'ps', batch_source = src }\n"
    "local schema = { field { name = 'a', dtype = Int64 }, field { name = 's', dtype = String } }\n"
    "local pv = feature_view { name = 'pv', entities = { driver }, ttl = 0, schema = schema, source = ps }\n"
    "local wv = feature_view { name = 'wv', entities = { driver }, ttl = 0, schema = schema, source = src }\n"
    "feature_view { name = 'mv', entities = { driver }, ttl = 0,\n"
    "  schema = { field { name = 'm', dtype = Int64 } }, source = msrc }\n"
    "feature_service { name = 'svc', features = { pv, wv:select { 'a' } } }\n"
    "local req = request_source { name = 'req', schema = { field { name = 'k', dtype = Int64 } } }\n"
    "on_demand_feature_view { name = 'od', sources = { pv:select { 'a' }, req },\n"
    "  schema = { field { name = 'y', dtype = Int64 } },\n"
    "  transform = function(r)\n"
    "    if r.a == nil then return { y = null } end\n"
    "    return { y = r.a * 1000 + r.k }\n"
    "  end }\n";

static void fail(const char *what, const mf__http_resp *rs) {
    if (atomic_fetch_add(&failures, 1) < 5)
        printf("#   %s: status %d: %.300s\n", what, rs->status, rs->body.data ? rs->body.data : "");
}

static void call(const char *method, const char *path, const char *async, const char *auth,
                 const char *body, mf__http_resp *rs) {
    mf__http_req rq = {method, path, async, auth, body ? body : "", body ? strlen(body) : 0};
    mf__server_handle(srv, &rq, rs);
}

static unsigned next_rand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) & 0xffffff;
}

/*---- Threads --------------------------------------------------------------------*/

static void *pusher(void *arg) {
    int p = (int)(intptr_t)arg;
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    mf__buf b;
    mf__buf_init(&b);
    unsigned seed = 77u + (unsigned)p;
    for (int64_t k = 0; !atomic_load(&stop_flag); k++) {
        int64_t v = k * PUSHERS + p + 1;
        int64_t cur = atomic_load(&pushed_max);
        while (cur < v && !atomic_compare_exchange_weak(&pushed_max, &cur, v)) {}
        int n = 1 + (int)(next_rand(&seed) % MAXROWS);
        char ts[40];
        mf__ts_format((T0 + v) * 1000000, ts);
        b.len = 0;
        mf__buf_printf(&b, "{\"push_source_name\":\"ps\",\"to\":\"online\",\"df\":{\"driver_id\":[");
        for (int i = 0; i < n; i++) mf__buf_printf(&b, "%s%d", i ? "," : "", (p * 7 + i * 3 + (int)k) % DRIVERS);
        mf__buf_printf(&b, "],\"ts\":\"%s\",\"a\":%lld,\"s\":[", ts, (long long)v);
        for (int i = 0; i < n; i++)
            mf__buf_printf(&b, "%s\"e%dv%lld\"", i ? "," : "", (p * 7 + i * 3 + (int)k) % DRIVERS,
                           (long long)v);
        mf__buf_puts(&b, "]}}");
        call("POST", "/push", NULL, "Bearer w", b.data, &rs);
        if (rs.status != 200) fail("push", &rs);
    }
    mf__buf_free(&b);
    mf__buf_free(&rs.body);
    return NULL;
}

static void *writer(void *arg) {
    MF__UNUSED(arg);
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    char body[512];
    for (int64_t v = 1; !atomic_load(&stop_flag); v++) {
        int d = (int)(v % DRIVERS);
        char ts[40];
        mf__ts_format((T0 + v) * 1000000, ts);
        snprintf(body, sizeof body,
                 "{\"feature_view_name\":\"wv\",\"df\":{\"driver_id\":[%d],\"ts\":[\"%s\"],"
                 "\"a\":[%lld],\"s\":[\"e%dv%lld\"]}}", d, ts, (long long)v, d, (long long)v);
        call("POST", "/write-to-online-store", NULL, "Bearer w", body, &rs);
        if (rs.status != 200) fail("write", &rs);
    }
    mf__buf_free(&rs.body);
    return NULL;
}

/* Check one answer of reader mode `mode` for drivers ids[0..n). */
static void check_answer(int mode, const int *ids, int n, int64_t *last, const mf__http_resp *rs) {
    json_error_t je;
    json_t *root = json_loadb(rs->body.data, rs->body.len, 0, &je);
    json_t *names = json_object_get(json_object_get(root, "metadata"), "feature_names");
    json_t *res = json_object_get(root, "results");
    size_t want_cols = mode == 0 ? 3 : mode == 1 ? 4 : 2;
    if (!root || json_array_size(names) != want_cols || json_array_size(res) != want_cols) {
        fail("answer shape", rs);
        json_decref(root);
        return;
    }
    for (int i = 0; i < n; i++) {
        json_t *key = json_array_get(json_object_get(json_array_get(res, 0), "values"), (size_t)i);
        if (json_integer_value(key) != ids[i]) fail("join key", rs);
        if (mode == 2) {
            json_t *y = json_array_get(json_object_get(json_array_get(res, 1), "values"), (size_t)i);
            if (!json_is_null(y) && json_integer_value(y) % 1000 != ids[i]) fail("transform", rs);
            continue;
        }
        json_t *a = json_array_get(json_object_get(json_array_get(res, 1), "values"), (size_t)i);
        json_t *s = json_array_get(json_object_get(json_array_get(res, 2), "values"), (size_t)i);
        json_t *t = json_array_get(json_object_get(json_array_get(res, 1), "event_timestamps"), (size_t)i);
        if (json_is_null(a)) {
            if (!json_is_null(s)) fail("half a row", rs);
            continue;
        }
        int64_t v = json_integer_value(a);
        char want_s[64], want_t[40];
        snprintf(want_s, sizeof want_s, "e%dv%lld", ids[i], (long long)v);
        mf__ts_format((T0 + v) * 1000000, want_t);
        if (!json_is_string(s) || strcmp(json_string_value(s), want_s) != 0 ||
            !json_is_string(t) || strcmp(json_string_value(t), want_t) != 0)
            fail("torn row", rs);
        if (v > atomic_load(&pushed_max)) fail("a version nobody wrote", rs);
        if (v < last[ids[i]]) fail("older data after newer", rs);
        last[ids[i]] = v;
    }
    json_decref(root);
}

static void *reader(void *arg) {
    unsigned seed = 1000u + (unsigned)(intptr_t)arg;
    int64_t last[DRIVERS] = {0};
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    mf__buf b;
    mf__buf_init(&b);
    for (int it = 0; !atomic_load(&stop_flag); it++) {
        int n = 1 + (int)(next_rand(&seed) % MAXROWS), ids[MAXROWS];
        int mode = it % 3;
        b.len = 0;
        mf__buf_puts(&b, "{\"entities\":{\"driver_id\":[");
        for (int i = 0; i < n; i++) {
            ids[i] = (int)(next_rand(&seed) % DRIVERS);
            mf__buf_printf(&b, "%s%d", i ? "," : "", ids[i]);
        }
        mf__buf_puts(&b, "]");
        if (mode == 2) {
            mf__buf_puts(&b, ",\"k\":[");
            for (int i = 0; i < n; i++) mf__buf_printf(&b, "%s%d", i ? "," : "", ids[i]);
            mf__buf_puts(&b, "]");
        }
        mf__buf_puts(&b, mode == 0   ? "},\"features\":[\"pv:a\",\"pv:s\"]}"
                         : mode == 1 ? "},\"feature_service\":\"svc\",\"full_feature_names\":true}"
                                     : "},\"features\":[\"od:y\"]}");
        call("POST", "/get-online-features", NULL, "Bearer r", b.data, &rs);
        if (rs.status != 200) fail("read", &rs);
        else check_answer(mode, ids, n, last, &rs);
    }
    mf__buf_free(&b);
    mf__buf_free(&rs.body);
    return NULL;
}

static atomic_int mat_202, mat_409;

static void *materializer(void *arg) {
    MF__UNUSED(arg);
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    const char *body = "{\"start_ts\":\"2024-01-01T00:00:00Z\",\"end_ts\":\"2026-01-01T00:00:00Z\","
                       "\"feature_views\":[\"mv\"]}";
    for (int it = 0; !atomic_load(&stop_flag); it++) {
        call("POST", it % 2 ? "/materialize" : "/materialize-incremental", it % 3 ? "true" : NULL,
             "Bearer a", body, &rs);
        if (rs.status == 202) atomic_fetch_add(&mat_202, 1);
        else if (rs.status == 409) atomic_fetch_add(&mat_409, 1), usleep(2000);
        else if (rs.status != 200) fail("materialize", &rs);
    }
    mf__buf_free(&rs.body);
    return NULL;
}

static void *other(void *arg) {
    MF__UNUSED(arg);
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    static const struct {
        const char *method, *path, *auth, *body;
        int status;
    } bad[] = {
        {"POST", "/get-online-features", "Bearer r", "{\"entities\":", 400},
        {"POST", "/get-online-features", NULL, "{}", 401},
        {"POST", "/push", "Bearer r", "{}", 403},
        {"GET", "/nope", NULL, NULL, 404},
        {"GET", "/push", "Bearer a", NULL, 405},
        {"POST", "/get-online-features", "Bearer r",
         "{\"entities\":{\"driver_id\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,"
         "24,25,26,27,28,29,30,31,32,33]},\"features\":[\"pv:a\"]}", 413},
        {"POST", "/get-online-features", "Bearer r",
         "{\"entities\":{\"driver_id\":[1]},\"features\":[\"nope:a\"]}", 422}};
    for (int it = 0; !atomic_load(&stop_flag); it++) {
        call("GET", "/health", NULL, NULL, NULL, &rs);
        if (rs.status != 200) fail("health", &rs);
        call("GET", "/metrics", NULL, "Bearer r", NULL, &rs);
        if (rs.status != 200 || !strstr(rs.body.data, "moonfeast_registry_version")) fail("metrics", &rs);
        const int k = it % (int)MF__ARRAY_LEN(bad);
        call(bad[k].method, bad[k].path, NULL, bad[k].auth, bad[k].body, &rs);
        if (rs.status != bad[k].status || !rs.code) fail(bad[k].path, &rs);
        mf__server_observe(srv, rs.ep, rs.status, rs.code, 100);
        if (it % 8 == 0) {
            mf_error err;
            if (mf__store_refresh(store, &err)) {
                printf("#   refresh: %s\n", err.message);
                atomic_fetch_add(&failures, 1);
            }
        }
    }
    mf__buf_free(&rs.body);
    return NULL;
}

/*---- Test ------------------------------------------------------------------------*/

static void test_threads_share_the_server(void) {
    mf_error err;
    repo = mf__xasprintf("%s/repo", tmp_root);
    char *data = mf__xasprintf("%s/data", repo);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", repo);
    char *defs = mf__xasprintf("%s/defs.lua", repo);
    char *src = mf__xasprintf("%s/data/src.csv", repo);
    char *msrc = mf__xasprintf("%s/data/m.csv", repo);
    mf__buf m;
    mf__buf_init(&m);
    mf__buf_puts(&m, "driver_id,ts,m\n");
    /* 40000 rows (over 1 MiB: read in two halves by the batch engine),
     * every row of a key at the same time: the last one wins, m = 38000 + key */
    for (int i = 0; i < 40000; i++)
        mf__buf_printf(&m, "%d,2025-01-%02dT00:00:00Z,%d\n", i % 2000, 1 + (i % 2000) % 28, i);
    int rc = mkdir(repo, 0700) || mkdir(data, 0700) ||
             mft_write(yaml, "project: sv\nregistry: data/registry.db\n") || mft_write(defs, DEFS) ||
             mft_write(src, "driver_id,ts,a,s\n") || mft_write(msrc, m.data);
    free(data), free(yaml), free(defs), free(src), free(msrc);
    mf__buf_free(&m);
    CHECK(rc == 0);
    if (rc) return;
    API_OK(mf_store_open(repo, NULL, &store, &err));
    API_OK(mf_apply(store, NULL, &err));
    mf__auth_token tokens[] = {{(char *)"r", MF__ROLE_READ}, {(char *)"w", MF__ROLE_WRITE},
                               {(char *)"a", MF__ROLE_ADMIN}};
    mf__server_config sc = mf__store_config(store)->server;
    sc.tokens = tokens;
    sc.n_tokens = 3;
    sc.max_entity_rows = 32;
    API_OK(mf__server_new(store, &sc, &srv, &err));
    mf__store_manual_refresh(store);

    pthread_t t[READERS + PUSHERS + 3];
    int nt = 0;
    for (int i = 0; i < READERS; i++) pthread_create(&t[nt++], NULL, reader, (void *)(intptr_t)i);
    for (int i = 0; i < PUSHERS; i++) pthread_create(&t[nt++], NULL, pusher, (void *)(intptr_t)i);
    pthread_create(&t[nt++], NULL, writer, NULL);
    pthread_create(&t[nt++], NULL, materializer, NULL);
    pthread_create(&t[nt++], NULL, other, NULL);
    const char *secs = getenv("MF_TEST_SERVER_SECONDS");
    usleep((useconds_t)((secs ? atof(secs) : 1.5) * 1e6));
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < nt; i++) pthread_join(t[i], NULL);
    CHECK(atomic_load(&failures) == 0);
    CHECK(atomic_load(&pushed_max) > 0);
    printf("#   pushes up to v=%lld, async materializations %d, 409s %d\n",
           (long long)atomic_load(&pushed_max), atomic_load(&mat_202), atomic_load(&mat_409));
    CHECK(atomic_load(&mat_202) > 0);
    /* free waits for the background materializations */
    mf__server_free(srv);
    srv = NULL;
    mf_store_close(store);
    store = NULL;
}

/* Metrics count what mf__server_observe is told, by endpoint, status and
 * code, and render as Prometheus text. */
static void test_metrics_text(void) {
    mf_error err;
    mf_store *s = NULL;
    API_OK(mf_store_open(repo, NULL, &s, &err));
    mf__server_config sc = mf__store_config(s)->server;
    mf__server *v = NULL;
    API_OK(mf__server_new(s, &sc, &v, &err));
    mf__server_observe(v, MF__EP_ONLINE, 200, NULL, 40);
    mf__server_observe(v, MF__EP_ONLINE, 200, NULL, 300);
    mf__server_observe(v, MF__EP_ONLINE, 422, "invalid_request", 2000000);
    mf__server_observe(v, MF__EP_PUSH, 599, NULL, 20000000);
    mf__server_refresh_failed(v);
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    mf__http_req rq = {"GET", "/metrics", NULL, NULL, "", 0};
    mf__server_handle(v, &rq, &rs);
    CHECK(rs.status == 200);
    CHECK_HAS(rs.body.data, "moonfeast_http_requests_total{endpoint=\"/get-online-features\",status=\"200\"} 2\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_requests_total{endpoint=\"/get-online-features\",status=\"422\"} 1\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_requests_total{endpoint=\"/push\",status=\"500\"} 1\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_errors_total{endpoint=\"/get-online-features\",code=\"invalid_request\"} 1\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"/get-online-features\",le=\"5e-05\"} 1\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"/get-online-features\",le=\"0.0005\"} 2\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"/get-online-features\",le=\"1\"} 2\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"/get-online-features\",le=\"2.5\"} 3\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"/push\",le=\"10\"} 0\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"/push\",le=\"+Inf\"} 1\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_count{endpoint=\"/get-online-features\"} 3\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_sum{endpoint=\"/get-online-features\"} 2.000340\n");
    CHECK_HAS(rs.body.data, "moonfeast_registry_refresh_failures_total 1\n");
    CHECK_HAS(rs.body.data, "# TYPE moonfeast_http_request_duration_seconds histogram\n");
    mf__buf_free(&rs.body);
    mf__server_free(v);
    mf_store_close(s);
}

/* Counters kept per thread add up: 12 threads (more than there are
 * shards) each observe 1000 requests and count 1000 in flight then done;
 * /metrics gives the totals (also under ThreadSanitizer). */
typedef struct obs_arg {
    mf__server *v;
    int k;
} obs_arg;

static void *observe_many(void *p) {
    obs_arg *a = p;
    for (int i = 0; i < 1000; i++) {
        mf__server_inflight(a->v, 1);
        mf__server_observe(a->v, MF__EP_ONLINE, 200, NULL, 40 + a->k);
        if (i % 10 == 0) mf__server_observe(a->v, MF__EP_ONLINE, 422, "invalid_request", 100);
        mf__server_inflight(a->v, -1);
    }
    return NULL;
}

static void test_metrics_threads(void) {
    mf_error err;
    mf_store *s = NULL;
    API_OK(mf_store_open(repo, NULL, &s, &err));
    mf__server_config sc = mf__store_config(s)->server;
    mf__server *v = NULL;
    API_OK(mf__server_new(s, &sc, &v, &err));
    enum { NT = 12 };
    pthread_t t[NT];
    obs_arg a[NT];
    mf__server_inflight(v, 1); /* one still in flight, from this thread */
    for (int i = 0; i < NT; i++) {
        a[i] = (obs_arg){v, i};
        pthread_create(&t[i], NULL, observe_many, &a[i]);
    }
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    CHECK(mf__server_inflight_now(v) == 1);
    mf__server_inflight(v, -1);
    CHECK(mf__server_inflight_now(v) == 0);
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    mf__http_req rq = {"GET", "/metrics", NULL, NULL, "", 0};
    mf__server_handle(v, &rq, &rs);
    CHECK(rs.status == 200);
    CHECK_HAS(rs.body.data, "moonfeast_http_requests_total{endpoint=\"/get-online-features\",status=\"200\"} 12000\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_requests_total{endpoint=\"/get-online-features\",status=\"422\"} 1200\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_errors_total{endpoint=\"/get-online-features\",code=\"invalid_request\"} 1200\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"/get-online-features\",le=\"5e-05\"} 11000\n");
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_count{endpoint=\"/get-online-features\"} 13200\n");
    /* sum: 1000 x (40 + k) over k = 0..11, and 1200 x 100 */
    CHECK_HAS(rs.body.data, "moonfeast_http_request_duration_seconds_sum{endpoint=\"/get-online-features\"} 0.666000\n");
    mf__buf_free(&rs.body);
    mf__server_free(v);
    mf_store_close(s);
}

/* The fast parser of /get-online-features bodies answers exactly as the
 * Jansson path does: the same status and the same bytes, for valid bodies
 * of every shape it takes, for the shapes it leaves to Jansson, and for
 * random mutations of both (broken JSON, bad UTF-8, escapes, duplicates,
 * numbers at the edges of int64 and double). */
static void test_fast_parser_agrees(void) {
    mf_error err;
    mf_store *s = NULL;
    API_OK(mf_store_open(repo, NULL, &s, &err));
    mf__server_config sc = mf__store_config(s)->server;
    sc.max_entity_rows = 16;
    mf__server *v = NULL;
    API_OK(mf__server_new(s, &sc, &v, &err));
    static const char *const seeds[] = {
        "{\"entities\":{\"driver_id\":[1,2,3]},\"features\":[\"pv:a\",\"pv:s\"]}",
        " {\n\"features\" : [ \"pv:a\" ] , \"entities\":{ \"driver_id\" : [ \"1\" , 2 , null ] } }\t",
        "{\"entities\":{\"driver_id\":[1,2],\"k\":[7,-8]},\"features\":[\"od:y\"],\"full_feature_names\":true}",
        "{\"entities\":{\"driver_id\":[3]},\"feature_service\":\"svc\",\"full_feature_names\":true,"
        "\"include_feature_view_version_metadata\":false,\"allow_registry_cache\":null,\"x\":[1,[2,\"3\"],true]}",
        "{\"entities\":{\"driver_id\":[1e0,2.5,-0.0,1E+2]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[9223372036854775807,-9223372036854775808]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[9223372036854775808]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[1e400]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[\"\\u0031\\u00e9\\ud83d\\ude00\\n\"]},\"features\":[\"pv:\\u0061\"]}",
        "{\"entities\":{\"driver_id\":[\"\\ud83d\"]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[\"a\\u0000b\"]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[1]},\"entities\":{\"driver_id\":[2]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[1],\"driver_id\":[2]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[1,2]},\"features\":[\"pv:a\"],\"x\":{\"a\":1,\"a\":2}}",
        "{\"entities\":{\"driver_id\":[true,false]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[1]},\"features\":[],\"feature_service\":\"\"}",
        "{\"entities\":{\"driver_id\":[1]},\"features\":[\"\"]}",
        "{\"entities\":{\"driver_id\":[1]},\"features\":[\"nope:a\"],\"full_feature_names\":\"yes\"}",
        "{\"entities\":{\"driver_id\":[1],\"k\":[[1,2]]},\"features\":[\"od:y\"]}",
        "{\"entities\":{\"driver_id\":[01]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[1.]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[-]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[1]},\"features\":[\"pv:a\"]} x",
        "\xef\xbb\xbf{\"entities\":{\"driver_id\":[1]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[\"\xc3\x28\"]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[\"\xe2\x82\xac\"]},\"features\":[\"pv:a\"]}",
        "{\"entities\":{\"driver_id\":[\"tab\there\"]},\"features\":[\"pv:a\"]}"};
    mf__http_resp a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    mf__buf_init(&a.body);
    mf__buf_init(&b.body);
    mf__buf body;
    mf__buf_init(&body);
    unsigned seed = 12345;
    static const char junk[] = "{}[],:\"\\ 0123456789.eE+-tfnu\x80\xff\xc3\xed\x00a";
    int compared = 0, differ = 0;
    for (int it = 0; it < 40000; it++) {
        const char *sd = seeds[next_rand(&seed) % MF__ARRAY_LEN(seeds)];
        body.len = 0;
        mf__buf_puts(&body, sd);
        int muts = it < (int)MF__ARRAY_LEN(seeds) ? 0 : 1 + (int)(next_rand(&seed) % 3);
        for (int m = 0; m < muts && body.len; m++) {
            size_t at = next_rand(&seed) % body.len;
            char c = junk[next_rand(&seed) % (sizeof junk - 1)];
            switch (next_rand(&seed) % 4) {
            case 0: body.data[at] = c; break;
            case 1: memmove(body.data + at, body.data + at + 1, body.len - at), body.len--; break;
            case 2:
                mf__buf_putc(&body, 0);
                memmove(body.data + at + 1, body.data + at, body.len - at - 1);
                body.data[at] = c;
                break;
            default: body.len = at; break;
            }
        }
        mf__http_req rq = {"POST", "/get-online-features", NULL, NULL, body.data, body.len};
        mf__server_fast_json(false);
        mf__server_handle(v, &rq, &a);
        mf__server_fast_json(true);
        mf__server_handle(v, &rq, &b);
        compared++;
        if (a.status != b.status || a.body.len != b.body.len ||
            memcmp(a.body.data, b.body.data, a.body.len) != 0) {
            if (differ++ < 5)
                printf("#   body %.*s\n#     jansson %d %.*s\n#     fast    %d %.*s\n", (int)body.len,
                       body.data, a.status, (int)a.body.len, a.body.data, b.status,
                       (int)b.body.len, b.body.data);
        }
    }
    printf("#   %d bodies compared, %d differ\n", compared, differ);
    CHECK(differ == 0);
    mf__buf_free(&body);
    mf__buf_free(&a.body);
    mf__buf_free(&b.body);
    mf__server_free(v);
    mf_store_close(s);
}

/* The local batch engine: every view of the repo materialized by three
 * jobs at once; the progress callback is never entered by two threads at
 * a time; a second run with one job leaves the same online values. */
static atomic_int in_progress, progress_overlaps, progress_done;

static void on_progress(void *ud, const char *view, uint64_t rows_read, uint64_t rows_written,
                        int done) {
    MF__UNUSED(ud), MF__UNUSED(view), MF__UNUSED(rows_read), MF__UNUSED(rows_written);
    if (atomic_fetch_add(&in_progress, 1) != 0) atomic_fetch_add(&progress_overlaps, 1);
    usleep(200);
    if (done) atomic_fetch_add(&progress_done, 1);
    atomic_fetch_sub(&in_progress, 1);
}

static void test_materialize_jobs(void) {
    mf_error err;
    mf_store *s = NULL;
    API_OK(mf_store_open(repo, NULL, &s, &err));
    mf_materialize_options o = {on_progress, NULL, 3};
    int64_t end = (T0 + 3600 * 24 * 60) * 1000000;
    API_OK(mf_materialize(s, 0, end, NULL, 0, &o, &err));
    CHECK(atomic_load(&progress_done) == 3); /* pv, wv, mv */
    CHECK(atomic_load(&progress_overlaps) == 0);
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"mv:m"};
    int64_t ids[] = {0, 27, 1999};
    API_OK(mf_online_request_set_features(req, refs, 1, &err));
    API_OK(mf_online_request_add_int64(req, "driver_id", ids, 3, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    for (size_t i = 0; i < 3; i++) CHECK(mf_online_response_int64(resp, 1, i) == 38000 + ids[i]);
    o.jobs = 1;
    API_OK(mf_materialize_incremental(s, end, NULL, 0, &o, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    for (size_t i = 0; i < 3; i++) CHECK(mf_online_response_int64(resp, 1, i) == 38000 + ids[i]);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
}

int main(void) {
    tmp_root = mft_tmpdir("server");
    if (!tmp_root) return 1;
    RUN(test_threads_share_the_server);
    RUN(test_metrics_text);
    RUN(test_metrics_threads);
    RUN(test_fast_parser_agrees);
    RUN(test_materialize_jobs);
    mft_rmtree(tmp_root);
    free(tmp_root);
    free(repo);
    MFT_END();
}
