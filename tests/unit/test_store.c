/*
 * test_store.c — the shared store's machinery (repo.c, error.c): logging
 * from many threads, registry snapshots (index, pins, swaps, failed
 * reloads) and per-thread workers (creation, release at thread exit or at
 * close, and the race between the two).
 *
 * The repo (project "st", registry cache ttl 1 s): entity driver, file
 * source src, push source ps on it, views pv (fed by ps) and wv (on src),
 * service svc. A second repo (project "other") shares the registry file,
 * so the registry holds two projects.
 *
 * Checked:
 * - the log callback gets every message once, with its level, from 8
 *   threads while the main thread switches callbacks; messages above the
 *   level are dropped; mf_set_log_callback(NULL) goes back to stderr;
 *   mf_open_options.log_level sets the level, opts NULL leaves it;
 * - mf__snapshot_find finds every object of the store's project by kind and
 *   name, and nothing of another project or kind; mf__snapshot_views_of
 *   gives the views a source feeds;
 * - a pinned snapshot stays readable after the store swapped it (commit)
 *   and after the store closed; a request resolved on it keeps it until it
 *   resolves again or is freed; generations grow;
 * - a registry that cannot be read after the first load: calls keep
 *   serving the previous snapshot (8 threads), the failure is logged once
 *   per attempt, attempts are a ttl apart; once readable again the next
 *   attempt loads it; a store whose first load fails returns the error and
 *   loads on the next call once the registry is back;
 * - workers: one per thread and store, released (slot destructors run
 *   once) at the thread's exit, or at the store's close for threads still
 *   alive, never twice; 16 threads exiting while the store closes, 20
 *   times; a thread using two stores keeps the other's worker when one
 *   closes;
 * - 8 threads pinning and reading snapshots while the main thread commits
 *   through the store.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "mft.h"
#include "mft_repo.h"

static char *tmp_root, *repo, *repo2, *registry_path;

/*---- The repos ----------------------------------------------------------------*/

static const char defs[] =
    "local driver = entity { name = 'driver', join_keys = { 'driver_id' }, value_type = Int64 }\n"
    "local src = file_source { name = 'src', path = 'data/src.csv', timestamp_field = 'ts' }\n"
    "local ps = push_source { name = 'ps', batch_source = src }\n"
    "local schema = { field { name = 'a', dtype = Int64 } }\n"
    "local pv = feature_view { name = 'pv', entities = { driver }, ttl = 0, schema = schema,\n"
    "  source = ps }\n"
    "local wv = feature_view { name = 'wv', entities = { driver }, ttl = 0, schema = schema,\n"
    "  source = src }\n"
    "feature_service { name = 'svc', features = { pv, wv } }\n";

static int make_one(const char *dir, const char *project, const char *text) {
    char *data = mf__xasprintf("%s/data", dir);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", dir);
    char *ytext = mf__xasprintf("project: %s\nregistry:\n  path: %s\n  cache_ttl_seconds: 1\n",
                                project, registry_path);
    char *d = mf__xasprintf("%s/defs.lua", dir);
    char *src = mf__xasprintf("%s/data/src.csv", dir);
    int rc = mkdir(dir, 0700) || mkdir(data, 0700) || mft_write(yaml, ytext) || mft_write(d, text) ||
             mft_write(src, "driver_id,ts,a\n1,2025-01-01T00:00:00Z,11\n");
    free(data), free(yaml), free(ytext), free(d), free(src);
    if (rc) return -1;
    mf_error err;
    mf_store *s = NULL;
    if (mf_store_open(dir, NULL, &s, &err) != MF_OK || mf_apply(s, NULL, &err) != MF_OK ||
        mf_materialize(s, 0, INT64_MAX / 2, NULL, 0, NULL, &err) != MF_OK) {
        printf("#   preparing %s: %s\n", dir, err.message);
        mf_store_close(s);
        return -1;
    }
    mf_store_close(s);
    return 0;
}

static int make_repos(void) {
    repo = mf__xasprintf("%s/repo", tmp_root);
    repo2 = mf__xasprintf("%s/repo2", tmp_root);
    registry_path = mf__xasprintf("%s/registry.db", tmp_root);
    /* the other project has a view of the same name and one of its own */
    return make_one(repo, "st", defs) ||
           make_one(repo2, "other",
                    "local driver = entity { name = 'driver', join_keys = { 'driver_id' } }\n"
                    "local src = file_source { name = 'src', path = 'data/src.csv', "
                    "timestamp_field = 'ts' }\n"
                    "feature_view { name = 'pv', entities = { driver }, ttl = 0, source = src,\n"
                    "  schema = { field { name = 'a', dtype = Int64 } } }\n"
                    "feature_view { name = 'only_other', entities = { driver }, ttl = 0,\n"
                    "  source = src, schema = { field { name = 'a', dtype = Int64 } } }\n");
}

static mf_store *open_repo(void) {
    mf_error err;
    mf_store *s = NULL;
    if (mf_store_open(repo, NULL, &s, &err) != MF_OK) printf("#   open: %s\n", err.message);
    return s;
}

/* Read pv:a of driver 1 through req (and a fresh response). */
static int read_a(mf_store *s, mf_online_request *req, int64_t *a, mf_error *err) {
    mf_online_response *resp = mf_online_response_new();
    int64_t id = 1;
    mf_online_request_clear_entities(req);
    int rc = mf_online_request_add_int64(req, "driver_id", &id, 1, err);
    if (rc == MF_OK) rc = mf_get_online_features(s, req, resp, err);
    if (rc == MF_OK) *a = mf_online_response_int64(resp, 1, 0);
    mf_online_response_free(resp);
    return rc;
}

static mf_online_request *request_wv(void) {
    mf_error err;
    const char *refs[1] = {"wv:a"};
    mf_online_request *req = mf_online_request_new();
    mf_online_request_set_features(req, refs, 1, &err);
    return req;
}

/*---- Materialization reads the registry ------------------------------------------*/

/* The status of v:a of driver id through s. */
static int status_of(mf_store *s, int64_t id) {
    mf_error err;
    const char *refs[1] = {"v:a"};
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    int st = -1;
    if (mf_online_request_set_features(req, refs, 1, &err) == MF_OK &&
        mf_online_request_add_int64(req, "driver_id", &id, 1, &err) == MF_OK &&
        mf_get_online_features(s, req, resp, &err) == MF_OK)
        st = (int)mf_online_response_status(resp, 1, 0);
    else
        printf("#   reading driver %lld: %s\n", (long long)id, err.message);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    return st;
}

/* Materialization reads the registry when it is called, not the handle's
 * cached snapshot (a server's lives for cache_ttl_seconds): after another
 * handle (another process) tears the project down and applies it again,
 * the view has no intervals, and an incremental run of the first handle
 * starts as for a new view (here: the oldest row, ttl 0), not at the END
 * its cached snapshot remembers. */
static void test_materialize_reads_registry(void) {
    char *dir = mf__xasprintf("%s/matreg", tmp_root);
    char *data = mf__xasprintf("%s/data", dir), *yaml = mf__xasprintf("%s/feature_store.yaml", dir);
    char *d = mf__xasprintf("%s/defs.lua", dir), *src = mf__xasprintf("%s/data/src.csv", dir);
    CHECK(mkdir(dir, 0700) == 0 && mkdir(data, 0700) == 0);
    CHECK(mft_write(yaml, "project: mr\nregistry:\n  path: data/registry.db\n"
                          "  cache_ttl_seconds: 600\n") == 0);
    CHECK(mft_write(d, "local driver = entity { name = 'driver', join_keys = { 'driver_id' } }\n"
                       "local src = file_source { name = 'src', path = 'data/src.csv', "
                       "timestamp_field = 'ts' }\n"
                       "feature_view { name = 'v', entities = { driver }, ttl = 0, source = src,\n"
                       "  schema = { field { name = 'a', dtype = Int64 } } }\n") == 0);
    CHECK(mft_write(src, "driver_id,ts,a\n1,2025-01-01T00:00:00Z,11\n2,2025-01-03T00:00:00Z,22\n") == 0);
    mf_error err;
    mf_store *a = NULL, *b = NULL;
    const int64_t day = INT64_C(86400000000), jan1 = INT64_C(1735689600000000);
    API_OK(mf_store_open(dir, NULL, &a, &err));
    API_OK(mf_apply(a, NULL, &err));
    API_OK(mf_materialize_incremental(a, jan1 + day, NULL, 0, NULL, &err));
    CHECK(status_of(a, 1) == MF_STATUS_PRESENT);
    /* another process: teardown, then apply */
    API_OK(mf_store_open(dir, NULL, &b, &err));
    API_OK(mf_teardown(b, &err));
    API_OK(mf_apply(b, NULL, &err));
    mf_store_close(b);
    API_OK(mf_materialize_incremental(a, jan1 + 3 * day, NULL, 0, NULL, &err));
    int s1 = status_of(a, 1), s2 = status_of(a, 2);
    if (s1 != MF_STATUS_PRESENT || s2 != MF_STATUS_PRESENT)
        printf("#   after the second run: driver 1 %d, driver 2 %d\n", s1, s2);
    CHECK(s1 == MF_STATUS_PRESENT && s2 == MF_STATUS_PRESENT);
    mf_store_close(a);
    free(dir), free(data), free(yaml), free(d), free(src);
}

/*---- Logging -------------------------------------------------------------------*/

typedef struct log_sink {
    atomic_long count, bad;
} log_sink;

static void sink_fn(int level, const char *msg, void *ud) {
    log_sink *k = ud;
    if (level != MF_LOG_WARNING || strncmp(msg, "from thread ", 12) != 0) atomic_fetch_add(&k->bad, 1);
    atomic_fetch_add(&k->count, 1);
}

enum { LOGGERS = 8, LOGS = 2000 };

static void *logger_main(void *p) {
    for (int i = 0; i < LOGS; i++) mf__log(MF_LOG_WARNING, "from thread %d: %d", (int)(intptr_t)p, i);
    mf__log(MF_LOG_DEBUG, "dropped"); /* above the level */
    return NULL;
}

static void test_log_threads(void) {
    log_sink a = {0}, b = {0};
    mf_set_log_level(MF_LOG_WARNING);
    mf_set_log_callback(sink_fn, &a);
    pthread_t th[LOGGERS];
    for (intptr_t i = 0; i < LOGGERS; i++) pthread_create(&th[i], NULL, logger_main, (void *)i);
    for (int i = 0; i < 200; i++) mf_set_log_callback(sink_fn, i % 2 ? &a : &b);
    for (int i = 0; i < LOGGERS; i++) pthread_join(th[i], NULL);
    mf_set_log_callback(NULL, NULL);
    long total = atomic_load(&a.count) + atomic_load(&b.count);
    printf("#   %ld + %ld messages\n", (long)a.count, (long)b.count);
    CHECK(total == LOGGERS * LOGS);
    CHECK(a.bad == 0 && b.bad == 0);
    /* after NULL: stderr again, the callbacks see nothing */
    fflush(stderr);
    int saved = dup(2);
    char *path = mf__xasprintf("%s/stderr.txt", tmp_root);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    mf__log(MF_LOG_WARNING, "to stderr %d", 42);
    mf_set_log_level(MF_LOG_ERROR);
    mf__log(MF_LOG_WARNING, "not shown");
    mf_set_log_level(MF_LOG_WARNING);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    FILE *f = fopen(path, "r");
    char line[256] = "";
    bool got = f && fgets(line, sizeof line, f) != NULL;
    bool more = f && fgetc(f) != EOF;
    if (f) fclose(f);
    free(path);
    CHECK(got);
    CHECK_STR(line, "moonfeast: warning: to stderr 42\n");
    CHECK(!more);
    CHECK(total == atomic_load(&a.count) + atomic_load(&b.count));
}

/* mf_open_options.log_level sets the process-wide level; opts NULL leaves
 * it as it is. */
static void test_open_log_level(void) {
    mf_error err;
    mf_store *s = NULL;
    mf_open_options o = {NULL, MF_LOG_DEBUG};
    mf_set_log_level(MF_LOG_WARNING);
    API_OK(mf_store_open(repo, &o, &s, &err));
    mf_store_close(s);
    CHECK(mf_get_log_level() == MF_LOG_DEBUG);
    API_OK(mf_store_open(repo, NULL, &s, &err));
    mf_store_close(s);
    CHECK(mf_get_log_level() == MF_LOG_DEBUG);
    mf_set_log_level(MF_LOG_WARNING);
    CHECK(mf_get_log_level() == MF_LOG_WARNING);
}

/*---- Snapshots ------------------------------------------------------------------*/

static void test_snapshot_index(void) {
    mf_error err;
    mf_store *s = open_repo();
    CHECK(s);
    mf__snapshot *sn;
    API_OK(mf__store_pin(s, &sn, &err));
    const mf__obj *o = mf__snapshot_find(sn, MF_KIND_FEATURE_VIEW, "pv");
    CHECK(o && o->kind == MF_KIND_FEATURE_VIEW);
    CHECK_STR(o->name, "pv");
    CHECK_STR(o->project, "st");
    CHECK_STR(((const Mf__FeatureViewSpec *)o->spec)->source, "ps");
    CHECK(mf__snapshot_find(sn, MF_KIND_FEATURE_VIEW, "wv") != NULL);
    CHECK(mf__snapshot_find(sn, MF_KIND_ENTITY, "driver") != NULL);
    CHECK(mf__snapshot_find(sn, MF_KIND_DATA_SOURCE, "ps") != NULL);
    CHECK(mf__snapshot_find(sn, MF_KIND_FEATURE_SERVICE, "svc") != NULL);
    /* not of this project, not of this kind, not at all */
    CHECK(mf__snapshot_find(sn, MF_KIND_FEATURE_VIEW, "only_other") == NULL);
    CHECK(mf__snapshot_find(sn, MF_KIND_FEATURE_SERVICE, "pv") == NULL);
    CHECK(mf__snapshot_find(sn, MF_KIND_FEATURE_VIEW, "nope") == NULL);
    CHECK(mf__snapshot_find(sn, MF_KIND_ANY, "pv") == NULL);
    /* both projects are in the registry */
    CHECK(mf__snapshot_registry(sn)->n_feature_views == 4);
    CHECK_STR(mf__snapshot_project(sn), "st");
    size_t n;
    const Mf__FeatureView *const *fed = mf__snapshot_views_of(sn, "ps", &n);
    CHECK(n == 1 && strcmp(fed[0]->spec->name, "pv") == 0);
    fed = mf__snapshot_views_of(sn, "src", &n);
    CHECK(n == 1 && strcmp(fed[0]->spec->name, "wv") == 0 && strcmp(fed[0]->spec->project, "st") == 0);
    mf__snapshot_views_of(sn, "nope", &n);
    CHECK(n == 0);
    mf__snapshot_unpin(sn);
    mf_store_close(s);
}

static void test_snapshot_pins(void) {
    mf_error err;
    mf_store *s = open_repo();
    CHECK(s);
    mf__snapshot *s1, *s1b, *s2;
    API_OK(mf__store_pin(s, &s1, &err));
    API_OK(mf__store_pin(s, &s1b, &err));
    CHECK(s1 == s1b); /* nothing changed: the same snapshot */
    mf__snapshot_unpin(s1b);
    mf_online_request *req = request_wv();
    int64_t a = 0;
    API_OK(read_a(s, req, &a, &err));
    CHECK(a == 11);
    uint64_t v1 = mf__snapshot_registry(s1)->version, g1 = mf__snapshot_gen(s1);
    /* a commit through the store swaps the snapshot at once */
    API_OK(mf_apply(s, NULL, &err));
    API_OK(mf__store_pin(s, &s2, &err));
    CHECK(s2 != s1 && mf__snapshot_gen(s2) > g1);
    CHECK(mf__snapshot_registry(s2)->version == v1 + 1);
    /* the old one is still whole (ASan would see a use after free) */
    CHECK(mf__snapshot_registry(s1)->version == v1);
    CHECK(mf__snapshot_find(s1, MF_KIND_FEATURE_VIEW, "wv") != NULL);
    mf__snapshot_unpin(s1);
    /* the request resolves again on the new one, and serves */
    API_OK(read_a(s, req, &a, &err));
    CHECK(a == 11);
    /* pins and the request outlive the store */
    mf_store_close(s);
    CHECK(mf__snapshot_find(s2, MF_KIND_FEATURE_VIEW, "pv") != NULL);
    mf__snapshot_unpin(s2);
    mf_online_request_free(req);
}

/*---- Failed reloads ---------------------------------------------------------------*/

typedef struct reload_log {
    atomic_long failed, other;
} reload_log;

static void reload_fn(int level, const char *msg, void *ud) {
    reload_log *r = ud;
    if (level == MF_LOG_WARNING && strstr(msg, "the registry could not be reloaded") &&
        strstr(msg, "not a moonfeast registry file"))
        atomic_fetch_add(&r->failed, 1);
    else
        atomic_fetch_add(&r->other, 1);
}

static char *read_file(const char *path, size_t *len) {
    char *data = NULL;
    mf_error err;
    return mf__read_input(path, SIZE_MAX, &data, len, &err) == MF_OK ? data : NULL;
}

static int write_bytes(const char *path, const char *p, size_t n) {
    char *tmp = mf__xasprintf("%s.tmp2", path);
    FILE *f = fopen(tmp, "wb");
    int rc = f && fwrite(p, 1, n, f) == n ? 0 : -1;
    if (f && fclose(f) != 0) rc = -1;
    if (rc == 0) rc = rename(tmp, path);
    free(tmp);
    return rc;
}

typedef struct served {
    mf_store *s;
    atomic_long ok, failed;
} served;

static void *serve_main(void *p) {
    served *x = p;
    mf_online_request *req = request_wv();
    for (int i = 0; i < 200; i++) {
        mf_error err;
        int64_t a = 0;
        if (read_a(x->s, req, &a, &err) == MF_OK && a == 11) atomic_fetch_add(&x->ok, 1);
        else atomic_fetch_add(&x->failed, 1);
    }
    mf_online_request_free(req);
    return NULL;
}

/* After the ttl the store checks the registry's version (for a file
 * registry: its identity and time) and reads it again only when it
 * changed: the same snapshot serves on, its check time refreshed. */
static void test_unchanged_registry_is_not_reloaded(void) {
    mf_error err;
    size_t len;
    char *good = read_file(registry_path, &len);
    CHECK(good);
    mf_store *s = open_repo();
    CHECK(s);
    mf_online_request *req = request_wv();
    int64_t a = 0;
    mf__snapshot *sn;
    API_OK(read_a(s, req, &a, &err));
    API_OK(mf__store_pin(s, &sn, &err));
    uint64_t g1 = mf__snapshot_gen(sn);
    mf__snapshot_unpin(sn);
    uint64_t v1;
    int64_t loaded1, loaded2;
    API_OK(mf__store_snapshot_info(s, &v1, &loaded1, &err));
    usleep(1100000);
    API_OK(read_a(s, req, &a, &err));
    API_OK(mf__store_pin(s, &sn, &err));
    CHECK(mf__snapshot_gen(sn) == g1); /* not read again */
    mf__snapshot_unpin(sn);
    API_OK(mf__store_snapshot_info(s, &v1, &loaded2, &err));
    CHECK(loaded2 > loaded1); /* but checked */
    /* the same bytes written again: a commit as far as the check can
     * tell, so the next check after the ttl reads it */
    CHECK(write_bytes(registry_path, good, len) == 0);
    usleep(1100000);
    API_OK(read_a(s, req, &a, &err));
    API_OK(mf__store_pin(s, &sn, &err));
    CHECK(mf__snapshot_gen(sn) > g1);
    mf__snapshot_unpin(sn);
    CHECK(a == 11);
    mf_online_request_free(req);
    mf_store_close(s);
    free(good);
}

static void test_failed_reload(void) {
    mf_error err;
    size_t len;
    char *good = read_file(registry_path, &len);
    CHECK(good);
    reload_log lg = {0};
    mf_set_log_callback(reload_fn, &lg);
    mf_store *s = open_repo();
    CHECK(s);
    mf_online_request *req = request_wv();
    int64_t a = 0;
    mf__snapshot *s1, *sn;
    int rc = read_a(s, req, &a, &err);
    if (rc == MF_OK) rc = mf__store_pin(s, &s1, &err);
    CHECK(rc == MF_OK && a == 11);
    uint64_t g1 = mf__snapshot_gen(s1);
    mf__snapshot_unpin(s1);
    /* the registry becomes unreadable; after the ttl, 8 threads call */
    CHECK(write_bytes(registry_path, "not a registry", 14) == 0);
    usleep(1100000);
    served x = {s, 0, 0};
    pthread_t th[8];
    for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, serve_main, &x);
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    long failed_once = atomic_load(&lg.failed);
    printf("#   %ld calls served, %ld failed, %ld reload failures logged\n", (long)x.ok,
           (long)x.failed, failed_once);
    CHECK(x.ok == 8 * 200 && x.failed == 0);
    CHECK(failed_once == 1);
    API_OK(mf__store_pin(s, &sn, &err));
    CHECK(mf__snapshot_gen(sn) == g1); /* still the first snapshot */
    mf__snapshot_unpin(sn);
    /* within the ttl: no new attempt */
    for (int i = 0; i < 50; i++) API_OK(read_a(s, req, &a, &err));
    CHECK(atomic_load(&lg.failed) == 1);
    /* a ttl later: one more attempt, one more message */
    usleep(1100000);
    for (int i = 0; i < 50; i++) API_OK(read_a(s, req, &a, &err));
    CHECK(atomic_load(&lg.failed) == 2);
    /* readable again: the next attempt loads it */
    CHECK(write_bytes(registry_path, good, len) == 0);
    usleep(1100000);
    API_OK(read_a(s, req, &a, &err));
    API_OK(mf__store_pin(s, &sn, &err));
    CHECK(mf__snapshot_gen(sn) > g1);
    mf__snapshot_unpin(sn);
    CHECK(atomic_load(&lg.failed) == 2 && atomic_load(&lg.other) == 0);
    mf_online_request_free(req);
    mf_store_close(s);
    /* a store that never loaded: the error, then a load as soon as it
     * reads again */
    CHECK(write_bytes(registry_path, "not a registry", 14) == 0);
    s = open_repo();
    CHECK(s);
    req = request_wv();
    rc = read_a(s, req, &a, &err);
    CHECK(rc == MF_EREGISTRY);
    CHECK_HAS(err.message, "not a moonfeast registry file");
    CHECK(write_bytes(registry_path, good, len) == 0);
    API_OK(read_a(s, req, &a, &err));
    CHECK(a == 11);
    mf_online_request_free(req);
    mf_store_close(s);
    mf_set_log_callback(NULL, NULL);
    CHECK(atomic_load(&lg.failed) == 2);
    free(good);
}

/*---- Workers ---------------------------------------------------------------------*/

typedef struct slot_val {
    atomic_int *released;
    pthread_t *released_on;
} slot_val;

static void slot_destroy(void *p) {
    slot_val *v = p;
    if (v->released_on) *v->released_on = pthread_self();
    atomic_fetch_add(v->released, 1);
    free(v);
}

/* Give the calling thread's worker on s a slot value counting into
 * `released`. Returns the worker, NULL on failure. */
static mf__worker *hang_slot(mf_store *s, atomic_int *released, pthread_t *on) {
    mf__worker *w;
    mf_error err;
    if (mf__store_worker(s, &w, &err) != MF_OK) return NULL;
    slot_val *v = malloc(sizeof *v);
    v->released = released;
    v->released_on = on;
    mf__worker_set_slot(w, MF__SLOT_TRANSFORMS, v, slot_destroy);
    return w;
}

typedef struct worker_arg {
    mf_store *s;
    atomic_int *released;
    pthread_t *on;
    pthread_barrier_t *ready, *go;
    mf__worker *w, *w_again;
    mf_online_request *req;
} worker_arg;

static void *worker_main(void *p) {
    worker_arg *a = p;
    a->w = hang_slot(a->s, a->released, a->on);
    mf_error err;
    mf__store_worker(a->s, &a->w_again, &err);
    if (a->req) {
        int64_t v;
        read_a(a->s, a->req, &v, &err);
    }
    if (a->ready) pthread_barrier_wait(a->ready);
    if (a->go) pthread_barrier_wait(a->go);
    return NULL;
}

static void test_worker_thread_exit(void) {
    mf_store *s = open_repo();
    CHECK(s);
    atomic_int released = 0;
    pthread_t on, t;
    worker_arg a = {s, &released, &on, NULL, NULL, NULL, NULL, request_wv()};
    pthread_create(&t, NULL, worker_main, &a);
    pthread_join(t, NULL);
    CHECK(a.w && a.w == a.w_again); /* one worker per thread and store */
    CHECK(atomic_load(&released) == 1); /* at the thread's exit */
    CHECK(pthread_equal(on, t));
    /* this thread's worker is another one */
    atomic_int mine = 0;
    mf__worker *w = hang_slot(s, &mine, NULL);
    CHECK(w && w != a.w);
    mf_store_close(s);
    CHECK(atomic_load(&released) == 1 && atomic_load(&mine) == 1);
    mf_online_request_free(a.req);
}

static void test_worker_store_close(void) {
    mf_store *s = open_repo();
    CHECK(s);
    atomic_int released = 0;
    pthread_t on, t;
    pthread_barrier_t ready, go;
    pthread_barrier_init(&ready, NULL, 2);
    pthread_barrier_init(&go, NULL, 2);
    worker_arg a = {s, &released, &on, &ready, &go, NULL, NULL, request_wv()};
    pthread_create(&t, NULL, worker_main, &a);
    pthread_barrier_wait(&ready);
    /* the thread is alive, its worker in use no more: closing releases it */
    mf_store_close(s);
    int at_close = atomic_load(&released);
    bool on_main = pthread_equal(on, pthread_self());
    pthread_barrier_wait(&go);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&go);
    mf_online_request_free(a.req);
    CHECK(at_close == 1 && on_main);
    CHECK(atomic_load(&released) == 1); /* not again at the thread's exit */
}

enum { RACERS = 16, ROUNDS = 20 };

static void test_worker_exit_close_race(void) {
    for (int round = 0; round < ROUNDS; round++) {
        mf_store *s = open_repo();
        CHECK(s);
        atomic_int released = 0;
        pthread_barrier_t ready, go;
        pthread_barrier_init(&ready, NULL, RACERS + 1);
        pthread_barrier_init(&go, NULL, RACERS + 1);
        worker_arg a[RACERS];
        pthread_t t[RACERS];
        for (int i = 0; i < RACERS; i++) {
            a[i] = (worker_arg){s, &released, NULL, &ready, &go, NULL, NULL,
                                i % 4 == 0 ? request_wv() : NULL};
            pthread_create(&t[i], NULL, worker_main, &a[i]);
        }
        pthread_barrier_wait(&ready);
        pthread_barrier_wait(&go); /* the threads exit while ... */
        if (round % 2) usleep((useconds_t)(round * 37 % 200));
        mf_store_close(s); /* ... the store closes */
        for (int i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&ready);
        pthread_barrier_destroy(&go);
        for (int i = 0; i < RACERS; i++) mf_online_request_free(a[i].req);
        if (atomic_load(&released) != RACERS) printf("#   round %d: %d of %d released\n", round,
                                                     atomic_load(&released), RACERS);
        CHECK(atomic_load(&released) == RACERS);
    }
}

static void test_worker_two_stores(void) {
    mf_store *s1 = open_repo(), *s2 = open_repo();
    CHECK(s1 && s2);
    atomic_int r1 = 0, r2 = 0;
    mf__worker *w1 = hang_slot(s1, &r1, NULL), *w2 = hang_slot(s2, &r2, NULL), *w;
    CHECK(w1 && w2 && w1 != w2);
    mf_error err;
    API_OK(mf__store_worker(s1, &w, &err));
    CHECK(w == w1);
    mf_store_close(s1);
    CHECK(r1 == 1 && r2 == 0);
    API_OK(mf__store_worker(s2, &w, &err));
    CHECK(w == w2 && mf__worker_slot(w, MF__SLOT_TRANSFORMS) != NULL);
    CHECK(mf__worker_store(w) == s2);
    /* a store opened now (perhaps at s1's address) gets a fresh worker */
    mf_store *s3 = open_repo();
    CHECK(s3);
    API_OK(mf__store_worker(s3, &w, &err));
    CHECK(w != w2 && mf__worker_slot(w, MF__SLOT_TRANSFORMS) == NULL);
    /* replacing a slot destroys the previous value */
    atomic_int r3 = 0;
    hang_slot(s3, &r3, NULL);
    hang_slot(s3, &r3, NULL);
    CHECK(r3 == 1);
    mf_store_close(s3);
    CHECK(r3 == 2);
    mf_store_close(s2);
    CHECK(r2 == 1);
}

/*---- Pins while the store commits ---------------------------------------------------*/

typedef struct pinner {
    mf_store *s;
    atomic_int *stop;
    long pins, bad;
} pinner;

static void *pinner_main(void *p) {
    pinner *x = p;
    uint64_t last = 0;
    while (!atomic_load(x->stop)) {
        mf__snapshot *sn;
        mf_error err;
        if (mf__store_pin(x->s, &sn, &err) != MF_OK) {
            x->bad++;
            continue;
        }
        const mf__obj *o = mf__snapshot_find(sn, MF_KIND_FEATURE_VIEW, "pv");
        if (!o || strcmp(((const Mf__FeatureViewSpec *)o->spec)->features[0]->name, "a") != 0 ||
            mf__snapshot_gen(sn) < last)
            x->bad++;
        last = mf__snapshot_gen(sn);
        mf__snapshot_unpin(sn);
        x->pins++;
    }
    return NULL;
}

static void test_pins_during_commits(void) {
    mf_store *s = open_repo();
    CHECK(s);
    atomic_int stop = 0;
    pinner x[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        x[i] = (pinner){s, &stop, 0, 0};
        pthread_create(&t[i], NULL, pinner_main, &x[i]);
    }
    mf_error err;
    int failed = 0;
    for (int i = 0; i < 20; i++) failed += mf_apply(s, NULL, &err) != MF_OK;
    atomic_store(&stop, 1);
    long pins = 0, bad = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        pins += x[i].pins, bad += x[i].bad;
    }
    mf_store_close(s);
    printf("#   %ld pins during 20 commits\n", pins);
    CHECK(failed == 0 && bad == 0 && pins > 0);
}

int main(void) {
    tmp_root = mft_tmpdir("store");
    if (!tmp_root) return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (make_repos() != 0) {
        printf("not ok - repos\n");
        mft_rmtree(tmp_root);
        return 1;
    }
    RUN(test_log_threads);
    RUN(test_open_log_level);
    RUN(test_snapshot_index);
    RUN(test_snapshot_pins);
    RUN(test_unchanged_registry_is_not_reloaded);
    RUN(test_failed_reload);
    RUN(test_worker_thread_exit);
    RUN(test_worker_store_close);
    RUN(test_worker_exit_close_race);
    RUN(test_worker_two_stores);
    RUN(test_pins_during_commits);
    RUN(test_materialize_reads_registry);
    mft_rmtree(tmp_root);
    free(tmp_root);
    free(repo);
    free(repo2);
    free(registry_path);
    MFT_END();
}
