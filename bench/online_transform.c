/*
 * online_transform.c — what an on-demand transform adds to an in-process
 * online read, timed per call, interleaved.
 *
 *   online_transform REPO NKEYS NENT WARMUP CALLS BLOCK SEED
 *
 * REPO holds view ov1 (feat_00 .. feat_09, gen_online's data, materialized)
 * and the on-demand view tf: `score = feat_00 * 2 + feat_01 + bonus` in row
 * mode over ov1 and the request field bonus (Int64). Two contenders on one
 * store, each with its own request and response reused across calls:
 *   plain      the 10 features of ov1 for NENT driver ids;
 *   transform  the same 10 features and tf:score, with bonus given beside
 *              the ids.
 * They take turns BLOCK calls at a time on the same ids; WARMUP untimed
 * calls each come first, then CALLS timed calls each. After every
 * transform call (outside the timed part) every score is checked against
 * the features of the same response.
 *
 * Prints one line per contender (`plain calls N median_us M p99_us P ...`)
 * and `added_per_row_us A` (the difference of the medians over NENT).
 */
#include <moonfeast.h>

#include "mfb.h"

static void die(const char *what, const mf_error *e) {
    fprintf(stderr, "online_transform: %s: %s\n", what, e->message);
    exit(1);
}

typedef struct side {
    mf_online_request *req;
    mf_online_response *resp;
    int transform;
} side;

static int64_t one_call(mf_store *s, side *x, const int64_t *ids, const int64_t *bonus,
                        size_t nent) {
    mf_error err;
    int64_t t0 = mfb_now_ns();
    mf_online_request_clear_entities(x->req);
    if (mf_online_request_add_int64(x->req, "driver_id", ids, nent, &err) != MF_OK)
        die("adding the entities", &err);
    if (x->transform && mf_online_request_add_int64(x->req, "bonus", bonus, nent, &err) != MF_OK)
        die("adding the request field", &err);
    if (mf_get_online_features(s, x->req, x->resp, &err) != MF_OK) die("reading", &err);
    int64_t t1 = mfb_now_ns();
    if (x->transform) {
        const mf_online_response *r = x->resp;
        if (mf_online_response_ncols(r) != 12) {
            fprintf(stderr, "online_transform: %zu columns, want 12\n", mf_online_response_ncols(r));
            exit(1);
        }
        for (size_t i = 0; i < nent; i++) {
            double want = mf_online_response_double(r, 1, i) * 2 +
                          mf_online_response_double(r, 2, i) + (double)bonus[i];
            if (mf_online_response_status(r, 11, i) != MF_STATUS_PRESENT ||
                mf_online_response_double(r, 11, i) != want) {
                fprintf(stderr, "online_transform: row %zu: score %g, want %g\n", i,
                        mf_online_response_double(r, 11, i), want);
                exit(1);
            }
        }
    }
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: online_transform REPO NKEYS NENT WARMUP CALLS BLOCK SEED\n");
        return 2;
    }
    const char *repo = argv[1];
    uint64_t nkeys = strtoull(argv[2], NULL, 10);
    size_t nent = strtoull(argv[3], NULL, 10);
    long warmup = atol(argv[4]), calls = atol(argv[5]), block = atol(argv[6]);
    mfb_rng rng = {strtoull(argv[7], NULL, 10)};
    mf_error err;
    mf_store *s = NULL;
    if (mf_store_open(repo, NULL, &s, &err) != MF_OK) die("opening the repo", &err);
    side sides[2];
    char *refs[11];
    for (int f = 0; f < 10; f++) {
        refs[f] = mfb_xmalloc(32);
        snprintf(refs[f], 32, "ov1:feat_%02d", f);
    }
    refs[10] = (char *)"tf:score";
    for (int c = 0; c < 2; c++) {
        sides[c].req = mf_online_request_new();
        sides[c].resp = mf_online_response_new();
        sides[c].transform = c;
        if (mf_online_request_set_features(sides[c].req, (const char *const *)refs, c ? 11 : 10,
                                           &err) != MF_OK)
            die("setting the features", &err);
    }
    int64_t *ids = mfb_xmalloc((size_t)block * nent * sizeof *ids);
    int64_t *bonus = mfb_xmalloc(nent * sizeof *bonus);
    for (size_t i = 0; i < nent; i++) bonus[i] = (int64_t)(i % 7);
    int64_t *ns[2];
    for (int c = 0; c < 2; c++) ns[c] = mfb_xmalloc((size_t)calls * sizeof **ns);
    for (long w = 0; w < warmup; w++) {
        mfb_draw_keys(&rng, ids, nent, nkeys);
        for (int c = 0; c < 2; c++) one_call(s, &sides[c], ids, bonus, nent);
    }
    for (long done = 0, b = 0; done < calls; b++) {
        long n = calls - done < block ? calls - done : block;
        mfb_draw_keys(&rng, ids, (size_t)n * nent, nkeys);
        for (int k = 0; k < 2; k++) {
            int c = (int)((b + k) % 2);
            for (long i = 0; i < n; i++)
                ns[c][done + i] = one_call(s, &sides[c], ids + (size_t)i * nent, bonus, nent);
        }
        done += n;
    }
    static const char *const names[2] = {"plain", "transform"};
    double med[2];
    for (int c = 0; c < 2; c++) {
        printf("%s calls %ld ", names[c], calls);
        mfb_print_latency(stdout, ns[c], (size_t)calls);
        printf("\n");
        med[c] = (double)mfb_quantile(ns[c], (size_t)calls, 0.5, 1) / 1e3;
    }
    printf("added_per_row_us %.3f\n", (med[1] - med[0]) / (double)nent);
    for (int c = 0; c < 2; c++) {
        mf_online_request_free(sides[c].req);
        mf_online_response_free(sides[c].resp);
        free(ns[c]);
    }
    for (int f = 0; f < 10; f++) free(refs[f]);
    free(ids);
    free(bonus);
    mf_store_close(s);
    return 0;
}
