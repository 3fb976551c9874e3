/*
 * online_pair.c — the same in-process online read on two feature repos
 * (the same definitions and data, two online stores), timed per call,
 * interleaved.
 *
 *   online_pair REPO_A REPO_B NKEYS NENT NVIEWS NFEAT WARMUP CALLS BLOCK SEED VSEED...
 *
 * Each repo is opened once (mf_store_open) and asked for NFEAT features
 * (feat_00 ..) of each of the views ov1 .. ovNVIEWS (full feature names); a
 * call is mf_online_request_clear_entities, mf_online_request_add_int64 of
 * NENT driver ids, mf_get_online_features, as online_read.c does. The two
 * take turns, BLOCK calls at a time, the order rotating from block to
 * block, on the same driver ids (NENT per call, drawn uniformly from the
 * NKEYS keys with SEED), so both meet the same moments of a shared machine.
 * WARMUP untimed calls each come first, then CALLS timed calls each.
 *
 * VSEED is gen_online's seed of each view: after every call, outside the
 * timed part, every cell must be PRESENT and every Int64 feature must hold
 * the generated value.
 *
 * Prints one line per repo:
 *   a calls N median_us M p99_us P mean_us A max_us X cells C bad B
 *   b calls N ...
 */
#include <moonfeast.h>

#include "mfb.h"

static void die(const char *what, const mf_error *e) {
    fprintf(stderr, "online_pair: %s: %s\n", what, e->message);
    exit(1);
}

typedef struct side {
    mf_store *store;
    mf_online_request *req;
    mf_online_response *resp;
    uint64_t cells, bad;
} side;

typedef struct ctx {
    side s[2];
    size_t nent, nrefs;
    int nfeat;
    const uint64_t *vseed;
} ctx;

/* One call of side c on ids; returns its time in ns. */
static int64_t one_call(ctx *x, int c, const int64_t *ids) {
    side *s = &x->s[c];
    mf_error err;
    int64_t t0 = mfb_now_ns();
    mf_online_request_clear_entities(s->req);
    if (mf_online_request_add_int64(s->req, "driver_id", ids, x->nent, &err) != MF_OK)
        die("adding the entities", &err);
    if (mf_get_online_features(s->store, s->req, s->resp, &err) != MF_OK) die("reading", &err);
    int64_t t1 = mfb_now_ns();
    const mf_online_response *r = s->resp;
    if (mf_online_response_ncols(r) != 1 + x->nrefs || mf_online_response_nrows(r) != x->nent) {
        fprintf(stderr, "online_pair: the response has %zu columns and %zu rows\n",
                mf_online_response_ncols(r), mf_online_response_nrows(r));
        exit(1);
    }
    for (size_t col = 1; col <= x->nrefs; col++) {
        int v = (int)((col - 1) / (size_t)x->nfeat), f = (int)((col - 1) % (size_t)x->nfeat);
        for (size_t i = 0; i < x->nent; i++) {
            s->cells++;
            if (mf_online_response_status(r, col, i) != MF_STATUS_PRESENT ||
                (mfb_ftype(f) == MFB_I64 &&
                 mf_online_response_int64(r, col, i) != mfb_value_i64(x->vseed[v], ids[i], f)))
                s->bad++;
        }
    }
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc < 12) {
        fprintf(stderr, "usage: online_pair REPO_A REPO_B NKEYS NENT NVIEWS NFEAT WARMUP CALLS "
                        "BLOCK SEED VSEED...\n");
        return 2;
    }
    uint64_t nkeys = strtoull(argv[3], NULL, 10);
    size_t nent = strtoull(argv[4], NULL, 10);
    int nviews = atoi(argv[5]), nfeat = atoi(argv[6]);
    long warmup = atol(argv[7]), calls = atol(argv[8]), block = atol(argv[9]);
    mfb_rng rng = {strtoull(argv[10], NULL, 10)};
    if (argc != 11 + nviews || nviews < 1 || nfeat < 1 || !nent || !nkeys || calls < 1 ||
        block < 1) {
        fprintf(stderr, "online_pair: bad arguments\n");
        return 2;
    }
    uint64_t *vseed = mfb_xmalloc((size_t)nviews * sizeof *vseed);
    for (int v = 0; v < nviews; v++) vseed[v] = strtoull(argv[11 + v], NULL, 10);
    ctx x;
    memset(&x, 0, sizeof x);
    x.nent = nent, x.nfeat = nfeat, x.vseed = vseed;
    x.nrefs = (size_t)nviews * (size_t)nfeat;
    char **refs = mfb_xmalloc(x.nrefs * sizeof *refs);
    for (int v = 0; v < nviews; v++)
        for (int f = 0; f < nfeat; f++) {
            refs[v * nfeat + f] = mfb_xmalloc(32);
            snprintf(refs[v * nfeat + f], 32, "ov%d:feat_%02d", v + 1, f);
        }
    for (int c = 0; c < 2; c++) {
        mf_error err;
        side *s = &x.s[c];
        if (mf_store_open(argv[1 + c], NULL, &s->store, &err) != MF_OK) die(argv[1 + c], &err);
        s->req = mf_online_request_new();
        s->resp = mf_online_response_new();
        if (mf_online_request_set_features(s->req, (const char *const *)refs, x.nrefs, &err) !=
            MF_OK)
            die("setting the features", &err);
        mf_online_request_set_full_feature_names(s->req, 1);
    }
    int64_t *ids = mfb_xmalloc((size_t)block * nent * sizeof *ids);
    int64_t *ns[2];
    for (int c = 0; c < 2; c++) ns[c] = mfb_xmalloc((size_t)calls * sizeof **ns);
    for (long w = 0; w < warmup; w++) {
        mfb_draw_keys(&rng, ids, nent, nkeys);
        for (int c = 0; c < 2; c++) one_call(&x, c, ids);
    }
    long done = 0;
    for (long b = 0; done < calls; b++) {
        long n = calls - done < block ? calls - done : block;
        mfb_draw_keys(&rng, ids, (size_t)n * nent, nkeys);
        for (int k = 0; k < 2; k++) {
            int c = (int)((b + k) % 2);
            for (long i = 0; i < n; i++) ns[c][done + i] = one_call(&x, c, ids + (size_t)i * nent);
        }
        done += n;
    }
    for (int c = 0; c < 2; c++) {
        printf("%s calls %ld ", c ? "b" : "a", calls);
        mfb_print_latency(stdout, ns[c], (size_t)calls);
        printf(" cells %" PRIu64 " bad %" PRIu64 "\n", x.s[c].cells, x.s[c].bad);
        free(ns[c]);
        mf_online_response_free(x.s[c].resp);
        mf_online_request_free(x.s[c].req);
        mf_store_close(x.s[c].store);
    }
    for (size_t i = 0; i < x.nrefs; i++) free(refs[i]);
    free(refs);
    free(ids);
    free(vseed);
    return 0;
}
