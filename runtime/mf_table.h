/*
 * mf_table.h — typed columns and tables (table.c).
 *
 * The columnar form of every bulk result: one array per column plus a
 * validity byte per row; strings, bytes and lists as offsets into one text
 * heap. No allocation per value.
 */
#ifndef MF_TABLE_H
#define MF_TABLE_H

#include "mf_internal.h"

typedef enum mf__store_class {
    MF__SC_I32, MF__SC_I64, MF__SC_F32, MF__SC_F64, MF__SC_BOOL, MF__SC_TEXT
} mf__store_class;

typedef struct mf__col {
    char *name;
    Mf__ValueType type; /* VT_STRING for raw pass-through columns */
    bool raw;           /* pass-through text, written verbatim */
    mf__store_class sc;
    size_t n, cap;
    void *data;         /* by sc: int32_t, int64_t, float, double, uint8_t */
    uint64_t *off;      /* text: n + 1 offsets into heap */
    char *heap;
    size_t heap_len, heap_cap;
    uint8_t *valid;     /* 1 = has a value */
} mf__col;

mf__store_class mf__store_class_of(Mf__ValueType t);
void mf__col_init(mf__col *c, const char *name, Mf__ValueType type, bool raw);
void mf__col_free(mf__col *c);
/* Room for n rows (aborts when the memory is not there). */
void mf__col_reserve(mf__col *c, size_t n);
/* The same for rows a caller chose, and room for `bytes` more bytes of
 * text: 0, or -1 when the memory is not there or the size overflows (the
 * column is left as it was, still valid). */
int mf__col_try_reserve(mf__col *c, size_t n);
int mf__col_try_reserve_heap(mf__col *c, size_t bytes);
void mf__col_push_null(mf__col *c);
/* Parse text as the column's type and append it; an empty slice is null.
 * String text must be UTF-8 without NUL bytes; list text is read by the
 * JSON list codec (json.c) and kept in its canonical text; pass-through
 * (raw) text and Bytes are taken as they are. Returns 0, or -1 when the
 * text is not a value of the type (nothing appended). */
int mf__col_push_text(mf__col *c, const char *p, size_t len);
void mf__col_push_i64(mf__col *c, int64_t v);
/* Append a number to a numeric or Bool column (Bool: v != 0), converted to
 * the column's class; the caller has checked that v fits (a whole number in
 * range for Int32/Int64). A text column gets a null. */
void mf__col_push_num(mf__col *c, double v);
/* Append rows 0..n of src to dst, converted to dst's type through their
 * text (as mf__col_push_text reads it). Returns 0, or -1 with the first row
 * that is not a value of dst's type in *bad (rows before it appended). */
int mf__col_convert(mf__col *dst, const mf__col *src, size_t n, size_t *bad);
/* Append text to a text-class column as a value (an empty string too),
 * unchecked: for text that is already a value of the column's type. */
void mf__col_push_str(mf__col *c, const char *p, size_t len);
/* Whether row `row` of c may be stored as a value of its type (what
 * mf__col_push_text requires, for cells that came by mf__col_push_str): a
 * String (or pass-through text) is UTF-8 without NUL bytes, a list cell a
 * valid list, whose canonical text is appended to canon when not NULL.
 * Null cells and other types pass. Returns 0, or -1 with a reason in why
 * (MF__JSON_WHYLEN bytes, mf_json.h). */
int mf__col_cell_check(const mf__col *c, size_t row, mf__buf *canon, char *why);
/* The MF_EDATA error for a cell that failed mf__col_cell_check, naming the
 * view, the feature (c's name), the value (200 bytes at most) and why. */
int mf__col_cell_err(const mf__col *c, size_t row, const char *view, const char *why,
                     mf_error *err);
/* Empty the column, keeping its memory for reuse. */
void mf__col_clear(mf__col *c);
/* Append every row of src (same type) to dst. */
void mf__col_append(mf__col *dst, const mf__col *src);
/* Gather from two columns taken as one: rows 0..na of a, then b's. */
void mf__col_gather2(mf__col *dst, const mf__col *a, const mf__col *b, size_t na,
                     const int64_t *idx, size_t n);
/* dst[i] = src[idx[i]], or null where idx[i] < 0. dst must be initialized
 * with src's type and empty. */
void mf__col_gather(mf__col *dst, const mf__col *src, const int64_t *idx, size_t n);
/* Text of row i for CSV (empty for null). Numbers go to buf (at least 48
 * bytes); text points into the heap. */
const char *mf__col_text(const mf__col *c, size_t i, char *buf, size_t *len);
/* Append row i as a JSON value. */
void mf__col_json(const mf__col *c, size_t i, mf__buf *out);
/* Value of an int class cell as int64 (bool as 0/1). */
int64_t mf__col_i64(const mf__col *c, size_t i);
double mf__col_f64(const mf__col *c, size_t i);

struct mf_table {
    size_t nrows, ncols;
    mf__col *cols;
};

/* A frame of columns given by the host or read from a file: entity rows
 * for retrieval, or rows to push (entity_df.c). */
struct mf_entity_df {
    mf_table *t;
    char *origin; /* file path for messages, NULL for frames built in memory */
    long *lines;  /* CSV line of each row, or NULL */
};
/* Column index by name, or -1. */
long mf__df_find(const mf_entity_df *df, const char *name);
/* Add a column of every row to df (entity_df.c): NULL with *rc MF_EUSAGE
 * for a name taken, MF_ENOMEM when the memory is not there (the frame is
 * left as it was). The column array may move. */
mf__col *mf__df_add_col(mf_entity_df *df, const char *name, Mf__ValueType type, bool raw,
                        int *rc, mf_error *err);
/* An MF_EDATA error about row i's value `text` in column col, which is not
 * `want`; names file and line when the frame came from a file. */
int mf__df_err(const mf_entity_df *df, size_t i, mf_error *err, const char *col,
               const char *text, size_t len, const char *want);

/* New empty table of ncols columns (init each with mf__col_init). */
mf_table *mf__table_new(size_t ncols);
/* Human name of a dtype for messages ("Int64"). */
const char *mf__type_text(Mf__ValueType t);

#endif
