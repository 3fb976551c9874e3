/*
 * online_read.c — moonfeast's in-process online read and its floor, timed
 * per call, interleaved.
 *
 *   online_read REPO NKEYS NENT NVIEWS NFEAT WARMUP CALLS BLOCK SEED FLOOR VSEED...
 *
 * moonfeast: opens the feature repo REPO (a folder, or a configuration file
 * ending in .yaml: that repo with that configuration) and asks once for NFEAT features
 * (feat_00 ..) of each of the views ov1 .. ovNVIEWS (full feature names). A
 * call is mf_online_request_clear_entities, mf_online_request_add_int64 of
 * NENT driver ids, mf_get_online_features.
 *
 * FLOOR (floor_read.h), on the same data with its own connection:
 *   sqlite:PATH       raw prepared point SELECTs on the online store file;
 *   redis:HOST:PORT   raw pipelined HMGETs, one round trip; with NVIEWS > 1
 *                     also the per-view diagnostic (one HMGET per view and
 *                     entity, as moonfeast asks, in one round trip).
 *
 * The contenders take turns, BLOCK calls at a time, in an order that
 * rotates from block to block, on the same driver ids (NENT per call, drawn
 * uniformly from the NKEYS keys with SEED): all of them meet the same
 * moments of a shared machine (on a virtual machine, the time a message
 * over loopback takes can change by several times from one minute to the
 * next). WARMUP untimed calls each come first, then CALLS timed calls each.
 *
 * VSEED is gen_online's seed of each view: after each moonfeast call,
 * outside the timed part, every cell must be PRESENT and every Int64
 * feature must hold the generated value.
 *
 * Prints one line per contender:
 *   moonfeast calls N median_us M p99_us P mean_us A max_us X cells C bad B
 *   floor calls N median_us M p99_us P mean_us A max_us X reads R missing Z
 *   per_view calls N ...  (Redis, several views)
 * (B: cells not PRESENT or with a wrong value; Z: reads that found
 * nothing; the bench wants both 0.)
 */
#include <moonfeast.h>

#include "floor_read.h"
#include "mfb_open.h"

enum { C_MF, C_FLOOR, C_PERVIEW, C_N };
static const char *const cname[C_N] = {"moonfeast", "floor", "per_view"};

static void die(const char *what, const mf_error *e) {
    fprintf(stderr, "online_read: %s: %s\n", what, e->message);
    exit(1);
}

typedef struct ctx {
    mf_store *store;
    mf_online_request *req;
    mf_online_response *resp;
    size_t nent, nrefs;
    int nfeat;
    const uint64_t *vseed;
    uint64_t cells, bad;
    fsq sq;
    frd rd, pv;
    int is_redis;
} ctx;

/* One call of contender c on ids; returns its time in ns. */
static int64_t one_call(ctx *x, int c, const int64_t *ids) {
    int64_t t0 = mfb_now_ns(), t1;
    mf_error err;
    if (c == C_MF) {
        mf_online_request_clear_entities(x->req);
        if (mf_online_request_add_int64(x->req, "driver_id", ids, x->nent, &err) != MF_OK)
            die("adding the entities", &err);
        if (mf_get_online_features(x->store, x->req, x->resp, &err) != MF_OK) die("reading", &err);
        t1 = mfb_now_ns();
        /* check: columns are driver_id, then the features in request order */
        const mf_online_response *r = x->resp;
        if (mf_online_response_ncols(r) != 1 + x->nrefs || mf_online_response_nrows(r) != x->nent) {
            fprintf(stderr, "online_read: the response has %zu columns and %zu rows\n",
                    mf_online_response_ncols(r), mf_online_response_nrows(r));
            exit(1);
        }
        for (size_t col = 1; col <= x->nrefs; col++) {
            int v = (int)((col - 1) / (size_t)x->nfeat), f = (int)((col - 1) % (size_t)x->nfeat);
            for (size_t i = 0; i < x->nent; i++) {
                x->cells++;
                if (mf_online_response_status(r, col, i) != MF_STATUS_PRESENT ||
                    (mfb_ftype(f) == MFB_I64 &&
                     mf_online_response_int64(r, col, i) != mfb_value_i64(x->vseed[v], ids[i], f)))
                    x->bad++;
            }
        }
        return t1 - t0;
    }
    int rc = c == C_PERVIEW ? frd_call(&x->pv, ids, x->nent)
             : x->is_redis  ? frd_call(&x->rd, ids, x->nent)
                            : fsq_call(&x->sq, ids, x->nent);
    t1 = mfb_now_ns();
    if (rc) exit(1);
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc < 12) {
        fprintf(stderr, "usage: online_read REPO NKEYS NENT NVIEWS NFEAT WARMUP CALLS BLOCK SEED "
                        "sqlite:PATH|redis:HOST:PORT VSEED...\n");
        return 2;
    }
    const char *repo = argv[1], *floor_spec = argv[10];
    uint64_t nkeys = strtoull(argv[2], NULL, 10);
    size_t nent = strtoull(argv[3], NULL, 10);
    int nviews = atoi(argv[4]), nfeat = atoi(argv[5]);
    long warmup = atol(argv[6]), calls = atol(argv[7]), block = atol(argv[8]);
    mfb_rng rng = {strtoull(argv[9], NULL, 10)};
    if (argc != 11 + nviews || nviews < 1 || nfeat < 1 || !nent || !nkeys || calls < 1 || block < 1) {
        fprintf(stderr, "online_read: bad arguments\n");
        return 2;
    }
    uint64_t *vseed = mfb_xmalloc((size_t)nviews * sizeof *vseed);
    for (int v = 0; v < nviews; v++) vseed[v] = strtoull(argv[11 + v], NULL, 10);

    ctx x;
    memset(&x, 0, sizeof x);
    x.nent = nent, x.nfeat = nfeat, x.vseed = vseed;
    int ncont = 2;
    /* the store first: its first open configures the SQLite library for
     * the process (mutexes, memory statistics), so that the floor's
     * connection runs with the same settings as moonfeast's */
    mf_error err;
    if (mfb_store_open(repo, &x.store, &err) != MF_OK) die("opening the repo", &err);
    if (strncmp(floor_spec, "sqlite:", 7) == 0) {
        if (fsq_open(&x.sq, floor_spec + 7, "bench", nviews)) return 1;
    } else if (strncmp(floor_spec, "redis:", 6) == 0) {
        char host[256];
        snprintf(host, sizeof host, "%s", floor_spec + 6);
        char *colon = strrchr(host, ':');
        if (!colon) return 2;
        *colon = 0;
        int port = atoi(colon + 1);
        x.is_redis = 1;
        if (frd_open(&x.rd, host, port, "bench", nviews, nfeat, 0)) return 1;
        if (nviews > 1) {
            if (frd_open(&x.pv, host, port, "bench", nviews, nfeat, 1)) return 1;
            ncont = 3;
        }
    } else {
        fprintf(stderr, "online_read: FLOOR is sqlite:PATH or redis:HOST:PORT\n");
        return 2;
    }

    x.nrefs = (size_t)nviews * (size_t)nfeat;
    char **refs = mfb_xmalloc(x.nrefs * sizeof *refs);
    for (int v = 0; v < nviews; v++)
        for (int f = 0; f < nfeat; f++) {
            refs[v * nfeat + f] = mfb_xmalloc(32);
            snprintf(refs[v * nfeat + f], 32, "ov%d:feat_%02d", v + 1, f);
        }
    x.req = mf_online_request_new();
    x.resp = mf_online_response_new();
    if (mf_online_request_set_features(x.req, (const char *const *)refs, x.nrefs, &err) != MF_OK)
        die("setting the features", &err);
    mf_online_request_set_full_feature_names(x.req, 1); /* views share feature names */

    int64_t *ids = mfb_xmalloc((size_t)block * nent * sizeof *ids);
    int64_t *ns[C_N];
    for (int c = 0; c < ncont; c++) ns[c] = mfb_xmalloc((size_t)calls * sizeof **ns);
    for (long w = 0; w < warmup; w++) {
        mfb_draw_keys(&rng, ids, nent, nkeys);
        for (int c = 0; c < ncont; c++) one_call(&x, c, ids);
    }
    long done = 0;
    for (long b = 0; done < calls; b++) {
        long n = calls - done < block ? calls - done : block;
        mfb_draw_keys(&rng, ids, (size_t)n * nent, nkeys);
        for (int k = 0; k < ncont; k++) {
            int c = (int)((b + k) % ncont);
            for (long i = 0; i < n; i++) ns[c][done + i] = one_call(&x, c, ids + (size_t)i * nent);
        }
        done += n;
    }
    for (int c = 0; c < ncont; c++) {
        printf("%s calls %ld ", cname[c], calls);
        mfb_print_latency(stdout, ns[c], (size_t)calls);
        if (c == C_MF) printf(" cells %" PRIu64 " bad %" PRIu64 "\n", x.cells, x.bad);
        else {
            const frd *r = c == C_PERVIEW ? &x.pv : &x.rd;
            printf(" reads %" PRIu64 " missing %" PRIu64 "\n", x.is_redis ? r->reads : x.sq.reads,
                   x.is_redis ? r->missing : x.sq.missing);
        }
        free(ns[c]);
    }
    mf_online_response_free(x.resp);
    mf_online_request_free(x.req);
    mf_store_close(x.store);
    if (x.is_redis) {
        frd_close(&x.rd);
        if (ncont == 3) frd_close(&x.pv);
    } else {
        fsq_close(&x.sq);
    }
    for (size_t i = 0; i < x.nrefs; i++) free(refs[i]);
    free(refs);
    free(ids);
    free(vseed);
    return 0;
}
