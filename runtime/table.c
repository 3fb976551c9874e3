/*
 * table.c — typed columns, result tables and their CSV / JSON Lines output.
 *
 * Values are stored by class (mf__store_class): Int32 as int32_t, Int64 and
 * UnixTimestamp (microseconds) as int64_t, Float32 as float, Float64 as
 * double, Bool as a byte, and String, Bytes and lists as text. Typed cells
 * are checked where they enter (mf__col_push_text), whatever the source
 * (CSV, SQLite, entity rows, pushed rows): String text must be well-formed
 * UTF-8 without NUL bytes (ASCII runs are checked 8 bytes at a time); CSV
 * cells of Bytes are taken as their text; list cells are JSON arrays read
 * by the JSON list codec (json.c) and kept in its canonical text ("[1,2]").
 * Pass-through (raw) columns are kept as they are. Output follows
 * docs/concepts.md, "Reading source data": timestamps in RFC 3339, floats in the shortest
 * text that reads back to the same value. JSON output is valid whatever the
 * bytes (mf__buf_json_str); CSV output refuses a cell holding a NUL byte,
 * which CSV cannot carry.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_parquet.h"
#include "mf_table.h"
#include "mf_csv.h"
#include "mf_json.h"
#include "mf_values.h"

/*---- Columns ---------------------------------------------------------------*/

mf__store_class mf__store_class_of(Mf__ValueType t) {
    switch (t) {
    case MF__VALUE_TYPE__VT_INT32: return MF__SC_I32;
    case MF__VALUE_TYPE__VT_INT64:
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: return MF__SC_I64;
    case MF__VALUE_TYPE__VT_FLOAT: return MF__SC_F32;
    case MF__VALUE_TYPE__VT_DOUBLE: return MF__SC_F64;
    case MF__VALUE_TYPE__VT_BOOL: return MF__SC_BOOL;
    default: return MF__SC_TEXT;
    }
}

static size_t sc_size(mf__store_class sc) {
    switch (sc) {
    case MF__SC_I32: case MF__SC_F32: return 4;
    case MF__SC_I64: case MF__SC_F64: return 8;
    case MF__SC_BOOL: return 1;
    default: return 0;
    }
}

const char *mf__type_text(Mf__ValueType t) { return mf__dtype_name(t); }

void mf__col_init(mf__col *c, const char *name, Mf__ValueType type, bool raw) {
    memset(c, 0, sizeof *c);
    c->name = mf__xstrdup(name);
    c->type = raw ? MF__VALUE_TYPE__VT_STRING : type;
    c->raw = raw;
    c->sc = raw ? MF__SC_TEXT : mf__store_class_of(type);
}

void mf__col_free(mf__col *c) {
    free(c->name);
    free(c->data);
    free(c->off);
    free(c->heap);
    free(c->valid);
    memset(c, 0, sizeof *c);
}

void mf__col_clear(mf__col *c) {
    c->n = 0;
    c->heap_len = 0;
}

/* Doubling from cap (first) up to at least need; exactly need once
 * doubling would overflow. */
static size_t grown(size_t cap, size_t first, size_t need) {
    if (!cap) cap = first;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    return cap;
}

int mf__col_try_reserve(mf__col *c, size_t n) {
    if (n <= c->cap) return 0;
    size_t cap = grown(c->cap, 64, n), esz = c->sc == MF__SC_TEXT ? sizeof *c->off : sc_size(c->sc);
    /* every array of the new size, or none: the column stays as it was */
    if (cap == SIZE_MAX) return -1;
    uint8_t *valid = mf__try_realloc_array(c->valid, cap, 1);
    if (!valid) return -1;
    c->valid = valid;
    if (c->sc == MF__SC_TEXT) {
        uint64_t *off = mf__try_realloc_array(c->off, cap + 1, esz);
        if (!off) return -1;
        if (c->cap == 0) off[0] = 0;
        c->off = off;
    } else {
        void *data = mf__try_realloc_array(c->data, cap, esz);
        if (!data) return -1;
        c->data = data;
    }
    c->cap = cap;
    return 0;
}

void mf__col_reserve(mf__col *c, size_t n) {
    if (n <= c->cap) return;
    if (mf__col_try_reserve(c, n) != 0) {
        fputs("moonfeast: out of memory\n", stderr);
        abort();
    }
}

int mf__col_try_reserve_heap(mf__col *c, size_t bytes) {
    size_t need;
    if (!mf__size_add(c->heap_len, bytes, &need)) return -1;
    if (need <= c->heap_cap) return 0;
    size_t cap = grown(c->heap_cap, 256, need);
    char *h = mf__try_realloc_array(c->heap, cap, 1);
    if (!h) return -1;
    c->heap = h;
    c->heap_cap = cap;
    return 0;
}

static void heap_put(mf__col *c, const char *p, size_t len) {
    if (c->heap_len + len > c->heap_cap && mf__col_try_reserve_heap(c, len) != 0) {
        fputs("moonfeast: out of memory\n", stderr);
        abort();
    }
    if (len) memcpy(c->heap + c->heap_len, p, len);
    c->heap_len += len;
}

void mf__col_push_null(mf__col *c) {
    mf__col_reserve(c, c->n + 1);
    c->valid[c->n] = 0;
    switch (c->sc) {
    case MF__SC_TEXT: c->off[c->n + 1] = c->heap_len; break;
    case MF__SC_I32: ((int32_t *)c->data)[c->n] = 0; break;
    case MF__SC_I64: ((int64_t *)c->data)[c->n] = 0; break;
    case MF__SC_F32: ((float *)c->data)[c->n] = 0; break;
    case MF__SC_F64: ((double *)c->data)[c->n] = 0; break;
    case MF__SC_BOOL: ((uint8_t *)c->data)[c->n] = 0; break;
    }
    c->n++;
}

void mf__col_push_i64(mf__col *c, int64_t v) {
    mf__col_reserve(c, c->n + 1);
    c->valid[c->n] = 1;
    ((int64_t *)c->data)[c->n++] = v;
}

void mf__col_push_num(mf__col *c, double v) {
    mf__col_reserve(c, c->n + 1);
    c->valid[c->n] = 1;
    switch (c->sc) {
    case MF__SC_I32: ((int32_t *)c->data)[c->n] = (int32_t)v; break;
    case MF__SC_I64: ((int64_t *)c->data)[c->n] = (int64_t)v; break;
    case MF__SC_F32: ((float *)c->data)[c->n] = mf__to_f32(v); break;
    case MF__SC_F64: ((double *)c->data)[c->n] = v; break;
    case MF__SC_BOOL: ((uint8_t *)c->data)[c->n] = v != 0; break;
    case MF__SC_TEXT: c->valid[c->n] = 0; c->off[c->n + 1] = c->heap_len; break;
    }
    c->n++;
}

int mf__col_convert(mf__col *dst, const mf__col *src, size_t n, size_t *bad) {
    /* the same numeric type: no text in between */
    if (n == 0) return 0; /* nothing to copy (and dst may have no storage yet) */
    if (src->type == dst->type && src->sc == dst->sc && src->sc != MF__SC_TEXT && !src->raw) {
        if (mf__col_try_reserve(dst, dst->n + n) != 0) {
            *bad = 0;
            return -1;
        }
        size_t w = src->sc == MF__SC_I64 || src->sc == MF__SC_F64 ? 8
                   : src->sc == MF__SC_BOOL                       ? 1
                                                                  : 4;
        memcpy((char *)dst->data + dst->n * w, src->data, n * w);
        memcpy(dst->valid + dst->n, src->valid, n);
        dst->n += n;
        return 0;
    }
    char num[64];
    for (size_t i = 0; i < n; i++) {
        if (!src->valid[i]) {
            mf__col_push_null(dst);
            continue;
        }
        size_t len;
        const char *t = mf__col_text(src, i, num, &len);
        /* a time given as a time is no number of another type */
        bool time_to_other = src->sc != MF__SC_TEXT &&
                             src->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP &&
                             dst->type != MF__VALUE_TYPE__VT_UNIX_TIMESTAMP;
        if (time_to_other || mf__col_push_text(dst, t, len) != 0) {
            *bad = i;
            return -1;
        }
    }
    return 0;
}

void mf__col_push_str(mf__col *c, const char *p, size_t len) {
    mf__col_reserve(c, c->n + 1);
    heap_put(c, p, len);
    c->valid[c->n] = 1;
    c->off[c->n + 1] = c->heap_len;
    c->n++;
}

/* A list cell: parsed, checked and written back in canonical text by the
 * JSON list codec (json.c), straight into the column's heap. */
static int push_list(mf__col *c, const char *p, size_t len) {
    mf__buf h = {c->heap, c->heap_len, c->heap_cap};
    char why[MF__JSON_WHYLEN];
    int rc = mf__json_list_canon(c->type, p, len, &h, why);
    c->heap = h.data;
    c->heap_cap = h.cap;
    if (rc == 0) c->heap_len = h.len; /* else the partial text is dropped */
    return rc;
}

int mf__col_push_text(mf__col *c, const char *p, size_t len) {
    if (!p || len == 0) {
        mf__col_push_null(c);
        return 0;
    }
    mf__col_reserve(c, c->n + 1);
    size_t i = c->n;
    int rc = 0;
    switch (c->sc) {
    case MF__SC_I32: rc = mf__parse_int32(p, len, &((int32_t *)c->data)[i]); break;
    case MF__SC_I64:
        if (c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP)
            rc = mf__ts_parse(p, len, &((int64_t *)c->data)[i]);
        else
            rc = mf__parse_int64(p, len, &((int64_t *)c->data)[i]);
        break;
    case MF__SC_F32: rc = mf__parse_float(p, len, &((float *)c->data)[i]); break;
    case MF__SC_F64: rc = mf__parse_double(p, len, &((double *)c->data)[i]); break;
    case MF__SC_BOOL: {
        bool b = false; /* left unset when the text is not a Bool */
        rc = mf__parse_bool(p, len, &b);
        ((uint8_t *)c->data)[i] = b;
        break;
    }
    case MF__SC_TEXT:
        if (c->raw || c->type == MF__VALUE_TYPE__VT_BYTES) {
            heap_put(c, p, len);
        } else if (c->type == MF__VALUE_TYPE__VT_STRING) {
            if (mf__utf8_check(p, len, false) != len) return -1;
            heap_put(c, p, len);
        } else if (push_list(c, p, len) != 0) {
            return -1;
        }
        c->off[i + 1] = c->heap_len;
        break;
    }
    if (rc) return -1;
    c->valid[i] = 1;
    c->n++;
    return 0;
}

int mf__col_cell_check(const mf__col *c, size_t row, mf__buf *canon, char *why) {
    if (!c->valid[row] || c->sc != MF__SC_TEXT || c->type == MF__VALUE_TYPE__VT_BYTES) return 0;
    const char *p = c->heap + c->off[row];
    size_t len = (size_t)(c->off[row + 1] - c->off[row]);
    if (c->raw || c->type == MF__VALUE_TYPE__VT_STRING) {
        size_t at = mf__utf8_check(p, len, false);
        if (at == len) return 0;
        snprintf(why, MF__JSON_WHYLEN, p[at] ? "byte %zu is not UTF-8 text" : "byte %zu is a NUL",
                 at + 1);
        return -1;
    }
    mf__buf scratch;
    mf__buf_init(&scratch);
    int rc = mf__json_list_canon(c->type, p, len, canon ? canon : &scratch, why);
    mf__buf_free(&scratch);
    return rc;
}

int mf__col_cell_err(const mf__col *c, size_t row, const char *view, const char *why,
                     mf_error *err) {
    size_t len = (size_t)(c->off[row + 1] - c->off[row]);
    return mf__err(err, MF_EDATA, "feature view '%s', feature '%s': '%.*s' is not a valid %s: %s",
                   view, c->name, len > 200 ? 200 : (int)len, c->heap + c->off[row],
                   mf__dtype_name(c->type), why);
}

void mf__col_append(mf__col *dst, const mf__col *src) {
    if (src->n == 0) return; /* nothing to add (and dst may have no storage yet) */
    mf__col_reserve(dst, dst->n + src->n);
    memcpy(dst->valid + dst->n, src->valid, src->n);
    if (dst->sc == MF__SC_TEXT) {
        uint64_t base = dst->heap_len;
        heap_put(dst, src->heap, src->heap_len);
        for (size_t i = 0; i < src->n; i++) dst->off[dst->n + i + 1] = base + src->off[i + 1];
    } else if (src->n) {
        size_t sz = sc_size(dst->sc);
        memcpy((char *)dst->data + dst->n * sz, src->data, src->n * sz);
    }
    dst->n += src->n;
}

void mf__col_gather2(mf__col *dst, const mf__col *a, const mf__col *b, size_t na,
                     const int64_t *idx, size_t n) {
    mf__col_reserve(dst, dst->n + n);
    size_t sz = sc_size(a->sc);
    for (size_t i = 0; i < n; i++) {
        int64_t j = idx[i];
        const mf__col *src = a;
        if (j >= (int64_t)na) src = b, j -= (int64_t)na;
        if (j < 0 || !src->valid[j]) {
            mf__col_push_null(dst);
        } else if (src->sc == MF__SC_TEXT) {
            mf__col_push_str(dst, src->heap + src->off[j], src->off[j + 1] - src->off[j]);
        } else {
            memcpy((char *)dst->data + dst->n * sz, (const char *)src->data + (size_t)j * sz, sz);
            dst->valid[dst->n++] = 1;
        }
    }
}

void mf__col_gather(mf__col *dst, const mf__col *src, const int64_t *idx, size_t n) {
    mf__col_reserve(dst, dst->n + n);
    if (src->sc == MF__SC_TEXT) {
        for (size_t i = 0; i < n; i++) {
            int64_t j = idx[i];
            if (j < 0 || !src->valid[j]) {
                mf__col_push_null(dst);
                continue;
            }
            heap_put(dst, src->heap + src->off[j], src->off[j + 1] - src->off[j]);
            dst->valid[dst->n] = 1;
            dst->off[dst->n + 1] = dst->heap_len;
            dst->n++;
        }
        return;
    }
    size_t sz = sc_size(src->sc);
    char *d = (char *)dst->data + dst->n * sz;
    const char *s = src->data;
    for (size_t i = 0; i < n; i++) {
        int64_t j = idx[i];
        if (j < 0) {
            memset(d + i * sz, 0, sz);
            dst->valid[dst->n + i] = 0;
        } else {
            memcpy(d + i * sz, s + (size_t)j * sz, sz);
            dst->valid[dst->n + i] = src->valid[j];
        }
    }
    dst->n += n;
}

int64_t mf__col_i64(const mf__col *c, size_t i) {
    switch (c->sc) {
    case MF__SC_I32: return ((const int32_t *)c->data)[i];
    case MF__SC_I64: return ((const int64_t *)c->data)[i];
    case MF__SC_BOOL: return ((const uint8_t *)c->data)[i];
    case MF__SC_F32: return (int64_t)((const float *)c->data)[i];
    case MF__SC_F64: return (int64_t)((const double *)c->data)[i];
    default: return 0;
    }
}

double mf__col_f64(const mf__col *c, size_t i) {
    switch (c->sc) {
    case MF__SC_F32: return ((const float *)c->data)[i];
    case MF__SC_F64: return ((const double *)c->data)[i];
    default: return (double)mf__col_i64(c, i);
    }
}

const char *mf__col_text(const mf__col *c, size_t i, char *buf, size_t *len) {
    if (!c->valid[i]) {
        *len = 0;
        return "";
    }
    switch (c->sc) {
    case MF__SC_TEXT:
        *len = c->off[i + 1] - c->off[i];
        return c->heap + c->off[i];
    case MF__SC_I32: *len = mf__format_int(((const int32_t *)c->data)[i], buf); break;
    case MF__SC_I64:
        if (c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP)
            *len = mf__ts_format(((const int64_t *)c->data)[i], buf);
        else
            *len = mf__format_int(((const int64_t *)c->data)[i], buf);
        break;
    case MF__SC_F32: *len = mf__format_float(((const float *)c->data)[i], buf); break;
    case MF__SC_F64: *len = mf__format_double(((const double *)c->data)[i], buf); break;
    case MF__SC_BOOL:
        *len = ((const uint8_t *)c->data)[i] ? 4 : 5;
        memcpy(buf, ((const uint8_t *)c->data)[i] ? "true" : "false", *len + 1);
        break;
    }
    return buf;
}

void mf__col_json(const mf__col *c, size_t i, mf__buf *out) {
    if (!c->valid[i]) {
        mf__buf_puts(out, "null");
        return;
    }
    char buf[64];
    size_t len;
    const char *t = mf__col_text(c, i, buf, &len);
    switch (c->sc) {
    case MF__SC_TEXT:
        if (c->type == MF__VALUE_TYPE__VT_BYTES && !c->raw) {
            mf__buf_putc(out, '"');
            mf__buf_base64(out, t, len);
            mf__buf_putc(out, '"');
        } else if (!c->raw && c->type >= MF__VALUE_TYPE__VT_BYTES_LIST) {
            mf__buf_put(out, t, len);
        } else {
            mf__buf_json_str(out, t, len);
        }
        break;
    case MF__SC_F32:
    case MF__SC_F64: {
        double d = mf__col_f64(c, i);
        if (d != d || d - d != 0) mf__buf_puts(out, "null");
        else mf__buf_put(out, t, len);
        break;
    }
    case MF__SC_I64:
        if (c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) mf__buf_json_str(out, t, len);
        else mf__buf_put(out, t, len);
        break;
    default: mf__buf_put(out, t, len); break;
    }
}

/*---- Tables ----------------------------------------------------------------*/

mf_table *mf__table_new(size_t ncols) {
    mf_table *t = mf__xcalloc(1, sizeof *t);
    t->ncols = ncols;
    t->cols = mf__xcalloc(ncols ? ncols : 1, sizeof *t->cols);
    return t;
}

void mf_table_free(mf_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->ncols; i++) mf__col_free(&t->cols[i]);
    free(t->cols);
    free(t);
}

size_t mf_table_nrows(const mf_table *t) { return t->nrows; }
size_t mf_table_ncols(const mf_table *t) { return t->ncols; }
const char *mf_table_col_name(const mf_table *t, size_t col) { return t->cols[col].name; }
int mf_table_col_type(const mf_table *t, size_t col) { return (int)t->cols[col].type; }
int mf_table_is_null(const mf_table *t, size_t col, size_t row) { return !t->cols[col].valid[row]; }
int64_t mf_table_int64(const mf_table *t, size_t col, size_t row) {
    return mf__col_i64(&t->cols[col], row);
}
double mf_table_double(const mf_table *t, size_t col, size_t row) {
    return mf__col_f64(&t->cols[col], row);
}
const char *mf_table_text(const mf_table *t, size_t col, size_t row, size_t *len) {
    const mf__col *c = &t->cols[col];
    if (c->sc != MF__SC_TEXT || !c->valid[row]) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = c->off[row + 1] - c->off[row];
    return c->heap + c->off[row];
}

/* Format rows [from, to) into b. */
static void format_rows(const mf_table *t, mf_table_format fmt, size_t from, size_t to, mf__buf *b) {
    for (size_t i = from; i < to; i++) {
        if (fmt == MF_FORMAT_CSV) {
            for (size_t j = 0; j < t->ncols; j++) {
                const mf__col *c = &t->cols[j];
                /* a number is formatted in place (mf__col_text wants 48 bytes) */
                mf__buf_reserve(b, 50);
                if (j) b->data[b->len++] = ',';
                size_t len;
                const char *s = mf__col_text(c, i, b->data + b->len, &len);
                if (c->sc == MF__SC_TEXT) mf__csv_write_field(b, s, len, ',');
                else b->len += len;
            }
            b->data[b->len] = '\0';
        } else {
            mf__buf_putc(b, '{');
            for (size_t j = 0; j < t->ncols; j++) {
                if (j) mf__buf_putc(b, ',');
                mf__buf_json_str(b, t->cols[j].name, strlen(t->cols[j].name));
                mf__buf_putc(b, ':');
                mf__col_json(&t->cols[j], i, b);
            }
            mf__buf_putc(b, '}');
        }
        mf__buf_putc(b, '\n');
    }
}

#define WRITE_CHUNK 16384
#define WRITE_SLOTS 4

/* Writing a table: chunks of WRITE_CHUNK rows formatted by two threads
 * into a ring of WRITE_SLOTS buffers while the calling thread writes the
 * formatted chunks in order, so that writing overlaps formatting. */
typedef struct write_pipe {
    const mf_table *t;
    mf_table_format fmt;
    size_t nchunks;
    mf__buf buf[WRITE_SLOTS];
    size_t ready[WRITE_SLOTS]; /* chunk index + 1 held formatted by the slot, else 0 */
    size_t next;               /* next chunk to format */
    size_t written;            /* chunks written */
    bool failed;               /* a write failed: formatters stop */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} write_pipe;

static void format_chunk(write_pipe *w, size_t k, mf__buf *b) {
    size_t from = k * WRITE_CHUNK;
    size_t to = from + WRITE_CHUNK < w->t->nrows ? from + WRITE_CHUNK : w->t->nrows;
    b->len = 0;
    format_rows(w->t, w->fmt, from, to, b);
}

static void *format_thread(void *arg) {
    write_pipe *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        size_t k = w->next;
        if (k >= w->nchunks || w->failed) break;
        w->next++;
        /* the slot is free once the chunk WRITE_SLOTS before has been written */
        while (!w->failed && k >= w->written + WRITE_SLOTS) pthread_cond_wait(&w->cv, &w->mu);
        if (w->failed) break;
        pthread_mutex_unlock(&w->mu);
        format_chunk(w, k, &w->buf[k % WRITE_SLOTS]);
        pthread_mutex_lock(&w->mu);
        w->ready[k % WRITE_SLOTS] = k + 1;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Write the table to f as CSV or JSON Lines, rows in order. */
static int write_table(const mf_table *t, FILE *f, mf_table_format fmt) {
    mf__buf b;
    mf__buf_init(&b);
    if (fmt == MF_FORMAT_CSV) {
        for (size_t j = 0; j < t->ncols; j++) {
            if (j) mf__buf_putc(&b, ',');
            mf__csv_write_field(&b, t->cols[j].name, strlen(t->cols[j].name), ',');
        }
        mf__buf_putc(&b, '\n');
    }
    bool ok = fwrite(b.data ? b.data : "", 1, b.len, f) == b.len;
    write_pipe w;
    memset(&w, 0, sizeof w);
    w.t = t;
    w.fmt = fmt;
    w.nchunks = (t->nrows + WRITE_CHUNK - 1) / WRITE_CHUNK;
    pthread_t th[2];
    int started = 0;
    if (ok && w.nchunks > 1) {
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);
        for (int i = 0; i < 2; i++)
            if (pthread_create(&th[i], NULL, format_thread, &w) == 0) started++;
        if (!started) {
            pthread_cond_destroy(&w.cv);
            pthread_mutex_destroy(&w.mu);
        }
    }
    if (started) {
        for (size_t k = 0; k < w.nchunks && ok; k++) {
            mf__buf *cb = &w.buf[k % WRITE_SLOTS];
            pthread_mutex_lock(&w.mu);
            while (w.ready[k % WRITE_SLOTS] != k + 1) pthread_cond_wait(&w.cv, &w.mu);
            pthread_mutex_unlock(&w.mu);
            ok = fwrite(cb->data ? cb->data : "", 1, cb->len, f) == cb->len;
            pthread_mutex_lock(&w.mu);
            w.written = k + 1;
            if (!ok) w.failed = true;
            pthread_cond_broadcast(&w.cv);
            pthread_mutex_unlock(&w.mu);
        }
        for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
        pthread_cond_destroy(&w.cv);
        pthread_mutex_destroy(&w.mu);
    } else {
        for (size_t k = 0; k < w.nchunks && ok; k++) {
            format_chunk(&w, k, &b);
            ok = fwrite(b.data ? b.data : "", 1, b.len, f) == b.len;
        }
    }
    mf__buf_free(&b);
    for (int i = 0; i < WRITE_SLOTS; i++) mf__buf_free(&w.buf[i]);
    return ok && !ferror(f) ? 0 : -1;
}

/* CSV has no way to write a NUL byte (pass-through text and Bytes read from
 * SQLite can hold one): the first cell holding one is an error naming its
 * column and row, before anything is written. */
static int csv_nul_check(const mf_table *t, mf_error *err) {
    for (size_t j = 0; j < t->ncols; j++) {
        const mf__col *c = &t->cols[j];
        if (c->sc != MF__SC_TEXT || c->n == 0 || c->off[c->n] == 0) continue;
        const char *z = memchr(c->heap, 0, c->off[c->n]);
        if (!z) continue;
        uint64_t at = (uint64_t)(z - c->heap);
        size_t lo = 0, hi = c->n - 1; /* the row i with off[i] <= at < off[i + 1] */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (c->off[mid + 1] <= at) lo = mid + 1;
            else hi = mid;
        }
        return mf__err(err, MF_EDATA, "cannot write CSV: column '%s', row %zu holds a NUL byte, "
                       "which CSV cannot carry (JSON Lines can)", c->name, lo + 1);
    }
    return MF_OK;
}

int mf_table_write(const mf_table *t, const char *path, mf_table_format fmt, mf_error *err) {
    if (fmt == MF_FORMAT_PARQUET) return mf__pq_write_table(t, path, false, err);
    if (fmt != MF_FORMAT_JSONL && fmt != MF_FORMAT_CSV)
        return mf__err(err, MF_EUSAGE, "unknown table format %d", (int)fmt);
    if (fmt == MF_FORMAT_CSV) {
        int rc = csv_nul_check(t, err);
        if (rc) return rc;
    }
    if (!path || strcmp(path, "-") == 0) {
        if (write_table(t, stdout, fmt) != 0 || fflush(stdout) != 0)
            return mf__err(err, MF_EIO, "cannot write to standard output");
        return MF_OK;
    }
    if (mf__path_is_special(path)) { /* a device or a FIFO: in place */
        FILE *f = fopen(path, "wb");
        if (!f) return mf__err(err, MF_EIO, "cannot open %s: %s", path, strerror(errno));
        int w = write_table(t, f, fmt);
        if (fclose(f) != 0) w = -1;
        return w ? mf__err(err, MF_EIO, "cannot write %s", path) : MF_OK;
    }
    char *tmp = mf__temp_beside(path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int rc = mf__err(err, MF_EIO, "cannot create %s", tmp);
        free(tmp);
        return rc;
    }
    int w = write_table(t, f, fmt);
    if (fclose(f) != 0) w = -1;
    /* The old file goes first: renaming over it makes ext4 (auto_da_alloc)
     * write the new file's data out at once, 30 ms for 50 MB, which
     * nothing here needs. Readers still never see a partial file, and a
     * failed write leaves the old one. */
    if (w == 0) remove(path);
    if (w != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return mf__err(err, MF_EIO, "cannot write %s", path);
    }
    free(tmp);
    return MF_OK;
}
