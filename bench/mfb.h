/*
 * mfb.h — what the online, materialize and push benchmark programs share:
 * the seeded random numbers, the clock, percentiles, the deterministic
 * feature values of gen_online.c, and the bytes of Feast's layouts that
 * the floor programs need without linking moonfeast (the v3 entity key of
 * one Int64 join key, MurmurHash3 x86_32 for Redis field names).
 *
 * Header-only; every program includes it once.
 */
#ifndef MFB_H
#define MFB_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MFB_KEY0 1001           /* driver_id of the first key */
#define MFB_T0 1735689600LL     /* 2025-01-01T00:00:00Z */
#define MFB_SPAN (30LL * 86400) /* event times: the 30 days from MFB_T0 */

/*---- Random numbers (splitmix64, as gen_pit.c) ----------------------------*/

typedef struct mfb_rng {
    uint64_t s;
} mfb_rng;

static inline uint64_t mfb_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t mfb_rnd(mfb_rng *r) { return mfb_mix(r->s += 0x9E3779B97F4A7C15ULL); }

static inline uint64_t mfb_below(mfb_rng *r, uint64_t n) {
    return (uint64_t)(((unsigned __int128)mfb_rnd(r) * n) >> 64);
}

/* The keys one call asks for: n driver ids drawn uniformly from nkeys. */
static inline void mfb_draw_keys(mfb_rng *r, int64_t *out, size_t n, uint64_t nkeys) {
    for (size_t i = 0; i < n; i++) out[i] = MFB_KEY0 + (int64_t)mfb_below(r, nkeys);
}

/*---- Feature values (gen_online.c) -----------------------------------------*/

/* Feature f of a view: Float32 when f % 3 == 0, Float64 when 1, Int64 when
 * 2; named feat_00, feat_01, ... Its value for a key is a function of
 * (view seed, key, f), so a reader can check what it got. */
enum { MFB_F32 = 0, MFB_F64 = 1, MFB_I64 = 2 };
static inline int mfb_ftype(int f) { return f % 3; }

static inline uint64_t mfb_value_bits(uint64_t seed, int64_t key, int f) {
    return mfb_mix(seed * 0x100000001B3ULL ^ (uint64_t)key * 0x9E3779B97F4A7C15ULL ^
                   (uint64_t)(f + 1) * 0xD6E8FEB86659FD93ULL);
}

/* Int64 features: in [0, 1000). */
static inline int64_t mfb_value_i64(uint64_t seed, int64_t key, int f) {
    return (int64_t)(mfb_value_bits(seed, key, f) % 1000);
}

/*---- Clock and statistics ---------------------------------------------------*/

static inline int64_t mfb_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int mfb_cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v; the q-quantile (nearest rank), in the unit of v. */
static inline int64_t mfb_quantile(int64_t *v, size_t n, double q, int sorted) {
    if (!n) return 0;
    if (!sorted) qsort(v, n, sizeof *v, mfb_cmp_i64);
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

/* "median_us M p99_us P mean_us A max_us X" of n call times in ns. */
static inline void mfb_print_latency(FILE *o, int64_t *ns, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)ns[i];
    qsort(ns, n, sizeof *ns, mfb_cmp_i64);
    fprintf(o, "median_us %.3f p99_us %.3f mean_us %.3f max_us %.3f",
            (double)mfb_quantile(ns, n, 0.5, 1) / 1e3, (double)mfb_quantile(ns, n, 0.99, 1) / 1e3,
            n ? sum / (double)n / 1e3 : 0.0, n ? (double)ns[n - 1] / 1e3 : 0.0);
}

static inline void *mfb_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    return p;
}

/*---- Feast's bytes ----------------------------------------------------------*/

static inline void mfb_put_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

/* The v3 serialized entity key of one Int64 join key "driver_id" (37
 * bytes): u32 1 key; u32 ValueType 2 (String) of the name, u32 9,
 * "driver_id"; u32 ValueType 4 (Int64), u32 8, the value little-endian.
 * Returns its length. */
#define MFB_KEY_LEN 37
static inline size_t mfb_entity_key(unsigned char *p, int64_t id) {
    mfb_put_u32(p, 1);
    mfb_put_u32(p + 4, 2);
    mfb_put_u32(p + 8, 9);
    memcpy(p + 12, "driver_id", 9);
    mfb_put_u32(p + 21, 4);
    mfb_put_u32(p + 25, 8);
    mfb_put_u32(p + 29, (uint32_t)(uint64_t)id);
    mfb_put_u32(p + 33, (uint32_t)((uint64_t)id >> 32));
    return MFB_KEY_LEN;
}

/* MurmurHash3 x86_32 (Austin Appleby, public domain). */
static inline uint32_t mfb_murmur3_32(const void *key, size_t len, uint32_t seed) {
    const unsigned char *d = key;
    size_t nb = len / 4;
    uint32_t h = seed, c1 = 0xcc9e2d51, c2 = 0x1b873593;
    for (size_t i = 0; i < nb; i++) {
        uint32_t k = (uint32_t)d[4 * i] | (uint32_t)d[4 * i + 1] << 8 |
                     (uint32_t)d[4 * i + 2] << 16 | (uint32_t)d[4 * i + 3] << 24;
        k *= c1;
        k = (k << 15) | (k >> 17);
        k *= c2;
        h ^= k;
        h = (h << 13) | (h >> 19);
        h = h * 5 + 0xe6546b64;
    }
    const unsigned char *t = d + nb * 4;
    uint32_t k = 0;
    switch (len & 3) {
    case 3: k ^= (uint32_t)t[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)t[1] << 8;  /* fall through */
    case 1:
        k ^= t[0];
        k *= c1;
        k = (k << 15) | (k >> 17);
        k *= c2;
        h ^= k;
    }
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

/* Feast's Redis field of "view:feature": its hash, 4 bytes little-endian. */
static inline void mfb_redis_field(unsigned char out[4], const char *view, const char *feature) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s:%s", view, feature);
    mfb_put_u32(out, mfb_murmur3_32(buf, (size_t)n, 0));
}

#endif
