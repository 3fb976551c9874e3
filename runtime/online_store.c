/*
 * online_store.c — choosing the online store the configuration names.
 *
 * Every online store implements mf__online_vt (mf_internal.h). apply,
 * delete and teardown reach the stores only through it.
 */
#include <stdlib.h>
#include <string.h>

#include "mf_online.h"

static int open_sqlite(const mf__config *cfg, mf__online **out, mf_error *err) {
    int64_t mb = mf__conf_int(&cfg->online, "mmap_size_mb"); /* -1: not set */
    return mf__online_sqlite_open(mf__conf_str(&cfg->online, "path"), cfg->online_read_reuse_us,
                                  mb < 0 ? -1 : mb << 20,
                                  mf__conf_int(&cfg->online, "split_read_keys"), out, err);
}

static int open_redis(const mf__config *cfg, mf__online **out, mf_error *err) {
    mf__redis_opts o = {cfg->config_path, mf__conf_str(&cfg->online, "connection_string"),
                        mf__conf_int(&cfg->online, "key_ttl_seconds"),
                        mf__conf_int(&cfg->online, "connect_timeout_ms"),
                        mf__conf_int(&cfg->online, "command_timeout_ms"),
                        mf__conf_str(&cfg->online, "redis_type")};
    return mf__online_redis_open(&o, out, err);
}

/* The online store types: the first is the default. Seconds that become
 * milliseconds stay far from overflow (10^12 s). */
static const mf__opt_spec sqlite_opts[] = {
    {"path", MF__OPT_PATH, false, "data/online.db", 0, 0, 0, NULL},
    {"mmap_size_mb", MF__OPT_INT, false, NULL, -1, 0, 1048576, NULL},
    {"split_read_keys", MF__OPT_INT, false, NULL, 256, 0, INT32_MAX, NULL}};
static const mf__opt_spec redis_opts[] = {
    {"connection_string", MF__OPT_STRING, false, "localhost:6379", 0, 0, 0, NULL},
    {"key_ttl_seconds", MF__OPT_INT, false, NULL, 0, 0, INT64_C(1000000000000), NULL},
    {"connect_timeout_ms", MF__OPT_INT, false, NULL, 1000, 1, INT32_MAX, NULL},
    {"command_timeout_ms", MF__OPT_INT, false, NULL, 1000, 1, INT32_MAX, NULL},
    {"redis_type", MF__OPT_CHOICE, false, "redis", 0, 0, 0, "redis|redis_cluster"}};
static const mf__opt_spec lua_opts[] = {{"module", MF__OPT_PATH, true, NULL, 0, 0, 0, NULL}};

const mf__store_type mf__online_types[] = {
    {"sqlite", sqlite_opts, MF__ARRAY_LEN(sqlite_opts), open_sqlite, false},
    {"redis", redis_opts, MF__ARRAY_LEN(redis_opts), open_redis, false},
    {"lua", lua_opts, MF__ARRAY_LEN(lua_opts), mf__online_lua_open, true}};
const size_t mf__n_online_types = MF__ARRAY_LEN(mf__online_types);

int mf__online_open(const mf__config *cfg, mf__online **out, mf_error *err) {
    const mf__store_type *st = cfg->online.st;
    if (st && st->open_online) return st->open_online(cfg, out, err);
    mf__buf list;
    mf__buf_init(&list);
    for (size_t i = 0; i < mf__n_online_types; i++)
        if (mf__online_types[i].open_online)
            mf__buf_printf(&list, "%s%s", list.len ? ", " : "", mf__online_types[i].name);
    int rc = mf__err_at(err, MF_ECONFIG, cfg->config_path, 0,
                        "online_store type '%s' is not supported by this build (supported: %s)",
                        cfg->online.type ? cfg->online.type : "?", list.data ? list.data : "");
    mf__buf_free(&list);
    return rc;
}

char *mf__sql_ident(const char *s) {
    mf__buf b;
    mf__buf_init(&b);
    mf__buf_putc(&b, '"');
    for (; *s; s++) {
        if (*s == '"') mf__buf_putc(&b, '"');
        mf__buf_putc(&b, *s);
    }
    mf__buf_putc(&b, '"');
    return mf__buf_steal(&b);
}
