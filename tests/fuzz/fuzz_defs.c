/*
 * fuzz_defs.c — libFuzzer target over definition loading: the sandbox and
 * budgets (lua_host.c, lua/sandbox.lua), the DSL (lua/dsl.lua), the
 * conversion to registry messages, and the apply-time checks (infer.c).
 * Built and run by `make fuzz` (docs/development.md).
 *
 * Input: the text of one definition file, written as defs.lua into a repo
 * made once per process (a temp folder holding data/d.csv, so that file
 * sources named "data/d.csv" resolve). Each input is loaded under a small
 * budget (1,000,000 instructions, 32 MiB, 10 s: the instruction limit
 * always comes first, so answers do not depend on the machine's speed).
 * Checked on every input, aborting (a crash for libFuzzer) when broken:
 *   - a failure has an error code and a message, and returns no registry;
 *   - a success returns a registry holding only what validation allows:
 *     valid names for every object, feature and join key, ttls in
 *     [0, 9223372036854] seconds, dtypes that are known ValueTypes, and a
 *     message that packs and unpacks to an equal one;
 *   - when loading succeeds, the apply-time checks run on the result too.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_internal.h"

static char repo[64];
static char defs_path[128];
static mf__config cfg;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_defs: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) die("cannot write", path);
}

static void remove_repo(void) {
    char p[160];
    snprintf(p, sizeof p, "%s/data/d.csv", repo);
    unlink(p);
    snprintf(p, sizeof p, "%s/data", repo);
    rmdir(p);
    unlink(defs_path);
    rmdir(repo);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    snprintf(repo, sizeof repo, "/tmp/mf_fuzz_defs_XXXXXX");
    if (!mkdtemp(repo)) die("mkdtemp", repo);
    atexit(remove_repo);
    char p[160];
    snprintf(p, sizeof p, "%s/data", repo);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/data/d.csv", repo);
    static const char csv[] = "driver_id,event_timestamp,created,a,b,s\n"
                              "1001,2025-01-01T00:00:00Z,2025-01-01T00:00:00Z,1,0.5,x\n";
    write_file(p, csv, sizeof csv - 1);
    snprintf(defs_path, sizeof defs_path, "%s/defs.lua", repo);
    cfg.repo_path = repo;
    cfg.project = (char *)"fuzz";
    cfg.lua_budget.max_instructions = 1000000;
    cfg.lua_budget.max_memory = 32u << 20;
    cfg.lua_budget.max_ms = 10000;
    mf_set_log_level(0);
    return 0;
}

/*---- What a loaded registry may hold ---------------------------------------*/

static void check_name(const char *what, const char *s) {
    if (!s || !mf__valid_name(s)) die(what, s);
}

static void check_dtype(const char *what, int v) {
    if (!protobuf_c_enum_descriptor_get_value(&mf__value_type__descriptor, v) || v == 0)
        die(what, "unknown dtype");
}

static void check_fields(Mf__Field *const *f, size_t n) {
    for (size_t i = 0; i < n; i++) {
        check_name("feature name", f[i]->name);
        check_dtype("feature dtype", f[i]->dtype);
    }
}

static void check_registry(const Mf__Registry *reg) {
    for (int k = 0; k < MF_KIND_COUNT; k++)
        for (size_t i = 0; i < mf__reg_count(reg, k); i++) {
            mf__obj o;
            mf__reg_get(reg, k, i, &o);
            check_name("object name", o.name);
            if (strcmp(o.project, "fuzz") != 0) die("project", o.project);
        }
    for (size_t i = 0; i < reg->n_entities; i++) {
        const Mf__EntitySpec *e = reg->entities[i]->spec;
        for (size_t j = 0; j < e->n_join_keys; j++) check_name("join key", e->join_keys[j]);
        if (e->value_type) check_dtype("entity value_type", e->value_type);
    }
    for (size_t i = 0; i < reg->n_feature_views; i++) {
        const Mf__FeatureViewSpec *v = reg->feature_views[i]->spec;
        if (v->ttl_seconds < 0 || v->ttl_seconds > INT64_C(9223372036854)) die("ttl", v->name);
        check_fields(v->features, v->n_features);
        for (size_t j = 0; j < v->n_entities; j++) check_name("view entity", v->entities[j]);
    }
    for (size_t i = 0; i < reg->n_on_demand_feature_views; i++) {
        const Mf__OnDemandFeatureViewSpec *v = reg->on_demand_feature_views[i]->spec;
        check_fields(v->features, v->n_features);
    }
    for (size_t i = 0; i < reg->n_data_sources; i++) {
        const Mf__DataSourceSpec *d = reg->data_sources[i]->spec;
        check_fields(d->schema, d->n_schema);
    }
    size_t n = protobuf_c_message_get_packed_size(&reg->base);
    uint8_t *buf = malloc(n ? n : 1);
    if (protobuf_c_message_pack(&reg->base, buf) != n) die("pack", "size");
    ProtobufCMessage *back = protobuf_c_message_unpack(&mf__registry__descriptor, NULL, n, buf);
    if (!back || !mf__pb_equal(&reg->base, back)) die("pack", "round trip differs");
    protobuf_c_message_free_unpacked(back, NULL);
    free(buf);
}

/*---- The target ---------------------------------------------------------------*/

typedef struct answer {
    int rc;
    mf_error err;
    Mf__Registry *reg;
} answer;

static void load(answer *a) {
    mf__err_clear(&a->err);
    a->reg = NULL;
    a->rc = mf__defs_load(&cfg, &a->reg, &a->err);
    if (a->rc == MF_OK) {
        if (!a->reg) die("success", "without a registry");
    } else {
        if (a->reg) die("failure", "with a registry");
        if (a->err.code != a->rc || !a->err.message[0]) die("failure", "without a message");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    write_file(defs_path, data, size);
    answer a;
    load(&a);
    if (a.reg) {
        check_registry(a.reg);
        mf_error err;
        mf__err_clear(&err);
        int rc = mf__defs_resolve(&cfg, a.reg, false, &err);
        if (rc != MF_OK && !err.message[0]) die("resolve failure", "without a message");
    }
    mf__reg_free(a.reg);
    return 0;
}
