/*
 * infer.c — apply-time checks of definitions against their data.
 *
 * lua/dsl.lua validates what it can see in the Lua files. What needs the
 * data happens here, at plan/apply time:
 *   - the source of each feature view has the view's timestamp, created and
 *     join-key columns, and every declared feature (after field_mapping);
 *   - a view without schema gets its features inferred from the source:
 *     every column but join keys and timestamp columns, typed from the first
 *     MF__INFER_ROWS rows (rules in mf_source.h), or by the source's own
 *     type for a Parquet column (columns it cannot read are skipped);
 *   - join keys with no declared type (no entity value_type, not in the
 *     schema) get a type inferred the same way;
 *   - projections of inferred views in services and on-demand views get
 *     their feature lists, and selected features are checked.
 * A missing source file is an error only when something must be inferred;
 * otherwise the columns are checked when the file exists. An error in the
 * data (a malformed CSV header, a column named twice) names the data file
 * and line; one about opening it names the definition.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mf_source.h"

#define MF__INFER_ROWS 10000


/* The source rows of a view are read from: the view's source, or the batch
 * source of a push source. */
const Mf__DataSourceSpec *mf__view_batch_source(const Mf__Registry *reg, const char *project,
                                               const Mf__FeatureViewSpec *v) {
    long i = mf__reg_find(reg, MF_KIND_DATA_SOURCE, project, v->source);
    if (i < 0) return NULL;
    const Mf__DataSourceSpec *ds = reg->data_sources[i]->spec;
    if (strcmp(ds->kind, "push") == 0) {
        i = mf__reg_find(reg, MF_KIND_DATA_SOURCE, project, ds->batch_source);
        return i < 0 ? NULL : reg->data_sources[i]->spec;
    }
    return ds;
}

static bool source_exists(const mf__config *cfg, const Mf__DataSourceSpec *ds) {
    const char *rel = !strcmp(ds->kind, "file") ? ds->path
                      : !strcmp(ds->kind, "lua") ? (ds->module[0] ? ds->module : ".")
                                                 : ds->database;
    char *p = mf__path_join(cfg->repo_path, rel);
    struct stat st;
    bool ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

static void column_list(const mf__source *src, mf__buf *b) {
    for (size_t i = 0; i < mf__source_ncols(src); i++)
        mf__buf_printf(b, "%s%s", i ? ", " : "", mf__source_colname(src, i));
}

static int resolve_view(const mf__config *cfg, Mf__Registry *defs, Mf__FeatureView *fv,
                        bool validate, mf_error *err) {
    Mf__FeatureViewSpec *v = fv->spec;
    const char *file = fv->meta ? fv->meta->file : "";
    int line = fv->meta ? fv->meta->line : 0;
    const Mf__DataSourceSpec *ds = mf__view_batch_source(defs, cfg->project, v);
    if (!ds) return MF_OK; /* the DSL has already named a missing source */
    bool need = v->schema_inferred;
    for (size_t i = 0; i < v->n_entity_columns; i++)
        if (v->entity_columns[i]->dtype == MF__VALUE_TYPE__VT_INVALID) need = true;
    if (!need && !validate) return MF_OK;
    if (!source_exists(cfg, ds)) {
        const char *rel = !strcmp(ds->kind, "file") ? ds->path
                          : !strcmp(ds->kind, "lua") ? ds->module
                                                     : ds->database;
        return mf__err_at(err, MF_EDEF, file, line, "feature view '%s': its source '%s' reads "
                          "%s, which does not exist%s", v->name, ds->name, rel,
                          need ? " (needed to infer the view's schema)"
                               : " (apply and plan check every source; "
                                 "--skip-source-validation skips the check)");
    }

    mf__source *src;
    mf_error e2;
    mf__source_hint hint = {"infer", INT64_MIN, INT64_MAX, NULL, 0};
    int rc = mf__source_open(cfg, ds, &hint, &src, &e2);
    if (rc == MF_EDATA && e2.file[0]) {
        /* the data is at fault (a malformed header, a column twice, ...):
         * its file and line say where */
        if (err) *err = e2;
        mf__err_prefix(err, "feature view '%s'", v->name);
        return rc;
    }
    if (rc)
        return mf__err_at(err, MF_EDEF, file, line, "feature view '%s': %s%s", v->name,
                          e2.message, need ? " (needed to infer the view's schema)" : "");
    /* every column the view relies on must be there */
    const char *needed[3] = {ds->timestamp_field, ds->created_timestamp_column, NULL};
    for (size_t i = 0; i < 2; i++) {
        if (!needed[i][0] || mf__source_find(src, needed[i]) >= 0) continue;
        mf__buf b;
        mf__buf_init(&b);
        column_list(src, &b);
        rc = mf__err_at(err, MF_EDEF, file, line, "feature view '%s': column '%s' not found "
                        "in %s (columns: %s)", v->name, needed[i], mf__source_where(src), b.data);
        mf__buf_free(&b);
        mf__source_close(src);
        return rc;
    }
    for (size_t i = 0; i < v->n_entity_columns + v->n_features; i++) {
        const char *col = i < v->n_entity_columns ? v->entity_columns[i]->name
                                                  : v->features[i - v->n_entity_columns]->name;
        if (mf__source_find(src, col) >= 0) continue;
        mf__buf b;
        mf__buf_init(&b);
        column_list(src, &b);
        rc = mf__err_at(err, MF_EDEF, file, line, "feature view '%s': %s '%s' not found in %s "
                        "(columns: %s)", v->name, i < v->n_entity_columns ? "join key" : "feature",
                        col, mf__source_where(src), b.data);
        mf__buf_free(&b);
        mf__source_close(src);
        return rc;
    }
    if (!need) {
        mf__source_close(src);
        return MF_OK;
    }
    size_t nc = mf__source_ncols(src);
    mf__infer *inf = mf__xcalloc(nc, sizeof *inf);
    for (size_t i = 0; i < nc; i++) mf__infer_init(&inf[i]);
    const mf__slice *row;
    for (long n = 0; n < MF__INFER_ROWS && (rc = mf__source_next(src, &row, err)) == 1; n++)
        for (size_t i = 0; i < nc; i++) mf__infer_add(&inf[i], row[i].ptr, row[i].len);
    /* a dataset's partition columns: every file's value, not the sampled
     * rows' (the first 10000 rows may all lie in one folder) */
    for (size_t i = 0; i < nc; i++) {
        bool more = true;
        for (size_t f = 0; more; f++) {
            const char *pv = mf__source_part_value(src, i, f, &more);
            if (pv) mf__infer_add(&inf[i], pv, strlen(pv));
        }
    }
    if (rc < 0) {
        mf__err_prefix(err, "feature view '%s'", v->name);
        free(inf);
        mf__source_close(src);
        return rc;
    }
    /* a column whose source has a type (Parquet) takes it; -1: a column
     * that cannot be read, not inferred */
    Mf__ValueType *known = mf__xcalloc(nc + 1, sizeof *known);
    int *has = mf__xcalloc(nc + 1, sizeof *has);
    for (size_t i = 0; i < nc; i++) has[i] = mf__source_col_type(src, i, &known[i]);
    /* a SQLite column that held a REAL is never Int64, whatever its texts */
    for (size_t i = 0; i < nc; i++)
        if (has[i] == 0 && mf__source_saw_real(src, i) &&
            mf__infer_type(&inf[i]) == MF__VALUE_TYPE__VT_INT64)
            has[i] = 1, known[i] = MF__VALUE_TYPE__VT_DOUBLE;
#define COLTYPE(i) (has[i] == 1 ? known[i] : mf__infer_type(&inf[i]))
    for (size_t i = 0; i < v->n_entity_columns; i++) {
        if (v->entity_columns[i]->dtype != MF__VALUE_TYPE__VT_INVALID) continue;
        long c = mf__source_find(src, v->entity_columns[i]->name);
        Mf__ValueType t = COLTYPE(c);
        /* a key read from text that is not a whole number in Int64's range
         * stays text: as Float64, distinct keys past 2^53
         * (18446744073709551615, ...614) were one key */
        if (has[c] != 1 && (t == MF__VALUE_TYPE__VT_DOUBLE || t == MF__VALUE_TYPE__VT_FLOAT))
            t = MF__VALUE_TYPE__VT_STRING;
        v->entity_columns[i]->dtype = t;
    }
    if (v->schema_inferred) {
        for (size_t i = 0; i < nc; i++) {
            const char *name = mf__source_colname(src, i);
            bool skip = strcmp(name, ds->timestamp_field) == 0 ||
                        strcmp(name, ds->created_timestamp_column) == 0;
            if (!skip && has[i] < 0) {
                mf__log(MF_LOG_WARNING, "feature view '%s': column '%s' of %s is of a type "
                        "moonfeast cannot read: skipped (declare it in the schema to see why)",
                        v->name, name, mf__source_where(src));
                skip = true;
            }
            if (!skip && !mf__valid_name(name)) {
                mf__log(MF_LOG_WARNING, "feature view '%s': column '%s' of %s is not a valid "
                        "feature name: skipped (field_mapping can rename it)", v->name, name,
                        mf__source_where(src));
                skip = true;
            }
            for (size_t k = 0; k < v->n_entity_columns && !skip; k++)
                skip = strcmp(name, v->entity_columns[k]->name) == 0;
            for (size_t k = 0; k < v->n_features && !skip; k++)
                skip = strcmp(name, v->features[k]->name) == 0;
            if (skip) continue;
            Mf__Field *f = (Mf__Field *)mf__pb_new(&mf__field__descriptor);
            mf__pb_set_string(&f->name, name);
            f->dtype = COLTYPE(i);
            mf__pb_append(&v->base, "features", &f->base);
        }
        if (v->n_features == 0)
            rc = mf__err_at(err, MF_EDEF, file, line, "feature view '%s': no feature columns "
                            "to infer in %s", v->name, mf__source_where(src));
    }
#undef COLTYPE
    free(known);
    free(has);
    free(inf);
    mf__source_close(src);
    return rc < 0 ? rc : MF_OK;
}

/* Fill an empty projection from the view; check selected names. */
static int resolve_projection(Mf__Registry *defs, const char *project,
                              Mf__FeatureViewProjection *p, const Mf__Meta *meta,
                              const char *owner, mf_error *err) {
    long i = mf__reg_find(defs, MF_KIND_FEATURE_VIEW, project, p->view_name);
    if (i < 0) return MF_OK; /* an on-demand view: checked by the DSL */
    Mf__FeatureViewSpec *v = defs->feature_views[i]->spec;
    if (p->n_features == 0) {
        free(p->features); /* an empty list may still own its array */
        p->features = mf__xcalloc(v->n_features ? v->n_features : 1, sizeof *p->features);
        for (size_t k = 0; k < v->n_features; k++) p->features[k] = mf__xstrdup(v->features[k]->name);
        p->n_features = v->n_features;
        return MF_OK;
    }
    for (size_t k = 0; k < p->n_features; k++) {
        bool found = false;
        for (size_t j = 0; j < v->n_features && !found; j++)
            found = strcmp(v->features[j]->name, p->features[k]) == 0;
        if (!found)
            return mf__err_at(err, MF_EDEF, meta ? meta->file : "", meta ? meta->line : 0,
                              "%s refers to unknown feature '%s:%s'", owner, v->name,
                              p->features[k]);
    }
    return MF_OK;
}

int mf__defs_resolve(const mf__config *cfg, Mf__Registry *defs, bool validate, mf_error *err) {
    for (size_t i = 0; i < defs->n_feature_views; i++) {
        int rc = resolve_view(cfg, defs, defs->feature_views[i], validate, err);
        if (rc) return rc;
    }
    for (size_t i = 0; i < defs->n_feature_services; i++) {
        Mf__FeatureService *fs = defs->feature_services[i];
        char *owner = mf__xasprintf("feature service '%s'", fs->spec->name);
        for (size_t j = 0; j < fs->spec->n_features; j++) {
            int rc = resolve_projection(defs, cfg->project, fs->spec->features[j], fs->meta, owner, err);
            if (rc) {
                free(owner);
                return rc;
            }
        }
        free(owner);
    }
    for (size_t i = 0; i < defs->n_on_demand_feature_views; i++) {
        Mf__OnDemandFeatureView *o = defs->on_demand_feature_views[i];
        char *owner = mf__xasprintf("on-demand feature view '%s'", o->spec->name);
        for (size_t j = 0; j < o->spec->n_source_views; j++) {
            int rc = resolve_projection(defs, cfg->project, o->spec->source_views[j], o->meta, owner, err);
            if (rc) {
                free(owner);
                return rc;
            }
        }
        free(owner);
    }
    return MF_OK;
}
