/*
 * fuzz_transform.c — libFuzzer target over on-demand transforms
 * (transform.c, the transform sandbox of lua/sandbox.lua, lua_host.c's
 * budgets), built and run by `make fuzz`.
 *
 * Input: one byte of options, then the transform's source text. Option
 * bit 0 picks batch mode. The transform runs over 40 rows of three inputs
 * (a Float64 with nulls, an Int64, a String) into two outputs (c Float64,
 * s String), in one runtime kept across inputs (as a server thread keeps
 * its own), under a small budget (50,000 instructions per call, 16 MiB,
 * 2 s). Checked on every input, aborting (a crash for libFuzzer) when
 * broken:
 *   - the call returns (libFuzzer's -timeout catches a hang: code the JIT
 *     compiled that the budget cannot stop);
 *   - success appends exactly 40 values to each output; failure has an
 *     error code and a message;
 *   - the runtime still works afterwards: a known transform computes known
 *     values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_internal.h"
#include "mf_transform.h"

#define ROWS 40

static mf__transforms *rt;
static mf__col in_a, in_b, in_s;
static uint64_t gen;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_transform: %s: %s\n", what, detail ? detail : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    mf__lua_budget b = {50000, 16u << 20, 2000};
    mf_error err;
    if (mf__transforms_new(&b, &rt, &err) != MF_OK) die("runtime", err.message);
    mf__col_init(&in_a, "a", MF__VALUE_TYPE__VT_DOUBLE, false);
    mf__col_init(&in_b, "b", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_init(&in_s, "s", MF__VALUE_TYPE__VT_STRING, false);
    for (int i = 0; i < ROWS; i++) {
        if (i % 5 == 0) mf__col_push_null(&in_a);
        else mf__col_push_num(&in_a, i * 0.25);
        mf__col_push_i64(&in_b, i - 20);
        char t[16];
        int n = snprintf(t, sizeof t, "r%d", i);
        mf__col_push_str(&in_s, t, (size_t)n);
    }
    mf_set_log_level(0);
    return 0;
}

/* Run `src` as view "o" (batch or row mode) into fresh outputs. */
static int run(const char *src, bool batch, mf__col *out, mf_error *err) {
    Mf__OnDemandFeatureView v;
    Mf__OnDemandFeatureViewSpec s;
    Mf__Field f[2];
    Mf__Field *fp[2] = {&f[0], &f[1]};
    mf__on_demand_feature_view__init(&v);
    mf__on_demand_feature_view_spec__init(&s);
    mf__field__init(&f[0]);
    mf__field__init(&f[1]);
    f[0].name = (char *)"c";
    f[0].dtype = MF__VALUE_TYPE__VT_DOUBLE;
    f[1].name = (char *)"s";
    f[1].dtype = MF__VALUE_TYPE__VT_STRING;
    s.name = (char *)"o";
    s.features = fp;
    s.n_features = 2;
    s.mode = (char *)(batch ? "batch" : "row");
    s.transform_source = (char *)src;
    s.transform_file = (char *)"fuzz.lua";
    s.transform_line = 1;
    v.spec = &s;
    mf__col_init(&out[0], "c", MF__VALUE_TYPE__VT_DOUBLE, false);
    mf__col_init(&out[1], "s", MF__VALUE_TYPE__VT_STRING, false);
    mf__tf_input in[] = {{"a", &in_a}, {"b", &in_b}, {"s", &in_s}};
    mf__err_clear(err);
    /* a new generation for every input: v lives on this stack frame */
    return mf__transforms_run(rt, ++gen, &v, in, 3, ROWS, out, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    bool batch = data[0] & 1;
    char *src = malloc(size);
    memcpy(src, data + 1, size - 1);
    src[size - 1] = '\0';
    mf__col out[2];
    mf_error err;
    int rc = run(src, batch, out, &err);
    if (rc == MF_OK && (out[0].n != ROWS || out[1].n != ROWS)) die("success", "rows missing");
    if (rc != MF_OK && (err.code != rc || !err.message[0])) die("failure", "without a message");
    mf__col_free(&out[0]);
    mf__col_free(&out[1]);
    free(src);
    /* the runtime still works */
    rc = run("function(r) return { c = r.b * 2, s = r.s } end", false, out, &err);
    if (rc != MF_OK) die("after the input, a known transform failed", err.message);
    if (out[0].n != ROWS || ((const double *)out[0].data)[3] != -34) die("known values", "c");
    mf__col_free(&out[0]);
    mf__col_free(&out[1]);
    return 0;
}
