/*
 * test_dsl.c — unit tests of the definition layer: lua/dsl.lua run by
 * runtime/lua_host.c (mf__defs_load) and the apply-time checks of
 * runtime/infer.c (mf__defs_resolve).
 *
 * Each test gets a fresh mkdtemp repo directory, writes a small definition
 * file (defs.lua) and, where a source is read, a small CSV, then loads it
 * with a hand-filled mf__config. Failures are checked for the code, the
 * file and line of the offending definition, and a key phrase of the
 * message; successes for the protobuf fields built.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "mf_internal.h"
#include "mft.h"

/*---- Helpers ---------------------------------------------------------------*/

/* whether resolving checks every source (apply's default) */
static bool validate_sources = true;

static char repo[PATH_MAX]; /* realpath of this test's repo directory */
static char project[] = "proj";
static mf__lua_budget budget; /* the Lua budget of cfg(); zero = defaults */

static void repo_setup(void) {
    char tmpl[] = "/tmp/mft_dsl_XXXXXX";
    if (!mkdtemp(tmpl) || !realpath(tmpl, repo)) {
        perror("mkdtemp");
        exit(2);
    }
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void repo_teardown(void) {
    nftw(repo, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    memset(&budget, 0, sizeof budget);
}

#define T(fn)                                                                \
    do {                                                                     \
        repo_setup();                                                        \
        RUN(fn);                                                             \
        repo_teardown();                                                     \
    } while (0)

/* Absolute path of rel inside the repo (static storage, one at a time). */
static const char *in_repo(const char *rel) {
    static char p[PATH_MAX + 256];
    snprintf(p, sizeof p, "%s/%s", repo, rel);
    return p;
}

/* Write text to <repo>/<rel>, creating one level of folder if needed. */
static void write_file(const char *rel, const char *text) {
    const char *slash = strchr(rel, '/');
    if (slash) {
        char dir[256];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - rel), rel);
        mkdir(in_repo(dir), 0777);
    }
    const char *p = in_repo(rel);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *rel) {
    struct stat st;
    return stat(in_repo(rel), &st) == 0;
}

/* The configuration of the test repo: only what the definition layer uses. */
static const mf__config *cfg(void) {
    static mf__config c;
    memset(&c, 0, sizeof c);
    c.repo_path = repo;
    c.project = project;
    c.lua_budget = budget;
    return &c;
}

/* Write defs.lua and load the repo's definitions. */
static int load(const char *text, Mf__Registry **reg, mf_error *err) {
    write_file("defs.lua", text);
    mf__err_clear(err);
    *reg = NULL;
    return mf__defs_load(cfg(), reg, err);
}

/* Load (and resolve, when `resolve`) and expect the failure `code` naming
 * file:line and holding `phrase`. Prints what differs; frees everything. */
static bool fails_in(const char *file, int line, bool resolve, int code, const char *phrase) {
    Mf__Registry *reg = NULL;
    mf_error err;
    mf__err_clear(&err);
    int rc = mf__defs_load(cfg(), &reg, &err);
    if (rc == MF_OK && reg == NULL) {
        printf("#   load succeeded without a registry\n");
        return false;
    }
    if (rc != MF_OK && reg != NULL) {
        printf("#   load failed but set *out\n");
        mf__reg_free(reg);
        return false;
    }
    if (rc == MF_OK && resolve) rc = mf__defs_resolve(cfg(), reg, validate_sources, &err);
    mf__reg_free(reg);
    bool ok = true;
    if (rc != code || err.code != code) {
        printf("#   rc %d (err.code %d), want %d\n", rc, err.code, code);
        ok = false;
    }
    if (rc == MF_OK) return false;
    if (strcmp(err.file, file) != 0) {
        printf("#   err.file '%s', want '%s'\n", err.file, file);
        ok = false;
    }
    if (err.line != line) {
        printf("#   err.line %d, want %d\n", err.line, line);
        ok = false;
    }
    if (!strstr(err.message, phrase)) {
        printf("#   message lacks '%s'\n", phrase);
        ok = false;
    }
    if (!ok) printf("#   message: %s\n", err.message);
    return ok;
}

/* defs.lua holding `text` fails to load at `line` with `phrase`. */
static bool def_fails(const char *text, int code, int line, const char *phrase) {
    write_file("defs.lua", text);
    return fails_in("defs.lua", line, false, code, phrase);
}

/* Same, failing in mf__defs_resolve (apply time). */
static bool resolve_fails(const char *text, int line, const char *phrase) {
    write_file("defs.lua", text);
    return fails_in("defs.lua", line, true, MF_EDEF, phrase);
}

#define CHECK_DEF_FAILS(text, line, phrase) CHECK(def_fails((text), MF_EDEF, (line), (phrase)))
#define CHECK_LUA_FAILS(text, line, phrase) CHECK(def_fails((text), MF_ELUA, (line), (phrase)))

/* Load text that must be valid; on failure print the message. */
static Mf__Registry *load_ok(const char *text) {
    Mf__Registry *reg;
    mf_error err;
    int rc = load(text, &reg, &err);
    if (rc) {
        printf("#   load failed (%d): %s:%d: %s\n", rc, err.file, err.line, err.message);
        return NULL;
    }
    return reg;
}

/* Load and resolve text that must be valid. */
static Mf__Registry *resolve_ok(const char *text) {
    Mf__Registry *reg = load_ok(text);
    if (!reg) return NULL;
    mf_error err;
    mf__err_clear(&err);
    int rc = mf__defs_resolve(cfg(), reg, validate_sources, &err);
    if (rc) {
        printf("#   resolve failed (%d): %s:%d: %s\n", rc, err.file, err.line, err.message);
        mf__reg_free(reg);
        return NULL;
    }
    return reg;
}

static long find(const Mf__Registry *reg, mf_object_kind kind, const char *name) {
    return mf__reg_find(reg, kind, project, name);
}

/* A repo's worth of valid objects, four lines; tests add from line P + 1. */
#define PRE                                                                              \
    "local driver = entity { name = \"driver\", join_keys = { \"driver_id\" }, value_type = Int64 }\n" \
    "local src = file_source { name = \"src\", path = \"data.csv\", timestamp_field = \"ts\" }\n" \
    "local fv = feature_view { name = \"fv\", entities = { driver }, source = src,\n"        \
    "  schema = { field { name = \"a\", dtype = Int64 }, field { name = \"b\", dtype = Float64 } } }\n"
#define P 4

/* A valid on-demand view over fv, on one line. */
#define ODFV(name)                                                                       \
    "on_demand_feature_view { name = \"" name "\", sources = { fv }, "                     \
    "schema = { field { name = \"c\", dtype = Float64 } }, "                               \
    "transform = function(r) return { c = r.a + r.b } end }\n"

/*---- Names -----------------------------------------------------------------*/

static void test_bad_object_names(void) {
    CHECK_DEF_FAILS("entity { name = \"1driver\", join_keys = { \"k\" } }\n", 1,
                    "entity name '1driver' is not valid");
    CHECK_DEF_FAILS("\n\nentity {\n  name = \"dri-ver\",\n  join_keys = { \"k\" },\n}\n", 3,
                    "entity name 'dri-ver' is not valid");
    CHECK_DEF_FAILS(PRE "feature_view { name = \"my view\", source = src }\n", P + 1,
                    "feature_view name 'my view' is not valid");
    CHECK_DEF_FAILS("file_source { name = \"\", path = \"x.csv\", timestamp_field = \"ts\" }\n", 1,
                    "file_source name '' is not valid");
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s.1\", features = { fv } }\n", P + 1,
                    "feature_service name 's.1' is not valid");
    CHECK_DEF_FAILS(PRE "request_source { schema = { field { name = \"x\", dtype = Int64 } } }\n",
                    P + 1, "request_source needs a string 'name'");
    CHECK_DEF_FAILS("entity { name = 42, join_keys = { \"k\" } }\n", 1,
                    "entity needs a string 'name'");
}

static void test_bad_field_name(void) {
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", source = src, schema = {\n"
                        "  field { name = \"ok\", dtype = Int64 },\n"
                        "  field { name = \"not ok\", dtype = Int64 },\n"
                        "} }\n",
                    P + 3, "field name 'not ok' is not valid");
    CHECK_DEF_FAILS(PRE "request_source { name = \"r\", schema = { field { dtype = Int64 } } }\n",
                    P + 1, "field needs a string 'name'");
}

static void test_bad_alias(void) {
    CHECK_DEF_FAILS(PRE "feature_service {\n  name = \"s\",\n"
                        "  features = { fv:with_name(\"bad-alias\") },\n}\n",
                    P + 3, "alias name 'bad-alias' is not valid");
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = { fv:with_name(7) } }\n", P + 1,
                    "needs a string 'name'");
}

static void test_bad_join_keys(void) {
    CHECK_DEF_FAILS("\nentity { name = \"e\", join_keys = { \"driver id\" } }\n", 2,
                    "join key 'driver id' is not a valid column name");
    CHECK_DEF_FAILS("entity { name = \"e\", join_keys = { \"a\", \"b\", \"a\" } }\n", 1,
                    "duplicate join key 'a'");
    CHECK_DEF_FAILS("entity { name = \"e\", join_keys = {} }\n", 1, "join_keys must not be empty");
    CHECK_DEF_FAILS("entity { name = \"e\", join_keys = { 3 } }\n", 1, "item 1 must be a string");
    /* join_key (singular, a string) is accepted */
    Mf__Registry *reg = load_ok("entity { name = \"e\", join_key = \"k\" }\n");
    CHECK(reg);
    CHECK(reg->n_entities == 1 && reg->entities[0]->spec->n_join_keys == 1);
    CHECK_STR(reg->entities[0]->spec->join_keys[0], "k");
    mf__reg_free(reg);
}

static void test_duplicate_names(void) {
    CHECK_DEF_FAILS("entity { name = \"e\", join_keys = { \"k\" } }\n"
                    "\n"
                    "entity { name = \"e\", join_keys = { \"j\" } }\n",
                    3, "duplicate entity name 'e' (first defined at defs.lua:1)");
    /* data sources of different constructors share one namespace */
    CHECK_DEF_FAILS(PRE "request_source { name = \"src\", schema = { field { name = \"x\", dtype = Int64 } } }\n",
                    P + 1, "duplicate data source name 'src' (first defined at defs.lua:2)");
    CHECK_DEF_FAILS(PRE "\nfeature_view { name = \"fv\", source = src }\n", P + 2,
                    "duplicate feature view name 'fv' (first defined at defs.lua:3)");
    CHECK_DEF_FAILS(PRE ODFV("o") ODFV("o"), P + 2,
                    "duplicate on-demand feature view name 'o' (first defined at defs.lua:5)");
    /* a feature view and an on-demand view share one name space (refs
     * 'fv:c' named the feature view: the on-demand view was unreachable) */
    CHECK_DEF_FAILS(PRE ODFV("fv"), P + 1,
                    "duplicate view name 'fv': a feature view at defs.lua:3 has it already");
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = { fv } }\n"
                        "feature_service { name = \"s\", features = { fv } }\n",
                    P + 2, "duplicate feature service name 's' (first defined at defs.lua:5)");
}

static void test_duplicate_across_files(void) {
    write_file("a.lua", "-- first\nentity { name = \"e\", join_keys = { \"k\" } }\n");
    write_file("b.lua", "\n\nentity { name = \"e\", join_keys = { \"k\" } }\n");
    CHECK(fails_in("b.lua", 3, false, MF_EDEF,
                   "duplicate entity name 'e' (first defined at a.lua:2)"));
}

static void test_same_name_other_kinds(void) {
    Mf__Registry *reg = load_ok(
        "local e = entity { name = \"x\", join_keys = { \"k\" } }\n"
        "local s = file_source { name = \"x\", path = \"x.csv\", timestamp_field = \"ts\" }\n"
        "local v = feature_view { name = \"x\", entities = { e }, source = s,\n"
        "  schema = { field { name = \"f\", dtype = Int64 } } }\n"
        "on_demand_feature_view { name = \"y\", sources = { v },\n"
        "  schema = { field { name = \"g\", dtype = Int64 } },\n"
        "  transform = function(r) return { g = r.f } end }\n"
        "feature_service { name = \"x\", features = { v } }\n");
    CHECK(reg);
    CHECK(reg->n_entities == 1 && reg->n_data_sources == 1 && reg->n_feature_views == 1 &&
          reg->n_on_demand_feature_views == 1 && reg->n_feature_services == 1);
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        mf__obj o;
        mf__reg_get(reg, k, 0, &o);
        /* (views of both kinds share one name space: test_duplicate_names) */
        CHECK_STR(o.name, k == MF_KIND_ON_DEMAND_FEATURE_VIEW ? "y" : "x");
    }
    CHECK_STR(reg->feature_views[0]->spec->source, "x");
    CHECK_STR(reg->feature_views[0]->spec->entities[0], "x");
    CHECK_STR(reg->feature_services[0]->spec->features[0]->view_name, "x");
    mf__reg_free(reg);
}

/*---- Types -----------------------------------------------------------------*/

static void test_unknown_dtype(void) {
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", source = src,\n"
                        "  schema = { field { name = \"x\", dtype = \"Integer\" } } }\n",
                    P + 2, "field 'x': unknown dtype 'Integer'");
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", source = src,\n"
                        "  schema = { field { name = \"x\", dtype = 42 } } }\n",
                    P + 2, "field 'x': unknown dtype 42");
    CHECK_DEF_FAILS(PRE "request_source { name = \"r\",\n"
                        "  schema = { field { name = \"x\", dtype = driver } } }\n",
                    P + 2, "field 'x': unknown dtype entity driver");
    CHECK_DEF_FAILS(PRE "request_source { name = \"r\", schema = { field { name = \"x\" } } }\n",
                    P + 1, "field 'x': missing required field 'dtype'");
    CHECK_DEF_FAILS("entity { name = \"e\", join_keys = { \"k\" }, value_type = \"int\" }\n", 1,
                    "entity 'e': unknown dtype 'int'");
    /* type names are case-sensitive, as in Feast */
    CHECK_DEF_FAILS("\nentity { name = \"e\", join_keys = { \"k\" }, value_type = \"int64\" }\n", 2,
                    "unknown dtype 'int64'");
}

static void test_array_types(void) {
    /* the string form goes through dtype parsing: an invalid definition */
    CHECK_DEF_FAILS(PRE "request_source { name = \"r\",\n"
                        "  schema = { field { name = \"x\", dtype = \"Array(Array(Int64))\" } } }\n",
                    P + 2, "unknown dtype 'Array(Array(Int64))'");
    /* Array() of a non-scalar: an invalid definition at the caller's line */
    CHECK_DEF_FAILS(PRE "request_source { name = \"r\",\n"
                        "  schema = { field { name = \"x\", dtype = Array(Array(Int64)) } } }\n",
                    P + 2, "Array() takes a scalar type");
    CHECK_DEF_FAILS("\nlocal t = Array(\"Nope\")\n", 2, "Array() takes a scalar type");
    /* valid forms and their ValueType numbers */
    Mf__Registry *reg = load_ok(
        "request_source { name = \"r\", schema = {\n"
        "  field { name = \"a\", dtype = Array(Int64) },\n"
        "  field { name = \"b\", dtype = \"Array(String)\" },\n"
        "  field { name = \"c\", dtype = Array(\"UnixTimestamp\") },\n"
        "  field { name = \"d\", dtype = \"Float32\" },\n"
        "  field { name = \"e\", dtype = Bytes },\n"
        "} }\n");
    CHECK(reg);
    Mf__DataSourceSpec *r = reg->data_sources[0]->spec;
    CHECK(r->n_schema == 5);
    CHECK(r->schema[0]->dtype == MF__VALUE_TYPE__VT_INT64_LIST);
    CHECK(r->schema[1]->dtype == MF__VALUE_TYPE__VT_STRING_LIST);
    CHECK(r->schema[2]->dtype == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST);
    CHECK(r->schema[3]->dtype == MF__VALUE_TYPE__VT_FLOAT);
    CHECK(r->schema[4]->dtype == MF__VALUE_TYPE__VT_BYTES);
    mf__reg_free(reg);
}

/*---- Required and unknown fields -------------------------------------------*/

static void test_missing_required(void) {
    static const struct {
        const char *text;
        int line;
        const char *phrase;
    } cases[] = {
        {"entity { name = \"e\" }\n", P + 1, "entity 'e': missing required field 'join_keys'"},
        {"\nfile_source {\n  name = \"s\",\n  timestamp_field = \"ts\",\n}\n", P + 2,
         "file_source 's': missing required field 'path'"},
        {"file_source { name = \"s\", path = \"\", timestamp_field = \"ts\" }\n", P + 1,
         "file_source 's': missing required field 'path'"},
        {"file_source { name = \"s\", path = \"x.csv\" }\n", P + 1,
         "file_source 's': missing required field 'timestamp_field'"},
        {"sqlite_source { name = \"s\", table = \"t\", timestamp_field = \"ts\" }\n", P + 1,
         "sqlite_source 's': missing required field 'database'"},
        {"sqlite_source { name = \"s\", database = \"d.db\", timestamp_field = \"ts\" }\n", P + 1,
         "sqlite_source 's': give exactly one of 'table' and 'query'"},
        {"sqlite_source { name = \"s\", database = \"d.db\", table = \"t\",\n"
         "  query = \"select 1\", timestamp_field = \"ts\" }\n",
         P + 1, "sqlite_source 's': give exactly one of 'table' and 'query'"},
        {"sqlite_source { name = \"s\", database = \"d.db\", table = \"t\" }\n", P + 1,
         "sqlite_source 's': missing required field 'timestamp_field'"},
        {"push_source { name = \"p\" }\n", P + 1,
         "push_source 'p': missing required field 'batch_source'"},
        {"request_source { name = \"r\" }\n", P + 1,
         "request_source 'r': missing required field 'schema'"},
        {"request_source { name = \"r\", schema = {} }\n", P + 1,
         "request_source 'r': schema must not be empty"},
        {"feature_view { name = \"v\", entities = { driver },\n"
         "  schema = { field { name = \"x\", dtype = Int64 } } }\n",
         P + 1, "feature_view 'v': missing required field 'source'"},
        {"on_demand_feature_view { name = \"o\", schema = { field { name = \"c\", dtype = Int64 } },\n"
         "  transform = function(r) return r end }\n",
         P + 1, "on_demand_feature_view 'o': 'sources' must list feature views and request sources"},
        {"on_demand_feature_view { name = \"o\", sources = {},\n"
         "  schema = { field { name = \"c\", dtype = Int64 } }, transform = function(r) return r end }\n",
         P + 1, "on_demand_feature_view 'o': 'sources' must list"},
        {"on_demand_feature_view { name = \"o\", sources = { fv },\n"
         "  transform = function(r) return r end }\n",
         P + 1, "on_demand_feature_view 'o': missing required field 'schema'"},
        {"on_demand_feature_view { name = \"o\", sources = { fv }, schema = {},\n"
         "  transform = function(r) return r end }\n",
         P + 1, "on_demand_feature_view 'o': schema must not be empty"},
        {"on_demand_feature_view { name = \"o\", sources = { fv },\n"
         "  schema = { field { name = \"c\", dtype = Int64 } } }\n",
         P + 1, "on_demand_feature_view 'o': missing required field 'transform'"},
        {"on_demand_feature_view { name = \"o\", sources = { fv },\n"
         "  schema = { field { name = \"c\", dtype = Int64 } }, transform = 5 }\n",
         P + 1, "on_demand_feature_view 'o': 'transform' must be a function"},
        {"feature_service { name = \"s\" }\n", P + 1,
         "feature_service 's': 'features' must list feature views or projections"},
        {"feature_service { name = \"s\", features = {} }\n", P + 1,
         "feature_service 's': 'features' must list"},
    };
    char text[4096];
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        snprintf(text, sizeof text, PRE "%s", cases[i].text);
        bool ok = def_fails(text, MF_EDEF, cases[i].line, cases[i].phrase);
        if (!ok) printf("#   case %zu: %s", i, cases[i].text);
        CHECK(ok);
    }
}

static void test_unknown_field(void) {
    CHECK_DEF_FAILS("entity { name = \"e\", join_keys = { \"k\" }, joinkey = \"k\" }\n", 1,
                    "entity: unknown field 'joinkey' (allowed: name, join_keys, join_key,");
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", source = src, ttl_seconds = 5 }\n", P + 1,
                    "feature_view: unknown field 'ttl_seconds'");
    CHECK_DEF_FAILS(PRE "request_source { name = \"r\",\n"
                        "  schema = { field { name = \"x\", type = Int64 } } }\n",
                    P + 2, "field: unknown field 'type'");
    CHECK_DEF_FAILS("file_source { name = \"s\", path = \"x.csv\", timestamp_field = \"ts\",\n"
                    "  timestamp_column = \"ts\" }\n",
                    1, "file_source: unknown field 'timestamp_column'");
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = { fv }, feature = { fv } }\n",
                    P + 1, "feature_service: unknown field 'feature'");
    CHECK_DEF_FAILS("entity \"e\"\n", 1, "entity takes one table argument");
}

static void test_ttl(void) {
#define VIEW_TTL(ttl)                                                        \
    PRE "\nfeature_view { name = \"v\", source = src, ttl = " ttl ",\n"      \
        "  schema = { field { name = \"x\", dtype = Int64 } } }\n"
    CHECK_DEF_FAILS(VIEW_TTL("-1"), P + 2, "feature_view 'v': ttl must not be negative (got -1)");
    CHECK_DEF_FAILS(VIEW_TTL("1.5"), P + 2, "ttl must be a whole number of seconds (got 1.5)");
    CHECK_DEF_FAILS(VIEW_TTL("hours(0.0001)"), P + 2, "ttl must be a whole number of seconds");
    CHECK_DEF_FAILS(VIEW_TTL("\"1d\""), P + 2, "'ttl' must be a number of seconds");
    CHECK_DEF_FAILS(VIEW_TTL("true"), P + 2, "'ttl' must be a number of seconds");
    CHECK_DEF_FAILS(VIEW_TTL("0/0"), P + 2, "'ttl' must be a number of seconds");
    /* beyond int64 microseconds the registry's int64 cannot hold it */
    CHECK_DEF_FAILS(VIEW_TTL("1e300"), P + 2, "ttl is too large");
    CHECK_DEF_FAILS(VIEW_TTL("math.huge"), P + 2, "ttl is too large");
    CHECK_DEF_FAILS(VIEW_TTL("days(\"1\")"), P + 2, "days() takes a number");

    static const struct {
        const char *ttl;
        int64_t want;
    } ok[] = {{"0", 0},          {"seconds(90)", 90},           {"minutes(2)", 120},
              {"hours(2)", 7200}, {"days(1)", 86400},            {"weeks(2)", 1209600},
              {"9223372036854", INT64_C(9223372036854)}};
    char text[2048];
    for (size_t i = 0; i < MF__ARRAY_LEN(ok); i++) {
        snprintf(text, sizeof text, VIEW_TTL("%s"), ok[i].ttl);
        Mf__Registry *reg = load_ok(text);
        CHECK(reg);
        long j = find(reg, MF_KIND_FEATURE_VIEW, "v");
        bool good = j >= 0 && reg->feature_views[j]->spec->ttl_seconds == ok[i].want;
        if (!good) printf("#   ttl = %s\n", ok[i].ttl);
        mf__reg_free(reg);
        CHECK(good);
    }
    /* no ttl: 0 (no limit) */
    Mf__Registry *reg = load_ok(PRE);
    CHECK(reg);
    CHECK(reg->feature_views[0]->spec->ttl_seconds == 0);
    mf__reg_free(reg);
#undef VIEW_TTL
}

/*---- References ------------------------------------------------------------*/

static void test_unknown_entity_or_source(void) {
    CHECK_DEF_FAILS(PRE "\nfeature_view { name = \"v\", entities = { \"nosuch\" }, source = src }\n",
                    P + 2, "feature view 'v' refers to unknown entity 'nosuch'");
    CHECK_DEF_FAILS(PRE "feature_view {\n  name = \"v\",\n  entities = { driver },\n"
                        "  source = \"nosuch\",\n}\n",
                    P + 1, "feature view 'v' refers to unknown data source 'nosuch'");
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", source = driver }\n", P + 1,
                    "feature view 'v': expected a data source or its name, got entity");
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", entities = { src }, source = src }\n", P + 1,
                    "feature view 'v': expected a entity or its name, got data_source");
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", entities = { driver, \"driver\" }, source = src }\n",
                    P + 1, "join key 'driver_id' appears in two entities");
    /* references by name resolve, whatever the definition order */
    Mf__Registry *reg = load_ok(
        "feature_view { name = \"v\", entities = { \"e\" }, source = \"s\",\n"
        "  schema = { field { name = \"x\", dtype = Int64 } } }\n"
        "entity { name = \"e\", join_keys = { \"k\" } }\n"
        "file_source { name = \"s\", path = \"x.csv\", timestamp_field = \"ts\" }\n");
    CHECK(reg);
    CHECK_STR(reg->feature_views[0]->spec->source, "s");
    CHECK(reg->feature_views[0]->spec->n_entities == 1);
    CHECK_STR(reg->feature_views[0]->spec->entities[0], "e");
    CHECK(reg->feature_views[0]->spec->n_entity_columns == 1);
    CHECK_STR(reg->feature_views[0]->spec->entity_columns[0]->name, "k");
    mf__reg_free(reg);
}

static void test_request_source_feeds_view(void) {
    CHECK_DEF_FAILS(PRE "local req = request_source { name = \"req\",\n"
                        "  schema = { field { name = \"x\", dtype = Int64 } } }\n"
                        "feature_view { name = \"v\", source = req }\n",
                    P + 3, "feature view 'v': a request source can only feed an on_demand_feature_view");
}

static void test_push_source_batch(void) {
    CHECK_DEF_FAILS(PRE "local req = request_source { name = \"req\",\n"
                        "  schema = { field { name = \"x\", dtype = Int64 } } }\n"
                        "push_source { name = \"p\", batch_source = req }\n",
                    P + 3, "data source 'p': batch_source must be a file_source or sqlite_source, "
                           "not a request source");
    CHECK_DEF_FAILS(PRE "local p1 = push_source { name = \"p1\", batch_source = src }\n"
                        "push_source { name = \"p2\", batch_source = \"p1\" }\n",
                    P + 2, "batch_source must be a file_source or sqlite_source, not a push source");
    CHECK_DEF_FAILS(PRE "push_source { name = \"p\", batch_source = \"nosuch\" }\n", P + 1,
                    "data source 'p' refers to unknown data source 'nosuch'");
    /* by name and by object; a view over a push source reads its batch source */
    Mf__Registry *reg = load_ok(PRE
        "local p = push_source { name = \"p\", batch_source = \"src\" }\n"
        "sqlite_source { name = \"q\", database = \"d.db\", table = \"t\", timestamp_field = \"ts\" }\n"
        "push_source { name = \"p2\", batch_source = \"q\" }\n"
        "feature_view { name = \"pv\", source = p, schema = { field { name = \"x\", dtype = Int64 } } }\n");
    CHECK(reg);
    long i = find(reg, MF_KIND_DATA_SOURCE, "p");
    CHECK(i >= 0);
    CHECK_STR(reg->data_sources[i]->spec->kind, "push");
    CHECK_STR(reg->data_sources[i]->spec->batch_source, "src");
    i = find(reg, MF_KIND_DATA_SOURCE, "p2");
    CHECK(i >= 0);
    CHECK_STR(reg->data_sources[i]->spec->batch_source, "q");
    i = find(reg, MF_KIND_FEATURE_VIEW, "pv");
    CHECK(i >= 0);
    const Mf__DataSourceSpec *b = mf__view_batch_source(reg, project, reg->feature_views[i]->spec);
    CHECK(b != NULL);
    CHECK_STR(b->name, "src");
    mf__reg_free(reg);
}

static void test_service_unknown_view(void) {
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = { fv, \"nosuch\" } }\n", P + 1,
                    "feature service 's' refers to unknown feature view 'nosuch'");
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = { driver } }\n", P + 1,
                    "feature service 's': expected a feature view or a projection of one");
    /* an on-demand view by name is a valid member */
    Mf__Registry *reg = load_ok(PRE ODFV("o") "feature_service { name = \"s\", features = { \"o\", \"fv\" } }\n");
    CHECK(reg);
    Mf__FeatureServiceSpec *s = reg->feature_services[0]->spec;
    CHECK(s->n_features == 2);
    CHECK_STR(s->features[0]->view_name, "o");
    CHECK(s->features[0]->n_features == 1);
    CHECK_STR(s->features[0]->features[0], "c");
    CHECK_STR(s->features[1]->view_name, "fv");
    CHECK(s->features[1]->n_features == 2);
    mf__reg_free(reg);
}

static void test_select_unknown_feature(void) {
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = {\n"
                        "  fv:select { \"a\", \"zzz\" },\n} }\n",
                    P + 2, "feature service 's' refers to unknown feature 'fv:zzz'");
    CHECK_DEF_FAILS(PRE "on_demand_feature_view { name = \"o\",\n"
                        "  sources = { fv:select { \"nope\" } },\n"
                        "  schema = { field { name = \"c\", dtype = Int64 } },\n"
                        "  transform = function(r) return r end }\n",
                    P + 2, "on-demand feature view 'o' refers to unknown feature 'fv:nope'");
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = { fv:select {} } }\n", P + 1,
                    "select needs at least one feature");
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = { fv:select { 1 } } }\n", P + 1,
                    "select: 'features' item 1 must be a string");
}

static void test_view_listed_twice(void) {
    CHECK_DEF_FAILS(PRE "\nfeature_service { name = \"s\", features = { fv, fv:select { \"a\" } } }\n",
                    P + 2, "feature service 's': view 'fv' is listed twice; give one projection an "
                           "alias with with_name()");
    CHECK_DEF_FAILS(PRE "feature_service { name = \"s\", features = {\n"
                        "  fv:with_name(\"x\"), fv:select { \"b\" }:with_name(\"x\") } }\n",
                    P + 1, "view 'x' is listed twice");
    Mf__Registry *reg = load_ok(PRE "feature_service { name = \"s\", features = {\n"
                                    "  fv, fv:select { \"b\" }:with_name(\"fv2\") } }\n");
    CHECK(reg);
    Mf__FeatureServiceSpec *s = reg->feature_services[0]->spec;
    CHECK(s->n_features == 2);
    CHECK_STR(s->features[0]->alias, "");
    CHECK_STR(s->features[1]->view_name, "fv");
    CHECK_STR(s->features[1]->alias, "fv2");
    CHECK(s->features[1]->n_features == 1);
    CHECK_STR(s->features[1]->features[0], "b");
    mf__reg_free(reg);
}

/*---- Schemas ---------------------------------------------------------------*/

static void test_duplicate_schema_feature(void) {
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", source = src, schema = {\n"
                        "  field { name = \"x\", dtype = Int64 },\n"
                        "  field { name = \"y\", dtype = Int64 },\n"
                        "  field { name = \"x\", dtype = String },\n"
                        "} }\n",
                    P + 4, "feature_view 'v': duplicate feature name 'x'");
    CHECK_DEF_FAILS(PRE "request_source { name = \"r\", schema = {\n"
                        "  field { name = \"x\", dtype = Int64 }, field { name = \"x\", dtype = Int64 } } }\n",
                    P + 2, "request_source 'r': duplicate feature name 'x'");
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", source = src, schema = { \"x\" } }\n", P + 1,
                    "'schema' item 1 is not a field");
}

static void test_schema_only_join_keys(void) {
    CHECK_DEF_FAILS(PRE "\nfeature_view { name = \"v\", entities = { driver }, source = src,\n"
                        "  schema = { field { name = \"driver_id\", dtype = Int64 } } }\n",
                    P + 2, "feature view 'v': schema has no features besides join keys");
    /* a join key in the schema types the entity column and is no feature */
    Mf__Registry *reg = load_ok(
        "local e = entity { name = \"e\", join_keys = { \"k\" } }\n"
        "file_source { name = \"s\", path = \"x.csv\", timestamp_field = \"ts\" }\n"
        "feature_view { name = \"v\", entities = { e }, source = \"s\", schema = {\n"
        "  field { name = \"k\", dtype = String }, field { name = \"x\", dtype = Int32 } } }\n");
    CHECK(reg);
    Mf__FeatureViewSpec *v = reg->feature_views[0]->spec;
    CHECK(v->n_entity_columns == 1);
    CHECK_STR(v->entity_columns[0]->name, "k");
    CHECK(v->entity_columns[0]->dtype == MF__VALUE_TYPE__VT_STRING);
    CHECK(v->n_features == 1);
    CHECK_STR(v->features[0]->name, "x");
    CHECK(v->features[0]->dtype == MF__VALUE_TYPE__VT_INT32);
    CHECK(!v->schema_inferred);
    mf__reg_free(reg);
}

/*---- On-demand transforms --------------------------------------------------*/

static void test_transform_upvalue(void) {
    CHECK_DEF_FAILS(PRE "local k = 2\n"
                        "on_demand_feature_view { name = \"o\", sources = { fv },\n"
                        "  schema = { field { name = \"c\", dtype = Int64 } },\n"
                        "  transform = function(r) return { c = r.a * k } end }\n",
                    P + 2, "on_demand_feature_view 'o': the transform uses 'k' from outside its body");
    /* a function made elsewhere than a definition file */
    CHECK_DEF_FAILS(PRE "on_demand_feature_view { name = \"o\", sources = { fv },\n"
                        "  schema = { field { name = \"c\", dtype = Int64 } }, transform = print }\n",
                    P + 1, "the transform must be defined in a definition file");
    /* globals and require() inside the body are fine */
    Mf__Registry *reg = load_ok(PRE "on_demand_feature_view { name = \"o\", sources = { fv },\n"
                                    "  schema = { field { name = \"c\", dtype = Float64 } },\n"
                                    "  transform = function(r)\n"
                                    "    local m = require \"mf.math\"\n"
                                    "    return { c = m.clamp(r.a, 0, 1) + math.abs(r.b) }\n"
                                    "  end }\n");
    CHECK(reg);
    CHECK_STR(reg->on_demand_feature_views[0]->spec->transform_source,
              "function(r)\n"
              "    local m = require \"mf.math\"\n"
              "    return { c = m.clamp(r.a, 0, 1) + math.abs(r.b) }\n"
              "  end");
    /* where the text starts, for the transform's errors */
    CHECK_STR(reg->on_demand_feature_views[0]->spec->transform_file, "defs.lua");
    CHECK(reg->on_demand_feature_views[0]->spec->transform_line == P + 3);
    mf__reg_free(reg);
    /* given as text: the constructor's line */
    reg = load_ok(PRE "\non_demand_feature_view { name = \"o\", sources = { fv },\n"
                      "  schema = { field { name = \"c\", dtype = Float64 } },\n"
                      "  transform = \"function(r) return { c = r.a } end\" }\n");
    CHECK(reg && reg->on_demand_feature_views[0]->spec->transform_line == P + 2);
    mf__reg_free(reg);
}

static void test_transform_not_compiling(void) {
    CHECK_DEF_FAILS(PRE "on_demand_feature_view { name = \"o\", sources = { fv },\n"
                        "  schema = { field { name = \"c\", dtype = Int64 } },\n"
                        "  transform = \"function(r) return r. end\" }\n",
                    P + 1, "on_demand_feature_view 'o': transform does not compile");
    CHECK_DEF_FAILS(PRE "on_demand_feature_view { name = \"o\", sources = { fv }, mode = \"rows\",\n"
                        "  schema = { field { name = \"c\", dtype = Int64 } },\n"
                        "  transform = function(r) return r end }\n",
                    P + 1, "mode must be \"row\" or \"batch\", got 'rows'");
    /* a source text is stored as given */
    Mf__Registry *reg = load_ok(PRE "on_demand_feature_view { name = \"o\", sources = { fv },\n"
                                    "  schema = { field { name = \"c\", dtype = Int64 } }, mode = \"batch\",\n"
                                    "  transform = \"function(rows) return rows end\" }\n");
    CHECK(reg);
    CHECK_STR(reg->on_demand_feature_views[0]->spec->transform_source, "function(rows) return rows end");
    CHECK_STR(reg->on_demand_feature_views[0]->spec->mode, "batch");
    mf__reg_free(reg);
}

/*---- Lua errors and the sandbox --------------------------------------------*/

static void test_lua_syntax_error(void) {
    CHECK_DEF_FAILS("entity { name = \"e\", join_keys = { \"k\" } }\n\nlocal = 3\n", 3, "defs.lua:3:");
    CHECK_DEF_FAILS("entity { name = \"e\",\n  join_keys = { \"k\" }\n\n\nfoo()\n", 5, "expected");
    /* in the second of two files */
    write_file("a.lua", "entity { name = \"e\", join_keys = { \"k\" } }\n");
    write_file("defs.lua", "\nlocal x = = 1\n");
    CHECK(fails_in("defs.lua", 2, false, MF_EDEF, "unexpected symbol"));
}

static void test_lua_runtime_error(void) {
    CHECK_LUA_FAILS("entity { name = \"e\", join_keys = { \"k\" } }\nlocal t = nil\nt.x = 1\n", 3,
                    "attempt to index local 't'");
    CHECK_LUA_FAILS("local t = nil\nt.x = 1\n", 2, "stack traceback");
    CHECK_LUA_FAILS("\nlocal function f() error(\"boom\") end\n\nf()\n", 2, "defs.lua:2: boom");
    CHECK_LUA_FAILS("\nlocal function f() error(\"boom\") end\n\nf()\n", 2, "stack traceback");
    /* a non-string error value gets a location, not a crash */
    CHECK_LUA_FAILS("\nerror({})\n", 2, "(error object is a table value)");
    CHECK_LUA_FAILS("error(setmetatable({}, { __index = function() error(\"boom\") end }))\n", 1,
                    "(error object is a table value)");
    CHECK_LUA_FAILS("error(true)\n", 1, "(error object is a boolean value)");
}

static void test_sandbox(void) {
    char text[PATH_MAX + 512];
    snprintf(text, sizeof text, "\nio.open(\"%s\", \"w\")\n", in_repo("pwned"));
    CHECK_LUA_FAILS(text, 2, "global 'io'");
    CHECK(!exists("pwned"));
    snprintf(text, sizeof text, "\n\nos.execute(\"touch '%s'\")\n", in_repo("pwned"));
    CHECK_LUA_FAILS(text, 3, "field 'execute'");
    CHECK(!exists("pwned"));
    CHECK_LUA_FAILS("os.remove(\"defs.lua\")\n", 1, "field 'remove'");
    CHECK_LUA_FAILS("os.exit(3)\n", 1, "field 'exit'");
    CHECK_LUA_FAILS("local x = os.getenv(\"HOME\")\n", 1, "field 'getenv'");
    CHECK_LUA_FAILS("loadfile(\"defs.lua\")\n", 1, "global 'loadfile'");
    CHECK_LUA_FAILS("dofile(\"defs.lua\")\n", 1, "global 'dofile'");
    CHECK_LUA_FAILS("loadstring(\"return 1\")\n", 1, "global 'loadstring'");
    CHECK_LUA_FAILS("load(function() return nil end)\n", 1, "global 'load'");
    CHECK_LUA_FAILS("local f = getfenv(1)\n", 1, "global 'getfenv'");
    CHECK_LUA_FAILS("local d = debug.getinfo(1)\n", 1, "global 'debug'");
    CHECK_LUA_FAILS("local p = package.loaded\n", 1, "global 'package'");
    CHECK_LUA_FAILS("collectgarbage()\n", 1, "global 'collectgarbage'");
    CHECK_LUA_FAILS("local C = ffi.C\n", 1, "global 'ffi'");
    CHECK_LUA_FAILS("local j = jit.version\n", 1, "global 'jit'");
    CHECK_LUA_FAILS("\nlocal ffi = require \"ffi\"\n", 2, "module 'ffi' not found");
    CHECK_LUA_FAILS("local s = require \"socket\"\n", 1,
                    "module 'socket' not found: require is limited to moonfeast's stdlib");
    CHECK_LUA_FAILS("local s = require \"io\"\n", 1, "module 'io' not found");
    CHECK_LUA_FAILS("local s = require \"defs\"\n", 1, "module 'defs' not found");
    /* an error without a place (after a tail call, or raised at level 0)
     * still names the definition file */
    CHECK_DEF_FAILS("return entity(1)\n", 0, "entity takes one table argument");
    CHECK_LUA_FAILS("local x = 1\nreturn error('boom', 0)\n", 0, "boom");
    /* os.time's numbers are checked as os.time reads them (LuaJIT casts
     * them to C integers unchecked): it reads the table's own fields, never
     * a metatable's (whose __index gave it an unchecked 1e300) */
    CHECK_LUA_FAILS("local t = os.time({ year = 1e300, month = 1, day = 1 })\n", 1,
                    "os.time: field 'year' must be a number in the 32-bit range");
    CHECK_LUA_FAILS("local t = os.time(setmetatable({ month = 1, day = 1 },\n"
                    "  { __index = function(_, k) if k == 'year' then return 1e300 end end }))\n",
                    1, "field 'year' missing");
    /* what is there works */
    Mf__Registry *reg = load_ok("assert(type(os.time()) == \"number\")\n"
                                "assert(string.format(\"%d\", 3) == \"3\")\n"
                                "assert(bit.band(6, 3) == 2 and math.floor(2.5) == 2)\n"
                                "assert(table.concat({ \"a\", \"b\" }) == \"ab\")\n"
                                "assert(_G.entity == entity)\n");
    CHECK(reg);
    mf__reg_free(reg);
}

static void test_require_stdlib(void) {
    Mf__Registry *reg = load_ok(PRE "local m = require \"mf.math\"\n"
                                    "assert(require(\"mf.math\") == m)\n"
                                    "local s = require \"mf.strings\"\n"
                                    "assert(type(s) == \"table\")\n"
                                    "feature_view { name = \"v\", source = src, ttl = m.clamp(500, 0, 100),\n"
                                    "  schema = { field { name = \"x\", dtype = Int64 } } }\n");
    CHECK(reg);
    long i = find(reg, MF_KIND_FEATURE_VIEW, "v");
    CHECK(i >= 0);
    CHECK(reg->feature_views[i]->spec->ttl_seconds == 100);
    mf__reg_free(reg);
}


/*---- Hardening: what user code cannot do -----------------------------------*/

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud) {
    (void)L;
    mf__buf_put(ud, p, n);
    return 0;
}

/* A definition file holding LuaJIT bytecode is refused before it runs:
 * LuaJIT does not verify bytecode, and a patched chunk reads and writes
 * arbitrary memory. */
static void test_bytecode_refused(void) {
    lua_State *L = luaL_newstate();
    const char *src = "entity { name = \"from_bytecode\", join_keys = { \"k\" } }\n";
    CHECK(luaL_loadstring(L, src) == 0);
    mf__buf bc;
    mf__buf_init(&bc);
    CHECK(lua_dump(L, dump_writer, &bc) == 0 && bc.len > 4);
    lua_close(L);
    write_file("defs.lua", "");
    FILE *f = fopen(in_repo("defs.lua"), "wb");
    CHECK(f && fwrite(bc.data, 1, bc.len, f) == bc.len);
    if (f) fclose(f);
    CHECK(fails_in("defs.lua", 0, false, MF_EDEF, "defs.lua: is compiled Lua (bytecode)"));
    /* patched bytecode (what crashed): refused the same way, not run */
    if (bc.len > 40) bc.data[bc.len - 20] ^= 0x5a, bc.data[bc.len - 21] ^= 0xa5;
    f = fopen(in_repo("defs.lua"), "wb");
    CHECK(f && fwrite(bc.data, 1, bc.len, f) == bc.len);
    if (f) fclose(f);
    CHECK(fails_in("defs.lua", 0, false, MF_EDEF, "only Lua source text is loaded"));
    mf__buf_free(&bc);
}

/* The string metatable is hidden: a file cannot replace string.match
 * under the DSL's name checks. */
static void test_string_metatable_hidden(void) {
    CHECK_LUA_FAILS("local mt = getmetatable(\"\")\n"
                    "mt.__index.match = function() return \"ok\" end\n"
                    "entity { name = \"bad name!\", join_keys = { \"k\" } }\n",
                    2, "attempt to index local 'mt' (a boolean value)");
    /* the env's copy can be changed, but the DSL does not use it */
    CHECK_DEF_FAILS("string.match = function() return \"ok\" end\n"
                    "entity { name = \"bad name!\", join_keys = { \"k\" } }\n",
                    2, "entity name 'bad name!' is not valid");
    CHECK_LUA_FAILS("\nlocal d = (\"\").dump\nd(print)\n", 3, "attempt to call local 'd'");
    CHECK_LUA_FAILS("setmetatable(_G, nil)\n", 1, "cannot change a protected metatable");
}

/* Objects are read-only proxies: what is committed is what was validated. */
static void test_objects_read_only(void) {
    CHECK_LUA_FAILS(PRE "fv.spec.name = \"x\\n\\\"y\"\n", P + 1,
                    "feature view 'fv' has no field 'spec'");
    CHECK_LUA_FAILS(PRE "\nfv.ttl = -1e300\n", P + 2, "feature view 'fv' is read-only");
    CHECK_LUA_FAILS(PRE "driver.spec.value_type = 99\n", P + 1,
                    "entity 'driver' has no field 'spec'");
    CHECK_LUA_FAILS("Int64.code = 99\n", 1, "dtype 'Int64' is read-only");
    CHECK_LUA_FAILS("local f = field { name = \"a\", dtype = Int64 }\nf.dtype = 1234\n", 2,
                    "field 'a' is read-only");
    CHECK_LUA_FAILS(PRE "local p = fv:with_name(\"p\")\np.alias = \"bad alias!\"\n", P + 2,
                    "is read-only");
    /* a planted metamethod never runs outside a protected call (this was a
     * PANIC: unprotected error in call to Lua API) */
    CHECK_LUA_FAILS(PRE "setmetatable(fv.spec, { __index = function() error(\"x\") end })\n",
                    P + 1, "has no field 'spec'");
    CHECK_LUA_FAILS(PRE "setmetatable(fv, {})\n", P + 1, "cannot change a protected metatable");
    /* raw writes land on the proxy and change nothing */
    Mf__Registry *reg = load_ok(PRE "rawset(fv, \"spec\", { name = \"evil\\n\", ttl_seconds = -1e300 })\n"
                                    "rawset(fv, \"name\", \"evil\")\n"
                                    "rawset(driver, \"join_keys\", { \"x y\" })\n"
                                    "local keep = fv.name\n"
                                    "feature_service { name = \"s\", features = { fv } }\n");
    CHECK(reg);
    if (reg) {
        long i = find(reg, MF_KIND_FEATURE_VIEW, "fv");
        CHECK(i >= 0 && reg->n_feature_views == 1);
        if (i >= 0) CHECK(reg->feature_views[i]->spec->ttl_seconds == 0);
        i = find(reg, MF_KIND_ENTITY, "driver");
        CHECK(i >= 0 && !strcmp(reg->entities[i]->spec->join_keys[0], "driver_id"));
        CHECK(reg->n_feature_services == 1 &&
              !strcmp(reg->feature_services[0]->spec->features[0]->view_name, "fv"));
        mf__reg_free(reg);
    }
    /* lists passed in are copied when the constructor runs */
    reg = load_ok(PRE "local ents = { driver }\n"
                      "local v = feature_view { name = \"v\", source = src, entities = ents,\n"
                      "  schema = { field { name = \"x\", dtype = Int64 } } }\n"
                      "ents[1] = \"nobody\"\n");
    CHECK(reg);
    if (reg) {
        long i = find(reg, MF_KIND_FEATURE_VIEW, "v");
        CHECK(i >= 0 && reg->feature_views[i]->spec->n_entities == 1 &&
              !strcmp(reg->feature_views[i]->spec->entities[0], "driver"));
        mf__reg_free(reg);
    }
    /* reading a name works */
    reg = load_ok(PRE "assert(fv.name == \"fv\" and driver.name == \"driver\")\n"
                      "assert(tostring(fv) == \"feature view fv\")\n");
    CHECK(reg);
    mf__reg_free(reg);
}

/* Strings reach the registry as UTF-8 text without NUL bytes. */
static void test_definition_strings(void) {
    CHECK_DEF_FAILS("\nentity { name = \"e\", join_keys = { \"k\" }, description = \"caf\\233\" }\n",
                    2, "entity: 'description' is not UTF-8 text");
    CHECK_DEF_FAILS("entity { name = \"e\", join_keys = { \"k\" }, owner = \"a\\0b\" }\n", 1,
                    "entity: 'owner' holds a NUL byte");
    CHECK_DEF_FAILS(PRE "feature_view { name = \"v\", source = src, tags = { team = \"\\255\" },\n"
                        "  schema = { field { name = \"x\", dtype = Int64 } } }\n",
                    P + 1, "feature view: 'value' is not UTF-8 text");
    Mf__Registry *reg = load_ok("entity { name = \"e\", join_keys = { \"k\" }, "
                                "description = \"caf\\195\\169 \\226\\130\\172\" }\n");
    CHECK(reg && !strcmp(reg->entities[0]->spec->description, "caf\xc3\xa9 \xe2\x82\xac"));
    mf__reg_free(reg);
}

/* Reading an undefined global is an error naming it, with close names. */
static void test_undefined_globals(void) {
    CHECK_LUA_FAILS("local customer = entity { name = \"customer\", join_keys = { \"id\" } }\n"
                    "local src = file_source { name = \"src\", path = \"d.csv\", timestamp_field = \"ts\" }\n"
                    "feature_view { name = \"v\", source = src,\n"
                    "  entities = { custmer },\n"
                    "  schema = { field { name = \"x\", dtype = Int64 } } }\n",
                    4, "undefined global 'custmer' (did you mean 'customer'?)");
    CHECK_LUA_FAILS("\nentity { name = \"e\", join_keys = { \"k\" }, value_type = Int }\n", 2,
                    "undefined global 'Int' (did you mean 'Int32' or 'Int64'?)");
    CHECK_LUA_FAILS(PRE "request_source { name = \"r\",\n"
                        "  schema = { field { name = \"x\", dtype = Float } } }\n",
                    P + 2, "undefined global 'Float' (did you mean 'Float32' or 'Float64'?)");
    CHECK_LUA_FAILS("local x = feature_veiw\n", 1,
                    "undefined global 'feature_veiw' (did you mean 'feature_view'?)");
    CHECK_LUA_FAILS("local x = zzzqqq\n", 1, "undefined global 'zzzqqq'");
    /* globals set by one file are seen by the next */
    write_file("a.lua", "shared_entity = entity { name = \"e\", join_keys = { \"k\" } }\n");
    Mf__Registry *reg = load_ok("assert(shared_entity.name == \"e\")\n"
                                "assert(rawget(_G, \"nothing_here\") == nil)\n");
    CHECK(reg);
    mf__reg_free(reg);
}

/* defs.lua holding `text` fails with MF_ELIMIT and `phrase` (any place). */
static bool limit_fails(const char *text, const char *phrase) {
    Mf__Registry *reg = NULL;
    mf_error err;
    int rc = load(text, &reg, &err);
    mf__reg_free(reg);
    if (rc == MF_ELIMIT && err.code == MF_ELIMIT && strstr(err.message, phrase)) return true;
    printf("#   rc %d: %s\n", rc, err.message);
    return false;
}

/* Endless loops and runaway memory stop with a clear error. */
static void test_budgets(void) {
    budget.max_instructions = 2000000;
    CHECK(def_fails("entity { name = \"e\", join_keys = { \"k\" } }\n\nwhile true do end\n",
                    MF_ELIMIT, 3, "definition loading stopped after 2000000 Lua instructions "
                    "(the limit is lua.max_instructions"));
    /* catching the error does not help */
    CHECK(def_fails("\nwhile true do\n  pcall(function() while true do end end)\nend\n",
                    MF_ELIMIT, 3, "lua.max_instructions"));
    CHECK(def_fails("while true do\n  xpcall(function() while true do end end, function() "
                    "while true do end end)\nend\n",
                    MF_ELIMIT, 2, "lua.max_instructions"));
    /* work inside C: backtracking patterns are charged too (this hung) */
    CHECK(def_fails("local s = (\"a\"):rep(40)\nlocal m = s:match((\"a?\"):rep(40) .. s)\n",
                    MF_ELIMIT, 2, "definition loading stopped after 2000000 Lua instructions"));
    CHECK(limit_fails("local s = string.rep(\"a\", 1e5)\n"
                      "local ok = pcall(string.find, s, \".-.-.-.-b\")\n", "lua.max_instructions"));
    CHECK(limit_fails("local n = 0\nfor w in (\"ab\"):rep(1e5):gmatch(\"(a*)*b\") do n = n + 1 end\n"
                      "local t = (\"x\"):rep(1e5):gsub(\".-.-.-y\", \"\")\n", "lua.max_instructions"));
    /* time */
    budget.max_instructions = UINT64_MAX / 2;
    budget.max_ms = 200;
    int64_t t0 = mf__mono_us();
    CHECK(def_fails("local i = 0\nwhile true do i = i + 1 end\n", MF_ELIMIT, 2,
                    "definition loading stopped after 200 ms (the limit is lua.timeout_seconds"));
    CHECK(mf__mono_us() - t0 < 5000000);
    /* memory */
    budget.max_instructions = 0;
    budget.max_ms = 0;
    budget.max_memory = 16u << 20;
    CHECK(limit_fails("local t = {}\nwhile true do\n  t[#t + 1] = { 1, 2, 3 }\nend\n",
                      "definition loading stopped: its Lua memory would exceed 16 MiB (the "
                      "limit is lua.max_memory_mb in feature_store.yaml); last seen running "
                      "defs.lua:"));
    CHECK(limit_fails("local s = string.rep(\"x\", 1e9)\n", "16 MiB"));
    CHECK(limit_fails("local t = {}\nfor i = 1, 1e9 do\n  local ok = pcall(function() t[#t + 1] = "
                      "string.rep(\"y\", 1e5) .. i end)\nend\n", "16 MiB"));
    /* the defaults stop an endless loop too */
    memset(&budget, 0, sizeof budget);
    CHECK(def_fails("while true do end\n", MF_ELIMIT, 1, "200000000 Lua instructions"));
    /* and a normal file is far below them */
    Mf__Registry *reg = load_ok(PRE ODFV("o"));
    CHECK(reg);
    mf__reg_free(reg);
}

/* The definition walk stays in the repo and enters each folder once. */
static void test_symlinks(void) {
    char outside[] = "/tmp/mft_dsl_out_XXXXXX";
    CHECK(mkdtemp(outside) != NULL);
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/evil.lua", outside);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("entity { name = \"from_outside\", join_keys = { \"k\" } }\n", f);
        fclose(f);
    }
    CHECK(symlink(outside, in_repo("linked")) == 0);
    CHECK(symlink(p, in_repo("evil_file.lua")) == 0);
    write_file("sub/inner.lua", "entity { name = \"inner\", join_keys = { \"k\" } }\n");
    CHECK(symlink(".", in_repo("sub/loop")) == 0);
    CHECK(symlink("..", in_repo("sub/up")) == 0);
    CHECK(symlink("sub", in_repo("again")) == 0);
    Mf__Registry *reg = load_ok("entity { name = \"top\", join_keys = { \"k\" } }\n");
    CHECK(reg);
    if (reg) {
        CHECK(reg->n_entities == 2);
        CHECK(find(reg, MF_KIND_ENTITY, "from_outside") < 0);
        CHECK(find(reg, MF_KIND_ENTITY, "inner") >= 0);
        mf__reg_free(reg);
    }
    remove(p);
    rmdir(outside);
}

/*---- Files of the repo -----------------------------------------------------*/

static void test_definition_files(void) {
    write_file("sub/more.lua", "\n\nentity { name = \"e2\", join_keys = { \"k\" } }\n");
    write_file("data/ignored.lua", "this is not Lua\n");
    write_file(".hidden.lua", "this is not Lua either\n");
    write_file("notes.txt", "entity {\n");
    write_file("x.lua.bak", "broken(\n");
    Mf__Registry *reg = load_ok("entity { name = \"e1\", join_keys = { \"k\" } }\n");
    CHECK(reg);
    CHECK(reg->n_entities == 2);
    long i = find(reg, MF_KIND_ENTITY, "e2");
    CHECK(i >= 0);
    CHECK_STR(reg->entities[i]->meta->file, "sub/more.lua");
    CHECK(reg->entities[i]->meta->line == 3);
    i = find(reg, MF_KIND_ENTITY, "e1");
    CHECK(i >= 0);
    CHECK_STR(reg->entities[i]->meta->file, "defs.lua");
    CHECK(reg->entities[i]->meta->line == 1);
    mf__reg_free(reg);

    /* errors in a sub-folder name its path */
    write_file("sub/more.lua", "\nfeature_service { name = \"s\" }\n");
    CHECK(fails_in("sub/more.lua", 2, false, MF_EDEF, "'features' must list"));
}

/*---- Apply time: checks against the data -----------------------------------*/

#define CSV_OK "driver_id,ts,a,b\n1001,2025-01-01T00:00:00Z,1,2.5\n"

static void test_resolve_missing_columns(void) {
    write_file("data.csv", "ts,a,b\n2025-01-01T00:00:00Z,1,2.5\n");
    CHECK(resolve_fails(PRE, 3, "feature view 'fv': join key 'driver_id' not found in"));
    CHECK(resolve_fails(PRE, 3, "data.csv (columns: ts, a, b)"));

    write_file("data.csv", "driver_id,a,b,event_timestamp\n1001,1,2.5,2025-01-01T00:00:00Z\n");
    CHECK(resolve_fails(PRE, 3, "feature view 'fv': column 'ts' not found in"));
    CHECK(resolve_fails(PRE, 3, "(columns: driver_id, a, b, event_timestamp)"));

    write_file("data.csv", "driver_id,ts,a\n1001,2025-01-01T00:00:00Z,1\n");
    CHECK(resolve_fails(PRE, 3, "feature view 'fv': feature 'b' not found in"));

    write_file("data.csv", CSV_OK);
    CHECK(resolve_fails(
        "local driver = entity { name = \"driver\", join_keys = { \"driver_id\" }, value_type = Int64 }\n"
        "local src = file_source { name = \"src\", path = \"data.csv\", timestamp_field = \"ts\",\n"
        "  created_timestamp_column = \"created\" }\n"
        "\n"
        "local fv = feature_view { name = \"fv\", entities = { driver }, source = src,\n"
        "  schema = { field { name = \"a\", dtype = Int64 } } }\n",
        5, "column 'created' not found"));

    /* all there: no error */
    Mf__Registry *reg = resolve_ok(PRE);
    CHECK(reg);
    mf__reg_free(reg);

    /* a missing file: an error naming it (Feast's source validation);
     * skipped, a view with nothing to infer does not read it, and one with
     * something to infer is an error either way */
    remove(in_repo("data.csv"));
    CHECK(resolve_fails(PRE, 3, "feature view 'fv': its source 'src' reads data.csv, which does "
                                "not exist (apply and plan check every source; "
                                "--skip-source-validation skips the check)"));
    validate_sources = false;
    reg = resolve_ok(PRE);
    CHECK(reg);
    mf__reg_free(reg);
    CHECK(resolve_fails(PRE "\nfeature_view { name = \"v\", source = src }\n", P + 2,
                        "(needed to infer the view's schema)"));
    validate_sources = true;
}

#define INFER_CSV                                                                 \
    "driver_id,ts,created,i,f,s,flag,when,empty\n"                                \
    "1001,2025-01-01T00:00:00Z,2025-01-01T00:01:00Z,1,1.5,x,true,2025-01-01T00:00:00Z,\n" \
    "1002,2025-01-01T01:00:00Z,2025-01-01T01:01:00Z,-2,2,y,false,2025-01-02 00:00:00,\n"  \
    "1003,2025-01-01T02:00:00Z,2025-01-01T02:01:00Z,,,,,,\n"

#define INFER_DEFS                                                                \
    "local driver = entity { name = \"driver\", join_keys = { \"driver_id\" } }\n" \
    "local src = file_source { name = \"src\", path = \"data.csv\", timestamp_field = \"ts\",\n" \
    "  created_timestamp_column = \"created\" }\n"                                 \
    "local fv = feature_view { name = \"fv\", entities = { driver }, source = src }\n"

static void test_resolve_infer_schema(void) {
    write_file("data.csv", INFER_CSV);
    Mf__Registry *reg = load_ok(INFER_DEFS
        "feature_service { name = \"all\", features = { fv } }\n"
        "feature_service { name = \"some\", features = { fv:select { \"f\", \"s\" } } }\n");
    CHECK(reg);
    Mf__FeatureViewSpec *v = reg->feature_views[0]->spec;
    /* before: nothing known */
    bool before = v->schema_inferred && v->n_features == 0 && v->n_entity_columns == 1 &&
                  v->entity_columns[0]->dtype == MF__VALUE_TYPE__VT_INVALID;
    mf_error err;
    mf__err_clear(&err);
    int rc = mf__defs_resolve(cfg(), reg, validate_sources, &err);
    if (rc) printf("#   %s\n", err.message);
    if (!before || rc) mf__reg_free(reg);
    CHECK(before);
    CHECK(rc == MF_OK);

    static const struct {
        const char *name;
        Mf__ValueType type;
    } want[] = {{"i", MF__VALUE_TYPE__VT_INT64},
                {"f", MF__VALUE_TYPE__VT_DOUBLE},
                {"s", MF__VALUE_TYPE__VT_STRING},
                {"flag", MF__VALUE_TYPE__VT_BOOL},
                {"when", MF__VALUE_TYPE__VT_UNIX_TIMESTAMP},
                {"empty", MF__VALUE_TYPE__VT_STRING}};
    bool ok = v->n_features == MF__ARRAY_LEN(want) && v->schema_inferred;
    for (size_t i = 0; ok && i < MF__ARRAY_LEN(want); i++) {
        ok = strcmp(v->features[i]->name, want[i].name) == 0 && v->features[i]->dtype == want[i].type;
        if (!ok) printf("#   feature %zu: %s %d\n", i, v->features[i]->name, v->features[i]->dtype);
    }
    /* the join key's type is inferred too */
    ok = ok && v->n_entity_columns == 1 && strcmp(v->entity_columns[0]->name, "driver_id") == 0 &&
         v->entity_columns[0]->dtype == MF__VALUE_TYPE__VT_INT64;
    /* services over the view: all features, or the selected ones */
    Mf__FeatureServiceSpec *all = reg->feature_services[find(reg, MF_KIND_FEATURE_SERVICE, "all")]->spec;
    Mf__FeatureServiceSpec *some = reg->feature_services[find(reg, MF_KIND_FEATURE_SERVICE, "some")]->spec;
    ok = ok && all->features[0]->n_features == MF__ARRAY_LEN(want) &&
         strcmp(all->features[0]->features[0], "i") == 0 &&
         strcmp(all->features[0]->features[5], "empty") == 0 && some->features[0]->n_features == 2 &&
         strcmp(some->features[0]->features[0], "f") == 0 &&
         strcmp(some->features[0]->features[1], "s") == 0;
    mf__reg_free(reg);
    CHECK(ok);
}

static void test_resolve_infer_errors(void) {
    write_file("data.csv", INFER_CSV);
    /* a selected feature of an inferred view is checked at apply time */
    CHECK(resolve_fails(INFER_DEFS "\nfeature_service { name = \"s\",\n"
                                   "  features = { fv:select { \"f\", \"zzz\" } } }\n",
                        6, "feature service 's' refers to unknown feature 'fv:zzz'"));
    CHECK(resolve_fails(INFER_DEFS "on_demand_feature_view { name = \"o\",\n"
                                   "  sources = { fv:select { \"nope\" } },\n"
                                   "  schema = { field { name = \"c\", dtype = Int64 } },\n"
                                   "  transform = function(r) return r end }\n",
                        5, "on-demand feature view 'o' refers to unknown feature 'fv:nope'"));
    /* nothing left to infer */
    write_file("data.csv", "driver_id,ts,created\n1001,2025-01-01T00:00:00Z,2025-01-01T00:00:00Z\n");
    CHECK(resolve_fails(INFER_DEFS, 4, "feature view 'fv': no feature columns to infer"));
}

static void test_resolve_field_mapping(void) {
    write_file("data.csv", "drv,ts,raw_rate,trips\n1001,2025-01-01T00:00:00Z,0.5,3\n");
    Mf__Registry *reg = resolve_ok(
        "local driver = entity { name = \"driver\", join_keys = { \"driver_id\" } }\n"
        "local src = file_source { name = \"src\", path = \"data.csv\", timestamp_field = \"ts\",\n"
        "  field_mapping = { raw_rate = \"rate\", drv = \"driver_id\" } }\n"
        "feature_view { name = \"inferred\", entities = { driver }, source = src }\n"
        "feature_view { name = \"declared\", entities = { driver }, source = src,\n"
        "  schema = { field { name = \"rate\", dtype = Float32 } } }\n");
    CHECK(reg);
    Mf__DataSourceSpec *ds = reg->data_sources[0]->spec;
    bool ok = ds->n_field_mapping == 2 && strcmp(ds->field_mapping[0]->source_column, "drv") == 0 &&
              strcmp(ds->field_mapping[0]->name, "driver_id") == 0 &&
              strcmp(ds->field_mapping[1]->source_column, "raw_rate") == 0 &&
              strcmp(ds->field_mapping[1]->name, "rate") == 0;
    Mf__FeatureViewSpec *v = reg->feature_views[find(reg, MF_KIND_FEATURE_VIEW, "inferred")]->spec;
    ok = ok && v->n_features == 2 && strcmp(v->features[0]->name, "rate") == 0 &&
         v->features[0]->dtype == MF__VALUE_TYPE__VT_DOUBLE &&
         strcmp(v->features[1]->name, "trips") == 0 &&
         v->features[1]->dtype == MF__VALUE_TYPE__VT_INT64 &&
         strcmp(v->entity_columns[0]->name, "driver_id") == 0 &&
         v->entity_columns[0]->dtype == MF__VALUE_TYPE__VT_INT64;
    mf__reg_free(reg);
    CHECK(ok);
    /* the original column name is no longer a column */
    CHECK(resolve_fails("local driver = entity { name = \"driver\", join_keys = { \"drv\" } }\n"
                        "local src = file_source { name = \"src\", path = \"data.csv\", timestamp_field = \"ts\",\n"
                        "  field_mapping = { drv = \"driver_id\" } }\n"
                        "feature_view { name = \"v\", entities = { driver }, source = src }\n",
                        4, "join key 'drv' not found"));
    CHECK_DEF_FAILS("file_source { name = \"s\", path = \"x.csv\", timestamp_field = \"ts\",\n"
                    "  field_mapping = { a = 1 } }\n",
                    1, "field_mapping must map strings to strings");
}

/*---- The quickstart shape --------------------------------------------------*/

static const char *const quickstart =
    "local driver = entity {\n"                                              /* 1 */
    "  name = \"driver\",\n"
    "  join_keys = { \"driver_id\" },\n"
    "  value_type = Int64,\n"
    "  description = \"A driver\",\n"
    "}\n"
    "\n"
    "local stats_source = file_source {\n"                                   /* 8 */
    "  name = \"driver_hourly_stats_source\",\n"
    "  path = \"data/driver_stats.csv\",\n"
    "  timestamp_field = \"event_timestamp\",\n"
    "  created_timestamp_column = \"created\",\n"
    "}\n"
    "\n"
    "local stats = feature_view {\n"                                         /* 15 */
    "  name = \"driver_hourly_stats\",\n"
    "  entities = { driver },\n"
    "  ttl = days(1),\n"
    "  schema = {\n"
    "    field { name = \"conv_rate\", dtype = Float32 },\n"
    "    field { name = \"acc_rate\", dtype = Float32 },\n"
    "    field { name = \"avg_daily_trips\", dtype = Int64, description = \"Average daily trips\" },\n"
    "  },\n"
    "  source = stats_source,\n"
    "  online = true,\n"
    "  tags = { team = \"driver_performance\", owner_team = \"ml\" },\n"
    "}\n"
    "\n"
    "local push = push_source { name = \"driver_stats_push_source\", batch_source = stats_source }\n" /* 29 */
    "\n"
    "local fresh = feature_view {\n"                                         /* 31 */
    "  name = \"driver_hourly_stats_fresh\",\n"
    "  entities = { driver },\n"
    "  ttl = hours(2),\n"
    "  schema = { field { name = \"conv_rate\", dtype = Float32 } },\n"
    "  source = push,\n"
    "  online = false,\n"
    "}\n"
    "\n"
    "local input_request = request_source {\n"                               /* 40 */
    "  name = \"vals_to_add\",\n"
    "  schema = {\n"
    "    field { name = \"val_to_add\", dtype = Int64 },\n"
    "    field { name = \"val_to_add_2\", dtype = Int64 },\n"
    "  },\n"
    "}\n"
    "\n"
    "local transformed = on_demand_feature_view {\n"                         /* 48 */
    "  name = \"transformed_conv_rate\",\n"
    "  sources = { stats, input_request },\n"
    "  schema = {\n"
    "    field { name = \"conv_rate_plus_val1\", dtype = Float64 },\n"
    "    field { name = \"conv_rate_plus_val2\", dtype = Float64 },\n"
    "  },\n"
    "  transform = function(row)\n"
    "    return {\n"
    "      conv_rate_plus_val1 = row.conv_rate + row.val_to_add,\n"
    "      conv_rate_plus_val2 = row.conv_rate + row.val_to_add_2, -- the end\n"
    "    }\n"
    "  end,\n"
    "}\n"
    "\n"
    "feature_service {\n"                                                    /* 63 */
    "  name = \"driver_activity\",\n"
    "  features = {\n"
    "    stats:select { \"conv_rate\" },\n"
    "    transformed,\n"
    "    stats:select { \"acc_rate\", \"avg_daily_trips\" }:with_name(\"rider_stats\")\n"
    "         :with_join_key_map { driver_id = \"rider_id\" },\n"
    "  },\n"
    "  tags = { v = \"1\" },\n"
    "  owner = \"ml@example.com\",\n"
    "}\n";

static void test_quickstart(void) {
    Mf__Registry *reg = load_ok(quickstart);
    CHECK(reg);
    bool ok = reg->n_entities == 1 && reg->n_data_sources == 3 && reg->n_feature_views == 2 &&
              reg->n_on_demand_feature_views == 1 && reg->n_feature_services == 1;
    if (!ok) mf__reg_free(reg);
    CHECK(ok);
    /* every object: project, definition file and line */
    static const struct {
        mf_object_kind kind;
        const char *name;
        int line;
    } where[] = {{MF_KIND_ENTITY, "driver", 1},
                 {MF_KIND_DATA_SOURCE, "driver_hourly_stats_source", 8},
                 {MF_KIND_FEATURE_VIEW, "driver_hourly_stats", 15},
                 {MF_KIND_DATA_SOURCE, "driver_stats_push_source", 29},
                 {MF_KIND_FEATURE_VIEW, "driver_hourly_stats_fresh", 31},
                 {MF_KIND_DATA_SOURCE, "vals_to_add", 40},
                 {MF_KIND_ON_DEMAND_FEATURE_VIEW, "transformed_conv_rate", 48},
                 {MF_KIND_FEATURE_SERVICE, "driver_activity", 63}};
    for (size_t i = 0; ok && i < MF__ARRAY_LEN(where); i++) {
        long j = find(reg, where[i].kind, where[i].name);
        mf__obj o = {0};
        if (j >= 0) mf__reg_get(reg, where[i].kind, (size_t)j, &o);
        ok = j >= 0 && o.meta && strcmp(o.meta->file, "defs.lua") == 0 &&
             o.meta->line == where[i].line && strcmp(o.project, "proj") == 0;
        if (!ok) printf("#   %s: index %ld line %d\n", where[i].name, j, j >= 0 && o.meta ? o.meta->line : -1);
    }
    if (!ok) mf__reg_free(reg);
    CHECK(ok);

    const Mf__EntitySpec *e = reg->entities[0]->spec;
    ok = e->n_join_keys == 1 && !strcmp(e->join_keys[0], "driver_id") &&
         e->value_type == MF__VALUE_TYPE__VT_INT64 && !strcmp(e->description, "A driver");
    if (!ok) printf("#   entity\n");

    const Mf__DataSourceSpec *fs = reg->data_sources[find(reg, MF_KIND_DATA_SOURCE, "driver_hourly_stats_source")]->spec;
    ok = ok && !strcmp(fs->kind, "file") && !strcmp(fs->path, "data/driver_stats.csv") &&
         !strcmp(fs->timestamp_field, "event_timestamp") &&
         !strcmp(fs->created_timestamp_column, "created") && !strcmp(fs->format, "csv") &&
         !strcmp(fs->delimiter, ",");
    if (!ok) printf("#   file source\n");
    const Mf__DataSourceSpec *ps = reg->data_sources[find(reg, MF_KIND_DATA_SOURCE, "driver_stats_push_source")]->spec;
    ok = ok && !strcmp(ps->kind, "push") && !strcmp(ps->batch_source, "driver_hourly_stats_source");
    const Mf__DataSourceSpec *rs = reg->data_sources[find(reg, MF_KIND_DATA_SOURCE, "vals_to_add")]->spec;
    ok = ok && !strcmp(rs->kind, "request") && rs->n_schema == 2 &&
         !strcmp(rs->schema[1]->name, "val_to_add_2") && rs->schema[1]->dtype == MF__VALUE_TYPE__VT_INT64;
    if (!ok) printf("#   push or request source\n");

    const Mf__FeatureViewSpec *v = reg->feature_views[find(reg, MF_KIND_FEATURE_VIEW, "driver_hourly_stats")]->spec;
    ok = ok && v->ttl_seconds == 86400 && v->online && !v->schema_inferred &&
         !strcmp(v->source, "driver_hourly_stats_source") && v->n_entities == 1 &&
         !strcmp(v->entities[0], "driver") && v->n_entity_columns == 1 &&
         !strcmp(v->entity_columns[0]->name, "driver_id") &&
         v->entity_columns[0]->dtype == MF__VALUE_TYPE__VT_INT64 && v->n_features == 3 &&
         !strcmp(v->features[0]->name, "conv_rate") && v->features[0]->dtype == MF__VALUE_TYPE__VT_FLOAT &&
         !strcmp(v->features[2]->name, "avg_daily_trips") &&
         v->features[2]->dtype == MF__VALUE_TYPE__VT_INT64 &&
         !strcmp(v->features[2]->description, "Average daily trips") && v->n_tags == 2 &&
         !strcmp(v->tags[0]->key, "owner_team") && !strcmp(v->tags[0]->value, "ml") &&
         !strcmp(v->tags[1]->key, "team") && !strcmp(v->tags[1]->value, "driver_performance");
    if (!ok) printf("#   feature view driver_hourly_stats\n");
    const Mf__FeatureViewSpec *fr = reg->feature_views[find(reg, MF_KIND_FEATURE_VIEW, "driver_hourly_stats_fresh")]->spec;
    ok = ok && fr->ttl_seconds == 7200 && !fr->online && !strcmp(fr->source, "driver_stats_push_source");
    if (!ok) printf("#   feature view driver_hourly_stats_fresh\n");

    const Mf__OnDemandFeatureViewSpec *o = reg->on_demand_feature_views[0]->spec;
    ok = ok && o->n_source_views == 1 && !strcmp(o->source_views[0]->view_name, "driver_hourly_stats") &&
         o->source_views[0]->n_features == 3 && o->n_request_sources == 1 &&
         !strcmp(o->request_sources[0], "vals_to_add") && o->n_features == 2 &&
         o->features[1]->dtype == MF__VALUE_TYPE__VT_DOUBLE && !strcmp(o->mode, "row") &&
         !o->write_to_online_store;
    if (!ok) printf("#   on-demand view\n");
    const char *want_src = "function(row)\n"
                           "    return {\n"
                           "      conv_rate_plus_val1 = row.conv_rate + row.val_to_add,\n"
                           "      conv_rate_plus_val2 = row.conv_rate + row.val_to_add_2, -- the end\n"
                           "    }\n"
                           "  end";
    if (ok && strcmp(o->transform_source, want_src) != 0) {
        printf("#   transform_source: [%s]\n", o->transform_source);
        ok = false;
    }

    const Mf__FeatureServiceSpec *s = reg->feature_services[0]->spec;
    ok = ok && s->n_features == 3 && !strcmp(s->owner, "ml@example.com") && s->n_tags == 1 &&
         /* projection 1: a selection, no alias */
         !strcmp(s->features[0]->view_name, "driver_hourly_stats") && !strcmp(s->features[0]->alias, "") &&
         s->features[0]->n_features == 1 && !strcmp(s->features[0]->features[0], "conv_rate") &&
         s->features[0]->n_join_key_map == 0 &&
         /* projection 2: the whole on-demand view */
         !strcmp(s->features[1]->view_name, "transformed_conv_rate") && s->features[1]->n_features == 2 &&
         !strcmp(s->features[1]->features[0], "conv_rate_plus_val1") &&
         /* projection 3: selection, alias and join key map */
         !strcmp(s->features[2]->view_name, "driver_hourly_stats") &&
         !strcmp(s->features[2]->alias, "rider_stats") && s->features[2]->n_features == 2 &&
         !strcmp(s->features[2]->features[1], "avg_daily_trips") && s->features[2]->n_join_key_map == 1 &&
         !strcmp(s->features[2]->join_key_map[0]->view_key, "driver_id") &&
         !strcmp(s->features[2]->join_key_map[0]->entity_column, "rider_id");
    if (!ok) printf("#   feature service\n");
    mf__reg_free(reg);
    CHECK(ok);
}

/* Loading is deterministic: the same files give equal registries. */
static void test_load_deterministic(void) {
    Mf__Registry *a = load_ok(quickstart);
    CHECK(a);
    Mf__Registry *b = load_ok(quickstart);
    bool eq = b && mf__pb_equal(&a->base, &b->base);
    mf__reg_free(a);
    mf__reg_free(b);
    CHECK(eq);
}

int main(void) {
    T(test_bad_object_names);
    T(test_bad_field_name);
    T(test_bad_alias);
    T(test_bad_join_keys);
    T(test_duplicate_names);
    T(test_duplicate_across_files);
    T(test_same_name_other_kinds);
    T(test_unknown_dtype);
    T(test_array_types);
    T(test_missing_required);
    T(test_unknown_field);
    T(test_ttl);
    T(test_unknown_entity_or_source);
    T(test_request_source_feeds_view);
    T(test_push_source_batch);
    T(test_service_unknown_view);
    T(test_select_unknown_feature);
    T(test_view_listed_twice);
    T(test_duplicate_schema_feature);
    T(test_schema_only_join_keys);
    T(test_transform_upvalue);
    T(test_transform_not_compiling);
    T(test_lua_syntax_error);
    T(test_lua_runtime_error);
    T(test_sandbox);
    T(test_require_stdlib);
    T(test_bytecode_refused);
    T(test_string_metatable_hidden);
    T(test_objects_read_only);
    T(test_undefined_globals);
    T(test_definition_strings);
    T(test_budgets);
    T(test_symlinks);
    T(test_definition_files);
    T(test_resolve_missing_columns);
    T(test_resolve_infer_schema);
    T(test_resolve_infer_errors);
    T(test_resolve_field_mapping);
    T(test_quickstart);
    T(test_load_deterministic);
    MFT_END();
}
