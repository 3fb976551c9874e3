/*
 * pit_join.c — historical retrieval: the point-in-time join.
 *
 * For each requested view (a "unit": a view, or a projection of one with an
 * alias and a join_key_map), independently:
 *   1. intern the entity rows' keys (keymap.c) and group their times by
 *      key, each group ordered by time. An entity time T_j of a key owns a
 *      "bucket": the event times in (T_{j-1}, T_j] (the first: up to T_0).
 *   2. read the view's batch source once. A row whose key is asked for
 *      falls in the bucket of the first T >= its event time; when there is
 *      none, or that T is more than the ttl after it, the row can answer no
 *      entity row and is dropped (its feature cells never parsed). Else it
 *      competes for its bucket: the best row so far (greatest event time,
 *      then greatest created time, then last read) is kept in a record per
 *      entity row, and a row's feature cells are parsed only when it
 *      becomes the best so far. A file read by two threads (one half each)
 *      keeps two sets of records; the second half's win ties.
 *   3. for each key, in time order: the winner for T_j (the row with the
 *      greatest event time <= T_j) is the best of the latest non-empty
 *      bucket up to j, as later buckets hold strictly later rows; it counts
 *      only when ttl == 0 or its event time >= T_j - ttl, else the features
 *      are null. The records become the output columns.
 * Cost is linear in source rows (plus the log of a key's entity times per
 * row); memory is one record per entity row (two with two threads) per
 * view being joined, whatever the size of the source. Units run on up to
 * two threads. Output rows keep the input order, duplicates included.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mf_keymap.h"
#include "mf_online.h"
#include "mf_source.h"
#include "mf_table.h"
#include "mf_transform.h"

#define ENTITY_TS "event_timestamp"

/*---- Keys ------------------------------------------------------------------*/

/*---- Requests: units and output columns -------------------------------------*/

typedef struct unit {
    const Mf__FeatureViewSpec *view;
    const Mf__DataSourceSpec *source;
    const char *alias;             /* "" for none */
    const Mf__FeatureViewProjection *proj; /* NULL for plain refs */
    const char **key_cols;         /* entity column for each view join key */
    const Mf__Field **feat;        /* requested features */
    size_t nfeat;
    mf__col *out;                  /* nfeat output columns */
    mf_error err;
    int rc;
} unit;

/* An output column: feature `feat` of unit `unit`, or (odfv != SIZE_MAX)
 * output `feat` of on-demand view odfvs[odfv]. */
typedef struct outcol {
    size_t unit, feat, odfv;
    char *name;
} outcol;

/* A requested on-demand view: its inputs are features of units (hidden
 * when not requested themselves) and request fields taken from the entity
 * columns of the same names; its outputs are computed after the join. */
typedef struct odfv_req {
    const Mf__OnDemandFeatureView *v;
    const char *alias;             /* "" for none */
    size_t *in_unit, *in_feat;     /* its source features: unit and index */
    const char **in_name;          /* as the transform sees them */
    size_t nin;
    const Mf__Field **req;         /* its request fields */
    size_t nreq;
    mf__col *out;                  /* one per feature of v, after the run */
} odfv_req;

typedef struct request {
    const mf__config *cfg;
    mf__snapshot *snap; /* pinned for the call */
    const Mf__Registry *reg; /* snap's */
    unit *units;
    size_t nunits;
    outcol *cols;
    size_t ncols;
    odfv_req *odfvs;
    size_t nodfvs;
    const mf_entity_df *df;
    const int64_t *T; /* entity timestamps */
    size_t next_unit; /* work queue */
    pthread_mutex_t lock;
} request;

static const Mf__FeatureViewSpec *find_view(const request *r, const char *name) {
    const mf__obj *o = mf__snapshot_find(r->snap, MF_KIND_FEATURE_VIEW, name);
    return o ? (const Mf__FeatureViewSpec *)o->spec : NULL;
}

static size_t add_unit(request *r, const Mf__FeatureViewSpec *v, const char *alias,
                       const Mf__FeatureViewProjection *proj) {
    r->units = mf__xrealloc(r->units, (r->nunits + 1) * sizeof *r->units);
    unit *u = &r->units[r->nunits];
    memset(u, 0, sizeof *u);
    u->view = v;
    u->alias = alias ? alias : "";
    u->proj = proj;
    u->source = mf__view_batch_source(r->reg, r->cfg->project, v);
    u->key_cols = mf__xcalloc(v->n_entity_columns + 1, sizeof *u->key_cols);
    for (size_t k = 0; k < v->n_entity_columns; k++) {
        const char *col = v->entity_columns[k]->name;
        for (size_t j = 0; proj && j < proj->n_join_key_map; j++)
            if (strcmp(proj->join_key_map[j]->view_key, col) == 0)
                col = proj->join_key_map[j]->entity_column;
        u->key_cols[k] = col;
    }
    return r->nunits++;
}

/* Add feature fname of unit ui to what the unit computes (*fi: its index);
 * with an output column (named `feature` or `view__feature`) when
 * `visible`. */
/* A unit of view v joined on the entity columns that proj maps its keys to
 * (proj may be NULL) under alias, reused when the request has one already:
 * with the same view and entity columns, and (any_alias false) the same
 * alias, which names its output columns. Each unit is one join. */
static size_t unit_for(request *r, const Mf__FeatureViewSpec *v, const char *alias,
                       const Mf__FeatureViewProjection *proj, bool any_alias) {
    size_t ui = add_unit(r, v, alias, proj);
    unit *u = &r->units[ui];
    for (size_t i = 0; i < ui; i++) {
        const unit *o = &r->units[i];
        if (o->view != v || (!any_alias && strcmp(o->alias, u->alias) != 0)) continue;
        bool same = true;
        for (size_t k = 0; k < v->n_entity_columns && same; k++)
            same = !strcmp(o->key_cols[k], u->key_cols[k]);
        if (!same) continue;
        free(u->key_cols);
        r->nunits--;
        return i;
    }
    return ui;
}

static int add_unit_feature(request *r, size_t ui, const char *fname, bool full, bool visible,
                            size_t *fi_out, mf_error *err) {
    unit *u = &r->units[ui];
    const Mf__Field *f = NULL;
    for (size_t i = 0; i < u->view->n_features && !f; i++)
        if (strcmp(u->view->features[i]->name, fname) == 0) f = u->view->features[i];
    if (!f) {
        mf__buf b;
        mf__buf_init(&b);
        for (size_t i = 0; i < u->view->n_features; i++)
            mf__buf_printf(&b, "%s%s", i ? ", " : "", u->view->features[i]->name);
        int rc = mf__err(err, MF_ENOTFOUND, "unknown feature '%s:%s' (the view has: %s)",
                         u->view->name, fname, b.data ? b.data : "");
        mf__buf_free(&b);
        return rc;
    }
    size_t fi;
    for (fi = 0; fi < u->nfeat; fi++)
        if (u->feat[fi] == f) break;
    if (fi == u->nfeat) {
        u->feat = mf__xrealloc(u->feat, (u->nfeat + 1) * sizeof *u->feat);
        u->feat[u->nfeat++] = f;
    }
    if (fi_out) *fi_out = fi;
    if (!visible) return MF_OK;
    r->cols = mf__xrealloc(r->cols, (r->ncols + 1) * sizeof *r->cols);
    outcol *o = &r->cols[r->ncols++];
    o->unit = ui;
    o->feat = fi;
    o->odfv = SIZE_MAX;
    o->name = full ? mf__xasprintf("%s__%s", u->alias[0] ? u->alias : u->view->name, fname)
                   : mf__xstrdup(fname);
    return MF_OK;
}

static int add_feature(request *r, size_t ui, const char *fname, bool full, mf_error *err) {
    return add_unit_feature(r, ui, fname, full, true, NULL, err);
}

static const Mf__OnDemandFeatureView *find_odfv(const request *r, const char *name) {
    const mf__obj *o = mf__snapshot_find(r->snap, MF_KIND_ON_DEMAND_FEATURE_VIEW, name);
    return o ? (const Mf__OnDemandFeatureView *)o->msg : NULL;
}

/* The request's entry for on-demand view v under alias (added with its
 * inputs on first use). */
static int add_odfv(request *r, const Mf__OnDemandFeatureView *v, const char *alias,
                    size_t *oi, mf_error *err) {
    alias = alias ? alias : "";
    for (size_t i = 0; i < r->nodfvs; i++)
        if (r->odfvs[i].v == v && !strcmp(r->odfvs[i].alias, alias)) {
            *oi = i;
            return MF_OK;
        }
    const Mf__OnDemandFeatureViewSpec *s = v->spec;
    r->odfvs = mf__xrealloc(r->odfvs, (r->nodfvs + 1) * sizeof *r->odfvs);
    odfv_req *o = &r->odfvs[r->nodfvs++];
    memset(o, 0, sizeof *o);
    o->v = v;
    o->alias = alias;
    *oi = r->nodfvs - 1;
    for (size_t k = 0; k < s->n_source_views; k++) {
        const Mf__FeatureViewProjection *p = s->source_views[k];
        const Mf__FeatureViewSpec *fv = find_view(r, p->view_name);
        if (!fv)
            return mf__err(err, MF_EREGISTRY, "on-demand feature view '%s': its source view '%s' "
                           "is not registered", s->name, p->view_name);
        size_t ui = unit_for(r, fv, p->alias, p, true);
        size_t nf = p->n_features ? p->n_features : fv->n_features;
        o->in_unit = mf__xrealloc(o->in_unit, (o->nin + nf + 1) * sizeof *o->in_unit);
        o->in_feat = mf__xrealloc(o->in_feat, (o->nin + nf + 1) * sizeof *o->in_feat);
        o->in_name = mf__xrealloc(o->in_name, (o->nin + nf + 1) * sizeof *o->in_name);
        for (size_t j = 0; j < nf; j++) {
            const char *fname = p->n_features ? p->features[j] : fv->features[j]->name;
            int rc = add_unit_feature(r, ui, fname, false, false, &o->in_feat[o->nin], err);
            if (rc) return rc;
            for (size_t q = 0; q < o->nin; q++)
                if (!strcmp(o->in_name[q], fname))
                    return mf__err(err, MF_EREQUEST, "on-demand feature view '%s': two of its "
                                   "source views have a feature '%s'; select one of them",
                                   s->name, fname);
            o->in_unit[o->nin] = ui;
            o->in_name[o->nin++] = fname;
        }
    }
    for (size_t k = 0; k < s->n_request_sources; k++) {
        const mf__obj *dso = mf__snapshot_find(r->snap, MF_KIND_DATA_SOURCE, s->request_sources[k]);
        if (!dso)
            return mf__err(err, MF_EREGISTRY, "on-demand feature view '%s': its request source "
                           "'%s' is not registered", s->name, s->request_sources[k]);
        const Mf__DataSourceSpec *ds = (const Mf__DataSourceSpec *)dso->spec;
        o->req = mf__xrealloc(o->req, (o->nreq + ds->n_schema + 1) * sizeof *o->req);
        for (size_t j = 0; j < ds->n_schema; j++) o->req[o->nreq++] = ds->schema[j];
    }
    return MF_OK;
}

/* Output column for feature fname of on-demand view entry oi. */
static int add_odfv_feature(request *r, size_t oi, const char *fname, bool full, mf_error *err) {
    odfv_req *o = &r->odfvs[oi];
    const Mf__OnDemandFeatureViewSpec *s = o->v->spec;
    size_t j;
    for (j = 0; j < s->n_features; j++)
        if (!strcmp(s->features[j]->name, fname)) break;
    if (j == s->n_features) {
        mf__buf b;
        mf__buf_init(&b);
        for (size_t i = 0; i < s->n_features; i++)
            mf__buf_printf(&b, "%s%s", i ? ", " : "", s->features[i]->name);
        int rc = mf__err(err, MF_ENOTFOUND, "unknown feature '%s:%s' (the view has: %s)", s->name,
                         fname, b.data ? b.data : "");
        mf__buf_free(&b);
        return rc;
    }
    r->cols = mf__xrealloc(r->cols, (r->ncols + 1) * sizeof *r->cols);
    outcol *c = &r->cols[r->ncols++];
    c->unit = SIZE_MAX;
    c->odfv = oi;
    c->feat = j;
    c->name = full ? mf__xasprintf("%s__%s", o->alias[0] ? o->alias : s->name, fname)
                   : mf__xstrdup(fname);
    return MF_OK;
}

static int unknown_view(const char *project, const char *name, mf_error *err) {
    return mf__err(err, MF_ENOTFOUND, "unknown feature view '%s' in project '%s'", name, project);
}

static int build_request(request *r, const mf_historical_options *o, mf_error *err) {
    const char *project = r->cfg->project;
    bool full = o->full_feature_names != 0;
    if (o->feature_service && o->n_features)
        return mf__err(err, MF_EUSAGE, "give feature refs or a feature service, not both");
    if (o->feature_service) {
        const mf__obj *so = mf__snapshot_find(r->snap, MF_KIND_FEATURE_SERVICE, o->feature_service);
        if (!so)
            return mf__err(err, MF_ENOTFOUND, "unknown feature service '%s' in project '%s'",
                           o->feature_service, project);
        const Mf__FeatureServiceSpec *fs = (const Mf__FeatureServiceSpec *)so->spec;
        for (size_t i = 0; i < fs->n_features; i++) {
            const Mf__FeatureViewProjection *p = fs->features[i];
            const Mf__FeatureViewSpec *v = find_view(r, p->view_name);
            const Mf__OnDemandFeatureView *od = v ? NULL : find_odfv(r, p->view_name);
            if (od) {
                size_t oi;
                int rc = add_odfv(r, od, p->alias, &oi, err);
                for (size_t j = 0; rc == MF_OK && j < p->n_features; j++)
                    rc = add_odfv_feature(r, oi, p->features[j], full, err);
                if (rc) return rc;
                continue;
            }
            if (!v) return unknown_view(project, p->view_name, err);
            size_t ui = add_unit(r, v, p->alias, p);
            for (size_t j = 0; j < p->n_features; j++) {
                int rc = add_feature(r, ui, p->features[j], full, err);
                if (rc) return rc;
            }
        }
    } else {
        if (!o->n_features) return mf__err(err, MF_EUSAGE, "no features requested");
        for (size_t i = 0; i < o->n_features; i++) {
            const char *ref = o->features[i];
            const char *colon = strchr(ref, ':');
            if (!colon || colon == ref || !colon[1] || strchr(colon + 1, ':'))
                return mf__err(err, MF_EUSAGE, "feature ref '%s' is not of the form view:feature",
                               ref);
            char *vname = mf__xstrndup(ref, (size_t)(colon - ref));
            const Mf__FeatureViewSpec *v = find_view(r, vname);
            const Mf__OnDemandFeatureView *od = v ? NULL : find_odfv(r, vname);
            if (!v && !od) {
                int rc = unknown_view(project, vname, err);
                free(vname);
                return rc;
            }
            free(vname);
            if (od) {
                size_t oi;
                int rc = add_odfv(r, od, NULL, &oi, err);
                if (rc == MF_OK) rc = add_odfv_feature(r, oi, colon + 1, full, err);
                if (rc) return rc;
                continue;
            }
            size_t ui = unit_for(r, v, NULL, NULL, false);
            int rc = add_feature(r, ui, colon + 1, full, err);
            if (rc) return rc;
        }
    }
    for (size_t i = 0; i < r->nunits; i++)
        if (!r->units[i].source)
            return mf__err(err, MF_EREGISTRY, "feature view '%s': its source '%s' is not registered",
                           r->units[i].view->name, r->units[i].view->source);
    for (size_t i = 0; i < r->ncols; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->cols[i].name, r->cols[j].name) == 0)
                return mf__err(err, MF_EREQUEST, "two requested features are named '%s'; use "
                               "full feature names (--full-feature-names) to tell them apart",
                               r->cols[i].name);
    return MF_OK;
}

/*---- Loading a view's rows ----------------------------------------------------*/

/* Keys read without a filter (entity-less retrieval): every key in the
 * window, interned into `keys` in file order. */
typedef struct vdata {
    size_t n, cap;
    uint32_t *kid; /* raw 8-byte keys (fixed8) until interned after the scan */
    mf__keymap keys;
    /* rows read by a second thread: rows n1.. are tail's rows 0.. */
    size_t n1;
    struct vdata *tail;
} vdata;

static void vdata_free(vdata *d) {
    if (d->tail) {
        vdata_free(d->tail);
        free(d->tail);
    }
    free(d->kid);
    mf__keymap_free(&d->keys);
}

/* A cell of line `line` that is not what column col wants. */
static int src_err_line(mf__source *s, mf_error *err, long line, const char *col,
                        const mf__slice *v, const char *want) {
    return mf__err_at(err, MF_EDATA, mf__source_where(s), (int)line,
                      "column '%s': '%.*s' is not %s", col, (int)(v->len > 200 ? 200 : v->len),
                      v->ptr ? v->ptr : "", want);
}

/* The same for a cell of the current row. */
static int src_err(mf__source *s, mf_error *err, const char *col, const mf__slice *v,
                   const char *want) {
    return src_err_line(s, err, mf__source_line(s), col, v, want);
}

/* The same for a typed (Parquet) cell: names file, row group and row. */
static int cell_err(mf__source *s, mf_error *err, const char *col, const mf__cell *c,
                    const char *want) {
    mf__buf b;
    mf__buf_init(&b);
    mf__cell_text(c, &b);
    int rc = mf__source_cell_err(s, err, col, b.data ? b.data : "", b.len, want);
    mf__buf_free(&b);
    return rc;
}

/* Column index of name in the source, or an error naming the columns. */
static int need_col(mf__source *s, const char *view, const char *name, long *idx, mf_error *err) {
    *idx = mf__source_find(s, name);
    if (*idx >= 0) return MF_OK;
    mf__buf b;
    mf__buf_init(&b);
    for (size_t i = 0; i < mf__source_ncols(s); i++)
        mf__buf_printf(&b, "%s%s", i ? ", " : "", mf__source_colname(s, i));
    int rc = mf__err_at(err, MF_EDATA, mf__source_where(s), 1, "feature view '%s': column '%s' "
                        "not found (columns: %s)", view, name, b.data ? b.data : "");
    mf__buf_free(&b);
    return rc;
}

static const char *type_article(Mf__ValueType t, char *buf, size_t n) {
    snprintf(buf, n, "a valid %s", mf__dtype_name(t));
    return buf;
}

/* The entity rows of a unit, grouped by key id and ordered by time in each
 * group: which entity row a source row may answer (see the top of the
 * file). */
typedef struct gent {
    uint64_t k;          /* an 8-byte key */
    uint32_t start, cnt; /* its group; cnt 0: an empty slot */
} gent;

typedef struct efilter {
    uint32_t *start; /* keys + 1 */
    int64_t *T;      /* entity times grouped by key, ascending in each group */
    int64_t ttl_us;  /* 0: no lower bound */
    /* With one 8-byte key (fixed8): each key's group by the key itself, in
     * a table of its own (linear probing, twice the keys or more), so that
     * a source row finds its group in one cache miss instead of two (the
     * key's id, then start[id]). NULL otherwise. */
    gent *gt;
    size_t gmask;
    int gshift; /* 64 - log2(table size) */
} efilter;

/* Fibonacci hashing: the top bits of k times 2^64 / phi. */
static inline size_t gt_slot(const efilter *f, uint64_t k) {
    return (size_t)((k * UINT64_C(0x9E3779B97F4A7C15)) >> f->gshift);
}

static inline void gt_prefetch(const efilter *f, uint64_t k) {
    __builtin_prefetch(&f->gt[gt_slot(f, k)]);
}

/* The group of key k: *start, and its count (0: no entity row has k). */
static inline uint32_t gt_find(const efilter *f, uint64_t k, uint32_t *start) {
    for (size_t i = gt_slot(f, k);; i = (i + 1) & f->gmask) {
        const gent *g = &f->gt[i];
        if (g->cnt == 0) return 0;
        if (g->k == k) {
            *start = g->start;
            return g->cnt;
        }
    }
}

/* Build the table of a fixed8 key map's groups. */
static void gt_build(efilter *f, const mf__keymap *ek) {
    size_t cap = 16;
    int bits = 4;
    while (cap < 2 * ek->n) cap *= 2, bits++;
    f->gt = mf__xcalloc(cap, sizeof *f->gt);
    f->gmask = cap - 1;
    f->gshift = 64 - bits;
    for (uint32_t id = 0; id < ek->n; id++) {
        size_t len;
        uint64_t k;
        memcpy(&k, mf__keymap_key(ek, id, &len), 8);
        size_t i = gt_slot(f, k);
        while (f->gt[i].cnt) i = (i + 1) & f->gmask;
        f->gt[i] = (gent){k, f->start[id], f->start[id + 1] - f->start[id]};
    }
}

/* The bucket a source row of event time ts falls in, among the entity
 * times T[s], ..., T[s + n - 1] of its key: the position of the first
 * T >= ts; -1 when there is none, or when it is more than the ttl after ts
 * (then every later T of the key is too, so the row can answer none). */
static long bucket(const efilter *f, uint32_t s, uint32_t n, int64_t ts) {
    const int64_t *a = f->T + s;
    if (n == 0 || ts > a[n - 1]) return -1; /* after every entity time */
    /* the first T >= ts (a[n - 1] is one), without branches to mispredict */
    const int64_t *b = a;
    while (n > 1) {
        size_t half = n / 2;
        b = b[half] < ts ? b + half : b;
        n -= half;
    }
    b += b[0] < ts;
    if (f->ttl_us > 0 && b[0] - ts > f->ttl_us) return -1;
    return (long)(s + (size_t)(b - a));
}

/* The best source row so far of each bucket, as one scan reads them: a
 * record per bucket (per position in efilter's T) holding the row's event time (at 0;
 * INT64_MIN: none yet), its created time (at 8, when the source has a
 * created column), its feature values (at off[f], by size: text-class
 * ones, i.e. strings, bytes and lists, as a wslot into `heap`) and a
 * validity byte per feature (at vbase + f). One record is one cache line
 * or two, so that a row that takes its bucket writes one place. */
typedef struct wslot {
    uint64_t off; /* into heap; WS_TAIL set: into the tail scan's heap */
    uint32_t len; /* (a cell is at most 1 GiB: a CSV line, a Parquet page) */
    uint32_t cap; /* the bytes at off that are this slot's */
} wslot;
#define WS_TAIL ((uint64_t)1 << 63)

/* Bytes per value of a fixed-size column (0 for text). */
static size_t col_width(const mf__col *c) {
    switch (c->sc) {
    case MF__SC_I64: case MF__SC_F64: return 8;
    case MF__SC_I32: case MF__SC_F32: return 4;
    case MF__SC_BOOL: return 1;
    case MF__SC_TEXT: break;
    }
    return 0;
}

typedef struct wins {
    size_t n, nfeat;
    unsigned char *rec; /* n records of rsz bytes */
    size_t rsz, fbase, vbase;
    bool with_cr;
    size_t *off, *width; /* per feature: offset in a record, value size (0: text) */
    mf__col *scratch;    /* per feature: a column of one row to parse into */
    mf__buf heap;
} wins;

static inline unsigned char *wrec(const wins *w, long e) { return w->rec + (size_t)e * w->rsz; }
static inline int64_t wts(const wins *w, long e) { return *(const int64_t *)wrec(w, e); }
static inline int64_t wcr(const wins *w, long e) { return ((const int64_t *)wrec(w, e))[1]; }

static void wins_init(wins *w, const unit *u, size_t nfeat, size_t n, bool with_cr) {
    memset(w, 0, sizeof *w);
    w->n = n;
    w->nfeat = nfeat;
    w->with_cr = with_cr;
    w->off = mf__xcalloc(nfeat + 1, sizeof *w->off);
    w->width = mf__xcalloc(nfeat + 1, sizeof *w->width);
    w->scratch = mf__xcalloc(nfeat + 1, sizeof *w->scratch);
    mf__buf_init(&w->heap);
    size_t pos = w->fbase = with_cr ? 16 : 8;
    for (size_t f = 0; f < nfeat; f++) {
        mf__col_init(&w->scratch[f], u->feat[f]->name, u->feat[f]->dtype, false);
        mf__col_reserve(&w->scratch[f], 1);
        w->width[f] = col_width(&w->scratch[f]);
    }
    /* the widest first, so that every value is aligned */
    static const size_t sizes[] = {sizeof(wslot), 8, 4, 1};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        for (size_t f = 0; f < nfeat; f++)
            if ((w->width[f] ? w->width[f] : sizeof(wslot)) == sizes[k]) {
                w->off[f] = pos;
                pos += sizes[k];
            }
    w->vbase = pos;
    w->rsz = (pos + nfeat + 7) / 8 * 8;
    /* zeroed: no value yet (wins_put reads a record's validity bytes) */
    w->rec = mf__xcalloc(n ? n : 1, w->rsz);
    for (size_t e = 0; e < n; e++) *(int64_t *)wrec(w, (long)e) = INT64_MIN;
}

static void wins_free(wins *w) {
    if (!w->rec) return;
    free(w->rec);
    for (size_t f = 0; f < w->nfeat; f++) mf__col_free(&w->scratch[f]);
    free(w->scratch);
    free(w->off);
    free(w->width);
    mf__buf_free(&w->heap);
    memset(w, 0, sizeof *w);
}

/* Whether a row at (ts, cr) beats the best so far of bucket e, and if so
 * make it the best: a later event time, or the same with a created time
 * at least the stored one (so that of full ties the last row read wins). */
static inline bool wins_take(wins *w, long e, int64_t ts, int64_t cr) {
    int64_t *r = (int64_t *)wrec(w, e);
    if (ts < r[0] || (ts == r[0] && w->with_cr && cr < r[1])) return false;
    r[0] = ts;
    if (w->with_cr) r[1] = cr;
    return true;
}

/* Feature f of bucket e from row i of column c (its type, checked). */
static void wins_put(wins *w, size_t f, long e, const mf__col *c, size_t i) {
    unsigned char *r = wrec(w, e);
    if (w->width[f]) {
        r[w->vbase + f] = c->valid[i];
        memcpy(r + w->off[f], (const char *)c->data + i * w->width[f], w->width[f]);
        return;
    }
    bool had = r[w->vbase + f];
    r[w->vbase + f] = c->valid[i];
    if (!c->valid[i]) return;
    size_t len = c->off[i + 1] - c->off[i];
    wslot t;
    memcpy(&t, r + w->off[f], sizeof t);
    /* A value replacing the bucket's earlier one goes in its place when it
     * fits (records share no bytes while sources are read: wins_copy runs
     * after), else after the rest with room to spare for the next: in a
     * source ordered by time nearly every row of a key replaces the last,
     * and the heap would grow with the source, not the entity rows. */
    if (had && len <= t.cap) {
        memcpy(w->heap.data + t.off, c->heap + c->off[i], len);
        t.len = (uint32_t)len;
    } else {
        size_t cap = had ? len + len / 4 + 8 : len;
        if (cap > UINT32_MAX) cap = len; /* a cell is far shorter */
        t.off = w->heap.len;
        t.len = (uint32_t)len;
        t.cap = (uint32_t)cap;
        mf__buf_reserve(&w->heap, cap);
        mf__buf_put(&w->heap, c->heap + c->off[i], len);
        w->heap.len += cap - len;
    }
    memcpy(r + w->off[f], &t, sizeof t);
}

/* Feature f of bucket e from text (an empty slice: null). Returns 0,
 * or -1 when the text is not a value of the feature's type. */
static int wins_set_text(wins *w, size_t f, long e, const char *p, size_t len) {
    mf__col *s = &w->scratch[f];
    mf__col_clear(s);
    if (mf__col_push_text(s, p, len) != 0) return -1;
    wins_put(w, f, e, s, 0);
    return 0;
}

/* The same for a typed (Parquet) cell. */
static int wins_set_cell(wins *w, size_t f, long e, const mf__cell *v) {
    mf__col *s = &w->scratch[f];
    mf__col_clear(s);
    if (mf__cell_push(s, v) != 0) return -1;
    wins_put(w, f, e, s, 0);
    return 0;
}

/* Bucket e of dst takes the record of bucket se of src (from_tail: src is
 * the tail scan's, whose text lies in its own heap). */
static void wins_copy(wins *dst, long e, const wins *src, long se, bool from_tail) {
    unsigned char *r = wrec(dst, e);
    memcpy(r, wrec(src, se), dst->rsz);
    if (!from_tail) return;
    for (size_t f = 0; f < dst->nfeat; f++)
        if (!dst->width[f] && r[dst->vbase + f]) ((wslot *)(r + dst->off[f]))->off |= WS_TAIL;
}

/* Bucket e gets no values (no row answers it, or the ttl voids it); its
 * times stay, for the key's next buckets that take its answer. */
static void wins_none(wins *w, long e) {
    memset(wrec(w, e) + w->fbase, 0, w->rsz - w->fbase);
}

/* One scan over source rows (all of them, or one half of a split file). */
typedef struct scan_part {
    mf__source *s;
    const unit *u;
    size_t nfeat;
    long its, icr;
    const long *ikey, *ifeat;
    int64_t lo, hi;
    const efilter *flt;     /* NULL: every row, keys interned into d.keys */
    const mf__keymap *fk;   /* with flt: the entity keys (read only) */
    wins *w;                /* with flt: the best rows so far */
    vdata d;     /* without flt: the keys read */
    size_t taken; /* with flt: rows that became a best row so far */
    mf_error err;
    int rc;
} scan_part;

/* Room for n rows in d's key array; key slots of key_size bytes. */
static void vdata_grow(vdata *d, size_t n, size_t key_size) {
    if (n <= d->cap) return;
    d->cap = d->cap ? d->cap * 2 : 4096;
    while (d->cap < n) d->cap *= 2;
    d->kid = mf__xrealloc(d->kid, d->cap * key_size);
}

/* With a filter, rows wait in a stage of STAGE rows (their keys and times
 * parsed), so that the lookups of a stage's keys and entity times overlap
 * their cache misses instead of paying them one at a time. */
enum { STAGE = 64 };
typedef struct stage {
    size_t n;
    uint64_t k8[STAGE];    /* fixed8 keys */
    mf__buf keys;          /* other keys: the rows' key bytes */
    size_t koff[STAGE];
    int64_t ts[STAGE], cr[STAGE];
    uint32_t row[STAGE];   /* block reads: the row in the block */
    mf__col *feat;         /* nfeat columns of n rows (typed sources) */
    /* Text sources: the rows' feature cells as text, parsed only for the
     * rows that become a best row so far: cell f of row i is
     * cell[i * nfeat + f] (0 bytes: null), where the source keeps a row's
     * text while later rows are read (a mapped CSV file); else copied, at
     * vals.data + voff[i * nfeat + f]; line marks for messages. */
    mf__slice *cell;
    bool copied[STAGE];
    mf__buf vals;
    size_t *voff;
    long line[STAGE];
    /* fixed8 text scans: the groups of rows [0, nid) (start, count),
     * found while later rows were read, their entity times prefetched (see
     * resolve_ahead) */
    uint32_t gs[STAGE], gc[STAGE];
    size_t nid;
} stage;

/* A fixed8 text scan looks up row j of the stage LAG rows after staging it
 * (its key's group entry prefetched then) and prefetches its entity
 * times, so that both cache misses overlap the reading of the rows in
 * between instead of waiting at the flush. */
enum { LAG = 8 };

static inline void prefetch_group(const efilter *flt, uint32_t s, uint32_t n) {
    __builtin_prefetch(&flt->T[s]);
    __builtin_prefetch(&flt->T[s + n] - 1);
}

static void resolve_ahead(const scan_part *p, stage *st, size_t j) {
    const efilter *flt = p->flt;
    st->gc[j] = gt_find(flt, st->k8[j], &st->gs[j]);
    st->nid = j + 1;
    if (st->gc[j]) prefetch_group(flt, st->gs[j], st->gc[j]);
}

/* Look up a stage's keys and buckets and let each row try its bucket's
 * best (in stage order): the rows that became a best row so far go in
 * keep (stage index) and at (bucket), in order. */
static size_t stage_take(scan_part *p, stage *st, uint32_t *keep, long *at) {
    const efilter *flt = p->flt;
    const mf__keymap *fk = p->fk;
    wins *w = p->w;
    size_t n = st->n;
    uint32_t *gs = st->gs, *gc = st->gc; /* each row's group (count 0: none) */
    size_t nid = st->nid; /* rows whose groups resolve_ahead found */
    if (flt->gt) {
        for (size_t i = nid; i < n; i++) gt_prefetch(flt, st->k8[i]);
        for (size_t i = nid; i < n; i++) gc[i] = gt_find(flt, st->k8[i], &gs[i]);
    } else {
        long id[STAGE];
        for (size_t i = 0; i < n; i++) {
            size_t len = (i + 1 < n ? st->koff[i + 1] : st->keys.len) - st->koff[i];
            id[i] = mf__keymap_find(fk, st->keys.data + st->koff[i], len);
            if (id[i] >= 0) __builtin_prefetch(&flt->start[id[i]]);
        }
        for (size_t i = 0; i < n; i++) {
            gs[i] = id[i] >= 0 ? flt->start[id[i]] : 0;
            gc[i] = id[i] >= 0 ? flt->start[id[i] + 1] - gs[i] : 0;
        }
    }
    for (size_t i = nid; i < n; i++)
        if (gc[i]) prefetch_group(flt, gs[i], gc[i]);
    long e[STAGE];
    for (size_t i = 0; i < n; i++) {
        e[i] = gc[i] ? bucket(flt, gs[i], gc[i], st->ts[i]) : -1;
        if (e[i] >= 0) {
            const unsigned char *rp = wrec(w, e[i]);
            __builtin_prefetch(rp, 1);
            __builtin_prefetch(rp + w->rsz - 1, 1);
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i] >= 0 && wins_take(w, e[i], st->ts[i], st->cr[i])) {
            keep[m] = (uint32_t)i;
            at[m++] = e[i];
        }
    p->taken += m;
    st->nid = 0;
    return m;
}

static void stage_flush(scan_part *p, stage *st) {
    uint32_t keep[STAGE];
    long at[STAGE];
    size_t m = stage_take(p, st, keep, at);
    for (size_t f = 0; f < p->nfeat; f++) {
        for (size_t j = 0; j < m; j++) wins_put(p->w, f, at[j], &st->feat[f], keep[j]);
        mf__col_clear(&st->feat[f]);
    }
    st->n = 0;
    st->keys.len = 0;
}

/* The same for a stage of text rows: the feature cells of the rows that
 * became a best row so far are parsed now; the others are never parsed. */
static int stage_flush_text(scan_part *p, stage *st) {
    uint32_t keep[STAGE];
    long at[STAGE];
    size_t m = stage_take(p, st, keep, at);
    size_t nfeat = p->nfeat;
    int rc = MF_OK;
    for (size_t j = 0; j < m && rc == MF_OK; j++) {
        size_t c = (size_t)keep[j] * nfeat;
        for (size_t f = 0; f < nfeat; f++, c++) {
            mf__slice v = st->cell[c];
            if (st->copied[keep[j]]) v.ptr = st->vals.data + st->voff[c];
            if (wins_set_text(p->w, f, at[j], v.len ? v.ptr : NULL, v.len) != 0) {
                char want[64];
                rc = src_err_line(p->s, &p->err, mf__source_mark_line(p->s, st->line[keep[j]]),
                                  p->u->feat[f]->name, &v,
                                  type_article(p->u->feat[f]->dtype, want, sizeof want));
                break;
            }
        }
    }
    st->n = 0;
    st->keys.len = 0;
    st->vals.len = 0;
    return rc;
}

/* The same for a stage of a block read: the features were not pushed: the
 * values of the rows that became a best row so far are taken from the
 * block's arrays now, so that, as in a CSV file, only those are converted
 * (a value that does not fit its feature fails the read only there).
 * MF_OK, or an error naming the row. */
static int stage_flush_block(scan_part *p, stage *st, const mf__cell_col *cols) {
    uint32_t keep[STAGE];
    long at[STAGE];
    size_t m = stage_take(p, st, keep, at);
    int rc = MF_OK;
    for (size_t f = 0; f < p->nfeat && rc == MF_OK; f++) {
        const mf__cell_col *fc = &cols[p->ifeat[f]];
        for (size_t j = 0; j < m; j++) {
            mf__cell c;
            mf__cell_at(fc, st->row[keep[j]], &c);
            if (wins_set_cell(p->w, f, at[j], &c) != 0) {
                char want[64];
                mf__source_block_row(p->s, st->row[keep[j]]);
                rc = cell_err(p->s, &p->err, p->u->feat[f]->name, &c,
                              type_article(p->u->feat[f]->dtype, want, sizeof want));
                break;
            }
        }
    }
    st->n = 0;
    st->keys.len = 0;
    return rc;
}

/* scan_rows for a source read a row group at a time, with a filter: the
 * same checks and answers, with the features of the rows the filter drops
 * never copied or converted. */
static int scan_blocks(scan_part *p) {
    const Mf__FeatureViewSpec *v = p->u->view;
    const Mf__DataSourceSpec *ds = p->u->source;
    mf__source *s = p->s;
    mf_error *err = &p->err;
    size_t nk = v->n_entity_columns;
    long its = p->its, icr = p->icr;
    int rc = MF_OK;
    mf__buf key;
    mf__buf_init(&key);
    mf__buf_reserve(&key, 64);
    char want[64];
    stage *st = mf__xcalloc(1, sizeof *st);
    mf__buf_init(&st->keys);
    const mf__cell_col *cols;
    size_t n;
    int r;
    while (rc == MF_OK && (r = mf__source_next_block(s, &cols, &n, err)) == 1) {
        const mf__cell_col *k64 =
            nk == 1 && v->entity_columns[0]->dtype == MF__VALUE_TYPE__VT_INT64 &&
                    cols[p->ikey[0]].kind == MF__CELL_INT
                ? &cols[p->ikey[0]]
                : NULL;
        size_t nk0;
        for (size_t i = 0; i < n && rc == MF_OK; i++) {
            mf__cell c;
            int64_t ts, cr = INT64_MIN;
            if (mf__cell_col_ts(&cols[its], i, &c, &ts) != 0) {
                mf__source_block_row(s, i);
                rc = cell_err(s, err, ds->timestamp_field, &c, "a timestamp");
                break;
            }
            if (ts < p->lo || ts > p->hi) continue;
            if (icr >= 0) {
                mf__cell_at(&cols[icr], i, &c);
                if (mf__cell_ts(&c, &cr) < 0) {
                    mf__source_block_row(s, i);
                    rc = cell_err(s, err, ds->created_timestamp_column, &c, "a timestamp");
                    break;
                }
            }
            key.len = 0;
            bool null_key = false;
            if (k64) { /* one Int64 key from an integer column */
                if (k64->valid && !k64->valid[i]) continue;
                memcpy(key.data, &k64->i[i], 8);
                key.len = 8;
                nk0 = 0;
            } else {
                nk0 = nk;
            }
            for (size_t k = 0; k < nk0; k++) {
                Mf__ValueType kt = v->entity_columns[k]->dtype;
                mf__cell_at(&cols[p->ikey[k]], i, &c);
                int kr = mf__cell_key(&key, kt, &c);
                if (kr < 0) {
                    mf__source_block_row(s, i);
                    rc = cell_err(s, err, v->entity_columns[k]->name, &c,
                                  type_article(kt, want, sizeof want));
                    break;
                }
                if (kr == 1) null_key = true;
            }
            if (rc) break;
            if (null_key) continue;
            if (p->flt->gt) {
                memcpy(&st->k8[st->n], key.data, 8);
            } else {
                st->koff[st->n] = st->keys.len;
                mf__buf_put(&st->keys, key.data, key.len);
            }
            st->ts[st->n] = ts;
            st->cr[st->n] = cr;
            st->row[st->n] = (uint32_t)i;
            if (++st->n == STAGE) rc = stage_flush_block(p, st, cols);
        }
        /* the block's arrays go with the next call */
        if (rc == MF_OK && st->n) rc = stage_flush_block(p, st, cols);
    }
    if (rc == MF_OK && r < 0) rc = r;
    mf__buf_free(&st->keys);
    free(st);
    mf__buf_free(&key);
    return rc;
}

static int scan_rows(scan_part *p) {
    if (p->flt && mf__source_blockable(p->s)) return scan_blocks(p);
    vdata *d = &p->d;
    const Mf__FeatureViewSpec *v = p->u->view;
    const Mf__DataSourceSpec *ds = p->u->source;
    mf__source *s = p->s;
    mf_error *err = &p->err;
    size_t nk = v->n_entity_columns, nfeat = p->nfeat;
    long its = p->its, icr = p->icr;
    int rc = MF_OK;
    mf__buf key;
    mf__buf_init(&key);
    mf__buf_reserve(&key, 64);
    char want[64];
    stage *st = NULL;
    const mf__slice *row = NULL;
    const mf__cell *cells = NULL; /* a typed source (Parquet) */
    bool typed = mf__source_typed(s);
    if (p->flt) {
        st = mf__xcalloc(1, sizeof *st);
        mf__buf_init(&st->keys);
        mf__buf_init(&st->vals);
        st->feat = mf__xcalloc(nfeat + 1, sizeof *st->feat);
        for (size_t f = 0; f < nfeat; f++) {
            mf__col_init(&st->feat[f], p->u->feat[f]->name, p->u->feat[f]->dtype, false);
            if (typed) mf__col_reserve(&st->feat[f], STAGE);
        }
        if (!typed) {
            st->cell = mf__xmalloc((STAGE * nfeat + 1) * sizeof *st->cell);
            st->voff = mf__xmalloc((STAGE * nfeat + 1) * sizeof *st->voff);
        }
    }
    while (rc == MF_OK) {
        int r = typed ? mf__source_next_cells(s, &cells, err) : mf__source_next(s, &row, err);
        if (r < 0) rc = r;
        if (r <= 0) break;
        int64_t ts, cr = INT64_MIN;
        key.len = 0;
        bool null_key = false;
        mf__col *fc = st ? st->feat : NULL; /* no features without a filter */
        if (typed) {
            if (mf__cell_ts(&cells[its], &ts) != 0) {
                rc = cell_err(s, err, ds->timestamp_field, &cells[its], "a timestamp");
                break;
            }
            if (ts < p->lo || ts > p->hi) continue;
            if (icr >= 0 && mf__cell_ts(&cells[icr], &cr) < 0) {
                rc = cell_err(s, err, ds->created_timestamp_column, &cells[icr], "a timestamp");
                break;
            }
            for (size_t k = 0; k < nk; k++) {
                Mf__ValueType kt = v->entity_columns[k]->dtype;
                const mf__cell *kv = &cells[p->ikey[k]];
                int kr = mf__cell_key(&key, kt, kv);
                if (kr < 0) {
                    rc = cell_err(s, err, v->entity_columns[k]->name, kv,
                                  type_article(kt, want, sizeof want));
                    break;
                }
                if (kr == 1) null_key = true;
            }
            if (rc) break;
            if (null_key) continue;
            for (size_t f = 0; f < nfeat; f++) {
                const mf__cell *fv = &cells[p->ifeat[f]];
                if (mf__cell_push(&fc[f], fv) != 0) {
                    rc = cell_err(s, err, p->u->feat[f]->name, fv,
                                  type_article(p->u->feat[f]->dtype, want, sizeof want));
                    break;
                }
            }
            if (rc) break;
        } else {
            const mf__slice *t = &row[its];
            if (!t->ptr || !t->len || mf__ts_parse(t->ptr, t->len, &ts) != 0) {
                rc = src_err(s, err, ds->timestamp_field, t, "a timestamp");
                break;
        }
        if (ts < p->lo || ts > p->hi) continue;
        if (icr >= 0 && row[icr].len) {
            if (mf__ts_parse(row[icr].ptr, row[icr].len, &cr) != 0) {
                rc = src_err(s, err, ds->created_timestamp_column, &row[icr], "a timestamp");
                break;
            }
        }
        for (size_t k = 0; k < nk; k++) {
            Mf__ValueType kt = v->entity_columns[k]->dtype;
            const mf__slice *kv = &row[p->ikey[k]];
            int kr = mf__key_append_text(&key, kt, kv->ptr, kv->len);
            if (kr < 0) {
                rc = src_err(s, err, v->entity_columns[k]->name, kv,
                             type_article(kt, want, sizeof want));
                break;
            }
            if (kr == 1) null_key = true;
        }
        if (rc) break;
        if (null_key) continue; /* a row without a key never matches */
        if (st) { /* parsed only for a best row so far (stage_flush_text) */
            size_t c = st->n * nfeat;
            bool copy = !mf__source_row_stable(s);
            st->copied[st->n] = copy;
            for (size_t f = 0; f < nfeat; f++, c++) {
                const mf__slice *fv = &row[p->ifeat[f]];
                size_t len = fv->ptr ? fv->len : 0;
                st->cell[c] = (mf__slice){fv->ptr, len};
                if (copy) {
                    st->voff[c] = st->vals.len;
                    if (len) mf__buf_put(&st->vals, fv->ptr, len);
                }
            }
            st->line[st->n] = mf__source_line_mark(s);
        }
        }
        if (st) { /* kept or dropped a stage at a time */
            if (p->flt->gt) {
                memcpy(&st->k8[st->n], key.data, 8);
                if (!typed) {
                    gt_prefetch(p->flt, st->k8[st->n]);
                    if (st->n >= LAG) resolve_ahead(p, st, st->n - LAG);
                }
            } else {
                st->koff[st->n] = st->keys.len;
                mf__buf_put(&st->keys, key.data, key.len);
            }
            st->ts[st->n] = ts;
            st->cr[st->n] = cr;
            if (++st->n == STAGE) {
                if (typed) stage_flush(p, st);
                else if ((rc = stage_flush_text(p, st)) != MF_OK) break;
            }
            continue;
        }
        vdata_grow(d, d->n + 1, 8); /* raw fixed8 keys first, ids after */
        if (d->keys.fixed8) /* interned after the scan, with prefetching */
            memcpy((char *)d->kid + 8 * d->n, key.data, 8);
        else
            d->kid[d->n] = mf__keymap_intern(&d->keys, key.data, key.len);
        d->n++;
    }
    if (st) {
        if (rc == MF_OK) {
            if (typed) stage_flush(p, st);
            else rc = stage_flush_text(p, st);
        }
        mf__buf_free(&st->keys);
        mf__buf_free(&st->vals);
        free(st->cell);
        free(st->voff);
        for (size_t f = 0; f < nfeat; f++) mf__col_free(&st->feat[f]);
        free(st->feat);
        free(st);
    }
    mf__buf_free(&key);
    return rc;
}

static void *scan_thread(void *arg) {
    scan_part *p = arg;
    p->rc = scan_rows(p);
    return NULL;
}

static void part_init(scan_part *p, const scan_part *like, mf__source *s, wins *w) {
    *p = *like;
    p->s = s;
    p->w = w;
    p->taken = 0;
    memset(&p->d, 0, sizeof p->d);
    mf__keymap_init_for(&p->d.keys, p->u->view);
}

/* Read a unit's source. With a filter (flt, over the entity keys fk),
 * every row that may answer an entity row tries its bucket's best in *w
 * (*taken counts those that became one); without, the keys of the rows
 * with ts in [lo, hi] are interned into d->keys, in file order. With
 * `split`, a CSV file without quotes (and, without a filter, a single
 * 8-byte join key) is read by two threads, one half each: the second half
 * into *tw (set up here; left zeroed when the file was read whole), whose
 * rows come later in the file; without a filter the halves' keys are
 * interned in file order, so the result is the same. */
#define SPLIT_AGAIN 1 /* load_view_once: the split was not at a record boundary */

static int load_view_once(const mf__config *cfg, const unit *u, int64_t lo, int64_t hi,
                          bool split, const efilter *flt, const mf__keymap *fk, wins *w,
                          wins *tw, size_t *taken, vdata *d, mf_error *err) {
    memset(d, 0, sizeof *d);
    size_t nfeat = flt ? u->nfeat : 0;
    const Mf__FeatureViewSpec *v = u->view;
    const Mf__DataSourceSpec *ds = u->source;
    /* hints for a Lua source: the rows that can win lie between the first
     * entity time less the ttl and the last entity time */
    mf__source_hint hint = {"historical", lo, hi, NULL, 0};
    if (flt) {
        size_t nt = flt->start[fk->n];
        int64_t tmin = INT64_MAX, tmax = INT64_MIN;
        for (size_t i = 0; i < nt; i++) {
            if (flt->T[i] < tmin) tmin = flt->T[i];
            if (flt->T[i] > tmax) tmax = flt->T[i];
        }
        if (nt) {
            hint.start_us = flt->ttl_us > 0 ? mf__sub_sat(tmin, flt->ttl_us) : INT64_MIN;
            hint.end_us = tmax;
        }
    }
    size_t nk0 = v->n_entity_columns, nhc = 0;
    const char **hcols = mf__xcalloc(nk0 + nfeat + 2, sizeof *hcols);
    hcols[nhc++] = ds->timestamp_field;
    if (ds->created_timestamp_column[0]) hcols[nhc++] = ds->created_timestamp_column;
    for (size_t k = 0; k < nk0; k++) hcols[nhc++] = v->entity_columns[k]->name;
    for (size_t f = 0; f < nfeat; f++) hcols[nhc++] = u->feat[f]->name;
    hint.columns = hcols;
    hint.ncolumns = nhc;
    mf__source *s;
    int rc = mf__source_open(cfg, ds, &hint, &s, err);
    free(hcols);
    if (rc) {
        mf__keymap_init(&d->keys);
        return rc;
    }
    long its, icr = -1;
    size_t nk = v->n_entity_columns;
    long *ikey = mf__xcalloc(nk + 1, sizeof *ikey);
    long *ifeat = mf__xcalloc(nfeat + 1, sizeof *ifeat);
    rc = need_col(s, v->name, ds->timestamp_field, &its, err);
    if (rc == MF_OK && ds->created_timestamp_column[0])
        rc = need_col(s, v->name, ds->created_timestamp_column, &icr, err);
    for (size_t k = 0; k < nk && rc == MF_OK; k++)
        rc = need_col(s, v->name, v->entity_columns[k]->name, &ikey[k], err);
    for (size_t f = 0; f < nfeat && rc == MF_OK; f++)
        rc = need_col(s, v->name, u->feat[f]->name, &ifeat[f], err);
    scan_part head = {s, u, nfeat, its, icr, ikey, ifeat, lo, hi, flt, fk, w, {0}, 0, {0}, MF_OK};
    mf__keymap_init_for(&head.d.keys, v);
    mf__source *ts_src = NULL;
    scan_part tail;
    pthread_t th;
    bool two = false;
    if (rc == MF_OK && split && (flt || head.d.keys.fixed8) && mf__source_split(s, &ts_src)) {
        if (flt) wins_init(tw, u, nfeat, w->n, w->with_cr);
        part_init(&tail, &head, ts_src, flt ? tw : NULL);
        two = pthread_create(&th, NULL, scan_thread, &tail) == 0;
    }
    if (rc == MF_OK) {
        rc = scan_rows(&head);
        if (rc && err) *err = head.err;
    }
    if (ts_src) {
        if (two) pthread_join(th, NULL);
        else if (rc == MF_OK && !mf__source_saw_quote(s)) scan_thread(&tail); /* here, after */
        if (mf__source_saw_quote(s)) {
            /* the halves may have been cut inside a quoted field: whatever
             * they read (errors too) is void */
            rc = SPLIT_AGAIN;
        } else if (rc == MF_OK && tail.rc) {
            rc = tail.rc;
            if (err) *err = tail.err;
        }
        if (rc == MF_OK && !flt) {
            /* keep the second half where it is: no copy, no new pages */
            head.d.tail = mf__xmalloc(sizeof *head.d.tail);
            *head.d.tail = tail.d;
        } else {
            vdata_free(&tail.d);
        }
        *taken += tail.taken;
        mf__source_close(ts_src);
    }
    *taken += head.taken;
    *d = head.d;
    d->n1 = d->n;
    if (d->tail) d->n += d->tail->n;
    if (rc == MF_OK && !flt && d->keys.fixed8) {
        /* ids for the raw keys (in file order: first half, then second),
         * looking ahead so that the table's cache misses overlap; with one
         * half the ids replace the raw keys in place (id i lands at bytes
         * 4i..4i+3, below raw key i + 1) */
        const char *raw1 = (const char *)d->kid;
        const char *raw2 = d->tail ? (const char *)d->tail->kid : NULL;
        uint32_t *ids = d->tail ? mf__xmalloc((d->n ? d->n : 1) * sizeof *ids) : d->kid;
        for (size_t i = 0; i < d->n; i++) {
            uint64_t k, ahead;
            size_t j = i + 16;
            if (j < d->n) {
                memcpy(&ahead, j < d->n1 ? raw1 + 8 * j : raw2 + 8 * (j - d->n1), 8);
                mf__keymap_prefetch8(&d->keys, ahead);
            }
            memcpy(&k, i < d->n1 ? raw1 + 8 * i : raw2 + 8 * (i - d->n1), 8);
            ids[i] = mf__keymap_intern(&d->keys, &k, 8);
        }
        if (d->tail) {
            free(d->kid);
            free(d->tail->kid);
            d->tail->kid = NULL;
            d->kid = ids;
        }
    }
    free(ikey);
    free(ifeat);
    mf__source_close(s);
    return rc;
}

/* Forget every best row so far (a split read that is done again). */
static void wins_reset(wins *w) {
    memset(w->rec, 0, (w->n ? w->n : 1) * w->rsz);
    for (size_t e = 0; e < w->n; e++) *(int64_t *)wrec(w, (long)e) = INT64_MIN;
    w->heap.len = 0;
}

/* Read the unit's source (see load_view_once). A split read whose first
 * half met a quote is done again on one thread. */
static int load_view(const mf__config *cfg, const unit *u, int64_t lo, int64_t hi, bool split,
                     const efilter *flt, const mf__keymap *fk, wins *w, wins *tw, size_t *taken,
                     vdata *d, mf_error *err) {
    int rc = load_view_once(cfg, u, lo, hi, split, flt, fk, w, tw, taken, d, err);
    if (rc != SPLIT_AGAIN) return rc;
    vdata_free(d);
    if (flt) {
        wins_reset(w);
        wins_free(tw);
        *taken = 0;
    }
    mf__log(3, "feature view '%s': its source has quotes: read again on one thread",
            u->view->name);
    return load_view_once(cfg, u, lo, hi, false, flt, fk, w, tw, taken, d, err);
}

/*---- The join ------------------------------------------------------------------*/

/* The buckets of keys [kfrom, kto) get their answers: the tail scan's
 * best of a bucket replaces the head's when it beats it (it was read later,
 * so it wins ties); an empty bucket takes the answer of the key's previous
 * bucket (the row with the greatest event time at or before an entity time
 * lies in the latest non-empty bucket up to it); then an answer older than
 * the ttl allows is voided. */
typedef struct finish_part {
    const efilter *flt;
    wins *w;
    const wins *t; /* NULL: no tail scan */
    size_t kfrom, kto;
} finish_part;

static void finish_keys(finish_part *p) {
    const efilter *flt = p->flt;
    wins *w = p->w;
    const wins *t = p->t;
    for (size_t k = p->kfrom; k < p->kto; k++) {
        long from = (long)flt->start[k], to = (long)flt->start[k + 1];
        for (long b = from; b < to; b++) {
            if (t && wts(t, b) != INT64_MIN &&
                (wts(t, b) > wts(w, b) ||
                 (wts(t, b) == wts(w, b) && (!w->with_cr || wcr(t, b) >= wcr(w, b)))))
                wins_copy(w, b, t, b, true);
            if (wts(w, b) == INT64_MIN && b > from) wins_copy(w, b, w, b - 1, false);
            int64_t ts = wts(w, b);
            if (ts == INT64_MIN || (flt->ttl_us > 0 && ts < mf__sub_sat(flt->T[b], flt->ttl_us)))
                wins_none(w, b);
        }
    }
}

static void *finish_thread(void *arg) {
    finish_keys(arg);
    return NULL;
}

/* An entity row with a null key: it has no key id and no bucket. */
#define NO_KEY UINT32_MAX

/* Entity rows [from, to): their fixed-size features from their buckets'
 * records into the output columns (room made). */
typedef struct out_part {
    const wins *w;
    const uint32_t *pos;
    mf__col *out;
    size_t from, to;
} out_part;

static void out_rows(out_part *p) {
    const wins *w = p->w;
    for (size_t e = p->from; e < p->to; e++) {
        if (e + 8 < p->to && p->pos[e + 8] != NO_KEY)
            __builtin_prefetch(wrec(w, (long)p->pos[e + 8]));
        const unsigned char *rp = p->pos[e] == NO_KEY ? NULL : wrec(w, (long)p->pos[e]);
        for (size_t f = 0; f < w->nfeat; f++) {
            size_t sz = w->width[f];
            if (!sz) continue;
            mf__col *o = &p->out[f];
            if (rp) {
                memcpy((char *)o->data + e * sz, rp + w->off[f], sz);
                o->valid[e] = rp[w->vbase + f];
            } else { /* a null key matches nothing */
                memset((char *)o->data + e * sz, 0, sz);
                o->valid[e] = 0;
            }
        }
    }
}

static void *out_thread(void *arg) {
    out_rows(arg);
    return NULL;
}

/* An entity time with its row, for ordering a large group. */
typedef struct tpair {
    int64_t T;
    uint32_t e;
} tpair;

static int cmp_tpair(const void *a, const void *b) {
    const tpair *x = a, *y = b;
    if (x->T != y->T) return x->T < y->T ? -1 : 1;
    return (x->e > y->e) - (x->e < y->e);
}

/* Order a key's group of n entity times T with their rows e by (time,
 * row); tmp (grown as needed) holds a large group's pairs. */
static void sort_group(int64_t *T, uint32_t *e, size_t n, tpair **tmp, size_t *tcap) {
    if (n > 16) {
        if (n > *tcap) {
            *tcap = n;
            *tmp = mf__xrealloc(*tmp, n * sizeof **tmp);
        }
        tpair *p = *tmp;
        for (size_t i = 0; i < n; i++) p[i] = (tpair){T[i], e[i]};
        qsort(p, n, sizeof *p, cmp_tpair);
        for (size_t i = 0; i < n; i++) T[i] = p[i].T, e[i] = p[i].e;
        return;
    }
    for (size_t i = 1; i < n; i++) {
        int64_t t = T[i];
        uint32_t x = e[i];
        size_t j = i;
        while (j > 0 && (T[j - 1] > t || (T[j - 1] == t && e[j - 1] > x))) {
            T[j] = T[j - 1], e[j] = e[j - 1];
            j--;
        }
        T[j] = t, e[j] = x;
    }
}

static int run_unit(request *r, unit *u) {
    const mf_entity_df *df = r->df;
    size_t n = df->t->nrows, nk = u->view->n_entity_columns;
    long *ecol = mf__xcalloc(nk + 1, sizeof *ecol);
    for (size_t k = 0; k < nk; k++) {
        ecol[k] = mf__df_find(df, u->key_cols[k]);
        if (ecol[k] < 0) {
            free(ecol);
            if (df->origin)
                return mf__err_at(&u->err, MF_EREQUEST, df->origin, df->lines ? 1 : 0, "entity rows lack column "
                                  "'%s', a join key of feature view '%s'", u->key_cols[k],
                                  u->view->name);
            return mf__err(&u->err, MF_EREQUEST, "entity rows lack column '%s', a join key of "
                           "feature view '%s'", u->key_cols[k], u->view->name);
        }
    }
    int64_t t0 = mf__mono_us();
    int rc = MF_OK;
    /* each entity row's key id (NO_KEY: a null key), later its bucket */
    uint32_t *idx = mf__xmalloc((n ? n : 1) * sizeof *idx);
    int64_t ttl_us = mf__secs_to_us_sat(u->view->ttl_seconds);
    mf__keymap ek;
    mf__keymap_init_for(&ek, u->view);
    mf__buf key;
    mf__buf_init(&key);
    mf__buf_reserve(&key, 64);
    char want[64];
    /* pass 1: key ids of the entity rows */
    for (size_t i = 0; i < n && rc == MF_OK; i++) {
        key.len = 0;
        bool null_key = false;
        for (size_t k = 0; k < nk && rc == MF_OK; k++) {
            const mf__col *c = &df->t->cols[ecol[k]];
            Mf__ValueType kt = u->view->entity_columns[k]->dtype;
            int kr = mf__key_append_col(&key, kt, c, i);
            if (kr < 0) {
                char num[64];
                size_t len;
                const char *text = mf__col_text(c, i, num, &len);
                rc = mf__df_err(df, i, &u->err, c->name, text, len,
                                type_article(kt, want, sizeof want));
            }
            if (kr == 1) null_key = true;
        }
        if (rc) break;
        idx[i] = null_key ? NO_KEY : mf__keymap_intern(&ek, key.data, key.len);
    }
    mf__buf_free(&key);
    /* the entity times grouped by key, in order, then the source's rows
     * into the buckets */
    efilter flt = {NULL, NULL, ttl_us, NULL, 0, 0};
    const uint32_t *pos = idx; /* after the grouping */
    wins w, tw;
    memset(&w, 0, sizeof w);
    memset(&tw, 0, sizeof tw);
    size_t taken = 0;
    if (rc == MF_OK) {
        flt.start = mf__xcalloc(ek.n + 2, sizeof *flt.start);
        for (size_t i = 0; i < n; i++)
            if (idx[i] != NO_KEY) flt.start[idx[i] + 1]++;
        for (size_t k = 0; k < ek.n; k++) flt.start[k + 1] += flt.start[k];
        size_t nt = flt.start[ek.n];
        flt.T = mf__xmalloc((nt ? nt : 1) * sizeof *flt.T);
        uint32_t *ge = mf__xmalloc((nt ? nt : 1) * sizeof *ge); /* the rows, grouped */
        uint32_t *fill = mf__xmalloc((ek.n ? ek.n : 1) * sizeof *fill);
        memcpy(fill, flt.start, ek.n * sizeof *fill);
        for (size_t i = 0; i < n; i++)
            if (idx[i] != NO_KEY) {
                uint32_t j = fill[idx[i]]++;
                flt.T[j] = r->T[i];
                ge[j] = (uint32_t)i;
            }
        free(fill);
        tpair *tmp = NULL;
        size_t tcap = 0;
        for (size_t k = 0; k < ek.n; k++) {
            uint32_t a = flt.start[k], b = flt.start[k + 1];
            sort_group(flt.T + a, ge + a, b - a, &tmp, &tcap);
            for (uint32_t j = a; j < b; j++) idx[ge[j]] = j; /* key ids become buckets */
        }
        free(tmp);
        free(ge);
        if (ek.fixed8) gt_build(&flt, &ek);
        wins_init(&w, u, u->nfeat, nt, u->source->created_timestamp_column[0] != 0);
        vdata none;
        rc = load_view(r->cfg, u, INT64_MIN, INT64_MAX, r->nunits == 1, &flt, &ek, &w, &tw,
                       &taken, &none, &u->err);
        vdata_free(&none);
    }
    int64_t t1 = mf__mono_us();
    if (rc == MF_OK) {
        /* the answers, the keys in two halves on two threads when this is
         * the only unit */
        finish_part first = {&flt, &w, tw.rec ? &tw : NULL, 0, ek.n};
        finish_part second = first;
        pthread_t th;
        bool two = r->nunits == 1 && n >= 65536;
        if (two) {
            size_t half = flt.start[ek.n] / 2, k = 0;
            while (k < ek.n && flt.start[k] < half) k++;
            first.kto = second.kfrom = k;
            two = pthread_create(&th, NULL, finish_thread, &second) == 0;
            if (!two) first.kto = ek.n;
        }
        finish_keys(&first);
        if (two) pthread_join(th, NULL);
        /* the output columns, each entity row from its bucket's record (the
         * fixed-size features on two threads, one half of the rows each) */
        u->out = mf__xcalloc(u->nfeat + 1, sizeof *u->out);
        for (size_t f = 0; f < u->nfeat; f++) {
            mf__col_init(&u->out[f], u->feat[f]->name, u->feat[f]->dtype, false);
            mf__col_reserve(&u->out[f], n);
        }
        out_part o1 = {&w, pos, u->out, 0, n}, o2 = o1;
        two = r->nunits == 1 && n >= 65536;
        if (two) {
            o1.to = o2.from = n / 2;
            two = pthread_create(&th, NULL, out_thread, &o2) == 0;
            if (!two) o1.to = n;
        }
        out_rows(&o1);
        if (two) pthread_join(th, NULL);
        for (size_t f = 0; f < u->nfeat; f++) {
            mf__col *o = &u->out[f];
            if (w.width[f]) {
                o->n = n;
                continue;
            }
            for (size_t e = 0; e < n; e++) {
                const unsigned char *rp = pos[e] == NO_KEY ? NULL : wrec(&w, (long)pos[e]);
                if (!rp || !rp[w.vbase + f]) {
                    mf__col_push_null(o);
                    continue;
                }
                wslot t;
                memcpy(&t, rp + w.off[f], sizeof t);
                const mf__buf *h = t.off & WS_TAIL ? &tw.heap : &w.heap;
                mf__col_push_str(o, h->data + (t.off & ~WS_TAIL), t.len);
            }
        }
    }
    free(flt.start);
    free(flt.T);
    free(flt.gt);
    mf__keymap_free(&ek);
    wins_free(&w);
    wins_free(&tw);
    free(idx);
    free(ecol);
    if (rc == MF_OK)
        mf__log(3, "get-historical-features: view '%s': source read in %.3f s (%zu rows were a "
                "best row so far), answers in %.3f s", u->view->name, (double)(t1 - t0) / 1e6,
                taken, (double)(mf__mono_us() - t1) / 1e6);
    return rc;
}

static void *worker(void *arg) {
    request *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        size_t i = r->next_unit++;
        pthread_mutex_unlock(&r->lock);
        if (i >= r->nunits) return NULL;
        r->units[i].rc = run_unit(r, &r->units[i]);
    }
}

/*---- Entity-less retrieval ---------------------------------------------------*/

/* The first join key of view v whose text in serialized key kb (as
 * load_view makes them: per key, 4 length bytes and the text, or 8 bytes,
 * or 1 for a Bool) is not UTF-8 without NUL, or -1. */
static int key_text_bad(const Mf__FeatureViewSpec *v, const unsigned char *p) {
    for (size_t k = 0; k < v->n_entity_columns; k++) {
        int t = v->entity_columns[k]->dtype;
        if (t == MF__VALUE_TYPE__VT_STRING || t == MF__VALUE_TYPE__VT_BYTES) {
            uint32_t l;
            memcpy(&l, p, 4);
            if (t == MF__VALUE_TYPE__VT_STRING && mf__utf8_check((const char *)p + 4, l, false) != l)
                return (int)k;
            p += 4 + l;
        } else {
            p += t == MF__VALUE_TYPE__VT_BOOL ? 1 : 8;
        }
    }
    return -1;
}

/* Entity rows for [start, end]: every key with a row in the window, in
 * order of first appearance across the requested views, at time end. */
static int entityless_rows(request *r, int64_t start, int64_t end, mf_entity_df **out,
                           mf_error *err) {
    if (!r->nunits) /* on-demand views alone: no source to take keys from */
        return mf__err(err, MF_EUSAGE, "retrieval without entity rows needs a feature of at "
                       "least one feature view: the entity keys are those of its source");
    const Mf__FeatureViewSpec *v0 = r->units[0].view;
    for (size_t i = 1; i < r->nunits; i++) {
        const Mf__FeatureViewSpec *v = r->units[i].view;
        bool same = v->n_entity_columns == v0->n_entity_columns;
        for (size_t k = 0; same && k < v->n_entity_columns; k++)
            same = strcmp(v->entity_columns[k]->name, v0->entity_columns[k]->name) == 0 &&
                   v->entity_columns[k]->dtype == v0->entity_columns[k]->dtype;
        if (!same)
            return mf__err(err, MF_EUSAGE, "retrieval without entity rows needs views with the "
                           "same join keys; '%s' and '%s' differ", v0->name, v->name);
        /* the entity rows have one column per join key: every projection
         * must read it from that same column */
        for (size_t k = 0; k < v->n_entity_columns; k++)
            if (strcmp(r->units[i].key_cols[k], r->units[0].key_cols[k]) != 0)
                return mf__err(err, MF_EUSAGE, "retrieval without entity rows needs every "
                               "feature view to read its join key '%s' from the same entity "
                               "column; one reads '%s', another '%s' (a join key map): give "
                               "entity rows instead", v->entity_columns[k]->name,
                               r->units[0].key_cols[k], r->units[i].key_cols[k]);
    }
    mf__keymap all;
    mf__keymap_init(&all);
    int rc = MF_OK;
    for (size_t i = 0; i < r->nunits && rc == MF_OK; i++) {
        vdata d;
        size_t taken = 0;
        rc = load_view(r->cfg, &r->units[i], start, end, true, NULL, NULL, NULL, NULL, &taken,
                       &d, err);
        for (size_t k = 0; rc == MF_OK && k < d.keys.n; k++) {
            size_t len;
            const unsigned char *kb = mf__keymap_key(&d.keys, (uint32_t)k, &len);
            /* the keys become entity rows, and a String is UTF-8 text
             * (joined to entity rows, such a key would never match) */
            int bad = key_text_bad(r->units[i].view, kb);
            if (bad >= 0)
                rc = mf__err(err, MF_EDATA, "feature view '%s': a value of its join key '%s' in "
                             "its source is not UTF-8 text; retrieval without entity rows "
                             "cannot make an entity row of it", r->units[i].view->name,
                             r->units[i].view->entity_columns[bad]->name);
            else
                mf__keymap_intern(&all, kb, len);
        }
        vdata_free(&d);
    }
    if (rc) {
        mf__keymap_free(&all);
        return rc;
    }
    mf_entity_df *df = mf_entity_df_new(all.n);
    size_t nk = v0->n_entity_columns;
    /* add every column first: each mf__df_add_col may move the column array */
    bool added = true;
    for (size_t k = 0; k < nk && added; k++)
        added = mf__df_add_col(df, r->units[0].key_cols[k], v0->entity_columns[k]->dtype, false,
                           &rc, err) != NULL;
    if (added)
        added = mf__df_add_col(df, ENTITY_TS, MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, false, &rc,
                           err) != NULL;
    if (!added) { /* two keys for one column name (err says which), or no memory */
        mf_entity_df_free(df);
        mf__keymap_free(&all);
        return rc;
    }
    mf__col **cols = mf__xcalloc(nk + 1, sizeof *cols);
    for (size_t k = 0; k < nk; k++) cols[k] = &df->t->cols[k];
    mf__col *tcol = &df->t->cols[nk];
    for (size_t id = 0; id < all.n; id++) {
        size_t len;
        const unsigned char *p = mf__keymap_key(&all, (uint32_t)id, &len);
        for (size_t k = 0; k < nk; k++) {
            mf__col *c = cols[k];
            if (c->sc == MF__SC_TEXT) {
                uint32_t l;
                memcpy(&l, p, 4);
                /* cannot fail: a String's text was checked above, and a
                 * Bytes column takes any bytes */
                (void)mf__col_push_text(c, (const char *)p + 4, l);
                p += 4 + l;
                continue;
            }
            int64_t iv = 0;
            double dv = 0;
            mf__col_reserve(c, c->n + 1);
            c->valid[c->n] = 1;
            switch (c->sc) {
            case MF__SC_I32: memcpy(&iv, p, 8), p += 8; ((int32_t *)c->data)[c->n] = (int32_t)iv; break;
            case MF__SC_I64: memcpy(&iv, p, 8), p += 8; ((int64_t *)c->data)[c->n] = iv; break;
            case MF__SC_F32: memcpy(&dv, p, 8), p += 8; ((float *)c->data)[c->n] = (float)dv; break;
            case MF__SC_F64: memcpy(&dv, p, 8), p += 8; ((double *)c->data)[c->n] = dv; break;
            case MF__SC_BOOL: ((uint8_t *)c->data)[c->n] = *p++; break;
            case MF__SC_TEXT: break;
            }
            c->n++;
        }
        mf__col_push_i64(tcol, end);
    }
    free(cols);
    mf__keymap_free(&all);
    *out = df;
    return MF_OK;
}

/*---- Entry point -----------------------------------------------------------------*/

static void request_free(request *r) {
    for (size_t i = 0; i < r->nunits; i++) {
        unit *u = &r->units[i];
        for (size_t f = 0; u->out && f < u->nfeat; f++) mf__col_free(&u->out[f]);
        free(u->out);
        free(u->feat);
        free(u->key_cols);
    }
    free(r->units);
    for (size_t i = 0; i < r->ncols; i++) free(r->cols[i].name);
    free(r->cols);
    for (size_t i = 0; i < r->nodfvs; i++) {
        odfv_req *o = &r->odfvs[i];
        for (size_t j = 0; o->out && j < o->v->spec->n_features; j++) mf__col_free(&o->out[j]);
        free(o->out);
        free(o->in_unit);
        free(o->in_feat);
        free(o->in_name);
        free(o->req);
    }
    free(r->odfvs);
    mf__snapshot_unpin(r->snap);
}

/* Column `name` of the entity rows as a column of type t (text parsed,
 * numbers converted), for a request field of on-demand view `view`. */
static int request_field(const mf_entity_df *df, const char *view, const Mf__Field *f,
                         mf__col *out, mf_error *err) {
    long ci = mf__df_find(df, f->name);
    if (ci < 0)
        return mf__err(err, MF_EREQUEST, "on-demand feature view '%s' needs the request field "
                       "'%s': the entity rows have no column '%s'", view, f->name, f->name);
    const mf__col *c = &df->t->cols[ci];
    mf__col_init(out, f->name, f->dtype, false);
    size_t bad;
    if (mf__col_convert(out, c, df->t->nrows, &bad) != 0) {
        char num[64], want[64];
        size_t len;
        const char *text = mf__col_text(c, bad, num, &len);
        mf__col_free(out);
        return mf__df_err(df, bad, err, f->name, text, len,
                          type_article(f->dtype, want, sizeof want));
    }
    return MF_OK;
}

/* Run every requested on-demand view over the joined rows. */
static int run_odfvs(request *r, mf_error *err) {
    if (!r->nodfvs) return MF_OK;
    mf__transforms *tf;
    int rc = mf__transforms_new(&r->cfg->transform_budget, &tf, err);
    if (rc) return rc;
    size_t n = r->df->t->nrows;
    for (size_t i = 0; i < r->nodfvs && rc == MF_OK; i++) {
        odfv_req *o = &r->odfvs[i];
        const Mf__OnDemandFeatureViewSpec *s = o->v->spec;
        size_t nin = o->nin + o->nreq;
        mf__tf_input *in = mf__xcalloc(nin + 1, sizeof *in);
        mf__col *req = mf__xcalloc(o->nreq + 1, sizeof *req);
        size_t made = 0;
        for (size_t k = 0; k < o->nin; k++) {
            in[k].name = o->in_name[k];
            in[k].col = &r->units[o->in_unit[k]].out[o->in_feat[k]];
        }
        for (size_t k = 0; k < o->nreq && rc == MF_OK; k++) {
            rc = request_field(r->df, s->name, o->req[k], &req[k], err);
            if (rc == MF_OK) {
                made++;
                in[o->nin + k].name = o->req[k]->name;
                in[o->nin + k].col = &req[k];
            }
        }
        o->out = mf__xcalloc(s->n_features + 1, sizeof *o->out);
        for (size_t j = 0; j < s->n_features; j++)
            mf__col_init(&o->out[j], s->features[j]->name, s->features[j]->dtype, false);
        if (rc == MF_OK) rc = mf__transforms_run(tf, 1, o->v, in, nin, n, o->out, err);
        for (size_t k = 0; k < made; k++) mf__col_free(&req[k]);
        free(req);
        free(in);
    }
    mf__transforms_free(tf);
    return rc;
}

/* Entity timestamps as microseconds; errors name the row. */
static int entity_times(const mf_entity_df *df, int64_t **out, mf_error *err) {
    long tc = mf__df_find(df, ENTITY_TS);
    if (tc < 0)
        return df->origin ? mf__err_at(err, MF_EREQUEST, df->origin, df->lines ? 1 : 0, "entity rows have no '%s' "
                                       "column", ENTITY_TS)
                          : mf__err(err, MF_EREQUEST, "entity rows have no '%s' column", ENTITY_TS);
    const mf__col *c = &df->t->cols[tc];
    size_t n = df->t->nrows;
    int64_t *T = mf__xmalloc((n ? n : 1) * sizeof *T);
    for (size_t i = 0; i < n; i++) {
        if (!c->valid[i]) {
            free(T);
            return mf__df_err(df, i, err, ENTITY_TS, "", 0, "a timestamp (it is empty)");
        }
        if (c->sc == MF__SC_TEXT) {
            const char *p = c->heap + c->off[i];
            size_t len = c->off[i + 1] - c->off[i];
            if (mf__ts_parse(p, len, &T[i]) != 0) {
                free(T);
                return mf__df_err(df, i, err, ENTITY_TS, p, len, "a timestamp");
            }
        } else if (c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
            T[i] = mf__col_i64(c, i);
            if (!mf__ts_in_range(T[i])) { /* from the C API: any int64 */
                char num[32];
                int len = snprintf(num, sizeof num, "%lld us", (long long)T[i]);
                free(T);
                return mf__df_err(df, i, err, ENTITY_TS, num, (size_t)len,
                                  "a timestamp in the years 0001 to 9999");
            }
        } else if (mf__ts_from_seconds(mf__col_i64(c, i), &T[i]) != 0) {
            /* integers are epoch seconds */
            char num[32];
            int len = snprintf(num, sizeof num, "%lld", (long long)mf__col_i64(c, i));
            free(T);
            return mf__df_err(df, i, err, ENTITY_TS, num, (size_t)len,
                              "a timestamp in the years 0001 to 9999");
        }
    }
    *out = T;
    return MF_OK;
}

/* The Lua offline store's own historical retrieval (offline_lua.c), when
 * it takes this request: every unit's output columns filled by its
 * module; *done false when the C join is to run. */
static int lua_store_join(request *r, const mf_entity_df *df, const int64_t *T, bool *done,
                          mf_error *err) {
    *done = false;
    size_t nf = 0;
    for (size_t i = 0; i < r->nunits; i++) nf += r->units[i].nfeat;
    mf__hist_feature *f = mf__xcalloc(nf + 1, sizeof *f);
    mf__col *out = mf__xcalloc(nf + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < r->nunits; i++) {
        const unit *u = &r->units[i];
        for (size_t j = 0; j < u->nfeat; j++, k++) {
            f[k] = (mf__hist_feature){u->view, u->source, u->key_cols, u->feat[j]};
            mf__col_init(&out[k], u->feat[j]->name, u->feat[j]->dtype, false);
        }
    }
    /* every join key's column must be there, as for the C join */
    int rc = MF_OK;
    bool lua = strcmp(r->cfg->offline.type, "lua") == 0;
    for (size_t i = 0; lua && i < r->nunits && rc == MF_OK; i++)
        for (size_t j = 0; j < r->units[i].view->n_entity_columns && rc == MF_OK; j++)
            if (mf__df_find(df, r->units[i].key_cols[j]) < 0)
                rc = df->origin
                         ? mf__err_at(err, MF_EREQUEST, df->origin, df->lines ? 1 : 0, "entity rows lack column "
                                      "'%s', a join key of feature view '%s'",
                                      r->units[i].key_cols[j], r->units[i].view->name)
                         : mf__err(err, MF_EREQUEST, "entity rows lack column '%s', a join key "
                                   "of feature view '%s'", r->units[i].key_cols[j],
                                   r->units[i].view->name);
    if (rc == MF_OK) rc = mf__offline_lua_historical(r->cfg, df, T, f, nf, out, done, err);
    k = 0;
    for (size_t i = 0; i < r->nunits; i++) {
        unit *u = &r->units[i];
        if (rc == MF_OK && *done) {
            u->out = mf__xcalloc(u->nfeat + 1, sizeof *u->out);
            memcpy(u->out, out + k, u->nfeat * sizeof *out);
            memset(out + k, 0, u->nfeat * sizeof *out);
        }
        k += u->nfeat;
    }
    for (size_t j = 0; j < nf; j++) mf__col_free(&out[j]);
    free(out);
    free(f);
    return rc;
}

int mf_get_historical_features(mf_store *store, const mf_entity_df *entities,
                               const mf_historical_options *opts, mf_table **out,
                               mf_error *err) {
    mf__err_clear(err);
    if (!opts) return mf__err(err, MF_EUSAGE, "no options: give the features to retrieve");
    request r;
    memset(&r, 0, sizeof r);
    r.cfg = mf__store_config(store);
    int rc = mf__store_pin(store, &r.snap, err);
    if (rc) return rc;
    r.reg = mf__snapshot_registry(r.snap);
    rc = build_request(&r, opts, err);
    mf_entity_df *made = NULL;
    if (rc == MF_OK && !entities) {
        if (!mf__ts_in_range(opts->start_us) || !mf__ts_in_range(opts->end_us))
            rc = mf__err(err, MF_EUSAGE, "the window (%lld to %lld us) must lie in the years "
                         "0001 to 9999", (long long)opts->start_us, (long long)opts->end_us);
        else if (opts->end_us < opts->start_us)
            rc = mf__err(err, MF_EUSAGE, "the end of the window is before its start");
        else
            rc = entityless_rows(&r, opts->start_us, opts->end_us, &made, err);
        entities = made;
    }
    int64_t *T = NULL;
    /* rows are numbered in 32 bits in the join's buckets */
    if (rc == MF_OK && entities->t->nrows >= UINT32_MAX)
        rc = mf__err(err, MF_EDATA, "%zu entity rows: at most %u are joined at once",
                     entities->t->nrows, UINT32_MAX - 1);
    if (rc == MF_OK) rc = entity_times(entities, &T, err);
    /* entity columns must not collide with feature columns */
    for (size_t i = 0; rc == MF_OK && i < r.ncols; i++)
        if (mf__df_find(entities, r.cols[i].name) >= 0)
            rc = mf__err(err, MF_EREQUEST, "feature '%s' has the name of an entity column; use "
                         "full feature names (--full-feature-names)", r.cols[i].name);
    bool by_module = false;
    if (rc == MF_OK) rc = lua_store_join(&r, entities, T, &by_module, err);
    if (rc == MF_OK && !by_module) {
        r.df = entities;
        r.T = T;
        pthread_mutex_init(&r.lock, NULL);
        pthread_t th;
        bool two = r.nunits > 1 && pthread_create(&th, NULL, worker, &r) == 0;
        worker(&r);
        if (two) pthread_join(th, NULL);
        pthread_mutex_destroy(&r.lock);
        for (size_t i = 0; i < r.nunits && rc == MF_OK; i++)
            if (r.units[i].rc) {
                rc = r.units[i].rc;
                if (err) *err = r.units[i].err;
            }
    }
    if (rc == MF_OK) rc = run_odfvs(&r, err);
    if (rc == MF_OK) {
        const mf_table *et = entities->t;
        mf_table *t = mf__table_new(et->ncols + r.ncols);
        t->nrows = et->nrows;
        for (size_t j = 0; j < et->ncols; j++) {
            const mf__col *s = &et->cols[j];
            mf__col *c = &t->cols[j];
            mf__col_init(c, s->name, s->type, s->raw);
            mf__col_append(c, s); /* a copy of every row, in bulk */
        }
        for (size_t j = 0; j < r.ncols; j++) {
            mf__col *src = r.cols[j].odfv != SIZE_MAX
                               ? &r.odfvs[r.cols[j].odfv].out[r.cols[j].feat]
                               : &r.units[r.cols[j].unit].out[r.cols[j].feat];
            mf__col *c = &t->cols[et->ncols + j];
            /* output names are unique (checked), so each (unit, feature)
             * appears once: move the computed column into place */
            *c = *src;
            memset(src, 0, sizeof(mf__col));
            free(c->name);
            c->name = mf__xstrdup(r.cols[j].name);
        }
        *out = t;
    }
    free(T);
    mf_entity_df_free(made);
    request_free(&r);
    return rc;
}
