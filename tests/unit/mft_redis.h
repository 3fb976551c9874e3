/*
 * mft_redis.h — redis-server processes for unit tests: each test program
 * starts its own on free loopback ports (`--save '' --appendonly no`, data
 * and a unix socket in a folder under mft_redis_dir), and always stops them
 * (PR_SET_PDEATHSIG should the test itself die).
 *
 * Set mft_redis_dir before the first server_start. Include after mft.h.
 */
#ifndef MFT_REDIS_H
#define MFT_REDIS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "mf_internal.h"

static const char *mft_redis_dir = "/tmp";

typedef struct server {
    pid_t pid;
    int port;
    const char *password; /* --requirepass, or NULL */
} server;

/* A TCP port nobody listens on right now. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A raw hiredis client of sv (AUTH done); NULL when it does not answer. */
static redisContext *raw(const server *sv) {
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", sv->port, tv);
    if (!c || c->err) {
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (sv->password) {
        redisReply *r = redisCommand(c, "AUTH %s", sv->password);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

static bool server_pings(const server *sv) {
    redisContext *c = raw(sv);
    if (!c) return false;
    redisReply *r = redisCommand(c, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* Start redis-server for sv on sv->port and wait until it answers PING.
 * Returns 0, or -1 with a message printed. */
static int server_start_on(server *sv) {
    char port[16];
    snprintf(port, sizeof port, "%d", sv->port);
    char *dir = mf__xasprintf("%s/redis-%d", mft_redis_dir, sv->port);
    mkdir(dir, 0700);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        printf("#   fork: %s\n", strerror(errno));
        free(dir);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        char *sock = mf__xasprintf("%s/redis.sock", dir);
        const char *argv[20] = {"redis-server", "--port", port, "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", dir,
                                "--unixsocket", sock, "--unixsocketperm", "700"};
        int n = 15;
        if (sv->password) argv[n++] = "--requirepass", argv[n++] = sv->password;
        argv[n] = NULL;
        execvp("redis-server", (char *const *)argv);
        fprintf(stderr, "cannot run redis-server: %s\n", strerror(errno));
        _exit(127);
    }
    free(dir);
    sv->pid = pid;
    double t0 = now_s();
    while (now_s() - t0 < 10) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            printf("#   redis-server on port %d exited at start (status %d)\n", sv->port, st);
            sv->pid = 0;
            return -1;
        }
        if (server_pings(sv)) return 0;
        usleep(20000);
    }
    printf("#   redis-server on port %d does not answer\n", sv->port);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    sv->pid = 0;
    return -1;
}

/* Start sv's server; sv->port 0: on a free port, trying another one should
 * some other process take the port first. */
static int server_start(server *sv) {
    if (sv->port) return server_start_on(sv);
    for (int attempt = 0; attempt < 5; attempt++) {
        sv->port = free_port();
        if (server_start_on(sv) == 0) return 0;
    }
    return -1;
}

/* Stop sv's server (TERM, then KILL after 5 s); the port is kept. */
static void server_stop(server *sv) {
    if (sv->pid <= 0) return;
    if (kill(sv->pid, SIGCONT) == 0) kill(sv->pid, SIGTERM);
    double t0 = now_s();
    int st;
    while (waitpid(sv->pid, &st, WNOHANG) == 0) {
        if (now_s() - t0 > 5) {
            kill(sv->pid, SIGKILL);
            waitpid(sv->pid, &st, 0);
            break;
        }
        usleep(10000);
    }
    sv->pid = 0;
}

#endif
