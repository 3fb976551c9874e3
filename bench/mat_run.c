/*
 * mat_run.c — moonfeast's materialization in process, with its two phases
 * timed apart.
 *
 *   mat_run REPO START_US END_US VIEW...
 *
 * Opens REPO and runs mf_materialize(START, END, VIEWs) once, with a
 * progress callback that notes the time of every report. moonfeast reports
 * every 2^20 source rows read and after every written batch (10,000
 * entities, one transaction); the reading phase of a view ends before its
 * first batch is written, so:
 *
 *   write_s = (last batch report) - (first batch report - one batch),
 *             one batch being the median time between batch reports
 *             (for a view of one batch: the first batch report's time minus
 *             the time of the last report while reading is an upper bound);
 *   read_s  = (first batch report - one batch) - (start of the view).
 *
 * Prints one line per view and one in total:
 *   view V rows_read R written W total_s T read_s RS write_s WS
 *   total rows_read R written W total_s T read_s RS write_s WS close_s C
 * (total_s of a view: from its start to its done report, which comes
 * after the interval is recorded in the registry; the total line: the
 * whole mf_materialize call and the mf_store_close after it (C of it: the
 * close, where SQLite's store moves its WAL into the database), with the
 * phases summed over the views.)
 */
#include <moonfeast.h>

#include "mfb.h"

typedef struct ev {
    int64_t t;
    uint64_t read, written;
    int done;
} ev;

typedef struct rec {
    char view[256];
    ev *evs;
    size_t n, cap;
} rec;

static rec *recs;
static size_t nrecs;
static int64_t t_start;

static void on_progress(void *ud, const char *view, uint64_t rows_read, uint64_t rows_written,
                        int done) {
    (void)ud;
    int64_t t = mfb_now_ns();
    rec *r = nrecs ? &recs[nrecs - 1] : NULL;
    if (!r || strcmp(r->view, view) != 0 || r->evs[r->n - 1].done) {
        recs = realloc(recs, (nrecs + 1) * sizeof *recs);
        r = &recs[nrecs++];
        memset(r, 0, sizeof *r);
        snprintf(r->view, sizeof r->view, "%s", view);
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->evs = realloc(r->evs, r->cap * sizeof *r->evs);
    }
    r->evs[r->n++] = (ev){t, rows_read, rows_written, done};
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: mat_run REPO START_US END_US VIEW...\n");
        return 2;
    }
    mf_error err;
    mf_store *store;
    if (mf_store_open(argv[1], NULL, &store, &err) != MF_OK) {
        fprintf(stderr, "mat_run: %s\n", err.message);
        return 1;
    }
    int64_t start = strtoll(argv[2], NULL, 10), end = strtoll(argv[3], NULL, 10);
    mf_materialize_options o = {on_progress, NULL, 1}; /* one job: the figures are per view */
    t_start = mfb_now_ns();
    int rc = mf_materialize(store, start, end, (const char *const *)argv + 4, (size_t)(argc - 4),
                            &o, &err);
    int64_t t_mat = mfb_now_ns();
    if (rc != MF_OK) {
        fprintf(stderr, "mat_run: %s\n", err.message);
        return 1;
    }
    /* the whole write counts: closing the store checkpoints the WAL into
     * the database (SQLite), as the floor's timed close does */
    mf_store_close(store);
    int64_t t_end = mfb_now_ns();
    double sum_read = 0, sum_write = 0;
    uint64_t tot_read = 0, tot_written = 0;
    int64_t view_start = t_start;
    for (size_t i = 0; i < nrecs; i++) {
        rec *r = &recs[i];
        /* batch reports: written grew */
        int64_t *gaps = mfb_xmalloc(r->n * sizeof *gaps);
        size_t ng = 0, first = r->n, last_read = r->n, last_batch = r->n;
        uint64_t prev_w = 0;
        for (size_t k = 0; k < r->n; k++) {
            if (r->evs[k].written > prev_w) {
                if (first == r->n) first = k;
                else gaps[ng++] = r->evs[k].t - r->evs[last_batch].t;
                prev_w = r->evs[k].written;
                last_batch = k;
            } else if (first == r->n) {
                last_read = k;
            }
        }
        const ev *done = &r->evs[r->n - 1];
        double read_s, write_s;
        if (first == r->n) { /* nothing written */
            read_s = (double)(done->t - view_start) / 1e9;
            write_s = 0;
        } else {
            int64_t batch = ng ? mfb_quantile(gaps, ng, 0.5, 0)
                               : (last_read < r->n ? r->evs[first].t - r->evs[last_read].t
                                                   : r->evs[first].t - view_start);
            int64_t read_end = r->evs[first].t - batch;
            if (read_end < view_start) read_end = view_start;
            read_s = (double)(read_end - view_start) / 1e9;
            write_s = (double)(r->evs[last_batch].t - read_end) / 1e9;
        }
        printf("view %s rows_read %" PRIu64 " written %" PRIu64 " total_s %.4f read_s %.4f "
               "write_s %.4f\n", r->view, done->read, done->written,
               (double)(done->t - view_start) / 1e9, read_s, write_s);
        sum_read += read_s;
        sum_write += write_s;
        tot_read += done->read;
        tot_written += done->written;
        view_start = done->t;
        free(gaps);
        free(r->evs);
    }
    printf("total rows_read %" PRIu64 " written %" PRIu64 " total_s %.4f read_s %.4f write_s %.4f "
           "close_s %.4f\n", tot_read, tot_written, (double)(t_end - t_start) / 1e9, sum_read,
           sum_write, (double)(t_end - t_mat) / 1e9);
    free(recs);
    return 0;
}
