/*
 * push.c — push sources and direct writes: fresh rows straight into the
 * stores, without waiting for a materialization.
 *
 * mf_push(source, rows, to):
 *   - every feature view fed by the push source is prepared first: the rows
 *     must carry each view's join keys, the batch source's timestamp column
 *     and the view's features, all parsing as their types; any missing or
 *     mistyped column is an error naming it, and then nothing is written;
 *   - online (first, when both): each online view's rows go through the
 *     online store's write_batch, which never replaces newer values with
 *     older ones; a write can be repeated, an append cannot, so what
 *     refuses an offline push whatever its rows (offline_ready) is checked
 *     before this;
 *   - offline: the rows are appended to the batch source:
 *     a CSV append under an exclusive lock, journaled so that a kill or a
 *     write error at any point leaves the file as it was or with the whole
 *     append, fsynced before the call returns (see "The append journal");
 *     or an INSERT into a SQLite table in one transaction; or a new file in
 *     a Parquet dataset (a directory), written aside and renamed in.
 * mf_write_to_online_store(view, rows) is the online half for one view.
 *
 * Column names of the rows are the names after the source's field_mapping
 * (the names the views use); offline appends map them back.
 *
 * Event and created times given as integers are epoch seconds; every time
 * must lie in the years 0001..9999. Join keys follow entity_key.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mf_csv.h"
#include "mf_json.h"
#include "mf_online.h"
#include "mf_parquet.h"
#include "mf_source.h"
#include "mf_table.h"
#include "mf_transform.h"
#include "mf_values.h"

/*---- Preparing rows for one view ------------------------------------------*/

/* An on-demand view written to the online store from the prepared view:
 * its outputs for the same rows. */
typedef struct written {
    Mf__FeatureView *store_view; /* mf__odfv_store_view */
    mf__col *out;
    size_t nout;
} written;

typedef struct prepared {
    const Mf__FeatureViewSpec *view;
    size_t n;
    mf__buf keys;
    size_t *koff;
    const unsigned char **kp;
    size_t *kl;
    int64_t *ts, *cr;
    mf__col *feat;
    bool write_view; /* false: only the written on-demand views are written */
    written *wr;
    size_t nwr;
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
    for (size_t k = 0; k < p->nwr; k++) {
        for (size_t f = 0; f < p->wr[k].nout; f++) mf__col_free(&p->wr[k].out[f]);
        free(p->wr[k].out);
        mf__odfv_store_view_free(p->wr[k].store_view);
    }
    free(p->wr);
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
    if (src->sc == MF__SC_TEXT) /* checked as its type: String UTF-8 without NUL, lists
                                 * strict JSON; an empty text is null (and a frame's text
                                 * columns hold none: mf__col_push_text made it null) */
        return mf__col_push_text(dst, src->heap + src->off[i], src->off[i + 1] - src->off[i]);
    char buf[64];
    size_t len;
    const char *t = mf__col_text(src, i, buf, &len);
    if (src->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP && dst->type != MF__VALUE_TYPE__VT_UNIX_TIMESTAMP)
        return -1;
    return mf__col_push_text(dst, t, len);
}

/* Allocate what prepare fills for df's rows: times, key offsets and
 * pointers, the serialized keys (bounded from above, as in online.c) and
 * the feature columns (their text as long as the pushed text). kc and fc
 * are the frame's key and feature columns. 0, or -1 when the memory is
 * not there. */
static int prepare_alloc(const mf_entity_df *df, const Mf__FeatureViewSpec *v, const long *kc,
                         const long *fc, prepared *p) {
    size_t n = p->n, n1 = n + 1;
    if (!n1) return -1;
    if (!(p->ts = mf__try_calloc(n1, sizeof *p->ts)) || !(p->cr = mf__try_calloc(n1, sizeof *p->cr)) ||
        !(p->koff = mf__try_calloc(n1, sizeof *p->koff)) ||
        !(p->kp = mf__try_calloc(n1, sizeof *p->kp)) || !(p->kl = mf__try_calloc(n1, sizeof *p->kl)))
        return -1;
    size_t row = 4, text = 0, bytes;
    for (size_t k = 0; k < v->n_entity_columns; k++) {
        const mf__col *c = &df->t->cols[kc[k]];
        row += 24 + strlen(v->entity_columns[k]->name);
        if (c->sc == MF__SC_TEXT && !mf__size_add(text, c->heap_len, &text)) return -1;
    }
    if (!mf__size_mul(row, n, &bytes) || !mf__size_add(bytes, text, &bytes) ||
        mf__buf_try_reserve(&p->keys, bytes) != 0)
        return -1;
    for (size_t f = 0; f < v->n_features; f++) {
        const mf__col *c = &df->t->cols[fc[f]];
        if (mf__col_try_reserve(&p->feat[f], n) != 0 ||
            (c->sc == MF__SC_TEXT && mf__col_try_reserve_heap(&p->feat[f], c->heap_len) != 0))
            return -1;
    }
    return 0;
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
    p->feat = mf__xcalloc(nf + 1, sizeof *p->feat);
    for (size_t f = 0; f < nf; f++) mf__col_init(&p->feat[f], v->features[f]->name, v->features[f]->dtype, false);
    /* the rows' working memory at once (the caller chose their number) */
    if (rc == MF_OK && prepare_alloc(df, v, kc, fc, p) != 0)
        rc = mf__err_nomem(err, "push of %zu rows to feature view '%s'", n, v->name);
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
    char want[64 + MF__JSON_WHYLEN];
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
                Mf__ValueType t = v->features[f]->dtype;
                char why[MF__JSON_WHYLEN] = "";
                if (t > MF__VALUE_TYPE__VT_UNIX_TIMESTAMP && c->sc == MF__SC_TEXT) {
                    /* a list: say what is wrong in it */
                    mf__buf tmp;
                    mf__buf_init(&tmp);
                    mf__json_list_canon(t, c->heap + c->off[i], c->off[i + 1] - c->off[i], &tmp, why);
                    mf__buf_free(&tmp);
                }
                snprintf(want, sizeof want, "a valid %s%s%s", mf__dtype_name(t), why[0] ? ": " : "",
                         why);
                rc = cell_err(df, i, c, want, err);
            }
        }
    }
    if (rc == MF_OK) {
        p->koff[n] = p->keys.len;
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

/* Write the prepared rows through the calling thread's online store. */
/* Compute the outputs of the on-demand views written to the online store
 * from p's view (od with it as its only source), for p's rows: their
 * request fields come from the rows. Only computed, not written: a missing
 * or bad field is an error before anything is written. `only` (not NULL):
 * just that on-demand view. */
static int prepare_written(mf_store *store, const mf__snapshot *snap, const mf_entity_df *df,
                           prepared *p, const Mf__OnDemandFeatureView *only, mf_error *err) {
    const Mf__Registry *reg = mf__snapshot_registry(snap);
    const char *project = mf__snapshot_project(snap);
    mf__transforms *tf = NULL;
    int rc = MF_OK;
    for (size_t i = 0; i < reg->n_on_demand_feature_views && rc == MF_OK; i++) {
        const Mf__OnDemandFeatureView *od = reg->on_demand_feature_views[i];
        const Mf__OnDemandFeatureViewSpec *os = od->spec;
        if (only ? od != only
                 : strcmp(os->project, project) != 0 ||
                       mf__odfv_source(reg, project, os) != p->view)
            continue;
        if (!tf) {
            mf__worker *w;
            rc = mf__store_worker(store, &w, err);
            if (rc == MF_OK) rc = mf__worker_transforms(store, w, &tf, err);
            if (rc) break;
        }
        /* request fields, typed by their request sources */
        size_t nreq = 0;
        mf__col *req = NULL;
        mf__tf_input *in = NULL;
        for (size_t k = 0; k < os->n_request_sources && rc == MF_OK; k++) {
            long di = mf__reg_find(reg, MF_KIND_DATA_SOURCE, project, os->request_sources[k]);
            const Mf__DataSourceSpec *ds = di < 0 ? NULL : reg->data_sources[di]->spec;
            for (size_t j = 0; ds && j < ds->n_schema && rc == MF_OK; j++) {
                const Mf__Field *f = ds->schema[j];
                long c = mf__df_find(df, f->name);
                if (c < 0) {
                    rc = mf__err(err, MF_EREQUEST, "the rows lack column '%s' (a request field "
                                 "of on-demand feature view '%s', which is written to the online "
                                 "store with feature view '%s')", f->name, os->name, p->view->name);
                    break;
                }
                req = mf__xrealloc(req, (nreq + 1) * sizeof *req);
                in = mf__xrealloc(in, (nreq + 1) * sizeof *in);
                mf__col_init(&req[nreq], f->name, f->dtype, false);
                size_t bad;
                if (mf__col_convert(&req[nreq], &df->t->cols[c], p->n, &bad) != 0) {
                    char num[64], want[64];
                    size_t len;
                    const char *t = mf__col_text(&df->t->cols[c], bad, num, &len);
                    snprintf(want, sizeof want, "a valid %s", mf__dtype_name(f->dtype));
                    rc = mf__df_err(df, bad, err, f->name, t, len, want);
                }
                nreq++;
            }
        }
        /* the inputs only now: req moved while it grew */
        for (size_t k = 0; k < nreq; k++) in[k] = (mf__tf_input){req[k].name, &req[k]};
        if (rc == MF_OK) {
            p->wr = mf__xrealloc(p->wr, (p->nwr + 1) * sizeof *p->wr);
            written *wv = &p->wr[p->nwr++];
            wv->store_view = mf__odfv_store_view(reg, project, os);
            wv->nout = os->n_features;
            wv->out = mf__xcalloc(wv->nout + 1, sizeof *wv->out);
            for (size_t f = 0; f < wv->nout; f++)
                mf__col_init(&wv->out[f], os->features[f]->name, os->features[f]->dtype, false);
            rc = mf__odfv_compute(tf, mf__snapshot_gen(snap), od, p->view, p->feat, in, nreq,
                                  p->n, wv->out, err);
        }
        for (size_t k = 0; k < nreq; k++) mf__col_free(&req[k]);
        free(req);
        free(in);
    }
    return rc;
}

static int write_online(mf_store *store, const prepared *p, mf__buf *done, mf_error *err) {
    mf__worker *w;
    mf__online *on;
    int rc = mf__store_worker(store, &w, err);
    if (rc == MF_OK) rc = mf__worker_online(w, &on, err);
    if (rc) return rc;
    const char *project = mf__store_config(store)->project;
    if (p->write_view) {
        mf__write_batch b = {p->view, p->n, p->kp, p->kl, p->ts, p->cr, p->feat, NULL};
        rc = on->vt->write_batch(on, project, &b, err);
        if (rc == MF_OK && done)
            mf__buf_printf(done, "%sfeature view '%s'", done->len ? ", " : "", p->view->name);
    }
    for (size_t k = 0; k < p->nwr && rc == MF_OK; k++) {
        const written *wv = &p->wr[k];
        mf__write_batch b = {wv->store_view->spec, p->n, p->kp, p->kl, p->ts, p->cr, wv->out, NULL};
        rc = on->vt->write_batch(on, project, &b, err);
        if (rc == MF_OK && done)
            mf__buf_printf(done, "%son-demand feature view '%s'", done->len ? ", " : "",
                           wv->store_view->spec->name);
    }
    return rc;
}

/*---- The append journal ------------------------------------------------------*/

/*
 * A CSV append is made safe against a kill or a failed write (disk full,
 * file size limit) at any point by a journal next to the file,
 * "<dir>/.<name>.moonfeast-append". Under an exclusive flock of the CSV:
 *   1. a journal left by an interrupted append is honoured: the file is cut
 *      back to the size it records, fsynced, and the journal removed (a
 *      journal without its final newline was cut short while being
 *      written, before any row was: it is only removed);
 *   2. the header is read (the column order of the rows);
 *   3. the journal records the file's device, inode, size before and size
 *      after the append; it is fsynced, and its folder;
 *   4. the rows (after a line break when the file lacks a final one) are
 *      written after the last byte and fsynced;
 *   5. the journal is removed (and the folder fsynced): the append counts.
 * A failure in 3 to 5 cuts the file back at once and removes the journal.
 * A kill anywhere leaves either no journal and the file as it was or with
 * the whole append, or a journal that the next append or read undoes: an
 * append that did not return success never shows. A journal that does not
 * match the file (another inode, a size outside its span: the file was
 * replaced or edited since) is an error that cuts nothing.
 * Readers (mf__csv_read_lock, for source.c) take a shared lock while they
 * open the file, so they never see an append in progress, and do step 1
 * themselves when they find a journal.
 */

#define JOURNAL_SUFFIX ".moonfeast-append"
#define JOURNAL_MAGIC "moonfeast-append 1"

/* What an append in progress recorded: the CSV's identity and its size
 * before the append (start) and after it (end). */
typedef struct journal {
    unsigned long long dev, ino;
    long long start, end;
} journal;

/* "<dir>/.<name>.moonfeast-append" for "<dir>/<name>"; caller frees. */
static char *journal_path(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return mf__xasprintf("." "%s" JOURNAL_SUFFIX, path);
    return mf__xasprintf("%.*s/.%s" JOURNAL_SUFFIX, (int)(slash - path), path, slash + 1);
}

/* fsync the folder holding path, so that a file created or removed there
 * stays so after a power loss (best effort, as for the registry). */
static void sync_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? mf__xstrndup(path, (size_t)(slash - path)) : mf__xstrdup(".");
    int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void lock_wait(int fd, int op) {
    while (flock(fd, op) != 0 && errno == EINTR) {
    }
}

/* Read the journal at jpath. Returns 1 with *j, 0 when there is no journal
 * or only an incomplete one (its writer was killed before the journal was
 * whole, so before any byte of the append), or MF_EDATA / MF_EIO. */
static int journal_read(const char *jpath, journal *j, mf_error *err) {
    int fd = open(jpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        return mf__err(err, MF_EIO, "cannot read %s: %s", jpath, strerror(errno));
    }
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
    }
    int e = errno;
    close(fd);
    if (n < 0) return mf__err(err, MF_EIO, "cannot read %s: %s", jpath, strerror(e));
    buf[n] = '\0';
    if (n == 0 || buf[n - 1] != '\n') return 0;
    char tail;
    if (sscanf(buf, JOURNAL_MAGIC " %llu %llu %lld %lld%c", &j->dev, &j->ino, &j->start, &j->end,
               &tail) != 5 || tail != '\n' || j->start < 0 || j->end < j->start)
        return mf__err(err, MF_EDATA, "%s is not a moonfeast append journal; remove it after "
                       "checking the end of the CSV file next to it", jpath);
    return 1;
}

/* Write and fsync the journal (and its folder). On failure nothing is left. */
static int journal_write(const char *jpath, const journal *j, mf_error *err) {
    char buf[256];
    int len = snprintf(buf, sizeof buf, JOURNAL_MAGIC " %llu %llu %lld %lld\n", j->dev, j->ino,
                       j->start, j->end);
    int fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return mf__err(err, MF_EIO, "cannot write %s: %s", jpath, strerror(errno));
    ssize_t w;
    while ((w = write(fd, buf, (size_t)len)) < 0 && errno == EINTR) {
    }
    int bad = w != len || fsync(fd) != 0;
    int e = w >= 0 && w != len ? ENOSPC : errno;
    close(fd);
    if (bad) {
        unlink(jpath);
        return mf__err(err, MF_EIO, "cannot write %s: %s", jpath, strerror(e));
    }
    sync_dir_of(jpath);
    return MF_OK;
}

/* With fd (path) locked exclusively: roll back an append that was
 * interrupted, as its journal says, and remove the journal. A journal that
 * does not match the file (replaced, or changed other than by the append)
 * is an error: nothing is cut. */
static int journal_recover(int fd, const char *path, const char *jpath, mf_error *err) {
    journal j;
    int rc = journal_read(jpath, &j, err);
    if (rc < 0) return rc;
    if (rc == 1) {
        struct stat st;
        if (fstat(fd, &st) != 0)
            return mf__err(err, MF_EIO, "cannot stat %s: %s", path, strerror(errno));
        long long size = (long long)st.st_size;
        if ((unsigned long long)st.st_dev != j.dev || (unsigned long long)st.st_ino != j.ino ||
            size < j.start || size > j.end)
            return mf__err(err, MF_EDATA, "%s: an interrupted push left %s, but the file has "
                           "changed since (%lld bytes now; the push began at byte %lld and would "
                           "have ended at %lld): check the end of the file, then remove %s", path,
                           jpath, size, j.start, j.end, jpath);
        if (size > j.start) {
            if (ftruncate(fd, (off_t)j.start) != 0 || fsync(fd) != 0)
                return mf__err(err, MF_EIO, "%s: cannot remove the %lld bytes of an interrupted "
                               "push: %s", path, size - j.start, strerror(errno));
            mf__log(1, "%s: removed the %lld bytes of an interrupted push (it had not "
                    "completed)", path, size - j.start);
        }
    }
    if (unlink(jpath) != 0 && errno != ENOENT)
        return mf__err(err, MF_EIO, "cannot remove %s: %s", jpath, strerror(errno));
    if (rc == 1) sync_dir_of(jpath);
    return MF_OK;
}

/* Roll back the interrupted append of path (journal jpath), taking the
 * exclusive lock on a descriptor of its own. */
static int recover_path(const char *path, const char *jpath, mf_error *err) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return mf__err(err, MF_EIO, "%s: an interrupted push left partial rows at its end (see "
                       "%s), and the file cannot be opened to remove them: %s", path, jpath,
                       strerror(errno));
    lock_wait(fd, LOCK_EX);
    int rc = journal_recover(fd, path, jpath, err);
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}

int mf__csv_read_lock(const char *path, int *lock_fd, mf_error *err) {
    *lock_fd = -1;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return MF_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return MF_OK; /* the reader reports it */
    char *jpath = journal_path(path);
    int rc = MF_OK;
    for (int tries = 0;; tries++) {
        lock_wait(fd, LOCK_SH);
        if (access(jpath, F_OK) != 0) break; /* no interrupted append: keep the lock */
        flock(fd, LOCK_UN);
        if (tries == 100) {
            rc = mf__err(err, MF_EIO, "%s: appends keep being interrupted (%s)", path, jpath);
            break;
        }
        if ((rc = recover_path(path, jpath, err)) != MF_OK) break;
    }
    free(jpath);
    if (rc) {
        close(fd);
        return rc;
    }
    *lock_fd = fd;
    return MF_OK;
}

void mf__csv_read_unlock(int lock_fd) {
    if (lock_fd < 0) return;
    flock(lock_fd, LOCK_UN);
    close(lock_fd);
}

/*---- Offline appends --------------------------------------------------------*/

static const char *mapped_name(const Mf__DataSourceSpec *ds, const char *col) {
    for (size_t i = 0; i < ds->n_field_mapping; i++)
        if (strcmp(ds->field_mapping[i]->source_column, col) == 0) return ds->field_mapping[i]->name;
    return col;
}

/* pwrite all of p[0..n) at *off; 0, or -1 with errno. */
static int write_at(int fd, const char *p, size_t n, off_t *off) {
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, *off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w, n -= (size_t)w, *off += w;
    }
    return 0;
}

/* The CSV rows of df in the column order of the CSV at path (its header
 * read under the caller's lock) into b. */
static int csv_rows(const char *path, char delim, const Mf__DataSourceSpec *ds,
                    const mf_entity_df *df, mf__buf *b, mf_error *err) {
    mf__csv *csv;
    int rc = mf__csv_open(path, delim, &csv, err);
    if (rc) return rc;
    size_t nc = mf__csv_ncols(csv);
    long *map = mf__xcalloc(nc + 1, sizeof *map);
    for (size_t j = 0; j < nc; j++) map[j] = mf__df_find(df, mapped_name(ds, mf__csv_colname(csv, j)));
    mf__csv_close(csv);
    char num[64];
    for (size_t i = 0; i < df->t->nrows; i++) {
        for (size_t j = 0; j < nc; j++) {
            if (j) mf__buf_putc(b, delim);
            if (map[j] < 0) continue;
            const mf__col *c = &df->t->cols[map[j]];
            size_t len;
            const char *t = mf__col_text(c, i, num, &len);
            mf__csv_write_field(b, t, len, delim); /* a null (an empty string too) is empty */
        }
        mf__buf_putc(b, '\n');
    }
    free(map);
    return MF_OK;
}

/* Append b to the CSV open (and locked exclusively) as fd, journaled: the
 * journal is on disk before the first byte, the bytes are on disk before
 * the journal goes. A failure cuts the file back to its old size. */
static int append_journaled(int fd, const char *path, const char *jpath, const mf__buf *b,
                            mf_error *err) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return mf__err(err, MF_EIO, "cannot stat %s: %s", path, strerror(errno));
    off_t start = st.st_size, off = start;
    /* start on a new line when the file does not end with one */
    char last = '\n';
    if (start > 0 && pread(fd, &last, 1, start - 1) != 1) last = '\n';
    size_t pre = last != '\n';
    journal j = {(unsigned long long)st.st_dev, (unsigned long long)st.st_ino, (long long)start,
                 (long long)start + (long long)(pre + b->len)};
    int rc = journal_write(jpath, &j, err);
    if (rc) {
        mf__err_prefix(err, "cannot append to %s", path);
        return rc;
    }
    size_t half = b->len / 2;
    int bad = write_at(fd, "\n", pre, &off) != 0 || write_at(fd, b->data, half, &off) != 0;
    if (!bad) mf__test_pause("append");
    bad = bad || write_at(fd, b->data + half, b->len - half, &off) != 0 || fsync(fd) != 0;
    if (!bad) {
        if (unlink(jpath) == 0) {
            sync_dir_of(jpath);
            return MF_OK;
        }
        /* a journal left behind would undo this append later: undo it now */
    }
    int e = errno;
    if (ftruncate(fd, start) == 0 && fsync(fd) == 0 && (unlink(jpath) == 0 || errno == ENOENT)) {
        sync_dir_of(jpath);
        return mf__err(err, MF_EIO, "cannot append to %s: %s (the file is as it was)", path,
                       strerror(e));
    }
    return mf__err(err, MF_EIO, "cannot append to %s: %s; the partial rows stay until the next "
                   "push or read of the file removes them (%s)", path, strerror(e), jpath);
}

/* Append df's rows to the CSV of file source ds, journaled (above). */
static int append_csv(const mf__config *cfg, const Mf__DataSourceSpec *ds, const mf_entity_df *df,
                      mf_error *err) {
    if (df->t->nrows == 0) return MF_OK; /* nothing to append: leave the file as it is */
    char *path = mf__path_join(cfg->repo_path, ds->path);
    char delim = ds->delimiter[0] ? ds->delimiter[0] : ',';
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int rc = mf__err(err, MF_EIO, "cannot append to %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    lock_wait(fd, LOCK_EX);
    char *jpath = journal_path(path);
    mf__buf b;
    mf__buf_init(&b);
    int rc = journal_recover(fd, path, jpath, err);
    if (rc == MF_OK) rc = csv_rows(path, delim, ds, df, &b, err);
    if (rc == MF_OK) rc = append_journaled(fd, path, jpath, &b, err);
    flock(fd, LOCK_UN);
    close(fd);
    mf__buf_free(&b);
    free(jpath);
    free(path);
    return rc;
}

/* Open the Parquet dataset at path of file source ds as one a push can add
 * a file to: a directory (a single Parquet file cannot take rows) of at
 * least one file, without partition folders, every column of a type
 * moonfeast writes. Returns 0 with *out open (the caller closes it), or
 * an error saying what is wrong. */
static int parquet_target(const char *path, const Mf__DataSourceSpec *ds, mf__pqsrc **out,
                          mf_error *err) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return mf__err(err, MF_EIO, "cannot push offline to %s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mf__err(err, MF_EREQUEST, "cannot push offline to file_source '%s': %s is a "
                       "single Parquet file, which cannot take more rows; make its path a "
                       "directory (a Parquet dataset) and pushes add a file to it", ds->name, path);
    if (access(path, W_OK) != 0)
        return mf__err(err, MF_EIO, "cannot push offline to %s: %s", path, strerror(errno));
    mf__pqsrc *q = NULL;
    int rc = mf__pqsrc_open(path, ds, NULL, &q, err);
    if (rc) {
        mf__err_prefix(err, "cannot push offline to file_source '%s'", ds->name);
        return rc;
    }
    if (mf__pqsrc_nparts(q))
        rc = mf__err(err, MF_EREQUEST, "cannot push offline to file_source '%s': %s is a "
                     "partitioned dataset (key=value folders), which pushes do not write to",
                     ds->name, path);
    for (size_t j = 0; rc == MF_OK && j < mf__pqsrc_ncols(q); j++) {
        Mf__ValueType type;
        if (mf__pqsrc_col_type(q, j, &type) != 1)
            rc = mf__err(err, MF_EREQUEST, "cannot push offline to %s: its column '%s' is of a "
                         "type moonfeast cannot write", path, mf__pqsrc_colname(q, j));
    }
    if (rc) mf__pqsrc_close(q);
    else *out = q;
    return rc;
}

/* Add df's rows to the Parquet dataset (a directory) of file source ds as
 * one new file, push-TIME-PID-N.parquet (N counts the process's pushes;
 * TIME after every push file there),
 * with the columns and types of the dataset (its first file; a column the
 * rows lack is null): written to a temporary name that readers skip,
 * fsynced, renamed into place, the directory fsynced. The dataset must
 * suit parquet_target. */
static int append_parquet(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                          const mf_entity_df *df, mf_error *err) {
    if (df->t->nrows == 0) return MF_OK;
    char *path = mf__path_join(cfg->repo_path, ds->path);
    mf__pqsrc *q = NULL;
    int rc = parquet_target(path, ds, &q, err);
    size_t nc = rc == MF_OK ? mf__pqsrc_ncols(q) : 0;
    mf_table *t = mf__table_new(nc);
    t->nrows = df->t->nrows;
    for (size_t j = 0; j < nc && rc == MF_OK; j++) {
        const char *name = mf__pqsrc_colname(q, j);
        Mf__ValueType type = MF__VALUE_TYPE__VT_STRING;
        mf__pqsrc_col_type(q, j, &type); /* checked by parquet_target */
        mf__col *c = &t->cols[j];
        mf__col_init(c, name, type, false);
        if (mf__col_try_reserve(c, df->t->nrows)) {
            rc = mf__err_nomem(err, "push to %s", path);
            break;
        }
        long k = mf__df_find(df, mapped_name(ds, name));
        for (size_t i = 0; i < df->t->nrows && rc == MF_OK; i++) {
            if (k < 0) {
                mf__col_push_null(c);
                continue;
            }
            const mf__col *src = &df->t->cols[k];
            char num[64];
            size_t len;
            const char *txt = src->valid[i] ? mf__col_text(src, i, num, &len) : NULL;
            if (!txt) {
                mf__col_push_null(c);
            } else if (src->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP && !src->raw &&
                       type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
                mf__col_push_i64(c, mf__col_i64(src, i));
            } else if (mf__col_push_text(c, txt, len) != 0) {
                char want[64];
                snprintf(want, sizeof want, "a valid %s (the dataset's type)", mf__dtype_name(type));
                rc = mf__df_err(df, i, err, src->name, txt, len, want);
            }
        }
    }
    /* the file's time: the clock's, but after every push file already in
     * the dataset (one written while the clock ran ahead, by a machine
     * whose clock did, or before the clock was set back), so that it is
     * read after them; pushes of one time are ordered by PID and N */
    int64_t at = 0;
    if (rc == MF_OK) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        at = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        int64_t after = mf__pq_last_push_us(path);
        if (after != INT64_MIN && at <= after) at = after + 1;
        if (at > INT64_C(253402300799999999)) /* past 9999-12-31T23:59:59.999999Z */
            rc = mf__err(err, MF_EDATA, "cannot push offline to %s: a pushed file there is "
                         "dated the end of year 9999, after which no push can be named", path);
    }
    if (rc == MF_OK) {
        time_t sec = (time_t)(at / 1000000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        char name[96];
        strftime(name, sizeof name, "push-%Y%m%dT%H%M%S", &tm);
        /* a count of the process's pushes too (as numbers, after the time) */
        static unsigned long pushes;
        unsigned long nth = __atomic_add_fetch(&pushes, 1, __ATOMIC_RELAXED);
        char *file = mf__xasprintf("%s/%s.%06ldZ-%ld-%lu.parquet", path, name,
                                   (long)(at % 1000000), (long)getpid(), nth);
        rc = mf__pq_write_table(t, file, true, err);
        if (rc == MF_OK) sync_dir_of(file);
        free(file);
    }
    mf_table_free(t);
    mf__pqsrc_close(q);
    free(path);
    return rc;
}

/* Open the SQLite database of sqlite_source ds read-write, with its
 * table's columns prepared in *cols (SELECT * FROM table LIMIT 0): the
 * source must read a table (not a query) that exists. Returns 0 with *db
 * and *cols open (the caller finalizes and closes them), or an error
 * saying what is wrong. path is the database's. */
static int sqlite_target(const char *path, const Mf__DataSourceSpec *ds, sqlite3 **db,
                         sqlite3_stmt **cols, mf_error *err) {
    *db = NULL, *cols = NULL;
    if (!ds->table[0])
        return mf__err(err, MF_EREQUEST, "cannot push offline to sqlite_source '%s': it reads a "
                       "query, not a table", ds->name);
    mf__sqlite_setup();
    int rc = MF_OK;
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = mf__err(err, MF_EIO, "cannot push offline to sqlite_source '%s': cannot open %s: %s",
                     ds->name, path, *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*db, 5000);
    char *q = mf__sql_ident(ds->table);
    char *sql = mf__xasprintf("SELECT * FROM %s LIMIT 0", q);
    /* SQLITE_OPEN_READWRITE opens a file it cannot write read-only */
    if (sqlite3_db_readonly(*db, "main") == 1) {
        rc = mf__err(err, MF_EIO, "cannot push offline to sqlite_source '%s': %s is read-only",
                     ds->name, path);
        free(sql);
        free(q);
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    if (sqlite3_prepare_v2(*db, sql, -1, cols, NULL) != SQLITE_OK) {
        rc = mf__err(err, MF_EIO, "cannot push offline to sqlite_source '%s': %s: %s", ds->name,
                     path, sqlite3_errmsg(*db));
        sqlite3_finalize(*cols);
        *cols = NULL;
        sqlite3_close(*db);
        *db = NULL;
    }
    free(sql);
    free(q);
    return rc;
}

static int append_sqlite(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                         const mf_entity_df *df, mf_error *err) {
    char *path = mf__path_join(cfg->repo_path, ds->database);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite_target(path, ds, &db, &st, err);
    if (rc) {
        free(path);
        return rc;
    }
    /* the table's columns, mapped to the pushed names */
    char *q = mf__sql_ident(ds->table);
    mf__buf ins;
    mf__buf_init(&ins);
    size_t nc = (size_t)sqlite3_column_count(st);
    long *map = mf__xcalloc(nc + 1, sizeof *map);
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
    sqlite3_finalize(st);
    st = NULL;
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

/* Whether df's column named name is one that prepare() checked: a time
 * field of the batch source, or a join key or feature of a view fed. */
static bool checked_col(const char *name, const Mf__DataSourceSpec *batch, const prepared *pv,
                        size_t nv) {
    if (!strcmp(name, batch->timestamp_field) ||
        (batch->created_timestamp_column[0] && !strcmp(name, batch->created_timestamp_column)))
        return true;
    for (size_t i = 0; i < nv; i++) {
        const Mf__FeatureViewSpec *v = pv[i].view;
        for (size_t k = 0; k < v->n_entity_columns; k++)
            if (!strcmp(name, v->entity_columns[k]->name)) return true;
        for (size_t f = 0; f < v->n_features; f++)
            if (!strcmp(name, v->features[f]->name)) return true;
    }
    return false;
}

/* Whether the CSV at path of file source ds can take an append: a file
 * that can be written, in a folder that can take the append journal,
 * with a header row. 0, or an error saying what is wrong. */
static int csv_target(const char *path, const Mf__DataSourceSpec *ds, mf_error *err) {
    struct stat st;
    if (stat(path, &st) != 0 || access(path, W_OK) != 0)
        return mf__err(err, MF_EIO, "cannot push offline to %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mf__err(err, MF_EREQUEST, "cannot push offline to file_source '%s': %s is not a "
                       "file", ds->name, path);
    const char *slash = strrchr(path, '/');
    char *dir = slash ? mf__xstrndup(path, (size_t)(slash - path)) : mf__xstrdup(".");
    int rc = MF_OK;
    if (access(dir[0] ? dir : "/", W_OK) != 0) {
        char *jpath = journal_path(path);
        rc = mf__err(err, MF_EIO, "cannot push offline to %s: its folder must be writable for "
                     "the append journal (%s): %s: %s", path, strrchr(jpath, '/') + 1,
                     dir[0] ? dir : "/", strerror(errno));
        free(jpath);
    }
    free(dir);
    if (rc) return rc;
    mf__csv *csv;
    rc = mf__csv_open(path, ds->delimiter[0] ? ds->delimiter[0] : ',', &csv, err);
    if (rc) {
        mf__err_prefix(err, "cannot push offline to file_source '%s'", ds->name);
        return rc;
    }
    mf__csv_close(csv);
    return MF_OK;
}

/* The refusals of an offline push that need no rows, checked before
 * anything is written (so that a push to online_and_offline that would
 * fail offline whatever its rows writes nothing online): a sqlite_source
 * of a query, or whose database or table cannot be opened for writing; a
 * single Parquet file, a dataset without files or with partition folders;
 * a CSV that cannot be written, in a folder that cannot take the append
 * journal, or without a header row. */
static int offline_ready(const mf__config *cfg, const Mf__DataSourceSpec *ds, mf_error *err) {
    int rc;
    if (strcmp(ds->kind, "file") != 0) {
        if (!ds->table[0])
            return mf__err(err, MF_EREQUEST, "cannot push offline to sqlite_source '%s': it "
                           "reads a query, not a table", ds->name);
        char *path = mf__path_join(cfg->repo_path, ds->database);
        sqlite3 *db;
        sqlite3_stmt *cols;
        rc = sqlite_target(path, ds, &db, &cols, err);
        sqlite3_finalize(cols);
        sqlite3_close(db);
        free(path);
        return rc;
    }
    char *path = mf__path_join(cfg->repo_path, ds->path);
    if (mf__source_is_parquet(ds)) {
        mf__pqsrc *q;
        rc = parquet_target(path, ds, &q, err);
        mf__pqsrc_close(q);
    } else {
        rc = csv_target(path, ds, err);
    }
    free(path);
    return rc;
}

/* Append rows to the batch source: only the columns prepare() checked (a
 * column no view fed reads is checked by nothing: a bad value would break
 * every later read of the source by a view that reads it). */
static int append_offline(const mf__config *cfg, const Mf__DataSourceSpec *batch,
                          const mf_entity_df *rows, const prepared *pv, size_t nv,
                          mf_error *err) {
    mf_table t = {rows->t->nrows, 0, mf__xcalloc(rows->t->ncols + 1, sizeof(mf__col))};
    for (size_t j = 0; j < rows->t->ncols; j++)
        if (checked_col(rows->t->cols[j].name, batch, pv, nv)) t.cols[t.ncols++] = rows->t->cols[j];
    mf_entity_df df = {&t, rows->origin, rows->lines};
    int rc = strcmp(batch->kind, "file") != 0 ? append_sqlite(cfg, batch, &df, err)
             : mf__source_is_parquet(batch)    ? append_parquet(cfg, batch, &df, err)
                                               : append_csv(cfg, batch, &df, err);
    free(t.cols);
    return rc;
}

/* mf_push with the snapshot pinned for the call. */
static int push(mf_store *store, const mf__snapshot *snap, const char *source,
                const mf_entity_df *rows, mf_push_to to, mf_error *err) {
    const mf__config *cfg = mf__store_config(store);
    const mf__obj *so = mf__snapshot_find(snap, MF_KIND_DATA_SOURCE, source);
    const Mf__DataSourceSpec *ps = so ? (const Mf__DataSourceSpec *)so->spec : NULL;
    if (!ps || strcmp(ps->kind, "push") != 0)
        return mf__err(err, MF_ENOTFOUND, !ps ? "unknown push source '%s'"
                                              : "data source '%s' is not a push source", source);
    const mf__obj *bo = mf__snapshot_find(snap, MF_KIND_DATA_SOURCE, ps->batch_source);
    if (!bo)
        return mf__err(err, MF_EREGISTRY, "push source '%s': batch source '%s' is not registered",
                       source, ps->batch_source);
    const Mf__DataSourceSpec *batch = (const Mf__DataSourceSpec *)bo->spec;
    /* validate every view fed by the source before writing anything */
    size_t nfed, nv = 0;
    const Mf__FeatureView *const *fed = mf__snapshot_views_of(snap, source, &nfed);
    prepared *pv = mf__xcalloc(nfed + 1, sizeof *pv);
    bool any_online = false;
    int rc = MF_OK;
    for (size_t i = 0; i < nfed && rc == MF_OK; i++) {
        const Mf__FeatureViewSpec *v = fed[i]->spec;
        rc = prepare(rows, v, batch, &pv[nv], err);
        if (rc == MF_OK) {
            pv[nv].write_view = true;
            if (v->online && to != MF_PUSH_OFFLINE)
                rc = prepare_written(store, snap, rows, &pv[nv], NULL, err);
            any_online |= v->online != 0;
            nv++;
        }
    }
    if (rc == MF_OK && nv == 0)
        rc = mf__err(err, MF_EREQUEST, "push source '%s' feeds no feature view", source);
    if (rc == MF_OK && to != MF_PUSH_OFFLINE && !any_online)
        rc = mf__err(err, MF_EREQUEST, "push source '%s' feeds no online feature view; push "
                     "with --to offline", source);
    /* online first: a write there can be repeated (newer-or-equal wins), an
     * append cannot; so a push that failed online appended nothing, and
     * one that failed offline can be sent again as it was (what refuses an
     * offline push whatever its rows is checked before anything is
     * written) */
    if (rc == MF_OK && to != MF_PUSH_ONLINE) rc = offline_ready(cfg, batch, err);
    mf__buf done; /* the views written online so far, for the message of a failure */
    mf__buf_init(&done);
    for (size_t i = 0; rc == MF_OK && to != MF_PUSH_OFFLINE && i < nv; i++) {
        if (!pv[i].view->online) continue;
        rc = write_online(store, &pv[i], &done, err);
        if (rc && done.len && err) {
            char *t = mf__xasprintf("; the rows were written online to %.*s only",
                                    (int)done.len, done.data);
            mf__err_append(err, t);
            free(t);
        }
        if (rc && to == MF_PUSH_ONLINE_AND_OFFLINE && err)
            mf__err_append(err, "; nothing was appended to the offline source");
    }
    mf__buf_free(&done);
    if (rc == MF_OK && to != MF_PUSH_ONLINE) {
        rc = append_offline(cfg, batch, rows, pv, nv, err);
        if (rc && to == MF_PUSH_ONLINE_AND_OFFLINE && err)
            mf__err_append(err, " (the rows were written to the online store)");
    }
    for (size_t i = 0; i < nv; i++) prepared_free(&pv[i]);
    free(pv);
    return rc;
}

int mf_push(mf_store *store, const char *source, const mf_entity_df *rows, mf_push_to to,
            mf_error *err) {
    mf__err_clear(err);
    if (to != MF_PUSH_ONLINE && to != MF_PUSH_OFFLINE && to != MF_PUSH_ONLINE_AND_OFFLINE)
        return mf__err(err, MF_EUSAGE, "push: bad destination");
    mf__snapshot *snap;
    int rc = mf__store_pin(store, &snap, err);
    if (rc) return rc;
    rc = push(store, snap, source, rows, to, err);
    mf__snapshot_unpin(snap);
    return rc;
}

/* mf_write_to_online_store with the snapshot pinned for the call. */
/* A direct write to on-demand view od (written to the online store): the
 * rows carry its source view's join keys and times, the features it reads
 * and its request fields; its outputs are computed and written. */
static int write_odfv(mf_store *store, const mf__snapshot *snap, const Mf__OnDemandFeatureView *od,
                      const mf_entity_df *rows, mf_error *err) {
    const Mf__Registry *reg = mf__snapshot_registry(snap);
    const char *project = mf__snapshot_project(snap);
    const Mf__FeatureViewSpec *src = mf__odfv_source(reg, project, od->spec);
    if (!src)
        return mf__err(err, MF_EREQUEST, "on-demand feature view '%s' is not written to the "
                       "online store (write_to_online_store = false): it is computed when read",
                       od->spec->name);
    const Mf__DataSourceSpec *ds = mf__view_batch_source(reg, project, src);
    if (!ds) return mf__err(err, MF_EREGISTRY, "feature view '%s': source not registered", src->name);
    /* src with only the features od reads, so that the rows need no others */
    const Mf__FeatureViewProjection *pj = od->spec->source_views[0];
    Mf__FeatureViewSpec sub = *src;
    Mf__Field **sel = mf__xcalloc(src->n_features + 1, sizeof *sel);
    size_t nsel = 0;
    for (size_t f = 0; f < src->n_features; f++) {
        bool used = pj->n_features == 0;
        for (size_t j = 0; j < pj->n_features && !used; j++)
            used = !strcmp(pj->features[j], src->features[f]->name);
        if (used) sel[nsel++] = src->features[f];
    }
    sub.features = sel;
    sub.n_features = nsel;
    prepared p;
    int rc = prepare(rows, &sub, ds, &p, err);
    if (rc == MF_OK) {
        p.write_view = false;
        rc = prepare_written(store, snap, rows, &p, od, err);
        if (rc == MF_OK) rc = write_online(store, &p, NULL, err);
        prepared_free(&p);
    }
    free(sel);
    return rc;
}

static int write_view(mf_store *store, const mf__snapshot *snap, const char *view,
                      const mf_entity_df *rows, mf_error *err) {
    const mf__obj *vo = mf__snapshot_find(snap, MF_KIND_FEATURE_VIEW, view);
    const mf__obj *oo = vo ? NULL : mf__snapshot_find(snap, MF_KIND_ON_DEMAND_FEATURE_VIEW, view);
    if (oo) return write_odfv(store, snap, (const Mf__OnDemandFeatureView *)oo->msg, rows, err);
    if (!vo) return mf__err(err, MF_ENOTFOUND, "unknown feature view '%s'", view);
    const Mf__FeatureViewSpec *v = (const Mf__FeatureViewSpec *)vo->spec;
    if (!v->online) return mf__err(err, MF_EREQUEST, "feature view '%s' is not online", view);
    const Mf__DataSourceSpec *ds =
        mf__view_batch_source(mf__snapshot_registry(snap), mf__snapshot_project(snap), v);
    if (!ds) return mf__err(err, MF_EREGISTRY, "feature view '%s': source not registered", view);
    prepared p;
    int rc = prepare(rows, v, ds, &p, err);
    if (rc) return rc;
    p.write_view = true;
    rc = prepare_written(store, snap, rows, &p, NULL, err);
    if (rc == MF_OK) rc = write_online(store, &p, NULL, err);
    prepared_free(&p);
    return rc;
}

int mf_write_to_online_store(mf_store *store, const char *view, const mf_entity_df *rows,
                             mf_error *err) {
    mf__err_clear(err);
    mf__snapshot *snap;
    int rc = mf__store_pin(store, &snap, err);
    if (rc) return rc;
    rc = write_view(store, snap, view, rows, err);
    mf__snapshot_unpin(snap);
    return rc;
}
