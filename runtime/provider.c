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
 *                                    skipped (its interval is recorded);
 *                                    false or nil: it runs; anything else
 *                                    is an error
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

/* The hooks the module defines, into *has (p->mu held). In protected mode
 * (mf__lstate_cpcall), as every use of the state once the module ran: what
 * it holds may leave the state at its memory cap, and an allocation of
 * moonfeast's own code failing there (a hook's name the module does not
 * define) must be an error, never the end of the process. */
typedef struct hooks_of {
    mf__provider *p;
    unsigned has;
    mf_error *err;
} hooks_of;

static int hooks_body(lua_State *L, void *ud) {
    hooks_of *a = ud;
    int rc = MF_OK;
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->p->ref);
    for (int h = 0; h < MF__HOOK_COUNT && rc == MF_OK; h++) {
        lua_getfield(L, -1, HOOKS[h]);
        if (lua_isfunction(L, -1)) a->has |= 1u << h;
        else if (!lua_isnil(L, -1)) rc = mf__err(a->err, MF_EIO, "provider lua (%s): '%s' must "
                                                   "be a function, got %s", a->p->module,
                                                   HOOKS[h], luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return rc;
}

/* Load the module (p->mu held). */
static int load(mf__provider *p, mf_error *err) {
    if (p->ls) return MF_OK;
    mf__lua_module m = {"provider lua", p->module, p->budget, MF_EIO, NULL, NULL, 0, NULL, 0,
                        "hooks", NULL, MF__LUA_KEYS_MODULE};
    int rc = mf__lua_module_open(&m, &p->ls, &p->ref, err);
    if (rc) return rc;
    hooks_of a = {p, 0, err};
    mf_error e;
    int body_rc;
    if (mf__lstate_cpcall(p->ls, hooks_body, &a, &body_rc, &e)) {
        int n = mf__lua_msg_len(e.message);
        rc = mf__err(err, MF_EIO, "provider lua (%s), loading the module: %.*s", p->module, n,
                     e.message);
    } else {
        rc = body_rc;
    }
    if (rc) {
        mf__lstate_free(p->ls);
        p->ls = NULL;
        return rc;
    }
    __atomic_store_n(&p->has, a.has, __ATOMIC_RELEASE);
    __atomic_store_n(&p->loaded, true, __ATOMIC_RELEASE);
    return MF_OK;
}

bool mf__provider_has(mf__provider *p, mf__hook h) {
    if (!p) return false;
    if (!__atomic_load_n(&p->loaded, __ATOMIC_ACQUIRE)) return true; /* not known yet: ask */
    return (__atomic_load_n(&p->has, __ATOMIC_ACQUIRE) >> h) & 1u;
}

/* A hook's call: the arguments pushed, the call, its answer read, in
 * protected mode (see hooks_body). */
#define MAX_ARGS 8
typedef struct hook_call {
    mf__provider *p;
    mf__hook h;
    int n;
    const char *s[MAX_ARGS];
    int64_t v[MAX_ARGS];
    bool *replaced;
    mf_error *err;
} hook_call;

static int call_body(lua_State *L, void *ud) {
    hook_call *c = ud;
    mf__provider *p = c->p;
    mf__lstate_begin(p->ls); /* before the arguments: see store_lua.c's run_op */
    mf__lua_module_push(L, p->ref, HOOKS[c->h]);
    for (int i = 0; i < c->n; i++) {
        if (c->s[i]) lua_pushstring(L, c->s[i]);
        else lua_pushnumber(L, (lua_Number)c->v[i]);
    }
    mf_error e;
    if (mf__lstate_pcall(p->ls, c->n, 1, &e)) {
        int len = mf__lua_msg_len(e.message);
        return mf__err(c->err, MF_EIO, "provider lua (%s), %s: %.*s", p->module, HOOKS[c->h],
                       len, e.message);
    }
    if (c->replaced) {
        /* true replaces the built-in work; a truthy number or table is
         * more likely a mistake than a wish to skip the view */
        int t = lua_type(L, -1);
        if (t != LUA_TNIL && t != LUA_TBOOLEAN)
            return mf__err(c->err, MF_EIO, "provider lua (%s), %s: must return true, false "
                           "or nil, got %s", p->module, HOOKS[c->h], lua_typename(L, t));
        *c->replaced = lua_toboolean(L, -1);
    }
    return MF_OK;
}

int mf__provider_call(mf__provider *p, mf__hook h, bool *replaced, mf_error *err,
                      const char *fmt, ...) {
    if (replaced) *replaced = false;
    if (!mf__provider_has(p, h)) return MF_OK;
    hook_call c = {p, h, 0, {NULL}, {0}, replaced, err};
    va_list ap;
    va_start(ap, fmt);
    for (const char *f = fmt; *f && c.n < MAX_ARGS; f++, c.n++) {
        if (*f == 's') c.s[c.n] = va_arg(ap, const char *);
        else c.v[c.n] = va_arg(ap, int64_t);
    }
    va_end(ap);
    pthread_mutex_lock(&p->mu);
    int rc = load(p, err);
    if (rc || !((p->has >> h) & 1u)) {
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    mf_error e;
    int body_rc;
    if (mf__lstate_cpcall(p->ls, call_body, &c, &body_rc, &e)) {
        int len = mf__lua_msg_len(e.message);
        rc = mf__err(err, MF_EIO, "provider lua (%s), %s: %.*s", p->module, HOOKS[h], len,
                     e.message);
    } else {
        rc = body_rc;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}
