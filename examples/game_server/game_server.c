/*
 * game_server.c — a game server's loop with moonfeast inside: several
 * threads share one mf_store. On every tick each thread
 *
 *   1. reads its lobby's features in process: 64 players x 10 features
 *      (8 of player_profile, wins and losses of player_match_stats) plus
 *      the on-demand feature player_win_rate:win_rate, which a Lua
 *      transform computes at read time from wins, losses and a request
 *      field (prior_games) sent with the request;
 *   2. plays a match (one player of the lobby wins or loses, a fixed
 *      function of the player and the tick) and pushes the new totals
 *      through the push source match_results_push, straight to the online
 *      store;
 *   3. records how long the tick took.
 *
 * At the end it prints the percentiles of the tick latencies and checks
 * that every pushed match is in the store. Each thread owns its lobby's
 * players, so the results are the same on every run; only the latencies
 * change. Usage (the repo is examples/game_server/repo, or a copy):
 *
 *   game_server REPO [--threads N] [--ticks N] [--warmup N] [--lobby N]
 *                    [--stores shared|per-thread]
 *
 * --stores per-thread gives each thread a store of its own instead (the
 * comparison of the benchmark in docs/benchmarks.md). The repo is reset
 * first (teardown, apply, materialize the CSV files), so a run does not
 * depend on the one before. Build: see README.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moonfeast.h"

#define MAX_THREADS 64
#define MAX_LOBBY 4096
#define PRIOR_GAMES 10

static const int64_t jan1 = INT64_C(1735689600) * 1000000; /* 2025-01-01T00:00:00Z, us */
static const int64_t day = INT64_C(86400) * 1000000;

/* The features a tick reads: 8 + 2 stored, 1 computed. */
static const char *const features[] = {
    "player_profile:rating",      "player_profile:level",          "player_profile:xp",
    "player_profile:kills",       "player_profile:deaths",         "player_profile:assists",
    "player_profile:playtime_hours", "player_profile:reports",     "player_match_stats:wins",
    "player_match_stats:losses",  "player_win_rate:win_rate"};
#define NFEATURES (sizeof features / sizeof features[0])

typedef struct worker {
    int id;
    const char *repo;
    mf_store *store; /* the shared store, or NULL: open one of its own */
    int ticks, warmup, lobby;
    int64_t first_player;
    double *lat_us;      /* ticks - warmup latencies */
    double last_mean_rate; /* the lobby's mean win rate at the last tick */
    int pushed;
    int failed;
    mf_error err;
} worker;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Whether player p wins the match of tick t: a fixed mix of both. */
static int wins_match(int64_t p, int t) {
    uint64_t h = (uint64_t)p * 0x9E3779B97F4A7C15u ^ (uint64_t)t * 0xC2B2AE3D27D4EB4Fu;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 32;
    return (int)(h & 1);
}

/* The column of a response named `name` (the features' short names). */
static size_t column(const mf_online_response *r, const char *name) {
    for (size_t c = 0; c < mf_online_response_ncols(r); c++)
        if (strcmp(mf_online_response_name(r, c), name) == 0) return c;
    return (size_t)-1;
}

/* One match result of player p, pushed online. */
static int push_result(mf_store *store, int64_t p, int64_t ts, int64_t wins, int64_t losses,
                       mf_error *err) {
    mf_entity_df *row = mf_entity_df_new(1);
    int rc = mf_entity_df_add_int64(row, "player_id", &p, NULL, err);
    if (rc == MF_OK) rc = mf_entity_df_add_timestamps(row, "event_timestamp", &ts, err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(row, "wins", &wins, NULL, err);
    if (rc == MF_OK) rc = mf_entity_df_add_int64(row, "losses", &losses, NULL, err);
    if (rc == MF_OK) rc = mf_push(store, "match_results_push", row, MF_PUSH_ONLINE, err);
    mf_entity_df_free(row);
    return rc;
}

static void *serve(void *arg) {
    worker *w = arg;
    mf_store *store = w->store, *own = NULL;
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    int64_t ids[MAX_LOBBY], prior[MAX_LOBBY];
    for (int i = 0; i < w->lobby; i++) ids[i] = w->first_player + i, prior[i] = PRIOR_GAMES;
    int rc = MF_OK;
    if (!store) rc = mf_store_open(w->repo, NULL, &own, &w->err), store = own;
    if (rc == MF_OK) rc = mf_online_request_set_features(req, features, NFEATURES, &w->err);
    size_t c_wins = 0, c_losses = 0, c_rate = 0;
    for (int t = 0; t < w->ticks && rc == MF_OK; t++) {
        double t0 = now_us();
        /* 1. the lobby's features, and the win rate computed from them */
        mf_online_request_clear_entities(req);
        rc = mf_online_request_add_int64(req, "player_id", ids, (size_t)w->lobby, &w->err);
        if (rc == MF_OK)
            rc = mf_online_request_add_int64(req, "prior_games", prior, (size_t)w->lobby, &w->err);
        if (rc == MF_OK) rc = mf_get_online_features(store, req, resp, &w->err);
        if (rc != MF_OK) break;
        if (t == 0) {
            c_wins = column(resp, "wins"), c_losses = column(resp, "losses");
            c_rate = column(resp, "win_rate");
        }
        /* 2. one match: player k of the lobby, then its new totals pushed */
        int k = t % w->lobby;
        int64_t p = ids[k], wins = mf_online_response_int64(resp, c_wins, (size_t)k);
        int64_t losses = mf_online_response_int64(resp, c_losses, (size_t)k);
        if (wins_match(p, t)) wins++;
        else losses++;
        rc = push_result(store, p, jan1 + day + (int64_t)(t + 1) * 1000000, wins, losses, &w->err);
        if (rc != MF_OK) break;
        w->pushed++;
        /* 3. the tick's time */
        double t1 = now_us();
        if (t >= w->warmup) w->lat_us[t - w->warmup] = t1 - t0;
        if (t == w->ticks - 1) {
            double sum = 0;
            for (int i = 0; i < w->lobby; i++) sum += mf_online_response_double(resp, c_rate, (size_t)i);
            w->last_mean_rate = sum / w->lobby;
        }
    }
    w->failed = rc != MF_OK;
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(own);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile (nearest rank) of n sorted values. */
static double pct(const double *v, size_t n, double p) {
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1];
}

static int fail(const char *what, const mf_error *err) {
    fprintf(stderr, "game_server: %s: %s: %s\n", what, mf_strerror(err->code), err->message);
    return 1;
}

/* Sum of wins + losses of players [0, n), read with one request. */
static int count_games(mf_store *store, int n, int64_t *games, mf_error *err) {
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    const char *refs[] = {"player_match_stats:wins", "player_match_stats:losses"};
    for (int i = 0; i < n; i++) ids[i] = i;
    int rc = mf_online_request_set_features(req, refs, 2, err);
    if (rc == MF_OK) rc = mf_online_request_add_int64(req, "player_id", ids, (size_t)n, err);
    if (rc == MF_OK) rc = mf_get_online_features(store, req, resp, err);
    *games = 0;
    for (int i = 0; rc == MF_OK && i < n; i++)
        *games += mf_online_response_int64(resp, 1, (size_t)i) + mf_online_response_int64(resp, 2, (size_t)i);
    free(ids);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    return rc;
}

static int player_line(mf_store *store, int64_t p, mf_error *err) {
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"player_match_stats:wins", "player_match_stats:losses",
                          "player_win_rate:win_rate"};
    int64_t prior = PRIOR_GAMES;
    int rc = mf_online_request_set_features(req, refs, 3, err);
    if (rc == MF_OK) rc = mf_online_request_add_int64(req, "player_id", &p, 1, err);
    if (rc == MF_OK) rc = mf_online_request_add_int64(req, "prior_games", &prior, 1, err);
    if (rc == MF_OK) rc = mf_get_online_features(store, req, resp, err);
    if (rc == MF_OK)
        printf("player %" PRId64 ": wins %" PRId64 ", losses %" PRId64 ", win_rate %.4f\n", p,
               mf_online_response_int64(resp, 1, 0), mf_online_response_int64(resp, 2, 0),
               mf_online_response_double(resp, 3, 0));
    mf_online_response_free(resp);
    mf_online_request_free(req);
    return rc;
}

static int usage(void) {
    fprintf(stderr, "usage: game_server REPO [--threads N] [--ticks N] [--warmup N] [--lobby N] "
                    "[--stores shared|per-thread]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *repo = NULL;
    int nthreads = 2, ticks = 1000, warmup = 20, lobby = 64, shared = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int *num = !strcmp(a, "--threads") ? &nthreads
                 : !strcmp(a, "--ticks")   ? &ticks
                 : !strcmp(a, "--warmup")  ? &warmup
                 : !strcmp(a, "--lobby")   ? &lobby
                                           : NULL;
        if (num && i + 1 < argc) *num = atoi(argv[++i]);
        else if (!strcmp(a, "--stores") && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(v, "shared")) shared = 1;
            else if (!strcmp(v, "per-thread")) shared = 0;
            else return usage();
        } else if (a[0] != '-' && !repo) repo = a;
        else return usage();
    }
    if (!repo || nthreads < 1 || nthreads > MAX_THREADS || lobby < 1 || lobby > MAX_LOBBY ||
        warmup < 0 || ticks <= warmup || nthreads * lobby > 128)
        return usage(); /* the repo's data has players 0..127 */

    mf_error err;
    mf_store *store = NULL;
    mf_plan *plan = NULL;
    if (mf_store_open(repo, NULL, &store, &err) != MF_OK) return fail("open", &err);
    /* A clean start: no results pushed by an earlier run. */
    if (mf_teardown(store, &err) != MF_OK || mf_apply(store, &plan, &err) != MF_OK ||
        mf_materialize(store, jan1, jan1 + day, NULL, 0, NULL, &err) != MF_OK) {
        mf_store_close(store);
        return fail("setting up the repo", &err);
    }
    printf("repo %s: %zu objects applied, profiles and match results materialized\n",
           mf_store_project(store), mf_plan_count(plan));
    mf_plan_free(plan);
    int64_t games_before = 0, games_after = 0;
    if (count_games(store, 128, &games_before, &err) != MF_OK) {
        mf_store_close(store);
        return fail("reading the results", &err);
    }

    printf("%d thread%s, %s, %d ticks each (the first %d not timed): a lobby of %d players x %zu "
           "features and their win rate read, one match result pushed\n",
           nthreads, nthreads == 1 ? "" : "s", shared ? "one shared store" : "one store per thread",
           ticks, warmup, lobby,
           NFEATURES - 1);
    fflush(stdout);
    worker w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    size_t timed = (size_t)(ticks - warmup);
    double *lat = malloc(timed * (size_t)nthreads * sizeof *lat);
    double start = now_us();
    for (int i = 0; i < nthreads; i++) {
        w[i] = (worker){.id = i, .repo = repo, .store = shared ? store : NULL, .ticks = ticks,
                        .warmup = warmup, .lobby = lobby, .first_player = (int64_t)i * lobby,
                        .lat_us = lat + (size_t)i * timed};
        pthread_create(&th[i], NULL, serve, &w[i]);
    }
    int failed = 0, pushed = 0;
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    double wall = now_us() - start;
    for (int i = 0; i < nthreads; i++) {
        if (w[i].failed) failed = fail("thread", &w[i].err);
        pushed += w[i].pushed;
        printf("thread %d: players %" PRId64 "..%" PRId64 ", %d matches pushed, mean win rate "
               "of the lobby at the last tick %.4f\n",
               i, w[i].first_player, w[i].first_player + lobby - 1, w[i].pushed,
               w[i].last_mean_rate);
    }
    if (!failed) {
        size_t n = timed * (size_t)nthreads;
        qsort(lat, n, sizeof *lat, cmp_double);
        printf("tick latency: p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us (%zu ticks, "
               "%.0f ticks/s)\n",
               pct(lat, n, 50), pct(lat, n, 90), pct(lat, n, 99), lat[n - 1], n,
               (double)ticks * nthreads / (wall / 1e6));
        if (count_games(store, 128, &games_after, &err) != MF_OK) failed = fail("count", &err);
        else
            printf("games in the store: %" PRId64 " before, %" PRId64 " after: %" PRId64
                   " more, %d pushed%s\n",
                   games_before, games_after, games_after - games_before, pushed,
                   games_after - games_before == pushed ? "" : " (MISMATCH)");
        failed |= games_after - games_before != pushed;
        for (int i = 0; i < nthreads && !failed; i++)
            if (player_line(store, w[i].first_player, &err) != MF_OK) failed = fail("player", &err);
    }
    free(lat);
    mf_store_close(store);
    return failed ? 1 : 0;
}
