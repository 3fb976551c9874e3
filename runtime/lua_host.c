/*
 * lua_host.c — the LuaJIT host: states, the sandbox, and loading definitions.
 *
 * One lua_State per use, never shared between threads. Our own Lua (lua/)
 * and the stdlib (stdlib/) are compiled into the binary (tools/embed.sh).
 * User code — definition files, and later on-demand transforms — runs with
 * an environment from lua/sandbox.lua: no io, no loaders, no FFI, strict
 * globals, a hidden string metatable.
 *
 * Only source text is ever compiled: every chunk goes through load_text
 * (luaL_loadbufferx in mode "t"), because LuaJIT does not verify bytecode
 * and a crafted bytecode chunk reads and writes arbitrary memory.
 *
 * A state runs under a budget (mf__lua_budget): a count of VM instructions
 * and a wall-clock deadline checked by a count hook, and a cap on the bytes
 * its allocator hands out. The JIT compiler is off in these states, since
 * compiled loops do not call hooks. A spent budget raises an error that
 * user code cannot catch (the sandbox's pcall passes it on) and comes back
 * as MF_ELIMIT naming the limit and its configuration key.
 *
 * Every call into Lua goes through lua_pcall with msg_handler, so a Lua error
 * comes back as an mf_error ({message, file, line}, with a traceback for
 * runtime errors) and never longjmps over C code holding resources.
 *
 * mf__defs_load turns the objects collected by lua/dsl.lua into protobuf
 * messages generically, walking the message descriptors: a spec table's
 * keys are the proto field names. The conversion runs inside lua_pcall and
 * reads the tables raw, and every number is range-checked before a cast.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#include "mf_internal.h"
#include "mf_transform.h"

/*---- Budgets -----------------------------------------------------------------*/

/* What a state was stopped by. */
enum { HIT_NONE, HIT_INSTRUCTIONS, HIT_TIME, HIT_MEMORY };

/* Instructions between two calls of the hook. */
#define HOOK_EVERY 1000
/* Bytes a state may still take after its memory cap was hit, so that the
 * error can be built and passed up. */
#define MEMORY_RESERVE (1u << 20)

/* A Lua state and its budget. The allocator's user data, so the hook and
 * the error path find it with lua_getallocf. */
typedef struct mf__lstate {
    lua_State *L;
    mf__lua_budget budget;
    lua_Alloc base_f;    /* LuaJIT's own allocator, which budget_alloc wraps */
    void *base_ud;
    size_t mem;          /* bytes held by the state */
    size_t mem_low;      /* the least mem seen since the last collect_garbage */
    bool low_in_call;    /* that collection ran inside a call: mem_low counts
                          * what the call held, garbage once it ended */
    uint64_t ins;        /* instructions run in this call (in steps of HOOK_EVERY) */
    uint64_t ins_limit;  /* this call's limit: max_instructions, times its rows */
    uint64_t rows;       /* rows of this call (batch transforms), else 1 */
    int64_t deadline;    /* mf__mono_coarse_us() limit of this call */
    int hit;             /* HIT_*: the budget that was spent */
    bool transforms;     /* runs transforms: messages name the transform_ keys */
    const char *keys[3]; /* or these keys (instructions, memory, time) when set */
    char what[200];      /* what the state runs, for messages */
    char where[600];     /* "file:line" of the code running at the last hook */
    int handler_ref;     /* msg_handler and cp_run as functions in the registry, */
    int cp_ref;          /* made once: pushing a C function allocates */
    bool defs;           /* loads definitions: DSL error tables pass through */
} lstate;


/* The allocator of every state: LuaJIT's own (fast for the many small
 * blocks of tables and strings), with the bytes counted and capped. */
static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    lstate *s = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        s->mem = s->mem > old ? s->mem - old : 0;
        return s->base_f(s->base_ud, ptr, osize, 0);
    }
    if (nsize > old) {
        size_t cap = s->budget.max_memory + (s->hit ? MEMORY_RESERVE : 0);
        if (s->mem - old + nsize > cap || nsize > cap) {
            if (!s->hit) s->hit = HIT_MEMORY;
            return NULL;
        }
    }
    void *p = s->base_f(s->base_ud, ptr, osize, nsize);
    if (!p) return NULL;
    s->mem = s->mem > old ? s->mem - old + nsize : nsize;
    return p;
}

/* A full collection when the state holds more than half its cap and has
 * grown since the last one (mem_low: about what was live then) by a
 * quarter of the cap, or by half the room left under the cap when that is
 * less (but at least 1/32 of the cap); and, as a call begins, whenever
 * the last collection ran inside a call (what that call held is garbage
 * now) or the last call ran out of memory. LuaJIT starts a collection
 * only once the heap has doubled from what its last one kept, so one that
 * ended with more than half the cap live would start the next only past
 * the cap: the allocations would fail first, with the memory held by
 * garbage, in this call and in every later one. Run where the state can
 * collect: as a call begins (at_begin), and from the count hook. */
static void collect_garbage(lstate *s, bool at_begin, bool ran_out) {
    if (s->mem < s->mem_low) s->mem_low = s->mem;
    size_t cap = s->budget.max_memory;
    if (s->mem <= cap / 2) return;
    size_t room = s->mem_low < cap ? cap - s->mem_low : 0;
    size_t step = room / 2 < cap / 4 ? room / 2 : cap / 4;
    if (step < cap / 32) step = cap / 32;
    bool stale = at_begin && (s->low_in_call || ran_out);
    if (!stale && s->mem - s->mem_low <= step) return;
    lua_gc(s->L, LUA_GCCOLLECT, 0);
    s->mem_low = s->mem;
    s->low_in_call = !at_begin;
}

static lstate *state_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

/* Whether L's state loads definitions (its own function: GCC's
 * dangling-pointer analysis misreads state_of inlined twice). */
static __attribute__((noinline)) bool defs_state(lua_State *L) { return state_of(L)->defs; }

/* The count hook: counts instructions, checks the deadline, and raises once
 * either is spent (and again at every later call, so that nothing escapes
 * by catching the first error). */
static void budget_hook(lua_State *L, lua_Debug *ar) {
    lstate *s = state_of(L);
    s->ins += HOOK_EVERY;
    if (!s->hit) collect_garbage(s, false, false);
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
        snprintf(s->where, sizeof s->where, "%s:%d", ar->short_src, ar->currentline);
    if (!s->hit && s->ins > s->ins_limit) s->hit = HIT_INSTRUCTIONS;
    if (!s->hit && mf__mono_coarse_us() > s->deadline) s->hit = HIT_TIME;
    if (!s->hit) return;
    lua_pushstring(L, "the Lua budget is spent");
    lua_error(L);
}

/* Raise the budget error for s->hit, from a C function called by Lua. */
static void raise_spent(lua_State *L, lstate *s) {
    /* where: the Lua code that called the C function doing the work */
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(s->where, sizeof s->where, "%s:%d", ar.short_src, ar.currentline);
            break;
        }
    }
    lua_pushstring(L, "the Lua budget is spent");
    lua_error(L);
}

void mf__lua_charge(lua_State *L, uint64_t steps) {
    lstate *s = state_of(L);
    s->ins += steps;
    if (!s->hit && s->ins > s->ins_limit) s->hit = HIT_INSTRUCTIONS;
    if (!s->hit && mf__mono_coarse_us() > s->deadline) s->hit = HIT_TIME;
    if (s->hit) raise_spent(L, s);
}

void mf__lua_charge_memory(lua_State *L, size_t bytes) {
    lstate *s = state_of(L);
    if (s->mem + bytes <= s->budget.max_memory && bytes <= s->budget.max_memory) return;
    if (!s->hit) s->hit = HIT_MEMORY;
    raise_spent(L, s);
}

/* Host functions that wait (a materialization, an outside program): the
 * time between pause and resume is added to the state's deadline, so the
 * wall-clock budget counts only the time spent in Lua. */
int64_t mf__lua_pause(lua_State *L) {
    MF__UNUSED(L);
    return mf__mono_us();
}

void mf__lua_resume(lua_State *L, int64_t paused_at) {
    lstate *s = state_of(L);
    int64_t spent = mf__mono_us() - paused_at;
    if (spent > 0 && s->deadline < INT64_MAX - spent) s->deadline += spent;
}

/* The message of a spent budget, for a run of `what`. */
static int budget_error(const lstate *s, const char *what, mf_error *err) {
    const char *k_ins = s->transforms ? "lua.transform_max_instructions" : "lua.max_instructions";
    const char *k_mem = s->transforms ? "lua.transform_max_memory_mb" : "lua.max_memory_mb";
    const char *k_time = s->transforms ? "lua.transform_timeout_ms" : "lua.timeout_seconds";
    if (s->keys[0]) k_ins = s->keys[0], k_mem = s->keys[1], k_time = s->keys[2];
    char file[512] = "";
    int line = 0;
    const char *colon = strrchr(s->where, ':');
    if (colon && colon > s->where) {
        snprintf(file, sizeof file, "%.*s", (int)(colon - s->where), s->where);
        line = atoi(colon + 1);
    }
    switch (s->hit) {
    case HIT_INSTRUCTIONS:
    {
        char per[80] = "";
        if (s->rows > 1)
            snprintf(per, sizeof per, ", for each of the call's %llu rows",
                     (unsigned long long)s->rows);
        return mf__err_at(err, MF_ELIMIT, file, line, "%s stopped after %llu Lua instructions "
                          "(the limit is %s in feature_store.yaml%s); is there an endless loop?",
                          what, (unsigned long long)s->ins_limit, k_ins, per);
    }
    case HIT_TIME:
        return mf__err_at(err, MF_ELIMIT, file, line, "%s stopped after %lld ms (the limit is "
                          "%s in feature_store.yaml)", what, (long long)s->budget.max_ms, k_time);
    default: /* where is only approximate: in the message, not in err->file */
        return mf__err(err, MF_ELIMIT, "%s stopped: its Lua memory would exceed "
                          "%zu MiB (the limit is %s in feature_store.yaml)%s%s",
                          what, s->budget.max_memory >> 20, k_mem,
                          s->where[0] ? "; last seen running " : "", s->where);
    }
}

/* exhausted() for the sandbox: true once the budget is spent. */
static int l_exhausted(lua_State *L) {
    lua_pushboolean(L, state_of(L)->hit != HIT_NONE);
    return 1;
}

/*---- Loading source text ----------------------------------------------------*/

/* Compile src as Lua source text, never bytecode. Stack: [] -> [fn] on
 * success (returns 0), [message] on failure (returns the load status). */
static int load_text(lua_State *L, const char *src, size_t len, const char *chunk) {
    if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
        lua_pushfstring(L, "%s: is compiled Lua (bytecode); only Lua source text is "
                        "loaded", chunk[0] == '@' || chunk[0] == '=' ? chunk + 1 : chunk);
        return LUA_ERRSYNTAX;
    }
    int rc = luaL_loadbufferx(L, src, len, chunk, "t");
    /* Compiled traces never reach the budget's count hook, so no code is
     * left to the JIT unless it is known to be bounded by its length: every
     * function of every chunk starts JIT-off (a call into one also ends the
     * trace recording it), and only a transform that cannot loop
     * (transform.c) and the stdlib's functions without a loop (jit_bounded
     * below) are turned on again. Nothing in states whose JIT is off. */
    if (rc == 0) luaJIT_setmode(L, -1, LUAJIT_MODE_ALLFUNC | LUAJIT_MODE_OFF);
    return rc;
}

/* Whether the Lua function at index fn, of the chunk `chunk` loaded from
 * src, cannot run longer than its length: the lines that define it hold no
 * loop and no function inside it, and every Lua function of the same chunk
 * among its upvalues is such a function, with no cycle (recursion). A call
 * into a function the JIT is off for ends the trace recording it, so only
 * the functions turned on must be bounded, together.
 * memo: a table function -> bounded (false while being decided, so a cycle
 * is unbounded). The bounded are left to the JIT again. */
static bool jit_bounded_fn(lua_State *L, int fn, const char *src, size_t len, const char *chunk,
                           int memo, int depth) {
    if (depth >= 64 || !lua_checkstack(L, 4)) return false; /* a few slots a level */
    lua_pushvalue(L, fn);
    lua_rawget(L, memo);
    if (!lua_isnil(L, -1)) {
        bool b = lua_toboolean(L, -1);
        lua_pop(L, 1);
        return b;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, fn);
    lua_pushboolean(L, 0);
    lua_rawset(L, memo);
    lua_Debug ar;
    lua_pushvalue(L, fn);
    lua_getinfo(L, ">S", &ar);
    bool b = strcmp(ar.source, chunk) == 0 && ar.linedefined > 0 &&
             ar.lastlinedefined >= ar.linedefined;
    /* the lines [linedefined, lastlinedefined] of src */
    const char *p = src, *e = src + len;
    for (int line = 1; b && line < ar.linedefined && p < e; line++) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        p = nl ? nl + 1 : e;
    }
    const char *q = p;
    for (int line = ar.linedefined; b && line <= ar.lastlinedefined && q < e; line++) {
        const char *nl = memchr(q, '\n', (size_t)(e - q));
        q = nl ? nl + 1 : e;
    }
    b = b && q > p && !mf__transform_can_loop(p, (size_t)(q - p));
    for (int i = 1; b; i++) {
        if (!lua_getupvalue(L, fn, i)) break;
        if (lua_isfunction(L, -1) && !lua_iscfunction(L, -1)) {
            /* a function of another chunk (the sandbox's os.time) is left
             * as it is: if the JIT is off for it, a trace ends at the call;
             * if on, it was found bounded where it was turned on */
            lua_Debug up;
            lua_pushvalue(L, -1);
            lua_getinfo(L, ">S", &up);
            if (strcmp(up.source, chunk) == 0)
                b = jit_bounded_fn(L, lua_gettop(L), src, len, chunk, memo, depth + 1);
        }
        lua_pop(L, 1);
    }
    if (b) {
        lua_pushvalue(L, fn);
        lua_pushboolean(L, 1);
        lua_rawset(L, memo);
        lua_pushvalue(L, fn);
        luaJIT_setmode(L, -1, LUAJIT_MODE_FUNC | LUAJIT_MODE_ON);
        lua_pop(L, 1);
    }
    return b;
}

/* jit_on(f): the sandbox's own wrappers that transforms call on every row
 * (require, rawset, os.time ...), which are bounded by their length and
 * call no user code, left to the JIT (lua/sandbox.lua decides which). */
static int l_jit_on(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaJIT_setmode(L, 1, LUAJIT_MODE_FUNC | LUAJIT_MODE_ON);
    return 0;
}

/* jit_bounded(module, src, chunkname): the functions of a stdlib module
 * (the table it returned) that cannot run longer than their length
 * (jit_bounded_fn), and the helpers they call, are left to the JIT again.
 * The stdlib's functions do not call each other through the module table,
 * which this does not see. */
static int l_jit_bounded(lua_State *L) {
    size_t len;
    const char *src = luaL_checklstring(L, 2, &len);
    const char *chunk = luaL_checkstring(L, 3);
    if (!lua_istable(L, 1)) return 0;
    lua_newtable(L);
    int memo = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        if (lua_isfunction(L, -1) && !lua_iscfunction(L, -1))
            jit_bounded_fn(L, lua_gettop(L), src, len, chunk, memo, 0);
        lua_pop(L, 1);
    }
    return 0;
}

/* load_text(src, chunkname) for Lua code: fn, or nil and the message. */
static int l_load_text(lua_State *L) {
    size_t len;
    const char *src = luaL_checklstring(L, 1, &len);
    const char *chunk = luaL_optstring(L, 2, "=text");
    if (load_text(L, src, len, chunk) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/*---- States ----------------------------------------------------------------*/

/* Error handler for lua_pcall: DSL error tables ({mf = true, ...}) pass
 * through in the state that loads definitions (elsewhere, in a store,
 * provider or source, such a table is user code's like any other, and
 * gets its location); anything else becomes its message plus a traceback. An error
 * value that is not a string gets the location of the innermost Lua frame.
 * Only raw accesses: the value may be a user table with metamethods, and
 * a metamethod error here or in lua_error_to_mf would be unprotected.
 * Stack: [err] -> [err'] */
static int msg_handler(lua_State *L) {
    if (state_of(L)->hit) return 1; /* lua_error_to_mf words it */
    if (state_of(L)->defs && lua_type(L, 1) == LUA_TTABLE) {
        lua_pushliteral(L, "mf");
        lua_rawget(L, 1);
        int dsl = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (dsl) return 1;
    }
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        lua_Debug ar;
        const char *where = "";
        for (int level = 1; lua_getstack(L, level, &ar); level++) {
            lua_getinfo(L, "Sl", &ar);
            if (ar.currentline > 0) {
                where = lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
                break;
            }
        }
        msg = lua_pushfstring(L, "%s(error object is a %s value)", where,
                              luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* t[key] without metamethods, pushed. t is at idx (negative allowed). */
static void raw_field(lua_State *L, int idx, const char *key) {
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    lua_pushstring(L, key);
    lua_rawget(L, idx);
}

/* print() for user code: to stderr, so that stdout stays the command's. */
static int l_print(lua_State *L) {
    int n = lua_gettop(L);
    lua_getglobal(L, "tostring");
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, -1);
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        const char *s = lua_tostring(L, -1);
        if (i > 1) fputc('\t', stderr);
        fputs(s ? s : "", stderr);
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

int mf__lua_msg_len(const char *msg) {
    const char *tb = strstr(msg, "\nstack traceback:");
    return tb ? (int)(tb - msg) : (int)strlen(msg);
}

/* Extract "file:line:" from the start of a Lua error message. */
static void split_location(const char *msg, char *file, size_t filesz, int *line) {
    file[0] = '\0';
    *line = 0;
    const char *p = msg;
    while (*p && *p != ':' && *p != '\n') p++;
    if (*p != ':' || p == msg) return;
    const char *q = p + 1;
    int n = 0;
    if (*q < '0' || *q > '9') return;
    while (*q >= '0' && *q <= '9') n = n * 10 + (*q++ - '0');
    if (*q != ':') return;
    size_t len = (size_t)(p - msg);
    if (len >= filesz) len = filesz - 1;
    memcpy(file, msg, len);
    file[len] = '\0';
    *line = n;
}

/* Turn the error value on top of the stack into err, and pop it. */
static int lua_error_to_mf(lua_State *L, int rc, mf_error *err) {
    lstate *s = state_of(L);
    if (s->hit) {
        lua_pop(L, 1);
        return budget_error(s, s->what, err);
    }
    if (lua_type(L, -1) == LUA_TTABLE && defs_state(L)) {
        raw_field(L, -1, "message");
        raw_field(L, -2, "file");
        raw_field(L, -3, "line");
        const char *m = lua_tostring(L, -3);
        const char *f = lua_tostring(L, -2);
        int line = (int)lua_tointeger(L, -1);
        mf__err_at(err, MF_EDEF, f, line, "%s", m ? m : "invalid definition");
        lua_pop(L, 4);
        return MF_EDEF;
    }
    const char *msg = lua_tostring(L, -1);
    if (!msg) msg = "unknown Lua error";
    if (rc == LUA_ERRMEM) {
        lua_pop(L, 1);
        return mf__err(err, MF_ENOMEM, "Lua ran out of memory");
    }
    char file[512];
    int line;
    split_location(msg, file, sizeof file, &line);
    mf__err_at(err, MF_ELUA, file, line, "%s", msg);
    lua_pop(L, 1);
    return MF_ELUA;
}

/* lua_pcall with msg_handler. Stack: [fn args...] -> [results...] or [] */
static int pcall(lua_State *L, int nargs, int nres, mf_error *err) {
    int base = lua_gettop(L) - nargs;
    lua_rawgeti(L, LUA_REGISTRYINDEX, state_of(L)->handler_ref);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (rc != 0) return lua_error_to_mf(L, rc, err);
    return MF_OK;
}

/* The body of mf__lstate_cpcall and its result, and the function that runs
 * it in protected mode (made once per state, see open_libs). */
typedef struct cp_body {
    int (*body)(lua_State *L, void *ud);
    void *ud;
    int rc;
} cp_body;

static int cp_run(lua_State *L) {
    cp_body *b = lua_touserdata(L, 1);
    lua_settop(L, 0);
    b->rc = b->body(L, b->ud);
    return 0;
}

/* Load an embedded module of lua/ by name and push its value.
 * Stack: [] -> [module] on success, [] on failure. */
static int push_embedded(lua_State *L, const char *name, mf_error *err) {
    for (size_t i = 0; i < mf__embedded_lua_count; i++) {
        const mf__embedded *e = &mf__embedded_lua[i];
        if (strcmp(e->name, name) != 0) continue;
        char chunk[128];
        snprintf(chunk, sizeof chunk, "=%s", name);
        if (load_text(L, e->src, e->len, chunk) != 0)
            return lua_error_to_mf(L, LUA_ERRSYNTAX, err);
        return pcall(L, 0, 1, err);
    }
    return mf__err(err, MF_EINTERNAL, "embedded Lua module %s missing", name);
}

/* Opens the libraries of a new state (through lua_cpcall: opening may
 * run out of memory), with load and loadstring replaced by load_text and
 * the file loaders removed, so that even our own Lua cannot compile
 * bytecode. */
static int open_libs(lua_State *L) {
    static const lua_CFunction libs[] = {luaopen_base, luaopen_table, luaopen_string,
                                         luaopen_math, luaopen_debug, luaopen_bit,
                                         luaopen_os, luaopen_jit};
    for (size_t i = 0; i < MF__ARRAY_LEN(libs); i++) {
        lua_pushcfunction(L, libs[i]);
        lua_call(L, 0, 0);
    }
    lua_pushcfunction(L, l_load_text);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, l_load_text);
    lua_setglobal(L, "loadstring");
    lua_pushnil(L);
    lua_setglobal(L, "loadfile");
    lua_pushnil(L);
    lua_setglobal(L, "dofile");
    lstate *s = lua_touserdata(L, 1);
    lua_pushcfunction(L, msg_handler);
    s->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, cp_run);
    s->cp_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

mf__lstate *mf__lstate_new(const mf__lua_budget *b, bool transforms) {
    lstate *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (b) s->budget = *b;
    if (!s->budget.max_instructions)
        s->budget.max_instructions =
            transforms ? MF__LUA_TRANSFORM_INSTRUCTIONS : MF__LUA_DEFAULT_INSTRUCTIONS;
    if (!s->budget.max_memory)
        s->budget.max_memory = (size_t)(transforms ? MF__LUA_TRANSFORM_MEMORY_MB
                                                   : MF__LUA_DEFAULT_MEMORY_MB) << 20;
    if (!s->budget.max_ms)
        s->budget.max_ms = transforms ? MF__LUA_TRANSFORM_MS : MF__LUA_DEFAULT_SECONDS * 1000;
    s->transforms = transforms;
    snprintf(s->what, sizeof s->what, "%s", transforms ? "the transform" : "definition loading");
    /* LuaJIT's allocator (an mspace of its own) with ours in front: the
     * state is made by luaL_newstate, then its allocator wrapped */
    s->L = luaL_newstate();
    if (!s->L) {
        free(s);
        return NULL;
    }
    s->base_f = lua_getallocf(s->L, &s->base_ud);
    s->mem = (size_t)lua_gc(s->L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(s->L, LUA_GCCOUNTB, 0);
    lua_setallocf(s->L, budget_alloc, s);
    if (lua_cpcall(s->L, open_libs, s) != 0) {
        mf__lstate_free(s);
        return NULL;
    }
    /* compiled traces do not call hooks: definitions are interpreted, so
     * the budget holds everywhere; transforms keep the JIT for the code
     * that cannot loop (transform.c decides, per transform). After
     * open_libs: opening the jit library turns the compiler on. */
    if (!transforms) luaJIT_setmode(s->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    mf__lstate_begin(s);
    lua_sethook(s->L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    return s;
}

void mf__lstate_free(mf__lstate *s) {
    if (!s) return;
    /* LuaJIT releases its mspace only when it sees its own allocator */
    lua_setallocf(s->L, s->base_f, s->base_ud);
    lua_close(s->L);
    free(s);
}

lua_State *mf__lstate_L(mf__lstate *s) { return s->L; }

void mf__lstate_begin(mf__lstate *s) { mf__lstate_begin_rows(s, 1); }

void mf__lstate_begin_rows(mf__lstate *s, uint64_t rows) {
    s->ins = 0;
    if (rows < 1) rows = 1;
    s->rows = rows;
    s->ins_limit = s->budget.max_instructions > UINT64_MAX / rows ? UINT64_MAX
                                                                   : s->budget.max_instructions * rows;
    bool ran_out = s->hit == HIT_MEMORY;
    s->hit = HIT_NONE;
    s->where[0] = '\0';
    collect_garbage(s, true, ran_out);
    /* the coarse clock (a few ms of resolution) is cheap enough to read at
     * every call of a row-mode transform */
    s->deadline = mf__mono_coarse_us() + s->budget.max_ms * 1000;
}

void mf__lstate_budget_keys(mf__lstate *s, const char *k_ins, const char *k_mem,
                           const char *k_time) {
    s->keys[0] = k_ins;
    s->keys[1] = k_mem;
    s->keys[2] = k_time;
}

void mf__lstate_what(mf__lstate *s, const char *what) {
    snprintf(s->what, sizeof s->what, "%s", what);
}

/* Push a sandbox env maker: function() -> env (lua/sandbox.lua), with the
 * stdlib sources and, when extra_idx != 0, the globals of that table.
 * Stack: [] -> [maker] */
static int push_env_maker(lua_State *L, int extra_idx, mf_error *err) {
    if (extra_idx < 0) extra_idx = lua_gettop(L) + extra_idx + 1;
    int rc = push_embedded(L, "moonfeast.sandbox", err);
    if (rc) return rc;
    lua_getfield(L, -1, "new");
    lua_remove(L, -2);
    lua_newtable(L);
    for (size_t i = 0; i < mf__embedded_stdlib_count; i++) {
        lua_pushlstring(L, mf__embedded_stdlib[i].src, mf__embedded_stdlib[i].len);
        lua_setfield(L, -2, mf__embedded_stdlib[i].name);
    }
    if (extra_idx) lua_pushvalue(L, extra_idx);
    else lua_newtable(L);
    lua_pushcfunction(L, l_print);
    lua_setfield(L, -2, "print");
    lua_newtable(L); /* hooks */
    lua_pushcfunction(L, l_load_text);
    lua_setfield(L, -2, "load_text");
    lua_pushcfunction(L, l_exhausted);
    lua_setfield(L, -2, "exhausted");
    lua_pushcfunction(L, l_jit_bounded);
    lua_setfield(L, -2, "jit_bounded");
    lua_pushcfunction(L, l_jit_on);
    lua_setfield(L, -2, "jit_on");
    lua_newtable(L); /* find, match, gmatch, gsub that charge the budget */
    mf__lua_strlib_patterns(L, mf__lua_charge);
    lua_setfield(L, -2, "patterns");
    return pcall(L, 3, 1, err);
}

int mf__lstate_pcall(mf__lstate *s, int nargs, int nres, mf_error *err) {
    return pcall(s->L, nargs, nres, err);
}

void mf__lstate_push_handler(mf__lstate *s) {
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->handler_ref);
}

int mf__lstate_pcall_h(mf__lstate *s, int nargs, int nres, int handler, mf_error *err) {
    int rc = lua_pcall(s->L, nargs, nres, handler);
    return rc ? lua_error_to_mf(s->L, rc, err) : MF_OK;
}

int mf__lstate_cpcall(mf__lstate *s, int (*body)(lua_State *L, void *ud), void *ud,
                      int *body_rc, mf_error *err) {
    cp_body b = {body, ud, MF_OK};
    int top = lua_gettop(s->L);
    /* lua_cpcall would make a new C function each time */
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->cp_ref);
    lua_pushlightuserdata(s->L, &b);
    int lrc = lua_pcall(s->L, 1, 0, 0);
    int rc = lrc ? lua_error_to_mf(s->L, lrc, err) : MF_OK;
    lua_settop(s->L, top);
    *body_rc = b.rc;
    return rc;
}

int mf__lstate_load(mf__lstate *s, const char *src, size_t len, const char *chunk,
                    mf_error *err) {
    int lrc = load_text(s->L, src, len, chunk);
    return lrc ? lua_error_to_mf(s->L, lrc, err) : MF_OK;
}

int mf__lstate_push_transform_env(mf__lstate *s, bool transforms, mf_error *err) {
    lua_State *L = s->L;
    int rc = push_embedded(L, "moonfeast.sandbox", err);
    if (rc) return rc;
    lua_getfield(L, -1, "transform_env");
    lua_remove(L, -2);
    rc = push_env_maker(L, 0, err);
    if (rc) {
        lua_pop(L, 1);
        return rc;
    }
    lua_pushlightuserdata(L, NULL);
    lua_pushcfunction(L, l_jit_on);
    lua_pushboolean(L, transforms);
    return pcall(L, 4, 1, err);
}

/*---- Finding definition files ---------------------------------------------*/

typedef struct path_list {
    char **items;
    size_t n, cap;
} path_list;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The walk: the repo's real path, and the directories entered so far (by
 * device and inode), so that a symlink loop or a second link to the same
 * folder is walked once. */
typedef struct walk {
    char *root_real;
    struct {
        dev_t dev;
        ino_t ino;
    } *seen;
    size_t n_seen, cap_seen;
} walk;

static bool walk_enter(walk *w, const struct stat *st) {
    for (size_t i = 0; i < w->n_seen; i++)
        if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino) return false;
    if (w->n_seen == w->cap_seen) {
        w->cap_seen = w->cap_seen ? w->cap_seen * 2 : 16;
        w->seen = mf__xrealloc(w->seen, w->cap_seen * sizeof *w->seen);
    }
    w->seen[w->n_seen].dev = st->st_dev;
    w->seen[w->n_seen].ino = st->st_ino;
    w->n_seen++;
    return true;
}

/* True when the symlink at `full` resolves to a path inside the repo. */
static bool link_inside(const walk *w, const char *full) {
    char *real = realpath(full, NULL);
    if (!real) return false;
    size_t n = strlen(w->root_real);
    bool in = strncmp(real, w->root_real, n) == 0 && (real[n] == '/' || real[n] == '\0');
    free(real);
    return in;
}

/* Collect *.lua under root/rel (rel "" for root), skipping hidden entries
 * and the top-level data/ and modules/ folders. Paths are relative to root. Symbolic
 * links are not followed: one that resolves inside the repo names a file
 * or folder the walk reads under its own path anyway (so nothing is read
 * twice and no link loop is entered), and one that leads outside the repo
 * is skipped with a warning. Each directory is entered once, by device and
 * inode, as a guard against bind-mount cycles. */
static int find_lua(walk *w, const char *root, const char *rel, path_list *out,
                    mf_error *err) {
    char *dir = rel[0] ? mf__path_join(root, rel) : mf__xstrdup(root);
    DIR *d = opendir(dir);
    if (!d) {
        int rc = mf__err(err, MF_EIO, "cannot read directory %s: %s", dir, strerror(errno));
        free(dir);
        return rc;
    }
    struct dirent *de;
    int rc = MF_OK;
    while (rc == MF_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        /* data/ holds data, modules/ the Lua modules of stores, sources,
         * providers and engines: neither holds definitions */
        if (!rel[0] && (strcmp(de->d_name, "data") == 0 || strcmp(de->d_name, "modules") == 0))
            continue;
        char *sub = rel[0] ? mf__xasprintf("%s/%s", rel, de->d_name) : mf__xstrdup(de->d_name);
        char *full = mf__path_join(root, sub);
        struct stat lst, st;
        bool keep = false;
        if (lstat(full, &lst) == 0 && stat(full, &st) == 0) {
            if (S_ISLNK(lst.st_mode)) {
                if (!link_inside(w, full))
                    mf__log(1, "%s: not read: a symbolic link to outside the repository", sub);
                else
                    mf__log(3, "%s: not followed: a symbolic link inside the repository", sub);
            } else if (S_ISDIR(st.st_mode)) {
                if (walk_enter(w, &st)) rc = find_lua(w, root, sub, out, err);
            } else {
                size_t n = strlen(sub);
                keep = n > 4 && strcmp(sub + n - 4, ".lua") == 0 && S_ISREG(st.st_mode);
            }
        }
        if (keep) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 16;
                out->items = mf__xrealloc(out->items, out->cap * sizeof *out->items);
            }
            out->items[out->n++] = sub;
        } else {
            free(sub);
        }
        free(full);
    }
    closedir(d);
    free(dir);
    return rc;
}

/* Every definition file of the repo, sorted. */
static int find_definitions(const char *root, path_list *out, mf_error *err) {
    walk w = {0};
    struct stat st;
    w.root_real = realpath(root, NULL);
    if (!w.root_real || stat(w.root_real, &st) != 0) {
        free(w.root_real);
        return mf__err(err, MF_EIO, "cannot read directory %s: %s", root, strerror(errno));
    }
    walk_enter(&w, &st);
    int rc = find_lua(&w, root, "", out, err);
    free(w.root_real);
    free(w.seen);
    if (rc == MF_OK) qsort(out->items, out->n, sizeof *out->items, cmp_str);
    return rc;
}

/*---- Lua tables to protobuf ------------------------------------------------*/

/* The objects that lua/dsl.lua's finish() returns are its own tables, but
 * they are still read raw (lua_rawget) and checked as untrusted: a wrong
 * type, a number out of its field's range or not whole, an enum value the
 * schema does not know, a string with a NUL byte or not UTF-8 — each is an
 * error, never a cast with undefined behaviour. */

static int to_pb(lua_State *L, int idx, ProtobufCMessage *msg, mf_error *err);

/* The Lua number at idx as a whole number in [lo, hi]; false otherwise. */
static bool whole_in(lua_State *L, int idx, double lo, double hi, double *out) {
    double d = lua_tonumber(L, idx);
    if (!(d >= lo && d <= hi) || d != floor(d)) return false;
    *out = d;
    return true;
}

/* Convert the Lua value at idx into the slot of one field element. */
static int scalar_to_pb(lua_State *L, int idx, const ProtobufCFieldDescriptor *fd,
                        void *slot, mf_error *err) {
    int t = lua_type(L, idx);
    double d;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (t != LUA_TSTRING) break;
        {
            size_t n;
            const char *s = lua_tolstring(L, idx, &n);
            if (memchr(s, '\0', n))
                return mf__err(err, MF_EDEF, "'%s' holds a NUL byte", fd->name);
            if (mf__utf8_check(s, n, false) != n)
                return mf__err(err, MF_EDEF, "'%s' is not UTF-8 text", fd->name);
            *(char **)slot = mf__xstrndup(s, n);
        }
        return MF_OK;
    case PROTOBUF_C_TYPE_BOOL:
        if (t != LUA_TBOOLEAN) break;
        *(protobuf_c_boolean *)slot = lua_toboolean(L, idx);
        return MF_OK;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
        if (t != LUA_TNUMBER) break;
        if (!whole_in(L, idx, INT32_MIN, INT32_MAX, &d))
            return mf__err(err, MF_EDEF, "'%s' is %.17g, not a whole number in the 32-bit "
                           "range", fd->name, lua_tonumber(L, idx));
        if (fd->type == PROTOBUF_C_TYPE_ENUM &&
            !protobuf_c_enum_descriptor_get_value(fd->descriptor, (int)d))
            return mf__err(err, MF_EDEF, "'%s' is %d, which is not a known value", fd->name,
                           (int)d);
        *(int32_t *)slot = (int32_t)d;
        return MF_OK;
    case PROTOBUF_C_TYPE_INT64:
        if (t != LUA_TNUMBER) break;
        /* 2^63 is not an int64: the upper bound is the double below it */
        if (!whole_in(L, idx, -9223372036854775808.0, 9223372036854774784.0, &d))
            return mf__err(err, MF_EDEF, "'%s' is %.17g, not a whole number in the 64-bit "
                           "range", fd->name, lua_tonumber(L, idx));
        *(int64_t *)slot = (int64_t)d;
        return MF_OK;
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (t != LUA_TTABLE) break;
        ProtobufCMessage *sub = mf__pb_new(fd->descriptor);
        *(ProtobufCMessage **)slot = sub;
        return to_pb(L, idx, sub, err);
    }
    default:
        break;
    }
    return mf__err(err, MF_EDEF, "'%s' has a Lua %s where the registry expects another type",
                   fd->name, lua_typename(L, t));
}

static size_t slot_size(const ProtobufCFieldDescriptor *fd) {
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64: return sizeof(int64_t);
    default: return sizeof(int32_t);
    }
}

/* Fill msg from the table at idx: one key per proto field name. */
static int to_pb(lua_State *L, int idx, ProtobufCMessage *msg, mf_error *err) {
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    lua_checkstack(L, 8);
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        raw_field(L, idx, fd->name);
        int rc = MF_OK;
        if (lua_isnil(L, -1)) {
            /* default */
        } else if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            if (!lua_istable(L, -1)) {
                rc = mf__err(err, MF_EDEF, "'%s' must be a list", fd->name);
            } else {
                size_t n = lua_objlen(L, -1), sz = slot_size(fd);
                char *arr = mf__xcalloc(n ? n : 1, sz);
                *(void **)((char *)msg + fd->offset) = arr;
                size_t *count = (size_t *)((char *)msg + fd->quantifier_offset);
                *count = 0;
                for (size_t j = 0; j < n && rc == MF_OK; j++) {
                    lua_rawgeti(L, -1, (int)j + 1);
                    rc = scalar_to_pb(L, -1, fd, arr + j * sz, err);
                    /* count what is filled so the message frees correctly */
                    if (rc == MF_OK || fd->type == PROTOBUF_C_TYPE_MESSAGE) *count = j + 1;
                    lua_pop(L, 1);
                }
            }
        } else {
            void *slot = (char *)msg + fd->offset;
            if (fd->type == PROTOBUF_C_TYPE_STRING) {
                char *old = *(char **)slot;
                rc = scalar_to_pb(L, -1, fd, slot, err);
                if (rc == MF_OK && old && old != protobuf_c_empty_string) free(old);
            } else {
                rc = scalar_to_pb(L, -1, fd, slot, err);
            }
        }
        lua_pop(L, 1);
        if (rc) return rc;
    }
    return MF_OK;
}

static const ProtobufCMessageDescriptor *const kind_desc[MF_KIND_COUNT] = {
    &mf__entity__descriptor, &mf__data_source__descriptor,
    &mf__feature_view__descriptor, &mf__on_demand_feature_view__descriptor,
    &mf__feature_service__descriptor};

static int kind_from_text(const char *s) {
    static const char *const names[MF_KIND_COUNT] = {
        "entity", "data_source", "feature_view", "on_demand_feature_view",
        "feature_service"};
    for (int k = 0; k < MF_KIND_COUNT; k++)
        if (strcmp(s, names[k]) == 0) return k;
    return -1;
}

/* Build an object message (Entity, ...) from {kind, spec, file, line} at
 * the top of the stack and add it to reg. */
static int add_object(lua_State *L, Mf__Registry *reg, mf_error *err) {
    if (!lua_istable(L, -1)) return mf__err(err, MF_EINTERNAL, "DSL returned a non-table object");
    raw_field(L, -1, "kind");
    const char *kt = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    int kind = kind_from_text(kt);
    lua_pop(L, 1);
    if (kind < 0) return mf__err(err, MF_EINTERNAL, "DSL returned an unknown object kind");
    ProtobufCMessage *obj = mf__pb_new(kind_desc[kind]);
    const ProtobufCFieldDescriptor *sfd =
        protobuf_c_message_descriptor_get_field_by_name(kind_desc[kind], "spec");
    const ProtobufCFieldDescriptor *mfd =
        protobuf_c_message_descriptor_get_field_by_name(kind_desc[kind], "meta");
    ProtobufCMessage *spec = mf__pb_new(sfd->descriptor);
    *(ProtobufCMessage **)((char *)obj + sfd->offset) = spec;
    Mf__Meta *meta = (Mf__Meta *)mf__pb_new(&mf__meta__descriptor);
    *(Mf__Meta **)((char *)obj + mfd->offset) = meta;
    raw_field(L, -1, "file");
    mf__pb_set_string(&meta->file, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "");
    raw_field(L, -2, "line");
    double line = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    meta->line = line >= 0 && line <= INT32_MAX ? (int32_t)line : 0;
    raw_field(L, -3, "spec");
    int rc = lua_istable(L, -1) ? to_pb(L, -1, spec, err)
                                : mf__err(err, MF_EINTERNAL, "DSL returned an object without spec");
    lua_pop(L, 3);
    if (rc) {
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err ? err->message : "");
        mf__err_at(err, MF_EDEF, meta->file, meta->line, "%s: %s",
                   mf_kind_name((mf_object_kind)kind), why);
        protobuf_c_message_free_unpacked(obj, NULL);
        return MF_EDEF;
    }
    mf__reg_add(reg, (mf_object_kind)kind, obj);
    return MF_OK;
}

/* The objects list at index 1 into ctx->reg; run through lua_cpcall, so
 * that even a memory error inside comes back as a status. */
typedef struct convert_ctx {
    Mf__Registry *reg;
    mf_error *err;
    int rc;
} convert_ctx;

static int convert_objects(lua_State *L) {
    convert_ctx *c = lua_touserdata(L, 1);
    lua_remove(L, 1);
    if (!lua_istable(L, -1)) {
        c->rc = mf__err(c->err, MF_EINTERNAL, "DSL returned no object list");
        return 0;
    }
    size_t n = lua_objlen(L, -1);
    for (size_t i = 1; i <= n && c->rc == MF_OK; i++) {
        lua_rawgeti(L, -1, (int)i);
        c->rc = add_object(L, c->reg, c->err);
        lua_pop(L, 1);
    }
    return 0;
}

/*---- Loading definitions ---------------------------------------------------*/

/* The largest definition file read (a file is source text a person wrote;
 * this only keeps a stray huge file from being read whole). */
#define MF__DEFS_MAX_FILE ((size_t)64 << 20)

/* Compile one definition file's text. Stack: [] -> [fn]; on failure the
 * error is in err and the stack unchanged. */
static int load_definition(lua_State *L, const char *rel, const char *text, size_t len,
                           mf_error *err) {
    char *chunk = mf__xasprintf("@%s", rel);
    int lrc = load_text(L, text, len, chunk);
    free(chunk);
    if (lrc == 0) return MF_OK;
    int rc = lua_error_to_mf(L, lrc, err);
    if (rc == MF_ELUA) {
        rc = MF_EDEF;
        if (err) err->code = rc;
    }
    if (err && !err->file[0]) snprintf(err->file, sizeof err->file, "%s", rel);
    return rc;
}

int mf__defs_load(const mf__config *cfg, Mf__Registry **out, mf_error *err) {
    path_list files = {0};
    lstate *ls = NULL;
    Mf__Registry *reg = NULL;
    int rc = find_definitions(cfg->repo_path, &files, err);
    if (rc) goto done;

    ls = mf__lstate_new(&cfg->lua_budget, false);
    if (!ls) {
        rc = mf__err(err, MF_ENOMEM, "cannot create a Lua state");
        goto done;
    }
    ls->defs = true;
    lua_State *L = ls->L;
    /* stack: 1 = files table, 2 = session */
    rc = push_embedded(L, "moonfeast.dsl", err);
    if (rc) goto done;
    lua_getfield(L, -1, "session");
    lua_remove(L, -2);
    lua_pushstring(L, cfg->project);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_insert(L, 1);                       /* files table at 1 */
    lua_pushcfunction(L, l_load_text);
    rc = pcall(L, 3, 1, err);               /* session at 2 */
    if (rc) goto done;
    lua_getfield(L, 2, "env");              /* 3 = DSL globals */
    rc = push_env_maker(L, 3, err);         /* 4 = env maker */
    if (rc) goto done;
    lua_pushvalue(L, 4);
    rc = pcall(L, 0, 1, err);               /* 5 = the env */
    if (rc) goto done;

    for (size_t i = 0; i < files.n && rc == MF_OK; i++) {
        char *full = mf__path_join(cfg->repo_path, files.items[i]);
        char *text;
        size_t len;
        rc = mf__read_input(full, MF__DEFS_MAX_FILE, &text, &len, err);
        free(full);
        if (rc == MF_EDATA)
            rc = mf__err_at(err, MF_EDEF, files.items[i], 0, "a definition file is at most %zu "
                            "MiB; this one is longer", MF__DEFS_MAX_FILE >> 20);
        if (rc) break;
        lua_pushlstring(L, text, len);
        lua_setfield(L, 1, files.items[i]);
        rc = load_definition(L, files.items[i], text, len, err);
        free(text);
        if (rc) break;
        lua_pushvalue(L, 5);
        lua_setfenv(L, -2);
        rc = pcall(L, 0, 0, err);
        /* an error without a place (raised after a tail call, which leaves
         * no frame of the file, or at level 0): the file at least */
        if (rc && err && !err->file[0])
            snprintf(err->file, sizeof err->file, "%s", files.items[i]);
    }
    if (rc) goto done;

    lua_getfield(L, 2, "finish");
    rc = pcall(L, 0, 1, err);
    if (rc) goto done;
    reg = mf__reg_new();
    convert_ctx c = {reg, err, MF_OK};
    lua_pushcfunction(L, convert_objects);
    lua_pushlightuserdata(L, &c);
    lua_pushvalue(L, -3);
    int lrc = lua_pcall(L, 2, 0, 0);
    if (lrc) rc = lua_error_to_mf(L, lrc, err);
    else rc = c.rc;
    if (rc == MF_OK) {
        *out = reg;
        reg = NULL;
    }
done:
    mf__reg_free(reg);
    mf__lstate_free(ls);
    for (size_t i = 0; i < files.n; i++) free(files.items[i]);
    free(files.items);
    return rc;
}

/*---- Running a Lua file in the sandbox -------------------------------------*/

/* Run `path` in a fresh sandbox (stdlib require, no DSL) under the default
 * budget: used by `moonfeast lua-test` for the stdlib's own tests. */
int mf__lua_run_file(const char *path, mf_error *err) {
    char *text;
    size_t len;
    int rc = mf__read_input(path, MF__DEFS_MAX_FILE, &text, &len, err);
    if (rc) return rc;
    lstate *ls = mf__lstate_new(NULL, false);
    if (!ls) {
        free(text);
        return mf__err(err, MF_ENOMEM, "cannot create a Lua state");
    }
    lua_State *L = ls->L;
    rc = push_env_maker(L, 0, err);
    if (rc == MF_OK) rc = pcall(L, 0, 1, err);
    if (rc == MF_OK) {
        char *chunk = mf__xasprintf("@%s", path);
        int lrc = load_text(L, text, len, chunk);
        free(chunk);
        if (lrc != 0) {
            rc = lua_error_to_mf(L, lrc, err);
        } else {
            lua_pushvalue(L, -2);
            lua_setfenv(L, -2);
            rc = pcall(L, 0, 0, err);
        }
    }
    free(text);
    mf__lstate_free(ls);
    return rc;
}
