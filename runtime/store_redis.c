/*
 * store_redis.c — the Redis online store, in Feast's own layout.
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
 * Values: a null is an empty Value (no field set); UnixTimestamp values are
 * int64 seconds (moonfeast keeps microseconds: sub-second digits are floored
 * away); list cells, which moonfeast keeps as JSON text ("[1,2]",
 * "[\"a\"]"), are read by the JSON list codec (json.c) into the list
 * Values and written back by it, in its canonical text. A stored Value of
 * another type than the feature's dtype (the view changed, or another
 * writer) reads as null, and so does one that does not parse. What another
 * writer can store but moonfeast cannot take is an error naming the view,
 * the feature and the value, never a wrong answer: a "_ts:view" Timestamp
 * or a UnixTimestamp (also in a list) outside years 1 to 9999 (seconds
 * times a million would overflow), Timestamp nanos outside 0..999999999, a
 * String that is not UTF-8 text, a String list element that is not UTF-8
 * text without NUL, a Bytes list element that is not UTF-8 (a list cell is
 * JSON text). A NUL in a String read is kept (JSON escapes it); writes
 * refuse Strings that are not UTF-8 text without NUL.
 *
 * Writes: one pipeline per batch, one EVALSHA of write_script per entity.
 * The script compares the stored "_ts:view" with the new one and writes
 * (HSET, EXPIRE) only when the new event time is newer, or equal with a
 * created time at least the stored one, so the check and the write are
 * atomic (docs/concepts.md, "Materialization", on every store). Feast's layout has no
 * created timestamp: moonfeast adds one field beside it, "_created_ts:view"
 * (decimal microseconds), which Feast never reads; a hash without it (one
 * Feast wrote) counts as created at the smallest time. The script is loaded once (SCRIPT LOAD, its SHA1 kept across
 * reconnections) and loaded again, and the rows that got the answer
 * re-sent, when the server answers NOSCRIPT (restart, SCRIPT FLUSH).
 *
 * Reads: one pipelined round trip per mf__read_batch: an HMGET of the
 * requested feature fields and "_ts:view" per key. A key is found when its
 * "_ts:view" exists; the event time comes from it.
 *
 * update/teardown: Redis needs nothing created. The views to drop lose
 * their fields (feature hashes and "_ts:view") in every key of the project
 * (SCAN, keeping keys that are a v3 entity key followed by exactly the
 * project name); Redis deletes a hash whose last field goes. Fields of
 * other views stay. Fields of features that an earlier apply removed from
 * a view cannot be told apart and are left (Feast does the same).
 *
 * Failures: connect and command timeouts from the configuration bound every
 * call; a failed call names the address and the cause and drops the
 * connection, and the next call reconnects. A call that finds its idle
 * connection dead (server restarted) reconnects and retries once, since
 * every operation here is idempotent. SIGPIPE is blocked in the calling
 * thread while a call talks to Redis, so a closed socket is an error, not
 * the end of the process. The connection string follows Feast:
 * "host:port,db=N,password=...,ssl=false" or "unix:/path/redis.sock,db=N".
 *
 * Relies on hiredis (0.14 API: blocking context, redisAppendCommandArgv,
 * redisGetReply) and protobuf-c (feast_value.pb-c.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

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

/*---- Store -----------------------------------------------------------------*/

typedef struct redis_store {
    mf__online base;
    char *addr;      /* "host:port" or "unix:/path", for messages */
    char *host;      /* TCP host, or NULL with unix_path */
    int port;
    char *unix_path;
    long db;
    char *username, *password; /* NULL when not given */
    int64_t key_ttl;           /* seconds, 0 = none */
    int64_t connect_ms, command_ms;
    redisContext *c;   /* NULL until connected / after a failure */
    char sha[41];      /* write_script's SHA1 once loaded, else "" */
    bool io_failed;    /* the last operation lost the connection */
    bool retryable;    /* ... and not by a timeout */
    arena mem;         /* protobuf messages of the current call */
    ProtobufCAllocator pba;
    mf__buf enc;       /* encoded keys and values of the current call */
    mf__buf tmp;       /* small scratch (JSON lists, text) */
    /* reads: kept across calls, so that a call allocates nothing large
     * (a large malloc right after freeing thousands of reply objects makes
     * glibc consolidate its free lists, a cost per call) */
    redisReply **rep;
    size_t rep_cap;
    const char **argv;
    size_t *lens;
    size_t argv_cap;
    size_t *grp;       /* per batch: its group; then per group: first batch */
    size_t grp_cap;
} redis_store;

/* Atomic newer-or-equal writes of a batch of entities (one EVALSHA for up
 * to keys_per_call() keys: one round trip of the script per batch, not per key).
 * KEYS = the entity keys. ARGV[1] = ttl seconds (0 = none); ARGV[2] = F,
 * the number of hash fields written per key; ARGV[3] = "1" when KEYS holds
 * no key twice, else "0"; ARGV[4 .. 3+F] = the field names: "_ts:view",
 * "_created_ts:view", then every feature's; then for key k (1-based) at
 * o = 3 + F * k, its values ARGV[o+1 .. o+F] in that order (the new Timestamp bytes, the new created time in decimal
 * microseconds, the Value bytes). The field names are sent once per call,
 * not once per key: fewer arguments for the server to parse and copy.
 * A key is written (one HSET of every field) when its stored "_ts:view" is
 * older, or equal with a stored created time not greater than the new one.
 * When none of the keys existed before the call (one EXISTS for a call of
 * several keys: a first load), only a key's second and later rows in the
 * call need that check: none when the keys are distinct. Returns the number of keys written. Timestamp
 * seconds are decoded as (high, low 28 bits) so that every int64 compares
 * exactly in Lua's doubles. */
static const char write_script[] =
    "local function ts(b)\n"
    "  local hi, lo, ns, i, n = 0, 0, 0, 1, #b\n"
    "  while i <= n do\n"
    "    local tag = string.byte(b, i)\n"
    "    i = i + 1\n"
    "    if tag >= 128 or tag % 8 ~= 0 then return nil end\n"
    "    local vh, vl, sh, c = 0, 0, 0, 128\n"
    "    while c >= 128 do\n"
    "      c = string.byte(b, i)\n"
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
    "local ttl, F, distinct = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'\n"
    "local call, n, args = redis.call, 2 * F, {}\n"
    "for i = 1, F do args[2 * i - 1] = ARGV[3 + i] end\n"
    "local function put(k)\n"
    "  local key, o = KEYS[k], 3 + F * k\n"
    "  for i = 1, F do args[2 * i] = ARGV[o + i] end\n"
    "  if n <= 7000 then\n"
    "    call('HSET', key, unpack(args, 1, n))\n"
    "  else\n"
    "    local i = 1\n"
    "    while i <= n do\n"
    "      local j = math.min(i + 6999, n)\n"
    "      call('HSET', key, unpack(args, i, j))\n"
    "      i = j + 1\n"
    "    end\n"
    "  end\n"
    "  if ttl > 0 then call('EXPIRE', key, ttl) end\n"
    "end\n"
    "local fresh = #KEYS > 1 and call('EXISTS', unpack(KEYS)) == 0\n"
    "if fresh and distinct then\n"
    "  for k = 1, #KEYS do put(k) end\n"
    "  return #KEYS\n"
    "end\n"
    "local seen, written = {}, 0\n"
    "for k = 1, #KEYS do\n"
    "  local key, o = KEYS[k], 3 + F * k\n"
    "  local write = true\n"
    "  local old = (not fresh or seen[key]) and call('HGET', key, ARGV[4])\n"
    "  if old then\n"
    "    local oh, ol, on = ts(old)\n"
    "    local nh, nl, nn = ts(ARGV[o + 1])\n"
    "    if oh and nh then\n"
    "      if nh < oh or (nh == oh and (nl < ol or (nl == ol and nn < on))) then\n"
    "        write = false\n"
    "      elseif nh == oh and nl == ol and nn == on then\n"
    "        local oc = tonumber(call('HGET', key, ARGV[5]) or '')\n"
    "        if oc and tonumber(ARGV[o + 2]) < oc then write = false end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if write then\n"
    "    put(k)\n"
    "    written = written + 1\n"
    "  end\n"
    "  if fresh then seen[key] = true end\n"
    "end\n"
    "return written\n";

/*---- SIGPIPE ---------------------------------------------------------------*/

/* hiredis writes with write(2): a peer that closed the socket would raise
 * SIGPIPE and end the process. While a call talks to Redis the signal is
 * blocked in this thread; one raised meanwhile is consumed before the
 * thread's mask is restored. */
typedef struct pipe_guard {
    sigset_t old;
    bool was_pending;
} pipe_guard;

static void pipe_guard_on(pipe_guard *g) {
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigemptyset(&pend);
    sigpending(&pend);
    g->was_pending = sigismember(&pend, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void pipe_guard_off(pipe_guard *g) {
    if (!g->was_pending) {
        sigset_t set, pend;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigemptyset(&pend);
        sigpending(&pend);
        if (sigismember(&pend, SIGPIPE) == 1) {
            struct timespec zero = {0, 0};
            sigtimedwait(&set, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/*---- Connection ------------------------------------------------------------*/

static struct timeval ms_tv(int64_t ms) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static void drop_conn(redis_store *s) {
    redisFree(s->c); /* NULL is fine */
    s->c = NULL;
}

/* The connection failed while doing `what`: set err (address and cause),
 * drop the connection so that the next call reconnects. Returns MF_ESTORE. */
static int conn_fail(redis_store *s, const char *what, mf_error *err) {
    const char *why = s->c && s->c->errstr[0] ? s->c->errstr : "connection lost";
    bool timeout = s->c && s->c->err == REDIS_ERR_IO &&
                   (strstr(why, "temporarily unavailable") || strstr(why, "timed out"));
    int rc;
    if (timeout)
        rc = mf__err(err, MF_ESTORE, "Redis at %s: %s: no reply within %lld ms "
                     "(online_store.command_timeout_ms)", s->addr, what,
                     (long long)s->command_ms);
    else
        rc = mf__err(err, MF_ESTORE, "Redis at %s: %s: %s", s->addr, what, why);
    s->io_failed = true;
    s->retryable = !timeout;
    drop_conn(s);
    return rc;
}

/* Run one command and return its reply (caller frees with
 * freeReplyObject), or NULL with err set. An error reply is an error
 * naming `what`; the connection stays unless drop_on_error. */
static redisReply *command(redis_store *s, int argc, const char **argv, const size_t *lens,
                           const char *what, bool drop_on_error, mf_error *err) {
    redisReply *r = redisCommandArgv(s->c, argc, argv, lens);
    if (!r) {
        conn_fail(s, what, err);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        mf__err(err, MF_ESTORE, "Redis at %s: %s: %.*s", s->addr, what, (int)r->len, r->str);
        freeReplyObject(r);
        if (drop_on_error) drop_conn(s);
        return NULL;
    }
    return r;
}

/* Connect (when not connected), set the command timeout, AUTH, SELECT. */
static int rconnect(redis_store *s, mf_error *err) {
    if (s->c) return MF_OK;
    struct timeval tv = ms_tv(s->connect_ms);
    redisContext *c = s->unix_path ? redisConnectUnixWithTimeout(s->unix_path, tv)
                                   : redisConnectWithTimeout(s->host, s->port, tv);
    if (!c || c->err) {
        const char *why = c ? c->errstr : "out of memory";
        int rc;
        if (c && strstr(why, "timed out"))
            rc = mf__err(err, MF_ESTORE, "cannot connect to Redis at %s: no answer within "
                         "%lld ms (online_store.connect_timeout_ms)", s->addr,
                         (long long)s->connect_ms);
        else
            rc = mf__err(err, MF_ESTORE, "cannot connect to Redis at %s: %s", s->addr, why);
        redisFree(c);
        return rc;
    }
    s->c = c;
    if (redisSetTimeout(c, ms_tv(s->command_ms)) != REDIS_OK)
        return conn_fail(s, "setting the command timeout", err);
    redisReply *r;
    if (s->password) {
        const char *argv[3] = {"AUTH", s->username ? s->username : s->password, s->password};
        size_t lens[3] = {4, strlen(argv[1]), strlen(s->password)};
        r = command(s, s->username ? 3 : 2, argv, lens, "AUTH", true, err);
        if (!r) return MF_ESTORE;
        freeReplyObject(r);
    }
    if (s->db) {
        char db[24];
        snprintf(db, sizeof db, "%ld", s->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        r = command(s, 2, argv, lens, "SELECT", true, err);
        if (!r) return MF_ESTORE;
        freeReplyObject(r);
    }
    return MF_OK;
}

/* Load write_script when this connection's server may not have it. */
static int ensure_script(redis_store *s, mf_error *err) {
    if (s->sha[0]) return MF_OK;
    const char *argv[3] = {"SCRIPT", "LOAD", write_script};
    size_t lens[3] = {6, 4, sizeof write_script - 1};
    redisReply *r = command(s, 3, argv, lens, "loading the write script", false, err);
    if (!r) return MF_ESTORE;
    int rc = MF_OK;
    if (r->type != REDIS_REPLY_STRING || r->len != 40)
        rc = mf__err(err, MF_ESTORE, "Redis at %s: SCRIPT LOAD gave no SHA1", s->addr);
    else
        memcpy(s->sha, r->str, 41);
    freeReplyObject(r);
    return rc;
}

typedef int (*redis_op)(redis_store *s, void *ud, mf_error *err);

/* Run op with a connection, SIGPIPE blocked. When op lost a connection
 * that was already open before this call (an idle connection to a server
 * that restarted or closed it), reconnect and run it once more; a timeout
 * is not retried. */
/* Write what hiredis has buffered for the server (blocking). */
static int send_buffered(redisContext *c) {
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) return -1;
    return 0;
}

static int run_op(redis_store *s, redis_op op, void *ud, mf_error *err) {
    pipe_guard g;
    pipe_guard_on(&g);
    int rc;
    for (int attempt = 0;; attempt++) {
        bool reused = s->c != NULL;
        s->io_failed = false;
        rc = rconnect(s, err);
        if (rc == MF_OK) rc = op(s, ud, err);
        if (rc == MF_OK || !s->io_failed || !s->retryable || !reused || attempt > 0) break;
        mf__log(2, "Redis at %s: connection lost, reconnecting", s->addr);
    }
    pipe_guard_off(&g);
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
    char **sv = NULL;
    ProtobufCBinaryData *bv = NULL;
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
            if (sv) sv[i] = z;
            else bv[i].data = (uint8_t *)z, bv[i].len = e.len;
        } else if (i32) {
            i32[i] = (int32_t)e.i;
        } else if (i64) { /* UnixTimestamp: whole seconds, as Feast keeps them */
            i64[i] = t == MF__VALUE_TYPE__VT_INT64_LIST ? e.i : floor_div(e.i, 1000000);
        } else if (f64) {
            f64[i] = e.d;
        } else if (f32) {
            f32[i] = (float)e.d;
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
            e.s = v->string_list_val->val[i];
            e.len = strlen(e.s);
            if (mf__utf8_check(e.s, e.len, false) != e.len) {
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
            char *z = arena_alloc(&s->mem, n + 1);
            if (n) memcpy(z, p, n);
            z[n] = 0;
            v.val_case = FEAST__VALUE__VAL_STRING_VAL;
            v.string_val = z;
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
 * is empty, does not parse, or holds another type than c's. Returns 0, or
 * -1 with a reason in why for a value moonfeast cannot take (another
 * writer's): a String that is not UTF-8 text, a timestamp out of range, a
 * list that a list cell cannot hold. */
static int push_value(redis_store *s, mf__col *c, const char *p, size_t len, char *why) {
    int fast = len ? push_scalar_fast(c, p, len, why) : 0;
    if (fast) return fast > 0 ? 0 : -1;
    Feast__Value *v = len ? feast__value__unpack(&s->pba, len, (const uint8_t *)p) : NULL;
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
        return push_string(c, v->string_val, strlen(v->string_val), why);
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

/* Every batch (one per feature view) in ONE pipeline: the HMGETs of every
 * row are sent (one per row and group of batches with the same keys, with
 * the fields of all of them), then all replies read, so a request costs
 * one round trip however many views and entities it names. Columns are
 * filled only once every reply is in and well formed. */
static int op_read(redis_store *s, void *ud, mf_error *err) {
    read_ctx *x = ud;
    size_t plen = strlen(x->project), nb = x->nb;
    /* groups: grp[b] = the group of batch b; lead[g] = its first batch */
    if (grow_array(&s->grp, &s->grp_cap, 2 * nb + 1, sizeof *s->grp) != 0)
        return mf__err_nomem(err, "reading %zu feature views from Redis", nb);
    size_t *grp = s->grp, *lead = s->grp + nb, ng = 0;
    for (size_t bi = 0; bi < nb; bi++) {
        size_t g = 0;
        while (g < ng && !same_keys(&x->rbs[lead[g]], &x->rbs[bi])) g++;
        if (g == ng) lead[ng++] = bi;
        grp[bi] = g;
    }
    size_t total = 0, maxargc = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t argc = 2;
        for (size_t bi = 0; bi < nb; bi++)
            if (grp[bi] == g) argc += x->rbs[bi].nfeat + 1;
        if (argc > maxargc) maxargc = argc;
        total += x->rbs[lead[g]].n;
    }
    if (maxargc + 1 > s->argv_cap) { /* lens holds one more: see below */
        size_t cap = s->argv_cap;
        if (grow_array(&s->argv, &cap, maxargc + 1, sizeof *s->argv) != 0 ||
            grow_array(&s->lens, &s->argv_cap, maxargc + 1, sizeof *s->lens) != 0)
            return mf__err_nomem(err, "reading %zu features from Redis", maxargc);
    }
    if (total + 1 == 0 || grow_array(&s->rep, &s->rep_cap, total + 1, sizeof *s->rep) != 0)
        return mf__err_nomem(err, "reading %zu entity rows from Redis", total);
    const char **argv = s->argv;
    size_t *lens = s->lens;
    redisReply **rep = s->rep;
    memset(rep, 0, total * sizeof *rep);
    mf__buf *f = &s->enc;
    mf__buf *key = &s->tmp;
    int rc = MF_OK;
    char what[300];
    snprintf(what, sizeof what, "reading feature view '%s'", nb ? x->rbs[0].view->name : "");
    for (size_t g = 0; g < ng && rc == MF_OK; g++) {
        /* field names of the group's batches: each batch's hashes, then
         * its "_ts:view"; lens[a] holds where name a starts until f is
         * complete (it may move while it grows) */
        f->len = 0;
        size_t argc = 2;
        for (size_t bi = 0; bi < nb; bi++) {
            if (grp[bi] != g) continue;
            const mf__read_batch *rb = &x->rbs[bi];
            for (size_t k = 0; k < rb->nfeat; k++) {
                lens[argc++] = f->len;
                put_field(f, rb->view->name, rb->view->features[rb->feat_idx[k]]->name);
            }
            lens[argc++] = f->len;
            mf__buf_printf(f, "_ts:%s", rb->view->name);
        }
        lens[argc] = f->len;
        for (size_t a = 2; a < argc; a++) argv[a] = f->data + lens[a], lens[a] = lens[a + 1] - lens[a];
        argv[0] = "HMGET";
        lens[0] = 5;
        const mf__read_batch *rb = &x->rbs[lead[g]];
        for (size_t i = 0; i < rb->n && rc == MF_OK; i++) {
            key->len = 0;
            put_key(key, rb->keys[i], rb->key_lens[i], x->project, plen);
            argv[1] = key->data;
            lens[1] = key->len;
            if (redisAppendCommandArgv(s->c, (int)argc, argv, lens) != REDIS_OK)
                rc = conn_fail(s, what, err);
        }
    }
    for (size_t i = 0; i < total && rc == MF_OK; i++)
        if (redisGetReply(s->c, (void **)&rep[i]) != REDIS_OK) rc = conn_fail(s, what, err);
    /* replies: group by group, a row at a time */
    size_t at = 0;
    for (size_t g = 0; g < ng && rc == MF_OK; g++) {
        size_t want = 0;
        for (size_t bi = 0; bi < nb; bi++)
            if (grp[bi] == g) want += x->rbs[bi].nfeat + 1;
        const mf__read_batch *lb = &x->rbs[lead[g]];
        for (size_t i = 0; i < lb->n && rc == MF_OK; i++, at++) {
            redisReply *r = rep[at];
            if (r->type == REDIS_REPLY_ERROR)
                rc = mf__err(err, MF_ESTORE, "Redis at %s: reading feature view '%s': %.*s",
                             s->addr, lb->view->name, (int)r->len, r->str);
            else if (r->type != REDIS_REPLY_ARRAY || r->elements != want)
                rc = mf__err(err, MF_ESTORE, "Redis at %s: reading feature view '%s': "
                             "unexpected reply to HMGET", s->addr, lb->view->name);
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
                int64_t us = 0;
                char why[MF__JSON_WHYLEN];
                bool found = ts->type == REDIS_REPLY_STRING;
                if (found && get_timestamp(s, ts->str, ts->len, &us, why) != 0) {
                    rc = mf__err(err, MF_ESTORE, "Redis at %s: feature view '%s', entity row "
                                 "%zu: %s", s->addr, rb->view->name, i + 1, why);
                    break;
                }
                rb->found[i] = found;
                rb->event_ts[i] = found ? us : 0;
                for (size_t k = 0; k < nf && rc == MF_OK; k++) {
                    redisReply *e = r->element[off + k];
                    if (!found || e->type != REDIS_REPLY_STRING) mf__col_push_null(rb->out[k]);
                    else if (push_value(s, rb->out[k], e->str, e->len, why) != 0)
                        rc = mf__err(err, MF_ESTORE, "Redis at %s: feature view '%s', feature "
                                     "'%s', entity row %zu: %s", s->addr, rb->view->name,
                                     rb->view->features[rb->feat_idx[k]]->name, i + 1, why);
                }
            }
            off += nf + 1;
        }
        first += x->rbs[lead[g]].n;
    }
    for (size_t i = 0; i < total; i++) freeReplyObject(rep[i]); /* NULL is fine */
    return rc;
}

static int rd_read_many(mf__online *base, const char *project, mf__read_batch *rbs, size_t nb,
                        mf_error *err) {
    redis_store *s = (redis_store *)base;
    size_t total = 0;
    for (size_t i = 0; i < nb; i++) total += rbs[i].n;
    if (total == 0) return MF_OK;
    read_ctx x = {project, rbs, nb};
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
    size_t *pending;
    size_t slots[128]; /* keys_distinct's set, for up to 64 keys */
    size_t nslots;
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
        mf__buf_printf(e, "%lld", (long long)(b->created_ts ? b->created_ts[i] : 0));
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
    size_t *slot = x->slots;
    if (cap > x->nslots) slot = mf__xmalloc(cap * sizeof *slot);
    memset(slot, 0, cap * sizeof *slot);
    bool distinct = true;
    for (size_t r = from; r < to && distinct; r++) {
        const char *k = s->enc.data + x->off[r * stride];
        size_t len = x->off[r * stride + 1] - x->off[r * stride];
        size_t h = mf__murmur3_32(k, len, 0) & (cap - 1);
        for (; slot[h]; h = (h + 1) & (cap - 1)) {
            const size_t *o = x->off + (slot[h] - 1) * stride;
            if (o[1] - o[0] == len && memcmp(s->enc.data + o[0], k, len) == 0) {
                distinct = false;
                break;
            }
        }
        slot[h] = r + 1;
    }
    if (slot != x->slots) free(slot);
    return distinct;
}

/* Keys per EVALSHA: a few dozen, fewer for very wide views (so that one
 * call stays well under the server's argument limits). */
static size_t keys_per_call(size_t nf) {
    size_t k = 60000 / (nf + 3);
    return k < 1 ? 1 : k > 64 ? 64 : k;
}

static int op_write(redis_store *s, void *ud, mf_error *err) {
    write_ctx *x = ud;
    const mf__write_batch *b = x->b;
    size_t nf = b->view->n_features, stride = nf + 3, per = keys_per_call(nf);
    size_t nchunks = (b->n + per - 1) / per;
    size_t maxargc = 3 + per + 3 + (nf + 2) * (per + 1);
    int rc = ensure_script(s, err);
    if (rc) return rc;
    char ttl[24], nfields[24], what[300];
    snprintf(ttl, sizeof ttl, "%lld", (long long)s->key_ttl);
    snprintf(nfields, sizeof nfields, "%zu", nf + 2);
    snprintf(what, sizeof what, "writing feature view '%s'", b->view->name);
    const char **argv = mf__xmalloc(maxargc * sizeof *argv);
    size_t *lens = mf__xmalloc(maxargc * sizeof *lens);
    char nkeys[24];
    size_t npending = nchunks;
    for (size_t i = 0; i < npending; i++) x->pending[i] = i;
    for (int round = 0; npending && rc == MF_OK; round++) {
        if (round == 2) {
            rc = mf__err(err, MF_ESTORE, "Redis at %s: %s: the server keeps losing the write "
                         "script (NOSCRIPT)", s->addr, what);
            break;
        }
        for (size_t c = 0; c < npending && rc == MF_OK; c++) {
            size_t from = x->pending[c] * per, to = from + per < b->n ? from + per : b->n;
            size_t m = to - from, a = 0;
            rc = encode_rows(s, x, to, err);
            if (rc) { /* the replies of the calls sent are not read */
                drop_conn(s);
                break;
            }
            snprintf(nkeys, sizeof nkeys, "%zu", m);
            argv[a] = "EVALSHA", lens[a++] = 7;
            argv[a] = s->sha, lens[a++] = 40;
            argv[a] = nkeys, lens[a++] = strlen(nkeys);
            for (size_t r = from; r < to; r++) {
                const size_t *o = x->off + r * stride;
                argv[a] = s->enc.data + o[0], lens[a++] = o[1] - o[0];
            }
            argv[a] = ttl, lens[a++] = strlen(ttl);
            argv[a] = nfields, lens[a++] = strlen(nfields);
            argv[a] = keys_distinct(s, x, from, to) ? "1" : "0", lens[a++] = 1;
            argv[a] = x->fields + 4 * nf, lens[a++] = x->ts_field_len;
            argv[a] = x->fields + 4 * nf + x->ts_field_len;
            lens[a++] = x->fields_len - 4 * nf - x->ts_field_len;
            for (size_t f = 0; f < nf; f++) argv[a] = x->fields + 4 * f, lens[a++] = 4;
            for (size_t r = from; r < to; r++) {
                const size_t *o = x->off + r * stride;
                for (size_t v = 1; v < stride; v++)
                    argv[a] = s->enc.data + o[v], lens[a++] = o[v + 1] - o[v];
            }
            /* sent at once, so that the server runs this call while the
             * next one is formatted */
            if (redisAppendCommandArgv(s->c, (int)a, argv, lens) != REDIS_OK ||
                send_buffered(s->c) != 0)
                rc = conn_fail(s, what, err);
        }
        size_t again = 0;
        for (size_t c = 0; c < npending && rc == MF_OK; c++) {
            redisReply *r;
            if (redisGetReply(s->c, (void **)&r) != REDIS_OK) {
                rc = conn_fail(s, what, err);
                break;
            }
            if (r->type == REDIS_REPLY_ERROR) {
                if (r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0)
                    x->pending[again++] = x->pending[c];
                else if (rc == MF_OK)
                    rc = mf__err(err, MF_ESTORE, "Redis at %s: %s: %.*s", s->addr, what,
                                 (int)r->len, r->str);
            }
            freeReplyObject(r);
        }
        /* an error reply above stops here, with every reply read */
        if (rc != MF_OK && s->c) break;
        npending = again;
        if (npending && rc == MF_OK) {
            s->sha[0] = 0;
            rc = ensure_script(s, err);
        }
    }
    free(argv);
    free(lens);
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
    /* offsets of every row's values, and the rows waiting for their reply:
     * the batch's size, which the caller chose */
    size_t noff;
    size_t *off = NULL, *pending = NULL;
    if (mf__size_mul(b->n, nf + 3, &noff) && mf__size_add(noff, 1, &noff) &&
        (off = mf__try_realloc_array(NULL, noff, sizeof *off)) != NULL)
        pending = mf__try_realloc_array(NULL, b->n, sizeof *pending);
    if (!pending) {
        free(off);
        mf__buf_free(&fields);
        return mf__err_nomem(err, "writing %zu rows of feature view '%s' to Redis", b->n,
                             view->name);
    }
    write_ctx x = {b, project, strlen(project), 0, off, fields.data, fields.len, ts_field_len,
                   pending, {0}, 128};
    /* A bad cell must write nothing: String cells are checked first (a
     * quick pass); when a list cell can be bad, everything is encoded
     * before talking to Redis; otherwise each call is encoded just before
     * it is sent, while the server runs the previous one. */
    bool may_fail = false;
    for (size_t f = 0; f < nf; f++)
        if (b->feat[f].sc == MF__SC_TEXT && !b->feat[f].raw && b->feat[f].type != MF__VALUE_TYPE__VT_BYTES &&
            b->feat[f].type != MF__VALUE_TYPE__VT_STRING)
            may_fail = true;
    int rc = check_strings(b, err);
    if (rc == MF_OK && may_fail) rc = encode_rows(s, &x, b->n, err);
    if (rc == MF_OK) rc = run_op(s, op_write, &x, err);
    else arena_reset(&s->mem);
    free(x.off);
    free(x.pending);
    mf__buf_free(&fields);
    return rc;
}

/*---- Dropping views --------------------------------------------------------*/

typedef struct drop_ctx {
    const char *project;
    const char *fields; /* every field of the dropped views */
    const size_t *foff; /* nfields + 1 offsets */
    size_t nfields;
} drop_ctx;

static int op_drop(redis_store *s, void *ud, mf_error *err) {
    drop_ctx *x = ud;
    size_t plen = strlen(x->project);
    mf__buf pat;
    mf__buf_init(&pat);
    mf__buf_putc(&pat, '*');
    for (const char *p = x->project; *p; p++) {
        if (strchr("*?[]\\", *p)) mf__buf_putc(&pat, '\\');
        mf__buf_putc(&pat, *p);
    }
    size_t argc = 2 + x->nfields;
    const char **argv = mf__xmalloc(argc * sizeof *argv);
    size_t *lens = mf__xmalloc(argc * sizeof *lens);
    argv[0] = "HDEL", lens[0] = 4;
    for (size_t k = 0; k < x->nfields; k++)
        argv[2 + k] = x->fields + x->foff[k], lens[2 + k] = x->foff[k + 1] - x->foff[k];
    char cursor[32] = "0";
    int rc = MF_OK;
    do {
        const char *sargv[6] = {"SCAN", cursor, "MATCH", pat.data, "COUNT", "1000"};
        size_t slens[6] = {4, strlen(cursor), 5, pat.len, 5, 4};
        redisReply *r = command(s, 6, sargv, slens, "scanning the project's keys", false, err);
        if (!r) {
            rc = MF_ESTORE;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof cursor ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            rc = mf__err(err, MF_ESTORE, "Redis at %s: unexpected reply to SCAN", s->addr);
            freeReplyObject(r);
            break;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = 0;
        size_t sent = 0;
        for (size_t i = 0; i < r->element[1]->elements && rc == MF_OK; i++) {
            redisReply *k = r->element[1]->element[i];
            if (k->type != REDIS_REPLY_STRING ||
                !key_of_project((const unsigned char *)k->str, k->len, x->project, plen))
                continue;
            argv[1] = k->str, lens[1] = k->len;
            if (redisAppendCommandArgv(s->c, (int)argc, argv, lens) != REDIS_OK)
                rc = conn_fail(s, "deleting feature view fields", err);
            sent++;
        }
        freeReplyObject(r);
        for (size_t i = 0; i < sent && rc == MF_OK; i++) {
            redisReply *d;
            if (redisGetReply(s->c, (void **)&d) != REDIS_OK) {
                rc = conn_fail(s, "deleting feature view fields", err);
                break;
            }
            if (d->type == REDIS_REPLY_ERROR && rc == MF_OK)
                rc = mf__err(err, MF_ESTORE, "Redis at %s: deleting feature view fields: %.*s",
                             s->addr, (int)d->len, d->str);
            freeReplyObject(d);
        }
    } while (rc == MF_OK && strcmp(cursor, "0") != 0);
    free(argv);
    free(lens);
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
    drop_ctx x = {project, fields.data, foff, nfields};
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
    drop_conn(s);
    arena_free(&s->mem);
    mf__buf_free(&s->enc);
    mf__buf_free(&s->tmp);
    free(s->rep);
    free(s->argv);
    free(s->lens);
    free(s->grp);
    free(s->addr);
    free(s->host);
    free(s->unix_path);
    free(s->username);
    free(s->password);
    free(s);
}

static int ping_op(redis_store *s, void *ud, mf_error *err) {
    MF__UNUSED(ud);
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    redisReply *r = command(s, 1, argv, lens, "PING", false, err);
    if (!r) return MF_ESTORE;
    freeReplyObject(r);
    return MF_OK;
}

static int rd_ping(mf__online *base, mf_error *err) {
    return run_op((redis_store *)base, ping_op, NULL, err);
}

static const mf__online_vt redis_vt = {"redis", rd_update, rd_teardown, rd_write, rd_read,
                                       rd_read_many, rd_ping, rd_close};

/*---- Opening ---------------------------------------------------------------*/

static char *trim_dup(const char *p, size_t n) {
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    return mf__xstrndup(p, n);
}

/* The address part: "host", "host:port", "[v6]:port", "unix:/path". */
static int parse_addr(redis_store *s, const char *a, const mf__redis_opts *o, mf_error *err) {
    if (strncmp(a, "unix:", 5) == 0) {
        const char *path = a + 5;
        if (strncmp(path, "//", 2) == 0) path += 2;
        if (!*path)
            return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                              "online_store.connection_string: 'unix:' needs a socket path");
        s->unix_path = mf__xstrdup(path);
        s->addr = mf__xasprintf("unix:%s", path);
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
    s->host = he > hs ? mf__xstrndup(hs, (size_t)(he - hs)) : mf__xstrdup("localhost");
    s->port = (int)port;
    s->addr = mf__xasprintf(*a == '[' ? "[%s]:%d" : "%s:%d", s->host, s->port);
    return MF_OK;
}

static int parse_option(redis_store *s, const char *opt, const mf__redis_opts *o, mf_error *err) {
    const char *eq = strchr(opt, '=');
    if (!eq)
        return mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                          "online_store.connection_string: expected key=value, got '%s'", opt);
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

static int parse_conn(redis_store *s, const mf__redis_opts *o, mf_error *err) {
    const char *cs = o->connection_string ? o->connection_string : "localhost:6379";
    int rc = MF_OK;
    bool first = true;
    for (const char *p = cs; rc == MF_OK;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *part = trim_dup(p, n);
        if (first && (!strchr(part, '=') || strncmp(part, "unix:", 5) == 0))
            rc = parse_addr(s, *part ? part : "localhost:6379", o, err);
        else if (*part)
            rc = parse_option(s, part, o, err);
        if (first && !s->addr && rc == MF_OK) rc = parse_addr(s, "localhost:6379", o, err);
        first = false;
        free(part);
        if (!comma) break;
        p = comma + 1;
    }
    if (rc == MF_OK && s->username && !s->password)
        rc = mf__err_at(err, MF_ECONFIG, o->config_path, 0,
                        "online_store.connection_string: username needs a password");
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
    int rc = parse_conn(s, o, err);
    if (rc) {
        rd_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return MF_OK;
}
