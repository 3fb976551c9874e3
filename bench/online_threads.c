/*
 * online_threads.c — one shared store, read by 1 and by 2 threads at once:
 * calls per second, beside the same for raw SQLite.
 *
 *   online_threads REPO NKEYS NFEAT SECONDS ROUNDS SEED VSEED
 *
 * moonfeast: opens the feature repo REPO once (one mf_store for every
 * thread). Each thread has its own request (features feat_00 .. of view
 * ov1, full feature names) and response, and makes calls of 1 entity: a
 * call is mf_online_request_clear_entities, mf_online_request_add_int64 of
 * one driver id (drawn uniformly from the NKEYS keys, a stream per
 * thread), mf_get_online_features, as online_read.c times one call. After
 * each call every cell must be PRESENT and every Int64 feature the
 * generated value (VSEED is the view's gen_online seed); the check (ten
 * cells, a few tens of nanoseconds) is inside the count.
 *
 * floor: the same threads, each with its own connection to the store's
 * SQLite file and the statement moonfeast prepares (floor_read.h: one
 * point SELECT per call, nothing decoded), opened after the store, so
 * with the SQLite configuration moonfeast's first mf_store_open sets
 * (adaptive mutexes, no memory statistics). How well SQLite itself scales
 * on this machine bounds how well moonfeast can.
 *
 * cpu: the same threads, each counting in a loop of its own (a "call" is
 * 1,000 steps), sharing nothing: the parallelism the machine gives during
 * the run (on a virtual machine shared with others, two threads may get
 * much less than two cores).
 *
 * The threads live through the whole run, as a server's do: two for each
 * contender, each making 20,000 untimed calls first (its connection's page
 * cache warm). A phase lets T of one contender's threads (T = 1, then 2)
 * call for SECONDS while the others wait on a condition variable. Each of
 * ROUNDS rounds runs moonfeast with 1 and 2 threads, then the floor, then
 * cpu, so that all of them meet the same moments of a shared machine.
 *
 * Prints one line per phase:
 *   WHO threads T round R calls N seconds S calls_per_s C bad B
 * (WHO moonfeast, floor or cpu; B: cells not PRESENT or with a wrong
 * value, or floor reads that found nothing; the bench wants 0.)
 */
#include <moonfeast.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "floor_read.h"

enum { MOONFEAST, FLOOR, CPU, NWHO };
static const char *const who_name[NWHO] = {"moonfeast", "floor", "cpu"};

typedef struct thread_ctx {
    int who;
    mf_store *store;
    const char *db;       /* the floor's */
    volatile uint64_t spin; /* cpu's */
    int index;           /* 0 or 1: runs in phases of index + 1 threads or more */
    uint64_t nkeys, vseed;
    int nfeat;
    mfb_rng rng;
    const char *const *refs;
    uint64_t calls, cells, bad; /* of the current phase */
    int64_t t0, t1;
} thread_ctx;

/* Phases: the main thread sets who and active and bumps phase; the threads
 * of `who` with index < active run until stop, then count themselves in
 * finished. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static int phase, ready, finished, quit;
static int who_runs, active;
static atomic_int stop;

static void die(const char *what, const mf_error *e) {
    fprintf(stderr, "online_threads: %s: %s\n", what, e->message);
    exit(1);
}

/* One call of t; checks its answer. */
static void one_call(thread_ctx *t, mf_online_request *req, mf_online_response *resp) {
    int64_t id;
    mfb_draw_keys(&t->rng, &id, 1, t->nkeys);
    mf_error err;
    mf_online_request_clear_entities(req);
    if (mf_online_request_add_int64(req, "driver_id", &id, 1, &err) != MF_OK)
        die("adding the entity", &err);
    if (mf_get_online_features(t->store, req, resp, &err) != MF_OK) die("reading", &err);
    for (int f = 0; f < t->nfeat; f++) {
        t->cells++;
        if (mf_online_response_status(resp, (size_t)f + 1, 0) != MF_STATUS_PRESENT ||
            (mfb_ftype(f) == MFB_I64 &&
             mf_online_response_int64(resp, (size_t)f + 1, 0) != mfb_value_i64(t->vseed, id, f)))
            t->bad++;
    }
}

/* One cpu call of t: 1,000 steps of a loop. */
static void cpu_call(thread_ctx *t) {
    for (int i = 0; i < 1000; i++) t->spin++;
}

/* One floor call of t: a point SELECT of one random key. */
static void floor_call(thread_ctx *t, fsq *f) {
    int64_t id;
    mfb_draw_keys(&t->rng, &id, 1, t->nkeys);
    if (fsq_call(f, &id, 1) != 0) exit(1);
}

static void *thread_main(void *p) {
    thread_ctx *t = p;
    mf_error err;
    mf_online_request *req = NULL;
    mf_online_response *resp = NULL;
    fsq f;
    f.missing = 0;
    if (t->who == MOONFEAST) {
        req = mf_online_request_new();
        resp = mf_online_response_new();
        if (mf_online_request_set_features(req, t->refs, (size_t)t->nfeat, &err) != MF_OK)
            die("setting the features", &err);
        mf_online_request_set_full_feature_names(req, 1);
    } else if (t->who == FLOOR && fsq_open(&f, t->db, "bench", 1) != 0) {
        exit(1);
    }
#define CALL() (t->who == MOONFEAST ? one_call(t, req, resp) : t->who == FLOOR ? floor_call(t, &f) : cpu_call(t))
    for (int i = 0; i < 20000; i++) CALL();
    t->bad = 0, t->cells = 0, f.missing = 0;
    pthread_mutex_lock(&mu);
    ready++;
    pthread_cond_broadcast(&done_cv);
    for (int seen = 0;;) {
        while (phase == seen && !quit) pthread_cond_wait(&cv, &mu);
        if (quit) break;
        seen = phase;
        bool mine = t->who == who_runs && t->index < active;
        pthread_mutex_unlock(&mu);
        if (mine) {
            uint64_t n = 0;
            t->t0 = mfb_now_ns();
            while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
                CALL();
                n++;
            }
            t->t1 = mfb_now_ns();
            t->calls = n;
            if (t->who == FLOOR) t->bad = f.missing, f.missing = 0;
        }
        pthread_mutex_lock(&mu);
        if (mine) {
            finished++;
            pthread_cond_broadcast(&done_cv);
        }
    }
    pthread_mutex_unlock(&mu);
    if (t->who == MOONFEAST) {
        mf_online_response_free(resp);
        mf_online_request_free(req);
    } else if (t->who == FLOOR) {
        fsq_close(&f);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: online_threads REPO NKEYS NFEAT SECONDS ROUNDS SEED VSEED\n");
        return 2;
    }
    const char *repo = argv[1];
    uint64_t nkeys = strtoull(argv[2], NULL, 10);
    int nfeat = atoi(argv[3]);
    double seconds = atof(argv[4]);
    int rounds = atoi(argv[5]);
    uint64_t seed = strtoull(argv[6], NULL, 10), vseed = strtoull(argv[7], NULL, 10);
    if (!nkeys || nfeat < 1 || nfeat > 99 || seconds <= 0 || rounds < 1) {
        fprintf(stderr, "online_threads: bad arguments\n");
        return 2;
    }
    (void)frd_open, (void)frd_call, (void)frd_close; /* floor_read.h's Redis floor: not here */
    mf_error err;
    mf_store *store;
    if (mf_store_open(repo, NULL, &store, &err) != MF_OK) die("opening the repo", &err);
    char **refs = mfb_xmalloc((size_t)nfeat * sizeof *refs);
    for (int f = 0; f < nfeat; f++) {
        refs[f] = mfb_xmalloc(32);
        snprintf(refs[f], 32, "ov1:feat_%02d", f);
    }
    char *db = mfb_xmalloc(strlen(repo) + 32);
    sprintf(db, "%s/data/online.db", repo);
    /* two threads of each contender: t[2 * who], t[2 * who + 1] */
    enum { NT = 2 * NWHO };
    thread_ctx t[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        t[i] = (thread_ctx){i / 2, store, db, 0, i % 2, nkeys, vseed, nfeat,
                            {seed + (uint64_t)i * 7919}, (const char *const *)refs, 0, 0, 0, 0, 0};
        pthread_create(&th[i], NULL, thread_main, &t[i]);
    }
    pthread_mutex_lock(&mu);
    while (ready < NT) pthread_cond_wait(&done_cv, &mu);
    pthread_mutex_unlock(&mu);
    for (int r = 0; r < 2 * NWHO * rounds; r++) {
        int nt = 1 + r % 2, w = r / 2 % NWHO;
        pthread_mutex_lock(&mu);
        who_runs = w, active = nt, finished = 0;
        atomic_store(&stop, 0);
        phase++;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        struct timespec d = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
        nanosleep(&d, NULL);
        atomic_store(&stop, 1);
        pthread_mutex_lock(&mu);
        while (finished < nt) pthread_cond_wait(&done_cv, &mu);
        pthread_mutex_unlock(&mu);
        uint64_t calls = 0, bad = 0;
        int64_t t0 = INT64_MAX, t1 = 0;
        for (int i = 0; i < nt; i++) {
            thread_ctx *x = &t[w * 2 + i];
            calls += x->calls;
            bad += x->bad;
            x->bad = 0;
            if (x->t0 < t0) t0 = x->t0;
            if (x->t1 > t1) t1 = x->t1;
        }
        double s = (double)(t1 - t0) / 1e9;
        printf("%s threads %d round %d calls %" PRIu64 " seconds %.3f calls_per_s %.0f bad %" PRIu64
               "\n", who_name[w], nt, r / (2 * NWHO) + 1, calls, s, (double)calls / s, bad);
        fflush(stdout);
    }
    pthread_mutex_lock(&mu);
    quit = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    mf_store_close(store);
    for (int f = 0; f < nfeat; f++) free(refs[f]);
    free(refs);
    free(db);
    return 0;
}
