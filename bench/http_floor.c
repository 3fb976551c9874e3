/*
 * http_floor.c — the floor of serving /get-online-features over HTTP: a
 * libmicrohttpd server that reads each request whole and answers a fixed
 * JSON body, no parsing and no lookup. What is left is the HTTP work every
 * server must do (accept, read, frame, write, keep-alive).
 *
 *   http_floor BODYFILE [THREADS]
 *
 * Listens on 127.0.0.1 on a port the kernel picks, with the threading
 * `moonfeast serve --threads THREADS` uses (MHD's internal polling thread,
 * epoll, a pool of THREADS threads; default 2; a listening socket of its
 * own, accepted by one thread that hands each connection to the daemon,
 * which spreads them evenly over the pool by socket number). Every request, whatever its
 * method or path, gets 200 with BODYFILE's bytes and Content-Type
 * application/json, after its body was read to the end; connections are
 * kept alive (HTTP/1.1). Prints `listening on 127.0.0.1:PORT` on stdout
 * once it accepts connections; SIGTERM or SIGINT stop it (exit 0), and it
 * then prints `requests N body_bytes B` (request bodies read).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdbool.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

static struct MHD_Response *answer;
static int listen_fd = -1;
static bool stopping; /* atomic */

/* Accept, and hand each connection to the daemon (which closes it when it
 * cannot take it), as `moonfeast serve` does. */
static void *accept_loop(void *d) {
    while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) break;
            if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) usleep(10000);
            continue;
        }
        MHD_add_connection(d, fd, (struct sockaddr *)&ss, sl);
    }
    return NULL;
}
static atomic_ullong n_requests, n_body_bytes;
static int marker; /* *con_cls of a request whose headers were seen */

static MHD_Result_t handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                           const char *version, const char *upload_data, size_t *upload_data_size,
                           void **con_cls) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    if (*con_cls == NULL) { /* headers only: ask for the body */
        *con_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size) { /* a piece of the body: read, nothing kept */
        atomic_fetch_add_explicit(&n_body_bytes, *upload_data_size, memory_order_relaxed);
        *upload_data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add_explicit(&n_requests, 1, memory_order_relaxed);
    return MHD_queue_response(conn, MHD_HTTP_OK, answer);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: http_floor BODYFILE [THREADS]\n");
        return 2;
    }
    unsigned threads = argc == 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 2;
    if (threads < 1) threads = 1;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "http_floor: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    static char body[1 << 22];
    size_t len = fread(body, 1, sizeof body, f);
    fclose(f);
    if (!len || len == sizeof body) {
        fprintf(stderr, "http_floor: %s: empty or larger than 4 MiB\n", argv[1]);
        return 1;
    }
    answer = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    if (!answer || MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
        fprintf(stderr, "http_floor: cannot make the response\n");
        return 1;
    }

    /* blocked in every thread (MHD's inherit the mask); main waits for them */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t sal = sizeof sa;
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(listen_fd, SOMAXCONN) != 0 || getsockname(listen_fd, (struct sockaddr *)&sa, &sal) != 0) {
        fprintf(stderr, "http_floor: cannot listen: %s\n", strerror(errno));
        return 1;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET, 0, NULL,
        NULL, handle, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_END);
    pthread_t acceptor;
    if (!d || pthread_create(&acceptor, NULL, accept_loop, d) != 0) {
        fprintf(stderr, "http_floor: MHD_start_daemon failed\n");
        return 1;
    }

    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    __atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
    shutdown(listen_fd, SHUT_RDWR);
    pthread_join(acceptor, NULL);
    close(listen_fd);
    MHD_stop_daemon(d);
    MHD_destroy_response(answer);
    printf("requests %llu body_bytes %llu\n", (unsigned long long)n_requests, (unsigned long long)n_body_bytes);
    return 0;
}
