/*
 * mf_parquet.h — reading and writing Parquet files (parquet.c,
 * parquet_write.c).
 *
 * Reading: mf__pq_open maps a file and decodes its footer (our own Thrift
 * compact reader, thrift.c); the file's columns are its top-level fields:
 * scalars and LISTs of scalars (anything else is listed with the reason it
 * cannot be read). mf__pq_read decodes one column of one row group into
 * arrays indexed by row (mf__pq_vals), with the values already in
 * moonfeast's terms: integers as int64, timestamps (TIMESTAMP, INT96,
 * DATE) as microseconds UTC, floats, byte strings. Every length, count and
 * offset read from the file is checked; a bad file is an MF_EDATA error
 * naming the file (and row group, column and page where there is one),
 * never a crash.
 */
#ifndef MF_PARQUET_H
#define MF_PARQUET_H

#include "mf_internal.h"

/* What the values of a column are, after the logical type. */
typedef enum mf__pq_kind {
    MF__PQ_BOOL,    /* i: 0 or 1 */
    MF__PQ_INT,     /* i: signed integers, unsigned of up to 32 bits */
    MF__PQ_UINT64,  /* i: the bits of an unsigned 64-bit integer */
    MF__PQ_F32,     /* f */
    MF__PQ_F64,     /* d */
    MF__PQ_STRING,  /* off/heap: UTF-8 text (not checked here) */
    MF__PQ_BYTES,   /* off/heap */
    MF__PQ_TS,      /* i: microseconds UTC (saturated when out of int64) */
    MF__PQ_DECIMAL  /* i: the unscaled value; scale in the column */
} mf__pq_kind;

typedef struct mf__pq_col {
    char *name;
    mf__pq_kind kind;        /* of the value, or of a list's elements */
    bool list;               /* LIST of kind */
    const char *unsupported; /* NULL, or why the column cannot be read */
    int leaf;                /* its column chunk in every row group */
    int ptype, type_len;     /* physical type (Parquet's Type) and FLBA length */
    int max_def, max_rep, list_def;
    int ts_unit;             /* MF__PQ_TS: 1 ms, 2 us, 3 ns, 4 days (DATE), 5 INT96 */
    int scale;               /* MF__PQ_DECIMAL */
    bool is_unsigned;        /* INT32 read as unsigned */
} mf__pq_col;

/* One column of one row group. Scalars: value of row r at index r (a null
 * row holds 0 or an empty string). Lists: row r's elements are lo[r] ..
 * lo[r + 1] of the value arrays (a null or empty list: none). */
typedef struct mf__pq_vals {
    size_t nrows, nvals;
    uint8_t *valid;     /* per row; NULL when every row has a value */
    int64_t *i;
    double *d;
    float *f;
    uint64_t *off;      /* bytes: nvals + 1 offsets into heap */
    char *heap;
    size_t heap_len, heap_cap, cap;
    uint64_t *lo;       /* lists: nrows + 1 */
    /* lists: per row, the 1-based position of its first null element (0:
     * none; the values hold its other elements); NULL when no row has one.
     * A list cannot hold null: mf__pq_list_json writes it, and the row's
     * list check refuses it, only for a row that is read */
    uint32_t *lnull;
    /* kept from one read to the next (mf__pq_read reuses them) */
    int kind_of_arrays; /* the kind the value arrays were made for, + 1 */
    uint8_t *valid_buf, *sdef, *srep, *sbuf;
    uint64_t *lo_buf;
    uint32_t *sidx, *lnull_buf;
    size_t valid_cap, lo_cap, slev_cap, sidx_cap, sbuf_cap, lnull_cap;
} mf__pq_vals;

typedef struct mf__pq_file mf__pq_file;

/* Limits (the fuzz target lowers them): rows of a row group, bytes of one
 * decompressed page. */
extern size_t mf__pq_max_rows;
extern size_t mf__pq_max_page;

/* Open and map a Parquet file, read its footer. MF_EIO when it cannot be
 * opened or is not a regular file; MF_EDATA naming the path for a file
 * that is not Parquet or whose metadata is bad or unsupported. Caller
 * closes *out with mf__pq_close. */
int mf__pq_open(const char *path, mf__pq_file **out, mf_error *err);
void mf__pq_close(mf__pq_file *f);
const char *mf__pq_path(const mf__pq_file *f);
size_t mf__pq_ncols(const mf__pq_file *f);
const mf__pq_col *mf__pq_col_at(const mf__pq_file *f, size_t i);
long mf__pq_find(const mf__pq_file *f, const char *name);
size_t mf__pq_nrowgroups(const mf__pq_file *f);
int64_t mf__pq_rg_rows(const mf__pq_file *f, size_t g);
/* Statistics of a timestamp column in row group g: true with the least and
 * greatest value (microseconds) when the file has them and says the chunk
 * holds no null. */
bool mf__pq_rg_ts_range(const mf__pq_file *f, size_t g, size_t col, int64_t *min, int64_t *max);
/* Decode column col of row group g into *v: zeroed, or holding an earlier
 * read, whose memory is reused (mf__pq_vals_free it when done, also after
 * a failure). */
int mf__pq_read(mf__pq_file *f, size_t g, size_t col, mf__pq_vals *v, mf_error *err);
void mf__pq_vals_free(mf__pq_vals *v);
/* What the reads of f have met so far, as bit masks: 1 << encoding (RLE
 * counts levels too), 1 << codec, 1 << page type (for tests). */
void mf__pq_seen(const mf__pq_file *f, unsigned *enc, unsigned *codec, unsigned *page);
/* A kind's name for messages ("INT64 TIMESTAMP(us)" style is not needed:
 * "integer", "timestamp", ...). */
const char *mf__pq_kind_name(mf__pq_kind k);

/* Text of value j (a row, or a list element) as moonfeast reads cells:
 * integers in decimal, floats in their shortest text, true/false, RFC 3339
 * timestamps (out of range: a text no reader takes), decimals exactly,
 * bytes as they are. Appended to out. */
void mf__pq_text(const mf__pq_col *c, const mf__pq_vals *v, size_t j, mf__buf *out);
/* Row r of a list column as a JSON array (elements as mf__pq_text gives
 * them; strings and timestamps quoted). */
void mf__pq_list_json(const mf__pq_col *c, const mf__pq_vals *v, size_t r, mf__buf *out);

/*---- Writing (parquet_write.c) ------------------------------------------*/

/* Rows per row group and per page (tests lower them). */
extern size_t mf__pq_write_group_rows, mf__pq_write_page_rows, mf__pq_write_page_bytes;

struct mf_table;
/* Write table t as a Parquet file at path ("-": stdout), snappy pages,
 * dictionary encoding where it is smaller, row groups of at most 1M rows.
 * Column types follow the table's (see docs/concepts.md, Output formats).
 * A file is written to a temporary name and renamed when complete
 * (fsynced when `durable`). */
int mf__pq_write_table(const struct mf_table *t, const char *path, bool durable, mf_error *err);
/* `moonfeast to-parquet`: the CSV file `in` (read as entity rows are) as a
 * Parquet file `out`, each column typed Int64, Float64, Bool or
 * UnixTimestamp when every value in it reads back as the same text in that
 * type, else String (Bytes when it is not UTF-8); empty cells are null. */
int mf__pq_from_csv(const char *in, const char *out, mf_error *err);

#endif
