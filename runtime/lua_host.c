/*
 * lua_host.c — the LuaJIT host: states, the sandbox, and loading definitions.
 *
 * One lua_State per use, never shared between threads. Our own Lua (lua/)
 * and the stdlib (stdlib/) are compiled into the binary (tools/embed.sh).
 * User code — definition files, and later on-demand transforms — runs with
 * an environment from lua/sandbox.lua: no io, no loaders, no FFI.
 *
 * Every call into Lua goes through lua_pcall with msg_handler, so a Lua error
 * comes back as an mf_error ({message, file, line}, with a traceback for
 * runtime errors) and never longjmps over C code holding resources.
 *
 * mf__defs_load turns the objects collected by lua/dsl.lua into protobuf
 * messages generically, walking the message descriptors: a spec table's
 * keys are the proto field names.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "mf_internal.h"

/*---- States ----------------------------------------------------------------*/

/* Error handler for lua_pcall: DSL error tables ({mf = true, ...}) pass
 * through; anything else becomes its message plus a traceback. An error
 * value that is not a string gets the location of the innermost Lua frame.
 * Only raw accesses: the value may be a user table with metamethods, and
 * a metamethod error here or in lua_error_to_mf would be unprotected.
 * Stack: [err] -> [err'] */
static int msg_handler(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) {
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
    if (lua_type(L, -1) == LUA_TTABLE) {
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
    lua_pushcfunction(L, msg_handler);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (rc != 0) return lua_error_to_mf(L, rc, err);
    return MF_OK;
}

/* Load an embedded module of lua/ by name and push its value.
 * Stack: [] -> [module] on success, [] on failure. */
static int push_embedded(lua_State *L, const char *name, mf_error *err) {
    for (size_t i = 0; i < mf__embedded_lua_count; i++) {
        const mf__embedded *e = &mf__embedded_lua[i];
        if (strcmp(e->name, name) != 0) continue;
        char chunk[128];
        snprintf(chunk, sizeof chunk, "=%s", name);
        if (luaL_loadbuffer(L, e->src, e->len, chunk) != 0)
            return lua_error_to_mf(L, LUA_ERRSYNTAX, err);
        return pcall(L, 0, 1, err);
    }
    return mf__err(err, MF_EINTERNAL, "embedded Lua module %s missing", name);
}

static lua_State *new_state(void) {
    lua_State *L = luaL_newstate();
    if (!L) return NULL;
    static const lua_CFunction libs[] = {luaopen_base, luaopen_table, luaopen_string,
                                         luaopen_math, luaopen_debug, luaopen_bit,
                                         luaopen_os};
    for (size_t i = 0; i < MF__ARRAY_LEN(libs); i++) {
        lua_pushcfunction(L, libs[i]);
        lua_call(L, 0, 0);
    }
    return L;
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
    return pcall(L, 2, 1, err);
}

/*---- Finding definition files ---------------------------------------------*/

typedef struct path_list {
    char **items;
    size_t n, cap;
} path_list;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect *.lua under root/rel (rel "" for root), skipping hidden entries
 * and the top-level data/ folder. Paths are relative to root. */
static int find_lua(const char *root, const char *rel, path_list *out, mf_error *err) {
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
        if (!rel[0] && strcmp(de->d_name, "data") == 0) continue;
        char *sub = rel[0] ? mf__xasprintf("%s/%s", rel, de->d_name) : mf__xstrdup(de->d_name);
        char *full = mf__path_join(root, sub);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = find_lua(root, sub, out, err);
            free(sub);
        } else {
            size_t n = strlen(sub);
            if (n > 4 && strcmp(sub + n - 4, ".lua") == 0 && stat(full, &st) == 0 &&
                S_ISREG(st.st_mode)) {
                if (out->n == out->cap) {
                    out->cap = out->cap ? out->cap * 2 : 16;
                    out->items = mf__xrealloc(out->items, out->cap * sizeof *out->items);
                }
                out->items[out->n++] = sub;
            } else {
                free(sub);
            }
        }
        free(full);
    }
    closedir(d);
    free(dir);
    return rc;
}

/*---- Lua tables to protobuf ------------------------------------------------*/

static int to_pb(lua_State *L, int idx, ProtobufCMessage *msg, mf_error *err);

/* Convert the Lua value at idx into the slot of one field element. */
static int scalar_to_pb(lua_State *L, int idx, const ProtobufCFieldDescriptor *fd,
                        void *slot, mf_error *err) {
    int t = lua_type(L, idx);
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (t != LUA_TSTRING) break;
        {
            size_t n;
            const char *s = lua_tolstring(L, idx, &n);
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
        *(int32_t *)slot = (int32_t)lua_tonumber(L, idx);
        return MF_OK;
    case PROTOBUF_C_TYPE_INT64:
        if (t != LUA_TNUMBER) break;
        *(int64_t *)slot = (int64_t)lua_tonumber(L, idx);
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
    return mf__err(err, MF_EINTERNAL, "definition field '%s' has a Lua %s where the "
                   "registry expects another type", fd->name, lua_typename(L, t));
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
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        lua_getfield(L, idx, fd->name);
        int rc = MF_OK;
        if (lua_isnil(L, -1)) {
            /* default */
        } else if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            if (!lua_istable(L, -1)) {
                rc = mf__err(err, MF_EINTERNAL, "definition field '%s' must be a list",
                             fd->name);
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
    lua_getfield(L, -1, "kind");
    int kind = kind_from_text(lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
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
    lua_getfield(L, -1, "file");
    mf__pb_set_string(&meta->file, lua_tostring(L, -1));
    lua_getfield(L, -2, "line");
    meta->line = (int32_t)lua_tointeger(L, -1);
    lua_getfield(L, -3, "spec");
    int rc = to_pb(L, -1, spec, err);
    lua_pop(L, 3);
    if (rc) {
        mf__err_prefix(err, "%s:%d", meta->file, meta->line);
        protobuf_c_message_free_unpacked(obj, NULL);
        return rc;
    }
    mf__reg_add(reg, (mf_object_kind)kind, obj);
    return MF_OK;
}

/*---- Loading definitions ---------------------------------------------------*/

int mf__defs_load(const mf__config *cfg, Mf__Registry **out, mf_error *err) {
    path_list files = {0};
    int rc = find_lua(cfg->repo_path, "", &files, err);
    if (rc) goto done_files;
    qsort(files.items, files.n, sizeof *files.items, cmp_str);

    lua_State *L = new_state();
    if (!L) {
        rc = mf__err(err, MF_ENOMEM, "cannot create a Lua state");
        goto done_files;
    }
    /* stack: 1 = session, 2 = files table */
    rc = push_embedded(L, "moonfeast.dsl", err);
    if (rc) goto done;
    lua_getfield(L, -1, "session");
    lua_remove(L, -2);
    lua_pushstring(L, cfg->project);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_insert(L, 1);                       /* files table at 1 */
    rc = pcall(L, 2, 1, err);               /* session at 2 */
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
        rc = mf__read_file(full, &text, &len, err);
        free(full);
        if (rc) break;
        lua_pushlstring(L, text, len);
        lua_setfield(L, 1, files.items[i]);
        char *chunk = mf__xasprintf("@%s", files.items[i]);
        int lrc = luaL_loadbuffer(L, text, len, chunk);
        free(chunk);
        free(text);
        if (lrc != 0) {
            rc = lua_error_to_mf(L, lrc, err);
            if (rc == MF_ELUA) {
                rc = MF_EDEF;
                if (err) err->code = rc;
            }
            break;
        }
        lua_pushvalue(L, 5);
        lua_setfenv(L, -2);
        rc = pcall(L, 0, 0, err);
    }
    if (rc) goto done;

    lua_getfield(L, 2, "finish");
    rc = pcall(L, 0, 1, err);
    if (rc) goto done;
    Mf__Registry *reg = mf__reg_new();
    size_t n = lua_objlen(L, -1);
    for (size_t i = 1; i <= n && rc == MF_OK; i++) {
        lua_rawgeti(L, -1, (int)i);
        rc = add_object(L, reg, err);
        lua_pop(L, 1);
    }
    if (rc) mf__reg_free(reg);
    else *out = reg;
done:
    lua_close(L);
done_files:
    for (size_t i = 0; i < files.n; i++) free(files.items[i]);
    free(files.items);
    return rc;
}

/*---- Running a Lua file in the sandbox -------------------------------------*/

/* Run `path` in a fresh sandbox (stdlib require, no DSL): used by
 * `moonfeast lua-test` for the stdlib's own tests. */
int mf__lua_run_file(const char *path, mf_error *err) {
    char *text;
    size_t len;
    int rc = mf__read_file(path, &text, &len, err);
    if (rc) return rc;
    lua_State *L = new_state();
    if (!L) {
        free(text);
        return mf__err(err, MF_ENOMEM, "cannot create a Lua state");
    }
    rc = push_env_maker(L, 0, err);
    if (rc == MF_OK) rc = pcall(L, 0, 1, err);
    if (rc == MF_OK) {
        char *chunk = mf__xasprintf("@%s", path);
        int lrc = luaL_loadbuffer(L, text, len, chunk);
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
    lua_close(L);
    return rc;
}
