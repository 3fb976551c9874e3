/*
 * transform.c — on-demand transforms: compiling the Lua text the registry
 * holds and running it over rows, in row or batch mode.
 *
 * A runtime (mf__transforms) belongs to one thread: its Lua state is never
 * shared. Transforms are compiled from their source text (never bytecode)
 * in the read-only transform sandbox (lua/sandbox.lua, transform_env) the
 * first time a snapshot generation needs them, and kept as registry
 * references until the generation changes.
 *
 * Budgets (lua_host.c): every call (one row in row mode, one batch in batch
 * mode) starts a fresh instruction count and deadline; the memory cap is
 * the state's. The count hook cannot stop code that LuaJIT has compiled, so
 * a transform whose text can loop (mf__transform_can_loop) runs in the
 * interpreter; one that cannot loop is left to the JIT, since it cannot run
 * longer than its length. Every chunk is loaded JIT-off (lua_host.c's
 * load_text), so what it calls is compiled with it only when that is
 * bounded by its length too (C functions, charged or bounded by the memory
 * cap; the stdlib's loop-free functions; the sandbox's wrappers): a call
 * into anything else ends the trace, and runs interpreted, under the hook.
 *
 * Values cross as follows (docs/definitions.md, "Transforms"): Int32,
 * Int64, Float32, Float64 as numbers; UnixTimestamp as seconds since the
 * epoch (a number, fractions for microseconds); Bool as booleans; String
 * and Bytes as strings; lists as Lua arrays; a null input as nil. Outputs
 * go back the same way, checked against the view's schema; `null` (the
 * sandbox's global) is a null output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>

#include "mf_json.h"
#include "mf_transform.h"

/*---- Which transforms can loop ------------------------------------------------*/

/* Length of a long bracket opening "[", "=" * k, "[" at p (k >= 0), or 0. */
static size_t long_open(const char *p, const char *e, size_t *level) {
    if (p >= e || *p != '[') return 0;
    const char *q = p + 1;
    while (q < e && *q == '=') q++;
    if (q >= e || *q != '[') return 0;
    *level = (size_t)(q - p - 1);
    return (size_t)(q - p + 1);
}

/* Past the long bracket's close "]" "=" * level "]" from p (or e). */
static const char *long_close(const char *p, const char *e, size_t level) {
    for (; p < e; p++) {
        if (*p != ']') continue;
        const char *q = p + 1;
        size_t k = 0;
        while (q < e && *q == '=') q++, k++;
        if (k == level && q < e && *q == ']') return q + 1;
    }
    return e;
}

static bool ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

bool mf__transform_can_loop(const char *src, size_t len) {
    const char *p = src, *e = src + len;
    int functions = 0;
    while (p < e) {
        char c = *p;
        size_t level, n;
        if (c == '-' && p + 1 < e && p[1] == '-') { /* comment */
            p += 2;
            if ((n = long_open(p, e, &level)) != 0) {
                p = long_close(p + n, e, level);
            } else {
                while (p < e && *p != '\n') p++;
            }
        } else if ((n = long_open(p, e, &level)) != 0) { /* long string */
            p = long_close(p + n, e, level);
        } else if (c == '"' || c == '\'') {
            for (p++; p < e && *p != c; p++)
                if (*p == '\\' && p + 1 < e) p++;
            p++;
        } else if (c >= '0' && c <= '9') { /* a number: digits, letters, '.', exponent signs */
            for (p++; p < e && (ident_char(*p) || *p == '.' ||
                                ((*p == '+' || *p == '-') && strchr("eEpP", p[-1])));
                 p++) {
            }
        } else if (ident_start(c)) {
            const char *s = p;
            while (p < e && ident_char(*p)) p++;
            size_t k = (size_t)(p - s);
            if ((k == 3 && !memcmp(s, "for", 3)) || (k == 5 && !memcmp(s, "while", 5)) ||
                (k == 6 && !memcmp(s, "repeat", 6)) || (k == 4 && !memcmp(s, "goto", 4)))
                return true;
            if (k == 8 && !memcmp(s, "function", 8) && ++functions > 1) return true;
        } else {
            p++;
        }
    }
    return false;
}

/*---- The runtime -------------------------------------------------------------------*/

typedef struct compiled {
    const Mf__OnDemandFeatureView *view; /* of generation t->gen */
    int ref;                             /* the function, in the registry */
    /* row mode: the names of the last call's inputs and the view's
     * outputs as Lua strings (arrays in the registry), kept while the
     * inputs keep their names, so a call interns no string */
    int in_ref, out_ref;
    /* and the call of a row: function(fn, v1 .. vn) return fn({ [name1] =
     * v1, ... }) end, whose table constructor LuaJIT copies from a
     * template with the keys in place (or LUA_NOREF: too many inputs for
     * one function's parameters; the table is then built from C) */
    int call_ref;
    char **in_names;
    const char **in_ptrs; /* the callers' pointers, for a first compare */
    size_t nin;
} compiled;

struct mf__transforms {
    mf__lstate *ls;
    lua_State *L;
    int env_ref;   /* the read-only transform environment */
    int jit_ref;   /* trace counters of mf__transforms_jit_watch, or LUA_NOREF */
    uint64_t gen;  /* generation the compiled transforms belong to */
    const Mf__OnDemandFeatureView *what; /* view the budget messages name */
    compiled *fns;
    size_t nfns, capfns;
    mf__buf text;  /* scratch: chunk text, list JSON */
};

int mf__transforms_new(const mf__lua_budget *b, mf__transforms **out, mf_error *err) {
    mf__transforms *t = calloc(1, sizeof *t);
    if (!t) return mf__err(err, MF_ENOMEM, "out of memory for the transform runtime");
    t->ls = mf__lstate_new(b, true);
    if (!t->ls) {
        free(t);
        return mf__err(err, MF_ENOMEM, "cannot create a Lua state for transforms");
    }
    t->L = mf__lstate_L(t->ls);
    t->jit_ref = LUA_NOREF;
    mf__buf_init(&t->text);
    int rc = mf__lstate_push_transform_env(t->ls, true, err);
    if (rc) {
        mf__transforms_free(t);
        return rc;
    }
    t->env_ref = luaL_ref(t->L, LUA_REGISTRYINDEX);
    *out = t;
    return MF_OK;
}

static void drop_names(mf__transforms *t, compiled *c) {
    luaL_unref(t->L, LUA_REGISTRYINDEX, c->in_ref);
    luaL_unref(t->L, LUA_REGISTRYINDEX, c->out_ref);
    luaL_unref(t->L, LUA_REGISTRYINDEX, c->call_ref);
    for (size_t k = 0; k < c->nin; k++) free(c->in_names[k]);
    free(c->in_names);
    free(c->in_ptrs);
    c->in_names = NULL;
    c->in_ptrs = NULL;
    c->nin = 0;
    c->in_ref = c->out_ref = c->call_ref = LUA_NOREF;
}

static void drop_compiled(mf__transforms *t) {
    for (size_t i = 0; i < t->nfns; i++) {
        luaL_unref(t->L, LUA_REGISTRYINDEX, t->fns[i].ref);
        drop_names(t, &t->fns[i]);
    }
    t->nfns = 0;
}

void mf__transforms_free(mf__transforms *t) {
    if (!t) return;
    for (size_t i = 0; i < t->nfns; i++) {
        for (size_t k = 0; k < t->fns[i].nin; k++) free(t->fns[i].in_names[k]);
        free(t->fns[i].in_names);
        free(t->fns[i].in_ptrs);
    }
    free(t->fns);
    mf__buf_free(&t->text);
    mf__lstate_free(t->ls); /* frees every reference with the state */
    free(t);
}

/* "on-demand feature view 'v'" into buf. */
static const char *view_label(const Mf__OnDemandFeatureView *v, char *buf, size_t n) {
    snprintf(buf, n, "on-demand feature view '%s'", v->spec->name);
    return buf;
}

/* Prefix err's message with the view's name (a Lua error of the transform;
 * a spent budget's message names it already). */
static void transform_place(const Mf__OnDemandFeatureView *v, const char **file, int *line);

static int view_err(const Mf__OnDemandFeatureView *v, int rc, mf_error *err) {
    if (rc == MF_ELIMIT || !err) return rc;
    /* a message without a place (an error raised for the caller of a tail
     * call, `return e.one_hot(...)`, whose frame is gone) is placed at the
     * transform */
    if (!err->file[0]) {
        const char *file;
        int line;
        transform_place(v, &file, &line);
        snprintf(err->file, sizeof err->file, "%s", file);
        err->line = line;
    }
    /* "file:line: " of the message is in err->file and err->line already */
    char place[600];
    int n = snprintf(place, sizeof place, "%s:%d: ", err->file, err->line);
    if (err->file[0] && n > 0 && (size_t)n < sizeof place &&
        !strncmp(err->message, place, (size_t)n))
        memmove(err->message, err->message + n, strlen(err->message + n) + 1);
    char label[300];
    mf__err_prefix(err, "%s", view_label(v, label, sizeof label));
    return rc;
}

/* The file and line errors of v's transform name. */
static void transform_place(const Mf__OnDemandFeatureView *v, const char **file, int *line) {
    const Mf__OnDemandFeatureViewSpec *s = v->spec;
    *file = s->transform_file && s->transform_file[0] ? s->transform_file
            : v->meta && v->meta->file ? v->meta->file : "transform";
    *line = s->transform_line > 0 ? s->transform_line : v->meta ? v->meta->line : 0;
}

/* Compile v's transform: the function, pushed. Its text is placed at the
 * line it has in its definition file, so that Lua's messages give that
 * file's line numbers. */
static int compile(mf__transforms *t, const Mf__OnDemandFeatureView *v, mf_error *err) {
    lua_State *L = t->L;
    const char *src = v->spec->transform_source ? v->spec->transform_source : "";
    const char *file;
    int line;
    transform_place(v, &file, &line);
    t->text.len = 0;
    for (int i = 1; i < line && i < 10000000; i++) mf__buf_putc(&t->text, '\n');
    mf__buf_puts(&t->text, "return ");
    mf__buf_puts(&t->text, src);
    char *chunk = mf__xasprintf("@%s", file);
    mf__lstate_begin(t->ls);
    int rc = mf__lstate_load(t->ls, t->text.data, t->text.len, chunk, err);
    free(chunk);
    if (rc) return view_err(v, rc, err);
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->env_ref);
    lua_setfenv(L, -2);
    rc = mf__lstate_pcall(t->ls, 0, 1, err);
    if (rc) return view_err(v, rc, err);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return mf__err_at(err, MF_ELUA, file, line, "on-demand feature view '%s': the transform "
                          "is not a function", v->spec->name);
    }
    /* A text transform is one function expression, but text such as
     * "function() end and (function() local n = 0 return function(r) ...
     * end end)() or ..." passes as one and returns a closure over state that
     * every later call (and request) would share: no upvalues, as the
     * definitions refuse for a transform given as a function. */
    const char *up = lua_getupvalue(L, -1, 1);
    if (up) {
        char name[64];
        snprintf(name, sizeof name, "%s", up);
        lua_pop(L, 2);
        return mf__err_at(err, MF_ELUA, file, line, "on-demand feature view '%s': the transform "
                          "uses '%s' from outside its body; a transform may use only its "
                          "arguments, globals and require()", v->spec->name, name);
    }
    /* loaded JIT-off, the chunk around it included (lua_host.c) */
    if (!mf__transform_can_loop(src, strlen(src)))
        luaJIT_setmode(L, -1, LUAJIT_MODE_FUNC | LUAJIT_MODE_ON);
    return MF_OK;
}

/* Push v's compiled transform, compiling it when generation gen needs it;
 * *c: its entry. */
static int push_transform(mf__transforms *t, uint64_t gen, const Mf__OnDemandFeatureView *v,
                          compiled **c, mf_error *err) {
    if (gen != t->gen) {
        drop_compiled(t);
        t->gen = gen;
        t->what = NULL;
    }
    for (size_t i = 0; i < t->nfns; i++)
        if (t->fns[i].view == v) {
            lua_rawgeti(t->L, LUA_REGISTRYINDEX, t->fns[i].ref);
            *c = &t->fns[i];
            return MF_OK;
        }
    int rc = compile(t, v, err);
    if (rc) return rc;
    if (t->nfns == t->capfns) {
        t->capfns = t->capfns ? t->capfns * 2 : 8;
        t->fns = mf__xrealloc(t->fns, t->capfns * sizeof *t->fns);
    }
    lua_pushvalue(t->L, -1);
    compiled *e = &t->fns[t->nfns++];
    memset(e, 0, sizeof *e);
    e->view = v;
    e->ref = luaL_ref(t->L, LUA_REGISTRYINDEX);
    e->in_ref = e->out_ref = e->call_ref = LUA_NOREF;
    *c = e;
    return MF_OK;
}

/* Append p as a Lua string literal: printable ASCII but the quote and the
 * backslash as is, every other byte as a decimal escape. */
static void put_lua_string(mf__buf *b, const char *p) {
    mf__buf_putc(b, '"');
    for (const unsigned char *q = (const unsigned char *)p; *q; q++) {
        if (*q >= 32 && *q < 127 && *q != '"' && *q != '\\') mf__buf_putc(b, (char)*q);
        else mf__buf_printf(b, "\\%03u", (unsigned)*q);
    }
    mf__buf_putc(b, '"');
}

/* Inputs of at most this many go through a generated call (a Lua
 * function has at most 200 locals, its parameters among them). */
#define ROW_CALL_MAX 150

/* The row call of push_names (above) for inputs in[0..nin), in the
 * registry; LUA_NOREF above ROW_CALL_MAX inputs. Runs protected (a memory
 * error ends the call that needed it). */
static int make_row_call(mf__transforms *t, const mf__tf_input *in, size_t nin) {
    if (nin > ROW_CALL_MAX) return LUA_NOREF;
    lua_State *L = t->L;
    mf__buf src;
    mf__buf_init(&src);
    mf__buf_puts(&src, "return function(fn");
    for (size_t k = 0; k < nin; k++) mf__buf_printf(&src, ", v%zu", k);
    mf__buf_puts(&src, ")\n  return fn({");
    for (size_t k = 0; k < nin; k++) {
        mf__buf_puts(&src, k ? ", [" : "[");
        put_lua_string(&src, in[k].name);
        mf__buf_printf(&src, "] = v%zu", k);
    }
    mf__buf_puts(&src, "})\nend\n");
    int lrc = luaL_loadbuffer(L, src.data, src.len, "=moonfeast.row_call");
    mf__buf_free(&src);
    if (lrc != 0) lua_error(L); /* only for want of memory: the text is ours */
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->env_ref);
    lua_setfenv(L, -2);
    lua_call(L, 0, 1);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Push the arrays of input names (as in[]) and output names of c's view,
 * made again only when the inputs' names changed. Stack: [] -> [in out] */
static void push_names(mf__transforms *t, compiled *c, const mf__tf_input *in, size_t nin) {
    lua_State *L = t->L;
    bool same = c->in_ref != LUA_NOREF && c->nin == nin;
    for (size_t k = 0; same && k < nin; k++)
        same = c->in_ptrs[k] == in[k].name || !strcmp(c->in_names[k], in[k].name);
    if (!same) {
        drop_names(t, c);
        c->in_names = mf__xcalloc(nin + 1, sizeof *c->in_names);
        c->in_ptrs = mf__xcalloc(nin + 1, sizeof *c->in_ptrs);
        for (size_t k = 0; k < nin; k++) c->in_ptrs[k] = in[k].name;
        lua_createtable(L, (int)nin, 0);
        for (size_t k = 0; k < nin; k++) {
            c->in_names[k] = mf__xstrdup(in[k].name);
            lua_pushstring(L, in[k].name);
            lua_rawseti(L, -2, (int)k + 1);
        }
        c->nin = nin;
        c->in_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        const Mf__OnDemandFeatureViewSpec *s = c->view->spec;
        lua_createtable(L, (int)s->n_features, 0);
        for (size_t j = 0; j < s->n_features; j++) {
            lua_pushstring(L, s->features[j]->name);
            lua_rawseti(L, -2, (int)j + 1);
        }
        c->out_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        c->call_ref = make_row_call(t, in, nin);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->in_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->out_ref);
}

/*---- Values: columns to Lua ------------------------------------------------------*/

/* Push list cell text p[0..len) of list type t as a Lua array. */
static void push_list(lua_State *L, Mf__ValueType t, const char *p, size_t len) {
    char why[MF__JSON_WHYLEN];
    json_t *a = mf__json_list_parse(t, p, len, why);
    size_t n = a ? json_array_size(a) : 0;
    lua_createtable(L, (int)n, 0);
    Mf__ValueType et = (Mf__ValueType)(t - 10);
    for (size_t i = 0; i < n; i++) {
        mf__jelem e;
        if (mf__json_elem(t, a, i, &e, why) != 0) continue; /* stored lists are valid */
        switch (et) {
        case MF__VALUE_TYPE__VT_STRING:
        case MF__VALUE_TYPE__VT_BYTES: lua_pushlstring(L, e.s, e.len); break;
        case MF__VALUE_TYPE__VT_BOOL: lua_pushboolean(L, e.i != 0); break;
        case MF__VALUE_TYPE__VT_FLOAT:
        case MF__VALUE_TYPE__VT_DOUBLE: lua_pushnumber(L, e.d); break;
        case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: lua_pushnumber(L, (double)e.i / 1e6); break;
        default: lua_pushnumber(L, (double)e.i); break;
        }
        lua_rawseti(L, -2, (int)i + 1);
    }
    if (a) json_decref(a);
}

/* Push row i of c as a Lua value (nil for null). */
static void push_cell(lua_State *L, const mf__col *c, size_t i) {
    if (!c->valid[i]) {
        lua_pushnil(L);
        return;
    }
    switch (c->sc) {
    case MF__SC_I32: lua_pushnumber(L, ((const int32_t *)c->data)[i]); return;
    case MF__SC_I64: {
        int64_t v = ((const int64_t *)c->data)[i];
        lua_pushnumber(L, c->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP ? (double)v / 1e6
                                                                        : (double)v);
        return;
    }
    case MF__SC_F32: lua_pushnumber(L, ((const float *)c->data)[i]); return;
    case MF__SC_F64: lua_pushnumber(L, ((const double *)c->data)[i]); return;
    case MF__SC_BOOL: lua_pushboolean(L, ((const uint8_t *)c->data)[i] != 0); return;
    case MF__SC_TEXT: {
        const char *p = c->heap + c->off[i];
        size_t len = c->off[i + 1] - c->off[i];
        if (!c->raw && c->type >= MF__VALUE_TYPE__VT_BYTES_LIST &&
            c->type <= MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST)
            push_list(L, c->type, p, len);
        else
            lua_pushlstring(L, p, len);
        return;
    }
    }
    lua_pushnil(L);
}

/*---- Values: Lua to columns --------------------------------------------------------*/

/* Where a bad output is reported. */
typedef struct out_ctx {
    const Mf__OnDemandFeatureView *v;
    const char *name; /* the output */
    size_t row;
    bool batch;
} out_ctx;

static int out_err(const out_ctx *o, mf_error *err, const char *fmt, const char *a,
                   const char *b) {
    const char *file;
    int line;
    transform_place(o->v, &file, &line);
    char what[256];
    snprintf(what, sizeof what, fmt, a, b);
    return mf__err_at(err, MF_ELUA, file, line, "on-demand feature view '%s': output '%s' %s "
                      "(%s %zu)", o->v->spec->name, o->name, what, o->batch ? "batch row" : "row",
                      o->row + 1);
}

static bool is_null(lua_State *L, int idx) {
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

/* The Lua value at idx as a scalar of type et into e (strings borrowed from
 * the stack). Returns 0, or -1 with what was expected in *want. */
static int scalar_of(lua_State *L, int idx, Mf__ValueType et, mf__jelem *e, const char **want) {
    int lt = lua_type(L, idx);
    double d;
    memset(e, 0, sizeof *e);
    switch (et) {
    case MF__VALUE_TYPE__VT_INT32:
    case MF__VALUE_TYPE__VT_INT64: {
        bool i32 = et == MF__VALUE_TYPE__VT_INT32;
        *want = i32 ? "a whole number in the Int32 range" : "a whole number in the Int64 range";
        if (lt != LUA_TNUMBER) return -1;
        d = lua_tonumber(L, idx);
        double lo = i32 ? -2147483648.0 : -9223372036854775808.0;
        double hi = i32 ? 2147483647.0 : 9223372036854774784.0;
        if (!(d >= lo && d <= hi) || d != floor(d)) return -1;
        e->i = (int64_t)d;
        return 0;
    }
    case MF__VALUE_TYPE__VT_FLOAT:
    case MF__VALUE_TYPE__VT_DOUBLE:
        *want = et == MF__VALUE_TYPE__VT_FLOAT ? "a number in the Float32 range" : "a number";
        if (lt != LUA_TNUMBER) return -1;
        e->d = lua_tonumber(L, idx);
        /* a finite number that rounds to a Float32 infinity is refused, as
         * in a source or a list (inf and nan themselves pass, as there) */
        if (et == MF__VALUE_TYPE__VT_FLOAT && isfinite(e->d) && fabs(e->d) >= 0x1.ffffffp127)
            return -1;
        return 0;
    case MF__VALUE_TYPE__VT_BOOL:
        *want = "true or false";
        if (lt != LUA_TBOOLEAN) return -1;
        e->i = lua_toboolean(L, idx);
        return 0;
    case MF__VALUE_TYPE__VT_STRING:
    case MF__VALUE_TYPE__VT_BYTES:
        *want = et == MF__VALUE_TYPE__VT_STRING ? "a string of UTF-8 text without NUL bytes"
                                                : "a string";
        if (lt != LUA_TSTRING) return -1;
        e->s = lua_tolstring(L, idx, &e->len);
        if (et == MF__VALUE_TYPE__VT_STRING && mf__utf8_check(e->s, e->len, false) != e->len)
            return -1;
        return 0;
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP:
        *want = "a time: seconds since the epoch, or timestamp text, in the years 0001-9999";
        if (lt == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, idx, &len);
            return mf__ts_parse(s, len, &e->i) == 0 ? 0 : -1;
        }
        if (lt != LUA_TNUMBER) return -1;
        d = lua_tonumber(L, idx) * 1e6;
        if (!(d > -1e18 && d < 1e18)) return -1;
        e->i = (int64_t)llround(d);
        return mf__ts_in_range(e->i) ? 0 : -1;
    default:
        *want = "a value of its type";
        return -1;
    }
}

/* Text of Lua value at idx for messages. */
static const char *lua_text(lua_State *L, int idx, char *buf, size_t n) {
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER: snprintf(buf, n, "%.17g", lua_tonumber(L, idx)); return buf;
    case LUA_TSTRING: snprintf(buf, n, "'%.60s'", lua_tostring(L, idx)); return buf;
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? "true" : "false";
    default: return luaL_typename(L, idx);
    }
}

/* Append the Lua value at idx to out (typed as out's column). */
static int put_value(mf__transforms *t, int idx, mf__col *out, const out_ctx *o,
                     mf_error *err) {
    lua_State *L = t->L;
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    if (is_null(L, idx)) {
        mf__col_push_null(out);
        return MF_OK;
    }
    Mf__ValueType ty = out->type;
    char buf[96];
    const char *want = NULL;
    mf__jelem e;
    if (ty >= MF__VALUE_TYPE__VT_BYTES_LIST && ty <= MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST) {
        if (lua_type(L, idx) != LUA_TTABLE)
            return out_err(o, err, "must be a Lua array (a %s), got %s", mf__dtype_name(ty),
                           luaL_typename(L, idx));
        Mf__ValueType et = (Mf__ValueType)(ty - 10);
        size_t n = lua_objlen(L, idx);
        t->text.len = 0;
        mf__buf_putc(&t->text, '[');
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (int)i);
            if (lua_isnil(L, -1) || is_null(L, -1) || scalar_of(L, -1, et, &e, &want) != 0) {
                snprintf(buf, sizeof buf, "%zu", i);
                char v[96];
                const char *vt = lua_isnil(L, -1) || is_null(L, -1) ? "null"
                                                                  : lua_text(L, -1, v, sizeof v);
                lua_pop(L, 1);
                return out_err(o, err, "element %s is %s: a list holds values of its type, "
                               "never null", buf, vt);
            }
            /* as a list cell's text (elem_real): finite, and a Float32 one
             * that does not round to infinity */
            if ((et == MF__VALUE_TYPE__VT_FLOAT || et == MF__VALUE_TYPE__VT_DOUBLE) &&
                (!isfinite(e.d) || (et == MF__VALUE_TYPE__VT_FLOAT && fabs(e.d) >= 0x1.ffffffp127))) {
                snprintf(buf, sizeof buf, "%zu", i);
                char v[96];
                const char *vt = lua_text(L, -1, v, sizeof v);
                lua_pop(L, 1);
                return out_err(o, err, "element %s is %s: a list holds finite numbers in its "
                               "type's range", buf, vt);
            }
            /* a list cell is JSON text: its Bytes elements are UTF-8 text
             * (as the online stores take them), never bytes turned into
             * U+FFFD on the way */
            if (et == MF__VALUE_TYPE__VT_BYTES && mf__utf8_check(e.s, e.len, true) != e.len) {
                snprintf(buf, sizeof buf, "%zu", i);
                lua_pop(L, 1);
                return out_err(o, err, "element %s is not UTF-8 text: a Bytes list holds UTF-8 "
                               "text (a list is JSON text)%s", buf, "");
            }
            if (i > 1) mf__buf_putc(&t->text, ',');
            mf__json_put_elem(&t->text, ty, &e);
            lua_pop(L, 1);
        }
        mf__buf_putc(&t->text, ']');
        mf__col_push_str(out, t->text.data, t->text.len);
        return MF_OK;
    }
    if (scalar_of(L, idx, ty, &e, &want) != 0)
        return out_err(o, err, "must be %s, got %s", want, lua_text(L, idx, buf, sizeof buf));
    switch (out->sc) {
    case MF__SC_I32:
    case MF__SC_I64:
        if (ty == MF__VALUE_TYPE__VT_INT32) mf__col_push_num(out, (double)e.i);
        else mf__col_push_i64(out, e.i);
        break;
    case MF__SC_F32:
    case MF__SC_F64: mf__col_push_num(out, e.d); break;
    case MF__SC_BOOL: mf__col_push_num(out, (double)e.i); break;
    case MF__SC_TEXT: mf__col_push_str(out, e.s, e.len); break;
    }
    return MF_OK;
}

/* The result table at idx may hold only v's outputs, which the caller
 * found in it (none nil): more keys than outputs is an error naming the
 * first key that is none. */
static int check_extra(mf__transforms *t, int idx, const Mf__OnDemandFeatureView *v,
                       size_t row, bool batch, mf_error *err) {
    lua_State *L = t->L;
    size_t nf = v->spec->n_features, keys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        keys++;
    }
    if (keys <= nf) return MF_OK;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        bool known = false;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            for (size_t j = 0; j < nf && !known; j++) known = !strcmp(k, v->spec->features[j]->name);
        }
        if (!known) {
            char buf[96];
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                            : lua_text(L, -1, buf, sizeof buf);
            mf__buf names;
            mf__buf_init(&names);
            for (size_t j = 0; j < nf; j++)
                mf__buf_printf(&names, "%s%s", j ? ", " : "", v->spec->features[j]->name);
            out_ctx o = {v, k, row, batch};
            int rc = out_err(&o, err, "is not in the schema (outputs: %s)%s", names.data, "");
            mf__buf_free(&names);
            lua_pop(L, 1);
            return rc;
        }
    }
    return MF_OK;
}

/*---- Running ------------------------------------------------------------------------*/

/* The error for a transform that returned something else than a table. */
static int not_table(mf__transforms *t, const Mf__OnDemandFeatureView *v, int idx, size_t row,
                     bool batch, mf_error *err) {
    const char *file;
    int line;
    transform_place(v, &file, &line);
    char buf[96];
    return mf__err_at(err, MF_ELUA, file, line, "on-demand feature view '%s': the transform "
                      "must return a table of %s, got %s (%s %zu)", v->spec->name,
                      batch ? "output columns" : "outputs", lua_text(t->L, idx, buf, sizeof buf),
                      batch ? "batch of" : "row", batch ? row : row + 1);
}

static int run_rows(mf__transforms *t, compiled *c, const mf__tf_input *in, size_t nin,
                    size_t n, mf__col *out, int fn, mf_error *err) {
    lua_State *L = t->L;
    const Mf__OnDemandFeatureView *v = c->view;
    size_t nf = v->spec->n_features;
    /* input and output names as Lua strings */
    push_names(t, c, in, nin);
    int in_names = lua_gettop(L) - 1, out_names = in_names + 1;
    /* with a row call, its slot takes the names' (they are in its text) */
    bool row_call = c->call_ref != LUA_NOREF;
    int call = in_names;
    if (row_call) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->call_ref);
        lua_replace(L, call);
        if (!lua_checkstack(L, (int)nin + 8)) return mf__err(err, MF_ENOMEM, "Lua stack exhausted");
    }
    mf__lstate_push_handler(t->ls);
    int handler = out_names + 1;
    int rc = MF_OK;
    for (size_t i = 0; i < n && rc == MF_OK; i++) {
        mf__lstate_begin(t->ls);
        if (row_call) {
            lua_pushvalue(L, call);
            lua_pushvalue(L, fn);
            for (size_t k = 0; k < nin; k++) push_cell(L, in[k].col, i);
            rc = mf__lstate_pcall_h(t->ls, (int)nin + 1, 1, handler, err);
        } else {
            lua_pushvalue(L, fn);
            lua_createtable(L, 0, (int)nin);
            for (size_t k = 0; k < nin; k++) {
                if (!in[k].col->valid[i]) continue;
                lua_rawgeti(L, in_names, (int)k + 1);
                push_cell(L, in[k].col, i);
                lua_rawset(L, -3);
            }
            rc = mf__lstate_pcall_h(t->ls, 1, 1, handler, err);
        }
        if (rc) {
            rc = view_err(v, rc, err);
            break;
        }
        int res = lua_gettop(L);
        if (!lua_istable(L, res)) rc = not_table(t, v, res, i, false, err);
        for (size_t j = 0; j < nf && rc == MF_OK; j++) {
            lua_rawgeti(L, out_names, (int)j + 1);
            lua_rawget(L, res);
            out_ctx o = {v, v->spec->features[j]->name, i, false};
            if (lua_isnil(L, -1))
                rc = out_err(&o, err, "is missing (return %s for a null value)%s", "null", "");
            else
                rc = put_value(t, -1, &out[j], &o, err);
            lua_pop(L, 1);
        }
        if (rc == MF_OK) rc = check_extra(t, res, v, i, false, err);
        lua_settop(L, handler);
    }
    lua_settop(L, in_names - 1);
    return rc;
}

/* One batch call over rows i0 .. i0 + n of the inputs. */
static int run_batch(mf__transforms *t, const Mf__OnDemandFeatureView *v,
                     const mf__tf_input *in, size_t nin, size_t i0, size_t n, mf__col *out,
                     int fn, mf_error *err) {
    lua_State *L = t->L;
    size_t nf = v->spec->n_features;
    int base = lua_gettop(L);
    mf__lstate_begin_rows(t->ls, n);
    lua_pushvalue(L, fn);
    lua_createtable(L, 0, (int)nin);
    for (size_t k = 0; k < nin; k++) {
        lua_createtable(L, (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            if (!in[k].col->valid[i0 + i]) continue;
            push_cell(L, in[k].col, i0 + i);
            lua_rawseti(L, -2, (int)i + 1);
        }
        lua_setfield(L, -2, in[k].name);
    }
    lua_pushnumber(L, (double)n);
    int rc = mf__lstate_pcall(t->ls, 2, 1, err);
    if (rc) {
        lua_settop(L, base);
        return view_err(v, rc, err);
    }
    int res = lua_gettop(L);
    char buf[96];
    if (!lua_istable(L, res)) rc = not_table(t, v, res, n, true, err);
    for (size_t j = 0; j < nf && rc == MF_OK; j++) {
        const char *name = v->spec->features[j]->name;
        lua_pushstring(L, name);
        lua_rawget(L, res); /* as in row mode: no metamethod runs outside the handler */
        int col = lua_gettop(L);
        out_ctx o = {v, name, 0, true};
        if (lua_isnil(L, col)) {
            rc = out_err(&o, err, "is missing: return a column (a Lua array of %s values)%s",
                         "n", "");
        } else if (!lua_istable(L, col)) {
            rc = out_err(&o, err, "must be a column (a Lua array), got %s%s",
                         lua_text(L, col, buf, sizeof buf), "");
        } else {
            lua_rawgeti(L, col, (int)n + 1);
            if (!lua_isnil(L, -1)) {
                o.row = i0 + n;
                snprintf(buf, sizeof buf, "%zu", n);
                rc = out_err(&o, err, "has more values than the %s rows%s", buf, "");
            }
            lua_pop(L, 1);
        }
        for (size_t i = 0; i < n && rc == MF_OK; i++) {
            lua_rawgeti(L, col, (int)i + 1);
            o.row = i0 + i;
            if (lua_isnil(L, -1)) mf__col_push_null(&out[j]);
            else rc = put_value(t, -1, &out[j], &o, err);
            lua_pop(L, 1);
        }
        lua_settop(L, res);
    }
    if (rc == MF_OK) rc = check_extra(t, res, v, 0, true, err);
    lua_settop(L, base);
    return rc;
}

/*---- Watching the JIT (tests) ---------------------------------------------------------*/

void mf__transforms_jit_watch(mf__transforms *t) {
    static const char src[] =
        "local n = { traces = 0, aborts = 0 }\n"
        "jit.attach(function(what, tr, func, pc, code)\n"
        "  if what == 'stop' then n.traces = n.traces + 1\n"
        "  elseif what == 'abort' and code ~= 0 then n.aborts = n.aborts + 1 end\n"
        "end, 'trace')\n"
        "return n\n";
    mf_error err;
    mf__lstate_begin(t->ls);
    if (mf__lstate_load(t->ls, src, sizeof src - 1, "=jit_watch", &err) != MF_OK ||
        mf__lstate_pcall(t->ls, 0, 1, &err) != MF_OK) {
        mf__log(1, "cannot watch the JIT: %s", err.message);
        return;
    }
    luaL_unref(t->L, LUA_REGISTRYINDEX, t->jit_ref);
    t->jit_ref = luaL_ref(t->L, LUA_REGISTRYINDEX);
}

void mf__transforms_jit_counts(mf__transforms *t, int *traces, int *aborts) {
    *traces = *aborts = -1;
    if (t->jit_ref == LUA_NOREF) return;
    lua_rawgeti(t->L, LUA_REGISTRYINDEX, t->jit_ref);
    lua_getfield(t->L, -1, "traces");
    lua_getfield(t->L, -2, "aborts");
    *traces = (int)lua_tointeger(t->L, -2);
    *aborts = (int)lua_tointeger(t->L, -1);
    lua_pop(t->L, 3);
}

/* The arguments and result of mf__transforms_run's protected part. */
typedef struct run_args {
    mf__transforms *t;
    uint64_t gen;
    const Mf__OnDemandFeatureView *v;
    const mf__tf_input *in;
    size_t nin, n;
    mf__col *out;
    mf_error *err;
} run_args;

static int run_protected(lua_State *L, void *ud) {
    run_args *a = ud;
    mf__transforms *t = a->t;
    const Mf__OnDemandFeatureView *v = a->v;
    if (!lua_checkstack(L, 16)) return mf__err(a->err, MF_ENOMEM, "Lua stack exhausted");
    compiled *c;
    int rc = push_transform(t, a->gen, v, &c, a->err);
    if (rc) return rc;
    int fn = lua_gettop(L);
    bool batch = v->spec->mode && !strcmp(v->spec->mode, "batch");
    if (!batch) {
        rc = run_rows(t, c, a->in, a->nin, a->n, a->out, fn, a->err);
    } else {
        /* calls of at most MF__TF_BATCH_ROWS rows, each with its budget */
        for (size_t i0 = 0; i0 < a->n && rc == MF_OK; i0 += MF__TF_BATCH_ROWS) {
            size_t k = a->n - i0 < MF__TF_BATCH_ROWS ? a->n - i0 : MF__TF_BATCH_ROWS;
            rc = run_batch(t, v, a->in, a->nin, i0, k, a->out, fn, a->err);
        }
        if (a->n == 0) rc = run_batch(t, v, a->in, a->nin, 0, 0, a->out, fn, a->err);
    }
    return rc;
}

int mf__transforms_run(mf__transforms *t, uint64_t gen, const Mf__OnDemandFeatureView *v,
                       const mf__tf_input *in, size_t nin, size_t n, mf__col *out,
                       mf_error *err) {
    if (t->what != v) { /* the budget's messages name the view */
        char label[300];
        mf__lstate_what(t->ls, view_label(v, label, sizeof label));
        t->what = v;
    }
    /* in protected mode: the inputs built for a call, the names and the
     * conversions of its outputs allocate under the budget's memory cap,
     * and a failure there must be an error, never the end of the process */
    run_args a = {t, gen, v, in, nin, n, out, err};
    int body_rc;
    int rc = mf__lstate_cpcall(t->ls, run_protected, &a, &body_rc, err);
    return rc ? rc : body_rc;
}

/*---- The calling thread's runtime ---------------------------------------------------*/

static void free_runtime(void *p) { mf__transforms_free(p); }

int mf__worker_transforms(mf_store *s, mf__worker *w, mf__transforms **out, mf_error *err) {
    mf__transforms *t = mf__worker_slot(w, MF__SLOT_TRANSFORMS);
    if (!t) {
        int rc = mf__transforms_new(&mf__store_config(s)->transform_budget, &t, err);
        if (rc) return rc;
        mf__worker_set_slot(w, MF__SLOT_TRANSFORMS, t, free_runtime);
    }
    *out = t;
    return MF_OK;
}

/*---- On-demand views written to the online store -------------------------------------*/

/* The feature view that stands for a written on-demand view in the online
 * store, with the spec it points to; every pointer borrowed. */
typedef struct store_view {
    Mf__FeatureView fv;
    Mf__FeatureViewSpec spec;
} store_view;

const Mf__FeatureViewSpec *mf__odfv_source(const Mf__Registry *reg, const char *project,
                                           const Mf__OnDemandFeatureViewSpec *od) {
    if (!od->write_to_online_store || od->n_source_views != 1) return NULL;
    long i = mf__reg_find(reg, MF_KIND_FEATURE_VIEW, project, od->source_views[0]->view_name);
    return i < 0 ? NULL : reg->feature_views[i]->spec;
}

Mf__FeatureView *mf__odfv_store_view(const Mf__Registry *reg, const char *project,
                                     const Mf__OnDemandFeatureViewSpec *od) {
    const Mf__FeatureViewSpec *src = mf__odfv_source(reg, project, od);
    if (!src) return NULL;
    store_view *sv = mf__xcalloc(1, sizeof *sv);
    mf__feature_view__init(&sv->fv);
    mf__feature_view_spec__init(&sv->spec);
    Mf__FeatureViewSpec *s = &sv->spec;
    s->project = od->project;
    s->name = od->name;
    s->entities = src->entities;
    s->n_entities = src->n_entities;
    s->features = od->features;
    s->n_features = od->n_features;
    s->ttl_seconds = src->ttl_seconds;
    s->source = src->source;
    s->online = 1;
    s->entity_columns = src->entity_columns;
    s->n_entity_columns = src->n_entity_columns;
    sv->fv.spec = s;
    return &sv->fv;
}

void mf__odfv_store_view_free(Mf__FeatureView *v) { free(v); /* fv is the first member */ }

int mf__odfv_compute(mf__transforms *t, uint64_t gen, const Mf__OnDemandFeatureView *od,
                     const Mf__FeatureViewSpec *src, const mf__col *feat,
                     const mf__tf_input *req, size_t nreq, size_t n, mf__col *out,
                     mf_error *err) {
    const Mf__FeatureViewProjection *p = od->spec->source_views[0];
    size_t nsel = p->n_features ? p->n_features : src->n_features;
    mf__tf_input *in = mf__xcalloc(nsel + nreq + 1, sizeof *in);
    int rc = MF_OK;
    for (size_t j = 0; j < nsel && rc == MF_OK; j++) {
        const char *name = p->n_features ? p->features[j] : src->features[j]->name;
        size_t f;
        for (f = 0; f < src->n_features; f++)
            if (!strcmp(src->features[f]->name, name)) break;
        if (f == src->n_features)
            rc = mf__err(err, MF_EREGISTRY, "on-demand feature view '%s': feature view '%s' has "
                         "no feature '%s'", od->spec->name, src->name, name);
        else
            in[j] = (mf__tf_input){name, &feat[f]};
    }
    for (size_t k = 0; k < nreq; k++) in[nsel + k] = req[k];
    if (rc == MF_OK) rc = mf__transforms_run(t, gen, od, in, nsel + nreq, n, out, err);
    free(in);
    return rc;
}
