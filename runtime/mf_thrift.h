/*
 * mf_thrift.h — the Thrift compact protocol, both ways (thrift.c), for
 * Parquet's metadata (parquet.c, parquet_write.c).
 *
 * Reading: a cursor over bytes that never reads past its end. Every read
 * sets tc->bad (and leaves the cursor stuck) when the bytes end early or a
 * value is malformed; callers check tc->bad once after a struct. Structs
 * nest at most MF__TC_MAX_DEPTH deep, lists hold at most a count the
 * remaining bytes could encode, so no input makes the reader recurse
 * without bound or allocate more than its size allows.
 *
 * Writing: into an mf__buf; a struct is written field by field with its
 * field ids in increasing order (the delta form) and closed with a stop.
 */
#ifndef MF_THRIFT_H
#define MF_THRIFT_H

#include "mf_internal.h"

/* Compact protocol type codes. */
enum {
    MF__TC_STOP = 0, MF__TC_TRUE = 1, MF__TC_FALSE = 2, MF__TC_I8 = 3, MF__TC_I16 = 4,
    MF__TC_I32 = 5, MF__TC_I64 = 6, MF__TC_DOUBLE = 7, MF__TC_BINARY = 8, MF__TC_LIST = 9,
    MF__TC_SET = 10, MF__TC_MAP = 11, MF__TC_STRUCT = 12
};
#define MF__TC_MAX_DEPTH 32

typedef struct mf__tc {
    const uint8_t *p, *end;
    int depth;
    const char *bad; /* NULL, or what was wrong (static text) */
} mf__tc;

typedef struct mf__tc_field {
    int16_t id;
    uint8_t type; /* MF__TC_*; MF__TC_STOP at the end of a struct */
    bool bval;    /* for MF__TC_TRUE/FALSE fields */
} mf__tc_field;

/* Fields of a struct: call mf__tc_struct_begin, then mf__tc_next_field
 * until it returns false (the stop, or an error in tc->bad), reading or
 * skipping each field's value; then mf__tc_struct_end. */
void mf__tc_struct_begin(mf__tc *tc, int16_t *last);
bool mf__tc_next_field(mf__tc *tc, int16_t *last, mf__tc_field *f);
void mf__tc_struct_end(mf__tc *tc);
uint64_t mf__tc_varint(mf__tc *tc);
int64_t mf__tc_i64(mf__tc *tc); /* zigzag varint: i16, i32, i64 */
int32_t mf__tc_i32(mf__tc *tc); /* the same, refused when it does not fit 32 bits */
/* A bool field's value (from the field header), or a bool list element. */
bool mf__tc_bool(mf__tc *tc, const mf__tc_field *f);
/* Binary/string: *len bytes at the returned pointer (into the input). */
const uint8_t *mf__tc_binary(mf__tc *tc, size_t *len);
/* List or set header: element type and count (checked against the bytes
 * left: every element takes at least one byte, bools and all). */
size_t mf__tc_list(mf__tc *tc, uint8_t *etype);
/* Skip a value of the given type (structs, lists and maps too). */
void mf__tc_skip(mf__tc *tc, uint8_t type);
/* Skip a field's value: mf__tc_skip for its type (bool fields have none). */
void mf__tc_skip_field(mf__tc *tc, const mf__tc_field *f);

/* Writing. */
typedef struct mf__tw {
    mf__buf *b;
    int16_t last[MF__TC_MAX_DEPTH];
    int depth;
} mf__tw;
void mf__tw_init(mf__tw *w, mf__buf *b);
void mf__tw_struct_begin(mf__tw *w);
void mf__tw_struct_end(mf__tw *w);        /* writes the stop */
void mf__tw_field(mf__tw *w, int16_t id, uint8_t type);
void mf__tw_i32(mf__tw *w, int16_t id, int32_t v);
void mf__tw_i64(mf__tw *w, int16_t id, int64_t v);
void mf__tw_bool(mf__tw *w, int16_t id, bool v);
void mf__tw_binary(mf__tw *w, int16_t id, const void *p, size_t n);
void mf__tw_list(mf__tw *w, int16_t id, uint8_t etype, size_t n);
void mf__tw_varint(mf__tw *w, uint64_t v);
void mf__tw_zigzag(mf__tw *w, int64_t v);     /* a list element i32/i64 */
void mf__tw_raw_binary(mf__tw *w, const void *p, size_t n); /* a list element */

#endif
