/*
 * c_api_example.c — the moonfeast C API end to end.
 *
 * Creates the quickstart repo in a folder (default ./c_api_repo; it must not
 * exist yet), then: open a store, apply the definitions, materialize, read
 * online features in a loop that reuses one request and one response, run
 * a point-in-time join on entity rows built in memory, and free everything.
 *
 * Build (from the top of the moonfeast tree, after `make`):
 *   cc -std=c11 examples/c_api_example.c -o c_api_example \
 *      $(PKG_CONFIG_PATH=lib pkg-config --cflags --libs moonfeast-static)
 *   ./c_api_example /tmp/c_api_repo
 */
#include <inttypes.h>
#include <stdio.h>

#include "moonfeast.h"

/* Print err and return 1 (the program's exit code). */
static int fail(const char *what, const mf_error *err) {
    if (err->file[0])
        fprintf(stderr, "%s: %s (%s:%d): %s\n", what, mf_strerror(err->code), err->file,
                err->line, err->message);
    else
        fprintf(stderr, "%s: %s: %s\n", what, mf_strerror(err->code), err->message);
    return 1;
}

static void on_progress(void *ud, const char *view, uint64_t rows_read, uint64_t rows_written,
                        int done) {
    (void)ud;
    if (done)
        printf("materialized %s: %" PRIu64 " rows read, %" PRIu64 " entities written\n", view,
               rows_read, rows_written);
}

int main(int argc, char **argv) {
    const char *repo = argc > 1 ? argv[1] : "c_api_repo";
    mf_error err;
    int rc = 1;

    /* Declared up front so that one cleanup path frees everything; every
     * destructor accepts NULL. */
    mf_store *store = NULL;
    mf_plan *plan = NULL;
    mf_online_request *req = NULL;
    mf_online_response *resp = NULL;
    mf_entity_df *rows = NULL;
    mf_table *table = NULL;

    /* 1. A repo: feature_store.yaml, driver_repo.lua, data/driver_stats.csv. */
    if (mf_init_repo(repo, "c_api_demo", &err) != MF_OK) return fail("init", &err);

    /* 2. Open it (NULL options: <repo>/feature_store.yaml, warnings only). */
    if (mf_store_open(repo, NULL, &store, &err) != MF_OK) return fail("open", &err);

    /* 3. Apply: load the Lua definitions, validate, register. */
    if (mf_apply(store, &plan, &err) != MF_OK) {
        fail("apply", &err);
        goto out;
    }
    for (size_t i = 0; i < mf_plan_count(plan); i++) {
        mf_object_kind kind;
        const char *name, *changed;
        mf_plan_action action;
        mf_plan_item(plan, i, &kind, &name, &action, &changed);
        if (action == MF_PLAN_ADD) printf("registered %s %s\n", mf_kind_name(kind), name);
    }
    uint64_t version = 0;
    if (mf_registry_version(store, &version, &err) != MF_OK) {
        fail("registry version", &err);
        goto out;
    }
    printf("registry version %" PRIu64 "\n", version);

    /* 4. Materialize every online view over the sample data's 5 days. */
    const int64_t day = 86400LL * 1000000;          /* microseconds */
    const int64_t jan1 = 1735689600LL * 1000000;    /* 2025-01-01T00:00:00Z */
    mf_materialize_options mo = {on_progress, NULL, 0}; /* jobs 0: batch_engine.jobs */
    if (mf_materialize(store, jan1, jan1 + 5 * day, NULL, 0, &mo, &err) != MF_OK) {
        fail("materialize", &err);
        goto out;
    }

    /* 5. Online reads: set the features once, then per call clear and add
     * the entity rows. After the first call, a call allocates nothing. */
    req = mf_online_request_new();
    resp = mf_online_response_new();
    const char *refs[] = {"driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"};
    if (mf_online_request_set_features(req, refs, 2, &err) != MF_OK) {
        fail("set features", &err);
        goto out;
    }
    for (int64_t first = 1001; first <= 1009; first += 4) {
        int64_t ids[2] = {first, first + 1};
        mf_online_request_clear_entities(req);
        if (mf_online_request_add_int64(req, "driver_id", ids, 2, &err) != MF_OK ||
            mf_get_online_features(store, req, resp, &err) != MF_OK) {
            fail("online read", &err);
            goto out;
        }
        /* Column 0 is the join key, then the features in request order. */
        for (size_t row = 0; row < mf_online_response_nrows(resp); row++) {
            printf("driver %" PRId64 ":", mf_online_response_int64(resp, 0, row));
            for (size_t col = 1; col < mf_online_response_ncols(resp); col++) {
                printf(" %s=", mf_online_response_name(resp, col));
                if (mf_online_response_is_null(resp, col, row))
                    printf("null");
                else if (mf_online_response_type(resp, col) == 6 /* Float */ ||
                         mf_online_response_type(resp, col) == 5 /* Double */)
                    printf("%g", mf_online_response_double(resp, col, row));
                else
                    printf("%" PRId64, mf_online_response_int64(resp, col, row));
                printf(" (%s)", mf_status_name(mf_online_response_status(resp, col, row)));
            }
            printf("\n");
        }
    }
    size_t len;
    const char *json = mf_online_response_json(resp, &len); /* borrowed */
    printf("last response as JSON: %.*s\n", (int)len, json);

    /* 6. Historical retrieval from entity rows built in memory. */
    int64_t driver_ids[3] = {1001, 1002, 1003};
    int64_t times[3] = {jan1 + day + 10 * 3600LL * 1000000, /* 2025-01-02T10:00:00Z */
                        jan1 + 2 * day,                     /* 2025-01-03T00:00:00Z */
                        jan1 - day};                        /* before any data */
    const char *labels[3] = {"1", "0", NULL};               /* NULL = null */
    rows = mf_entity_df_new(3);
    if (mf_entity_df_add_int64(rows, "driver_id", driver_ids, NULL, &err) != MF_OK ||
        mf_entity_df_add_timestamps(rows, "event_timestamp", times, &err) != MF_OK ||
        mf_entity_df_add_text(rows, "label", labels, &err) != MF_OK) {
        fail("entity rows", &err);
        goto out;
    }
    mf_historical_options ho = {0};
    ho.feature_service = "driver_activity_v2";
    ho.full_feature_names = 1;
    if (mf_get_historical_features(store, rows, &ho, &table, &err) != MF_OK) {
        fail("historical", &err);
        goto out;
    }
    printf("training data: %zu rows, %zu columns\n", mf_table_nrows(table),
           mf_table_ncols(table));
    if (mf_table_write(table, "-", MF_FORMAT_CSV, &err) != MF_OK) {
        fail("write", &err);
        goto out;
    }
    rc = 0;

out:
    /* 7. Free everything, in any order; NULL is a no-op everywhere. */
    mf_table_free(table);
    mf_entity_df_free(rows);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_plan_free(plan);
    mf_store_close(store);
    return rc;
}
