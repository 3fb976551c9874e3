/*
 * mf_source.h — row-by-row reading of batch sources (source.c), and type
 * inference from text.
 */
#ifndef MF_SOURCE_H
#define MF_SOURCE_H

#include "mf_csv.h"
#include "mf_internal.h"
#include "mf_values.h"

struct mf__col;

typedef struct mf__source mf__source;

/* What a read of a source is for, handed to a Lua source's read() as hints
 * (other sources read every row and column regardless): the rows that
 * matter have event times in [start_us, end_us] (INT64_MIN / INT64_MAX:
 * unbounded), and the columns read are columns[] (none listed: unknown).
 * The caller still filters: rows outside the range may be returned. */
typedef struct mf__source_hint {
    const char *purpose; /* "historical", "materialize" or "infer" */
    int64_t start_us, end_us;
    const char *const *columns;
    size_t ncolumns;
} mf__source_hint;

/* Open a file (CSV), sqlite or lua data source; relative paths are taken
 * from the repo. hint may be NULL (every row). Caller closes *out with
 * mf__source_close. */
int mf__source_open(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                    const mf__source_hint *hint, mf__source **out, mf_error *err);

/* Lua sources and the Lua offline store (offline_lua.c). The module that
 * reads lua_source ds: its own `module`, else the offline store's when
 * offline_store is of type lua (else MF_EDEF). Opened as mf__lua_module_open
 * does, with read() required; *where (caller frees) names the source and
 * module for messages. ds NULL: the offline store's module itself. */
int mf__offline_lua_open(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                         mf__lstate **ls, int *ref, char **where, mf_error *err);
/* Push the request table of a read() call: {source = {name, options,
 * timestamp_field, created_timestamp_column}, purpose, start, end,
 * start_ts, end_ts, columns}. */
void mf__offline_lua_push_request(struct lua_State *L, const Mf__DataSourceSpec *ds,
                                  const mf__source_hint *hint);
/* Historical retrieval by the Lua offline store's module: one requested
 * feature, its view and source, and the entity column of each join key. */
typedef struct mf__hist_feature {
    const Mf__FeatureViewSpec *view;
    const Mf__DataSourceSpec *source;
    const char *const *entity_cols;
    const Mf__Field *field;
} mf__hist_feature;
/* When the offline store is of type lua, its module defines
 * get_historical_features and every feature's source is a lua_source
 * without a module of its own: *handled = true, and the module's values
 * for each entity row of df (event times T, microseconds) are appended to
 * out[f] (initialized by the caller with the feature's name and type).
 * Else *handled = false and nothing is done (the C join runs). */
int mf__offline_lua_historical(const mf__config *cfg, const mf_entity_df *df, const int64_t *T,
                               const mf__hist_feature *f, size_t nf, struct mf__col *out,
                               bool *handled, mf_error *err);

/* The Lua value at idx as text for a cell: strings as they are, whole
 * numbers of the int64 range as integers (every digit), other numbers in
 * their shortest form, booleans as true/false. Returns the length (buf
 * holds at least MF__NUM_BUFLEN + 8 bytes), *p the text; -1 for nil, -2
 * for a value of another type. */
long mf__lua_cell_text(struct lua_State *L, int idx, char *buf, const char **p);
size_t mf__source_ncols(const mf__source *s);
/* Column i's name after field_mapping. Borrowed. */
const char *mf__source_colname(const mf__source *s, size_t i);
long mf__source_find(const mf__source *s, const char *name);
/* Next row: 1 with ncols borrowed slices (ptr NULL or len 0 = null), 0 at
 * the end, or a negative MF_* code. */
int mf__source_next(mf__source *s, const mf__slice **fields, mf_error *err);
/* CSV line of the current row, or the SQLite row number. */
long mf__source_line(const mf__source *s);
/* mf__source_line as a mark that is cheap to take, and the line of a
 * mark taken from this source. */
long mf__source_line_mark(const mf__source *s);
long mf__source_mark_line(const mf__source *s, long mark);
/* Path (and table) for messages. Borrowed. */
const char *mf__source_where(const mf__source *s);
void mf__source_close(mf__source *s);
/* Split a CSV source's remaining rows in two (mf__csv_split): s keeps the
 * first half, *tail reads the second; close *tail before s. Returns 1 when
 * split, 0 when the source cannot be split. After reading s, when
 * mf__source_saw_quote(s), both halves must be discarded and the source
 * read again whole (see mf__csv_split). */
int mf__source_split(mf__source *s, mf__source **tail);
bool mf__source_saw_quote(const mf__source *s);
/* Whether the current row's slices stay valid while later rows are read
 * (a mapped CSV file's row without unescaped fields), until the source is
 * closed. */
bool mf__source_row_stable(const mf__source *s);
/* A CSV source's progress (mf__csv_progress): 1 with *done of *total
 * bytes, or 0 for other sources. */
int mf__source_progress(const mf__source *s, size_t *done, size_t *total);

/*---- Typed cells (Parquet sources) -------------------------------------------*/

/* A cell as a Parquet source holds it: a typed value, or text (strings,
 * bytes, lists as JSON, partition values, ...) read as a CSV cell is. */
typedef enum mf__cell_kind {
    MF__CELL_NULL, MF__CELL_TEXT, MF__CELL_INT, MF__CELL_BOOL, MF__CELL_F32, MF__CELL_F64,
    MF__CELL_TS /* microseconds */
} mf__cell_kind;
typedef struct mf__cell {
    mf__cell_kind kind;
    int64_t i;
    double d;
    float f;
    const char *p;
    size_t len;
} mf__cell;

/* Whether s hands out typed cells (mf__source_next_cells); text sources
 * do not. */
bool mf__source_typed(const mf__source *s);
/* Next row of a typed source: 1 with ncols borrowed cells (valid until the
 * next call; columns the hint did not ask for are null), 0 at the end, or a
 * negative MF_* code. */
int mf__source_next_cells(mf__source *s, const mf__cell **cells, mf_error *err);
/* What a cell is, by the rules for the same value's text in a CSV file (so
 * that a Parquet source answers as the CSV file of its values would):
 * mf__cell_ts: 0 and *us, 1 null (or empty text), -1 not a timestamp;
 * mf__cell_key: as mf__key_append_text; mf__cell_push: as
 * mf__col_push_text; mf__cell_text appends the text (nothing for null). */
int mf__cell_ts(const mf__cell *c, int64_t *us);
int mf__cell_key(mf__buf *k, Mf__ValueType t, const mf__cell *c);
int mf__cell_push(struct mf__col *col, const mf__cell *c);
void mf__cell_text(const mf__cell *c, mf__buf *out);
/* The MF_EDATA error for a cell of column col (its text: text, len) that is
 * not `want` ("a timestamp", "a valid Int64"), naming the file and line
 * (CSV) or the file, row group and row (Parquet). */
int mf__source_cell_err(const mf__source *s, mf_error *err, const char *col, const char *text,
                        size_t len, const char *want);
/* The type a column's values have in the source itself: 1 and *t for a
 * Parquet column of a type moonfeast has, 0 when unknown (text: infer it
 * from the values), -1 for a column that cannot be read (skipped by
 * inference). */
int mf__source_col_type(const mf__source *s, size_t i, Mf__ValueType *t);
/* For inference: column i's value in the source's file f when it is a
 * partition column of a dataset (its text, or NULL for a null one); NULL
 * with *more false past the last file or for any other column. */
const char *mf__source_part_value(const mf__source *s, size_t i, size_t f, bool *more);
/* For inference: whether a SQLite source read a REAL (floating-point)
 * value in column i (its text of a whole number has no fraction: 10.0 is
 * "10", yet the column holds floats). */
bool mf__source_saw_real(const mf__source *s, size_t i);

/* Typed sources a row group at a time: a column of the block is an array
 * of kind `kind` (i for INT, BOOL and TS; f; d) with validity bytes (NULL:
 * every row has a value), or MF__CELL_NULL for a column not asked for.
 * mf__source_blockable: whether every column a read needs comes as such an
 * array (scalars that are not text) in every file; then
 * mf__source_next_block hands out row groups: 1 with ncols columns
 * (borrowed until the next call) and *n rows, 0 at the end, or a negative
 * MF_* code. mf__source_block_row sets the row that mf__source_cell_err
 * names. */
typedef struct mf__cell_col {
    mf__cell_kind kind;
    const int64_t *i;
    const float *f;
    const double *d;
    const uint8_t *valid;
} mf__cell_col;
bool mf__source_blockable(const mf__source *s);
int mf__source_next_block(mf__source *s, const mf__cell_col **cols, size_t *n, mf_error *err);
void mf__source_block_row(mf__source *s, size_t r);
/* Row r of a block column as a cell. */
static inline void mf__cell_at(const mf__cell_col *c, size_t r, mf__cell *out) {
    out->kind = c->valid && !c->valid[r] ? MF__CELL_NULL : c->kind;
    switch (out->kind) {
    case MF__CELL_F32: out->f = c->f[r]; break;
    case MF__CELL_F64: out->d = c->d[r]; break;
    case MF__CELL_INT:
    case MF__CELL_BOOL:
    case MF__CELL_TS: out->i = c->i[r]; break;
    default: break;
    }
}

/* Row r's time from a block's timestamp column: 0 with *ts, or -1 (null or
 * not a timestamp); *cc holds the cell either way, for the error. */
static inline int mf__cell_col_ts(const mf__cell_col *c, size_t r, mf__cell *cc, int64_t *ts) {
    mf__cell_at(c, r, cc);
    if (cc->kind == MF__CELL_TS && mf__ts_in_range(cc->i)) {
        *ts = cc->i;
        return 0;
    }
    return mf__cell_ts(cc, ts) == 0 ? 0 : -1;
}

/* Parquet sources (source_parquet.c), used by source.c. */
typedef struct mf__pqsrc mf__pqsrc;
int mf__pqsrc_open(const char *path, const Mf__DataSourceSpec *ds, const mf__source_hint *hint,
                   mf__pqsrc **out, mf_error *err);
void mf__pqsrc_close(mf__pqsrc *q);
size_t mf__pqsrc_ncols(const mf__pqsrc *q);
/* Partition columns (they come last). */
size_t mf__pqsrc_nparts(const mf__pqsrc *q);
/* The latest time (µs) in the names of the files pushes added right in the
 * dataset folder dir ("push-YYYYMMDDTHHMMSS.uuuuuuZ-PID-N.parquet"), or
 * INT64_MIN when there is none or the folder cannot be read. */
int64_t mf__pq_last_push_us(const char *dir);
const char *mf__pqsrc_colname(const mf__pqsrc *q, size_t i);
const char *mf__pqsrc_where(const mf__pqsrc *q);
long mf__pqsrc_row(const mf__pqsrc *q);
int mf__pqsrc_col_type(const mf__pqsrc *q, size_t i, Mf__ValueType *t);
const char *mf__pqsrc_part_value(const mf__pqsrc *q, size_t i, size_t f, bool *more);
int mf__pqsrc_next(mf__pqsrc *q, const mf__cell **cells, mf_error *err);
int mf__pqsrc_next_text(mf__pqsrc *q, const mf__slice **fields, mf_error *err);
int mf__pqsrc_split(mf__pqsrc *q, mf__pqsrc **tail);
bool mf__pqsrc_blockable(const mf__pqsrc *q);
int mf__pqsrc_next_block(mf__pqsrc *q, const mf__cell_col **cols, size_t *n, mf_error *err);
void mf__pqsrc_block_row(mf__pqsrc *q, size_t r);
int mf__pqsrc_cell_err(const mf__pqsrc *q, mf_error *err, const char *col, const char *text,
                       size_t len, const char *want);
/* Whether a file source is read as Parquet: format "parquet", or no
 * format and a path ending in .parquet. */
bool mf__source_is_parquet(const Mf__DataSourceSpec *ds);

/* Type inference over sample values: Int64 when every non-null value is an
 * integer, else Float64 when every one is a number, else Bool when every
 * one is true/false, else UnixTimestamp when every one is a timestamp,
 * else String (also for a column with no values). */
typedef struct mf__infer {
    bool int_ok, float_ok, bool_ok, ts_ok;
    bool text_ok; /* every value UTF-8 without NUL (else Bytes) */
    size_t seen;
} mf__infer;
void mf__infer_init(mf__infer *t);
void mf__infer_add(mf__infer *t, const char *p, size_t n);
Mf__ValueType mf__infer_type(const mf__infer *t);

#endif
