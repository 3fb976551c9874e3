/*
 * push.c — push sources and direct writes: fresh rows straight into the
 * stores, without waiting for a materialization.
 *
 * mf_push(source, rows, to):
 *   - every feature view fed by the push source is prepared first: the rows
 *     must carry each view's join keys, the batch source's timestamp column
 *     and the view's features, all parsing as their types; any missing or
 *     mistyped column is an error naming it, and then nothing is written;
 *   - offline (first, when both): the rows are appended to the batch source:
 *     a CSV append under an exclusive lock, flushed and fsynced before the
 *     call returns; or an INSERT into a SQLite table in one transaction;
 *   - online: each online view's rows go through the online store's
 *     write_batch, which never replaces newer values with older ones.
 * mf_write_to_online_store(view, rows) is the online half for one view.
 *
 * Column names of the rows are the names after the source's field_mapping
 * (the names the views use); offline appends map them back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mf_csv.h"
#include "mf_online.h"
#include "mf_values.h"

/*---- Preparing rows for one view ------------------------------------------*/

typedef struct prepared {
    const Mf__FeatureViewSpec *view;
    size_t n;
    mf__buf keys;
    size_t *koff;
    const unsigned char **kp;
    size_t *kl;
    int64_t *ts, *cr;
    mf__col *feat;
} prepared;

static void prepared_free(prepared *p) {
    mf__buf_free(&p->keys);
    free(p->koff);
    free(p->kp);
    free(p->kl);
    free(p->ts);
    free(p->cr);
    for (size_t f = 0; p->feat && f < p->view->n_features; f++) mf__col_free(&p->feat[f]);
    free(p->feat);
    memset(p, 0, sizeof *p);
}

static long need(const mf_entity_df *df, const char *name, const char *what, const char *view,
                 mf_error *err) {
    long c = mf__df_find(df, name);
    if (c < 0)
        mf__err(err, MF_EREQUEST, "pushed rows lack column '%s' (%s of feature view '%s')", name,
                what, view);
    return c;
}

/* What a refused timestamp cell is not. */
#define TS_TEXT "a timestamp"
#define TS_RANGE "a timestamp in the years 0001 to 9999"

static int cell_err(const mf_entity_df *df, size_t i, const mf__col *c, const char *want,
                    mf_error *err) {
    char buf[64];
    size_t len;
    const char *t = mf__col_text(c, i, buf, &len);
    return mf__df_err(df, i, err, c->name, t, len, want);
}

/* Parse row i's timestamp cell of c into *out: text (timeutil.c's rules),
 * a timestamp column (microseconds) or an integer column (epoch seconds).
 * Microseconds and seconds must lie in the years 0001..9999: a time no
 * text can hold would be appended to a CSV that no reader could parse
 * again, and seconds beyond it overflow as microseconds. Returns 0, or
 * MF_EDATA with err naming row, column and value. */
static int ts_cell(const mf_entity_df *df, const mf__col *c, size_t i, int64_t *out,
                   mf_error *err) {
    if (!c->valid[i]) return cell_err(df, i, c, TS_TEXT, err);
    if (c->sc == MF__SC_TEXT)
        return mf__ts_parse(c->heap + c->off[i], c->off[i + 1] - c->off[i], out) == 0
                   ? MF_OK
                   : cell_err(df, i, c, TS_TEXT, err);
    int64_t v = mf__col_i64(c, i);
    if (c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
        if (!mf__ts_in_range(v)) return cell_err(df, i, c, TS_RANGE, err);
        *out = v;
        return MF_OK;
    }
    return mf__ts_from_seconds(v, out) == 0 ? MF_OK : cell_err(df, i, c, TS_RANGE, err);
}

/* Append row i of src to dst (typed as the feature). */
static int value_cell(mf__col *dst, const mf__col *src, size_t i) {
    if (!src->valid[i]) {
        mf__col_push_null(dst);
        return 0;
    }
    if (src->sc == MF__SC_TEXT) {
        const char *p = src->heap + src->off[i];
        size_t len = src->off[i + 1] - src->off[i];
        if (dst->sc == MF__SC_TEXT) {
            mf__col_push_str(dst, p, len);
            return 0;
        }
        return mf__col_push_text(dst, p, len);
    }
    char buf[64];
    size_t len;
    const char *t = mf__col_text(src, i, buf, &len);
    if (src->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP && dst->type != MF__VALUE_TYPE__VT_UNIX_TIMESTAMP)
        return -1;
    return mf__col_push_text(dst, t, len);
}

static int prepare(const mf_entity_df *df, const Mf__FeatureViewSpec *v,
                   const Mf__DataSourceSpec *ds, prepared *p, mf_error *err) {
    memset(p, 0, sizeof *p);
    p->view = v;
    size_t n = df->t->nrows, nk = v->n_entity_columns, nf = v->n_features;
    p->n = n;
    long tsc = need(df, ds->timestamp_field, "the event timestamp", v->name, err);
    if (tsc < 0) return MF_EREQUEST;
    long crc = ds->created_timestamp_column[0] ? mf__df_find(df, ds->created_timestamp_column) : -1;
    long *kc = mf__xcalloc(nk + 1, sizeof *kc), *fc = mf__xcalloc(nf + 1, sizeof *fc);
    int rc = MF_OK;
    for (size_t k = 0; k < nk && rc == MF_OK; k++)
        if ((kc[k] = need(df, v->entity_columns[k]->name, "a join key", v->name, err)) < 0)
            rc = MF_EREQUEST;
    for (size_t f = 0; f < nf && rc == MF_OK; f++)
        if ((fc[f] = need(df, v->features[f]->name, "a feature", v->name, err)) < 0) rc = MF_EREQUEST;
    p->ts = mf__xcalloc(n + 1, sizeof *p->ts);
    p->cr = mf__xcalloc(n + 1, sizeof *p->cr);
    p->koff = mf__xcalloc(n + 1, sizeof *p->koff);
    p->feat = mf__xcalloc(nf + 1, sizeof *p->feat);
    for (size_t f = 0; f < nf; f++) mf__col_init(&p->feat[f], v->features[f]->name, v->features[f]->dtype, false);
    const char **names = mf__xcalloc(nk + 1, sizeof *names);
    Mf__ValueType *types = mf__xcalloc(nk + 1, sizeof *types);
    size_t *order = mf__xcalloc(nk + 1, sizeof *order);
    mf__kval *vals = mf__xcalloc(nk + 1, sizeof *vals);
    for (size_t k = 0; k < nk; k++) {
        names[k] = v->entity_columns[k]->name;
        types[k] = v->entity_columns[k]->dtype;
    }
    mf__ekey_order(names, nk, order);
    mf__buf ik;
    mf__buf_init(&ik);
    char want[64];
    for (size_t i = 0; i < n && rc == MF_OK; i++) {
        if ((rc = ts_cell(df, &df->t->cols[tsc], i, &p->ts[i], err)) != MF_OK) break;
        p->cr[i] = 0;
        if (crc >= 0 && df->t->cols[crc].valid[i] &&
            (rc = ts_cell(df, &df->t->cols[crc], i, &p->cr[i], err)) != MF_OK)
            break;
        ik.len = 0;
        for (size_t k = 0; k < nk && rc == MF_OK; k++) {
            const mf__col *c = &df->t->cols[kc[k]];
            int kr = mf__key_append_col(&ik, types[k], c, i);
            if (kr != 0) {
                snprintf(want, sizeof want, "a valid %s join key", mf__dtype_name(types[k]));
                rc = cell_err(df, i, c, want, err);
            }
        }
        if (rc) break;
        p->koff[i] = p->keys.len;
        if (mf__ekey_decode_internal((const unsigned char *)ik.data, ik.len, types, nk, vals) != 0 ||
            mf__ekey_serialize(&p->keys, names, types, vals, nk, order) != 0) {
            rc = mf__err(err, MF_EREQUEST, "feature view '%s': its join key types cannot be "
                         "written to an online store", v->name);
            break;
        }
        for (size_t f = 0; f < nf && rc == MF_OK; f++) {
            const mf__col *c = &df->t->cols[fc[f]];
            if (value_cell(&p->feat[f], c, i) != 0) {
                snprintf(want, sizeof want, "a valid %s", mf__dtype_name(v->features[f]->dtype));
                rc = cell_err(df, i, c, want, err);
            }
        }
    }
    p->koff[n] = p->keys.len;
    if (rc == MF_OK) {
        p->kp = mf__xcalloc(n + 1, sizeof *p->kp);
        p->kl = mf__xcalloc(n + 1, sizeof *p->kl);
        for (size_t i = 0; i < n; i++) {
            p->kp[i] = (const unsigned char *)p->keys.data + p->koff[i];
            p->kl[i] = p->koff[i + 1] - p->koff[i];
        }
    }
    mf__buf_free(&ik);
    free(kc);
    free(fc);
    free(names);
    free(types);
    free(order);
    free(vals);
    if (rc) prepared_free(p);
    return rc;
}

static int write_online(mf_store *store, const prepared *p, mf_error *err) {
    mf__online *on;
    int rc = mf__store_online(store, &on, err);
    if (rc) return rc;
    mf__write_batch b = {p->view, p->n, p->kp, p->kl, p->ts, p->cr, p->feat, NULL};
    return on->vt->write_batch(on, mf__store_config(store)->project, &b, err);
}

/*---- Offline appends --------------------------------------------------------*/

static const char *mapped_name(const Mf__DataSourceSpec *ds, const char *col) {
    for (size_t i = 0; i < ds->n_field_mapping; i++)
        if (strcmp(ds->field_mapping[i]->source_column, col) == 0) return ds->field_mapping[i]->name;
    return col;
}

static int append_csv(const mf__config *cfg, const Mf__DataSourceSpec *ds, const mf_entity_df *df,
                      mf_error *err) {
    if (df->t->nrows == 0) return MF_OK; /* nothing to append: leave the file as it is */
    char *path = mf__path_join(cfg->repo_path, ds->path);
    char delim = ds->delimiter[0] ? ds->delimiter[0] : ',';
    mf__csv *csv;
    int rc = mf__csv_open(path, delim, &csv, err);
    if (rc) {
        free(path);
        return rc;
    }
    size_t nc = mf__csv_ncols(csv);
    long *map = mf__xcalloc(nc + 1, sizeof *map);
    for (size_t j = 0; j < nc; j++) map[j] = mf__df_find(df, mapped_name(ds, mf__csv_colname(csv, j)));
    mf__csv_close(csv);
    mf__buf b;
    mf__buf_init(&b);
    char num[64];
    for (size_t i = 0; i < df->t->nrows; i++) {
        for (size_t j = 0; j < nc; j++) {
            if (j) mf__buf_putc(&b, delim);
            if (map[j] < 0) continue;
            const mf__col *c = &df->t->cols[map[j]];
            size_t len;
            const char *t = mf__col_text(c, i, num, &len);
            /* an empty string must not read back as null: quote it */
            if (c->valid[i] && len == 0) mf__buf_puts(&b, "\"\"");
            else mf__csv_write_field(&b, t, len, delim);
        }
        mf__buf_putc(&b, '\n');
    }
    free(map);
    /* read-write: the last byte is read back (pread) under the lock */
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        rc = mf__err(err, MF_EIO, "cannot append to %s: %s", path, strerror(errno));
    } else {
        while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
        }
        /* start on a new line when the file does not end with one */
        off_t size = lseek(fd, 0, SEEK_END);
        char last = '\n';
        if (size > 0 && pread(fd, &last, 1, size - 1) != 1) last = '\n';
        int bad = 0;
        if (last != '\n') bad = write(fd, "\n", 1) != 1;
        const char *p = b.data;
        size_t left = b.len;
        while (!bad && left > 0) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) bad = 1;
            else p += w, left -= (size_t)w;
        }
        if (!bad && fsync(fd) != 0) bad = 1;
        if (bad) rc = mf__err(err, MF_EIO, "cannot append to %s: %s", path, strerror(errno));
        flock(fd, LOCK_UN);
        close(fd);
    }
    mf__buf_free(&b);
    free(path);
    return rc;
}

static int append_sqlite(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                         const mf_entity_df *df, mf_error *err) {
    if (!ds->table[0])
        return mf__err(err, MF_EREQUEST, "cannot push offline to sqlite_source '%s': it reads a "
                       "query, not a table", ds->name);
    char *path = mf__path_join(cfg->repo_path, ds->database);
    sqlite3 *db = NULL;
    int rc = MF_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = mf__err(err, MF_EIO, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "");
        sqlite3_close(db);
        free(path);
        return rc;
    }
    sqlite3_busy_timeout(db, 5000);
    /* the table's columns, mapped to the pushed names */
    char *q = mf__sql_ident(ds->table);
    char *sql = mf__xasprintf("SELECT * FROM %s LIMIT 0", q);
    sqlite3_stmt *st = NULL;
    mf__buf ins;
    mf__buf_init(&ins);
    size_t nc = 0;
    long *map = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = mf__err(err, MF_EIO, "%s: %s", path, sqlite3_errmsg(db));
    } else {
        nc = (size_t)sqlite3_column_count(st);
        map = mf__xcalloc(nc + 1, sizeof *map);
        mf__buf_printf(&ins, "INSERT INTO %s (", q);
        size_t used = 0;
        for (size_t j = 0; j < nc; j++) {
            const char *col = sqlite3_column_name(st, (int)j);
            map[j] = mf__df_find(df, mapped_name(ds, col));
            if (map[j] < 0) continue;
            char *qc = mf__sql_ident(col);
            mf__buf_printf(&ins, "%s%s", used++ ? ", " : "", qc);
            free(qc);
        }
        mf__buf_puts(&ins, ") VALUES (");
        for (size_t j = 0; j < used; j++) mf__buf_printf(&ins, "%s?", j ? ", " : "");
        mf__buf_puts(&ins, ")");
    }
    sqlite3_finalize(st);
    st = NULL;
    free(sql);
    free(q);
    if (rc == MF_OK && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        rc = mf__err(err, MF_EIO, "%s: %s", path, sqlite3_errmsg(db));
    if (rc == MF_OK && sqlite3_prepare_v2(db, ins.data, -1, &st, NULL) != SQLITE_OK)
        rc = mf__err(err, MF_EIO, "%s: %s", path, sqlite3_errmsg(db));
    char num[64];
    for (size_t i = 0; rc == MF_OK && i < df->t->nrows; i++) {
        int bi = 1;
        for (size_t j = 0; j < nc; j++) {
            if (map[j] < 0) continue;
            const mf__col *c = &df->t->cols[map[j]];
            if (!c->valid[i]) {
                sqlite3_bind_null(st, bi++);
            } else if (c->sc == MF__SC_I64 && c->type != MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
                sqlite3_bind_int64(st, bi++, mf__col_i64(c, i));
            } else {
                size_t len;
                const char *t = mf__col_text(c, i, num, &len);
                sqlite3_bind_text(st, bi++, t, (int)len, SQLITE_TRANSIENT);
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE) rc = mf__err(err, MF_EIO, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == MF_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = mf__err(err, MF_EIO, "%s: %s", path, sqlite3_errmsg(db));
    if (rc) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    mf__buf_free(&ins);
    free(map);
    free(path);
    return rc;
}

/*---- Entry points ------------------------------------------------------------*/

int mf_push(mf_store *store, const char *source, const mf_entity_df *rows, mf_push_to to,
            mf_error *err) {
    mf__err_clear(err);
    if (to != MF_PUSH_ONLINE && to != MF_PUSH_OFFLINE && to != MF_PUSH_ONLINE_AND_OFFLINE)
        return mf__err(err, MF_EUSAGE, "push: bad destination");
    const mf__config *cfg = mf__store_config(store);
    const Mf__Registry *reg;
    uint64_t gen;
    int rc = mf__store_snapshot(store, &reg, &gen, err);
    if (rc) return rc;
    long si = mf__reg_find(reg, MF_KIND_DATA_SOURCE, cfg->project, source);
    if (si < 0 || strcmp(reg->data_sources[si]->spec->kind, "push") != 0)
        return mf__err(err, MF_ENOTFOUND, si < 0 ? "unknown push source '%s'"
                                                 : "data source '%s' is not a push source", source);
    const Mf__DataSourceSpec *ps = reg->data_sources[si]->spec;
    long bi = mf__reg_find(reg, MF_KIND_DATA_SOURCE, cfg->project, ps->batch_source);
    if (bi < 0)
        return mf__err(err, MF_EREGISTRY, "push source '%s': batch source '%s' is not registered",
                       source, ps->batch_source);
    const Mf__DataSourceSpec *batch = reg->data_sources[bi]->spec;
    /* validate every view fed by the source before writing anything */
    size_t nv = 0;
    prepared *pv = mf__xcalloc(reg->n_feature_views + 1, sizeof *pv);
    bool any_online = false;
    for (size_t i = 0; i < reg->n_feature_views && rc == MF_OK; i++) {
        const Mf__FeatureViewSpec *v = reg->feature_views[i]->spec;
        if (strcmp(v->project, cfg->project) != 0 || strcmp(v->source, source) != 0) continue;
        rc = prepare(rows, v, batch, &pv[nv], err);
        if (rc == MF_OK) {
            any_online |= v->online != 0;
            nv++;
        }
    }
    if (rc == MF_OK && nv == 0)
        rc = mf__err(err, MF_EREQUEST, "push source '%s' feeds no feature view", source);
    if (rc == MF_OK && to != MF_PUSH_OFFLINE && !any_online)
        rc = mf__err(err, MF_EREQUEST, "push source '%s' feeds no online feature view; push "
                     "with --to offline", source);
    if (rc == MF_OK && to != MF_PUSH_ONLINE)
        rc = strcmp(batch->kind, "file") == 0 ? append_csv(cfg, batch, rows, err)
                                               : append_sqlite(cfg, batch, rows, err);
    for (size_t i = 0; rc == MF_OK && to != MF_PUSH_OFFLINE && i < nv; i++)
        if (pv[i].view->online) rc = write_online(store, &pv[i], err);
    for (size_t i = 0; i < nv; i++) prepared_free(&pv[i]);
    free(pv);
    return rc;
}

int mf_write_to_online_store(mf_store *store, const char *view, const mf_entity_df *rows,
                             mf_error *err) {
    mf__err_clear(err);
    const mf__config *cfg = mf__store_config(store);
    const Mf__Registry *reg;
    uint64_t gen;
    int rc = mf__store_snapshot(store, &reg, &gen, err);
    if (rc) return rc;
    long vi = mf__reg_find(reg, MF_KIND_FEATURE_VIEW, cfg->project, view);
    if (vi < 0) return mf__err(err, MF_ENOTFOUND, "unknown feature view '%s'", view);
    const Mf__FeatureViewSpec *v = reg->feature_views[vi]->spec;
    if (!v->online) return mf__err(err, MF_EREQUEST, "feature view '%s' is not online", view);
    const Mf__DataSourceSpec *ds = mf__view_batch_source(reg, cfg->project, v);
    if (!ds) return mf__err(err, MF_EREGISTRY, "feature view '%s': source not registered", view);
    prepared p;
    rc = prepare(rows, v, ds, &p, err);
    if (rc) return rc;
    rc = write_online(store, &p, err);
    prepared_free(&p);
    return rc;
}
