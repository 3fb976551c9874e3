/*
 * floor_pit.c — the floor of the point-in-time join: an in-memory radix
 * sort-merge of data that is already parsed.
 *
 *   floor_pit TTL_SECONDS REPS ENTITIES.bin FEATURES.bin [FEATURES.bin ...]
 *
 * Reads the binary columns gen_pit writes (not timed), then REPS times
 * (timed with CLOCK_MONOTONIC, one thread):
 *   - packs each entity row as (key, timestamp) into one 64-bit number
 *     (key - min key above the bits the timestamp range needs, in
 *     microseconds) with its row number, and LSD-radix-sorts them;
 *   - for each feature file (a view): the same for its rows, then one merge
 *     pass that finds, for every entity row, the last feature row of the
 *     same key with ts <= the entity's ts, nulls it when older than the
 *     ttl, and gathers its three values into output columns in entity
 *     order (values plus a validity byte, like any columnar result).
 * Nothing is written; a checksum of the output is printed so the work
 * cannot be optimized away. Prints: "seconds S matched M checksum C",
 * S being the median of the REPS runs.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    uint64_t c;
    uint32_t i, pad;
} item;

typedef struct {
    uint64_t n;
    int64_t *key, *ts;
    float *conv;
    double *acc;
    int64_t *trips;
} cols;

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "floor_pit: out of memory\n");
        exit(1);
    }
    return p;
}

static void *read_col(FILE *f, const char *path, uint64_t n, size_t w) {
    void *p = xmalloc(n * w);
    if (fread(p, w, n, f) != n) {
        fprintf(stderr, "floor_pit: %s is short\n", path);
        exit(1);
    }
    return p;
}

static void load(const char *path, uint32_t want_kind, cols *c) {
    FILE *f = fopen(path, "rb");
    char magic[4];
    uint32_t kind;
    if (!f || fread(magic, 1, 4, f) != 4 || memcmp(magic, "MFPB", 4) ||
        fread(&kind, 4, 1, f) != 1 || kind != want_kind || fread(&c->n, 8, 1, f) != 1) {
        fprintf(stderr, "floor_pit: %s is not a gen_pit %s file\n", path,
                want_kind ? "features" : "entities");
        exit(1);
    }
    c->key = read_col(f, path, c->n, 8);
    c->ts = read_col(f, path, c->n, 8);
    if (kind == 1) {
        c->conv = read_col(f, path, c->n, 4);
        c->acc = read_col(f, path, c->n, 8);
        c->trips = read_col(f, path, c->n, 8);
    }
    fclose(f);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int bits_for(uint64_t v) {
    int b = 0;
    while (b < 64 && (v >> b)) b++;
    return b;
}

/* LSD radix sort of a[0..n) on the low `bits` bits of .c; tmp is scratch.
 * Returns the array holding the result (a or tmp). */
static item *radix_sort(item *a, item *tmp, size_t n, int bits) {
    if (bits == 0) return a;
    int passes = (bits + 10) / 11;
    int w = (bits + passes - 1) / passes;
    size_t buckets = (size_t)1 << w;
    size_t *hist = calloc((size_t)passes * buckets, sizeof *hist);
    if (!hist) exit(1);
    uint64_t mask = buckets - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t c = a[i].c;
        for (int p = 0; p < passes; p++) hist[(size_t)p * buckets + ((c >> (p * w)) & mask)]++;
    }
    for (int p = 0; p < passes; p++) {
        size_t *h = hist + (size_t)p * buckets, sum = 0;
        int trivial = 0;
        for (size_t b = 0; b < buckets; b++) {
            if (h[b] == n) trivial = 1;
            size_t t = h[b];
            h[b] = sum;
            sum += t;
        }
        if (trivial) continue; /* every item has the same digit */
        int sh = p * w;
        for (size_t i = 0; i < n; i++) tmp[h[(a[i].c >> sh) & mask]++] = a[i];
        item *t = a;
        a = tmp, tmp = t;
    }
    free(hist);
    return a;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: floor_pit TTL_SECONDS REPS ENTITIES.bin FEATURES.bin...\n");
        return 2;
    }
    int64_t ttl = strtoll(argv[1], NULL, 10) * 1000000;
    int reps = atoi(argv[2]);
    if (reps < 1) reps = 1;
    int nviews = argc - 4;
    cols ent, *feat = xmalloc((size_t)nviews * sizeof *feat);
    load(argv[3], 0, &ent);
    size_t maxf = 0;
    for (int v = 0; v < nviews; v++) {
        load(argv[4 + v], 1, &feat[v]);
        if (feat[v].n > maxf) maxf = feat[v].n;
    }
    size_t ne = ent.n, big = maxf > ne ? maxf : ne;
    /* Scratch and output, allocated and touched before timing. */
    item *ea = xmalloc(ne * sizeof *ea), *fa = xmalloc(big * sizeof *fa),
         *tmp = xmalloc(big * sizeof *tmp);
    memset(ea, 0, ne * sizeof *ea), memset(fa, 0, big * sizeof *fa);
    memset(tmp, 0, big * sizeof *tmp);
    float *oconv = xmalloc((size_t)nviews * ne * sizeof *oconv);
    double *oacc = xmalloc((size_t)nviews * ne * sizeof *oacc);
    int64_t *otrips = xmalloc((size_t)nviews * ne * sizeof *otrips);
    uint8_t *ovalid = xmalloc((size_t)nviews * ne);
    memset(oconv, 0, (size_t)nviews * ne * sizeof *oconv);
    memset(oacc, 0, (size_t)nviews * ne * sizeof *oacc);
    memset(otrips, 0, (size_t)nviews * ne * sizeof *otrips);
    memset(ovalid, 0, (size_t)nviews * ne);

    double *secs = xmalloc((size_t)reps * sizeof *secs);
    uint64_t matched = 0;
    double checksum = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        /* Ranges over every row, so entity and feature numbers compare. */
        int64_t kmin = INT64_MAX, kmax = INT64_MIN, tmin = INT64_MAX, tmax = INT64_MIN;
        for (size_t i = 0; i < ne; i++) {
            if (ent.key[i] < kmin) kmin = ent.key[i];
            if (ent.key[i] > kmax) kmax = ent.key[i];
            if (ent.ts[i] < tmin) tmin = ent.ts[i];
            if (ent.ts[i] > tmax) tmax = ent.ts[i];
        }
        for (int v = 0; v < nviews; v++)
            for (size_t i = 0; i < feat[v].n; i++) {
                if (feat[v].key[i] < kmin) kmin = feat[v].key[i];
                if (feat[v].key[i] > kmax) kmax = feat[v].key[i];
                if (feat[v].ts[i] < tmin) tmin = feat[v].ts[i];
                if (feat[v].ts[i] > tmax) tmax = feat[v].ts[i];
            }
        int tbits = bits_for((uint64_t)(tmax - tmin));
        int kbits = bits_for((uint64_t)(kmax - kmin));
        if (tbits + kbits > 64) {
            fprintf(stderr, "floor_pit: key and time ranges need more than 64 bits\n");
            return 1;
        }
        for (size_t i = 0; i < ne; i++) {
            ea[i].c = (uint64_t)(ent.key[i] - kmin) << tbits | (uint64_t)(ent.ts[i] - tmin);
            ea[i].i = (uint32_t)i;
        }
        item *es = radix_sort(ea, tmp, ne, tbits + kbits);
        if (es == tmp) { /* keep the sorted entities out of the scratch */
            memcpy(ea, tmp, ne * sizeof *ea);
            es = ea;
        }
        matched = 0;
        for (int v = 0; v < nviews; v++) {
            const cols *f = &feat[v];
            size_t nf = f->n;
            for (size_t i = 0; i < nf; i++) {
                fa[i].c = (uint64_t)(f->key[i] - kmin) << tbits | (uint64_t)(f->ts[i] - tmin);
                fa[i].i = (uint32_t)i;
            }
            item *fs = radix_sort(fa, tmp, nf, tbits + kbits);
            float *vc = oconv + (size_t)v * ne;
            double *va = oacc + (size_t)v * ne;
            int64_t *vt = otrips + (size_t)v * ne;
            uint8_t *vv = ovalid + (size_t)v * ne;
            size_t j = 0;
            for (size_t e = 0; e < ne; e++) {
                uint64_t c = es[e].c;
                while (j < nf && fs[j].c <= c) j++;
                uint32_t row = es[e].i;
                if (j > 0 && fs[j - 1].c >> tbits == c >> tbits &&
                    (int64_t)(c - fs[j - 1].c) <= ttl) {
                    uint32_t w = fs[j - 1].i;
                    vc[row] = f->conv[w], va[row] = f->acc[w], vt[row] = f->trips[w];
                    vv[row] = 1;
                    matched++;
                } else {
                    vv[row] = 0;
                }
            }
        }
        checksum = 0;
        for (size_t i = 0; i < (size_t)nviews * ne; i++)
            if (ovalid[i]) checksum += oconv[i] + oacc[i] + (double)otrips[i];
        secs[r] = now() - t0;
    }
    /* median */
    for (int i = 1; i < reps; i++)
        for (int k = i; k > 0 && secs[k] < secs[k - 1]; k--) {
            double t = secs[k];
            secs[k] = secs[k - 1], secs[k - 1] = t;
        }
    printf("seconds %.3f matched %" PRIu64 " checksum %.6f\n", secs[reps / 2], matched, checksum);
    return 0;
}
