/*
 * online_store.c — choosing the online store the configuration names.
 *
 * Every online store implements mf__online_vt (mf_internal.h). apply,
 * delete and teardown reach the stores only through it.
 */
#include <stdlib.h>
#include <string.h>

#include "mf_online.h"

int mf__online_open(const mf__config *cfg, mf__online **out, mf_error *err) {
    if (strcmp(cfg->online_type, "sqlite") == 0)
        return mf__online_sqlite_open(cfg->online_path, out, err);
    if (strcmp(cfg->online_type, "redis") == 0) return mf__online_redis_open(cfg, out, err);
    return mf__err_at(err, MF_ECONFIG, cfg->config_path, 0,
                      "online_store type '%s' is not supported by this build "
                      "(supported: sqlite, redis)",
                      cfg->online_type);
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
