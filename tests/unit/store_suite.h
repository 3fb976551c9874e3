/*
 * store_suite.h — the contract of an online store (mf__online_vt in
 * runtime/mf_internal.h), written once for every store.
 *
 * Each test is a function of an open store and a fresh project name that
 * no other test uses; it creates what it needs with vt->update, writes with
 * vt->write_batch and checks what vt->read gives back. A store's test file
 * opens its store and calls the suite:
 *
 *     #include "store_suite.h"
 *     int main(void) {
 *         mf__online *s = ...open the store...;
 *         mfs_run_all(s, "redis", "mft_r1234_");   // prefix of fresh projects
 *         s->vt->close(s);
 *         MFT_END();
 *     }
 *
 * Rules checked (docs/concepts.md: "Materialization", "Online reads",
 * "Online stores"; and mf_internal.h):
 * - update creates what a view needs: a read right after it finds nothing
 *   and a write succeeds; update again keeps the data; update with drop
 *   removes one view's data and keeps the others'.
 * - write then read gives back every value exactly: Int32, Int64, Float32,
 *   Float64 (bit for bit), String (the empty string is a value, not null),
 *   Bytes (NUL and high bytes), Bool, UnixTimestamp, lists (JSON text).
 * - a key never written: found 0, every value null; a null written: found
 *   1, that value null, the others present.
 * - a write never replaces a newer event_ts; equal event_ts: the greater or
 *   equal created_ts wins, a smaller one loses; inside one batch too.
 * - reads of a subset of the features, in any order, appended to the given
 *   columns; a view that gained a feature reads old rows with it null.
 * - teardown removes a view's rows; projects never see each other's rows
 *   (also when "<project>__<view>" of the two would be the same text).
 * - 20000 keys in one batch; 300 features, names up to 300 characters.
 * - a list cell that is not a valid list (null inside, not strict JSON, an
 *   element of another type) or a String that is not UTF-8 text without NUL
 *   is refused (MF_EDATA, nothing written); lists come back canonical.
 */
#ifndef STORE_SUITE_H
#define STORE_SUITE_H

#include <math.h>
#include <stdint.h>

#include "mf_online.h"
#include "mf_table.h"
#include "mft.h"

#define MFS_FREE(m) protobuf_c_message_free_unpacked((ProtobufCMessage *)(m), NULL)

/*---- Views ------------------------------------------------------------------*/

/* A feature view `name` of `project` keyed by one Int64 join key "id", with
 * features "name:Type" given as a NULL-terminated list of (name, dtype)
 * pairs. Caller frees with MFS_FREE. */
static Mf__FeatureView *mfs_view(const char *project, const char *name, int64_t ttl,
                                 const char *const *fnames, const Mf__ValueType *ftypes,
                                 size_t nf) {
    Mf__FeatureView *fv = (Mf__FeatureView *)mf__pb_new(&mf__feature_view__descriptor);
    Mf__FeatureViewSpec *sp = (Mf__FeatureViewSpec *)mf__pb_new(&mf__feature_view_spec__descriptor);
    fv->spec = sp;
    mf__pb_set_string(&sp->project, project);
    mf__pb_set_string(&sp->name, name);
    mf__pb_set_string(&sp->source, "src");
    sp->ttl_seconds = ttl;
    sp->online = 1;
    for (size_t i = 0; i < nf; i++) {
        Mf__Field *f = (Mf__Field *)mf__pb_new(&mf__field__descriptor);
        mf__pb_set_string(&f->name, fnames[i]);
        f->dtype = ftypes[i];
        mf__pb_append(&sp->base, "features", &f->base);
    }
    Mf__Field *k = (Mf__Field *)mf__pb_new(&mf__field__descriptor);
    mf__pb_set_string(&k->name, "id");
    k->dtype = MF__VALUE_TYPE__VT_INT64;
    mf__pb_append(&sp->base, "entity_columns", &k->base);
    return fv;
}

/* A view with one Int64 feature "v". */
static Mf__FeatureView *mfs_view1(const char *project, const char *name) {
    static const char *const fn[] = {"v"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_INT64};
    return mfs_view(project, name, 0, fn, ft, 1);
}

static int mfs_update(mf__online *s, const char *project, Mf__FeatureView *keep1,
                      Mf__FeatureView *keep2, Mf__FeatureView *drop1, mf_error *err) {
    Mf__FeatureView *keep[2];
    size_t nk = 0;
    if (keep1) keep[nk++] = keep1;
    if (keep2) keep[nk++] = keep2;
    return s->vt->update(s, project, keep, nk, drop1 ? &drop1 : NULL, drop1 ? 1 : 0, err);
}

/*---- Keys -------------------------------------------------------------------*/

/* v3 keys of ids[0..n) for the join key "id" (Int64), as the arrays a
 * batch wants. */
typedef struct mfs_keys {
    mf__buf bytes;
    const unsigned char **p;
    size_t *len;
} mfs_keys;

static void mfs_keys_make(mfs_keys *k, const int64_t *ids, size_t n) {
    static const char *const names[] = {"id"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_INT64};
    static const size_t order[] = {0};
    mf__buf_init(&k->bytes);
    size_t *off = mf__xmalloc((n + 1) * sizeof *off);
    for (size_t i = 0; i < n; i++) {
        mf__kval v = {ids[i], NULL, 0};
        off[i] = k->bytes.len;
        if (mf__ekey_serialize(&k->bytes, names, types, &v, 1, order) != 0) abort();
    }
    off[n] = k->bytes.len;
    k->p = mf__xmalloc((n + 1) * sizeof *k->p);
    k->len = mf__xmalloc((n + 1) * sizeof *k->len);
    for (size_t i = 0; i < n; i++) {
        k->p[i] = (const unsigned char *)k->bytes.data + off[i];
        k->len[i] = off[i + 1] - off[i];
    }
    free(off);
}

static void mfs_keys_free(mfs_keys *k) {
    mf__buf_free(&k->bytes);
    free(k->p);
    free(k->len);
}

/*---- Writing and reading ----------------------------------------------------*/

/* Write rows i = 0..n-1: key ids[i], event ets[i], created cts[i] (cts may
 * be NULL: 0), feature values cols[f] row rows ? rows[i] : i. */
static int mfs_write(mf__online *s, const char *project, const Mf__FeatureView *fv,
                     const int64_t *ids, const int64_t *ets, const int64_t *cts,
                     const mf__col *cols, const size_t *rows, size_t n, mf_error *err) {
    mfs_keys k;
    mfs_keys_make(&k, ids, n);
    mf__write_batch b = {fv->spec, n, k.p, k.len, ets, cts, cols, rows};
    int rc = s->vt->write_batch(s, project, &b, err);
    mfs_keys_free(&k);
    return rc;
}

/* Write one row of a one-Int64-feature view; valid 0 writes a null. */
static int mfs_put1(mf__online *s, const char *project, const Mf__FeatureView *fv, int64_t id,
                    int64_t ets, int64_t cts, int64_t v, int valid, mf_error *err) {
    mf__col c;
    mf__col_init(&c, "v", MF__VALUE_TYPE__VT_INT64, false);
    if (valid) mf__col_push_i64(&c, v);
    else mf__col_push_null(&c);
    int rc = mfs_write(s, project, fv, &id, &ets, &cts, &c, NULL, 1, err);
    mf__col_free(&c);
    return rc;
}

/* What a read gave back. */
typedef struct mfs_got {
    size_t n, nfeat;
    mf__col *cols;
    uint8_t *found;
    int64_t *ts;
} mfs_got;

static void mfs_got_free(mfs_got *g) {
    for (size_t f = 0; f < g->nfeat; f++) mf__col_free(&g->cols[f]);
    free(g->cols);
    free(g->found);
    free(g->ts);
    memset(g, 0, sizeof *g);
}

/* Read ids[0..n) for the features fv->features[feat_idx[j]] (all of them,
 * in order, when feat_idx is NULL). found is prefilled with 7 and ts with
 * -7 so that a store that leaves them unset is seen. */
static int mfs_read(mf__online *s, const char *project, const Mf__FeatureView *fv,
                    const int64_t *ids, size_t n, const size_t *feat_idx, size_t nfeat,
                    mfs_got *g, mf_error *err) {
    const Mf__FeatureViewSpec *v = fv->spec;
    size_t *all = NULL;
    if (!feat_idx) {
        nfeat = v->n_features;
        all = mf__xcalloc(nfeat + 1, sizeof *all);
        for (size_t f = 0; f < nfeat; f++) all[f] = f;
        feat_idx = all;
    }
    memset(g, 0, sizeof *g);
    g->n = n;
    g->nfeat = nfeat;
    g->cols = mf__xcalloc(nfeat + 1, sizeof *g->cols);
    g->found = mf__xmalloc(n + 1);
    g->ts = mf__xmalloc((n + 1) * sizeof *g->ts);
    memset(g->found, 7, n + 1);
    for (size_t i = 0; i < n; i++) g->ts[i] = -7;
    mf__col **out = mf__xcalloc(nfeat + 1, sizeof *out);
    for (size_t f = 0; f < nfeat; f++) {
        const Mf__Field *fd = v->features[feat_idx[f]];
        mf__col_init(&g->cols[f], fd->name, fd->dtype, false);
        out[f] = &g->cols[f];
    }
    mfs_keys k;
    mfs_keys_make(&k, ids, n);
    mf__read_batch b = {v, n, k.p, k.len, feat_idx, nfeat, out, g->found, g->ts};
    int rc = s->vt->read(s, project, &b, err);
    mfs_keys_free(&k);
    free(out);
    free(all);
    return rc;
}

/* Cell a[i] equals cell b[j]: same validity, same bytes. */
static bool mfs_cell_eq(const mf__col *a, size_t i, const mf__col *b, size_t j) {
    if (a->sc != b->sc || i >= a->n || j >= b->n) return false;
    if (!a->valid[i] || !b->valid[j]) return !a->valid[i] && !b->valid[j];
    switch (a->sc) {
    case MF__SC_I32: return ((const int32_t *)a->data)[i] == ((const int32_t *)b->data)[j];
    case MF__SC_I64: return ((const int64_t *)a->data)[i] == ((const int64_t *)b->data)[j];
    case MF__SC_F32: return memcmp((const float *)a->data + i, (const float *)b->data + j, 4) == 0;
    case MF__SC_F64: return memcmp((const double *)a->data + i, (const double *)b->data + j, 8) == 0;
    case MF__SC_BOOL: return ((const uint8_t *)a->data)[i] == ((const uint8_t *)b->data)[j];
    case MF__SC_TEXT: {
        size_t la = a->off[i + 1] - a->off[i], lb = b->off[j + 1] - b->off[j];
        return la == lb && (la == 0 || memcmp(a->heap + a->off[i], b->heap + b->off[j], la) == 0);
    }
    }
    return false;
}

/* Int64 cell, or INT64_MIN for null / absent. */
static int64_t mfs_i64(const mf__col *c, size_t i) {
    return i < c->n && c->valid[i] ? mf__col_i64(c, i) : INT64_MIN;
}

/* Text cell equals s (length len). */
static bool mfs_text_is(const mf__col *c, size_t i, const char *s, size_t len) {
    return i < c->n && c->valid[i] && c->sc == MF__SC_TEXT && c->off[i + 1] - c->off[i] == len &&
           (len == 0 || memcmp(c->heap + c->off[i], s, len) == 0);
}

/* The read failed or found nothing for every key: what a dropped view
 * reads as (a store may answer either). */
static bool mfs_reads_empty(mf__online *s, const char *project, const Mf__FeatureView *fv,
                            const int64_t *ids, size_t n) {
    mfs_got g;
    mf_error err;
    int rc = mfs_read(s, project, fv, ids, n, NULL, 0, &g, &err);
    bool empty = true;
    for (size_t i = 0; rc == MF_OK && i < n; i++) empty = empty && g.found[i] == 0;
    mfs_got_free(&g);
    return empty;
}

#define MFS_OK(call)                                                          \
    do {                                                                      \
        mf_error mfs_e;                                                       \
        mfs_e.message[0] = 0;                                                 \
        int mfs_rc = (call);                                                  \
        if (mfs_rc != MF_OK) {                                                \
            fprintf(stdout, "#   %s:%d: %s failed (%d): %s\n", __FILE__,     \
                    __LINE__, #call, mfs_rc, mfs_e.message);                  \
            mft_failed_now = 1;                                               \
            return;                                                           \
        }                                                                     \
    } while (0)

/*---- Tests ------------------------------------------------------------------*/

static const int64_t MFS_T0 = 1735689600000000; /* 2025-01-01T00:00:00Z, µs */

/* update creates what a view needs; a second update keeps the data. */
static void mfs_test_update_creates(mf__online *s, const char *project) {
    Mf__FeatureView *fv = mfs_view1(project, "fresh");
    int64_t id = 1;
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 0);
    CHECK(g.cols[0].n == 1 && !g.cols[0].valid[0]);
    mfs_got_free(&g);
    MFS_OK(mfs_put1(s, project, fv, 1, MFS_T0, 0, 42, 1, &mfs_e));
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_read(s, project, fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1);
    CHECK(g.ts[0] == MFS_T0);
    CHECK(mfs_i64(&g.cols[0], 0) == 42);
    mfs_got_free(&g);
    MFS_FREE(fv);
}

enum { MFS_NTYPES = 13 };
static const char *const mfs_type_names[MFS_NTYPES] = {
    "i32", "i64", "f32", "f64", "s", "s_empty", "b", "bo", "ts", "li", "ls", "lf", "s_utf8"};
static const Mf__ValueType mfs_type_types[MFS_NTYPES] = {
    MF__VALUE_TYPE__VT_INT32,      MF__VALUE_TYPE__VT_INT64,      MF__VALUE_TYPE__VT_FLOAT,
    MF__VALUE_TYPE__VT_DOUBLE,     MF__VALUE_TYPE__VT_STRING,     MF__VALUE_TYPE__VT_STRING,
    MF__VALUE_TYPE__VT_BYTES,      MF__VALUE_TYPE__VT_BOOL,       MF__VALUE_TYPE__VT_UNIX_TIMESTAMP,
    MF__VALUE_TYPE__VT_INT64_LIST, MF__VALUE_TYPE__VT_STRING_LIST, MF__VALUE_TYPE__VT_DOUBLE_LIST,
    MF__VALUE_TYPE__VT_STRING};

/* Three rows of every type: ordinary values, extremes, other extremes. */
static void mfs_type_rows(mf__col *c) {
    for (size_t f = 0; f < MFS_NTYPES; f++)
        mf__col_init(&c[f], mfs_type_names[f], mfs_type_types[f], false);
    static const char *const text[3][MFS_NTYPES] = {
        {"-7", "1234567890123", "0.1", "0.1", "hello", NULL, NULL, "true", "2025-01-02T03:04:05.123456Z",
         "[1,2,3]", "[\"a\",\"b c\"]", "[0.5,-1.25]", "h\xc3\xa9llo \xe2\x82\xac"},
        {"-2147483648", "-9223372036854775808", "3.4028235e38", "-1e-300", "x", NULL, NULL, "false",
         "1970-01-01T00:00:00Z", "[]", "[\"\"]", "[1e300]", "\xf0\x9f\x98\x80"},
        {"2147483647", "9223372036854775807", "-1.17549435e-38", "1.7976931348623157e308", "y", NULL,
         NULL, "true", "2200-12-31T23:59:59.999999Z", "[-9223372036854775808]", "[\"\\\"q\\\"\"]",
         "[0]", "tab\there"}};
    static const char bytes[3][4] = {{'\0', '\xff', '\x01', 'z'}, {'a'}, {'\x80', '\0'}};
    static const size_t bytes_len[3] = {4, 1, 2};
    for (size_t r = 0; r < 3; r++) {
        for (size_t f = 0; f < MFS_NTYPES; f++) {
            if (strcmp(mfs_type_names[f], "s_empty") == 0) {
                mf__col_push_str(&c[f], "", 0);
            } else if (mfs_type_types[f] == MF__VALUE_TYPE__VT_BYTES) {
                mf__col_push_str(&c[f], bytes[r], bytes_len[r]);
            } else if (mf__col_push_text(&c[f], text[r][f], strlen(text[r][f])) != 0) {
                fprintf(stdout, "#   bad test value %s for %s\n", text[r][f], mfs_type_names[f]);
                abort();
            }
        }
    }
}

/* Every scalar type and lists come back exactly. */
static void mfs_test_types(mf__online *s, const char *project) {
    Mf__FeatureView *fv = mfs_view(project, "types", 0, mfs_type_names, mfs_type_types, MFS_NTYPES);
    mf__col in[MFS_NTYPES];
    mfs_type_rows(in);
    int64_t ids[3] = {10, -5, INT64_MAX};
    int64_t ets[3] = {MFS_T0, MFS_T0 + 1, MFS_T0 + 2};
    int64_t cts[3] = {MFS_T0 + 100, 0, MFS_T0 + 1000000};
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_write(s, project, fv, ids, ets, cts, in, NULL, 3, &mfs_e));
    /* read in another order than written, with a missing key between */
    int64_t rids[4] = {INT64_MAX, 10, 11, -5};
    size_t want[4] = {2, 0, SIZE_MAX, 1};
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, rids, 4, NULL, 0, &g, &mfs_e));
    for (size_t i = 0; i < 4; i++) {
        if (want[i] == SIZE_MAX) {
            CHECK(g.found[i] == 0);
            for (size_t f = 0; f < MFS_NTYPES; f++) CHECK(!g.cols[f].valid[i]);
            continue;
        }
        CHECK(g.found[i] == 1);
        CHECK(g.ts[i] == ets[want[i]]);
        for (size_t f = 0; f < MFS_NTYPES; f++) {
            if (!mfs_cell_eq(&g.cols[f], i, &in[f], want[i]))
                fprintf(stdout, "#   feature %s, key %lld differs\n", mfs_type_names[f],
                        (long long)rids[i]);
            CHECK(mfs_cell_eq(&g.cols[f], i, &in[f], want[i]));
            CHECK(g.cols[f].valid[i]);
        }
    }
    /* spot checks of the values themselves, independent of the column code */
    CHECK(((const int32_t *)g.cols[0].data)[1] == -7);
    CHECK(((const int64_t *)g.cols[1].data)[0] == INT64_MAX);
    CHECK(((const float *)g.cols[2].data)[1] == 0.1f);
    CHECK(((const double *)g.cols[3].data)[1] == 0.1);
    CHECK(mfs_text_is(&g.cols[5], 1, "", 0));
    CHECK(mfs_text_is(&g.cols[6], 1, "\0\xff\x01z", 4));
    CHECK(((const uint8_t *)g.cols[7].data)[3] == 0);
    CHECK(((const int64_t *)g.cols[8].data)[1] == 1735787045123456);
    CHECK(mfs_text_is(&g.cols[9], 1, "[1,2,3]", 7));
    mfs_got_free(&g);
    for (size_t f = 0; f < MFS_NTYPES; f++) mf__col_free(&in[f]);
    MFS_FREE(fv);
}

/* Keys never written: found 0, values null; other keys unaffected. */
static void mfs_test_missing(mf__online *s, const char *project) {
    Mf__FeatureView *fv = mfs_view1(project, "miss");
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_put1(s, project, fv, 5, MFS_T0, 0, 55, 1, &mfs_e));
    int64_t ids[5] = {4, 5, 6, 0, -5};
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, ids, 5, NULL, 0, &g, &mfs_e));
    CHECK(g.cols[0].n == 5);
    for (size_t i = 0; i < 5; i++) {
        if (ids[i] == 5) {
            CHECK(g.found[i] == 1);
            CHECK(mfs_i64(&g.cols[0], i) == 55);
        } else {
            CHECK(g.found[i] == 0);
            CHECK(!g.cols[0].valid[i]);
        }
    }
    mfs_got_free(&g);
    /* an empty read */
    MFS_OK(mfs_read(s, project, fv, ids, 0, NULL, 0, &g, &mfs_e));
    CHECK(g.cols[0].n == 0);
    mfs_got_free(&g);
    MFS_FREE(fv);
}

/* A null written reads as found with a null value; the row's other values
 * are there; a later null replaces a value. */
static void mfs_test_nulls(mf__online *s, const char *project) {
    Mf__FeatureView *fv = mfs_view(project, "nulls", 0, mfs_type_names, mfs_type_types, MFS_NTYPES);
    mf__col in[MFS_NTYPES];
    for (size_t f = 0; f < MFS_NTYPES; f++) {
        mf__col_init(&in[f], mfs_type_names[f], mfs_type_types[f], false);
        mf__col_push_null(&in[f]); /* row 0: all null */
    }
    /* row 1: only i64 present */
    for (size_t f = 0; f < MFS_NTYPES; f++) {
        if (f == 1) mf__col_push_i64(&in[f], 9);
        else mf__col_push_null(&in[f]);
    }
    int64_t ids[2] = {1, 2}, ets[2] = {MFS_T0, MFS_T0};
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, in, NULL, 2, &mfs_e));
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, ids, 2, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && g.found[1] == 1);
    CHECK(g.ts[0] == MFS_T0);
    for (size_t f = 0; f < MFS_NTYPES; f++) {
        CHECK(g.cols[f].n == 2);
        CHECK(!g.cols[f].valid[0]);
        CHECK(f == 1 ? g.cols[f].valid[1] : !g.cols[f].valid[1]);
    }
    CHECK(mfs_i64(&g.cols[1], 1) == 9);
    mfs_got_free(&g);
    for (size_t f = 0; f < MFS_NTYPES; f++) mf__col_free(&in[f]);

    /* a newer null replaces a value */
    Mf__FeatureView *one = mfs_view1(project, "null1");
    MFS_OK(mfs_update(s, project, one, NULL, NULL, &mfs_e));
    MFS_OK(mfs_put1(s, project, one, 3, MFS_T0, 0, 33, 1, &mfs_e));
    MFS_OK(mfs_put1(s, project, one, 3, MFS_T0 + 1, 0, 0, 0, &mfs_e));
    int64_t id = 3;
    MFS_OK(mfs_read(s, project, one, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1);
    CHECK(g.ts[0] == MFS_T0 + 1);
    CHECK(!g.cols[0].valid[0]);
    mfs_got_free(&g);
    MFS_FREE(one);
    MFS_FREE(fv);
}

/* One step of the ordering test: write (ets, cts, v) to key 1, then the
 * stored row must be (want_ts, want_v). */
#define MFS_STEP(ets, cts, v, want_ts, want_v)                                \
    do {                                                                      \
        MFS_OK(mfs_put1(s, project, fv, 1, (ets), (cts), (v), 1, &mfs_e));    \
        int64_t mfs_id = 1;                                                   \
        mfs_got mfs_g;                                                        \
        MFS_OK(mfs_read(s, project, fv, &mfs_id, 1, NULL, 0, &mfs_g, &mfs_e)); \
        int64_t mfs_ts = mfs_g.ts[0], mfs_v = mfs_i64(&mfs_g.cols[0], 0);     \
        mfs_got_free(&mfs_g);                                                 \
        if (mfs_ts != (want_ts) || mfs_v != (want_v))                         \
            fprintf(stdout, "#   after writing ts %lld created %lld: ts %lld value %lld\n", \
                    (long long)(ets), (long long)(cts), (long long)mfs_ts,    \
                    (long long)mfs_v);                                        \
        CHECK(mfs_ts == (want_ts));                                           \
        CHECK(mfs_v == (want_v));                                             \
    } while (0)

/* Never replace newer data: event time first, created time on a tie. */
static void mfs_test_ordering(mf__online *s, const char *project) {
    Mf__FeatureView *fv = mfs_view1(project, "ord");
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    const int64_t T = MFS_T0;
    MFS_STEP(T + 200, 5, 1, T + 200, 1);      /* first write */
    MFS_STEP(T + 100, 999, 2, T + 200, 1);    /* older event, newer created: loses */
    MFS_STEP(T + 199, 5, 3, T + 200, 1);      /* 1 µs older: loses */
    MFS_STEP(T + 200, 4, 4, T + 200, 1);      /* same event, smaller created: loses */
    MFS_STEP(T + 200, 5, 5, T + 200, 5);      /* same event, equal created: wins */
    MFS_STEP(T + 200, 6, 6, T + 200, 6);      /* same event, greater created: wins */
    MFS_STEP(T + 200, 0, 7, T + 200, 6);      /* created 0 (none) loses to 6 */
    MFS_STEP(T + 201, 0, 8, T + 201, 8);      /* newer event, created 0: wins */
    MFS_STEP(-1000000, 0, 9, T + 201, 8);     /* before the epoch: loses */
    MFS_STEP(T + 201, 0, 10, T + 201, 10);    /* equal both: wins */
    MFS_FREE(fv);
}

/* The same key twice in one batch: the rule holds inside a batch too. */
static void mfs_test_ordering_in_batch(mf__online *s, const char *project) {
    Mf__FeatureView *fv = mfs_view1(project, "ordb");
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    mf__col c;
    mf__col_init(&c, "v", MF__VALUE_TYPE__VT_INT64, false);
    /* key 1: newer first then older; key 2: older first then newer; key 3:
     * same event time, created 9 then 3 */
    int64_t ids[6] = {1, 1, 2, 2, 3, 3};
    int64_t ets[6] = {MFS_T0 + 50, MFS_T0 + 10, MFS_T0 + 10, MFS_T0 + 50, MFS_T0, MFS_T0};
    int64_t cts[6] = {0, 0, 0, 0, 9, 3};
    int64_t vals[6] = {11, 12, 21, 22, 31, 32};
    for (size_t i = 0; i < 6; i++) mf__col_push_i64(&c, vals[i]);
    MFS_OK(mfs_write(s, project, fv, ids, ets, cts, &c, NULL, 6, &mfs_e));
    int64_t rids[3] = {1, 2, 3};
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, rids, 3, NULL, 0, &g, &mfs_e));
    CHECK(mfs_i64(&g.cols[0], 0) == 11 && g.ts[0] == MFS_T0 + 50);
    CHECK(mfs_i64(&g.cols[0], 1) == 22 && g.ts[1] == MFS_T0 + 50);
    CHECK(mfs_i64(&g.cols[0], 2) == 31 && g.ts[2] == MFS_T0);
    mfs_got_free(&g);
    /* rows[] picks values out of order */
    mf__col_clear(&c);
    for (size_t i = 0; i < 3; i++) mf__col_push_i64(&c, 100 + (int64_t)i);
    int64_t ids2[2] = {4, 5}, ets2[2] = {MFS_T0, MFS_T0};
    size_t rows[2] = {2, 0};
    MFS_OK(mfs_write(s, project, fv, ids2, ets2, NULL, &c, rows, 2, &mfs_e));
    int64_t rids2[2] = {5, 4};
    MFS_OK(mfs_read(s, project, fv, rids2, 2, NULL, 0, &g, &mfs_e));
    CHECK(mfs_i64(&g.cols[0], 0) == 100);
    CHECK(mfs_i64(&g.cols[0], 1) == 102);
    mfs_got_free(&g);
    mf__col_free(&c);
    MFS_FREE(fv);
}

/* Several views in one read_many: two over the same keys (Redis reads
 * them with one HMGET per key), one over other keys in another order, and
 * the first again over a subset of its keys. */
static void mfs_test_read_many(mf__online *s, const char *project) {
    Mf__FeatureView *va = mfs_view1(project, "rma"), *vb = mfs_view1(project, "rmb"),
                    *vc = mfs_view1(project, "rmc");
    MFS_OK(mfs_update(s, project, va, NULL, NULL, &mfs_e));
    MFS_OK(mfs_update(s, project, vb, NULL, NULL, &mfs_e));
    MFS_OK(mfs_update(s, project, vc, NULL, NULL, &mfs_e));
    mf__col c;
    mf__col_init(&c, "v", MF__VALUE_TYPE__VT_INT64, false);
    int64_t ids_a[3] = {8101, 8102, 8103}, ets[3] = {MFS_T0, MFS_T0 + 1, MFS_T0 + 2};
    for (int64_t i = 0; i < 3; i++) mf__col_push_i64(&c, 10 * (i + 1));
    MFS_OK(mfs_write(s, project, va, ids_a, ets, NULL, &c, NULL, 3, &mfs_e));
    int64_t ids_b[2] = {8101, 8103};
    mf__col_clear(&c);
    mf__col_push_i64(&c, 100);
    mf__col_push_i64(&c, 300);
    MFS_OK(mfs_write(s, project, vb, ids_b, ets, NULL, &c, NULL, 2, &mfs_e));
    int64_t ids_c[2] = {8102, 8104};
    mf__col_clear(&c);
    mf__col_push_i64(&c, 2000);
    mf__col_push_i64(&c, 4000);
    MFS_OK(mfs_write(s, project, vc, ids_c, ets, NULL, &c, NULL, 2, &mfs_e));
    mf__col_free(&c);

    /* batch 0: a over 8101..8103; 1: b over the same; 2: c over 8104, 8103,
     * 8102; 3: a over 8102 */
    int64_t k0[3] = {8101, 8102, 8103}, k2[3] = {8104, 8103, 8102}, k3[1] = {8102};
    mfs_keys keys[3];
    mfs_keys_make(&keys[0], k0, 3);
    mfs_keys_make(&keys[1], k2, 3);
    mfs_keys_make(&keys[2], k3, 1);
    size_t fi = 0;
    mf__col out[4];
    mf__col *outp[4];
    uint8_t found[4][3];
    int64_t ts[4][3];
    const Mf__FeatureView *views[4] = {va, vb, vc, va};
    const mfs_keys *bk[4] = {&keys[0], &keys[0], &keys[1], &keys[2]};
    size_t bn[4] = {3, 3, 3, 1};
    mf__read_batch rb[4];
    for (size_t b = 0; b < 4; b++) {
        mf__col_init(&out[b], "v", MF__VALUE_TYPE__VT_INT64, false);
        outp[b] = &out[b];
        rb[b] = (mf__read_batch){views[b]->spec, bn[b], bk[b]->p, bk[b]->len, &fi, 1,
                                 &outp[b], found[b], ts[b]};
    }
    if (s->vt->read_many) /* optional: the online layer reads batch by batch without */
        MFS_OK(s->vt->read_many(s, project, rb, 4, &mfs_e));
    else
        for (size_t b = 0; b < 4; b++) MFS_OK(s->vt->read(s, project, &rb[b], &mfs_e));
    CHECK(out[0].n == 3 && mfs_i64(&out[0], 0) == 10 && mfs_i64(&out[0], 1) == 20 &&
          mfs_i64(&out[0], 2) == 30);
    CHECK(found[0][0] && found[0][1] && found[0][2] && ts[0][2] == MFS_T0 + 2);
    CHECK(out[1].n == 3 && mfs_i64(&out[1], 0) == 100 && !out[1].valid[1] &&
          mfs_i64(&out[1], 2) == 300);
    CHECK(found[1][0] && !found[1][1] && found[1][2] && ts[1][2] == MFS_T0 + 1);
    CHECK(out[2].n == 3 && mfs_i64(&out[2], 0) == 4000 && !out[2].valid[1] &&
          mfs_i64(&out[2], 2) == 2000);
    CHECK(found[2][0] && !found[2][1] && found[2][2] && ts[2][0] == MFS_T0 + 1);
    CHECK(out[3].n == 1 && mfs_i64(&out[3], 0) == 20 && found[3][0]);
    for (size_t b = 0; b < 4; b++) mf__col_free(&out[b]);
    for (size_t k = 0; k < 3; k++) mfs_keys_free(&keys[k]);
    MFS_FREE(va);
    MFS_FREE(vb);
    MFS_FREE(vc);
}

/* A subset of the features, reordered, appended after what the columns
 * already hold; the same feature twice. */
static void mfs_test_subset(mf__online *s, const char *project) {
    static const char *const fn[] = {"a", "b", "c", "d"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_STRING,
                                       MF__VALUE_TYPE__VT_DOUBLE, MF__VALUE_TYPE__VT_INT32};
    Mf__FeatureView *fv = mfs_view(project, "sub", 0, fn, ft, 4);
    mf__col in[4];
    for (size_t f = 0; f < 4; f++) mf__col_init(&in[f], fn[f], ft[f], false);
    int64_t ids[2] = {1, 2}, ets[2] = {MFS_T0, MFS_T0 + 5};
    mf__col_push_i64(&in[0], 10);
    mf__col_push_i64(&in[0], 20);
    mf__col_push_str(&in[1], "one", 3);
    mf__col_push_str(&in[1], "two", 3);
    mf__col_push_text(&in[2], "1.5", 3);
    mf__col_push_null(&in[2]);
    mf__col_push_text(&in[3], "-1", 2);
    mf__col_push_text(&in[3], "-2", 2);
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, in, NULL, 2, &mfs_e));

    int64_t rids[3] = {2, 3, 1};
    size_t want_row[3] = {1, SIZE_MAX, 0};
    static const size_t orders[][3] = {{3, 0, 0}, {2, 1, 0}, {1, 0, 0}, {3, 2, 1}};
    static const size_t norders[] = {2, 3, 1, 3};
    for (size_t o = 0; o < 4; o++) {
        mfs_got g;
        MFS_OK(mfs_read(s, project, fv, rids, 3, orders[o], norders[o], &g, &mfs_e));
        for (size_t j = 0; j < norders[o]; j++) {
            CHECK(g.cols[j].n == 3);
            for (size_t i = 0; i < 3; i++) {
                if (want_row[i] == SIZE_MAX) CHECK(!g.cols[j].valid[i]);
                else CHECK(mfs_cell_eq(&g.cols[j], i, &in[orders[o][j]], want_row[i]));
            }
        }
        CHECK(g.found[0] == 1 && g.found[1] == 0 && g.found[2] == 1);
        CHECK(g.ts[0] == MFS_T0 + 5 && g.ts[2] == MFS_T0);
        mfs_got_free(&g);
    }

    /* appended after existing content */
    {
        mf__col pre[2];
        mf__col_init(&pre[0], "d", MF__VALUE_TYPE__VT_INT32, false);
        mf__col_init(&pre[1], "b", MF__VALUE_TYPE__VT_STRING, false);
        mf__col_push_text(&pre[0], "77", 2);
        mf__col_push_str(&pre[1], "zz", 2);
        mf__col_push_null(&pre[1]);
        mf__col_push_null(&pre[0]);
        mf__col *out[2] = {&pre[0], &pre[1]};
        size_t fi[2] = {3, 1};
        uint8_t found[2];
        int64_t ts[2];
        mfs_keys k;
        int64_t kid[2] = {1, 9};
        mfs_keys_make(&k, kid, 2);
        mf__read_batch b = {fv->spec, 2, k.p, k.len, fi, 2, out, found, ts};
        MFS_OK(s->vt->read(s, project, &b, &mfs_e));
        mfs_keys_free(&k);
        CHECK(pre[0].n == 4 && pre[1].n == 4);
        CHECK(mf__col_i64(&pre[0], 0) == 77 && !pre[0].valid[1]);
        CHECK(mfs_text_is(&pre[1], 0, "zz", 2) && !pre[1].valid[1]);
        CHECK(mf__col_i64(&pre[0], 2) == -1 && mfs_text_is(&pre[1], 2, "one", 3));
        CHECK(!pre[0].valid[3] && !pre[1].valid[3]);
        CHECK(found[0] == 1 && found[1] == 0);
        mf__col_free(&pre[0]);
        mf__col_free(&pre[1]);
    }

    /* the same feature twice in one read: both columns get it */
    {
        size_t twice[3] = {1, 1, 0};
        mfs_got g;
        MFS_OK(mfs_read(s, project, fv, ids, 2, twice, 3, &g, &mfs_e));
        for (size_t i = 0; i < 2; i++) {
            CHECK(mfs_cell_eq(&g.cols[0], i, &in[1], i));
            CHECK(mfs_cell_eq(&g.cols[1], i, &in[1], i));
            CHECK(mfs_cell_eq(&g.cols[2], i, &in[0], i));
        }
        mfs_got_free(&g);
    }
    for (size_t f = 0; f < 4; f++) mf__col_free(&in[f]);
    MFS_FREE(fv);
}

/* A view that gained a feature (apply of a new schema) reads rows written
 * before with that feature null; one that lost a feature still reads. */
static void mfs_test_schema_change(mf__online *s, const char *project) {
    static const char *const fn1[] = {"a", "b"};
    static const Mf__ValueType ft1[] = {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_STRING};
    static const char *const fn2[] = {"c", "b", "a"};
    static const Mf__ValueType ft2[] = {MF__VALUE_TYPE__VT_DOUBLE, MF__VALUE_TYPE__VT_STRING,
                                        MF__VALUE_TYPE__VT_INT64};
    static const char *const fn3[] = {"b"};
    static const Mf__ValueType ft3[] = {MF__VALUE_TYPE__VT_STRING};
    Mf__FeatureView *v1 = mfs_view(project, "evo", 0, fn1, ft1, 2);
    Mf__FeatureView *v2 = mfs_view(project, "evo", 0, fn2, ft2, 3);
    Mf__FeatureView *v3 = mfs_view(project, "evo", 0, fn3, ft3, 1);
    MFS_OK(mfs_update(s, project, v1, NULL, NULL, &mfs_e));
    mf__col in[2];
    mf__col_init(&in[0], "a", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_init(&in[1], "b", MF__VALUE_TYPE__VT_STRING, false);
    mf__col_push_i64(&in[0], 5);
    mf__col_push_str(&in[1], "bee", 3);
    int64_t id = 1, ets = MFS_T0;
    MFS_OK(mfs_write(s, project, v1, &id, &ets, NULL, in, NULL, 1, &mfs_e));
    MFS_OK(mfs_update(s, project, v2, NULL, NULL, &mfs_e));
    mfs_got g;
    MFS_OK(mfs_read(s, project, v2, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1);
    CHECK(!g.cols[0].valid[0]);
    CHECK(mfs_text_is(&g.cols[1], 0, "bee", 3));
    CHECK(mfs_i64(&g.cols[2], 0) == 5);
    mfs_got_free(&g);
    MFS_OK(mfs_update(s, project, v3, NULL, NULL, &mfs_e));
    MFS_OK(mfs_read(s, project, v3, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1);
    CHECK(mfs_text_is(&g.cols[0], 0, "bee", 3));
    mfs_got_free(&g);
    mf__col_free(&in[0]);
    mf__col_free(&in[1]);
    MFS_FREE(v1);
    MFS_FREE(v2);
    MFS_FREE(v3);
}

/* teardown removes a view's rows and nothing else. */
static void mfs_test_teardown(mf__online *s, const char *project) {
    Mf__FeatureView *a = mfs_view1(project, "tda"), *b = mfs_view1(project, "tdb");
    MFS_OK(mfs_update(s, project, a, b, NULL, &mfs_e));
    MFS_OK(mfs_put1(s, project, a, 1, MFS_T0, 0, 100, 1, &mfs_e));
    MFS_OK(mfs_put1(s, project, b, 1, MFS_T0, 0, 200, 1, &mfs_e));
    MFS_OK(s->vt->teardown(s, project, &a, 1, &mfs_e));
    int64_t id = 1;
    CHECK(mfs_reads_empty(s, project, a, &id, 1));
    mfs_got g;
    MFS_OK(mfs_read(s, project, b, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 200);
    mfs_got_free(&g);
    /* created again: empty, usable */
    MFS_OK(mfs_update(s, project, a, b, NULL, &mfs_e));
    MFS_OK(mfs_read(s, project, a, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 0);
    mfs_got_free(&g);
    MFS_OK(mfs_put1(s, project, a, 1, MFS_T0 - 5, 0, 101, 1, &mfs_e));
    MFS_OK(mfs_read(s, project, a, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 101); /* no old row to lose to */
    mfs_got_free(&g);
    /* tearing down both, and a view never created */
    Mf__FeatureView *never = mfs_view1(project, "never_created");
    Mf__FeatureView *all[3] = {a, b, never};
    MFS_OK(s->vt->teardown(s, project, all, 3, &mfs_e));
    CHECK(mfs_reads_empty(s, project, a, &id, 1));
    CHECK(mfs_reads_empty(s, project, b, &id, 1));
    MFS_FREE(never);
    MFS_FREE(a);
    MFS_FREE(b);
}

/* update that drops one view keeps the other views' rows. */
static void mfs_test_update_drop(mf__online *s, const char *project) {
    Mf__FeatureView *a = mfs_view1(project, "keep_me"), *b = mfs_view1(project, "drop_me");
    Mf__FeatureView *c = mfs_view1(project, "also_kept");
    MFS_OK(mfs_update(s, project, a, b, NULL, &mfs_e));
    MFS_OK(mfs_update(s, project, c, NULL, NULL, &mfs_e));
    int64_t ids[3] = {1, 2, 3};
    for (size_t i = 0; i < 3; i++) {
        MFS_OK(mfs_put1(s, project, a, ids[i], MFS_T0, 0, 10 + ids[i], 1, &mfs_e));
        MFS_OK(mfs_put1(s, project, b, ids[i], MFS_T0, 0, 20 + ids[i], 1, &mfs_e));
        MFS_OK(mfs_put1(s, project, c, ids[i], MFS_T0, 0, 30 + ids[i], 1, &mfs_e));
    }
    MFS_OK(mfs_update(s, project, a, NULL, b, &mfs_e));
    CHECK(mfs_reads_empty(s, project, b, ids, 3));
    mfs_got g;
    MFS_OK(mfs_read(s, project, a, ids, 3, NULL, 0, &g, &mfs_e));
    for (size_t i = 0; i < 3; i++) CHECK(g.found[i] == 1 && mfs_i64(&g.cols[0], i) == 10 + ids[i]);
    mfs_got_free(&g);
    /* a view the update did not name is untouched */
    MFS_OK(mfs_read(s, project, c, ids, 3, NULL, 0, &g, &mfs_e));
    for (size_t i = 0; i < 3; i++) CHECK(g.found[i] == 1 && mfs_i64(&g.cols[0], i) == 30 + ids[i]);
    mfs_got_free(&g);
    /* a view that is not online in keep is not created (nothing fails) */
    b->spec->online = 0;
    MFS_OK(mfs_update(s, project, a, b, NULL, &mfs_e));
    b->spec->online = 1;
    MFS_FREE(a);
    MFS_FREE(b);
    MFS_FREE(c);
}

/* Projects never see each other's rows, also when "<project>__<view>" is
 * the same text for both; teardown of one leaves the other. */
static void mfs_test_projects(mf__online *s, const char *project) {
    char *p2 = mf__xasprintf("%s_other", project);
    char *p3 = mf__xasprintf("%s__x", project); /* p3 + "__" + "y" == project + "__" + "x__y" */
    Mf__FeatureView *v1 = mfs_view1(project, "shared"), *v2 = mfs_view1(p2, "shared");
    Mf__FeatureView *w1 = mfs_view1(project, "x__y"), *w3 = mfs_view1(p3, "y");
    MFS_OK(mfs_update(s, project, v1, w1, NULL, &mfs_e));
    MFS_OK(mfs_update(s, p2, v2, NULL, NULL, &mfs_e));
    MFS_OK(mfs_update(s, p3, w3, NULL, NULL, &mfs_e));
    MFS_OK(mfs_put1(s, project, v1, 1, MFS_T0, 0, 1, 1, &mfs_e));
    MFS_OK(mfs_put1(s, p2, v2, 1, MFS_T0 - 1000, 0, 2, 1, &mfs_e)); /* older: must not matter */
    MFS_OK(mfs_put1(s, p2, v2, 2, MFS_T0, 0, 22, 1, &mfs_e));
    MFS_OK(mfs_put1(s, project, w1, 7, MFS_T0, 0, 71, 1, &mfs_e));
    MFS_OK(mfs_put1(s, p3, w3, 7, MFS_T0 - 1000, 0, 73, 1, &mfs_e));
    int64_t ids[2] = {1, 2};
    mfs_got g;
    MFS_OK(mfs_read(s, project, v1, ids, 2, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 1);
    CHECK(g.found[1] == 0);
    mfs_got_free(&g);
    MFS_OK(mfs_read(s, p2, v2, ids, 2, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 2);
    CHECK(g.found[1] == 1 && mfs_i64(&g.cols[0], 1) == 22);
    mfs_got_free(&g);
    int64_t id7 = 7;
    MFS_OK(mfs_read(s, project, w1, &id7, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 71);
    mfs_got_free(&g);
    MFS_OK(mfs_read(s, p3, w3, &id7, 1, NULL, 0, &g, &mfs_e));
    if (!(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 73))
        fprintf(stdout, "#   project %s view y reads %lld: the row of project %s view x__y\n", p3,
                (long long)mfs_i64(&g.cols[0], 0), project);
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 73);
    mfs_got_free(&g);
    /* teardown of p2 leaves project */
    MFS_OK(s->vt->teardown(s, p2, &v2, 1, &mfs_e));
    CHECK(mfs_reads_empty(s, p2, v2, ids, 2));
    MFS_OK(mfs_read(s, project, v1, ids, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 1);
    mfs_got_free(&g);
    MFS_FREE(v1);
    MFS_FREE(v2);
    MFS_FREE(w1);
    MFS_FREE(w3);
    free(p2);
    free(p3);
}

/* 20000 keys in one batch, read back in one read with missing keys mixed
 * in; then a second batch that updates every other key. */
static void mfs_test_many_keys(mf__online *s, const char *project) {
    enum { N = 20000 };
    static const char *const fn[] = {"n", "name"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_STRING};
    Mf__FeatureView *fv = mfs_view(project, "many", 0, fn, ft, 2);
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    int64_t *ids = mf__xmalloc(2 * N * sizeof *ids), *ets = mf__xmalloc(N * sizeof *ets);
    mf__col in[2];
    mf__col_init(&in[0], "n", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_init(&in[1], "name", MF__VALUE_TYPE__VT_STRING, false);
    char buf[32];
    for (int64_t i = 0; i < N; i++) {
        ids[i] = i * 3 + 1000000007; /* not a dense range */
        ets[i] = MFS_T0 + i;
        mf__col_push_i64(&in[0], i * 7);
        int len = snprintf(buf, sizeof buf, "k%lld", (long long)i);
        mf__col_push_str(&in[1], buf, (size_t)len);
    }
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, in, NULL, N, &mfs_e));
    /* read: present keys in reverse, each followed by a missing one */
    for (int64_t i = 0; i < N; i++) {
        ids[N + i] = ids[N - 1 - i];
    }
    int64_t *rids = mf__xmalloc(2 * N * sizeof *rids);
    for (int64_t i = 0; i < N; i++) {
        rids[2 * i] = ids[N + i];
        rids[2 * i + 1] = ids[N + i] + 1;
    }
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, rids, 2 * N, NULL, 0, &g, &mfs_e));
    size_t bad = 0;
    for (int64_t i = 0; i < N; i++) {
        int64_t k = N - 1 - i;
        size_t r = (size_t)(2 * i);
        int len = snprintf(buf, sizeof buf, "k%lld", (long long)k);
        if (g.found[r] != 1 || g.ts[r] != MFS_T0 + k || mfs_i64(&g.cols[0], r) != k * 7 ||
            !mfs_text_is(&g.cols[1], r, buf, (size_t)len) || g.found[r + 1] != 0 ||
            g.cols[0].valid[r + 1] || g.cols[1].valid[r + 1])
            bad++;
    }
    mfs_got_free(&g);
    if (bad) fprintf(stdout, "#   %zu of %d keys read back wrong\n", bad, N);
    CHECK(bad == 0);
    /* second batch: every key, newer for even i, older for odd i */
    mf__col_clear(&in[0]);
    mf__col_clear(&in[1]);
    for (int64_t i = 0; i < N; i++) {
        ets[i] = MFS_T0 + i + (i % 2 ? -1 : 1);
        mf__col_push_i64(&in[0], -i);
        mf__col_push_str(&in[1], "new", 3);
    }
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, in, NULL, N, &mfs_e));
    MFS_OK(mfs_read(s, project, fv, ids, N, NULL, 0, &g, &mfs_e));
    for (int64_t i = 0; i < N; i++) {
        bool newer = i % 2 == 0;
        int len = snprintf(buf, sizeof buf, "k%lld", (long long)i);
        if (g.found[i] != 1 || mfs_i64(&g.cols[0], (size_t)i) != (newer ? -i : i * 7) ||
            !(newer ? mfs_text_is(&g.cols[1], (size_t)i, "new", 3)
                    : mfs_text_is(&g.cols[1], (size_t)i, buf, (size_t)len)) ||
            g.ts[i] != MFS_T0 + i + (newer ? 1 : 0))
            bad++;
    }
    mfs_got_free(&g);
    if (bad) fprintf(stdout, "#   %zu of %d keys wrong after the second batch\n", bad, N);
    CHECK(bad == 0);
    mf__col_free(&in[0]);
    mf__col_free(&in[1]);
    free(ids);
    free(rids);
    free(ets);
    MFS_FREE(fv);
}

/* 300 features, names of 1 to 300 characters (254, 255 and 256 among
 * them): all of them, and a reordered subset, read back. */
static void mfs_test_wide(mf__online *s, const char *project) {
    enum { NF = 300 };
    char **names = mf__xcalloc(NF, sizeof *names);
    Mf__ValueType *types = mf__xcalloc(NF, sizeof *types);
    for (size_t f = 0; f < NF; f++) {
        size_t len = f == 0 ? 300 : f == 1 ? 254 : f == 2 ? 255 : f == 3 ? 256 : 1 + f % 40;
        names[f] = mf__xmalloc(len + 16);
        int k = snprintf(names[f], len + 16, "f%zu_", f);
        memset(names[f] + k, 'n', len > (size_t)k ? len - (size_t)k : 0);
        names[f][len > (size_t)k ? len : (size_t)k] = 0;
        types[f] = f % 2 ? MF__VALUE_TYPE__VT_INT64 : MF__VALUE_TYPE__VT_STRING;
    }
    Mf__FeatureView *fv = mfs_view(project, "wide", 0, (const char *const *)names, types, NF);
    mf__col *in = mf__xcalloc(NF, sizeof *in);
    char buf[32];
    for (size_t f = 0; f < NF; f++) {
        mf__col_init(&in[f], names[f], types[f], false);
        for (int64_t r = 0; r < 2; r++) {
            if (types[f] == MF__VALUE_TYPE__VT_INT64) {
                mf__col_push_i64(&in[f], (int64_t)f * 10 + r);
            } else {
                int len = snprintf(buf, sizeof buf, "v%zu_%lld", f, (long long)r);
                mf__col_push_str(&in[f], buf, (size_t)len);
            }
        }
    }
    int64_t ids[2] = {1, 2}, ets[2] = {MFS_T0, MFS_T0};
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, in, NULL, 2, &mfs_e));
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, ids, 2, NULL, 0, &g, &mfs_e));
    size_t bad = 0;
    for (size_t f = 0; f < NF; f++)
        for (size_t r = 0; r < 2; r++)
            if (!g.cols[f].valid[r] || !mfs_cell_eq(&g.cols[f], r, &in[f], r)) bad++;
    mfs_got_free(&g);
    if (bad) fprintf(stdout, "#   %zu of %d cells read back wrong\n", bad, 2 * NF);
    CHECK(bad == 0);
    size_t sub[5] = {3, 299, 0, 2, 1};
    MFS_OK(mfs_read(s, project, fv, ids, 2, sub, 5, &g, &mfs_e));
    for (size_t j = 0; j < 5; j++)
        for (size_t r = 0; r < 2; r++)
            if (!g.cols[j].valid[r] || !mfs_cell_eq(&g.cols[j], r, &in[sub[j]], r)) bad++;
    mfs_got_free(&g);
    CHECK(bad == 0);
    for (size_t f = 0; f < NF; f++) {
        mf__col_free(&in[f]);
        free(names[f]);
    }
    free(in);
    free(names);
    free(types);
    MFS_FREE(fv);
}

/* One rule for list and String cells on every store: cells that reach a
 * store unchecked (mf__col_push_str, as a direct write may pass them) are
 * checked there. A list holding null, a list that is not strict JSON, a
 * String that is not UTF-8 or holds a NUL: MF_EDATA naming the view, the
 * feature and the value, and nothing of the batch written. A valid list in
 * other spacing comes back in the one canonical text. */
static void mfs_test_refused_cells(mf__online *s, const char *project) {
    static const char *const fn[] = {"l", "s"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_INT64_LIST, MF__VALUE_TYPE__VT_STRING};
    Mf__FeatureView *fv = mfs_view(project, "cells", 0, fn, ft, 2);
    MFS_OK(mfs_update(s, project, fv, NULL, NULL, &mfs_e));
    static const struct {
        const char *l, *s;
        size_t slen;
        const char *want;
    } bad[] = {
        {"[1,null]", "ok", 2, "'[1,null]'"},
        {"[1,]", "ok", 2, "'[1,]'"},
        {"[\"1\"]", "ok", 2, "element 1 is a string"},
        {"[1]", "\xff", 1, "feature 's'"},
        {"[1]", "a\0b", 3, "feature 's'"},
    };
    int64_t ids[2] = {1, 2}, ets[2] = {MFS_T0, MFS_T0};
    for (size_t b = 0; b < MF__ARRAY_LEN(bad); b++) {
        mf__col c[2];
        mf__col_init(&c[0], "l", ft[0], false);
        mf__col_init(&c[1], "s", ft[1], false);
        mf__col_push_str(&c[0], "[7]", 3); /* row 1 is fine */
        mf__col_push_str(&c[1], "fine", 4);
        mf__col_push_str(&c[0], bad[b].l, strlen(bad[b].l));
        mf__col_push_str(&c[1], bad[b].s, bad[b].slen);
        mf_error err;
        err.message[0] = 0;
        int rc = mfs_write(s, project, fv, ids, ets, NULL, c, NULL, 2, &err);
        mf__col_free(&c[0]);
        mf__col_free(&c[1]);
        if (rc != MF_EDATA) printf("#   case %zu: rc %d (%s)\n", b, rc, err.message);
        CHECK(rc == MF_EDATA);
        CHECK_HAS(err.message, "feature view 'cells'");
        CHECK_HAS(err.message, bad[b].want);
        mfs_got g;
        MFS_OK(mfs_read(s, project, fv, ids, 2, NULL, 0, &g, &mfs_e));
        bool none = g.found[0] == 0 && g.found[1] == 0;
        mfs_got_free(&g);
        CHECK(none);
    }
    mf__col c[2];
    mf__col_init(&c[0], "l", ft[0], false);
    mf__col_init(&c[1], "s", ft[1], false);
    mf__col_push_str(&c[0], " [ 1 ,\n-2 ] ", 11);
    mf__col_push_str(&c[1], "h\xc3\xa9", 3);
    mf_error err;
    int rc = mfs_write(s, project, fv, ids, ets, NULL, c, NULL, 1, &err);
    mf__col_free(&c[0]);
    mf__col_free(&c[1]);
    if (rc != MF_OK) printf("#   canonical write: %s\n", err.message);
    CHECK(rc == MF_OK);
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, ids, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1);
    CHECK(mfs_text_is(&g.cols[0], 0, "[1,-2]", 6));
    CHECK(mfs_text_is(&g.cols[1], 0, "h\xc3\xa9", 3));
    mfs_got_free(&g);
    MFS_FREE(fv);
}

/*---- Runner -----------------------------------------------------------------*/

typedef void (*mfs_test_fn)(mf__online *s, const char *project);

static const struct {
    const char *name;
    mfs_test_fn fn;
} mfs_tests[] = {
    {"update creates a view's storage; update again keeps the data", mfs_test_update_creates},
    {"every scalar type and lists round-trip exactly", mfs_test_types},
    {"missing keys: found 0, values null", mfs_test_missing},
    {"null values: found 1, value null", mfs_test_nulls},
    {"an older event_ts never replaces a newer one; created_ts breaks ties", mfs_test_ordering},
    {"the ordering rule holds inside one batch", mfs_test_ordering_in_batch},
    {"reads of a subset of features, reordered, appended", mfs_test_subset},
    {"several views in one read, over the same and other keys", mfs_test_read_many},
    {"a view that gained or lost a feature reads old rows", mfs_test_schema_change},
    {"teardown removes one view's rows", mfs_test_teardown},
    {"update with drop leaves the other views intact", mfs_test_update_drop},
    {"two projects never see each other's rows", mfs_test_projects},
    {"20000 keys in one batch", mfs_test_many_keys},
    {"300 features, names up to 300 characters", mfs_test_wide},
    {"bad list and String cells are refused, lists kept canonical", mfs_test_refused_cells},
};

/* Run one suite test under a fresh project name "<prefix><i>". */
static void mfs_run_one(mf__online *s, const char *label, const char *prefix, size_t i) {
    char project[128];
    snprintf(project, sizeof project, "%s%zu", prefix, i);
    mft_failed_now = 0;
    mfs_tests[i].fn(s, project);
    if (mft_failed_now) {
        mft_failed++;
        printf("not ok - %s: %s\n", label, mfs_tests[i].name);
    } else {
        mft_passed++;
        printf("ok - %s: %s\n", label, mfs_tests[i].name);
    }
    fflush(stdout);
}

/* Every test of the suite on store s; project names start with prefix
 * (letters, digits, _). */
static void mfs_run_all(mf__online *s, const char *label, const char *prefix) {
    for (size_t i = 0; i < MF__ARRAY_LEN(mfs_tests); i++) mfs_run_one(s, label, prefix, i);
}

#endif /* STORE_SUITE_H */
