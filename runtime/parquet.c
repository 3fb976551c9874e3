/*
 * parquet.c — reading Parquet files (mf_parquet.h).
 *
 * The file is mapped; its footer (FileMetaData, Thrift compact protocol,
 * thrift.c) gives the schema and the row groups. Columns are the schema's
 * top-level fields: a scalar leaf (required or optional), or a LIST of
 * scalars (the three-level form `optional group (LIST) { repeated group
 * list { optional element } }`, the legacy two-level forms, and a bare
 * `repeated` leaf). Structs, maps and nested lists are listed as columns
 * with the reason they cannot be read, which is an error only when one is
 * used.
 *
 * A column chunk is read page by page: a dictionary page, then data pages
 * v1 (levels and values compressed together) or v2 (levels uncompressed,
 * then the values, compressed unless is_compressed is false). The page
 * CRC (zlib's crc32 of the page bytes as stored) is checked when present.
 * Codecs: UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW (Debian's libsnappy,
 * zlib, libzstd, liblz4). Encodings: PLAIN, PLAIN_DICTIONARY and
 * RLE_DICTIONARY, RLE (levels, booleans), DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT.
 *
 * Values become moonfeast's: INT32/INT64 by their logical type (signed,
 * unsigned, DATE as midnight UTC, TIMESTAMP in ms/us/ns floored to
 * microseconds whether UTC-adjusted or not: a time without zone is UTC, as
 * for CSV text), INT96 as Spark's legacy timestamps (nanoseconds of the day
 * and a Julian day), DECIMAL exactly (on INT32/INT64, or on bytes as
 * big-endian two's complement: an unscaled value past 64 bits is an error
 * naming the page), FLOAT, DOUBLE,
 * BYTE_ARRAY (STRING/UTF8/ENUM/JSON as text, else bytes) and
 * FIXED_LEN_BYTE_ARRAY (bytes).
 *
 * Nothing read from the file is trusted: every offset and size is checked
 * against the mapping, page sizes against mf__pq_max_page, row counts
 * against mf__pq_max_rows, levels against their maxima, dictionary indices
 * against the dictionary, and decoded counts against the headers. Errors
 * are MF_EDATA naming the file and, where there is one, the row group,
 * the column and the page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "mf_parquet.h"
#include "mf_thrift.h"
#include "mf_values.h"

size_t mf__pq_max_rows = (size_t)1 << 31;
size_t mf__pq_max_page = (size_t)1 << 30;

enum { PT_BOOLEAN, PT_INT32, PT_INT64, PT_INT96, PT_FLOAT, PT_DOUBLE, PT_BYTE_ARRAY, PT_FLBA };
enum { ENC_PLAIN = 0, ENC_PLAIN_DICT = 2, ENC_RLE = 3, ENC_BIT_PACKED = 4, ENC_DELTA_BP = 5,
       ENC_DELTA_LBA = 6, ENC_DELTA_BA = 7, ENC_RLE_DICT = 8, ENC_BSS = 9 };
enum { CODEC_NONE, CODEC_SNAPPY, CODEC_GZIP, CODEC_LZO, CODEC_BROTLI, CODEC_LZ4, CODEC_ZSTD,
       CODEC_LZ4_RAW };
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICT = 2, PAGE_DATA_V2 = 3 };

static const char *const type_names[] = {"BOOLEAN", "INT32", "INT64", "INT96",
                                         "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
static const char *const codec_names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                          "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};

/*---- Metadata ---------------------------------------------------------------*/

typedef struct pq_chunk {
    int type, codec;
    int64_t num_values, total_comp, data_off, dict_off;
    bool has_dict_off, has_meta;
    /* statistics (pointers into the mapping) */
    const uint8_t *min, *max;
    size_t min_len, max_len;
    bool has_min, has_max, has_nulls_count;
    int64_t null_count;
} pq_chunk;

typedef struct pq_rg {
    int64_t num_rows;
    pq_chunk *cols;
    size_t ncols;
} pq_rg;

typedef struct pq_el {
    char *name;
    int type, type_len, rep, nchildren, conv, scale;
    bool has_type, has_rep, has_children;
    int logical; /* the LogicalType union's field id, 0: none */
    int ts_unit; /* 1 ms, 2 us, 3 ns */
    int int_bits;
    bool int_signed;
} pq_el;

struct mf__pq_file {
    char *path;
    const uint8_t *base;
    size_t size;
    pq_el *els;
    size_t nels;
    size_t nleaves;
    mf__pq_col *cols;
    size_t ncols;
    pq_rg *rgs;
    size_t nrgs;
    unsigned seen_enc, seen_codec, seen_page; /* bit masks, for tests */
};

static int ferr(const mf__pq_file *f, mf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ferr(const mf__pq_file *f, mf_error *err, const char *fmt, ...) {
    char m[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return mf__err(err, MF_EDATA, "Parquet file %s: %s", f->path, m);
}

static char *dup_bin(const uint8_t *p, size_t n) { return mf__xstrndup((const char *)p, n); }

static void read_stats(mf__tc *tc, pq_chunk *c) {
    int16_t last;
    mf__tc_field fd;
    const uint8_t *omin = NULL, *omax = NULL;
    size_t omin_len = 0, omax_len = 0;
    mf__tc_struct_begin(tc, &last);
    while (mf__tc_next_field(tc, &last, &fd)) {
        if (fd.id == 1 && fd.type == MF__TC_BINARY) omax = mf__tc_binary(tc, &omax_len);
        else if (fd.id == 2 && fd.type == MF__TC_BINARY) omin = mf__tc_binary(tc, &omin_len);
        else if (fd.id == 3 && fd.type == MF__TC_I64) {
            c->null_count = mf__tc_i64(tc);
            c->has_nulls_count = true;
        } else if (fd.id == 5 && fd.type == MF__TC_BINARY) {
            c->max = mf__tc_binary(tc, &c->max_len);
            c->has_max = true;
        } else if (fd.id == 6 && fd.type == MF__TC_BINARY) {
            c->min = mf__tc_binary(tc, &c->min_len);
            c->has_min = true;
        } else mf__tc_skip_field(tc, &fd);
    }
    mf__tc_struct_end(tc);
    /* the deprecated fields are signed order: right for the integer
     * columns whose statistics are used */
    if (!c->has_min && omin) c->min = omin, c->min_len = omin_len, c->has_min = true;
    if (!c->has_max && omax) c->max = omax, c->max_len = omax_len, c->has_max = true;
}

static void read_colmeta(mf__tc *tc, pq_chunk *c) {
    int16_t last;
    mf__tc_field fd;
    c->has_meta = true;
    mf__tc_struct_begin(tc, &last);
    while (mf__tc_next_field(tc, &last, &fd)) {
        switch (fd.id) {
        case 1: c->type = mf__tc_i32(tc); break;
        case 4: c->codec = mf__tc_i32(tc); break;
        case 5: c->num_values = mf__tc_i64(tc); break;
        case 7: c->total_comp = mf__tc_i64(tc); break;
        case 9: c->data_off = mf__tc_i64(tc); break;
        case 11:
            c->dict_off = mf__tc_i64(tc);
            c->has_dict_off = true;
            break;
        case 12:
            if (fd.type == MF__TC_STRUCT) read_stats(tc, c);
            else mf__tc_skip_field(tc, &fd);
            break;
        default: mf__tc_skip_field(tc, &fd);
        }
        if (fd.id == 1 || fd.id == 4 || fd.id == 5 || fd.id == 7 || fd.id == 9 || fd.id == 11)
            if (fd.type != MF__TC_I32 && fd.type != MF__TC_I64 && !tc->bad)
                tc->bad = "a field of ColumnMetaData has the wrong type";
    }
    mf__tc_struct_end(tc);
}

static void read_chunk(mf__tc *tc, pq_chunk *c) {
    int16_t last;
    mf__tc_field fd;
    mf__tc_struct_begin(tc, &last);
    while (mf__tc_next_field(tc, &last, &fd)) {
        if (fd.id == 3 && fd.type == MF__TC_STRUCT) read_colmeta(tc, c);
        else if (fd.id == 8 || fd.id == 9) {
            mf__tc_skip_field(tc, &fd);
            if (!tc->bad) tc->bad = "encrypted columns are not supported";
        } else mf__tc_skip_field(tc, &fd);
    }
    mf__tc_struct_end(tc);
}

static void read_rowgroup(mf__tc *tc, pq_rg *g) {
    int16_t last;
    mf__tc_field fd;
    mf__tc_struct_begin(tc, &last);
    while (mf__tc_next_field(tc, &last, &fd)) {
        if (fd.id == 1 && fd.type == MF__TC_LIST) {
            uint8_t et;
            size_t n = mf__tc_list(tc, &et);
            if (et != MF__TC_STRUCT && n) {
                tc->bad = "RowGroup.columns is not a list of structs";
                break;
            }
            free(g->cols);
            g->cols = mf__xcalloc(n + 1, sizeof *g->cols);
            g->ncols = n;
            for (size_t i = 0; i < n && !tc->bad; i++) read_chunk(tc, &g->cols[i]);
        } else if (fd.id == 3 && (fd.type == MF__TC_I64 || fd.type == MF__TC_I32)) {
            g->num_rows = mf__tc_i64(tc);
        } else mf__tc_skip_field(tc, &fd);
    }
    mf__tc_struct_end(tc);
}

static void read_logical(mf__tc *tc, pq_el *e) {
    int16_t last;
    mf__tc_field fd;
    mf__tc_struct_begin(tc, &last);
    while (mf__tc_next_field(tc, &last, &fd)) {
        if (fd.type != MF__TC_STRUCT) {
            mf__tc_skip_field(tc, &fd);
            continue;
        }
        e->logical = fd.id;
        int16_t l2;
        mf__tc_field f2;
        mf__tc_struct_begin(tc, &l2);
        while (mf__tc_next_field(tc, &l2, &f2)) {
            if (fd.id == 8 && f2.id == 2 && f2.type == MF__TC_STRUCT) { /* TimeUnit */
                int16_t l3;
                mf__tc_field f3;
                mf__tc_struct_begin(tc, &l3);
                while (mf__tc_next_field(tc, &l3, &f3)) {
                    if (f3.id >= 1 && f3.id <= 3) e->ts_unit = f3.id;
                    mf__tc_skip_field(tc, &f3);
                }
                mf__tc_struct_end(tc);
            } else if (fd.id == 10 && f2.id == 1 && f2.type == MF__TC_I8) {
                if (tc->p < tc->end) e->int_bits = (int8_t)*tc->p++;
            } else if (fd.id == 10 && f2.id == 2) {
                e->int_signed = mf__tc_bool(tc, &f2);
            } else if (fd.id == 5 && f2.id == 1 && f2.type == MF__TC_I32) {
                e->scale = mf__tc_i32(tc);
            } else {
                mf__tc_skip_field(tc, &f2);
            }
        }
        mf__tc_struct_end(tc);
    }
    mf__tc_struct_end(tc);
}

static void read_schema_el(mf__tc *tc, pq_el *e) {
    int16_t last;
    mf__tc_field fd;
    e->conv = -1;
    e->int_signed = true;
    mf__tc_struct_begin(tc, &last);
    while (mf__tc_next_field(tc, &last, &fd)) {
        bool is_int = fd.type == MF__TC_I32 || fd.type == MF__TC_I16 || fd.type == MF__TC_I64;
        switch (fd.id) {
        case 1: if (is_int) e->type = mf__tc_i32(tc), e->has_type = true; else goto skip; break;
        case 2: if (is_int) e->type_len = mf__tc_i32(tc); else goto skip; break;
        case 3: if (is_int) e->rep = mf__tc_i32(tc), e->has_rep = true; else goto skip; break;
        case 4:
            if (fd.type == MF__TC_BINARY) {
                size_t n;
                const uint8_t *p = mf__tc_binary(tc, &n);
                free(e->name);
                e->name = dup_bin(p, n);
            } else goto skip;
            break;
        case 5:
            if (is_int) e->nchildren = mf__tc_i32(tc), e->has_children = true;
            else goto skip;
            break;
        case 6: if (is_int) e->conv = mf__tc_i32(tc); else goto skip; break;
        case 7: if (is_int) e->scale = mf__tc_i32(tc); else goto skip; break;
        case 10: if (fd.type == MF__TC_STRUCT) read_logical(tc, e); else goto skip; break;
        default:
        skip:
            mf__tc_skip_field(tc, &fd);
        }
    }
    mf__tc_struct_end(tc);
}

/* Converted types used below. */
enum { CT_UTF8 = 0, CT_MAP = 1, CT_MAP_KV = 2, CT_LIST = 3, CT_ENUM = 4, CT_DECIMAL = 5,
       CT_DATE = 6, CT_TIME_MILLIS = 7, CT_TIME_MICROS = 8, CT_TS_MILLIS = 9, CT_TS_MICROS = 10,
       CT_UINT_8 = 11, CT_UINT_64 = 14, CT_INT_8 = 15, CT_INT_64 = 18, CT_JSON = 19, CT_BSON = 20,
       CT_INTERVAL = 21 };
/* LogicalType union ids. */
enum { LT_STRING = 1, LT_MAP = 2, LT_LIST = 3, LT_ENUM = 4, LT_DECIMAL = 5, LT_DATE = 6,
       LT_TIME = 7, LT_TIMESTAMP = 8, LT_INTEGER = 10, LT_UNKNOWN = 11, LT_JSON = 12,
       LT_BSON = 13, LT_UUID = 14, LT_FLOAT16 = 15 };

/* A DECIMAL leaf (on INT32, INT64, BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY):
 * read as its unscaled integer, which must fit 64 bits (put_dec). */
static const char *decimal_kind(const pq_el *e, mf__pq_col *c) {
    c->kind = MF__PQ_DECIMAL;
    c->scale = e->scale;
    if (c->scale < 0 || c->scale > 18) return "a DECIMAL with a scale outside 0..18";
    return NULL;
}

/* The kind of a leaf's values, or why it cannot be read. */
static const char *leaf_kind(const pq_el *e, mf__pq_col *c) {
    c->ptype = e->type;
    c->type_len = e->type_len;
    int lt = e->logical, ct = e->conv;
    switch (e->type) {
    case PT_BOOLEAN: c->kind = MF__PQ_BOOL; return NULL;
    case PT_INT32:
    case PT_INT64:
        c->kind = MF__PQ_INT;
        if (lt == LT_DATE || ct == CT_DATE) {
            if (e->type != PT_INT32) return "a DATE that is not INT32";
            c->kind = MF__PQ_TS;
            c->ts_unit = 4;
        } else if (lt == LT_TIMESTAMP || ct == CT_TS_MILLIS || ct == CT_TS_MICROS) {
            if (e->type != PT_INT64) return "a TIMESTAMP that is not INT64";
            c->kind = MF__PQ_TS;
            c->ts_unit = lt == LT_TIMESTAMP ? e->ts_unit : ct == CT_TS_MILLIS ? 1 : 2;
            if (c->ts_unit < 1 || c->ts_unit > 3) return "a TIMESTAMP without its unit";
        } else if (lt == LT_DECIMAL || ct == CT_DECIMAL) {
            return decimal_kind(e, c);
        } else if (lt == LT_TIME || ct == CT_TIME_MILLIS || ct == CT_TIME_MICROS) {
            return "a TIME of day (no moonfeast type holds one)";
        } else if (lt == LT_INTEGER) {
            if (!e->int_signed && e->type == PT_INT64) c->kind = MF__PQ_UINT64;
            else if (!e->int_signed) c->is_unsigned = true;
        } else if (ct >= CT_UINT_8 && ct <= CT_UINT_64) {
            if (ct == CT_UINT_64) c->kind = MF__PQ_UINT64;
            else c->is_unsigned = true;
        } else if (lt != 0 && lt != LT_UNKNOWN) {
            return "an integer with an unknown logical type";
        }
        return NULL;
    case PT_INT96: c->kind = MF__PQ_TS, c->ts_unit = 5; return NULL;
    case PT_FLOAT: c->kind = MF__PQ_F32; return NULL;
    case PT_DOUBLE: c->kind = MF__PQ_F64; return NULL;
    case PT_BYTE_ARRAY:
        if (lt == LT_DECIMAL || ct == CT_DECIMAL) return decimal_kind(e, c);
        c->kind = (lt == LT_STRING || lt == LT_ENUM || lt == LT_JSON || ct == CT_UTF8 ||
                   ct == CT_ENUM || ct == CT_JSON)
                      ? MF__PQ_STRING
                      : MF__PQ_BYTES;
        return NULL;
    case PT_FLBA:
        if ((lt == LT_DECIMAL || ct == CT_DECIMAL) && e->type_len > 0) return decimal_kind(e, c);
        if (lt == LT_FLOAT16) return "a FLOAT16";
        if (ct == CT_INTERVAL) return "an INTERVAL";
        if (e->type_len <= 0) return "a FIXED_LEN_BYTE_ARRAY without a length";
        c->kind = MF__PQ_BYTES;
        return NULL;
    default:
        return "an unknown physical type";
    }
}

/* Leaves under element i (depth-first); returns the index after its subtree
 * or (size_t)-1 when the tree is malformed. */
static size_t subtree_end(const mf__pq_file *f, size_t i, size_t *leaves, int depth) {
    if (i >= f->nels || depth > 64) return (size_t)-1;
    const pq_el *e = &f->els[i];
    if (!e->has_children || e->nchildren == 0) {
        if (!e->has_type) return (size_t)-1;
        (*leaves)++;
        return i + 1;
    }
    if (e->nchildren < 0) return (size_t)-1;
    size_t j = i + 1;
    for (int k = 0; k < e->nchildren; k++) {
        j = subtree_end(f, j, leaves, depth + 1);
        if (j == (size_t)-1) return j;
    }
    return j;
}

static bool is_repeated(const pq_el *e) { return e->has_rep && e->rep == 2; }
static bool is_optional(const pq_el *e) { return e->has_rep && e->rep == 1; }

/* Top-level field at element i (leaves before it: leaf). */
static void make_column(mf__pq_file *f, size_t i, size_t leaf, mf__pq_col *c) {
    const pq_el *e = &f->els[i];
    c->name = mf__xstrdup(e->name ? e->name : "");
    c->leaf = (int)leaf;
    if (!e->has_children || e->nchildren == 0) { /* a leaf */
        if (is_repeated(e)) { /* a bare repeated field: a list */
            c->list = true;
            c->max_def = c->max_rep = c->list_def = 1;
        } else {
            c->max_def = is_optional(e) ? 1 : 0;
        }
        c->unsupported = leaf_kind(e, c);
        return;
    }
    bool list = e->logical == LT_LIST || e->conv == CT_LIST;
    if (!list) {
        c->unsupported = (e->logical == LT_MAP || e->conv == CT_MAP || e->conv == CT_MAP_KV)
                             ? "a MAP"
                             : "a struct (a group without LIST)";
        return;
    }
    if (is_repeated(e)) {
        c->unsupported = "a repeated LIST";
        return;
    }
    int def = is_optional(e) ? 1 : 0;
    const pq_el *r = &f->els[i + 1];
    if (e->nchildren != 1 || !is_repeated(r)) {
        c->unsupported = "a LIST whose child is not one repeated field";
        return;
    }
    def++;
    c->list = true;
    c->max_rep = 1;
    c->list_def = def;
    const pq_el *leafel;
    if (!r->has_children || r->nchildren == 0) { /* two-level: the repeated leaf */
        leafel = r;
    } else {
        const pq_el *x = &f->els[i + 2];
        bool legacy_struct = r->nchildren != 1 || (r->name && strcmp(r->name, "array") == 0) ||
                             (r->name && e->name && strlen(r->name) == strlen(e->name) + 6 &&
                              strncmp(r->name, e->name, strlen(e->name)) == 0 &&
                              strcmp(r->name + strlen(e->name), "_tuple") == 0);
        if (legacy_struct || (x->has_children && x->nchildren > 0)) {
            c->unsupported = "a LIST of structs or of lists";
            return;
        }
        if (is_repeated(x)) {
            c->unsupported = "a LIST of repeated fields";
            return;
        }
        if (is_optional(x)) def++;
        leafel = x;
    }
    c->max_def = def;
    c->unsupported = leaf_kind(leafel, c);
}

static int build_schema(mf__pq_file *f, mf_error *err) {
    if (f->nels == 0) return ferr(f, err, "the schema is empty");
    const pq_el *root = &f->els[0];
    if (!root->has_children || root->nchildren < 0)
        return ferr(f, err, "the schema's root is not a group");
    size_t j = 1, leaves = 0;
    f->cols = mf__xcalloc((size_t)root->nchildren + 1, sizeof *f->cols);
    for (int k = 0; k < root->nchildren; k++) {
        if (j >= f->nels) return ferr(f, err, "the schema has fewer elements than it says");
        size_t before = leaves;
        size_t end = subtree_end(f, j, &leaves, 0);
        if (end == (size_t)-1) return ferr(f, err, "the schema's tree is malformed");
        make_column(f, j, before, &f->cols[f->ncols]);
        mf__pq_col *c = &f->cols[f->ncols++];
        if (!c->unsupported && (c->max_def > 3 || c->max_rep > 1)) c->unsupported = "nested too deep";
        if (!c->unsupported && leaves - before != 1) c->unsupported = "not a single column";
        j = end;
    }
    if (j != f->nels) return ferr(f, err, "the schema has more elements than its root holds");
    f->nleaves = leaves;
    return MF_OK;
}

static int read_footer(mf__pq_file *f, const uint8_t *p, size_t n, mf_error *err) {
    mf__tc tc = {p, p + n, 0, NULL};
    int16_t last;
    mf__tc_field fd;
    bool have_schema = false, have_rgs = false;
    mf__tc_struct_begin(&tc, &last);
    while (mf__tc_next_field(&tc, &last, &fd)) {
        if (fd.id == 2 && fd.type == MF__TC_LIST && !have_schema) {
            uint8_t et;
            size_t cnt = mf__tc_list(&tc, &et);
            if (cnt && et != MF__TC_STRUCT) {
                tc.bad = "the schema is not a list of structs";
                break;
            }
            f->els = mf__xcalloc(cnt + 1, sizeof *f->els);
            f->nels = cnt;
            for (size_t i = 0; i < cnt && !tc.bad; i++) read_schema_el(&tc, &f->els[i]);
            have_schema = true;
        } else if (fd.id == 4 && fd.type == MF__TC_LIST && !have_rgs) {
            uint8_t et;
            size_t cnt = mf__tc_list(&tc, &et);
            if (cnt && et != MF__TC_STRUCT) {
                tc.bad = "row_groups is not a list of structs";
                break;
            }
            f->rgs = mf__xcalloc(cnt + 1, sizeof *f->rgs);
            f->nrgs = cnt;
            for (size_t i = 0; i < cnt && !tc.bad; i++) read_rowgroup(&tc, &f->rgs[i]);
            have_rgs = true;
        } else if (fd.id == 8) {
            mf__tc_skip_field(&tc, &fd);
            if (!tc.bad) tc.bad = "encrypted files are not supported";
        } else {
            mf__tc_skip_field(&tc, &fd);
        }
    }
    mf__tc_struct_end(&tc);
    if (tc.bad) return ferr(f, err, "bad footer metadata: %s", tc.bad);
    if (!have_schema) return ferr(f, err, "bad footer metadata: no schema");
    int rc = build_schema(f, err);
    if (rc) return rc;
    for (size_t g = 0; g < f->nrgs; g++) {
        pq_rg *r = &f->rgs[g];
        if (r->num_rows < 0 || (uint64_t)r->num_rows > mf__pq_max_rows)
            return ferr(f, err, "row group %zu has %lld rows (at most %zu are read)", g + 1,
                        (long long)r->num_rows, mf__pq_max_rows);
        if (r->ncols != f->nleaves)
            return ferr(f, err, "row group %zu has %zu column chunks, the schema %zu columns", g + 1,
                        r->ncols, f->nleaves);
    }
    return MF_OK;
}

int mf__pq_open(const char *path, mf__pq_file **out, mf_error *err) {
    *out = NULL;
    int fd;
    bool is_file;
    size_t size;
    int rc = mf__open_input(path, &fd, &is_file, &size, err);
    if (rc) return rc;
    mf__pq_file *f = mf__xcalloc(1, sizeof *f);
    f->path = mf__xstrdup(path);
    if (!is_file) {
        close(fd);
        rc = mf__err(err, MF_EIO, "Parquet file %s: not a regular file (a Parquet file is read "
                     "from its end)", path);
        mf__pq_close(f);
        return rc;
    }
    if (size < 12) {
        close(fd);
        rc = ferr(f, err, "not a Parquet file (%zu bytes, too short)", size);
        mf__pq_close(f);
        return rc;
    }
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        rc = mf__err(err, MF_EIO, "cannot map %s: %s", path, strerror(errno));
        mf__pq_close(f);
        return rc;
    }
    f->base = m;
    f->size = size;
    const uint8_t *b = f->base;
    if (memcmp(b + size - 4, "PARE", 4) == 0)
        rc = ferr(f, err, "encrypted Parquet files are not supported");
    else if (memcmp(b, "PAR1", 4) != 0 || memcmp(b + size - 4, "PAR1", 4) != 0)
        rc = ferr(f, err, "not a Parquet file (no PAR1 magic number at its %s)",
                  memcmp(b, "PAR1", 4) != 0 ? "start" : "end");
    if (rc == MF_OK) {
        uint32_t flen = (uint32_t)b[size - 8] | (uint32_t)b[size - 7] << 8 |
                        (uint32_t)b[size - 6] << 16 | (uint32_t)b[size - 5] << 24;
        if (flen > size - 12)
            rc = ferr(f, err, "the footer length (%u bytes) is more than the file holds; "
                      "is the file truncated?", flen);
        else
            rc = read_footer(f, b + size - 8 - flen, flen, err);
    }
    if (rc) {
        mf__pq_close(f);
        return rc;
    }
    *out = f;
    return MF_OK;
}

void mf__pq_close(mf__pq_file *f) {
    if (!f) return;
    if (f->base) munmap((void *)f->base, f->size);
    for (size_t i = 0; i < f->nels; i++) free(f->els[i].name);
    free(f->els);
    for (size_t i = 0; i < f->ncols; i++) free(f->cols[i].name);
    free(f->cols);
    for (size_t g = 0; g < f->nrgs; g++) free(f->rgs[g].cols);
    free(f->rgs);
    free(f->path);
    free(f);
}

const char *mf__pq_path(const mf__pq_file *f) { return f->path; }
void mf__pq_seen(const mf__pq_file *f, unsigned *enc, unsigned *codec, unsigned *page) {
    *enc = __atomic_load_n(&f->seen_enc, __ATOMIC_RELAXED);
    *codec = __atomic_load_n(&f->seen_codec, __ATOMIC_RELAXED);
    *page = __atomic_load_n(&f->seen_page, __ATOMIC_RELAXED);
}
size_t mf__pq_ncols(const mf__pq_file *f) { return f->ncols; }
const mf__pq_col *mf__pq_col_at(const mf__pq_file *f, size_t i) { return &f->cols[i]; }
size_t mf__pq_nrowgroups(const mf__pq_file *f) { return f->nrgs; }
int64_t mf__pq_rg_rows(const mf__pq_file *f, size_t g) { return f->rgs[g].num_rows; }

long mf__pq_find(const mf__pq_file *f, const char *name) {
    for (size_t i = 0; i < f->ncols; i++)
        if (strcmp(f->cols[i].name, name) == 0) return (long)i;
    return -1;
}

static int64_t le64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return (int64_t)v;
}
static int32_t le32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return (int32_t)v;
}

static int64_t mul_sat(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
    return r;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0)) ? q - 1 : q;
}

/* An INT64 timestamp in `unit` to microseconds. */
static int64_t ts_us(int64_t v, int unit) {
    switch (unit) {
    case 1: return mul_sat(v, 1000);
    case 3: return floor_div(v, 1000);
    case 4: return mul_sat(v, INT64_C(86400000000));
    default: return v;
    }
}

static int64_t int96_us(const uint8_t *p) {
    int64_t nanos = le64(p);
    int64_t jday = le32(p + 8);
    return mf__sub_sat(mul_sat(jday - 2440588, INT64_C(86400000000)), -floor_div(nanos, 1000));
}

bool mf__pq_rg_ts_range(const mf__pq_file *f, size_t g, size_t col, int64_t *min, int64_t *max) {
    const mf__pq_col *c = &f->cols[col];
    if (c->unsupported || c->list || c->kind != MF__PQ_TS || c->ts_unit == 5) return false;
    const pq_chunk *k = &f->rgs[g].cols[c->leaf];
    if (!k->has_min || !k->has_max || !k->has_nulls_count || k->null_count != 0) return false;
    size_t w = c->ptype == PT_INT32 ? 4 : 8;
    if (k->min_len != w || k->max_len != w) return false;
    int64_t a = w == 4 ? le32(k->min) : le64(k->min), b = w == 4 ? le32(k->max) : le64(k->max);
    *min = ts_us(a, c->ts_unit);
    *max = ts_us(b, c->ts_unit);
    return *min <= *max;
}

/*---- Values -------------------------------------------------------------------*/

const char *mf__pq_kind_name(mf__pq_kind k) {
    static const char *const n[] = {"boolean", "integer", "unsigned 64-bit integer", "float",
                                    "double", "string", "bytes", "timestamp", "decimal"};
    return (unsigned)k < sizeof n / sizeof *n ? n[k] : "?";
}

void mf__pq_vals_free(mf__pq_vals *v) {
    free(v->valid_buf);
    free(v->i);
    free(v->d);
    free(v->f);
    free(v->off);
    free(v->heap);
    free(v->lo_buf);
    free(v->lnull_buf);
    free(v->sdef);
    free(v->srep);
    free(v->sidx);
    free(v->sbuf);
    memset(v, 0, sizeof *v);
}

/* Empty v for a read of kind k, keeping its memory (the value arrays only
 * when they were made for the same kind). */
static void vals_reset(mf__pq_vals *v, mf__pq_kind k) {
    if (v->kind_of_arrays != (int)k + 1) {
        free(v->i), free(v->d), free(v->f), free(v->off);
        v->i = NULL, v->d = NULL, v->f = NULL, v->off = NULL;
        v->cap = 0;
        v->kind_of_arrays = (int)k + 1;
    }
    v->nrows = v->nvals = v->heap_len = 0;
    v->valid = NULL;
    v->lo = NULL;
    v->lnull = NULL;
}

/* A buffer of at least n bytes kept in *buf (capacity *cap): NULL when the
 * memory is not there. */
static void *keep_buf(void *bufp, size_t *cap, size_t n) {
    void **buf = bufp;
    if (n <= *cap && *buf) return *buf;
    void *p = mf__try_realloc_array(*buf, n ? n : 1, 1);
    if (!p) return NULL;
    *buf = p;
    *cap = n ? n : 1;
    return p;
}

static bool is_bytes_kind(mf__pq_kind k) { return k == MF__PQ_STRING || k == MF__PQ_BYTES; }

/* Bytes of value j (the heap is NULL while every value is empty). */
static const char *heap_at(const mf__pq_vals *v, size_t j) {
    return v->heap ? v->heap + v->off[j] : "";
}

/* Room for n values in v's arrays for kind k. */
static int vals_reserve(mf__pq_vals *v, mf__pq_kind k, size_t n) {
    if (n <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 1024;
    while (cap < n) {
        if (cap > SIZE_MAX / 4) return -1;
        cap *= 2;
    }
    if (k == MF__PQ_F32) {
        float *p = mf__try_realloc_array(v->f, cap, sizeof *p);
        if (!p) return -1;
        v->f = p;
    } else if (k == MF__PQ_F64) {
        double *p = mf__try_realloc_array(v->d, cap, sizeof *p);
        if (!p) return -1;
        v->d = p;
    } else if (is_bytes_kind(k)) {
        uint64_t *p = mf__try_realloc_array(v->off, cap + 1, sizeof *p);
        if (!p) return -1;
        if (!v->off) p[0] = 0;
        v->off = p;
    } else {
        int64_t *p = mf__try_realloc_array(v->i, cap, sizeof *p);
        if (!p) return -1;
        v->i = p;
    }
    v->cap = cap;
    return 0;
}

static int heap_put(mf__pq_vals *v, const void *p, size_t n) {
    if (v->heap_len + n > v->heap_cap || !v->heap) {
        /* p may point into the heap itself (a DELTA_BYTE_ARRAY prefix) */
        bool inside = v->heap && (const char *)p >= v->heap &&
                      (const char *)p < v->heap + v->heap_cap;
        size_t at = inside ? (size_t)((const char *)p - v->heap) : 0;
        size_t cap = v->heap_cap ? v->heap_cap : 4096;
        while (cap < v->heap_len + n + 1) {
            if (cap > SIZE_MAX / 4) return -1;
            cap *= 2;
        }
        char *h = mf__try_realloc_array(v->heap, cap, 1);
        if (!h) return -1;
        v->heap = h;
        v->heap_cap = cap;
        if (inside) p = h + at;
    }
    if (n) memcpy(v->heap + v->heap_len, p, n);
    v->heap_len += n;
    return 0;
}

/*---- Page decoding --------------------------------------------------------------*/

/* What one column chunk's decoding needs. */
typedef struct chunk_rd {
    mf__pq_file *f;
    size_t g;
    const mf__pq_col *c;
    const pq_chunk *k;
    mf_error *err;
    int page;           /* 1-based, for messages */
    mf__pq_vals dict;   /* the dictionary's values */
    bool has_dict;
    /* levels of the whole chunk */
    uint8_t *def, *rep;
    size_t nlev, levcap;
    mf__pq_vals *v;     /* values (dense: non-null ones) */
    uint32_t *idx;      /* scratch: dictionary indices */
    size_t idxcap;
    uint8_t *buf;       /* scratch: decompressed page */
    size_t bufcap;
} chunk_rd;

static int cerr(chunk_rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cerr(chunk_rd *r, const char *fmt, ...) {
    char m[500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (r->page > 0)
        return mf__err(r->err, MF_EDATA, "Parquet file %s: row group %zu, column '%s', page %d: %s",
                       r->f->path, r->g + 1, r->c->name, r->page, m);
    return mf__err(r->err, MF_EDATA, "Parquet file %s: row group %zu, column '%s': %s", r->f->path,
                   r->g + 1, r->c->name, m);
}

static int nomem(chunk_rd *r) {
    return mf__err_nomem(r->err, "Parquet file %s: row group %zu, column '%s'", r->f->path, r->g + 1,
                         r->c->name);
}

/* Bits [bit, bit + w) of p[0..n) (w <= 64), least significant first. */
static inline uint64_t get_bits(const uint8_t *p, size_t n, uint64_t bit, int w) {
    size_t at = (size_t)(bit >> 3);
    int sh = (int)(bit & 7);
    if (w == 0) return 0;
    if (at + 8 <= n && sh + w <= 64) {
        uint64_t x;
        memcpy(&x, p + at, 8);
        x >>= sh;
        return w == 64 ? x : x & ((UINT64_C(1) << w) - 1);
    }
    uint64_t x = 0;
    int got = 0;
    while (got < w) {
        uint8_t byte = at < n ? p[at] : 0;
        int take = 8 - sh;
        if (take > w - got) take = w - got;
        x |= (uint64_t)((byte >> sh) & ((1u << take) - 1)) << got;
        got += take;
        sh = 0;
        at++;
    }
    return x;
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return false;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* The RLE / bit-packed hybrid: n values of width w (<= 32) from
 * p[0..len) into out. Returns NULL on success, else what was wrong. */
static const char *rle_decode(const uint8_t *p, size_t len, int w, uint32_t *out, size_t n) {
    const uint8_t *end = p + len;
    size_t got = 0;
    size_t vb = (size_t)(w + 7) / 8;
    while (got < n) {
        uint64_t h;
        if (!varint(&p, end, &h)) return "RLE data ends early";
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups == 0 || groups > ((uint64_t)1 << 40)) return "a malformed bit-packed run";
            uint64_t cnt = groups * 8;
            size_t take = cnt < n - got ? (size_t)cnt : n - got;
            uint64_t bytes = groups * (uint64_t)w;
            size_t avail = (size_t)(end - p);
            if (((uint64_t)take * (uint64_t)w + 7) / 8 > avail) return "RLE data ends early";
            if (w == 0) {
                memset(out + got, 0, take * sizeof *out);
            } else {
                for (size_t i = 0; i < take; i++)
                    out[got + i] = (uint32_t)get_bits(p, avail, (uint64_t)i * (uint64_t)w, w);
            }
            got += take;
            p += bytes < avail ? (size_t)bytes : avail;
        } else {
            uint64_t cnt = h >> 1;
            if ((size_t)(end - p) < vb) return "RLE data ends early";
            uint32_t val = 0;
            for (size_t i = 0; i < vb; i++) val |= (uint32_t)p[i] << (8 * i);
            p += vb;
            if (w < 32 && (val >> w)) return "an RLE value is wider than its bit width";
            size_t take = cnt < n - got ? (size_t)cnt : n - got;
            for (size_t i = 0; i < take; i++) out[got + i] = val;
            got += take;
        }
    }
    return NULL;
}

/* DELTA_BINARY_PACKED: up to n values (the header's count must be at least
 * n... exactly the count when n is SIZE_MAX, *n_out the count) as int64;
 * *pp moves past the encoded values. */
static const char *delta_decode(const uint8_t **pp, const uint8_t *end, int64_t **outp,
                                size_t *n_out, size_t limit) {
    const uint8_t *p = *pp;
    uint64_t bsize, nmini, total, firstz;
    if (!varint(&p, end, &bsize) || !varint(&p, end, &nmini) || !varint(&p, end, &total) ||
        !varint(&p, end, &firstz))
        return "a DELTA_BINARY_PACKED header ends early";
    if (bsize == 0 || bsize % 128 || bsize > (1u << 20) || nmini == 0 || bsize % nmini ||
        (bsize / nmini) % 32)
        return "a malformed DELTA_BINARY_PACKED header";
    if (total > limit) return "DELTA_BINARY_PACKED holds more values than the page";
    size_t vpm = (size_t)(bsize / nmini);
    int64_t *out = mf__try_malloc((total ? (size_t)total : 1) * sizeof *out);
    if (!out) return "out of memory";
    uint64_t cur = (firstz >> 1) ^ -(firstz & 1);
    size_t got = 0;
    if (total) out[got++] = (int64_t)cur;
    while (got < total) {
        uint64_t mdz;
        if (!varint(&p, end, &mdz)) goto early;
        uint64_t md = (mdz >> 1) ^ -(mdz & 1);
        if ((uint64_t)(end - p) < nmini) goto early;
        const uint8_t *widths = p;
        p += nmini;
        for (size_t m = 0; m < nmini && got < total; m++) {
            int w = widths[m];
            if (w > 64) {
                free(out);
                return "a DELTA_BINARY_PACKED bit width above 64";
            }
            size_t take = vpm < total - got ? vpm : (size_t)(total - got);
            size_t avail = (size_t)(end - p);
            size_t full = vpm * (size_t)w / 8;
            if (((uint64_t)take * (uint64_t)w + 7) / 8 > avail) goto early;
            for (size_t i = 0; i < take; i++) {
                cur += md + get_bits(p, avail, (uint64_t)i * (uint64_t)w, w);
                out[got++] = (int64_t)cur;
            }
            p += full < avail ? full : avail;
        }
    }
    *pp = p;
    *outp = out;
    *n_out = (size_t)total;
    return NULL;
early:
    free(out);
    return "DELTA_BINARY_PACKED data ends early";
}

/* Append one physical value (already converted for its kind). */
static inline void put_i(mf__pq_vals *v, int64_t x) { v->i[v->nvals++] = x; }

/* A DECIMAL stored as bytes: the unscaled value, big-endian two's
 * complement in p[0..n), appended as an int64 (room reserved). Bytes past
 * the last 8 may only repeat the sign. */
static const char *put_dec(mf__pq_vals *v, const uint8_t *p, size_t n) {
    if (n == 0) return "a DECIMAL of no bytes";
    uint64_t x = p[0] & 0x80 ? UINT64_MAX : 0;
    for (size_t k = 0; k < n; k++) {
        if (k + 8 < n) {
            if (p[k] != (uint8_t)x) return "a DECIMAL whose unscaled value does not fit 64 bits";
        } else if (k + 8 == n && (p[k] ^ (uint8_t)x) & 0x80) {
            return "a DECIMAL whose unscaled value does not fit 64 bits";
        }
        x = x << 8 | p[k];
    }
    put_i(v, (int64_t)x);
    return NULL;
}

/* Decode n PLAIN values of the column's physical type from p[0..len) and
 * append them to v (converted). */
static const char *plain_decode(const mf__pq_col *c, const uint8_t *p, size_t len, size_t n,
                                mf__pq_vals *v) {
    if (n == 0) return NULL;
    if (vals_reserve(v, c->kind, v->nvals + n)) return "out of memory";
    size_t w = 0;
    switch (c->ptype) {
    case PT_BOOLEAN:
        if ((n + 7) / 8 > len) return "PLAIN booleans end early";
        for (size_t i = 0; i < n; i++) put_i(v, (p[i >> 3] >> (i & 7)) & 1);
        return NULL;
    case PT_INT32: w = 4; break;
    case PT_INT64: w = 8; break;
    case PT_INT96: w = 12; break;
    case PT_FLOAT: w = 4; break;
    case PT_DOUBLE: w = 8; break;
    case PT_FLBA: w = (size_t)c->type_len; break;
    case PT_BYTE_ARRAY: {
        const uint8_t *end = p + len;
        for (size_t i = 0; i < n; i++) {
            if (end - p < 4) return "PLAIN byte arrays end early";
            uint32_t l = (uint32_t)le32(p);
            p += 4;
            if (l > (size_t)(end - p)) return "a PLAIN byte array runs past its page";
            if (c->kind == MF__PQ_DECIMAL) {
                const char *why = put_dec(v, p, l);
                if (why) return why;
                p += l;
                continue;
            }
            if (heap_put(v, p, l)) return "out of memory";
            p += l;
            v->off[++v->nvals] = v->heap_len;
        }
        return NULL;
    }
    default: return "an unknown physical type";
    }
    size_t need;
    if (!mf__size_mul(n, w, &need) || need > len) return "PLAIN values end early";
    switch (c->ptype) {
    case PT_INT32:
        for (size_t i = 0; i < n; i++) {
            int32_t x = le32(p + 4 * i);
            if (c->kind == MF__PQ_TS) put_i(v, ts_us(x, c->ts_unit));
            else put_i(v, c->is_unsigned ? (int64_t)(uint32_t)x : x);
        }
        break;
    case PT_INT64:
        if (c->kind == MF__PQ_TS && c->ts_unit != 2) {
            for (size_t i = 0; i < n; i++) put_i(v, ts_us(le64(p + 8 * i), c->ts_unit));
        } else {
            memcpy(v->i + v->nvals, p, 8 * n);
            v->nvals += n;
        }
        break;
    case PT_INT96:
        for (size_t i = 0; i < n; i++) put_i(v, int96_us(p + 12 * i));
        break;
    case PT_FLOAT:
        memcpy(v->f + v->nvals, p, 4 * n);
        v->nvals += n;
        break;
    case PT_DOUBLE:
        memcpy(v->d + v->nvals, p, 8 * n);
        v->nvals += n;
        break;
    case PT_FLBA:
        for (size_t i = 0; i < n; i++) {
            if (c->kind == MF__PQ_DECIMAL) {
                const char *why = put_dec(v, p + w * i, w);
                if (why) return why;
                continue;
            }
            if (heap_put(v, p + w * i, w)) return "out of memory";
            v->off[++v->nvals] = v->heap_len;
        }
        break;
    }
    return NULL;
}

/* Integers decoded by DELTA_BINARY_PACKED, converted and appended. */
static const char *put_ints(const mf__pq_col *c, const int64_t *x, size_t n, mf__pq_vals *v) {
    if (vals_reserve(v, c->kind, v->nvals + n)) return "out of memory";
    for (size_t i = 0; i < n; i++) {
        int64_t y = x[i];
        if (c->ptype == PT_INT32) {
            int32_t z = (int32_t)(uint32_t)(uint64_t)y;
            y = c->is_unsigned ? (int64_t)(uint32_t)z : z;
        }
        if (c->kind == MF__PQ_TS) y = ts_us(y, c->ts_unit);
        put_i(v, y);
    }
    return NULL;
}

static const char *bss_decode(const mf__pq_col *c, const uint8_t *p, size_t len, size_t n,
                              mf__pq_vals *v) {
    size_t k;
    switch (c->ptype) {
    case PT_INT32: case PT_FLOAT: k = 4; break;
    case PT_INT64: case PT_DOUBLE: k = 8; break;
    case PT_FLBA: k = (size_t)c->type_len; break;
    default: return "BYTE_STREAM_SPLIT for a type it does not apply to";
    }
    size_t need;
    if (!mf__size_mul(n, k, &need) || need > len) return "BYTE_STREAM_SPLIT values end early";
    uint8_t *tmp = mf__try_malloc(need ? need : 1);
    if (!tmp) return "out of memory";
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < k; b++) tmp[i * k + b] = p[b * n + i];
    const char *why = plain_decode(c, tmp, need, n, v);
    free(tmp);
    return why;
}

/* Values of a data page: n non-null values in p[0..len) with encoding enc. */
static const char *decode_values(chunk_rd *r, int enc, const uint8_t *p, size_t len, size_t n) {
    const mf__pq_col *c = r->c;
    mf__pq_vals *v = r->v;
    switch (enc) {
    case ENC_PLAIN:
        return plain_decode(c, p, len, n, v);
    case ENC_PLAIN_DICT:
    case ENC_RLE_DICT: {
        if (!r->has_dict) return "a dictionary-encoded page without a dictionary page";
        if (n == 0) return NULL;
        if (len < 1) return "dictionary indices end early";
        int w = p[0];
        if (w > 32) return "a dictionary index bit width above 32";
        if (n > r->idxcap) {
            uint32_t *x = mf__try_realloc_array(r->idx, n, sizeof *x);
            if (!x) return "out of memory";
            r->idx = x;
            r->idxcap = n;
        }
        const char *why = rle_decode(p + 1, len - 1, w, r->idx, n);
        if (why) return why;
        if (vals_reserve(v, c->kind, v->nvals + n)) return "out of memory";
        const mf__pq_vals *d = &r->dict;
        for (size_t i = 0; i < n; i++)
            if (r->idx[i] >= d->nvals) return "a dictionary index past the dictionary's end";
        if (is_bytes_kind(c->kind)) {
            for (size_t i = 0; i < n; i++) {
                uint32_t j = r->idx[i];
                if (heap_put(v, heap_at(d, j), d->off[j + 1] - d->off[j])) return "out of memory";
                v->off[++v->nvals] = v->heap_len;
            }
        } else if (c->kind == MF__PQ_F32) {
            for (size_t i = 0; i < n; i++) v->f[v->nvals++] = d->f[r->idx[i]];
        } else if (c->kind == MF__PQ_F64) {
            for (size_t i = 0; i < n; i++) v->d[v->nvals++] = d->d[r->idx[i]];
        } else {
            for (size_t i = 0; i < n; i++) v->i[v->nvals++] = d->i[r->idx[i]];
        }
        return NULL;
    }
    case ENC_RLE: {
        if (c->ptype != PT_BOOLEAN) return "RLE values of a type other than BOOLEAN";
        if (len < 4) return "RLE booleans end early";
        uint32_t l = (uint32_t)le32(p);
        if (l > len - 4) return "RLE booleans run past their page";
        if (n > r->idxcap) {
            uint32_t *x = mf__try_realloc_array(r->idx, n, sizeof *x);
            if (!x) return "out of memory";
            r->idx = x;
            r->idxcap = n;
        }
        const char *why = rle_decode(p + 4, l, 1, r->idx, n);
        if (why) return why;
        if (vals_reserve(v, c->kind, v->nvals + n)) return "out of memory";
        for (size_t i = 0; i < n; i++) put_i(v, r->idx[i]);
        return NULL;
    }
    case ENC_DELTA_BP: {
        if (c->ptype != PT_INT32 && c->ptype != PT_INT64)
            return "DELTA_BINARY_PACKED values of a type other than INT32/INT64";
        int64_t *x = NULL;
        size_t got;
        const uint8_t *q = p;
        const char *why = delta_decode(&q, p + len, &x, &got, n);
        if (why) return why;
        if (got != n) why = "DELTA_BINARY_PACKED holds fewer values than the page";
        else why = put_ints(c, x, n, v);
        free(x);
        return why;
    }
    case ENC_DELTA_LBA:
    case ENC_DELTA_BA: {
        if (c->ptype != PT_BYTE_ARRAY && c->ptype != PT_FLBA)
            return "a DELTA byte-array encoding for a type other than bytes";
        const uint8_t *q = p, *end = p + len;
        int64_t *pre = NULL, *lens = NULL;
        size_t np = 0, nl;
        const char *why = NULL;
        if (enc == ENC_DELTA_BA) {
            why = delta_decode(&q, end, &pre, &np, n);
            if (!why && np != n) why = "DELTA_BYTE_ARRAY holds fewer prefixes than the page";
        }
        if (!why) why = delta_decode(&q, end, &lens, &nl, n);
        if (!why && nl != n) why = "fewer byte-array lengths than the page";
        if (!why && vals_reserve(v, c->kind, v->nvals + n)) why = "out of memory";
        size_t prev_at = 0, prev_len = 0;
        for (size_t i = 0; i < n && !why; i++) {
            int64_t l = lens[i], pl = pre ? pre[i] : 0;
            if (l < 0 || (uint64_t)l > (uint64_t)(end - q)) {
                why = "a byte array runs past its page";
                break;
            }
            if (pl < 0 || (size_t)pl > prev_len) {
                why = "a DELTA_BYTE_ARRAY prefix longer than the value before it";
                break;
            }
            if (c->kind == MF__PQ_DECIMAL) {
                /* the heap holds only the value before, so its prefix is
                 * already in place */
                v->heap_len = (size_t)pl;
                if (heap_put(v, q, (size_t)l)) {
                    why = "out of memory";
                    break;
                }
                q += l;
                prev_len = v->heap_len;
                if (c->ptype == PT_FLBA && prev_len != (size_t)c->type_len)
                    why = "a fixed-length byte array of the wrong length";
                else
                    why = put_dec(v, (const uint8_t *)v->heap, prev_len);
                continue;
            }
            size_t at = v->heap_len;
            if ((pl && heap_put(v, v->heap + prev_at, (size_t)pl)) || heap_put(v, q, (size_t)l)) {
                why = "out of memory";
                break;
            }
            q += l;
            prev_at = at;
            prev_len = (size_t)pl + (size_t)l;
            if (c->ptype == PT_FLBA && prev_len != (size_t)c->type_len) {
                why = "a fixed-length byte array of the wrong length";
                break;
            }
            v->off[++v->nvals] = v->heap_len;
        }
        free(pre);
        free(lens);
        return why;
    }
    case ENC_BSS:
        return bss_decode(c, p, len, n, v);
    default:
        return NULL; /* the caller names the encoding */
    }
}

static const char *enc_name(int e) {
    static const char *const n[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE",
                                    "BIT_PACKED", "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY",
                                    "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    return e >= 0 && e < 10 ? n[e] : "an unknown encoding";
}

static bool enc_known(int e) { return e == 0 || (e >= 2 && e <= 9 && e != 4); }

/* Decompress src[0..n) into r->buf, which must come out exactly `want` bytes. */
static int decompress(chunk_rd *r, const uint8_t *src, size_t n, size_t want, const uint8_t **out) {
    int codec = r->k->codec;
    if (codec == CODEC_NONE) {
        if (n != want) return cerr(r, "an uncompressed page of %zu bytes says it holds %zu", n, want);
        *out = src;
        return MF_OK;
    }
    if (want > mf__pq_max_page)
        return cerr(r, "a page of %zu bytes decompressed (at most %zu are read)", want, mf__pq_max_page);
    if (want + 8 > r->bufcap) {
        uint8_t *b = mf__try_realloc_array(r->buf, want + 8, 1);
        if (!b) return nomem(r);
        r->buf = b;
        r->bufcap = want + 8;
    }
    bool ok = false;
    switch (codec) {
    case CODEC_SNAPPY: {
        size_t ulen;
        if (snappy_uncompressed_length((const char *)src, n, &ulen) == SNAPPY_OK && ulen == want) {
            size_t got = want;
            ok = snappy_uncompress((const char *)src, n, (char *)r->buf, &got) == SNAPPY_OK &&
                 got == want;
        }
        break;
    }
    case CODEC_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (n > UINT32_MAX || want > UINT32_MAX) break;
        if (inflateInit2(&z, 15 + 32) != Z_OK) return nomem(r);
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)n;
        z.next_out = r->buf;
        z.avail_out = (uInt)want;
        int zr;
        for (;;) {
            zr = inflate(&z, Z_FINISH);
            if (zr == Z_STREAM_END && z.avail_in > 0 && z.total_out < want) {
                inflateReset(&z); /* concatenated members */
                continue;
            }
            break;
        }
        ok = zr == Z_STREAM_END && z.total_out == want;
        inflateEnd(&z);
        break;
    }
    case CODEC_ZSTD: {
        size_t got = ZSTD_decompress(r->buf, want, src, n);
        ok = !ZSTD_isError(got) && got == want;
        break;
    }
    case CODEC_LZ4_RAW: {
        if (n > INT32_MAX || want > INT32_MAX) break;
        int got = LZ4_decompress_safe((const char *)src, (char *)r->buf, (int)n, (int)want);
        ok = got >= 0 && (size_t)got == want;
        break;
    }
    default:
        return cerr(r, "compression %s is not supported (UNCOMPRESSED, SNAPPY, GZIP, ZSTD and "
                    "LZ4_RAW are)", codec >= 0 && codec < 8 ? codec_names[codec] : "unknown");
    }
    if (!ok) return cerr(r, "the %s data does not decompress to the %zu bytes its header says",
                         codec_names[codec], want);
    *out = r->buf;
    return MF_OK;
}

typedef struct page_hdr {
    int type;
    int32_t usize, csize, crc;
    bool has_crc;
    int32_t num_values, num_nulls, num_rows;
    int enc, def_enc, rep_enc;
    int32_t def_len, rep_len;
    bool compressed;
    bool has_sub;
} page_hdr;

static void read_sub(mf__tc *tc, page_hdr *h, int which) {
    int16_t last;
    mf__tc_field fd;
    h->has_sub = true;
    mf__tc_struct_begin(tc, &last);
    while (mf__tc_next_field(tc, &last, &fd)) {
        bool is_int = fd.type == MF__TC_I32;
        if (which == 5 && is_int) { /* DataPageHeader */
            if (fd.id == 1) h->num_values = mf__tc_i32(tc);
            else if (fd.id == 2) h->enc = mf__tc_i32(tc);
            else if (fd.id == 3) h->def_enc = mf__tc_i32(tc);
            else if (fd.id == 4) h->rep_enc = mf__tc_i32(tc);
            else mf__tc_skip_field(tc, &fd);
        } else if (which == 7 && is_int) { /* DictionaryPageHeader */
            if (fd.id == 1) h->num_values = mf__tc_i32(tc);
            else if (fd.id == 2) h->enc = mf__tc_i32(tc);
            else mf__tc_skip_field(tc, &fd);
        } else if (which == 8 && (is_int || fd.id == 7)) { /* DataPageHeaderV2 */
            switch (fd.id) {
            case 1: h->num_values = mf__tc_i32(tc); break;
            case 2: h->num_nulls = mf__tc_i32(tc); break;
            case 3: h->num_rows = mf__tc_i32(tc); break;
            case 4: h->enc = mf__tc_i32(tc); break;
            case 5: h->def_len = mf__tc_i32(tc); break;
            case 6: h->rep_len = mf__tc_i32(tc); break;
            case 7: h->compressed = mf__tc_bool(tc, &fd); break;
            default: mf__tc_skip_field(tc, &fd);
            }
        } else {
            mf__tc_skip_field(tc, &fd);
        }
    }
    mf__tc_struct_end(tc);
}

static const char *read_page_header(const uint8_t **pp, const uint8_t *end, page_hdr *h) {
    memset(h, 0, sizeof *h);
    h->compressed = true;
    h->type = -1;
    h->usize = h->csize = -1;
    mf__tc tc = {*pp, end, 0, NULL};
    int16_t last;
    mf__tc_field fd;
    mf__tc_struct_begin(&tc, &last);
    while (mf__tc_next_field(&tc, &last, &fd)) {
        bool is_int = fd.type == MF__TC_I32;
        if (fd.id == 1 && is_int) h->type = mf__tc_i32(&tc);
        else if (fd.id == 2 && is_int) h->usize = mf__tc_i32(&tc);
        else if (fd.id == 3 && is_int) h->csize = mf__tc_i32(&tc);
        else if (fd.id == 4 && is_int) h->crc = mf__tc_i32(&tc), h->has_crc = true;
        else if ((fd.id == 5 || fd.id == 7 || fd.id == 8) && fd.type == MF__TC_STRUCT &&
                 ((fd.id == 5 && h->type == PAGE_DATA) || (fd.id == 7 && h->type == PAGE_DICT) ||
                  (fd.id == 8 && h->type == PAGE_DATA_V2)))
            read_sub(&tc, h, fd.id);
        else mf__tc_skip_field(&tc, &fd);
    }
    mf__tc_struct_end(&tc);
    if (tc.bad) return tc.bad;
    if (h->type < 0 || h->usize < 0 || h->csize < 0) return "a page header without type or sizes";
    *pp = tc.p;
    return NULL;
}

static int grow_levels(chunk_rd *r, size_t n) {
    if (r->nlev + n <= r->levcap) return 0;
    size_t cap = r->levcap ? r->levcap : 1024;
    while (cap < r->nlev + n) cap *= 2;
    uint8_t *d = mf__try_realloc_array(r->def, cap, 1);
    if (!d) return -1;
    r->def = d;
    uint8_t *p = mf__try_realloc_array(r->rep, cap, 1);
    if (!p) return -1;
    r->rep = p;
    r->levcap = cap;
    return 0;
}

/* Levels of width for max level m, n of them, RLE from p[0..len). */
static const char *levels(chunk_rd *r, const uint8_t *p, size_t len, int m, uint8_t *out, size_t n) {
    int w = 0;
    while ((1 << w) <= m) w++;
    if (n > r->idxcap) {
        uint32_t *x = mf__try_realloc_array(r->idx, n, sizeof *x);
        if (!x) return "out of memory";
        r->idx = x;
        r->idxcap = n;
    }
    const char *why = rle_decode(p, len, w, r->idx, n);
    if (why) return why;
    for (size_t i = 0; i < n; i++) {
        if (r->idx[i] > (uint32_t)m) return "a level above its maximum";
        out[i] = (uint8_t)r->idx[i];
    }
    return NULL;
}

static int data_page(chunk_rd *r, const page_hdr *h, const uint8_t *raw, size_t rawlen) {
    const mf__pq_col *c = r->c;
    if (h->num_values < 0) return cerr(r, "a negative value count");
    size_t n = (size_t)h->num_values;
    if (n > (size_t)r->k->num_values - r->nlev)
        return cerr(r, "the pages hold more values than the column chunk's %lld",
                    (long long)r->k->num_values);
    if (r->nlev + n > mf__pq_max_rows * (c->list ? 16 : 1))
        return cerr(r, "more than %zu values in one column chunk", mf__pq_max_rows * (c->list ? 16 : 1));
    if (!enc_known(h->enc)) return cerr(r, "encoding %s is not supported", enc_name(h->enc));
    if (grow_levels(r, n ? n : 1)) return nomem(r); /* never a NULL base, even for 0 */
    uint8_t *def = r->def + r->nlev, *rep = r->rep + r->nlev;
    const uint8_t *vp;
    size_t vlen;
    const char *why = NULL;
    int rc;
    if (h->type == PAGE_DATA) {
        const uint8_t *p;
        rc = decompress(r, raw, rawlen, (size_t)h->usize, &p);
        if (rc) return rc;
        const uint8_t *end = p + h->usize;
        const int ml[2] = {c->max_rep, c->max_def};
        uint8_t *dst[2] = {rep, def};
        const int encs[2] = {h->rep_enc, h->def_enc};
        for (int k = 0; k < 2 && !why; k++) {
            if (ml[k] == 0) {
                memset(dst[k], 0, n);
                continue;
            }
            if (encs[k] != ENC_RLE)
                return cerr(r, "%s levels encoded %s (only RLE is supported)",
                            k ? "definition" : "repetition", enc_name(encs[k]));
            if (end - p < 4) return cerr(r, "the levels end early");
            uint32_t l = (uint32_t)le32(p);
            p += 4;
            if (l > (size_t)(end - p)) return cerr(r, "the levels run past the page");
            why = levels(r, p, l, ml[k], dst[k], n);
            p += l;
        }
        vp = p;
        vlen = (size_t)(end - p);
    } else {
        if (h->def_len < 0 || h->rep_len < 0 ||
            (size_t)h->def_len + (size_t)h->rep_len > rawlen ||
            h->def_len + (int64_t)h->rep_len > h->usize)
            return cerr(r, "the level lengths do not fit the page");
        const uint8_t *p = raw;
        if (c->max_rep) why = levels(r, p, (size_t)h->rep_len, c->max_rep, rep, n);
        else memset(rep, 0, n);
        p += h->rep_len;
        if (!why) {
            if (c->max_def) why = levels(r, p, (size_t)h->def_len, c->max_def, def, n);
            else memset(def, 0, n);
        }
        p += h->def_len;
        if (why) return cerr(r, "%s", why);
        size_t clen = rawlen - (size_t)h->def_len - (size_t)h->rep_len;
        size_t ulen = (size_t)h->usize - (size_t)h->def_len - (size_t)h->rep_len;
        if (!h->compressed) {
            if (clen != ulen) return cerr(r, "an uncompressed page of %zu bytes says it holds %zu", clen, ulen);
            vp = p;
        } else {
            rc = decompress(r, p, clen, ulen, &vp);
            if (rc) return rc;
        }
        vlen = ulen;
    }
    if (why) return cerr(r, "%s", why);
    size_t nn = 0;
    for (size_t i = 0; i < n; i++) nn += def[i] == c->max_def;
    if (h->type == PAGE_DATA_V2 && h->num_nulls >= 0 && (size_t)h->num_nulls != n - nn &&
        c->max_rep == 0)
        return cerr(r, "the page says %d nulls, its levels %zu", h->num_nulls, n - nn);
    if (n && rep[0] != 0 && r->nlev == 0) return cerr(r, "the first value does not start a row");
    size_t before = r->v->nvals;
    /* (threads reading halves of a file share it: atomic) */
    __atomic_fetch_or(&r->f->seen_enc, 1u << h->enc, __ATOMIC_RELAXED);
    if (c->max_def || c->max_rep) /* levels */
        __atomic_fetch_or(&r->f->seen_enc, 1u << ENC_RLE, __ATOMIC_RELAXED);
    why = decode_values(r, h->enc, vp, vlen, nn);
    if (why && !strcmp(why, "out of memory")) return nomem(r);
    if (why) return cerr(r, "%s", why);
    if (r->v->nvals - before != nn) return cerr(r, "encoding %s is not supported", enc_name(h->enc));
    r->nlev += n;
    return MF_OK;
}

static int dict_page(chunk_rd *r, const page_hdr *h, const uint8_t *raw, size_t rawlen) {
    if (r->has_dict) return cerr(r, "a second dictionary page");
    if (r->nlev) return cerr(r, "a dictionary page after data pages");
    if (h->num_values < 0) return cerr(r, "a negative dictionary size");
    if (h->enc != ENC_PLAIN && h->enc != ENC_PLAIN_DICT)
        return cerr(r, "a dictionary page encoded %s", enc_name(h->enc));
    const uint8_t *p;
    int rc = decompress(r, raw, rawlen, (size_t)h->usize, &p);
    if (rc) return rc;
    if ((size_t)h->num_values > (size_t)h->usize * 8 + 1)
        return cerr(r, "a dictionary of %d values in %d bytes", h->num_values, h->usize);
    const char *why = plain_decode(r->c, p, (size_t)h->usize, (size_t)h->num_values, &r->dict);
    if (why && !strcmp(why, "out of memory")) return nomem(r);
    if (why) return cerr(r, "dictionary: %s", why);
    r->has_dict = true;
    return MF_OK;
}

/* Spread the dense values over rows (scalars) or build the row offsets
 * (lists). */
static int assemble(chunk_rd *r, size_t nrows) {
    const mf__pq_col *c = r->c;
    mf__pq_vals *v = r->v;
    v->nrows = nrows;
    if (!c->list) {
        if (r->nlev != nrows)
            return cerr(r, "%zu values for the row group's %zu rows", r->nlev, nrows);
        if (v->nvals == nrows) return MF_OK; /* no nulls */
        v->valid = keep_buf(&v->valid_buf, &v->valid_cap, nrows);
        if (!v->valid || vals_reserve(v, c->kind, nrows + 1)) return nomem(r);
        for (size_t i = 0; i < nrows; i++) v->valid[i] = r->def[i] == c->max_def;
        size_t j = v->nvals; /* from the end: dense index j, row i */
        if (is_bytes_kind(c->kind)) {
            for (size_t i = nrows; i-- > 0;) {
                v->off[i + 1] = v->off[j];
                if (v->valid[i]) j--;
            }
            /* off[i + 1] now holds the end of row i; off[0] is 0 */
        } else if (c->kind == MF__PQ_F32) {
            for (size_t i = nrows; i-- > 0;) v->f[i] = v->valid[i] ? v->f[--j] : 0;
        } else if (c->kind == MF__PQ_F64) {
            for (size_t i = nrows; i-- > 0;) v->d[i] = v->valid[i] ? v->d[--j] : 0;
        } else {
            for (size_t i = nrows; i-- > 0;) v->i[i] = v->valid[i] ? v->i[--j] : 0;
        }
        v->nvals = nrows;
        return MF_OK;
    }
    v->lo = keep_buf(&v->lo_buf, &v->lo_cap, (nrows + 1) * sizeof *v->lo);
    v->valid = keep_buf(&v->valid_buf, &v->valid_cap, nrows);
    if (!v->lo || !v->valid) return nomem(r);
    size_t row = 0, el = 0;
    for (size_t i = 0; i < r->nlev; i++) {
        if (r->rep[i] == 0) {
            if (row == nrows) return cerr(r, "more rows than the row group's %zu", nrows);
            v->lo[row] = el;
            v->valid[row] = r->def[i] >= c->list_def - 1;
            row++;
        }
        if (r->def[i] >= c->list_def) {
            if (r->def[i] != c->max_def) { /* a null element: see lnull */
                if (row == 0) return cerr(r, "an element before the first row");
                if (!v->lnull) {
                    v->lnull = keep_buf(&v->lnull_buf, &v->lnull_cap, nrows * sizeof *v->lnull);
                    if (!v->lnull) return nomem(r);
                    memset(v->lnull, 0, nrows * sizeof *v->lnull);
                }
                uint32_t *at = &v->lnull[row - 1];
                uint64_t pos = el - v->lo[row - 1] + 1; /* its elements before it, + 1 */
                if (!*at) *at = pos > UINT32_MAX ? UINT32_MAX : (uint32_t)pos;
                continue;
            }
            el++;
        }
    }
    if (row != nrows) return cerr(r, "%zu rows for the row group's %zu", row, nrows);
    v->lo[nrows] = el;
    return MF_OK;
}

int mf__pq_read(mf__pq_file *f, size_t g, size_t col, mf__pq_vals *v, mf_error *err) {
    const mf__pq_col *c = &f->cols[col];
    vals_reset(v, c->kind);
    /* the scratch buffers of the last read are reused */
    chunk_rd r = {.f = f, .g = g, .c = c, .err = err, .v = v, .def = v->sdef, .rep = v->srep,
                  .levcap = v->slev_cap, .idx = v->sidx, .idxcap = v->sidx_cap, .buf = v->sbuf,
                  .bufcap = v->sbuf_cap};
    if (c->unsupported) return cerr(&r, "%s is not supported", c->unsupported);
    const pq_rg *rg = &f->rgs[g];
    const pq_chunk *k = &rg->cols[c->leaf];
    r.k = k;
    if (!k->has_meta) return cerr(&r, "the column chunk has no metadata");
    if (k->type != c->ptype)
        return cerr(&r, "the chunk's type %s is not the schema's %s",
                    k->type >= 0 && k->type < 8 ? type_names[k->type] : "?", type_names[c->ptype]);
    if (k->num_values < 0) return cerr(&r, "a negative value count");
    int64_t start = k->data_off;
    if (k->has_dict_off && k->dict_off > 0 && k->dict_off < start) start = k->dict_off;
    size_t data_end = f->size - 8; /* before the footer length */
    if (start < 4 || (uint64_t)start >= data_end || k->total_comp < 0 ||
        (uint64_t)k->total_comp > data_end - (uint64_t)start)
        return cerr(&r, "the column chunk lies outside the file (offset %lld, %lld bytes); is the "
                    "file truncated?", (long long)start, (long long)k->total_comp);
    const uint8_t *p = f->base + start, *end = p + k->total_comp;
    int rc = MF_OK;
    while (rc == MF_OK && r.nlev < (size_t)k->num_values) {
        r.page++;
        if (p >= end) {
            rc = cerr(&r, "the column chunk ends after %zu of its %lld values", r.nlev,
                      (long long)k->num_values);
            break;
        }
        page_hdr h;
        const char *why = read_page_header(&p, end, &h);
        if (why) {
            rc = cerr(&r, "bad page header: %s", why);
            break;
        }
        if ((size_t)h.csize > (size_t)(end - p)) {
            rc = cerr(&r, "the page (%d bytes) runs past its column chunk", h.csize);
            break;
        }
        const uint8_t *raw = p;
        p += h.csize;
        if (h.has_crc && (uint32_t)h.crc != (uint32_t)crc32(0, raw, (uInt)h.csize)) {
            rc = cerr(&r, "the page checksum does not match its bytes (a corrupt page)");
            break;
        }
        if (h.type == PAGE_INDEX) continue;
        if (h.type != PAGE_DATA && h.type != PAGE_DATA_V2 && h.type != PAGE_DICT) {
            rc = cerr(&r, "an unknown page type %d", h.type);
            break;
        }
        if (!h.has_sub) {
            rc = cerr(&r, "a page without its header");
            break;
        }
        __atomic_fetch_or(&f->seen_page, 1u << h.type, __ATOMIC_RELAXED);
        __atomic_fetch_or(&f->seen_codec, 1u << (k->codec & 15), __ATOMIC_RELAXED);
        if (h.type == PAGE_DICT) rc = dict_page(&r, &h, raw, (size_t)h.csize);
        else rc = data_page(&r, &h, raw, (size_t)h.csize);
    }
    r.page = 0;
    if (rc == MF_OK) rc = assemble(&r, (size_t)rg->num_rows);
    v->sdef = r.def, v->srep = r.rep, v->slev_cap = r.levcap;
    v->sidx = r.idx, v->sidx_cap = r.idxcap, v->sbuf = r.buf, v->sbuf_cap = r.bufcap;
    mf__pq_vals_free(&r.dict);
    return rc;
}

/*---- Text ------------------------------------------------------------------------*/

static void decimal_text(int64_t x, int scale, mf__buf *out) {
    char d[32];
    bool neg = x < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    int n = snprintf(d, sizeof d, "%llu", (unsigned long long)u);
    if (neg) mf__buf_putc(out, '-');
    if (scale == 0) {
        mf__buf_put(out, d, (size_t)n);
        return;
    }
    if (n <= scale) {
        mf__buf_puts(out, "0.");
        for (int i = n; i < scale; i++) mf__buf_putc(out, '0');
        mf__buf_put(out, d, (size_t)n);
    } else {
        mf__buf_put(out, d, (size_t)(n - scale));
        mf__buf_putc(out, '.');
        mf__buf_put(out, d + n - scale, (size_t)scale);
    }
}

void mf__pq_text(const mf__pq_col *c, const mf__pq_vals *v, size_t j, mf__buf *out) {
    char num[64];
    switch (c->kind) {
    case MF__PQ_BOOL: mf__buf_puts(out, v->i[j] ? "true" : "false"); return;
    case MF__PQ_INT: mf__buf_printf(out, "%lld", (long long)v->i[j]); return;
    case MF__PQ_UINT64: mf__buf_printf(out, "%llu", (unsigned long long)(uint64_t)v->i[j]); return;
    case MF__PQ_F32: mf__buf_put(out, num, mf__format_float(v->f[j], num)); return;
    case MF__PQ_F64: mf__buf_put(out, num, mf__format_double(v->d[j], num)); return;
    case MF__PQ_TS:
        if (mf__ts_in_range(v->i[j])) mf__buf_put(out, num, mf__ts_format(v->i[j], num));
        else mf__buf_printf(out, "(a timestamp out of range: %lld us)", (long long)v->i[j]);
        return;
    case MF__PQ_DECIMAL: decimal_text(v->i[j], c->scale, out); return;
    case MF__PQ_STRING:
    case MF__PQ_BYTES: mf__buf_put(out, heap_at(v, j), v->off[j + 1] - v->off[j]); return;
    }
}

void mf__pq_list_json(const mf__pq_col *c, const mf__pq_vals *v, size_t r, mf__buf *out) {
    mf__buf_putc(out, '[');
    uint64_t lo = v->lo[r], hi = v->lo[r + 1];
    /* a null element where the file has its first (the list check refuses
     * it, naming its position): after null_after of the others */
    uint64_t null_after = v->lnull && v->lnull[r] ? v->lnull[r] - 1 : UINT64_MAX;
    for (uint64_t j = lo; j <= hi; j++) {
        if (j - lo == null_after) mf__buf_puts(out, j > lo ? ",null" : "null");
        if (j == hi) break;
        if (j > lo || j - lo == null_after) mf__buf_putc(out, ',');
        if (is_bytes_kind(c->kind)) {
            const char *p = heap_at(v, j);
            size_t len = v->off[j + 1] - v->off[j];
            if (mf__utf8_check(p, len, true) == len) {
                mf__buf_json_str(out, p, len);
            } else { /* as they are: the list's check refuses them, as in a
                      * CSV cell (json_str would put U+FFFD in their place) */
                mf__buf_putc(out, '"');
                mf__buf_put(out, p, len);
                mf__buf_putc(out, '"');
            }
        } else if (c->kind == MF__PQ_TS) {
            mf__buf_putc(out, '"');
            mf__pq_text(c, v, j, out);
            mf__buf_putc(out, '"');
        } else {
            mf__pq_text(c, v, j, out);
        }
    }
    mf__buf_putc(out, ']');
}
