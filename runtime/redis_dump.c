/*
 * redis_dump.c — a hash in the serialization of Redis's DUMP and RESTORE
 * commands, for the Redis store's first loads (store_redis.c): RESTORE of
 * a key that does not exist creates the whole hash in one command, which
 * costs the server less than the HSET that would make it (no argument per
 * field to parse and copy), and fails (BUSYKEY) when the key exists.
 *
 * The payload, as Redis 7.0 writes it (rdb.c, cluster.c): the object type
 * (16: a hash as a listpack), the listpack as an RDB string (its length in
 * RDB's length encoding, then its bytes, not compressed), the RDB version
 * (10, Redis 7.0's; newer servers take older versions, older servers have
 * no listpack and refuse it) as two bytes little-endian, then the CRC-64
 * (Jones: reflected polynomial 0x95ac9329ac4bc9b5, initial value 0, no
 * final XOR) of everything before it, eight bytes little-endian.
 *
 * The listpack (listpack.c's format): a header of the total size (four
 * bytes little-endian) and the number of entries (two), the entries (the
 * fields and values alternating), and the end byte 0xff. Each entry is its
 * encoding and data, then its "back length" (the size of encoding and
 * data, seven bits a byte, most significant first, every byte but the
 * first with the high bit set). A string that is an integer in canonical
 * decimal (no '+', no leading zero, "-0" is not one, up to 20 characters,
 * within int64) is stored as an integer in the smallest of Redis's integer
 * encodings, as the server's own HSET stores it, so that the hash is the
 * same bytes as one HSET of the same fields in the same order would make
 * (the store's tests compare DUMP of both).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "mf_online.h"

#define RDB_TYPE_HASH_LISTPACK 16
#define RDB_VERSION_7_0 10

static uint64_t crc64_tab[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ UINT64_C(0x95ac9329ac4bc9b5) : c >> 1;
        crc64_tab[i] = c;
    }
}

uint64_t mf__crc64_jones(uint64_t crc, const void *data, size_t len) {
    pthread_once(&crc64_once, crc64_init);
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) crc = crc64_tab[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

/* s[0..n) as a canonical decimal int64 (Redis's string2ll rules). */
static bool canonical_int(const char *s, size_t n, int64_t *out) {
    if (n == 0 || n > 20) return false;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool neg = s[0] == '-';
    if (neg && ++i == n) return false;
    if (s[i] < '1' || s[i] > '9') return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)v;
    }
    return true;
}

static void put_le(unsigned char *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* One listpack entry (encoding, data, back length) appended to b. */
static void lp_entry(mf__buf *b, const char *s, size_t n) {
    unsigned char h[9];
    size_t hl;
    int64_t v;
    if (canonical_int(s, n, &v)) {
        uint64_t u = (uint64_t)v;
        if (v >= 0 && v <= 127) {
            h[0] = (unsigned char)v, hl = 1;
        } else if (v >= -4096 && v <= 4095) {
            u = v < 0 ? (uint64_t)((INT64_C(1) << 13) + v) : u;
            h[0] = (unsigned char)(0xc0 | (u >> 8)), h[1] = (unsigned char)u, hl = 2;
        } else if (v >= -32768 && v <= 32767) {
            h[0] = 0xf1, put_le(h + 1, u, 2), hl = 3;
        } else if (v >= -8388608 && v <= 8388607) {
            h[0] = 0xf2, put_le(h + 1, u, 3), hl = 4;
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            h[0] = 0xf3, put_le(h + 1, u, 4), hl = 5;
        } else {
            h[0] = 0xf4, put_le(h + 1, u, 8), hl = 9;
        }
        n = 0;
    } else if (n < 64) {
        h[0] = (unsigned char)(0x80 | n), hl = 1;
    } else if (n < 4096) {
        h[0] = (unsigned char)(0xe0 | (n >> 8)), h[1] = (unsigned char)n, hl = 2;
    } else {
        h[0] = 0xf0, put_le(h + 1, n, 4), hl = 5;
    }
    mf__buf_put(b, h, hl);
    if (n) mf__buf_put(b, s, n);
    uint64_t l = hl + n; /* the back length, most significant seven bits first */
    unsigned char bl[5];
    size_t bn = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
    for (size_t i = 0; i < bn; i++) {
        bl[bn - 1 - i] = (unsigned char)((l & 127) | (i + 1 < bn ? 128 : 0));
        l >>= 7;
    }
    mf__buf_put(b, bl, bn);
}

int mf__redis_dump_hash(mf__buf *out, const char *const *items, const size_t *lens, size_t n) {
    if (n == 0 || n % 2 || n >= 65535) return -1;
    mf__buf lp;
    mf__buf_init(&lp);
    unsigned char head[6] = {0};
    mf__buf_put(&lp, head, sizeof head);
    for (size_t i = 0; i < n; i++) lp_entry(&lp, items[i], lens[i]);
    mf__buf_put(&lp, "\xff", 1);
    if (lp.len > UINT32_MAX) {
        mf__buf_free(&lp);
        return -1;
    }
    put_le((unsigned char *)lp.data, lp.len, 4);
    put_le((unsigned char *)lp.data + 4, n, 2);
    size_t start = out->len;
    unsigned char h[9];
    size_t hl;
    h[0] = RDB_TYPE_HASH_LISTPACK;
    if (lp.len < 64) { /* RDB's length: 6, 14 or 32 bits, big-endian */
        h[1] = (unsigned char)lp.len, hl = 2;
    } else if (lp.len < 16384) {
        h[1] = (unsigned char)(0x40 | (lp.len >> 8)), h[2] = (unsigned char)lp.len, hl = 3;
    } else {
        h[1] = 0x80;
        for (int i = 0; i < 4; i++) h[2 + i] = (unsigned char)(lp.len >> (24 - 8 * i));
        hl = 6;
    }
    mf__buf_put(out, h, hl);
    mf__buf_put(out, lp.data, lp.len);
    mf__buf_free(&lp);
    unsigned char ver[2] = {RDB_VERSION_7_0, 0};
    mf__buf_put(out, ver, 2);
    unsigned char crc[8];
    put_le(crc, mf__crc64_jones(0, out->data + start, out->len - start), 8);
    mf__buf_put(out, crc, 8);
    return 0;
}
