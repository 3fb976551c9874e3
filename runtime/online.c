/*
 * online.c — get_online_features: the serving hot path.
 *
 * A request names features (refs or a service) once; at the first call, and
 * again only when the store's registry snapshot changes, they are resolved
 * into units (a view, or a projection with alias and join_key_map) and
 * output columns. Per call: the entity columns are typed by their join
 * keys' types (text parsed once), each unit's keys are serialized (v3) into
 * one reused buffer, the online store fills the unit's output columns, and
 * statuses and event times are set. Request and response keep their memory
 * across calls: after warm-up a call allocates nothing.
 *
 * Response layout (docs/concepts.md, "Online reads"): join keys first, in the order
 * the request gave them, then features in request order, then the outputs
 * of on-demand views in request order.
 *
 * On-demand views run after the read (transform.c, with the calling
 * thread's runtime): their source features are read like any feature, into
 * hidden columns of the response (after the visible ones) when they are not
 * requested themselves; their request fields are entity columns of the
 * request that are no join key, typed by the request source's schema.
 *
 * A view without entities has one stored row (keyed by Feast's dummy
 * entity, see store_redis.c); like Feast, a request answers it once per
 * entity row, counted from whatever columns the request gives.
 */
#include <stdlib.h>
#include <string.h>

#include "mf_online.h"
#include "mf_transform.h"
#include "mf_values.h"

static const char *const status_names[] = {"PRESENT", "NOT_FOUND", "NULL_VALUE",
                                           "OUTSIDE_MAX_AGE"};

const char *mf_status_name(mf_status_code s) {
    return (unsigned)s < 4 ? status_names[s] : "UNKNOWN";
}

/*---- Requests --------------------------------------------------------------*/

typedef struct ent_col {
    char *name;
    mf__col col; /* int64 or raw text, as the host gave it */
    bool given;  /* in the current call (clear_entities ends a call) */
    size_t seq;  /* the order it was given in, in the current call */
} ent_col;

typedef struct ounit {
    const Mf__FeatureViewSpec *view;
    const char *alias;
    size_t nkeys;
    size_t *key_ent;       /* entity column of each view join key */
    const char **key_names; /* view join key names (serialization) */
    Mf__ValueType *key_types;
    size_t *key_order;      /* sorted-name order */
    size_t *feat_idx;       /* into view->features */
    size_t nfeat;
    size_t *out_col;        /* response column of each feature */
    size_t key_bytes;       /* a serialized key's bytes, but for text values */
} ounit;

/* A requested on-demand view: its inputs (response columns: source
 * features, visible or hidden), its request fields and its outputs. */
typedef struct oodfv {
    const Mf__OnDemandFeatureView *v;
    const char *alias;      /* output prefix with full feature names */
    size_t *in_col;         /* response column of each source feature */
    const char **in_name;   /* its name for the transform */
    size_t nin;
    const Mf__Field **req;  /* request fields */
    size_t *req_ent;        /* their entity columns */
    size_t nreq;
    size_t *out_feat;       /* requested outputs: index into v's features */
    size_t *out_col;        /* and their response columns */
    size_t nout;
    /* per call */
    mf__col *req_cols;      /* request fields, typed */
    mf__col *all_out;       /* every output of v */
    mf__tf_input *inputs;
} oodfv;

struct mf_online_request {
    char **refs;
    size_t nrefs;
    char *service;
    int full;
    ent_col *ents;
    size_t nents, nrows;
    size_t seq_next; /* entity columns given in the current call */
    /* resolution, against snap (pinned while the units point into it) */
    mf__snapshot *snap;
    ounit *units;
    size_t nunits;
    char **names;        /* output columns: entity join keys, then features */
    Mf__ValueType *types;
    size_t *col_unit;    /* feature columns: owning unit, or SIZE_MAX for keys */
    size_t nkeycols, ncols;
    size_t *keycol_ent;  /* entity column of each output join-key column */
    size_t nvis;         /* visible columns; hidden source features follow */
    oodfv *odfvs;
    size_t nodfvs;
    Mf__FeatureView **stored; /* views standing for written on-demand views */
    size_t nstored;
    /* scratch */
    mf__buf keys;
    size_t *key_off;
    const unsigned char **key_ptr;
    size_t *key_len;
    size_t key_cap;
    mf__kval *kvals;
    mf__read_batch *rbs; /* one per unit */
    mf__col ***outs;     /* per unit: its output columns */
    size_t *outs_cap;
    size_t rb_cap;
};

struct mf_online_response {
    size_t ncols, nrows, cap_cols, cap_cells;
    size_t nvis; /* the columns the host sees; hidden inputs of transforms follow */
    char **names; /* borrowed from the request's resolution, copied */
    mf__col *cols;
    uint8_t *status;  /* ncols * nrows */
    int64_t *ts;      /* ncols * nrows */
    mf__buf json;
};

mf_online_request *mf_online_request_new(void) { return mf__xcalloc(1, sizeof(mf_online_request)); }

static void drop_odfvs(mf_online_request *r) {
    for (size_t i = 0; i < r->nodfvs; i++) {
        oodfv *o = &r->odfvs[i];
        free(o->in_col);
        free(o->in_name);
        free(o->req);
        free(o->req_ent);
        free(o->out_feat);
        free(o->out_col);
        for (size_t k = 0; o->req_cols && k < o->nreq; k++) mf__col_free(&o->req_cols[k]);
        free(o->req_cols);
        for (size_t k = 0; o->all_out && k < o->v->spec->n_features; k++)
            mf__col_free(&o->all_out[k]);
        free(o->all_out);
        free(o->inputs);
    }
    free(r->odfvs);
    r->odfvs = NULL;
    r->nodfvs = 0;
}

static void drop_plan(mf_online_request *r) {
    drop_odfvs(r);
    for (size_t i = 0; i < r->nstored; i++) mf__odfv_store_view_free(r->stored[i]);
    free(r->stored);
    r->stored = NULL;
    r->nstored = 0;
    for (size_t i = 0; i < r->nunits; i++) {
        ounit *u = &r->units[i];
        free(u->key_ent);
        free(u->key_names);
        free(u->key_types);
        free(u->key_order);
        free(u->feat_idx);
        free(u->out_col);
    }
    free(r->units);
    for (size_t i = 0; i < r->ncols; i++) free(r->names[i]);
    free(r->names);
    free(r->types);
    free(r->col_unit);
    free(r->keycol_ent);
    r->units = NULL;
    r->nunits = r->ncols = r->nkeycols = r->nvis = 0;
    r->names = NULL;
    r->types = NULL;
    r->col_unit = NULL;
    r->keycol_ent = NULL;
    mf__snapshot_unpin(r->snap);
    r->snap = NULL;
}

void mf_online_request_free(mf_online_request *r) {
    if (!r) return;
    drop_plan(r);
    for (size_t i = 0; i < r->nrefs; i++) free(r->refs[i]);
    free(r->refs);
    free(r->service);
    for (size_t i = 0; i < r->nents; i++) free(r->ents[i].name), mf__col_free(&r->ents[i].col);
    free(r->ents);
    mf__buf_free(&r->keys);
    free(r->key_off);
    free(r->key_ptr);
    free(r->key_len);
    free(r->kvals);
    for (size_t i = 0; i < r->rb_cap; i++) free(r->outs[i]);
    free(r->outs);
    free(r->outs_cap);
    free(r->rbs);
    free(r);
}

int mf_online_request_set_features(mf_online_request *r, const char *const *refs, size_t n,
                                   mf_error *err) {
    MF__UNUSED(err);
    drop_plan(r);
    for (size_t i = 0; i < r->nrefs; i++) free(r->refs[i]);
    free(r->service);
    r->service = NULL;
    r->refs = mf__xrealloc(r->refs, (n ? n : 1) * sizeof *r->refs);
    for (size_t i = 0; i < n; i++) r->refs[i] = mf__xstrdup(refs[i]);
    r->nrefs = n;
    return MF_OK;
}

int mf_online_request_set_feature_service(mf_online_request *r, const char *name, mf_error *err) {
    int rc = mf_online_request_set_features(r, NULL, 0, err);
    r->service = mf__xstrdup(name);
    return rc;
}

void mf_online_request_set_full_feature_names(mf_online_request *r, int on) {
    if ((r->full != 0) != (on != 0)) drop_plan(r);
    r->full = on != 0;
}

void mf_online_request_clear_entities(mf_online_request *r) {
    for (size_t i = 0; i < r->nents; i++) {
        mf__col_clear(&r->ents[i].col);
        r->ents[i].given = false;
    }
    r->nrows = 0;
    r->seq_next = 0;
}

/* Columns kept from earlier calls (a reused request keeps them, so that
 * the next call of the same shape reuses its plan) past this many are
 * dropped when a new name comes: a server's request reused with ever new
 * names would otherwise grow, and its resolution with it, without bound. */
#define ENT_KEEP 8

/* The column for join_key: reused when the same name was used before (a
 * request's shape usually repeats), else a new one (invalidates the plan). */
static ent_col *ent_slot(mf_online_request *r, const char *name, size_t n, bool text,
                         mf_error *err) {
    bool any = false;
    for (size_t i = 0; i < r->nents; i++) any |= r->ents[i].given;
    if (any && n != r->nrows) {
        mf__err(err, MF_EREQUEST, "entity column '%s' has %zu values, others have %zu", name, n,
                r->nrows);
        return NULL;
    }
    r->nrows = n;
    for (size_t i = 0; i < r->nents; i++) {
        ent_col *e = &r->ents[i];
        if (strcmp(e->name, name) != 0) continue;
        if (e->given) {
            mf__err(err, MF_EREQUEST, "entity column '%s' given twice", name);
            return NULL;
        }
        if ((e->col.sc == MF__SC_TEXT) != text) {
            mf__col_free(&e->col);
            mf__col_init(&e->col, name, text ? MF__VALUE_TYPE__VT_STRING : MF__VALUE_TYPE__VT_INT64,
                         text);
            drop_plan(r);
        }
        e->given = true;
        e->seq = r->seq_next++;
        return e;
    }
    drop_plan(r); /* a new name: the plan is made again, so slots may move */
    if (r->nents >= ENT_KEEP) {
        size_t k = 0;
        for (size_t i = 0; i < r->nents; i++) {
            if (r->ents[i].given) {
                r->ents[k++] = r->ents[i];
            } else {
                free(r->ents[i].name);
                mf__col_free(&r->ents[i].col);
            }
        }
        r->nents = k;
    }
    r->ents = mf__xrealloc(r->ents, (r->nents + 1) * sizeof *r->ents);
    ent_col *e = &r->ents[r->nents++];
    e->name = mf__xstrdup(name);
    mf__col_init(&e->col, name, text ? MF__VALUE_TYPE__VT_STRING : MF__VALUE_TYPE__VT_INT64, text);
    e->given = true;
    e->seq = r->seq_next++;
    return e;
}

/* Entity column e could not be allocated: the request keeps the rows it
 * had (nrows back to `rows` when no other column was given). */
static int ent_nomem(mf_online_request *r, ent_col *e, size_t rows, const char *join_key,
                     size_t n, mf_error *err) {
    e->given = false;
    mf__col_clear(&e->col);
    bool any = false;
    for (size_t i = 0; i < r->nents; i++) any |= r->ents[i].given;
    if (!any) r->nrows = rows;
    return mf__err_nomem(err, "entity column '%s' of %zu rows", join_key, n);
}

int mf_online_request_add_int64(mf_online_request *r, const char *join_key, const int64_t *values,
                                size_t n, mf_error *err) {
    size_t rows = r->nrows;
    ent_col *e = ent_slot(r, join_key, n, false, err);
    if (!e) return MF_EREQUEST;
    if (mf__col_try_reserve(&e->col, n) != 0) return ent_nomem(r, e, rows, join_key, n, err);
    for (size_t i = 0; i < n; i++) {
        ((int64_t *)e->col.data)[i] = values[i];
        e->col.valid[i] = 1;
    }
    e->col.n = n;
    return MF_OK;
}

int mf_online_request_add_text(mf_online_request *r, const char *join_key,
                               const char *const *values, size_t n, mf_error *err) {
    size_t rows = r->nrows;
    ent_col *e = ent_slot(r, join_key, n, true, err);
    if (!e) return MF_EREQUEST;
    if (mf__col_try_reserve(&e->col, n) != 0) return ent_nomem(r, e, rows, join_key, n, err);
    size_t text = 0;
    bool fits = true;
    for (size_t i = 0; i < n && fits; i++)
        if (values[i]) fits = mf__size_add(text, strlen(values[i]), &text);
    if (!fits || mf__col_try_reserve_heap(&e->col, text) != 0)
        return ent_nomem(r, e, rows, join_key, n, err);
    for (size_t i = 0; i < n; i++) {
        if (values[i]) mf__col_push_str(&e->col, values[i], strlen(values[i]));
        else mf__col_push_null(&e->col);
    }
    return MF_OK;
}

/*---- Resolution ------------------------------------------------------------*/

static long ent_find(const mf_online_request *r, const char *name) {
    for (size_t i = 0; i < r->nents; i++)
        if (strcmp(r->ents[i].name, name) == 0 && r->ents[i].given)
            return (long)i;
    return -1;
}

static int add_unit(mf_online_request *r, const Mf__FeatureViewSpec *v, const char *alias,
                    const Mf__FeatureViewProjection *p, mf_error *err) {
    if (!v->online)
        return mf__err(err, MF_EREQUEST, "feature view '%s' is not online (online = false); "
                       "its features are not served", v->name);
    r->units = mf__xrealloc(r->units, (r->nunits + 1) * sizeof *r->units);
    ounit *u = &r->units[r->nunits];
    memset(u, 0, sizeof *u);
    u->view = v;
    u->alias = alias && alias[0] ? alias : v->name;
    size_t nk = v->n_entity_columns;
    u->nkeys = nk;
    u->key_ent = mf__xcalloc(nk + 1, sizeof *u->key_ent);
    u->key_names = mf__xcalloc(nk + 1, sizeof *u->key_names);
    u->key_types = mf__xcalloc(nk + 1, sizeof *u->key_types);
    u->key_order = mf__xcalloc(nk + 1, sizeof *u->key_order);
    r->nunits++;
    for (size_t k = 0; k < nk; k++) {
        const char *col = v->entity_columns[k]->name;
        for (size_t j = 0; p && j < p->n_join_key_map; j++)
            if (strcmp(p->join_key_map[j]->view_key, col) == 0) col = p->join_key_map[j]->entity_column;
        long e = ent_find(r, col);
        if (e < 0)
            return mf__err(err, MF_EREQUEST, "missing join key '%s' (needed by feature view '%s')",
                           col, v->name);
        u->key_ent[k] = (size_t)e;
        u->key_names[k] = v->entity_columns[k]->name;
        u->key_types[k] = v->entity_columns[k]->dtype;
    }
    mf__ekey_order(u->key_names, nk, u->key_order);
    /* the count; per key its name with type and length, its value with
     * type and length and at most 8 bytes (text: its own length) */
    u->key_bytes = 4;
    for (size_t k = 0; k < nk; k++) u->key_bytes += 24 + strlen(u->key_names[k]);
    return MF_OK;
}

/* Whether unit ui joins on the entity columns projection p (may be NULL)
 * maps view v's join keys to. */
static bool unit_keys_are(const mf_online_request *r, size_t ui, const Mf__FeatureViewSpec *v,
                          const Mf__FeatureViewProjection *p) {
    for (size_t k = 0; k < v->n_entity_columns; k++) {
        const char *col = v->entity_columns[k]->name;
        for (size_t j = 0; p && j < p->n_join_key_map; j++)
            if (strcmp(p->join_key_map[j]->view_key, col) == 0) col = p->join_key_map[j]->entity_column;
        if (ent_find(r, col) != (long)r->units[ui].key_ent[k]) return false;
    }
    return true;
}

/* Append an output column (name owned by the request). */
static size_t add_col(mf_online_request *r, char *name, Mf__ValueType type, size_t unit) {
    r->names = mf__xrealloc(r->names, (r->ncols + 1) * sizeof *r->names);
    r->types = mf__xrealloc(r->types, (r->ncols + 1) * sizeof *r->types);
    r->col_unit = mf__xrealloc(r->col_unit, (r->ncols + 1) * sizeof *r->col_unit);
    r->names[r->ncols] = name;
    r->types[r->ncols] = type;
    r->col_unit[r->ncols] = unit;
    return r->ncols++;
}

/* Read feature fname of unit ui into a new column: visible (named as the
 * response names it) or hidden (an input of a transform only). *col: the
 * column. */
static int add_feat_col(mf_online_request *r, size_t ui, const char *fname, bool hidden,
                        size_t *col, mf_error *err) {
    ounit *u = &r->units[ui];
    const Mf__FeatureViewSpec *v = u->view;
    size_t fi;
    for (fi = 0; fi < v->n_features; fi++)
        if (strcmp(v->features[fi]->name, fname) == 0) break;
    if (fi == v->n_features)
        return mf__err(err, MF_EREQUEST, "unknown feature '%s:%s'", v->name, fname);
    if (hidden) /* read once: a column that has it already serves */
        for (size_t f = 0; f < u->nfeat; f++)
            if (u->feat_idx[f] == fi) {
                *col = u->out_col[f];
                return MF_OK;
            }
    u->feat_idx = mf__xrealloc(u->feat_idx, (u->nfeat + 1) * sizeof *u->feat_idx);
    u->out_col = mf__xrealloc(u->out_col, (u->nfeat + 1) * sizeof *u->out_col);
    u->feat_idx[u->nfeat] = fi;
    char *name = hidden ? mf__xasprintf("\x01%s:%s", v->name, fname)
                 : r->full ? mf__xasprintf("%s__%s", u->alias, fname)
                           : mf__xstrdup(fname);
    *col = add_col(r, name, v->features[fi]->dtype, ui);
    u->out_col[u->nfeat++] = *col;
    return MF_OK;
}

static int add_feat(mf_online_request *r, size_t ui, const char *fname, mf_error *err) {
    size_t col;
    return add_feat_col(r, ui, fname, false, &col, err);
}

/* The request's entry for on-demand view v (with alias), added on first use. */
static oodfv *odfv_entry(mf_online_request *r, const Mf__OnDemandFeatureView *v,
                         const char *alias) {
    alias = alias && alias[0] ? alias : v->spec->name;
    for (size_t i = 0; i < r->nodfvs; i++)
        if (r->odfvs[i].v == v && !strcmp(r->odfvs[i].alias, alias)) return &r->odfvs[i];
    r->odfvs = mf__xrealloc(r->odfvs, (r->nodfvs + 1) * sizeof *r->odfvs);
    oodfv *o = &r->odfvs[r->nodfvs++];
    memset(o, 0, sizeof *o);
    o->v = v;
    o->alias = alias;
    return o;
}

/* Note output fname of on-demand view o as requested (its column comes
 * after every regular feature). */
static int odfv_want(const oodfv *o, const char *fname, size_t *fi, mf_error *err) {
    const Mf__OnDemandFeatureViewSpec *s = o->v->spec;
    for (*fi = 0; *fi < s->n_features; (*fi)++)
        if (!strcmp(s->features[*fi]->name, fname)) return MF_OK;
    return mf__err(err, MF_EREQUEST, "unknown feature '%s:%s'", s->name, fname);
}

static int unknown_view(const mf__snapshot *snap, const char *name, mf_error *err) {
    MF__UNUSED(snap);
    return mf__err(err, MF_EREQUEST, "unknown feature view '%s'", name);
}

static const Mf__OnDemandFeatureView *find_odfv(const mf__snapshot *snap, const char *name) {
    const mf__obj *o = mf__snapshot_find(snap, MF_KIND_ON_DEMAND_FEATURE_VIEW, name);
    return o ? (const Mf__OnDemandFeatureView *)o->msg : NULL;
}

/* The view that stands in the online store for on-demand view od when it
 * is written there (write_to_online_store): read like a feature view, not
 * computed. NULL otherwise. Owned by the request's resolution. */
static const Mf__FeatureViewSpec *stored_view(mf_online_request *r, const mf__snapshot *snap,
                                              const Mf__OnDemandFeatureView *od) {
    if (!od->spec->write_to_online_store) return NULL;
    Mf__FeatureView *sv = mf__odfv_store_view(mf__snapshot_registry(snap),
                                              mf__snapshot_project(snap), od->spec);
    if (!sv) return NULL;
    r->stored = mf__xrealloc(r->stored, (r->nstored + 1) * sizeof *r->stored);
    r->stored[r->nstored++] = sv;
    return sv->spec;
}

/* The inputs of on-demand view o: its source features (read into hidden
 * columns unless a requested column has them) and its request fields. */
static int odfv_inputs(mf_online_request *r, mf__snapshot *snap, oodfv *o, mf_error *err) {
    const Mf__OnDemandFeatureViewSpec *s = o->v->spec;
    int rc = MF_OK;
    for (size_t k = 0; k < s->n_source_views && rc == MF_OK; k++) {
        const Mf__FeatureViewProjection *p = s->source_views[k];
        const mf__obj *vo = mf__snapshot_find(snap, MF_KIND_FEATURE_VIEW, p->view_name);
        if (!vo)
            return mf__err(err, MF_EREGISTRY, "on-demand feature view '%s': its source view '%s' "
                           "is not registered", s->name, p->view_name);
        const Mf__FeatureViewSpec *fv = (const Mf__FeatureViewSpec *)vo->spec;
        size_t ui;
        /* a unit of the request's reused when it joins on the same entity
         * columns (a join_key_map may point the view at others) */
        for (ui = 0; ui < r->nunits; ui++)
            if (r->units[ui].view == fv &&
                !strcmp(r->units[ui].alias, p->alias && p->alias[0] ? p->alias : fv->name) &&
                unit_keys_are(r, ui, fv, p))
                break;
        if (ui == r->nunits && (rc = add_unit(r, fv, p->alias, p, err)) != MF_OK) return rc;
        size_t nf = p->n_features ? p->n_features : fv->n_features;
        o->in_col = mf__xrealloc(o->in_col, (o->nin + nf + 1) * sizeof *o->in_col);
        o->in_name = mf__xrealloc(o->in_name, (o->nin + nf + 1) * sizeof *o->in_name);
        for (size_t j = 0; j < nf && rc == MF_OK; j++) {
            const char *fname = p->n_features ? p->features[j] : fv->features[j]->name;
            for (size_t q = 0; q < o->nin; q++)
                if (!strcmp(o->in_name[q], fname))
                    return mf__err(err, MF_EREQUEST, "on-demand feature view '%s': two of its "
                                   "source views have a feature '%s'; select one of them",
                                   s->name, fname);
            rc = add_feat_col(r, ui, fname, true, &o->in_col[o->nin], err);
            o->in_name[o->nin++] = fname;
        }
    }
    for (size_t k = 0; k < s->n_request_sources && rc == MF_OK; k++) {
        const mf__obj *dso = mf__snapshot_find(snap, MF_KIND_DATA_SOURCE, s->request_sources[k]);
        if (!dso)
            return mf__err(err, MF_EREGISTRY, "on-demand feature view '%s': its request source "
                           "'%s' is not registered", s->name, s->request_sources[k]);
        const Mf__DataSourceSpec *ds = (const Mf__DataSourceSpec *)dso->spec;
        o->req = mf__xrealloc(o->req, (o->nreq + ds->n_schema + 1) * sizeof *o->req);
        o->req_ent = mf__xrealloc(o->req_ent, (o->nreq + ds->n_schema + 1) * sizeof *o->req_ent);
        for (size_t j = 0; j < ds->n_schema; j++) {
            long e = ent_find(r, ds->schema[j]->name);
            if (e < 0)
                return mf__err(err, MF_EREQUEST, "on-demand feature view '%s' needs the request "
                               "field '%s': give it with the entity values", s->name,
                               ds->schema[j]->name);
            o->req[o->nreq] = ds->schema[j];
            o->req_ent[o->nreq++] = (size_t)e;
        }
    }
    return rc;
}

/* Resolve the request's features against snap; on success the request
 * pins snap. */
static int resolve(mf_online_request *r, mf__snapshot *snap, mf_error *err) {
    drop_plan(r);
    int rc = MF_OK;
    /* join-key columns first: every entity column that some unit uses */
    if (r->service) {
        const mf__obj *so = mf__snapshot_find(snap, MF_KIND_FEATURE_SERVICE, r->service);
        if (!so) return mf__err(err, MF_EREQUEST, "unknown feature service '%s'", r->service);
        const Mf__FeatureServiceSpec *fs = (const Mf__FeatureServiceSpec *)so->spec;
        for (size_t i = 0; i < fs->n_features && rc == MF_OK; i++) {
            const Mf__FeatureViewProjection *p = fs->features[i];
            const mf__obj *vo = mf__snapshot_find(snap, MF_KIND_FEATURE_VIEW, p->view_name);
            const Mf__OnDemandFeatureView *od = vo ? NULL : find_odfv(snap, p->view_name);
            const Mf__FeatureViewSpec *sv = od ? stored_view(r, snap, od) : NULL;
            if (sv) { /* written to the online store: read as a view */
                rc = add_unit(r, sv, p->alias, p, err);
                for (size_t j = 0; j < p->n_features && rc == MF_OK; j++)
                    rc = add_feat(r, r->nunits - 1, p->features[j], err);
                continue;
            }
            if (od) {
                oodfv *o = odfv_entry(r, od, p->alias);
                for (size_t j = 0; j < p->n_features && rc == MF_OK; j++) {
                    size_t fi;
                    rc = odfv_want(o, p->features[j], &fi, err);
                    if (rc == MF_OK) {
                        o->out_feat = mf__xrealloc(o->out_feat, (o->nout + 1) * sizeof *o->out_feat);
                        o->out_feat[o->nout++] = fi;
                    }
                }
                continue;
            }
            if (!vo) {
                drop_plan(r);
                return unknown_view(snap, p->view_name, err);
            }
            rc = add_unit(r, (const Mf__FeatureViewSpec *)vo->spec, p->alias, p, err);
            for (size_t j = 0; j < p->n_features && rc == MF_OK; j++)
                rc = add_feat(r, r->nunits - 1, p->features[j], err);
        }
    } else {
        if (!r->nrefs) return mf__err(err, MF_EREQUEST, "no features requested");
        for (size_t i = 0; i < r->nrefs && rc == MF_OK; i++) {
            const char *ref = r->refs[i], *colon = strchr(ref, ':');
            if (!colon || colon == ref || !colon[1]) {
                drop_plan(r);
                return mf__err(err, MF_EREQUEST, "feature ref '%s' is not of the form view:feature",
                               ref);
            }
            size_t ui;
            for (ui = 0; ui < r->nunits; ui++)
                if (strlen(r->units[ui].view->name) == (size_t)(colon - ref) &&
                    strncmp(r->units[ui].view->name, ref, (size_t)(colon - ref)) == 0)
                    break;
            if (ui == r->nunits) {
                char *vn = mf__xstrndup(ref, (size_t)(colon - ref));
                const mf__obj *vo = mf__snapshot_find(snap, MF_KIND_FEATURE_VIEW, vn);
                const Mf__OnDemandFeatureView *od = vo ? NULL : find_odfv(snap, vn);
                free(vn);
                const Mf__FeatureViewSpec *sv = od ? stored_view(r, snap, od) : NULL;
                if (sv) {
                    rc = add_unit(r, sv, NULL, NULL, err);
                    if (rc == MF_OK) rc = add_feat(r, ui, colon + 1, err);
                    continue;
                }
                if (od) {
                    oodfv *o = odfv_entry(r, od, NULL);
                    size_t fi;
                    rc = odfv_want(o, colon + 1, &fi, err);
                    if (rc == MF_OK) {
                        o->out_feat = mf__xrealloc(o->out_feat, (o->nout + 1) * sizeof *o->out_feat);
                        o->out_feat[o->nout++] = fi;
                    }
                    continue;
                }
                if (!vo) {
                    vn = mf__xstrndup(ref, (size_t)(colon - ref));
                    rc = unknown_view(snap, vn, err);
                    free(vn);
                } else {
                    rc = add_unit(r, (const Mf__FeatureViewSpec *)vo->spec, NULL, NULL, err);
                }
            }
            if (rc == MF_OK) rc = add_feat(r, ui, colon + 1, err);
        }
    }
    /* on-demand outputs after every regular feature, then the hidden
     * columns of their inputs */
    for (size_t i = 0; i < r->nodfvs && rc == MF_OK; i++) {
        oodfv *o = &r->odfvs[i];
        o->out_col = mf__xcalloc(o->nout + 1, sizeof *o->out_col);
        for (size_t j = 0; j < o->nout; j++) {
            const Mf__Field *f = o->v->spec->features[o->out_feat[j]];
            char *name = r->full ? mf__xasprintf("%s__%s", o->alias, f->name) : mf__xstrdup(f->name);
            o->out_col[j] = add_col(r, name, f->dtype, SIZE_MAX - 1);
        }
    }
    size_t nvis = r->ncols;
    for (size_t i = 0; i < r->nodfvs && rc == MF_OK; i++) rc = odfv_inputs(r, snap, &r->odfvs[i], err);
    if (rc) {
        drop_plan(r);
        return rc;
    }
    for (size_t i = 0; i < nvis; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->names[i], r->names[j]) == 0) {
                rc = r->full ? mf__err(err, MF_EREQUEST, "two requested features are named "
                                       "'%s' (one feature asked twice, or two projections "
                                       "whose names collide)", r->names[i])
                             : mf__err(err, MF_EREQUEST, "two requested features are named '%s'; "
                                       "use full feature names", r->names[i]);
                drop_plan(r);
                return rc;
            }
    /* prepend the join-key columns (entity columns used by a unit, request
     * order), typed by the first unit that uses each */
    size_t nf = r->ncols, nkc = 0;
    size_t *kent = mf__xcalloc(r->nents + 1, sizeof *kent);
    Mf__ValueType *ktype = mf__xcalloc(r->nents + 1, sizeof *ktype);
    for (size_t e = 0; e < r->nents; e++) {
        if (ent_find(r, r->ents[e].name) != (long)e) continue;
        Mf__ValueType t = MF__VALUE_TYPE__VT_INVALID;
        for (size_t ui = 0; ui < r->nunits && !t; ui++)
            for (size_t k = 0; k < r->units[ui].nkeys && !t; k++)
                if (r->units[ui].key_ent[k] == e) t = r->units[ui].key_types[k];
        for (size_t ui = 0; ui < r->nunits && rc == MF_OK; ui++)
            for (size_t k = 0; k < r->units[ui].nkeys; k++)
                if (r->units[ui].key_ent[k] == e && r->units[ui].key_types[k] != t)
                    rc = mf__err(err, MF_EREQUEST, "join key '%s' has different types in the "
                                 "requested views", r->ents[e].name);
        if (t) {
            /* in the order this call gave them (request order), not the
             * order the request first met their names */
            size_t k = nkc++;
            while (k > 0 && r->ents[kent[k - 1]].seq > r->ents[e].seq) {
                kent[k] = kent[k - 1];
                ktype[k] = ktype[k - 1];
                k--;
            }
            kent[k] = e;
            ktype[k] = t;
        }
    }
    size_t total = nkc + nf;
    char **names = mf__xcalloc(total + 1, sizeof *names);
    Mf__ValueType *types = mf__xcalloc(total + 1, sizeof *types);
    size_t *cu = mf__xcalloc(total + 1, sizeof *cu);
    for (size_t k = 0; k < nkc; k++) {
        names[k] = mf__xstrdup(r->ents[kent[k]].name);
        types[k] = ktype[k];
        cu[k] = SIZE_MAX;
    }
    memcpy(names + nkc, r->names, nf * sizeof *names);
    memcpy(types + nkc, r->types, nf * sizeof *types);
    memcpy(cu + nkc, r->col_unit, nf * sizeof *cu);
    free(r->names);
    free(r->types);
    free(r->col_unit);
    free(ktype);
    r->names = names;
    r->types = types;
    r->col_unit = cu;
    r->ncols = total;
    r->nkeycols = nkc;
    r->keycol_ent = kent;
    for (size_t ui = 0; ui < r->nunits; ui++)
        for (size_t f = 0; f < r->units[ui].nfeat; f++) r->units[ui].out_col[f] += nkc;
    r->nvis = nkc + nvis;
    for (size_t i = 0; i < r->nodfvs; i++) {
        oodfv *o = &r->odfvs[i];
        for (size_t j = 0; j < o->nout; j++) o->out_col[j] += nkc;
        for (size_t j = 0; j < o->nin; j++) o->in_col[j] += nkc;
    }
    /* units read their key values from the typed output columns */
    for (size_t ui = 0; ui < r->nunits; ui++)
        for (size_t k = 0; k < r->units[ui].nkeys; k++)
            for (size_t c = 0; c < nkc; c++)
                if (kent[c] == r->units[ui].key_ent[k]) {
                    r->units[ui].key_ent[k] = c;
                    break; /* c is a column now, no entity index to look up again */
                }
    if (rc) drop_plan(r);
    else r->snap = mf__snapshot_ref(snap);
    return rc;
}

/*---- Responses ---------------------------------------------------------------*/

mf_online_response *mf_online_response_new(void) {
    return mf__xcalloc(1, sizeof(mf_online_response));
}

static void resp_clear_cols(mf_online_response *r) {
    for (size_t i = 0; i < r->ncols; i++) free(r->names[i]), mf__col_free(&r->cols[i]);
    r->ncols = 0;
}

void mf_online_response_free(mf_online_response *r) {
    if (!r) return;
    resp_clear_cols(r);
    free(r->names);
    free(r->cols);
    free(r->status);
    free(r->ts);
    mf__buf_free(&r->json);
    free(r);
}

/* Shape the response for the request's columns, reusing columns whose name
 * and type did not change, with room for nrows rows (the request's size:
 * MF_ENOMEM when that memory is not there). */
static int resp_shape(mf_online_response *resp, const mf_online_request *req, size_t nrows,
                      mf_error *err) {
    bool same = resp->ncols == req->ncols;
    for (size_t i = 0; same && i < req->ncols; i++)
        same = strcmp(resp->names[i], req->names[i]) == 0 && resp->cols[i].type == req->types[i];
    if (!same) {
        resp_clear_cols(resp);
        if (req->ncols > resp->cap_cols) {
            resp->cap_cols = req->ncols;
            resp->names = mf__xrealloc(resp->names, resp->cap_cols * sizeof *resp->names);
            resp->cols = mf__xrealloc(resp->cols, resp->cap_cols * sizeof *resp->cols);
        }
        for (size_t i = 0; i < req->ncols; i++) {
            resp->names[i] = mf__xstrdup(req->names[i]);
            mf__col_init(&resp->cols[i], req->names[i], req->types[i], false);
        }
        resp->ncols = req->ncols;
    }
    resp->nrows = 0;
    bool fits = true;
    for (size_t i = 0; i < resp->ncols; i++) {
        mf__col_clear(&resp->cols[i]);
        if (nrows > resp->cols[i].cap) fits = fits && mf__col_try_reserve(&resp->cols[i], nrows) == 0;
    }
    size_t cells;
    fits = fits && mf__size_mul(resp->ncols, nrows, &cells) && cells < SIZE_MAX;
    if (fits && (cells > resp->cap_cells || !resp->status)) {
        uint8_t *st = mf__try_realloc_array(resp->status, cells + 1, 1);
        if (st) resp->status = st;
        int64_t *ts = st ? mf__try_realloc_array(resp->ts, cells + 1, sizeof *ts) : NULL;
        if (ts) resp->ts = ts, resp->cap_cells = cells;
        fits = ts != NULL;
    }
    if (!fits)
        return mf__err_nomem(err, "online response of %zu rows and %zu columns", nrows,
                             resp->ncols);
    resp->nrows = nrows;
    resp->nvis = req->nvis;
    return MF_OK;
}

size_t mf_online_response_ncols(const mf_online_response *r) { return r->nvis; }
size_t mf_online_response_nrows(const mf_online_response *r) { return r->nrows; }
const char *mf_online_response_name(const mf_online_response *r, size_t c) { return r->names[c]; }
int mf_online_response_type(const mf_online_response *r, size_t c) { return (int)r->cols[c].type; }
mf_status_code mf_online_response_status(const mf_online_response *r, size_t c, size_t row) {
    return (mf_status_code)r->status[c * r->nrows + row];
}
int64_t mf_online_response_event_ts(const mf_online_response *r, size_t c, size_t row) {
    return r->ts[c * r->nrows + row];
}
int mf_online_response_is_null(const mf_online_response *r, size_t c, size_t row) {
    return !r->cols[c].valid[row];
}
int64_t mf_online_response_int64(const mf_online_response *r, size_t c, size_t row) {
    return mf__col_i64(&r->cols[c], row);
}
double mf_online_response_double(const mf_online_response *r, size_t c, size_t row) {
    return mf__col_f64(&r->cols[c], row);
}
const char *mf_online_response_text(const mf_online_response *r, size_t c, size_t row,
                                    size_t *len) {
    const mf__col *col = &r->cols[c];
    if (col->sc != MF__SC_TEXT || !col->valid[row]) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = col->off[row + 1] - col->off[row];
    return col->heap + col->off[row];
}

/* The text b[*from, to) written for the previous column, appended again
 * when `same` (then true); either way *from becomes where this column's
 * text begins. */
static bool put_again(mf__buf *b, bool same, size_t *from, size_t to) {
    size_t start = b->len;
    if (same) {
        size_t len = to - *from;
        mf__buf_reserve(b, len);
        memcpy(b->data + b->len, b->data + *from, len);
        b->len += len;
        b->data[b->len] = '\0';
    }
    *from = start;
    return same;
}

const char *mf_online_response_json(mf_online_response *r, size_t *len) {
    mf__buf *b = &r->json;
    b->len = 0;
    mf__buf_puts(b, "{\"metadata\":{\"feature_names\":[");
    for (size_t c = 0; c < r->nvis; c++) {
        if (c) mf__buf_putc(b, ',');
        mf__buf_json_str(b, r->names[c], strlen(r->names[c]));
    }
    mf__buf_puts(b, "]},\"results\":[");
    char ts[MF__TS_BUFLEN];
    size_t n = r->nrows;
    /* the statuses and event times of the previous column, as written: the
     * features of one view usually have the same, copied then (a view's
     * event time is the same for all its features) */
    size_t st_from = 0, st_to = 0, ts_from = 0, ts_to = 0;
    for (size_t c = 0; c < r->nvis; c++) {
        if (c) mf__buf_putc(b, ',');
        mf__buf_puts(b, "{\"values\":[");
        for (size_t i = 0; i < n; i++) {
            if (i) mf__buf_putc(b, ',');
            mf__col_json(&r->cols[c], i, b);
        }
        mf__buf_puts(b, "],\"statuses\":[");
        const uint8_t *st = r->status + c * n;
        if (!put_again(b, c && memcmp(st, st - n, n) == 0, &st_from, st_to)) {
            for (size_t i = 0; i < n; i++) {
                if (i) mf__buf_putc(b, ',');
                mf__buf_putc(b, '"');
                mf__buf_puts(b, status_names[st[i]]);
                mf__buf_putc(b, '"');
            }
        }
        st_to = b->len;
        mf__buf_puts(b, "],\"event_timestamps\":[");
        const int64_t *et = r->ts + c * n;
        if (!put_again(b, c && memcmp(et, et - n, n * sizeof *et) == 0, &ts_from, ts_to)) {
            for (size_t i = 0; i < n; i++) {
                if (i) mf__buf_putc(b, ',');
                mf__buf_json_str(b, ts, mf__ts_format(et[i], ts));
            }
        }
        ts_to = b->len;
        mf__buf_puts(b, "]}");
    }
    mf__buf_puts(b, "]}");
    if (len) *len = b->len;
    return b->data;
}

/*---- The read ----------------------------------------------------------------*/

/* Fill the typed join-key columns of the response from the request. */
static int fill_keys(mf_online_request *req, mf_online_response *resp, mf_error *err) {
    for (size_t k = 0; k < req->nkeycols; k++) {
        const mf__col *src = &req->ents[req->keycol_ent[k]].col;
        mf__col *dst = &resp->cols[k];
        for (size_t i = 0; i < req->nrows; i++) {
            resp->status[k * req->nrows + i] = MF_STATUS_PRESENT;
            resp->ts[k * req->nrows + i] = 0;
            if (!src->valid[i]) {
                return mf__err(err, MF_EREQUEST, "join key '%s' row %zu is null", src->name, i + 1);
            }
            if (src->sc == MF__SC_TEXT) {
                const char *p = src->heap + src->off[i];
                size_t len = src->off[i + 1] - src->off[i];
                if (dst->sc == MF__SC_TEXT) {
                    if (dst->type == MF__VALUE_TYPE__VT_STRING &&
                        mf__utf8_check(p, len, false) != len)
                        return mf__err(err, MF_EREQUEST, "join key '%s' row %zu: a String key "
                                       "must be UTF-8 text without NUL bytes", src->name, i + 1);
                    mf__col_push_str(dst, p, len);
                } else if (mf__col_push_text(dst, p, len) != 0 || !len) {
                    return mf__err(err, MF_EREQUEST, "join key '%s': '%.*s' is not a valid %s",
                                   src->name, (int)(len > 100 ? 100 : len), p,
                                   mf__dtype_name(dst->type));
                }
            } else {
                int64_t v = ((const int64_t *)src->data)[i];
                switch (dst->sc) {
                case MF__SC_I64:
                    /* a timestamp key's integer is epoch seconds, as a
                     * pushed or written one and its text */
                    if (dst->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
                        int64_t us;
                        if (mf__ts_from_seconds(v, &us) != 0)
                            return mf__err(err, MF_EREQUEST, "join key '%s': %lld is not a time "
                                           "in the years 0001 to 9999 (an integer is epoch "
                                           "seconds)", src->name, (long long)v);
                        v = us;
                    }
                    mf__col_push_i64(dst, v);
                    break;
                case MF__SC_I32:
                    if (v < INT32_MIN || v > INT32_MAX)
                        return mf__err(err, MF_EREQUEST, "join key '%s': %lld is out of Int32 "
                                       "range", src->name, (long long)v);
                    mf__col_reserve(dst, dst->n + 1);
                    ((int32_t *)dst->data)[dst->n] = (int32_t)v;
                    dst->valid[dst->n++] = 1;
                    break;
                default:
                    return mf__err(err, MF_EREQUEST, "join key '%s': got an integer, the key is "
                                   "a %s", src->name, mf__dtype_name(dst->type));
                }
            }
        }
    }
    return MF_OK;
}

/* Room for `cells` key offsets, pointers and lengths, and for the
 * serialized keys of every unit and row (bounded from above: key_bytes per
 * row, and the text of text keys). 0, or -1 when the memory is not there. */
static int reserve_keys(mf_online_request *req, const mf_online_response *resp, size_t cells) {
    if (cells > req->key_cap || !req->key_off) { /* (also for a first call of 0 rows) */
        size_t *off = mf__try_realloc_array(req->key_off, cells, sizeof *off);
        if (off) req->key_off = off;
        const unsigned char **kp = off ? mf__try_realloc_array(req->key_ptr, cells, sizeof *kp) : NULL;
        if (kp) req->key_ptr = kp;
        size_t *kl = kp ? mf__try_realloc_array(req->key_len, cells, sizeof *kl) : NULL;
        if (!kl) return -1;
        req->key_len = kl;
        req->key_cap = cells;
    }
    size_t bytes = 0, n = req->nrows;
    for (size_t ui = 0; ui < req->nunits; ui++) {
        const ounit *u = &req->units[ui];
        size_t text = 0;
        for (size_t k = 0; k < u->nkeys; k++) {
            const mf__col *c = &resp->cols[u->key_ent[k]];
            if (c->sc == MF__SC_TEXT && !mf__size_add(text, c->heap_len, &text)) return -1;
        }
        size_t unit;
        if (!mf__size_mul(u->key_bytes, n, &unit) || !mf__size_add(unit, text, &unit) ||
            !mf__size_add(bytes, unit, &bytes))
            return -1;
    }
    req->keys.len = 0;
    return mf__buf_try_reserve(&req->keys, bytes);
}

static void key_value(const mf__col *c, size_t i, mf__kval *v) {
    if (c->sc == MF__SC_TEXT) {
        v->s = c->heap + c->off[i];
        v->len = c->off[i + 1] - c->off[i];
        v->i = 0;
    } else {
        v->i = mf__col_i64(c, i);
        v->s = NULL;
        v->len = 0;
    }
}

/* Request field e of the request as a column of field f's type. */
static int request_field(const mf_online_request *req, const oodfv *o, size_t k, mf__col *out,
                         mf_error *err) {
    const mf__col *src = &req->ents[o->req_ent[k]].col;
    const Mf__Field *f = o->req[k];
    mf__col_clear(out);
    size_t bad;
    if (mf__col_convert(out, src, req->nrows, &bad) != 0) {
        char num[64];
        size_t len;
        const char *t = mf__col_text(src, bad, num, &len);
        return mf__err(err, MF_EREQUEST, "on-demand feature view '%s': request field '%s', "
                       "row %zu: '%.*s' is not a valid %s", o->v->spec->name, f->name, bad + 1,
                       (int)(len > 100 ? 100 : len), t, mf__dtype_name(f->dtype));
    }
    return MF_OK;
}

/* Run the requested on-demand views over the rows just read. */
static int run_odfvs(mf_store *store, mf__worker *w, mf__snapshot *snap,
                     mf_online_request *req, mf_online_response *resp, mf_error *err) {
    mf__transforms *tf;
    int rc = mf__worker_transforms(store, w, &tf, err);
    size_t n = req->nrows;
    for (size_t i = 0; i < req->nodfvs && rc == MF_OK; i++) {
        oodfv *o = &req->odfvs[i];
        const Mf__OnDemandFeatureViewSpec *s = o->v->spec;
        if (!o->inputs) { /* first call of this resolution */
            o->inputs = mf__xcalloc(o->nin + o->nreq + 1, sizeof *o->inputs);
            o->req_cols = mf__xcalloc(o->nreq + 1, sizeof *o->req_cols);
            for (size_t k = 0; k < o->nreq; k++)
                mf__col_init(&o->req_cols[k], o->req[k]->name, o->req[k]->dtype, false);
            o->all_out = mf__xcalloc(s->n_features + 1, sizeof *o->all_out);
            for (size_t j = 0; j < s->n_features; j++)
                mf__col_init(&o->all_out[j], s->features[j]->name, s->features[j]->dtype, false);
        }
        for (size_t k = 0; k < o->nin; k++) {
            o->inputs[k].name = o->in_name[k];
            o->inputs[k].col = &resp->cols[o->in_col[k]];
        }
        for (size_t k = 0; k < o->nreq && rc == MF_OK; k++) {
            rc = request_field(req, o, k, &o->req_cols[k], err);
            o->inputs[o->nin + k].name = o->req[k]->name;
            o->inputs[o->nin + k].col = &o->req_cols[k];
        }
        for (size_t j = 0; j < s->n_features; j++) mf__col_clear(&o->all_out[j]);
        if (rc == MF_OK)
            rc = mf__transforms_run(tf, mf__snapshot_gen(snap), o->v, o->inputs,
                                    o->nin + o->nreq, n, o->all_out, err);
        for (size_t j = 0; j < o->nout && rc == MF_OK; j++) {
            size_t c = o->out_col[j];
            mf__col_clear(&resp->cols[c]);
            mf__col_append(&resp->cols[c], &o->all_out[o->out_feat[j]]);
            for (size_t r = 0; r < n; r++) {
                resp->status[c * n + r] =
                    resp->cols[c].valid[r] ? MF_STATUS_PRESENT : MF_STATUS_NULL_VALUE;
                resp->ts[c * n + r] = 0;
            }
        }
    }
    return rc;
}

/* The read, with snap pinned for the whole call. */
static int get_online(mf_store *store, mf__snapshot *snap, mf_online_request *req,
                      mf_online_response *resp, mf_error *err) {
    int rc;
    const char *project = mf__snapshot_project(snap);
    bool stale = req->snap != snap || !req->units;
    /* the plan's columns must all be given again (with 0 rows too) */
    for (size_t k = 0; !stale && k < req->nkeycols; k++)
        stale = !req->ents[req->keycol_ent[k]].given ||
                (k > 0 && req->ents[req->keycol_ent[k - 1]].seq > req->ents[req->keycol_ent[k]].seq);
    for (size_t i = 0; !stale && i < req->nodfvs; i++)
        for (size_t k = 0; !stale && k < req->odfvs[i].nreq; k++)
            stale = !req->ents[req->odfvs[i].req_ent[k]].given;
    if (stale) {
        rc = resolve(req, snap, err);
        if (rc) return rc;
    }
    /* a view without entities answers one row per entity row (as Feast
     * does, through its dummy entity): with no entity column at all there
     * is nothing to count */
    bool any_given = false;
    for (size_t e = 0; e < req->nents; e++) any_given |= req->ents[e].given;
    for (size_t ui = 0; !any_given && ui < req->nunits; ui++)
        if (req->units[ui].nkeys == 0)
            return mf__err(err, MF_EREQUEST, "feature view '%s' has no entities: give the "
                           "request an entity column (any name) with one value per row "
                           "wanted", req->units[ui].view->name);
    mf__worker *w;
    mf__online *on;
    rc = mf__store_worker(store, &w, err);
    if (rc == MF_OK) rc = mf__worker_online(w, &on, err);
    if (rc) return rc;
    size_t n = req->nrows;
    rc = resp_shape(resp, req, n, err);
    if (rc) return rc;
    rc = fill_keys(req, resp, err);
    if (rc) return rc;
    /* keys of every unit into one buffer, then every read at once (one
     * round trip for a remote store) */
    size_t nu = req->nunits, cells;
    if (!mf__size_mul(nu, n + 1, &cells) || !mf__size_add(cells, 1, &cells) ||
        reserve_keys(req, resp, cells) != 0)
        return mf__err_nomem(err, "online request of %zu rows", n);
    if (nu > req->rb_cap) {
        req->rbs = mf__xrealloc(req->rbs, nu * sizeof *req->rbs);
        req->outs = mf__xrealloc(req->outs, nu * sizeof *req->outs);
        req->outs_cap = mf__xrealloc(req->outs_cap, nu * sizeof *req->outs_cap);
        for (size_t i = req->rb_cap; i < nu; i++) req->outs[i] = NULL, req->outs_cap[i] = 0;
        req->rb_cap = nu;
    }
    int64_t now = mf__now_us();
    req->keys.len = 0;
    size_t nb = 0;
    for (size_t ui = 0; ui < nu && rc == MF_OK; ui++) {
        ounit *u = &req->units[ui];
        if (u->nfeat == 0) continue;
        size_t *off = req->key_off + ui * (n + 1);
        req->kvals = mf__xrealloc(req->kvals, (u->nkeys + 1) * sizeof *req->kvals);
        for (size_t i = 0; i < n && rc == MF_OK; i++) {
            off[i] = req->keys.len;
            for (size_t k = 0; k < u->nkeys; k++) key_value(&resp->cols[u->key_ent[k]], i, &req->kvals[k]);
            if (mf__ekey_serialize(&req->keys, u->key_names, u->key_types, req->kvals, u->nkeys,
                                   u->key_order) != 0)
                rc = mf__err(err, MF_EREQUEST, "feature view '%s' has a join key type that cannot "
                             "be served", u->view->name);
        }
        off[n] = req->keys.len;
        if (u->nfeat > req->outs_cap[ui]) {
            req->outs_cap[ui] = u->nfeat;
            req->outs[ui] = mf__xrealloc(req->outs[ui], u->nfeat * sizeof **req->outs);
        }
        for (size_t f = 0; f < u->nfeat; f++) req->outs[ui][f] = &resp->cols[u->out_col[f]];
        /* found / event_ts go to the first feature's status row, then copied */
        size_t c0 = u->out_col[0];
        req->rbs[nb++] = (mf__read_batch){u->view, n, NULL, NULL, u->feat_idx, u->nfeat,
                                         req->outs[ui], resp->status + c0 * n, resp->ts + c0 * n};
    }
    if (rc) return rc;
    /* pointers only now: the key buffer may have moved while it grew */
    nb = 0;
    for (size_t ui = 0; ui < nu; ui++) {
        if (req->units[ui].nfeat == 0) continue;
        const size_t *off = req->key_off + ui * (n + 1);
        const unsigned char **kp = req->key_ptr + ui * (n + 1);
        size_t *kl = req->key_len + ui * (n + 1);
        for (size_t i = 0; i < n; i++) {
            kp[i] = (const unsigned char *)req->keys.data + off[i];
            kl[i] = off[i + 1] - off[i];
        }
        req->rbs[nb].keys = kp;
        req->rbs[nb].key_lens = kl;
        nb++;
    }
    if (on->vt->read_many) {
        rc = on->vt->read_many(on, project, req->rbs, nb, err);
    } else {
        for (size_t b = 0; b < nb && rc == MF_OK; b++) rc = on->vt->read(on, project, &req->rbs[b], err);
    }
    if (rc) return rc;
    for (size_t ui = 0; ui < nu; ui++) {
        ounit *u = &req->units[ui];
        if (u->nfeat == 0) continue;
        size_t c0 = u->out_col[0];
        const uint8_t *found = resp->status + c0 * n;
        const int64_t *ets = resp->ts + c0 * n;
        int64_t ttl = mf__secs_to_us_sat(u->view->ttl_seconds);
        int64_t oldest = mf__sub_sat(now, ttl);
        for (size_t i = 0; i < n; i++) {
            bool f = found[i] != 0;
            int64_t t = f ? ets[i] : 0;
            for (size_t x = 0; x < u->nfeat; x++) {
                size_t c = u->out_col[x];
                uint8_t st = !f ? MF_STATUS_NOT_FOUND
                             : !resp->cols[c].valid[i] ? MF_STATUS_NULL_VALUE
                             : (ttl > 0 && t < oldest) ? MF_STATUS_OUTSIDE_MAX_AGE
                             : MF_STATUS_PRESENT;
                resp->ts[c * n + i] = t;
                if (x > 0) resp->status[c * n + i] = st;
            }
            /* first feature last: its row held `found` */
            size_t c = c0;
            resp->status[c * n + i] = !f ? MF_STATUS_NOT_FOUND
                                      : !resp->cols[c].valid[i] ? MF_STATUS_NULL_VALUE
                                      : (ttl > 0 && t < oldest) ? MF_STATUS_OUTSIDE_MAX_AGE
                                      : MF_STATUS_PRESENT;
        }
    }
    if (rc == MF_OK && req->nodfvs) rc = run_odfvs(store, w, snap, req, resp, err);
    return rc;
}

static int read_pinned(mf_store *store, mf_online_request *req, mf_online_response *resp,
                       mf_error *err) {
    mf__snapshot *snap;
    int rc = mf__store_current(store, &snap, err);
    if (rc) return rc;
    /* the request's pin holds the snapshot it resolved against for the
     * whole call; any other one is pinned here */
    if (snap == req->snap) return get_online(store, snap, req, resp, err);
    mf__snapshot_ref(snap);
    rc = get_online(store, snap, req, resp, err);
    mf__snapshot_unpin(snap);
    return rc;
}

int mf_get_online_features(mf_store *store, mf_online_request *req, mf_online_response *resp,
                           mf_error *err) {
    mf__provider *pv = mf__store_provider(store);
    int rc = MF_OK;
    const char *project = mf_store_project(store);
    if (pv)
        rc = mf__provider_call(pv, MF__HOOK_BEFORE_ONLINE_READ, NULL, err, "sn", project,
                               (int64_t)req->nrows);
    if (rc == MF_OK) rc = read_pinned(store, req, resp, err);
    if (rc == MF_OK && pv)
        rc = mf__provider_call(pv, MF__HOOK_AFTER_ONLINE_READ, NULL, err, "snn", project,
                               (int64_t)mf_online_response_nrows(resp),
                               (int64_t)mf_online_response_ncols(resp));
    /* a failed call leaves the response empty: a read that stopped halfway
     * left cells (and their statuses) unset behind its row count */
    if (rc != MF_OK) resp->nrows = resp->nvis = 0;
    return rc;
}
