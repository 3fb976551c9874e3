/*
 * mft_pg.h — a PostgreSQL server for unit tests, from Debian's packages:
 * initdb into a temp folder, postgres listening on a Unix socket in that
 * folder and on a free loopback port, stopped by its PID (SIGINT: fast
 * shutdown; SIGKILL after 10 s) and removed afterwards. PostgreSQL refuses
 * to run as root: as root, the binaries run as the `postgres` user.
 *
 * mft_pg_start() returns 0, 1 when PostgreSQL is not installed (the caller
 * skips, saying so), or -1 with a message printed. Include after mft.h.
 */
#ifndef MFT_PG_H
#define MFT_PG_H

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "mf_internal.h"

typedef struct mft_pg {
    char bindir[256];
    char *dir;  /* temp folder: data/ and the socket */
    int port;
    pid_t pid;
    uid_t uid;  /* the user the server runs as */
    gid_t gid;
    bool as_other;
} mft_pg;

static double mft_pg_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int mft_pg_find(mft_pg *s) {
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0) return -1;
    const char *p = g.gl_pathv[g.gl_pathc - 1]; /* the newest */
    snprintf(s->bindir, sizeof s->bindir, "%.*s", (int)(strrchr(p, '/') - p), p);
    globfree(&g);
    return 0;
}

/* Run argv (a binary of bindir) as the server's user; returns its pid. */
static pid_t mft_pg_spawn(mft_pg *s, const char *const *argv, const char *log) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (s->as_other && (setgid(s->gid) != 0 || setuid(s->uid) != 0)) _exit(126);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* after setuid, which clears it */
    if (getppid() != parent) _exit(1);
    FILE *f = freopen(log, "a", stdout);
    if (f) dup2(fileno(f), 2);
    char *path = mf__xasprintf("%s/%s", s->bindir, argv[0]);
    execv(path, (char *const *)argv);
    _exit(127);
}

static int mft_pg_wait(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A conninfo URL for database db of the server. */
static char *mft_pg_url(const mft_pg *s, const char *db) {
    return mf__xasprintf("postgresql:///%s?host=%s&port=%d&user=postgres", db, s->dir, s->port);
}

static int mft_pg_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
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

/* Start postgres on the data folder made by mft_pg_start (again after a
 * stop: the same port). Waits until it accepts connections. */
static int mft_pg_run(mft_pg *s) {
    char *data = mf__xasprintf("%s/data", s->dir), *log = mf__xasprintf("%s/server.log", s->dir);
    char port[16], sock[300];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(sock, sizeof sock, "unix_socket_directories=%s", s->dir);
    const char *argv[] = {"postgres", "-D", data, "-p", port, "-c", sock,
                          "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                          "-c", "max_connections=200", NULL};
    s->pid = mft_pg_spawn(s, argv, log);
    free(data);
    free(log);
    char *url = mft_pg_url(s, "postgres");
    double t0 = mft_pg_now();
    int rc = -1;
    while (mft_pg_now() - t0 < 30) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            printf("#   postgres exited at start (see %s/server.log)\n", s->dir);
            s->pid = 0;
            break;
        }
        if (PQping(url) == PQPING_OK) {
            rc = 0;
            break;
        }
        usleep(50000);
    }
    free(url);
    return rc;
}

static void mft_pg_stop(mft_pg *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGINT);
    double t0 = mft_pg_now();
    int st;
    while (waitpid(s->pid, &st, WNOHANG) == 0) {
        if (mft_pg_now() - t0 > 10) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            break;
        }
        usleep(20000);
    }
    s->pid = 0;
}

static int mft_pg_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* Stop the server and remove its folder. */
static void mft_pg_done(mft_pg *s) {
    mft_pg_stop(s);
    if (s->dir) nftw(s->dir, mft_pg_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(s->dir);
    s->dir = NULL;
}

static int mft_pg_start(mft_pg *s) {
    memset(s, 0, sizeof *s);
    if (mft_pg_find(s) != 0) return 1;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw) {
            printf("#   running as root and there is no postgres user\n");
            return 1;
        }
        s->uid = pw->pw_uid, s->gid = pw->pw_gid, s->as_other = true;
    }
    char tmpl[] = "/tmp/mft-pg-XXXXXX";
    if (!mkdtemp(tmpl)) return -1;
    s->dir = mf__xstrdup(tmpl);
    if (s->as_other && (chown(s->dir, s->uid, s->gid) != 0 || chmod(s->dir, 0700) != 0)) {
        mft_pg_done(s);
        return -1;
    }
    char *data = mf__xasprintf("%s/data", s->dir), *log = mf__xasprintf("%s/initdb.log", s->dir);
    const char *argv[] = {"initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                          "--locale=C", "--no-sync", NULL};
    int st = mft_pg_wait(mft_pg_spawn(s, argv, log));
    free(data);
    free(log);
    if (st != 0) {
        printf("#   initdb failed (status %d; see %s/initdb.log)\n", st, s->dir);
        mft_pg_done(s);
        return -1;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = mft_pg_free_port();
        if (mft_pg_run(s) == 0) return 0;
        mft_pg_stop(s);
    }
    mft_pg_done(s);
    return -1;
}

/* Run one SQL statement on database db; 0 when it succeeded. */
static int mft_pg_exec(const mft_pg *s, const char *db, const char *sql) {
    char *url = mft_pg_url(s, db);
    PGconn *c = PQconnectdb(url);
    free(url);
    int rc = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ExecStatusType t = PQresultStatus(r);
        rc = t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK ? 0 : -1;
        if (rc) printf("#   %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        printf("#   connect: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return rc;
}

/* A new empty database; its URL (caller frees). */
static char *mft_pg_new_db(const mft_pg *s) {
    static int n;
    char name[64], sql[128];
    snprintf(name, sizeof name, "t%d_%d", (int)getpid(), ++n);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (mft_pg_exec(s, "postgres", sql) != 0) return NULL;
    return mft_pg_url(s, name);
}

#endif
