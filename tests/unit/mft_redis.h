/*
 * mft_redis.h — redis-server processes for unit tests: each test program
 * starts its own on free loopback ports (`--save '' --appendonly no`, data
 * and a unix socket in a folder under mft_redis_dir), and always stops them
 * (PR_SET_PDEATHSIG should the test itself die).
 *
 * Set mft_redis_dir before the first server_start. Include after mft.h.
 *
 * Redis Cluster: cluster_start starts M masters and M * R replicas the same
 * way (cluster-enabled, each with a cluster bus port of its own, nodes.conf
 * in its folder), joins them with `redis-cli --cluster create ...
 * --cluster-replicas R --cluster-yes`, and waits until every node says
 * cluster_state:ok and every master has its replicas online; cluster_stop
 * stops them by PID. mft_have_redis tells whether redis-server and
 * redis-cli are there at all (tests skip without them).
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
    int bus_port;         /* a cluster node's bus port (cluster_start sets it), else 0 */
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
        const char *argv[32] = {"redis-server", "--port", port, "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", dir,
                                "--unixsocket", sock, "--unixsocketperm", "700"};
        int n = 15;
        char bus[16], *conf = mf__xasprintf("%s/nodes.conf", dir);
        snprintf(bus, sizeof bus, "%d", sv->bus_port);
        if (sv->bus_port) {
            argv[n++] = "--cluster-enabled", argv[n++] = "yes";
            argv[n++] = "--cluster-config-file", argv[n++] = conf;
            argv[n++] = "--cluster-port", argv[n++] = bus;
            argv[n++] = "--cluster-node-timeout", argv[n++] = "1000";
            argv[n++] = "--repl-diskless-sync-delay", argv[n++] = "0";
        }
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
 * some other process take the port first (and the bus port, for a cluster
 * node: sv->bus_port -1 asks for one). */
static int server_start(server *sv) {
    if (sv->port) return server_start_on(sv);
    bool bus = sv->bus_port != 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        sv->port = free_port();
        if (bus)
            do sv->bus_port = free_port();
            while (sv->bus_port == sv->port);
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

/*---- Redis Cluster ------------------------------------------------------------*/

#define MFT_CLUSTER_MAX 12
/* a test program uses some of these helpers */
#define MFT_UNUSED __attribute__((unused))

typedef struct mft_cluster {
    server node[MFT_CLUSTER_MAX];
    int n;
} mft_cluster;

/* Whether redis-server and redis-cli can be run. */
MFT_UNUSED static bool mft_have_redis(void) {
    return system("redis-server --version >/dev/null 2>&1") == 0 &&
           system("redis-cli --version >/dev/null 2>&1") == 0;
}

/* Run argv (NULL-terminated), output to /dev/null unless show; its exit
 * status, or -1. */
MFT_UNUSED static int mft_spawn(const char *const *argv, bool show) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (!show) {
            FILE *o = freopen("/dev/null", "w", stdout);
            FILE *e = freopen("/dev/null", "w", stderr);
            (void)o, (void)e;
        } else {
            dup2(1, 2);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run argv with its output (both streams) into the file `log`. */
MFT_UNUSED static int mft_spawn_to(const char *const *argv, const char *log) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        FILE *o = freopen(log, "w", stdout);
        (void)o;
        dup2(1, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Print the last n lines of file path, each after "#   ". */
MFT_UNUSED static void mft_print_tail(const char *path, int n) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char *lines[64] = {0}, buf[512];
    int k = 0;
    if (n > 64) n = 64;
    while (fgets(buf, sizeof buf, f)) {
        free(lines[k % n]);
        lines[k % n] = strdup(buf);
        k++;
    }
    fclose(f);
    for (int i = k > n ? k - n : 0; i < k; i++) {
        printf("#   %s", lines[i % n]);
        if (!strchr(lines[i % n], '\n')) printf("\n");
    }
    for (int i = 0; i < n; i++) free(lines[i]);
}

/* The value of field `name` in an INFO section of node sv ("" when absent):
 * into out[0..cap). */
MFT_UNUSED static void info_field(const server *sv, const char *cmd, const char *name, char *out, size_t cap) {
    out[0] = 0;
    redisContext *c = raw(sv);
    if (!c) return;
    redisReply *r = redisCommand(c, cmd);
    if (r && r->type == REDIS_REPLY_STRING) {
        size_t nl = strlen(name);
        for (const char *p = r->str; p && *p;) {
            if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
                size_t n = strcspn(p + nl + 1, "\r\n");
                snprintf(out, cap, "%.*s", (int)n, p + nl + 1);
                break;
            }
            p = strchr(p, '\n');
            if (p) p++;
        }
    }
    freeReplyObject(r);
    redisFree(c);
}

/* Whether node i is alive (started and not killed). */
MFT_UNUSED static bool cluster_alive(const mft_cluster *cl, int i) {
    return cl->node[i].pid > 0;
}

/* Whether node i is a master now. */
MFT_UNUSED static bool cluster_is_master(const mft_cluster *cl, int i) {
    char role[32];
    info_field(&cl->node[i], "INFO replication", "role", role, sizeof role);
    return strcmp(role, "master") == 0;
}

/* The node that a live node's CLUSTER SLOTS names as the master of slot,
 * or -1. */
MFT_UNUSED static int cluster_master_of(const mft_cluster *cl, unsigned slot) {
    for (int i = 0; i < cl->n; i++) {
        if (!cluster_alive(cl, i)) continue;
        redisContext *c = raw(&cl->node[i]);
        if (!c) continue;
        redisReply *r = redisCommand(c, "CLUSTER SLOTS");
        int found = -1;
        for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            redisReply *e = r->element[k];
            if ((unsigned long long)e->element[0]->integer <= slot &&
                slot <= (unsigned long long)e->element[1]->integer) {
                long long port = e->element[2]->element[1]->integer;
                for (int j = 0; j < cl->n; j++)
                    if (cl->node[j].port == port) found = j;
            }
        }
        freeReplyObject(r);
        redisFree(c);
        if (found >= 0) return found;
    }
    return -1;
}

/* Wait (up to `seconds`) until every live node says cluster_state:ok, every
 * live master has `replicas` replicas online, and every live node's
 * CLUSTER SLOTS names only live masters. 0, or -1 with a message. */
MFT_UNUSED static int cluster_wait(const mft_cluster *cl, int replicas, double seconds) {
    double t0 = now_s();
    char why[200] = "";
    while (now_s() - t0 < seconds) {
        bool ok = true;
        for (int i = 0; i < cl->n && ok; i++) {
            if (!cluster_alive(cl, i)) continue;
            char v[64];
            info_field(&cl->node[i], "CLUSTER INFO", "cluster_state", v, sizeof v);
            if (strcmp(v, "ok") != 0) {
                snprintf(why, sizeof why, "node %d: cluster_state '%s'", cl->node[i].port, v);
                ok = false;
                break;
            }
            if (!cluster_is_master(cl, i)) continue;
            info_field(&cl->node[i], "INFO replication", "connected_slaves", v, sizeof v);
            int have = atoi(v), online = 0;
            for (int k = 0; k < have; k++) {
                char name[24], sl[256];
                snprintf(name, sizeof name, "slave%d", k);
                info_field(&cl->node[i], "INFO replication", name, sl, sizeof sl);
                if (strstr(sl, "state=online")) online++;
            }
            if (online < replicas) {
                snprintf(why, sizeof why, "master %d: %d of %d replicas online", cl->node[i].port,
                         online, replicas);
                ok = false;
            }
        }
        for (unsigned slot = 0; ok && slot < 16384; slot += 1024) {
            int m = cluster_master_of(cl, slot);
            if (m < 0 || !cluster_alive(cl, m)) {
                snprintf(why, sizeof why, "slot %u: master %d is not alive", slot, m);
                ok = false;
            }
        }
        if (ok) return 0;
        usleep(50000);
    }
    printf("#   the cluster is not ready after %.0f s: %s\n", seconds, why);
    return -1;
}

MFT_UNUSED static void cluster_stop(mft_cluster *cl) {
    for (int i = 0; i < cl->n; i++) server_stop(&cl->node[i]);
}

/* Kill node i (SIGKILL, by its PID) and reap it. */
MFT_UNUSED static void cluster_kill(mft_cluster *cl, int i) {
    if (cl->node[i].pid <= 0) return;
    kill(cl->node[i].pid, SIGKILL);
    waitpid(cl->node[i].pid, NULL, 0);
    cl->node[i].pid = 0;
}

/* Start `masters` masters with `replicas` replicas each and join them into
 * one cluster. 0, or -1 with a message (what started is stopped). */
MFT_UNUSED static int cluster_start(mft_cluster *cl, int masters, int replicas) {
    memset(cl, 0, sizeof *cl);
    cl->n = masters * (1 + replicas);
    if (cl->n > MFT_CLUSTER_MAX) return -1;
    for (int i = 0; i < cl->n; i++) {
        cl->node[i].bus_port = -1;
        if (server_start(&cl->node[i]) != 0) {
            cluster_stop(cl);
            return -1;
        }
    }
    char addr[MFT_CLUSTER_MAX][32], reps[16];
    const char *argv[MFT_CLUSTER_MAX + 8];
    int a = 0;
    argv[a++] = "redis-cli";
    argv[a++] = "--cluster";
    argv[a++] = "create";
    for (int i = 0; i < cl->n; i++) {
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", cl->node[i].port);
        argv[a++] = addr[i];
    }
    snprintf(reps, sizeof reps, "%d", replicas);
    argv[a++] = "--cluster-replicas";
    argv[a++] = reps;
    argv[a++] = "--cluster-yes";
    argv[a] = NULL;
    int rc = mft_spawn(argv, false);
    if (rc != 0) {
        printf("#   redis-cli --cluster create exited with %d; again, with its output:\n", rc);
        mft_spawn(argv, true);
        cluster_stop(cl);
        return -1;
    }
    if (cluster_wait(cl, replicas, 20) != 0) {
        cluster_stop(cl);
        return -1;
    }
    return 0;
}

#endif
