/*
 * provider.c — providers written in Lua (provider: {type: lua, module}).
 *
 * The module (loaded as the Lua stores are: mf__lua_module_open, the
 * transform sandbox, interpreted, the transform budget per call) returns a
 * table of hooks, every one optional:
 *
 *   before_apply(project)            after_apply(project, version)
 *   before_teardown(project)         after_teardown(project)
 *   materialize(project, view, start, end)   true: the hook did the view's
 *                                    work, the built-in materialization is
 *                                    skipped (its interval is recorded)
 *   after_materialize(project, view, rows_read, rows_written)
 *   before_online_read(project, rows)
 *   after_online_read(project, rows, columns)
 *
 * Where a hook is absent the built-in behaviour runs alone. A hook that
 * raises (or spends its budget) fails the call it belongs to, before the
 * built-in work when it is a before_ hook, with an MF_EIO error naming the
 * module, the hook and Lua's message (file:line). One instance per store,
 * loaded on first use; hooks run one at a time (a mutex), so a provider's
 * counters see every call of every thread. The store checks `has` before
 * locking: a provider without read hooks costs the reads nothing.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "mf_internal.h"

static const char *const HOOKS[MF__HOOK_COUNT] = {
    "before_apply",    "after_apply",       "before_teardown",    "after_teardown",
    "materialize",     "after_materialize", "before_online_read", "after_online_read"};

struct mf__provider {
    pthread_mutex_t mu;
    char *module;
    mf__lua_budget budget;
    mf__lstate *ls; /* NULL until loaded */
    int ref;
    unsigned has; /* atomic after load: bit h set when hook h is defined */
    bool loaded;  /* atomic */
};

int mf__provider_open(const mf__config *cfg, mf__provider **out, mf_error *err) {
    MF__UNUSED(err);
    *out = NULL;
    if (strcmp(cfg->provider_type, "lua") != 0) return MF_OK;
    mf__provider *p = mf__xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->module = mf__xstrdup(cfg->provider_module);
    p->budget = cfg->transform_budget;
    p->budget.max_memory = cfg->lua_budget.max_memory;
    p->ref = LUA_NOREF;
    *out = p;
    return MF_OK;
}

void mf__provider_free(mf__provider *p) {
    if (!p) return;
    mf__lstate_free(p->ls);
    pthread_mutex_destroy(&p->mu);
    free(p->module);
    free(p);
}

/* Load the module (p->mu held). */
static int load(mf__provider *p, mf_error *err) {
    if (p->ls) return MF_OK;
    mf__lua_module m = {"provider lua", p->module, p->budget, MF_EIO, NULL, NULL, 0, NULL, 0,
                        "hooks", NULL, MF__LUA_KEYS_MODULE};
    int rc = mf__lua_module_open(&m, &p->ls, &p->ref, err);
    if (rc) return rc;
    lua_State *L = mf__lstate_L(p->ls);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref);
    unsigned has = 0;
    for (int h = 0; h < MF__HOOK_COUNT; h++) {
        lua_getfield(L, -1, HOOKS[h]);
        if (lua_isfunction(L, -1)) has |= 1u << h;
        else if (!lua_isnil(L, -1)) rc = mf__err(err, MF_EIO, "provider lua (%s): '%s' must be "
                                                   "a function, got %s", p->module, HOOKS[h],
                                                   luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (rc) {
        mf__lstate_free(p->ls);
        p->ls = NULL;
        return rc;
    }
    __atomic_store_n(&p->has, has, __ATOMIC_RELEASE);
    __atomic_store_n(&p->loaded, true, __ATOMIC_RELEASE);
    return MF_OK;
}

bool mf__provider_has(mf__provider *p, mf__hook h) {
    if (!p) return false;
    if (!__atomic_load_n(&p->loaded, __ATOMIC_ACQUIRE)) return true; /* not known yet: ask */
    return (__atomic_load_n(&p->has, __ATOMIC_ACQUIRE) >> h) & 1u;
}

int mf__provider_call(mf__provider *p, mf__hook h, bool *replaced, mf_error *err,
                      const char *fmt, ...) {
    if (replaced) *replaced = false;
    if (!mf__provider_has(p, h)) return MF_OK;
    pthread_mutex_lock(&p->mu);
    int rc = load(p, err);
    if (rc || !((p->has >> h) & 1u)) {
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    lua_State *L = mf__lstate_L(p->ls);
    int top = lua_gettop(L);
    mf__lstate_begin(p->ls); /* before the arguments: see store_lua.c's run_op */
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref);
    lua_getfield(L, -1, HOOKS[h]);
    lua_remove(L, -2);
    va_list ap;
    va_start(ap, fmt);
    int n = 0;
    for (const char *f = fmt; *f; f++, n++) {
        if (*f == 's') lua_pushstring(L, va_arg(ap, const char *));
        else lua_pushnumber(L, (lua_Number)va_arg(ap, int64_t));
    }
    va_end(ap);
    mf_error e;
    if (mf__lstate_pcall(p->ls, n, 1, &e)) {
        int len = mf__lua_msg_len(e.message);
        rc = mf__err(err, MF_EIO, "provider lua (%s), %s: %.*s", p->module, HOOKS[h], len,
                     e.message);
    } else if (replaced) {
        *replaced = lua_toboolean(L, -1);
    }
    lua_settop(L, top);
    pthread_mutex_unlock(&p->mu);
    return rc;
}
