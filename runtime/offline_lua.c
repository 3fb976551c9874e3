/*
 * offline_lua.c — offline data read by Lua: lua_sources and the Lua
 * offline store.
 *
 * A lua_source names the module that reads it, or names none and is read
 * by the offline store's module (offline_store: {type: lua, module, ...}).
 * Either way the module runs in the transform sandbox with the definitions'
 * budget, gets its options and a host table of read-only helpers confined
 * to the repo (store_lua.c), and its read(request) returns the column names
 * and the rows; source.c keeps those rows as text and the point-in-time
 * join, materialization and schema inference read them as a CSV file's.
 * The request carries hints (the time range that matters, the columns
 * read): a module may use them to read less, and moonfeast filters again.
 *
 * The offline store's module may also answer historical retrieval itself:
 * when it defines get_historical_features and every view of a request
 * reads a lua_source without a module of its own, moonfeast hands it the
 * entity rows and the features, and types the values it returns as the
 * views declare; the on-demand views then run over them as usual.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "mf_source.h"
#include "mf_table.h"

static bool store_is_lua(const mf__config *cfg) {
    return cfg->offline.type && strcmp(cfg->offline.type, "lua") == 0;
}

int mf__offline_lua_open(const mf__config *cfg, const Mf__DataSourceSpec *ds,
                         mf__lstate **ls, int *ref, char **where, mf_error *err) {
    *where = NULL;
    bool own = ds && ds->module[0];
    if (!own && !store_is_lua(cfg))
        return mf__err(err, MF_EDEF, "lua_source '%s' names no module, and the offline store is "
                       "not of type lua (give the source a module, or set offline_store: "
                       "{type: lua, module: ...})", ds ? ds->name : "?");
    char *path = own ? mf__path_join(cfg->repo_path, ds->module)
                     : mf__xstrdup(mf__conf_str(&cfg->offline, "module"));
    size_t nopts = own ? ds->n_options : cfg->offline.n_extra;
    const char **names = mf__xcalloc(nopts + 1, sizeof *names);
    const char **values = mf__xcalloc(nopts + 1, sizeof *values);
    for (size_t i = 0; i < nopts; i++) {
        names[i] = own ? ds->options[i]->key : cfg->offline.extra[i].name;
        values[i] = own ? ds->options[i]->value : cfg->offline.extra[i].value;
    }
    static const char *const funcs[] = {"read"};
    mf__lua_module m = {own ? "lua_source" : "offline store lua", path, cfg->lua_budget, MF_EDATA,
                        names, values, nopts, funcs, 1, "read", cfg->repo_path,
                        MF__LUA_KEYS_LUA};
    int rc = mf__lua_module_open(&m, ls, ref, err);
    free(names);
    free(values);
    if (rc == MF_OK) {
        if (!ds) *where = mf__xasprintf("offline store lua (%s)", path);
        else if (own) *where = mf__xasprintf("lua_source '%s' (%s)", ds->name, path);
        else *where = mf__xasprintf("lua_source '%s' (offline store %s)", ds->name, path);
    }
    free(path);
    return rc;
}

/* t.k = the time us as epoch seconds, and t.k_ts = its text; nothing for
 * an unbounded end. */
static void set_time(lua_State *L, const char *k, int64_t us) {
    if (us == INT64_MIN || us == INT64_MAX) return;
    lua_pushnumber(L, (lua_Number)us / 1e6);
    lua_setfield(L, -2, k);
    char ts[MF__TS_BUFLEN], key[16];
    mf__ts_format(us, ts);
    lua_pushstring(L, ts);
    snprintf(key, sizeof key, "%s_ts", k);
    lua_setfield(L, -2, key);
}

static void push_source(lua_State *L, const Mf__DataSourceSpec *ds) {
    lua_createtable(L, 0, 5);
    lua_pushstring(L, ds->name);
    lua_setfield(L, -2, "name");
    lua_createtable(L, 0, (int)ds->n_options);
    for (size_t i = 0; i < ds->n_options; i++) {
        lua_pushstring(L, ds->options[i]->value);
        lua_setfield(L, -2, ds->options[i]->key);
    }
    lua_setfield(L, -2, "options");
    lua_createtable(L, 0, (int)ds->n_field_mapping);
    for (size_t i = 0; i < ds->n_field_mapping; i++) {
        lua_pushstring(L, ds->field_mapping[i]->name);
        lua_setfield(L, -2, ds->field_mapping[i]->source_column);
    }
    lua_setfield(L, -2, "field_mapping");
    lua_pushstring(L, ds->timestamp_field);
    lua_setfield(L, -2, "timestamp_field");
    if (ds->created_timestamp_column[0]) {
        lua_pushstring(L, ds->created_timestamp_column);
        lua_setfield(L, -2, "created_timestamp_column");
    }
}

void mf__offline_lua_push_request(lua_State *L, const Mf__DataSourceSpec *ds,
                                  const mf__source_hint *hint) {
    lua_createtable(L, 0, 8);
    push_source(L, ds);
    lua_setfield(L, -2, "source");
    lua_pushstring(L, hint && hint->purpose ? hint->purpose : "read");
    lua_setfield(L, -2, "purpose");
    if (hint) {
        set_time(L, "start", hint->start_us);
        set_time(L, "end", hint->end_us);
    }
    size_t nc = hint ? hint->ncolumns : 0;
    lua_createtable(L, (int)nc, 0);
    for (size_t i = 0; i < nc; i++) {
        lua_pushstring(L, hint->columns[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "columns");
}

long mf__lua_cell_text(lua_State *L, int idx, char *buf, const char **p) {
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return -1;
    case LUA_TSTRING: {
        size_t len;
        *p = lua_tolstring(L, idx, &len);
        return (long)len;
    }
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        *p = buf;
        /* a whole number in the int64 range as an integer, every digit
         * (1e16 is 10000000000000000, which an Int64 feature takes) */
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == floor(d))
            return snprintf(buf, MF__NUM_BUFLEN + 8, "%lld", (long long)d);
        return (long)mf__format_double(d, buf);
    }
    case LUA_TBOOLEAN:
        *p = lua_toboolean(L, idx) ? "true" : "false";
        return (long)strlen(*p);
    default: return -2;
    }
}

/*---- Historical retrieval by the module -----------------------------------*/

/* An entity cell as a Lua value: numbers as numbers (integers beyond 2^53
 * as text, which keeps every digit), booleans as booleans, anything else
 * (text, timestamps) as its text; null as nil. */
static void push_cell(lua_State *L, const mf__col *c, size_t i) {
    if (!c->valid[i]) {
        lua_pushnil(L);
        return;
    }
    bool ts = c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP;
    if (!c->raw && !ts && (c->sc == MF__SC_I32 || c->sc == MF__SC_I64)) {
        int64_t v = mf__col_i64(c, i);
        if (v > -(INT64_C(1) << 53) && v < (INT64_C(1) << 53)) {
            lua_pushnumber(L, (lua_Number)v);
            return;
        }
    } else if (!c->raw && (c->sc == MF__SC_F32 || c->sc == MF__SC_F64)) {
        lua_pushnumber(L, mf__col_f64(c, i));
        return;
    } else if (!c->raw && c->sc == MF__SC_BOOL) {
        lua_pushboolean(L, mf__col_i64(c, i) != 0);
        return;
    }
    char num[64];
    size_t len;
    const char *t = mf__col_text(c, i, num, &len);
    lua_pushlstring(L, t, len);
}

static void push_entities(lua_State *L, const mf_entity_df *df, const int64_t *T) {
    const mf_table *t = df->t;
    lua_createtable(L, 0, 3);
    lua_createtable(L, (int)t->ncols, 0);
    for (size_t j = 0; j < t->ncols; j++) {
        lua_pushstring(L, t->cols[j].name);
        lua_rawseti(L, -2, (int)j + 1);
    }
    lua_setfield(L, -2, "columns");
    lua_createtable(L, (int)t->nrows, 0);
    for (size_t i = 0; i < t->nrows; i++) {
        lua_createtable(L, (int)t->ncols, 0);
        for (size_t j = 0; j < t->ncols; j++) {
            push_cell(L, &t->cols[j], i);
            lua_rawseti(L, -2, (int)j + 1);
        }
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "rows");
    lua_createtable(L, (int)t->nrows, 0);
    for (size_t i = 0; i < t->nrows; i++) {
        lua_pushnumber(L, (lua_Number)T[i] / 1e6);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "event_times");
}

static void push_features(lua_State *L, const mf__hist_feature *f, size_t nf) {
    lua_createtable(L, (int)nf, 0);
    for (size_t i = 0; i < nf; i++) {
        const Mf__FeatureViewSpec *v = f[i].view;
        lua_createtable(L, 0, 8);
        lua_pushstring(L, v->name);
        lua_setfield(L, -2, "view");
        lua_pushstring(L, f[i].field->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, mf__type_text(f[i].field->dtype));
        lua_setfield(L, -2, "dtype");
        lua_pushnumber(L, (lua_Number)v->ttl_seconds);
        lua_setfield(L, -2, "ttl");
        lua_createtable(L, (int)v->n_entity_columns, 0);
        lua_createtable(L, (int)v->n_entity_columns, 0);
        lua_createtable(L, (int)v->n_entity_columns, 0);
        for (size_t k = 0; k < v->n_entity_columns; k++) {
            lua_pushstring(L, v->entity_columns[k]->name);
            lua_rawseti(L, -4, (int)k + 1);
            lua_pushstring(L, f[i].entity_cols[k]);
            lua_rawseti(L, -3, (int)k + 1);
            lua_pushstring(L, mf__type_text(v->entity_columns[k]->dtype));
            lua_rawseti(L, -2, (int)k + 1);
        }
        lua_setfield(L, -4, "join_key_types");
        lua_setfield(L, -3, "entity_columns");
        lua_setfield(L, -2, "join_keys");
        push_source(L, f[i].source);
        lua_setfield(L, -2, "source");
        lua_rawseti(L, -2, (int)i + 1);
    }
}

/* The module's answer: a list of nf columns, each a list of n values. */
static int take_columns(lua_State *L, const char *where, const mf__hist_feature *f, size_t nf,
                        size_t n, mf__col *out, mf_error *err) {
    if (!lua_istable(L, -1))
        return mf__err(err, MF_EDATA, "%s, get_historical_features: must return a list of "
                       "columns (one per feature, in the order of request.features), got %s",
                       where, luaL_typename(L, -1));
    char num[MF__NUM_BUFLEN + 8];
    for (size_t c = 0; c < nf; c++) {
        lua_rawgeti(L, -1, (int)c + 1);
        if (!lua_istable(L, -1)) {
            int rc = mf__err(err, MF_EDATA, "%s, get_historical_features: column %zu (%s:%s) is "
                             "%s, not a list of values", where, c + 1, f[c].view->name,
                             f[c].field->name, luaL_typename(L, -1));
            lua_pop(L, 1);
            return rc;
        }
        mf__col_reserve(&out[c], n);
        for (size_t i = 0; i < n; i++) {
            lua_rawgeti(L, -1, (int)i + 1);
            const char *p = NULL;
            long len = mf__lua_cell_text(L, -1, num, &p);
            int bad = len == -2 ? 1 : len >= 0 && mf__col_push_text(&out[c], p, (size_t)len) != 0;
            if (len == -1) mf__col_push_null(&out[c]);
            if (bad) {
                int rc = len == -2
                    ? mf__err(err, MF_EDATA, "%s, get_historical_features: %s:%s, row %zu: a %s "
                              "is not a value", where, f[c].view->name, f[c].field->name, i + 1,
                              luaL_typename(L, -1))
                    : mf__err(err, MF_EDATA, "%s, get_historical_features: %s:%s, row %zu: "
                              "'%.*s' is not %s", where, f[c].view->name, f[c].field->name,
                              i + 1, (int)(len > 200 ? 200 : len), p,
                              mf__type_text(f[c].field->dtype));
                lua_pop(L, 2);
                return rc;
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return MF_OK;
}

/* The call of get_historical_features, in protected mode (through
 * mf__lstate_cpcall): the request of many entity rows can exceed the
 * state's memory cap in moonfeast's own code, and that must be an error,
 * never the end of the process. */
typedef struct hist_call {
    const mf__config *cfg;
    mf__lstate *ls;
    int ref;
    const char *where;
    const mf_entity_df *df;
    const int64_t *T;
    const mf__hist_feature *f;
    size_t nf;
    mf__col *out;
    mf_error *err;
    bool absent; /* the module defines no get_historical_features */
} hist_call;

static int hist_protected(lua_State *L, void *ud) {
    hist_call *h = ud;
    mf__lstate_begin(h->ls); /* before the arguments: see store_lua.c's run_op */
    mf__lua_module_push(L, h->ref, "get_historical_features");
    if (lua_isnil(L, -1)) {
        h->absent = true;
        return MF_OK;
    }
    if (!lua_isfunction(L, -1))
        return mf__err(h->err, MF_EDATA, "%s: get_historical_features is a %s, not a function",
                       h->where, luaL_typename(L, -1));
    lua_createtable(L, 0, 3);
    lua_pushstring(L, h->cfg->project);
    lua_setfield(L, -2, "project");
    push_entities(L, h->df, h->T);
    lua_setfield(L, -2, "entities");
    push_features(L, h->f, h->nf);
    lua_setfield(L, -2, "features");
    mf_error e;
    if (mf__lstate_pcall(h->ls, 1, 1, &e)) {
        int n = mf__lua_msg_len(e.message);
        return mf__err(h->err, MF_EDATA, "%s, get_historical_features: %.*s", h->where, n,
                       e.message);
    }
    return take_columns(L, h->where, h->f, h->nf, h->df->t->nrows, h->out, h->err);
}

int mf__offline_lua_historical(const mf__config *cfg, const mf_entity_df *df, const int64_t *T,
                               const mf__hist_feature *f, size_t nf, mf__col *out,
                               bool *handled, mf_error *err) {
    *handled = false;
    if (!store_is_lua(cfg)) return MF_OK;
    for (size_t i = 0; i < nf; i++)
        if (strcmp(f[i].source->kind, "lua") != 0 || f[i].source->module[0]) return MF_OK;
    mf__lstate *ls;
    int ref;
    char *where;
    int rc = mf__offline_lua_open(cfg, NULL, &ls, &ref, &where, err);
    if (rc) return rc;
    hist_call h = {cfg, ls, ref, where, df, T, f, nf, out, err, false};
    mf_error e;
    int body_rc;
    if (mf__lstate_cpcall(ls, hist_protected, &h, &body_rc, &e)) {
        int n = mf__lua_msg_len(e.message);
        rc = mf__err(err, MF_EDATA, "%s, get_historical_features: %.*s", where, n, e.message);
    } else {
        rc = body_rc;
    }
    /* absent: the C join runs over read()'s rows */
    *handled = rc != MF_OK || !h.absent;
    mf__lstate_free(ls);
    free(where);
    return rc;
}
