/*
 * server.c — the feature server's request handling: routing, bearer-token
 * auth, Feast's JSON request bodies, the calls on the store, error bodies
 * and the metrics. No sockets here (server_mhd.c has them): the fuzz
 * target and the tests call mf__server_handle directly.
 *
 * Bodies are parsed with Jansson (strict: invalid UTF-8, NUL in strings,
 * duplicate keys, trailing data and nesting past its limit are refused).
 * Fields moonfeast has no use for are ignored, as Feast's server ignores
 * them; a known field of the wrong type is a 422 naming it.
 *
 * Statuses: 400 for a body that is not a JSON object, 401/403 for auth,
 * 404/405 for paths and methods, 409 for a materialization already running
 * for a view, 413 for too much (body, entity rows, memory), 422 for a
 * well-formed body that asks for something wrong (a missing or mistyped
 * field, an unknown name, a missing join key, a failing transform), 503
 * when the online store or the registry fails, 500 for moonfeast's own
 * faults.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "mf_server.h"
#include "mf_values.h"

/*---- Routing ----------------------------------------------------------------*/

static const char *const ep_paths[MF__EP_COUNT] = {
    "/get-online-features", "/push", "/write-to-online-store", "/materialize",
    "/materialize-incremental", "/health", "/metrics", "other"};

mf__endpoint mf__server_route(const char *path) {
    for (int i = 0; i < MF__EP_OTHER; i++)
        if (!strcmp(path, ep_paths[i])) return (mf__endpoint)i;
    return MF__EP_OTHER;
}

const char *mf__server_ep_path(mf__endpoint ep) {
    return ep < MF__EP_COUNT ? ep_paths[ep] : "other";
}

/*---- Metrics -----------------------------------------------------------------*/

/* Statuses the server answers with (anything else counts as 500). */
static const int statuses[] = {200, 202, 400, 401, 403, 404, 405, 408, 409,
                               413, 422, 431, 500, 503};
#define N_STATUS MF__ARRAY_LEN(statuses)

/* Error codes of error bodies. */
static const char *const err_codes[] = {
    "invalid_json", "invalid_request", "unknown_object", "bad_data", "transform_error",
    "limit_exceeded", "unauthorized", "forbidden", "not_found", "method_not_allowed",
    "request_timeout", "conflict", "payload_too_large", "too_many_rows",
    "header_too_large", "unavailable", "internal"};
#define N_CODES MF__ARRAY_LEN(err_codes)

/* Latency buckets, microseconds (Prometheus `le` in seconds). */
static const int64_t buckets_us[] = {50,    100,    250,    500,    1000,    2500,   5000,
                                     10000, 25000,  50000,  100000, 250000,  500000, 1000000,
                                     2500000, 10000000};
#define N_BUCKETS MF__ARRAY_LEN(buckets_us)

typedef struct ep_metrics {
    uint64_t by_status[N_STATUS];
    uint64_t by_code[N_CODES];
    uint64_t bucket[N_BUCKETS + 1]; /* last: +Inf only */
    uint64_t sum_us;
    uint64_t count;
} ep_metrics;

/*---- The server ----------------------------------------------------------------*/

/* A materialization running for some views ("*": all of them). */
typedef struct mat_claim {
    char **views;
    size_t n;
    struct mat_claim *next;
} mat_claim;

/* The counters, in shards: each thread adds to its own shard (one of
 * N_SHARDS, picked once per thread), so that threads answering at once do
 * not pass the counters' cache lines back and forth between their cores
 * (six atomic additions a request); /metrics sums the shards. */
#define N_SHARDS 8
typedef struct metrics_shard {
    ep_metrics ep[MF__EP_COUNT]; /* atomic counters */
    uint64_t entity_rows, values_served, store_errors, transform_errors;
    uint64_t inflight; /* requests begun and not completed (mf__server_inflight) */
    char pad_[64];     /* no cache line shared with the next shard */
} metrics_shard;

struct mf__server {
    char pad_[64]; /* nor with what is before */
    metrics_shard shard[N_SHARDS];
    mf_store *store;
    mf__server_config sc; /* borrowed strings */
    uint64_t refresh_failures;
    /* materializations: the views they hold, and the background jobs */
    pthread_mutex_t mat_mu;
    pthread_cond_t mat_cv;
    mat_claim *claims;
    int jobs; /* background jobs running */
};

#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* The calling thread's shard. */
static metrics_shard *my_shard(mf__server *srv) {
    static unsigned next;
    static __thread int tl_shard = -1;
    if (tl_shard < 0) tl_shard = (int)(__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % N_SHARDS);
    return &srv->shard[tl_shard];
}

/* The sum of one counter over the shards; field is its offset. */
static uint64_t shard_sum(const mf__server *srv, size_t field) {
    uint64_t v = 0;
    for (int i = 0; i < N_SHARDS; i++)
        v += LOAD((const uint64_t *)((const char *)&srv->shard[i] + field));
    return v;
}
#define SUM(srv, member) shard_sum((srv), offsetof(metrics_shard, member))

int mf__server_new(mf_store *store, const mf__server_config *sc, mf__server **out,
                   mf_error *err) {
    MF__UNUSED(err);
    mf__server *srv = mf__xcalloc(1, sizeof *srv);
    srv->store = store;
    srv->sc = *sc;
    pthread_mutex_init(&srv->mat_mu, NULL);
    pthread_cond_init(&srv->mat_cv, NULL);
    *out = srv;
    return MF_OK;
}

void mf__server_free(mf__server *srv) {
    if (!srv) return;
    pthread_mutex_lock(&srv->mat_mu);
    if (srv->jobs) mf__log(MF_LOG_INFO, "waiting for %d materialization(s) to finish", srv->jobs);
    while (srv->jobs) pthread_cond_wait(&srv->mat_cv, &srv->mat_mu);
    pthread_mutex_unlock(&srv->mat_mu);
    pthread_mutex_destroy(&srv->mat_mu);
    pthread_cond_destroy(&srv->mat_cv);
    free(srv);
}

void mf__server_observe(mf__server *srv, mf__endpoint ep, int status, const char *code,
                        int64_t duration_us) {
    if (ep >= MF__EP_COUNT) ep = MF__EP_OTHER;
    ep_metrics *m = &my_shard(srv)->ep[ep];
    size_t si = 0;
    while (si < N_STATUS && statuses[si] != status) si++;
    if (si == N_STATUS)
        for (si = 0; statuses[si] != 500; si++) {}
    ADD(&m->by_status[si], 1);
    if (code)
        for (size_t i = 0; i < N_CODES; i++)
            if (!strcmp(err_codes[i], code)) {
                ADD(&m->by_code[i], 1);
                break;
            }
    if (duration_us < 0) duration_us = 0;
    size_t b = 0;
    while (b < N_BUCKETS && duration_us > buckets_us[b]) b++;
    ADD(&m->bucket[b], 1);
    ADD(&m->sum_us, (uint64_t)duration_us);
    ADD(&m->count, 1);
}

void mf__server_refresh_failed(mf__server *srv) { ADD(&srv->refresh_failures, 1); }

void mf__server_inflight(mf__server *srv, int delta) {
    ADD(&my_shard(srv)->inflight, (uint64_t)(int64_t)delta);
}

uint64_t mf__server_inflight_now(const mf__server *srv) { return SUM(srv, inflight); }

static void metric_head(mf__buf *b, const char *name, const char *type, const char *help) {
    mf__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_metrics(mf__server *srv, mf__buf *b) {
    metric_head(b, "moonfeast_http_requests_total", "counter",
                "HTTP requests answered, by endpoint and status.");
    for (int e = 0; e < MF__EP_COUNT; e++)
        for (size_t s = 0; s < N_STATUS; s++) {
            uint64_t v = SUM(srv, ep[e].by_status[s]);
            if (v)
                mf__buf_printf(b, "moonfeast_http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                               ep_paths[e], statuses[s], (unsigned long long)v);
        }
    metric_head(b, "moonfeast_http_errors_total", "counter",
                "HTTP requests answered with an error, by endpoint and error code.");
    for (int e = 0; e < MF__EP_COUNT; e++)
        for (size_t c = 0; c < N_CODES; c++) {
            uint64_t v = SUM(srv, ep[e].by_code[c]);
            if (v)
                mf__buf_printf(b, "moonfeast_http_errors_total{endpoint=\"%s\",code=\"%s\"} %llu\n",
                               ep_paths[e], err_codes[c], (unsigned long long)v);
        }
    metric_head(b, "moonfeast_http_request_duration_seconds", "histogram",
                "Time from a request's headers read to its answer's last byte, by endpoint.");
    for (int e = 0; e < MF__EP_COUNT; e++) {
        uint64_t count = SUM(srv, ep[e].count), cum = 0;
        if (!count) continue;
        for (size_t k = 0; k < N_BUCKETS; k++) {
            cum += SUM(srv, ep[e].bucket[k]);
            mf__buf_printf(b, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"%s\","
                           "le=\"%g\"} %llu\n", ep_paths[e], (double)buckets_us[k] / 1e6,
                           (unsigned long long)cum);
        }
        cum += SUM(srv, ep[e].bucket[N_BUCKETS]);
        mf__buf_printf(b, "moonfeast_http_request_duration_seconds_bucket{endpoint=\"%s\","
                       "le=\"+Inf\"} %llu\n", ep_paths[e], (unsigned long long)cum);
        mf__buf_printf(b, "moonfeast_http_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n",
                       ep_paths[e], (double)SUM(srv, ep[e].sum_us) / 1e6);
        mf__buf_printf(b, "moonfeast_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                       ep_paths[e], (unsigned long long)cum);
    }
    struct {
        const char *name, *help;
        uint64_t v;
    } counters[] = {
        {"moonfeast_entity_rows_total", "Entity rows answered by /get-online-features.",
         SUM(srv, entity_rows)},
        {"moonfeast_feature_values_total",
         "Feature values answered by /get-online-features (rows times features; join keys "
         "not counted).",
         SUM(srv, values_served)},
        {"moonfeast_store_errors_total", "Calls that failed in the online store or the registry.",
         SUM(srv, store_errors)},
        {"moonfeast_transform_errors_total",
         "Calls that failed in an on-demand transform (raised, wrong output, budget spent).",
         SUM(srv, transform_errors)},
        {"moonfeast_registry_refresh_failures_total",
         "Registry refreshes that failed (the previous snapshot kept serving).",
         LOAD(&srv->refresh_failures)}};
    for (size_t i = 0; i < MF__ARRAY_LEN(counters); i++) {
        metric_head(b, counters[i].name, "counter", counters[i].help);
        mf__buf_printf(b, "%s %llu\n", counters[i].name, (unsigned long long)counters[i].v);
    }
    uint64_t version;
    int64_t loaded;
    mf_error err;
    if (mf__store_snapshot_info(srv->store, &version, &loaded, &err) == MF_OK) {
        metric_head(b, "moonfeast_registry_version", "gauge",
                    "Version of the registry snapshot being served.");
        mf__buf_printf(b, "moonfeast_registry_version %llu\n", (unsigned long long)version);
        metric_head(b, "moonfeast_registry_snapshot_age_seconds", "gauge",
                    "Seconds since the registry snapshot being served was loaded.");
        int64_t age = mf__now_us() - loaded;
        mf__buf_printf(b, "moonfeast_registry_snapshot_age_seconds %.3f\n",
                       (double)(age < 0 ? 0 : age) / 1e6);
    }
}

/*---- Responses -------------------------------------------------------------------*/

static void set_json(mf__http_resp *rs, int status) {
    rs->status = status;
    rs->content_type = "application/json";
}

void mf__server_error(mf__http_resp *rs, int status, const char *code, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rs->body.len = 0;
    mf__buf_puts(&rs->body, "{\"error\":{\"code\":");
    mf__buf_json_str(&rs->body, code, strlen(code));
    mf__buf_puts(&rs->body, ",\"message\":");
    mf__buf_json_str(&rs->body, msg, strlen(msg));
    mf__buf_puts(&rs->body, "}}");
    set_json(rs, status);
    rs->code = code;
}

/* The answer to a failed call on the store. */
static void store_error(mf__server *srv, mf__http_resp *rs, const mf_error *e) {
    switch (e->code) {
    case MF_ESTORE:
    case MF_EREGISTRY:
    case MF_EIO:
        ADD(&my_shard(srv)->store_errors, 1);
        mf__server_error(rs, 503, "unavailable", "%s", e->message);
        return;
    case MF_ELUA: {
        ADD(&my_shard(srv)->transform_errors, 1);
        /* the message without LuaJIT's stack traceback */
        int len = mf__lua_msg_len(e->message);
        mf__server_error(rs, 422, "transform_error", "%.*s", len, e->message);
        return;
    }
    case MF_ELIMIT:
        ADD(&my_shard(srv)->transform_errors, 1);
        mf__server_error(rs, 422, "limit_exceeded", "%s", e->message);
        return;
    case MF_ENOMEM:
        mf__server_error(rs, 413, "payload_too_large", "%s", e->message);
        return;
    case MF_ENOTFOUND:
        mf__server_error(rs, 422, "unknown_object", "%s", e->message);
        return;
    case MF_EDATA:
        mf__server_error(rs, 422, "bad_data", "%s", e->message);
        return;
    case MF_EREQUEST:
    case MF_EUSAGE:
    case MF_EDEF:
        mf__server_error(rs, 422, "invalid_request", "%s", e->message);
        return;
    default:
        mf__server_error(rs, 500, "internal", "%s", e->message);
        return;
    }
}

/*---- Auth --------------------------------------------------------------------------*/

/* Compare a presented token with a configured one in time that depends
 * only on the configured token's length. */
static bool token_eq(const char *given, size_t glen, const char *want) {
    size_t wlen = strlen(want);
    volatile unsigned char diff = (unsigned char)(glen != wlen);
    for (size_t i = 0; i < wlen; i++)
        diff |= (unsigned char)(want[i] ^ (glen ? given[i % glen] : 0));
    return diff == 0;
}

/* The role a request's Authorization header grants: 0 for none (no
 * header, not a bearer token, an unknown token). Every configured token is
 * compared, whichever matches. */
static int role_of(const mf__server *srv, const char *auth) {
    if (!auth) return 0;
    while (*auth == ' ' || *auth == '\t') auth++;
    if (strncasecmp(auth, "Bearer", 6) != 0 || (auth[6] != ' ' && auth[6] != '\t')) return 0;
    const char *t = auth + 7;
    while (*t == ' ' || *t == '\t') t++;
    size_t len = strlen(t);
    while (len && (t[len - 1] == ' ' || t[len - 1] == '\t')) len--;
    int role = 0;
    for (size_t i = 0; i < srv->sc.n_tokens; i++) {
        bool eq = token_eq(t, len, srv->sc.tokens[i].token);
        role |= eq ? (int)srv->sc.tokens[i].role : 0;
    }
    return role;
}

static const char *role_name(int r) {
    return r == MF__ROLE_ADMIN ? "admin" : r == MF__ROLE_WRITE ? "write" : "read";
}

/*---- JSON bodies ---------------------------------------------------------------------*/

/* Parse the body as a JSON object; on failure the response is set. */
static json_t *parse_body(const mf__http_req *rq, mf__http_resp *rs) {
    if (!rq->body_len) {
        mf__server_error(rs, 400, "invalid_json", "the request body is empty: expected a JSON object");
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (strstr(je.text, "unable to decode byte"))
            mf__server_error(rs, 400, "invalid_json",
                             "the body is not valid JSON: it is not valid UTF-8 (%s, line %d, "
                             "column %d)", je.text, je.line, je.column);
        else
            mf__server_error(rs, 400, "invalid_json",
                             "the body is not valid JSON: %s (line %d, column %d)", je.text,
                             je.line, je.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        mf__server_error(rs, 400, "invalid_json", "the body must be a JSON object");
        return NULL;
    }
    return root;
}

static const char *json_kind(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Optional string field: NULL when absent or null. -1 (response set) on a
 * wrong type. */
static int opt_string(const json_t *obj, const char *key, const char **out, mf__http_resp *rs) {
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        mf__server_error(rs, 422, "invalid_request", "'%s' must be a string, got %s", key,
                         json_kind(v));
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int req_string(const json_t *obj, const char *key, const char **out, mf__http_resp *rs) {
    if (opt_string(obj, key, out, rs)) return -1;
    if (!*out || !**out) {
        mf__server_error(rs, 422, "invalid_request", "'%s' is required: a non-empty string", key);
        return -1;
    }
    return 0;
}

/* A boolean as text, as pydantic (lax) reads one: true/false, 1/0, yes/no,
 * on/off, t/f, y/n in any case; -1 for other text. */
static int bool_word(const char *s, bool *out) {
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
    static const char *const no[] = {"false", "0", "no", "off", "f", "n"};
    for (size_t i = 0; i < MF__ARRAY_LEN(yes); i++) {
        if (!strcasecmp(s, yes[i])) return *out = true, 0;
        if (!strcasecmp(s, no[i])) return *out = false, 0;
    }
    return -1;
}

/* A boolean field, read as Feast's server (pydantic, lax) reads one:
 * true/false, 0/1, or a string bool_word takes. */
static int opt_bool(const json_t *obj, const char *key, bool def, bool *out, mf__http_resp *rs) {
    const json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v || json_is_null(v)) return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return 0;
    }
    if (json_is_string(v) && bool_word(json_string_value(v), out) == 0) return 0;
    mf__server_error(rs, 422, "invalid_request", "'%s' must be true or false, got %s", key,
                     json_kind(v));
    return -1;
}

/* Fields of Feast's request models that moonfeast has no use for: their
 * values are checked (a wrong type is a 422, as in Feast) and ignored.
 * `bools` and `strings` are NULL-terminated. */
/* allow_registry_cache: false (Feast reads the registry for such a
 * request): the registry is checked now, one version query, read again
 * only when it changed; a failure keeps the snapshot serving, as a
 * refresh's does. */
static void registry_now(mf__server *srv, const json_t *body) {
    if (!json_is_false(json_object_get(body, "allow_registry_cache"))) return;
    mf_error e;
    if (mf__store_refresh(srv->store, &e)) mf__server_refresh_failed(srv);
}

static int known_ignored(const json_t *body, const char *const *bools, const char *const *strings,
                         mf__http_resp *rs) {
    bool b;
    const char *str;
    for (; bools && *bools; bools++)
        if (opt_bool(body, *bools, false, &b, rs)) return -1;
    for (; strings && *strings; strings++)
        if (opt_string(body, *strings, &str, rs)) return -1;
    return 0;
}

/* Optional list of non-empty strings: *n = 0 and *out = NULL when absent
 * or null. *out is allocated (strings borrowed from obj). */
static int opt_strings(const json_t *obj, const char *key, const char ***out, size_t *n,
                       mf__http_resp *rs) {
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v)) {
        mf__server_error(rs, 422, "invalid_request", "'%s' must be a list of strings, got %s",
                         key, json_kind(v));
        return -1;
    }
    size_t len = json_array_size(v);
    const char **a = mf__try_calloc(len ? len : 1, sizeof *a);
    if (!a) {
        mf__server_error(rs, 413, "payload_too_large", "'%s': %zu names", key, len);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || !json_string_length(e)) {
            mf__server_error(rs, 422, "invalid_request",
                             "'%s'[%zu] must be a non-empty string, got %s", key, i,
                             json_is_string(e) ? "an empty string" : json_kind(e));
            free(a);
            return -1;
        }
        a[i] = json_string_value(e);
    }
    *out = a;
    *n = len;
    return 0;
}

/* One column of a column map ("entities", "df"): its values as int64 when
 * every one is an integer, else as text (NULL for null). */
typedef struct jcol {
    const char *name;
    bool ints;
    int64_t *iv;
    const char **tv;
} jcol;

typedef struct jcols {
    jcol *c;
    size_t n, nrows;
    mf__buf text;   /* numbers and lists as text, NUL-separated */
    char **dumped;  /* json_dumps results to free */
    size_t ndumped;
    json_t *copy;   /* the broadcast copy the names point into, or NULL */
} jcols;

static void jcols_free(jcols *j) {
    for (size_t i = 0; i < j->n; i++) {
        free(j->c[i].iv);
        free(j->c[i].tv);
    }
    free(j->c);
    for (size_t i = 0; i < j->ndumped; i++) free(j->dumped[i]);
    free(j->dumped);
    mf__buf_free(&j->text);
    json_decref(j->copy);
    memset(j, 0, sizeof *j);
}

/* Read field `key` of obj, a map of equally long lists, into *j. At most
 * max_rows rows. -1 with the response set on error. */
static int read_columns_in(const json_t *m, const char *key, int64_t max_rows, jcols *j,
                           mf__http_resp *rs);

/* How many cells a frame's single values may make, per
 * max_entity_rows: 16 single-value columns down the most rows. */
#define BROADCAST_CELLS_PER_ROW_LIMIT 16

/* A copy of column map m whose single values (not lists) are repeated
 * down the column, as pandas.DataFrame(dict) does with Feast's "df": the
 * length is that of the lists. NULL with rs set when there is no list. */
static json_t *broadcast(const json_t *m, const char *key, int64_t max_rows, mf__http_resp *rs) {
    const char *name;
    const json_t *v;
    size_t nrows = 0;
    bool have = false;
    json_object_foreach((json_t *)m, name, v) {
        if (json_is_array(v)) {
            nrows = json_array_size(v);
            have = true;
            break;
        }
    }
    if (!have) {
        mf__server_error(rs, 422, "invalid_request",
                         "'%s' needs at least one column given as a list of values", key);
        return NULL;
    }
    if ((int64_t)nrows > max_rows) {
        mf__server_error(rs, 413, "too_many_rows",
                         "'%s' has %zu rows; this server takes at most %lld per request "
                         "(feature_server.max_entity_rows)", key, nrows, (long long)max_rows);
        return NULL;
    }
    /* the repeated cells cost memory the body did not bring (500 single
     * values down 100,000 rows: 1.2 GB from a 200 KB body): bounded */
    size_t single = 0;
    json_object_foreach((json_t *)m, name, v) single += !json_is_array(v) && !json_is_object(v);
    if (single && nrows > (size_t)(BROADCAST_CELLS_PER_ROW_LIMIT * max_rows) / single) {
        mf__server_error(rs, 413, "too_many_rows",
                         "'%s' repeats %zu single values down %zu rows: at most %lld cells are "
                         "made so (%d x feature_server.max_entity_rows); give the values as "
                         "lists", key, single, nrows,
                         (long long)(BROADCAST_CELLS_PER_ROW_LIMIT * max_rows),
                         BROADCAST_CELLS_PER_ROW_LIMIT);
        return NULL;
    }
    json_t *out = json_object();
    json_object_foreach((json_t *)m, name, v) {
        if (json_is_array(v) || json_is_object(v)) {
            json_object_set(out, name, (json_t *)v);
            continue;
        }
        json_t *a = json_array();
        for (size_t i = 0; i < nrows; i++) json_array_append(a, (json_t *)v);
        json_object_set_new(out, name, a);
    }
    return out;
}

static int read_columns(const json_t *obj, const char *key, int64_t max_rows, bool scalars,
                        jcols *j, mf__http_resp *rs) {
    memset(j, 0, sizeof *j);
    const json_t *m = json_object_get(obj, key);
    if (!scalars || !m || !json_is_object(m) || !json_object_size(m))
        return read_columns_in(m, key, max_rows, j, rs);
    json_t *b = broadcast(m, key, max_rows, rs);
    if (!b) return -1;
    int rc = read_columns_in(b, key, max_rows, j, rs);
    /* the column names are the copy's keys: it lives as long as j */
    j->copy = b;
    return rc;
}

static int read_columns_in(const json_t *m, const char *key, int64_t max_rows, jcols *j,
                           mf__http_resp *rs) {
    if (!m || json_is_null(m)) {
        mf__server_error(rs, 422, "invalid_request",
                         "'%s' is required: an object of columns, {\"name\": [values...]}", key);
        return -1;
    }
    if (!json_is_object(m)) {
        mf__server_error(rs, 422, "invalid_request",
                         "'%s' must be an object of columns, {\"name\": [values...]}, got %s", key,
                         json_kind(m));
        return -1;
    }
    size_t ncols = json_object_size(m);
    if (!ncols) {
        mf__server_error(rs, 422, "invalid_request", "'%s' has no columns", key);
        return -1;
    }
    j->c = mf__xcalloc(ncols, sizeof *j->c);
    const char *name;
    const json_t *arr;
    size_t nrows = 0;
    /* first pass: shapes; numbers' text offsets go in j->text */
    json_object_foreach((json_t *)m, name, arr) {
        if (!name[0]) {
            mf__server_error(rs, 422, "invalid_request", "'%s' has a column with an empty name", key);
            return -1;
        }
        if (!json_is_array(arr)) {
            mf__server_error(rs, 422, "invalid_request",
                             "'%s.%s' must be a list of values, got %s", key, name, json_kind(arr));
            return -1;
        }
        size_t len = json_array_size(arr);
        if (j->n == 0) {
            nrows = len;
            if ((int64_t)nrows > max_rows) {
                mf__server_error(rs, 413, "too_many_rows",
                                 "'%s' has %zu rows; this server takes at most %lld per request "
                                 "(feature_server.max_entity_rows)", key, nrows,
                                 (long long)max_rows);
                return -1;
            }
        } else if (len != nrows) {
            mf__server_error(rs, 422, "invalid_request",
                             "'%s': column '%s' has %zu values, column '%s' has %zu: every "
                             "column needs the same number", key, name, len, j->c[0].name, nrows);
            return -1;
        }
        jcol *c = &j->c[j->n++];
        c->name = name;
        c->ints = true;
        for (size_t i = 0; i < len && c->ints; i++)
            c->ints = json_is_integer(json_array_get(arr, i));
        if (c->ints) {
            c->iv = mf__try_malloc((len ? len : 1) * sizeof *c->iv);
            if (!c->iv) goto nomem;
            for (size_t i = 0; i < len; i++)
                c->iv[i] = (int64_t)json_integer_value(json_array_get(arr, i));
            continue;
        }
        c->tv = mf__try_calloc(len ? len : 1, sizeof *c->tv);
        if (!c->tv) goto nomem;
        for (size_t i = 0; i < len; i++) {
            const json_t *v = json_array_get(arr, i);
            char num[MF__NUM_BUFLEN + 8];
            const char *text = NULL;
            size_t off = (size_t)-1;
            switch (json_typeof(v)) {
            case JSON_STRING: text = json_string_value(v); break;
            case JSON_NULL: break;
            case JSON_TRUE: text = "true"; break;
            case JSON_FALSE: text = "false"; break;
            case JSON_INTEGER:
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                off = j->text.len;
                break;
            case JSON_REAL:
                mf__format_double(json_real_value(v), num);
                off = j->text.len;
                break;
            case JSON_ARRAY: {
                /* a list value (list features, list request fields) */
                char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                if (!d) goto nomem;
                j->dumped = mf__xrealloc(j->dumped, (j->ndumped + 1) * sizeof *j->dumped);
                j->dumped[j->ndumped++] = d;
                text = d;
                break;
            }
            default:
                mf__server_error(rs, 422, "invalid_request",
                                 "'%s.%s'[%zu] is an object: a value is a number, a string, "
                                 "a boolean, a list or null", key, name, i);
                return -1;
            }
            if (off != (size_t)-1) {
                if (mf__buf_try_reserve(&j->text, strlen(num) + 1)) goto nomem;
                mf__buf_put(&j->text, num, strlen(num) + 1);
                /* pointer fixed up below: the buffer may still move */
                c->tv[i] = (const char *)(uintptr_t)(off + 1);
                continue;
            }
            c->tv[i] = text;
        }
    }
    /* second pass: numbers' offsets into pointers (offset + 1, so that 0
     * stays null); strings and lists are real pointers, told apart by the
     * marks kept in a bitmap-free way: re-walk the JSON */
    {
        size_t ci = 0;
        json_object_foreach((json_t *)m, name, arr) {
            jcol *c = &j->c[ci++];
            if (c->ints) continue;
            for (size_t i = 0; i < nrows; i++) {
                json_type t = json_typeof(json_array_get(arr, i));
                if (t == JSON_INTEGER || t == JSON_REAL)
                    c->tv[i] = j->text.data + ((uintptr_t)c->tv[i] - 1);
            }
        }
    }
    j->nrows = nrows;
    return 0;
nomem:
    mf__server_error(rs, 413, "payload_too_large", "'%s': not enough memory for %zu rows", key,
                     nrows);
    return -1;
}

/*---- /get-online-features ------------------------------------------------------------*/

/* Scratch of the fast parser of /get-online-features bodies (below). */
typedef struct fast_state {
    mf__buf text; /* decoded strings and number texts, NUL-terminated */
    mf__buf vals; /* a fast_val per entity value */
    mf__buf iv;   /* int64 columns */
    mf__buf tv;   /* const char * columns */
} fast_state;

/* A thread's reusable request objects: a few resolved requests keyed by
 * their feature list, and one response. */
#define REQ_CACHE 4
typedef struct thread_cache {
    struct {
        char *key;
        size_t key_len;
        mf_online_request *req;
    } slot[REQ_CACHE];
    unsigned next;
    mf_online_response *resp;
    mf__buf key; /* scratch for request_for */
    fast_state fast;
} thread_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p) {
    thread_cache *tc = p;
    for (int i = 0; i < REQ_CACHE; i++) {
        free(tc->slot[i].key);
        mf_online_request_free(tc->slot[i].req);
    }
    mf_online_response_free(tc->resp);
    mf__buf_free(&tc->key);
    mf__buf_free(&tc->fast.text);
    mf__buf_free(&tc->fast.vals);
    mf__buf_free(&tc->fast.iv);
    mf__buf_free(&tc->fast.tv);
    free(tc);
}

static void cache_make(void) { pthread_key_create(&cache_key, cache_free); }

static thread_cache *thread_cache_get(void) {
    pthread_once(&cache_once, cache_make);
    thread_cache *tc = pthread_getspecific(cache_key);
    if (!tc) {
        tc = mf__xcalloc(1, sizeof *tc);
        tc->resp = mf_online_response_new();
        pthread_setspecific(cache_key, tc);
    }
    return tc;
}

/* The thread's request for this feature list (set up on a miss). */
static mf_online_request *request_for(thread_cache *tc, const char *const *refs, size_t n,
                                      const char *service, bool full, mf_error *err) {
    /* each name after a NUL, compared by length: a name holds any
     * character but NUL (JSON's \u0000 is refused), so ["v:a", "v:b"] and
     * ["v:a\nv:b"] are two keys */
    mf__buf *key = &tc->key;
    key->len = 0;
    mf__buf_putc(key, full ? 'F' : 'f');
    if (service) {
        mf__buf_putc(key, 's');
        mf__buf_put(key, service, strlen(service) + 1);
    }
    for (size_t i = 0; i < n; i++) {
        mf__buf_putc(key, '\0');
        mf__buf_puts(key, refs[i]);
    }
    for (int i = 0; i < REQ_CACHE; i++)
        if (tc->slot[i].key && tc->slot[i].key_len == key->len &&
            !memcmp(tc->slot[i].key, key->data, key->len)) {
            mf_online_request_clear_entities(tc->slot[i].req);
            return tc->slot[i].req;
        }
    unsigned s = tc->next++ % REQ_CACHE;
    free(tc->slot[s].key);
    tc->slot[s].key = NULL;
    if (!tc->slot[s].req) tc->slot[s].req = mf_online_request_new();
    mf_online_request *req = tc->slot[s].req;
    mf_online_request_clear_entities(req);
    int rc = service ? mf_online_request_set_feature_service(req, service, err)
                     : mf_online_request_set_features(req, refs, n, err);
    if (rc) return NULL;
    mf_online_request_set_full_feature_names(req, full);
    tc->slot[s].key = mf__xmalloc(key->len);
    memcpy(tc->slot[s].key, key->data, key->len);
    tc->slot[s].key_len = key->len;
    return req;
}

/* The read itself, once the body is parsed (by either parser): the
 * feature list (refs, or a service), full names, and the entity columns
 * cols[0..ncols) of nrows rows. */
static void online_answer(mf__server *srv, const char *const *refs, size_t nrefs,
                          const char *service, bool full, const jcol *cols, size_t ncols,
                          size_t nrows, mf__http_resp *rs) {
    /* as Feast: a feature service, when given, is used instead of features */
    if (service && !*service) service = NULL;
    if (service) nrefs = 0;
    if (!service && !nrefs) {
        mf__server_error(rs, 422, "invalid_request",
                         "give 'features' (a non-empty list of \"view:feature\") or "
                         "'feature_service'");
        return;
    }
    thread_cache *tc = thread_cache_get();
    mf_error e;
    mf_online_request *req = request_for(tc, refs, nrefs, service, full, &e);
    if (!req) {
        store_error(srv, rs, &e);
        return;
    }
    for (size_t i = 0; i < ncols; i++) {
        const jcol *c = &cols[i];
        int rc = c->ints ? mf_online_request_add_int64(req, c->name, c->iv, nrows, &e)
                         : mf_online_request_add_text(req, c->name, c->tv, nrows, &e);
        if (rc) {
            store_error(srv, rs, &e);
            return;
        }
    }
    if (mf_get_online_features(srv->store, req, tc->resp, &e)) {
        store_error(srv, rs, &e);
        return;
    }
    size_t len;
    const char *json = mf_online_response_json(tc->resp, &len);
    rs->body.len = 0;
    if (mf__buf_try_reserve(&rs->body, len)) {
        mf__server_error(rs, 413, "payload_too_large", "the answer (%zu bytes) does not fit in memory",
                         len);
        return;
    }
    mf__buf_put(&rs->body, json, len);
    set_json(rs, 200);
    /* feature values: the columns after the join keys (which come first
     * and are named as the request's entity columns) */
    size_t nr = mf_online_response_nrows(tc->resp), nc = mf_online_response_ncols(tc->resp), k = 0;
    for (bool key = true; k < nc && key; k += key) {
        key = false;
        for (size_t i = 0; i < ncols && !key; i++)
            key = !strcmp(cols[i].name, mf_online_response_name(tc->resp, k));
    }
    metrics_shard *sh = my_shard(srv);
    ADD(&sh->entity_rows, nr);
    ADD(&sh->values_served, nr * (nc - k));
}

static void get_online(mf__server *srv, json_t *body, mf__http_resp *rs) {
    const char **refs = NULL;
    size_t nrefs = 0;
    const char *service = NULL;
    bool full = false;
    jcols cols;
    memset(&cols, 0, sizeof cols);
    static const char *const ign[] = {"include_feature_view_version_metadata",
                                      "allow_registry_cache", NULL};
    if (opt_strings(body, "features", &refs, &nrefs, rs) ||
        opt_string(body, "feature_service", &service, rs) ||
        opt_bool(body, "full_feature_names", false, &full, rs) ||
        known_ignored(body, ign, NULL, rs))
        goto out;
    registry_now(srv, body);
    if ((!service || !*service) && !nrefs) {
        online_answer(srv, NULL, 0, NULL, full, NULL, 0, 0, rs); /* the 422 */
        goto out;
    }
    if (read_columns(body, "entities", srv->sc.max_entity_rows, false, &cols, rs)) goto out;
    online_answer(srv, (const char *const *)refs, nrefs, service, full, cols.c, cols.n,
                  cols.nrows, rs);
out:
    free(refs);
    jcols_free(&cols);
}

/*---- The fast path of /get-online-features -------------------------------------------*/

/* A parser for the common shape of a /get-online-features body, without
 * allocations per value: {"features": [strings] or "feature_service":
 * string, "full_feature_names": bool, "entities": {name: [scalars]}, other
 * fields of any value but objects}. It checks the JSON as strictly as
 * Jansson does (RFC 8259 grammar, UTF-8, no NUL, no lone surrogates, no
 * duplicate keys) and gives the columns exactly as read_columns would.
 * Anything else, every error included, sends the body down the Jansson
 * path (FAST_NO), so answers and error messages are the same either way;
 * test_server and fuzz_http compare the two. */
enum { FAST_OK = 0, FAST_NO = -1 };
#define FAST_MAX_COLS 16
#define FAST_MAX_KEYS 16
#define FAST_MAX_REFS 256
#define FAST_MAX_DEPTH 64

static bool fast_json_on = true;

void mf__server_fast_json(bool on) { fast_json_on = on; }

typedef struct fast_val {
    uint8_t kind; /* 0 null, 1 int, 2 text (string, real, bool) */
    int64_t i;
    size_t off;   /* into text */
} fast_val;

typedef struct fp {
    const char *p, *end;
    fast_state *fs;
} fp;

static void fp_ws(fp *f) {
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r')) f->p++;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* A string at f->p ('"'), decoded into fs->text; *off its offset. */
static int fp_string(fp *f, size_t *off) {
    mf__buf *t = &f->fs->text;
    *off = t->len;
    f->p++;
    for (;;) {
        const char *q = f->p;
        while (q < f->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
        if (q == f->end || (unsigned char)*q < 0x20) return FAST_NO;
        size_t n = (size_t)(q - f->p);
        if (n && mf__utf8_check(f->p, n, false) != n) return FAST_NO;
        mf__buf_put(t, f->p, n);
        f->p = q + 1;
        if (*q == '"') break;
        if (f->p >= f->end) return FAST_NO;
        char e = *f->p++;
        char c;
        switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            unsigned u;
            if (f->end - f->p < 4 || hex4(f->p, &u)) return FAST_NO;
            f->p += 4;
            if (u == 0 || (u >= 0xdc00 && u <= 0xdfff)) return FAST_NO;
            if (u >= 0xd800 && u <= 0xdbff) {
                unsigned lo;
                if (f->end - f->p < 6 || f->p[0] != '\\' || f->p[1] != 'u' || hex4(f->p + 2, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return FAST_NO;
                f->p += 6;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            char b[4];
            size_t bn;
            if (u < 0x80) b[0] = (char)u, bn = 1;
            else if (u < 0x800) b[0] = (char)(0xc0 | (u >> 6)), b[1] = (char)(0x80 | (u & 0x3f)), bn = 2;
            else if (u < 0x10000)
                b[0] = (char)(0xe0 | (u >> 12)), b[1] = (char)(0x80 | ((u >> 6) & 0x3f)),
                b[2] = (char)(0x80 | (u & 0x3f)), bn = 3;
            else
                b[0] = (char)(0xf0 | (u >> 18)), b[1] = (char)(0x80 | ((u >> 12) & 0x3f)),
                b[2] = (char)(0x80 | ((u >> 6) & 0x3f)), b[3] = (char)(0x80 | (u & 0x3f)), bn = 4;
            mf__buf_put(t, b, bn);
            continue;
        }
        default: return FAST_NO;
        }
        mf__buf_putc(t, c);
    }
    mf__buf_putc(t, '\0');
    return FAST_OK;
}

/* A number at f->p: an integer (int64) in *i with *is_int, else a real
 * whose shortest text goes into fs->text at *off. */
static int fp_number(fp *f, bool *is_int, int64_t *i, size_t *off) {
    const char *s = f->p, *q = s;
    if (q < f->end && *q == '-') q++;
    if (q >= f->end) return FAST_NO;
    if (*q == '0') q++;
    else if (*q >= '1' && *q <= '9') while (q < f->end && *q >= '0' && *q <= '9') q++;
    else return FAST_NO;
    bool real = false;
    if (q < f->end && *q == '.') {
        real = true;
        q++;
        if (q >= f->end || *q < '0' || *q > '9') return FAST_NO;
        while (q < f->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < f->end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < f->end && (*q == '+' || *q == '-')) q++;
        if (q >= f->end || *q < '0' || *q > '9') return FAST_NO;
        while (q < f->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - s);
    if (n >= 64) return FAST_NO;
    char tmp[64];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    f->p = q;
    *is_int = !real;
    if (!real) {
        errno = 0;
        long long v = strtoll(tmp, NULL, 10);
        if (errno == ERANGE) return FAST_NO;
        *i = v;
        return FAST_OK;
    }
    errno = 0;
    double d = strtod(tmp, NULL);
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) return FAST_NO;
    char num[MF__NUM_BUFLEN + 8];
    size_t nl = mf__format_double(d, num);
    *off = f->fs->text.len;
    mf__buf_put(&f->fs->text, num, nl + 1);
    return FAST_OK;
}

static int fp_literal(fp *f, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, lit, n) != 0) return FAST_NO;
    f->p += n;
    return FAST_OK;
}

/* Any value but an object (checked, not kept). */
static int fp_skip(fp *f, int depth) {
    fp_ws(f);
    if (f->p >= f->end || depth > FAST_MAX_DEPTH) return FAST_NO;
    size_t off;
    bool is_int;
    int64_t i;
    switch (*f->p) {
    case '"': {
        size_t keep = f->fs->text.len;
        int rc = fp_string(f, &off);
        f->fs->text.len = keep;
        return rc;
    }
    case 't': return fp_literal(f, "true");
    case 'f': return fp_literal(f, "false");
    case 'n': return fp_literal(f, "null");
    case '[':
        f->p++;
        fp_ws(f);
        if (f->p < f->end && *f->p == ']') return f->p++, FAST_OK;
        for (;;) {
            if (fp_skip(f, depth + 1)) return FAST_NO;
            fp_ws(f);
            if (f->p >= f->end) return FAST_NO;
            if (*f->p == ']') return f->p++, FAST_OK;
            if (*f->p++ != ',') return FAST_NO;
        }
    default: {
        size_t keep = f->fs->text.len;
        int rc = fp_number(f, &is_int, &i, &off);
        f->fs->text.len = keep;
        return rc;
    }
    }
}

static int fp_bool(fp *f, bool *out, bool *set) {
    fp_ws(f);
    if (fp_literal(f, "true") == FAST_OK) return *out = true, *set = true, FAST_OK;
    if (fp_literal(f, "false") == FAST_OK) return *out = false, *set = true, FAST_OK;
    return fp_literal(f, "null");
}

/* An entity column's values: [scalars]; more than `limit` of them is
 * FAST_NO at once (the general path refuses them; nothing is kept of
 * them here). */
static int fp_column(fp *f, size_t *n, size_t limit) {
    fp_ws(f);
    if (f->p >= f->end || *f->p != '[') return FAST_NO;
    f->p++;
    *n = 0;
    fp_ws(f);
    if (f->p < f->end && *f->p == ']') return f->p++, FAST_OK;
    for (;;) {
        fp_ws(f);
        if (f->p >= f->end) return FAST_NO;
        fast_val v = {0, 0, 0};
        bool is_int;
        switch (*f->p) {
        case '"': v.kind = 2; if (fp_string(f, &v.off)) return FAST_NO; break;
        case 'n': if (fp_literal(f, "null")) return FAST_NO; break;
        case 't':
        case 'f': {
            bool b = *f->p == 't';
            if (fp_literal(f, b ? "true" : "false")) return FAST_NO;
            v.kind = 2;
            v.off = f->fs->text.len;
            mf__buf_put(&f->fs->text, b ? "true" : "false", b ? 5 : 6);
            break;
        }
        default:
            if (fp_number(f, &is_int, &v.i, &v.off)) return FAST_NO;
            v.kind = is_int ? 1 : 2;
        }
        if (*n == limit) return FAST_NO;
        mf__buf_put(&f->fs->vals, &v, sizeof v);
        (*n)++;
        fp_ws(f);
        if (f->p >= f->end) return FAST_NO;
        if (*f->p == ']') return f->p++, FAST_OK;
        if (*f->p++ != ',') return FAST_NO;
    }
}

/* Parse body; on FAST_OK the read has been answered into rs. */
static int fast_online_in(mf__server *srv, fast_state *fs, const char *body, size_t len,
                          mf__http_resp *rs) {
    fs->text.len = fs->vals.len = 0;
    fp f = {body, body + len, fs};
    size_t keys[FAST_MAX_KEYS], nkeys = 0;
    size_t refs_off[FAST_MAX_REFS], nrefs = 0;
    size_t service_off = (size_t)-1;
    bool full = false, have_refs = false, have_entities = false, set;
    size_t col_name[FAST_MAX_COLS], col_first[FAST_MAX_COLS], ncols = 0, nrows = 0;
    fp_ws(&f);
    if (f.p >= f.end || *f.p != '{') return FAST_NO;
    f.p++;
    fp_ws(&f);
    if (f.p < f.end && *f.p == '}') return FAST_NO;
    for (;;) {
        fp_ws(&f);
        size_t k;
        if (f.p >= f.end || *f.p != '"' || fp_string(&f, &k) || nkeys == FAST_MAX_KEYS) return FAST_NO;
        for (size_t i = 0; i < nkeys; i++)
            if (!strcmp(fs->text.data + keys[i], fs->text.data + k)) return FAST_NO;
        keys[nkeys++] = k;
        fp_ws(&f);
        if (f.p >= f.end || *f.p++ != ':') return FAST_NO;
        fp_ws(&f);
        const char *key = fs->text.data + k;
        if (!strcmp(key, "features")) {
            if (fp_literal(&f, "null") == FAST_OK) goto next;
            if (f.p >= f.end || *f.p != '[') return FAST_NO;
            f.p++;
            have_refs = true;
            fp_ws(&f);
            if (f.p < f.end && *f.p == ']') {
                f.p++;
                goto next;
            }
            for (;;) {
                fp_ws(&f);
                if (f.p >= f.end || *f.p != '"' || nrefs == FAST_MAX_REFS ||
                    fp_string(&f, &refs_off[nrefs]) || !fs->text.data[refs_off[nrefs]])
                    return FAST_NO;
                nrefs++;
                fp_ws(&f);
                if (f.p >= f.end) return FAST_NO;
                if (*f.p == ']') {
                    f.p++;
                    break;
                }
                if (*f.p++ != ',') return FAST_NO;
            }
        } else if (!strcmp(key, "feature_service")) {
            if (fp_literal(&f, "null") == FAST_OK) goto next;
            if (f.p >= f.end || *f.p != '"' || fp_string(&f, &service_off)) return FAST_NO;
        } else if (!strcmp(key, "full_feature_names")) {
            if (fp_bool(&f, &full, &set)) return FAST_NO;
        } else if (!strcmp(key, "include_feature_view_version_metadata") ||
                   !strcmp(key, "allow_registry_cache")) {
            bool flag = true, given = false; /* null leaves both */
            if (fp_bool(&f, &flag, &given)) return FAST_NO;
            /* allow_registry_cache: false: the general path checks the
             * registry first */
            if (given && !flag && !strcmp(key, "allow_registry_cache")) return FAST_NO;
        } else if (!strcmp(key, "entities")) {
            if (f.p >= f.end || *f.p != '{') return FAST_NO;
            f.p++;
            have_entities = true;
            for (;;) {
                fp_ws(&f);
                size_t name;
                if (f.p >= f.end || *f.p != '"' || ncols == FAST_MAX_COLS || fp_string(&f, &name) ||
                    !fs->text.data[name])
                    return FAST_NO;
                for (size_t i = 0; i < ncols; i++)
                    if (!strcmp(fs->text.data + col_name[i], fs->text.data + name)) return FAST_NO;
                fp_ws(&f);
                if (f.p >= f.end || *f.p++ != ':') return FAST_NO;
                size_t n;
                col_name[ncols] = name;
                col_first[ncols] = fs->vals.len / sizeof(fast_val);
                if (fp_column(&f, &n, ncols ? nrows : (size_t)srv->sc.max_entity_rows))
                    return FAST_NO;
                if (ncols == 0) {
                    nrows = n;
                } else if (n != nrows) {
                    return FAST_NO;
                }
                ncols++;
                fp_ws(&f);
                if (f.p >= f.end) return FAST_NO;
                if (*f.p == '}') {
                    f.p++;
                    break;
                }
                if (*f.p++ != ',') return FAST_NO;
            }
        } else if (fp_skip(&f, 1)) {
            return FAST_NO;
        }
    next:
        fp_ws(&f);
        if (f.p >= f.end) return FAST_NO;
        if (*f.p == '}') {
            f.p++;
            break;
        }
        if (*f.p++ != ',') return FAST_NO;
    }
    fp_ws(&f);
    if (f.p != f.end || !have_entities || !ncols) return FAST_NO;
    if ((service_off == (size_t)-1 || !fs->text.data[service_off]) && (!have_refs || !nrefs))
        return FAST_NO;
    /* the columns, as read_columns gives them */
    const fast_val *vals = (const fast_val *)(const void *)fs->vals.data;
    jcol cols[FAST_MAX_COLS];
    size_t nint = 0, ntext = 0;
    for (size_t c = 0; c < ncols; c++) {
        bool ints = true;
        for (size_t r = 0; r < nrows && ints; r++) ints = vals[col_first[c] + r].kind == 1;
        cols[c].ints = ints;
        if (ints) nint += nrows;
        else ntext += nrows;
    }
    fs->iv.len = fs->tv.len = 0;
    if (mf__buf_try_reserve(&fs->iv, nint * sizeof(int64_t)) ||
        mf__buf_try_reserve(&fs->tv, ntext * sizeof(const char *)))
        return FAST_NO;
    int64_t *iv = (int64_t *)(void *)fs->iv.data;
    const char **tv = (const char **)(void *)fs->tv.data;
    char num[32];
    for (size_t c = 0; c < ncols; c++) {
        if (cols[c].ints) {
            cols[c].iv = iv;
            cols[c].tv = NULL;
            for (size_t r = 0; r < nrows; r++) *iv++ = vals[col_first[c] + r].i;
            continue;
        }
        cols[c].iv = NULL;
        cols[c].tv = tv;
        for (size_t r = 0; r < nrows; r++) {
            const fast_val *v = &vals[col_first[c] + r];
            if (v->kind == 1) {
                /* an integer in a column of text: its decimal text */
                int nl = snprintf(num, sizeof num, "%lld", (long long)v->i);
                tv[r] = NULL;
                size_t off = fs->text.len;
                mf__buf_put(&fs->text, num, (size_t)nl + 1);
                ((fast_val *)v)->off = off;
            }
        }
        tv += nrows;
    }
    /* pointers into the text last: it has stopped moving */
    tv = (const char **)(void *)fs->tv.data;
    for (size_t c = 0; c < ncols; c++) {
        cols[c].name = fs->text.data + col_name[c];
        if (cols[c].ints) continue;
        for (size_t r = 0; r < nrows; r++) {
            const fast_val *v = &vals[col_first[c] + r];
            *tv++ = v->kind == 0 ? NULL : fs->text.data + v->off;
        }
    }
    const char *refs[FAST_MAX_REFS];
    for (size_t i = 0; i < nrefs; i++) refs[i] = fs->text.data + refs_off[i];
    const char *service = service_off != (size_t)-1 ? fs->text.data + service_off : NULL;
    online_answer(srv, refs, nrefs, service, full, cols, ncols, nrows, rs);
    return FAST_OK;
}

/* The thread's scratch buffers are kept for its next request, unless one
 * has grown past FAST_KEEP_BYTES (a rare large request's memory is given
 * back, not held by the thread for good). */
#define FAST_KEEP_BYTES ((size_t)1 << 20)

static void fast_trim(mf__buf *b) {
    if (b->cap > FAST_KEEP_BYTES) mf__buf_free(b);
}

static int fast_online(mf__server *srv, const char *body, size_t len, mf__http_resp *rs) {
    fast_state *fs = &thread_cache_get()->fast;
    int rc = fast_online_in(srv, fs, body, len, rs);
    fast_trim(&fs->text);
    fast_trim(&fs->vals);
    fast_trim(&fs->iv);
    fast_trim(&fs->tv);
    return rc;
}

/*---- /push and /write-to-online-store ------------------------------------------------*/

/* The "df" of a push or write as an entity frame. NULL with rs set. */
static mf_entity_df *frame_of(mf__server *srv, json_t *body, mf__http_resp *rs) {
    jcols cols;
    if (read_columns(body, "df", srv->sc.max_entity_rows, true, &cols, rs)) {
        jcols_free(&cols);
        return NULL;
    }
    mf_entity_df *df = mf_entity_df_new(cols.nrows);
    mf_error e;
    for (size_t i = 0; i < cols.n; i++) {
        const jcol *c = &cols.c[i];
        int rc = c->ints ? mf_entity_df_add_int64(df, c->name, c->iv, NULL, &e)
                         : mf_entity_df_add_text(df, c->name, c->tv, &e);
        if (rc) {
            store_error(srv, rs, &e);
            mf_entity_df_free(df);
            df = NULL;
            break;
        }
    }
    jcols_free(&cols);
    return df;
}

static void ok_body(mf__http_resp *rs, int status, const char *json) {
    rs->body.len = 0;
    mf__buf_puts(&rs->body, json);
    set_json(rs, status);
}

static void push(mf__server *srv, json_t *body, mf__http_resp *rs) {
    const char *source, *to;
    bool transform;
    static const char *const ign[] = {"allow_registry_cache", NULL};
    if (req_string(body, "push_source_name", &source, rs) || opt_string(body, "to", &to, rs) ||
        opt_bool(body, "transform_on_write", true, &transform, rs) ||
        known_ignored(body, ign, NULL, rs))
        return;
    registry_now(srv, body);
    mf_push_to dest;
    if (!to || !strcmp(to, "online")) dest = MF_PUSH_ONLINE;
    else if (!strcmp(to, "offline")) dest = MF_PUSH_OFFLINE;
    else if (!strcmp(to, "online_and_offline")) dest = MF_PUSH_ONLINE_AND_OFFLINE;
    else {
        mf__server_error(rs, 422, "invalid_request",
                         "'to' is \"online\", \"offline\" or \"online_and_offline\", not '%s'", to);
        return;
    }
    mf_entity_df *df = frame_of(srv, body, rs);
    if (!df) return;
    mf_error e;
    if (mf_push(srv->store, source, df, dest, &e)) store_error(srv, rs, &e);
    else rs->status = 200, rs->content_type = NULL; /* no body, as Feast's server */
    mf_entity_df_free(df);
}

static void write_online(mf__server *srv, json_t *body, mf__http_resp *rs) {
    const char *view;
    bool transform;
    static const char *const ign[] = {"allow_registry_cache", NULL};
    if (req_string(body, "feature_view_name", &view, rs) ||
        opt_bool(body, "transform_on_write", true, &transform, rs) ||
        known_ignored(body, ign, NULL, rs))
        return;
    registry_now(srv, body);
    mf_entity_df *df = frame_of(srv, body, rs);
    if (!df) return;
    mf_error e;
    if (mf_write_to_online_store(srv->store, view, df, &e)) store_error(srv, rs, &e);
    else ok_body(rs, 200, "null");
    mf_entity_df_free(df);
}

/*---- /materialize and /materialize-incremental ----------------------------------------*/

/* Whether claim c holds a view that the views[0..n) (none: all) would. */
static bool claims_overlap(const mat_claim *c, const char *const *views, size_t n) {
    if (!c->n || !n) return true;
    for (size_t i = 0; i < c->n; i++)
        for (size_t k = 0; k < n; k++)
            if (!strcmp(c->views[i], views[k])) return true;
    return false;
}

/* Claim the views for a materialization; NULL (and the view's name copied
 * into busy, under the lock: the other claim's names go when its job
 * ends) when one is materializing already. */
static mat_claim *claim(mf__server *srv, const char *const *views, size_t n, char *busy,
                        size_t busy_len) {
    pthread_mutex_lock(&srv->mat_mu);
    for (mat_claim *c = srv->claims; c; c = c->next)
        if (claims_overlap(c, views, n)) {
            const char *b = !n ? (c->n ? c->views[0] : "every view") : !c->n ? views[0] : NULL;
            if (!b)
                for (size_t i = 0; i < c->n && !b; i++)
                    for (size_t k = 0; k < n; k++)
                        if (!strcmp(c->views[i], views[k])) {
                            b = views[k];
                            break;
                        }
            snprintf(busy, busy_len, "%s", b ? b : "a view");
            pthread_mutex_unlock(&srv->mat_mu);
            return NULL;
        }
    mat_claim *c = mf__xcalloc(1, sizeof *c);
    c->n = n;
    c->views = mf__xcalloc(n ? n : 1, sizeof *c->views);
    for (size_t i = 0; i < n; i++) c->views[i] = mf__xstrdup(views[i]);
    c->next = srv->claims;
    srv->claims = c;
    pthread_mutex_unlock(&srv->mat_mu);
    return c;
}

static void unclaim(mf__server *srv, mat_claim *c) {
    pthread_mutex_lock(&srv->mat_mu);
    for (mat_claim **p = &srv->claims; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    pthread_mutex_unlock(&srv->mat_mu);
    for (size_t i = 0; i < c->n; i++) free(c->views[i]);
    free(c->views);
    free(c);
}

typedef struct mat_job {
    mf__server *srv;
    mat_claim *claim;
    bool incremental;
    int64_t start_us, end_us;
} mat_job;

static int run_materialize(mf__server *srv, const mat_job *j, mf_error *e) {
    const char *const *views = (const char *const *)j->claim->views;
    return j->incremental
               ? mf_materialize_incremental(srv->store, j->end_us, views, j->claim->n, NULL, e)
               : mf_materialize(srv->store, j->start_us, j->end_us, views, j->claim->n, NULL, e);
}

static void *mat_thread(void *p) {
    mat_job *j = p;
    mf__server *srv = j->srv;
    mf_error e;
    int64_t t0 = mf__mono_us();
    if (run_materialize(srv, j, &e)) {
        if (e.code == MF_ESTORE || e.code == MF_EREGISTRY || e.code == MF_EIO)
            ADD(&my_shard(srv)->store_errors, 1);
        mf__log(MF_LOG_ERROR, "background %s failed: %s",
                j->incremental ? "materialize-incremental" : "materialize", e.message);
    } else {
        mf__log(MF_LOG_INFO, "background %s done in %.3f s",
                j->incremental ? "materialize-incremental" : "materialize",
                (double)(mf__mono_us() - t0) / 1e6);
    }
    unclaim(srv, j->claim);
    free(j);
    pthread_mutex_lock(&srv->mat_mu);
    srv->jobs--;
    pthread_cond_broadcast(&srv->mat_cv);
    pthread_mutex_unlock(&srv->mat_mu);
    return NULL;
}

static int req_time(const json_t *body, const char *key, int64_t *us, mf__http_resp *rs) {
    const char *s;
    if (req_string(body, key, &s, rs)) return -1;
    if (mf__ts_parse(s, strlen(s), us)) {
        mf__server_error(rs, 422, "invalid_request",
                         "'%s' is not a timestamp: '%.100s' (expected ISO 8601, e.g. "
                         "\"2021-04-12T10:59:42Z\")", key, s);
        return -1;
    }
    return 0;
}

static void materialize(mf__server *srv, json_t *body, bool incremental, bool async,
                        mf__http_resp *rs) {
    mat_job job = {srv, NULL, incremental, 0, 0};
    const char **views = NULL;
    size_t n = 0;
    static const char *const ign_b[] = {"disable_event_timestamp", "full_feature_names", NULL};
    static const char *const ign_s[] = {"version", NULL};
    if ((!incremental && req_time(body, "start_ts", &job.start_us, rs)) ||
        req_time(body, "end_ts", &job.end_us, rs) ||
        opt_strings(body, "feature_views", &views, &n, rs) ||
        known_ignored(body, ign_b, ign_s, rs))
        goto out;
    if (!incremental && job.start_us > job.end_us) {
        mf__server_error(rs, 422, "invalid_request", "'start_ts' is after 'end_ts'");
        goto out;
    }
    /* a background run reports only to the log: check the views now, as
     * the run will */
    if (async) {
        mf_error e;
        if (mf__materialize_check(srv->store, views, n, &e)) {
            store_error(srv, rs, &e);
            goto out;
        }
    }
    char busy[256];
    job.claim = claim(srv, views, n, busy, sizeof busy);
    if (!job.claim) {
        mf__server_error(rs, 409, "conflict",
                         "a materialization of '%s' is running; try again when it is done", busy);
        goto out;
    }
    if (async) {
        mat_job *j = mf__xmalloc(sizeof *j);
        *j = job;
        pthread_attr_t attr;
        pthread_t t;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&srv->mat_mu);
        srv->jobs++;
        pthread_mutex_unlock(&srv->mat_mu);
        if (pthread_create(&t, &attr, mat_thread, j) != 0) {
            pthread_mutex_lock(&srv->mat_mu);
            srv->jobs--;
            pthread_mutex_unlock(&srv->mat_mu);
            unclaim(srv, job.claim);
            free(j);
            mf__server_error(rs, 503, "unavailable", "cannot start a thread for the materialization");
        } else {
            rs->body.len = 0;
            mf__buf_puts(&rs->body, "{\"status\":\"accepted\",\"feature_views\":");
            if (!n) {
                mf__buf_puts(&rs->body, "null");
            } else {
                for (size_t i = 0; i < n; i++) {
                    mf__buf_putc(&rs->body, i ? ',' : '[');
                    mf__buf_json_str(&rs->body, views[i], strlen(views[i]));
                }
                mf__buf_putc(&rs->body, ']');
            }
            mf__buf_putc(&rs->body, '}');
            set_json(rs, 202);
        }
        pthread_attr_destroy(&attr);
        goto out;
    }
    mf_error e;
    if (run_materialize(srv, &job, &e)) store_error(srv, rs, &e);
    else ok_body(rs, 200, "null");
    unclaim(srv, job.claim);
out:
    free(views);
}

/*---- Dispatch ---------------------------------------------------------------------------*/

static void health(mf__server *srv, mf__http_resp *rs) {
    mf_error e;
    if (mf__store_health(srv->store, &e)) {
        ADD(&my_shard(srv)->store_errors, 1);
        mf__server_error(rs, 503, "unavailable", "%s", e.message);
        return;
    }
    ok_body(rs, 200, "{\"status\":\"ok\"}");
}

bool mf__server_precheck(mf__server *srv, const mf__http_req *rq, mf__http_resp *rs) {
    rs->body.len = 0;
    if (rs->body.data) rs->body.data[0] = '\0';
    rs->content_type = "application/json";
    rs->allow = NULL;
    rs->www_authenticate = false;
    rs->code = NULL;
    mf__endpoint ep = mf__server_route(rq->path);
    rs->ep = ep;
    if (ep == MF__EP_OTHER) {
        mf__server_error(rs, 404, "not_found",
                         "no endpoint %.200s: the endpoints are POST /get-online-features, "
                         "/push, /write-to-online-store, /materialize, "
                         "/materialize-incremental and GET /health, /metrics", rq->path);
        return true;
    }
    bool get = ep == MF__EP_HEALTH || ep == MF__EP_METRICS;
    const char *want = get ? "GET" : "POST";
    if (strcmp(rq->method, want) != 0 && !(get && !strcmp(rq->method, "HEAD"))) {
        rs->allow = get ? "GET, HEAD" : "POST";
        mf__server_error(rs, 405, "method_not_allowed", "%s takes %s, not %.20s", rq->path, want,
                         rq->method);
        return true;
    }
    /* auth: /health is open, /metrics when metrics_public */
    int need = ep == MF__EP_ONLINE                           ? MF__ROLE_READ
               : ep == MF__EP_PUSH || ep == MF__EP_WRITE     ? MF__ROLE_WRITE
               : ep == MF__EP_MATERIALIZE || ep == MF__EP_MAT_INC ? MF__ROLE_ADMIN
               : ep == MF__EP_METRICS && !srv->sc.metrics_public ? MF__ROLE_READ
                                                                 : 0;
    if (need && srv->sc.n_tokens) {
        int role = role_of(srv, rq->authorization);
        if (!role) {
            rs->www_authenticate = true;
            const char *a = rq->authorization;
            while (a && (*a == ' ' || *a == '\t')) a++;
            mf__server_error(rs, 401, "unauthorized", "%s",
                             !a ? "this server needs a bearer token: Authorization: Bearer <token>"
                             : strncasecmp(a, "Bearer", 6) != 0 || (a[6] != ' ' && a[6] != '\t')
                                 ? "the Authorization header is not a bearer token: "
                                   "Authorization: Bearer <token>"
                                 : "the bearer token is not one of this server's");
            return true;
        }
        if (role < need) {
            mf__server_error(rs, 403, "forbidden", "%s needs a token with the %s role; this one has %s",
                             rq->path, role_name(need), role_name(role));
            return true;
        }
    }
    return false;
}

void mf__server_handle(mf__server *srv, const mf__http_req *rq, mf__http_resp *rs) {
    if (mf__server_precheck(srv, rq, rs)) return;
    mf__endpoint ep = rs->ep;
    if (ep == MF__EP_HEALTH) {
        health(srv, rs);
        return;
    }
    if (ep == MF__EP_METRICS) {
        render_metrics(srv, &rs->body);
        rs->status = 200;
        rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
        return;
    }
    bool async = false;
    /* read as Feast's server reads its query bool (Python's requests
     * sends async=True) */
    if (rq->query_async && bool_word(rq->query_async, &async) != 0) {
        mf__server_error(rs, 422, "invalid_request", "?async= is true or false, not '%.40s'",
                         rq->query_async);
        return;
    }
    if (async && ep != MF__EP_MATERIALIZE && ep != MF__EP_MAT_INC) {
        mf__server_error(rs, 422, "invalid_request", "?async=true is for /materialize and "
                         "/materialize-incremental only");
        return;
    }
    if (ep == MF__EP_ONLINE && fast_json_on && rq->body_len &&
        fast_online(srv, rq->body, rq->body_len, rs) == FAST_OK)
        return;
    json_t *body = parse_body(rq, rs);
    if (!body) return;
    switch (ep) {
    case MF__EP_ONLINE: get_online(srv, body, rs); break;
    case MF__EP_PUSH: push(srv, body, rs); break;
    case MF__EP_WRITE: write_online(srv, body, rs); break;
    case MF__EP_MATERIALIZE: materialize(srv, body, false, async, rs); break;
    case MF__EP_MAT_INC: materialize(srv, body, true, async, rs); break;
    default: mf__server_error(rs, 500, "internal", "unrouted endpoint"); break;
    }
    json_decref(body);
}
