/*
 * parquet_write.c — writing a result table as a Parquet file
 * (mf__pq_write_table, mf_parquet.h).
 *
 * Layout: "PAR1", row groups of at most ROWS_PER_GROUP rows, each column
 * chunk an optional dictionary page then data pages (v1) of at most
 * ROWS_PER_PAGE rows, every page compressed with snappy and carrying its
 * CRC, then the footer (FileMetaData, Thrift compact protocol, thrift.c).
 * Types: Int32 INT32, Int64 INT64, Float32 FLOAT, Float64 DOUBLE, Bool
 * BOOLEAN, String (and pass-through entity columns when they are UTF-8)
 * BYTE_ARRAY STRING, Bytes BYTE_ARRAY, UnixTimestamp INT64
 * TIMESTAMP(MICROS, UTC); lists the three-level LIST of those (optional
 * list, required elements: a list cannot hold null). Every column is
 * optional; nulls are definition levels. A column of a row group is
 * dictionary-encoded when it has at most 65536 distinct values and the
 * dictionary and its indices are smaller than the plain values. Chunk
 * statistics: the null count, and min/max of numeric and timestamp columns
 * (with column orders), which readers (moonfeast's too) use to skip row
 * groups.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <snappy-c.h>
#include <zlib.h>

#include "mf_json.h"
#include "mf_parquet.h"
#include "mf_table.h"
#include "mf_thrift.h"
#include "mf_values.h"

size_t mf__pq_write_group_rows = (size_t)1 << 20;
size_t mf__pq_write_page_rows = (size_t)1 << 16;
#define ROWS_PER_GROUP mf__pq_write_group_rows
#define ROWS_PER_PAGE mf__pq_write_page_rows
/* A page's sizes are 32-bit fields (and snappy's lengths are 32-bit): a
 * page also ends before its values pass this many bytes (one row at
 * least), and a dictionary is used only below it. */
size_t mf__pq_write_page_bytes = (size_t)1 << 28;
#define PAGE_BYTES mf__pq_write_page_bytes
#define MAX_DICT 65536

enum { PT_BOOLEAN, PT_INT32, PT_INT64, PT_INT96, PT_FLOAT, PT_DOUBLE, PT_BYTE_ARRAY };

typedef struct wcol {
    const mf__col *c;
    int ptype;
    bool list, ts, utf8, bytes_anno;
    Mf__ValueType elt; /* lists: the element type */
} wcol;

static Mf__ValueType list_elem(Mf__ValueType t) {
    switch (t) {
    case MF__VALUE_TYPE__VT_BYTES_LIST: return MF__VALUE_TYPE__VT_BYTES;
    case MF__VALUE_TYPE__VT_STRING_LIST: return MF__VALUE_TYPE__VT_STRING;
    case MF__VALUE_TYPE__VT_INT32_LIST: return MF__VALUE_TYPE__VT_INT32;
    case MF__VALUE_TYPE__VT_INT64_LIST: return MF__VALUE_TYPE__VT_INT64;
    case MF__VALUE_TYPE__VT_DOUBLE_LIST: return MF__VALUE_TYPE__VT_DOUBLE;
    case MF__VALUE_TYPE__VT_FLOAT_LIST: return MF__VALUE_TYPE__VT_FLOAT;
    case MF__VALUE_TYPE__VT_BOOL_LIST: return MF__VALUE_TYPE__VT_BOOL;
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST: return MF__VALUE_TYPE__VT_UNIX_TIMESTAMP;
    default: return MF__VALUE_TYPE__VT_INVALID;
    }
}

static int ptype_of(Mf__ValueType t) {
    switch (t) {
    case MF__VALUE_TYPE__VT_INT32: return PT_INT32;
    case MF__VALUE_TYPE__VT_INT64:
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: return PT_INT64;
    case MF__VALUE_TYPE__VT_FLOAT: return PT_FLOAT;
    case MF__VALUE_TYPE__VT_DOUBLE: return PT_DOUBLE;
    case MF__VALUE_TYPE__VT_BOOL: return PT_BOOLEAN;
    default: return PT_BYTE_ARRAY;
    }
}

/*---- Encodings ----------------------------------------------------------------*/

static void put_le32(mf__buf *b, uint32_t v) {
    char x[4] = {(char)v, (char)(v >> 8), (char)(v >> 16), (char)(v >> 24)};
    mf__buf_put(b, x, 4);
}

static void put_varint(mf__buf *b, uint64_t v) {
    while (v >= 0x80) {
        mf__buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    mf__buf_putc(b, (char)v);
}

static bool run8(const uint32_t *v, size_t j) {
    for (size_t k = 1; k < 8; k++)
        if (v[j + k] != v[j]) return false;
    return true;
}

/* The RLE / bit-packed hybrid of v[0..n), width w (<= 32): runs of eight
 * or more equal values as RLE runs, the rest bit-packed in groups of 8
 * (the last group padded with zeros). */
static void rle_encode(const uint32_t *v, size_t n, int w, mf__buf *out) {
    size_t i = 0, vb = (size_t)(w + 7) / 8;
    while (i < n) {
        size_t r = 1;
        while (i + r < n && v[i + r] == v[i]) r++;
        if (r >= 8) {
            put_varint(out, (uint64_t)r << 1);
            for (size_t k = 0; k < vb; k++) mf__buf_putc(out, (char)(v[i] >> (8 * k)));
            i += r;
            continue;
        }
        /* groups of 8 values, until a group would start a run of 8 */
        size_t j = i;
        do {
            j += 8;
        } while (j < n && !(j + 8 <= n && run8(v, j)));
        if (j > n) j = n;
        size_t groups = (j - i + 7) / 8;
        put_varint(out, ((uint64_t)groups << 1) | 1);
        size_t nbytes = groups * (size_t)w;
        mf__buf_reserve(out, nbytes);
        uint8_t *p = (uint8_t *)out->data + out->len;
        memset(p, 0, nbytes);
        for (size_t k = 0; k < groups * 8; k++) {
            uint64_t x = i + k < j ? v[i + k] : 0;
            uint64_t bit = (uint64_t)k * (uint64_t)w;
            for (int b = 0; b < w; b++)
                if (x >> b & 1) p[(bit + (uint64_t)b) >> 3] |= (uint8_t)(1u << ((bit + (uint64_t)b) & 7));
        }
        out->len += nbytes;
        out->data[out->len] = '\0';
        i = j;
    }
}

/*---- Values -------------------------------------------------------------------*/

/* One value as PLAIN bytes (not for BOOLEAN). */
static void put_plain(mf__buf *b, int ptype, const void *p, size_t len) {
    if (ptype == PT_BYTE_ARRAY) put_le32(b, (uint32_t)len);
    mf__buf_put(b, p, len);
}

/* The values of one chunk (non-null ones, in order) as their PLAIN bytes
 * each, with offsets; booleans as 0/1 bytes. */
typedef struct vals {
    mf__buf bytes;
    size_t *off; /* n + 1 */
    size_t n, cap;
    /* levels per entry (rows, or list entries) */
    uint32_t *def, *rep;
    size_t nlev, levcap;
    /* how many entries (levels) and values each row range has: for pages */
    size_t *row_lev;  /* per row: first level index */
    size_t *row_val;  /* per row: first value index */
    /* stats */
    bool have_mm;
    int64_t imin, imax;
    double dmin, dmax;
    int64_t nulls;
} vals;

static void add_val(vals *v, const void *p, size_t len) {
    if (v->n + 1 >= v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->off = mf__xrealloc(v->off, (v->cap + 1) * sizeof *v->off);
    }
    if (v->n == 0) v->off[0] = v->bytes.len;
    mf__buf_put(&v->bytes, p, len);
    v->off[++v->n] = v->bytes.len;
}

static void add_lev(vals *v, uint32_t def, uint32_t rep) {
    if (v->nlev == v->levcap) {
        v->levcap = v->levcap ? v->levcap * 2 : 1024;
        v->def = mf__xrealloc(v->def, v->levcap * sizeof *v->def);
        v->rep = mf__xrealloc(v->rep, v->levcap * sizeof *v->rep);
    }
    v->def[v->nlev] = def;
    v->rep[v->nlev++] = rep;
}

static void stat_i(vals *v, int64_t x) {
    if (!v->have_mm) v->imin = v->imax = x, v->have_mm = true;
    if (x < v->imin) v->imin = x;
    if (x > v->imax) v->imax = x;
}

static void stat_d(vals *v, double x) {
    if (x != x) return;
    if (!v->have_mm) v->dmin = v->dmax = x, v->have_mm = true;
    if (x < v->dmin) v->dmin = x;
    if (x > v->dmax) v->dmax = x;
}

/* One scalar of type t (a column's cell, or a list element) as a value. */
static void add_scalar(vals *v, Mf__ValueType t, int64_t i, double d, const char *s, size_t len) {
    switch (t) {
    case MF__VALUE_TYPE__VT_INT32: {
        int32_t x = (int32_t)i;
        stat_i(v, x);
        add_val(v, &x, 4);
        break;
    }
    case MF__VALUE_TYPE__VT_INT64:
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP:
        stat_i(v, i);
        add_val(v, &i, 8);
        break;
    case MF__VALUE_TYPE__VT_FLOAT: {
        float x = (float)d;
        stat_d(v, x);
        add_val(v, &x, 4);
        break;
    }
    case MF__VALUE_TYPE__VT_DOUBLE:
        stat_d(v, d);
        add_val(v, &d, 8);
        break;
    case MF__VALUE_TYPE__VT_BOOL: {
        uint8_t x = i != 0;
        add_val(v, &x, 1);
        break;
    }
    default:
        add_val(v, s, len);
    }
}

static void vals_free(vals *v) {
    mf__buf_free(&v->bytes);
    free(v->off);
    free(v->def);
    free(v->rep);
    free(v->row_lev);
    free(v->row_val);
}

/* Gather rows [r0, r1) of column w. Lists are parsed from their canonical
 * JSON text (they were checked when they entered). */
static int gather(const wcol *w, size_t r0, size_t r1, vals *v, mf_error *err) {
    memset(v, 0, sizeof *v);
    mf__buf_init(&v->bytes);
    const mf__col *c = w->c;
    size_t nr = r1 - r0;
    v->row_lev = mf__xmalloc((nr + 1) * sizeof *v->row_lev);
    v->row_val = mf__xmalloc((nr + 1) * sizeof *v->row_val);
    for (size_t r = r0; r < r1; r++) {
        v->row_lev[r - r0] = v->nlev;
        v->row_val[r - r0] = v->n;
        if (!c->valid[r]) {
            add_lev(v, 0, 0);
            v->nulls++;
            continue;
        }
        if (!w->list) {
            add_lev(v, 1, 0);
            switch (c->sc) {
            case MF__SC_TEXT:
                add_scalar(v, MF__VALUE_TYPE__VT_STRING, 0, 0, c->heap + c->off[r],
                           (size_t)(c->off[r + 1] - c->off[r]));
                break;
            case MF__SC_F32:
            case MF__SC_F64: add_scalar(v, c->type, 0, mf__col_f64(c, r), NULL, 0); break;
            default: add_scalar(v, c->type, mf__col_i64(c, r), 0, NULL, 0);
            }
            continue;
        }
        char why[MF__JSON_WHYLEN];
        json_t *a = mf__json_list_parse(c->type, c->heap + c->off[r],
                                        (size_t)(c->off[r + 1] - c->off[r]), why);
        if (!a) return mf__err(err, MF_EDATA, "cannot write Parquet: column '%s', row %zu: %s",
                               c->name, r + 1, why);
        size_t ne = json_array_size(a);
        if (ne == 0) add_lev(v, 1, 0);
        for (size_t k = 0; k < ne; k++) {
            mf__jelem e;
            if (mf__json_elem(c->type, a, k, &e, why) != 0) {
                json_decref(a);
                return mf__err(err, MF_EDATA, "cannot write Parquet: column '%s', row %zu: %s",
                               c->name, r + 1, why);
            }
            add_lev(v, 2, k ? 1 : 0);
            add_scalar(v, w->elt, e.i, e.d, e.s, e.len);
        }
        json_decref(a);
    }
    v->row_lev[nr] = v->nlev;
    v->row_val[nr] = v->n;
    return MF_OK;
}

/*---- Dictionary -----------------------------------------------------------------*/

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* Dictionary indices of every value, when a dictionary pays: true with
 * *ids (caller frees), *dict (the distinct values' indices into v, in
 * order of first appearance) and *ndict. */
static bool dictionary(const vals *v, int ptype, uint32_t **ids_out, size_t **dict_out,
                       size_t *ndict_out) {
    if (ptype == PT_BOOLEAN || v->n < 16) return false;
    size_t cap = 1;
    while (cap < 2 * MAX_DICT) cap <<= 1;
    uint32_t *table = mf__xmalloc(cap * sizeof *table);
    memset(table, 0xff, cap * sizeof *table);
    uint32_t *ids = mf__xmalloc(v->n * sizeof *ids);
    size_t *dict = mf__xmalloc((MAX_DICT + 1) * sizeof *dict);
    size_t nd = 0, dict_bytes = 0;
    bool ok = true;
    for (size_t i = 0; i < v->n && ok; i++) {
        const char *p = v->bytes.data + v->off[i];
        size_t len = v->off[i + 1] - v->off[i];
        size_t h = (size_t)hash_bytes(p, len) & (cap - 1);
        for (;;) {
            uint32_t t = table[h];
            if (t == UINT32_MAX) {
                if (nd == MAX_DICT) {
                    ok = false;
                    break;
                }
                table[h] = (uint32_t)nd;
                dict[nd] = i;
                dict_bytes += len + (ptype == PT_BYTE_ARRAY ? 4 : 0);
                ids[i] = (uint32_t)nd++;
                break;
            }
            size_t j = dict[t];
            if (v->off[j + 1] - v->off[j] == len && !memcmp(v->bytes.data + v->off[j], p, len)) {
                ids[i] = t;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    free(table);
    if (ok) {
        int w = 0;
        while (((size_t)1 << w) < nd) w++;
        size_t plain = v->bytes.len - v->off[0] + (ptype == PT_BYTE_ARRAY ? 4 * v->n : 0);
        size_t with = dict_bytes + v->n * (size_t)(w ? w : 1) / 8 + 16;
        ok = with < plain && dict_bytes < PAGE_BYTES;
    }
    if (!ok) {
        free(ids);
        free(dict);
        return false;
    }
    *ids_out = ids;
    *dict_out = dict;
    *ndict_out = nd;
    return true;
}

/*---- Pages and chunks -----------------------------------------------------------*/

typedef struct chunk_meta {
    int64_t num_values, usize, csize, data_off, dict_off;
    bool has_dict;
} chunk_meta;

/* Compress raw and append a page (header and body) to out. */
static void put_page(mf__buf *out, int type, const mf__buf *raw, int32_t num_values, int enc,
                     int64_t *usize, int64_t *csize) {
    size_t cap = snappy_max_compressed_length(raw->len);
    char *z = mf__xmalloc(cap + 1);
    size_t zlen = cap;
    if (snappy_compress(raw->data ? raw->data : "", raw->len, z, &zlen) != SNAPPY_OK) abort();
    mf__buf h;
    mf__buf_init(&h);
    mf__tw w;
    mf__tw_init(&w, &h);
    mf__tw_struct_begin(&w);
    mf__tw_i32(&w, 1, type);
    mf__tw_i32(&w, 2, (int32_t)raw->len);
    mf__tw_i32(&w, 3, (int32_t)zlen);
    mf__tw_i32(&w, 4, (int32_t)crc32(0, (const Bytef *)z, (uInt)zlen));
    if (type == 0) {
        mf__tw_field(&w, 5, MF__TC_STRUCT);
        mf__tw_struct_begin(&w);
        mf__tw_i32(&w, 1, num_values);
        mf__tw_i32(&w, 2, enc);
        mf__tw_i32(&w, 3, 3); /* RLE levels */
        mf__tw_i32(&w, 4, 3);
        mf__tw_struct_end(&w);
    } else {
        mf__tw_field(&w, 7, MF__TC_STRUCT);
        mf__tw_struct_begin(&w);
        mf__tw_i32(&w, 1, num_values);
        mf__tw_i32(&w, 2, 0); /* PLAIN */
        mf__tw_struct_end(&w);
    }
    mf__tw_struct_end(&w);
    mf__buf_put(out, h.data, h.len);
    mf__buf_put(out, z, zlen);
    *usize += (int64_t)(h.len + raw->len);
    *csize += (int64_t)(h.len + zlen);
    mf__buf_free(&h);
    free(z);
}

static void put_levels(mf__buf *raw, const uint32_t *lev, size_t n, int maxl) {
    int w = maxl > 1 ? 2 : 1;
    mf__buf e;
    mf__buf_init(&e);
    rle_encode(lev, n, w, &e);
    put_le32(raw, (uint32_t)e.len);
    mf__buf_put(raw, e.data, e.len);
    mf__buf_free(&e);
}

/* Append column chunk of w for the gathered values v (rows [0, nr)) to
 * out, which starts at file offset base. */
static void write_chunk(const wcol *w, const vals *v, size_t nr, int64_t base, mf__buf *out,
                        chunk_meta *m) {
    memset(m, 0, sizeof *m);
    int ptype = w->ptype;
    uint32_t *ids = NULL;
    size_t *dict = NULL, nd = 0;
    bool use_dict = dictionary(v, ptype, &ids, &dict, &nd);
    mf__buf raw;
    mf__buf_init(&raw);
    if (use_dict) {
        for (size_t k = 0; k < nd; k++) {
            size_t j = dict[k];
            put_plain(&raw, ptype, v->bytes.data + v->off[j], v->off[j + 1] - v->off[j]);
        }
        m->has_dict = true;
        m->dict_off = base + (int64_t)out->len;
        put_page(out, 2, &raw, (int32_t)nd, 0, &m->usize, &m->csize);
    }
    int bw = 0;
    while (((size_t)1 << bw) < nd) bw++;
    m->data_off = base + (int64_t)out->len;
    int maxd = w->list ? 2 : 1;
    for (size_t r0 = 0, r1; r0 < nr; r0 = r1) {
        r1 = r0 + ROWS_PER_PAGE < nr ? r0 + ROWS_PER_PAGE : nr;
        /* bytes of values, their lengths and (at most) a byte a level */
        while (r1 > r0 + 1 &&
               (use_dict || !v->off ? 0 : v->off[v->row_val[r1]] - v->off[v->row_val[r0]]) +
                       5 * (v->row_lev[r1] - v->row_lev[r0]) > PAGE_BYTES)
            r1 = r0 + (r1 - r0) / 2;
        size_t l0 = v->row_lev[r0], l1 = v->row_lev[r1];
        size_t a = v->row_val[r0], b = v->row_val[r1];
        raw.len = 0;
        if (w->list) put_levels(&raw, v->rep + l0, l1 - l0, 1);
        put_levels(&raw, v->def + l0, l1 - l0, maxd);
        int enc = 0;
        if (use_dict) {
            enc = 8; /* RLE_DICTIONARY */
            mf__buf_putc(&raw, (char)bw);
            rle_encode(ids + a, b - a, bw, &raw);
        } else if (ptype == PT_BOOLEAN) {
            size_t nb = (b - a + 7) / 8;
            mf__buf_reserve(&raw, nb);
            uint8_t *p = (uint8_t *)raw.data + raw.len;
            memset(p, 0, nb);
            for (size_t i = a; i < b; i++)
                if (v->bytes.data[v->off[i]]) p[(i - a) >> 3] |= (uint8_t)(1u << ((i - a) & 7));
            raw.len += nb;
        } else {
            for (size_t i = a; i < b; i++)
                put_plain(&raw, ptype, v->bytes.data + v->off[i], v->off[i + 1] - v->off[i]);
        }
        put_page(out, 0, &raw, (int32_t)(l1 - l0), enc, &m->usize, &m->csize);
        m->num_values += (int64_t)(l1 - l0);
    }
    mf__buf_free(&raw);
    free(ids);
    free(dict);
}

/*---- Metadata -------------------------------------------------------------------*/

static void put_schema_leaf(mf__tw *w, const char *name, int ptype, int rep, Mf__ValueType t,
                            bool utf8) {
    mf__tw_struct_begin(w);
    mf__tw_i32(w, 1, ptype);
    mf__tw_i32(w, 3, rep);
    mf__tw_binary(w, 4, name, strlen(name));
    if (t == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
        mf__tw_i32(w, 6, 10); /* TIMESTAMP_MICROS */
        mf__tw_field(w, 10, MF__TC_STRUCT);
        mf__tw_struct_begin(w);
        mf__tw_field(w, 8, MF__TC_STRUCT); /* TIMESTAMP */
        mf__tw_struct_begin(w);
        mf__tw_bool(w, 1, true);
        mf__tw_field(w, 2, MF__TC_STRUCT);
        mf__tw_struct_begin(w);
        mf__tw_field(w, 2, MF__TC_STRUCT); /* MICROS */
        mf__tw_struct_begin(w);
        mf__tw_struct_end(w);
        mf__tw_struct_end(w);
        mf__tw_struct_end(w);
        mf__tw_struct_end(w);
    } else if (ptype == PT_BYTE_ARRAY && utf8) {
        mf__tw_i32(w, 6, 0); /* UTF8 */
        mf__tw_field(w, 10, MF__TC_STRUCT);
        mf__tw_struct_begin(w);
        mf__tw_field(w, 1, MF__TC_STRUCT); /* STRING */
        mf__tw_struct_begin(w);
        mf__tw_struct_end(w);
        mf__tw_struct_end(w);
    }
    mf__tw_struct_end(w);
}

static void put_stats(mf__tw *w, const wcol *c, const vals *v) {
    mf__tw_field(w, 12, MF__TC_STRUCT);
    mf__tw_struct_begin(w);
    mf__tw_i64(w, 3, v->nulls);
    if (v->have_mm && !c->list) {
        char mx[8], mn[8];
        size_t n = 8;
        if (c->ptype == PT_INT32) {
            int32_t a = (int32_t)v->imax, b = (int32_t)v->imin;
            memcpy(mx, &a, 4), memcpy(mn, &b, 4), n = 4;
        } else if (c->ptype == PT_INT64) {
            memcpy(mx, &v->imax, 8), memcpy(mn, &v->imin, 8);
        } else if (c->ptype == PT_FLOAT) {
            float a = (float)v->dmax, b = (float)v->dmin;
            if (b == 0) b = -0.0f;
            if (a == 0) a = 0.0f;
            memcpy(mx, &a, 4), memcpy(mn, &b, 4), n = 4;
        } else {
            double a = v->dmax, b = v->dmin;
            if (b == 0) b = -0.0;
            if (a == 0) a = 0.0;
            memcpy(mx, &a, 8), memcpy(mn, &b, 8);
        }
        mf__tw_binary(w, 5, mx, n);
        mf__tw_binary(w, 6, mn, n);
    }
    mf__tw_struct_end(w);
}

typedef struct rg_meta {
    int64_t nrows, offset, total_u, total_c;
    chunk_meta *cm;
    vals *vs; /* only the stats and counts are kept */
} rg_meta;

static void put_footer(mf__buf *out, const wcol *cols, size_t ncols, const rg_meta *rgs,
                       size_t nrgs, int64_t nrows) {
    mf__tw w;
    mf__tw_init(&w, out);
    mf__tw_struct_begin(&w);
    mf__tw_i32(&w, 1, 1);
    size_t nels = 1;
    for (size_t j = 0; j < ncols; j++) nels += cols[j].list ? 3 : 1;
    mf__tw_list(&w, 2, MF__TC_STRUCT, nels);
    mf__tw_struct_begin(&w);
    mf__tw_binary(&w, 4, "schema", 6);
    mf__tw_i32(&w, 5, (int32_t)ncols);
    mf__tw_struct_end(&w);
    for (size_t j = 0; j < ncols; j++) {
        const wcol *c = &cols[j];
        if (!c->list) {
            put_schema_leaf(&w, c->c->name, c->ptype, 1, c->ts ? MF__VALUE_TYPE__VT_UNIX_TIMESTAMP
                                                                : c->c->type,
                            c->utf8);
            continue;
        }
        mf__tw_struct_begin(&w);
        mf__tw_i32(&w, 3, 1);
        mf__tw_binary(&w, 4, c->c->name, strlen(c->c->name));
        mf__tw_i32(&w, 5, 1);
        mf__tw_i32(&w, 6, 3); /* LIST */
        mf__tw_field(&w, 10, MF__TC_STRUCT);
        mf__tw_struct_begin(&w);
        mf__tw_field(&w, 3, MF__TC_STRUCT);
        mf__tw_struct_begin(&w);
        mf__tw_struct_end(&w);
        mf__tw_struct_end(&w);
        mf__tw_struct_end(&w);
        mf__tw_struct_begin(&w);
        mf__tw_i32(&w, 3, 2);
        mf__tw_binary(&w, 4, "list", 4);
        mf__tw_i32(&w, 5, 1);
        mf__tw_struct_end(&w);
        put_schema_leaf(&w, "element", c->ptype, 0, c->elt, c->elt == MF__VALUE_TYPE__VT_STRING);
    }
    mf__tw_i64(&w, 3, nrows);
    mf__tw_list(&w, 4, MF__TC_STRUCT, nrgs);
    for (size_t g = 0; g < nrgs; g++) {
        const rg_meta *r = &rgs[g];
        mf__tw_struct_begin(&w);
        mf__tw_list(&w, 1, MF__TC_STRUCT, ncols);
        for (size_t j = 0; j < ncols; j++) {
            const wcol *c = &cols[j];
            const chunk_meta *m = &r->cm[j];
            mf__tw_struct_begin(&w);
            mf__tw_i64(&w, 2, 0);
            mf__tw_field(&w, 3, MF__TC_STRUCT);
            mf__tw_struct_begin(&w);
            mf__tw_i32(&w, 1, c->ptype);
            mf__tw_list(&w, 2, MF__TC_I32, m->has_dict ? 3 : 2);
            mf__tw_zigzag(&w, 3);
            if (m->has_dict) {
                mf__tw_zigzag(&w, 0);
                mf__tw_zigzag(&w, 8);
            } else {
                mf__tw_zigzag(&w, 0);
            }
            mf__tw_list(&w, 3, MF__TC_BINARY, c->list ? 3 : 1);
            mf__tw_raw_binary(&w, c->c->name, strlen(c->c->name));
            if (c->list) {
                mf__tw_raw_binary(&w, "list", 4);
                mf__tw_raw_binary(&w, "element", 7);
            }
            mf__tw_i32(&w, 4, 1); /* SNAPPY */
            mf__tw_i64(&w, 5, m->num_values);
            mf__tw_i64(&w, 6, m->usize);
            mf__tw_i64(&w, 7, m->csize);
            mf__tw_i64(&w, 9, m->data_off);
            if (m->has_dict) mf__tw_i64(&w, 11, m->dict_off);
            put_stats(&w, c, &r->vs[j]);
            mf__tw_struct_end(&w);
            mf__tw_struct_end(&w);
        }
        mf__tw_i64(&w, 2, r->total_u);
        mf__tw_i64(&w, 3, r->nrows);
        mf__tw_i64(&w, 5, r->offset);
        mf__tw_i64(&w, 6, r->total_c);
        mf__tw_struct_end(&w);
    }
    static const char created[] = "moonfeast";
    mf__tw_binary(&w, 6, created, sizeof created - 1);
    size_t nleaves = ncols;
    mf__tw_list(&w, 7, MF__TC_STRUCT, nleaves);
    for (size_t j = 0; j < nleaves; j++) {
        mf__tw_struct_begin(&w);
        mf__tw_field(&w, 1, MF__TC_STRUCT); /* TYPE_ORDER */
        mf__tw_struct_begin(&w);
        mf__tw_struct_end(&w);
        mf__tw_struct_end(&w);
    }
    mf__tw_struct_end(&w);
}

/*---- The file -------------------------------------------------------------------*/

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Whether every value of text column c is UTF-8 without NUL, each cell on
 * its own (the bytes of two cells may make a character together). */
static bool cells_utf8(const mf__col *c) {
    for (size_t i = 0; i < c->n; i++) {
        if (!c->valid[i]) continue;
        size_t len = (size_t)(c->off[i + 1] - c->off[i]);
        if (mf__utf8_check(c->heap + c->off[i], len, false) != len) return false;
    }
    return true;
}

int mf__pq_write_table(const mf_table *t, const char *path, bool durable, mf_error *err) {
    size_t ncols = t->ncols, nrows = t->nrows;
    /* Parquet's column names are UTF-8 text (readers refuse the file) */
    for (size_t j = 0; j < ncols; j++) {
        const char *name = t->cols[j].name;
        size_t len = strlen(name), ok = mf__utf8_check(name, len, false);
        if (ok != len)
            return mf__err(err, MF_EDATA, "cannot write %s as Parquet: the name of column %zu "
                           "('%.*s' then byte 0x%02x) is not UTF-8 text, which Parquet's column "
                           "names must be", path && strcmp(path, "-") ? path : "standard output",
                           j + 1, (int)ok, name, (unsigned)(unsigned char)name[ok]);
    }
    wcol *cols = mf__xcalloc(ncols + 1, sizeof *cols);
    for (size_t j = 0; j < ncols; j++) {
        wcol *w = &cols[j];
        const mf__col *c = &t->cols[j];
        w->c = c;
        Mf__ValueType e = list_elem(c->type);
        if (!c->raw && e != MF__VALUE_TYPE__VT_INVALID) {
            w->list = true;
            w->elt = e;
            w->ptype = ptype_of(e);
        } else if (c->raw || c->sc == MF__SC_TEXT) {
            w->ptype = PT_BYTE_ARRAY;
            w->utf8 = c->type != MF__VALUE_TYPE__VT_BYTES;
            if (c->raw && !cells_utf8(c))
                w->utf8 = false; /* pass-through text that is not UTF-8: bytes */
        } else {
            w->ptype = ptype_of(c->type);
            w->ts = c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP;
        }
    }
    int fd;
    char *tmp = NULL;
    bool to_stdout = !path || strcmp(path, "-") == 0;
    bool in_place = !to_stdout && mf__path_is_special(path); /* a device or a FIFO */
    if (to_stdout) {
        fd = 1;
    } else if (in_place) {
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            int rc = mf__err(err, MF_EIO, "cannot open %s: %s", path, strerror(errno));
            free(cols);
            return rc;
        }
    } else {
        tmp = mf__temp_beside(path); /* threads of one process write at once */
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            int rc = mf__err(err, MF_EIO, "cannot create %s: %s", tmp, strerror(errno));
            free(tmp);
            free(cols);
            return rc;
        }
    }
    int rc = MF_OK;
    size_t nrgs = nrows ? (nrows + ROWS_PER_GROUP - 1) / ROWS_PER_GROUP : 0;
    rg_meta *rgs = mf__xcalloc(nrgs + 1, sizeof *rgs);
    mf__buf out;
    mf__buf_init(&out);
    int64_t pos = 4;
    if (write_all(fd, "PAR1", 4)) rc = mf__err(err, MF_EIO, "cannot write %s", path ? path : "-");
    for (size_t g = 0; g < nrgs && rc == MF_OK; g++) {
        size_t r0 = g * ROWS_PER_GROUP, r1 = r0 + ROWS_PER_GROUP < nrows ? r0 + ROWS_PER_GROUP : nrows;
        rg_meta *r = &rgs[g];
        r->nrows = (int64_t)(r1 - r0);
        r->offset = pos;
        r->cm = mf__xcalloc(ncols + 1, sizeof *r->cm);
        r->vs = mf__xcalloc(ncols + 1, sizeof *r->vs);
        out.len = 0;
        for (size_t j = 0; j < ncols && rc == MF_OK; j++) {
            rc = gather(&cols[j], r0, r1, &r->vs[j], err);
            if (rc) break;
            write_chunk(&cols[j], &r->vs[j], r1 - r0, pos, &out, &r->cm[j]);
            r->total_u += r->cm[j].usize;
            r->total_c += r->cm[j].csize;
            /* keep only the statistics */
            vals *v = &r->vs[j];
            mf__buf_free(&v->bytes);
            free(v->off), free(v->def), free(v->rep), free(v->row_lev), free(v->row_val);
            v->off = NULL, v->def = v->rep = NULL, v->row_lev = v->row_val = NULL;
        }
        if (rc == MF_OK && write_all(fd, out.data, out.len))
            rc = mf__err(err, MF_EIO, "cannot write %s: %s", path ? path : "-", strerror(errno));
        pos += (int64_t)out.len;
    }
    if (rc == MF_OK) {
        out.len = 0;
        put_footer(&out, cols, ncols, rgs, nrgs, (int64_t)nrows);
        put_le32(&out, (uint32_t)out.len);
        mf__buf_put(&out, "PAR1", 4);
        if (write_all(fd, out.data, out.len))
            rc = mf__err(err, MF_EIO, "cannot write %s: %s", path ? path : "-", strerror(errno));
    }
    for (size_t g = 0; g < nrgs; g++) {
        for (size_t j = 0; rgs[g].vs && j < ncols; j++) vals_free(&rgs[g].vs[j]);
        free(rgs[g].vs);
        free(rgs[g].cm);
    }
    free(rgs);
    mf__buf_free(&out);
    free(cols);
    if (in_place) {
        if (close(fd) != 0 && rc == MF_OK)
            rc = mf__err(err, MF_EIO, "cannot write %s: %s", path, strerror(errno));
    } else if (!to_stdout) {
        if (rc == MF_OK && durable && fsync(fd) != 0)
            rc = mf__err(err, MF_EIO, "cannot write %s: %s", tmp, strerror(errno));
        if (close(fd) != 0 && rc == MF_OK)
            rc = mf__err(err, MF_EIO, "cannot write %s: %s", tmp, strerror(errno));
        if (rc == MF_OK && rename(tmp, path) != 0)
            rc = mf__err(err, MF_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        if (rc) unlink(tmp);
        free(tmp);
    }
    return rc;
}

/*---- CSV to Parquet ---------------------------------------------------------------*/

/* Whether text t reads as a value of type `type` whose own text is t
 * exactly (so that typing the column changes no value's text). */
static bool round_trips(Mf__ValueType type, const char *p, size_t n) {
    char buf[64];
    size_t m;
    switch (type) {
    case MF__VALUE_TYPE__VT_INT64: {
        int64_t v;
        if (mf__parse_int64(p, n, &v)) return false;
        m = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)v);
        break;
    }
    case MF__VALUE_TYPE__VT_DOUBLE: {
        double d;
        if (mf__parse_double(p, n, &d)) return false;
        m = mf__format_double(d, buf);
        break;
    }
    case MF__VALUE_TYPE__VT_BOOL:
        return (n == 4 && !memcmp(p, "true", 4)) || (n == 5 && !memcmp(p, "false", 5));
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: {
        int64_t us;
        if (n < 10 || mf__ts_parse(p, n, &us)) return false; /* not bare epoch seconds */
        m = mf__ts_format(us, buf);
        break;
    }
    default: return true;
    }
    return m == n && !memcmp(buf, p, n);
}

int mf__pq_from_csv(const char *in, const char *out, mf_error *err) {
    mf_entity_df *df;
    int rc = mf_entity_df_read_csv(in, &df, err);
    if (rc) return rc;
    mf_table *src = df->t;
    mf_table *t = mf__table_new(src->ncols);
    t->nrows = src->nrows;
    static const Mf__ValueType order[] = {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_DOUBLE,
                                          MF__VALUE_TYPE__VT_BOOL,
                                          MF__VALUE_TYPE__VT_UNIX_TIMESTAMP};
    for (size_t j = 0; j < src->ncols; j++) {
        const mf__col *c = &src->cols[j];
        Mf__ValueType type = MF__VALUE_TYPE__VT_STRING;
        size_t seen = 0;
        for (size_t i = 0; i < c->n; i++) seen += c->valid[i];
        for (size_t k = 0; k < 4 && seen; k++) {
            bool all = true;
            for (size_t i = 0; i < c->n && all; i++)
                if (c->valid[i])
                    all = round_trips(order[k], c->heap + c->off[i], (size_t)(c->off[i + 1] - c->off[i]));
            if (all) {
                type = order[k];
                break;
            }
        }
        mf__col *d = &t->cols[j];
        mf__col_init(d, c->name, cells_utf8(c) ? type : MF__VALUE_TYPE__VT_BYTES, false);
        mf__col_reserve(d, c->n);
        for (size_t i = 0; i < c->n && rc == MF_OK; i++) {
            if (!c->valid[i]) mf__col_push_null(d);
            else if (mf__col_push_text(d, c->heap + c->off[i],
                                       (size_t)(c->off[i + 1] - c->off[i])) != 0)
                /* the type was chosen for every cell to fit: not reached */
                rc = mf__err_at(err, MF_EDATA, in, (int)df->lines[i], "column '%s': a value "
                                "that does not fit the column's type", c->name);
        }
    }
    if (rc) {
        mf_table_free(t);
        mf_entity_df_free(df);
        return rc;
    }
    rc = mf__pq_write_table(t, out, true, err);
    mf_table_free(t);
    mf_entity_df_free(df);
    return rc;
}
