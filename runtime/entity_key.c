/*
 * entity_key.c — Feast's entity key serialization, version 3.
 *
 * docs/concepts.md, "Online stores": u32 number of join keys; for each join key in
 * sorted name order: u32 type 2, u32 name length, name bytes; then for each
 * value in the same order: u32 ValueType, u32 value length, value bytes
 * (String UTF-8, Bytes raw, Int32 4 bytes, Int64 and UnixTimestamp 8 bytes,
 * all little-endian; Bool 1 byte). Online stores key their rows by it, so
 * that moonfeast and Feast can share a Redis.
 *
 * Key values come from user data as text or as integer / timestamp
 * columns (C API frames); both forms follow the same rules: an Int32 out
 * of range, a Bool other than 0/1, a timestamp outside the years
 * 0001..9999 is an error, never a wrapped or coerced key.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_keymap.h"
#include "mf_online.h"
#include "mf_values.h"

static void put_u32(mf__buf *b, uint32_t v) {
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    mf__buf_put(b, x, 4);
}

static void put_u64(mf__buf *b, uint64_t v) {
    unsigned char x[8];
    for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
    mf__buf_put(b, x, 8);
}

void mf__ekey_order(const char *const *names, size_t n, size_t *order) {
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = 1; i < n; i++) {
        size_t x = order[i], j = i;
        while (j > 0 && strcmp(names[x], names[order[j - 1]]) < 0) order[j] = order[j - 1], j--;
        order[j] = x;
    }
}

int mf__ekey_serialize(mf__buf *out, const char *const *names, const Mf__ValueType *types,
                       const mf__kval *vals, size_t n, const size_t *order) {
    put_u32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const char *nm = names[order[i]];
        put_u32(out, 2);
        put_u32(out, (uint32_t)strlen(nm));
        mf__buf_puts(out, nm);
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = order[i];
        const mf__kval *v = &vals[k];
        Mf__ValueType t = types[k];
        switch (t) {
        case MF__VALUE_TYPE__VT_INT32:
            /* never wrap: callers check the range, this is the last guard */
            if (v->i < INT32_MIN || v->i > INT32_MAX) return -1;
            put_u32(out, (uint32_t)t);
            put_u32(out, 4);
            put_u32(out, (uint32_t)(int32_t)v->i);
            break;
        case MF__VALUE_TYPE__VT_INT64:
            put_u32(out, (uint32_t)t);
            put_u32(out, 8);
            put_u64(out, (uint64_t)v->i);
            break;
        case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: {
            /* Feast keys timestamps in whole seconds */
            int64_t sec = v->i / 1000000 - (v->i % 1000000 < 0);
            put_u32(out, (uint32_t)t);
            put_u32(out, 8);
            put_u64(out, (uint64_t)sec);
            break;
        }
        case MF__VALUE_TYPE__VT_BOOL:
            put_u32(out, (uint32_t)t);
            put_u32(out, 1);
            mf__buf_putc(out, v->i ? 1 : 0);
            break;
        case MF__VALUE_TYPE__VT_STRING:
        case MF__VALUE_TYPE__VT_BYTES:
            put_u32(out, (uint32_t)t);
            put_u32(out, (uint32_t)v->len);
            mf__buf_put(out, v->s, v->len);
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* Internal key bytes (pit_join.c / materialize.c encoding: integers and
 * timestamps 8 bytes, bool 1, floats 8, text u32 length + bytes) to values. */
int mf__ekey_decode_internal(const unsigned char *p, size_t len, const Mf__ValueType *types,
                             size_t n, mf__kval *vals) {
    const unsigned char *end = p + len;
    for (size_t k = 0; k < n; k++) {
        memset(&vals[k], 0, sizeof vals[k]);
        switch (types[k]) {
        case MF__VALUE_TYPE__VT_BOOL:
            if (p + 1 > end) return -1;
            vals[k].i = *p++;
            break;
        case MF__VALUE_TYPE__VT_STRING:
        case MF__VALUE_TYPE__VT_BYTES: {
            uint32_t l;
            if (p + 4 > end) return -1;
            memcpy(&l, p, 4);
            p += 4;
            if (p + l > end) return -1;
            vals[k].s = (const char *)p;
            vals[k].len = l;
            p += l;
            break;
        }
        default:
            if (p + 8 > end) return -1;
            memcpy(&vals[k].i, p, 8);
            p += 8;
            break;
        }
    }
    return 0;
}

/* A float key's bytes: equal numbers give equal bytes, as keys compare in
 * SQL and pandas: -0 is 0, and every NaN is the one NaN (NaN keys match each
 * other, as in DuckDB and pandas merges). */
static void key_put_double(mf__buf *k, double d) {
    if (d == 0) d = 0.0;
    else if (isnan(d)) d = NAN;
    mf__buf_put(k, &d, 8);
}

int mf__key_append_text(mf__buf *k, Mf__ValueType t, const char *p, size_t len) {
    if (!p || !len) return 1;
    switch (t) {
    case MF__VALUE_TYPE__VT_INT32:
    case MF__VALUE_TYPE__VT_INT64: {
        int64_t v;
        if (mf__parse_int64(p, len, &v) != 0) return -1;
        if (t == MF__VALUE_TYPE__VT_INT32 && (v < INT32_MIN || v > INT32_MAX)) return -1;
        mf__buf_put(k, &v, 8);
        return 0;
    }
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: {
        int64_t v;
        if (mf__ts_parse(p, len, &v) != 0) return -1;
        mf__buf_put(k, &v, 8);
        return 0;
    }
    case MF__VALUE_TYPE__VT_BOOL: {
        bool b;
        if (mf__parse_bool(p, len, &b) != 0) return -1;
        mf__buf_putc(k, b ? 1 : 0);
        return 0;
    }
    case MF__VALUE_TYPE__VT_DOUBLE: {
        double d;
        if (mf__parse_double(p, len, &d) != 0) return -1;
        key_put_double(k, d);
        return 0;
    }
    case MF__VALUE_TYPE__VT_FLOAT: {
        float f;
        if (mf__parse_float(p, len, &f) != 0) return -1;
        key_put_double(k, f);
        return 0;
    }
    default: {
        uint32_t n = (uint32_t)len;
        mf__buf_put(k, &n, 4);
        mf__buf_put(k, p, len);
        return 0;
    }
    }
}


/* Key bytes of entity row i's value in column c, typed t. */
int mf__key_append_col(mf__buf *k, Mf__ValueType t, const mf__col *c, size_t i) {
    if (!c->valid[i]) return 1;
    if (c->sc == MF__SC_TEXT) {
        size_t len = c->off[i + 1] - c->off[i];
        return mf__key_append_text(k, t, c->heap + c->off[i], len);
    }
    if (t == MF__VALUE_TYPE__VT_DOUBLE || t == MF__VALUE_TYPE__VT_FLOAT) {
        /* a time is no float key (its text is not a number either) */
        if (c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) return -1;
        double d = mf__col_f64(c, i);
        if (t == MF__VALUE_TYPE__VT_FLOAT) d = mf__to_f32(d);
        key_put_double(k, d);
        return 0;
    }
    int64_t v = mf__col_i64(c, i);
    bool ts_col = c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP;
    switch (t) {
    case MF__VALUE_TYPE__VT_INT32:
        /* as for text: out of range is an error, never a wrapped value */
        if (ts_col || v < INT32_MIN || v > INT32_MAX) return -1;
        mf__buf_put(k, &v, 8);
        return 0;
    case MF__VALUE_TYPE__VT_INT64:
        if (ts_col) return -1;
        mf__buf_put(k, &v, 8);
        return 0;
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP:
        /* a timestamp column holds microseconds; an integer is epoch
         * seconds, as the same number given as text is */
        if (ts_col ? !mf__ts_in_range(v) : mf__ts_from_seconds(v, &v) != 0) return -1;
        mf__buf_put(k, &v, 8);
        return 0;
    case MF__VALUE_TYPE__VT_BOOL:
        /* 0 and 1 only, as for text */
        if (ts_col || (v != 0 && v != 1)) return -1;
        mf__buf_putc(k, v ? 1 : 0);
        return 0;
    default: {
        char num[32];
        int n = snprintf(num, sizeof num, "%lld", (long long)v);
        return mf__key_append_text(k, t, num, (size_t)n);
    }
    }
}

