/*
 * store_redis.c — the Redis online store, in Feast's own layout, on one
 * Redis server or on a Redis Cluster (online_store.redis_type).
 *
 * Layout (docs/concepts.md, "Online stores"), shared with Feast so that both can serve
 * from one Redis:
 *   key    = entity key serialized (v3) + project name bytes; a view without
 *            entities keys its one row as Feast does, by the dummy entity
 *            (join key "__dummy_id", String value "")
 *   fields = MurmurHash3 x86_32 (seed 0) of "view:feature", 4 bytes little
 *            endian -> serialized feast.types.Value (runtime/feast_value.proto);
 *            "_ts:view" -> serialized google.protobuf.Timestamp of the row's
 *            event time (seconds and nanos).
 *   EXPIRE key key_ttl_seconds after each write when key_ttl_seconds > 0.
 * The layout is the same on a cluster: a key lives on the master of its
 * hash slot (redis_slot.c), whole.
 * Values: a null is an empty Value (no field set); UnixTimestamp values are
 * int64 seconds (moonfeast keeps microseconds: sub-second digits are floored
 * away); list cells, which moonfeast keeps as JSON text ("[1,2]",
 * "[\"a\"]"), are read by the JSON list codec (json.c) into the list
 * Values and written back by it, in its canonical text. A stored Value of
 * another type than the feature's dtype (the view changed, or another
 * writer) reads as null. What another writer can store but moonfeast
 * cannot take is an error naming the view, the feature and the value,
 * never a wrong answer: a Value that does not parse, a "_ts:view" Timestamp
 * or a UnixTimestamp (also in a list) outside years 1 to 9999 (seconds
 * times a million would overflow), Timestamp nanos outside 0..999999999, a
 * String that is not UTF-8 text, a String list element that is not UTF-8
 * text without NUL, a Bytes list element that is not UTF-8 (a list cell is
 * JSON text). A NUL in a String read is kept (JSON escapes it); writes
 * refuse Strings that are not UTF-8 text without NUL.
 *
 * Writes: one pipeline per batch, EVALSHA of the write script for the
 * view's number of fields (write_script_gen): on one server for up to 64
 * consecutive rows at a time, on a cluster for one row at a time (a script
 * may only touch keys of one hash slot, and a key being migrated must be
 * able to follow its ASK alone); a key's rows go to its server in batch
 * order. Each call is formatted and sent while the server runs the ones
 * before it.
 * The script compares the stored "_ts:view" with the new one and writes
 * (HSET, EXPIRE) only when the new event time is newer, or equal with a
 * created time at least the stored one, so the check and the write are
 * atomic (docs/concepts.md, "Materialization", on every store). Feast's layout has no
 * created timestamp: moonfeast adds one field beside it, "_created_ts:view":
 * the decimal microseconds, "@", and the Timestamp bytes of the "_ts:view"
 * written with it, which Feast never reads. A hash without it (one Feast
 * wrote), or whose "_ts:view" is not the one it was written with (Feast
 * wrote a newer row over moonfeast's and left the field), counts as
 * created at the smallest time; a plain decimal (moonfeast before
 * 2026-12-03) is taken as the stored row's. A first load into
 * an empty store skips the per-key check: one EXISTS of a call's keys
 * finds none of them (probing, see the script); a large batch of one goes
 * by RESTORE of each whole hash (restore_rows). A script is loaded
 * on each server before its first call there (SCRIPT LOAD; its SHA1, the
 * same on every server, is kept across reconnections) and loaded again, and
 * the calls that got the answer re-sent, when a server answers NOSCRIPT
 * (restart, SCRIPT FLUSH, a failover to a replica).
 *
 * Reads: one pipelined round trip per mf__read_batch: an HMGET of the
 * requested feature fields and "_ts:view" per key. A key is found when its
 * "_ts:view" exists; the event time comes from it.
 *
 * Pipelines (pl_run): every command goes to the server of its key's slot
 * (one server: always the same); every server's commands are sent before
 * any reply is read, so the servers of a cluster work in parallel and a
 * call costs one round trip to the slowest of them. A cluster's answers
 * MOVED (the slot has a new master: the map entry is updated, the whole
 * map refreshed before the next call, the command re-sent there), ASK
 * (the key is being migrated: re-sent to the target after ASKING),
 * TRYAGAIN (a multi-key call during a migration: re-sent a moment later)
 * and NOSCRIPT are followed within the call, a few rounds at most (a
 * command keeps its place among the commands re-sent).
 *
 * The slot map comes from CLUSTER SLOTS, asked of the known masters, then
 * of the connection string's seed nodes, the first that answers; it is
 * asked before the first call, after a MOVED, and after a call failed on a
 * lost connection, a refused one or CLUSTERDOWN. Such a call is tried
 * again on the refreshed map, up to three attempts (the third 100 ms after
 * the second), then fails naming the node and the cause.
 *
 * update/teardown: Redis needs nothing created. The views to drop lose
 * their fields (feature hashes and "_ts:view") in every key of the project
 * (SCAN, on every master of a cluster, keeping keys that are a v3 entity
 * key followed by exactly the project name); Redis deletes a hash whose
 * last field goes. Fields of other views stay. Fields of features that an
 * earlier apply removed from a view cannot be told apart and are left
 * (Feast does the same).
 *
 * Failures: connect and command timeouts from the configuration bound every
 * call; a failed call names the address and the cause and drops the
 * connection, and the next call reconnects. On one server, a call that
 * finds its idle connection dead (server restarted) reconnects and retries
 * once, since every operation here is idempotent (a cluster retries as
 * above). A timeout is not retried. Every byte sent to Redis goes out with
 * send(MSG_NOSIGNAL) (node_send), so a closed socket is an error of the
 * call, never a SIGPIPE; the process's and the thread's signal state are
 * not touched. The connection string follows Feast:
 * "host:port,db=N,password=...,ssl=false" or "unix:/path/redis.sock,db=N";
 * a cluster's is "host1:port1,host2:port2,...,password=..." (db 0 only).
 *
 * Threads: a store instance (its connections, slot map and scratch) is
 * used by one thread at a time; every worker thread opens its own.
 *
 * Relies on hiredis (0.14 API: blocking context, redisGetReply and its
 * reader; hiredis connects and reads, but never writes: every command is
 * formatted here, a group's common arguments once, and written to the
 * context's socket by node_send) and protobuf-c (feast_value.pb-c.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "feast_value.pb-c.h"
#include "mf_json.h"
#include "mf_online.h"
#include "mf_values.h"

/*---- Scratch memory --------------------------------------------------------*/

/* A bump allocator for the protobuf messages of one call: protobuf-c
 * unpacks through it (no malloc per value) and the call resets it. */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t cap, used;
    max_align_t data[];
} arena_chunk;

typedef struct arena {
    arena_chunk *head;
} arena;

static void *arena_alloc(void *ud, size_t n) {
    arena *a = ud;
    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = mf__xmalloc(sizeof *c + cap);
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void arena_nofree(void *ud, void *p) {
    MF__UNUSED(ud);
    MF__UNUSED(p);
}

/* Forget every allocation; keeps the newest chunk for the next call. */
static void arena_reset(arena *a) {
    if (!a->head) return;
    arena_chunk *c = a->head->next;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head->next = NULL;
    a->head->used = 0;
}

static void arena_free(arena *a) {
    arena_reset(a);
    free(a->head);
    a->head = NULL;
}

/* The replies of a pipeline, built by hiredis's reader in this pool rather
 * than with a malloc per value (a read of 100 rows x 50 features is 5,000
 * of them): hiredis's reply functions, allocating here. The pool is
 * rewound when the next pipeline starts, keeping its chunks (up to
 * RPOOL_KEEP bytes) for it. */
#define RPOOL_KEEP (4u << 20)

typedef struct rpool {
    arena_chunk *first; /* oldest first, through next */
    arena_chunk *cur;   /* allocations come from here */
} rpool;

static void *rpool_alloc(rpool *p, size_t n) {
    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    for (;;) {
        arena_chunk *c = p->cur;
        if (c && c->cap - c->used >= n) {
            void *r = (char *)c->data + c->used;
            c->used += n;
            return r;
        }
        if (c && c->next) { /* a chunk kept from an earlier pipeline */
            p->cur = c->next;
            p->cur->used = 0;
            continue;
        }
        size_t cap = n > 65536 ? n : 65536;
        arena_chunk *nc = mf__xmalloc(sizeof *nc + cap);
        nc->cap = cap;
        nc->used = 0;
        nc->next = NULL;
        if (c) c->next = nc;
        else p->first = nc;
        p->cur = nc;
    }
}

/* Forget every reply; keep the first RPOOL_KEEP bytes of chunks. */
static void rpool_reset(rpool *p) {
    size_t kept = 0;
    arena_chunk **link = &p->first;
    while (*link && kept + (*link)->cap <= RPOOL_KEEP) {
        kept += (*link)->cap;
        link = &(*link)->next;
    }
    arena_chunk *c = *link;
    *link = NULL;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    p->cur = p->first;
    if (p->cur) p->cur->used = 0;
}

static void rpool_free(rpool *p) {
    arena_chunk *c = p->first;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    p->first = p->cur = NULL;
}

/* A reply object of the pool with `extra` bytes after it, linked into its
 * parent array as hiredis's own functions do. */
static redisReply *rp_obj(const redisReadTask *task, int type, size_t extra) {
    redisReply *r = rpool_alloc(task->privdata, sizeof *r + extra);
    memset(r, 0, sizeof *r);
    r->type = type;
    if (task->parent) ((redisReply *)task->parent->obj)->element[task->idx] = r;
    return r;
}

static void *rp_string(const redisReadTask *task, char *str, size_t len) {
    redisReply *r = rp_obj(task, task->type, len + 1);
    r->str = (char *)(r + 1);
    if (len) memcpy(r->str, str, len);
    r->str[len] = 0;
    r->len = len;
    return r;
}

/* More elements than any reply to moonfeast's commands holds (hiredis
 * takes up to INT_MAX and asks for the array as its header arrives, before
 * any element: a bogus header would take gigabytes). */
#define RP_MAX_ELEMENTS (1 << 22)

static void *rp_array(const redisReadTask *task, int n) {
    if (n > RP_MAX_ELEMENTS) return NULL; /* hiredis: an error of the read */
    redisReply *r = rp_obj(task, REDIS_REPLY_ARRAY, 0);
    if (n > 0) {
        r->element = rpool_alloc(task->privdata, (size_t)n * sizeof *r->element);
        memset(r->element, 0, (size_t)n * sizeof *r->element);
        r->elements = (size_t)n;
    }
    return r;
}

static void *rp_integer(const redisReadTask *task, long long v) {
    redisReply *r = rp_obj(task, REDIS_REPLY_INTEGER, 0);
    r->integer = v;
    return r;
}

static void *rp_nil(const redisReadTask *task) {
    return rp_obj(task, REDIS_REPLY_NIL, 0);
}

static void rp_free(void *obj) { /* the pool's: rpool_reset */
    MF__UNUSED(obj);
}

static redisReplyObjectFunctions rp_fns = {rp_string, rp_array, rp_integer, rp_nil, rp_free};

/*---- Store -----------------------------------------------------------------*/

#define NSLOTS 16384
#define NO_NODE UINT16_MAX
#define ASKING_MARK SIZE_MAX /* in a node's queue: the reply of an ASKING */
#define MAX_ROUNDS 6         /* rounds of redirections in one pipeline */
#define CLUSTER_ATTEMPTS 3   /* attempts of a call on a cluster */

/* One server: the single one, or a node of a cluster (a master of the slot
 * map, a seed being asked for the map, the target of a redirection). */
typedef struct rnode {
    char *addr;      /* "host:port" or "unix:/path", for messages */
    char *host;      /* TCP host, or NULL with unix_path */
    int port;
    char *unix_path;
    redisContext *c; /* NULL until connected / after a failure */
    uint64_t scripts; /* bit i: s->scripts[i] was loaded there (kept across reconnections) */
    bool tried;      /* asked for the slot map in the current refresh */
    mf__buf out;     /* commands formatted (RESP) and not written out yet */
    size_t *q;       /* the commands whose replies are unread, in order */
    size_t nq, qcap;
} rnode;

/* A write script (write_script_gen) for nfields fields per key, loaded
 * on some nodes (rnode.scripts): its SHA1, the same on every server. */
#define MAX_SCRIPTS 64
typedef struct wscript {
    size_t nfields;
    char sha[41];
} wscript;

/* One command of a pipeline (pl_run). */
typedef struct pcmd {
    uint16_t slot; /* cluster: its key's hash slot (the caller's) */
    uint16_t node; /* the node it goes to */
    bool ask;      /* to `node` after ASKING (an ASK redirection) */
    size_t aux;    /* the caller's (reads: the command's group) */
} pcmd;

typedef struct redis_store {
    mf__online base;
    bool cluster;      /* redis_type: redis_cluster */
    const char *kind;  /* "Redis at" / "Redis Cluster node", before an address */
    rnode *nodes;      /* one server: nodes[0]; a cluster: the masters (and
                        * redirection targets) of the slot map */
    size_t nnodes, ncap;
    rnode *seeds;      /* cluster: the connection string's addresses */
    size_t nseeds;
    uint16_t *slot_node; /* cluster: the node of each hash slot, or NO_NODE */
    bool map_stale;    /* cluster: ask for the slot map before the next call */
    long db;
    char *username, *password; /* NULL when not given */
    int64_t key_ttl;           /* seconds, 0 = none */
    int64_t connect_ms, command_ms;
    wscript scripts[MAX_SCRIPTS]; /* the write scripts loaded, one per field count */
    size_t nscripts;
    bool probe;        /* writes probe for new keys (write script): the last
                        * write found only new keys, or none was made */
    bool restore_off;  /* RESTORE was refused, or found a key: the script writes */
    bool io_failed;    /* the last operation lost a connection */
    bool timed_out;    /* ... or waited past command_timeout_ms: never retried */
    bool retryable;    /* ... and not by a timeout (a cluster: or the map changed) */
    mf__redis_counts counts;
    arena mem;         /* protobuf messages of the current call */
    rpool replies;     /* the replies of the current pipeline */
    ProtobufCAllocator pba;
    mf__buf enc;       /* encoded values (writes), field names (reads) */
    mf__buf tmp;       /* small scratch (JSON lists, text) */
    mf__buf keys;      /* reads: the Redis keys of the call */
    mf__buf fmt;       /* reads: the RESP text of each group's fields */
    /* kept across calls, so that a call allocates nothing large (a large
     * malloc right after freeing thousands of reply objects makes glibc
     * consolidate its free lists, a cost per call) */
    redisReply **rep;
    size_t rep_cap;
    const char **argv;
    size_t *lens;
    size_t argv_cap;
    size_t *grp;       /* reads: per batch its group; per group its first
                        * batch; per group where its HMGET starts in argv */
    size_t grp_cap;
    size_t *koff;      /* reads: where each key starts in keys */
    size_t koff_cap;
    pcmd *pc;          /* the commands of the current pipeline */
    size_t pc_cap;
    size_t *round_cmds; /* the commands (indices in pc) sent in the current round */
    size_t round_cap;
} redis_store;

/* Atomic newer-or-equal writes of a batch of entities (one EVALSHA for up
 * to keys_per_call() keys: one round trip of the script per batch, not per
 * key). The script is generated for F, the number of hash fields written
 * per key (write_script_gen), so that each key's HSET names its arguments
 * directly: no argument table is built per key and no unpack runs.
 * KEYS = the entity keys. ARGV[1] = ttl seconds (0 = none); ARGV[2] = "1"
 * to probe (below), else "0"; ARGV[3 .. 2+F] = the field names:
 * "_ts:view", "_created_ts:view", then every feature's; then for key k
 * (1-based) at o = 2 + F * k, its values ARGV[o+1 .. o+F] in that order
 * (the new Timestamp bytes, the new created time in decimal microseconds
 * followed by "@" and the Timestamp bytes again, the Value bytes). The
 * field names are sent once per call, not once per key: fewer arguments
 * for the server to parse and copy.
 * A key is written (one HSET of every field, in chunks of WS_CHUNK fields)
 * when it has no "_ts:view" (a new key), or its stored "_ts:view" is
 * older, or equal with no stored created time bound to it or one not
 * greater than the new one (compared exactly as decimal text, cge: past
 * 2^53 a double would not)
 * (newer()); the check reads that key as it is at that moment, so a key's
 * later rows in one call are checked against its earlier ones. Probing
 * (only for distinct KEYS): the first key's stored time is read first (the
 * check needs it anyway); only when it has none, one EXISTS of the other
 * keys; when none of them exists, every key is written without a check (a
 * first load costs one read per call, not per key, and a call into a
 * populated store no EXISTS). Returns {keys written, 1 when none of KEYS existed before
 * the call, else 0}: the writer probes while calls find only new keys. Timestamp seconds are decoded as (high, low 28
 * bits) so that every int64 compares exactly in Lua's doubles: ts() decodes
 * the usual encoding (seconds of 5 varint bytes, years 1978 to 3058,
 * nanos of up to 5) with a few operations, tsg() any other. Equal bytes
 * need no decoding. The script touches KEYS only, so on a cluster it runs
 * wherever the keys' slot lives (the keys of a call share a slot). */
#define WS_CHUNK 60

static const char write_script_head[] =
    "local byte, call, A, K, fresh = string.byte, redis.call, ARGV, KEYS, true\n"
    "local function tsg(b)\n"
    "  local hi, lo, ns, i, n = 0, 0, 0, 1, #b\n"
    "  while i <= n do\n"
    "    local tag = byte(b, i)\n"
    "    i = i + 1\n"
    "    if tag >= 128 or tag % 8 ~= 0 then return nil end\n"
    "    local vh, vl, sh, c = 0, 0, 0, 128\n"
    "    while c >= 128 do\n"
    "      c = byte(b, i)\n"
    "      if not c then return nil end\n"
    "      i = i + 1\n"
    "      if sh < 28 then vl = vl + (c % 128) * 2 ^ sh\n"
    "      elseif sh < 70 then vh = vh + (c % 128) * 2 ^ (sh - 28) end\n"
    "      sh = sh + 7\n"
    "    end\n"
    "    if tag == 8 then\n"
    "      vh = vh % 2 ^ 36\n"
    "      if vh >= 2 ^ 35 then vh = vh - 2 ^ 36 end\n"
    "      hi, lo = vh, vl\n"
    "    elseif tag == 16 then\n"
    "      ns = (vh % 2 ^ 4) * 2 ^ 28 + vl\n"
    "    end\n"
    "  end\n"
    "  return hi, lo, ns\n"
    "end\n"
    "local function ts(b)\n"
    "  local t, c1, c2, c3, c4, c5, t2 = byte(b, 1, 7)\n"
    "  if t == 8 and c5 and c5 < 128 and c1 > 127 and c2 > 127 and c3 > 127 and c4 > 127 then\n"
    "    local lo, n = c1 + c2 * 128 + c3 * 16384 + c4 * 2097152 - 270549120, #b\n"
    "    if n == 6 then return c5, lo, 0 end\n"
    "    if t2 == 16 and n <= 12 then\n"
    "      local ns, m = 0, 1\n"
    "      for i = 8, n do\n"
    "        local c = byte(b, i)\n"
    "        if c < 128 then\n"
    "          if i == n and (i < 12 or c < 16) then return c5, lo, ns + c * m end\n"
    "          break\n"
    "        end\n"
    "        ns, m = ns + (c - 128) * m, m * 128\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  return tsg(b)\n"
    "end\n"
    "local function cge(a, b)\n" /* a >= b, decimal int64 text, exactly */
    "  local na, nb = byte(a) == 45, byte(b) == 45\n"
    "  if na ~= nb then return nb end\n"
    "  if na then a, b = b:sub(2), a:sub(2) end\n"
    "  local la, lb = #a, #b\n"
    "  if la ~= lb then return la > lb end\n"
    "  if la <= 15 then return tonumber(a) >= tonumber(b) end\n"
    "  local ha, hb = tonumber(a:sub(1, la - 15)), tonumber(b:sub(1, lb - 15))\n"
    "  if ha ~= hb then return ha > hb end\n"
    "  return tonumber(a:sub(-15)) >= tonumber(b:sub(-15))\n"
    "end\n"
    "local function newer(key, o, old)\n"
    "  if old == nil then old = call('HGET', key, A[3]) end\n"
    "  if not old then return true end\n"
    "  fresh = false\n"
    "  local new = A[o + 1]\n"
    "  if old ~= new then\n"
    "    local oh, ol, on = ts(old)\n"
    "    local nh, nl, nn = ts(new)\n"
    "    if not (oh and nh) then return true end\n"
    "    if nh ~= oh then return nh > oh end\n"
    "    if nl ~= ol then return nl > ol end\n"
    "    if nn ~= on then return nn > on end\n"
    "  end\n"
    "  local oc, nc = call('HGET', key, A[4]), A[o + 2]\n"
    "  nc = nc:sub(1, nc:find('@', 1, true) - 1)\n"
    "  if oc then\n" /* bound to the event time it was written with */
    "    local at = oc:find('@', 1, true)\n"
    "    if at then\n"
    "      if oc:sub(at + 1) ~= old then oc = nil else oc = oc:sub(1, at - 1) end\n"
    "    end\n"
    "  end\n"
    "  return not (oc and (oc == '0' or oc:find('^%-?[1-9]%d*$'))) or cge(nc, oc)\n"
    "end\n"
    "local ttl, w, first = tonumber(A[1]), 0, nil\n"
    "if A[2] == '1' then\n"
    "  first = call('HGET', K[1], A[3])\n"
    "  if not first and (#K == 1 or call('EXISTS', unpack(K, 2)) == 0) then newer = nil end\n"
    "end\n";

/* The write script for F fields per key (see above) into out. */
static void write_script_gen(mf__buf *out, size_t F) {
    out->len = 0;
    mf__buf_put(out, write_script_head, sizeof write_script_head - 1);
    mf__buf_printf(out, "for k = 1, #K do\n"
                        "  local key, o = K[k], %zu * k + 2\n"
                        "  if not newer or newer(key, o, first) then\n", F);
    for (size_t from = 0; from < F; from += WS_CHUNK) {
        mf__buf_puts(out, "    call('HSET', key");
        for (size_t f = from; f < F && f < from + WS_CHUNK; f++)
            mf__buf_printf(out, ", A[%zu], A[o + %zu]", f + 3, f + 1);
        mf__buf_puts(out, ")\n");
    }
    mf__buf_puts(out, "    if ttl > 0 then call('EXPIRE', key, ttl) end\n"
                      "    w = w + 1\n"
                      "  end\n"
                      "  first = nil\n"
                      "end\n"
                      "return {w, fresh and 1 or 0}\n");
}

/*---- Sending -------------------------------------------------------------*/

/* Append RESP's "<type><n>\r\n". */
static void resp_head(mf__buf *b, char type, size_t n) {
    char t[24];
    size_t k = sizeof t;
    t[--k] = '\n';
    t[--k] = '\r';
    do t[--k] = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    t[--k] = type;
    mf__buf_put(b, t + k, sizeof t - k);
}

/* Append one argument as a RESP bulk string. */
static void resp_arg(mf__buf *b, const char *p, size_t n) {
    resp_head(b, '$', n);
    mf__buf_reserve(b, n + 2);
    if (n) memcpy(b->data + b->len, p, n);
    b->data[b->len + n] = '\r';
    b->data[b->len + n + 1] = '\n';
    b->len += n + 2;
    b->data[b->len] = 0;
}

/* Write node n's formatted commands to its server (blocking, within the
 * command timeout). 0, or -1 with the cause in the context's errstr.
 * Every byte moonfeast sends to Redis goes through here (hiredis only
 * reads: its output buffer stays empty), with MSG_NOSIGNAL: a server that
 * closed the connection is EPIPE, an error of the call, never a SIGPIPE. */
static int node_send(rnode *n) {
    size_t at = 0;
    while (at < n->out.len) {
        ssize_t w = send(n->c->fd, n->out.data + at, n->out.len - at, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            n->c->err = REDIS_ERR_IO;
            snprintf(n->c->errstr, sizeof n->c->errstr, "%s",
                     w < 0 ? strerror(errno) : "connection lost");
            return -1;
        }
        at += (size_t)w;
    }
    n->out.len = 0;
    return 0;
}

/*---- Connection ------------------------------------------------------------*/

static struct timeval ms_tv(int64_t ms) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* Close n's connection (NULL is fine); its unread replies are gone. */
static void drop_conn(rnode *n) {
    redisFree(n->c);
    n->c = NULL;
    n->nq = 0;
    n->out.len = 0;
}

static void node_free(rnode *n) {
    drop_conn(n);
    mf__buf_free(&n->out);
    free(n->q);
    free(n->addr);
    free(n->host);
    free(n->unix_path);
    memset(n, 0, sizeof *n);
}

/* Grow *p to at least `need` elements of `size` bytes (doubling from
 * *cap). 0, or -1 when the memory is not there (*p and *cap unchanged). */
static int grow_array(void *p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c = c > SIZE_MAX / 2 ? need : c * 2;
    void *q = mf__try_realloc_array(*(void **)p, c, size);
    if (!q) return -1;
    *(void **)p = q;
    *cap = c;
    return 0;
}

/* The node of TCP address host[0..hlen):port, added when new. Returns its
 * index, or NO_NODE when the table is full. */
static size_t node_add(redis_store *s, const char *host, size_t hlen, int port) {
    for (size_t i = 0; i < s->nnodes; i++)
        if (s->nodes[i].host && s->nodes[i].port == port && strlen(s->nodes[i].host) == hlen &&
            memcmp(s->nodes[i].host, host, hlen) == 0)
            return i;
    if (s->nnodes >= NO_NODE) return NO_NODE;
    if (s->nnodes == s->ncap) {
        s->ncap = s->ncap ? 2 * s->ncap : 4;
        s->nodes = mf__xrealloc(s->nodes, s->ncap * sizeof *s->nodes);
    }
    rnode *n = &s->nodes[s->nnodes];
    memset(n, 0, sizeof *n);
    n->host = mf__xstrndup(host, hlen);
    n->port = port;
    n->addr = mf__xasprintf(memchr(host, ':', hlen) ? "[%s]:%d" : "%s:%d", n->host, port);
    return s->nnodes++;
}

/* Node ni's connection failed while doing `what`: set err (address and
 * cause), drop the connection so that the next call reconnects (on a
 * cluster, after a new look at the slot map). Returns MF_ESTORE. */
static int conn_fail(redis_store *s, size_t ni, const char *what, mf_error *err) {
    rnode *n = &s->nodes[ni];
    const char *why = n->c && n->c->errstr[0] ? n->c->errstr : "connection lost";
    bool timeout = n->c && n->c->err == REDIS_ERR_IO &&
                   (strstr(why, "temporarily unavailable") || strstr(why, "timed out"));
    int rc;
    if (timeout)
        rc = mf__err(err, MF_ESTORE, "%s %s: %s: no reply within %lld ms "
                     "(online_store.command_timeout_ms)", s->kind, n->addr, what,
                     (long long)s->command_ms);
    else
        rc = mf__err(err, MF_ESTORE, "%s %s: %s: %s", s->kind, n->addr, what, why);
    s->io_failed = true;
    s->retryable = !timeout;
    s->timed_out |= timeout;
    if (s->cluster) s->map_stale = true;
    drop_conn(n);
    return rc;
}

/* Whether r is an error reply whose first word is `word`. */
static bool err_is(const redisReply *r, const char *word) {
    size_t n = strlen(word);
    return r && r->type == REDIS_REPLY_ERROR && r->len >= n && memcmp(r->str, word, n) == 0 &&
           (r->len == n || r->str[n] == ' ');
}

/* The error reply r of node ni to `what`, as err. On one server, a
 * cluster's answer says which redis_type to use. Returns MF_ESTORE. */
static int reply_err(redis_store *s, size_t ni, const char *what, const redisReply *r,
                     mf_error *err) {
    /* CROSSSLOT: a write call's keys span slots, refused before any MOVED */
    bool cl = !s->cluster && (err_is(r, "MOVED") || err_is(r, "ASK") ||
                              err_is(r, "CLUSTERDOWN") || err_is(r, "CROSSSLOT"));
    return mf__err(err, MF_ESTORE, "%s %s: %s: %.*s%s", s->kind, s->nodes[ni].addr, what,
                   (int)r->len, r->str,
                   cl ? " (the server is a Redis Cluster node: set online_store.redis_type: "
                        "redis_cluster)" : "");
}

/* Run one command on node ni (connected, nothing queued) and return its
 * reply (caller frees with freeReplyObject), or NULL with err set. An
 * error reply is an error naming `what`; the connection stays unless
 * drop_on_error. */
static redisReply *command(redis_store *s, size_t ni, int argc, const char **argv,
                           const size_t *lens, const char *what, bool drop_on_error,
                           mf_error *err) {
    rnode *n = &s->nodes[ni];
    n->out.len = 0;
    resp_head(&n->out, '*', (size_t)argc);
    for (int a = 0; a < argc; a++) resp_arg(&n->out, argv[a], lens[a]);
    redisReply *r = NULL;
    if (node_send(n) != 0 || redisGetReply(n->c, (void **)&r) != REDIS_OK || !r) {
        conn_fail(s, ni, what, err);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        reply_err(s, ni, what, r, err);
        freeReplyObject(r);
        if (drop_on_error) drop_conn(&s->nodes[ni]);
        return NULL;
    }
    return r;
}

/* Connect node ni (when not connected), set the command timeout, AUTH,
 * SELECT. */
static int rconnect(redis_store *s, size_t ni, mf_error *err) {
    rnode *n = &s->nodes[ni];
    if (n->c) return MF_OK;
    struct timeval tv = ms_tv(s->connect_ms);
    redisContext *c = n->unix_path ? redisConnectUnixWithTimeout(n->unix_path, tv)
                                   : redisConnectWithTimeout(n->host, n->port, tv);
    if (!c || c->err) {
        const char *why = c ? c->errstr : "out of memory";
        int rc;
        bool timeout = c && strstr(why, "timed out");
        if (timeout)
            rc = mf__err(err, MF_ESTORE, "cannot connect to %s %s: no answer within "
                         "%lld ms (online_store.connect_timeout_ms)", s->kind, n->addr,
                         (long long)s->connect_ms);
        else
            rc = mf__err(err, MF_ESTORE, "cannot connect to %s %s: %s", s->kind, n->addr, why);
        redisFree(c);
        if (s->cluster) { /* the map may name a node that is gone */
            s->map_stale = true;
            s->io_failed = true;
            s->retryable = !timeout;
        }
        return rc;
    }
    n->c = c;
    if (redisSetTimeout(c, ms_tv(s->command_ms)) != REDIS_OK)
        return conn_fail(s, ni, "setting the command timeout", err);
    redisReply *r;
    if (s->password) {
        const char *argv[3] = {"AUTH", s->username ? s->username : s->password, s->password};
        size_t lens[3] = {4, strlen(argv[1]), strlen(s->password)};
        r = command(s, ni, s->username ? 3 : 2, argv, lens, "AUTH", true, err);
        if (!r) return MF_ESTORE;
        freeReplyObject(r);
    }
    if (s->db) {
        char db[24];
        snprintf(db, sizeof db, "%ld", s->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        r = command(s, ni, 2, argv, lens, "SELECT", true, err);
        if (!r) return MF_ESTORE;
        freeReplyObject(r);
    }
    return MF_OK;
}

/* The index in s->scripts of the write script for nfields fields per key,
 * added (not loaded anywhere yet) when new. A full table starts again. */
static size_t script_for(redis_store *s, size_t nfields) {
    for (size_t i = 0; i < s->nscripts; i++)
        if (s->scripts[i].nfields == nfields) return i;
    if (s->nscripts == MAX_SCRIPTS) {
        s->nscripts = 0;
        for (size_t n = 0; n < s->nnodes; n++) s->nodes[n].scripts = 0;
    }
    s->scripts[s->nscripts].nfields = nfields;
    s->scripts[s->nscripts].sha[0] = 0;
    return s->nscripts++;
}

/* Load write script si on node ni (connected, nothing queued) when it may
 * not have it. */
static int ensure_script(redis_store *s, size_t ni, size_t si, mf_error *err) {
    wscript *w = &s->scripts[si];
    if ((s->nodes[ni].scripts >> si & 1) && w->sha[0]) return MF_OK;
    write_script_gen(&s->tmp, w->nfields);
    const char *argv[3] = {"SCRIPT", "LOAD", s->tmp.data};
    size_t lens[3] = {6, 4, s->tmp.len};
    redisReply *r = command(s, ni, 3, argv, lens, "loading the write script", false, err);
    if (!r) return MF_ESTORE;
    int rc = MF_OK;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        rc = mf__err(err, MF_ESTORE, "%s %s: SCRIPT LOAD gave no SHA1", s->kind,
                     s->nodes[ni].addr);
    } else {
        memcpy(w->sha, r->str, 40);
        w->sha[40] = 0;
        s->nodes[ni].scripts |= UINT64_C(1) << si;
    }
    freeReplyObject(r);
    return rc;
}

/*---- Cluster slot map ------------------------------------------------------*/

/* "host:port" (or ":port", the host of node `from`) at p[0..len) as a node.
 * Returns NO_NODE when it does not parse. */
static size_t addr_node(redis_store *s, size_t from, const char *p, size_t len) {
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (p[i] == ':') colon = p + i;
    if (!colon) return NO_NODE;
    int64_t port;
    size_t plen = len - (size_t)(colon + 1 - p);
    if (mf__parse_int64(colon + 1, plen, &port) != 0 || port < 1 || port > 65535) return NO_NODE;
    const char *h = p;
    size_t hlen = (size_t)(colon - p);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') h++, hlen -= 2;
    if (hlen == 0 || (hlen == 1 && h[0] == '?')) { /* the node does not know its address */
        if (!s->nodes[from].host) return NO_NODE;
        h = s->nodes[from].host;
        hlen = strlen(h);
    }
    return node_add(s, h, hlen, (int)port);
}

/* A MOVED or ASK reply of node `from`, "MOVED 3999 127.0.0.1:6381": its
 * slot and target node (NO_NODE when it does not parse). */
static size_t redirect_target(redis_store *s, size_t from, const redisReply *r, unsigned *slot) {
    const char *p = memchr(r->str, ' ', r->len), *end = r->str + r->len;
    if (!p) return NO_NODE;
    p++;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    int64_t v;
    if (!sp || mf__parse_int64(p, (size_t)(sp - p), &v) != 0 || v < 0 || v >= NSLOTS)
        return NO_NODE;
    *slot = (unsigned)v;
    return addr_node(s, from, sp + 1, (size_t)(end - sp - 1));
}

/* Keep the nodes that map[] names (renumbered, in order), close the
 * others. */
static void nodes_compact(redis_store *s, uint16_t *map) {
    uint16_t *remap = mf__xmalloc((s->nnodes ? s->nnodes : 1) * sizeof *remap);
    for (size_t i = 0; i < s->nnodes; i++) remap[i] = NO_NODE;
    for (size_t k = 0; k < NSLOTS; k++)
        if (map[k] != NO_NODE) remap[map[k]] = 0;
    size_t n = 0;
    for (size_t i = 0; i < s->nnodes; i++) {
        if (remap[i] == NO_NODE) {
            node_free(&s->nodes[i]);
            continue;
        }
        remap[i] = (uint16_t)n;
        if (n != i) s->nodes[n] = s->nodes[i];
        n++;
    }
    for (size_t k = 0; k < NSLOTS; k++)
        if (map[k] != NO_NODE) map[k] = remap[map[k]];
    s->nnodes = n;
    free(remap);
}

/* The slot map in a CLUSTER SLOTS reply r of node `from`, into map[]. 0, or
 * -1 with err set when it does not parse or names no slot. */
static int parse_slots(redis_store *s, size_t from, const redisReply *r, uint16_t *map,
                       mf_error *err) {
    const char *addr = s->nodes[from].addr;
    if (r->type != REDIS_REPLY_ARRAY)
        return mf__err(err, MF_ESTORE, "%s %s: unexpected reply to CLUSTER SLOTS", s->kind, addr),
               -1;
    size_t covered = 0;
    for (size_t i = 0; i < NSLOTS; i++) map[i] = NO_NODE;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
            e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
            e->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
            return mf__err(err, MF_ESTORE, "%s %s: unexpected entry %zu in the reply to "
                           "CLUSTER SLOTS", s->kind, addr, i + 1), -1;
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        long long port = e->element[2]->element[1]->integer;
        const redisReply *h = e->element[2]->element[0];
        if (lo < 0 || hi >= NSLOTS || lo > hi || port < 1 || port > 65535)
            return mf__err(err, MF_ESTORE, "%s %s: CLUSTER SLOTS names slots %lld-%lld at port "
                           "%lld", s->kind, addr, lo, hi, port), -1;
        char a[300];
        int alen = snprintf(a, sizeof a, "%.*s:%lld", h->len < 256 ? (int)h->len : 256, h->str,
                            port);
        size_t ni = addr_node(s, from, a, (size_t)alen);
        if (ni == NO_NODE)
            return mf__err(err, MF_ESTORE, "%s %s: CLUSTER SLOTS names the address '%s'",
                           s->kind, addr, a), -1;
        for (long long k = lo; k <= hi; k++) {
            if (map[k] == NO_NODE) covered++;
            map[k] = (uint16_t)ni;
        }
    }
    if (!covered)
        return mf__err(err, MF_ESTORE, "%s %s: the cluster serves no hash slot (CLUSTER SLOTS "
                       "is empty: is the cluster created?)", s->kind, addr), -1;
    return 0;
}

/* Ask for the slot map: the known nodes (connected ones first), then the
 * seeds of the connection string; the first answer wins. An error naming
 * every node tried when none answers. */
static int refresh_map(redis_store *s, mf_error *err) {
    uint16_t *map = mf__xmalloc(NSLOTS * sizeof *map);
    mf__buf tried;
    mf__buf_init(&tried);
    for (size_t i = 0; i < s->nnodes; i++) s->nodes[i].tried = false;
    size_t known = s->nnodes;
    int rc = MF_ESTORE;
    for (size_t k = 0; k < 2 * known + s->nseeds && rc != MF_OK; k++) {
        size_t ni;
        if (k < known) { /* connected ones */
            if (!s->nodes[k].c) continue;
            ni = k;
        } else if (k < 2 * known) {
            ni = k - known;
        } else {
            const rnode *sd = &s->seeds[k - 2 * known];
            ni = node_add(s, sd->host, strlen(sd->host), sd->port);
            if (ni == NO_NODE) continue;
        }
        if (s->nodes[ni].tried) continue;
        s->nodes[ni].tried = true;
        mf_error e;
        redisReply *r = NULL;
        if (rconnect(s, ni, &e) == MF_OK) {
            const char *argv[2] = {"CLUSTER", "SLOTS"};
            size_t lens[2] = {7, 5};
            r = command(s, ni, 2, argv, lens, "CLUSTER SLOTS", false, &e);
        }
        if (r && parse_slots(s, ni, r, map, &e) == 0) rc = MF_OK;
        freeReplyObject(r);
        if (rc != MF_OK && tried.len < 1500)
            mf__buf_printf(&tried, "%s%s", tried.len ? "; " : "", e.message);
    }
    if (rc == MF_OK) {
        nodes_compact(s, map);
        memcpy(s->slot_node, map, NSLOTS * sizeof *map);
        s->map_stale = false;
        /* nodes that failed (or timed out) before the answer: not the op's */
        s->io_failed = s->retryable = s->timed_out = false;
        s->counts.refreshes++;
    } else {
        mf__err(err, MF_ESTORE, "Redis Cluster: no node gave the slot map (CLUSTER SLOTS): %s",
                tried.len ? tried.data : "no node to ask");
        s->retryable = false; /* every node known was asked */
    }
    free(map);
    mf__buf_free(&tried);
    return rc;
}

/*---- Pipelines -------------------------------------------------------------*/

/* One command: argv[0..nargv) with their lengths (copied), then tail, the
 * RESP text of its other argc - nargv arguments, formatted once for many
 * commands (copied too). */
typedef struct rcmd {
    size_t argc, nargv;
    const char **argv;
    const size_t *lens;
    const char *tail;
    size_t tail_len;
} rcmd;

/* Make command i of a pipeline (again, for a redirection). */
typedef int (*cmd_fn)(redis_store *s, void *ud, size_t i, rcmd *c, mf_error *err);

/* Room for n commands in s->pc and s->round_cmds. */
static int pl_reserve(redis_store *s, size_t n, mf_error *err) {
    if (grow_array(&s->pc, &s->pc_cap, n, sizeof *s->pc) != 0 ||
        grow_array(&s->round_cmds, &s->round_cap, n, sizeof *s->round_cmds) != 0)
        return mf__err_nomem(err, "%zu Redis commands", n);
    return MF_OK;
}

/* The node of command c: the single server, the ASK target, or the master
 * of its slot. */
static int route(redis_store *s, pcmd *c, mf_error *err) {
    if (!s->cluster) {
        c->node = 0;
        return MF_OK;
    }
    if (c->ask) return MF_OK;
    uint16_t n = s->slot_node[c->slot];
    if (n == NO_NODE) {
        s->map_stale = true;
        s->retryable = true;
        return mf__err(err, MF_ESTORE, "Redis Cluster: no node serves hash slot %u (CLUSTER "
                       "SLOTS)", (unsigned)c->slot);
    }
    c->node = n;
    return MF_OK;
}

/* Queue command i (made as c) on its node; eager (> 0): write the node's
 * queued text out once it holds at least eager bytes (1: every command),
 * so the server starts on them while the next ones are made. 0, or -1
 * when the connection failed (-2: out of memory). */
static int pl_append(redis_store *s, size_t i, const rcmd *c, size_t eager) {
    rnode *n = &s->nodes[s->pc[i].node];
    if (grow_array(&n->q, &n->qcap, n->nq + 2, sizeof *n->q) != 0) return -2;
    if (s->pc[i].ask) {
        mf__buf_put(&n->out, "*1\r\n$6\r\nASKING\r\n", 16);
        n->q[n->nq++] = ASKING_MARK;
    }
    resp_head(&n->out, '*', c->argc);
    for (size_t a = 0; a < c->nargv; a++) resp_arg(&n->out, c->argv[a], c->lens[a]);
    if (c->tail_len) mf__buf_put(&n->out, c->tail, c->tail_len);
    n->q[n->nq++] = i;
    return eager && n->out.len >= eager && node_send(n) != 0 ? -1 : 0;
}

/* Store reply r of node nd's next queued command. */
static void pl_take(rnode *nd, size_t *next, redisReply **rep, redisReply *r) {
    size_t i = nd->q[(*next)++];
    if (i != ASKING_MARK) rep[i] = r; /* (an ASKING's OK stays in the pool) */
}

/* Read every queued reply of every node into rep[]. One node: in order,
 * blocking. Several: from whichever node has data first (poll), so that
 * the replies of the nodes that are done are decoded while the others
 * still work. A node whose connection fails or times out is dropped with
 * an error (into err, unless NULL); the others are read to the end. */
static int pl_receive_all(redis_store *s, redisReply **rep, const char *what, mf_error *err) {
    int rc = MF_OK;
    mf_error e;
    size_t busy = 0, last = 0;
    for (size_t ni = 0; ni < s->nnodes; ni++)
        if (s->nodes[ni].nq) busy++, last = ni;
    if (busy == 1) {
        rnode *nd = &s->nodes[last];
        size_t next = 0;
        while (next < nd->nq) {
            redisReply *r;
            if (redisGetReply(nd->c, (void **)&r) != REDIS_OK) {
                rc = conn_fail(s, last, what, err ? err : &e);
                break;
            }
            pl_take(nd, &next, rep, r);
        }
        nd->nq = 0;
        return rc;
    }
    struct pollfd stack[8], *pfd = busy <= 8 ? stack : mf__xmalloc(busy * sizeof *pfd);
    size_t *who = mf__xmalloc((busy ? busy : 1) * 2 * sizeof *who), *next = who + busy;
    size_t nb = 0;
    for (size_t ni = 0; ni < s->nnodes; ni++)
        if (s->nodes[ni].nq) who[nb] = ni, next[nb++] = 0;
    while (nb) {
        for (size_t k = 0; k < nb; k++) {
            pfd[k].fd = s->nodes[who[k]].c->fd;
            pfd[k].events = POLLIN;
            pfd[k].revents = 0;
        }
        int n = poll(pfd, (nfds_t)nb, s->command_ms > INT32_MAX ? -1 : (int)s->command_ms);
        if (n < 0 && errno == EINTR) continue;
        int poll_errno = n < 0 ? errno : 0;
        for (size_t k = 0; k < nb; k++) {
            rnode *nd = &s->nodes[who[k]];
            bool failed = false;
            if (n <= 0) { /* nobody answered in time (or poll failed): every waiting node */
                int f = poll_errno
                            ? mf__err(err ? err : &e, MF_ESTORE, "%s %s: %s: waiting for the "
                                      "replies failed: %s", s->kind, nd->addr, what,
                                      strerror(poll_errno))
                            : mf__err(err ? err : &e, MF_ESTORE, "%s %s: %s: no reply within "
                                      "%lld ms (online_store.command_timeout_ms)", s->kind,
                                      nd->addr, what, (long long)s->command_ms);
                if (rc == MF_OK) rc = f, err = NULL;
                s->io_failed = s->timed_out = true;
                if (s->cluster) s->map_stale = true;
                drop_conn(nd);
                failed = true;
            } else if (pfd[k].revents) {
                if (redisBufferRead(nd->c) != REDIS_OK) {
                    int f = conn_fail(s, who[k], what, err ? err : &e);
                    if (rc == MF_OK) rc = f, err = NULL;
                    failed = true;
                }
                while (!failed && next[k] < nd->nq) {
                    redisReply *r = NULL;
                    if (redisGetReplyFromReader(nd->c, (void **)&r) != REDIS_OK) {
                        int f = conn_fail(s, who[k], what, err ? err : &e);
                        if (rc == MF_OK) rc = f, err = NULL;
                        failed = true;
                    } else if (!r) {
                        break; /* the rest is still on its way */
                    } else {
                        pl_take(nd, &next[k], rep, r);
                    }
                }
            }
            if (failed || next[k] == nd->nq) { /* done with this node */
                nd->nq = 0;
                pfd[k].fd = -1;
            }
        }
        size_t keep = 0;
        for (size_t k = 0; k < nb; k++)
            if (pfd[k].fd >= 0) who[keep] = who[k], next[keep++] = next[k];
        nb = keep;
    }
    if (pfd != stack) free(pfd);
    free(who);
    return rc;
}

/* pl_receive_all with the replies built in s->replies: hiredis's reply
 * functions are swapped for the pool's on every node read, and back after
 * (a connection dropped meanwhile is freed with the pool's, which free
 * nothing). */
static int pl_receive(redis_store *s, redisReply **rep, const char *what, mf_error *err) {
    redisReplyObjectFunctions *dflt = NULL;
    for (size_t ni = 0; ni < s->nnodes; ni++) {
        rnode *nd = &s->nodes[ni];
        if (!nd->nq) continue;
        if (!dflt) dflt = nd->c->reader->fn;
        nd->c->reader->fn = &rp_fns;
        nd->c->reader->privdata = &s->replies;
    }
    int rc = pl_receive_all(s, rep, what, err);
    for (size_t ni = 0; ni < s->nnodes && dflt; ni++) {
        rnode *nd = &s->nodes[ni];
        if (nd->c && nd->c->reader->fn == &rp_fns) {
            nd->c->reader->fn = dflt;
            nd->c->reader->privdata = NULL;
        }
    }
    return rc;
}

/* Run commands 0..n-1 (made by fn; s->pc[i].slot set by the caller on a
 * cluster), each on its node: every node's commands are sent, then every
 * reply read into rep[i], so the nodes work in parallel. MOVED, ASK,
 * TRYAGAIN (and NOSCRIPT, for pipelines of write script `script` (>= 0;
 * -1: none), which load it on every node they use first) are followed here; the other replies,
 * error replies included, are the caller's (NULL for a command whose reply
 * was lost with its connection), in s->replies until the next pipeline
 * starts: never freed one by one. s->pc[i].node
 * is the node that answered. A lost connection is an error naming its
 * node, after the replies of the other nodes are read. */
static int pl_run(redis_store *s, size_t n, cmd_fn fn, void *ud, redisReply **rep, int script,
                  size_t eager, const char *what, mf_error *err) {
    size_t *round_cmds = s->round_cmds, nround = n;
    rpool_reset(&s->replies);
    for (size_t i = 0; i < n; i++) {
        round_cmds[i] = i;
        s->pc[i].ask = false;
        rep[i] = NULL;
    }
    int rc = MF_OK, noscript = 0;
    bool tryagain = false;
    for (int round = 0; nround && rc == MF_OK; round++) {
        if (round == MAX_ROUNDS) {
            s->map_stale = true;
            s->retryable = true;
            rc = mf__err(err, MF_ESTORE, "Redis Cluster: %s: still redirected after %d rounds "
                         "(the cluster is resharding?)", what, MAX_ROUNDS);
            break;
        }
        if (tryagain) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        for (size_t k = 0; k < nround && rc == MF_OK; k++) rc = route(s, &s->pc[round_cmds[k]], err);
        if (script >= 0) /* nothing is queued yet: load it where it is missing */
            for (size_t k = 0; k < nround && rc == MF_OK; k++) {
                size_t ni = s->pc[round_cmds[k]].node;
                if (!(s->nodes[ni].scripts >> script & 1) || !s->scripts[script].sha[0]) {
                    rc = rconnect(s, ni, err);
                    if (rc == MF_OK) rc = ensure_script(s, ni, (size_t)script, err);
                }
            }
        /* send */
        for (size_t k = 0; k < nround && rc == MF_OK; k++) {
            size_t i = round_cmds[k], ni = s->pc[i].node;
            rcmd c;
            if ((rc = rconnect(s, ni, err)) != MF_OK || (rc = fn(s, ud, i, &c, err)) != MF_OK)
                break;
            int a = pl_append(s, i, &c, eager);
            if (a == -2) rc = mf__err_nomem(err, "%s: %zu Redis commands", what, n);
            else if (a) rc = conn_fail(s, ni, what, err);
        }
        /* every node's commands out, then every reply in */
        for (size_t ni = 0; ni < s->nnodes; ni++) {
            rnode *nd = &s->nodes[ni];
            if (!nd->out.len || !nd->c) continue;
            if (node_send(nd) != 0) {
                mf_error e;
                int f = conn_fail(s, ni, what, rc == MF_OK ? err : &e);
                if (rc == MF_OK) rc = f;
            }
        }
        int f = pl_receive(s, rep, what, rc == MF_OK ? err : NULL);
        if (rc == MF_OK) rc = f;
        if (rc != MF_OK) break;
        /* redirections */
        size_t again = 0;
        bool lost_script = false;
        tryagain = false;
        for (size_t k = 0; k < nround; k++) {
            size_t i = round_cmds[k];
            redisReply *r = rep[i];
            pcmd *p = &s->pc[i];
            if (r->type != REDIS_REPLY_ERROR) continue;
            if (s->cluster && (err_is(r, "MOVED") || err_is(r, "ASK"))) {
                bool moved = r->str[0] == 'M';
                unsigned slot = 0;
                size_t to = redirect_target(s, p->node, r, &slot);
                if (to == NO_NODE) continue; /* the caller reports it */
                if (moved) {
                    s->slot_node[slot] = (uint16_t)to;
                    s->map_stale = true; /* the whole map, before the next call */
                    s->counts.moved++;
                    p->ask = false;
                } else {
                    p->node = (uint16_t)to;
                    p->ask = true;
                    s->counts.ask++;
                }
            } else if (s->cluster && err_is(r, "TRYAGAIN")) {
                tryagain = true;
                s->counts.tryagain++;
            } else if (script >= 0 && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0) {
                s->nodes[p->node].scripts = 0; /* SCRIPT FLUSH, a restart: every one is gone */
                lost_script = true;
            } else if (s->cluster && err_is(r, "CLUSTERDOWN")) {
                if (rc == MF_OK) {
                    rc = reply_err(s, p->node, what, r, err);
                    s->map_stale = true;
                    s->retryable = true;
                }
                continue;
            } else {
                continue;
            }
            rep[i] = NULL; /* (the reply stays in the pool) */
            round_cmds[again++] = i;
        }
        if (lost_script && ++noscript == 2 && rc == MF_OK)
            rc = mf__err(err, MF_ESTORE, "%s %s: %s: the server keeps losing the write script "
                         "(NOSCRIPT)", s->kind, s->nodes[s->pc[round_cmds[0]].node].addr, what);
        nround = again;
    }
    return rc;
}

/*---- Running an operation --------------------------------------------------*/

typedef int (*redis_op)(redis_store *s, void *ud, mf_error *err);

/* Run op with SIGPIPE blocked. One server: when op lost a connection that
 * was already open before this call (an idle connection to a server that
 * restarted or closed it), reconnect and run it once more. A cluster: the
 * slot map is asked for first when stale; when op failed on a lost or
 * refused connection, a changed map or CLUSTERDOWN, it runs again on a
 * new map, CLUSTER_ATTEMPTS times at most. A timeout is not retried. */
static int run_op(redis_store *s, redis_op op, void *ud, mf_error *err) {
    int rc;
    mf_error local; /* err may be NULL; the retries below read its message */
    if (!err) {
        mf__err_clear(&local);
        err = &local;
    }
    for (int attempt = 0;; attempt++) {
        bool reused = !s->cluster && s->nodes[0].c != NULL;
        s->io_failed = s->timed_out = false;
        s->retryable = false;
        rc = MF_OK;
        if (s->cluster && s->map_stale) rc = refresh_map(s, err);
        if (rc == MF_OK) rc = op(s, ud, err);
        if (rc == MF_OK || !s->retryable || s->timed_out) break;
        if (!s->cluster) {
            if (!s->io_failed || !reused || attempt > 0) break;
            mf__log(2, "Redis at %s: connection lost, reconnecting", s->nodes[0].addr);
            continue;
        }
        if (attempt + 1 == CLUSTER_ATTEMPTS) {
            size_t len = strlen(err->message);
            snprintf(err->message + len, sizeof err->message - len,
                     " (gave up after %d attempts, asking for the slot map before each)",
                     CLUSTER_ATTEMPTS);
            break;
        }
        s->counts.retries++;
        mf__log(2, "%s; asking for the slot map and trying again", err->message);
        if (attempt > 0) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    arena_reset(&s->mem);
    return rc;
}

/*---- Layout ----------------------------------------------------------------*/

/* Append the 4-byte field name of "view:feature". */
static void put_field(mf__buf *b, const char *view, const char *feature) {
    size_t vl = strlen(view), fl = strlen(feature);
    char stack[256], *p = vl + fl + 1 <= sizeof stack ? stack : mf__xmalloc(vl + fl + 1);
    memcpy(p, view, vl);
    p[vl] = ':';
    memcpy(p + vl + 1, feature, fl);
    uint32_t h = mf__murmur3_32(p, vl + fl + 1, 0);
    if (p != stack) free(p);
    unsigned char x[4] = {(unsigned char)h, (unsigned char)(h >> 8), (unsigned char)(h >> 16),
                          (unsigned char)(h >> 24)};
    mf__buf_put(b, x, 4);
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Append the serialized Timestamp of microseconds us. */
static void put_timestamp(mf__buf *b, int64_t us) {
    Feast__Timestamp t;
    feast__timestamp__init(&t);
    t.seconds = floor_div(us, 1000000);
    t.nanos = (int32_t)(us - t.seconds * 1000000) * 1000;
    size_t n = feast__timestamp__get_packed_size(&t);
    mf__buf_reserve(b, n + 1);
    feast__timestamp__pack(&t, (uint8_t *)b->data + b->len);
    b->len += n;
    b->data[b->len] = 0;
}

/* Seconds since the epoch to microseconds, within moonfeast's timestamp
 * span (mf__ts_parse's rule for epoch seconds: years 1 to 9999), so that
 * the product cannot overflow. Returns -1 outside it. */
static int sec_to_us(int64_t sec, int64_t *us) {
    char num[24];
    return mf__ts_parse(num, (size_t)snprintf(num, sizeof num, "%lld", (long long)sec), us);
}

/* Timestamp bytes (a "_ts:view" field, maybe of another writer) to
 * microseconds. Returns 0, or -1 with a reason naming the value in why when
 * they do not parse, or seconds or nanos are out of range. */
static int get_timestamp(redis_store *s, const char *p, size_t len, int64_t *us, char *why) {
    Feast__Timestamp *t = feast__timestamp__unpack(&s->pba, len, (const uint8_t *)p);
    if (!t) {
        snprintf(why, MF__JSON_WHYLEN, "its event time is not a protobuf Timestamp (%zu bytes)",
                 len);
        return -1;
    }
    if (sec_to_us(t->seconds, us) != 0 || t->nanos < 0 || t->nanos > 999999999) {
        snprintf(why, MF__JSON_WHYLEN, "its event time (Timestamp seconds %lld, nanos %d) is "
                 "out of range (years 1 to 9999, nanos 0 to 999999999)", (long long)t->seconds,
                 (int)t->nanos);
        return -1;
    }
    *us += t->nanos / 1000;
    return 0;
}

/* A key of this project: a whole v3 entity key followed by exactly the
 * project name. */
static bool key_of_project(const unsigned char *p, size_t len, const char *project, size_t plen) {
    if (len < plen + 4 || memcmp(p + len - plen, project, plen) != 0) return false;
    size_t klen = len - plen, off = 4;
    uint32_t n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    for (uint64_t i = 0; i < 2 * (uint64_t)n; i++) {
        if (klen - off < 8) return false;
        const unsigned char *q = p + off + 4;
        uint32_t l = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                     (uint32_t)q[3] << 24;
        off += 8;
        if (klen - off < l) return false;
        off += l;
    }
    return off == klen;
}

/* Feast's key of a view without entities: its dummy entity, join key
 * "__dummy_id" with the String value "" (Feast's feature_view.py), v3. */
static const unsigned char dummy_key[] = {1, 0, 0, 0, 2,   0,   0,   0,   10,  0,   0,
                                          0, '_', '_', 'd', 'u', 'm', 'm', 'y', '_', 'i',
                                          'd', 2,   0,   0,   0,   0,   0,   0,   0};

/* Append the Redis key of entity key k[0..len) (serialized v3) in project:
 * the key, then the project name. A key of no join keys (a view without
 * entities, 4 zero bytes) is Feast's dummy entity key. */
static void put_key(mf__buf *b, const unsigned char *k, size_t len, const char *project,
                    size_t plen) {
    static const unsigned char none[4] = {0, 0, 0, 0};
    if (len == 4 && memcmp(k, none, 4) == 0) mf__buf_put(b, dummy_key, sizeof dummy_key);
    else mf__buf_put(b, k, len);
    mf__buf_put(b, project, plen);
}

/*---- Lists ------------------------------------------------------------------*/

/* The list cell p[0..len) (JSON text, list type t) as the list Value v,
 * arrays allocated in s->mem; elements read by the JSON list codec.
 * Returns 0, or -1 with a reason in why. */
static int list_encode(redis_store *s, Mf__ValueType t, const char *p, size_t len,
                       Feast__Value *v, char *why) {
    json_t *a = mf__json_list_parse(t, p, len, why);
    if (!a) return -1;
    size_t n = json_array_size(a);
    int rc = 0;
    v->val_case = (Feast__Value__ValCase)t;
    /* one array of the element type, filled below */
    ProtobufCBinaryData *sv = NULL, *bv = NULL;
    int32_t *i32 = NULL;
    int64_t *i64 = NULL;
    double *f64 = NULL;
    float *f32 = NULL;
    protobuf_c_boolean *bo = NULL;
#define MF__LIST(T, init, field, arr)                                                  \
    do {                                                                             \
        T *l = arena_alloc(&s->mem, sizeof *l);                                      \
        init(l);                                                                     \
        l->n_val = n;                                                                \
        l->val = arr = n ? arena_alloc(&s->mem, n * sizeof *arr) : NULL;             \
        v->field = l;                                                                \
    } while (0)
    switch (t) {
    case MF__VALUE_TYPE__VT_STRING_LIST:
        MF__LIST(Feast__StringList, feast__string_list__init, string_list_val, sv);
        break;
    case MF__VALUE_TYPE__VT_BYTES_LIST:
        MF__LIST(Feast__BytesList, feast__bytes_list__init, bytes_list_val, bv);
        break;
    case MF__VALUE_TYPE__VT_INT32_LIST:
        MF__LIST(Feast__Int32List, feast__int32_list__init, int32_list_val, i32);
        break;
    case MF__VALUE_TYPE__VT_INT64_LIST:
        MF__LIST(Feast__Int64List, feast__int64_list__init, int64_list_val, i64);
        break;
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST:
        MF__LIST(Feast__Int64List, feast__int64_list__init, unix_timestamp_list_val, i64);
        break;
    case MF__VALUE_TYPE__VT_DOUBLE_LIST:
        MF__LIST(Feast__DoubleList, feast__double_list__init, double_list_val, f64);
        break;
    case MF__VALUE_TYPE__VT_FLOAT_LIST:
        MF__LIST(Feast__FloatList, feast__float_list__init, float_list_val, f32);
        break;
    default: /* VT_BOOL_LIST (mf__json_list_parse refused the rest) */
        MF__LIST(Feast__BoolList, feast__bool_list__init, bool_list_val, bo);
        break;
    }
#undef MF__LIST
    for (size_t i = 0; i < n && rc == 0; i++) {
        mf__jelem e;
        if (mf__json_elem(t, a, i, &e, why) != 0) {
            rc = -1;
            break;
        }
        if (sv || bv) {
            char *z = arena_alloc(&s->mem, e.len + 1);
            memcpy(z, e.s, e.len);
            z[e.len] = 0;
            ProtobufCBinaryData *d = sv ? &sv[i] : &bv[i];
            d->data = (uint8_t *)z, d->len = e.len;
        } else if (i32) {
            i32[i] = (int32_t)e.i;
        } else if (i64) { /* UnixTimestamp: whole seconds, as Feast keeps them */
            i64[i] = t == MF__VALUE_TYPE__VT_INT64_LIST ? e.i : floor_div(e.i, 1000000);
        } else if (f64) {
            f64[i] = e.d;
        } else if (f32) {
            f32[i] = mf__to_f32(e.d);
        } else {
            bo[i] = e.i != 0;
        }
    }
    json_decref(a);
    return rc;
}

/* Append the list in v (of the case matching t, stored by any writer) in
 * the codec's canonical JSON. Returns 0, or -1 with a reason in why: a
 * String element that is not UTF-8 text without NUL, a Bytes element that
 * is not UTF-8 (a list cell is JSON text), a timestamp out of range. */
static int list_json(const Feast__Value *v, Mf__ValueType t, mf__buf *out, char *why) {
    size_t n;
    switch (t) {
    case MF__VALUE_TYPE__VT_STRING_LIST: n = v->string_list_val->n_val; break;
    case MF__VALUE_TYPE__VT_BYTES_LIST: n = v->bytes_list_val->n_val; break;
    case MF__VALUE_TYPE__VT_INT32_LIST: n = v->int32_list_val->n_val; break;
    case MF__VALUE_TYPE__VT_INT64_LIST: n = v->int64_list_val->n_val; break;
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST: n = v->unix_timestamp_list_val->n_val; break;
    case MF__VALUE_TYPE__VT_DOUBLE_LIST: n = v->double_list_val->n_val; break;
    case MF__VALUE_TYPE__VT_FLOAT_LIST: n = v->float_list_val->n_val; break;
    default: n = v->bool_list_val->n_val; break;
    }
    mf__buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
        mf__jelem e = {0, 0, NULL, 0};
        switch (t) {
        case MF__VALUE_TYPE__VT_STRING_LIST:
            e.s = (const char *)v->string_list_val->val[i].data;
            e.len = v->string_list_val->val[i].len;
            if (e.len && mf__utf8_check(e.s, e.len, false) != e.len) {
                snprintf(why, MF__JSON_WHYLEN, "element %zu of the stored list is not UTF-8 "
                         "text", i + 1);
                return -1;
            }
            break;
        case MF__VALUE_TYPE__VT_BYTES_LIST:
            e.s = (const char *)v->bytes_list_val->val[i].data;
            e.len = v->bytes_list_val->val[i].len;
            if (e.len && mf__utf8_check(e.s, e.len, true) != e.len) {
                snprintf(why, MF__JSON_WHYLEN, "element %zu of the stored Bytes list is not "
                         "UTF-8 text, which a list cell (JSON) cannot hold", i + 1);
                return -1;
            }
            break;
        case MF__VALUE_TYPE__VT_INT32_LIST: e.i = v->int32_list_val->val[i]; break;
        case MF__VALUE_TYPE__VT_INT64_LIST: e.i = v->int64_list_val->val[i]; break;
        case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST: {
            int64_t sec = v->unix_timestamp_list_val->val[i];
            if (sec_to_us(sec, &e.i) != 0) {
                snprintf(why, MF__JSON_WHYLEN, "element %zu of the stored list, UnixTimestamp "
                         "%lld (seconds), is out of range (years 1 to 9999)", i + 1,
                         (long long)sec);
                return -1;
            }
            break;
        }
        case MF__VALUE_TYPE__VT_DOUBLE_LIST: e.d = v->double_list_val->val[i]; break;
        case MF__VALUE_TYPE__VT_FLOAT_LIST: e.d = v->float_list_val->val[i]; break;
        default: e.i = v->bool_list_val->val[i] ? 1 : 0; break;
        }
        if (i) mf__buf_putc(out, ',');
        mf__json_put_elem(out, t, &e);
    }
    mf__buf_putc(out, ']');
    return 0;
}

/*---- Values ----------------------------------------------------------------*/

/* Append the serialized Value of row `row` of column c to b (nothing for a
 * null: the empty Value). Returns 0, or -1 with a reason in why when a list
 * cell is not a valid list of its type (String cells are checked before,
 * by check_strings). */
static int put_value(redis_store *s, mf__buf *b, const mf__col *c, size_t row, char *why) {
    if (!c->valid[row]) return 0;
    Feast__Value v;
    feast__value__init(&v);
    Mf__ValueType t = c->type;
    v.val_case = (Feast__Value__ValCase)t;
    switch (c->sc) {
    case MF__SC_I32: v.int32_val = ((const int32_t *)c->data)[row]; break;
    case MF__SC_F32: v.float_val = ((const float *)c->data)[row]; break;
    case MF__SC_F64: v.double_val = ((const double *)c->data)[row]; break;
    case MF__SC_BOOL: v.bool_val = ((const uint8_t *)c->data)[row] != 0; break;
    case MF__SC_I64: {
        int64_t x = ((const int64_t *)c->data)[row];
        if (t == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) v.unix_timestamp_val = floor_div(x, 1000000);
        else v.int64_val = x;
        break;
    }
    case MF__SC_TEXT: {
        const char *p = c->heap + c->off[row];
        size_t n = (size_t)(c->off[row + 1] - c->off[row]);
        if (t == MF__VALUE_TYPE__VT_BYTES) {
            v.bytes_val.data = n ? (uint8_t *)p : (uint8_t *)"";
            v.bytes_val.len = n;
        } else if (t == MF__VALUE_TYPE__VT_STRING || c->raw) {
            v.val_case = FEAST__VALUE__VAL_STRING_VAL;
            v.string_val.data = n ? (uint8_t *)p : (uint8_t *)"";
            v.string_val.len = n;
        } else if (list_encode(s, t, p, n, &v, why) != 0) {
            return -1;
        }
        break;
    }
    }
    size_t n = feast__value__get_packed_size(&v);
    mf__buf_reserve(b, n + 1);
    feast__value__pack(&v, (uint8_t *)b->data + b->len);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

static void push_fixed(mf__col *c, const void *v, size_t sz) {
    mf__col_reserve(c, c->n + 1);
    memcpy((char *)c->data + c->n * sz, v, sz);
    c->valid[c->n++] = 1;
}

/* Read a varint at *p (< end); returns -1 when malformed. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (int sh = 0; sh < 64 && *p < end; sh += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Append a stored UnixTimestamp (seconds) to c. Returns 0, or -1 with a
 * reason naming it in why when out of range. */
static int push_seconds(mf__col *c, int64_t sec, char *why) {
    int64_t us;
    if (sec_to_us(sec, &us) != 0) {
        snprintf(why, MF__JSON_WHYLEN, "the stored UnixTimestamp %lld (seconds) is out of range "
                 "(years 1 to 9999)", (long long)sec);
        return -1;
    }
    mf__col_push_i64(c, us);
    return 0;
}

/* Append stored String text p[0..len) to c. Returns 0, or -1 with a reason
 * in why when it is not UTF-8 text (another writer's; Feast refuses such a
 * string too). A NUL, which Feast allows, is kept: these values only go to
 * JSON, which escapes it. */
static int push_string(mf__col *c, const char *p, size_t len, char *why) {
    size_t at = mf__utf8_check(p, len, true);
    if (at != len) {
        snprintf(why, MF__JSON_WHYLEN, "the stored String is not UTF-8 text (byte %zu of %zu)",
                 at + 1, len);
        return -1;
    }
    mf__col_push_str(c, p, len);
    return 0;
}

/* The serving hot path: a Value holding one scalar of the column's type is
 * decoded by hand (one tag, one payload); anything else (lists, other
 * types, unusual encodings) goes through protobuf-c. Returns 1 when done, 0
 * when not, -1 with a reason in why for a value out of range. */
static int push_scalar_fast(mf__col *c, const char *p, size_t len, char *why) {
    const uint8_t *q = (const uint8_t *)p, *end = q + len;
    uint64_t tag, v;
    if (c->raw || read_varint(&q, end, &tag) != 0 || (int)(tag >> 3) != (int)c->type) return 0;
    int wt = (int)(tag & 7);
    switch (c->type) {
    case MF__VALUE_TYPE__VT_INT32:
    case MF__VALUE_TYPE__VT_INT64:
    case MF__VALUE_TYPE__VT_BOOL:
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP:
        if (wt != 0 || read_varint(&q, end, &v) != 0 || q != end) return 0;
        if (c->type == MF__VALUE_TYPE__VT_INT32) {
            int32_t x = (int32_t)v;
            push_fixed(c, &x, 4);
        } else if (c->type == MF__VALUE_TYPE__VT_INT64) {
            int64_t x = (int64_t)v;
            push_fixed(c, &x, 8);
        } else if (c->type == MF__VALUE_TYPE__VT_BOOL) {
            uint8_t x = v ? 1 : 0;
            push_fixed(c, &x, 1);
        } else if (push_seconds(c, (int64_t)v, why) != 0) {
            return -1;
        }
        return 1;
    case MF__VALUE_TYPE__VT_DOUBLE:
        if (wt != 1 || end - q != 8) return 0;
        push_fixed(c, q, 8); /* little-endian on the wire and here */
        return 1;
    case MF__VALUE_TYPE__VT_FLOAT:
        if (wt != 5 || end - q != 4) return 0;
        push_fixed(c, q, 4);
        return 1;
    case MF__VALUE_TYPE__VT_STRING:
    case MF__VALUE_TYPE__VT_BYTES:
        if (wt != 2 || read_varint(&q, end, &v) != 0 || v != (uint64_t)(end - q)) return 0;
        if (c->type == MF__VALUE_TYPE__VT_STRING)
            return push_string(c, (const char *)q, (size_t)v, why) == 0 ? 1 : -1;
        mf__col_push_str(c, (const char *)q, (size_t)v);
        return 1;
    default:
        return 0;
    }
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "protobuf fixed-width values are copied as they are");

/* Append the stored Value bytes p[0..len) to column c: null when the Value
 * is empty or holds another type than c's. Returns 0, or -1 with a reason
 * in why for a value moonfeast cannot take (another writer's): bytes that
 * do not parse, a String that is not UTF-8 text, a timestamp out of range,
 * a list that a list cell cannot hold. */
static int push_value(redis_store *s, mf__col *c, const char *p, size_t len, char *why) {
    int fast = len ? push_scalar_fast(c, p, len, why) : 0;
    if (fast) return fast > 0 ? 0 : -1;
    Feast__Value *v = len ? feast__value__unpack(&s->pba, len, (const uint8_t *)p) : NULL;
    if (len && !v) {
        snprintf(why, MF__JSON_WHYLEN, "the stored Value (%zu byte%s) does not parse as a "
                 "Feast Value", len, len == 1 ? "" : "s");
        return -1;
    }
    if (!v || (int)v->val_case != (int)c->type || c->raw) {
        mf__col_push_null(c);
        return 0;
    }
    switch (c->type) {
    case MF__VALUE_TYPE__VT_INT32: push_fixed(c, &v->int32_val, 4); break;
    case MF__VALUE_TYPE__VT_INT64: push_fixed(c, &v->int64_val, 8); break;
    case MF__VALUE_TYPE__VT_FLOAT: push_fixed(c, &v->float_val, 4); break;
    case MF__VALUE_TYPE__VT_DOUBLE: push_fixed(c, &v->double_val, 8); break;
    case MF__VALUE_TYPE__VT_BOOL: {
        uint8_t b = v->bool_val ? 1 : 0;
        push_fixed(c, &b, 1);
        break;
    }
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: return push_seconds(c, v->unix_timestamp_val, why);
    case MF__VALUE_TYPE__VT_STRING:
        return push_string(c, (const char *)v->string_val.data, v->string_val.len, why);
    case MF__VALUE_TYPE__VT_BYTES:
        mf__col_push_str(c, (const char *)v->bytes_val.data, v->bytes_val.len);
        break;
    default:
        if (c->type >= MF__VALUE_TYPE__VT_BYTES_LIST && c->type <= MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST) {
            s->tmp.len = 0;
            if (list_json(v, c->type, &s->tmp, why) != 0) return -1;
            mf__col_push_str(c, s->tmp.data, s->tmp.len);
        } else {
            mf__col_push_null(c);
        }
        break;
    }
    return 0;
}

/*---- Reads -----------------------------------------------------------------*/

typedef struct read_ctx {
    const char *project;
    mf__read_batch *rbs;
    size_t nb;
    size_t *tb;   /* per group (and one more): where its HMGET starts in s->argv */
    size_t *toff; /* per group (and one more): where its fields' RESP starts in s->fmt */
} read_ctx;

/* Batches whose rows have the same keys (views of one entity: their
 * fields live in the same hashes) share one HMGET per row. */
static bool same_keys(const mf__read_batch *a, const mf__read_batch *b) {
    if (a->n != b->n) return false;
    if (a->keys == b->keys && a->key_lens == b->key_lens) return true;
    for (size_t i = 0; i < a->n; i++)
        if (a->key_lens[i] != b->key_lens[i] || memcmp(a->keys[i], b->keys[i], a->key_lens[i]) != 0)
            return false;
    return true;
}

/* Command i: the HMGET of its group, on its key. */
static int read_cmd(redis_store *s, void *ud, size_t i, rcmd *c, mf_error *err) {
    MF__UNUSED(err);
    read_ctx *x = ud;
    size_t g = s->pc[i].aux, a = x->tb[g];
    s->argv[a + 1] = s->keys.data + s->koff[i];
    s->lens[a + 1] = s->koff[i + 1] - s->koff[i];
    c->argc = x->tb[g + 1] - a;
    c->nargv = 2;
    c->argv = s->argv + a;
    c->lens = s->lens + a;
    c->tail = s->fmt.data + x->toff[g];
    c->tail_len = x->toff[g + 1] - x->toff[g];
    return MF_OK;
}

/* Every batch (one per feature view) in ONE pipeline: the HMGETs of every
 * row (one per row and group of batches with the same keys, with the
 * fields of all of them) go to their servers, then all replies are read,
 * so a request costs one round trip however many views and entities it
 * names. Columns are filled only once every reply is in and well formed. */
static int op_read(redis_store *s, void *ud, mf_error *err) {
    read_ctx *x = ud;
    size_t plen = strlen(x->project), nb = x->nb;
    /* groups: grp[b] = the group of batch b; lead[g] = its first batch;
     * tb[g] = where its HMGET starts in argv */
    if (grow_array(&s->grp, &s->grp_cap, 4 * nb + 2, sizeof *s->grp) != 0)
        return mf__err_nomem(err, "reading %zu feature views from Redis", nb);
    size_t *grp = s->grp, *lead = s->grp + nb, *tb = s->grp + 2 * nb, ng = 0;
    x->tb = tb;
    for (size_t bi = 0; bi < nb; bi++) {
        size_t g = 0;
        while (g < ng && !same_keys(&x->rbs[lead[g]], &x->rbs[bi])) g++;
        if (g == ng) lead[ng++] = bi;
        grp[bi] = g;
    }
    size_t total = 0, nargs = 0;
    for (size_t g = 0; g < ng; g++) {
        tb[g] = nargs;
        nargs += 2;
        for (size_t bi = 0; bi < nb; bi++)
            if (grp[bi] == g) nargs += x->rbs[bi].nfeat + 1;
        total += x->rbs[lead[g]].n;
    }
    tb[ng] = nargs;
    if (nargs > s->argv_cap) {
        size_t cap = s->argv_cap;
        if (grow_array(&s->argv, &cap, nargs, sizeof *s->argv) != 0 ||
            grow_array(&s->lens, &s->argv_cap, nargs, sizeof *s->lens) != 0)
            return mf__err_nomem(err, "reading %zu features from Redis", nargs);
    }
    if (total + 1 == 0 || grow_array(&s->rep, &s->rep_cap, total, sizeof *s->rep) != 0 ||
        grow_array(&s->koff, &s->koff_cap, total + 1, sizeof *s->koff) != 0 ||
        pl_reserve(s, total, err) != MF_OK)
        return mf__err_nomem(err, "reading %zu entity rows from Redis", total);
    const char **argv = s->argv;
    size_t *lens = s->lens;
    redisReply **rep = s->rep;
    /* every group's field names, each batch's hashes then its "_ts:view";
     * lens[a] holds where name a starts until f is complete (it may move
     * while it grows) */
    mf__buf *f = &s->enc;
    f->len = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t a = tb[g] + 2;
        for (size_t bi = 0; bi < nb; bi++) {
            if (grp[bi] != g) continue;
            const mf__read_batch *rb = &x->rbs[bi];
            for (size_t k = 0; k < rb->nfeat; k++) {
                lens[a++] = f->len;
                put_field(f, rb->view->name, rb->view->features[rb->feat_idx[k]]->name);
            }
            lens[a++] = f->len;
            mf__buf_printf(f, "_ts:%s", rb->view->name);
        }
    }
    size_t next = f->len;
    for (size_t g = ng; g-- > 0;) {
        for (size_t a = tb[g + 1]; a-- > tb[g] + 2;) {
            argv[a] = f->data + lens[a];
            size_t start = lens[a];
            lens[a] = next - start;
            next = start;
        }
        argv[tb[g]] = "HMGET";
        lens[tb[g]] = 5;
    }
    /* ... formatted once: every HMGET of a group ends with them */
    x->toff = tb + ng + 1;
    s->fmt.len = 0;
    for (size_t g = 0; g < ng; g++) {
        x->toff[g] = s->fmt.len;
        for (size_t a = tb[g] + 2; a < tb[g + 1]; a++) resp_arg(&s->fmt, argv[a], lens[a]);
    }
    x->toff[ng] = s->fmt.len;
    /* the keys, command by command: group by group, row by row */
    mf__buf *kb = &s->keys;
    kb->len = 0;
    size_t at = 0;
    for (size_t g = 0; g < ng; g++) {
        const mf__read_batch *rb = &x->rbs[lead[g]];
        for (size_t i = 0; i < rb->n; i++, at++) {
            s->koff[at] = kb->len;
            put_key(kb, rb->keys[i], rb->key_lens[i], x->project, plen);
            s->pc[at].aux = g;
        }
    }
    s->koff[total] = kb->len;
    if (s->cluster)
        for (size_t i = 0; i < total; i++)
            s->pc[i].slot = (uint16_t)mf__redis_slot(kb->data + s->koff[i],
                                                     s->koff[i + 1] - s->koff[i]);
    char what[300];
    snprintf(what, sizeof what, "reading feature view '%s'", nb ? x->rbs[0].view->name : "");
    int rc = pl_run(s, total, read_cmd, x, rep, -1, 0, what, err);
    /* replies: every one well formed before any column is touched */
    for (size_t i = 0; i < total && rc == MF_OK; i++) {
        redisReply *r = rep[i];
        size_t g = s->pc[i].aux, want = tb[g + 1] - tb[g] - 2;
        const mf__read_batch *lb = &x->rbs[lead[g]];
        if (r->type == REDIS_REPLY_ERROR) {
            char w[300];
            snprintf(w, sizeof w, "reading feature view '%s'", lb->view->name);
            rc = reply_err(s, s->pc[i].node, w, r, err);
        } else if (r->type != REDIS_REPLY_ARRAY || r->elements != want) {
            rc = mf__err(err, MF_ESTORE, "%s %s: reading feature view '%s': unexpected reply "
                         "to HMGET", s->kind, s->nodes[s->pc[i].node].addr, lb->view->name);
        }
    }
    /* every reply is in and well formed: now fill the columns */
    size_t first = 0; /* first reply of the current group */
    for (size_t g = 0; g < ng && rc == MF_OK; g++) {
        size_t off = 0; /* the batch's first element in the group's replies */
        for (size_t bi = 0; bi < nb && rc == MF_OK; bi++) {
            if (grp[bi] != g) continue;
            mf__read_batch *rb = &x->rbs[bi];
            size_t nf = rb->nfeat;
            for (size_t i = 0; i < rb->n && rc == MF_OK; i++) {
                redisReply *r = rep[first + i], *ts = r->element[off + nf];
                const char *addr = s->nodes[s->pc[first + i].node].addr;
                int64_t us = 0;
                char why[MF__JSON_WHYLEN];
                bool found = ts->type == REDIS_REPLY_STRING;
                if (found && get_timestamp(s, ts->str, ts->len, &us, why) != 0) {
                    rc = mf__err(err, MF_ESTORE, "%s %s: feature view '%s', entity row "
                                 "%zu: %s", s->kind, addr, rb->view->name, i + 1, why);
                    break;
                }
                rb->found[i] = found;
                rb->event_ts[i] = found ? us : 0;
                for (size_t k = 0; k < nf && rc == MF_OK; k++) {
                    redisReply *e = r->element[off + k];
                    if (!found || e->type != REDIS_REPLY_STRING) mf__col_push_null(rb->out[k]);
                    else if (push_value(s, rb->out[k], e->str, e->len, why) != 0)
                        rc = mf__err(err, MF_ESTORE, "%s %s: feature view '%s', feature "
                                     "'%s', entity row %zu: %s", s->kind, addr, rb->view->name,
                                     rb->view->features[rb->feat_idx[k]]->name, i + 1, why);
                }
            }
            off += nf + 1;
        }
        first += x->rbs[lead[g]].n;
    }
    return rc;
}

static int rd_read_many(mf__online *base, const char *project, mf__read_batch *rbs, size_t nb,
                        mf_error *err) {
    redis_store *s = (redis_store *)base;
    size_t total = 0;
    for (size_t i = 0; i < nb; i++) total += rbs[i].n;
    if (total == 0) return MF_OK;
    read_ctx x = {project, rbs, nb, NULL, NULL};
    return run_op(s, op_read, &x, err);
}

static int rd_read(mf__online *base, const char *project, mf__read_batch *rb, mf_error *err) {
    return rd_read_many(base, project, rb, 1, err);
}

/*---- Writes ----------------------------------------------------------------*/

typedef struct write_ctx {
    const mf__write_batch *b;
    const char *project;
    size_t plen;
    size_t encoded; /* rows [0, encoded) are in s->enc */
    size_t *off; /* per row: key, ts, created, nf values; offsets into s->enc */
    const char *fields; /* nf hashes, "_ts:view", "_created_ts:view" */
    size_t fields_len;
    size_t ts_field_len;
    size_t per;   /* rows per call: one server, keys_per_call; a cluster, 1 */
    size_t ncalls;
    const char **argv;
    size_t *lens;
    char ttl[24], nkeys[24];
    size_t script; /* in s->scripts */
    bool probe;    /* calls of distinct keys probe (write script) */
    size_t set[128]; /* keys_distinct's set, for up to 64 keys */
    size_t nset;
    size_t base;   /* the script writes rows [base, n) (before: RESTOREd) */
    bool restore;  /* the batch may be RESTOREd (restore_rows) */
    size_t rfrom;  /* restore_cmd: the row of command 0 */
    char ttl_ms[24];
    const char **items; /* restore_cmd: the hash's fields and values */
    size_t *ilens;
    mf__buf dump;  /* restore_cmd: the payload */
    const char *rargv[4]; /* restore_cmd: its command */
    size_t rlens[4];
} write_ctx;

/* Encode rows [x->encoded, upto) into s->enc: key + project, Timestamp,
 * created time, then every feature's Value. Fails only on a list cell that
 * is not a valid list of its type. */
static int encode_rows(redis_store *s, write_ctx *x, size_t upto, mf_error *err) {
    const mf__write_batch *b = x->b;
    const Mf__FeatureViewSpec *view = b->view;
    size_t nf = view->n_features, stride = nf + 3;
    mf__buf *e = &s->enc;
    for (size_t i = x->encoded; i < upto; i++) {
        size_t row = b->rows ? b->rows[i] : i, *o = x->off + i * stride;
        o[0] = e->len;
        put_key(e, b->keys[i], b->key_lens[i], x->project, x->plen);
        o[1] = e->len;
        put_timestamp(e, b->event_ts[i]);
        o[2] = e->len;
        /* the created time bound to its event time: "<decimal>@<Timestamp>" */
        char tsb[32]; /* a Timestamp is at most 22 bytes; copied aside: e may move */
        size_t tsl = o[2] - o[1];
        memcpy(tsb, e->data + o[1], tsl);
        mf__buf_printf(e, "%lld@", (long long)(b->created_ts ? b->created_ts[i] : 0));
        mf__buf_put(e, tsb, tsl);
        for (size_t f = 0; f < nf; f++) {
            char why[MF__JSON_WHYLEN];
            o[3 + f] = e->len;
            if (put_value(s, e, &b->feat[f], row, why) != 0)
                return mf__col_cell_err(&b->feat[f], row, view->name, why, err);
        }
        o[stride] = e->len;
        x->encoded = i + 1;
    }
    return MF_OK;
}

/* Whether the keys of rows [from, to) (encoded) are all different: an
 * open-addressing set of their row numbers, hashed by MurmurHash3. */
static bool keys_distinct(redis_store *s, write_ctx *x, size_t from, size_t to) {
    size_t stride = x->b->view->n_features + 3, cap = 16;
    while (cap < 2 * (to - from)) cap *= 2;
    size_t *set = x->set;
    if (cap > x->nset) set = mf__xmalloc(cap * sizeof *set);
    memset(set, 0, cap * sizeof *set);
    bool distinct = true;
    for (size_t r = from; r < to && distinct; r++) {
        const char *k = s->enc.data + x->off[r * stride];
        size_t len = x->off[r * stride + 1] - x->off[r * stride];
        size_t h = mf__murmur3_32(k, len, 0) & (cap - 1);
        for (; set[h]; h = (h + 1) & (cap - 1)) {
            const size_t *o = x->off + (set[h] - 1) * stride;
            if (o[1] - o[0] == len && memcmp(s->enc.data + o[0], k, len) == 0) {
                distinct = false;
                break;
            }
        }
        set[h] = r + 1;
    }
    if (set != x->set) free(set);
    return distinct;
}

/* Keys per EVALSHA: a few dozen, fewer for very wide views (so that one
 * call stays well under the server's argument limits). */
static size_t keys_per_call(size_t nf) {
    size_t k = 60000 / (nf + 3);
    return k < 1 ? 1 : k > 64 ? 64 : k;
}

/* Call c: one EVALSHA of the write script over its rows. */
static int write_cmd(redis_store *s, void *ud, size_t c, rcmd *cmd, mf_error *err) {
    write_ctx *x = ud;
    size_t nf = x->b->view->n_features, stride = nf + 3, from = x->base + c * x->per;
    size_t to = from + x->per < x->b->n ? from + x->per : x->b->n;
    int rc = encode_rows(s, x, to, err); /* nothing to do when encoded before */
    if (rc) return rc;
    const char **argv = x->argv;
    size_t *lens = x->lens, a = 0;
    snprintf(x->nkeys, sizeof x->nkeys, "%zu", to - from);
    argv[a] = "EVALSHA", lens[a++] = 7;
    argv[a] = s->scripts[x->script].sha, lens[a++] = 40;
    argv[a] = x->nkeys, lens[a++] = strlen(x->nkeys);
    for (size_t r = from; r < to; r++) {
        const size_t *o = x->off + r * stride;
        argv[a] = s->enc.data + o[0], lens[a++] = o[1] - o[0];
    }
    argv[a] = x->ttl, lens[a++] = strlen(x->ttl);
    argv[a] = x->probe && (to - from == 1 || keys_distinct(s, x, from, to)) ? "1" : "0";
    lens[a++] = 1;
    argv[a] = x->fields + 4 * nf, lens[a++] = x->ts_field_len;
    argv[a] = x->fields + 4 * nf + x->ts_field_len;
    lens[a++] = x->fields_len - 4 * nf - x->ts_field_len;
    for (size_t f = 0; f < nf; f++) argv[a] = x->fields + 4 * f, lens[a++] = 4;
    for (size_t r = from; r < to; r++) {
        const size_t *o = x->off + r * stride;
        for (size_t v = 1; v < stride; v++) argv[a] = s->enc.data + o[v], lens[a++] = o[v + 1] - o[v];
    }
    cmd->argc = cmd->nargv = a;
    cmd->argv = argv;
    cmd->lens = lens;
    cmd->tail = NULL;
    cmd->tail_len = 0;
    return MF_OK;
}

/*
 * First loads by RESTORE. While the store looks empty (s->probe: the last
 * write found only new keys, or none was made) a batch of at least
 * RESTORE_MIN_ROWS rows is written first as one RESTORE per row (the whole
 * hash, in DUMP's serialization: redis_dump.c) instead of through the
 * script: RESTORE creates a key that does not exist in one command, which
 * costs the server less than an HSET of its fields from a script, and
 * fails (BUSYKEY) when the key exists, so nothing stored is ever replaced
 * unchecked. The first RESTORE_PROBE_ROWS rows go alone (one round trip),
 * so that a store that is not empty costs one short pipeline; the rest
 * in pipelines of RESTORE_CHUNK rows. From the first row that is not
 * created (the key exists, a value or field name too long for the hash
 * Redis would make, any other answer) to the end of the batch, every row
 * goes through the write script, in order, so a key's rows are applied in
 * batch order (rows after it that RESTORE created are checked and written
 * again). BUSYKEY, or an ERR/NOPERM answer (an older server that has no
 * listpack, RESTORE denied by an ACL or renamed), turns RESTORE off for
 * the handle. The hash is the one an HSET of the same fields makes (the same
 * bytes while it is a listpack: the server's default hash-max-listpack-*
 * limits are assumed), a key TTL is RESTORE's (ms).
 */
#define RESTORE_MIN_ROWS 256
#define RESTORE_PROBE_ROWS 64
#define RESTORE_CHUNK 8192
#define RESTORE_MAX_ITEM 64  /* hash-max-listpack-value's default */
#define RESTORE_MAX_FIELDS 128 /* hash-max-listpack-entries' default */

/* Command i: RESTORE of row x->rfrom + i. */
static int restore_cmd(redis_store *s, void *ud, size_t i, rcmd *cmd, mf_error *err) {
    write_ctx *x = ud;
    size_t nf = x->b->view->n_features, stride = nf + 3, r = x->rfrom + i;
    const size_t *o = x->off + r * stride;
    for (size_t v = 1; v < stride; v++) {
        x->items[2 * (v - 1) + 1] = s->enc.data + o[v];
        x->ilens[2 * (v - 1) + 1] = o[v + 1] - o[v];
    }
    x->dump.len = 0;
    if (mf__redis_dump_hash(&x->dump, x->items, x->ilens, 2 * (nf + 2)) != 0)
        return mf__err(err, MF_ESTORE, "writing feature view '%s': a hash of %zu fields",
                       x->b->view->name, nf + 2);
    const char **argv = x->rargv;
    size_t *lens = x->rlens;
    argv[0] = "RESTORE", lens[0] = 7;
    argv[1] = s->enc.data + o[0], lens[1] = o[1] - o[0];
    argv[2] = x->ttl_ms, lens[2] = strlen(x->ttl_ms);
    argv[3] = x->dump.data, lens[3] = x->dump.len;
    cmd->argc = cmd->nargv = 4;
    cmd->argv = argv;
    cmd->lens = lens;
    cmd->tail = NULL;
    cmd->tail_len = 0;
    return MF_OK;
}

/* Whether row r's values all fit the hash RESTORE makes. */
static bool restorable_row(const write_ctx *x, size_t r) {
    size_t stride = x->b->view->n_features + 3;
    const size_t *o = x->off + r * stride;
    for (size_t v = 1; v < stride; v++)
        if (o[v + 1] - o[v] > RESTORE_MAX_ITEM) return false;
    return true;
}

/* RESTORE rows from the first until one is not created; x->base is then
 * the first row the script writes. *fresh: false when a key existed. */
static int restore_rows(redis_store *s, write_ctx *x, bool *fresh, const char *what,
                        mf_error *err) {
    const mf__write_batch *b = x->b;
    size_t nf = b->view->n_features, stride = nf + 3, from = 0;
    size_t chunk = RESTORE_PROBE_ROWS;
    redisReply **rep = mf__try_realloc_array(NULL, RESTORE_CHUNK, sizeof *rep);
    if (!rep) return mf__err_nomem(err, "writing %zu rows to Redis", b->n);
    x->items = mf__xmalloc(2 * (nf + 2) * sizeof *x->items);
    x->ilens = mf__xmalloc(2 * (nf + 2) * sizeof *x->ilens);
    for (size_t f = 0; f < nf + 2; f++) { /* the fields, in the script's order */
        size_t at = f < 2 ? 4 * nf + (f ? x->ts_field_len : 0) : 4 * (f - 2);
        x->items[2 * f] = x->fields + at;
        x->ilens[2 * f] = f == 0 ? x->ts_field_len
                        : f == 1 ? x->fields_len - 4 * nf - x->ts_field_len : 4;
    }
    mf__buf_init(&x->dump);
    int rc = MF_OK;
    bool stop = false;
    while (rc == MF_OK && !stop && from < b->n) {
        size_t to = from + chunk < b->n ? from + chunk : b->n;
        chunk = RESTORE_CHUNK;
        if ((rc = encode_rows(s, x, to, err)) != MF_OK) break;
        for (size_t r = from; r < to; r++)
            if (!restorable_row(x, r)) {
                to = r;
                stop = true;
            }
        if (to == from) break;
        if ((rc = pl_reserve(s, to - from, err)) != MF_OK) break;
        if (s->cluster)
            for (size_t r = from; r < to; r++) {
                const size_t *o = x->off + r * stride;
                s->pc[r - from].slot = (uint16_t)mf__redis_slot(s->enc.data + o[0], o[1] - o[0]);
            }
        x->rfrom = from;
        rc = pl_run(s, to - from, restore_cmd, x, rep, -1, 16384, what, err);
        for (size_t i = 0; i < to - from && rc == MF_OK; i++) {
            const redisReply *r = rep[i];
            if (r->type == REDIS_REPLY_STATUS) continue;
            stop = true;
            to = from + i;
            if (err_is(r, "BUSYKEY")) {
                /* keys of other views, or of a load before: the script
                 * from now on (its probe keeps finding new keys of this
                 * view, which would try RESTORE again every other batch) */
                *fresh = false;
                s->restore_off = true;
            } else if (r->type != REDIS_REPLY_ERROR || err_is(r, "ERR") || err_is(r, "NOPERM")) {
                /* no such command, a payload this server cannot read, an
                 * ACL: for good (a passing state, OOM, LOADING, READONLY,
                 * meets the script too, and RESTORE is tried again) */
                s->restore_off = true;
                bool e = r->type == REDIS_REPLY_ERROR;
                mf__log(2, "%s %s: %s: RESTORE answered %.*s; first loads go through the write "
                        "script", s->kind, s->nodes[s->pc[i].node].addr, what,
                        e ? (int)r->len : 16, e ? r->str : "an unknown reply");
            }
            break;
        }
        from = to;
    }
    x->base = from;
    free(rep);
    free(x->items);
    free(x->ilens);
    mf__buf_free(&x->dump);
    return rc;
}

static int op_write(redis_store *s, void *ud, mf_error *err) {
    write_ctx *x = ud;
    const mf__write_batch *b = x->b;
    size_t nf = b->view->n_features, per = x->per;
    char what[300];
    snprintf(what, sizeof what, "writing feature view '%s'", b->view->name);
    bool fresh = true;
    x->base = 0;
    x->probe = s->probe;
    if (x->restore && s->probe && !s->restore_off) {
        int rc = restore_rows(s, x, &fresh, what, err);
        if (rc) return rc;
        x->probe = fresh;
    }
    if (x->base == b->n) {
        s->probe = fresh;
        return MF_OK;
    }
    size_t ncalls = (b->n - x->base + per - 1) / per;
    x->ncalls = ncalls;
    size_t maxargc = 3 + per + 2 + (nf + 2) * (per + 1);
    int rc = pl_reserve(s, ncalls, err);
    if (rc) return rc;
    redisReply **rep = mf__try_realloc_array(NULL, ncalls, sizeof *rep);
    if (!rep) return mf__err_nomem(err, "writing %zu rows to Redis", b->n);
    snprintf(x->ttl, sizeof x->ttl, "%lld", (long long)s->key_ttl);
    x->script = script_for(s, nf + 2);
    x->argv = mf__xmalloc(maxargc * sizeof *x->argv);
    x->lens = mf__xmalloc(maxargc * sizeof *x->lens);
    if (s->cluster) /* one row per call, every row encoded */
        for (size_t c = 0; c < ncalls; c++) {
            const size_t *o = x->off + (x->base + c) * (nf + 3);
            s->pc[c].slot = (uint16_t)mf__redis_slot(s->enc.data + o[0], o[1] - o[0]);
        }
    rc = pl_run(s, ncalls, write_cmd, x, rep, (int)x->script, 1, what, err);
    /* {written, 1 when every key was new}: the next batch probes when
     * every call of this one found only new keys (a first load) */
    for (size_t c = 0; c < ncalls && rc == MF_OK; c++) {
        const redisReply *r = rep[c];
        if (r->type == REDIS_REPLY_ERROR)
            rc = reply_err(s, s->pc[c].node, what, r, err);
        else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                 r->element[1]->type != REDIS_REPLY_INTEGER)
            rc = mf__err(err, MF_ESTORE, "%s %s: %s: unexpected reply to the write script",
                         s->kind, s->nodes[s->pc[c].node].addr, what);
        else if (r->element[1]->integer != 1)
            fresh = false;
    }
    if (rc == MF_OK) s->probe = fresh;
    free(rep);
    free(x->argv);
    free(x->lens);
    x->argv = NULL;
    x->lens = NULL;
    return rc;
}

/* Every String (and pass-through text) cell of the batch is UTF-8 text
 * without NUL, as a Feast string Value must be. */
static int check_strings(const mf__write_batch *b, mf_error *err) {
    for (size_t f = 0; f < b->view->n_features; f++) {
        const mf__col *c = &b->feat[f];
        if (c->sc != MF__SC_TEXT || (!c->raw && c->type != MF__VALUE_TYPE__VT_STRING)) continue;
        for (size_t i = 0; i < b->n; i++) {
            char why[MF__JSON_WHYLEN];
            size_t row = b->rows ? b->rows[i] : i;
            if (mf__col_cell_check(c, row, NULL, why) != 0)
                return mf__col_cell_err(c, row, b->view->name, why, err);
        }
    }
    return MF_OK;
}

/* Whether batch b may be RESTOREd (restore_rows): large enough, its
 * field names few, short and different, its TTL in ms an int64; sets
 * x->ttl_ms. */
static bool restorable_batch(const redis_store *s, write_ctx *x, const mf__write_batch *b) {
    size_t nf = b->view->n_features;
    if (b->n < RESTORE_MIN_ROWS || nf + 2 > RESTORE_MAX_FIELDS || s->key_ttl > INT64_MAX / 1000 ||
        x->ts_field_len > RESTORE_MAX_ITEM ||
        x->fields_len - 4 * nf - x->ts_field_len > RESTORE_MAX_ITEM)
        return false;
    for (size_t f = 0; f < nf; f++) { /* two features' 4-byte names may collide */
        for (size_t g = f + 1; g < nf; g++)
            if (memcmp(x->fields + 4 * f, x->fields + 4 * g, 4) == 0) return false;
        if (x->ts_field_len == 4 && memcmp(x->fields + 4 * f, x->fields + 4 * nf, 4) == 0)
            return false; /* "_ts:" of a view without a name */
    }
    snprintf(x->ttl_ms, sizeof x->ttl_ms, "%lld", (long long)(s->key_ttl * 1000));
    return true;
}

static int rd_write(mf__online *base, const char *project, const mf__write_batch *b,
                    mf_error *err) {
    redis_store *s = (redis_store *)base;
    if (b->n == 0) return MF_OK;
    const Mf__FeatureViewSpec *view = b->view;
    size_t nf = view->n_features;
    mf__buf fields;
    mf__buf_init(&fields);
    for (size_t f = 0; f < nf; f++) put_field(&fields, view->name, view->features[f]->name);
    mf__buf_printf(&fields, "_ts:%s", view->name);
    size_t ts_field_len = fields.len - 4 * nf;
    mf__buf_printf(&fields, "_created_ts:%s", view->name);
    s->enc.len = 0;
    /* offsets of every row's values: the batch's size, which the caller
     * chose */
    size_t noff;
    size_t *off = NULL;
    if (!mf__size_mul(b->n, nf + 3, &noff) || !mf__size_add(noff, 1, &noff) ||
        (off = mf__try_realloc_array(NULL, noff, sizeof *off)) == NULL) {
        mf__buf_free(&fields);
        return mf__err_nomem(err, "writing %zu rows of feature view '%s' to Redis", b->n,
                             view->name);
    }
    write_ctx x;
    memset(&x, 0, sizeof x);
    x.b = b;
    x.project = project;
    x.plen = strlen(project);
    x.off = off;
    x.fields = fields.data;
    x.fields_len = fields.len;
    x.ts_field_len = ts_field_len;
    x.nset = MF__ARRAY_LEN(x.set);
    /* One server: up to keys_per_call rows per script call. A cluster: one
     * row per call, since a call's keys must share a hash slot, and a key
     * being migrated must be able to go (ASK) where it lives alone. */
    x.per = s->cluster ? 1 : keys_per_call(nf);
    x.restore = restorable_batch(s, &x, b);
    /* A bad cell must write nothing: String cells are checked first (a
     * quick pass); when a list cell can be bad, or on a cluster (the slots
     * of every key are needed first), everything is encoded before talking
     * to Redis; otherwise each call is encoded just before it is sent,
     * while the server runs the previous one. */
    bool may_fail = s->cluster;
    for (size_t f = 0; f < nf; f++)
        if (b->feat[f].sc == MF__SC_TEXT && !b->feat[f].raw && b->feat[f].type != MF__VALUE_TYPE__VT_BYTES &&
            b->feat[f].type != MF__VALUE_TYPE__VT_STRING)
            may_fail = true;
    int rc = check_strings(b, err);
    if (rc == MF_OK && may_fail) rc = encode_rows(s, &x, b->n, err);
    if (rc == MF_OK) rc = run_op(s, op_write, &x, err);
    else arena_reset(&s->mem);
    free(x.off);
    mf__buf_free(&fields);
    return rc;
}

/*---- Dropping views --------------------------------------------------------*/

typedef struct drop_ctx {
    const char *project;
    const char *fields; /* every field of the dropped views */
    const size_t *foff; /* nfields + 1 offsets */
    size_t nfields;
    const char **argv;  /* HDEL, a key, the fields */
    size_t *lens;
    redisReply **keys;  /* the project's keys of the current SCAN page */
} drop_ctx;

/* Command i: HDEL of the fields from the page's key i. */
static int drop_cmd(redis_store *s, void *ud, size_t i, rcmd *c, mf_error *err) {
    MF__UNUSED(s);
    MF__UNUSED(err);
    drop_ctx *x = ud;
    x->argv[1] = x->keys[i]->str;
    x->lens[1] = x->keys[i]->len;
    c->argc = c->nargv = 2 + x->nfields;
    c->argv = x->argv;
    c->lens = x->lens;
    c->tail = NULL;
    c->tail_len = 0;
    return MF_OK;
}

/* The masters: the one server, or every node the slot map names. */
static size_t masters(const redis_store *s, size_t *out) {
    if (!s->cluster) {
        out[0] = 0;
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->nnodes; i++) {
        bool used = false;
        for (size_t k = 0; k < NSLOTS && !used; k++) used = s->slot_node[k] == i;
        if (used) out[n++] = i;
    }
    return n;
}

/* SCAN node ni for the project's keys and HDEL the fields from each (the
 * HDELs go where the keys' slots live, redirections followed). */
static int drop_on(redis_store *s, size_t ni, drop_ctx *x, const mf__buf *pat, mf_error *err) {
    size_t plen = strlen(x->project);
    char cursor[32] = "0";
    int rc = MF_OK;
    do {
        const char *sargv[6] = {"SCAN", cursor, "MATCH", pat->data, "COUNT", "1000"};
        size_t slens[6] = {4, strlen(cursor), 5, pat->len, 5, 4};
        redisReply *r = NULL;
        if ((rc = rconnect(s, ni, err)) == MF_OK)
            r = command(s, ni, 6, sargv, slens, "scanning the project's keys", false, err);
        if (!r) {
            rc = MF_ESTORE;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof cursor ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            rc = mf__err(err, MF_ESTORE, "%s %s: unexpected reply to SCAN", s->kind,
                         s->nodes[ni].addr);
            freeReplyObject(r);
            break;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = 0;
        size_t nk = r->element[1]->elements, n = 0;
        x->keys = nk ? mf__xmalloc(nk * sizeof *x->keys) : NULL;
        for (size_t i = 0; i < nk; i++) {
            redisReply *k = r->element[1]->element[i];
            if (k->type == REDIS_REPLY_STRING &&
                key_of_project((const unsigned char *)k->str, k->len, x->project, plen))
                x->keys[n++] = k;
        }
        redisReply **rep = n ? mf__xmalloc(n * sizeof *rep) : NULL;
        if (n) rc = pl_reserve(s, n, err);
        if (n && rc == MF_OK) {
            for (size_t i = 0; i < n; i++)
                if (s->cluster)
                    s->pc[i].slot = (uint16_t)mf__redis_slot(x->keys[i]->str, x->keys[i]->len);
            rc = pl_run(s, n, drop_cmd, x, rep, -1, 0, "deleting feature view fields", err);
            for (size_t i = 0; i < n && rc == MF_OK; i++)
                if (rep[i]->type == REDIS_REPLY_ERROR)
                    rc = reply_err(s, s->pc[i].node, "deleting feature view fields", rep[i], err);
        }
        free(rep);
        free(x->keys);
        x->keys = NULL;
        freeReplyObject(r);
    } while (rc == MF_OK && strcmp(cursor, "0") != 0);
    return rc;
}

/* Each master's own line of CLUSTER NODES, its id and slot ranges (with the
 * "[slot->-id]" / "[slot-<-id]" marks of slots being moved out or in),
 * into out; *moving when a slot is marked; *owned: the slots the masters
 * say they own. */
static int slots_state(redis_store *s, const size_t *m, size_t nm, mf__buf *out, bool *moving,
                       size_t *owned, mf_error *err) {
    static const char *const argv[2] = {"CLUSTER", "NODES"};
    static const size_t lens[2] = {7, 5};
    out->len = 0;
    *moving = false;
    *owned = 0;
    for (size_t i = 0; i < nm; i++) {
        int rc = rconnect(s, m[i], err);
        if (rc) return rc;
        redisReply *r = command(s, m[i], 2, (const char **)argv, lens, "asking for the slot map",
                                false, err);
        if (!r) return MF_ESTORE;
        const char *line = NULL, *end = NULL;
        if (r->type == REDIS_REPLY_STRING) {
            const char *p = r->str, *e = r->str + r->len;
            while (p < e && !line) {
                const char *nl = memchr(p, '\n', (size_t)(e - p));
                const char *le = nl ? nl : e;
                /* the flags (third field) of the node's own line hold "myself" */
                const char *f = memchr(p, ' ', (size_t)(le - p));
                f = f ? memchr(f + 1, ' ', (size_t)(le - f - 1)) : NULL;
                if (f && (size_t)(le - f) > 7 && memcmp(f + 1, "myself", 6) == 0) line = p, end = le;
                p = nl ? nl + 1 : e;
            }
        }
        if (!line) {
            freeReplyObject(r);
            return mf__err(err, MF_ESTORE, "%s %s: unexpected reply to CLUSTER NODES", s->kind,
                           s->nodes[m[i]].addr);
        }
        /* the id, then the fields from the ninth on (the slots) */
        const char *sp = memchr(line, ' ', (size_t)(end - line));
        mf__buf_put(out, line, sp ? (size_t)(sp - line) : (size_t)(end - line));
        const char *q = line;
        for (int field = 0; q && q < end && field < 8; field++) {
            q = memchr(q, ' ', (size_t)(end - q));
            if (q) q++;
        }
        if (q && q < end) {
            mf__buf_putc(out, ' ');
            mf__buf_put(out, q, (size_t)(end - q));
            if (memchr(q, '[', (size_t)(end - q))) *moving = true;
            /* "a-b" and "a" count; the marks ("[...]") do not */
            for (const char *t = q; t < end;) {
                char *after;
                unsigned long a = strtoul(t, &after, 10), b = a;
                if (after > t && *after == '-') b = strtoul(after + 1, &after, 10);
                if (after > t && *t != '[' && a <= b && b < NSLOTS) *owned += b - a + 1;
                const char *sp2 = memchr(t, ' ', (size_t)(end - t));
                t = sp2 ? sp2 + 1 : end;
            }
        }
        mf__buf_putc(out, '\n');
        freeReplyObject(r);
    }
    return MF_OK;
}

/* The masters known own only `owned` slots: some master is missing from
 * the slot map, or slots have no master; an error tried again as above. */
static int slots_unowned(redis_store *s, size_t owned, mf_error *err) {
    s->map_stale = true;
    s->retryable = true;
    return mf__err(err, MF_ESTORE, "%s: the masters of the slot map own %zu of the %d slots "
                   "(the map is out of date, or slots have no master): not every key of the "
                   "view can be reached, so nothing is said done", s->kind, owned, NSLOTS);
}

/* Slots moved, or are moving, while a view's fields are deleted: an error
 * that run_op tries again after asking for the slot map. */
static int slots_moved(redis_store *s, mf_error *err) {
    s->map_stale = true;
    s->retryable = true;
    return mf__err(err, MF_ESTORE, "%s: slots are being moved between the cluster's masters "
                   "(resharding): a key moving while the view's fields are deleted could keep "
                   "them, so nothing is said done; run it again once the move is over", s->kind);
}

static int op_drop(redis_store *s, void *ud, mf_error *err) {
    drop_ctx *x = ud;
    mf__buf pat;
    mf__buf_init(&pat);
    mf__buf_putc(&pat, '*');
    for (const char *p = x->project; *p; p++) {
        if (strchr("*?[]\\", *p)) mf__buf_putc(&pat, '\\');
        mf__buf_putc(&pat, *p);
    }
    size_t argc = 2 + x->nfields;
    x->argv = mf__xmalloc(argc * sizeof *x->argv);
    x->lens = mf__xmalloc(argc * sizeof *x->lens);
    x->argv[0] = "HDEL", x->lens[0] = 4;
    for (size_t k = 0; k < x->nfields; k++)
        x->argv[2 + k] = x->fields + x->foff[k], x->lens[2 + k] = x->foff[k + 1] - x->foff[k];
    size_t *m = mf__xmalloc((s->nnodes ? s->nnodes : 1) * sizeof *m);
    size_t nm = masters(s, m);
    int rc = MF_OK;
    /* SCAN sees each master at one moment: a key moving from a master not
     * yet scanned to one already scanned would be missed. So on a cluster
     * no slot may be moving, before or after, and the masters' slots must
     * be the same after the pass as before it. */
    mf__buf before, after;
    mf__buf_init(&before);
    mf__buf_init(&after);
    bool moving = false;
    size_t owned = NSLOTS;
    if (s->cluster) rc = slots_state(s, m, nm, &before, &moving, &owned, err);
    if (rc == MF_OK && moving) rc = slots_moved(s, err);
    if (rc == MF_OK && owned != NSLOTS) rc = slots_unowned(s, owned, err);
    for (size_t i = 0; i < nm && rc == MF_OK; i++) rc = drop_on(s, m[i], x, &pat, err);
    if (rc == MF_OK && s->cluster) {
        rc = slots_state(s, m, nm, &after, &moving, &owned, err);
        if (rc == MF_OK && (moving || after.len != before.len ||
                            memcmp(after.data, before.data, after.len) != 0))
            rc = slots_moved(s, err);
    }
    mf__buf_free(&before);
    mf__buf_free(&after);
    free(m);
    free(x->argv);
    free(x->lens);
    mf__buf_free(&pat);
    return rc;
}

static int rd_teardown(mf__online *base, const char *project, Mf__FeatureView *const *views,
                       size_t n, mf_error *err) {
    redis_store *s = (redis_store *)base;
    if (n == 0) return MF_OK;
    mf__buf fields;
    mf__buf_init(&fields);
    size_t cap = 0, nfields = 0, *foff = NULL;
    for (size_t v = 0; v < n; v++) {
        const Mf__FeatureViewSpec *spec = views[v]->spec;
        if (cap < nfields + spec->n_features + 3) {
            cap = (nfields + spec->n_features + 3) * 2;
            foff = mf__xrealloc(foff, cap * sizeof *foff);
        }
        for (size_t f = 0; f < spec->n_features; f++) {
            foff[nfields++] = fields.len;
            put_field(&fields, spec->name, spec->features[f]->name);
        }
        foff[nfields++] = fields.len;
        mf__buf_printf(&fields, "_ts:%s", spec->name);
        foff[nfields++] = fields.len;
        mf__buf_printf(&fields, "_created_ts:%s", spec->name);
    }
    foff[nfields] = fields.len;
    drop_ctx x = {project, fields.data, foff, nfields, NULL, NULL, NULL};
    int rc = run_op(s, op_drop, &x, err);
    free(foff);
    mf__buf_free(&fields);
    return rc;
}

static int rd_update(mf__online *base, const char *project, Mf__FeatureView *const *keep,
                     size_t n_keep, Mf__FeatureView *const *drop, size_t n_drop, mf_error *err) {
    /* Redis needs nothing created for the views to keep */
    MF__UNUSED(keep);
    MF__UNUSED(n_keep);
    return rd_teardown(base, project, drop, n_drop, err);
}

static void rd_close(mf__online *base) {
    redis_store *s = (redis_store *)base;
    if (!s) return;
    for (size_t i = 0; i < s->nnodes; i++) node_free(&s->nodes[i]);
    for (size_t i = 0; i < s->nseeds; i++) node_free(&s->seeds[i]);
    free(s->nodes);
    free(s->seeds);
    free(s->slot_node);
    arena_free(&s->mem);
    rpool_free(&s->replies);
    mf__buf_free(&s->enc);
    mf__buf_free(&s->tmp);
    mf__buf_free(&s->keys);
    mf__buf_free(&s->fmt);
    free(s->rep);
    free(s->argv);
    free(s->lens);
    free(s->grp);
    free(s->koff);
    free(s->pc);
    free(s->round_cmds);
    free(s->username);
    free(s->password);
    free(s);
}

/* PING the one server, or every master of the cluster. */
static int ping_op(redis_store *s, void *ud, mf_error *err) {
    MF__UNUSED(ud);
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    size_t *m = mf__xmalloc((s->nnodes ? s->nnodes : 1) * sizeof *m);
    size_t nm = masters(s, m);
    int rc = MF_OK;
    for (size_t i = 0; i < nm && rc == MF_OK; i++) {
        rc = rconnect(s, m[i], err);
        redisReply *r = rc == MF_OK ? command(s, m[i], 1, argv, lens, "PING", false, err) : NULL;
        if (!r) rc = MF_ESTORE;
        freeReplyObject(r);
    }
    free(m);
    return rc;
}

static int rd_ping(mf__online *base, mf_error *err) {
    return run_op((redis_store *)base, ping_op, NULL, err);
}

static const mf__online_vt redis_vt = {"redis", rd_update, rd_teardown, rd_write, rd_read,
                                       rd_read_many, rd_ping, rd_close, NULL};

void mf__redis_counts_get(const mf__online *o, mf__redis_counts *out) {
    memset(out, 0, sizeof *out);
    if (o && o->vt == &redis_vt) *out = ((const redis_store *)o)->counts;
}

/*---- Opening ---------------------------------------------------------------*/

static char *trim_dup(const char *p, size_t n) {
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    return mf__xstrndup(p, n);
}

/* The address part: "host", "host:port", "[v6]:port", "unix:/path". */
static int parse_addr(rnode *nd, const char *a, const mf__redis_opts *o, mf_error *err) {
    if (strncmp(a, "unix:", 5) == 0) {
        const char *path = a + 5;
        if (strncmp(path, "//", 2) == 0) path += 2;
        if (!*path)
            return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                              "online_store.connection_string: 'unix:' needs a socket path");
        nd->unix_path = mf__xstrdup(path);
        nd->addr = mf__xasprintf("unix:%s", path);
        return MF_OK;
    }
    const char *colon = NULL, *hs = a, *he;
    if (*a == '[') {
        const char *rb = strchr(a, ']');
        if (!rb || (rb[1] && rb[1] != ':'))
            return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                              "online_store.connection_string: bad address '%s'", a);
        hs = a + 1;
        he = rb;
        if (rb[1] == ':') colon = rb + 1;
    } else {
        colon = strrchr(a, ':');
        he = colon ? colon : a + strlen(a);
    }
    int64_t port = 6379;
    if (colon && (mf__parse_int64(colon + 1, strlen(colon + 1), &port) != 0 || port < 1 ||
                  port > 65535))
        return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                          "online_store.connection_string: bad port in '%s'", a);
    nd->host = he > hs ? mf__xstrndup(hs, (size_t)(he - hs)) : mf__xstrdup("localhost");
    nd->port = (int)port;
    nd->addr = mf__xasprintf(*a == '[' ? "[%s]:%d" : "%s:%d", nd->host, nd->port);
    return MF_OK;
}

static int parse_option(redis_store *s, const char *opt, const mf__redis_opts *o, mf_error *err) {
    const char *eq = strchr(opt, '=');
    if (!eq)
        return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                          "online_store.connection_string: expected key=value, got '%s' "
                          "(several addresses need online_store.redis_type: redis_cluster)",
                          opt);
    size_t kl = (size_t)(eq - opt);
    const char *v = eq + 1;
    if (kl == 2 && memcmp(opt, "db", 2) == 0) {
        int64_t db;
        if (mf__parse_int64(v, strlen(v), &db) != 0 || db < 0 || db > INT32_MAX)
            return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                              "online_store.connection_string: db must be a number >= 0, "
                              "got '%s'", v);
        s->db = (long)db;
    } else if (kl == 8 && memcmp(opt, "password", 8) == 0) {
        free(s->password);
        s->password = *v ? mf__xstrdup(v) : NULL;
    } else if (kl == 8 && memcmp(opt, "username", 8) == 0) {
        free(s->username);
        s->username = *v ? mf__xstrdup(v) : NULL;
    } else if (kl == 3 && memcmp(opt, "ssl", 3) == 0) {
        bool ssl;
        if (mf__parse_bool(v, strlen(v), &ssl) != 0)
            return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                              "online_store.connection_string: ssl must be true or false, "
                              "got '%s'", v);
        if (ssl)
            return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                              "online_store.connection_string: ssl=true is not supported by "
                              "this build (its hiredis has no TLS)");
    } else {
        return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                          "online_store.connection_string: unknown option '%.*s' (known: db, "
                          "password, username, ssl)", (int)kl, opt);
    }
    return MF_OK;
}

/* One server: an address first (or none: localhost:6379), then options. A
 * cluster: seed addresses and options in any order (none: localhost:6379). */
static int parse_conn(redis_store *s, const mf__redis_opts *o, mf_error *err) {
    const char *cs = o->connection_string ? o->connection_string : "localhost:6379";
    int rc = MF_OK;
    bool first = true;
    rnode *list = NULL;
    size_t n = 0;
    for (const char *p = cs; rc == MF_OK;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *part = trim_dup(p, len);
        bool is_addr = !strchr(part, '=') || strncmp(part, "unix:", 5) == 0;
        if ((first || s->cluster) && is_addr && (*part || first)) {
            list = mf__xrealloc(list, (n + 1) * sizeof *list);
            memset(&list[n], 0, sizeof *list);
            rc = parse_addr(&list[n++], *part ? part : "localhost:6379", o, err);
        } else if (*part) {
            rc = parse_option(s, part, o, err);
        }
        first = false;
        free(part);
        if (!comma) break;
        p = comma + 1;
    }
    if (rc == MF_OK && n == 0) {
        list = mf__xrealloc(list, sizeof *list);
        memset(list, 0, sizeof *list);
        rc = parse_addr(&list[n++], "localhost:6379", o, err);
    }
    if (rc == MF_OK && s->username && !s->password)
        rc = mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                        "online_store.connection_string: username needs a password");
    for (size_t i = 0; i < n && rc == MF_OK && s->cluster; i++)
        if (list[i].unix_path)
            rc = mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                            "online_store.connection_string: '%s': a Redis Cluster is reached "
                            "over TCP (host:port), not a unix socket", list[i].addr);
    if (rc == MF_OK && s->cluster && s->db)
        rc = mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                        "online_store.connection_string: db=%ld: a Redis Cluster has only "
                        "database 0", s->db);
    if (s->cluster) {
        s->seeds = list;
        s->nseeds = n;
    } else {
        s->nodes = list;
        s->nnodes = s->ncap = n;
    }
    return rc;
}

int mf__online_redis_open(const mf__redis_opts *o, mf__online **out, mf_error *err) {
    redis_store *s = mf__xcalloc(1, sizeof *s);
    s->base.vt = &redis_vt;
    s->key_ttl = o->key_ttl_seconds > 0 ? o->key_ttl_seconds : 0;
    s->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 1000;
    s->command_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms : 1000;
    s->pba.alloc = arena_alloc;
    s->pba.free = arena_nofree;
    s->pba.allocator_data = &s->mem;
    mf__buf_init(&s->enc);
    mf__buf_init(&s->tmp);
    mf__buf_init(&s->keys);
    mf__buf_init(&s->fmt);
    int rc = MF_OK;
    if (o->redis_type && strcmp(o->redis_type, "redis_cluster") == 0)
        s->cluster = true;
    else if (o->redis_type && strcmp(o->redis_type, "redis") != 0)
        rc = mf__err_at(err, MF_ECONFIG, o->config_path, 0, "online_store.redis_type: expected "
                        "redis or redis_cluster, got '%s'", o->redis_type);
    s->kind = s->cluster ? "Redis Cluster node" : "Redis at";
    s->probe = true;
    if (rc == MF_OK) rc = parse_conn(s, o, err);
    if (rc == MF_OK && s->cluster) {
        s->slot_node = mf__xmalloc(NSLOTS * sizeof *s->slot_node);
        for (size_t i = 0; i < NSLOTS; i++) s->slot_node[i] = NO_NODE;
        s->map_stale = true;
    }
    if (rc) {
        rd_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return MF_OK;
}
