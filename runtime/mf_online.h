/*
 * mf_online.h — online serving internals: entity keys (entity_key.c),
 * packed rows (store_sqlite.c), the Redis store (store_redis.c, murmur3.c),
 * materialization (materialize.c) and reads (online.c).
 */
#ifndef MF_ONLINE_H
#define MF_ONLINE_H

#include "mf_internal.h"
#include "mf_table.h"

/* One join-key value: integers, bools and timestamps in i; text in s/len. */
typedef struct mf__kval {
    int64_t i;
    const char *s;
    size_t len;
} mf__kval;

/* order[0..n) = indices of names in sorted order. */
void mf__ekey_order(const char *const *names, size_t n, size_t *order);
/* Append the v3 serialization of one entity key. Returns -1 for a key type
 * Feast cannot serialize (floats, lists) or an Int32 value out of range. */
int mf__ekey_serialize(mf__buf *out, const char *const *names,
                       const Mf__ValueType *types, const mf__kval *vals,
                       size_t n, const size_t *order);
/* Decode moonfeast's internal key bytes (keymap keys) into values that
 * point into p. Returns -1 when p is short. */
int mf__ekey_decode_internal(const unsigned char *p, size_t len,
                             const Mf__ValueType *types, size_t n,
                             mf__kval *vals);
/* Append the internal key bytes of one value given as text, typed t.
 * Returns 0, 1 for null (nothing appended), -1 when the text is not a
 * value of t. */
int mf__key_append_text(mf__buf *k, Mf__ValueType t, const char *p, size_t len);

/* Open an online store written in Lua (online_store.module; store_lua.c).
 * The module is loaded on the first call. */
int mf__online_lua_open(const mf__config *cfg, mf__online **out, mf_error *err);

/* A row's feature values packed as the SQLite store keeps them (and the
 * Lua store hands them to its module, opaque): u16 count, then per feature
 * its name (u8 length, or 255 and a u32 length) and its value (a type
 * byte, 0 for null, then the value). mf__row_pack appends row `row` of the
 * view's feature columns feat[] to b; a cell the store cannot keep is an
 * error naming it. mf__row_unpack appends one value per requested feature
 * of rb (rb->out, rb->feat_idx) from a packed row (features it lacks and
 * values of another type than the feature's read as null); `where` names
 * the store in messages. */
int mf__row_pack(mf__buf *b, const Mf__FeatureViewSpec *view, const struct mf__col *feat,
                 size_t row, mf_error *err);
int mf__row_unpack(const unsigned char *p, size_t len, mf__read_batch *rb, const char *where,
                   mf_error *err);

/* MurmurHash3 x86_32 of key[0..len) with seed (murmur3.c). */
uint32_t mf__murmur3_32(const void *key, size_t len, uint32_t seed);

/* The options of a Redis online store (online_store: connection_string,
 * key_ttl_seconds, connect_timeout_ms, command_timeout_ms, redis_type). */
typedef struct mf__redis_opts {
    const char *config_path;       /* for messages */
    const char *connection_string; /* NULL: localhost:6379 */
    int64_t key_ttl_seconds;       /* 0: none */
    int64_t connect_timeout_ms;    /* <= 0: 1000 */
    int64_t command_timeout_ms;    /* <= 0: 1000 */
    const char *redis_type;        /* NULL or "redis": one server; "redis_cluster" */
} mf__redis_opts;

/* Open a Redis online store. Connects lazily, on the first call that needs
 * Redis. *out is closed with (*out)->vt->close. */
int mf__online_redis_open(const mf__redis_opts *o, mf__online **out, mf_error *err);

/* Redis Cluster's hash slot of key[0..len): CRC16 (XMODEM) mod 16384, of
 * the hash tag only when the key has one (redis_slot.c). */
unsigned mf__redis_slot(const void *key, size_t len);

/* The DUMP payload (RESTORE's argument) of a hash made of n items (fields
 * and values alternating; n even, 2 to 65534), appended to out: the bytes
 * Redis 7.0 dumps for a hash one HSET of those fields in that order made
 * while it is a listpack (every field and value at most 64 bytes, at most
 * 128 fields, the server's defaults). 0, or -1 for a bad n (redis_dump.c). */
int mf__redis_dump_hash(mf__buf *out, const char *const *items, const size_t *lens, size_t n);

/* CRC-64 (Jones), as Redis checks a DUMP payload; crc 0 to start. */
uint64_t mf__crc64_jones(uint64_t crc, const void *data, size_t len);

/* What a Redis store followed since it was opened (for tests): MOVED and
 * ASK redirections, TRYAGAIN answers, slot map refreshes, calls run again
 * on a new slot map. All 0 for another store. */
typedef struct mf__redis_counts {
    uint64_t moved, ask, tryagain, refreshes, retries;
} mf__redis_counts;
void mf__redis_counts_get(const mf__online *o, mf__redis_counts *out);

/* Same for row i of column c (null -> 1): text is parsed; an integer is
 * held to the rules of its text (Int32 range, Bool 0 or 1, UnixTimestamp
 * epoch seconds in the years 0001..9999); a timestamp column fits only a
 * UnixTimestamp key. */
int mf__key_append_col(mf__buf *k, Mf__ValueType t, const mf__col *c, size_t i);

#endif
