/*
 * test_sqlite_setup.c — how moonfeast configures the SQLite library
 * (sqlite_setup.c), each case in a fresh child process that has not
 * touched SQLite yet:
 *
 * - moonfeast first: after mf_store_open, apply, materialize and an online
 *   read, SQLite's mutexes are adaptive ones (they spin before sleeping:
 *   what lets two threads read one store at twice one thread's rate) and
 *   SQLite keeps no memory statistics (sqlite3_memory_used() stays 0), and
 *   the read answers the right value;
 * - the host first (sqlite3_initialize() before mf_store_open): moonfeast
 *   leaves SQLite's configuration alone (its default mutexes, memory
 *   statistics counting) and serves the same value.
 *
 * The mutex kind is read from the pthread_mutex_t at the start of the
 * sqlite3_mutex, which both SQLite's own mutexes and moonfeast's begin
 * with (glibc's layout: __data.__kind, type in its low 7 bits).
 *
 * The repo (project "sq"): entity driver, file source src (data/s.csv),
 * view fv (trips Int64).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "mft.h"
#include "mft_repo.h"

static char *tmp_root, *repo;
static const int64_t S = 1000000;
static const int64_t T0 = 1735689600; /* 2025-01-01T00:00:00Z */

/* Run body in a child process; 0 when it exited 0. */
static int in_child(int (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        alarm(60);
        int r = body();
        fflush(stdout);
        _exit(r ? 1 : 0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st)) printf("#   the child ended by signal %d\n", WTERMSIG(st));
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("#   %s:%d: expected %s\n", __FILE__, __LINE__, #cond);      \
            return 1;                                                           \
        }                                                                       \
    } while (0)

static int make_repo(void) {
    repo = mf__xasprintf("%s/repo", tmp_root);
    char *data = mf__xasprintf("%s/data", repo);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", repo);
    char *defs = mf__xasprintf("%s/defs.lua", repo);
    char *csv = mf__xasprintf("%s/data/s.csv", repo);
    int rc = mkdir(repo, 0700) || mkdir(data, 0700) || mft_write(yaml, "project: sq\n") ||
             mft_write(csv, "driver_id,ts,trips\n1,2025-01-01T00:00:00Z,41\n"
                            "2,2025-01-01T00:00:00Z,42\n") ||
             mft_write(defs,
                       "local driver = entity { name = 'driver', join_keys = { 'driver_id' },\n"
                       "  value_type = Int64 }\n"
                       "local src = file_source { name = 'src', path = 'data/s.csv',\n"
                       "  timestamp_field = 'ts' }\n"
                       "feature_view { name = 'fv', entities = { driver }, ttl = 0,\n"
                       "  schema = { field { name = 'trips', dtype = Int64 } }, source = src }\n");
    free(data);
    free(yaml);
    free(defs);
    free(csv);
    return rc ? -1 : 0;
}

/* Open the repo, apply, materialize, and read driver 2's trips (42). */
static int serve_once(void) {
    mf_error err;
    mf_store *s = NULL;
    int rc = mf_store_open(repo, NULL, &s, &err);
    if (rc == MF_OK) rc = mf_apply(s, NULL, &err);
    if (rc == MF_OK) rc = mf_materialize(s, (T0 - 86400) * S, (T0 + 86400) * S, NULL, 0, NULL, &err);
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"fv:trips"};
    int64_t id = 2;
    if (rc == MF_OK) rc = mf_online_request_set_features(req, refs, 1, &err);
    if (rc == MF_OK) rc = mf_online_request_add_int64(req, "driver_id", &id, 1, &err);
    if (rc == MF_OK) rc = mf_get_online_features(s, req, resp, &err);
    int64_t v = -1;
    if (rc == MF_OK) {
        size_t col = mf_online_response_ncols(resp) - 1;
        if (mf_online_response_status(resp, col, 0) == MF_STATUS_PRESENT) v = mf_online_response_int64(resp, col, 0);
    } else {
        printf("#   serving: %s\n", err.message);
    }
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
    return v == 42 ? 0 : -1;
}

static int mutex_kind(int type) {
    sqlite3_mutex *m = sqlite3_mutex_alloc(type);
    if (!m) return -1;
    int kind = ((pthread_mutex_t *)(void *)m)->__data.__kind & 127;
    sqlite3_mutex_free(m);
    return kind;
}

static int body_moonfeast_first(void) {
    EXPECT(serve_once() == 0);
    EXPECT(mutex_kind(SQLITE_MUTEX_FAST) == PTHREAD_MUTEX_ADAPTIVE_NP);
    EXPECT(mutex_kind(SQLITE_MUTEX_RECURSIVE) == PTHREAD_MUTEX_RECURSIVE);
    /* a static mutex: the same one each time, adaptive, not freed */
    sqlite3_mutex *a = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_MAIN);
    EXPECT(a && a == sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_MAIN));
    EXPECT((((pthread_mutex_t *)(void *)a)->__data.__kind & 127) == PTHREAD_MUTEX_ADAPTIVE_NP);
    sqlite3_mutex_enter(a);
    EXPECT(sqlite3_mutex_try(a) == SQLITE_BUSY);
    sqlite3_mutex_leave(a);
    EXPECT(sqlite3_mutex_try(a) == SQLITE_OK);
    sqlite3_mutex_leave(a);
    EXPECT(sqlite3_memory_used() == 0);
    /* a second store in the same process serves the same way */
    EXPECT(serve_once() == 0);
    return 0;
}

static int body_host_first(void) {
    EXPECT(sqlite3_initialize() == SQLITE_OK);
    EXPECT(serve_once() == 0);
    EXPECT(mutex_kind(SQLITE_MUTEX_FAST) != PTHREAD_MUTEX_ADAPTIVE_NP);
    EXPECT(sqlite3_memory_used() > 0 || sqlite3_memory_highwater(0) > 0);
    return 0;
}

static void test_moonfeast_configures_sqlite_first(void) { CHECK(in_child(body_moonfeast_first) == 0); }
static void test_host_configuration_is_kept(void) { CHECK(in_child(body_host_first) == 0); }

int main(void) {
    tmp_root = mft_tmpdir("sqlite_setup");
    if (!tmp_root || make_repo() != 0) return 1;
    RUN(test_moonfeast_configures_sqlite_first);
    RUN(test_host_configuration_is_kept);
    mft_rmtree(tmp_root);
    free(tmp_root);
    free(repo);
    MFT_END();
}
