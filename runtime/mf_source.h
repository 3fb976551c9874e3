/*
 * mf_source.h — row-by-row reading of batch sources (source.c), and type
 * inference from text.
 */
#ifndef MF_SOURCE_H
#define MF_SOURCE_H

#include "mf_csv.h"
#include "mf_internal.h"
#include "mf_values.h"

typedef struct mf__source mf__source;

/* Open a file (CSV) or sqlite data source; relative paths are taken from
 * the repo. Caller closes *out with mf__source_close. */
int mf__source_open(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                    mf__source **out, mf_error *err);
size_t mf__source_ncols(const mf__source *s);
/* Column i's name after field_mapping. Borrowed. */
const char *mf__source_colname(const mf__source *s, size_t i);
long mf__source_find(const mf__source *s, const char *name);
/* Next row: 1 with ncols borrowed slices (ptr NULL or len 0 = null), 0 at
 * the end, or a negative MF_* code. */
int mf__source_next(mf__source *s, const mf__slice **fields, mf_error *err);
/* CSV line of the current row, or the SQLite row number. */
long mf__source_line(const mf__source *s);
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

/* Type inference over sample values: Int64 when every non-null value is an
 * integer, else Float64 when every one is a number, else Bool when every
 * one is true/false, else UnixTimestamp when every one is a timestamp,
 * else String (also for a column with no values). */
typedef struct mf__infer {
    bool int_ok, float_ok, bool_ok, ts_ok;
    size_t seen;
} mf__infer;
void mf__infer_init(mf__infer *t);
void mf__infer_add(mf__infer *t, const char *p, size_t n);
Mf__ValueType mf__infer_type(const mf__infer *t);

#endif
