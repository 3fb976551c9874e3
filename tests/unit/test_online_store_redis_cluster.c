/*
 * test_online_store_redis_cluster.c — the Redis online store on a Redis
 * Cluster (online_store.redis_type: redis_cluster; runtime/store_redis.c,
 * runtime/redis_slot.c), against a real cluster the test starts itself:
 * 3 masters and 3 replicas of Debian's redis-server on free loopback ports
 * (tests/unit/mft_redis.h: cluster_start), joined with `redis-cli --cluster
 * create`, and a single redis-server beside it to compare with. Everything
 * is stopped by PID at the end. Without redis-server or redis-cli the test
 * says so and skips.
 *
 * 1. The hash slot function: published CRC16 vectors, hash tags, and 3000
 *    binary keys against the server's own CLUSTER KEYSLOT.
 * 2. Keys spread over all three masters, each on the master of its slot,
 *    with no redirection needed; the hashes are byte for byte those single
 *    Redis holds for the same writes (HGETALL from the right node), and
 *    every type reads back as single Redis reads it (this replaces the
 *    suite's type test: whole-second UnixTimestamps are single Redis's rule,
 *    checked in test_online_store_redis).
 * 3. The store contract (tests/unit/store_suite.h) on the cluster store.
 * 4. update/teardown reach every master.
 * 5. A slot migrated while the store is open: ASK during the migration
 *    (reads and writes of keys on both sides), MOVED after it, the map
 *    refreshed; then a redis-cli reshard of 300 slots while reads and
 *    writes go on, every one succeeding.
 * 6. password=... on every node; errors: a seed that is no cluster node,
 *    nothing listening, one-server settings pointed at a cluster node, bad
 *    connection strings.
 * 7. Failover: rows written and replicated (WAIT), a master killed
 *    (SIGKILL); a call before the replica took over fails naming the dead
 *    node; once it did, every row reads back and new writes succeed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis.h>

#include "store_suite.h"
#include "mft_redis.h"

static char *tmp_root;
static mft_cluster cl;
static server single_srv;
static const char *cluster_password; /* while test_password runs */
static mf_error ce;                  /* errors of calls inside CHECK */

static void stop_all(void) {
    cluster_stop(&cl);
    server_stop(&single_srv);
}

/*---- Stores ------------------------------------------------------------------------*/

static mf__online *open_with(const char *type, const char *conn, int64_t command_ms,
                             mf_error *err) {
    char *path = mf__xasprintf("%s/feature_store.yaml", tmp_root);
    mf__redis_opts o = {path, conn, 0, 1000, command_ms, type};
    mf__online *s = NULL;
    int rc = mf__online_redis_open(&o, &s, err);
    free(path);
    return rc == MF_OK ? s : NULL;
}

/* The seeds: a replica and a master, as a user might list them. */
static char *seeds(void) {
    int m = -1, r = -1;
    for (int i = 0; i < cl.n; i++) {
        if (!cluster_alive(&cl, i)) continue;
        if (cluster_is_master(&cl, i)) {
            if (m < 0) m = i;
        } else if (r < 0) {
            r = i;
        }
    }
    if (r < 0) r = m;
    return mf__xasprintf("127.0.0.1:%d, 127.0.0.1:%d", cl.node[r].port, cl.node[m].port);
}

static mf__online *open_cluster(void) {
    char *sd = seeds();
    char *conn = cluster_password ? mf__xasprintf("%s,password=%s", sd, cluster_password)
                                  : mf__xstrdup(sd);
    mf_error err;
    mf__online *s = open_with("redis_cluster", conn, 5000, &err);
    if (!s) printf("#   open %s: %s\n", conn, err.message);
    free(sd);
    free(conn);
    return s;
}

static mf__online *open_single(void) {
    char conn[64];
    snprintf(conn, sizeof conn, "127.0.0.1:%d", single_srv.port);
    mf_error err;
    mf__online *s = open_with(NULL, conn, 5000, &err);
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

/* The master (node index) of every slot, from CLUSTER SLOTS; 0 when some
 * slot has none. */
static int slot_map(int *map) {
    for (unsigned k = 0; k < 16384; k++) map[k] = -1;
    for (int i = 0; i < cl.n; i++) {
        if (!cluster_alive(&cl, i)) continue;
        redisContext *c = raw(&cl.node[i]);
        if (!c) continue;
        redisReply *r = redisCommand(c, "CLUSTER SLOTS");
        for (size_t e = 0; r && r->type == REDIS_REPLY_ARRAY && e < r->elements; e++) {
            redisReply *x = r->element[e];
            for (int j = 0; j < cl.n; j++)
                if (cl.node[j].port == x->element[2]->element[1]->integer)
                    for (long long k = x->element[0]->integer; k <= x->element[1]->integer; k++)
                        map[k] = j;
        }
        freeReplyObject(r);
        redisFree(c);
        break;
    }
    for (unsigned k = 0; k < 16384; k++)
        if (map[k] < 0) return 0;
    return 1;
}

/* A reply's integer, or -1. */
static long long rint_of(redisContext *c, const char *fmt, const void *p, size_t n) {
    redisReply *r = redisCommand(c, fmt, p, n);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* HGETALL of key as "field=value" pairs (hex), sorted, one text. */
static char *hash_text(redisContext *c, const mf__buf *k) {
    redisReply *r = redisCommand(c, "HGETALL %b", k->data, k->len);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return mf__xstrdup("(error)");
    }
    size_t n = r->elements / 2;
    char **pairs = mf__xcalloc(n + 1, sizeof *pairs);
    for (size_t i = 0; i < n; i++) {
        mf__buf b;
        mf__buf_init(&b);
        for (int h = 0; h < 2; h++) {
            redisReply *e = r->element[2 * i + (size_t)h];
            for (size_t j = 0; j < e->len; j++) mf__buf_printf(&b, "%02x", (unsigned char)e->str[j]);
            mf__buf_putc(&b, h ? ';' : '=');
        }
        pairs[i] = mf__buf_steal(&b);
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: hashes are small */
        for (size_t j = i; j > 0 && strcmp(pairs[j - 1], pairs[j]) > 0; j--) {
            char *t = pairs[j];
            pairs[j] = pairs[j - 1];
            pairs[j - 1] = t;
        }
    mf__buf out;
    mf__buf_init(&out);
    mf__buf_puts(&out, "");
    for (size_t i = 0; i < n; i++) {
        mf__buf_puts(&out, pairs[i]);
        free(pairs[i]);
    }
    free(pairs);
    freeReplyObject(r);
    return mf__buf_steal(&out);
}

/* The keys of project on node i (SCAN MATCH *project). */
static long long keys_on(int i, const char *project) {
    redisContext *c = raw(&cl.node[i]);
    if (!c) return -1;
    long long n = 0;
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(c, "SCAN %s MATCH *%s COUNT 1000", cursor, project);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            n = -1;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        n += (long long)r->element[1]->elements;
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redisFree(c);
    return n;
}

/* Write ids[0..n) of a one-Int64-feature view, value id * mul + add, event
 * time ets. */
static int put_ids(mf__online *s, const char *project, const Mf__FeatureView *fv,
                   const int64_t *ids, size_t n, int64_t mul, int64_t add, int64_t ets,
                   mf_error *err) {
    mf__col c;
    mf__col_init(&c, "v", MF__VALUE_TYPE__VT_INT64, false);
    int64_t *e = mf__xmalloc((n + 1) * sizeof *e);
    for (size_t i = 0; i < n; i++) {
        mf__col_push_i64(&c, ids[i] * mul + add);
        e[i] = ets;
    }
    int rc = mfs_write(s, project, fv, ids, e, NULL, &c, NULL, n, err);
    free(e);
    mf__col_free(&c);
    return rc;
}

/* Read ids[0..n): 0 when every one is found with value id * mul + add;
 * else the number of wrong rows, or -1 when the read failed (err). */
static long check_ids(mf__online *s, const char *project, const Mf__FeatureView *fv,
                      const int64_t *ids, size_t n, int64_t mul, int64_t add, mf_error *err) {
    mfs_got g;
    int rc = mfs_read(s, project, fv, ids, n, NULL, 0, &g, err);
    long bad = rc == MF_OK ? 0 : -1;
    for (size_t i = 0; rc == MF_OK && i < n; i++)
        if (g.found[i] != 1 || mfs_i64(&g.cols[0], i) != ids[i] * mul + add) {
            if (bad < 3)
                printf("#   id %lld: found %d, value %lld, want %lld\n", (long long)ids[i],
                       g.found[i], (long long)mfs_i64(&g.cols[0], i),
                       (long long)(ids[i] * mul + add));
            bad++;
        }
    mfs_got_free(&g);
    return bad;
}

/*---- 1. The hash slot --------------------------------------------------------------*/

static void test_slot_function(void) {
    /* CRC16/XMODEM("123456789") = 0x31c3; the cluster spec's examples */
    CHECK(mf__redis_slot("123456789", 9) == (0x31c3 & 16383));
    CHECK(mf__redis_slot("foo", 3) == 12182);
    CHECK(mf__redis_slot("", 0) == 0);
    CHECK(mf__redis_slot("{user1000}.following", 20) == mf__redis_slot("user1000", 8));
    CHECK(mf__redis_slot("{user1000}.followers", 20) == mf__redis_slot("user1000", 8));
    CHECK(mf__redis_slot("foo{}{bar}", 10) == mf__redis_slot("foo{}{bar}x", 10)); /* whole key */
    CHECK(mf__redis_slot("foo{}{bar}", 10) != mf__redis_slot("bar", 3));
    CHECK(mf__redis_slot("foo{{bar}}zap", 13) == mf__redis_slot("{bar", 4));
    CHECK(mf__redis_slot("foo{bar}{zap}", 13) == mf__redis_slot("bar", 3));
    /* against the server, binary keys with braces in them */
    redisContext *c = raw(&cl.node[0]);
    CHECK(c);
    uint64_t x = 88172645463325252ULL;
    int differ = 0;
    for (int i = 0; i < 3000; i++) {
        unsigned char k[48];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (size_t)(x % 40);
        for (size_t j = 0; j < n; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            unsigned v = (unsigned)(x >> 24) & 0xff;
            k[j] = (unsigned char)(v < 24 ? '{' : v < 48 ? '}' : v);
        }
        long long want = rint_of(c, "CLUSTER KEYSLOT %b", k, n);
        if (want != (long long)mf__redis_slot(k, n) && differ++ < 3)
            printf("#   key %d (%zu bytes): server %lld, ours %u\n", i, n, want,
                   mf__redis_slot(k, n));
    }
    redisFree(c);
    CHECK(differ == 0);
}

/*---- 2. Spread and layout ----------------------------------------------------------*/

/* The same writes on the cluster and on single Redis: same hashes, byte for
 * byte; the keys on all three masters, each on its slot's master; the
 * types read back alike; no redirection needed. */
static void test_spread_and_layout(void) {
    const char *project = "layout";
    mf__online *cs = open_cluster(), *ss = open_single();
    CHECK(cs && ss);
    Mf__FeatureView *tv = mfs_view(project, "types", 0, mfs_type_names, mfs_type_types, MFS_NTYPES);
    Mf__FeatureView *fv = mfs_view1(project, "v");
    mf__col in[MFS_NTYPES];
    mfs_type_rows(in);
    int64_t tids[3] = {10, -5, INT64_MAX}, tets[3] = {MFS_T0, MFS_T0 + 1, MFS_T0 + 2};
    enum { N = 600 };
    int64_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = 1000 + i * 7919;
    ids[1] = 0x7d0000007b; /* a key with '{' then '}' in its bytes: a hash tag */
    mf__online *both[2] = {cs, ss};
    for (int k = 0; k < 2; k++) {
        MFS_OK(mfs_write(both[k], project, tv, tids, tets, NULL, in, NULL, 3, &mfs_e));
        MFS_OK(put_ids(both[k], project, fv, ids, N, 3, 1, MFS_T0, &mfs_e));
    }
    /* every type reads back from the cluster as from single Redis */
    mfs_got gc, gs;
    MFS_OK(mfs_read(cs, project, tv, tids, 3, NULL, 0, &gc, &mfs_e));
    MFS_OK(mfs_read(ss, project, tv, tids, 3, NULL, 0, &gs, &mfs_e));
    bool same = true;
    for (size_t i = 0; i < 3; i++) {
        same = same && gc.found[i] == 1 && gs.found[i] == 1 && gc.ts[i] == gs.ts[i];
        for (size_t f = 0; f < MFS_NTYPES; f++) {
            const mf__col *a = &gc.cols[f], *b = &gs.cols[f];
            bool eq = a->sc == MF__SC_TEXT && a->valid[i] && b->valid[i] &&
                              a->off[i + 1] == a->off[i] && b->off[i + 1] == b->off[i]
                          ? true
                          : mfs_cell_eq(a, i, b, i);
            if (!eq) printf("#   feature %s, row %zu differs\n", mfs_type_names[f], i);
            same = same && eq;
        }
    }
    mfs_got_free(&gc);
    mfs_got_free(&gs);
    CHECK(same);
    CHECK(check_ids(cs, project, fv, ids, N, 3, 1, &ce) == 0);
    /* where the keys are, and what they hold */
    static int map[16384];
    CHECK(slot_map(map));
    redisContext *sc = raw(&single_srv), *nc[MFT_CLUSTER_MAX] = {0};
    CHECK(sc);
    for (int i = 0; i < cl.n; i++) nc[i] = raw(&cl.node[i]);
    mf__buf k;
    mf__buf_init(&k);
    int bad = 0;
    for (int i = 0; i < N + 3; i++) {
        key_of(&k, i < N ? ids[i] : tids[i - N], project);
        long long slot = rint_of(nc[0], "CLUSTER KEYSLOT %b", k.data, k.len);
        int m = slot >= 0 ? map[slot] : -1;
        if (slot != (long long)mf__redis_slot(k.data, k.len) || m < 0 || !nc[m] ||
            rint_of(nc[m], "EXISTS %b", k.data, k.len) != 1) {
            if (bad++ < 3) printf("#   key %d: slot %lld (ours %u), master %d\n", i, slot,
                                  mf__redis_slot(k.data, k.len), m);
            continue;
        }
        char *a = hash_text(nc[m], &k), *b = hash_text(sc, &k);
        if (strcmp(a, b) != 0 || strlen(a) < 10) {
            if (bad++ < 3) printf("#   key %d: cluster %s\n#   single  %s\n", i, a, b);
        }
        free(a);
        free(b);
    }
    CHECK(bad == 0);
    CHECK(mf__redis_slot("\x7b\x00\x00\x00\x7d", 5) == mf__redis_slot("\0\0\0", 3));
    /* all three masters hold some, and nothing is anywhere else */
    long long total = 0;
    int masters = 0;
    for (int i = 0; i < cl.n; i++) {
        long long n = keys_on(i, project);
        if (!cluster_is_master(&cl, i)) continue;
        masters++;
        if (n <= 0) printf("#   master %d holds %lld keys of the project\n", cl.node[i].port, n);
        CHECK(n > 0);
        total += n;
    }
    CHECK(masters == 3);
    CHECK(total == N + 3);
    mf__redis_counts cnt;
    mf__redis_counts_get(cs, &cnt);
    if (cnt.moved || cnt.ask || cnt.refreshes != 1)
        printf("#   moved %llu ask %llu refreshes %llu\n", (unsigned long long)cnt.moved,
               (unsigned long long)cnt.ask, (unsigned long long)cnt.refreshes);
    CHECK(cnt.moved == 0 && cnt.ask == 0 && cnt.refreshes == 1);
    CHECK(cs->vt->ping(cs, &ce) == MF_OK);
    mf__buf_free(&k);
    redisFree(sc);
    for (int i = 0; i < cl.n; i++) redisFree(nc[i]);
    for (size_t f = 0; f < MFS_NTYPES; f++) mf__col_free(&in[f]);
    MFS_FREE(tv);
    MFS_FREE(fv);
    cs->vt->close(cs);
    ss->vt->close(ss);
}

/*---- 4. update / teardown on every master ------------------------------------------*/

static void test_teardown_every_master(void) {
    const char *project = "tdall";
    mf__online *s = open_cluster();
    CHECK(s);
    Mf__FeatureView *a = mfs_view1(project, "a"), *b = mfs_view1(project, "b");
    enum { N = 300 };
    int64_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = i + 1;
    MFS_OK(put_ids(s, project, a, ids, N, 1, 0, MFS_T0, &mfs_e));
    MFS_OK(put_ids(s, project, b, ids, N, 2, 0, MFS_T0, &mfs_e));
    MFS_OK(mfs_update(s, project, b, NULL, a, &mfs_e)); /* drop a */
    CHECK(mfs_reads_empty(s, project, a, ids, N));
    CHECK(check_ids(s, project, b, ids, N, 2, 0, &ce) == 0);
    MFS_OK(s->vt->teardown(s, project, &b, 1, &mfs_e));
    for (int i = 0; i < cl.n; i++) CHECK(keys_on(i, project) == 0);
    MFS_FREE(a);
    MFS_FREE(b);
    s->vt->close(s);
}

/*---- 5. Migration ------------------------------------------------------------------*/

static void node_id(int i, char *out, size_t cap) {
    out[0] = 0;
    redisContext *c = raw(&cl.node[i]);
    if (!c) return;
    redisReply *r = redisCommand(c, "CLUSTER MYID");
    if (r && r->type == REDIS_REPLY_STRING) snprintf(out, cap, "%s", r->str);
    freeReplyObject(r);
    redisFree(c);
}

static bool ok_reply(int i, const char *fmt, ...) {
    redisContext *c = raw(&cl.node[i]);
    if (!c) return false;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok) printf("#   node %d: %s: %s\n", cl.node[i].port, fmt, r ? r->str : c->errstr);
    freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* One slot migrated by hand while the store is open: ASK for the keys
 * already moved (reads, writes of moved, kept and new keys), MOVED once
 * the slot belongs to the target, and no redirection after the map is
 * refreshed. */
static void test_migrate_slot(void) {
    const char *project = "mig";
    mf__online *s = open_cluster();
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1(project, "v");
    /* four ids whose keys share the slot of id 1 */
    mf__buf k;
    mf__buf_init(&k);
    key_of(&k, 1, project);
    unsigned slot = mf__redis_slot(k.data, k.len);
    int64_t same[4] = {1, 0, 0, 0};
    int have = 1;
    for (int64_t id = 2; have < 4 && id < 10000000; id++) {
        key_of(&k, id, project);
        if (mf__redis_slot(k.data, k.len) == slot) same[have++] = id;
    }
    CHECK(have == 4);
    enum { N = 40 };
    int64_t ids[N + 3];
    for (int i = 0; i < N; i++) ids[i] = 100 + i;
    ids[N] = same[0], ids[N + 1] = same[1], ids[N + 2] = same[2]; /* same[3]: written later */
    MFS_OK(put_ids(s, project, fv, ids, N + 3, 10, 0, MFS_T0, &mfs_e));
    static int map[16384];
    CHECK(slot_map(map));
    int src = map[slot], dst = -1;
    for (int i = 0; i < cl.n && dst < 0; i++)
        if (i != src && cluster_alive(&cl, i) && cluster_is_master(&cl, i)) dst = i;
    CHECK(src >= 0 && dst >= 0);
    char sid[64], did[64];
    node_id(src, sid, sizeof sid);
    node_id(dst, did, sizeof did);
    CHECK(sid[0] && did[0]);
    CHECK(ok_reply(dst, "CLUSTER SETSLOT %u IMPORTING %s", slot, sid));
    CHECK(ok_reply(src, "CLUSTER SETSLOT %u MIGRATING %s", slot, did));
    key_of(&k, same[0], project);
    CHECK(ok_reply(src, "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS %b", cl.node[dst].port, "",
                   k.data, k.len));
    /* same[0] is on dst now, same[1..2] still on src */
    mf__redis_counts c0, c1, c2, c3;
    mf__redis_counts_get(s, &c0);
    CHECK(check_ids(s, project, fv, ids, N + 3, 10, 0, &ce) == 0);
    mf__redis_counts_get(s, &c1);
    if (c1.ask == c0.ask) printf("#   no ASK followed\n");
    CHECK(c1.ask > c0.ask);
    /* writes: the moved key, a kept one, a new one */
    int64_t w[3] = {same[0], same[1], same[3]};
    MFS_OK(put_ids(s, project, fv, w, 3, 10, 5, MFS_T0 + 1, &mfs_e));
    CHECK(check_ids(s, project, fv, w, 3, 10, 5, &ce) == 0);
    redisContext *sc = raw(&cl.node[src]), *dc = raw(&cl.node[dst]);
    CHECK(sc && dc);
    key_of(&k, same[3], project);
    redisReply *r = redisCommand(dc, "ASKING"); /* the target answers for an importing slot */
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    CHECK(rint_of(dc, "EXISTS %b", k.data, k.len) == 1); /* the new key went to the target */
    key_of(&k, same[1], project);
    CHECK(rint_of(sc, "EXISTS %b", k.data, k.len) == 1); /* the kept one stayed */
    /* the rest of the slot moves (other tests' keys too); the slot belongs
     * to dst */
    for (;;) {
        redisReply *keys = redisCommand(sc, "CLUSTER GETKEYSINSLOT %u 100", slot);
        CHECK(keys && keys->type == REDIS_REPLY_ARRAY);
        size_t n = keys->elements;
        for (size_t i = 0; i < n; i++)
            if (!ok_reply(src, "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS %b", cl.node[dst].port, "",
                          keys->element[i]->str, keys->element[i]->len))
                n = 0;
        freeReplyObject(keys);
        if (n == 0) break;
    }
    r = redisCommand(sc, "CLUSTER COUNTKEYSINSLOT %u", slot);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject(r);
    CHECK(ok_reply(dst, "CLUSTER SETSLOT %u NODE %s", slot, did));
    CHECK(ok_reply(src, "CLUSTER SETSLOT %u NODE %s", slot, did));
    for (int i = 0; i < cl.n; i++)
        if (i != src && i != dst && cluster_alive(&cl, i) && cluster_is_master(&cl, i))
            CHECK(ok_reply(i, "CLUSTER SETSLOT %u NODE %s", slot, did));
    int64_t all4[4] = {same[0], same[1], same[2], same[3]};
    mf__redis_counts_get(s, &c1);
    CHECK(check_ids(s, project, fv, all4, 2, 10, 5, &ce) == 0);
    CHECK(check_ids(s, project, fv, all4 + 2, 1, 10, 0, &ce) == 0);
    mf__redis_counts_get(s, &c2);
    if (c2.moved == c1.moved) printf("#   no MOVED followed\n");
    CHECK(c2.moved > c1.moved);
    /* the map was refreshed: no more redirections */
    CHECK(check_ids(s, project, fv, all4 + 3, 1, 10, 5, &ce) == 0);
    CHECK(check_ids(s, project, fv, ids, N, 10, 0, &ce) == 0);
    MFS_OK(put_ids(s, project, fv, all4, 4, 10, 9, MFS_T0 + 2, &mfs_e));
    CHECK(check_ids(s, project, fv, all4, 4, 10, 9, &ce) == 0);
    mf__redis_counts_get(s, &c3);
    CHECK(c3.moved == c2.moved && c3.ask == c2.ask && c3.refreshes > c2.refreshes - 1);
    CHECK(c3.refreshes >= 2);
    redisFree(sc);
    redisFree(dc);
    mf__buf_free(&k);
    MFS_FREE(fv);
    s->vt->close(s);
}

/* A reshard (redis-cli --cluster reshard, 300 slots) runs while the store
 * writes and reads 300 keys in a loop, 100 of them in the slots that move:
 * every call succeeds, the values read are the last written, and the
 * store followed the slots (MOVED or ASK). */
typedef struct reshard_job {
    const char *const *argv;
    const char *log; /* its output */
    int rc;
    atomic_int done;
} reshard_job;

static void *reshard_thread(void *p) {
    reshard_job *j = p;
    j->rc = mft_spawn_to(j->argv, j->log);
    atomic_store(&j->done, 1);
    return NULL;
}

static void test_reshard_under_load(void) {
    const char *project = "reshard";
    mf__online *s = open_cluster();
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1(project, "v");
    static int map[16384];
    CHECK(slot_map(map));
    /* from one master to another: redis-cli takes the source's lowest
     * slots; 100 keys in the first 300 of them, 200 anywhere */
    int src = map[0], dst = -1;
    for (int i = 0; i < cl.n && dst < 0; i++)
        if (i != src && cluster_alive(&cl, i) && cluster_is_master(&cl, i)) dst = i;
    CHECK(src >= 0 && dst >= 0);
    unsigned last_slot = 0;
    for (unsigned k = 0, n = 0; k < 16384 && n < 300; k++)
        if (map[k] == src) last_slot = k, n++;
    enum { N = 300 };
    int64_t ids[N];
    int in = 0, out = 0;
    mf__buf k;
    mf__buf_init(&k);
    for (int64_t id = 1; in + out < N; id++) {
        key_of(&k, id, project);
        unsigned sl = mf__redis_slot(k.data, k.len);
        if (map[sl] == src && sl <= last_slot) {
            if (in < 100) ids[in++ + out] = id;
        } else if (out < 200) {
            ids[in + out++] = id;
        }
    }
    mf__buf_free(&k);
    MFS_OK(put_ids(s, project, fv, ids, N, 1, 0, MFS_T0, &mfs_e));
    char sid[64], did[64], at[32];
    node_id(src, sid, sizeof sid);
    node_id(dst, did, sizeof did);
    snprintf(at, sizeof at, "127.0.0.1:%d", cl.node[src].port);
    const char *argv[] = {"redis-cli", "--cluster", "reshard", at, "--cluster-from", sid,
                          "--cluster-to", did, "--cluster-slots", "300", "--cluster-yes",
                          "--cluster-pipeline", "5", NULL};
    char *log = mf__xasprintf("%s/reshard.log", tmp_root);
    reshard_job job = {argv, log, -1, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, reshard_thread, &job) == 0);
    mf__redis_counts c0, c1;
    mf__redis_counts_get(s, &c0);
    int calls = 0, failed = 0, after = 0, written = 0;
    char first[300] = "";
    for (int round = 1; after < 3 && round < 1000000; round++) {
        mf_error err;
        err.message[0] = 0;
        int rc = put_ids(s, project, fv, ids, N, 1, round, MFS_T0 + round, &err);
        long bad = rc == MF_OK ? check_ids(s, project, fv, ids, N, 1, round, &err) : -1;
        calls += 2;
        if (rc == MF_OK) written = round;
        if ((rc != MF_OK || bad != 0) && !failed++)
            snprintf(first, sizeof first, "%.290s", err.message);
        if (atomic_load(&job.done)) after++; /* a few rounds after redis-cli is done */
    }
    pthread_join(t, NULL);
    mf__redis_counts_get(s, &c1);
    printf("#   %d calls during the reshard; %llu MOVED, %llu ASK followed\n", calls,
           (unsigned long long)(c1.moved - c0.moved), (unsigned long long)(c1.ask - c0.ask));
    if (job.rc != 0) {
        printf("#   redis-cli --cluster reshard exited with %d:\n", job.rc);
        mft_print_tail(log, 15);
    }
    free(log);
    CHECK(job.rc == 0);
    if (failed) printf("#   %d calls failed, the first: %s\n", failed, first);
    CHECK(failed == 0);
    CHECK(c1.moved > c0.moved); /* the slots moved under the store */
    CHECK(slot_map(map));
    CHECK(map[0] == dst);
    CHECK(check_ids(s, project, fv, ids, N, 1, written, &ce) == 0);
    MFS_FREE(fv);
    s->vt->close(s);
}

/*---- 6. Password and errors --------------------------------------------------------*/

static void test_password(void) {
    for (int i = 0; i < cl.n; i++) {
        CHECK(ok_reply(i, "CONFIG SET masterauth pw9"));
        CHECK(ok_reply(i, "CONFIG SET requirepass pw9"));
        cl.node[i].password = "pw9";
    }
    cluster_password = "pw9";
    mf__online *s = open_cluster();
    cluster_password = NULL;
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1("pw", "v");
    int64_t ids[50];
    for (int i = 0; i < 50; i++) ids[i] = i;
    MFS_OK(put_ids(s, "pw", fv, ids, 50, 2, 0, MFS_T0, &mfs_e));
    CHECK(check_ids(s, "pw", fv, ids, 50, 2, 0, &ce) == 0);
    s->vt->close(s);
    s = open_cluster(); /* no password */
    CHECK(s);
    mf_error err;
    err.message[0] = 0;
    CHECK(check_ids(s, "pw", fv, ids, 50, 2, 0, &err) == -1);
    CHECK_HAS(err.message, "NOAUTH");
    CHECK_HAS(err.message, "127.0.0.1:");
    s->vt->close(s);
    for (int i = 0; i < cl.n; i++) {
        CHECK(ok_reply(i, "CONFIG SET requirepass %s", ""));
        cl.node[i].password = NULL;
        CHECK(ok_reply(i, "CONFIG SET masterauth %s", ""));
    }
    MFS_FREE(fv);
}

static void test_errors(void) {
    Mf__FeatureView *fv = mfs_view1("errs", "v");
    int64_t id = 1;
    mf_error err;
    /* a seed that is no cluster node */
    char conn[128], addr[64];
    snprintf(conn, sizeof conn, "127.0.0.1:%d", single_srv.port);
    mf__online *s = open_with("redis_cluster", conn, 1000, &err);
    CHECK(s);
    err.message[0] = 0;
    CHECK(check_ids(s, "errs", fv, &id, 1, 1, 0, &err) == -1);
    CHECK_HAS(err.message, "cluster support disabled");
    CHECK_HAS(err.message, conn);
    s->vt->close(s);
    /* nothing listens */
    snprintf(conn, sizeof conn, "127.0.0.1:%d,127.0.0.1:%d", free_port(), free_port());
    s = open_with("redis_cluster", conn, 1000, &err);
    CHECK(s);
    for (int i = 0; i < 2; i++) {
        err.message[0] = 0;
        CHECK(mfs_put1(s, "errs", fv, 1, MFS_T0, 0, 1, 1, &err) == MF_ESTORE);
        CHECK_HAS(err.message, "no node gave the slot map");
        CHECK_HAS(err.message, "refused");
    }
    s->vt->close(s);
    /* one-server settings at a cluster node: a redirection is an error
     * that says which redis_type to use */
    snprintf(addr, sizeof addr, "127.0.0.1:%d", cl.node[0].port);
    s = open_with("redis", addr, 1000, &err);
    CHECK(s);
    int64_t ids[64];
    for (int i = 0; i < 64; i++) ids[i] = i;
    err.message[0] = 0;
    CHECK(check_ids(s, "errs", fv, ids, 64, 1, 0, &err) == -1);
    CHECK_HAS(err.message, "MOVED");
    CHECK_HAS(err.message, "redis_type: redis_cluster");
    /* ... and a write of keys of several slots: CROSSSLOT before any MOVED */
    int64_t ets[64];
    for (int i = 0; i < 64; i++) ets[i] = MFS_T0;
    mf__col c64;
    mf__col_init(&c64, "v", MF__VALUE_TYPE__VT_INT64, false);
    for (int i = 0; i < 64; i++) mf__col_push_i64(&c64, i);
    err.message[0] = 0;
    CHECK(mfs_write(s, "errs", fv, ids, ets, NULL, &c64, NULL, 64, &err) == MF_ESTORE);
    CHECK_HAS(err.message, "CROSSSLOT");
    CHECK_HAS(err.message, "redis_type: redis_cluster");
    mf__col_free(&c64);
    s->vt->close(s);
    /* connection strings a cluster cannot take; a type nobody knows */
    static const struct {
        const char *type, *conn, *msg;
    } bad[] = {
        {"redis_cluster", "unix:/tmp/x.sock", "not a unix socket"},
        {"redis_cluster", "127.0.0.1:7000,db=2", "only database 0"},
        {"redis_cluster", "127.0.0.1:0", "bad port"},
        {"redis_sentinel", "127.0.0.1:7000", "expected redis or redis_cluster"},
        {"redis", "127.0.0.1:7000,127.0.0.1:7001", "redis_type: redis_cluster"},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(bad); i++) {
        err.message[0] = 0;
        s = open_with(bad[i].type, bad[i].conn, 1000, &err);
        if (s) {
            printf("#   %s was accepted\n", bad[i].conn);
            s->vt->close(s);
        }
        CHECK(!s);
        CHECK(err.code == MF_ECONFIG);
        CHECK_HAS(err.message, bad[i].msg);
    }
    s = open_with("redis_cluster", "a:1, b:2 ,password=x,c:3", 1000, &err);
    CHECK(s);
    s->vt->close(s);
    MFS_FREE(fv);
}

/*---- 7. Failover -------------------------------------------------------------------*/

static void test_failover(void) {
    const char *project = "fo";
    mf__online *s = open_cluster();
    CHECK(s);
    Mf__FeatureView *fv = mfs_view1(project, "v");
    enum { N = 500 };
    int64_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = 5000 + i;
    MFS_OK(put_ids(s, project, fv, ids, N, 4, 0, MFS_T0, &mfs_e));
    /* replicated: WAIT on every master */
    for (int i = 0; i < cl.n; i++) {
        if (!cluster_is_master(&cl, i)) continue;
        redisContext *c = raw(&cl.node[i]);
        CHECK(c);
        redisReply *r = redisCommand(c, "WAIT 1 5000");
        CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1);
        freeReplyObject(r);
        redisFree(c);
    }
    static int map[16384];
    CHECK(slot_map(map));
    mf__buf k;
    mf__buf_init(&k);
    key_of(&k, ids[0], project);
    int dead = map[mf__redis_slot(k.data, k.len)];
    mf__buf_free(&k);
    CHECK(dead >= 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", cl.node[dead].port);
    cluster_kill(&cl, dead);
    /* before the replica takes over: a clear error naming the dead node */
    mf_error err;
    err.message[0] = 0;
    double t0 = now_s();
    long rc = check_ids(s, project, fv, ids, N, 4, 0, &err);
    CHECK(rc == -1 || rc == 0);
    if (rc == -1) {
        printf("#   the read right after the kill: %s\n", err.message);
        CHECK_HAS(err.message, addr);
        CHECK(now_s() - t0 < 3);
    } else {
        printf("#   the read right after the kill succeeded (the failover was quicker)\n");
    }
    /* err may be NULL (as the C API allows): the retries on a new map
     * read the message they log from it */
    int prc = s->vt->ping(s, NULL);
    CHECK(prc == MF_OK || prc == MF_ESTORE);
    CHECK(cluster_wait(&cl, 0, 30) == 0);
    /* after: every replicated row, and new writes */
    long bad = check_ids(s, project, fv, ids, N, 4, 0, &err);
    if (bad) printf("#   read after the failover: %ld (%s)\n", bad, bad < 0 ? err.message : "");
    CHECK(bad == 0);
    MFS_OK(put_ids(s, project, fv, ids, N, 4, 1, MFS_T0 + 1, &mfs_e));
    CHECK(check_ids(s, project, fv, ids, N, 4, 1, &ce) == 0);
    CHECK(s->vt->ping(s, &ce) == MF_OK);
    mf__redis_counts cnt;
    mf__redis_counts_get(s, &cnt);
    CHECK(cnt.refreshes >= 2);
    MFS_FREE(fv);
    s->vt->close(s);
}

/*---- Main --------------------------------------------------------------------------*/

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

int main(void) {
    if (!mft_have_redis()) {
        printf("# skipped: redis-server or redis-cli is missing (Debian package redis-server)\n");
        return 0;
    }
    const char *base = getenv("TMPDIR");
    tmp_root = mf__xasprintf("%s/mft_redis_cluster_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        printf("not ok - mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    mft_redis_dir = tmp_root;
    atexit(stop_all);
    double t0 = now_s();
    if (server_start(&single_srv) != 0 || cluster_start(&cl, 3, 1) != 0) {
        printf("not ok - start a Redis Cluster of 3 masters and 3 replicas\n");
        stop_all();
        nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    printf("# cluster of %d nodes up in %.1f s\n", cl.n, now_s() - t0);
    RUN(test_slot_function);
    RUN(test_spread_and_layout);
    (void)mfs_run_all; /* the suite runs test by test below */
    mf__online *s = open_cluster();
    if (s) {
        for (size_t i = 0; i < MF__ARRAY_LEN(mfs_tests); i++) {
            /* replaced by test_spread_and_layout: see the top of this file */
            if (mfs_tests[i].fn == mfs_test_types) continue;
            mfs_run_one(s, "redis_cluster", "mft_rc_", i);
        }
        s->vt->close(s);
    } else {
        printf("not ok - open the suite's store\n");
        mft_failed++;
    }
    RUN(test_teardown_every_master);
    RUN(test_migrate_slot);
    RUN(test_reshard_under_load);
    RUN(test_password);
    RUN(test_errors);
    RUN(test_failover);
    stop_all();
    nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp_root);
    printf("# %.1f s\n", now_s() - t0);
    MFT_END();
}
