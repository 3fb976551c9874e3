/*
 * floor_read.h — the floors of an in-process online read, for online_read.c,
 * which times them call for call beside moonfeast.
 *
 * SQLite (fsq_*): raw prepared point SELECTs of one packed row by key.
 *   Opens the online store file moonfeast materialized (the same tables,
 *   rows and blobs), as moonfeast opens it: read-write, no mutex, and
 *   moonfeast's page cache (cache_size=-65536: 64 MiB at most) and the
 *   memory map the store takes by default (online_store.mmap_size_mb not
 *   set): SQLite's largest for a file of 64 MiB or more, none for a smaller
 *   one, so that neither side pays page reads the other does not; its own
 *   connection. Prepares, per view ovV, the
 *   statement moonfeast uses:
 *     SELECT event_ts, value FROM "PROJECT:ovV" WHERE entity_key = ?1
 *   A call, for each view and each id: serializes the key (v3, 37 bytes),
 *   binds it, steps, takes event_ts and the value blob (pointer and
 *   length), and resets: NVIEWS x NENT point selects, inside one read
 *   transaction (BEGIN ... COMMIT) when there are several, as moonfeast
 *   reads them. Nothing is decoded.
 *
 * Redis (frd_*): raw pipelined HMGETs with hiredis over loopback, on its
 *   own connection. Feast's layout: one hash per entity, key = v3 entity
 *   key + PROJECT, field = MurmurHash3 of "ovV:feat_FF" (4 bytes) and
 *   "_ts:ovV" (the event time, which moonfeast also reads to know a row
 *   exists). A call sends, pipelined, one HMGET per entity of every field
 *   of every view (NVIEWS x (NFEAT + 1) fields), then reads the NENT
 *   replies and frees them: one round trip. Nothing is decoded.
 *   per_view (not a floor, a diagnostic): the same fields asked as
 *   moonfeast asks them, one HMGET per view and entity (NVIEWS x NENT
 *   HMGETs of NFEAT + 1 fields), still in one pipeline and round trip.
 */
#ifndef FLOOR_READ_H
#define FLOOR_READ_H

#include <sys/stat.h>

#include <hiredis.h>
#include <sqlite3.h>

#include "mfb.h"

/*---- SQLite -------------------------------------------------------------------*/

typedef struct fsq {
    sqlite3 *db;
    sqlite3_stmt **st;
    sqlite3_stmt *begin, *commit;
    int nviews;
    uint64_t reads, missing, bytes;
    int64_t ts_sum;
} fsq;

static int fsq_open(fsq *f, const char *path, const char *project, int nviews) {
    memset(f, 0, sizeof *f);
    f->nviews = nviews;
    if (sqlite3_open_v2(path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fprintf(stderr, "floor: %s: %s\n", path, sqlite3_errmsg(f->db));
        return -1;
    }
    sqlite3_busy_timeout(f->db, 5000);
    struct stat st;
    long long map = stat(path, &st) == 0 && st.st_size >= (64LL << 20) ? 2048LL << 20 : 0;
    char pragmas[96];
    snprintf(pragmas, sizeof pragmas, "PRAGMA cache_size=-65536; PRAGMA mmap_size=%lld", map);
    if (sqlite3_exec(f->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "floor: %s: %s\n", path, sqlite3_errmsg(f->db));
        return -1;
    }
    f->st = mfb_xmalloc((size_t)nviews * sizeof *f->st);
    for (int v = 0; v < nviews; v++) {
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT event_ts, value FROM \"%s:ov%d\" WHERE entity_key = ?1",
                 project, v + 1);
        if (sqlite3_prepare_v3(f->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &f->st[v], NULL) != SQLITE_OK) {
            fprintf(stderr, "floor: %s: %s\n", sql, sqlite3_errmsg(f->db));
            return -1;
        }
    }
    if (sqlite3_prepare_v2(f->db, "BEGIN", -1, &f->begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->db, "COMMIT", -1, &f->commit, NULL) != SQLITE_OK) {
        fprintf(stderr, "floor: %s\n", sqlite3_errmsg(f->db));
        return -1;
    }
    return 0;
}

/* Run a prepared BEGIN or COMMIT. */
static int fsq_txn(fsq *f, sqlite3_stmt *s) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "floor: %s\n", sqlite3_errmsg(f->db));
        return -1;
    }
    return 0;
}

static int fsq_call(fsq *f, const int64_t *ids, size_t nent) {
    unsigned char key[MFB_KEY_LEN];
    /* several reads: one read transaction, as moonfeast does */
    int txn = nent * (size_t)f->nviews > 1;
    if (txn && fsq_txn(f, f->begin)) return -1;
    for (int v = 0; v < f->nviews; v++) {
        sqlite3_stmt *s = f->st[v];
        for (size_t i = 0; i < nent; i++) {
            mfb_entity_key(key, ids[i]);
            sqlite3_bind_blob(s, 1, key, MFB_KEY_LEN, SQLITE_STATIC);
            int rc = sqlite3_step(s);
            if (rc == SQLITE_ROW) {
                f->ts_sum += sqlite3_column_int64(s, 0);
                const void *p = sqlite3_column_blob(s, 1);
                f->bytes += (uint64_t)sqlite3_column_bytes(s, 1) + (p != NULL);
            } else if (rc == SQLITE_DONE) {
                f->missing++;
            } else {
                fprintf(stderr, "floor: %s\n", sqlite3_errmsg(f->db));
                return -1;
            }
            sqlite3_reset(s);
            f->reads++;
        }
    }
    return txn ? fsq_txn(f, f->commit) : 0;
}

static void fsq_close(fsq *f) {
    for (int v = 0; f->st && v < f->nviews; v++) sqlite3_finalize(f->st[v]);
    sqlite3_finalize(f->begin);
    sqlite3_finalize(f->commit);
    free(f->st);
    sqlite3_close(f->db);
}

/*---- Redis --------------------------------------------------------------------*/

typedef struct frd {
    redisContext *c;
    const char *project;
    size_t plen;
    int passes;          /* 1, or NVIEWS with per_view */
    size_t argc;         /* of one HMGET: 2 + its fields */
    const char **av;     /* passes x argc */
    size_t *al;
    unsigned char *hashes;
    char (*tsf)[32];
    unsigned char *keys; /* NENT keys of the current call */
    size_t keycap;
    uint64_t reads, missing; /* fields read, and nil among them */
} frd;

static int frd_open(frd *f, const char *host, int port, const char *project, int nviews, int nfeat,
                    int per_view) {
    memset(f, 0, sizeof *f);
    f->c = redisConnect(host, port);
    if (!f->c || f->c->err) {
        fprintf(stderr, "floor: %s:%d: %s\n", host, port, f->c ? f->c->errstr : "no memory");
        return -1;
    }
    f->project = project;
    f->plen = strlen(project);
    size_t nfields = (size_t)nviews * (size_t)(nfeat + 1);
    /* the fields, view after view: NFEAT hashes, then "_ts:ovV" */
    const char **fav = mfb_xmalloc(nfields * sizeof *fav);
    size_t *fal = mfb_xmalloc(nfields * sizeof *fal);
    f->hashes = mfb_xmalloc((size_t)nviews * (size_t)nfeat * 4);
    f->tsf = mfb_xmalloc((size_t)nviews * sizeof *f->tsf);
    size_t a = 0;
    for (int v = 0; v < nviews; v++) {
        char view[16];
        snprintf(view, sizeof view, "ov%d", v + 1);
        for (int k = 0; k < nfeat; k++) {
            char feat[16];
            snprintf(feat, sizeof feat, "feat_%02d", k);
            unsigned char *h = f->hashes + ((size_t)v * (size_t)nfeat + (size_t)k) * 4;
            mfb_redis_field(h, view, feat);
            fav[a] = (const char *)h, fal[a++] = 4;
        }
        snprintf(f->tsf[v], sizeof f->tsf[v], "_ts:%s", view);
        fav[a] = f->tsf[v], fal[a++] = strlen(f->tsf[v]);
    }
    f->passes = per_view ? nviews : 1;
    size_t pf = nfields / (size_t)f->passes;
    f->argc = 2 + pf;
    f->av = mfb_xmalloc((size_t)f->passes * f->argc * sizeof *f->av);
    f->al = mfb_xmalloc((size_t)f->passes * f->argc * sizeof *f->al);
    for (int p = 0; p < f->passes; p++) {
        f->av[p * f->argc] = "HMGET", f->al[p * f->argc] = 5;
        memcpy(f->av + p * f->argc + 2, fav + p * pf, pf * sizeof *fav);
        memcpy(f->al + p * f->argc + 2, fal + p * pf, pf * sizeof *fal);
    }
    free(fav);
    free(fal);
    return 0;
}

static int frd_call(frd *f, const int64_t *ids, size_t nent) {
    size_t klen = MFB_KEY_LEN + f->plen;
    if (nent > f->keycap) {
        free(f->keys);
        f->keys = mfb_xmalloc(nent * klen);
        f->keycap = nent;
    }
    for (size_t i = 0; i < nent; i++) {
        unsigned char *p = f->keys + i * klen;
        mfb_entity_key(p, ids[i]);
        memcpy(p + MFB_KEY_LEN, f->project, f->plen);
    }
    /* every HMGET in one pipeline, then every reply: one round trip */
    for (int p = 0; p < f->passes; p++) {
        const char **av = f->av + p * f->argc;
        size_t *al = f->al + p * f->argc;
        for (size_t i = 0; i < nent; i++) {
            av[1] = (const char *)f->keys + i * klen, al[1] = klen;
            if (redisAppendCommandArgv(f->c, (int)f->argc, av, al) != REDIS_OK) {
                fprintf(stderr, "floor: %s\n", f->c->errstr);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < nent * (size_t)f->passes; i++) {
        redisReply *r;
        if (redisGetReply(f->c, (void **)&r) != REDIS_OK) {
            fprintf(stderr, "floor: %s\n", f->c->errstr);
            return -1;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != f->argc - 2) {
            fprintf(stderr, "floor: unexpected reply to HMGET\n");
            return -1;
        }
        for (size_t e = 0; e < r->elements; e++)
            if (r->element[e]->type != REDIS_REPLY_STRING) f->missing++;
        f->reads += r->elements;
        freeReplyObject(r);
    }
    return 0;
}

static void frd_close(frd *f) {
    redisFree(f->c);
    free(f->av);
    free(f->al);
    free(f->hashes);
    free(f->tsf);
    free(f->keys);
}

#endif
