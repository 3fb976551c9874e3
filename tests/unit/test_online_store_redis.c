/*
 * test_online_store_redis.c — the Redis online store (runtime/store_redis.c)
 * against real redis-server processes that the test starts on free loopback
 * ports (`--save '' --appendonly no`, data in a temporary folder) and
 * always stops (atexit, and PR_SET_PDEATHSIG should the test itself die).
 *
 * 1. The store contract (tests/unit/store_suite.h), but for the rule
 *    Feast's Redis layout cannot keep and store_redis.c documents:
 *    UnixTimestamp values are whole seconds. That suite test is replaced by
 *    a Redis version below that checks the Redis rule instead (list cells
 *    come back in the codec's canonical text, rebuilt from the list Values,
 *    as on every store).
 * 2. Feast's layout byte for byte, computed here independently: the key of
 *    driver_id=1001 in project "p", field names from a second MurmurHash3
 *    written below (checked against published vectors), Value and Timestamp
 *    encodings written out by hand; and a hash written by hand the way
 *    Feast writes it reads back.
 * 3. Values another writer left that moonfeast cannot take (event times
 *    and UnixTimestamps out of range, Strings that are not UTF-8): errors
 *    naming them.
 * 4. What only Redis has: first loads by RESTORE (the hash HSET would
 *    make; keys found, refusals), key TTL, db=N and password in the connection
 *    string, the write script lost (SCRIPT FLUSH), teardown of one view
 *    keeping other views' fields, a server that refuses, restarts or stops
 *    answering (clear error within the timeout, automatic reconnect).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "store_suite.h"
#include "mft_redis.h"

/*---- redis-server processes ----------------------------------------------------*/

static char *tmp_root;
static server main_srv, auth_srv;

static void stop_all(void) {
    server_stop(&main_srv);
    server_stop(&auth_srv);
}

/*---- Stores -----------------------------------------------------------------------*/

/* Open a Redis store with connection string conn (printf format), key TTL
 * and command timeout; NULL with err set on failure. */
static mf__online *open_redis(const char *conn, int64_t ttl, int64_t command_ms, mf_error *err) {
    char *path = mf__xasprintf("%s/feature_store.yaml", tmp_root);
    mf__redis_opts o = {path, conn, ttl, 1000, command_ms, NULL};
    mf__online *s = NULL;
    int rc = mf__online_redis_open(&o, &s, err);
    free(path);
    return rc == MF_OK ? s : NULL;
}

static mf__online *open_main(int64_t ttl, int64_t command_ms) {
    char conn[64];
    snprintf(conn, sizeof conn, "127.0.0.1:%d", main_srv.port);
    mf_error err;
    mf__online *s = open_redis(conn, ttl, command_ms, &err);
    if (!s) printf("#   open %s: %s\n", conn, err.message);
    return s;
}

/* The Redis key of id (join key "id", Int64) in project. */
static void key_of(mf__buf *k, int64_t id, const char *project) {
    mfs_keys keys;
    mfs_keys_make(&keys, &id, 1);
    k->len = 0;
    mf__buf_put(k, keys.p[0], keys.len[0]);
    mf__buf_puts(k, project);
    mfs_keys_free(&keys);
}

/* HLEN of a binary key, -1 on failure. */
static long long hlen(redisContext *c, const mf__buf *k) {
    redisReply *r = redisCommand(c, "HLEN %b", k->data, k->len);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

/* HGET of a binary key and field into out; 1 found, 0 absent, -1 error. */
static int hget(redisContext *c, const void *key, size_t klen, const void *field, size_t flen,
                mf__buf *out) {
    redisReply *r = redisCommand(c, "HGET %b %b", key, klen, field, flen);
    int rc = -1;
    out->len = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        mf__buf_put(out, r->str, r->len);
        rc = 1;
    } else if (r && r->type == REDIS_REPLY_NIL) {
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

static bool bytes_are(const mf__buf *got, const char *want, size_t n) {
    if (got->len == n && memcmp(got->data, want, n) == 0) return true;
    printf("#   got  ");
    for (size_t i = 0; i < got->len; i++) printf("%02x ", (unsigned char)got->data[i]);
    printf("\n#   want ");
    for (size_t i = 0; i < n; i++) printf("%02x ", (unsigned char)want[i]);
    printf("\n");
    return false;
}

/*---- A second MurmurHash3 x86_32 ---------------------------------------------------*/

/* Written again from the published algorithm, byte-wise, to check
 * runtime/murmur3.c against something that does not share its code. */
static uint32_t mm3_ref(const unsigned char *d, size_t n, uint32_t h) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t k = d[i] | d[i + 1] << 8 | d[i + 2] << 16 | (uint32_t)d[i + 3] << 24;
        k *= 0xcc9e2d51;
        k = k << 15 | k >> 17;
        k *= 0x1b873593;
        h ^= k;
        h = h << 13 | h >> 19;
        h = h * 5 + 0xe6546b64;
    }
    uint32_t k = 0;
    for (size_t j = 0; i + j < n; j++) k |= (uint32_t)d[i + j] << (8 * j);
    if (n & 3) {
        k *= 0xcc9e2d51;
        k = k << 15 | k >> 17;
        k *= 0x1b873593;
        h ^= k;
    }
    h ^= (uint32_t)n;
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

static void test_murmur3(void) {
    /* published vectors (SMHasher's verification values, Wikipedia) */
    CHECK(mf__murmur3_32("", 0, 0) == 0);
    CHECK(mf__murmur3_32("", 0, 1) == 0x514e28b7);
    CHECK(mf__murmur3_32("", 0, 0xffffffff) == 0x81f16f39);
    CHECK(mf__murmur3_32("hello", 5, 0) == 0x248bfa47);
    CHECK(mf__murmur3_32("The quick brown fox jumps over the lazy dog", 43, 0) == 0x2e4ff723);
    CHECK(mm3_ref((const unsigned char *)"hello", 5, 0) == 0x248bfa47);
    CHECK(mm3_ref((const unsigned char *)"", 0, 1) == 0x514e28b7);
    /* every length 0..70 and tail, seeds, high bytes */
    unsigned char buf[70];
    uint32_t x = 12345;
    for (size_t n = 0; n < sizeof buf; n++) {
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)((x = x * 1103515245 + 12345) >> 16);
        for (uint32_t seed = 0; seed < 3; seed++)
            CHECK(mf__murmur3_32(buf, n, seed * 0x9747b28c) == mm3_ref(buf, n, seed * 0x9747b28c));
    }
}

/*---- Layout, byte for byte ---------------------------------------------------------*/

/* The quickstart's view: driver_hourly_stats with conv_rate (Float32),
 * avg_daily_trips (Int64), name (String), keyed by driver_id. */
static Mf__FeatureView *driver_view(void) {
    static const char *const fn[] = {"conv_rate", "avg_daily_trips", "name"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_FLOAT, MF__VALUE_TYPE__VT_INT64,
                                       MF__VALUE_TYPE__VT_STRING};
    Mf__FeatureView *fv = mfs_view("p", "driver_hourly_stats", 0, fn, ft, 3);
    mf__pb_set_string(&fv->spec->entity_columns[0]->name, "driver_id");
    return fv;
}

/* "01000000 02000000 09000000 driver_id 04000000 08000000 e903000000000000"
 * + "p" (docs/concepts.md, "Online stores") */
static const char driver_key[] =
    "\x01\x00\x00\x00" "\x02\x00\x00\x00" "\x09\x00\x00\x00" "driver_id"
    "\x04\x00\x00\x00" "\x08\x00\x00\x00" "\xe9\x03\x00\x00\x00\x00\x00\x00" "p";

static void test_layout_bytes(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    Mf__FeatureView *fv = driver_view();
    const char *names[] = {"driver_id"};
    Mf__ValueType types[] = {MF__VALUE_TYPE__VT_INT64};
    size_t order[1] = {0};
    mf__kval kv = {1001, NULL, 0};
    mf__buf kb;
    mf__buf_init(&kb);
    CHECK(mf__ekey_serialize(&kb, names, types, &kv, 1, order) == 0);
    mf__col in[3];
    mf__col_init(&in[0], "conv_rate", MF__VALUE_TYPE__VT_FLOAT, false);
    mf__col_init(&in[1], "avg_daily_trips", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_init(&in[2], "name", MF__VALUE_TYPE__VT_STRING, false);
    mf__col_push_text(&in[0], "0.5", 3);
    mf__col_push_i64(&in[1], 308);
    mf__col_push_str(&in[2], "abc", 3);
    const unsigned char *kp = (const unsigned char *)kb.data;
    size_t kl = kb.len;
    int64_t ets = 1735689600500000; /* 2025-01-01T00:00:00.5Z */
    mf__write_batch b = {fv->spec, 1, &kp, &kl, &ets, NULL, in, NULL};
    MFS_OK(s->vt->write_batch(s, "p", &b, &mfs_e));

    redisContext *c = raw(&main_srv);
    CHECK(c);
    mf__buf v;
    mf__buf_init(&v);
    size_t klen = sizeof driver_key - 1;
    /* hash of "driver_hourly_stats:conv_rate": the second implementation,
     * and the value computed once with an independent implementation */
    const char *f1 = "driver_hourly_stats:conv_rate";
    uint32_t h = mm3_ref((const unsigned char *)f1, strlen(f1), 0);
    CHECK(h == 0xdae36061);
    char field[4] = {(char)h, (char)(h >> 8), (char)(h >> 16), (char)(h >> 24)};
    CHECK(memcmp(field, "\x61\x60\xe3\xda", 4) == 0);
    CHECK(hget(c, driver_key, klen, field, 4, &v) == 1);
    CHECK(bytes_are(&v, "\x35\x00\x00\x00\x3f", 5)); /* float_val (6, fixed32) 0.5 */
    const char *f2 = "driver_hourly_stats:avg_daily_trips";
    h = mm3_ref((const unsigned char *)f2, strlen(f2), 0);
    char field2[4] = {(char)h, (char)(h >> 8), (char)(h >> 16), (char)(h >> 24)};
    CHECK(hget(c, driver_key, klen, field2, 4, &v) == 1);
    CHECK(bytes_are(&v, "\x20\xb4\x02", 3)); /* int64_val (4, varint) 308 */
    const char *f3 = "driver_hourly_stats:name";
    h = mm3_ref((const unsigned char *)f3, strlen(f3), 0);
    char field3[4] = {(char)h, (char)(h >> 8), (char)(h >> 16), (char)(h >> 24)};
    CHECK(hget(c, driver_key, klen, field3, 4, &v) == 1);
    CHECK(bytes_are(&v, "\x12\x03" "abc", 5)); /* string_val (2, bytes) "abc" */
    /* _ts: Timestamp{seconds 1735689600 (varint 80 8b d2 bb 06), nanos
     * 500000000 (varint 80 ca b5 ee 01)} */
    CHECK(hget(c, driver_key, klen, "_ts:driver_hourly_stats", 23, &v) == 1);
    CHECK(bytes_are(&v, "\x08\x80\x8b\xd2\xbb\x06\x10\x80\xca\xb5\xee\x01", 12));
    /* moonfeast's created time beside Feast's fields (decimal µs; 0 here),
     * bound to the event time it was written with: "@" and the _ts bytes */
    CHECK(hget(c, driver_key, klen, "_created_ts:driver_hourly_stats", 31, &v) == 1);
    CHECK(bytes_are(&v, "0@\x08\x80\x8b\xd2\xbb\x06\x10\x80\xca\xb5\xee\x01", 14));
    /* exactly those five fields, no TTL */
    mf__buf kbuf;
    mf__buf_init(&kbuf);
    mf__buf_put(&kbuf, driver_key, klen);
    CHECK(hlen(c, &kbuf) == 5);
    redisReply *r = redisCommand(c, "TTL %b", driver_key, klen);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == -1);
    freeReplyObject(r);

    /* a null is written as the empty Value; a whole second has no nanos */
    mf__col_clear(&in[0]);
    mf__col_push_null(&in[0]);
    mf__col_clear(&in[1]);
    mf__col_push_i64(&in[1], -1);
    mf__col_clear(&in[2]);
    mf__col_push_str(&in[2], "", 0);
    ets = 1735787045000000; /* 2025-01-02T03:04:05Z */
    MFS_OK(s->vt->write_batch(s, "p", &b, &mfs_e));
    CHECK(hget(c, driver_key, klen, field, 4, &v) == 1);
    CHECK(v.len == 0);
    CHECK(hget(c, driver_key, klen, field2, 4, &v) == 1);
    CHECK(bytes_are(&v, "\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)); /* -1 */
    CHECK(hget(c, driver_key, klen, field3, 4, &v) == 1);
    CHECK(bytes_are(&v, "\x12\x00", 2)); /* the empty string is a value */
    CHECK(hget(c, driver_key, klen, "_ts:driver_hourly_stats", 23, &v) == 1);
    CHECK(bytes_are(&v, "\x08\xa5\x84\xd8\xbb\x06", 6));

    redisFree(c);
    mf__buf_free(&v);
    mf__buf_free(&kbuf);
    mf__buf_free(&kb);
    for (int i = 0; i < 3; i++) mf__col_free(&in[i]);
    s->vt->close(s);
    MFS_FREE(fv);
}

/* A hash written by hand the way Feast writes it reads back; a Value of
 * another type, or bytes that do not parse, read as null; a key without
 * "_ts:view" is not found. */
static void test_reads_feast_hash(void) {
    redisContext *c = raw(&main_srv);
    CHECK(c);
    const char *f1 = "driver_hourly_stats:conv_rate", *f2 = "driver_hourly_stats:avg_daily_trips",
               *f3 = "driver_hourly_stats:name";
    uint32_t h1 = mm3_ref((const unsigned char *)f1, strlen(f1), 0),
             h2 = mm3_ref((const unsigned char *)f2, strlen(f2), 0),
             h3 = mm3_ref((const unsigned char *)f3, strlen(f3), 0);
    char k1[4] = {(char)h1, (char)(h1 >> 8), (char)(h1 >> 16), (char)(h1 >> 24)};
    char k2[4] = {(char)h2, (char)(h2 >> 8), (char)(h2 >> 16), (char)(h2 >> 24)};
    char k3[4] = {(char)h3, (char)(h3 >> 8), (char)(h3 >> 16), (char)(h3 >> 24)};
    /* driver 1001: conv_rate 0.25 (float), avg_daily_trips as a double
     * (wrong type), name as an Int64 (wrong type; bytes that do not parse
     * are an error: test_reads_other_writer); ts seconds only (Feast writes
     * no nanos) */
    size_t klen = sizeof driver_key - 1;
    redisReply *r = redisCommand(c, "DEL %b", driver_key, klen);
    freeReplyObject(r);
    r = redisCommand(c, "HSET %b %b %b %b %b %b %b _ts:driver_hourly_stats %b", driver_key, klen,
                     k1, (size_t)4, "\x35\x00\x00\x80\x3e", (size_t)5, k2, (size_t)4,
                     "\x29\x00\x00\x00\x00\x00\x00\xf0\x3f", (size_t)9, k3, (size_t)4,
                     "\x20\x09", (size_t)2, "\x08\x80\x8b\xd2\xbb\x06", (size_t)6);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 4);
    freeReplyObject(r);
    /* driver 1002 has feature fields but no _ts */
    char key2[sizeof driver_key];
    memcpy(key2, driver_key, sizeof driver_key);
    key2[29] = (char)0xea;
    r = redisCommand(c, "HSET %b %b %b", key2, klen, k1, (size_t)4, "\x35\x00\x00\x80\x3e",
                     (size_t)5);
    freeReplyObject(r);
    redisFree(c);

    mf__online *s = open_main(0, 1000);
    CHECK(s);
    Mf__FeatureView *fv = driver_view();
    const char *names[] = {"driver_id"};
    Mf__ValueType types[] = {MF__VALUE_TYPE__VT_INT64};
    size_t order[1] = {0}, fi[3] = {0, 1, 2};
    mf__buf kb;
    mf__buf_init(&kb);
    mf__kval kv[2] = {{1001, NULL, 0}, {1002, NULL, 0}};
    size_t off[3];
    for (int i = 0; i < 2; i++) {
        off[i] = kb.len;
        CHECK(mf__ekey_serialize(&kb, names, types, &kv[i], 1, order) == 0);
    }
    off[2] = kb.len;
    const unsigned char *kp[2] = {(const unsigned char *)kb.data,
                                  (const unsigned char *)kb.data + off[1]};
    size_t kl[2] = {off[1], off[2] - off[1]};
    mf__col out[3];
    mf__col_init(&out[0], "conv_rate", MF__VALUE_TYPE__VT_FLOAT, false);
    mf__col_init(&out[1], "avg_daily_trips", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_init(&out[2], "name", MF__VALUE_TYPE__VT_STRING, false);
    mf__col *op[3] = {&out[0], &out[1], &out[2]};
    uint8_t found[2];
    int64_t ts[2];
    mf__read_batch rb = {fv->spec, 2, kp, kl, fi, 3, op, found, ts};
    MFS_OK(s->vt->read(s, "p", &rb, &mfs_e));
    CHECK(found[0] == 1 && ts[0] == 1735689600000000);
    CHECK(out[0].valid[0] && ((const float *)out[0].data)[0] == 0.25f);
    CHECK(!out[1].valid[0]); /* a double where an Int64 is expected */
    CHECK(!out[2].valid[0]); /* an Int64 where a String is expected */
    CHECK(found[1] == 0 && ts[1] == 0);
    CHECK(!out[0].valid[1] && !out[1].valid[1] && !out[2].valid[1]);
    for (int i = 0; i < 3; i++) mf__col_free(&out[i]);
    mf__buf_free(&kb);
    s->vt->close(s);
    MFS_FREE(fv);
}

/* Values another writer left that moonfeast cannot take are errors naming
 * the view, the feature and the value, not silent nulls or misses: an
 * event time or a UnixTimestamp (also in a list) out of the span of years
 * 1 to 9999 (2^62 seconds would overflow microseconds), Timestamp nanos out
 * of 0..999999999, a String that is not UTF-8 text. Fixed by hand, the same
 * hash reads; a String holding a NUL (Feast allows it) reads as it is.
 * Encodings written out here. */
static void test_reads_other_writer(void) {
    static const char *const fn[] = {"name", "t", "tl", "sl"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_STRING,
                                       MF__VALUE_TYPE__VT_UNIX_TIMESTAMP,
                                       MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST,
                                       MF__VALUE_TYPE__VT_STRING_LIST};
    Mf__FeatureView *fv = mfs_view("p", "ow", 0, fn, ft, 4);
    mf__pb_set_string(&fv->spec->entity_columns[0]->name, "driver_id");
    char k[4][4];
    for (int i = 0; i < 4; i++) {
        char ref[16];
        snprintf(ref, sizeof ref, "ow:%s", fn[i]);
        uint32_t h = mm3_ref((const unsigned char *)ref, strlen(ref), 0);
        k[i][0] = (char)h, k[i][1] = (char)(h >> 8), k[i][2] = (char)(h >> 16), k[i][3] = (char)(h >> 24);
    }
    /* Values: String "o\0k" (its field twice: the last wins, read through
     * protobuf-c, not the one-field fast path); UnixTimestamp 1735689600
     * (field 8, varint); list [1735689600] (field 18, Int64List field 1
     * packed); StringList ["a"] (field 12) */
    static const char ok_name[] = "\x12\x01x\x12\x03o\0k", ok_t[] = "\x40\x80\x8b\xd2\xbb\x06",
                      ok_tl[] = "\x92\x01\x07\x0a\x05\x80\x8b\xd2\xbb\x06",
                      ok_sl[] = "\x62\x03\x0a\x01" "a",
                      ok_ts[] = "\x08\x80\x8b\xd2\xbb\x06"; /* 2025-01-01T00:00:00Z */
    static const struct {
        const char *field; /* _ts:ow, or the feature */
        const char *bytes;
        size_t len;
        const char *want; /* in the error */
    } bad[] = {
        {"_ts:ow", "\x08\x80\x80\x80\x80\x80\x80\x80\x80\x40", 10, "seconds 4611686018427387904"},
        {"_ts:ow", "\x08\x01\x10\x80\x94\xeb\xdc\x03", 8, "nanos 1000000000"},
        {"_ts:ow", "\x08\x01\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13, "nanos -1"},
        {"_ts:ow", "\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11,
         "seconds -9223372036854775808"},
        {"t", "\x40\x80\x80\x80\x80\x80\x80\x80\x80\x40", 10, "UnixTimestamp 4611686018427387904"},
        {"tl", "\x92\x01\x0b\x0a\x09\x80\x80\x80\x80\x80\x80\x80\x80\x40", 14,
         "UnixTimestamp 4611686018427387904"},
        {"name", "\x12\x02\xff\xfe", 4, "not UTF-8"},
        {"name", "\x12\x02\xed\xa0", 4, "not UTF-8"},
        /* through protobuf-c (the field twice): bytes after a NUL are text
         * too (protobuf-c's strings ended at the NUL) */
        {"name", "\x12\x01x\x12\x03" "a\0\xff", 8, "not UTF-8"},
        /* a list element holding a NUL (it read as "a") */
        {"sl", "\x62\x05\x0a\x03" "a\0b", 7, "element 1 of the stored list is not UTF-8"},
        /* bytes that do not parse: a String claiming 5 bytes, holding 2;
         * an Int64 tag without its varint (they read as null) */
        {"name", "\x12\x05" "ab", 4, "the stored Value (4 bytes) does not parse"},
        {"t", "\x40", 1, "the stored Value (1 byte) does not parse"},
    };
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    redisContext *c = raw(&main_srv);
    CHECK(c);
    size_t klen = sizeof driver_key - 1;
    const unsigned char *kp[1] = {(const unsigned char *)driver_key};
    size_t kl[1] = {klen - 1}; /* without the project name */
    size_t fi[4] = {0, 1, 2, 3};
    for (size_t b = 0; b <= MF__ARRAY_LEN(bad); b++) {
        redisReply *r = redisCommand(c, "DEL %b", driver_key, klen);
        freeReplyObject(r);
        r = redisCommand(c, "HSET %b %b %b %b %b %b %b %b %b _ts:ow %b", driver_key, klen, k[0],
                         (size_t)4, ok_name, sizeof ok_name - 1, k[1], (size_t)4, ok_t,
                         sizeof ok_t - 1, k[2], (size_t)4, ok_tl, sizeof ok_tl - 1, k[3],
                         (size_t)4, ok_sl, sizeof ok_sl - 1, ok_ts, sizeof ok_ts - 1);
        CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 5);
        freeReplyObject(r);
        if (b < MF__ARRAY_LEN(bad)) { /* spoil one field */
            const char *f = bad[b].field;
            size_t flen = strlen(f) == 6 ? 6 : 4;
            if (flen == 4)
                f = k[strcmp(f, "name") == 0 ? 0 : strcmp(f, "t") == 0 ? 1 : strcmp(f, "tl") == 0 ? 2 : 3];
            r = redisCommand(c, "HSET %b %b %b", driver_key, klen, f, flen, bad[b].bytes,
                             bad[b].len);
            freeReplyObject(r);
        }
        mf__col out[4];
        mf__col *op[4] = {&out[0], &out[1], &out[2], &out[3]};
        for (int i = 0; i < 4; i++) mf__col_init(&out[i], fn[i], ft[i], false);
        uint8_t found[1];
        int64_t ts[1];
        mf__read_batch rb = {fv->spec, 1, kp, kl, fi, 4, op, found, ts};
        mf_error err;
        err.message[0] = 0;
        int rc = s->vt->read(s, "p", &rb, &err);
        if (b == MF__ARRAY_LEN(bad)) { /* nothing spoiled */
            MFS_OK(rc);
            CHECK(found[0] == 1 && ts[0] == INT64_C(1735689600000000));
            CHECK(mfs_text_is(&out[0], 0, "o\0k", 3));
            CHECK(mfs_i64(&out[1], 0) == INT64_C(1735689600000000));
            CHECK(mfs_text_is(&out[2], 0, "[\"2025-01-01T00:00:00Z\"]", 24));
            CHECK(mfs_text_is(&out[3], 0, "[\"a\"]", 5));
        } else {
            if (rc != MF_ESTORE) printf("#   case %zu read without an error\n", b);
            CHECK(rc == MF_ESTORE);
            CHECK_HAS(err.message, "feature view 'ow'");
            CHECK_HAS(err.message, bad[b].want);
            if (bad[b].field[0] != '_') CHECK_HAS(err.message, bad[b].field);
        }
        for (int i = 0; i < 4; i++) mf__col_free(&out[i]);
    }
    redisReply *r = redisCommand(c, "DEL %b", driver_key, klen);
    freeReplyObject(r);
    redisFree(c);
    s->vt->close(s);
    MFS_FREE(fv);
}

/*---- Redis versions of the suite's created_ts and timestamp tests --------------------*/

/* The span of moonfeast's timestamps: 0001-01-01T00:00:00Z and
 * 9999-12-31T23:59:59.999999Z, in microseconds. */
#define TS_FIRST (INT64_C(-62135596800) * 1000000)
#define TS_LAST (INT64_C(253402300799) * 1000000 + 999999)

/* A created time another writer left stale: moonfeast writes (T0, created
 * 100); Feast writes a newer row (T0 + 1 s) over it, touching only its own
 * fields, so "_created_ts:view" still holds moonfeast's; a moonfeast row at
 * T0 + 1 s created at 50 must win against Feast's row (which counts as
 * created at the smallest time), not lose to the stale 100. A plain
 * decimal (written before the created time was bound to its event time)
 * is taken as the stored row's. */
static void test_created_stale(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "stale_redis";
    Mf__FeatureView *fv = mfs_view1(project, "st");
    int64_t t0 = MFS_T0, t1 = MFS_T0 + 1000000;
    MFS_OK(mfs_put1(s, project, fv, 1, t0, 100, 1, 1, &mfs_e));
    redisContext *c = raw(&main_srv);
    CHECK(c);
    mf__buf k, enc;
    mf__buf_init(&k), mf__buf_init(&enc);
    key_of(&k, 1, project);
    uint32_t h = mm3_ref((const unsigned char *)"st:v", 4, 0);
    char fk[4] = {(char)h, (char)(h >> 8), (char)(h >> 16), (char)(h >> 24)};
    /* Feast's write of T0 + 1 s, value 2: Timestamp seconds (field 1) and
     * an Int64 Value (field 4) */
    uint64_t secs = (uint64_t)(t1 / 1000000); /* whole seconds: no nanos field */
    mf__buf_putc(&enc, 0x08);
    while (secs >= 0x80) mf__buf_putc(&enc, (char)(secs | 0x80)), secs >>= 7;
    mf__buf_putc(&enc, (char)secs);
    redisReply *r = redisCommand(c, "HSET %b _ts:st %b %b %b", k.data, k.len, enc.data, enc.len,
                                 fk, (size_t)4, "\x20\x02", (size_t)2);
    CHECK(r && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    MFS_OK(mfs_put1(s, project, fv, 1, t1, 50, 3, 1, &mfs_e));
    mfs_got g;
    int64_t id = 1;
    MFS_OK(mfs_read(s, project, fv, &id, 1, NULL, 0, &g, &mfs_e));
    if (g.cols[0].valid[0] && mfs_i64(&g.cols[0], 0) != 3)
        printf("#   Feast's row kept: %lld\n", (long long)mfs_i64(&g.cols[0], 0));
    CHECK(g.found[0] && g.cols[0].valid[0] && mfs_i64(&g.cols[0], 0) == 3);
    mfs_got_free(&g);
    /* a plain decimal created time counts for the stored row */
    r = redisCommand(c, "HSET %b _created_ts:st %s", k.data, k.len, "70");
    freeReplyObject(r);
    MFS_OK(mfs_put1(s, project, fv, 1, t1, 60, 4, 1, &mfs_e)); /* 60 < 70: loses */
    MFS_OK(mfs_read(s, project, fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(mfs_i64(&g.cols[0], 0) == 3);
    mfs_got_free(&g);
    MFS_OK(mfs_put1(s, project, fv, 1, t1, 80, 5, 1, &mfs_e)); /* 80 >= 70: wins */
    MFS_OK(mfs_read(s, project, fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(mfs_i64(&g.cols[0], 0) == 5);
    mfs_got_free(&g);
    /* bound again: equal times compare created times as before */
    MFS_OK(mfs_put1(s, project, fv, 1, t1, 79, 6, 1, &mfs_e));
    MFS_OK(mfs_read(s, project, fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(mfs_i64(&g.cols[0], 0) == 5);
    mfs_got_free(&g);
    redisFree(c);
    mf__buf_free(&k), mf__buf_free(&enc);
    s->vt->close(s);
    MFS_FREE(fv);
}

/* Event time decides; equal event times: the greater or equal created time
 * wins (kept in "_created_ts:view" beside Feast's fields). Timestamps
 * before the epoch and at both ends of the span decode exactly. */
static void test_ordering(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "ord_redis";
    Mf__FeatureView *ord = mfs_view1(project, "ord"), *neg = mfs_view1(project, "neg");
    Mf__FeatureView *fv = ord; /* MFS_STEP writes to fv */
    const int64_t T = MFS_T0;
    MFS_STEP(T + 200, 5, 1, T + 200, 1);        /* first write */
    MFS_STEP(T + 100, 999, 2, T + 200, 1);      /* older event, newer created: loses */
    MFS_STEP(T + 199, 5, 3, T + 200, 1);        /* 1 µs older: loses */
    MFS_STEP(T + 200, 4, 4, T + 200, 1);        /* same event, smaller created: loses */
    MFS_STEP(T + 200, 5, 5, T + 200, 5);        /* same event, equal created: wins */
    MFS_STEP(T + 200, 6, 9, T + 200, 9);        /* same event, greater created: wins */
    MFS_STEP(T + 201, 0, 6, T + 201, 6);        /* newer event: wins */
    MFS_STEP(T - 1000000, 0, 7, T + 201, 6);    /* a second older: loses */
    MFS_STEP(-1000000, 0, 8, T + 201, 6);       /* before the epoch: loses */
    /* created times past 2^53 µs (after the year 2255) compare exactly */
    MFS_STEP(T + 300, INT64_C(253402300799999999), 10, T + 300, 10); /* newer event: wins */
    MFS_STEP(T + 300, INT64_C(253402300799999998), 11, T + 300, 10); /* created 1 µs less */
    MFS_STEP(T + 300, INT64_C(253402300799999999), 12, T + 300, 12); /* equal created: wins */
    MFS_STEP(T + 300, -5, 13, T + 300, 12);                          /* negative: loses */
    MFS_STEP(T + 301, -5, 14, T + 301, 14);                          /* newer event: wins */
    MFS_STEP(T + 301, -6, 15, T + 301, 14);                          /* -6 < -5: loses */
    MFS_STEP(T + 301, -4, 16, T + 301, 16);                          /* -4 > -5: wins */
    MFS_STEP(T + 301, INT64_C(-253402300799999999), 17, T + 301, 16);
    MFS_STEP(T + 302, INT64_C(-253402300799999998), 18, T + 302, 18);
    MFS_STEP(T + 302, INT64_C(-253402300799999999), 19, T + 302, 18); /* 1 µs less: loses */
    MFS_STEP(T + 302, INT64_C(-253402300799999997), 20, T + 302, 20); /* 1 µs more: wins */
    /* a key whose stored time is before the epoch */
    fv = neg;
    MFS_STEP(-5000001, 0, 1, -5000001, 1);
    MFS_STEP(-5000002, 0, 2, -5000001, 1);      /* older: loses */
    MFS_STEP(-5000000, 0, 3, -5000000, 3);      /* 1 µs newer: wins */
    MFS_STEP(TS_FIRST, 0, 4, -5000000, 3);      /* far older: 0001-01-01 */
    MFS_STEP(0, 0, 5, 0, 5);                    /* the epoch itself */
    MFS_STEP(TS_LAST, 0, 6, TS_LAST, 6);        /* the last microsecond of 9999 */
    MFS_STEP(TS_LAST - 1, 0, 7, TS_LAST, 6);
    MFS_FREE(ord);
    MFS_FREE(neg);
    s->vt->close(s);
}

/* The same key several times in one batch: event time decides, then the
 * created time. The keys are new to the server (no other test writes them):
 * a key's first row in a call is then written without a check, its later
 * rows must still be checked against it. */
static void test_ordering_in_batch(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "ordb_redis";
    Mf__FeatureView *fv = mfs_view1(project, "ordb");
    mf__col c;
    mf__col_init(&c, "v", MF__VALUE_TYPE__VT_INT64, false);
    int64_t ids[7] = {701, 701, 702, 702, 703, 703, 703};
    int64_t ets[7] = {MFS_T0 + 50, MFS_T0 + 10, MFS_T0 + 10, MFS_T0 + 50, MFS_T0, MFS_T0, MFS_T0 - 1};
    int64_t cts[7] = {0, 0, 0, 0, 9, 3, 99};
    int64_t vals[7] = {11, 12, 21, 22, 31, 32, 33};
    for (size_t i = 0; i < 7; i++) mf__col_push_i64(&c, vals[i]);
    MFS_OK(mfs_write(s, project, fv, ids, ets, cts, &c, NULL, 7, &mfs_e));
    int64_t rids[3] = {701, 702, 703};
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, rids, 3, NULL, 0, &g, &mfs_e));
    CHECK(mfs_i64(&g.cols[0], 0) == 11 && g.ts[0] == MFS_T0 + 50);
    CHECK(mfs_i64(&g.cols[0], 1) == 22 && g.ts[1] == MFS_T0 + 50);
    CHECK(mfs_i64(&g.cols[0], 2) == 31 && g.ts[2] == MFS_T0);
    mfs_got_free(&g);
    mf__col_free(&c);
    MFS_FREE(fv);
    s->vt->close(s);
}

/* The write script decodes the usual Timestamps (seconds of 5 varint
 * bytes: 2^28 to 2^35 - 1, 1978 to 3058; nanos of up to 5 bytes) by a
 * short path and every other one by the general decoder: times on both
 * sides of each bound, compared across the two, order as they should. */
static void test_ordering_bounds(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "ordx_redis";
    Mf__FeatureView *fv = mfs_view1(project, "ordx");
    const int64_t S = 1000000, S28 = INT64_C(268435456) * S, S35 = INT64_C(34359738368) * S;
    MFS_STEP(S28 - 1, 0, 1, S28 - 1, 1);          /* 4-byte seconds, nanos 999999000 */
    MFS_STEP(S28 - 2, 0, 2, S28 - 1, 1);          /* 1 µs older: loses */
    MFS_STEP(S28, 0, 3, S28, 3);                  /* 5-byte seconds, no nanos: wins */
    MFS_STEP(S28 - 1, 0, 4, S28, 3);              /* loses */
    MFS_STEP(S28 + 268436, 0, 5, S28 + 268436, 5); /* nanos 268436000 (5 bytes): wins */
    MFS_STEP(S28 + 268435, 0, 6, S28 + 268436, 5); /* nanos 268435000 (4 bytes): loses */
    MFS_STEP(S28 + 999999, 0, 7, S28 + 999999, 7);
    MFS_STEP(S28 + S, 0, 8, S28 + S, 8);          /* the next second, no nanos */
    MFS_STEP(S28 + 999999, 9, 9, S28 + S, 8);     /* loses */
    MFS_STEP(S35 - 1, 0, 10, S35 - 1, 10);        /* the last µs of 5-byte seconds */
    MFS_STEP(S35 - 2, 0, 11, S35 - 1, 10);
    MFS_STEP(S35, 0, 12, S35, 12);                /* 6-byte seconds: wins */
    MFS_STEP(S35 - 1, 0, 13, S35, 12);            /* loses */
    MFS_STEP(S35, 5, 14, S35, 14);                /* equal, greater created: wins */
    MFS_STEP(S35, 4, 15, S35, 14);                /* equal, smaller created: loses */
    MFS_STEP(S35 + 1, 0, 16, S35 + 1, 16);
    /* another writer's Timestamp with its fields the other way round
     * (nanos first: the general decoder) against moonfeast's of the same
     * second (the short path): the nanos decide */
    const int64_t sec = INT64_C(268435461);
    unsigned char other[16];
    size_t n = 0;
    other[n++] = 0x10; /* nanos 500000000 */
    for (uint64_t v = 500000000; ; v >>= 7) {
        other[n++] = (unsigned char)(v < 128 ? v : (v & 127) | 128);
        if (v < 128) break;
    }
    other[n++] = 0x08; /* seconds */
    for (uint64_t v = (uint64_t)sec; ; v >>= 7) {
        other[n++] = (unsigned char)(v < 128 ? v : (v & 127) | 128);
        if (v < 128) break;
    }
    mf__buf k;
    mf__buf_init(&k);
    key_of(&k, 1, project);
    redisContext *c = raw(&main_srv);
    CHECK(c);
    redisReply *r = redisCommand(c, "DEL %b", k.data, k.len);
    freeReplyObject(r);
    r = redisCommand(c, "HSET %b _ts:ordx %b", k.data, k.len, other, n);
    CHECK(r && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    redisFree(c);
    mf__buf_free(&k);
    MFS_STEP(sec * S + 499999, 0, 17, sec * S + 500000, INT64_MIN); /* 1 µs older: loses */
    MFS_STEP(sec * S + 500001, 0, 18, sec * S + 500001, 18);         /* 1 µs newer: wins */
    MFS_FREE(fv);
    s->vt->close(s);
}

/* Rows of keys the store already holds, several rows of a key in one
 * batch: each row is checked against what is stored at that moment, the
 * stored row or the batch's earlier rows, in the same script call or an
 * earlier one (40 keys, 3 rows each, interleaved: two calls), for a view
 * of 150 features (its HSET is sent in chunks). */
static void test_ordering_populated(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "ordp_redis";
    enum { N = 40, NF = 150 };
    char *names[NF];
    Mf__ValueType types[NF];
    for (size_t f = 0; f < NF; f++) {
        names[f] = mf__xasprintf("f%zu", f);
        types[f] = MF__VALUE_TYPE__VT_INT64;
    }
    Mf__FeatureView *fv = mfs_view(project, "ordp", 0, (const char *const *)names, types, NF);
    mf__col *c = mf__xcalloc(NF, sizeof *c);
    for (size_t f = 0; f < NF; f++) mf__col_init(&c[f], names[f], types[f], false);
    int64_t ids[3 * N], ets[3 * N];
    /* the store holds every key at T0 + 100 s, value 1000 + key */
    for (size_t i = 0; i < N; i++) {
        ids[i] = (int64_t)i + 1;
        ets[i] = MFS_T0 + 100 * INT64_C(1000000);
        for (size_t f = 0; f < NF; f++) mf__col_push_i64(&c[f], 1000 + (int64_t)i + 1);
    }
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, c, NULL, N, &mfs_e));
    /* then three rows per key, interleaved: key k (1-based) gets event
     * times (k mod 4): 0: 50, 150, 120 s; 1: 90, 80, 99 s (all older);
     * 2: 100, 100, 101 s; 3: 200, 300, 250 s; values key * 10 + row */
    static const int64_t secs[4][3] = {{50, 150, 120}, {90, 80, 99}, {100, 100, 101},
                                       {200, 300, 250}};
    static const int want_row[4] = {1, -1, 2, 1};
    for (size_t f = 0; f < NF; f++) mf__col_clear(&c[f]);
    for (size_t r = 0; r < 3; r++)
        for (size_t i = 0; i < N; i++) {
            size_t at = r * N + i;
            ids[at] = (int64_t)i + 1;
            ets[at] = MFS_T0 + secs[(i + 1) % 4][r] * INT64_C(1000000);
            for (size_t f = 0; f < NF; f++)
                mf__col_push_i64(&c[f], ((int64_t)i + 1) * 10 + (int64_t)r + (int64_t)f * 100000);
        }
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, c, NULL, 3 * N, &mfs_e));
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, ids, N, NULL, 0, &g, &mfs_e));
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) {
        int64_t k = (int64_t)i + 1;
        int w = want_row[k % 4];
        int64_t ts = w < 0 ? MFS_T0 + 100 * INT64_C(1000000)
                           : MFS_T0 + secs[k % 4][w] * INT64_C(1000000);
        if (g.found[i] != 1 || g.ts[i] != ts) bad++;
        for (size_t f = 0; f < NF; f++) {
            int64_t v = w < 0 ? 1000 + k : k * 10 + w + (int64_t)f * 100000;
            if (mfs_i64(&g.cols[f], i) != v) bad++;
        }
    }
    mfs_got_free(&g);
    if (bad) printf("#   %zu cells or times wrong\n", bad);
    CHECK(bad == 0);
    for (size_t f = 0; f < NF; f++) {
        mf__col_free(&c[f]);
        free(names[f]);
    }
    free(c);
    MFS_FREE(fv);
    s->vt->close(s);
}

/* One batch of distinct keys through probe_batch's view: key ids[i] at
 * MFS_T0 + secs[i] seconds, value ids[i] * 100 + secs[i]. */
static void probe_batch(mf__online *s, const char *project, Mf__FeatureView *fv,
                        const int64_t *ids, const int64_t *secs, size_t n) {
    mf__col c;
    mf__col_init(&c, "v", MF__VALUE_TYPE__VT_INT64, false);
    int64_t ets[16];
    for (size_t i = 0; i < n; i++) {
        ets[i] = MFS_T0 + secs[i] * INT64_C(1000000);
        mf__col_push_i64(&c, ids[i] * 100 + secs[i]);
    }
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, &c, NULL, n, &mfs_e));
    mf__col_free(&c);
}

/* Whether key id holds the row of time MFS_T0 + sec seconds. */
static bool probe_holds(mf__online *s, const char *project, Mf__FeatureView *fv, int64_t id,
                        int64_t sec) {
    mfs_got g;
    mf_error e;
    if (mfs_read(s, project, fv, &id, 1, NULL, 0, &g, &e) != MF_OK) {
        printf("#   reading key %lld: %s\n", (long long)id, e.message);
        return false;
    }
    bool ok = g.found[0] == 1 && g.ts[0] == MFS_T0 + sec * INT64_C(1000000) &&
              mfs_i64(&g.cols[0], 0) == id * 100 + sec;
    if (!ok) printf("#   key %lld does not hold its row of %lld s\n", (long long)id, (long long)sec);
    mfs_got_free(&g);
    return ok;
}

/* The probe of a first load: after a batch of new keys, a call of distinct
 * keys reads its first key's stored time, and asks whether any key exists
 * only when that one is new; every key that exists is still checked. (1)
 * the first key new, a later one stored newer: that one stays; (2) the
 * first key stored newer, then new keys: the first stays, the new ones are
 * written (the first key's stored time is not taken for theirs); (3) the
 * first key stored older: written. */
static void test_probe(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "probe_redis";
    Mf__FeatureView *fv = mfs_view1(project, "probe");
    static const int64_t load[4] = {801, 802, 803, 804}, at100[4] = {100, 100, 100, 100};
    probe_batch(s, project, fv, load, at100, 4); /* a first load: the next calls probe */
    static const int64_t b1[4] = {811, 802, 812, 813}, s1[4] = {50, 50, 50, 50};
    probe_batch(s, project, fv, b1, s1, 4);
    CHECK(probe_holds(s, project, fv, 802, 100));
    CHECK(probe_holds(s, project, fv, 811, 50) && probe_holds(s, project, fv, 813, 50));
    static const int64_t load2[3] = {821, 822, 823}, at10[3] = {10, 10, 10};
    probe_batch(s, project, fv, load2, at10, 3); /* all new again: the next calls probe */
    static const int64_t b2[3] = {803, 831, 832}, s2[3] = {50, 50, 60};
    probe_batch(s, project, fv, b2, s2, 3);
    CHECK(probe_holds(s, project, fv, 803, 100));
    CHECK(probe_holds(s, project, fv, 831, 50) && probe_holds(s, project, fv, 832, 60));
    static const int64_t load3[2] = {841, 842};
    probe_batch(s, project, fv, load3, at10, 2);
    static const int64_t b3[3] = {821, 843, 822}, s3[3] = {20, 20, 5};
    probe_batch(s, project, fv, b3, s3, 3);
    CHECK(probe_holds(s, project, fv, 821, 20) && probe_holds(s, project, fv, 843, 20));
    CHECK(probe_holds(s, project, fv, 822, 10));
    MFS_FREE(fv);
    s->vt->close(s);
}

/* One store writing views of 1 to 70 features (a write script for each
 * field count, more than the store keeps loaded at once), twice over, with
 * a SCRIPT FLUSH between: every row lands. */
static void test_many_scripts(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "mscr_redis";
    enum { NV = 70 };
    char *names[NV];
    Mf__ValueType types[NV];
    for (size_t f = 0; f < NV; f++) {
        names[f] = mf__xasprintf("f%zu", f);
        types[f] = MF__VALUE_TYPE__VT_INT64;
    }
    mf__col c[NV];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            redisContext *rc = raw(&main_srv);
            CHECK(rc);
            redisReply *r = redisCommand(rc, "SCRIPT FLUSH");
            CHECK(r && r->type == REDIS_REPLY_STATUS);
            freeReplyObject(r);
            redisFree(rc);
        }
        for (size_t nf = 1; nf <= NV; nf++) {
            char vname[32];
            snprintf(vname, sizeof vname, "v%zu", nf);
            Mf__FeatureView *fv = mfs_view(project, vname, 0, (const char *const *)names, types, nf);
            int64_t ids[2] = {1, 2}, ets[2] = {MFS_T0 + pass, MFS_T0 + pass};
            for (size_t f = 0; f < nf; f++) {
                mf__col_init(&c[f], names[f], types[f], false);
                mf__col_push_i64(&c[f], (int64_t)(nf * 1000 + f) + pass);
                mf__col_push_i64(&c[f], -(int64_t)(nf * 1000 + f) - pass);
            }
            MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, c, NULL, 2, &mfs_e));
            mfs_got g;
            MFS_OK(mfs_read(s, project, fv, ids, 2, NULL, 0, &g, &mfs_e));
            size_t bad = 0;
            for (size_t f = 0; f < nf; f++)
                if (mfs_i64(&g.cols[f], 0) != (int64_t)(nf * 1000 + f) + pass ||
                    mfs_i64(&g.cols[f], 1) != -(int64_t)(nf * 1000 + f) - pass)
                    bad++;
            mfs_got_free(&g);
            if (bad) printf("#   pass %d, %zu features: %zu cells wrong\n", pass, nf, bad);
            CHECK(bad == 0);
            for (size_t f = 0; f < nf; f++) mf__col_free(&c[f]);
            MFS_FREE(fv);
        }
    }
    for (size_t f = 0; f < NV; f++) free(names[f]);
    s->vt->close(s);
}

/* mfs_cell_eq, but two empty texts compare equal without calling memcmp
 * (an empty-only column has no heap: memcmp(NULL, NULL, 0) is undefined
 * and UBSan stops on it). */
static bool cell_eq(const mf__col *a, size_t i, const mf__col *b, size_t j) {
    if (a->sc == MF__SC_TEXT && b->sc == MF__SC_TEXT && i < a->n && j < b->n && a->valid[i] &&
        b->valid[j] && a->off[i + 1] == a->off[i] && b->off[j + 1] == b->off[j])
        return true;
    return mfs_cell_eq(a, i, b, j);
}

/* The suite's type rows round-trip, but UnixTimestamp is whole seconds
 * (Feast's unix_timestamp_val): sub-second digits are floored away; and
 * lists come back as compact JSON from the list Values, so "[1e300]" reads
 * "[1e+300]" (every other list of the rows is compact already). */
static void test_types_seconds(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "types_redis";
    Mf__FeatureView *fv = mfs_view(project, "types", 0, mfs_type_names, mfs_type_types, MFS_NTYPES);
    mf__col in[MFS_NTYPES];
    mfs_type_rows(in);
    int64_t ids[3] = {10, -5, INT64_MAX};
    int64_t ets[3] = {MFS_T0, MFS_T0 + 1, MFS_T0 + 2};
    MFS_OK(mfs_write(s, project, fv, ids, ets, NULL, in, NULL, 3, &mfs_e));
    mfs_got g;
    MFS_OK(mfs_read(s, project, fv, ids, 3, NULL, 0, &g, &mfs_e));
    const size_t ts_col = 8, lf_col = 11;
    CHECK(mfs_type_types[ts_col] == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP);
    CHECK(mfs_type_types[lf_col] == MF__VALUE_TYPE__VT_DOUBLE_LIST);
    for (size_t i = 0; i < 3; i++) {
        CHECK(g.found[i] == 1 && g.ts[i] == ets[i]);
        for (size_t f = 0; f < MFS_NTYPES; f++) {
            if (f == ts_col) continue;
            if (f == lf_col && i == 1) { /* written "[1e300]": read back compact */
                CHECK(mfs_text_is(&g.cols[f], i, "[1e+300]", 8));
                continue;
            }
            if (!cell_eq(&g.cols[f], i, &in[f], i))
                printf("#   feature %s, row %zu differs\n", mfs_type_names[f], i);
            CHECK(cell_eq(&g.cols[f], i, &in[f], i));
        }
    }
    /* 2025-01-02T03:04:05.123456Z, 1970-01-01T00:00:00Z, 2200-12-31T23:59:59.999999Z */
    CHECK(mfs_i64(&g.cols[ts_col], 0) == 1735787045000000);
    CHECK(mfs_i64(&g.cols[ts_col], 1) == 0);
    CHECK(mfs_i64(&g.cols[ts_col], 2) == 7289654399000000);
    mfs_got_free(&g);
    /* a time before the epoch floors to the earlier second */
    mf__col t;
    mf__col_init(&t, "ts", MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, false);
    CHECK(mf__col_push_text(&t, "1969-12-31T23:59:59.5Z", 22) == 0);
    static const char *const tn[] = {"ts"};
    static const Mf__ValueType tt[] = {MF__VALUE_TYPE__VT_UNIX_TIMESTAMP};
    Mf__FeatureView *tv = mfs_view(project, "tsv", 0, tn, tt, 1);
    int64_t id = 1, e = MFS_T0;
    MFS_OK(mfs_write(s, project, tv, &id, &e, NULL, &t, NULL, 1, &mfs_e));
    MFS_OK(mfs_read(s, project, tv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(mfs_i64(&g.cols[0], 0) == -1000000);
    mfs_got_free(&g);
    mf__col_free(&t);
    MFS_FREE(tv);
    for (size_t f = 0; f < MFS_NTYPES; f++) mf__col_free(&in[f]);
    MFS_FREE(fv);
    s->vt->close(s);
}

/*---- Lists -------------------------------------------------------------------------*/

/* Write one list cell of type t as text and read it back; *out is the text
 * read (caller frees), NULL for null. Returns the write's code. */
static int list_trip(mf__online *s, Mf__ValueType t, const char *text, char **out, mf_error *err) {
    static const char *const fn[] = {"l"};
    Mf__ValueType ft[1] = {t};
    Mf__FeatureView *fv = mfs_view("lists", "l", 0, fn, ft, 1);
    mf__col c;
    mf__col_init(&c, "l", t, false);
    mf__col_push_str(&c, text, strlen(text));
    int64_t id = 1;
    static int64_t ets = 1000000; /* every write newer */
    ets += 1000000;
    *out = NULL;
    int rc = mfs_write(s, "lists", fv, &id, &ets, NULL, &c, NULL, 1, err);
    if (rc == MF_OK) {
        mfs_got g;
        rc = mfs_read(s, "lists", fv, &id, 1, NULL, 0, &g, err);
        if (rc == MF_OK && g.cols[0].valid[0])
            *out = mf__xstrndup(g.cols[0].heap + g.cols[0].off[0],
                                g.cols[0].off[1] - g.cols[0].off[0]);
        mfs_got_free(&g);
    }
    mf__col_free(&c);
    MFS_FREE(fv);
    return rc;
}

static void test_lists(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    static const struct {
        Mf__ValueType t;
        const char *in, *out;
    } cases[] = {
        {MF__VALUE_TYPE__VT_INT64_LIST, " [ 1 , -2,3 ] ", "[1,-2,3]"},
        {MF__VALUE_TYPE__VT_INT64_LIST, "[]", "[]"},
        {MF__VALUE_TYPE__VT_INT32_LIST, "[2147483647,-2147483648]", "[2147483647,-2147483648]"},
        {MF__VALUE_TYPE__VT_FLOAT_LIST, "[0.1, 1e3, -0]", "[0.1,1000,-0]"},
        {MF__VALUE_TYPE__VT_DOUBLE_LIST, "[0.1,2.5e-300]", "[0.1,2.5e-300]"},
        {MF__VALUE_TYPE__VT_BOOL_LIST, "[true,false, true]", "[true,false,true]"},
        {MF__VALUE_TYPE__VT_STRING_LIST, "[\"a\", \"\\u00e9\\n\\\"\", \"\\ud83d\\ude00\", \"\"]",
         "[\"a\",\"\xc3\xa9\\n\\\"\",\"\xf0\x9f\x98\x80\",\"\"]"},
        {MF__VALUE_TYPE__VT_BYTES_LIST, "[\"ab\", \"\\u0001\"]", "[\"ab\",\"\\u0001\"]"},
        {MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST, "[\"2025-01-01T00:00:00.9Z\", 0]",
         "[\"2025-01-01T00:00:00Z\",\"1970-01-01T00:00:00Z\"]"},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        char *got = NULL;
        MFS_OK(list_trip(s, cases[i].t, cases[i].in, &got, &mfs_e));
        if (!got || strcmp(got, cases[i].out) != 0)
            printf("#   %s: got %s, want %s\n", cases[i].in, got ? got : "(null)", cases[i].out);
        bool same = got && strcmp(got, cases[i].out) == 0;
        free(got);
        CHECK(same);
    }
    /* a cell that is not a list of the type: an error naming the view and
     * feature, and nothing written */
    static const struct {
        Mf__ValueType t;
        const char *in;
    } bad[] = {
        {MF__VALUE_TYPE__VT_INT64_LIST, "[1,,2]"},   {MF__VALUE_TYPE__VT_INT64_LIST, "[1.5]"},
        {MF__VALUE_TYPE__VT_INT32_LIST, "[2147483648]"}, {MF__VALUE_TYPE__VT_BOOL_LIST, "[1]"},
        {MF__VALUE_TYPE__VT_STRING_LIST, "[a]"},     {MF__VALUE_TYPE__VT_STRING_LIST, "[\"a\"] x"},
        {MF__VALUE_TYPE__VT_STRING_LIST, "[\"\\ud800\"]"}, {MF__VALUE_TYPE__VT_DOUBLE_LIST, "[1,2"},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(bad); i++) {
        char *got = NULL;
        mf_error err;
        err.message[0] = 0;
        int rc = list_trip(s, bad[i].t, bad[i].in, &got, &err);
        free(got);
        if (rc != MF_EDATA) printf("#   %s was accepted\n", bad[i].in);
        CHECK(rc == MF_EDATA);
        CHECK_HAS(err.message, "feature view 'l', feature 'l'");
    }
    s->vt->close(s);
}

/*---- Redis features ----------------------------------------------------------------*/

/* update with drop, and teardown, remove only the dropped views' fields;
 * a key left without fields is gone; a key of another project that ends
 * with the same bytes is untouched. */
static void test_drop_fields(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    const char *project = "dropf";
    static const char *const fn[] = {"a", "b"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_STRING};
    Mf__FeatureView *v1 = mfs_view(project, "one", 0, fn, ft, 2);
    Mf__FeatureView *v2 = mfs_view1(project, "two");
    Mf__FeatureView *v1x = mfs_view("xdropf", "one", 0, fn, ft, 2); /* "xdropf" ends in "dropf" */
    mf__col in[2];
    mf__col_init(&in[0], "a", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_init(&in[1], "b", MF__VALUE_TYPE__VT_STRING, false);
    int64_t ids[3] = {1, 2, 3}, ets[3] = {MFS_T0, MFS_T0, MFS_T0};
    for (int i = 0; i < 3; i++) {
        mf__col_push_i64(&in[0], i);
        mf__col_push_str(&in[1], "x", 1);
    }
    MFS_OK(mfs_write(s, project, v1, ids, ets, NULL, in, NULL, 3, &mfs_e));
    MFS_OK(mfs_write(s, "xdropf", v1x, ids, ets, NULL, in, NULL, 3, &mfs_e));
    MFS_OK(mfs_write(s, project, v2, ids, ets, NULL, in, NULL, 2, &mfs_e)); /* keys 1, 2 */
    redisContext *c = raw(&main_srv);
    CHECK(c);
    mf__buf k1, k3, kx;
    mf__buf_init(&k1);
    mf__buf_init(&k3);
    mf__buf_init(&kx);
    key_of(&k1, 1, project);
    key_of(&k3, 3, project);
    key_of(&kx, 1, "xdropf");
    /* a, b, _ts:one, _created_ts:one, v, _ts:two, _created_ts:two */
    CHECK(hlen(c, &k1) == 7);
    CHECK(hlen(c, &k3) == 4);
    CHECK(hlen(c, &kx) == 4);
    MFS_OK(mfs_update(s, project, v2, NULL, v1, &mfs_e)); /* drop "one" */
    CHECK(hlen(c, &k1) == 3);
    mf__buf v;
    mf__buf_init(&v);
    CHECK(hget(c, k1.data, k1.len, "_ts:two", 7, &v) == 1);
    CHECK(hget(c, k1.data, k1.len, "_ts:one", 7, &v) == 0);
    redisReply *r = redisCommand(c, "EXISTS %b", k3.data, k3.len);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0); /* emptied: gone */
    freeReplyObject(r);
    CHECK(hlen(c, &kx) == 4); /* the other project */
    mfs_got g;
    MFS_OK(mfs_read(s, project, v2, ids, 2, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && g.found[1] == 1 && mfs_i64(&g.cols[0], 1) == 1);
    mfs_got_free(&g);
    CHECK(mfs_reads_empty(s, project, v1, ids, 3));
    /* teardown of the rest */
    MFS_OK(s->vt->teardown(s, project, &v2, 1, &mfs_e));
    r = redisCommand(c, "EXISTS %b", k1.data, k1.len);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject(r);
    CHECK(hlen(c, &kx) == 4);
    redisFree(c);
    mf__buf_free(&v);
    mf__buf_free(&k1);
    mf__buf_free(&k3);
    mf__buf_free(&kx);
    mf__col_free(&in[0]);
    mf__col_free(&in[1]);
    MFS_FREE(v1);
    MFS_FREE(v2);
    MFS_FREE(v1x);
    s->vt->close(s);
}

/* key_ttl_seconds: every written key expires; an older write that loses
 * does not refresh it (it writes nothing). */
static void test_ttl(void) {
    mf__online *s = open_main(100, 1000);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("ttlp", "v");
    MFS_OK(mfs_put1(s, "ttlp", fv, 1, MFS_T0, 0, 1, 1, &mfs_e));
    redisContext *c = raw(&main_srv);
    CHECK(c);
    mf__buf k;
    mf__buf_init(&k);
    key_of(&k, 1, "ttlp");
    redisReply *r = redisCommand(c, "TTL %b", k.data, k.len);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > 90 && r->integer <= 100);
    freeReplyObject(r);
    r = redisCommand(c, "EXPIRE %b 1000", k.data, k.len);
    freeReplyObject(r);
    MFS_OK(mfs_put1(s, "ttlp", fv, 1, MFS_T0 - 1, 0, 2, 1, &mfs_e));
    r = redisCommand(c, "TTL %b", k.data, k.len);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > 900);
    freeReplyObject(r);
    redisFree(c);
    mf__buf_free(&k);
    MFS_FREE(fv);
    s->vt->close(s);
}

/*---- First loads by RESTORE (store_redis.c, restore_rows) ----------------------------*/

/* RESTORE's calls and failed ones (failed during the call + rejected
 * before it) since the last CONFIG RESETSTAT. */
static void restore_stats(redisContext *c, long long *calls, long long *failed) {
    *calls = *failed = 0;
    redisReply *r = redisCommand(c, "INFO commandstats");
    const char *p = r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
    const char *at = p ? strstr(p, "cmdstat_restore:") : NULL;
    if (at) {
        long long rej = 0, fail = 0;
        const char *q = strstr(at, "calls=");
        if (q) *calls = atoll(q + 6);
        if ((q = strstr(at, "rejected_calls="))) rej = atoll(q + 15);
        if ((q = strstr(at, "failed_calls="))) fail = atoll(q + 13);
        *failed = rej + fail;
    }
    freeReplyObject(r);
}

static void raw_do(redisContext *c, const char *cmd) {
    redisReply *r = redisCommand(c, cmd);
    if (!r || r->type == REDIS_REPLY_ERROR) printf("#   %s: %s\n", cmd, r ? r->str : c->errstr);
    freeReplyObject(r);
}

#define RST_N 300

/* The restore tests' view: "a" Int64, "s" String, "f" Float32. */
#define RST_NF 3
static Mf__FeatureView *rst_view(const char *project, const char *name) {
    static const char *const fn[] = {"a", "s", "f"};
    static const Mf__ValueType ft[] = {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_STRING,
                                       MF__VALUE_TYPE__VT_FLOAT};
    return mfs_view(project, name, 0, fn, ft, RST_NF);
}

static void rst_cols(mf__col c[RST_NF]) {
    mf__col_init(&c[0], "a", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_init(&c[1], "s", MF__VALUE_TYPE__VT_STRING, false);
    mf__col_init(&c[2], "f", MF__VALUE_TYPE__VT_FLOAT, false);
}

static void rst_cols_free(mf__col c[RST_NF]) {
    for (int f = 0; f < RST_NF; f++) mf__col_free(&c[f]);
}

/* The cells of a row of key id: a = id * 1000 + tag, s = "s<id>-<tag>"
 * (or 100 bytes of 'L'), f = id / 2, or for an even id the Float32 whose
 * bytes are "1234": its Value, "5" and those bytes, is the text of an
 * integer, which Redis keeps in a listpack as one. */
static void rst_cells(mf__col c[RST_NF], int64_t id, int64_t tag, bool long_text) {
    char t[128];
    int n = snprintf(t, sizeof t, "s%lld-%lld", (long long)id, (long long)tag);
    if (long_text) n = 100, memset(t, 'L', 100);
    mf__col_push_i64(&c[0], id * 1000 + tag);
    mf__col_push_str(&c[1], t, (size_t)n);
    float digits;
    memcpy(&digits, "1234", 4);
    mf__col_push_num(&c[2], id % 2 ? (double)id / 2 : (double)digits);
}

/* Write rows: ids[i] at MFS_T0 + secs[i] s, cells of tags[i]. */
static int rst_write(mf__online *s, const char *project, Mf__FeatureView *fv, const int64_t *ids,
                     const int64_t *secs, const int64_t *tags, size_t n, long long long_at) {
    mf__col c[RST_NF];
    rst_cols(c);
    int64_t *ets = mf__xmalloc(n * sizeof *ets);
    for (size_t i = 0; i < n; i++) {
        ets[i] = MFS_T0 + secs[i] * INT64_C(1000000);
        rst_cells(c, ids[i], tags[i], (long long)i == long_at);
    }
    mf_error e;
    int rc = mfs_write(s, project, fv, ids, ets, NULL, c, NULL, n, &e);
    if (rc) printf("#   write: %s\n", e.message);
    free(ets);
    rst_cols_free(c);
    return rc;
}

/* Whether key id holds the row of sec and tag (long: the long text). */
static bool rst_holds(mf__online *s, const char *project, Mf__FeatureView *fv, int64_t id,
                      int64_t sec, int64_t tag, bool long_text) {
    mfs_got g;
    mf_error e;
    if (mfs_read(s, project, fv, &id, 1, NULL, 0, &g, &e) != MF_OK) {
        printf("#   reading key %lld: %s\n", (long long)id, e.message);
        return false;
    }
    mf__col want[RST_NF];
    rst_cols(want);
    rst_cells(want, id, tag, long_text);
    bool ok = g.found[0] == 1 && g.ts[0] == MFS_T0 + sec * INT64_C(1000000);
    for (int f = 0; f < RST_NF; f++) ok = ok && mfs_cell_eq(&g.cols[f], 0, &want[f], 0);
    if (!ok)
        printf("#   key %lld does not hold its row of %lld s, tag %lld\n", (long long)id,
               (long long)sec, (long long)tag);
    rst_cols_free(want);
    mfs_got_free(&g);
    return ok;
}

/* The same hash as one HSET of its fields in its order makes: DUMP of key
 * k against DUMP of a scratch key written so (rdbcompression off). */
static bool same_as_hset(redisContext *c, const mf__buf *k) {
    redisReply *all = redisCommand(c, "HGETALL %b", k->data, k->len);
    if (!all || all->type != REDIS_REPLY_ARRAY || all->elements == 0) {
        freeReplyObject(all);
        return false;
    }
    size_t n = 2 + all->elements;
    const char **argv = mf__xmalloc(n * sizeof *argv);
    size_t *lens = mf__xmalloc(n * sizeof *lens);
    argv[0] = "HSET", lens[0] = 4, argv[1] = "mft_scratch", lens[1] = 11;
    for (size_t i = 0; i < all->elements; i++)
        argv[2 + i] = all->element[i]->str, lens[2 + i] = all->element[i]->len;
    raw_do(c, "DEL mft_scratch");
    redisReply *r = redisCommandArgv(c, (int)n, argv, lens);
    freeReplyObject(r);
    redisReply *d1 = redisCommand(c, "DUMP %b", k->data, k->len);
    redisReply *d2 = redisCommand(c, "DUMP mft_scratch");
    bool same = d1 && d2 && d1->type == REDIS_REPLY_STRING && d2->type == REDIS_REPLY_STRING &&
                d1->len == d2->len && memcmp(d1->str, d2->str, d1->len) == 0;
    freeReplyObject(d1);
    freeReplyObject(d2);
    raw_do(c, "DEL mft_scratch");
    freeReplyObject(all);
    free(argv);
    free(lens);
    return same;
}

/* mf__redis_dump_hash against the server's own DUMP of one HSET of the
 * same items, for every listpack encoding: integers of each size and sign
 * and their bounds, texts that are not canonical integers, strings of 63,
 * 64 and 0 bytes, as fields and as values; and 128 fields of 64-byte
 * items (a listpack over 16383 bytes: RDB's 32-bit length). Each payload
 * is also RESTOREd under deep checking (sanitize-dump-payload yes). */
static void test_dump_payload(void) {
    redisContext *c = raw(&main_srv);
    CHECK(c);
    raw_do(c, "CONFIG SET sanitize-dump-payload yes");
    raw_do(c, "CONFIG SET rdbcompression no");
    static const char *const nums[] = {
        "0", "-0", "00", "1", "127", "128", "-1", "4095", "4096", "-4096", "-4097", "32767",
        "32768", "-32768", "-32769", "8388607", "8388608", "-8388608", "-8388609",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "12345678901234567890", "123456789012345678901", "+1", " 1", "1 ", "-", "", "x7"};
    enum { NN = sizeof nums / sizeof *nums };
    char s63[63], s64[64];
    memset(s63, 'a', sizeof s63);
    memset(s64, 'b', sizeof s64);
    const char *items[2 * 128];
    size_t lens[2 * 128];
    size_t bad = 0;
    char *own[128];
    for (int round = 0; round < 3; round++) {
        size_t n = 0, nown = 0;
        if (round < 2) { /* round 0: numbers as values; 1: as fields */
            for (size_t i = 0; i < NN; i++) {
                char *f = own[nown++] = mf__xasprintf("f%zu", i);
                items[n] = round ? nums[i] : f, lens[n++] = strlen(round ? nums[i] : f);
                items[n] = round ? f : nums[i], lens[n++] = strlen(round ? f : nums[i]);
            }
            items[n] = "s63", lens[n++] = 3, items[n] = s63, lens[n++] = 63;
            items[n] = s64, lens[n++] = 64, items[n] = "s64", lens[n++] = 3;
        } else {
            for (size_t i = 0; i < 128; i++) {
                char *f = own[nown++] = mf__xmalloc(64);
                snprintf(f, 64, "%063zu", i); /* leading zeros: not integers */
                items[n] = f, lens[n++] = 63;
                items[n] = s64, lens[n++] = 64;
            }
        }
        mf__buf p;
        mf__buf_init(&p);
        CHECK(mf__redis_dump_hash(&p, items, lens, n) == 0);
        const char **argv = mf__xmalloc((n + 2) * sizeof *argv);
        size_t *al = mf__xmalloc((n + 2) * sizeof *al);
        argv[0] = "HSET", al[0] = 4, argv[1] = "mft_dump", al[1] = 8;
        for (size_t i = 0; i < n; i++) argv[2 + i] = items[i], al[2 + i] = lens[i];
        raw_do(c, "DEL mft_dump mft_dump2");
        redisReply *r = redisCommandArgv(c, (int)n + 2, argv, al);
        freeReplyObject(r);
        redisReply *d = redisCommand(c, "DUMP mft_dump");
        bool same = d && d->type == REDIS_REPLY_STRING && d->len == p.len &&
                    memcmp(d->str, p.data, p.len) == 0;
        if (!same) printf("#   round %d: the payload is not DUMP's\n", round), bad++;
        freeReplyObject(d);
        r = redisCommand(c, "RESTORE mft_dump2 0 %b", p.data, p.len);
        if (!r || r->type != REDIS_REPLY_STATUS)
            printf("#   round %d: RESTORE: %s\n", round, r ? r->str : c->errstr), bad++;
        freeReplyObject(r);
        for (size_t i = 0; i < nown; i++) free(own[i]);
        free(argv);
        free(al);
        mf__buf_free(&p);
    }
    CHECK(bad == 0);
    CHECK(mf__crc64_jones(0, "123456789", 9) == UINT64_C(0xe9c6d914c4b8d9ca));
    raw_do(c, "DEL mft_dump mft_dump2");
    raw_do(c, "CONFIG SET sanitize-dump-payload no");
    raw_do(c, "CONFIG SET rdbcompression yes");
    redisFree(c);
}

/* A first load of RST_N new keys goes by RESTORE (checked deeply by the
 * server: sanitize-dump-payload yes), reads back, and each hash is the
 * bytes an HSET of its fields makes; a key TTL is kept. */
static void test_restore_first_load(void) {
    mf__online *s = open_main(100, 5000);
    redisContext *c = raw(&main_srv);
    CHECK(s && c);
    raw_do(c, "CONFIG SET sanitize-dump-payload yes");
    raw_do(c, "CONFIG SET rdbcompression no");
    raw_do(c, "CONFIG RESETSTAT");
    Mf__FeatureView *fv = rst_view("rst0", "v");
    int64_t ids[RST_N], secs[RST_N], tags[RST_N];
    for (size_t i = 0; i < RST_N; i++) ids[i] = (int64_t)i + 1, secs[i] = 100, tags[i] = 1;
    ids[7] = -5; /* keys of other sizes */
    ids[8] = 0;
    ids[9] = INT64_C(4) << 50;
    CHECK(rst_write(s, "rst0", fv, ids, secs, tags, RST_N, -1) == MF_OK);
    long long calls, failed;
    restore_stats(c, &calls, &failed);
    if (calls != RST_N || failed) printf("#   RESTORE calls %lld, failed %lld\n", calls, failed);
    CHECK(calls == RST_N && failed == 0);
    size_t bad = 0;
    for (size_t i = 0; i < RST_N; i++) bad += !rst_holds(s, "rst0", fv, ids[i], 100, 1, false);
    CHECK(bad == 0);
    mf__buf k, k2;
    mf__buf_init(&k);
    mf__buf_init(&k2);
    for (size_t i = 0; i < 12; i++) {
        key_of(&k, ids[i], "rst0");
        if (!same_as_hset(c, &k)) printf("#   key %lld: not HSET's hash\n", (long long)ids[i]);
        CHECK(same_as_hset(c, &k));
    }
    /* the fields in the order the write script gives them: the same rows
     * of a batch too small for RESTORE (project rst0s) dump alike */
    CHECK(rst_write(s, "rst0s", fv, ids, secs, tags, 12, -1) == MF_OK);
    restore_stats(c, &calls, &failed);
    CHECK(calls == RST_N);
    for (size_t i = 0; i < 12; i++) {
        key_of(&k, ids[i], "rst0");
        key_of(&k2, ids[i], "rst0s");
        redisReply *d1 = redisCommand(c, "DUMP %b", k.data, k.len);
        redisReply *d2 = redisCommand(c, "DUMP %b", k2.data, k2.len);
        CHECK(d1 && d2 && d1->type == REDIS_REPLY_STRING && d2->type == REDIS_REPLY_STRING &&
              d1->len == d2->len && memcmp(d1->str, d2->str, d1->len) == 0);
        freeReplyObject(d1);
        freeReplyObject(d2);
    }
    mf__buf_free(&k2);
    key_of(&k, 3, "rst0");
    redisReply *r = redisCommand(c, "PTTL %b", k.data, k.len);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > 90000 && r->integer <= 100000);
    freeReplyObject(r);
    raw_do(c, "CONFIG SET sanitize-dump-payload no");
    raw_do(c, "CONFIG SET rdbcompression yes");
    mf__buf_free(&k);
    redisFree(c);
    MFS_FREE(fv);
    s->vt->close(s);
}

/* A fresh handle (RESTORE not yet tried) loading the RST_N rows into
 * project p, RESTORE's counts reset first; *calls and *failed: its
 * counts after. */
static mf__online *rst_load(redisContext *c, const char *p, Mf__FeatureView *fv,
                            const int64_t *ids, const int64_t *secs, const int64_t *tags,
                            long long *calls, long long *failed) {
    mf__online *s = open_main(0, 5000);
    raw_do(c, "CONFIG RESETSTAT");
    *calls = *failed = -1;
    if (!s || rst_write(s, p, fv, ids, secs, tags, RST_N, -1) != MF_OK) {
        if (s) s->vt->close(s);
        return NULL;
    }
    restore_stats(c, calls, failed);
    printf("#   %s: RESTORE calls %lld, failed %lld\n", p, *calls, *failed);
    return s;
}

/* A load that finds keys: nothing stored is replaced unchecked, and a
 * key's rows land in batch order. (1) a key beyond the first
 * RESTORE_PROBE_ROWS stored newer: kept, the rows after it written (again,
 * by the script); (2) in the first rows, a key holding another view's
 * fields and one stored older: the other view's fields stay, the older
 * row is replaced, and RESTORE stops after the first pipeline; (3) a key
 * twice in the batch at one time: the later row wins, a third row older
 * loses; (4) a value too long for a listpack: from its row on, the
 * script; (5) RESTORE refused (an ACL user without it): every row by the
 * script, and the handle does not try RESTORE again. */
static void test_restore_found_keys(void) {
    redisContext *c = raw(&main_srv);
    CHECK(c);
    int64_t ids[RST_N], secs[RST_N], tags[RST_N];
    for (size_t i = 0; i < RST_N; i++) ids[i] = (int64_t)i + 1, secs[i] = 100, tags[i] = 1;
    long long calls, failed;
    size_t bad = 0;
    /* (1) */
    mf__online *s = open_main(0, 5000);
    Mf__FeatureView *fv = rst_view("rst1", "v");
    static const int64_t id150 = 150, at200 = 200, tag9 = 9;
    CHECK(rst_write(s, "rst1", fv, &id150, &at200, &tag9, 1, -1) == MF_OK);
    s->vt->close(s);
    s = rst_load(c, "rst1", fv, ids, secs, tags, &calls, &failed);
    CHECK(s && calls == RST_N && failed == 1);
    for (size_t i = 0; i < RST_N; i++)
        bad += !(ids[i] == 150 ? rst_holds(s, "rst1", fv, 150, 200, 9, false)
                               : rst_holds(s, "rst1", fv, ids[i], 100, 1, false));
    CHECK(bad == 0);
    MFS_FREE(fv);
    s->vt->close(s);
    /* (2) */
    s = open_main(0, 5000);
    fv = rst_view("rst2", "v");
    Mf__FeatureView *other = mfs_view1("rst2", "other");
    MFS_OK(mfs_put1(s, "rst2", other, 20, MFS_T0, 0, 77, 1, &mfs_e));
    static const int64_t id30 = 30, at50 = 50;
    CHECK(rst_write(s, "rst2", fv, &id30, &at50, &tag9, 1, -1) == MF_OK);
    s->vt->close(s);
    s = rst_load(c, "rst2", fv, ids, secs, tags, &calls, &failed);
    CHECK(s && calls == 64 && failed == 2);
    for (size_t i = 0; i < RST_N; i++) bad += !rst_holds(s, "rst2", fv, ids[i], 100, 1, false);
    mfs_got g;
    static const int64_t id20 = 20;
    MFS_OK(mfs_read(s, "rst2", other, &id20, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 77);
    mfs_got_free(&g);
    CHECK(bad == 0);
    /* once RESTORE found a key, the handle writes through the script: two
     * more batches of new keys (the script's probe finds them new, and
     * RESTORE was tried again every other batch, each time meeting keys) */
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < RST_N; i++) ids[i] += 1000;
        CHECK(rst_write(s, "rst2", fv, ids, secs, tags, RST_N, -1) == MF_OK);
    }
    restore_stats(c, &calls, &failed);
    if (calls != 64) printf("#   (2) then RESTORE calls %lld\n", calls);
    CHECK(calls == 64);
    for (size_t i = 0; i < RST_N; i++) {
        bad += !rst_holds(s, "rst2", fv, ids[i], 100, 1, false);
        ids[i] -= 2000;
    }
    CHECK(bad == 0);
    MFS_FREE(other);
    MFS_FREE(fv);
    s->vt->close(s);
    /* (3) rows 200 and 201: key 6 again at 100 s (tag 2), key 7 at 50 s */
    s = open_main(0, 5000);
    fv = rst_view("rst3", "v");
    ids[200] = 6, tags[200] = 2;
    ids[201] = 7, secs[201] = 50, tags[201] = 3;
    CHECK(rst_write(s, "rst3", fv, ids, secs, tags, RST_N, -1) == MF_OK);
    CHECK(rst_holds(s, "rst3", fv, 6, 100, 2, false));
    CHECK(rst_holds(s, "rst3", fv, 7, 100, 1, false));
    CHECK(rst_holds(s, "rst3", fv, 300, 100, 1, false));
    ids[200] = 201, tags[200] = 1;
    ids[201] = 202, secs[201] = 100, tags[201] = 1;
    MFS_FREE(fv);
    s->vt->close(s);
    /* (4) row 100's text is 100 bytes */
    s = open_main(0, 5000);
    fv = rst_view("rst4", "v");
    raw_do(c, "CONFIG RESETSTAT");
    CHECK(rst_write(s, "rst4", fv, ids, secs, tags, RST_N, 100) == MF_OK);
    restore_stats(c, &calls, &failed);
    if (calls != 100 || failed) printf("#   (4) RESTORE calls %lld, failed %lld\n", calls, failed);
    CHECK(calls == 100 && failed == 0);
    for (size_t i = 0; i < RST_N; i++) bad += !rst_holds(s, "rst4", fv, ids[i], 100, 1, i == 100);
    CHECK(bad == 0);
    MFS_FREE(fv);
    s->vt->close(s);
    /* (5) */
    raw_do(c, "ACL SETUSER mft_norestore on >pw ~* &* +@all -restore");
    char conn[128];
    snprintf(conn, sizeof conn, "127.0.0.1:%d,username=mft_norestore,password=pw", main_srv.port);
    mf_error err;
    s = open_redis(conn, 0, 5000, &err);
    CHECK(s);
    fv = rst_view("rst5", "v");
    raw_do(c, "CONFIG RESETSTAT");
    CHECK(rst_write(s, "rst5", fv, ids, secs, tags, RST_N, -1) == MF_OK);
    for (size_t i = 0; i < RST_N; i++) ids[i] += 1000;
    CHECK(rst_write(s, "rst5", fv, ids, secs, tags, RST_N, -1) == MF_OK);
    restore_stats(c, &calls, &failed);
    if (failed != 64) printf("#   (5) RESTORE calls %lld, failed %lld\n", calls, failed);
    CHECK(calls == 0 && failed == 64);
    for (size_t i = 0; i < RST_N; i++) {
        bad += !rst_holds(s, "rst5", fv, ids[i], 100, 1, false);
        bad += !rst_holds(s, "rst5", fv, ids[i] - 1000, 100, 1, false);
    }
    CHECK(bad == 0);
    raw_do(c, "ACL DELUSER mft_norestore");
    MFS_FREE(fv);
    s->vt->close(s);
    redisFree(c);
}

/* The server forgets the write script (SCRIPT FLUSH, a restart): the next
 * write loads it again and succeeds. */
static void test_noscript(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("nosc", "v");
    MFS_OK(mfs_put1(s, "nosc", fv, 1, MFS_T0, 0, 1, 1, &mfs_e));
    redisContext *c = raw(&main_srv);
    CHECK(c);
    redisReply *r = redisCommand(c, "SCRIPT FLUSH");
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(c);
    int64_t ids[3] = {1, 2, 3}, ets[3] = {MFS_T0 + 1, MFS_T0, MFS_T0};
    mf__col col;
    mf__col_init(&col, "v", MF__VALUE_TYPE__VT_INT64, false);
    for (int i = 0; i < 3; i++) mf__col_push_i64(&col, 10 + i);
    MFS_OK(mfs_write(s, "nosc", fv, ids, ets, NULL, &col, NULL, 3, &mfs_e));
    mfs_got g;
    MFS_OK(mfs_read(s, "nosc", fv, ids, 3, NULL, 0, &g, &mfs_e));
    for (int i = 0; i < 3; i++) CHECK(g.found[i] == 1 && mfs_i64(&g.cols[0], (size_t)i) == 10 + i);
    mfs_got_free(&g);
    mf__col_free(&col);
    MFS_FREE(fv);
    s->vt->close(s);
}

/* db=N selects the database; password authenticates; a wrong password is
 * a clear error. */
static void test_db_and_password(void) {
    char conn[128];
    snprintf(conn, sizeof conn, "127.0.0.1:%d,db=3", main_srv.port);
    mf_error err;
    mf__online *s = open_redis(conn, 0, 1000, &err);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("dbp", "v");
    MFS_OK(mfs_put1(s, "dbp", fv, 1, MFS_T0, 0, 1, 1, &mfs_e));
    s->vt->close(s);
    redisContext *c = raw(&main_srv);
    CHECK(c);
    mf__buf k;
    mf__buf_init(&k);
    key_of(&k, 1, "dbp");
    redisReply *r = redisCommand(c, "EXISTS %b", k.data, k.len);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0); /* not in db 0 */
    freeReplyObject(r);
    r = redisCommand(c, "SELECT 3");
    freeReplyObject(r);
    CHECK(hlen(c, &k) == 3); /* value, _ts, _created_ts */
    redisFree(c);
    mf__buf_free(&k);

    snprintf(conn, sizeof conn, " 127.0.0.1:%d , password=s3cret, ssl=false,db=1", auth_srv.port);
    s = open_redis(conn, 0, 1000, &err);
    CHECK(s);
    MFS_OK(mfs_put1(s, "dbp", fv, 1, MFS_T0, 0, 7, 1, &mfs_e));
    int64_t id = 1;
    mfs_got g;
    MFS_OK(mfs_read(s, "dbp", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 7);
    mfs_got_free(&g);
    s->vt->close(s);

    snprintf(conn, sizeof conn, "127.0.0.1:%d,password=wrong", auth_srv.port);
    s = open_redis(conn, 0, 1000, &err);
    CHECK(s);
    err.message[0] = 0;
    int rc = mfs_read(s, "dbp", fv, &id, 1, NULL, 0, &g, &err);
    mfs_got_free(&g);
    CHECK(rc == MF_ESTORE);
    CHECK_HAS(err.message, "AUTH");
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", auth_srv.port);
    CHECK_HAS(err.message, addr);
    CHECK(!strstr(err.message, "wrong")); /* the password is not shown */
    s->vt->close(s);

    snprintf(conn, sizeof conn, "127.0.0.1:%d", auth_srv.port); /* no password */
    s = open_redis(conn, 0, 1000, &err);
    CHECK(s);
    err.message[0] = 0;
    rc = mfs_put1(s, "dbp", fv, 1, MFS_T0, 0, 7, 1, &err);
    CHECK(rc == MF_ESTORE);
    CHECK_HAS(err.message, "NOAUTH");
    s->vt->close(s);
    MFS_FREE(fv);
}

/* Connection strings that cannot work are configuration errors at open. */
static void test_bad_connection_strings(void) {
    static const struct {
        const char *conn, *msg;
    } cases[] = {
        {"localhost:0", "bad port"},
        {"localhost:99999", "bad port"},
        {"localhost:63x", "bad port"},
        {"localhost:6379,db=-1", "db must be"},
        {"localhost:6379,db=x", "db must be"},
        {"localhost:6379,ssl=true", "ssl=true is not supported"},
        {"localhost:6379,ssl=maybe", "ssl must be"},
        {"localhost:6379,colour=red", "unknown option 'colour'"},
        {"localhost:6379,nokey", "expected key=value"},
        {"unix:", "socket path"},
        {"localhost:6379,username=u", "username needs a password"},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        mf_error err;
        err.message[0] = 0;
        mf__online *s = open_redis(cases[i].conn, 0, 1000, &err);
        if (s) {
            printf("#   %s was accepted\n", cases[i].conn);
            s->vt->close(s);
        }
        CHECK(!s);
        CHECK(err.code == MF_ECONFIG);
        CHECK_HAS(err.message, cases[i].msg);
        CHECK_HAS(err.file, "feature_store.yaml");
    }
    /* and ones that parse */
    static const char *const good[] = {NULL, "", "myhost", "[::1]:6380", "unix:/tmp/r.sock,db=2",
                                       "localhost:6379,db=0,password=,ssl=false"};
    for (size_t i = 0; i < MF__ARRAY_LEN(good); i++) {
        mf_error err;
        mf__online *s = open_redis(good[i], 0, 1000, &err);
        if (!s) printf("#   %s: %s\n", good[i] ? good[i] : "(none)", err.message);
        CHECK(s);
        s->vt->close(s);
    }
}

/* "unix:/path,db=N" reaches the server through its socket. */
static void test_unix_socket(void) {
    char *conn = mf__xasprintf("unix:%s/redis-%d/redis.sock,db=2", tmp_root, main_srv.port);
    mf_error err;
    mf__online *s = open_redis(conn, 0, 1000, &err);
    free(conn);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("unixp", "v");
    MFS_OK(mfs_put1(s, "unixp", fv, 1, MFS_T0, 0, 5, 1, &mfs_e));
    int64_t id = 1;
    mfs_got g;
    MFS_OK(mfs_read(s, "unixp", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 5);
    mfs_got_free(&g);
    s->vt->close(s);
    redisContext *c = raw(&main_srv);
    CHECK(c);
    redisReply *r = redisCommand(c, "SELECT 2");
    freeReplyObject(r);
    mf__buf k;
    mf__buf_init(&k);
    key_of(&k, 1, "unixp");
    CHECK(hlen(c, &k) == 3); /* value, _ts, _created_ts */
    mf__buf_free(&k);
    redisFree(c);
    MFS_FREE(fv);
}

/* Nothing listens: a clear error naming the address, each time. */
static void test_refused(void) {
    int port = free_port();
    char conn[64], addr[64];
    snprintf(conn, sizeof conn, "127.0.0.1:%d", port);
    snprintf(addr, sizeof addr, "Redis at 127.0.0.1:%d", port);
    mf_error err;
    mf__online *s = open_redis(conn, 0, 1000, &err);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("refp", "v");
    for (int i = 0; i < 2; i++) {
        err.message[0] = 0;
        int rc = mfs_put1(s, "refp", fv, 1, MFS_T0, 0, 1, 1, &err);
        CHECK(rc == MF_ESTORE);
        CHECK_HAS(err.message, addr);
        CHECK_HAS(err.message, "refused");
        int64_t id = 1;
        mfs_got g;
        err.message[0] = 0;
        rc = mfs_read(s, "refp", fv, &id, 1, NULL, 0, &g, &err);
        mfs_got_free(&g);
        CHECK(rc == MF_ESTORE);
        CHECK_HAS(err.message, addr);
        err.message[0] = 0;
        rc = s->vt->teardown(s, "refp", &fv, 1, &err);
        CHECK(rc == MF_ESTORE);
        CHECK_HAS(err.message, addr);
    }
    /* a unix socket that does not exist */
    char *sock = mf__xasprintf("unix:%s/none.sock", tmp_root);
    mf__online *u = open_redis(sock, 0, 1000, &err);
    CHECK(u);
    err.message[0] = 0;
    CHECK(mfs_put1(u, "refp", fv, 1, MFS_T0, 0, 1, 1, &err) == MF_ESTORE);
    CHECK_HAS(err.message, sock);
    u->vt->close(u);
    free(sock);
    MFS_FREE(fv);
    s->vt->close(s);
}

/* The server goes away and comes back: the call during the downtime fails
 * with a clear error, the next call after the restart succeeds on a new
 * connection; a restart between two calls is not even noticed. */
static void test_restart(void) {
    mf__online *s = open_main(0, 1000);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("restart", "v");
    MFS_OK(mfs_put1(s, "restart", fv, 1, MFS_T0, 0, 1, 1, &mfs_e));
    server_stop(&main_srv);
    char addr[64];
    snprintf(addr, sizeof addr, "Redis at 127.0.0.1:%d", main_srv.port);
    int64_t id = 1;
    mfs_got g;
    mf_error err;
    err.message[0] = 0;
    double t0 = now_s();
    int rc = mfs_read(s, "restart", fv, &id, 1, NULL, 0, &g, &err);
    mfs_got_free(&g);
    CHECK(rc == MF_ESTORE);
    CHECK_HAS(err.message, addr);
    CHECK(now_s() - t0 < 3);
    err.message[0] = 0;
    rc = mfs_put1(s, "restart", fv, 1, MFS_T0, 0, 2, 1, &err);
    CHECK(rc == MF_ESTORE);
    CHECK_HAS(err.message, "refused");
    CHECK(server_start(&main_srv) == 0);
    /* the server lost its data (no persistence) and the write script */
    MFS_OK(mfs_read(s, "restart", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 0);
    mfs_got_free(&g);
    MFS_OK(mfs_put1(s, "restart", fv, 1, MFS_T0, 0, 3, 1, &mfs_e));
    MFS_OK(mfs_read(s, "restart", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1 && mfs_i64(&g.cols[0], 0) == 3);
    mfs_got_free(&g);
    /* restarted while the store sat idle on an open connection */
    server_stop(&main_srv);
    CHECK(server_start(&main_srv) == 0);
    MFS_OK(mfs_put1(s, "restart", fv, 1, MFS_T0, 0, 4, 1, &mfs_e));
    server_stop(&main_srv);
    CHECK(server_start(&main_srv) == 0);
    MFS_OK(mfs_read(s, "restart", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 0);
    mfs_got_free(&g);
    MFS_FREE(fv);
    s->vt->close(s);
}

/* A server that stops answering (SIGSTOP): reads, writes and teardown fail
 * within about the command timeout with an error saying so; once it runs
 * again the next call succeeds. */
static void test_unresponsive(void) {
    mf__online *s = open_main(0, 300);
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("slow", "v");
    MFS_OK(mfs_put1(s, "slow", fv, 1, MFS_T0, 0, 1, 1, &mfs_e));
    CHECK(kill(main_srv.pid, SIGSTOP) == 0);
    int64_t id = 1;
    mfs_got g;
    mf_error err;
    for (int op = 0; op < 3; op++) {
        err.message[0] = 0;
        double t0 = now_s();
        int rc = op == 0   ? mfs_read(s, "slow", fv, &id, 1, NULL, 0, &g, &err)
                 : op == 1 ? mfs_put1(s, "slow", fv, 1, MFS_T0 + 1, 0, 2, 1, &err)
                           : s->vt->teardown(s, "slow", &fv, 1, &err);
        if (op == 0) mfs_got_free(&g);
        double took = now_s() - t0;
        if (took > 2) printf("#   operation %d took %.2f s\n", op, took);
        CHECK(rc == MF_ESTORE);
        CHECK(took < 2);
        CHECK_HAS(err.message, "no reply within 300 ms");
    }
    kill(main_srv.pid, SIGCONT);
    MFS_OK(mfs_read(s, "slow", fv, &id, 1, NULL, 0, &g, &mfs_e));
    CHECK(g.found[0] == 1);
    mfs_got_free(&g);
    MFS_FREE(fv);
    s->vt->close(s);
}

/* A server that answers whatever it is sent with the header of an array of
 * 2^31 - 1 elements, and nothing more (one connection at a time). */
static int bogus_fd = -1;

static void *bogus_main(void *arg) {
    (void)arg;
    for (;;) {
        int c = accept(bogus_fd, NULL, NULL);
        if (c < 0) return NULL;
        char buf[4096];
        while (read(c, buf, sizeof buf) > 0) {
            static const char hdr[] = "*2147483647\r\n";
            if (write(c, hdr, sizeof hdr - 1) < 0) break;
        }
        close(c);
    }
}

/* A reply announcing a huge array fails the call naming the server, and
 * does not end the process or take the memory it announces. */
static void test_bogus_reply(void) {
    bogus_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    CHECK(bogus_fd >= 0 && bind(bogus_fd, (struct sockaddr *)&a, sizeof a) == 0 &&
          listen(bogus_fd, 4) == 0 && getsockname(bogus_fd, (struct sockaddr *)&a, &al) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, bogus_main, NULL) == 0);
    char conn[64];
    snprintf(conn, sizeof conn, "127.0.0.1:%d", ntohs(a.sin_port));
    mf_error err;
    mf__online *s = open_redis(conn, 0, 1000, &err);
    CHECK(s);
    if (s) {
        Mf__FeatureView *fv = mfs_view1("bogus", "v");
        int64_t id = 1;
        mfs_got g;
        err.message[0] = 0;
        int rc = mfs_read(s, "bogus", fv, &id, 1, NULL, 0, &g, &err);
        mfs_got_free(&g);
        if (rc != MF_ESTORE) printf("#   rc %d: %s\n", rc, err.message);
        CHECK(rc == MF_ESTORE);
        CHECK_HAS(err.message, conn);
        MFS_FREE(fv);
        s->vt->close(s);
    }
    shutdown(bogus_fd, SHUT_RDWR);
    close(bogus_fd);
    pthread_join(t, NULL);
}

/*---- Main --------------------------------------------------------------------------*/

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    tmp_root = mf__xasprintf("%s/mft_online_redis_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        printf("not ok - mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    mft_redis_dir = tmp_root;
    atexit(stop_all);
    auth_srv.password = "s3cret";
    if (server_start(&main_srv) != 0 || server_start(&auth_srv) != 0) {
        printf("not ok - start redis-server\n");
        stop_all();
        nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    (void)mfs_run_all; /* the suite runs test by test below */
    mf__online *s = open_main(0, 5000);
    if (s) {
        for (size_t i = 0; i < MF__ARRAY_LEN(mfs_tests); i++) {
            /* replaced by test_types_seconds: see the top of this file */
            if (mfs_tests[i].fn == mfs_test_types)
                continue;
            mfs_run_one(s, "redis", "mft_r_", i);
        }
        s->vt->close(s);
    } else {
        printf("not ok - open the suite's store\n");
        mft_failed++;
    }
    RUN(test_murmur3);
    RUN(test_layout_bytes);
    RUN(test_reads_feast_hash);
    RUN(test_reads_other_writer);
    RUN(test_ordering);
    RUN(test_created_stale);
    RUN(test_ordering_in_batch);
    RUN(test_ordering_bounds);
    RUN(test_ordering_populated);
    RUN(test_probe);
    RUN(test_dump_payload);
    RUN(test_restore_first_load);
    RUN(test_restore_found_keys);
    RUN(test_many_scripts);
    RUN(test_types_seconds);
    RUN(test_lists);
    RUN(test_drop_fields);
    RUN(test_ttl);
    RUN(test_noscript);
    RUN(test_db_and_password);
    RUN(test_bad_connection_strings);
    RUN(test_unix_socket);
    RUN(test_refused);
    RUN(test_restart);
    RUN(test_unresponsive);
    RUN(test_bogus_reply);
    stop_all();
    nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp_root);
    MFT_END();
}
