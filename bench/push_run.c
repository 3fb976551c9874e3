/*
 * push_run.c — moonfeast's mf_push in process, timed per call.
 *
 *   push_run REPO SOURCE online|offline BATCH SECONDS MAXCALLS NKEYS NFEAT SEED
 *
 * Builds, before timing, 16 frames of BATCH rows each: driver_id (Int64,
 * drawn from NKEYS keys), event_timestamp (timestamps from
 * 2025-02-01T00:00:00Z on, one second apart in push order), and NFEAT
 * features feat_00 .. typed as gen_online's (Float32 and Float64 given as
 * text, Int64 as integers): the columns a caller hands over. Then pushes
 * them in turn to the push source SOURCE with mf_push(..., MF_PUSH_ONLINE or
 * MF_PUSH_OFFLINE), 3 untimed calls first, then timed calls until SECONDS
 * have passed or MAXCALLS calls were made.
 *
 * Prints: calls N rows R seconds S rows_per_s X median_us M p99_us P mean_us A max_us Z
 */
#include <moonfeast.h>

#include "mfb.h"

#define NFRAMES 16

static void die(const char *what, const mf_error *e) {
    fprintf(stderr, "push_run: %s: %s\n", what, e->message);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: push_run REPO SOURCE online|offline BATCH SECONDS MAXCALLS NKEYS "
                        "NFEAT SEED\n");
        return 2;
    }
    const char *repo = argv[1], *source = argv[2];
    mf_push_to to = strcmp(argv[3], "offline") == 0 ? MF_PUSH_OFFLINE : MF_PUSH_ONLINE;
    size_t batch = strtoull(argv[4], NULL, 10);
    double seconds = atof(argv[5]);
    long maxcalls = atol(argv[6]);
    uint64_t nkeys = strtoull(argv[7], NULL, 10);
    int nfeat = atoi(argv[8]);
    mfb_rng rng = {strtoull(argv[9], NULL, 10)};
    if (!batch || !nkeys || nfeat < 1 || maxcalls < 1) return 2;

    mf_error err;
    mf_store *store;
    if (mf_store_open(repo, NULL, &store, &err) != MF_OK) die("opening the repo", &err);
    mf_entity_df *frames[NFRAMES];
    int64_t *ids = mfb_xmalloc(batch * sizeof *ids), *ts = mfb_xmalloc(batch * sizeof *ts);
    int64_t *iv = mfb_xmalloc(batch * sizeof *iv);
    char **txt = mfb_xmalloc(batch * sizeof *txt);
    for (size_t i = 0; i < batch; i++) txt[i] = mfb_xmalloc(32);
    int64_t t = (MFB_T0 + 31LL * 86400) * 1000000;
    for (int fr = 0; fr < NFRAMES; fr++) {
        mf_entity_df *df = mf_entity_df_new(batch);
        mfb_draw_keys(&rng, ids, batch, nkeys);
        for (size_t i = 0; i < batch; i++) ts[i] = t, t += 1000000;
        if (mf_entity_df_add_int64(df, "driver_id", ids, NULL, &err) != MF_OK ||
            mf_entity_df_add_timestamps(df, "event_timestamp", ts, &err) != MF_OK)
            die("building a frame", &err);
        for (int f = 0; f < nfeat; f++) {
            char name[16];
            snprintf(name, sizeof name, "feat_%02d", f);
            int ft = mfb_ftype(f);
            int rc;
            if (ft == MFB_I64) {
                for (size_t i = 0; i < batch; i++) iv[i] = (int64_t)mfb_below(&rng, 1000);
                rc = mf_entity_df_add_int64(df, name, iv, NULL, &err);
            } else {
                for (size_t i = 0; i < batch; i++) {
                    uint64_t b = mfb_rnd(&rng);
                    if (ft == MFB_F32) snprintf(txt[i], 32, "0.%06u", (unsigned)(b % 1000000));
                    else snprintf(txt[i], 32, "0.%09u", (unsigned)(b % 1000000000));
                }
                rc = mf_entity_df_add_text(df, name, (const char *const *)txt, &err);
            }
            if (rc != MF_OK) die("building a frame", &err);
        }
        frames[fr] = df;
    }
    size_t cap = 1 << 20;
    int64_t *ns = mfb_xmalloc(cap * sizeof *ns);
    long calls = 0;
    for (int w = 0; w < 3; w++)
        if (mf_push(store, source, frames[w % NFRAMES], to, &err) != MF_OK) die("pushing", &err);
    int64_t start = mfb_now_ns(), limit = (int64_t)(seconds * 1e9);
    while (calls < maxcalls && (size_t)calls < cap) {
        int64_t t0 = mfb_now_ns();
        if (mf_push(store, source, frames[calls % NFRAMES], to, &err) != MF_OK) die("pushing", &err);
        int64_t t1 = mfb_now_ns();
        ns[calls++] = t1 - t0;
        if (t1 - start >= limit) break;
    }
    double el = (double)(mfb_now_ns() - start) / 1e9;
    printf("calls %ld rows %zu seconds %.4f rows_per_s %.1f ", calls, (size_t)calls * batch, el,
           (double)calls * (double)batch / el);
    mfb_print_latency(stdout, ns, (size_t)calls);
    printf("\n");
    for (int fr = 0; fr < NFRAMES; fr++) mf_entity_df_free(frames[fr]);
    mf_store_close(store);
    for (size_t i = 0; i < batch; i++) free(txt[i]);
    free(txt);
    free(ids);
    free(ts);
    free(iv);
    free(ns);
    return 0;
}
