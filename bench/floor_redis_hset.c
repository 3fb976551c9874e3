/*
 * floor_redis_hset.c — the floor of materializing into Redis: raw
 * pipelined HSETs with hiredis over loopback.
 *
 *   floor_redis_hset HOST PORT BATCH REPS [empty|populated]
 *
 * Reads back every hash in the server (SCAN, then pipelined HGETALL): what
 * moonfeast's materialization wrote, the same keys, fields and value bytes.
 * Then REPS times: times writing them all again, one
 * `HSET key field value ...` per key (every field of the hash in one
 * command), sent in pipelined batches of BATCH commands (append BATCH,
 * then read BATCH replies), into
 *   empty      (the default) a store emptied by FLUSHALL before each rep:
 *              every HSET creates its hash;
 *   populated  the store as it is, which holds every one of these keys
 *              with every one of these fields (checked: DBSIZE before each
 *              rep): every HSET replaces the values of an existing hash,
 *              as a materialization into a populated store does.
 * Checks DBSIZE after each rep. The server ends with the same data as
 * before.
 *
 * Prints: keys K fields F hset_s S (median of REPS)
 */
#include <stdarg.h>

#include <hiredis.h>

#include "mfb.h"

typedef struct hash {
    size_t argc;
    char **argv;
    size_t *lens;
} hash;

static redisReply *cmd(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "floor_redis_hset: %s: %s\n", fmt, r ? r->str : c->errstr);
        exit(1);
    }
    return r;
}

static char *dup(const char *p, size_t n) {
    char *d = mfb_xmalloc(n + 1);
    memcpy(d, p, n);
    d[n] = 0;
    return d;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: floor_redis_hset HOST PORT BATCH REPS [empty|populated]\n");
        return 2;
    }
    int populated = argc == 6 && strcmp(argv[5], "populated") == 0;
    if (argc == 6 && !populated && strcmp(argv[5], "empty") != 0) {
        fprintf(stderr, "floor_redis_hset: MODE is empty or populated, not '%s'\n", argv[5]);
        return 2;
    }
    redisContext *c = redisConnect(argv[1], atoi(argv[2]));
    if (!c || c->err) {
        fprintf(stderr, "floor_redis_hset: %s:%s: %s\n", argv[1], argv[2], c ? c->errstr : "no memory");
        return 1;
    }
    size_t batch = strtoull(argv[3], NULL, 10);
    int reps = atoi(argv[4]);
    if (!batch || reps < 1) return 2;

    /* every key */
    size_t n = 0, cap = 1024;
    char **keys = mfb_xmalloc(cap * sizeof *keys);
    size_t *klen = mfb_xmalloc(cap * sizeof *klen);
    char cursor[32] = "0";
    do {
        redisReply *r = cmd(c, "SCAN %s COUNT 1000", cursor);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            if (n == cap) {
                cap *= 2;
                keys = realloc(keys, cap * sizeof *keys);
                klen = realloc(klen, cap * sizeof *klen);
                if (!keys || !klen) return 1;
            }
            redisReply *k = r->element[1]->element[i];
            keys[n] = dup(k->str, k->len);
            klen[n++] = k->len;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    if (!n) {
        fprintf(stderr, "floor_redis_hset: the server holds no keys\n");
        return 1;
    }
    /* their hashes */
    hash *h = mfb_xmalloc(n * sizeof *h);
    size_t fields = 0;
    for (size_t from = 0; from < n; from += batch) {
        size_t to = from + batch < n ? from + batch : n;
        for (size_t i = from; i < to; i++) redisAppendCommand(c, "HGETALL %b", keys[i], klen[i]);
        for (size_t i = from; i < to; i++) {
            redisReply *r;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || r->type != REDIS_REPLY_ARRAY) {
                fprintf(stderr, "floor_redis_hset: HGETALL failed\n");
                return 1;
            }
            h[i].argc = 2 + r->elements;
            h[i].argv = mfb_xmalloc(h[i].argc * sizeof *h[i].argv);
            h[i].lens = mfb_xmalloc(h[i].argc * sizeof *h[i].lens);
            h[i].argv[0] = "HSET", h[i].lens[0] = 4;
            h[i].argv[1] = keys[i], h[i].lens[1] = klen[i];
            for (size_t e = 0; e < r->elements; e++) {
                h[i].argv[2 + e] = dup(r->element[e]->str, r->element[e]->len);
                h[i].lens[2 + e] = r->element[e]->len;
            }
            fields += r->elements / 2;
            freeReplyObject(r);
        }
    }
    double *secs = mfb_xmalloc((size_t)reps * sizeof *secs);
    for (int k = 0; k < reps; k++) {
        if (populated) {
            redisReply *r = cmd(c, "DBSIZE");
            if ((size_t)r->integer != n) {
                fprintf(stderr, "floor_redis_hset: DBSIZE %lld before writing %zu keys into "
                        "the populated store\n", r->integer, n);
                return 1;
            }
            freeReplyObject(r);
        } else {
            freeReplyObject(cmd(c, "FLUSHALL"));
        }
        int64_t t0 = mfb_now_ns();
        for (size_t from = 0; from < n; from += batch) {
            size_t to = from + batch < n ? from + batch : n;
            for (size_t i = from; i < to; i++)
                if (redisAppendCommandArgv(c, (int)h[i].argc, (const char **)h[i].argv, h[i].lens) != REDIS_OK) {
                    fprintf(stderr, "floor_redis_hset: %s\n", c->errstr);
                    return 1;
                }
            for (size_t i = from; i < to; i++) {
                redisReply *r;
                if (redisGetReply(c, (void **)&r) != REDIS_OK || r->type == REDIS_REPLY_ERROR) {
                    fprintf(stderr, "floor_redis_hset: HSET failed\n");
                    return 1;
                }
                freeReplyObject(r);
            }
        }
        int64_t t1 = mfb_now_ns();
        secs[k] = (double)(t1 - t0) / 1e9;
        redisReply *r = cmd(c, "DBSIZE");
        if ((size_t)r->integer != n) {
            fprintf(stderr, "floor_redis_hset: DBSIZE %lld after writing %zu keys\n", r->integer, n);
            return 1;
        }
        freeReplyObject(r);
    }
    qsort(secs, (size_t)reps, sizeof *secs, cmp_d);
    printf("keys %zu fields %zu hset_s %.4f\n", n, fields, secs[(reps - 1) / 2]);
    redisFree(c);
    return 0;
}
