/*
 * client.c — a program built against an installed libmoonfeast with
 * pkg-config only (tests/e2e/install.sh), and against the build tree's
 * libraries (tests/e2e/library.sh). Given a copy of tests/library/repo, it
 * applies, materializes, reads online with request data for the
 * transform, pushes, retrieves history and lists the registry, printing
 * one line per result; the tests compare them with what they expect.
 *
 *   client REPO
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <moonfeast.h>

#define US(s) ((int64_t)(s) * 1000000)
static const int64_t jan1 = US(1735689600); /* 2025-01-01T00:00:00Z */
static const int64_t day = US(86400);

static int fail(const char *what, const mf_error *err) {
    fprintf(stderr, "client: %s: %s: %s\n", what, mf_strerror(err->code), err->message);
    return 1;
}

static void print_cell(const mf_online_response *r, size_t col, size_t row) {
    if (mf_online_response_is_null(r, col, row)) printf("null");
    else if (mf_online_response_type(r, col) == 5) printf("%g", mf_online_response_double(r, col, row));
    else printf("%" PRId64, mf_online_response_int64(r, col, row));
}

/* One line per entity row: user N: name=value ... (status of the last). */
static void print_response(const mf_online_response *r) {
    for (size_t row = 0; row < mf_online_response_nrows(r); row++) {
        printf("user %" PRId64 ":", mf_online_response_int64(r, 0, row));
        for (size_t col = 1; col < mf_online_response_ncols(r); col++) {
            printf(" %s=", mf_online_response_name(r, col));
            print_cell(r, col, row);
        }
        printf(" (%s)\n", mf_status_name(mf_online_response_status(r, 1, row)));
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: client REPO\n");
        return 2;
    }
    mf_error err;
    int rc = 1;
    mf_store *store = NULL;
    mf_plan *plan = NULL;
    mf_online_request *req = NULL;
    mf_online_response *resp = NULL;
    mf_entity_df *rows = NULL, *ents = NULL;
    mf_table *table = NULL;
    mf_object_list *list = NULL;

    printf("library %s, header %s, same=%d\n", mf_version(), MF_VERSION_STRING,
           strcmp(mf_version(), MF_VERSION_STRING) == 0 && mf_version_number() == MF_VERSION_NUMBER);

    if (mf_store_open("/nonexistent/moonfeast/repo", NULL, &store, &err) == MF_OK) {
        fprintf(stderr, "client: opened a repo that does not exist\n");
        return 1;
    }
    printf("open of a missing repo: %s\n", mf_strerror(err.code));

    if (mf_store_open(argv[1], NULL, &store, &err) != MF_OK) return fail("open", &err);
    if (mf_apply(store, &plan, &err) != MF_OK) {
        fail("apply", &err);
        goto out;
    }
    printf("applied %zu objects to project %s\n", mf_plan_count(plan), mf_store_project(store));
    if (mf_materialize(store, jan1, jan1 + 2 * day, NULL, 0, NULL, &err) != MF_OK) {
        fail("materialize", &err);
        goto out;
    }

    req = mf_online_request_new();
    resp = mf_online_response_new();
    int64_t ids[3] = {1, 2, 3};
    const char *bonus[3] = {"0.5", "1", "2"};
    if (mf_online_request_set_feature_service(req, "ranking", &err) != MF_OK ||
        mf_online_request_add_int64(req, "user_id", ids, 3, &err) != MF_OK ||
        mf_online_request_add_text(req, "bonus", bonus, 3, &err) != MF_OK ||
        mf_get_online_features(store, req, resp, &err) != MF_OK) {
        fail("online read", &err);
        goto out;
    }
    print_response(resp);

    /* A push to the online store, then the same request again for user 3. */
    int64_t uid[1] = {3}, games[1] = {1}, ts[1] = {jan1 + 2 * day};
    const char *score[1] = {"0.125"};
    rows = mf_entity_df_new(1);
    if (mf_entity_df_add_int64(rows, "user_id", uid, NULL, &err) != MF_OK ||
        mf_entity_df_add_timestamps(rows, "ts", ts, &err) != MF_OK ||
        mf_entity_df_add_text(rows, "score", score, &err) != MF_OK ||
        mf_entity_df_add_int64(rows, "games", games, NULL, &err) != MF_OK ||
        mf_push(store, "score_push", rows, MF_PUSH_ONLINE, &err) != MF_OK) {
        fail("push", &err);
        goto out;
    }
    mf_online_request_clear_entities(req);
    const char *bonus3[1] = {"2"};
    if (mf_online_request_add_int64(req, "user_id", uid, 1, &err) != MF_OK ||
        mf_online_request_add_text(req, "bonus", bonus3, 1, &err) != MF_OK ||
        mf_get_online_features(store, req, resp, &err) != MF_OK) {
        fail("online read after the push", &err);
        goto out;
    }
    printf("after the push: ");
    print_response(resp);

    /* History: user 1 before and after its second score. */
    int64_t hid[2] = {1, 1}, hts[2] = {jan1 + day / 2, jan1 + day + day / 2};
    const char *hbonus[2] = {"1", "1"};
    ents = mf_entity_df_new(2);
    mf_historical_options ho = {0};
    ho.feature_service = "ranking";
    if (mf_entity_df_add_int64(ents, "user_id", hid, NULL, &err) != MF_OK ||
        mf_entity_df_add_timestamps(ents, "event_timestamp", hts, &err) != MF_OK ||
        mf_entity_df_add_text(ents, "bonus", hbonus, &err) != MF_OK ||
        mf_get_historical_features(store, ents, &ho, &table, &err) != MF_OK ||
        mf_table_write(table, "-", MF_FORMAT_CSV, &err) != MF_OK) {
        fail("historical", &err);
        goto out;
    }

    if (mf_list(store, MF_KIND_FEATURE_VIEW, NULL, 0, &list, &err) != MF_OK) {
        fail("list", &err);
        goto out;
    }
    for (size_t i = 0; i < mf_object_list_count(list); i++)
        printf("feature view %s\n", mf_object_list_name(list, i));
    rc = 0;
out:
    mf_object_list_free(list);
    mf_table_free(table);
    mf_entity_df_free(ents);
    mf_entity_df_free(rows);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_plan_free(plan);
    mf_store_close(store);
    return rc;
}
