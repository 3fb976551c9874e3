/*
 * registry_bench.c — applies per second against one registry with W
 * concurrent writers, and the latency of the refresh check meanwhile.
 *
 *   registry_bench LOCATION WRITERS APPLIES DIR
 *
 * LOCATION is a file registry's path or a SQL registry's URL. Each of the
 * WRITERS processes has a repo of its own under DIR (project p<i>: an
 * entity, a file source and a view) and runs mf_apply APPLIES times with
 * its view's description changed each time, as `moonfeast apply` after an
 * edit would: definitions loaded, planned, committed. All start together.
 * Meanwhile one more process makes the check a long-running server makes
 * when its registry ttl expires (the registry's version query: for a file
 * registry, a stat; for a SQL registry, one SELECT) in a loop, and records
 * each one's latency. Prints one line of "key value" pairs:
 *   writers W applies N seconds S applies_per_s R
 *   check_p50_us A check_p99_us B checks C
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mf_internal.h"
#include "moonfeast.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static bool is_url(const char *loc) { return strstr(loc, "://") != NULL; }

static void make_repo(const char *dir, int i, const char *loc) {
    char path[4096], text[8192];
    snprintf(path, sizeof path, "%s/w%d", dir, i);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/w%d/data", dir, i);
    mkdir(path, 0755);
    if (is_url(loc))
        snprintf(text, sizeof text, "project: p%d\nregistry:\n  registry_type: sql\n  path: \"%s\"\n"
                 "online_store:\n  type: sqlite\n  path: data/online.db\n", i, loc);
    else
        snprintf(text, sizeof text, "project: p%d\nregistry: %s\nonline_store:\n  type: sqlite\n"
                 "  path: data/online.db\n", i, loc);
    snprintf(path, sizeof path, "%s/w%d/feature_store.yaml", dir, i);
    write_file(path, text);
    snprintf(path, sizeof path, "%s/w%d/data/stats.csv", dir, i);
    write_file(path, "driver_id,event_timestamp,conv_rate\n1001,2025-01-01T00:00:00Z,0.5\n");
}

static void write_defs(const char *dir, int i, int round) {
    char path[4096], text[2048];
    snprintf(text, sizeof text,
             "local driver = entity { name = \"driver\", join_keys = { \"driver_id\" }, value_type = Int64 }\n"
             "local stats = file_source { name = \"stats\", path = \"data/stats.csv\", timestamp_field = \"event_timestamp\" }\n"
             "feature_view { name = \"view_%d\", entities = { driver }, ttl = days(1), source = stats,\n"
             "  schema = { field { name = \"conv_rate\", dtype = Float32 } }, description = \"round %d\" }\n",
             i, round);
    snprintf(path, sizeof path, "%s/w%d/defs.lua", dir, i);
    write_file(path, text);
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static volatile sig_atomic_t stop_checks;
static void on_term(int sig) {
    (void)sig;
    stop_checks = 1;
}

/* The checker: version queries until SIGTERM; then "p50 p99 n" on fd. */
static void checker(const char *loc, int go, int out) {
    mf__registry *r = NULL;
    mf_error err;
    int rc = is_url(loc) ? mf__registry_sql_open(loc, ".", "", &r, &err)
                         : mf__registry_file_open(loc, &r, &err);
    if (rc) {
        fprintf(stderr, "registry_bench: %s\n", err.message);
        _exit(1);
    }
    uint64_t tok;
    r->vt->version(r, &tok, &err); /* connected before the start */
    char b;
    if (read(go, &b, 1) != 1) _exit(1);
    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    while (!stop_checks && n < cap) {
        double t0 = now_s();
        if (r->vt->version(r, &tok, &err) != MF_OK) {
            fprintf(stderr, "registry_bench: check: %s\n", err.message);
            _exit(1);
        }
        lat[n++] = (now_s() - t0) * 1e6;
        struct timespec pause = {0, 200000}; /* a check every 0.2 ms at most */
        nanosleep(&pause, NULL);
    }
    qsort(lat, n, sizeof *lat, cmp_d);
    char line[128];
    int len = snprintf(line, sizeof line, "%.1f %.1f %zu\n", n ? lat[n / 2] : 0.0,
                       n ? lat[(size_t)((double)n * 0.99)] : 0.0, n);
    if (write(out, line, (size_t)len) != len) _exit(1);
    r->vt->close(r);
    _exit(0);
}

static void writer(const char *dir, int i, int applies, int go) {
    char repo[4096];
    snprintf(repo, sizeof repo, "%s/w%d", dir, i);
    write_defs(dir, i, 0);
    mf_store *s;
    mf_error err;
    if (mf_store_open(repo, NULL, &s, &err) != MF_OK) {
        fprintf(stderr, "registry_bench: %s: %s\n", repo, err.message);
        _exit(1);
    }
    char b;
    if (read(go, &b, 1) != 1) _exit(1);
    for (int k = 1; k <= applies; k++) {
        write_defs(dir, i, k);
        if (mf_apply(s, NULL, &err) != MF_OK) {
            fprintf(stderr, "registry_bench: writer %d apply %d: %s\n", i, k, err.message);
            _exit(1);
        }
    }
    mf_store_close(s);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: registry_bench LOCATION WRITERS APPLIES DIR\n");
        return 2;
    }
    const char *loc = argv[1], *dir = argv[4];
    int w = atoi(argv[2]), applies = atoi(argv[3]);
    if (w < 1 || applies < 1) return 2;
    mkdir(dir, 0755);
    for (int i = 0; i < w; i++) make_repo(dir, i, loc);
    int go[2], res[2];
    if (pipe(go) != 0 || pipe(res) != 0) return 1;
    fflush(NULL);
    pid_t *pids = calloc((size_t)w + 1, sizeof *pids);
    for (int i = 0; i < w; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(go[1]);
            writer(dir, i, applies, go[0]);
        }
    }
    signal(SIGTERM, on_term);
    pid_t chk = fork();
    if (chk == 0) {
        close(go[1]);
        checker(loc, go[0], res[1]);
    }
    signal(SIGTERM, SIG_DFL);
    close(go[0]);
    close(res[1]);
    sleep(1); /* every process opened its store */
    double t0 = now_s();
    char bytes[512];
    memset(bytes, 'g', sizeof bytes);
    if (write(go[1], bytes, (size_t)w + 1) != w + 1) return 1;
    int failed = 0;
    for (int i = 0; i < w; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
    }
    double secs = now_s() - t0;
    kill(chk, SIGTERM);
    char line[128] = {0};
    ssize_t got = read(res[0], line, sizeof line - 1);
    int st;
    waitpid(chk, &st, 0);
    if (failed || got <= 0) {
        fprintf(stderr, "registry_bench: %d writer(s) failed\n", failed);
        return 1;
    }
    double p50 = 0, p99 = 0;
    size_t n = 0;
    sscanf(line, "%lf %lf %zu", &p50, &p99, &n);
    printf("writers %d applies %d seconds %.3f applies_per_s %.1f check_p50_us %.1f "
           "check_p99_us %.1f checks %zu\n", w, w * applies, secs, (double)(w * applies) / secs,
           p50, p99, n);
    return 0;
}
