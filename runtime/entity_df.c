/*
 * entity_df.c — entity frames (mf_entity_df): the entity rows of a
 * historical retrieval, built column by column by a host
 * (mf_entity_df_add_*), or read from a CSV file or an SQLite query; also
 * the rows of a push. Columns keep their text until a consumer types them
 * (the point-in-time join, a push); errors about a row name its file and
 * line when it came from a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mf_csv.h"
#include "mf_table.h"
#include "mf_values.h"

mf_entity_df *mf_entity_df_new(size_t nrows) {
    mf_entity_df *df = mf__xcalloc(1, sizeof *df);
    df->t = mf__table_new(0);
    df->t->nrows = nrows;
    return df;
}

void mf_entity_df_free(mf_entity_df *df) {
    if (!df) return;
    mf_table_free(df->t);
    free(df->origin);
    free(df->lines);
    free(df);
}

size_t mf_entity_df_nrows(const mf_entity_df *df) { return df->t->nrows; }

/* Add a column of every row (the frame's size, which the host chose, is
 * allocated here): NULL with *rc MF_EUSAGE for a name taken, MF_ENOMEM
 * when the memory is not there (the frame is left as it was). */
mf__col *mf__df_add_col(mf_entity_df *df, const char *name, Mf__ValueType type, bool raw,
                        int *rc, mf_error *err) {
    for (size_t i = 0; i < df->t->ncols; i++)
        if (strcmp(df->t->cols[i].name, name) == 0) {
            *rc = mf__err(err, MF_EUSAGE, "entity rows already have a column '%s'", name);
            return NULL;
        }
    mf__col c;
    mf__col_init(&c, name, type, raw);
    mf__col *cols = NULL;
    if (mf__col_try_reserve(&c, df->t->nrows) != 0 ||
        !(cols = mf__try_realloc_array(df->t->cols, df->t->ncols + 1, sizeof *cols))) {
        mf__col_free(&c);
        *rc = mf__err_nomem(err, "entity rows: column '%s' of %zu rows", name, df->t->nrows);
        return NULL;
    }
    df->t->cols = cols;
    cols[df->t->ncols] = c;
    return &cols[df->t->ncols++];
}

int mf_entity_df_add_int64(mf_entity_df *df, const char *name, const int64_t *values,
                           const uint8_t *valid, mf_error *err) {
    int rc;
    mf__col *c = mf__df_add_col(df, name, MF__VALUE_TYPE__VT_INT64, false, &rc, err);
    if (!c) return rc;
    for (size_t i = 0; i < df->t->nrows; i++) {
        if (valid && !valid[i]) mf__col_push_null(c);
        else mf__col_push_i64(c, values[i]);
    }
    return MF_OK;
}

int mf_entity_df_add_timestamps(mf_entity_df *df, const char *name, const int64_t *us,
                                mf_error *err) {
    int rc;
    mf__col *c = mf__df_add_col(df, name, MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, false, &rc, err);
    if (!c) return rc;
    for (size_t i = 0; i < df->t->nrows; i++) mf__col_push_i64(c, us[i]);
    return MF_OK;
}

int mf_entity_df_add_text(mf_entity_df *df, const char *name, const char *const *values,
                          mf_error *err) {
    int rc;
    mf__col *c = mf__df_add_col(df, name, MF__VALUE_TYPE__VT_STRING, true, &rc, err);
    if (!c) return rc;
    /* the text's bytes at once, so that a frame too large fails here */
    size_t text = 0;
    bool fits = true;
    for (size_t i = 0; i < df->t->nrows && fits; i++)
        if (values[i]) fits = mf__size_add(text, strlen(values[i]), &text);
    if (!fits || mf__col_try_reserve_heap(c, text) != 0) {
        mf__col_free(c);
        df->t->ncols--;
        return mf__err_nomem(err, "entity rows: column '%s' of %zu rows (%zu bytes of text)",
                             name, df->t->nrows, text);
    }
    for (size_t i = 0; i < df->t->nrows; i++)
        mf__col_push_text(c, values[i], values[i] ? strlen(values[i]) : 0);
    return MF_OK;
}

/* Rows read before the columns are sized for the whole file. */
#define SIZE_SAMPLE 4096

/* Room for the rows and text still to come, estimated from the share of
 * the file read so far (and a sixteenth more): the columns then grow in
 * place instead of doubling, which copies them and touches their pages
 * twice. Only a size: when short, they double from there as before. */
static void presize_df(mf_entity_df *df, const mf__csv *csv, size_t *cap) {
    size_t done, total;
    mf__csv_progress(csv, &done, &total);
    if (done == 0 || total <= done) return;
    double scale = (double)total / (double)done * 1.0625;
    double rows = (double)df->t->nrows * scale + 1024.0;
    if (rows > (double)(SIZE_MAX / 64)) return;
    size_t n = (size_t)rows;
    long *lines = mf__try_realloc_array(df->lines, n, sizeof *lines);
    if (!lines) return;
    df->lines = lines;
    *cap = n;
    for (size_t j = 0; j < df->t->ncols; j++) {
        mf__col *c = &df->t->cols[j];
        if (mf__col_try_reserve(c, n) != 0) return;
        if (c->sc == MF__SC_TEXT &&
            mf__col_try_reserve_heap(c, (size_t)((double)c->heap_len * (scale - 1.0)) + 4096) != 0)
            return;
    }
}

int mf_entity_df_read_csv(const char *path, mf_entity_df **out, mf_error *err) {
    mf__csv *csv;
    int rc = mf__csv_open(path, ',', &csv, err);
    if (rc) return rc;
    mf_entity_df *df = mf_entity_df_new(0);
    df->origin = mf__xstrdup(path);
    size_t nc = mf__csv_ncols(csv);
    for (size_t j = 0; j < nc && rc == MF_OK; j++)
        if (!mf__df_add_col(df, mf__csv_colname(csv, j), MF__VALUE_TYPE__VT_STRING, true, &rc, err) &&
            rc == MF_EUSAGE)
            rc = mf__err_at(err, MF_EDATA, path, 1, "entity rows have two columns named '%s'",
                            mf__csv_colname(csv, j));
    size_t cap = 0;
    const mf__slice *f;
    while (rc == MF_OK) {
        int r = mf__csv_next(csv, &f, err);
        if (r < 0) rc = r;
        if (r <= 0) break;
        size_t i = df->t->nrows;
        if (i == SIZE_SAMPLE) presize_df(df, csv, &cap);
        if (i == cap) {
            long *lines = mf__try_realloc_array(df->lines, cap ? cap * 2 : 1024, sizeof *lines);
            if (lines) cap = cap ? cap * 2 : 1024, df->lines = lines;
        }
        bool fits = i < cap;
        for (size_t j = 0; j < nc && fits; j++)
            fits = mf__col_try_reserve(&df->t->cols[j], i + 1) == 0 &&
                   mf__col_try_reserve_heap(&df->t->cols[j], f[j].len) == 0;
        if (!fits) {
            rc = mf__err_nomem(err, "entity rows of %s: %zu rows read", path, i);
            break;
        }
        df->t->nrows++;
        df->lines[i] = mf__csv_line(csv);
        for (size_t j = 0; j < nc; j++) mf__col_push_text(&df->t->cols[j], f[j].ptr, f[j].len);
    }
    mf__csv_close(csv);
    if (rc) {
        mf_entity_df_free(df);
        return rc;
    }
    *out = df;
    return MF_OK;
}

int mf_entity_df_read_sqlite(const char *db_path, const char *sql, mf_entity_df **out,
                             mf_error *err) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = MF_OK;
    mf__sqlite_setup();
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = mf__err(err, MF_EIO, "cannot open %s: %s", db_path, db ? sqlite3_errmsg(db) : "");
        sqlite3_close(db);
        return rc;
    }
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, &tail) != SQLITE_OK) {
        rc = mf__err(err, MF_EUSAGE, "entity query on %s: %s", db_path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return rc;
    }
    if (!st) /* only spaces or comments */
        rc = mf__err(err, MF_EUSAGE, "entity query on %s: the query is empty (give one SELECT "
                     "statement)", db_path);
    if (rc == MF_OK && tail && *tail) { /* anything but spaces and comments after it */
        sqlite3_stmt *more = NULL;
        bool extra = sqlite3_prepare_v2(db, tail, -1, &more, NULL) != SQLITE_OK || more;
        sqlite3_finalize(more);
        if (extra)
            rc = mf__err(err, MF_EUSAGE, "entity query on %s: give one statement (more follows "
                         "the first: '%.40s')", db_path, tail);
    }
    if (rc) {
        sqlite3_finalize(st);
        sqlite3_close(db);
        return rc;
    }
    mf_entity_df *df = mf_entity_df_new(0);
    df->origin = mf__xstrdup(db_path);
    int nc = sqlite3_column_count(st);
    for (int j = 0; j < nc && rc == MF_OK; j++)
        if (!mf__df_add_col(df, sqlite3_column_name(st, j), MF__VALUE_TYPE__VT_STRING, true, &rc,
                            err) &&
            rc == MF_EUSAGE) /* the data's fault, as for a CSV file's header */
            rc = mf__err(err, MF_EDATA, "entity query on %s: two columns named '%s' (give "
                         "them different names with AS)", db_path, sqlite3_column_name(st, j));
    while (rc == MF_OK) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE) break;
        if (s != SQLITE_ROW) {
            rc = mf__err(err, MF_EDATA, "entity query on %s: %s", db_path, sqlite3_errmsg(db));
            break;
        }
        bool fits = true;
        for (int j = 0; j < nc && fits; j++) {
            int ct = sqlite3_column_type(st, j);
            char num[MF__NUM_BUFLEN];
            const char *v = NULL;
            size_t len = 0;
            if (ct == SQLITE_FLOAT) { /* shortest round-trip text, not SQLite's 15 digits */
                len = mf__format_double(sqlite3_column_double(st, j), num);
                v = num;
            } else if (ct != SQLITE_NULL) {
                v = (const char *)sqlite3_column_text(st, j);
                len = v ? (size_t)sqlite3_column_bytes(st, j) : 0;
            }
            fits = mf__col_try_reserve(&df->t->cols[j], df->t->nrows + 1) == 0 &&
                   mf__col_try_reserve_heap(&df->t->cols[j], len) == 0;
            if (fits) mf__col_push_text(&df->t->cols[j], v, len);
        }
        if (!fits) {
            rc = mf__err_nomem(err, "entity rows of the query on %s: %zu rows read", db_path,
                               df->t->nrows);
            break;
        }
        df->t->nrows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc) {
        mf_entity_df_free(df);
        return rc;
    }
    *out = df;
    return MF_OK;
}

long mf__df_find(const mf_entity_df *df, const char *name) {
    for (size_t i = 0; i < df->t->ncols; i++)
        if (strcmp(df->t->cols[i].name, name) == 0) return (long)i;
    return -1;
}

/* Error about entity row i (file and line when read from a file). */
int mf__df_err(const mf_entity_df *df, size_t i, mf_error *err, const char *col,
                  const char *text, size_t len, const char *want) {
    if (df->origin && df->lines)
        return mf__err_at(err, MF_EDATA, df->origin, (int)df->lines[i],
                          "column '%s': '%.*s' is not %s", col, (int)(len > 200 ? 200 : len),
                          text, want);
    if (df->origin) /* a database: no lines */
        return mf__err_at(err, MF_EDATA, df->origin, 0,
                          "entity row %zu, column '%s': '%.*s' is not %s", i + 1, col,
                          (int)(len > 200 ? 200 : len), text, want);
    return mf__err(err, MF_EDATA, "entity row %zu, column '%s': '%.*s' is not %s", i + 1, col,
                   (int)(len > 200 ? 200 : len), text, want);
}
