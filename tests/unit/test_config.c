/*
 * test_config.c — unit tests of runtime/config.c (feature_store.yaml).
 *
 * Each test writes a yaml file into a private mkdtemp directory, loads it
 * with mf__config_load and checks the fields, or the error code, message
 * and line.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mf_internal.h"
#include "mft.h"

/*---- Helpers ---------------------------------------------------------------*/

static char tmpdir[PATH_MAX]; /* realpath of the test directory */

/* Write `text` to <tmpdir>/<name>; returns the path (static storage). */
static const char *write_file(const char *name, const char *text, size_t len) {
    static char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(2);
    }
    fwrite(text, 1, len, f);
    fclose(f);
    return p;
}

static const char *yaml(const char *text) {
    return write_file("feature_store.yaml", text, strlen(text));
}

/* Load text; returns the code. cfg must be freed by the caller. */
static int load(const char *text, mf__config *cfg, mf_error *err) {
    mf__err_clear(err);
    return mf__config_load(yaml(text), cfg, err);
}

/* Absolute path of rel under the test directory (static storage). */
static const char *in_tmp(const char *rel) {
    static char buf[PATH_MAX + 64];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, rel);
    return buf;
}

static bool all_zero(const mf__config *cfg) {
    static const mf__config zero;
    return memcmp(cfg, &zero, sizeof zero) == 0;
}

/* Expect failure with MF_ECONFIG at line `ln`, message holding `a` and `b`. */
#define CHECK_FAILS(text, ln, a, b)                                        \
    do {                                                                     \
        mf__config cfg_;                                                     \
        mf_error err_;                                                       \
        int rc_ = load((text), &cfg_, &err_);                                \
        if (rc_ == MF_OK) mf__config_free(&cfg_);                            \
        CHECK(rc_ == MF_ECONFIG);                                            \
        CHECK(err_.code == MF_ECONFIG);                                      \
        CHECK(all_zero(&cfg_));                                              \
        CHECK_HAS(err_.message, (a));                                        \
        CHECK_HAS(err_.message, (b));                                        \
        char want_[64];                                                      \
        snprintf(want_, sizeof want_, "line %d", (ln));                    \
        CHECK_HAS(err_.message, want_);                                      \
        CHECK(err_.line == (ln));                                          \
        CHECK_HAS(err_.file, "feature_store.yaml");                          \
    } while (0)

/*---- Valid files -----------------------------------------------------------*/

static void test_minimal_defaults(void) {
    mf__config cfg;
    mf_error err;
    CHECK(load("project: driver_ranking\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.project, "driver_ranking");
    CHECK_STR(cfg.repo_path, tmpdir);
    CHECK_STR(cfg.config_path, in_tmp("feature_store.yaml"));
    CHECK_STR(cfg.provider_type, "local");
    CHECK(cfg.provider_module == NULL);
    CHECK_STR(cfg.registry_type, "file");
    CHECK_STR(cfg.registry_path, in_tmp("data/registry.db"));
    CHECK(cfg.registry_cache_ttl_seconds == 600);
    CHECK_STR(cfg.online.type, "sqlite");
    CHECK_STR(mf__conf_str(&cfg.online, "path"), in_tmp("data/online.db"));
    CHECK(mf__conf_str(&cfg.online, "connection_string") == NULL);
    CHECK(mf__conf_int(&cfg.online, "key_ttl_seconds") == 0); /* a Redis option */
    CHECK(mf__conf_str(&cfg.online, "module") == NULL);
    CHECK_STR(cfg.offline.type, "file");
    CHECK(mf__conf_str(&cfg.offline, "module") == NULL);
    CHECK(mf__conf_int(&cfg.offline, "max_line_bytes") == (int64_t)64 << 20);
    CHECK(cfg.entity_key_serialization_version == 3);
    CHECK_STR(cfg.server.host, "127.0.0.1");
    CHECK(cfg.server.port == 6566);
    mf__config_free(&cfg);
    CHECK(all_zero(&cfg));
    mf__config_free(&cfg); /* twice is harmless */
    mf__config_free(NULL);
}

static void test_full_file(void) {
    setenv("MFT_REDIS_PASSWORD", "s3cret", 1);
    mf__config cfg;
    mf_error err;
    int rc = load("# the example of docs/config.md\n"
                  "project: driver_ranking            # required\n"
                  "provider: local\n"
                  "registry: data/registry.db\n"
                  "online_store:\n"
                  "  type: redis\n"
                  "  connection_string: \"localhost:6379,db=0,password=${MFT_REDIS_PASSWORD}\"\n"
                  "  key_ttl_seconds: 86400\n"
                  "  connect_timeout_ms: 250\n"
                  "  command_timeout_ms: 500\n"
                  "offline_store: {type: file}\n"
                  "entity_key_serialization_version: 3\n"
                  "feature_server: {port: 8080, host: 0.0.0.0}\n",
                  &cfg, &err);
    if (rc) printf("#   %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK_STR(cfg.project, "driver_ranking");
    CHECK_STR(cfg.provider_type, "local");
    CHECK_STR(cfg.registry_type, "file");
    CHECK_STR(cfg.registry_path, in_tmp("data/registry.db"));
    CHECK_STR(cfg.online.type, "redis");
    CHECK_STR(mf__conf_str(&cfg.online, "connection_string"), "localhost:6379,db=0,password=s3cret");
    CHECK(mf__conf_str(&cfg.online, "path") == NULL);
    CHECK(mf__conf_int(&cfg.online, "key_ttl_seconds") == 86400);
    CHECK(mf__conf_int(&cfg.online, "connect_timeout_ms") == 250);
    CHECK(mf__conf_int(&cfg.online, "command_timeout_ms") == 500);
    CHECK_STR(cfg.offline.type, "file");
    CHECK(cfg.entity_key_serialization_version == 3);
    CHECK_STR(cfg.server.host, "0.0.0.0");
    CHECK(cfg.server.port == 8080);
    mf__config_free(&cfg);
    unsetenv("MFT_REDIS_PASSWORD");
}

static void test_registry_forms(void) {
    mf__config cfg;
    mf_error err;
    CHECK(load("project: p\nregistry: ./reg/r.pb\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.registry_type, "file");
    CHECK_STR(cfg.registry_path, in_tmp("reg/r.pb"));
    mf__config_free(&cfg);

    CHECK(load("project: p\nregistry: /var/lib/mf/registry.db\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.registry_path, "/var/lib/mf/registry.db");
    mf__config_free(&cfg);

    CHECK(load("project: p\nregistry:\n  registry_type: file\n  path: x.db\n"
               "  cache_ttl_seconds: 60\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.registry_type, "file");
    CHECK_STR(cfg.registry_path, in_tmp("x.db"));
    CHECK(cfg.registry_cache_ttl_seconds == 60);
    mf__config_free(&cfg);

    CHECK(load("project: p\nregistry: {cache_ttl_seconds: 0}\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.registry_type, "file");
    CHECK_STR(cfg.registry_path, in_tmp("data/registry.db"));
    CHECK(cfg.registry_cache_ttl_seconds == 0);
    mf__config_free(&cfg);

    CHECK(load("project: p\nregistry:\n  registry_type: sql\n"
               "  path: postgresql://u:pw@localhost:5432/feast\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.registry_type, "sql");
    CHECK_STR(cfg.registry_path, "postgresql://u:pw@localhost:5432/feast");
    CHECK(cfg.registry_cache_ttl_seconds == 600);
    mf__config_free(&cfg);

    CHECK(load("project: p\nregistry: {registry_type: sql, path: 'sqlite:///data/reg.db'}\n",
               &cfg, &err) == MF_OK);
    CHECK_STR(cfg.registry_path, "sqlite:///data/reg.db");
    mf__config_free(&cfg);
    /* the SQL registry in the online store's database: refused (its
     * deletes and teardowns waited for their own lock and failed) */
    {
        mf_error err3;
        CHECK(load("project: p\nregistry: {registry_type: sql, path: 'sqlite:///data/online.db'}\n",
                   &cfg, &err3) == MF_ECONFIG);
        CHECK_HAS(err3.message, "is the online store's database");
        CHECK(all_zero(&cfg));
    }
    /* a database URL where a file registry's path goes: refused (it was a
     * folder "postgresql:" in the repo), the password not shown */
    CHECK_FAILS("project: p\nregistry: postgresql://moon:s3cret@db1:5432/features\n", 2,
                "'postgresql://moon:***@db1:5432/features' is a URL, not a file path",
                "registry_type: sql");
    CHECK_FAILS("project: p\nregistry:\n  path: sqlite:///data/reg.db\n", 3, "registry.path",
                "set registry_type: sql");
    {
        mf_error err2;
        CHECK(load("project: p\nregistry: postgresql://moon:s3cret@db1/f\n", &cfg, &err2) ==
              MF_ECONFIG);
        CHECK(strstr(err2.message, "s3cret") == NULL);
    }
}

static void test_online_forms(void) {
    mf__config cfg;
    mf_error err;
    CHECK(load("project: p\nonline_store:\n  type: sqlite\n  path: data/o.db\n", &cfg,
               &err) == MF_OK);
    CHECK_STR(cfg.online.type, "sqlite");
    CHECK_STR(mf__conf_str(&cfg.online, "path"), in_tmp("data/o.db"));
    CHECK(mf__conf_int(&cfg.online, "mmap_size_mb") == -1); /* not set: chosen by the file's size */
    CHECK(mf__conf_int(&cfg.online, "split_read_keys") == 256);
    mf__config_free(&cfg);

    CHECK(load("project: p\nonline_store: {type: sqlite, mmap_size_mb: 2048, split_read_keys: 0}\n",
               &cfg, &err) == MF_OK);
    CHECK(mf__conf_int(&cfg.online, "mmap_size_mb") == 2048);
    CHECK(mf__conf_int(&cfg.online, "split_read_keys") == 0);
    mf__config_free(&cfg);
    CHECK(load("project: p\nonline_store: {type: sqlite, split_read_keys: -1}\n", &cfg, &err) ==
          MF_ECONFIG);
    CHECK(strstr(err.message, "split_read_keys") != NULL);

    /* Feast's form without a path. */
    CHECK(load("project: p\nonline_store:\n  type: sqlite\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.online.type, "sqlite");
    CHECK_STR(mf__conf_str(&cfg.online, "path"), in_tmp("data/online.db"));
    mf__config_free(&cfg);

    /* A mapping without a type is sqlite, as in Feast. */
    CHECK(load("project: p\nonline_store: {path: /tmp/x.db}\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.online.type, "sqlite");
    CHECK_STR(mf__conf_str(&cfg.online, "path"), "/tmp/x.db");
    mf__config_free(&cfg);

    CHECK(load("project: p\nonline_store: {type: redis}\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.online.type, "redis");
    CHECK_STR(mf__conf_str(&cfg.online, "connection_string"), "localhost:6379");
    CHECK(mf__conf_int(&cfg.online, "key_ttl_seconds") == 0);
    CHECK(mf__conf_int(&cfg.online, "connect_timeout_ms") == 1000);
    CHECK(mf__conf_int(&cfg.online, "command_timeout_ms") == 1000);
    CHECK_STR(mf__conf_str(&cfg.online, "redis_type"), "redis");
    CHECK(mf__conf_str(&cfg.online, "path") == NULL);
    mf__config_free(&cfg);

    /* Redis Cluster, with Feast's key and value */
    CHECK(load("project: p\nonline_store:\n  type: redis\n  redis_type: redis_cluster\n"
               "  connection_string: \"10.0.0.1:7000,10.0.0.2:7000\"\n", &cfg, &err) == MF_OK);
    CHECK_STR(mf__conf_str(&cfg.online, "redis_type"), "redis_cluster");
    CHECK_STR(mf__conf_str(&cfg.online, "connection_string"), "10.0.0.1:7000,10.0.0.2:7000");
    mf__config_free(&cfg);

    /* A bare type name, as Feast allows. */
    CHECK(load("project: p\nonline_store: redis\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.online.type, "redis");
    CHECK_STR(mf__conf_str(&cfg.online, "connection_string"), "localhost:6379");
    mf__config_free(&cfg);

    CHECK(load("project: p\nonline_store: {type: lua, module: stores/mine.lua}\n", &cfg,
               &err) == MF_OK);
    CHECK_STR(cfg.online.type, "lua");
    CHECK_STR(mf__conf_str(&cfg.online, "module"), in_tmp("stores/mine.lua"));
    CHECK(mf__conf_str(&cfg.online, "path") == NULL);
    CHECK(mf__conf_str(&cfg.online, "connection_string") == NULL);
    mf__config_free(&cfg);
}

static void test_provider_and_offline_forms(void) {
    mf__config cfg;
    mf_error err;
    CHECK(load("project: p\nprovider:\n  type: lua\n  module: prov.lua\n"
               "offline_store:\n  type: lua\n  module: /opt/off.lua\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.provider_type, "lua");
    CHECK_STR(cfg.provider_module, in_tmp("prov.lua"));
    CHECK_STR(cfg.offline.type, "lua");
    CHECK_STR(mf__conf_str(&cfg.offline, "module"), "/opt/off.lua");
    mf__config_free(&cfg);

    CHECK(load("project: p\nprovider: {type: local}\noffline_store: file\n", &cfg, &err) ==
          MF_OK);
    CHECK_STR(cfg.provider_type, "local");
    CHECK(cfg.provider_module == NULL);
    CHECK_STR(cfg.offline.type, "file");
    mf__config_free(&cfg);

    CHECK(load("project: p\noffline_store: {}\nfeature_server: {}\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.offline.type, "file");
    CHECK(cfg.server.port == 6566);
    CHECK_STR(cfg.server.host, "127.0.0.1");
    mf__config_free(&cfg);
}

static void test_env_expansion(void) {
    setenv("MFT_A", "alpha", 1);
    setenv("MFT_PORT", "7000", 1);
    setenv("MFT_DIR", "/srv/data", 1);
    setenv("MFT_NESTED", "${MFT_A}", 1);
    setenv("MFT_EMPTY", "", 1);
    mf__config cfg;
    mf_error err;
    int rc = load("project: \"${MFT_A}_${MFT_A}\"\n"
                  "registry: ${MFT_DIR}/registry.db\n"
                  "online_store:\n"
                  "  type: redis\n"
                  "  connection_string: 'a$b $$${MFT_A} ${MFT_NESTED}${MFT_EMPTY} $'\n"
                  "feature_server: {port: '${MFT_PORT}'}\n",
                  &cfg, &err);
    if (rc) printf("#   %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK_STR(cfg.project, "alpha_alpha");
    CHECK_STR(cfg.registry_path, "/srv/data/registry.db");
    CHECK_STR(mf__conf_str(&cfg.online, "connection_string"), "a$b $$alpha ${MFT_A} $");
    CHECK(cfg.server.port == 7000);
    mf__config_free(&cfg);
    unsetenv("MFT_A");
    unsetenv("MFT_PORT");
    unsetenv("MFT_DIR");
    unsetenv("MFT_NESTED");
    unsetenv("MFT_EMPTY");
}

static void test_relative_config_path(void) {
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(mkdir(in_tmp("sub"), 0700) == 0 || errno == EEXIST);
    const char *sub = "project: sub\nregistry: r.db\n";
    write_file("sub/feature_store.yaml", sub, strlen(sub));
    CHECK(chdir(tmpdir) == 0);
    mf__config cfg;
    mf_error err;
    int rc = mf__config_load("sub/feature_store.yaml", &cfg, &err);
    int rc2 = chdir(cwd);
    CHECK(rc == MF_OK);
    CHECK(rc2 == 0);
    CHECK_STR(cfg.repo_path, in_tmp("sub"));
    CHECK_STR(cfg.config_path, in_tmp("sub/feature_store.yaml"));
    CHECK_STR(cfg.registry_path, in_tmp("sub/r.db"));
    mf__config_free(&cfg);
}

static void test_yaml_features(void) {
    /* Anchors, aliases, quoting styles and a document marker. */
    mf__config cfg;
    mf_error err;
    int rc = load("%YAML 1.1\n---\n"
                  "project: &name 'my_proj'\n"
                  "registry: {path: *name}\n"
                  "feature_server:\n  port: +6000\n  host: \"::1\"\n"
                  "...\n",
                  &cfg, &err);
    if (rc) printf("#   %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK_STR(cfg.project, "my_proj");
    CHECK_STR(cfg.registry_path, in_tmp("my_proj"));
    CHECK(cfg.server.port == 6000);
    CHECK_STR(cfg.server.host, "::1");
    mf__config_free(&cfg);
}

/*---- Errors ----------------------------------------------------------------*/

static void test_unknown_key(void) {
    CHECK_FAILS("project: p\n\nonlin_store:\n  type: sqlite\n", 3,
                "unknown key 'onlin_store' in feature_store.yaml", "did you mean 'online_store'");
    CHECK_FAILS("project: p\nflags: {}\n", 2, "unknown key 'flags'", "feature_store.yaml");
}

static void test_unknown_nested_key(void) {
    CHECK_FAILS("project: p\nonline_store:\n  type: sqlite\n  foo: 1\n", 4,
                "unknown key 'online_store.foo'", "feature_store.yaml");
    CHECK_FAILS("project: p\nregistry:\n  path: x\n  type: sql\n", 4,
                "unknown key 'registry.type'", "did you mean");
    CHECK_FAILS("project: p\nfeature_server:\n  enabled: true\n", 3,
                "unknown key 'feature_server.enabled'", "line");
}

static void test_key_for_other_type(void) {
    CHECK_FAILS("project: p\nonline_store:\n  type: sqlite\n  connection_string: x\n", 4,
                "unknown key 'online_store.connection_string'", "type 'sqlite'");
    CHECK_FAILS("project: p\nprovider: {type: local, module: x.lua}\n", 2,
                "unknown key 'provider.module'", "type 'local'");
}

/* redis_type takes redis or redis_cluster, for the redis type only. */
static void test_redis_type(void) {
    CHECK_FAILS("project: p\nonline_store:\n  type: redis\n  redis_type: redis_sentinel\n", 4,
                "key 'online_store.redis_type'",
                "expected one of redis, redis_cluster, got 'redis_sentinel'");
    CHECK_FAILS("project: p\nonline_store: {type: redis, redis_type: cluster}\n", 2,
                "key 'online_store.redis_type'", "got 'cluster'");
    CHECK_FAILS("project: p\nonline_store:\n  type: sqlite\n  redis_type: redis_cluster\n", 4,
                "unknown key 'online_store.redis_type'", "type 'sqlite'");
}

static void test_duplicate_key(void) {
    CHECK_FAILS("project: p\nregistry: a.db\nproject: q\n", 3, "duplicate key 'project'",
                "first at line 1");
    CHECK_FAILS("project: p\nonline_store:\n  type: redis\n  type: sqlite\n", 4,
                "duplicate key 'online_store.type'", "first at line 3");
}

static void test_unknown_types(void) {
    CHECK_FAILS("project: p\nonline_store:\n  type: dynamodb\n", 3,
                "unknown online store type 'dynamodb'", "online_store.type");
    CHECK_FAILS("project: p\nregistry:\n  registry_type: s3\n", 3,
                "unknown registry type 's3'", "registry.registry_type");
    CHECK_FAILS("project: p\nprovider: gcp\n", 2, "unknown provider type 'gcp'",
                "key 'provider'");
    CHECK_FAILS("project: p\noffline_store: {type: bigquery}\n", 2,
                "unknown offline store type 'bigquery'", "offline_store.type");
    CHECK_FAILS("project: p\nprovider: {module: x.lua}\n", 2,
                "missing required key 'provider.type'", "feature_store.yaml");
}

static void test_wrong_shapes(void) {
    CHECK_FAILS("project:\n  name: p\n", 2, "key 'project'", "expected a scalar value, got a mapping");
    CHECK_FAILS("project: p\nfeature_server: 8080\n", 2, "key 'feature_server'",
                "expected a mapping, got a scalar");
    CHECK_FAILS("project: p\nonline_store:\n  - sqlite\n", 3, "key 'online_store'",
                "expected a mapping, got a list");
    CHECK_FAILS("project: p\nregistry: [a, b]\n", 2, "key 'registry'", "got a list");
    CHECK_FAILS("project: p\nonline_store: {type: sqlite, path: [a]}\n", 2,
                "key 'online_store.path'", "got a list");
    CHECK_FAILS("- project: p\n", 1, "expected a mapping of keys", "got a list");
    CHECK_FAILS("project: p\n? [a, b]\n: c\n", 2, "a key in the top level is a list",
                "feature_store.yaml");
}

/* feature_server: every key, tokens from the environment, and the
 * mistakes, each at its line. */
/* A Lua store takes any other key of its section as an option (text,
 * ${VAR} expanded); other store types still refuse unknown keys. */
static void test_lua_store_options(void) {
    mf__config cfg;
    mf_error err;
    setenv("MFT_CAP", "500", 1);
    CHECK(load("project: p\nonline_store:\n  type: lua\n  module: m.lua\n  capacity: ${MFT_CAP}\n"
               "  label: hot rows\n", &cfg, &err) == MF_OK);
    CHECK_STR(mf__conf_str(&cfg.online, "module"), in_tmp("m.lua"));
    CHECK(cfg.online.n_extra == 2);
    if (cfg.online.n_extra == 2) {
        CHECK_STR(cfg.online.extra[0].name, "capacity");
        CHECK_STR(cfg.online.extra[0].value, "500");
        CHECK_STR(cfg.online.extra[1].name, "label");
        CHECK_STR(cfg.online.extra[1].value, "hot rows");
    }
    mf__config_free(&cfg);
    CHECK_FAILS("project: p\nonline_store:\n  type: lua\n  module: m.lua\n  nested: {a: 1}\n", 5,
                "online_store.nested", "expected a scalar value");
    CHECK_FAILS("project: p\nonline_store:\n  type: sqlite\n  capacity: 5\n", 4,
                "unknown key 'online_store.capacity'", "line 4");
    /* an unset variable in the type is the error (it was "unknown key
     * 'online_store.capacity'") */
    unsetenv("MFT_NO_SUCH_TYPE");
    CHECK_FAILS("project: p\nonline_store:\n  type: ${MFT_NO_SUCH_TYPE}\n  module: m.lua\n"
                "  capacity: 10\n", 3, "environment variable 'MFT_NO_SUCH_TYPE' is not set",
                "online_store.type");
    /* names other store types declare are the module's too, as text
     * (they were refused: "unknown key 'online_store.path' for ... lua") */
    CHECK(load("project: p\nonline_store:\n  type: lua\n  module: m.lua\n  path: /tmp/x\n"
               "  key_ttl_seconds: 3600\n", &cfg, &err) == MF_OK);
    CHECK(cfg.online.n_extra == 2);
    for (size_t i = 0; i < cfg.online.n_extra; i++) {
        const char *nm = cfg.online.extra[i].name, *v = cfg.online.extra[i].value;
        CHECK((!strcmp(nm, "path") && !strcmp(v, "/tmp/x")) ||
              (!strcmp(nm, "key_ttl_seconds") && !strcmp(v, "3600")));
    }
    mf__config_free(&cfg);
}

static void test_engine_commands(void) {
    mf__config cfg;
    mf_error err;
    mkdir(in_tmp("bin"), 0755);
    write_file("bin/submit.sh", "#!/bin/sh\n", 10);
    chmod(in_tmp("bin/submit.sh"), 0755);
    write_file("bin/plain.sh", "#!/bin/sh\n", 10);
    chmod(in_tmp("bin/plain.sh"), 0644);
    /* defaults: no commands, an hour */
    CHECK(load("project: p\nbatch_engine: {type: lua, module: e.lua}\n", &cfg, &err) == MF_OK);
    CHECK(cfg.n_engine_commands == 0);
    CHECK(cfg.engine_command_timeout_seconds == 3600);
    mf__config_free(&cfg);
    /* names in file order, paths absolute (relative ones from the repo) */
    char text[PATH_MAX * 2];
    snprintf(text, sizeof text,
             "project: p\nbatch_engine:\n  type: lua\n  module: e.lua\n  commands:\n"
             "    submit: bin/submit.sh\n    wait-1: %s\n  command_timeout_seconds: 604800\n",
             in_tmp("bin/submit.sh"));
    CHECK(load(text, &cfg, &err) == MF_OK);
    CHECK(cfg.n_engine_commands == 2);
    if (cfg.n_engine_commands == 2) {
        CHECK_STR(cfg.engine_command_names[0], "submit");
        CHECK_STR(cfg.engine_command_paths[0], in_tmp("bin/submit.sh"));
        CHECK_STR(cfg.engine_command_names[1], "wait-1");
        CHECK_STR(cfg.engine_command_paths[1], in_tmp("bin/submit.sh"));
    }
    CHECK(cfg.engine_command_timeout_seconds == 604800);
    mf__config_free(&cfg);
    CHECK(all_zero(&cfg));
    CHECK_FAILS("project: p\nbatch_engine:\n  type: lua\n  module: e.lua\n  commands:\n"
                "    a: bin/submit.sh\n    b: bin/missing.sh\n", 7,
                "key 'batch_engine.commands.b'", "cannot be run: No such file or directory");
    CHECK_FAILS("project: p\nbatch_engine:\n  type: lua\n  module: e.lua\n  commands:\n"
                "    a: bin/plain.sh\n", 6, "key 'batch_engine.commands.a'", "not executable");
    CHECK_FAILS("project: p\nbatch_engine:\n  type: lua\n  module: e.lua\n  commands:\n"
                "    a: bin\n", 6, "key 'batch_engine.commands.a'", "not a regular file");
    CHECK_FAILS("project: p\nbatch_engine:\n  commands: {a: bin/submit.sh}\n", 3,
                "unknown key 'batch_engine.commands'", "type 'local'");
    CHECK_FAILS("project: p\nbatch_engine: {type: local,\n  command_timeout_seconds: 9}\n", 3,
                "unknown key 'batch_engine.command_timeout_seconds'", "type 'local'");
    CHECK_FAILS("project: p\nbatch_engine: {type: lua, module: e.lua,\n"
                "  command_timeout_seconds: 604801}\n",
                3, "batch_engine.command_timeout_seconds", "between 1 and 604800");
    CHECK_FAILS("project: p\nbatch_engine: {type: lua, module: e.lua,\n  commands: [a]}\n", 3,
                "batch_engine.commands", "expected a mapping of names to programs");
    CHECK_FAILS("project: p\nbatch_engine: {type: lua, module: e.lua,\n  commands: {a/b: x}}\n", 3,
                "invalid command name 'a/b'", "letters, digits");
    CHECK_FAILS("project: p\nbatch_engine:\n  type: lua\n  module: e.lua\n  commands:\n"
                "    a: bin/submit.sh\n    a: bin/submit.sh\n", 7,
                "duplicate key 'batch_engine.commands.a'", "line 7");
    CHECK_FAILS("project: p\nbatch_engine: {type: lua, module: e.lua,\n  commands: {a: ~}}\n", 3,
                "batch_engine.commands.a", "expected a value");
}

static void test_server_section(void) {
    mf__config cfg;
    mf_error err;
    setenv("MFT_TOKEN", "from-env", 1);
    CHECK(load("project: p\nfeature_server:\n  host: 0.0.0.0\n  port: 7000\n  threads: 3\n"
               "  registry_ttl_seconds: 5\n  max_body_bytes: 2048\n  max_entity_rows: 10\n"
               "  max_header_bytes: 8192\n  max_connections: 7\n  request_timeout_seconds: 9\n"
               "  read_reuse_us: 250\n  access_log: false\n  metrics_public: true\n  tls_key: k.pem\n  tls_cert: c.pem\n"
               "  auth:\n    tokens:\n      - {token: \"${MFT_TOKEN}\", role: read}\n"
               "      - token: t2\n        role: write\n      - {token: t3, role: admin}\n",
               &cfg, &err) == MF_OK);
    CHECK_STR(cfg.server.host, "0.0.0.0");
    CHECK(cfg.server.port == 7000 && cfg.server.threads == 3);
    CHECK(cfg.server.registry_ttl_seconds == 5 && cfg.server.max_body_bytes == 2048);
    CHECK(cfg.server.max_entity_rows == 10 && cfg.server.max_header_bytes == 8192);
    CHECK(cfg.server.max_connections == 7 && cfg.server.request_timeout_seconds == 9);
    CHECK(cfg.server.read_reuse_us == 250 && cfg.online_read_reuse_us == 0);
    CHECK(!cfg.server.access_log && cfg.server.metrics_public);
    CHECK_STR(cfg.server.tls_key, in_tmp("k.pem"));
    CHECK_STR(cfg.server.tls_cert, in_tmp("c.pem"));
    CHECK(cfg.server.n_tokens == 3);
    if (cfg.server.n_tokens == 3) {
        CHECK_STR(cfg.server.tokens[0].token, "from-env");
        CHECK(cfg.server.tokens[0].role == MF__ROLE_READ);
        CHECK_STR(cfg.server.tokens[1].token, "t2");
        CHECK(cfg.server.tokens[1].role == MF__ROLE_WRITE);
        CHECK(cfg.server.tokens[2].role == MF__ROLE_ADMIN);
    }
    mf__config_free(&cfg);
    CHECK(load("project: p\n", &cfg, &err) == MF_OK);
    CHECK(cfg.server.n_tokens == 0 && cfg.server.access_log && !cfg.server.metrics_public);
    CHECK(cfg.server.registry_ttl_seconds == -1 && cfg.server.max_body_bytes == 64 << 20);
    CHECK(cfg.server.max_entity_rows == 100000 && cfg.server.request_timeout_seconds == 30);
    CHECK(!cfg.server.tls_key && cfg.server.threads == 0);
    CHECK(cfg.server.read_reuse_us == 1000 && cfg.online_read_reuse_us == 0);
    mf__config_free(&cfg);
    CHECK_FAILS("project: p\nfeature_server:\n  auth:\n    tokens:\n      - {token: a, role: root}\n",
                5, "feature_server.auth.tokens[0].role", "expected read, write or admin");
    CHECK_FAILS("project: p\nfeature_server:\n  auth:\n    tokens:\n      - {token: a, role: read}\n"
                "      - {token: a, role: admin}\n", 6, "feature_server.auth.tokens[1].token",
                "the same token as tokens[0]");
    CHECK_FAILS("project: p\nfeature_server:\n  auth:\n    tokens: []\n", 4,
                "feature_server.auth.tokens", "empty");
    CHECK_FAILS("project: p\nfeature_server:\n  auth: {}\n", 3, "feature_server.auth.tokens",
                "missing");
    CHECK_FAILS("project: p\nfeature_server:\n  auth:\n    tokens:\n      - {role: read}\n", 5,
                "feature_server.auth.tokens[0].token", "missing");
    CHECK_FAILS("project: p\nfeature_server:\n  auth:\n    tokens:\n      - {token: 'a b', role: read}\n",
                5, "feature_server.auth.tokens[0].token", "without spaces");
    CHECK_FAILS("project: p\nfeature_server:\n  auth:\n    tokens:\n      - just-a-token\n", 5,
                "feature_server.auth.tokens[0]", "expected a mapping");
    CHECK_FAILS("project: p\nfeature_server:\n  auth:\n    tokens:\n      - {token: a, role: read, x: 1}\n",
                5, "unknown key 'feature_server.auth.tokens[0].x'", "line");
    CHECK_FAILS("project: p\nfeature_server:\n  auth:\n    tokens:\n      - {token: '${MFT_UNSET_TOKEN}', role: read}\n",
                5, "MFT_UNSET_TOKEN", "feature_server.auth.tokens[0].token");
    CHECK_FAILS("project: p\nfeature_server:\n  tls_cert: c.pem\n", 3, "tls_key and tls_cert together",
                "feature_server");
    CHECK_FAILS("project: p\nfeature_server:\n  access_log: maybe\n", 3,
                "feature_server.access_log", "expected true or false");
    CHECK_FAILS("project: p\nfeature_server:\n  threads: 0\n", 3, "feature_server.threads",
                "between 1 and 1024");
    CHECK_FAILS("project: p\nfeature_server:\n  max_header_bytes: 100\n", 3,
                "feature_server.max_header_bytes", "between 4096");
    CHECK_FAILS("project: p\nfeature_server:\n  request_timeout_seconds: 0\n", 3,
                "feature_server.request_timeout_seconds", "between 1 and 86400");
    CHECK_FAILS("project: p\nfeature_server:\n  read_reuse_us: 1000001\n", 3,
                "feature_server.read_reuse_us", "between 0 and 1000000");
    CHECK(load("project: p\nfeature_server:\n  read_reuse_us: 0\n", &cfg, &err) == MF_OK);
    CHECK(cfg.server.read_reuse_us == 0);
    mf__config_free(&cfg);
}

static void test_bad_numbers(void) {
    CHECK_FAILS("project: p\nfeature_server:\n  port: http\n", 3, "key 'feature_server.port'",
                "expected an integer, got 'http'");
    CHECK_FAILS("project: p\nfeature_server: {port: 6566.5}\n", 2,
                "key 'feature_server.port'", "expected an integer");
    CHECK_FAILS("project: p\nfeature_server: {port: 0}\n", 2, "key 'feature_server.port'",
                "between 1 and 65535");
    CHECK_FAILS("project: p\nfeature_server: {port: 65536}\n", 2, "feature_server.port",
                "between 1 and 65535");
    CHECK_FAILS("project: p\nfeature_server: {port: 99999999999999999999999}\n", 2,
                "feature_server.port", "between 1 and 65535");
    CHECK_FAILS("project: p\nonline_store:\n  type: redis\n  key_ttl_seconds: -1\n", 4,
                "key 'online_store.key_ttl_seconds'", "between 0 and 1000000000000, got -1");
    CHECK_FAILS("project: p\nregistry:\n  cache_ttl_seconds: -60\n", 3,
                "key 'registry.cache_ttl_seconds'", "between 0 and 1000000000000, got -60");
    CHECK_FAILS("project: p\nonline_store: {type: redis, connect_timeout_ms: 0}\n", 2,
                "key 'online_store.connect_timeout_ms'", "between 1 and");
    CHECK_FAILS("project: p\nonline_store:\n  mmap_size_mb: -1\n", 3,
                "key 'online_store.mmap_size_mb'", "between 0 and 1048576, got -1");
    CHECK_FAILS("project: p\nonline_store: {type: redis, mmap_size_mb: 64}\n", 2,
                "mmap_size_mb", "type 'redis'");
}

static void test_project_rules(void) {
    CHECK_FAILS("registry: r.db\n", 1, "missing required key 'project'", "feature_store.yaml");
    CHECK_FAILS("", 1, "missing required key 'project'", "feature_store.yaml");
    CHECK_FAILS("# only a comment\n", 1, "missing required key 'project'", "yaml");
    CHECK_FAILS("\nproject: my-project\n", 2, "key 'project'", "invalid project name 'my-project'");
    CHECK_FAILS("project: \"\"\n", 1, "key 'project'", "must not be empty");
    CHECK_FAILS("project:\nregistry: r.db\n", 1, "key 'project'", "expected a value");
    mf__config cfg;
    mf_error err;
    CHECK(load("project: 2024_Drivers\n", &cfg, &err) == MF_OK);
    CHECK_STR(cfg.project, "2024_Drivers");
    mf__config_free(&cfg);
}

static void test_required_modules(void) {
    CHECK_FAILS("project: p\nonline_store:\n  type: lua\n", 3,
                "missing required key 'online_store.module'", "yaml");
    CHECK_FAILS("project: p\nprovider: lua\n", 2, "missing required key 'provider.module'",
                "yaml");
    CHECK_FAILS("project: p\noffline_store: {type: lua}\n", 2,
                "missing required key 'offline_store.module'", "yaml");
    CHECK_FAILS("project: p\nregistry: {registry_type: sql}\n", 2,
                "missing required key 'registry.path'", "yaml");
}

static void test_ek_version(void) {
    CHECK_FAILS("project: p\nentity_key_serialization_version: 2\n", 2,
                "key 'entity_key_serialization_version'", "only 3 is supported");
    CHECK_FAILS("project: p\nentity_key_serialization_version: three\n", 2,
                "key 'entity_key_serialization_version'", "expected an integer");
}

static void test_env_errors(void) {
    unsetenv("MFT_NOT_SET");
    CHECK_FAILS("project: p\nonline_store:\n  type: redis\n"
                "  connection_string: \"h:1,password=${MFT_NOT_SET}\"\n",
                4, "environment variable 'MFT_NOT_SET' is not set",
                "key 'online_store.connection_string'");
    CHECK_FAILS("project: ${MFT_NOT_SET}\n", 1, "'MFT_NOT_SET'", "key 'project'");
    CHECK_FAILS("project: p\nregistry: ${MFT_DIR\n", 2, "key 'registry'", "unterminated '${'");
    CHECK_FAILS("project: p\nregistry: a${}b\n", 2, "key 'registry'", "empty variable name");
}

static void test_yaml_syntax_errors(void) {
    CHECK_FAILS("project: p\nonline_store:\n  type: redis\n   path: x\n", 4, "invalid YAML",
                "mapping values are not allowed");
    CHECK_FAILS("project: p\nregistry: \"unterminated\n\n", 4, "invalid YAML",
                "found unexpected end of stream");
    CHECK_FAILS("project: p\nregistry: *nowhere\n", 2, "invalid YAML", "undefined alias");
    CHECK_FAILS("project: p\n\tregistry: x\n", 2, "invalid YAML", "feature_store.yaml");
    CHECK_FAILS("project: p\nregistry: \"a\\0b\"\n", 2, "key 'registry'", "NUL character");
    CHECK_FAILS("project: p\n---\nproject: q\n", 2, "a second YAML document",
                "feature_store.yaml");
    /* an empty one: its line is its `---`, not the line past the end */
    CHECK_FAILS("project: p\n---\n", 2, "a second YAML document", "feature_store.yaml");
    CHECK_FAILS("project: p\n\n--- \n\n", 3, "a second YAML document", "feature_store.yaml");
    /* Invalid UTF-8: libyaml's reader error carries only an offset. */
    mf__config cfg;
    mf_error err;
    const char bad[] = "project: p\nregistry: \xff\xfe\n";
    CHECK(mf__config_load(write_file("feature_store.yaml", bad, sizeof bad - 1), &cfg, &err) ==
          MF_ECONFIG);
    CHECK_HAS(err.message, "invalid YAML");
    CHECK(err.line == 2);
    CHECK(all_zero(&cfg));
}

static void test_missing_file(void) {
    mf__config cfg;
    mf_error err;
    int rc = mf__config_load(in_tmp("nope/feature_store.yaml"), &cfg, &err);
    CHECK(rc == MF_EIO);
    CHECK_HAS(err.message, "nope/feature_store.yaml");
    CHECK(all_zero(&cfg));
    rc = mf__config_load(in_tmp("absent.yaml"), &cfg, &err);
    CHECK(rc == MF_EIO);
    CHECK_HAS(err.message, "absent.yaml");
    rc = mf__config_load(in_tmp("sub/"), &cfg, &err);
    CHECK(rc == MF_EIO);
    rc = mf__config_load(tmpdir, &cfg, &err); /* a directory */
    CHECK(rc == MF_EIO);
    CHECK(mf__config_load("", &cfg, &err) == MF_EUSAGE);
}

/* Every prefix of a valid file, and a few byte flips, load or fail cleanly
 * (under ASan this is the "never crash" check). */
static void test_truncations_never_crash(void) {
    setenv("MFT_T", "x", 1);
    const char *full =
        "project: &p t_1\nprovider: {type: lua, module: m.lua}\n"
        "registry:\n  registry_type: sql\n  path: \"sqlite:///${MFT_T}.db\"\n"
        "  cache_ttl_seconds: 5\nonline_store:\n  type: redis\n  key_ttl_seconds: 9\n"
        "offline_store: [*p]\nentity_key_serialization_version: 3\n"
        "feature_server: {port: 1, host: h}\n";
    size_t n = strlen(full);
    int ok = 0, failed = 0;
    for (size_t i = 0; i <= n; i++) {
        for (int flip = 0; flip < 3; flip++) {
            char *text = mf__xstrndup(full, n);
            size_t j = i ? i - 1 : 0; /* the last byte kept */
            if (flip) text[j] = flip == 1 ? ':' : '{';
            mf__config cfg;
            mf_error err;
            int rc = mf__config_load(write_file("feature_store.yaml", text, i), &cfg, &err);
            free(text);
            if (rc == MF_OK) {
                ok++;
                CHECK(cfg.project != NULL);
                mf__config_free(&cfg);
            } else {
                failed++;
                CHECK(rc == MF_ECONFIG);
                CHECK(err.message[0] != '\0');
                CHECK(all_zero(&cfg));
            }
        }
    }
    CHECK(failed > 0);
    unsetenv("MFT_T");
    (void)ok;
}

/*---- Limits ----------------------------------------------------------------*/

/* offline_store.max_line_bytes: the longest record of a CSV source. */
static void test_offline_max_line_bytes(void) {
    mf__config cfg;
    mf_error err;
    CHECK(load("project: p\n", &cfg, &err) == MF_OK);
    CHECK(mf__conf_int(&cfg.offline, "max_line_bytes") == (int64_t)64 << 20);
    mf__config_free(&cfg);
    CHECK(load("project: p\noffline_store: {type: file, max_line_bytes: 1024}\n", &cfg, &err) ==
          MF_OK);
    CHECK(mf__conf_int(&cfg.offline, "max_line_bytes") == 1024);
    mf__config_free(&cfg);
    CHECK(load("project: p\noffline_store:\n  max_line_bytes: 1073741824\n", &cfg, &err) ==
          MF_OK);
    CHECK(mf__conf_int(&cfg.offline, "max_line_bytes") == 1073741824);
    mf__config_free(&cfg);
    CHECK_FAILS("project: p\noffline_store:\n  max_line_bytes: 1023\n", 3,
                "key 'offline_store.max_line_bytes'", "must be between 1024 and 1073741824, got 1023");
    CHECK_FAILS("project: p\noffline_store: {max_line_bytes: 1073741825}\n", 2,
                "key 'offline_store.max_line_bytes'", "got 1073741825");
    CHECK_FAILS("project: p\noffline_store: {max_line_bytes: 64MiB}\n", 2,
                "key 'offline_store.max_line_bytes'", "expected an integer");
    /* the lua type reads CSV sources too: the same option */
    CHECK(load("project: p\noffline_store: {type: lua, module: m.lua, max_line_bytes: 2048}\n",
               &cfg, &err) == MF_OK);
    CHECK(mf__conf_int(&cfg.offline, "max_line_bytes") == 2048);
    mf__config_free(&cfg);
}

/* Durations in seconds that are multiplied into micro- or milliseconds are
 * range-checked so that the product fits in 64 bits. */
static void test_seconds_ranges(void) {
    CHECK_FAILS("project: p\nregistry:\n  cache_ttl_seconds: 9223372036854775807\n", 3,
                "key 'registry.cache_ttl_seconds'",
                "must be between 0 and 1000000000000, got 9223372036854775807");
    CHECK_FAILS("project: p\nregistry: {cache_ttl_seconds: 1000000000001}\n", 2,
                "key 'registry.cache_ttl_seconds'", "got 1000000000001");
    CHECK_FAILS("project: p\nonline_store:\n  type: redis\n  key_ttl_seconds: 9223372036854775\n",
                4, "key 'online_store.key_ttl_seconds'",
                "must be between 0 and 1000000000000, got 9223372036854775");
    mf__config cfg;
    mf_error err;
    CHECK(load("project: p\nregistry: {cache_ttl_seconds: 1000000000000}\n"
               "online_store: {type: redis, key_ttl_seconds: 1000000000000}\n",
               &cfg, &err) == MF_OK);
    CHECK(cfg.registry_cache_ttl_seconds == 1000000000000);
    CHECK(mf__conf_int(&cfg.online, "key_ttl_seconds") == 1000000000000);
    mf__config_free(&cfg);
}

/* lua: the budget of a definition load: defaults, overrides, ranges. */
static void test_lua_budget(void) {
    mf__config cfg;
    mf_error err;
    CHECK(load("project: p\n", &cfg, &err) == MF_OK);
    CHECK(cfg.lua_budget.max_instructions == MF__LUA_DEFAULT_INSTRUCTIONS);
    CHECK(cfg.lua_budget.max_memory == (size_t)MF__LUA_DEFAULT_MEMORY_MB << 20);
    CHECK(cfg.lua_budget.max_ms == MF__LUA_DEFAULT_SECONDS * 1000);
    mf__config_free(&cfg);
    CHECK(load("project: p\nlua:\n  max_instructions: 5000000\n  max_memory_mb: 64\n"
               "  timeout_seconds: 3\n", &cfg, &err) == MF_OK);
    CHECK(cfg.lua_budget.max_instructions == 5000000);
    CHECK(cfg.lua_budget.max_memory == (size_t)64 << 20);
    CHECK(cfg.lua_budget.max_ms == 3000);
    mf__config_free(&cfg);
    CHECK_FAILS("project: p\nlua:\n  max_instructions: 0\n", 3, "key 'lua.max_instructions'",
                "must be between 1000 and");
    CHECK_FAILS("project: p\nlua: {max_memory_mb: -1}\n", 2, "key 'lua.max_memory_mb'",
                "must be between 1 and 1048576");
    CHECK_FAILS("project: p\nlua: {timeout_seconds: many}\n", 2, "key 'lua.timeout_seconds'", "");
    CHECK_FAILS("project: p\nlua:\n  max_instruction: 5\n", 3, "unknown key 'lua.max_instruction'",
                "did you mean 'max_instructions'");
    CHECK_FAILS("project: p\nlua: 5\n", 2, "key 'lua'", "expected a mapping");
    /* the transform budget */
    CHECK(load("project: p\n", &cfg, &err) == MF_OK);
    CHECK(cfg.transform_budget.max_instructions == MF__LUA_TRANSFORM_INSTRUCTIONS);
    CHECK(cfg.transform_budget.max_memory == (size_t)MF__LUA_TRANSFORM_MEMORY_MB << 20);
    CHECK(cfg.transform_budget.max_ms == MF__LUA_TRANSFORM_MS);
    mf__config_free(&cfg);
    CHECK(load("project: p\nlua: {transform_max_instructions: 20000, transform_max_memory_mb: 8, "
               "transform_timeout_ms: 5}\n", &cfg, &err) == MF_OK);
    CHECK(cfg.transform_budget.max_instructions == 20000);
    CHECK(cfg.transform_budget.max_memory == (size_t)8 << 20);
    CHECK(cfg.transform_budget.max_ms == 5);
    mf__config_free(&cfg);
    CHECK_FAILS("project: p\nlua: {transform_timeout_ms: 0}\n", 2, "key 'lua.transform_timeout_ms'",
                "must be between 1 and");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Nesting deeper than 32 levels is refused before the document is built
 * (libyaml takes time quadratic in the depth: 100000 levels took 34 s). */
static void test_deep_nesting(void) {
    enum { N = 100000 };
    mf__buf b;
    mf__buf_init(&b);
    mf__buf_puts(&b, "project: p\nregistry: ");
    for (int i = 0; i < N; i++) mf__buf_putc(&b, '[');
    for (int i = 0; i < N; i++) mf__buf_putc(&b, ']');
    mf__buf_putc(&b, '\n');
    double t0 = now_s();
    CHECK_FAILS(b.data, 2, "nested deeper than 32 levels", "feature_store.yaml");
    double took = now_s() - t0;
    mf__buf_free(&b);
    if (took > 5) printf("#   took %.1f s\n", took);
    CHECK(took < 5);

    /* 32 levels (the top mapping is one) are read; 33 are not */
    for (int depth = 31; depth <= 32; depth++) {
        mf__buf_init(&b);
        mf__buf_puts(&b, "project: p\nregistry: ");
        for (int i = 0; i < depth; i++) mf__buf_putc(&b, '[');
        for (int i = 0; i < depth; i++) mf__buf_putc(&b, ']');
        mf__buf_putc(&b, '\n');
        if (depth == 31)
            CHECK_FAILS(b.data, 2, "key 'registry'", "expected a mapping, got a list");
        else
            CHECK_FAILS(b.data, 2, "nested deeper than 32 levels", "feature_store.yaml");
        mf__buf_free(&b);
    }

    /* block style: the line of the first level too deep (the mapping of
     * depth d starts on line d + 1) */
    mf__buf_init(&b);
    mf__buf_puts(&b, "project: p\nfeature_server:\n");
    for (int d = 2; d <= 33; d++) {
        for (int k = 1; k < d; k++) mf__buf_putc(&b, ' ');
        mf__buf_puts(&b, d < 33 ? "k:\n" : "k: 1\n");
    }
    CHECK_FAILS(b.data, 34, "nested deeper than 32 levels", "feature_store.yaml");
    mf__buf_free(&b);
}

/* Scalars (keys or values) longer than 65536 bytes are refused, naming the
 * line. */
static void test_long_scalars(void) {
    for (int extra = 0; extra < 2; extra++) {
        mf__buf b;
        mf__buf_init(&b);
        mf__buf_puts(&b, "# a comment\nproject: ");
        for (int i = 0; i < 65536 + extra; i++) mf__buf_putc(&b, 'p');
        mf__buf_puts(&b, "\n");
        if (extra) {
            CHECK_FAILS(b.data, 2, "a scalar longer than 65536 bytes", "feature_store.yaml");
        } else {
            mf__config cfg;
            mf_error err;
            CHECK(load(b.data, &cfg, &err) == MF_OK);
            CHECK(strlen(cfg.project) == 65536);
            mf__config_free(&cfg);
        }
        mf__buf_free(&b);
    }
    mf__buf b;
    mf__buf_init(&b);
    mf__buf_puts(&b, "project: p\n\n? ");  /* an explicit key: simple keys stop at 1024 */
    for (int i = 0; i < 70000; i++) mf__buf_putc(&b, 'k');
    mf__buf_puts(&b, "\n: 1\n");
    CHECK_FAILS(b.data, 3, "a scalar longer than 65536 bytes", "feature_store.yaml");
    mf__buf_free(&b);
}

/* The file itself: at most 1 MiB; a device or a FIFO without a writer is
 * an error at once (no endless read, no wait). */
static void test_config_file_limits(void) {
    mf__config cfg;
    mf_error err;
    size_t n = (1 << 20) + 1;
    char *big = malloc(n);
    memset(big, '#', n);
    memcpy(big, "project: p\n", 11);
    big[n - 1] = '\n';
    int rc = mf__config_load(write_file("feature_store.yaml", big, n), &cfg, &err);
    free(big);
    CHECK(rc == MF_ECONFIG);
    CHECK(all_zero(&cfg));
    CHECK_HAS(err.message, "longer than 1048576 bytes");
    CHECK_HAS(err.file, "feature_store.yaml");

    rc = mf__config_load("/dev/zero", &cfg, &err);
    CHECK(rc == MF_EIO);
    CHECK(all_zero(&cfg));
    CHECK_HAS(err.message, "/dev/zero");
    CHECK_HAS(err.message, "character device");

    const char *fifo = in_tmp("fifo.yaml");
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    alarm(20); /* the old reader waited for a writer for ever */
    rc = mf__config_load(fifo, &cfg, &err);
    alarm(0);
    unlink(fifo);
    CHECK(rc == MF_ECONFIG);
    CHECK(all_zero(&cfg));
    CHECK_HAS(err.message, "missing required key 'project'");
}

/*---- Main ------------------------------------------------------------------*/

int main(void) {
    char tmpl[] = "/tmp/mft_config_XXXXXX";
    if (!mkdtemp(tmpl) || !realpath(tmpl, tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_minimal_defaults);
    RUN(test_full_file);
    RUN(test_registry_forms);
    RUN(test_online_forms);
    RUN(test_provider_and_offline_forms);
    RUN(test_env_expansion);
    RUN(test_relative_config_path);
    RUN(test_yaml_features);
    RUN(test_unknown_key);
    RUN(test_unknown_nested_key);
    RUN(test_key_for_other_type);
    RUN(test_redis_type);
    RUN(test_duplicate_key);
    RUN(test_unknown_types);
    RUN(test_wrong_shapes);
    RUN(test_bad_numbers);
    RUN(test_project_rules);
    RUN(test_required_modules);
    RUN(test_ek_version);
    RUN(test_env_errors);
    RUN(test_yaml_syntax_errors);
    RUN(test_missing_file);
    RUN(test_truncations_never_crash);
    RUN(test_offline_max_line_bytes);
    RUN(test_seconds_ranges);
    RUN(test_lua_budget);
    RUN(test_deep_nesting);
    RUN(test_long_scalars);
    RUN(test_config_file_limits);
    RUN(test_server_section);
    RUN(test_lua_store_options);
    RUN(test_engine_commands);

    unlink(in_tmp("feature_store.yaml"));
    unlink(in_tmp("sub/feature_store.yaml"));
    rmdir(in_tmp("sub"));
    rmdir(tmpdir);
    MFT_END();
}
