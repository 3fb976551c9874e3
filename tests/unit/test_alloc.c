/*
 * test_alloc.c — allocation failure on request-sized work is an MF_ENOMEM
 * error for the caller, never the end of the process (util.c's mf__try_*
 * helpers, used by the entity frame builders, online requests and
 * responses, pushes and direct writes).
 *
 * Every case runs in a child process (fork) under a 20 s alarm, so that an
 * abort or a hang of the code under test is a failed case, not a dead test
 * program:
 * - sizes whose byte counts overflow (rows near SIZE_MAX) or that no
 *   machine has (2^61 rows) for each column kind of an entity frame and of
 *   an online request: MF_ENOMEM naming the column and the rows, and the
 *   frame or request stays usable;
 * - under an address-space limit (RLIMIT_AS, set in the child just above
 *   what it uses), a push, a direct write and an online read of 4M rows
 *   whose working memory does not fit: MF_ENOMEM, and after the limit is
 *   lifted the same store and request serve again. ASan and TSan reserve
 *   terabytes of address space, so these three run in the normal build only
 *   (a "#" line says so); the sanitized builds run the others with
 *   allocator_may_return_null=1.
 *
 * The repo (project "al"): entity driver (driver_id Int64), file source
 * src (data/s.csv: driver_id, ts, trips), push source ps on it, view fv
 * (trips Int64) fed by ps.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "mft.h"
#include "mft_repo.h"

#if defined(__SANITIZE_ADDRESS__)
/* huge requests come back NULL instead of ending the process */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#define SANITIZED 1
#elif defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static char *tmp_root, *repo;
static const int64_t S = 1000000;
static const int64_t T1 = 1735776000; /* 2025-01-02T00:00:00Z */
enum { BIG = 4000000 };

/*---- Children ---------------------------------------------------------------*/

/* Run body in a child process; its result (0 = passed) comes back as the
 * exit status. A signal (abort) or the 20 s alarm (a hang) fails. */
static int in_child(int (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("#   fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        alarm(20);
        int r = body();
        fflush(stdout);
        _exit(r ? 1 : 0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st)) {
        printf("#   the child ended by signal %d (%s)\n", WTERMSIG(st),
               WTERMSIG(st) == SIGALRM ? "it hung" : strsignal(WTERMSIG(st)));
        return -1;
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* In a child: fail with a message. */
#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("#   %s:%d: expected %s\n", __FILE__, __LINE__, #cond);      \
            return 1;                                                           \
        }                                                                       \
    } while (0)

/* rc must be MF_ENOMEM with err saying so and naming `what`. */
static int want_nomem(int rc, const mf_error *err, const char *what) {
    if (rc != MF_ENOMEM || err->code != MF_ENOMEM || !strstr(err->message, "out of memory") ||
        !strstr(err->message, what)) {
        printf("#   got %d (%s), want MF_ENOMEM naming '%s'\n", rc, err->message, what);
        return 1;
    }
    return 0;
}

/* Limit the address space to what the process maps now plus `extra`
 * bytes (extra = 0: lift the limit again). */
static int limit_as(size_t extra) {
    struct rlimit rl;
    getrlimit(RLIMIT_AS, &rl);
    if (!extra) {
        rl.rlim_cur = rl.rlim_max;
    } else {
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long pages = 0;
        if (!f || fscanf(f, "%lu", &pages) != 1) pages = 0;
        if (f) fclose(f);
        if (!pages) return -1;
        rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
    }
    return setrlimit(RLIMIT_AS, &rl);
}

/*---- The repo ---------------------------------------------------------------*/

static int make_repo(void) {
    repo = mf__xasprintf("%s/repo", tmp_root);
    char *data = mf__xasprintf("%s/data", repo);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", repo);
    char *defs = mf__xasprintf("%s/defs.lua", repo);
    char *csv = mf__xasprintf("%s/data/s.csv", repo);
    int rc = mkdir(repo, 0700) || mkdir(data, 0700) || mft_write(yaml, "project: al\n") ||
             mft_write(csv, "driver_id,ts,trips\n1,2025-01-01T00:00:00Z,1\n") ||
             mft_write(defs,
                       "local driver = entity { name = 'driver', join_keys = { 'driver_id' },\n"
                       "  value_type = Int64 }\n"
                       "local src = file_source { name = 'src', path = 'data/s.csv',\n"
                       "  timestamp_field = 'ts' }\n"
                       "local ps = push_source { name = 'ps', batch_source = src }\n"
                       "feature_view { name = 'fv', entities = { driver }, ttl = 0,\n"
                       "  schema = { field { name = 'trips', dtype = Int64 } }, source = ps }\n");
    free(data);
    free(yaml);
    free(defs);
    free(csv);
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

/* A frame of n rows: driver_id = 1 + i % 1000, ts, trips = i. */
static mf_entity_df *frame(size_t n) {
    int64_t *id = malloc(n * sizeof *id), *ts = malloc(n * sizeof *ts);
    mf_entity_df *df = mf_entity_df_new(n);
    mf_error err;
    int rc = id && ts ? MF_OK : MF_ENOMEM;
    for (size_t i = 0; rc == MF_OK && i < n; i++) id[i] = 1 + (int64_t)(i % 1000), ts[i] = T1 * S;
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "driver_id", id, NULL, &err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(df, "ts", ts, &err);
    for (size_t i = 0; rc == MF_OK && i < n; i++) id[i] = (int64_t)i;
    if (rc == MF_OK) rc = mf_entity_df_add_int64(df, "trips", id, NULL, &err);
    free(id);
    free(ts);
    if (rc) {
        printf("#   building a frame of %zu rows failed\n", n);
        mf_entity_df_free(df);
        return NULL;
    }
    return df;
}

/*---- Sizes that cannot be allocated -------------------------------------------*/

static int body_frame_sizes(void) {
    mf_error err;
    int64_t v[1] = {1};
    const char *t[1] = {"x"};
    const size_t sizes[] = {(size_t)1 << 61, SIZE_MAX / 8 + 1, SIZE_MAX - 1, SIZE_MAX};
    for (size_t k = 0; k < MF__ARRAY_LEN(sizes); k++) {
        mf_entity_df *df = mf_entity_df_new(sizes[k]);
        EXPECT(want_nomem(mf_entity_df_add_int64(df, "driver_id", v, NULL, &err), &err,
                          "'driver_id'") == 0);
        EXPECT(want_nomem(mf_entity_df_add_text(df, "label", t, &err), &err, "'label'") == 0);
        EXPECT(want_nomem(mf_entity_df_add_timestamps(df, "ts", v, &err), &err, "'ts'") == 0);
        char rows[32];
        snprintf(rows, sizeof rows, "%zu rows", sizes[k]);
        EXPECT(strstr(err.message, rows) != NULL);
        /* nothing was added: the names are still free (a second try is
         * the same error, not "already have a column") */
        EXPECT(want_nomem(mf_entity_df_add_int64(df, "driver_id", v, NULL, &err), &err,
                          "'driver_id'") == 0);
        EXPECT(mf_entity_df_nrows(df) == sizes[k]);
        mf_entity_df_free(df);
    }
    /* a frame that fits still works */
    mf_entity_df *df = mf_entity_df_new(1);
    EXPECT(mf_entity_df_add_int64(df, "driver_id", v, NULL, &err) == MF_OK);
    EXPECT(mf_entity_df_add_text(df, "label", t, &err) == MF_OK);
    mf_entity_df_free(df);
    return 0;
}

static void test_frame_sizes(void) { CHECK(in_child(body_frame_sizes) == 0); }

static int body_request_sizes(void) {
    mf_error err;
    mf_store *s;
    EXPECT(mf_store_open(repo, NULL, &s, &err) == MF_OK);
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[1] = {"fv:trips"};
    EXPECT(mf_online_request_set_features(req, refs, 1, &err) == MF_OK);
    int64_t v[1] = {1};
    const char *t[1] = {"1"};
    const size_t sizes[] = {(size_t)1 << 61, SIZE_MAX / 8 + 1, SIZE_MAX};
    for (size_t k = 0; k < MF__ARRAY_LEN(sizes); k++) {
        EXPECT(want_nomem(mf_online_request_add_int64(req, "driver_id", v, sizes[k], &err), &err,
                          "'driver_id'") == 0);
        mf_online_request_clear_entities(req);
        EXPECT(want_nomem(mf_online_request_add_text(req, "driver_id", t, sizes[k], &err), &err,
                          "'driver_id'") == 0);
        mf_online_request_clear_entities(req);
    }
    /* the request serves again */
    EXPECT(mf_online_request_add_int64(req, "driver_id", v, 1, &err) == MF_OK);
    int rc = mf_get_online_features(s, req, resp, &err);
    if (rc) printf("#   %s\n", err.message);
    EXPECT(rc == MF_OK && mf_online_response_nrows(resp) == 1);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
    return 0;
}

static void test_request_sizes(void) { CHECK(in_child(body_request_sizes) == 0); }

/*---- Work that does not fit in the address space --------------------------------*/

static int body_push_limited(void) {
    mf_error err;
    mf_store *s;
    EXPECT(mf_store_open(repo, NULL, &s, &err) == MF_OK);
    mf_entity_df *small = frame(3), *big = frame(BIG);
    EXPECT(small && big);
    /* warm: registry read, online store open */
    EXPECT(mf_push(s, "ps", small, MF_PUSH_ONLINE, &err) == MF_OK);
    EXPECT(limit_as(48u << 20) == 0);
    int rc = mf_push(s, "ps", big, MF_PUSH_ONLINE, &err);
    int rc2 = mf_write_to_online_store(s, "fv", big, &err);
    mf_error err2 = err;
    EXPECT(limit_as(0) == 0);
    EXPECT(want_nomem(rc, &err, "4000000 rows") == 0);
    EXPECT(want_nomem(rc2, &err2, "4000000 rows") == 0);
    EXPECT(mf_push(s, "ps", small, MF_PUSH_ONLINE, &err) == MF_OK);
    mf_entity_df_free(small);
    mf_entity_df_free(big);
    mf_store_close(s);
    return 0;
}

static int body_read_limited(void) {
    mf_error err;
    mf_store *s;
    EXPECT(mf_store_open(repo, NULL, &s, &err) == MF_OK);
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[1] = {"fv:trips"};
    EXPECT(mf_online_request_set_features(req, refs, 1, &err) == MF_OK);
    int64_t one = 1;
    EXPECT(mf_online_request_add_int64(req, "driver_id", &one, 1, &err) == MF_OK);
    /* warm: registry read, online store open */
    EXPECT(mf_get_online_features(s, req, resp, &err) == MF_OK);
    int64_t *ids = malloc(BIG * sizeof *ids);
    EXPECT(ids);
    for (size_t i = 0; i < BIG; i++) ids[i] = 1 + (int64_t)(i % 1000);
    mf_online_request_clear_entities(req);
    EXPECT(mf_online_request_add_int64(req, "driver_id", ids, BIG, &err) == MF_OK);
    free(ids);
    EXPECT(limit_as(48u << 20) == 0);
    int rc = mf_get_online_features(s, req, resp, &err);
    EXPECT(limit_as(0) == 0);
    EXPECT(want_nomem(rc, &err, "4000000 rows") == 0);
    mf_online_request_clear_entities(req);
    EXPECT(mf_online_request_add_int64(req, "driver_id", &one, 1, &err) == MF_OK);
    rc = mf_get_online_features(s, req, resp, &err);
    if (rc) printf("#   %s\n", err.message);
    EXPECT(rc == MF_OK && mf_online_response_nrows(resp) == 1 &&
           mf_online_response_status(resp, 1, 0) == MF_STATUS_PRESENT);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
    return 0;
}

static void test_push_limited(void) { CHECK(in_child(body_push_limited) == 0); }
static void test_read_limited(void) { CHECK(in_child(body_read_limited) == 0); }

int main(void) {
    tmp_root = mft_tmpdir("alloc");
    if (!tmp_root) return 1;
    if (make_repo() != 0) {
        printf("not ok - repo\n");
        mft_rmtree(tmp_root);
        return 1;
    }
    RUN(test_frame_sizes);
    RUN(test_request_sizes);
    if (SANITIZED) {
        printf("# address-space limits: not run under a sanitizer (it reserves terabytes)\n");
    } else {
        RUN(test_push_limited);
        RUN(test_read_limited);
    }
    mft_rmtree(tmp_root);
    free(tmp_root);
    free(repo);
    MFT_END();
}
