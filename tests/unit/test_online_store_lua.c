/*
 * test_online_store_lua.c — online stores written in Lua (runtime/store_lua.c).
 *
 * 1. The store suite of store_suite.h (the contract every online store
 *    meets) on the example in-memory store,
 *    examples/lua_memory_store/memory.lua (the tests run from the top of
 *    the repository).
 * 2. Every error path, each an MF_ESTORE naming the module and what is
 *    wrong, after which the store answers again where it can: a module
 *    that does not exist, one that does not compile, one that raises while
 *    loading, one that returns no table, a missing function, a function
 *    that raises (with file:line), a runaway loop stopped by the budget,
 *    read answers of the wrong shape.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "store_suite.h"

static char *tmp_root;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* A configuration whose online store is the Lua module at `module`. */
static struct {
    char *name, *value;
} test_opts[1] = {{(char *)"greeting", (char *)"hello from the yaml"}};

static void cfg_for(mf__config *cfg, const char *module) {
    memset(cfg, 0, sizeof *cfg);
    static const char *keep[1];
    static char *str[1];
    static int64_t num[1];
    (void)keep;
    str[0] = (char *)module;
    cfg->online.type = (char *)"lua";
    cfg->online.st = mf__store_type_find(mf__online_types, mf__n_online_types, "lua");
    cfg->online.str = str;
    cfg->online.num = num;
    cfg->online.extra = (void *)test_opts;
    cfg->online.n_extra = 1;
    cfg->transform_budget.max_instructions = 1000000;
    cfg->transform_budget.max_ms = 1000;
    cfg->transform_budget.max_memory = (size_t)64 << 20;
    cfg->lua_budget.max_memory = (size_t)64 << 20;
}

static mf__online *open_module_mb(const char *module, size_t mb) {
    mf__config cfg;
    cfg_for(&cfg, module);
    if (mb) cfg.lua_budget.max_memory = mb << 20;
    mf__online *s = NULL;
    mf_error err;
    if (mf__online_open(&cfg, &s, &err) != MF_OK) {
        printf("#   open %s: %s\n", module, err.message);
        return NULL;
    }
    return s;
}

static mf__online *open_module(const char *module) { return open_module_mb(module, 0); }

/* A module file with this text under tmp_root. */
static char *module_file(const char *name, const char *text) {
    char *p = mf__xasprintf("%s/%s", tmp_root, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

/* A view "v" with one Int64 feature "x", and a batch of one row for it. */
static Mf__FeatureViewSpec *one_view(void) {
    static Mf__FeatureViewSpec spec = MF__FEATURE_VIEW_SPEC__INIT;
    static Mf__Field feat = MF__FIELD__INIT;
    static Mf__Field *feats[1] = {&feat};
    feat.name = (char *)"x";
    feat.dtype = MF__VALUE_TYPE__VT_INT64;
    spec.name = (char *)"v";
    spec.n_features = 1;
    spec.features = feats;
    return &spec;
}

/* Read key "k" of view v from s; returns the call's code. */
static int read_one(mf__online *s, mf_error *err) {
    Mf__FeatureViewSpec *v = one_view();
    const unsigned char *keys[1] = {(const unsigned char *)"k"};
    size_t lens[1] = {1}, idx[1] = {0};
    mf__col col, *out[1] = {&col};
    mf__col_init(&col, "x", MF__VALUE_TYPE__VT_INT64, false);
    uint8_t found[1];
    int64_t ts[1];
    mf__read_batch rb = {v, 1, keys, lens, idx, 1, out, found, ts};
    int rc = s->vt->read(s, "p", &rb, err);
    mf__col_free(&col);
    return rc;
}

static int write_one(mf__online *s, mf_error *err) {
    Mf__FeatureViewSpec *v = one_view();
    mf__col col;
    mf__col_init(&col, "x", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_push_i64(&col, 7);
    const unsigned char *keys[1] = {(const unsigned char *)"k"};
    size_t lens[1] = {1};
    int64_t ets[1] = {1000000}, cts[1] = {0};
    mf__write_batch wb = {v, 1, keys, lens, ets, cts, &col, NULL};
    int rc = s->vt->write_batch(s, "p", &wb, err);
    mf__col_free(&col);
    return rc;
}

/* Each broken module: the first call fails naming the module and `want`. */
static void test_broken_modules(void) {
    static const struct {
        const char *name, *text, *want;
    } cases[] = {
        {"syntax.lua", "return {", "loading the module"},
        {"raises.lua", "error('no config here')", "no config here"},
        {"notable.lua", "return 42", "must return a table of functions"},
        {"noread.lua",
         "return { update = function() end, teardown = function() end, write = function() end }",
         "has no function 'read'"},
        {"global.lua", "x = 1 return {}", "global"},
        /* an __index that raises: read where an error would end the
         * process, it must not run at all */
        {"meta.lua", "return setmetatable({}, {__index = function(t, k) error('no ' .. k) end})",
         "has no function 'update'"},
        {"options.lua", "local opts = ... error('options: ' .. opts.greeting)",
         "options: hello from the yaml"},
        /* a table like the DSL's errors is user code's here: its location,
         * not "invalid definition" */
        {"mftable.lua", "\nerror({mf = true})", "mftable.lua:2: (error object is a table value)"}};
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        char *path = module_file(cases[i].name, cases[i].text);
        mf__online *s = open_module(path);
        CHECK(s != NULL);
        if (!s) {
            free(path);
            continue;
        }
        mf_error err;
        CHECK(read_one(s, &err) == MF_ESTORE);
        CHECK_HAS(err.message, cases[i].name);
        CHECK_HAS(err.message, cases[i].want);
        s->vt->close(s);
        free(path);
    }
    /* functions inherited through an __index table are the module's */
    char *path = module_file("inherits.lua",
                             "local base = { update = function() end, teardown = function() end,\n"
                             "  write = function() end, read = function() return {}, {} end }\n"
                             "return setmetatable({}, { __index = setmetatable({}, "
                             "{ __index = base }) })\n");
    mf__online *s = open_module(path);
    CHECK(s != NULL);
    if (s) {
        mf_error err;
        int rc = read_one(s, &err);
        if (rc != MF_OK) printf("#   inherits.lua: %s\n", err.message);
        CHECK(rc == MF_OK);
        s->vt->close(s);
    }
    free(path);
    s = open_module("/nonexistent/store.lua");
    CHECK(s != NULL);
    if (s) {
        mf_error err;
        CHECK(read_one(s, &err) == MF_ESTORE);
        CHECK_HAS(err.message, "/nonexistent/store.lua");
        s->vt->close(s);
    }
}

/* A function that raises, one that loops, answers of the wrong shape:
 * errors of the call, and the store answers the next call. */
static void test_call_errors(void) {
    char *path = module_file(
        "calls.lua",
        "local mode = 'ok'\n"
        "local rows = {}\n"
        "return {\n"
        "  update = function() end, teardown = function() end,\n"
        "  write = function(p, v, r)\n"
        "    if r.values[1] == nil then error('no value') end\n"
        "    rows[r.keys[1]] = { r.ts[1], r.values[1] }\n"
        "    mode = mode == 'ok' and 'raise' or mode == 'raise' and 'loop'\n"
        "      or mode == 'loop' and 'shape' or mode == 'shape' and 'entry' or 'ok'\n"
        "  end,\n"
        "  read = function(p, v, keys)\n"
        "    if mode == 'raise' then error('read failed on purpose') end\n"
        "    if mode == 'loop' then while true do end end\n"
        "    if mode == 'shape' then return 1, 2 end\n"
        "    if mode == 'entry' then return { 'not a time' }, { 1 } end\n"
        "    local r = rows[keys[1]]\n"
        "    if r then return { r[1] }, { r[2] } end\n"
        "    return {}, {}\n"
        "  end }\n");
    mf__online *s = open_module(path);
    CHECK(s != NULL);
    if (!s) {
        free(path);
        return;
    }
    mf_error err;
    CHECK(read_one(s, &err) == MF_OK); /* mode ok: nothing stored */
    CHECK(write_one(s, &err) == MF_OK); /* -> raise */
    CHECK(read_one(s, &err) == MF_ESTORE);
    CHECK_HAS(err.message, "calls.lua:12");
    CHECK_HAS(err.message, "read failed on purpose");
    CHECK_HAS(err.message, ", read:");
    CHECK(write_one(s, &err) == MF_OK); /* -> loop */
    CHECK(read_one(s, &err) == MF_ESTORE);
    CHECK_HAS(err.message, "calls.lua");
    CHECK_HAS(err.message, "lua.transform_max_instructions");
    CHECK(write_one(s, &err) == MF_OK); /* -> shape */
    CHECK(read_one(s, &err) == MF_ESTORE);
    CHECK_HAS(err.message, "must return two lists");
    CHECK(write_one(s, &err) == MF_OK); /* -> entry */
    CHECK(read_one(s, &err) == MF_ESTORE);
    CHECK_HAS(err.message, "entry 1 must be a time");
    CHECK(write_one(s, &err) == MF_OK); /* -> ok */
    CHECK(read_one(s, &err) == MF_OK);
    s->vt->close(s);
    free(path);
}

/* A read answering a time outside the years 1 to 9999 (which the Redis
 * store refuses too; 9e18 us is in the year 287168) is an error naming
 * the module and the entry, not a timestamp no text form can hold. */
static void test_read_time_range(void) {
    char *path = module_file(
        "times.lua",
        "local rows = {}\n"
        "local ts = 9e18\n"
        "return {\n"
        "  update = function() end, teardown = function() end,\n"
        "  write = function(p, v, r) rows[r.keys[1]] = r.values[1] end,\n"
        "  read = function(p, v, keys)\n"
        "    local t = ts\n"
        "    ts = ts == 9e18 and -9e18 or 1000000\n"
        "    return { t }, { rows[keys[1]] }\n"
        "  end }\n");
    mf__online *s = open_module(path);
    CHECK(s != NULL);
    if (!s) {
        free(path);
        return;
    }
    mf_error err;
    CHECK(write_one(s, &err) == MF_OK);
    CHECK(read_one(s, &err) == MF_ESTORE);
    CHECK_HAS(err.message, "times.lua");
    CHECK_HAS(err.message, "entry 1: the time 9e+18 (microseconds since the epoch) is out of "
                           "range (years 1 to 9999)");
    CHECK(read_one(s, &err) == MF_ESTORE); /* -9e18: before the year 1 */
    CHECK_HAS(err.message, "out of range (years 1 to 9999)");
    CHECK(read_one(s, &err) == MF_OK); /* 1 s after the epoch */
    s->vt->close(s);
    free(path);
}

/* A write that fills the store's Lua memory cap fails; its garbage must
 * not be charged to the next call's arguments: a batch whose arguments
 * take a good part of the cap (40,000 rows against 16 MiB) still goes in,
 * then a read answers. */
static void test_after_memory_error(void) {
    char *path = module_file(
        "fills.lua",
        "local first = true\n"
        "return {\n"
        "  update = function() end, teardown = function() end,\n"
        "  write = function(p, v, r)\n"
        "    if first then first = false local t = {} for i = 1, 1e8 do t[i] = {i} end end\n"
        "  end,\n"
        "  read = function(p, v, keys) return {}, {} end }\n");
    mf__online *s = open_module_mb(path, 16);
    CHECK(s != NULL);
    if (!s) {
        free(path);
        return;
    }
    mf_error err;
    CHECK(write_one(s, &err) == MF_ESTORE);
    CHECK_HAS(err.message, "16 MiB");
    enum { N = 40000 };
    Mf__FeatureViewSpec *v = one_view();
    mf__col col;
    mf__col_init(&col, "x", MF__VALUE_TYPE__VT_INT64, false);
    const unsigned char **keys = mf__xcalloc(N, sizeof *keys);
    size_t *lens = mf__xcalloc(N, sizeof *lens);
    int64_t *ets = mf__xcalloc(N, sizeof *ets), *cts = mf__xcalloc(N, sizeof *cts);
    char (*names)[16] = mf__xcalloc(N, sizeof *names);
    for (size_t i = 0; i < N; i++) {
        lens[i] = (size_t)snprintf(names[i], sizeof names[i], "key%zu", i);
        keys[i] = (const unsigned char *)names[i];
        ets[i] = 1000000;
        mf__col_push_i64(&col, (int64_t)i);
    }
    mf__write_batch wb = {v, N, keys, lens, ets, cts, &col, NULL};
    int rc = s->vt->write_batch(s, "p", &wb, &err);
    if (rc != MF_OK) printf("#   the batch after the full call: %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK(read_one(s, &err) == MF_OK);
    mf__col_free(&col);
    free(keys);
    free(lens);
    free(ets);
    free(cts);
    free(names);
    s->vt->close(s);
    free(path);
}

/* Jansson's heap, counted: bytes held now and the most held. */
static size_t json_held, json_peak;

static void *json_count_malloc(size_t n) {
    size_t *p = malloc(n + sizeof(size_t));
    if (!p) return NULL;
    *p = n;
    json_held += n;
    if (json_held > json_peak) json_peak = json_held;
    return p + 1;
}

static void json_count_free(void *q) {
    if (!q) return;
    size_t *p = (size_t *)q - 1;
    json_held -= *p;
    free(p);
}

/* Open the module at path as a lua_source's module is opened (with the
 * host table), under a memory cap of mb MiB. */
static int open_with_host(const char *path, size_t mb, mf_error *err) {
    static const char *const funcs[] = {"read"};
    mf__lua_module m = {"lua_source", path, {1000000, (size_t)mb << 20, 5000}, MF_EDATA,
                        NULL, NULL, 0, funcs, 1, "read", tmp_root, MF__LUA_KEYS_LUA};
    mf__lstate *ls = NULL;
    int ref;
    int rc = mf__lua_module_open(&m, &ls, &ref, err);
    mf__lstate_free(ls);
    return rc;
}

/* host.json's values count against the state's memory cap: a text whose
 * values could pass the room left under it is refused before Jansson
 * decodes it (it decoded 1.3 GB under a 256 MiB cap; the Lua table made of
 * it then ran out). */
static void test_host_json_capped(void) {
    char *path = module_file("json.lua",
                             "local opts, host = ...\n"
                             "local t = host.json('[' .. ('0,'):rep(1000000) .. '0]')\n"
                             "return { read = function() end }\n");
    json_set_alloc_funcs(json_count_malloc, json_count_free);
    json_held = json_peak = 0;
    mf_error err;
    int rc = open_with_host(path, 16, &err);
    json_set_alloc_funcs(malloc, free);
    CHECK(rc != MF_OK);
    CHECK_HAS(err.message, "16 MiB");
    printf("# host.json of 1,000,001 numbers under a 16 MiB cap: Jansson held %zu bytes at most\n",
           json_peak);
    CHECK(json_peak < ((size_t)1 << 20));
    free(path);
    /* a text that fits is decoded (and a module, unlike a transform, may
     * seed math.random) */
    path = module_file("json_ok.lua",
                       "local opts, host = ...\n"
                       "math.randomseed(42)\n"
                       "local t = host.json('{\"a\": [1, 2, 3], \"b\": \"x\"}')\n"
                       "assert(t.a[3] == 3 and t.b == 'x')\n"
                       "return { read = function() end }\n");
    rc = open_with_host(path, 16, &err);
    if (rc != MF_OK) printf("#   %s\n", err.message);
    CHECK(rc == MF_OK);
    free(path);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    tmp_root = mf__xasprintf("%s/mft_online_lua_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        printf("not ok - mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    mf__online *s = open_module("examples/lua_memory_store/memory.lua");
    if (s) {
        mfs_run_all(s, "lua memory store", "proj");
        s->vt->close(s);
    } else {
        printf("not ok - open the example memory store\n");
        mft_failed++;
    }
    RUN(test_broken_modules);
    RUN(test_call_errors);
    RUN(test_read_time_range);
    RUN(test_after_memory_error);
    RUN(test_host_json_capped);
    nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp_root);
    MFT_END();
}
