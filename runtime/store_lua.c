/*
 * store_lua.c — online stores written in Lua (online_store: {type: lua,
 * module: path}).
 *
 * The module is Lua source text run in the transform sandbox (strict, no
 * global can be set, the stdlib through require) of a Lua state of the
 * instance's own: each thread that uses the store handle has its instance
 * (the store contract: one instance per thread), so a module's upvalues
 * are per thread. The chunk is called with one argument, a table of
 * options (the online_store section's other keys, as strings), and
 * returns a table of functions:
 *
 *   update(project, keep, drop)     keep, drop: lists of view names
 *   teardown(project, views)        views: list of view names
 *   write(project, view, rows)      rows = {n = N, keys = {...}, ts = {...},
 *                                   created = {...}, values = {...}}
 *   read(project, view, keys)       returns ts, values: two lists of #keys
 *                                   entries, nil where the key is not stored
 *                                   (a ts outside the years 1 to 9999 is
 *                                   an error)
 *
 * Keys are the entity keys serialized (v3) as Lua strings; times are
 * microseconds since the epoch as Lua numbers (exact to the microsecond
 * until the year 2255); values are a row's features packed by moonfeast
 * (mf__row_pack), opaque to the module, which stores them and gives them
 * back. Newer-wins is the module's to keep (the contract): a row replaces
 * a stored one only when its ts is greater, or equal with a created time
 * at least the stored one. One call per batch of rows, never per row.
 *
 * The module runs interpreted (LuaJIT's JIT off in its state), so that the
 * budget's instruction count holds in every loop.
 *
 * Budgets: each call runs with the transform's instruction budget times
 * the batch's rows (lua.transform_max_instructions), its time limit
 * (lua.transform_timeout_ms, per call, whatever the rows) and the memory
 * cap of definitions (lua.max_memory_mb, the store's data counts).
 * A Lua error, a spent budget or an answer of the wrong shape is an
 * MF_ESTORE error naming the module and the function, with Lua's message
 * (file:line); the instance stays usable.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>

#include "mf_online.h"

typedef struct lua_store {
    mf__online base;
    char *module;
    char **opt_names, **opt_values; /* the section's other keys */
    size_t nopts;
    mf__lua_budget budget;
    mf__lstate *ls;
    int ref; /* the module's table in the registry; LUA_NOREF before loading */
    mf__buf scratch;
} lua_store;

static const char *const FUNCS[] = {"update", "teardown", "write", "read"};

static int fail(lua_store *s, const char *fn, const mf_error *e, mf_error *err) {
    /* Lua's message, without its stack traceback */
    int len = mf__lua_msg_len(e->message);
    return mf__err(err, MF_ESTORE, "online store lua (%s), %s: %.*s", s->module, fn, len,
                   e->message);
}

/* Load the module on first use: compile, run in the sandbox, keep its
 * table. */
/*---- Host helpers for modules that read files (lua_source) ----------------*/

/* lines(path): the lines of a file under the root folder (an upvalue),
 * without their line ends, as a list. A path that is absolute or climbs
 * out of the folder is an error. */
/* __gc of host_lines's box: the text read, should a Lua error (out of
 * memory) leave host_lines before it frees it. */
static int free_box(lua_State *L) {
    char **box = lua_touserdata(L, 1);
    free(*box);
    *box = NULL;
    return 0;
}

/* Whether path, resolved (symbolic links followed), lies in root (resolved
 * too). A path that does not resolve is left to the read to report. */
static bool resolves_inside(const char *root, const char *path) {
    char *rp = realpath(path, NULL);
    if (!rp) return true;
    char *rr = realpath(root, NULL);
    size_t n = rr ? strlen(rr) : 0;
    bool in = rr && strncmp(rp, rr, n) == 0 && (rp[n] == '/' || rp[n] == '\0');
    free(rp);
    free(rr);
    return in;
}

static int host_lines(lua_State *L) {
    const char *root = lua_tostring(L, lua_upvalueindex(1));
    const char *path = luaL_checkstring(L, 1);
    if (path[0] == '/' || !strcmp(path, "..") || !strncmp(path, "../", 3) ||
        strstr(path, "/../") || (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
        return luaL_error(L, "lines: '%s' is outside the repo (give a path inside it)", path);
    char **box = lua_newuserdata(L, sizeof *box);
    *box = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, free_box);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    char *full = mf__path_join(root, path);
    if (!resolves_inside(root, full)) {
        free(full);
        return luaL_error(L, "lines: '%s' leads outside the repo (a symbolic link)", path);
    }
    size_t len = 0;
    mf_error e;
    int rc = mf__read_input(full, (size_t)256 << 20, box, &len, &e);
    free(full);
    if (rc) return luaL_error(L, "lines: %s", e.message);
    const char *text = *box;
    lua_newtable(L);
    int n = 0;
    size_t a = 0;
    while (a < len) {
        size_t b = a;
        while (b < len && text[b] != '\n') b++;
        size_t e2 = b;
        if (e2 > a && text[e2 - 1] == '\r') e2--;
        lua_pushlstring(L, text + a, e2 - a);
        lua_rawseti(L, -2, ++n);
        a = b + 1;
    }
    free(*box);
    *box = NULL;
    return 1;
}

/* A JSON value onto the Lua stack: objects and arrays as tables, null as
 * nil, numbers as numbers (integers beyond 2^53 as their decimal text).
 * Depth limited by Jansson's parser. */
static void push_json(lua_State *L, const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, k, x) {
            if (json_is_null(x)) continue;
            push_json(L, x);
            lua_setfield(L, -2, k);
        }
        return;
    }
    case JSON_ARRAY:
        lua_createtable(L, (int)json_array_size(v), 0);
        for (size_t i = 0; i < json_array_size(v); i++) {
            push_json(L, json_array_get(v, i));
            lua_rawseti(L, -2, (int)i + 1);
        }
        return;
    case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); return;
    case JSON_INTEGER: {
        /* beyond 2^53 a double would round it: its text keeps every digit
         * (as push_cell does for entity values) */
        json_int_t i = json_integer_value(v);
        if (i > -((json_int_t)1 << 53) && i < ((json_int_t)1 << 53))
            lua_pushnumber(L, (lua_Number)i);
        else {
            char num[32];
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, i);
            lua_pushstring(L, num);
        }
        return;
    }
    case JSON_REAL: lua_pushnumber(L, json_real_value(v)); return;
    case JSON_TRUE: lua_pushboolean(L, 1); return;
    case JSON_FALSE: lua_pushboolean(L, 0); return;
    default: lua_pushnil(L); return;
    }
}

/* timestamp(text): the epoch seconds (a number, with the microseconds as
 * its fraction) of timestamp text as moonfeast reads it, or nil and a
 * message when it is not one. */
static int host_timestamp(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    int64_t us;
    if (mf__ts_parse(text, len, &us) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "not a timestamp: '%s'", text);
        return 2;
    }
    lua_pushnumber(L, (lua_Number)us / 1e6);
    return 1;
}

/* json(text): the JSON value of text (strict: Jansson's decoder). */
/* __gc of host_json's box: the decoded value, should a Lua error (out of
 * memory) leave host_json before it releases it. */
static int decref_box(lua_State *L) {
    json_t **box = lua_touserdata(L, 1);
    json_decref(*box);
    *box = NULL;
    return 0;
}

/* What decoding text may take outside the Lua state (Jansson's values):
 * at most a value per byte of ',', ':' and '[' (and one more), of 128
 * bytes at most each besides its text (a value and its place in its
 * container: an empty string element took about 88 bytes of heap, a number
 * 40, measured with glibc), an object per '{' of 256 bytes at most (its
 * struct and first hash table: about 224), and three times the text's
 * bytes for its strings (Jansson's lexer keeps each string in a buffer
 * that doubles as it grows, and then copies it). Counted over the whole
 * text, strings included: an estimate from above. */
static size_t json_decode_bound(const char *text, size_t len) {
    size_t values = 1, objects = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        values += c == ',' || c == ':' || c == '[';
        objects += c == '{';
    }
    return 3 * len + 128 * values + 256 * objects;
}

static int host_json(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    /* the state's memory cap covers the decoder's values too */
    mf__lua_charge_memory(L, json_decode_bound(text, len));
    json_t **box = lua_newuserdata(L, sizeof *box);
    *box = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, decref_box);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    json_error_t je;
    *box = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!*box) return luaL_error(L, "json: %s (column %d)", je.text, je.column);
    push_json(L, *box);
    json_decref(*box);
    *box = NULL;
    return 1;
}

/* Run a module's chunk (below its arguments) and return, for the table it
 * returns, a plain copy of its string keys read raw, and of those of the
 * tables its metatables' __index chain names (up to 16 deep; an __index
 * function is not called): a table without a metatable that the module
 * never sees. The runtime looks its functions up there, so that no
 * metamethod of the module's (an __index that raises, say) runs in
 * moonfeast's own lookups; and the functions are those of the table as
 * loaded. Anything but a table is returned as it is
 * (and refused by the caller). */
static int module_plain(lua_State *L) {
    lua_call(L, lua_gettop(L) - 1, 1);
    if (!lua_istable(L, 1)) return 1;
    lua_newtable(L);      /* [t copy] */
    lua_pushvalue(L, 1);  /* [t copy src] */
    for (int depth = 0; depth < 16; depth++) {
        lua_pushnil(L);
        while (lua_next(L, 3)) { /* [t copy src k v] */
            bool take = false;
            if (lua_type(L, -2) == LUA_TSTRING) {
                lua_pushvalue(L, -2);
                lua_rawget(L, 2);
                take = lua_isnil(L, -1); /* a nearer table's key wins */
                lua_pop(L, 1);
            }
            if (take) {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, 2);
            } else {
                lua_pop(L, 1);
            }
        }
        if (!lua_getmetatable(L, 3)) break; /* [t copy src mt] */
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
        lua_remove(L, -2);
        lua_remove(L, 3); /* [t copy index] */
        if (!lua_istable(L, 3)) break;
    }
    lua_settop(L, 2);
    return 1;
}

int mf__lua_module_open(const mf__lua_module *m, mf__lstate **out, int *ref, mf_error *err) {
    return mf__lua_module_open_host(m, NULL, NULL, out, ref, err);
}

/* Loading a module after its state is made: compile, run the chunk, check
 * its table and keep it. In protected mode (mf__lstate_cpcall): once the
 * chunk ran, what it holds may leave the state at its memory cap, and an
 * allocation of moonfeast's own code failing there (the function names
 * looked up, the registry reference) must be an error, never the end of
 * the process. */
typedef struct module_load {
    const mf__lua_module *m;
    void (*host)(lua_State *L, void *ud);
    void *ud;
    mf__lstate *ls;
    const char *src, *chunk;
    size_t len;
    int *ref;
    mf_error *err;
} module_load;

static int module_load_body(lua_State *L, void *p) {
    module_load *ml = p;
    const mf__lua_module *m = ml->m;
    mf_error e;
    int rc = mf__lstate_load(ml->ls, ml->src, ml->len, ml->chunk, &e);
    if (rc == MF_OK && (rc = mf__lstate_push_transform_env(ml->ls, false, &e)) != MF_OK) lua_pop(L, 1);
    if (rc == MF_OK) {
        lua_setfenv(L, -2);
        lua_createtable(L, 0, (int)m->nopts); /* options: the section's other keys */
        for (size_t i = 0; i < m->nopts; i++) {
            lua_pushstring(L, m->opt_values[i]);
            lua_setfield(L, -2, m->opt_names[i]);
        }
        int nargs = 1;
        if (m->files_root) {
            lua_createtable(L, 0, 3);
            lua_pushstring(L, m->files_root);
            lua_pushcclosure(L, host_lines, 1);
            lua_setfield(L, -2, "lines");
            lua_pushcfunction(L, host_json);
            lua_setfield(L, -2, "json");
            lua_pushcfunction(L, host_timestamp);
            lua_setfield(L, -2, "timestamp");
            nargs = 2;
        }
        if (ml->host) {
            if (nargs == 1) lua_newtable(L);
            ml->host(L, ml->ud);
            nargs = 2;
        }
        lua_pushcfunction(L, module_plain);
        lua_insert(L, -(nargs + 2));
        rc = mf__lstate_pcall(ml->ls, nargs + 1, 1, &e);
    }
    if (rc) {
        int n = mf__lua_msg_len(e.message);
        return mf__err(ml->err, m->code, "%s (%s), loading the module: %.*s", m->what, m->path,
                       n, e.message);
    }
    if (!lua_istable(L, -1))
        return mf__err(ml->err, m->code, "%s (%s): the module must return a table of functions "
                       "(%s), got %s", m->what, m->path, m->funcs_text, luaL_typename(L, -1));
    for (size_t i = 0; i < m->nfuncs; i++) {
        lua_getfield(L, -1, m->funcs[i]);
        bool ok = lua_isfunction(L, -1);
        lua_pop(L, 1);
        if (!ok)
            return mf__err(ml->err, m->code, "%s (%s): the module's table has no function '%s'",
                           m->what, m->path, m->funcs[i]);
    }
    *ml->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return MF_OK;
}

int mf__lua_module_open_host(const mf__lua_module *m, void (*host)(lua_State *L, void *ud),
                             void *ud, mf__lstate **out, int *ref, mf_error *err) {
    char *src = NULL;
    size_t len = 0;
    mf_error e;
    int rc = mf__read_input(m->path, (size_t)64 << 20, &src, &len, &e);
    if (rc) return mf__err(err, m->code, "%s: %s", m->what, e.message);
    mf__lstate *ls = mf__lstate_new(&m->budget, true);
    if (!ls) {
        free(src);
        return mf__err(err, MF_ENOMEM, "%s (%s): no memory for a Lua state", m->what, m->path);
    }
    lua_State *L = mf__lstate_L(ls);
    if (m->keys == MF__LUA_KEYS_MODULE)
        mf__lstate_budget_keys(ls, "lua.transform_max_instructions", "lua.max_memory_mb",
                               "lua.transform_timeout_ms");
    else if (m->keys == MF__LUA_KEYS_LUA)
        mf__lstate_budget_keys(ls, "lua.max_instructions", "lua.max_memory_mb",
                               "lua.timeout_seconds");
    /* interpreted: the budget's count hook does not run in compiled code,
     * and a module's loops are its own */
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    mf__lstate_what(ls, m->what);
    mf__lstate_begin(ls);
    char *chunk = mf__xasprintf("@%s", m->path); /* messages say path:line */
    module_load ml = {m, host, ud, ls, src, chunk, len, ref, err};
    int body_rc;
    if (mf__lstate_cpcall(ls, module_load_body, &ml, &body_rc, &e)) {
        int n = mf__lua_msg_len(e.message);
        rc = mf__err(err, m->code, "%s (%s), loading the module: %.*s", m->what, m->path, n,
                     e.message);
    } else {
        rc = body_rc;
    }
    free(chunk);
    free(src);
    if (rc) {
        mf__lstate_free(ls);
        return rc;
    }
    *out = ls;
    return MF_OK;
}

static int ensure(lua_store *s, mf_error *err) {
    if (s->ls) return MF_OK;
    mf__lua_module m = {"online store lua", s->module, s->budget, MF_ESTORE,
                        (const char *const *)s->opt_names, (const char *const *)s->opt_values,
                        s->nopts, FUNCS, MF__ARRAY_LEN(FUNCS), "update, teardown, write, read",
                        NULL, MF__LUA_KEYS_MODULE};
    return mf__lua_module_open(&m, &s->ls, &s->ref, err);
}

void mf__lua_module_push(lua_State *L, int ref, const char *fn) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
}

/* Push the module's function fn. */
static void push_fn(lua_store *s, const char *fn) {
    mf__lua_module_push(mf__lstate_L(s->ls), s->ref, fn);
}

static void push_names(lua_State *L, Mf__FeatureView *const *views, size_t n) {
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, views[i]->spec->name);
        lua_rawseti(L, -2, (int)i + 1);
    }
}

/* Call the function pushed with nargs arguments over `rows` rows. */
static int call(lua_store *s, const char *fn, int nargs, int nres, uint64_t rows, mf_error *err) {
    mf_error e;
    mf__lstate_begin_rows(s->ls, rows ? rows : 1);
    if (mf__lstate_pcall(s->ls, nargs, nres, &e)) return fail(s, fn, &e, err);
    return MF_OK;
}

/* An operation's Lua side: building the arguments, the call, reading the
 * results. It runs in protected mode (mf__lstate_cpcall): the arguments
 * of a large batch can exceed the state's memory cap in moonfeast's own
 * code, and that must be an error of the operation, never the end of the
 * process. */
typedef struct op_head { /* the start of every operation's arguments */
    lua_store *s;
    mf_error *err;
} op_head;

static int run_op(const char *fn, int (*body)(lua_State *L, void *op), op_head *op) {
    mf_error e;
    int rc;
    /* a call begins before its arguments are built: what the last call
     * left (a spent budget, its garbage) must not be charged to them */
    mf__lstate_begin(op->s->ls);
    if (mf__lstate_cpcall(op->s->ls, body, op, &rc, &e)) return fail(op->s, fn, &e, op->err);
    return rc;
}

typedef struct views_op {
    op_head h;
    const char *project;
    Mf__FeatureView *const *a, *const *b; /* update: keep, drop; teardown: views */
    size_t na, nb;
} views_op;

static int update_body(lua_State *L, void *op) {
    const views_op *v = op;
    push_fn(v->h.s, "update");
    lua_pushstring(L, v->project);
    push_names(L, v->a, v->na);
    push_names(L, v->b, v->nb);
    return call(v->h.s, "update", 3, 0, v->na + v->nb, v->h.err);
}

static int lu_update(mf__online *base, const char *project, Mf__FeatureView *const *keep,
                     size_t n_keep, Mf__FeatureView *const *drop, size_t n_drop, mf_error *err) {
    lua_store *s = (lua_store *)base;
    int rc = ensure(s, err);
    if (rc) return rc;
    views_op v = {{s, err}, project, keep, drop, n_keep, n_drop};
    return run_op("update", update_body, &v.h);
}

static int teardown_body(lua_State *L, void *op) {
    const views_op *v = op;
    push_fn(v->h.s, "teardown");
    lua_pushstring(L, v->project);
    push_names(L, v->a, v->na);
    return call(v->h.s, "teardown", 2, 0, v->na, v->h.err);
}

static int lu_teardown(mf__online *base, const char *project, Mf__FeatureView *const *views,
                       size_t n, mf_error *err) {
    lua_store *s = (lua_store *)base;
    int rc = ensure(s, err);
    if (rc) return rc;
    views_op v = {{s, err}, project, views, NULL, n, 0};
    return run_op("teardown", teardown_body, &v.h);
}

typedef struct write_op {
    op_head h;
    const char *project;
    const mf__write_batch *wb;
    const size_t *off; /* wb->n + 1 offsets of the packed rows in s->scratch */
} write_op;

static int write_body(lua_State *L, void *op);

static int lu_write(mf__online *base, const char *project, const mf__write_batch *wb,
                    mf_error *err) {
    lua_store *s = (lua_store *)base;
    int rc = ensure(s, err);
    if (rc) return rc;
    /* every row packed first: a cell the store cannot keep writes nothing */
    mf__buf *b = &s->scratch;
    b->len = 0;
    size_t *off = mf__try_malloc((wb->n + 1) * sizeof *off);
    if (!off) return mf__err(err, MF_ENOMEM, "online store lua: a batch of %zu rows", wb->n);
    for (size_t i = 0; i < wb->n && rc == MF_OK; i++) {
        off[i] = b->len;
        rc = mf__row_pack(b, wb->view, wb->feat, wb->rows ? wb->rows[i] : i, err);
    }
    off[wb->n] = b->len;
    if (rc) {
        free(off);
        return rc;
    }
    write_op w = {{s, err}, project, wb, off};
    rc = run_op("write", write_body, &w.h);
    free(off);
    return rc;
}

static int write_body(lua_State *L, void *op) {
    const write_op *w = op;
    lua_store *s = w->h.s;
    const char *project = w->project;
    const mf__write_batch *wb = w->wb;
    const size_t *off = w->off;
    mf__buf *b = &s->scratch;
    push_fn(s, "write");
    lua_pushstring(L, project);
    lua_pushstring(L, wb->view->name);
    lua_createtable(L, 0, 5);
    lua_pushnumber(L, (lua_Number)wb->n);
    lua_setfield(L, -2, "n");
    lua_createtable(L, (int)wb->n, 0);
    for (size_t i = 0; i < wb->n; i++) {
        lua_pushlstring(L, (const char *)wb->keys[i], wb->key_lens[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "keys");
    lua_createtable(L, (int)wb->n, 0);
    for (size_t i = 0; i < wb->n; i++) {
        lua_pushnumber(L, (lua_Number)wb->event_ts[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "ts");
    lua_createtable(L, (int)wb->n, 0);
    for (size_t i = 0; i < wb->n; i++) {
        lua_pushnumber(L, (lua_Number)(wb->created_ts ? wb->created_ts[i] : 0));
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "created");
    lua_createtable(L, (int)wb->n, 0);
    for (size_t i = 0; i < wb->n; i++) {
        lua_pushlstring(L, b->data + off[i], off[i + 1] - off[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "values");
    return call(s, "write", 3, 0, wb->n, w->h.err);
}

typedef struct read_op {
    op_head h;
    const char *project;
    mf__read_batch *rb;
} read_op;

static int read_body(lua_State *L, void *op);

static int lu_read(mf__online *base, const char *project, mf__read_batch *rb, mf_error *err) {
    lua_store *s = (lua_store *)base;
    int rc = ensure(s, err);
    if (rc) return rc;
    read_op r = {{s, err}, project, rb};
    return run_op("read", read_body, &r.h);
}

static int read_body(lua_State *L, void *op) {
    const read_op *r = op;
    lua_store *s = r->h.s;
    mf_error *err = r->h.err;
    const char *project = r->project;
    mf__read_batch *rb = r->rb;
    int top = lua_gettop(L), rc;
    push_fn(s, "read");
    lua_pushstring(L, project);
    lua_pushstring(L, rb->view->name);
    lua_createtable(L, (int)rb->n, 0);
    for (size_t i = 0; i < rb->n; i++) {
        lua_pushlstring(L, (const char *)rb->keys[i], rb->key_lens[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    rc = call(s, "read", 3, 2, rb->n, err);
    if (rc) {
        lua_settop(L, top);
        return rc;
    }
    int its = top + 1, ivals = top + 2;
    if (!lua_istable(L, its) || !lua_istable(L, ivals)) {
        rc = mf__err(err, MF_ESTORE, "online store lua (%s), read: must return two lists "
                     "(times, values), got %s and %s", s->module, luaL_typename(L, its),
                     luaL_typename(L, ivals));
        lua_settop(L, top);
        return rc;
    }
    for (size_t i = 0; i < rb->n && rc == MF_OK; i++) {
        lua_rawgeti(L, its, (int)i + 1);
        lua_rawgeti(L, ivals, (int)i + 1);
        if (lua_isnil(L, -2)) {
            rb->found[i] = 0;
            rb->event_ts[i] = 0;
            for (size_t f = 0; f < rb->nfeat; f++) mf__col_push_null(rb->out[f]);
        } else if (lua_type(L, -2) != LUA_TNUMBER || lua_type(L, -1) != LUA_TSTRING) {
            rc = mf__err(err, MF_ESTORE, "online store lua (%s), read: entry %zu must be a "
                         "time (number) and a value (the string write was given), got %s and "
                         "%s", s->module, i + 1, luaL_typename(L, -2), luaL_typename(L, -1));
        } else {
            lua_Number t = lua_tonumber(L, -2);
            size_t len;
            const char *p = lua_tolstring(L, -1, &len);
            /* the years every timestamp form covers, as the Redis store
             * checks the times it reads (range first: the cast) */
            if (!(t >= -9.2e18 && t <= 9.2e18) || !mf__ts_in_range((int64_t)t)) {
                rc = mf__err(err, MF_ESTORE, "online store lua (%s), read: entry %zu: the time "
                             "%.17g (microseconds since the epoch) is out of range (years 1 to "
                             "9999)", s->module, i + 1, (double)t);
            } else {
                rb->found[i] = 1;
                rb->event_ts[i] = (int64_t)t;
                rc = mf__row_unpack((const unsigned char *)p, len, rb, s->module, err);
            }
        }
        lua_pop(L, 2);
    }
    lua_settop(L, top);
    return rc;
}

/* The module loads (and the store answers) when ensure succeeds. */
static int lu_ping(mf__online *base, mf_error *err) { return ensure((lua_store *)base, err); }

static void lu_close(mf__online *base) {
    lua_store *s = (lua_store *)base;
    mf__lstate_free(s->ls);
    mf__buf_free(&s->scratch);
    for (size_t i = 0; i < s->nopts; i++) {
        free(s->opt_names[i]);
        free(s->opt_values[i]);
    }
    free(s->opt_names);
    free(s->opt_values);
    free(s->module);
    free(s);
}

static const mf__online_vt lua_vt = {"lua", lu_update, lu_teardown, lu_write, lu_read,
                                     NULL, lu_ping, lu_close, NULL};

int mf__online_lua_open(const mf__config *cfg, mf__online **out, mf_error *err) {
    MF__UNUSED(err);
    lua_store *s = mf__xcalloc(1, sizeof *s);
    s->base.vt = &lua_vt;
    s->module = mf__xstrdup(mf__conf_str(&cfg->online, "module"));
    s->nopts = cfg->online.n_extra;
    s->opt_names = mf__xcalloc(s->nopts + 1, sizeof *s->opt_names);
    s->opt_values = mf__xcalloc(s->nopts + 1, sizeof *s->opt_values);
    for (size_t i = 0; i < s->nopts; i++) {
        s->opt_names[i] = mf__xstrdup(cfg->online.extra[i].name);
        s->opt_values[i] = mf__xstrdup(cfg->online.extra[i].value);
    }
    s->budget = cfg->transform_budget;
    s->budget.max_memory = cfg->lua_budget.max_memory;
    s->ref = LUA_NOREF;
    mf__buf_init(&s->scratch);
    *out = &s->base;
    return MF_OK;
}
