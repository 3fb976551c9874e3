/*
 * thrift.c — the Thrift compact protocol, reading and writing (mf_thrift.h).
 *
 * Only what Parquet's metadata uses: structs of fields with delta or long
 * field ids, bools in the field header, zigzag varint integers, doubles,
 * binaries, lists/sets and maps (maps are only skipped). The reader never
 * trusts a length: every count and size is checked against the bytes that
 * are left, nesting is limited to MF__TC_MAX_DEPTH, and a varint longer
 * than 10 bytes is malformed.
 */
#include <string.h>

#include "mf_thrift.h"

static void fail(mf__tc *tc, const char *why) {
    if (!tc->bad) tc->bad = why;
    tc->p = tc->end;
}

uint64_t mf__tc_varint(mf__tc *tc) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (tc->p >= tc->end) {
            fail(tc, "the metadata ends inside a number");
            return 0;
        }
        uint8_t b = *tc->p++;
        if (shift == 63 && b > 1) break;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    fail(tc, "a malformed number in the metadata");
    return 0;
}

int64_t mf__tc_i64(mf__tc *tc) {
    uint64_t u = mf__tc_varint(tc);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int32_t mf__tc_i32(mf__tc *tc) {
    int64_t v = mf__tc_i64(tc);
    if (v < INT32_MIN || v > INT32_MAX) {
        fail(tc, "a 32-bit number of the metadata is out of range");
        return 0;
    }
    return (int32_t)v;
}

const uint8_t *mf__tc_binary(mf__tc *tc, size_t *len) {
    uint64_t n = mf__tc_varint(tc);
    if (tc->bad || n > (uint64_t)(tc->end - tc->p)) {
        fail(tc, "a string of the metadata runs past its end");
        *len = 0;
        return (const uint8_t *)"";
    }
    const uint8_t *p = tc->p;
    tc->p += n;
    *len = (size_t)n;
    return p;
}

size_t mf__tc_list(mf__tc *tc, uint8_t *etype) {
    if (tc->p >= tc->end) {
        fail(tc, "the metadata ends inside a list");
        *etype = 0;
        return 0;
    }
    uint8_t h = *tc->p++;
    *etype = h & 0x0f;
    uint64_t n = h >> 4;
    if (n == 15) n = mf__tc_varint(tc);
    if (tc->bad || n > (uint64_t)(tc->end - tc->p)) {
        fail(tc, "a list of the metadata is longer than its bytes");
        return 0;
    }
    return (size_t)n;
}

void mf__tc_struct_begin(mf__tc *tc, int16_t *last) {
    *last = 0;
    if (++tc->depth > MF__TC_MAX_DEPTH) fail(tc, "the metadata nests too deep");
}

void mf__tc_struct_end(mf__tc *tc) { tc->depth--; }

bool mf__tc_next_field(mf__tc *tc, int16_t *last, mf__tc_field *f) {
    if (tc->bad) return false;
    if (tc->p >= tc->end) {
        fail(tc, "the metadata ends inside a struct");
        return false;
    }
    uint8_t h = *tc->p++;
    f->type = h & 0x0f;
    f->bval = false;
    if (f->type == MF__TC_STOP) return false;
    uint8_t delta = h >> 4;
    if (delta) {
        f->id = (int16_t)(*last + delta);
    } else {
        int64_t id = mf__tc_i64(tc);
        if (id < INT16_MIN || id > INT16_MAX) fail(tc, "a malformed field id in the metadata");
        f->id = (int16_t)id;
    }
    if (f->type > MF__TC_STRUCT) {
        fail(tc, "an unknown value type in the metadata");
        return false;
    }
    if (f->type == MF__TC_TRUE || f->type == MF__TC_FALSE) f->bval = f->type == MF__TC_TRUE;
    *last = f->id;
    return !tc->bad;
}

bool mf__tc_bool(mf__tc *tc, const mf__tc_field *f) {
    if (f) return f->bval;
    if (tc->p >= tc->end) {
        fail(tc, "the metadata ends inside a list");
        return false;
    }
    return *tc->p++ == 1;
}

void mf__tc_skip(mf__tc *tc, uint8_t type) {
    if (tc->bad) return;
    switch (type) {
    case MF__TC_TRUE:
    case MF__TC_FALSE: /* a list element: one byte */
    case MF__TC_I8:
        if (tc->p >= tc->end) fail(tc, "the metadata ends inside a value");
        else tc->p++;
        return;
    case MF__TC_I16:
    case MF__TC_I32:
    case MF__TC_I64:
        mf__tc_varint(tc);
        return;
    case MF__TC_DOUBLE:
        if (tc->end - tc->p < 8) fail(tc, "the metadata ends inside a value");
        else tc->p += 8;
        return;
    case MF__TC_BINARY: {
        size_t n;
        mf__tc_binary(tc, &n);
        return;
    }
    case MF__TC_LIST:
    case MF__TC_SET: {
        uint8_t et;
        size_t n = mf__tc_list(tc, &et);
        if (++tc->depth > MF__TC_MAX_DEPTH) fail(tc, "the metadata nests too deep");
        for (size_t i = 0; i < n && !tc->bad; i++) mf__tc_skip(tc, et);
        tc->depth--;
        return;
    }
    case MF__TC_MAP: {
        uint64_t n = mf__tc_varint(tc);
        if (tc->bad) return;
        if (n == 0) return;
        if (tc->p >= tc->end || n > (uint64_t)(tc->end - tc->p)) {
            fail(tc, "a map of the metadata is longer than its bytes");
            return;
        }
        uint8_t kv = *tc->p++;
        if (++tc->depth > MF__TC_MAX_DEPTH) fail(tc, "the metadata nests too deep");
        for (uint64_t i = 0; i < n && !tc->bad; i++) {
            mf__tc_skip(tc, kv >> 4);
            mf__tc_skip(tc, kv & 0x0f);
        }
        tc->depth--;
        return;
    }
    case MF__TC_STRUCT: {
        int16_t last;
        mf__tc_field f;
        mf__tc_struct_begin(tc, &last);
        while (mf__tc_next_field(tc, &last, &f)) mf__tc_skip_field(tc, &f);
        mf__tc_struct_end(tc);
        return;
    }
    default:
        fail(tc, "an unknown value type in the metadata");
    }
}

void mf__tc_skip_field(mf__tc *tc, const mf__tc_field *f) {
    if (f->type == MF__TC_TRUE || f->type == MF__TC_FALSE) return;
    mf__tc_skip(tc, f->type);
}

/*---- Writing -------------------------------------------------------------*/

void mf__tw_init(mf__tw *w, mf__buf *b) {
    memset(w, 0, sizeof *w);
    w->b = b;
}

void mf__tw_varint(mf__tw *w, uint64_t v) {
    while (v >= 0x80) {
        mf__buf_putc(w->b, (char)(v | 0x80));
        v >>= 7;
    }
    mf__buf_putc(w->b, (char)v);
}

void mf__tw_zigzag(mf__tw *w, int64_t v) {
    mf__tw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void mf__tw_struct_begin(mf__tw *w) { w->last[++w->depth] = 0; }

void mf__tw_struct_end(mf__tw *w) {
    mf__buf_putc(w->b, 0);
    w->depth--;
}

void mf__tw_field(mf__tw *w, int16_t id, uint8_t type) {
    int16_t d = (int16_t)(id - w->last[w->depth]);
    if (d > 0 && d <= 15) {
        mf__buf_putc(w->b, (char)((d << 4) | type));
    } else {
        mf__buf_putc(w->b, (char)type);
        mf__tw_zigzag(w, id);
    }
    w->last[w->depth] = id;
}

void mf__tw_i32(mf__tw *w, int16_t id, int32_t v) {
    mf__tw_field(w, id, MF__TC_I32);
    mf__tw_zigzag(w, v);
}

void mf__tw_i64(mf__tw *w, int16_t id, int64_t v) {
    mf__tw_field(w, id, MF__TC_I64);
    mf__tw_zigzag(w, v);
}

void mf__tw_bool(mf__tw *w, int16_t id, bool v) {
    mf__tw_field(w, id, v ? MF__TC_TRUE : MF__TC_FALSE);
}

void mf__tw_raw_binary(mf__tw *w, const void *p, size_t n) {
    mf__tw_varint(w, n);
    mf__buf_put(w->b, p, n);
}

void mf__tw_binary(mf__tw *w, int16_t id, const void *p, size_t n) {
    mf__tw_field(w, id, MF__TC_BINARY);
    mf__tw_raw_binary(w, p, n);
}

void mf__tw_list(mf__tw *w, int16_t id, uint8_t etype, size_t n) {
    mf__tw_field(w, id, MF__TC_LIST);
    if (n < 15) {
        mf__buf_putc(w->b, (char)((n << 4) | etype));
    } else {
        mf__buf_putc(w->b, (char)(0xf0 | etype));
        mf__tw_varint(w, n);
    }
}
