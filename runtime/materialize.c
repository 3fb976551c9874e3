/*
 * materialize.c — loading the latest feature values into the online store.
 *
 * For one view: stream its batch source once; keep, per entity key, only
 * the winning row of the window (greatest event_ts, then created_ts, then
 * the last in the source) in slot arrays indexed by a dense key id; then
 * write the winners to the online store in batches of MF__MAT_BATCH keys,
 * one transaction each. Memory grows with the number of distinct keys plus
 * one batch, never with the number of source rows. Values are parsed only
 * for rows that become a key's winner.
 *
 * The interval [start, end] is recorded in the registry only after every
 * batch of the view committed. A run killed at any point leaves each key at
 * its old or new value (stores never replace newer data with older), and
 * running it again completes the job.
 *
 * Test hook: MF_TEST_MATERIALIZE_PAUSE_MS sleeps that long after each
 * committed batch, so a test can kill a run between batches.
 */
#define _GNU_SOURCE /* qsort_r */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mf_keymap.h"
#include "mf_online.h"
#include "mf_source.h"
#include "mf_transform.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>

#define MF__MAT_BATCH 10000

/* Text of one slot (a key's current winning value). */
typedef struct text_slot {
    char *p;
    uint32_t len, cap;
} text_slot;

typedef struct winners {
    size_t n, cap;   /* keys */
    int64_t *ts, *cr;
    long *line;      /* source line of the winner, for messages */
    mf__col *fixed;  /* per feature: fixed-size values indexed by key id */
    text_slot **text; /* per feature (text class): slots by key id */
} winners;

static void winners_grow(winners *w, const Mf__FeatureViewSpec *v) {
    size_t cap = w->cap ? w->cap * 2 : 1024;
    w->ts = mf__xrealloc(w->ts, cap * sizeof *w->ts);
    w->cr = mf__xrealloc(w->cr, cap * sizeof *w->cr);
    for (size_t f = 0; f < v->n_features; f++) {
        if (w->fixed[f].sc == MF__SC_TEXT) {
            w->text[f] = mf__xrealloc(w->text[f], cap * sizeof **w->text);
            memset(w->text[f] + w->cap, 0, (cap - w->cap) * sizeof **w->text);
        } else {
            mf__col_reserve(&w->fixed[f], cap);
        }
    }
    w->cap = cap;
}

static void winners_free(winners *w, const Mf__FeatureViewSpec *v) {
    free(w->ts);
    free(w->cr);
    for (size_t f = 0; f < v->n_features; f++) {
        if (w->text[f]) {
            for (size_t i = 0; i < w->n; i++) free(w->text[f][i].p);
            free(w->text[f]);
        }
        mf__col_free(&w->fixed[f]);
    }
    free(w->fixed);
    free(w->text);
}

/* Store the text of feature f for key id as its current winner. */
static int set_value(winners *w, size_t f, uint32_t id, const mf__slice *v) {
    mf__col *c = &w->fixed[f];
    if (c->sc == MF__SC_TEXT) {
        text_slot *t = &w->text[f][id];
        if (!v->ptr || !v->len) {
            t->len = UINT32_MAX; /* null */
            return 0;
        }
        /* validate through the column type's parser (lists) */
        size_t saved = c->n;
        c->n = 0;
        c->heap_len = 0;
        int bad = mf__col_push_text(c, v->ptr, v->len);
        c->n = saved;
        if (bad) return -1;
        if (v->len > t->cap) {
            t->cap = (uint32_t)v->len;
            t->p = mf__xrealloc(t->p, t->cap);
        }
        memcpy(t->p, v->ptr, v->len);
        t->len = (uint32_t)v->len;
        return 0;
    }
    /* parse into row `id` of the fixed column: push at the end, move */
    size_t saved = c->n;
    c->n = id;
    int bad = mf__col_push_text(c, v->ptr, v->len);
    c->n = saved;
    return bad;
}

/* The same for a typed (Parquet) cell. */
static int set_value_cell(winners *w, size_t f, uint32_t id, const mf__cell *v, mf__buf *tmp) {
    mf__col *c = &w->fixed[f];
    if (c->sc == MF__SC_TEXT) {
        mf__slice sl = {v->p, v->len};
        if (v->kind == MF__CELL_NULL) {
            sl.ptr = NULL, sl.len = 0;
        } else if (v->kind != MF__CELL_TEXT) {
            tmp->len = 0;
            mf__cell_text(v, tmp);
            sl.ptr = tmp->data, sl.len = tmp->len;
        }
        return set_value(w, f, id, &sl);
    }
    size_t saved = c->n;
    c->n = id;
    int bad = mf__cell_push(c, v);
    c->n = saved;
    return bad;
}

/* The error for a typed cell of column col that is not `want`. */
static int cell_err(mf__source *s, mf_error *err, const char *col, const mf__cell *c,
                    const char *want) {
    mf__buf b;
    mf__buf_init(&b);
    mf__cell_text(c, &b);
    int rc = mf__source_cell_err(s, err, col, b.data ? b.data : "", b.len, want);
    mf__buf_free(&b);
    return rc;
}

/* An on-demand view written to the online store whose only source is the
 * view being materialized: computed from each batch of winners. */
typedef struct written {
    const Mf__OnDemandFeatureView *od;
    Mf__FeatureView *store_view; /* mf__odfv_store_view */
    mf__col *out;                /* one per output */
} written;

typedef struct view_job {
    const mf__config *cfg;
    mf__online *online;
    const Mf__FeatureViewSpec *view;
    const Mf__DataSourceSpec *source;
    int64_t start, end;
    const mf_materialize_options *opts;
    uint64_t rows_read, rows_written;
    int64_t min_ts; /* oldest event_ts read in the window */
    mf__transforms *tf; /* the thread's runtime, for `written` */
    uint64_t gen;
    written *written;
    size_t nwritten;
    pthread_mutex_t *progress_mu; /* callbacks one at a time (several jobs) */
    bool split; /* read a CSV source on two threads, one half each */
} view_job;

static void progress(view_job *j, int done) {
    if (!j->opts || !j->opts->progress) return;
    pthread_mutex_lock(j->progress_mu);
    j->opts->progress(j->opts->ud, j->view->name, j->rows_read, j->rows_written, done);
    pthread_mutex_unlock(j->progress_mu);
}

static int find_col(mf__source *s, const char *view, const char *name, long *idx, mf_error *err) {
    *idx = mf__source_find(s, name);
    if (*idx >= 0) return MF_OK;
    return mf__err_at(err, MF_EDATA, mf__source_where(s), 1,
                      "feature view '%s': column '%s' not found", view, name);
}

/* Serialized (v3) keys of all winners, for sorting and writing. */
typedef struct ser_keys {
    mf__buf buf;
    size_t *off; /* n + 1 */
} ser_keys;

static int cmp_ser(const void *a, const void *b, void *ctx) {
    const ser_keys *k = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t lx = k->off[x + 1] - k->off[x], ly = k->off[y + 1] - k->off[y];
    int c = memcmp(k->buf.data + k->off[x], k->buf.data + k->off[y], lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

/* Sorting perm[0..n) (ids of keys, each key i the bytes buf[off[i] ..
 * off[i + 1])) in memcmp order, a shorter key first when it is a prefix of
 * the other: by the 8 bytes after the keys' longest common prefix (a radix
 * sort, skipping the byte positions where all are equal), then by a whole
 * comparison inside each run of equal 8 bytes. Serialized keys share long
 * prefixes (the join key names), so a comparison sort spent most of its
 * time comparing equal bytes: 100,000 keys took ~20 ms (3 ms this way),
 * about a fifth of the time their SQLite writes take. */
typedef struct sort_ent {
    uint64_t k;
    uint32_t id;
} sort_ent;

void mf__sort_keys(const char *buf, const size_t *off, uint32_t *perm, size_t n) {
    if (n < 2) return;
    const unsigned char *b = (const unsigned char *)buf;
    uint32_t first = perm[0];
    const unsigned char *k0 = b + off[first];
    size_t lcp = off[first + 1] - off[first];
    for (size_t i = 1; i < n && lcp; i++) {
        uint32_t id = perm[i];
        const unsigned char *p = b + off[id];
        size_t l = off[id + 1] - off[id], m = l < lcp ? l : lcp;
        if (m == lcp && memcmp(p, k0, m) == 0) continue;
        size_t j = 0;
        while (j < m && p[j] == k0[j]) j++;
        lcp = j;
    }
    sort_ent *a = mf__xmalloc(n * sizeof *a), *t = mf__xmalloc(n * sizeof *t);
    size_t (*hist)[256] = mf__xcalloc(8, sizeof *hist);
    for (size_t i = 0; i < n; i++) {
        uint32_t id = perm[i];
        size_t l = off[id + 1] - off[id];
        const unsigned char *p = b + off[id];
        uint64_t k = 0;
        for (size_t j = 0; j < 8; j++) k = k << 8 | (lcp + j < l ? p[lcp + j] : 0);
        a[i].k = k, a[i].id = id;
        for (int d = 0; d < 8; d++) hist[d][(k >> (8 * d)) & 0xff]++;
    }
    for (int d = 0; d < 8; d++) { /* least significant byte first */
        if (hist[d][(a[0].k >> (8 * d)) & 0xff] == n) continue; /* all the same here */
        size_t pos[256], sum = 0;
        for (int v = 0; v < 256; v++) pos[v] = sum, sum += hist[d][v];
        for (size_t i = 0; i < n; i++) t[pos[(a[i].k >> (8 * d)) & 0xff]++] = a[i];
        sort_ent *x = a;
        a = t, t = x;
    }
    for (size_t i = 0; i < n; i++) perm[i] = a[i].id;
    ser_keys sk = {{(char *)buf, 0, 0}, (size_t *)off};
    for (size_t i = 0; i < n;) {
        size_t e = i + 1;
        while (e < n && a[e].k == a[i].k) e++;
        if (e - i > 1) qsort_r(perm + i, e - i, sizeof *perm, cmp_ser, &sk);
        i = e;
    }
    free(hist);
    free(a);
    free(t);
}

/* Write the winners ids[0..n) as one batch. */
static int write_batch(view_job *j, winners *w, const ser_keys *sk, const uint32_t *ids, size_t n,
                       mf__col *batch_cols, mf_error *err) {
    const Mf__FeatureViewSpec *v = j->view;
    const unsigned char **kp = mf__xmalloc((n + 1) * sizeof *kp);
    size_t *kl = mf__xmalloc((n + 1) * sizeof *kl);
    int64_t *ts = mf__xmalloc((n + 1) * sizeof *ts), *cr = mf__xmalloc((n + 1) * sizeof *cr);
    int64_t *idx = mf__xmalloc((n + 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) {
        kp[i] = (const unsigned char *)sk->buf.data + sk->off[ids[i]];
        kl[i] = sk->off[ids[i] + 1] - sk->off[ids[i]];
        ts[i] = w->ts[ids[i]];
        cr[i] = w->cr[ids[i]];
        idx[i] = ids[i];
    }
    for (size_t f = 0; f < v->n_features; f++) {
        mf__col *c = &batch_cols[f];
        mf__col_clear(c);
        const mf__col *src = &w->fixed[f];
        if (src->sc == MF__SC_TEXT) {
            for (size_t i = 0; i < n; i++) {
                const text_slot *t = &w->text[f][ids[i]];
                if (t->len == UINT32_MAX || !t->p) mf__col_push_null(c);
                else mf__col_push_str(c, t->p, t->len);
            }
        } else {
            mf__col_gather(c, src, idx, n);
        }
    }
    mf__write_batch b = {v, n, kp, kl, ts, cr, batch_cols, NULL};
    int rc = j->online->vt->write_batch(j->online, j->cfg->project, &b, err);
    /* the on-demand views written from this view, with the same keys and times */
    for (size_t k = 0; k < j->nwritten && rc == MF_OK; k++) {
        written *wv = &j->written[k];
        const Mf__OnDemandFeatureViewSpec *os = wv->od->spec;
        for (size_t f = 0; f < os->n_features; f++) mf__col_clear(&wv->out[f]);
        rc = mf__odfv_compute(j->tf, j->gen, wv->od, v, batch_cols, NULL, 0, n, wv->out, err);
        if (rc == MF_OK) {
            mf__write_batch ob = {wv->store_view->spec, n, kp, kl, ts, cr, wv->out, NULL};
            rc = j->online->vt->write_batch(j->online, j->cfg->project, &ob, err);
        }
    }
    free(kp);
    free(kl);
    free(ts);
    free(cr);
    free(idx);
    return rc;
}

/* One scan over a source's rows (all of them, or one half of a split
 * file): the winner per key in the window. */
typedef struct scan_ctx {
    view_job *j;
    mf__source *s;
    long its, icr;
    const long *ikey, *ifeat;
    bool report; /* progress callbacks (the head only) */
    winners w;
    mf__keymap keys;
    uint64_t rows_read;
    int64_t min_ts;
    int rc;
    mf_error err;
} scan_ctx;

/* A slot for key id k (interned just now): a new one starts empty. */
static inline void slot_for(winners *wp, const Mf__FeatureViewSpec *v, uint32_t k) {
    if (k != wp->n) return;
    if (wp->n == wp->cap) winners_grow(wp, v);
    wp->n++;
    wp->ts[k] = INT64_MIN;
    wp->cr[k] = INT64_MIN;
}

/* Whether a row (event time ts, created cr) wins slot k: a newer event
 * time, or the same with a created time at least the stored one (so later
 * rows win full ties). When it wins, the slot takes its times; the caller
 * then copies its features. */
static inline bool take(winners *wp, uint32_t k, int64_t ts, int64_t cr) {
    if (ts < wp->ts[k] || (ts == wp->ts[k] && cr < wp->cr[k])) return false;
    wp->ts[k] = ts;
    wp->cr[k] = cr;
    return true;
}

/* The slot of the row's key among the winners, and whether the row wins
 * it (take). */
/* A key value just appended at key->data + at, of type kt, as the online
 * store keys it: a UnixTimestamp in whole seconds (as Feast keys times),
 * so that rows whose keys differ below the second are one key's rows. */
static void key_as_stored(mf__buf *key, size_t at, Mf__ValueType kt) {
    if (kt != MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) return;
    int64_t us;
    memcpy(&us, key->data + at, 8);
    us -= (us % 1000000 + 1000000) % 1000000;
    memcpy(key->data + at, &us, 8);
}

static bool wins(scan_ctx *c, winners *wp, const Mf__FeatureViewSpec *v, const mf__buf *key,
                 int64_t ts, int64_t cr, uint32_t *id) {
    uint32_t k = mf__keymap_intern(&c->keys, key->data, key->len);
    slot_for(wp, v, k);
    *id = k;
    return take(wp, k, ts, cr);
}

static void scan_init(scan_ctx *c, view_job *j, mf__source *s, long its, long icr,
                      const long *ikey, const long *ifeat, bool report) {
    const Mf__FeatureViewSpec *v = j->view;
    size_t nf = v->n_features;
    memset(c, 0, sizeof *c);
    c->j = j, c->s = s, c->its = its, c->icr = icr, c->ikey = ikey, c->ifeat = ifeat;
    c->report = report;
    c->min_ts = INT64_MAX;
    c->w.fixed = mf__xcalloc(nf + 1, sizeof *c->w.fixed);
    c->w.text = mf__xcalloc(nf + 1, sizeof *c->w.text);
    for (size_t f = 0; f < nf; f++)
        mf__col_init(&c->w.fixed[f], v->features[f]->name, v->features[f]->dtype, false);
    mf__keymap_init_for(&c->keys, v);
}

static void scan_free(scan_ctx *c, const Mf__FeatureViewSpec *v) {
    winners_free(&c->w, v);
    mf__keymap_free(&c->keys);
}

/* Text rows waiting for their keys to be looked up (scan_run). */
enum { MSTAGE = 16 };
typedef struct mstage {
    size_t n;
    mf__buf keys;           /* the rows' key bytes */
    size_t koff[MSTAGE + 1];
    int64_t ts[MSTAGE], cr[MSTAGE];
    long line[MSTAGE];      /* source line marks, for messages */
    mf__slice *feat;        /* MSTAGE x features: the rows' feature cells */
} mstage;

/* Take the staged rows in order: each key's slot (new keys get theirs in
 * file order), then whether the row wins it, and if so its features. */
static int mstage_flush(scan_ctx *c, mstage *st) {
    view_job *j = c->j;
    const Mf__FeatureViewSpec *v = j->view;
    size_t nf = v->n_features, n = st->n;
    winners *wp = &c->w;
    uint32_t id[MSTAGE];
    int rc = MF_OK;
    st->koff[n] = st->keys.len;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = mf__keymap_intern(&c->keys, st->keys.data + st->koff[i],
                                       st->koff[i + 1] - st->koff[i]);
        slot_for(wp, v, k);
        __builtin_prefetch(&wp->ts[k]);
        __builtin_prefetch(&wp->cr[k]);
        id[i] = k;
    }
    for (size_t i = 0; i < n && rc == MF_OK; i++) {
        uint32_t k = id[i];
        if (!take(wp, k, st->ts[i], st->cr[i])) continue;
        for (size_t f = 0; f < nf && rc == MF_OK; f++) {
            const mf__slice *fv = &st->feat[i * nf + f];
            if (set_value(wp, f, k, fv) != 0)
                rc = mf__err_at(&c->err, MF_EDATA, mf__source_where(c->s), (int)mf__source_mark_line(c->s, st->line[i]),
                                "column '%s': '%.*s' is not a valid %s", v->features[f]->name,
                                (int)(fv->len > 200 ? 200 : fv->len), fv->ptr,
                                mf__dtype_name(v->features[f]->dtype));
        }
    }
    st->n = 0;
    st->keys.len = 0;
    return rc;
}

/* A block of a typed source whose one key is an Int64 column (k64), in
 * chunks of BCHUNK rows: first each row's times and key (the rows the
 * window keeps), the key's hash slot prefetched; then the keys interned in
 * row order (new keys get their ids in file order, as one row at a time
 * would give them), each slot's times prefetched; then, in row order,
 * whether each row wins its slot, and its features. The cache misses of a
 * chunk's lookups overlap instead of coming one after another. */
enum { BCHUNK = 32 };
static int scan_block_k64(scan_ctx *c, const mf__cell_col *cols, const mf__cell_col *k64,
                          size_t n, mf__buf *tmp) {
    view_job *j = c->j;
    const Mf__FeatureViewSpec *v = j->view;
    const Mf__DataSourceSpec *ds = j->source;
    mf__source *s = c->s;
    size_t nf = v->n_features;
    long its = c->its, icr = c->icr;
    winners *wp = &c->w;
    mf_error *err = &c->err;
    char want[64];
    int rc = MF_OK;
    for (size_t i0 = 0; i0 < n && rc == MF_OK; i0 += BCHUNK) {
        size_t i1 = n - i0 < BCHUNK ? n : i0 + BCHUNK, m = 0;
        uint64_t key[BCHUNK];
        int64_t ts[BCHUNK], cr[BCHUNK];
        uint32_t row[BCHUNK], id[BCHUNK];
        uint64_t before = c->rows_read;
        for (size_t i = i0; i < i1; i++) {
            mf__cell cc;
            if (mf__cell_col_ts(&cols[its], i, &cc, &ts[m]) != 0) {
                mf__source_block_row(s, i);
                rc = cell_err(s, err, ds->timestamp_field, &cc, "a timestamp");
                break;
            }
            if (ts[m] < j->start || ts[m] > j->end) continue;
            c->rows_read++;
            if (ts[m] < c->min_ts) c->min_ts = ts[m];
            cr[m] = INT64_MIN;
            if (icr >= 0) {
                mf__cell_at(&cols[icr], i, &cc);
                if (mf__cell_ts(&cc, &cr[m]) < 0) {
                    mf__source_block_row(s, i);
                    rc = cell_err(s, err, ds->created_timestamp_column, &cc, "a timestamp");
                    break;
                }
            }
            if (k64->valid && !k64->valid[i]) continue;
            memcpy(&key[m], &k64->i[i], 8);
            mf__keymap_prefetch8(&c->keys, key[m]);
            row[m++] = (uint32_t)i;
        }
        for (size_t q = 0; q < m && rc == MF_OK; q++) {
            id[q] = mf__keymap_intern(&c->keys, &key[q], 8);
            slot_for(wp, v, id[q]);
            __builtin_prefetch(&wp->ts[id[q]]);
            __builtin_prefetch(&wp->cr[id[q]]);
        }
        for (size_t q = 0; q < m && rc == MF_OK; q++) {
            uint32_t k = id[q];
            if (!take(wp, k, ts[q], cr[q])) continue;
            for (size_t f = 0; f < nf && rc == MF_OK; f++) {
                mf__cell cc;
                mf__cell_at(&cols[c->ifeat[f]], row[q], &cc);
                if (set_value_cell(wp, f, k, &cc, tmp) != 0) {
                    mf__source_block_row(s, row[q]);
                    snprintf(want, sizeof want, "a valid %s", mf__dtype_name(v->features[f]->dtype));
                    rc = cell_err(s, err, v->features[f]->name, &cc, want);
                }
            }
        }
        if (c->report && (before >> 20) != (c->rows_read >> 20)) {
            j->rows_read = c->rows_read;
            progress(j, 0);
        }
    }
    return rc;
}

static void *scan_run(void *arg) {
    scan_ctx *c = arg;
    view_job *j = c->j;
    const Mf__FeatureViewSpec *v = j->view;
    const Mf__DataSourceSpec *ds = j->source;
    mf__source *s = c->s;
    size_t nk = v->n_entity_columns, nf = v->n_features;
    long its = c->its, icr = c->icr;
    const long *ikey = c->ikey, *ifeat = c->ifeat;
    winners *wp = &c->w;
    mf_error *err = &c->err;
    int rc = MF_OK;
    mf__buf key;
    mf__buf_init(&key);
    const mf__slice *row;
    bool typed = mf__source_typed(s);
    mf__buf tmp;
    mf__buf_init(&tmp);
    char want[64];
    if (typed && mf__source_blockable(s)) { /* a row group at a time */
        const mf__cell_col *cols;
        size_t n;
        int r;
        while (rc == MF_OK && (r = mf__source_next_block(s, &cols, &n, err)) == 1) {
            const mf__cell_col *k64 =
                nk == 1 && v->entity_columns[0]->dtype == MF__VALUE_TYPE__VT_INT64 &&
                        cols[ikey[0]].kind == MF__CELL_INT
                    ? &cols[ikey[0]]
                    : NULL;
            if (k64) {
                rc = scan_block_k64(c, cols, k64, n, &tmp);
                continue;
            }
            for (size_t i = 0; i < n && rc == MF_OK; i++) {
                mf__cell cc;
                int64_t ts, cr = INT64_MIN;
                if (mf__cell_col_ts(&cols[its], i, &cc, &ts) != 0) {
                    mf__source_block_row(s, i);
                    rc = cell_err(s, err, ds->timestamp_field, &cc, "a timestamp");
                    break;
                }
                if (ts < j->start || ts > j->end) continue;
                c->rows_read++;
                if (ts < c->min_ts) c->min_ts = ts;
                if (icr >= 0) {
                    mf__cell_at(&cols[icr], i, &cc);
                    if (mf__cell_ts(&cc, &cr) < 0) {
                        mf__source_block_row(s, i);
                        rc = cell_err(s, err, ds->created_timestamp_column, &cc, "a timestamp");
                        break;
                    }
                }
                key.len = 0;
                bool null_key = false;
                if (k64) {
                    if (k64->valid && !k64->valid[i]) continue;
                    mf__buf_put(&key, &k64->i[i], 8);
                } else {
                    for (size_t k = 0; k < nk && rc == MF_OK; k++) {
                        Mf__ValueType kt = v->entity_columns[k]->dtype;
                        mf__cell_at(&cols[ikey[k]], i, &cc);
                        size_t at = key.len;
                        int kr = mf__cell_key(&key, kt, &cc);
                        if (kr == 0) key_as_stored(&key, at, kt);
                        if (kr < 0) {
                            mf__source_block_row(s, i);
                            snprintf(want, sizeof want, "a valid %s", mf__dtype_name(kt));
                            rc = cell_err(s, err, v->entity_columns[k]->name, &cc, want);
                        }
                        if (kr == 1) null_key = true;
                    }
                    if (rc) break;
                    if (null_key) continue;
                }
                uint32_t id;
                if (!wins(c, wp, v, &key, ts, cr, &id)) continue;
                for (size_t f = 0; f < nf && rc == MF_OK; f++) {
                    mf__cell_at(&cols[ifeat[f]], i, &cc);
                    if (set_value_cell(wp, f, id, &cc, &tmp) != 0) {
                        mf__source_block_row(s, i);
                        snprintf(want, sizeof want, "a valid %s",
                                 mf__dtype_name(v->features[f]->dtype));
                        rc = cell_err(s, err, v->features[f]->name, &cc, want);
                    }
                }
                if (c->report && (c->rows_read & 0xFFFFF) == 0) {
                    j->rows_read = c->rows_read;
                    progress(j, 0);
                }
            }
        }
        if (rc == MF_OK && r < 0) rc = r;
        typed = false; /* done: neither loop below runs */
        row = NULL;
        goto done;
    }
    while (rc == MF_OK && typed) { /* a Parquet source: typed cells */
        const mf__cell *cells;
        int r = mf__source_next_cells(s, &cells, err);
        if (r < 0) rc = r;
        if (r <= 0) break;
        int64_t ts, cr = INT64_MIN;
        if (mf__cell_ts(&cells[its], &ts) != 0) {
            rc = cell_err(s, err, ds->timestamp_field, &cells[its], "a timestamp");
            break;
        }
        if (ts < j->start || ts > j->end) continue;
        c->rows_read++;
        if (ts < c->min_ts) c->min_ts = ts;
        if (icr >= 0 && mf__cell_ts(&cells[icr], &cr) < 0) {
            rc = cell_err(s, err, ds->created_timestamp_column, &cells[icr], "a timestamp");
            break;
        }
        key.len = 0;
        bool null_key = false;
        for (size_t k = 0; k < nk && rc == MF_OK; k++) {
            Mf__ValueType kt = v->entity_columns[k]->dtype;
            size_t at = key.len;
            int kr = mf__cell_key(&key, kt, &cells[ikey[k]]);
            if (kr == 0) key_as_stored(&key, at, kt);
            if (kr < 0) {
                snprintf(want, sizeof want, "a valid %s", mf__dtype_name(kt));
                rc = cell_err(s, err, v->entity_columns[k]->name, &cells[ikey[k]], want);
            }
            if (kr == 1) null_key = true;
        }
        if (rc) break;
        if (null_key) continue;
        uint32_t id;
        if (!wins(c, wp, v, &key, ts, cr, &id)) continue;
        for (size_t f = 0; f < nf && rc == MF_OK; f++)
            if (set_value_cell(wp, f, id, &cells[ifeat[f]], &tmp) != 0) {
                snprintf(want, sizeof want, "a valid %s", mf__dtype_name(v->features[f]->dtype));
                rc = cell_err(s, err, v->features[f]->name, &cells[ifeat[f]], want);
            }
        if (c->report && (c->rows_read & 0xFFFFF) == 0) {
            j->rows_read = c->rows_read;
            progress(j, 0);
        }
    }
    mf__buf_free(&tmp);
    /* Text rows wait in a stage of MSTAGE rows (their times and keys
     * parsed), so that the key lookups of a stage overlap their cache
     * misses; the stage is taken in file order, so the winners are the
     * same. A row whose slices would not outlive the next read empties the
     * stage at once. */
    mstage st;
    memset(&st, 0, sizeof st);
    if (!typed) {
        mf__buf_init(&st.keys);
        st.feat = mf__xcalloc(MSTAGE * nf + 1, sizeof *st.feat);
    }
    while (rc == MF_OK && !typed) {
        int r = mf__source_next(s, &row, err);
        if (r < 0 && (rc = mstage_flush(c, &st)) == MF_OK) rc = r;
        if (r <= 0) break;
        int64_t ts, cr = INT64_MIN;
        const mf__slice *t = &row[its];
        if (!t->ptr || !t->len || mf__ts_parse(t->ptr, t->len, &ts) != 0) {
            if ((rc = mstage_flush(c, &st)) == MF_OK)
                rc = mf__err_at(err, MF_EDATA, mf__source_where(s), (int)mf__source_line(s),
                                "column '%s': '%.*s' is not a timestamp", ds->timestamp_field,
                                (int)(t->len > 200 ? 200 : t->len), t->ptr ? t->ptr : "");
            break;
        }
        if (ts < j->start || ts > j->end) continue;
        c->rows_read++;
        if (ts < c->min_ts) c->min_ts = ts;
        if (icr >= 0 && row[icr].len && mf__ts_parse(row[icr].ptr, row[icr].len, &cr) != 0) {
            if ((rc = mstage_flush(c, &st)) == MF_OK)
                rc = mf__err_at(err, MF_EDATA, mf__source_where(s), (int)mf__source_line(s),
                                "column '%s': '%.*s' is not a timestamp",
                                ds->created_timestamp_column,
                                (int)(row[icr].len > 200 ? 200 : row[icr].len), row[icr].ptr);
            break;
        }
        key.len = 0;
        bool null_key = false;
        for (size_t k = 0; k < nk && rc == MF_OK; k++) {
            size_t at = key.len;
            Mf__ValueType kt = v->entity_columns[k]->dtype;
            int kr = mf__key_append_text(&key, kt, row[ikey[k]].ptr, row[ikey[k]].len);
            if (kr == 0) key_as_stored(&key, at, kt);
            if (kr < 0 && (rc = mstage_flush(c, &st)) == MF_OK)
                rc = mf__err_at(err, MF_EDATA, mf__source_where(s), (int)mf__source_line(s),
                                "column '%s': '%.*s' is not a valid %s", v->entity_columns[k]->name,
                                (int)(row[ikey[k]].len > 200 ? 200 : row[ikey[k]].len),
                                row[ikey[k]].ptr, mf__dtype_name(v->entity_columns[k]->dtype));
            if (kr < 0) rc = rc ? rc : MF_EDATA;
            if (kr == 1) null_key = true;
        }
        if (rc) break;
        if (null_key) continue;
        size_t i = st.n++;
        st.koff[i] = st.keys.len;
        mf__buf_put(&st.keys, key.data, key.len);
        if (c->keys.fixed8) {
            uint64_t k8;
            memcpy(&k8, key.data, 8);
            mf__keymap_prefetch8(&c->keys, k8);
        }
        st.ts[i] = ts;
        st.cr[i] = cr;
        st.line[i] = mf__source_line_mark(s);
        for (size_t f = 0; f < nf; f++) st.feat[i * nf + f] = row[ifeat[f]];
        if (st.n == MSTAGE || !mf__source_row_stable(s)) rc = mstage_flush(c, &st);
        if (c->report && (c->rows_read & 0xFFFFF) == 0) {
            j->rows_read = c->rows_read;
            progress(j, 0);
        }
    }
    if (!typed) {
        if (rc == MF_OK) rc = mstage_flush(c, &st);
        mf__buf_free(&st.keys);
        free(st.feat);
    }
done:
    mf__buf_free(&tmp);
    mf__buf_free(&key);
    c->rc = rc;
    return NULL;
}

/* Fold the second half's winners into the first's: a key's row from the
 * second half comes later in the file, so it wins ties. */
static void scan_merge(scan_ctx *head, const scan_ctx *tail, const Mf__FeatureViewSpec *v) {
    winners *w = &head->w;
    const winners *t = &tail->w;
    for (uint32_t i = 0; i < t->n; i++) {
        size_t len;
        const unsigned char *k = mf__keymap_key(&tail->keys, i, &len);
        uint32_t id = mf__keymap_intern(&head->keys, k, len);
        if (id == w->n) {
            if (w->n == w->cap) winners_grow(w, v);
            w->n++;
            w->ts[id] = INT64_MIN;
            w->cr[id] = INT64_MIN;
        }
        if (t->ts[i] < w->ts[id] || (t->ts[i] == w->ts[id] && t->cr[i] < w->cr[id])) continue;
        w->ts[id] = t->ts[i];
        w->cr[id] = t->cr[i];
        for (size_t f = 0; f < v->n_features; f++) {
            mf__col *dc = &w->fixed[f];
            const mf__col *sc = &t->fixed[f];
            if (dc->sc == MF__SC_TEXT) {
                text_slot *d = &w->text[f][id], *src = &t->text[f][i];
                if (src->len == UINT32_MAX || !src->p) {
                    d->len = src->len == UINT32_MAX ? UINT32_MAX : 0;
                    continue;
                }
                if (src->len > d->cap) {
                    d->cap = src->len;
                    d->p = mf__xrealloc(d->p, d->cap);
                }
                memcpy(d->p, src->p, src->len);
                d->len = src->len;
                continue;
            }
            size_t sz = dc->sc == MF__SC_I64 || dc->sc == MF__SC_F64 ? 8
                        : dc->sc == MF__SC_BOOL                       ? 1
                                                                      : 4;
            memcpy((char *)dc->data + (size_t)id * sz, (const char *)sc->data + (size_t)i * sz, sz);
            dc->valid[id] = sc->valid[i];
        }
    }
}

/* The columns a view reads from its source. */
typedef struct view_cols {
    long its, icr; /* event and created timestamps (-1: none) */
    long *ikey, *ifeat;
} view_cols;

static void view_cols_free(view_cols *c) {
    free(c->ikey);
    free(c->ifeat);
}

/* Open the view's source (telling a Lua source the window and the columns
 * read) and find every column the view needs in it. */
static int open_view_source(view_job *j, mf__source **out, view_cols *c, mf_error *err) {
    const Mf__FeatureViewSpec *v = j->view;
    const Mf__DataSourceSpec *ds = j->source;
    size_t nk = v->n_entity_columns, nf = v->n_features, nhc = 0;
    const char **hcols = mf__xcalloc(nk + nf + 2, sizeof *hcols);
    hcols[nhc++] = ds->timestamp_field;
    if (ds->created_timestamp_column[0]) hcols[nhc++] = ds->created_timestamp_column;
    for (size_t k = 0; k < nk; k++) hcols[nhc++] = v->entity_columns[k]->name;
    for (size_t f = 0; f < nf; f++) hcols[nhc++] = v->features[f]->name;
    mf__source_hint hint = {"materialize", j->start, j->end, hcols, nhc};
    int rc = mf__source_open(j->cfg, ds, &hint, out, err);
    free(hcols);
    if (rc) return rc;
    mf__source *s = *out;
    c->icr = -1;
    c->ikey = mf__xcalloc(nk + 1, sizeof *c->ikey);
    c->ifeat = mf__xcalloc(nf + 1, sizeof *c->ifeat);
    rc = find_col(s, v->name, ds->timestamp_field, &c->its, err);
    if (rc == MF_OK && ds->created_timestamp_column[0])
        rc = find_col(s, v->name, ds->created_timestamp_column, &c->icr, err);
    for (size_t k = 0; k < nk && rc == MF_OK; k++)
        rc = find_col(s, v->name, v->entity_columns[k]->name, &c->ikey[k], err);
    for (size_t f = 0; f < nf && rc == MF_OK; f++)
        rc = find_col(s, v->name, v->features[f]->name, &c->ifeat[f], err);
    return rc;
}

/* Read the source's rows in the window into each key's winner (*w, keyed
 * by *keys), on two threads when the job splits the source. Returns
 * SPLIT_AGAIN when the halves may have been cut inside a quoted field:
 * everything read is then void (freed) and the caller reads again on one
 * thread. */
#define SPLIT_AGAIN 1
static int read_winners(view_job *j, mf__source *s, const view_cols *c, winners *w,
                        mf__keymap *keys, mf_error *err) {
    const Mf__FeatureViewSpec *v = j->view;
    scan_ctx head;
    scan_init(&head, j, s, c->its, c->icr, c->ikey, c->ifeat, true);
    mf__source *tail_src = NULL;
    scan_ctx tail;
    pthread_t th;
    bool two = false;
    if (j->split && mf__source_split(s, &tail_src)) {
        mf__log(3, "feature view '%s': its source is read by two threads, one half each", v->name);
        scan_init(&tail, j, tail_src, c->its, c->icr, c->ikey, c->ifeat, false);
        two = pthread_create(&th, NULL, scan_run, &tail) == 0;
    }
    scan_run(&head);
    if (tail_src) {
        if (two) pthread_join(th, NULL);
        else if (head.rc == MF_OK && !mf__source_saw_quote(s)) scan_run(&tail);
    }
    int rc = head.rc;
    if (rc && err) *err = head.err;
    bool again = tail_src && mf__source_saw_quote(s);
    bool both = tail_src && !again;
    if (both && rc == MF_OK && tail.rc) {
        rc = tail.rc;
        if (err) *err = tail.err;
    }
    if (both && rc == MF_OK) scan_merge(&head, &tail, v);
    if (tail_src) {
        scan_free(&tail, v);
        mf__source_close(tail_src);
    }
    if (again) {
        scan_free(&head, v);
        return SPLIT_AGAIN;
    }
    *w = head.w;
    *keys = head.keys;
    j->rows_read = head.rows_read + (both ? tail.rows_read : 0);
    if (head.min_ts < j->min_ts) j->min_ts = head.min_ts;
    if (both && tail.min_ts < j->min_ts) j->min_ts = tail.min_ts;
    return rc;
}

/* Write the winners to the online store in batches, in the order of their
 * serialized keys: a B-tree store (SQLite) then fills pages in sequence
 * instead of touching a random page per row. */
static int write_winners(view_job *j, winners *w, const mf__keymap *keys, mf_error *err) {
    const Mf__FeatureViewSpec *v = j->view;
    size_t nk = v->n_entity_columns, nf = v->n_features;
    const char **names = mf__xcalloc(nk + 1, sizeof *names);
    Mf__ValueType *types = mf__xcalloc(nk + 1, sizeof *types);
    size_t *order = mf__xcalloc(nk + 1, sizeof *order);
    for (size_t k = 0; k < nk; k++) {
        names[k] = v->entity_columns[k]->name;
        types[k] = v->entity_columns[k]->dtype;
    }
    mf__ekey_order(names, nk, order);
    for (size_t i = 0; i < w->n; i++)
        if (w->cr[i] == INT64_MIN) w->cr[i] = 0;
    mf__col *bc = mf__xcalloc(nf + 1, sizeof *bc);
    for (size_t f = 0; f < nf; f++) mf__col_init(&bc[f], v->features[f]->name, v->features[f]->dtype, false);
    /* every winner's key serialized once */
    int rc = MF_OK;
    ser_keys sk;
    mf__buf_init(&sk.buf);
    sk.off = mf__xmalloc((w->n + 1) * sizeof *sk.off);
    mf__kval *vals = mf__xcalloc(nk + 1, sizeof *vals);
    for (size_t i = 0; i < w->n && rc == MF_OK; i++) {
        size_t len;
        const unsigned char *p = mf__keymap_key(keys, (uint32_t)i, &len);
        sk.off[i] = sk.buf.len;
        if (mf__ekey_decode_internal(p, len, types, nk, vals) != 0 ||
            mf__ekey_serialize(&sk.buf, names, types, vals, nk, order) != 0)
            rc = mf__err(err, MF_EDATA, "feature view '%s': its join keys cannot be "
                         "serialized for the online store (float or list key types are not "
                         "supported)", v->name);
    }
    sk.off[w->n] = sk.buf.len;
    free(vals);
    uint32_t *perm = mf__xmalloc((w->n + 1) * sizeof *perm);
    for (size_t i = 0; i < w->n; i++) perm[i] = (uint32_t)i;
    if (rc == MF_OK) mf__sort_keys(sk.buf.data, sk.off, perm, w->n);
    for (size_t from = 0; from < w->n && rc == MF_OK; from += MF__MAT_BATCH) {
        size_t to = from + MF__MAT_BATCH < w->n ? from + MF__MAT_BATCH : w->n;
        rc = write_batch(j, w, &sk, perm + from, to - from, bc, err);
        if (rc == MF_OK) {
            j->rows_written += to - from;
            progress(j, 0);
            mf__test_pause("materialize");
        }
    }
    free(perm);
    free(sk.off);
    mf__buf_free(&sk.buf);
    for (size_t f = 0; f < nf; f++) mf__col_free(&bc[f]);
    free(bc);
    free(names);
    free(types);
    free(order);
    return rc;
}

/* One view: its source read into the latest row per key in the window
 * (the winners), then those written to the online store. */
static int materialize_view(view_job *j, mf_error *err) {
    mf__source *s = NULL;
    view_cols c = {-1, -1, NULL, NULL};
    int rc = open_view_source(j, &s, &c, err);
    winners w;
    mf__keymap keys;
    bool read = false;
    if (rc == MF_OK) {
        rc = read_winners(j, s, &c, &w, &keys, err);
        if (rc == SPLIT_AGAIN) {
            mf__source_close(s);
            view_cols_free(&c);
            mf__log(3, "feature view '%s': its source has quotes: read again on one thread",
                    j->view->name);
            j->split = false;
            j->rows_read = 0;
            j->min_ts = INT64_MAX;
            return materialize_view(j, err);
        }
        read = true;
    }
    mf__source_close(s);
    view_cols_free(&c);
    if (rc == MF_OK) rc = write_winners(j, &w, &keys, err);
    if (read) {
        winners_free(&w, j->view);
        mf__keymap_free(&keys);
    }
    return rc;
}

/*---- Intervals ----------------------------------------------------------------*/

typedef struct interval_ctx {
    const char *project;
    const char *view;
    int64_t start, end;
    int64_t created_us; /* the view's, as materialized (its meta); 0: not known */
} interval_ctx;

static int cmp_interval(const void *a, const void *b) {
    const Mf__MaterializationInterval *x = *(Mf__MaterializationInterval *const *)a;
    const Mf__MaterializationInterval *y = *(Mf__MaterializationInterval *const *)b;
    return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

/* Add [start, end] to the view's intervals and merge overlapping or
 * touching ones. */
static int record_interval(Mf__Registry *reg, void *ud, mf_error *err) {
    interval_ctx *c = ud;
    long i = mf__reg_find(reg, MF_KIND_FEATURE_VIEW, c->project, c->view);
    if (i < 0)
        return mf__err(err, MF_EREGISTRY, "feature view '%s' was deleted during materialization",
                       c->view);
    Mf__FeatureView *fv = reg->feature_views[i];
    if (c->created_us && fv->meta && fv->meta->created_us != c->created_us)
        return mf__err(err, MF_EREGISTRY, "feature view '%s' was deleted and created again during "
                       "materialization; the interval materialized is not recorded on the new one",
                       c->view);
    Mf__MaterializationInterval *n =
        (Mf__MaterializationInterval *)mf__pb_new(&mf__materialization_interval__descriptor);
    n->start_us = c->start;
    n->end_us = c->end;
    mf__pb_append(&fv->base, "intervals", &n->base);
    qsort(fv->intervals, fv->n_intervals, sizeof *fv->intervals, cmp_interval);
    size_t k = 0;
    for (size_t x = 0; x < fv->n_intervals; x++) {
        Mf__MaterializationInterval *b = fv->intervals[x];
        if (k > 0) {
            Mf__MaterializationInterval *a = fv->intervals[k - 1];
            if (a->end_us == INT64_MAX || b->start_us <= a->end_us + 1) {
                if (b->end_us > a->end_us) a->end_us = b->end_us;
                protobuf_c_message_free_unpacked(&b->base, NULL);
                continue;
            }
        }
        fv->intervals[k++] = b;
    }
    fv->n_intervals = k;
    return MF_OK;
}

/*---- Entry points -------------------------------------------------------------*/

static void written_free(view_job *j) {
    for (size_t k = 0; k < j->nwritten; k++) {
        written *wv = &j->written[k];
        for (size_t f = 0; f < wv->od->spec->n_features; f++) mf__col_free(&wv->out[f]);
        free(wv->out);
        mf__odfv_store_view_free(wv->store_view);
    }
    free(j->written);
    j->written = NULL;
    j->nwritten = 0;
}

/* The on-demand views written to the online store from j's view (the
 * thread's transform runtime in *tf, made on first need). One that needs
 * request data cannot be computed here: it is written by pushes and direct
 * writes only (logged). */
static int find_written(mf_store *store, mf__worker *w, const Mf__Registry *reg, view_job *j,
                        mf__transforms **tf, mf_error *err) {
    for (size_t i = 0; i < reg->n_on_demand_feature_views; i++) {
        const Mf__OnDemandFeatureView *od = reg->on_demand_feature_views[i];
        if (strcmp(od->spec->project, j->cfg->project) != 0) continue;
        const Mf__FeatureViewSpec *src = mf__odfv_source(reg, j->cfg->project, od->spec);
        if (src != j->view) continue;
        if (od->spec->n_request_sources) {
            mf__log(2, "on-demand feature view '%s' needs request data: materializing '%s' does "
                    "not write it (pushes and direct writes do)", od->spec->name, j->view->name);
            continue;
        }
        if (!*tf) {
            int rc = mf__worker_transforms(store, w, tf, err);
            if (rc) return rc;
        }
        j->tf = *tf;
        j->written = mf__xrealloc(j->written, (j->nwritten + 1) * sizeof *j->written);
        written *wv = &j->written[j->nwritten++];
        wv->od = od;
        wv->store_view = mf__odfv_store_view(reg, j->cfg->project, od->spec);
        wv->out = mf__xcalloc(od->spec->n_features + 1, sizeof *wv->out);
        for (size_t f = 0; f < od->spec->n_features; f++)
            mf__col_init(&wv->out[f], od->spec->features[f]->name, od->spec->features[f]->dtype,
                         false);
    }
    return MF_OK;
}

/* The local batch engine: the views of one run, taken in turn by up to
 * `jobs` threads (this one included). Each thread has its own worker
 * (online-store connection, transforms); each view streams as it would
 * alone; the first failure stops the taking of new views, and its error is
 * the run's; the views done record their intervals (one commit each).
 * Near the end of a run (fewer views left than idle jobs), a view's CSV
 * source is read by two threads, one half each (mf__source_split), and
 * the halves' winners merged in file order: the same result. */
typedef struct engine {
    mf_store *store;
    const mf__config *cfg;
    const Mf__Registry *reg;
    mf__snapshot *snap;
    const Mf__FeatureView **sel;
    size_t nv;
    bool incremental;
    int64_t start, end;
    const mf_materialize_options *opts;
    int jobs;
    size_t next;  /* mu: the next view to take */
    int rc;       /* mu: the first failure */
    mf_error err; /* mu */
    pthread_mutex_t mu, progress_mu;
} engine;

/* The start of an incremental run of view fv: its last recorded end; else
 * end - ttl; else INT64_MIN (every row up to end). Never after end. */
static int64_t incremental_start(const Mf__FeatureView *fv, int64_t end) {
    int64_t start = INT64_MIN;
    for (size_t x = 0; x < fv->n_intervals; x++)
        if (fv->intervals[x]->end_us > start) start = fv->intervals[x]->end_us;
    if (!fv->n_intervals && fv->spec->ttl_seconds > 0)
        start = mf__sub_sat(end, mf__secs_to_us_sat(fv->spec->ttl_seconds));
    return start > end ? end : start;
}

/* One view of the run, on the calling thread (its worker w, connection on,
 * transform runtime *tf): the provider's hooks around the built-in work,
 * then, when `record`, its interval recorded; *from (when not NULL) gets
 * the interval's start (the Lua engine's host.materialize records none:
 * the engine's report does). */
static int materialize_one(engine *e, const Mf__FeatureView *fv, bool split, bool record,
                           int64_t *from, mf__worker *w, mf__online *on, mf__transforms **tf,
                           mf_error *err) {
    const mf__config *cfg = e->cfg;
    view_job j = {cfg, on, fv->spec, mf__view_batch_source(e->reg, cfg->project, fv->spec),
                  e->start, e->end, e->opts, 0, 0, INT64_MAX, NULL, mf__snapshot_gen(e->snap),
                  NULL, 0, &e->progress_mu, split};
    int rc = find_written(e->store, w, e->reg, &j, tf, err);
    if (rc == MF_OK && !j.source)
        rc = mf__err(err, MF_EREGISTRY, "feature view '%s': source not registered", fv->spec->name);
    if (rc == MF_OK && e->incremental) j.start = incremental_start(fv, e->end);
    mf__provider *pv = mf__store_provider(e->store);
    bool replaced = false;
    if (rc == MF_OK)
        rc = mf__provider_call(pv, MF__HOOK_MATERIALIZE, &replaced, err, "ssnn", cfg->project,
                               fv->spec->name, j.start, e->end);
    if (rc == MF_OK && !replaced) {
        j.min_ts = INT64_MAX;
        progress(&j, 0); /* the view starts */
        rc = materialize_view(&j, err);
        /* the rows are durable before the interval that says so */
        if (rc == MF_OK && record && on->vt->sync) rc = on->vt->sync(on, err);
    }
    if (rc == MF_OK)
        rc = mf__provider_call(pv, MF__HOOK_AFTER_MATERIALIZE, NULL, err, "ssnn", cfg->project,
                               fv->spec->name, (int64_t)j.rows_read, (int64_t)j.rows_written);
    if (rc == MF_OK) {
        int64_t start = j.start != INT64_MIN ? j.start : j.min_ts != INT64_MAX ? j.min_ts : e->end;
        if (from) *from = start;
        interval_ctx c = {cfg->project, fv->spec->name, start, e->end,
                          fv->meta ? fv->meta->created_us : 0};
        if (record) rc = mf__store_commit(e->store, record_interval, &c, err);
    }
    if (rc == MF_OK) progress(&j, 1);
    else mf__err_prefix(err, "materializing '%s'", fv->spec->name);
    written_free(&j);
    return rc;
}

static void *engine_thread(void *arg) {
    engine *e = arg;
    mf_error err;
    mf__worker *w;
    mf__online *on = NULL;
    mf__transforms *tf = NULL;
    int rc = mf__store_worker(e->store, &w, &err);
    if (rc == MF_OK) rc = mf__worker_online(w, &on, &err);
    for (;;) {
        pthread_mutex_lock(&e->mu);
        bool stop = e->rc != MF_OK || e->next >= e->nv || rc != MF_OK;
        size_t i = stop ? 0 : e->next++;
        pthread_mutex_unlock(&e->mu);
        if (stop) break;
        /* near the end of the run, when some jobs will have no view left
         * while this one runs, it reads its source on two threads */
        bool split = e->jobs > 1 && e->nv - (i + 1) < (size_t)(e->jobs - 1);
        rc = materialize_one(e, e->sel[i], split, true, NULL, w, on, &tf, &err);
    }
    pthread_mutex_lock(&e->mu);
    if (rc != MF_OK && e->rc == MF_OK) {
        e->rc = rc;
        e->err = err;
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* The Lua batch engine (batch_engine: {type: lua, module}): the module's
 * run(tasks) gets one task per view, {project, view, start, end, start_ts,
 * end_ts} (start nil: every row up to end), and returns a list as long as
 * tasks: true for a task done, else a message. The intervals of the tasks
 * done are recorded; the others make the call's error. The module runs in
 * the sandbox, with the transform budget times the number of tasks.
 *
 * Its chunk gets a host table (the second argument) with two ways out of
 * the sandbox, both on the calling thread:
 *   host.materialize(task): the built-in work of one of run's tasks
 *     (materialize_one, without recording: the engine's report does);
 *     true, or nil and the message. A task is known by identity (the
 *     table run was given), so fields the module changed do not matter.
 *   host.run(name, args...): one of the operator's programs
 *     (batch_engine.commands, command.c); exit code and standard output,
 *     or nil and why (a signal, the timeout, too much output).
 * The time either waits does not count against the Lua deadline. */
#define HOST_RUN_MAX_OUT ((size_t)1 << 20)

typedef struct engine_host {
    engine *e;
    int64_t *from;    /* per task: the start a host.materialize found, INT64_MAX none */
    int index_ref;    /* registry: task table -> its index (1-based) */
    mf__worker *w;    /* the calling thread's, on first host.materialize */
    mf__online *on;
    mf__transforms *tf;
    mf__buf out;      /* host.run's captured output */
} engine_host;

/* nil and the message of e (file:line first when it has a location the
 * message does not start with). */
static int push_failure(lua_State *L, const mf_error *e) {
    lua_pushnil(L);
    size_t fl = strlen(e->file);
    bool has_loc = fl && strncmp(e->message, e->file, fl) == 0 && e->message[fl] == ':';
    if (e->file[0] && !has_loc && e->line > 0)
        lua_pushfstring(L, "%s:%d: %s", e->file, e->line, e->message);
    else if (e->file[0] && !has_loc)
        lua_pushfstring(L, "%s: %s", e->file, e->message);
    else
        lua_pushstring(L, e->message);
    return 2;
}

static int host_materialize(lua_State *L) {
    engine_host *h = lua_touserdata(L, lua_upvalueindex(1));
    if (!lua_istable(L, 1))
        return luaL_error(L, "host.materialize: expected a task (one of the tasks run was "
                          "given), got %s", luaL_typename(L, 1));
    lua_pushvalue(L, 1);
    lua_rawget(L, lua_upvalueindex(2));
    if (lua_type(L, -1) != LUA_TNUMBER)
        return luaL_error(L, "host.materialize: the table is not one of the tasks run was "
                          "given (pass the task itself, not a copy)");
    size_t i = (size_t)lua_tonumber(L, -1) - 1;
    lua_pop(L, 1);
    engine *e = h->e;
    mf_error me;
    int64_t from = INT64_MAX;
    int64_t paused = mf__lua_pause(L);
    int rc = MF_OK;
    if (!h->on) {
        rc = mf__store_worker(e->store, &h->w, &me);
        if (rc == MF_OK) rc = mf__worker_online(h->w, &h->on, &me);
        if (rc) h->on = NULL;
    }
    if (rc == MF_OK)
        rc = materialize_one(e, e->sel[i], false, false, &from, h->w, h->on, &h->tf, &me);
    mf__lua_resume(L, paused);
    h->from[i] = rc == MF_OK ? from : INT64_MAX;
    if (rc) return push_failure(L, &me);
    lua_pushboolean(L, 1);
    return 1;
}

static int host_run(lua_State *L) {
    engine_host *h = lua_touserdata(L, lua_upvalueindex(1));
    const mf__config *cfg = h->e->cfg;
    int n = lua_gettop(L);
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "host.run: argument 1 must be the name of a command of "
                          "batch_engine.commands, got %s", luaL_typename(L, 1));
    size_t name_len;
    const char *name = lua_tolstring(L, 1, &name_len);
    size_t k = strlen(name) == name_len ? 0 : cfg->n_engine_commands; /* a NUL: no name */
    while (k < cfg->n_engine_commands && strcmp(cfg->engine_command_names[k], name) != 0) k++;
    if (k == cfg->n_engine_commands) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (size_t x = 0; x < cfg->n_engine_commands; x++) {
            if (x) luaL_addstring(&b, ", ");
            luaL_addstring(&b, cfg->engine_command_names[x]);
        }
        if (!cfg->n_engine_commands) luaL_addstring(&b, "none");
        luaL_pushresult(&b);
        return luaL_error(L, "host.run: no command '%s' in batch_engine.commands of "
                          "feature_store.yaml (configured: %s)", name, lua_tostring(L, -1));
    }
    for (int i = 2; i <= n; i++) {
        int t = lua_type(L, i);
        if (t == LUA_TNUMBER) {
            /* integers exactly (a task's microseconds need 16 digits) */
            lua_Number x = lua_tonumber(L, i);
            char num[64];
            if (x == floor(x) && x >= -9.2e18 && x <= 9.2e18)
                snprintf(num, sizeof num, "%lld", (long long)x);
            else
                snprintf(num, sizeof num, "%.17g", x);
            lua_pushstring(L, num);
            lua_replace(L, i);
        } else if (t != LUA_TSTRING) {
            return luaL_error(L, "host.run: argument %d must be a string or a number, got %s",
                              i, luaL_typename(L, i));
        }
        size_t len;
        const char *a = lua_tolstring(L, i, &len);
        if (strlen(a) != len)
            return luaL_error(L, "host.run: argument %d contains a NUL byte", i);
    }
    /* argv points into the strings on the stack (alive during the call) */
    char **argv = lua_newuserdata(L, ((size_t)n + 1) * sizeof *argv);
    argv[0] = cfg->engine_command_paths[k];
    for (int i = 2; i <= n; i++) argv[i - 1] = (char *)lua_tostring(L, i);
    argv[n] = NULL;
    mf__log(3, "batch engine lua: host.run '%s' (%s) with %d argument(s)", name, argv[0], n - 1);
    mf__command_result res;
    res.out = &h->out;
    mf_error ce;
    int64_t paused = mf__lua_pause(L);
    int rc = mf__command_run(argv[0], argv, cfg->repo_path, cfg->engine_command_timeout_seconds,
                             HOST_RUN_MAX_OUT, &res, &ce);
    mf__lua_resume(L, paused);
    if (rc) return push_failure(L, &ce);
    switch (res.outcome) {
    case MF__CMD_EXITED:
        lua_pushinteger(L, res.code);
        lua_pushlstring(L, h->out.data ? h->out.data : "", h->out.len);
        return 2;
    case MF__CMD_SIGNALED:
        lua_pushnil(L);
        lua_pushfstring(L, "killed by signal %d", res.code);
        return 2;
    case MF__CMD_TIMEOUT:
        lua_pushnil(L);
        lua_pushfstring(L, "timed out after %d s (batch_engine.command_timeout_seconds)",
                        (int)cfg->engine_command_timeout_seconds);
        return 2;
    default:
        lua_pushnil(L);
        lua_pushfstring(L, "its standard output passed %d bytes (1 MiB), so it was killed",
                        (int)HOST_RUN_MAX_OUT);
        return 2;
    }
}

/* The engine's host table: materialize and run ([t] -> [t]). */
static void engine_host_fns(lua_State *L, void *ud) {
    engine_host *h = ud;
    lua_pushlightuserdata(L, h);
    lua_newtable(L); /* task -> index, filled when the tasks are made */
    lua_pushvalue(L, -1);
    h->index_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcclosure(L, host_materialize, 2);
    lua_setfield(L, -2, "materialize");
    lua_pushlightuserdata(L, h);
    lua_pushcclosure(L, host_run, 1);
    lua_setfield(L, -2, "run");
}

/* The engine's call: the tasks built, run called and its answer read (into
 * done[] and the first failure's message), in protected mode
 * (mf__lstate_cpcall): what the module holds may leave its state at the
 * memory cap, and an allocation of moonfeast's own code failing there must
 * be an error, never the end of the process. */
typedef struct engine_run {
    engine *e;
    mf__lstate *ls;
    int ref, index_ref;
    int64_t *starts;
    bool *done;
    mf__buf *first;
    mf_error *err;
} engine_run;

static int engine_run_body(lua_State *L, void *ud) {
    engine_run *r = ud;
    engine *e = r->e;
    const mf__config *cfg = e->cfg;
    /* before the tasks are built: see store_lua.c's run_op */
    mf__lstate_begin_rows(r->ls, e->nv ? e->nv : 1);
    mf__lua_module_push(L, r->ref, "run");
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->index_ref);
    int index = lua_gettop(L);
    lua_createtable(L, (int)e->nv, 0);
    for (size_t i = 0; i < e->nv; i++) {
        const Mf__FeatureView *fv = e->sel[i];
        int64_t *starts = r->starts;
        starts[i] = e->incremental ? incremental_start(fv, e->end) : e->start;
        char ts[40];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, cfg->project);
        lua_setfield(L, -2, "project");
        lua_pushstring(L, fv->spec->name);
        lua_setfield(L, -2, "view");
        if (starts[i] != INT64_MIN) {
            lua_pushnumber(L, (lua_Number)starts[i]);
            lua_setfield(L, -2, "start");
            mf__ts_format(starts[i], ts);
            lua_pushstring(L, ts);
            lua_setfield(L, -2, "start_ts");
        }
        lua_pushnumber(L, (lua_Number)e->end);
        lua_setfield(L, -2, "end");
        mf__ts_format(e->end, ts);
        lua_pushstring(L, ts);
        lua_setfield(L, -2, "end_ts");
        lua_pushvalue(L, -1);
        lua_pushnumber(L, (lua_Number)(i + 1));
        lua_rawset(L, index);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_remove(L, index);
    mf_error le;
    if (mf__lstate_pcall(r->ls, 1, 1, &le)) {
        int n = mf__lua_msg_len(le.message);
        return mf__err(r->err, MF_EIO, "batch engine lua (%s), run: %.*s (no interval "
                       "recorded)", cfg->engine_module, n, le.message);
    }
    if (!lua_istable(L, -1))
        return mf__err(r->err, MF_EIO, "batch engine lua (%s), run: must return a list of "
                       "results (true, or a message), got %s (no interval recorded)",
                       cfg->engine_module, luaL_typename(L, -1));
    bool failed = false;
    for (size_t i = 0; i < e->nv; i++) {
        lua_rawgeti(L, -1, (int)i + 1);
        r->done[i] = lua_isboolean(L, -1) && lua_toboolean(L, -1);
        if (!r->done[i] && !failed) {
            failed = true;
            mf__buf_printf(r->first, "view '%s': %s", e->sel[i]->spec->name,
                           lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                          : "no result (true or a message)");
        }
        lua_pop(L, 1);
    }
    return MF_OK;
}

static int lua_engine(engine *e, mf_error *err) {
    const mf__config *cfg = e->cfg;
    mf__lua_budget b = cfg->transform_budget;
    b.max_memory = cfg->lua_budget.max_memory;
    static const char *const funcs[] = {"run"};
    mf__lua_module m = {"batch engine lua", cfg->engine_module, b, MF_EIO, NULL, NULL, 0,
                        funcs, 1, "run", NULL, MF__LUA_KEYS_MODULE};
    engine_host h;
    memset(&h, 0, sizeof h);
    h.e = e;
    h.from = mf__xcalloc(e->nv + 1, sizeof *h.from);
    for (size_t i = 0; i < e->nv; i++) h.from[i] = INT64_MAX;
    mf__buf_init(&h.out);
    mf__lstate *ls;
    int ref;
    int rc = mf__lua_module_open_host(&m, engine_host_fns, &h, &ls, &ref, err);
    if (rc) {
        free(h.from);
        mf__buf_free(&h.out);
        return rc;
    }
    int64_t *starts = mf__xcalloc(e->nv + 1, sizeof *starts);
    bool *done = mf__xcalloc(e->nv + 1, sizeof *done);
    mf__buf first;
    mf__buf_init(&first);
    engine_run r = {e, ls, ref, h.index_ref, starts, done, &first, err};
    mf_error le;
    int body_rc;
    if (mf__lstate_cpcall(ls, engine_run_body, &r, &body_rc, &le)) {
        int n = mf__lua_msg_len(le.message);
        rc = mf__err(err, MF_EIO, "batch engine lua (%s), run: %.*s (no interval recorded)",
                     cfg->engine_module, n, le.message);
    } else {
        rc = body_rc;
    }
    if (rc == MF_OK) {
        size_t failed = 0;
        /* the rows host.materialize wrote are durable before the intervals
         * that say so (the local engine syncs each view before recording) */
        bool any = false;
        for (size_t i = 0; i < e->nv; i++) any = any || done[i];
        if (any) {
            mf__worker *w;
            mf__online *on;
            rc = mf__store_worker(e->store, &w, err);
            if (rc == MF_OK) rc = mf__worker_online(w, &on, err);
            if (rc == MF_OK && on->vt->sync) rc = on->vt->sync(on, err);
        }
        bool synced = rc == MF_OK; /* a failed sync records no interval */
        for (size_t i = 0; i < e->nv && synced; i++) {
            const Mf__FeatureView *fv = e->sel[i];
            if (!done[i]) {
                failed++;
                continue;
            }
            /* a task the built-in work did (host.materialize) records what
             * the local engine would: without a start, its oldest row's time */
            int64_t from = h.from[i] != INT64_MAX   ? h.from[i]
                           : starts[i] != INT64_MIN ? starts[i]
                                                    : e->end;
            interval_ctx c = {cfg->project, fv->spec->name, from, e->end,
                              fv->meta ? fv->meta->created_us : 0};
            mf_error ce;
            int crc = mf__store_commit(e->store, record_interval, &c, &ce);
            if (crc && rc == MF_OK) {
                rc = crc;
                if (err) *err = ce;
            }
        }
        if (failed && rc == MF_OK)
            rc = mf__err(err, MF_EIO, "batch engine lua (%s): %zu of %zu task(s) failed, so "
                         "their intervals are not recorded; %s", cfg->engine_module, failed,
                         e->nv, first.data);
    }
    mf__buf_free(&first);
    free(done);
    free(starts);
    mf__lstate_free(ls);
    free(h.from);
    mf__buf_free(&h.out);
    return rc;
}

/* The named views of reg (every online view of the project when none is
 * named) into sel (room for n_views + the registry's views), each once;
 * an error naming the first that is unknown, on-demand or not online. */
static int select_views(const Mf__Registry *reg, const char *project, const char *const *views,
                        size_t n_views, const Mf__FeatureView **sel, size_t *n_sel,
                        mf_error *err) {
    int rc = MF_OK;
    size_t nv = 0;
    for (size_t i = 0; i < n_views && rc == MF_OK; i++) {
        long x = mf__reg_find(reg, MF_KIND_FEATURE_VIEW, project, views[i]);
        long od = x < 0 ? mf__reg_find(reg, MF_KIND_ON_DEMAND_FEATURE_VIEW, project, views[i])
                        : -1;
        if (od >= 0) {
            /* not a typo: say what it is, and what is materialized instead */
            const Mf__OnDemandFeatureViewSpec *os = reg->on_demand_feature_views[od]->spec;
            mf__buf srcs;
            mf__buf_init(&srcs);
            for (size_t k = 0; k < os->n_source_views; k++)
                mf__buf_printf(&srcs, "%s'%s'", k ? ", " : "", os->source_views[k]->view_name);
            rc = mf__err(err, MF_EREQUEST, "'%s' is an on-demand feature view, which is not "
                         "materialized (its source feature views are: %s)", views[i],
                         srcs.len ? srcs.data : "none");
            mf__buf_free(&srcs);
        } else if (x < 0)
            rc = mf__err(err, MF_ENOTFOUND, "unknown feature view '%s' in project '%s'", views[i],
                         project);
        else if (!reg->feature_views[x]->spec->online)
            rc = mf__err(err, MF_EREQUEST, "feature view '%s' is not online (online = false)",
                         views[i]);
        else {
            bool again = false; /* a view named twice is materialized once */
            for (size_t j = 0; j < nv && !again; j++) again = sel[j] == reg->feature_views[x];
            if (!again) sel[nv++] = reg->feature_views[x];
        }
    }
    for (size_t i = 0; !n_views && i < reg->n_feature_views; i++) {
        const Mf__FeatureView *fv = reg->feature_views[i];
        if (strcmp(fv->spec->project, project) == 0 && fv->spec->online) sel[nv++] = fv;
    }
    *n_sel = nv;
    return rc;
}

/* The registry as it is now, not the handle's cached snapshot (a server's
 * can be cache_ttl_seconds old: another process may have materialized, or
 * deleted and created a view again, since), pinned into *snap. */
static int pin_fresh(mf_store *store, mf__snapshot **snap, mf_error *err) {
    int rc = mf__store_refresh(store, err);
    return rc ? rc : mf__store_pin(store, snap, err);
}

int mf__materialize_check(mf_store *store, const char *const *views, size_t n_views,
                          mf_error *err) {
    mf__err_clear(err);
    mf__snapshot *snap;
    int rc = pin_fresh(store, &snap, err);
    if (rc) return rc;
    const Mf__Registry *reg = mf__snapshot_registry(snap);
    const Mf__FeatureView **sel = mf__xcalloc(reg->n_feature_views + n_views + 1, sizeof *sel);
    size_t nv;
    rc = select_views(reg, mf__store_config(store)->project, views, n_views, sel, &nv, err);
    free(sel);
    mf__snapshot_unpin(snap);
    return rc;
}

static int run(mf_store *store, bool incremental, int64_t start, int64_t end,
               const char *const *views, size_t n_views, const mf_materialize_options *opts,
               mf_error *err) {
    mf__err_clear(err);
    const mf__config *cfg = mf__store_config(store);
    if (!incremental && start > end)
        return mf__err(err, MF_EUSAGE, "the start of the window is after its end");
    mf__snapshot *snap;
    int rc = pin_fresh(store, &snap, err);
    if (rc) return rc;
    const Mf__Registry *reg = mf__snapshot_registry(snap);
    /* the views, checked before anything is written */
    size_t nv = 0;
    const Mf__FeatureView **sel = mf__xcalloc(reg->n_feature_views + n_views + 1, sizeof *sel);
    rc = select_views(reg, cfg->project, views, n_views, sel, &nv, err);
    engine e;
    memset(&e, 0, sizeof e);
    e.store = store, e.cfg = cfg, e.reg = reg, e.snap = snap, e.sel = sel, e.nv = nv;
    e.incremental = incremental, e.start = start, e.end = end, e.opts = opts;
    pthread_mutex_init(&e.mu, NULL);
    pthread_mutex_init(&e.progress_mu, NULL);
    bool lua = strcmp(cfg->engine_type, "lua") == 0;
    if (rc == MF_OK && lua) {
        rc = lua_engine(&e, err);
    } else if (rc == MF_OK) {
        int jobs = opts && opts->jobs > 0 ? opts->jobs
                   : cfg->engine_jobs > 0 ? cfg->engine_jobs
                                          : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (jobs < 1) jobs = 1;
        /* a Lua online store's instance belongs to its thread (and may keep
         * its rows there, as the memory store does): every view is written
         * from the calling thread, whose instance the caller reads */
        if (cfg->online.type && strcmp(cfg->online.type, "lua") == 0) jobs = 1;
        e.jobs = jobs; /* asked for: a lone view may split in two */
        if ((size_t)jobs > nv) jobs = (int)nv;
        pthread_t *t = mf__xcalloc((size_t)jobs, sizeof *t);
        int started = 0;
        /* this thread is one of the jobs; the others are threads of their
         * own (those that could be made, kept in t[0 .. started)) */
        for (int i = 1; i < jobs; i++)
            if (pthread_create(&t[started], NULL, engine_thread, &e) == 0) started++;
        engine_thread(&e);
        for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
        free(t);
        rc = e.rc;
        if (rc && err) *err = e.err;
    }
    pthread_mutex_destroy(&e.mu);
    pthread_mutex_destroy(&e.progress_mu);
    free(sel);
    mf__snapshot_unpin(snap);
    return rc;
}

int mf_materialize(mf_store *store, int64_t start_us, int64_t end_us, const char *const *views,
                   size_t n_views, const mf_materialize_options *opts, mf_error *err) {
    return run(store, false, start_us, end_us, views, n_views, opts, err);
}

int mf_materialize_incremental(mf_store *store, int64_t end_us, const char *const *views,
                               size_t n_views, const mf_materialize_options *opts,
                               mf_error *err) {
    return run(store, true, 0, end_us, views, n_views, opts, err);
}
