// cxx_api.cpp — include/moonfeast.h in a C++ translation unit, compiled by
// tests/e2e/library.sh with g++ -Wall -Wextra -Werror -pedantic (C++11 and
// C++17) and linked against the shared library. It uses every kind of
// declaration the header has (handles, enums, option structs, the error
// table macro, the log callback) the way C++ code would: handles owned by
// std::unique_ptr with the header's destructors, a captureless lambda as
// the log callback, enums in switches. Given a copy of tests/library/repo
// it prints one line per result.
#include <moonfeast.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

template <typename T, void (*F)(T *)>
struct Deleter {
    void operator()(T *p) const { F(p); }
};
using Store = std::unique_ptr<mf_store, Deleter<mf_store, mf_store_close>>;
using Plan = std::unique_ptr<mf_plan, Deleter<mf_plan, mf_plan_free>>;
using Request = std::unique_ptr<mf_online_request, Deleter<mf_online_request, mf_online_request_free>>;
using Response = std::unique_ptr<mf_online_response, Deleter<mf_online_response, mf_online_response_free>>;
using Frame = std::unique_ptr<mf_entity_df, Deleter<mf_entity_df, mf_entity_df_free>>;
using Table = std::unique_ptr<mf_table, Deleter<mf_table, mf_table_free>>;
using List = std::unique_ptr<mf_object_list, Deleter<mf_object_list, mf_object_list_free>>;

// Every result code, from the header's own table.
struct Code {
    int value;
    const char *name;
};
#define CODE_ROW(name, value, desc) {value, #name},
const Code codes[] = {MF_ERRORS(CODE_ROW)};
#undef CODE_ROW

const char *code_name(int code) {
    for (const Code &c : codes)
        if (c.value == code) return c.name;
    return "?";
}

int fail(const char *what, const mf_error &err) {
    std::fprintf(stderr, "cxx_api: %s: %s (%s): %s\n", what, code_name(err.code),
                 mf_strerror(err.code), err.message);
    return 1;
}

const char *action_sign(mf_plan_action a) {
    switch (a) {
    case MF_PLAN_ADD: return "+";
    case MF_PLAN_CHANGE: return "~";
    case MF_PLAN_UNCHANGED: return "=";
    case MF_PLAN_DELETE: return "-";
    }
    return "?";
}

int log_lines = 0;

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: cxx_api REPO\n");
        return 2;
    }
    static_assert(MF_VERSION_NUMBER == MF_VERSION_MAJOR * 1000000 + MF_VERSION_MINOR * 1000 +
                                           MF_VERSION_PATCH,
                  "MF_VERSION_NUMBER");
    std::printf("version %s (%d), header %s, %zu result codes\n", mf_version(),
                mf_version_number(), MF_VERSION_STRING, sizeof codes / sizeof codes[0]);

    mf_set_log_callback([](int level, const char *message, void *ud) {
        (void)level;
        (void)message;
        ++*static_cast<int *>(ud);
    }, &log_lines);
    mf_set_log_level(MF_LOG_WARNING);

    mf_error err;
    std::memset(&err, 0, sizeof err);
    mf_open_options opts = {nullptr, MF_LOG_WARNING};
    std::string cfg = std::string(argv[1]) + "/feature_store.yaml";
    opts.config_file = cfg.c_str();
    mf_store *raw = nullptr;
    if (mf_store_open(nullptr, &opts, &raw, &err) != MF_OK) return fail("open", err);
    Store store(raw);

    mf_plan *plan_raw = nullptr;
    if (mf_apply(store.get(), &plan_raw, &err) != MF_OK) return fail("apply", err);
    Plan plan(plan_raw);
    for (size_t i = 0; i < mf_plan_count(plan.get()); i++) {
        mf_object_kind kind;
        const char *name = nullptr;
        mf_plan_action action;
        mf_plan_item(plan.get(), i, &kind, &name, &action, nullptr);
        std::printf("%s %s %s\n", action_sign(action), mf_kind_name(kind), name);
    }

    const int64_t jan1 = INT64_C(1735689600) * 1000000, day = INT64_C(86400) * 1000000;
    mf_materialize_options mo = {};
    mo.progress = [](void *ud, const char *view, uint64_t read, uint64_t written, int done) {
        if (done) std::printf("materialized %s: %" PRIu64 " read, %" PRIu64 " written\n", view,
                              read, written);
        (void)ud;
    };
    mo.jobs = 1;
    if (mf_materialize(store.get(), jan1, jan1 + 2 * day, nullptr, 0, &mo, &err) != MF_OK)
        return fail("materialize", err);

    Request req(mf_online_request_new());
    Response resp(mf_online_response_new());
    std::vector<const char *> refs = {"user_stats:score", "boosted:total"};
    std::vector<int64_t> ids = {2, 1};
    std::vector<int64_t> bonus = {3, 1};
    if (mf_online_request_set_features(req.get(), refs.data(), refs.size(), &err) != MF_OK ||
        mf_online_request_add_int64(req.get(), "user_id", ids.data(), ids.size(), &err) != MF_OK ||
        mf_online_request_add_int64(req.get(), "bonus", bonus.data(), bonus.size(), &err) != MF_OK ||
        mf_get_online_features(store.get(), req.get(), resp.get(), &err) != MF_OK)
        return fail("online", err);
    size_t len = 0;
    const char *json = mf_online_response_json(resp.get(), &len);
    std::printf("%.*s\n", static_cast<int>(len), json);

    // Errors come back as values: an unknown feature view.
    const char *bad[] = {"no_such_view:x"};
    mf_online_request_set_features(req.get(), bad, 1, &err);
    int rc = mf_get_online_features(store.get(), req.get(), resp.get(), &err);
    std::printf("unknown view: %s\n", code_name(rc));

    // History through a frame read from CSV.
    std::string csv = std::string(argv[1]) + "/entities.csv";
    FILE *f = std::fopen(csv.c_str(), "w");
    if (!f) return 1;
    std::fputs("user_id,event_timestamp,bonus\n2,2025-01-01T06:00:00Z,0.5\n", f);
    std::fclose(f);
    mf_entity_df *df_raw = nullptr;
    if (mf_entity_df_read_csv(csv.c_str(), &df_raw, &err) != MF_OK) return fail("csv", err);
    Frame df(df_raw);
    mf_historical_options ho = {};
    ho.features = refs.data();
    ho.n_features = refs.size();
    ho.full_feature_names = 1;
    mf_table *t_raw = nullptr;
    if (mf_get_historical_features(store.get(), df.get(), &ho, &t_raw, &err) != MF_OK)
        return fail("historical", err);
    Table t(t_raw);
    for (size_t c = 0; c < mf_table_ncols(t.get()); c++) {
        std::printf("%s%s=", c ? " " : "", mf_table_col_name(t.get(), c));
        size_t n = 0;
        const char *text = mf_table_text(t.get(), c, 0, &n);
        if (text) std::printf("%.*s", static_cast<int>(n), text);
        else std::printf("%g", mf_table_double(t.get(), c, 0));
    }
    std::printf("\n");

    mf_object_list *l_raw = nullptr;
    if (mf_list(store.get(), MF_KIND_ON_DEMAND_FEATURE_VIEW, nullptr, 0, &l_raw, &err) != MF_OK)
        return fail("list", err);
    List list(l_raw);
    std::printf("on-demand views: %zu (%s)\n", mf_object_list_count(list.get()),
                mf_object_list_name(list.get(), 0));
    char *desc = nullptr;
    if (mf_describe(store.get(), MF_KIND_ANY, "boosted", &desc, &err) != MF_OK)
        return fail("describe", err);
    std::printf("describe boosted: %s\n", std::strstr(desc, "\"transform_source\"") ? "has its transform" : "?");
    mf_free(desc);
    uint64_t version = 0;
    mf_registry_version(store.get(), &version, &err);
    std::printf("registry version %" PRIu64 ", %d log lines\n", version, log_lines);
    mf_set_log_callback(nullptr, nullptr);
    return 0;
}
