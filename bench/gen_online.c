/*
 * gen_online.c — deterministic source rows for the online-read benchmarks.
 *
 *   gen_online FILE.csv NKEYS NFEAT SEED
 *
 * One row per key: driver_id,event_timestamp,feat_00,...: every driver_id
 * of 1001 .. 1000+NKEYS once, in a random permutation; the event time a
 * random second in the 30 days from 2025-01-01T00:00:00Z, written
 * YYYY-MM-DDTHH:MM:SSZ; NFEAT features whose type cycles Float32 (6
 * decimals), Float64 (9 decimals), Int64 in [0, 1000) (mfb.h: the value is
 * a function of the seed, the key and the feature, so readers can check
 * it). Written to FILE.csv.tmp, then renamed. The same arguments give the
 * same bytes.
 */
#include "mfb.h"

static char obuf[1 << 20];
static size_t olen;
static FILE *ofile;

static void oflush(void) {
    if (olen && fwrite(obuf, 1, olen, ofile) != olen) {
        perror("gen_online: write");
        exit(1);
    }
    olen = 0;
}

static char *put_uint(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10), v /= 10;
    while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static char *put_fixed(char *p, uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) p[i] = (char)('0' + v % 10), v /= 10;
    return p + digits;
}

static void civil(int64_t days, int *y, int *m, int *d) {
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

static char *put_ts(char *p, int64_t secs) {
    int y, mo, d;
    int64_t s = secs % 86400;
    civil(secs / 86400, &y, &mo, &d);
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

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: gen_online FILE.csv NKEYS NFEAT SEED\n");
        return 2;
    }
    const char *path = argv[1];
    uint64_t nkeys = strtoull(argv[2], NULL, 10), seed = strtoull(argv[4], NULL, 10);
    int nfeat = atoi(argv[3]);
    if (!nkeys || nkeys > UINT32_MAX || nfeat < 1 || nfeat > 99) {
        fprintf(stderr, "gen_online: bad sizes\n");
        return 2;
    }
    mfb_rng r = {seed * 0x2545F4914F6CDD1DULL + 7};
    uint32_t *perm = mfb_xmalloc(nkeys * sizeof *perm);
    for (uint64_t i = 0; i < nkeys; i++) perm[i] = (uint32_t)i;
    for (uint64_t i = nkeys - 1; i > 0; i--) { /* Fisher-Yates */
        uint64_t j = mfb_below(&r, i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ofile = fopen(tmp, "wb");
    if (!ofile) {
        perror(tmp);
        return 1;
    }
    olen = (size_t)snprintf(obuf, sizeof obuf, "driver_id,event_timestamp");
    for (int f = 0; f < nfeat; f++) olen += (size_t)snprintf(obuf + olen, 32, ",feat_%02d", f);
    obuf[olen++] = '\n';
    for (uint64_t i = 0; i < nkeys; i++) {
        if (olen + 1024 > sizeof obuf) oflush();
        char *p = obuf + olen;
        int64_t key = MFB_KEY0 + (int64_t)perm[i];
        p = put_uint(p, (uint64_t)key);
        *p++ = ',';
        p = put_ts(p, MFB_T0 + (int64_t)mfb_below(&r, MFB_SPAN));
        for (int f = 0; f < nfeat; f++) {
            uint64_t b = mfb_value_bits(seed, key, f);
            *p++ = ',';
            switch (mfb_ftype(f)) {
            case MFB_F32: *p++ = '0', *p++ = '.', p = put_fixed(p, b % 1000000, 6); break;
            case MFB_F64: *p++ = '0', *p++ = '.', p = put_fixed(p, b % 1000000000, 9); break;
            default: p = put_uint(p, (uint64_t)mfb_value_i64(seed, key, f)); break;
            }
        }
        *p++ = '\n';
        olen = (size_t)(p - obuf);
    }
    oflush();
    if (fclose(ofile) != 0 || rename(tmp, path) != 0) {
        perror(path);
        return 1;
    }
    free(perm);
    return 0;
}
