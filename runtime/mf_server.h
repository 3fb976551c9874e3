/*
 * mf_server.h — the HTTP feature server: request handling (server.c) and
 * the libmicrohttpd daemon around it (server_mhd.c).
 *
 * server.c knows nothing of sockets: mf__server_handle takes a request
 * already read (method, path, query, Authorization header, body) and fills
 * a response (status, JSON body). The daemon, the fuzz target and the unit
 * tests all call it the same way.
 */
#ifndef MF_SERVER_H
#define MF_SERVER_H

#include "mf_internal.h"

/* The endpoints, in the order /metrics lists them. */
typedef enum mf__endpoint {
    MF__EP_ONLINE,       /* POST /get-online-features */
    MF__EP_PUSH,         /* POST /push */
    MF__EP_WRITE,        /* POST /write-to-online-store */
    MF__EP_MATERIALIZE,  /* POST /materialize */
    MF__EP_MAT_INC,      /* POST /materialize-incremental */
    MF__EP_HEALTH,       /* GET /health */
    MF__EP_METRICS,      /* GET /metrics */
    MF__EP_OTHER,        /* anything else (404) */
    MF__EP_COUNT
} mf__endpoint;

/* The endpoint a path names (MF__EP_OTHER for none). */
mf__endpoint mf__server_route(const char *path);
/* The path of an endpoint ("other" for MF__EP_OTHER). */
const char *mf__server_ep_path(mf__endpoint ep);

typedef struct mf__server mf__server;

/* A request, read whole. Strings are NUL-terminated; authorization and
 * query_async may be NULL (header or parameter absent). */
typedef struct mf__http_req {
    const char *method;
    const char *path;
    const char *query_async; /* the value of ?async= */
    const char *authorization;
    const char *body;
    size_t body_len;
} mf__http_req;

/* A response: status, body (JSON, or Prometheus text for /metrics) and
 * the headers that go with some statuses. */
typedef struct mf__http_resp {
    int status;
    mf__buf body;
    const char *content_type; /* static */
    const char *allow;        /* 405: the methods allowed (static) */
    bool www_authenticate;    /* 401 */
    mf__endpoint ep;
    const char *code;         /* error code of an error body (static), else NULL */
} mf__http_resp;

/* The server's settings: the feature_server section with the command
 * line's overrides (borrowed: the strings must outlive the server). */
int mf__server_new(mf_store *store, const mf__server_config *sc, mf__server **out,
                   mf_error *err);
/* Waits for background materializations to finish. NULL is a no-op. */
void mf__server_free(mf__server *srv);

/* Answer one request. Safe from any number of threads at once. The
 * response's body buffer must be initialized (mf__buf_init) and is
 * overwritten; the caller frees it. */
void mf__server_handle(mf__server *srv, const mf__http_req *rq, mf__http_resp *rs);

/* The checks that need no body: path (404), method (405), token (401,
 * 403). Returns true with rs filled when one fails. */
bool mf__server_precheck(mf__server *srv, const mf__http_req *rq, mf__http_resp *rs);

/* Whether /get-online-features bodies go through the fast parser first
 * (default on; the tests turn it off to compare it with Jansson's). Not
 * thread safe: set it before requests run. */
void mf__server_fast_json(bool on);

/* Fill rs with the JSON error body {"error": {"code", "message"}}. */
void mf__server_error(mf__http_resp *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Count a finished request in the metrics: its endpoint, status, error
 * code (NULL for none) and duration from its first byte to its last. */
void mf__server_observe(mf__server *srv, mf__endpoint ep, int status, const char *code,
                        int64_t duration_us);

/* Count a registry refresh that failed (the old snapshot kept serving). */
void mf__server_refresh_failed(mf__server *srv);
/* Count a request begun (+1) or completed (-1), in the calling thread's
 * shard; and how many are in flight now (the sum over the threads). */
void mf__server_inflight(mf__server *srv, int delta);
uint64_t mf__server_inflight_now(const mf__server *srv);

/* Run `moonfeast serve`: listen, answer until SIGTERM or SIGINT, then stop
 * accepting, finish the requests in flight and return MF_OK. SIGHUP
 * refreshes the registry. */
int mf__serve(mf_store *store, const mf__server_config *sc, mf_error *err);

#endif
