/*
 * gen_pit.c — deterministic data for the point-in-time join benchmark.
 *
 *   gen_pit entities PREFIX NROWS NKEYS SEED
 *   gen_pit features PREFIX NROWS NKEYS SEED [csv-only]
 *
 * Writes PREFIX.csv (what moonfeast and DuckDB read) and, unless csv-only,
 * PREFIX.bin (the same rows already parsed, for the floor program), each
 * through a .tmp file renamed into place. The same arguments give the same
 * bytes.
 *
 * Entity rows: driver_id,event_timestamp — a key drawn uniformly from NKEYS
 * keys (driver_id 1001 .. 1000+NKEYS) and a second drawn uniformly from the
 * 30 days starting 2025-01-01T00:00:00Z, in random order.
 *
 * Feature rows: driver_id,event_timestamp,conv_rate,acc_rate,trips. Row
 * slot p (0..NROWS-1) belongs to key p % NKEYS and is its (p / NKEYS)-th
 * row; with R = ceil(NROWS / NKEYS) rows per key, the m-th row of a key has
 * a random second inside the m-th of R equal parts of the 30 days, so the
 * timestamps of one key are distinct (no ties for the join to break) and
 * spread over the whole range. The slots are written in a random
 * permutation: the file is in no useful order. conv_rate is a Float32 with
 * 6 decimals, acc_rate a Float64 with 9 decimals, trips an Int64 in
 * [0, 1000).
 *
 * PREFIX.bin: "MFPB" (4 bytes), kind (uint32: 0 entities, 1 features),
 * nrows (uint64), then whole columns, native endianness: driver_id int64[n],
 * event_timestamp int64[n] (microseconds since the epoch), and for
 * features conv_rate float[n], acc_rate double[n], trips int64[n].
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1735689600LL /* 2025-01-01T00:00:00Z */
#define SPAN (30LL * 86400)
#define KEY0 1001

static uint64_t rng_state;

static uint64_t rnd(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return (uint64_t)(((unsigned __int128)rnd() * n) >> 64); }

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "gen_pit: out of memory\n");
        exit(1);
    }
    return p;
}

/* Output buffer flushed in large writes. */
static char obuf[1 << 20];
static size_t olen;
static FILE *ofile;

static void oflush(void) {
    if (olen && fwrite(obuf, 1, olen, ofile) != olen) {
        perror("gen_pit: write");
        exit(1);
    }
    olen = 0;
}

static char *oreserve(size_t n) {
    if (olen + n > sizeof obuf) oflush();
    return obuf + olen;
}

static char *put_uint(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10), v /= 10;
    while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

/* Exactly `digits` decimal digits, zero-padded. */
static char *put_fixed(char *p, uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) p[i] = (char)('0' + v % 10), v /= 10;
    return p + digits;
}

static void civil(int64_t days, int *y, int *m, int *d) { /* days since 1970-01-01 */
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* YYYY-MM-DDTHH:MM:SSZ */
static char *put_ts(char *p, int64_t secs) {
    int y, mo, d;
    int64_t days = secs / 86400, s = secs % 86400;
    civil(days, &y, &mo, &d);
    p = put_fixed(p, (uint64_t)y, 4);
    *p++ = '-';
    p = put_fixed(p, (uint64_t)mo, 2);
    *p++ = '-';
    p = put_fixed(p, (uint64_t)d, 2);
    *p++ = 'T';
    p = put_fixed(p, (uint64_t)(s / 3600), 2);
    *p++ = ':';
    p = put_fixed(p, (uint64_t)(s / 60 % 60), 2);
    *p++ = ':';
    p = put_fixed(p, (uint64_t)(s % 60), 2);
    *p++ = 'Z';
    return p;
}

static FILE *open_tmp(const char *prefix, const char *ext, char *tmp, size_t n) {
    snprintf(tmp, n, "%s%s.tmp", prefix, ext);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        perror(tmp);
        exit(1);
    }
    return f;
}

static void commit(FILE *f, const char *tmp) {
    if (fclose(f) != 0) {
        perror(tmp);
        exit(1);
    }
    char dst[4096];
    snprintf(dst, sizeof dst, "%.*s", (int)(strlen(tmp) - 4), tmp);
    if (rename(tmp, dst) != 0) {
        perror(dst);
        exit(1);
    }
}

static void write_bin(const char *prefix, uint32_t kind, uint64_t n, const void *const *cols,
                      const size_t *widths, int ncols) {
    char tmp[4096];
    FILE *f = open_tmp(prefix, ".bin", tmp, sizeof tmp);
    int ok = fwrite("MFPB", 1, 4, f) == 4 && fwrite(&kind, 4, 1, f) == 1 &&
             fwrite(&n, 8, 1, f) == 1;
    for (int c = 0; ok && c < ncols; c++) ok = fwrite(cols[c], widths[c], n, f) == n;
    if (!ok) {
        perror(tmp);
        exit(1);
    }
    commit(f, tmp);
}

int main(int argc, char **argv) {
    if (argc < 6 || argc > 7 || (strcmp(argv[1], "entities") && strcmp(argv[1], "features")) ||
        (argc == 7 && strcmp(argv[6], "csv-only"))) {
        fprintf(stderr, "usage: gen_pit entities|features PREFIX NROWS NKEYS SEED [csv-only]\n");
        return 2;
    }
    int bin = argc == 6;
    int feat = strcmp(argv[1], "features") == 0;
    const char *prefix = argv[2];
    uint64_t n = strtoull(argv[3], NULL, 10), nkeys = strtoull(argv[4], NULL, 10);
    rng_state = strtoull(argv[5], NULL, 10) * 0x2545F4914F6CDD1DULL + (uint64_t)feat;
    if (!n || !nkeys || n > UINT32_MAX) {
        fprintf(stderr, "gen_pit: bad sizes\n");
        return 2;
    }
    int64_t *key = xmalloc(n * sizeof *key), *ts = xmalloc(n * sizeof *ts);
    char tmp[4096];
    ofile = open_tmp(prefix, ".csv", tmp, sizeof tmp);
    if (!feat) {
        memcpy(oreserve(64), "driver_id,event_timestamp\n", 26), olen += 26;
        for (uint64_t i = 0; i < n; i++) {
            key[i] = KEY0 + (int64_t)below(nkeys);
            int64_t s = T0 + (int64_t)below(SPAN);
            ts[i] = s * 1000000;
            char *p0 = oreserve(64), *p = p0;
            p = put_uint(p, (uint64_t)key[i]);
            *p++ = ',';
            p = put_ts(p, s);
            *p++ = '\n';
            olen += (size_t)(p - p0);
        }
        oflush();
        commit(ofile, tmp);
        const void *cols[] = {key, ts};
        size_t w[] = {8, 8};
        if (bin) write_bin(prefix, 0, n, cols, w, 2);
        return 0;
    }
    uint32_t *perm = xmalloc(n * sizeof *perm);
    for (uint64_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (uint64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        uint64_t j = below(i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    uint64_t per_key = (n + nkeys - 1) / nkeys;
    int64_t width = SPAN / (int64_t)per_key;
    if (width < 1) {
        fprintf(stderr, "gen_pit: more rows per key than seconds in the range\n");
        return 2;
    }
    float *conv = xmalloc(n * sizeof *conv);
    double *acc = xmalloc(n * sizeof *acc);
    int64_t *trips = xmalloc(n * sizeof *trips);
    const char *hdr = "driver_id,event_timestamp,conv_rate,acc_rate,trips\n";
    memcpy(oreserve(64), hdr, strlen(hdr)), olen += strlen(hdr);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t p = perm[i], k = p % nkeys, m = p / nkeys;
        int64_t s = T0 + (int64_t)m * width + (int64_t)below((uint64_t)width);
        uint64_t c = below(1000000), a = below(1000000000), t = below(1000);
        key[i] = KEY0 + (int64_t)k;
        ts[i] = s * 1000000;
        conv[i] = (float)((double)c / 1e6);
        acc[i] = (double)a / 1e9;
        trips[i] = (int64_t)t;
        char *p0 = oreserve(96), *q = p0;
        q = put_uint(q, (uint64_t)key[i]);
        *q++ = ',';
        q = put_ts(q, s);
        *q++ = ',', *q++ = '0', *q++ = '.';
        q = put_fixed(q, c, 6);
        *q++ = ',', *q++ = '0', *q++ = '.';
        q = put_fixed(q, a, 9);
        *q++ = ',';
        q = put_uint(q, t);
        *q++ = '\n';
        olen += (size_t)(q - p0);
    }
    oflush();
    commit(ofile, tmp);
    const void *cols[] = {key, ts, conv, acc, trips};
    size_t w[] = {8, 8, 4, 8, 8};
    if (bin) write_bin(prefix, 1, n, cols, w, 5);
    return 0;
}
