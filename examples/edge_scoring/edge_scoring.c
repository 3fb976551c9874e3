/*
 * edge_scoring.c — moonfeast embedded behind a program's own request loop,
 * as in an edge proxy that scores each request before passing it on.
 *
 * It reads requests from standard input, one per line:
 *
 *   USER_ID AMOUNT COUNTRY        e.g.  1001 25.00 FR
 *
 * (blank lines and lines starting with # are skipped) and answers each on
 * standard output, in order, with one line:
 *
 *   user=1001 amount=25.00 country=FR score=0.111 decision=allow
 *
 * The score comes from the on-demand view `fraud` of the repo: a Lua
 * transform run at read time over the user's stored features (user_stats)
 * and the request's own fields (amount, country), given beside the key.
 * A line that cannot be scored is answered `error line=N: MESSAGE` and the
 * loop goes on. At the end of the input a summary goes to standard error:
 * the number of requests and errors and the latency percentiles of the
 * moonfeast call.
 *
 *   edge_scoring REPO < requests.txt
 *
 * On start it applies the repo's definitions and materializes its data
 * (messages on standard error). One request and one response are reused
 * for every line, so the loop allocates nothing once warm.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moonfeast.h"

#define MAX_TIMED 100000

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p) {
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1];
}

/* Score one request. Prints the answer line; returns MF_OK or the error. */
static int score(mf_store *store, mf_online_request *req, mf_online_response *resp,
                 const char *user, const char *amount, const char *country, mf_error *err) {
    char *end;
    long long id = strtoll(user, &end, 10);
    if (*end || end == user) {
        snprintf(err->message, sizeof err->message, "user id '%s' is not a number", user);
        return err->code = MF_EREQUEST;
    }
    int64_t id64 = id;
    mf_online_request_clear_entities(req);
    int rc = mf_online_request_add_int64(req, "user_id", &id64, 1, err);
    if (rc == MF_OK) rc = mf_online_request_add_text(req, "amount", &amount, 1, err);
    if (rc == MF_OK) rc = mf_online_request_add_text(req, "country", &country, 1, err);
    if (rc == MF_OK) rc = mf_get_online_features(store, req, resp, err);
    if (rc != MF_OK) return rc;
    /* columns: user_id, score, decision */
    printf("user=%s amount=%s country=%s score=", user, amount, country);
    if (mf_online_response_is_null(resp, 1, 0)) printf("none");
    else printf("%.3f", mf_online_response_double(resp, 1, 0));
    size_t len = 0;
    const char *decision = mf_online_response_text(resp, 2, 0, &len);
    printf(" decision=%.*s\n", (int)len, decision ? decision : "");
    return MF_OK;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: edge_scoring REPO < requests\n");
        return 2;
    }
    mf_error err;
    mf_store *store = NULL;
    if (mf_store_open(argv[1], NULL, &store, &err) != MF_OK) {
        fprintf(stderr, "edge_scoring: %s\n", err.message);
        return 1;
    }
    const int64_t jan1 = INT64_C(1735689600) * 1000000, day = INT64_C(86400) * 1000000;
    if (mf_apply(store, NULL, &err) != MF_OK ||
        mf_materialize(store, jan1, jan1 + 2 * day, NULL, 0, NULL, &err) != MF_OK) {
        fprintf(stderr, "edge_scoring: setting up the repo: %s\n", err.message);
        mf_store_close(store);
        return 1;
    }
    fprintf(stderr, "edge_scoring: repo %s ready; reading requests\n", mf_store_project(store));

    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"fraud:score", "fraud:decision"};
    if (mf_online_request_set_features(req, refs, 2, &err) != MF_OK) {
        fprintf(stderr, "edge_scoring: %s\n", err.message);
        return 1;
    }
    static double lat[MAX_TIMED];
    size_t ntimed = 0, nreq = 0, nerr = 0, lineno = 0;
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        char *fields[4] = {0};
        int n = 0;
        for (char *tok = strtok(line, " \t\r\n"); tok && n < 4; tok = strtok(NULL, " \t\r\n"))
            fields[n++] = tok;
        if (n == 0 || fields[0][0] == '#') continue;
        nreq++;
        if (n != 3) {
            printf("error line=%zu: expected USER_ID AMOUNT COUNTRY\n", lineno);
            nerr++;
            continue;
        }
        double t0 = now_us();
        int rc = score(store, req, resp, fields[0], fields[1], fields[2], &err);
        double t1 = now_us();
        if (rc != MF_OK) {
            printf("error line=%zu: %s\n", lineno, err.message);
            nerr++;
        } else if (ntimed < MAX_TIMED) {
            lat[ntimed++] = t1 - t0;
        }
        fflush(stdout); /* each answer as soon as it is known */
    }
    if (ntimed > 0) {
        qsort(lat, ntimed, sizeof lat[0], cmp_double);
        fprintf(stderr, "edge_scoring: %zu requests, %zu errors; scoring latency p50 %.1f us, "
                        "p99 %.1f us\n",
                nreq, nerr, pct(lat, ntimed, 50), pct(lat, ntimed, 99));
    } else {
        fprintf(stderr, "edge_scoring: %zu requests, %zu errors\n", nreq, nerr);
    }
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(store);
    return 0;
}
