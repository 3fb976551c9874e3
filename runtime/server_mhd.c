/*
 * server_mhd.c — `moonfeast serve`: the libmicrohttpd daemon around
 * server.c's request handling.
 *
 * - A pool of `threads` threads, each with its own epoll loop, answers
 *   requests; every thread uses the one shared mf_store (and so gets its
 *   own worker: online-store connection, Lua state). Keep-alive is on.
 * - The body is read into memory up to max_body_bytes. A larger body is
 *   answered 413, a body still arriving request_timeout_seconds after its
 *   request began 408: at once when the client waits for "100 Continue",
 *   else once the body has arrived (read and dropped: closing a socket
 *   with unread data resets it, and the client would never see the
 *   answer), or at twice the timeout. A connection silent for
 *   request_timeout_seconds is closed. Routing, method and auth are
 *   checked before the body is read.
 * - The calling thread handles the signals (blocked in every other
 *   thread): SIGHUP and every registry_ttl_seconds refresh the registry
 *   (requests go on with the current snapshot meanwhile; a failed refresh
 *   keeps it); SIGTERM or SIGINT stop accepting, wait for the requests in
 *   flight (at most request_timeout_seconds; past that for the handlers
 *   still running, then request_timeout_seconds more for the answers to be
 *   sent) and for background materializations, then return. A second
 *   SIGTERM or SIGINT stops the waiting; a SIGHUP meanwhile is taken.
 * - Access log lines go to stderr, one write each: time, method, path,
 *   status, duration in microseconds, response bytes.
 * - The listening socket is this file's: one thread accepts, and hands
 *   each connection to the daemon (MHD_add_connection), which gives it to
 *   a pool thread chosen by the socket's number, so that connections
 *   opened together spread evenly over the threads. (With
 *   libmicrohttpd's own listening socket, in every pool thread's epoll,
 *   the first thread to wake took up to ten at a time: a benchmark's 32
 *   connections were seen split 11 to 21, one thread idle while the other
 *   had work queued.) With max_connections open it accepts no more until
 *   one closes (the others wait in the kernel's backlog).
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "mf_server.h"

typedef struct daemon_ctx {
    mf__server *srv;
    const mf__server_config *sc;
    bool closing;      /* atomic: answers carry Connection: close */
    int64_t running;   /* atomic: handlers running now */
    int64_t handled;   /* atomic: requests whose handler began and that are
                        * not yet completed (their answer not yet sent) */
} daemon_ctx;

/* One request's state (MHD's con_cls). */
typedef struct req_state {
    int64_t t0;
    mf__buf body;
    bool answered; /* a response is queued */
    bool handled;  /* counted in daemon_ctx.handled */
    /* a refusal decided while the body still arrives (413, 408): the rest
     * of the body is read and dropped, and the refusal is the answer once
     * it has arrived (closing with unread data would reset the connection
     * and lose the answer); after twice the request timeout it is sent
     * at once */
    int fail_status;
    const char *fail_code;
    char fail_msg[200];
    int status;
    const char *code;
    size_t bytes;
    mf__endpoint ep;
    char method[16];
    char path[256];
} req_state;

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    MF__UNUSED(cls);
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    mf__log(MF_LOG_DEBUG, "http: %s", msg);
}

/* Queue rs as the answer; its body buffer is handed to libmicrohttpd
 * (which frees it once sent) and rs->body is left empty. */
static enum MHD_Result queue(daemon_ctx *d, struct MHD_Connection *c, req_state *st,
                             mf__http_resp *rs, bool close) {
    size_t len = rs->body.len;
    struct MHD_Response *r =
        rs->body.data && len
            ? MHD_create_response_from_buffer(len, rs->body.data, MHD_RESPMEM_MUST_FREE)
            : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    if (rs->body.data && len) mf__buf_init(&rs->body); /* now libmicrohttpd's */
    if (rs->content_type) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
    if (rs->allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
    if (rs->www_authenticate)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (close || __atomic_load_n(&d->closing, __ATOMIC_RELAXED))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    st->answered = true;
    st->status = rs->status;
    st->code = rs->code;
    st->bytes = len;
    st->ep = rs->ep;
    return ret;
}

/* Answer with an error before the body is read (it is not read then: the
 * connection closes after the answer). */
static enum MHD_Result refuse(daemon_ctx *d, struct MHD_Connection *c, req_state *st, int status,
                              const char *code, const char *msg) {
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    mf__server_error(&rs, status, code, "%s", msg);
    rs.ep = mf__server_route(st->path);
    enum MHD_Result ret = queue(d, c, st, &rs, true);
    mf__buf_free(&rs.body);
    return ret;
}

static void fail_later(req_state *st, int status, const char *code) {
    st->fail_status = status;
    st->fail_code = code;
}

static void fill_req(struct MHD_Connection *c, req_state *st, mf__http_req *rq) {
    rq->method = st->method;
    rq->path = st->path;
    rq->query_async = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "async");
    rq->authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    rq->body = st->body.data ? st->body.data : "";
    rq->body_len = st->body.len;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    MF__UNUSED(version);
    daemon_ctx *d = cls;
    req_state *st = *con_cls;
    if (!st) {
        st = mf__xcalloc(1, sizeof *st);
        st->t0 = mf__mono_us();
        mf__buf_init(&st->body);
        snprintf(st->method, sizeof st->method, "%s", method);
        snprintf(st->path, sizeof st->path, "%s", url);
        *con_cls = st;
        mf__server_inflight(d->srv, 1);
        /* route, method and auth before the body */
        mf__http_req rq;
        fill_req(c, st, &rq);
        mf__http_resp rs;
        memset(&rs, 0, sizeof rs);
        mf__buf_init(&rs.body);
        enum MHD_Result ret = MHD_YES;
        if (mf__server_precheck(d->srv, &rq, &rs)) {
            ret = queue(d, c, st, &rs, true);
        } else {
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
            char *end = NULL;
            unsigned long long len = cl ? strtoull(cl, &end, 10) : 0;
            if (cl && (end == cl || *end || len > (unsigned long long)d->sc->max_body_bytes)) {
                fail_later(st, 413, "payload_too_large");
                snprintf(st->fail_msg, sizeof st->fail_msg,
                         "the body (%.30s bytes) is larger than this server takes: %lld bytes "
                         "(feature_server.max_body_bytes, serve --max-body)",
                         cl, (long long)d->sc->max_body_bytes);
                /* a client waiting for "100 Continue" has sent nothing yet:
                 * answer now; so also for a body far too large to read */
                const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                 MHD_HTTP_HEADER_EXPECT);
                if ((expect && !strcasecmp(expect, "100-continue")) || end == cl || *end ||
                    len / 16 > (unsigned long long)d->sc->max_body_bytes)
                    ret = refuse(d, c, st, st->fail_status, st->fail_code, st->fail_msg);
            }
        }
        mf__buf_free(&rs.body);
        return ret;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->answered) return MHD_YES; /* dropped; the connection closes */
        int64_t age = mf__mono_us() - st->t0, limit = d->sc->request_timeout_seconds * 1000000;
        if (!st->fail_status && age > limit) {
            fail_later(st, 408, "request_timeout");
            snprintf(st->fail_msg, sizeof st->fail_msg,
                     "the body took longer than %lld s to arrive "
                     "(feature_server.request_timeout_seconds)",
                     (long long)d->sc->request_timeout_seconds);
        }
        if (!st->fail_status && st->body.len + n > (size_t)d->sc->max_body_bytes) {
            fail_later(st, 413, "payload_too_large");
            snprintf(st->fail_msg, sizeof st->fail_msg,
                     "the body is larger than this server takes: %lld bytes "
                     "(feature_server.max_body_bytes, serve --max-body)",
                     (long long)d->sc->max_body_bytes);
            mf__buf_free(&st->body);
        }
        if (st->fail_status) {
            if (age > 2 * limit) return refuse(d, c, st, st->fail_status, st->fail_code, st->fail_msg);
            return MHD_YES;
        }
        if (mf__buf_try_reserve(&st->body, n))
            return refuse(d, c, st, 413, "payload_too_large", "no memory for the body");
        mf__buf_put(&st->body, upload_data, n);
        return MHD_YES;
    }
    if (st->answered) return MHD_YES;
    if (st->fail_status) return refuse(d, c, st, st->fail_status, st->fail_code, st->fail_msg);
    mf__http_req rq;
    fill_req(c, st, &rq);
    mf__http_resp rs;
    memset(&rs, 0, sizeof rs);
    mf__buf_init(&rs.body);
    st->handled = true;
    __atomic_add_fetch(&d->handled, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&d->running, 1, __ATOMIC_RELAXED);
    mf__server_handle(d->srv, &rq, &rs);
    enum MHD_Result ret = queue(d, c, st, &rs, false);
    __atomic_sub_fetch(&d->running, 1, __ATOMIC_RELAXED);
    mf__buf_free(&rs.body);
    mf__buf_free(&st->body);
    return ret;
}

/* Append s to b with control characters, spaces, quotes and backslashes
 * as \xNN, so that a log line stays one line and splits on spaces. */
static void put_clean(mf__buf *b, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= ' ' || ch == 0x7f || ch == '"' || ch == '\\') mf__buf_printf(b, "\\x%02x", ch);
        else mf__buf_putc(b, (char)ch);
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
    MF__UNUSED(c);
    daemon_ctx *d = cls;
    req_state *st = *con_cls;
    if (!st) return;
    *con_cls = NULL;
    int64_t dur = mf__mono_us() - st->t0;
    int status = st->answered ? st->status : 0; /* 0: the client went away first */
    if (st->answered) mf__server_observe(d->srv, st->ep, status, st->code, dur);
    if (d->sc->access_log) {
        mf__buf line;
        mf__buf_init(&line);
        char ts[40];
        struct timespec now;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        mf__buf_printf(&line, "%s.%06ldZ ", ts, now.tv_nsec / 1000);
        put_clean(&line, st->method);
        mf__buf_putc(&line, ' ');
        put_clean(&line, st->path);
        mf__buf_printf(&line, " %d %lld %zu%s\n", status, (long long)dur, st->bytes,
                       why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
        ssize_t w = write(2, line.data, line.len);
        MF__UNUSED(w);
        mf__buf_free(&line);
    }
    if (st->handled) __atomic_sub_fetch(&d->handled, 1, __ATOMIC_RELAXED);
    mf__buf_free(&st->body);
    free(st);
    mf__server_inflight(d->srv, -1);
}

/* The accepting thread (see the top of the file). */
typedef struct acceptor {
    int fd;
    struct MHD_Daemon *daemon;
    int64_t max_conns;
    int64_t open; /* atomic: connections open (on_connection) */
    bool stop;    /* atomic */
    pthread_t tid;
} acceptor;

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    MF__UNUSED(c);
    MF__UNUSED(socket_context);
    acceptor *a = cls;
    __atomic_add_fetch(&a->open, toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1, __ATOMIC_RELAXED);
}

static void *accept_loop(void *p) {
    acceptor *a = p;
    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&a->open, __ATOMIC_RELAXED) >= a->max_conns) {
            usleep(1000);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(a->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
            if (__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) break;
            mf__log(MF_LOG_DEBUG, "http: accept: %s", strerror(errno));
            usleep(10000); /* out of descriptors or memory: wait for some */
            continue;
        }
        /* libmicrohttpd closes the socket when it cannot take it */
        MHD_add_connection(a->daemon, fd, (struct sockaddr *)&ss, sl);
    }
    return NULL;
}

/* The listening socket for ai (IPv6 sockets take IPv6 only, as
 * libmicrohttpd's did); -1 with errno set on failure. */
static int listen_on(const struct addrinfo *ai) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Read a PEM file whole (for the TLS options). */
static int read_pem(const char *path, const char *what, char **out, mf_error *err) {
    size_t len;
    int rc = mf__read_input(path, 1 << 20, out, &len, err);
    if (rc) mf__err_prefix(err, "TLS %s", what);
    return rc;
}

int mf__serve(mf_store *store, const mf__server_config *sc, mf_error *err) {
    char *key = NULL, *cert = NULL;
    int rc;
    if (sc->tls_key) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return mf__err(err, MF_EUSAGE, "this libmicrohttpd was built without TLS");
        if ((rc = read_pem(sc->tls_key, "key", &key, err)) ||
            (rc = read_pem(sc->tls_cert, "certificate", &cert, err))) {
            free(key);
            return rc;
        }
    }
    /* the registry now, so that a broken repo fails before listening */
    uint64_t version;
    int64_t loaded;
    if ((rc = mf__store_snapshot_info(store, &version, &loaded, err))) {
        free(key);
        free(cert);
        return rc;
    }
    /* and the online store's configuration (each thread opens its own
     * later): one bad there failed every read with a 500 */
    mf__online *probe = NULL;
    if ((rc = mf__online_open(mf__store_config(store), &probe, err))) {
        free(key);
        free(cert);
        return rc;
    }
    probe->vt->close(probe);
    mf__store_manual_refresh(store);
    mf__store_set_read_reuse(store, sc->read_reuse_us);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", sc->port);
    int gai = getaddrinfo(sc->host, port, &hints, &ai);
    if (gai) {
        free(key);
        free(cert);
        return mf__err(err, MF_EIO, "cannot listen on %s:%d: %s", sc->host, sc->port,
                       gai_strerror(gai));
    }
    acceptor acc = {listen_on(ai), NULL, sc->max_connections, 0, false, 0};
    int listen_errno = errno;
    freeaddrinfo(ai);
    if (acc.fd < 0) {
        free(key);
        free(cert);
        return mf__err(err, MF_EIO, "cannot listen on %s:%d: %s", sc->host, sc->port,
                       strerror(listen_errno));
    }
    mf__server *srv;
    mf__server_new(store, sc, &srv, err);
    daemon_ctx d = {srv, sc, false, 0, 0};
    int threads = sc->threads > 0 ? sc->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | (key ? MHD_USE_TLS : 0);
    /* the signals go to this thread only: block them before the daemon's
     * threads are made (they inherit the mask) */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    struct MHD_OptionItem opts[12];
    int no = 0;
#define OPT(o, v, p) (opts[no++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)})
    OPT(MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL); /* first: later options may log */
    if (threads > 1) OPT(MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
    OPT(MHD_OPTION_CONNECTION_LIMIT, sc->max_connections, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, sc->request_timeout_seconds, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, sc->max_header_bytes, NULL);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, &d);
    OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, &acc);
    if (key) {
        OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, key);
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, cert);
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    errno = 0;
    struct MHD_Daemon *daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, &d, MHD_OPTION_ARRAY, opts,
                         MHD_OPTION_END);
    int start_errno = errno;
    int trc = daemon ? (acc.daemon = daemon, pthread_create(&acc.tid, NULL, accept_loop, &acc)) : 0;
    if (trc) {
        MHD_stop_daemon(daemon);
        daemon = NULL;
        start_errno = trc;
    }
    if (!daemon) {
        close(acc.fd);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        mf__server_free(srv);
        free(key);
        free(cert);
        return mf__err(err, MF_EIO, "cannot listen on %s:%d%s%s%s (run with --log-level debug "
                       "for libmicrohttpd's reason)", sc->host, sc->port,
                       start_errno ? ": " : "", start_errno ? strerror(start_errno) : "",
                       key ? "; or the TLS key and certificate are not a valid PEM pair" : "");
    }
    struct sockaddr_storage bss;
    socklen_t bsl = sizeof bss;
    int bound = sc->port;
    if (getsockname(acc.fd, (struct sockaddr *)&bss, &bsl) == 0)
        bound = ntohs(bss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bss)->sin6_port
                                                : ((struct sockaddr_in *)&bss)->sin_port);
    int64_t ttl = sc->registry_ttl_seconds;
    bool v6 = strchr(sc->host, ':') != NULL;
    char refresh[64];
    if (ttl > 0) snprintf(refresh, sizeof refresh, "every %lld s and on SIGHUP", (long long)ttl);
    else snprintf(refresh, sizeof refresh, "on SIGHUP only");
    fprintf(stderr, "moonfeast: serving on %s://%s%s%s:%d (%d thread%s, registry version %llu, "
            "refreshed %s)\n", key ? "https" : "http", v6 ? "[" : "", sc->host, v6 ? "]" : "",
            bound, threads, threads == 1 ? "" : "s", (unsigned long long)version, refresh);
    fflush(stderr);
    int64_t next = ttl > 0 ? mf__mono_us() + ttl * 1000000 : INT64_MAX;
    for (;;) {
        struct timespec wait = {1, 0};
        if (next != INT64_MAX) {
            int64_t left = next - mf__mono_us();
            if (left < 0) left = 0;
            if (left < 1000000) wait.tv_sec = 0, wait.tv_nsec = (long)(left * 1000);
        }
        int sig = sigtimedwait(&sigs, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT) {
            mf__log(MF_LOG_INFO, "%s: stopping (finishing the requests in flight)",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        bool refresh = sig == SIGHUP || (next != INT64_MAX && mf__mono_us() >= next);
        if (!refresh) continue;
        mf_error e;
        if (mf__store_refresh(store, &e)) mf__server_refresh_failed(srv);
        else mf__log(MF_LOG_INFO, "registry refreshed%s", sig == SIGHUP ? " (SIGHUP)" : "");
        if (ttl > 0) next = mf__mono_us() + ttl * 1000000;
    }
    __atomic_store_n(&d.closing, true, __ATOMIC_RELAXED);
    /* no new connections: the accepting thread stops (shutdown wakes its
     * accept), then the socket closes */
    __atomic_store_n(&acc.stop, true, __ATOMIC_RELEASE);
    shutdown(acc.fd, SHUT_RDWR);
    pthread_join(acc.tid, NULL);
    close(acc.fd);
    /* The requests in flight, for at most request_timeout_seconds. Past
     * that, the handlers still running (one cannot be stopped halfway), and
     * then the answers of the requests handled, for request_timeout_seconds
     * more, to be sent: an answer (a write done, say) must reach its client,
     * which stopping the daemon would prevent, but a client reading slowly
     * does not hold the stop for ever. A second SIGTERM or SIGINT stops the
     * waiting (a SIGHUP is taken and changes nothing). */
    int64_t t = sc->request_timeout_seconds * 1000000;
    int64_t deadline = mf__mono_us() + t, grace = 0;
    struct timespec none = {0, 0};
    while (mf__server_inflight_now(srv)) {
        int sig = sigtimedwait(&sigs, NULL, &none);
        if (sig == SIGTERM || sig == SIGINT) {
            mf__log(MF_LOG_INFO, "%s again: stopping without waiting",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        int64_t now = mf__mono_us();
        if (now >= deadline && __atomic_load_n(&d.running, __ATOMIC_RELAXED) == 0) {
            if (__atomic_load_n(&d.handled, __ATOMIC_RELAXED) == 0) break;
            if (!grace) grace = now + t;
            if (now >= grace) break;
        }
        usleep(5000);
    }
    MHD_stop_daemon(daemon);
    mf__server_free(srv);
    /* signals that came while stopping (a SIGHUP, a second SIGTERM) are
     * taken here: unblocked, they would end the process by their default
     * action (exit 129 for a SIGHUP) instead of the clean return */
    while (sigtimedwait(&sigs, NULL, &none) > 0) continue;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(key);
    free(cert);
    return MF_OK;
}
