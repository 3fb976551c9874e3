/*
 * source.c — reading batch sources row by row: CSV files and SQLite (and
 * Parquet files and datasets, through source_parquet.c).
 *
 * One interface over both kinds (mf_source.h): column names after the
 * source's field_mapping renames, then rows as text slices (NULL ptr =
 * null). CSV rows come straight from the mmap-ed reader of csv.c, with the
 * record length limit of offline_store.max_line_bytes; SQLite rows from a
 * prepared statement over the table or query. Empty CSV cells are null.
 * A CSV is opened under push.c's read lock (mf__csv_read_lock): never while
 * a push appends to it, and an interrupted push is undone first.
 * Column names must be unique after the renames (a name twice would make
 * every lookup by name ambiguous): a name twice is an error at open.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <sqlite3.h>

#include "mf_csv.h"
#include "mf_source.h"
#include "mf_values.h"

struct mf__source {
    char *where;    /* path (and table/query) for messages */
    size_t ncols;
    char **names;   /* after field_mapping */
    mf__csv *csv;
    sqlite3 *db;
    sqlite3_stmt *stmt;
    mf__slice *row; /* sqlite, lua: reused per row */
    long rowno;
    const mf__slice *cur;
    /* lua: every cell's text, rows one after the other (SIZE_MAX: null) */
    mf__buf text;
    size_t *cell; /* nrows * ncols offsets into text, then its length */
    size_t *clen;
    size_t nrows, next;
    mf__pqsrc *pq; /* a Parquet file or dataset */
    char *num;     /* sqlite: per column, a REAL's shortest text */
    bool *real;    /* sqlite: per column, a REAL value was read (inference) */
};

static const char *mapped(const Mf__DataSourceSpec *ds, const char *col) {
    for (size_t i = 0; i < ds->n_field_mapping; i++)
        if (strcmp(ds->field_mapping[i]->source_column, col) == 0)
            return ds->field_mapping[i]->name;
    return col;
}

/* Order of column indices by name, for the duplicate check. */
static int cmp_col(const void *a, const void *b, void *names) {
    char **n = names;
    int c = strcmp(n[*(const size_t *)a], n[*(const size_t *)b]);
    if (c) return c;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Refuse two columns of the same name (after field_mapping): MF_EDATA
 * naming the source, both columns (1-based) and, for a CSV file, the
 * header's line. Sorting keeps this O(n log n) for wide files. */
static int check_unique(const Mf__DataSourceSpec *ds, mf__source *s, mf_error *err) {
    if (s->ncols < 2) return MF_OK;
    size_t *order = mf__xmalloc(s->ncols * sizeof *order);
    for (size_t i = 0; i < s->ncols; i++) order[i] = i;
    qsort_r(order, s->ncols, sizeof *order, cmp_col, s->names);
    int rc = MF_OK;
    for (size_t k = 1; k < s->ncols && rc == MF_OK; k++) {
        size_t a = order[k - 1], b = order[k];
        if (strcmp(s->names[a], s->names[b]) != 0) continue;
        const char *ra = s->csv ? mf__csv_colname(s->csv, a)
                         : s->pq ? mf__pqsrc_colname(s->pq, a)
                                 : sqlite3_column_name(s->stmt, (int)a);
        const char *rb = s->csv ? mf__csv_colname(s->csv, b)
                         : s->pq ? mf__pqsrc_colname(s->pq, b)
                                 : sqlite3_column_name(s->stmt, (int)b);
        char what[320];
        if (strcmp(ra, rb) == 0)
            snprintf(what, sizeof what, "two columns named '%.60s' (columns %zu and %zu)",
                     s->names[a], a + 1, b + 1);
        else
            snprintf(what, sizeof what,
                     "columns %zu ('%.40s') and %zu ('%.40s') are both named '%.40s' "
                     "after field_mapping", a + 1, ra, b + 1, rb, s->names[a]);
        if (s->csv)
            rc = mf__err_at(err, MF_EDATA, mf__csv_path(s->csv), (int)mf__csv_line(s->csv),
                            "source '%s': %s", ds->name, what);
        else if (s->pq)
            rc = mf__err_at(err, MF_EDATA, s->where, 0, "source '%s': %s", ds->name, what);
        else
            rc = mf__err(err, MF_EDATA, "SQLite source %s: %s", s->where, what);
    }
    free(order);
    return rc;
}

static int open_sqlite(const mf__config *cfg, const Mf__DataSourceSpec *ds, mf__source *s,
                       mf_error *err) {
    char *path = mf__path_join(cfg->repo_path, ds->database);
    s->where = mf__xasprintf("%s (%s %s)", path, ds->table[0] ? "table" : "query",
                             ds->table[0] ? ds->table : ds->query);
    mf__sqlite_setup();
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        int rc = mf__err(err, MF_EIO, "cannot open SQLite source %s: %s", path,
                         s->db ? sqlite3_errmsg(s->db) : "out of memory");
        free(path);
        return rc;
    }
    free(path);
    sqlite3_busy_timeout(s->db, 5000);
    char *sql;
    if (ds->table[0]) {
        char *q = mf__sql_ident(ds->table);
        sql = mf__xasprintf("SELECT * FROM %s", q);
        free(q);
    } else {
        sql = mf__xstrdup(ds->query);
    }
    const char *tail = NULL;
    int prc = sqlite3_prepare_v2(s->db, sql, -1, &s->stmt, &tail);
    if (prc != SQLITE_OK) {
        free(sql);
        return mf__err(err, MF_EDATA, "SQLite source %s: %s", s->where, sqlite3_errmsg(s->db));
    }
    /* one statement: what follows the first would be ignored silently */
    sqlite3_stmt *more = NULL;
    bool extra = !s->stmt || (tail && *tail && (sqlite3_prepare_v2(s->db, tail, -1, &more, NULL) !=
                                                    SQLITE_OK || more));
    sqlite3_finalize(more);
    if (extra) {
        int rc = mf__err(err, MF_EDATA, "SQLite source %s: the query must be one SELECT "
                         "statement%s", s->where, s->stmt ? " (more follows the first)" : "");
        free(sql);
        return rc;
    }
    free(sql);
    s->ncols = (size_t)sqlite3_column_count(s->stmt);
    s->names = mf__xcalloc(s->ncols ? s->ncols : 1, sizeof *s->names);
    for (size_t i = 0; i < s->ncols; i++)
        s->names[i] = mf__xstrdup(mapped(ds, sqlite3_column_name(s->stmt, (int)i)));
    s->row = mf__xcalloc(s->ncols ? s->ncols : 1, sizeof *s->row);
    return check_unique(ds, s, err);
}

/* Whether the key on top of the stack is a whole number from 1 to max. */
static bool position_key(lua_State *L, double max) {
    if (lua_type(L, -1) != LUA_TNUMBER) return false;
    double d = lua_tonumber(L, -1);
    return d >= 1 && d <= max && d == (double)(uint64_t)d;
}

/* The entries of the table at idx at whole positive keys (nil values are
 * none; other keys, such as table.pack's n, are not the list's). */
static size_t count_entries(lua_State *L, int idx) {
    size_t n = 0;
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (position_key(L, 9007199254740992.0)) n++;
    }
    return n;
}

/* The first position (from 1) of the table at idx that holds nil. */
static size_t first_hole(lua_State *L, int idx) {
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    size_t i = 1;
    for (;; i++) {
        lua_rawgeti(L, idx, (int)i);
        bool nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil || i == (size_t)INT32_MAX) return i;
    }
}

/* A row's first key that is not a column's position (1 to ncols), as text
 * into buf; false when there is none. */
static bool key_beyond(lua_State *L, int idx, size_t ncols, char *buf, size_t bufsz) {
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (position_key(L, (double)ncols)) continue;
        if (lua_type(L, -1) == LUA_TNUMBER) {
            snprintf(buf, bufsz, "%.17g", lua_tonumber(L, -1));
        } else if (lua_type(L, -1) == LUA_TSTRING) {
            snprintf(buf, bufsz, "'%.60s'", lua_tostring(L, -1));
        } else {
            snprintf(buf, bufsz, "a %s key", luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        return true;
    }
    return false;
}

/* A lua_source: its module (offline_lua.c) returns a table whose
 * read(request) returns the column names and the rows (lists of values:
 * strings, numbers, booleans, nil for null). The rows are kept as text, in
 * memory, for the reads that follow. The request is built, read called and
 * its answer read in protected mode (mf__lstate_cpcall): what the module
 * holds may leave its state at the memory cap, and an allocation of
 * moonfeast's own code failing there must be an error, never the end of
 * the process. */
typedef struct lua_read {
    const Mf__DataSourceSpec *ds;
    const mf__source_hint *hint;
    mf__source *s;
    mf__lstate *ls;
    int ref;
    mf_error *err;
} lua_read;

static int lua_read_body(lua_State *L, void *ud) {
    lua_read *a = ud;
    mf__source *s = a->s;
    const Mf__DataSourceSpec *ds = a->ds;
    mf_error *err = a->err;
    int rc = MF_OK;
    mf__lstate_begin(a->ls); /* before the request: see store_lua.c's run_op */
    mf__lua_module_push(L, a->ref, "read");
    mf__offline_lua_push_request(L, ds, a->hint);
    mf_error e;
    if (mf__lstate_pcall(a->ls, 1, 2, &e)) {
        int n = mf__lua_msg_len(e.message);
        return mf__err(err, MF_EDATA, "%s, read: %.*s", s->where, n, e.message);
    }
    if (!lua_istable(L, -2) || !lua_istable(L, -1))
        return mf__err(err, MF_EDATA, "%s, read: must return the column names and the rows "
                       "(two lists), got %s and %s", s->where, luaL_typename(L, -2),
                       luaL_typename(L, -1));
    s->ncols = lua_objlen(L, -2);
    s->nrows = lua_objlen(L, -1);
    /* lists: a hole (or a key that is not a position) would leave what
     * follows it out silently */
    size_t n = count_entries(L, -2);
    if (n != s->ncols)
        return mf__err(err, MF_EDATA, "%s, read: the column names are not a list (%zu entries, "
                       "but name %zu is missing)", s->where, n, first_hole(L, -2));
    n = count_entries(L, -1);
    if (n != s->nrows)
        return mf__err(err, MF_EDATA, "%s, read: the rows are not a list (%zu entries, but row "
                       "%zu is missing)", s->where, n, first_hole(L, -1));
    s->names = mf__xcalloc(s->ncols + 1, sizeof *s->names);
    for (size_t c = 0; c < s->ncols && rc == MF_OK; c++) {
        lua_rawgeti(L, -2, (int)c + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            rc = mf__err(err, MF_EDATA, "%s: column name %zu is not a string", s->where, c + 1);
        else
            s->names[c] = mf__xstrdup(mapped(ds, lua_tostring(L, -1)));
        lua_pop(L, 1);
    }
    if (rc) return rc;
    s->cell = mf__try_malloc((s->nrows * s->ncols + 1) * sizeof *s->cell);
    s->clen = mf__try_malloc((s->nrows * s->ncols + 1) * sizeof *s->clen);
    if (!s->cell || !s->clen) return mf__err(err, MF_ENOMEM, "%s: %zu rows", s->where, s->nrows);
    char num[MF__NUM_BUFLEN + 8];
    for (size_t r = 0; r < s->nrows && rc == MF_OK; r++) {
        lua_rawgeti(L, -1, (int)r + 1);
        if (!lua_istable(L, -1))
            return mf__err(err, MF_EDATA, "%s: row %zu is not a list", s->where, r + 1);
        char key[80];
        if (key_beyond(L, -1, s->ncols, key, sizeof key))
            return mf__err(err, MF_EDATA, "%s: row %zu has a value at %s, beyond its %zu "
                           "columns", s->where, r + 1, key, s->ncols);
        for (size_t c = 0; c < s->ncols && rc == MF_OK; c++) {
            size_t k = r * s->ncols + c;
            lua_rawgeti(L, -1, (int)c + 1);
            const char *p = NULL;
            long len = mf__lua_cell_text(L, -1, num, &p);
            s->cell[k] = s->text.len;
            s->clen[k] = len < 0 ? SIZE_MAX : (size_t)len;
            if (len >= 0) mf__buf_put(&s->text, p, (size_t)len);
            if (len == -2)
                rc = mf__err(err, MF_EDATA, "%s: row %zu, column '%s': a %s is not a value",
                             s->where, r + 1, s->names[c], luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return rc;
}

static int open_lua(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                    const mf__source_hint *hint, mf__source *s, mf_error *err) {
    mf__lstate *ls = NULL;
    int ref, rc = mf__offline_lua_open(cfg, ds, &ls, &ref, &s->where, err);
    if (rc) return rc;
    lua_read a = {ds, hint, s, ls, ref, err};
    mf_error e;
    int body_rc;
    if (mf__lstate_cpcall(ls, lua_read_body, &a, &body_rc, &e)) {
        int n = mf__lua_msg_len(e.message);
        rc = mf__err(err, MF_EDATA, "%s, read: %.*s", s->where, n, e.message);
    } else {
        rc = body_rc;
    }
    mf__lstate_free(ls);
    if (rc) return rc;
    s->row = mf__xcalloc(s->ncols + 1, sizeof *s->row);
    return check_unique(ds, s, err);
}

int mf__source_open(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                    const mf__source_hint *hint, mf__source **out, mf_error *err) {
    *out = NULL;
    mf__source *s = mf__xcalloc(1, sizeof *s);
    int rc;
    if (strcmp(ds->kind, "file") == 0 && mf__source_is_parquet(ds)) {
        char *path = mf__path_join(cfg->repo_path, ds->path);
        s->where = path;
        rc = mf__pqsrc_open(path, ds, hint, &s->pq, err);
        if (rc == MF_OK) {
            s->ncols = mf__pqsrc_ncols(s->pq);
            s->names = mf__xcalloc(s->ncols ? s->ncols : 1, sizeof *s->names);
            for (size_t i = 0; i < s->ncols; i++)
                s->names[i] = mf__xstrdup(mapped(ds, mf__pqsrc_colname(s->pq, i)));
            rc = check_unique(ds, s, err);
        }
    } else if (strcmp(ds->kind, "file") == 0) {
        char *path = mf__path_join(cfg->repo_path, ds->path);
        s->where = path;
        int lock_fd; /* no push appends while the file is opened (push.c) */
        rc = mf__csv_read_lock(path, &lock_fd, err);
        if (rc == MF_OK) {
            mf__csv_opts o = {.delim = ds->delimiter[0] ? ds->delimiter[0] : ',',
                              .max_line = (size_t)mf__conf_int(&cfg->offline, "max_line_bytes"),
                              .limit_key = "offline_store.max_line_bytes"};
            rc = mf__csv_open_opts(path, &o, &s->csv, err);
            mf__csv_read_unlock(lock_fd);
        }
        if (rc == MF_OK) {
            s->ncols = mf__csv_ncols(s->csv);
            s->names = mf__xcalloc(s->ncols ? s->ncols : 1, sizeof *s->names);
            for (size_t i = 0; i < s->ncols; i++)
                s->names[i] = mf__xstrdup(mapped(ds, mf__csv_colname(s->csv, i)));
            rc = check_unique(ds, s, err);
        }
    } else if (strcmp(ds->kind, "sqlite") == 0) {
        rc = open_sqlite(cfg, ds, s, err);
    } else if (strcmp(ds->kind, "lua") == 0) {
        rc = open_lua(cfg, ds, hint, s, err);
    } else {
        rc = mf__err(err, MF_EINTERNAL, "data source '%s' of kind %s has no rows to read",
                     ds->name, ds->kind);
    }
    if (rc) {
        mf__source_close(s);
        return rc;
    }
    *out = s;
    return MF_OK;
}

size_t mf__source_ncols(const mf__source *s) { return s->ncols; }
const char *mf__source_colname(const mf__source *s, size_t i) { return s->names[i]; }
const char *mf__source_where(const mf__source *s) {
    return s->pq ? mf__pqsrc_where(s->pq) : s->where;
}
long mf__source_line(const mf__source *s) {
    return s->csv ? mf__csv_line(s->csv) : s->pq ? mf__pqsrc_row(s->pq) : s->rowno;
}

long mf__source_line_mark(const mf__source *s) {
    return s->csv ? mf__csv_line_mark(s->csv) : mf__source_line(s);
}
long mf__source_mark_line(const mf__source *s, long mark) {
    return s->csv ? mf__csv_mark_line(s->csv, mark) : mark;
}

bool mf__source_is_parquet(const Mf__DataSourceSpec *ds) {
    if (strcmp(ds->format, "parquet") == 0) return true;
    if (ds->format[0]) return false;
    size_t n = strlen(ds->path);
    while (n > 1 && ds->path[n - 1] == '/') n--;
    return n >= 8 && strncmp(ds->path + n - 8, ".parquet", 8) == 0;
}

bool mf__source_typed(const mf__source *s) { return s->pq != NULL; }
bool mf__source_blockable(const mf__source *s) { return s->pq && mf__pqsrc_blockable(s->pq); }
int mf__source_next_block(mf__source *s, const mf__cell_col **cols, size_t *n, mf_error *err) {
    return mf__pqsrc_next_block(s->pq, cols, n, err);
}
void mf__source_block_row(mf__source *s, size_t r) { mf__pqsrc_block_row(s->pq, r); }

int mf__source_next_cells(mf__source *s, const mf__cell **cells, mf_error *err) {
    return mf__pqsrc_next(s->pq, cells, err);
}

int mf__source_col_type(const mf__source *s, size_t i, Mf__ValueType *t) {
    return s->pq ? mf__pqsrc_col_type(s->pq, i, t) : 0;
}

bool mf__source_saw_real(const mf__source *s, size_t i) { return s->real && s->real[i]; }

const char *mf__source_part_value(const mf__source *s, size_t i, size_t f, bool *more) {
    *more = false;
    return s->pq ? mf__pqsrc_part_value(s->pq, i, f, more) : NULL;
}

int mf__source_cell_err(const mf__source *s, mf_error *err, const char *col, const char *text,
                        size_t len, const char *want) {
    if (s->pq) return mf__pqsrc_cell_err(s->pq, err, col, text, len, want);
    return mf__err_at(err, MF_EDATA, mf__source_where(s), (int)mf__source_line(s),
                      "column '%s': '%.*s' is not %s", col, (int)(len > 200 ? 200 : len),
                      text ? text : "", want);
}

long mf__source_find(const mf__source *s, const char *name) {
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->names[i], name) == 0) return (long)i;
    return -1;
}

int mf__source_next(mf__source *s, const mf__slice **fields, mf_error *err) {
    if (s->csv) {
        int rc = mf__csv_next(s->csv, fields, err);
        return rc;
    }
    if (s->pq) return mf__pqsrc_next_text(s->pq, fields, err);
    if (s->cell) { /* lua */
        if (s->next >= s->nrows) return 0;
        for (size_t c = 0; c < s->ncols; c++) {
            size_t k = s->next * s->ncols + c;
            s->row[c].ptr = s->clen[k] == SIZE_MAX ? NULL : s->text.data + s->cell[k];
            s->row[c].len = s->clen[k] == SIZE_MAX ? 0 : s->clen[k];
        }
        s->rowno = (long)++s->next;
        *fields = s->row;
        return 1;
    }
    int rc = sqlite3_step(s->stmt);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW)
        return mf__err(err, MF_EDATA, "SQLite source %s: %s", s->where, sqlite3_errmsg(s->db));
    s->rowno++;
    for (size_t i = 0; i < s->ncols; i++) {
        int ct = sqlite3_column_type(s->stmt, (int)i);
        if (ct == SQLITE_NULL) {
            s->row[i].ptr = NULL;
            s->row[i].len = 0;
        } else if (ct == SQLITE_FLOAT) {
            /* its shortest text that reads back the same double (SQLite's
             * own text keeps 15 digits: 0.12345678901234567 came out
             * 0.123456789012346, unlike the same value in a CSV file) */
            if (!s->num) {
                s->num = mf__xmalloc(s->ncols * MF__NUM_BUFLEN);
                s->real = mf__xcalloc(s->ncols, sizeof *s->real);
            }
            s->real[i] = true;
            char *b = s->num + i * MF__NUM_BUFLEN;
            s->row[i].ptr = b;
            s->row[i].len = mf__format_double(sqlite3_column_double(s->stmt, (int)i), b);
        } else {
            s->row[i].ptr = (const char *)sqlite3_column_text(s->stmt, (int)i);
            s->row[i].len = (size_t)sqlite3_column_bytes(s->stmt, (int)i);
        }
    }
    *fields = s->row;
    return 1;
}

int mf__source_split(mf__source *s, mf__source **tail) {
    *tail = NULL;
    mf__csv *t = NULL;
    mf__pqsrc *pt = NULL;
    if (s->pq ? !mf__pqsrc_split(s->pq, &pt) : (!s->csv || !mf__csv_split(s->csv, &t))) return 0;
    mf__source *x = mf__xcalloc(1, sizeof *x);
    x->pq = pt;
    x->where = mf__xstrdup(s->where);
    x->ncols = s->ncols;
    x->names = mf__xcalloc(s->ncols ? s->ncols : 1, sizeof *x->names);
    for (size_t i = 0; i < s->ncols; i++) x->names[i] = mf__xstrdup(s->names[i]);
    x->csv = t;
    *tail = x;
    return 1;
}

bool mf__source_saw_quote(const mf__source *s) { return s->csv && mf__csv_saw_quote(s->csv); }

bool mf__source_row_stable(const mf__source *s) {
    return s->csv && mf__csv_record_stable(s->csv);
}

int mf__source_progress(const mf__source *s, size_t *done, size_t *total) {
    if (!s->csv) return 0;
    mf__csv_progress(s->csv, done, total);
    return 1;
}

void mf__source_close(mf__source *s) {
    if (!s) return;
    mf__csv_close(s->csv);
    mf__pqsrc_close(s->pq);
    sqlite3_finalize(s->stmt);
    sqlite3_close(s->db);
    for (size_t i = 0; s->names && i < s->ncols; i++) free(s->names[i]);
    free(s->names);
    free(s->row);
    free(s->where);
    mf__buf_free(&s->text);
    free(s->cell);
    free(s->clen);
    free(s->num);
    free(s->real);
    free(s);
}

/*---- Type inference ----------------------------------------------------------*/

void mf__infer_init(mf__infer *t) {
    t->int_ok = t->float_ok = t->bool_ok = t->ts_ok = t->text_ok = true;
    t->seen = 0;
}

void mf__infer_add(mf__infer *t, const char *p, size_t n) {
    if (!p || n == 0) return;
    t->seen++;
    int64_t i;
    double d;
    bool b;
    if (t->int_ok && mf__parse_int64(p, n, &i) != 0) t->int_ok = false;
    if (t->float_ok && mf__parse_double(p, n, &d) != 0) t->float_ok = false;
    if (t->bool_ok) {
        /* only words: 0/1 columns are integers */
        bool word = (n >= 4 && (p[0] == 't' || p[0] == 'T' || p[0] == 'f' || p[0] == 'F'));
        if (!word || mf__parse_bool(p, n, &b) != 0) t->bool_ok = false;
    }
    if (t->ts_ok && mf__ts_parse(p, n, &i) != 0) t->ts_ok = false;
    if (t->text_ok && mf__utf8_check(p, n, false) != n) t->text_ok = false;
}

Mf__ValueType mf__infer_type(const mf__infer *t) {
    if (!t->seen) return MF__VALUE_TYPE__VT_STRING;
    if (t->int_ok) return MF__VALUE_TYPE__VT_INT64;
    if (t->float_ok) return MF__VALUE_TYPE__VT_DOUBLE;
    if (t->bool_ok) return MF__VALUE_TYPE__VT_BOOL;
    if (t->ts_ok) return MF__VALUE_TYPE__VT_UNIX_TIMESTAMP;
    /* text a String cannot hold (a BLOB, Latin-1 text): Bytes, which every
     * later read can take */
    return t->text_ok ? MF__VALUE_TYPE__VT_STRING : MF__VALUE_TYPE__VT_BYTES;
}

/* The offline store types: the first is the default. `file` reads sources
 * directly (CSV files, SQLite databases) and lua_sources through their own
 * modules; `lua` does the same, and its module (given every other key of
 * the section as options) reads the lua_sources that name no module and
 * may answer historical retrieval itself (offline_lua.c). */
static const mf__opt_spec file_opts[] = {
    {"max_line_bytes", MF__OPT_INT, false, NULL, (int64_t)MF__CSV_MAX_LINE, 1024, INT64_C(1) << 30,
     NULL}};
static const mf__opt_spec lua_opts[] = {
    {"module", MF__OPT_PATH, true, NULL, 0, 0, 0, NULL},
    {"max_line_bytes", MF__OPT_INT, false, NULL, (int64_t)MF__CSV_MAX_LINE, 1024, INT64_C(1) << 30,
     NULL}};

const mf__store_type mf__offline_types[] = {
    {"file", file_opts, MF__ARRAY_LEN(file_opts), NULL, false},
    {"lua", lua_opts, MF__ARRAY_LEN(lua_opts), NULL, true}};
const size_t mf__n_offline_types = MF__ARRAY_LEN(mf__offline_types);
