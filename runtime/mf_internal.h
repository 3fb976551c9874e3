/*
 * mf_internal.h — declarations shared by the modules of runtime/.
 *
 * Not installed. Internal names use the mf__ prefix. Each section names the
 * file that implements it.
 */
#ifndef MF_INTERNAL_H
#define MF_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "moonfeast.h"
#include "registry.pb-c.h"

#define MF__UNUSED(x) ((void)(x))
#define MF__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*---- Errors (error.c) ----------------------------------------------------*/

/* Set err (if not NULL) to code and a printf-formatted message; file/line
 * cleared. Returns code, so callers can write `return mf__err(...)`. */
int mf__err(mf_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, naming the user input at fault (file may be NULL). */
int mf__err_at(mf_error *err, int code, const char *file, int line,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Prefix the message already in err with "<prefix>: ". */
void mf__err_prefix(mf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append text to the message already in err (cut at the message's size). */
void mf__err_append(mf_error *err, const char *text);
void mf__err_clear(mf_error *err);

/* Log a message under the process-wide level (0..3, mf_set_log_level):
 * to the host's callback (mf_set_log_callback), else to stderr. Safe from
 * any thread. mf__log_level is the level (atomic). */
extern _Atomic int mf__log_level;
void mf__log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*---- Memory and strings (util.c) -----------------------------------------*/

/* malloc/realloc/strdup that abort on exhaustion (the process cannot do
 * anything useful without memory; this keeps every caller honest about the
 * other errors). Results are owned by the caller (free()). */
void *mf__xmalloc(size_t n);
void *mf__xcalloc(size_t n, size_t size);
void *mf__xrealloc(void *p, size_t n);
char *mf__xstrdup(const char *s);
char *mf__xstrndup(const char *s, size_t n);
char *mf__xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation for request-sized work (entity rows, pushed rows, online
 * responses: sizes a caller chooses), which must fail as MF_ENOMEM instead
 * of ending the process. NULL when the memory is not there or the size
 * overflows; a failed realloc leaves p as it was. The caller frees. */
void *mf__try_malloc(size_t n);
void *mf__try_calloc(size_t n, size_t size);
/* realloc to n elements of `size` bytes (n * size checked for overflow). */
void *mf__try_realloc_array(void *p, size_t n, size_t size);
/* Size arithmetic that says when it overflows: false, *out unspecified. */
static inline bool mf__size_mul(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
/* d as a float, rounded as IEEE does, infinite past the float range
 * (where C's conversion is undefined). */
static inline float mf__to_f32(double d) {
    if (d >= 0x1.ffffffp127) return __builtin_inff();
    if (d <= -0x1.ffffffp127) return -__builtin_inff();
    return (float)d; /* NaN stays NaN */
}

static inline bool mf__size_add(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
/* The MF_ENOMEM error for request-sized work: "<what>: out of memory". */
int mf__err_nomem(mf_error *err, const char *what, ...) __attribute__((format(printf, 2, 3)));

/* Configure the SQLite library for moonfeast (adaptive mutexes, no memory
 * statistics) unless it is already initialized; once per process, before
 * moonfeast's first sqlite3_open (sqlite_setup.c). True when the settings
 * were applied. */
bool mf__sqlite_setup(void);

/* Growable byte buffer, always NUL-terminated. */
typedef struct mf__buf {
    char *data;
    size_t len;
    size_t cap;
} mf__buf;

void mf__buf_init(mf__buf *b);
void mf__buf_free(mf__buf *b);
/* Growing (rare) is out of line; the checks and copies are inlined, as
 * the hot loops (keys, output) append a few bytes at a time. */
void mf__buf_grow(mf__buf *b, size_t extra);
/* Room for `extra` more bytes without aborting: 0, or -1 when the memory
 * is not there (b unchanged). For buffers a request's size drives. */
int mf__buf_try_reserve(mf__buf *b, size_t extra);
static inline void mf__buf_reserve(mf__buf *b, size_t extra) {
    if (b->len + extra + 1 > b->cap) mf__buf_grow(b, extra);
}
static inline void mf__buf_put(mf__buf *b, const void *p, size_t n) {
    mf__buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
static inline void mf__buf_putc(mf__buf *b, char c) {
    mf__buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
void mf__buf_puts(mf__buf *b, const char *s);

/* The one test-only switch (docs/development.md): MF_TEST_PAUSE holds
 * "POINT=MS" pairs separated by commas; mf__test_pause(POINT) sleeps MS
 * milliseconds when its point is listed, so that a test can kill or race
 * a process at a known moment. Points: "append" (halfway through a push's
 * bytes), "registry" (a file registry's temp file written, not yet
 * renamed), "materialize" (after each batch of a view's rows is
 * written). Unset, it costs one getenv per call. */
void mf__test_pause(const char *point);
/* Append n bytes as standard base64 (RFC 4648, padded), no quotes. */
void mf__buf_base64(mf__buf *b, const void *p, size_t n);
void mf__buf_printf(mf__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hand the contents over (caller frees); the buffer is left empty. */
char *mf__buf_steal(mf__buf *b);
/* Append s as a JSON string literal (with quotes), valid JSON whatever the
 * bytes: bytes that are not well-formed UTF-8 are written as U+FFFD,
 * control characters (NUL too) as escapes. */
void mf__buf_json_str(mf__buf *b, const char *s, size_t n);
/* Offset of the first byte of s[0..n) that is not well-formed UTF-8 (RFC
 * 3629: no overlong forms, surrogates or code points above U+10FFFF), or of
 * the first NUL byte unless allow_nul; n when there is none. */
size_t mf__utf8_check(const char *s, size_t n, bool allow_nul);

/* Open `path` to read bytes from: a regular file (*is_file, its *size), or
 * a pipe or FIFO. Never waits: a FIFO without a writer opens and reads as
 * empty. A directory, a device or a socket is an MF_EIO error naming the
 * path and what it is. On success *fd (blocking, close-on-exec) is the
 * caller's to close. */
int mf__open_input(const char *path, int *fd, bool *is_file, size_t *size, mf_error *err);
/* Read a whole input (as mf__open_input opens it) of at most `max` bytes;
 * more is MF_EDATA. *out NUL-terminated, caller frees. */
int mf__read_input(const char *path, size_t max, char **out, size_t *len, mf_error *err);
/* Join a directory and a relative path; absolute `rel` returned as is.
 * Caller frees. */
char *mf__path_join(const char *dir, const char *rel);
/* mkdir -p of the directory holding `path` (when dir_of_path) or of path. */
int mf__mkdirs(const char *path, bool dir_of_path, mf_error *err);
bool mf__valid_name(const char *s);
/* Wall clock, microseconds since the epoch. */
int64_t mf__now_us(void);
/* A monotonic clock in microseconds, for durations (debug timings). */
int64_t mf__mono_us(void);
/* Whether path names an existing file that is neither a regular file nor
 * a directory (a device such as /dev/null, a FIFO, a socket): an output
 * there is written in place, never replaced by renaming a file over it. */
bool mf__path_is_special(const char *path);
/* A new name beside path for a file to be renamed onto it: path.tmp-PID-N,
 * N counted per process (two writers of one output, in one process or two,
 * never share a temporary file). Caller frees. */
char *mf__temp_beside(const char *path);
/* The same, coarse (a few milliseconds) and cheaper: for ttl checks on
 * every call. */
int64_t mf__mono_coarse_us(void);

/*---- Configuration (config.c) --------------------------------------------*/

/* What one run of user Lua may use (lua_host.c): VM instructions, bytes of
 * Lua memory, and wall-clock time. 0 = the default below. */
typedef struct mf__lua_budget {
    uint64_t max_instructions;
    size_t max_memory;
    int64_t max_ms;
} mf__lua_budget;
#define MF__LUA_DEFAULT_INSTRUCTIONS 200000000ull
#define MF__LUA_DEFAULT_MEMORY_MB 256
#define MF__LUA_DEFAULT_SECONDS 30
/* The same for one call of an on-demand transform (one row in row mode,
 * one batch in batch mode); the memory cap is the worker state's. */
#define MF__LUA_TRANSFORM_INSTRUCTIONS 1000000ull
#define MF__LUA_TRANSFORM_MEMORY_MB 128
#define MF__LUA_TRANSFORM_MS 1000

/* Roles of the feature server's bearer tokens, each allowing what the one
 * before it does and more. */
typedef enum mf__role { MF__ROLE_READ = 1, MF__ROLE_WRITE = 2, MF__ROLE_ADMIN = 3 } mf__role;

typedef struct mf__auth_token {
    char *token; /* ${VAR} expanded */
    mf__role role;
} mf__auth_token;

/* feature_server: the HTTP server's settings (docs/config.md). */
typedef struct mf__server_config {
    char *host;                    /* "127.0.0.1" */
    int port;                      /* 6566 */
    int threads;                   /* 0: one per CPU */
    int64_t registry_ttl_seconds;  /* -1: registry.cache_ttl_seconds */
    int64_t max_body_bytes;        /* 64 MiB */
    int64_t max_entity_rows;       /* 100000 */
    int64_t max_header_bytes;      /* 32 KiB */
    int64_t max_connections;       /* 1024 */
    int64_t request_timeout_seconds; /* 30 */
    int64_t read_reuse_us;         /* 1000; 0: off (SQLite online store) */
    bool access_log;               /* true */
    bool metrics_public;           /* false: /metrics needs a token when auth is on */
    char *tls_key, *tls_cert;      /* absolute paths, or NULL */
    mf__auth_token *tokens;        /* auth off when n_tokens is 0 */
    size_t n_tokens;
} mf__server_config;

/* Store types. Each online and offline store type is one entry of a table
 * (mf__online_types in online_store.c, mf__offline_types in source.c)
 * that declares its options: config.c reads a store's section from those
 * declarations (a key no type declares, or one of another type, is an
 * error naming it and its line), and the store reads its values by name.
 * Adding a store adds an entry; nothing else names it. */
typedef enum mf__opt_kind {
    MF__OPT_STRING, /* non-empty text, ${VAR} expanded */
    MF__OPT_PATH,   /* the same, made absolute against the repo */
    MF__OPT_INT,    /* a decimal integer in [min, max] */
    MF__OPT_CHOICE  /* one of the words of `choices` */
} mf__opt_kind;

typedef struct mf__opt_spec {
    const char *name;
    mf__opt_kind kind;
    bool required;
    const char *def; /* default: text (a path relative to the repo), or NULL */
    int64_t idef;    /* default of an integer */
    int64_t min, max;
    const char *choices; /* MF__OPT_CHOICE: the values allowed, '|'-separated */
} mf__opt_spec;

struct mf__config;
struct mf__online;
typedef struct mf__store_type {
    const char *name;
    const mf__opt_spec *opts;
    size_t nopts;
    /* online stores: open an instance (NULL: accepted by the configuration,
     * not available in this build) */
    int (*open_online)(const struct mf__config *cfg, struct mf__online **out, mf_error *err);
    /* any other key of the section is an option of this type, kept as text
     * (Lua stores pass them to their module) */
    bool any_options;
} mf__store_type;

extern const mf__store_type mf__online_types[];
extern const size_t mf__n_online_types;
extern const mf__store_type mf__offline_types[];
extern const size_t mf__n_offline_types;

/* A configured store: its type and a value per declared option. */
typedef struct mf__store_conf {
    char *type;                /* the type's name */
    const mf__store_type *st;  /* its entry */
    char **str;                /* per option: text (NULL: not given, no default) */
    int64_t *num;              /* per option: integer value */
    struct {
        char *name, *value;
    } *extra;                  /* any_options: the other keys, as given */
    size_t n_extra;
} mf__store_conf;

/* The value of option `name` of a configured store: text (NULL when the
 * type has no such option or it has no value), or integer (0 then). */
const char *mf__conf_str(const mf__store_conf *c, const char *name);
int64_t mf__conf_int(const mf__store_conf *c, const char *name);
/* The table entry named `name`, or NULL. */
const mf__store_type *mf__store_type_find(const mf__store_type *t, size_t n, const char *name);

typedef struct mf__config {
    char *config_path;   /* absolute path of feature_store.yaml */
    char *repo_path;     /* absolute directory of the repo */
    char *project;

    char *provider_type;   /* "local" | "lua" */
    char *provider_module; /* lua: module path, resolved from repo */

    char *registry_type;   /* "file" | "sql" */
    char *registry_path;   /* file: absolute path; sql: URL as given */
    int64_t registry_cache_ttl_seconds;

    mf__store_conf online;  /* online_store: its type and options */

    char *engine_type;    /* batch_engine: "local" | "lua" */
    char *engine_module;  /* lua: module path */
    int engine_jobs;      /* local: threads; 0 = one per CPU */
    /* lua: the programs host.run may start (batch_engine.commands), names
     * and absolute paths, in file order; and how long one may run */
    char **engine_command_names, **engine_command_paths;
    size_t n_engine_commands;
    int64_t engine_command_timeout_seconds; /* default 3600 */

    mf__store_conf offline; /* offline_store: its type and options */

    int entity_key_serialization_version; /* 3 */
    mf__lua_budget lua_budget;            /* lua: {max_instructions, ...} */
    mf__lua_budget transform_budget;      /* lua: {transform_max_instructions, ...} */
    mf__server_config server;             /* feature_server: {...} */
    /* not from the file: how long a SQLite online read may reuse its
     * transaction (0); `serve` sets it to feature_server.read_reuse_us
     * (mf__store_set_read_reuse) before its threads open the store */
    int64_t online_read_reuse_us;
} mf__config;

/* Parse feature_store.yaml at `path` (the repo directory is the file's
 * directory). Fills *cfg (fields owned by cfg; release with
 * mf__config_free). Errors name the key and its line. */
int mf__config_load(const char *path, mf__config *cfg, mf_error *err);
void mf__config_free(mf__config *cfg);

/*---- Protobuf reflection (pb_reflect.c) ----------------------------------*/

/* Allocate an empty message of `desc` (init'd), owned by the caller; free
 * with protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *mf__pb_new(const ProtobufCMessageDescriptor *desc);
/* Deep copy; caller frees with protobuf_c_message_free_unpacked. */
ProtobufCMessage *mf__pb_clone(const ProtobufCMessage *msg);
/* Field-by-field equality. */
bool mf__pb_equal(const ProtobufCMessage *a, const ProtobufCMessage *b);
/* Append the names of top-level fields that differ, comma-separated. */
void mf__pb_diff_fields(const ProtobufCMessage *a, const ProtobufCMessage *b,
                        mf__buf *out);
/* Append msg as JSON. Enum values are written by name (ValueType as the
 * DSL's dtype text, e.g. "Array(Int64)"); int64 as JSON numbers. Empty
 * strings, zero numbers and empty lists are omitted unless `full`. */
void mf__pb_to_json(const ProtobufCMessage *msg, mf__buf *out, bool full,
                    int indent);
/* Append one repeated-message element to `msg`'s field `field_name`; the
 * element is owned by msg afterwards. */
void mf__pb_append(ProtobufCMessage *msg, const char *field_name,
                   ProtobufCMessage *elem);
/* Remove element i of a repeated-message field (freeing it). */
void mf__pb_remove(ProtobufCMessage *msg, const char *field_name, size_t i);
void mf__pb_set_string(char **slot, const char *s);

/* DSL type text <-> ValueType. Text: Int32, Int64, Float32, Float64,
 * String, Bytes, Bool, UnixTimestamp, Array(<scalar>). Returns
 * MF__VALUE_TYPE__VT_INVALID for an unknown name. */
Mf__ValueType mf__dtype_parse(const char *s);
const char *mf__dtype_name(Mf__ValueType t); /* static text */

/*---- Registry (registry.c, registry_file.c) ------------------------------*/

/* Object access over a Registry message, by kind. */
typedef struct mf__obj {
    mf_object_kind kind;
    ProtobufCMessage *msg;  /* Mf__Entity, Mf__DataSource, ... */
    ProtobufCMessage *spec; /* its spec */
    Mf__Meta *meta;         /* may be NULL */
    const char *project;
    const char *name;
} mf__obj;

/* Number of objects of `kind` in reg, and the i-th as an mf__obj view
 * (borrowed pointers into reg). */
size_t mf__reg_count(const Mf__Registry *reg, mf_object_kind kind);
void mf__reg_get(const Mf__Registry *reg, mf_object_kind kind, size_t i,
                 mf__obj *out);
/* Find by project and name; returns index or -1. */
long mf__reg_find(const Mf__Registry *reg, mf_object_kind kind,
                  const char *project, const char *name);
/* Append a (caller-built) object message; owned by reg afterwards. */
void mf__reg_add(Mf__Registry *reg, mf_object_kind kind,
                 ProtobufCMessage *obj);
void mf__reg_remove(Mf__Registry *reg, mf_object_kind kind, size_t i);
const char *mf__reg_field_name(mf_object_kind kind);
Mf__Registry *mf__reg_new(void);
void mf__reg_free(Mf__Registry *reg);

/* Read-modify-write callback run under the registry's write lock. It edits
 * `reg` in place and returns MF_OK, or an error code to abandon the commit
 * (nothing is written). */
typedef int (*mf__registry_mutator)(Mf__Registry *reg, void *ud,
                                    mf_error *err);

typedef struct mf__registry mf__registry;
typedef struct mf__registry_vt {
    const char *name;
    /* Read the current registry. *out is a new message the caller frees
     * with mf__reg_free. A registry never written reads as empty. */
    int (*load)(mf__registry *r, Mf__Registry **out, mf_error *err);
    /* Take the write lock, read, run fn, bump version and last_updated,
     * write atomically, release the lock. Concurrent commits serialize. */
    int (*commit)(mf__registry *r, mf__registry_mutator fn, void *ud,
                  mf_error *err);
    void (*close)(mf__registry *r);
    /* A cheap token that changes whenever a commit lands (a file's
     * identity and time, the SQL registry's version sum), for long-running
     * processes to skip reloading an unchanged registry. */
    int (*version)(mf__registry *r, uint64_t *token, mf_error *err);
} mf__registry_vt;

struct mf__registry {
    const mf__registry_vt *vt;
};

/* Open the registry the configuration names. */
int mf__registry_open(const mf__config *cfg, mf__registry **out,
                      mf_error *err);
int mf__registry_file_open(const char *path, mf__registry **out,
                           mf_error *err);
/* The SQL registry (registry_sql.c): url is sqlite:///PATH (relative to
 * repo), sqlite:////ABSOLUTE or a postgresql:// URL; project is the
 * writer's, whose version every commit bumps. */
int mf__registry_sql_open(const char *url, const char *repo, const char *project,
                          mf__registry **out, mf_error *err);
/* Copy every project and object (with intervals) of the registry `from`
 * into the empty registry `to` in one commit; each a file path or a
 * database URL, relative ones from dir. Reports what `to` holds after. */
/* url with its password ("user:PASSWORD@", "password=PASSWORD") replaced by
 * "***", for messages (malloc'd). */
char *mf__url_hide_password(const char *url);
int mf__registry_migrate(const char *from, const char *to, const char *dir, size_t *nobjs,
                         size_t *nprojects, uint64_t *version, mf_error *err);
/* The file registry pauses at mf__test_pause("registry") after writing the
 * temporary file and before renaming it (the crash test kills it there). */

/*---- The shared store: snapshots and workers (repo.c) ---------------------*/

/* One mf_store serves any number of threads. What is shared lives in the
 * store and never changes after mf_store_open (the configuration, the
 * registry backend) or is swapped whole (the registry snapshot); what a
 * thread needs of its own lives in its worker. */

/* The configuration of an open store. Borrowed; immutable. */
const mf__config *mf__store_config(const mf_store *s);
/* The registry as it is now, read for this call (materialization, which
 * needs the latest intervals). Caller frees with mf__reg_free. */
int mf__store_registry_snapshot(mf_store *s, Mf__Registry **out, mf_error *err);
/* Commit through the store's registry; on success the store's snapshot is
 * reloaded at once, so the next call on any thread sees the commit. */
int mf__store_commit(mf_store *s, mf__registry_mutator fn, void *ud, mf_error *err);

/* For a server that refreshes the registry itself (a thread of its own,
 * SIGHUP): calls never reload on registry_cache_ttl_seconds after this;
 * commits through the store still do. */
void mf__store_manual_refresh(mf_store *s);
/* For a server: SQLite online reads of the connections opened from now on
 * may reuse their read transaction for up to us microseconds while this
 * process writes nothing to the file (store_sqlite.c); 0: off. Call before
 * other threads use the store. */
void mf__store_set_read_reuse(mf_store *s, int64_t us);
/* Reload the registry now. A failure is returned (and logged) while the
 * current snapshot keeps serving. */
int mf__store_refresh(mf_store *s, mf_error *err);
/* What mf_materialize checks before it writes anything, on the registry as
 * it is now: every named view exists, is a feature view and is online
 * (materialize.c; a server's background run is checked with it first). */
int mf__materialize_check(mf_store *store, const char *const *views, size_t n_views,
                          mf_error *err);
/* The current snapshot's registry version and the wall-clock time it was
 * loaded (microseconds). */
int mf__store_snapshot_info(mf_store *s, uint64_t *version, int64_t *loaded_us, mf_error *err);
/* Whether the store answers: a registry snapshot is loaded and the calling
 * thread's online-store connection answers a trivial request. */
int mf__store_health(mf_store *s, mf_error *err);

/* A registry snapshot: immutable, reference-counted, indexed by name for
 * the store's project, with a generation number unique in the process. A
 * call pins the store's current snapshot at its start and unpins it at its
 * end; an object that keeps pointers into a snapshot (a resolved online
 * request) keeps a pin of its own. The store swaps in a new snapshot after
 * registry_cache_ttl_seconds and after each commit through it; a failed
 * reload keeps the previous one serving (logged once per attempt; the next
 * attempt is a ttl later). */
typedef struct mf__snapshot mf__snapshot;

/* Pin the store's current snapshot (the first call loads it; an error only
 * when there is none yet and the registry cannot be read). Release with
 * mf__snapshot_unpin, on any thread, even after the store closed. The fast
 * path is one atomic increment. */
int mf__store_pin(mf_store *s, mf__snapshot **out, mf_error *err);
/* The store's current snapshot without a pin: borrowed from the calling
 * thread's worker, valid until this thread's next mf__store_pin or
 * mf__store_current on s. For a caller that holds a pin on it already
 * when it is the one it has (an online request resolved against it), and
 * pins it otherwise: the hot path then writes no shared memory. */
int mf__store_current(mf_store *s, mf__snapshot **out, mf_error *err);
/* One more pin of a pinned snapshot; returns snap. */
mf__snapshot *mf__snapshot_ref(mf__snapshot *snap);
/* NULL is a no-op. */
void mf__snapshot_unpin(mf__snapshot *snap);
/* The registry (all projects) and the store's project. Borrowed while
 * pinned. */
const Mf__Registry *mf__snapshot_registry(const mf__snapshot *snap);
const char *mf__snapshot_project(const mf__snapshot *snap);
uint64_t mf__snapshot_gen(const mf__snapshot *snap);
/* The object of `kind` named `name` in the store's project, or NULL: one
 * hash probe. Borrowed while pinned. */
const mf__obj *mf__snapshot_find(const mf__snapshot *snap, mf_object_kind kind,
                                 const char *name);
/* The feature views of the store's project whose source is the data source
 * `source` (registry order); *n of them. Borrowed while pinned. */
const Mf__FeatureView *const *mf__snapshot_views_of(const mf__snapshot *snap,
                                                    const char *source, size_t *n);

/* What a thread needs of its own on one store: its online-store connection
 * (SQLite connection and statements, Redis connection), scratch, and slots
 * for other modules' state. Created on the thread's first call on the
 * store; released when the thread exits or the store closes, whichever
 * comes first. */
typedef struct mf__worker mf__worker;
struct mf__online;

/* The calling thread's worker on s, created on first use. Borrowed; valid
 * until the thread exits or s closes. The fast path is a compare of a
 * thread-local cache. */
int mf__store_worker(mf_store *s, mf__worker **out, mf_error *err);
/* Slots other modules hang per-thread state on (the transform runtime keeps
 * its Lua state here). set_slot replaces the value, destroying a previous
 * different one; the destructor runs in the worker's release, on any
 * thread (the exiting thread, or the one closing the store), and must not
 * call into the store. */
enum { MF__SLOT_TRANSFORMS, MF__SLOT_COUNT };
void *mf__worker_slot(mf__worker *w, int slot);
void mf__worker_set_slot(mf__worker *w, int slot, void *p, void (*destroy)(void *p));
/* The worker's online store (its own connection), opened on first use.
 * Borrowed from the worker. */
int mf__worker_online(mf__worker *w, struct mf__online **out, mf_error *err);
/* The store a worker serves. */
mf_store *mf__worker_store(const mf__worker *w);

/*---- Online store interface (online_store.c, store_sqlite.c) -------------*/

typedef struct mf__online mf__online;
struct mf__col;

/* Rows to write for one view: row i is entity key keys[i] (serialized, v3)
 * with event and created times, and the values at row rows[i] of each
 * feature column (feat[j] holds feature j of view->features). */
typedef struct mf__write_batch {
    const Mf__FeatureViewSpec *view;
    size_t n;
    const unsigned char *const *keys;
    const size_t *key_lens;
    const int64_t *event_ts;
    const int64_t *created_ts;
    const struct mf__col *feat;
    const size_t *rows;
} mf__write_batch;

/* A read for one view: for each of n serialized keys, append one value to
 * each of out[0..nfeat) (feature view->features[feat_idx[j]]; null when
 * absent) and set found[i] and event_ts[i]. */
typedef struct mf__read_batch {
    const Mf__FeatureViewSpec *view;
    size_t n;
    const unsigned char *const *keys;
    const size_t *key_lens;
    const size_t *feat_idx;
    size_t nfeat;
    struct mf__col **out;
    uint8_t *found;
    int64_t *event_ts;
} mf__read_batch;

/* The online store contract (docs/concepts.md, "The online store
 * contract"), for every store, built in or added:
 *   - An instance is used by one thread at a time (each worker opens its
 *     own); instances of other threads and processes work on the same
 *     data at the same time, and the store keeps that safe.
 *   - update makes what the kept views need (SQLite: tables; Redis:
 *     nothing) and drops every value of the dropped views; teardown drops
 *     every value of the given views. Both are idempotent and never touch
 *     another project's data.
 *   - write_batch is newer-wins, per key: a row never replaces a stored row
 *     with a newer event_ts, and on an equal event_ts the row with the
 *     greater or equal created_ts wins; the check and the write are one
 *     atomic step per key. A cell the store cannot keep is an error before
 *     anything of the batch is written. A batch that fails midway: SQLite
 *     writes nothing of it (one transaction); Redis may have written some
 *     of its keys (one atomic script per key, in one pipeline). Since
 *     writes are newer-wins, writing the same batch again is always safe.
 *   - read answers every key: found or not, the stored event_ts, and one
 *     value per requested feature (null when absent, when the stored value
 *     is of another type, or null); a missing key is not an error. A stored
 *     value that cannot be read is an error naming the view and feature.
 *     read_many (optional) reads several views at once, in one round trip
 *     (Redis) or one read transaction (SQLite; two when a large call is
 *     split over two connections), with read's answers.
 *   - A failed call leaves the instance usable (a lost connection is
 *     opened again by the next call), with no transaction left open. */
typedef struct mf__online_vt {
    const char *name;
    /* Create what `keep` needs, drop the data of `drop`. */
    int (*update)(mf__online *s, const char *project,
                  Mf__FeatureView *const *keep, size_t n_keep,
                  Mf__FeatureView *const *drop, size_t n_drop, mf_error *err);
    /* Drop everything of these views of the project. */
    int (*teardown)(mf__online *s, const char *project,
                    Mf__FeatureView *const *views, size_t n, mf_error *err);
    /* Write rows in one transaction (or pipeline). A row never replaces a
     * stored row with a newer event_ts; equal event_ts: the greater or
     * equal created_ts wins. */
    int (*write_batch)(mf__online *s, const char *project,
                       const mf__write_batch *b, mf_error *err);
    int (*read)(mf__online *s, const char *project, mf__read_batch *b,
                mf_error *err);
    /* Several reads (one per view) at once; a remote store answers them in
     * one round trip. NULL: the caller calls read for each. */
    int (*read_many)(mf__online *s, const char *project, mf__read_batch *b,
                     size_t n, mf_error *err);
    /* Whether the store answers (a trivial query; Redis: PING). */
    int (*ping)(mf__online *s, mf_error *err);
    void (*close)(mf__online *s);
    /* Make the writes returned so far durable against an operating system
     * crash or a power loss, where the store can (materialization, before
     * it records an interval). NULL: nothing to do (a server's own
     * persistence decides). */
    int (*sync)(mf__online *s, mf_error *err);
} mf__online_vt;

struct mf__online {
    const mf__online_vt *vt;
};

int mf__online_open(const mf__config *cfg, mf__online **out, mf_error *err);
/* read_reuse_us > 0: reads may keep their transaction that long (see
 * store_sqlite.c); 0: every call reads the latest commit. mmap_bytes:
 * SQLite's mmap_size for the connection (0: pages are read with read();
 * below 0: chosen by the file's size when the connection opens).
 * split_keys > 0: a call reading that many keys or more from two views or
 * more reads them on two connections at once (0: never; see
 * store_sqlite.c, "Split reads"). */
int mf__online_sqlite_open(const char *path, int64_t read_reuse_us, int64_t mmap_bytes,
                           int64_t split_keys, mf__online **out, mf_error *err);
/* Tests: PRAGMA mmap_size of a SQLite store's open connection, -1 when it
 * has none open yet. */
int64_t mf__online_sqlite_map(mf__online *o);
/* Tests: 1 when a SQLite store has made its split-read helper. */
int mf__online_sqlite_split(mf__online *o);
/* Sort perm[0..n), ids of keys (key i: the bytes buf[off[i] .. off[i + 1])),
 * by their keys in memcmp order, a key before the longer keys it is a
 * prefix of (materialize.c). */
void mf__sort_keys(const char *buf, const size_t *off, uint32_t *perm, size_t n);
/* Quote an SQL identifier ("..." with doubled quotes). Caller frees. */
char *mf__sql_ident(const char *s);

/*---- Lua definitions (lua_host.c, lua/dsl.lua) ---------------------------*/

/* Run every *.lua definition file of the repo in the sandbox and collect
 * the objects into a new Registry-shaped message (project set on every
 * spec, meta.file/line set; version 0). Caller frees with mf__reg_free.
 * Errors carry file and line of the offending definition. */
int mf__defs_load(const mf__config *cfg, Mf__Registry **out, mf_error *err);

/* A Lua state for user code, with its budget (lua_host.c). Definition
 * loading makes one per load, with the JIT off; the transform runtime one
 * per worker thread (transforms = true: the JIT stays on for code that
 * cannot loop, and messages name the lua.transform_* keys). Zero fields of
 * b take the defaults above. NULL when out of memory. */
typedef struct mf__lstate mf__lstate;
mf__lstate *mf__lstate_new(const mf__lua_budget *b, bool transforms);
void mf__lstate_free(mf__lstate *s);
struct lua_State *mf__lstate_L(mf__lstate *s);
/* Start a call: a fresh instruction count and deadline, a spent budget
 * forgotten. */
void mf__lstate_begin(mf__lstate *s);
/* The same for a call over `rows` rows (a batch transform): the instruction
 * limit is max_instructions times rows; the deadline is the call's. */
void mf__lstate_begin_rows(mf__lstate *s, uint64_t rows);
/* What the state runs now, for budget messages ("on-demand feature view
 * 'v'"). Copied. */
void mf__lstate_what(mf__lstate *s, const char *what);
/* The configuration keys a spent budget's message names (instructions,
 * memory, time; static strings), where the state's budget is not all of
 * one section (lua.* or lua.transform_*). */
void mf__lstate_budget_keys(mf__lstate *s, const char *k_ins, const char *k_mem,
                           const char *k_time);
/* lua_pcall with the message handler: a Lua error (a spent budget too)
 * comes back in err. Stack: [fn args] -> [results], or [] on error. */
int mf__lstate_pcall(mf__lstate *s, int nargs, int nres, mf_error *err);
/* The same for many calls: push the message handler once, then call with
 * its stack index (absolute). Stack: [h] -> [h handler]; [fn args] ->
 * [results] or []. */
void mf__lstate_push_handler(mf__lstate *s);
int mf__lstate_pcall_h(mf__lstate *s, int nargs, int nres, int handler, mf_error *err);
/* Run body(L, ud) in protected mode (lua_cpcall), so that a Lua API call
 * of the host's C code that fails (out of memory under the budget's cap)
 * comes back as an error instead of ending the process. body starts on an
 * empty stack and returns an MF_* code, which goes to *body_rc when it
 * runs to its end; otherwise the Lua error is returned, in err. The stack
 * is as before on return. */
int mf__lstate_cpcall(mf__lstate *s, int (*body)(struct lua_State *L, void *ud), void *ud,
                      int *body_rc, mf_error *err);
/* Compile Lua source text (never bytecode) as a chunk named `chunk`.
 * Stack: [] -> [fn]; on error [] and err set (MF_ELUA). */
int mf__lstate_load(mf__lstate *s, const char *src, size_t len, const char *chunk,
                    mf_error *err);
/* Push a new sandbox environment for transforms: strict, read-only (no
 * global can be set, the libraries and stdlib modules cannot be changed),
 * with `null` (the light userdata NULL) for null values; for transforms
 * themselves (not modules: stores, sources, engines), without
 * math.randomseed. Stack: [] -> [env], or [] with err set. */
int mf__lstate_push_transform_env(mf__lstate *s, bool transforms, mf_error *err);

/* A Lua module of the user's (an online store, a batch engine): source
 * text run in the transform sandbox of a state of its own, interpreted
 * (so the instruction budget holds in its loops), called with a table of
 * options, returning a table that must hold the functions funcs[]. On
 * success *out is the state and *ref the registry reference of the table;
 * errors (code `code`) name `what`, the path and Lua's message
 * (store_lua.c). */
typedef struct mf__lua_module {
    const char *what; /* "online store lua" */
    const char *path;
    mf__lua_budget budget;
    int code;
    const char *const *opt_names, *const *opt_values;
    size_t nopts;
    const char *const *funcs;
    size_t nfuncs;
    const char *funcs_text; /* "update, teardown, write, read" */
    /* when set, the chunk's second argument is a host table of read-only
     * helpers confined to this folder: lines(path), json(text) */
    const char *files_root;
    /* where the budget comes from, for its messages: MF__LUA_KEYS_MODULE
     * (0: lua.transform_max_instructions and lua.transform_timeout_ms per
     * call, lua.max_memory_mb for the state: online store, provider, batch
     * engine) or MF__LUA_KEYS_LUA (lua.* alone: offline store, lua_source) */
    int keys;
} mf__lua_module;
enum { MF__LUA_KEYS_MODULE, MF__LUA_KEYS_LUA };
int mf__lua_module_open(const mf__lua_module *m, mf__lstate **out, int *ref, mf_error *err);
/* Push member fn of the module table kept at registry reference ref (nil
 * when it has none). */
void mf__lua_module_push(struct lua_State *L, int ref, const char *fn);
/* The same, with the host table (the chunk's second argument) made even
 * without files_root, and host(L, ud) called with it on top of the stack
 * to add functions of the caller's ([t] -> [t]). */
int mf__lua_module_open_host(const mf__lua_module *m, void (*host)(struct lua_State *L, void *ud),
                             void *ud, mf__lstate **out, int *ref, mf_error *err);

/* Providers written in Lua (provider.c): hooks around apply, teardown,
 * materialize (per view) and online reads. */
typedef enum mf__hook {
    MF__HOOK_BEFORE_APPLY,
    MF__HOOK_AFTER_APPLY,
    MF__HOOK_BEFORE_TEARDOWN,
    MF__HOOK_AFTER_TEARDOWN,
    MF__HOOK_MATERIALIZE,
    MF__HOOK_AFTER_MATERIALIZE,
    MF__HOOK_BEFORE_ONLINE_READ,
    MF__HOOK_AFTER_ONLINE_READ,
    MF__HOOK_COUNT
} mf__hook;
typedef struct mf__provider mf__provider;
/* *out NULL for the local provider. */
int mf__provider_open(const struct mf__config *cfg, mf__provider **out, mf_error *err);
void mf__provider_free(mf__provider *p);
/* Whether hook h may be defined (true until the module is loaded). NULL p:
 * false. */
bool mf__provider_has(mf__provider *p, mf__hook h);
/* Call hook h when defined, with arguments by fmt ('s' a string, 'n' an
 * int64_t); *replaced (may be NULL) gets whether it returned true. */
int mf__provider_call(mf__provider *p, mf__hook h, bool *replaced, mf_error *err,
                      const char *fmt, ...);
/* The store's provider, or NULL (repo.c). */
mf__provider *mf__store_provider(const mf_store *s);

/* The length of a Lua error message without the stack traceback that the
 * message handler appends: what errors shown to users (HTTP answers, store
 * and provider errors) quote (lua_host.c). */
int mf__lua_msg_len(const char *msg);

/* Charge `steps` units of work that C code did for Lua code (pattern
 * matching) to the state's budget (counted like VM instructions), and check
 * its deadline. Once the budget is spent it raises the budget error with
 * lua_error and does not return; call it only where a Lua error may be
 * raised (inside a lua_CFunction). States made by lua_host.c only. */
struct lua_State;
void mf__lua_charge(struct lua_State *L, uint64_t steps);
/* The same for `bytes` of memory that C code is about to take for Lua code
 * outside the state's allocator (a JSON decoder's values): raises the
 * memory cap's error when the state's memory and those bytes would pass
 * its cap. */
void mf__lua_charge_memory(struct lua_State *L, size_t bytes);

/* Time a host function (a lua_CFunction) spends waiting outside Lua does
 * not count against the state's wall-clock budget: t = mf__lua_pause(L)
 * before the wait, mf__lua_resume(L, t) after it, which moves the deadline
 * on by the time in between. Instructions are counted in Lua only anyway.
 * States made by lua_host.c only. */
int64_t mf__lua_pause(struct lua_State *L);
void mf__lua_resume(struct lua_State *L, int64_t paused_at);

/* Running one of the operator's programs (command.c), for host.run of a
 * Lua batch engine: started directly (no shell) with argv (argv[0] the
 * path, NULL-terminated) and the inherited environment, stdin /dev/null,
 * stdout captured into res->out (replacing what it held; more than
 * max_out bytes kills it), stderr the process's own, no other descriptor,
 * signals at their defaults, in a process group of its own, in the folder
 * cwd. Waits until it ends or timeout_s seconds have passed (then kills
 * its process group). MF_OK when it ran, whatever its outcome (res); an
 * error when it could not be started. */
typedef enum mf__command_outcome {
    MF__CMD_EXITED,   /* code: its exit status */
    MF__CMD_SIGNALED, /* code: the signal that ended it */
    MF__CMD_TIMEOUT,  /* killed after timeout_s */
    MF__CMD_TOO_LONG  /* killed: its output passed max_out bytes */
} mf__command_outcome;
typedef struct mf__command_result {
    mf__command_outcome outcome;
    int code;
    mf__buf *out; /* the caller's */
} mf__command_result;
int mf__command_run(const char *path, char *const argv[], const char *cwd, int64_t timeout_s,
                    size_t max_out, mf__command_result *res, mf_error *err);

/* Lua's string pattern functions (lua_strlib.c): set find, match, gmatch
 * and gsub, with the results and error messages of LuaJIT's own, as fields
 * of the table on top of the stack ([t] -> [t]). They charge their work to
 * `charge` as they go (the sandbox passes mf__lua_charge), which may raise
 * to stop them; they hold no memory outside Lua when it does. */
void mf__lua_strlib_patterns(struct lua_State *L,
                             void (*charge)(struct lua_State *L, uint64_t steps));

/* Run a Lua file in a fresh sandbox with the stdlib (moonfeast lua-test). */
int mf__lua_run_file(const char *path, mf_error *err);

/* Apply-time checks that need the data (infer.c): for each feature view,
 * with `validate`, check that its source exists and has its timestamp,
 * created, join-key and feature columns (without, only views whose schema
 * must be inferred open their source); infer
 * the features of a view without schema and the types of join keys with no
 * declared type, and expand feature-service projections of inferred views.
 * Edits defs in place. */
int mf__defs_resolve(const mf__config *cfg, Mf__Registry *defs, bool validate, mf_error *err);

/* The data source a view reads its rows from: its source, or the batch
 * source of a push source (infer.c). Borrowed from reg; NULL if unknown. */
const Mf__DataSourceSpec *mf__view_batch_source(const Mf__Registry *reg,
                                               const char *project,
                                               const Mf__FeatureViewSpec *v);

/* Embedded Lua sources (generated by tools/embed.sh into build/). */
typedef struct mf__embedded {
    const char *name; /* module name, e.g. "moonfeast.dsl" or "mf.strings" */
    const char *src;
    size_t len;
} mf__embedded;
extern const mf__embedded mf__embedded_lua[];   /* lua/   */
extern const mf__embedded mf__embedded_stdlib[]; /* stdlib/ */
extern const size_t mf__embedded_lua_count;
extern const size_t mf__embedded_stdlib_count;

/*---- CSV batch sources and pushes (push.c) -------------------------------*/

/* Readers of a CSV batch source call mf__csv_read_lock(path) before they
 * open the file and mf__csv_read_unlock once it is open: a shared lock,
 * so the reader never takes the size of a file that a push is appending
 * to, and an append that was interrupted (killed, disk full) is rolled
 * back first (push.c). *lock_fd is -1 when path is not a regular file.
 * Returns MF_OK, or an error naming the file when an interrupted append
 * cannot be rolled back. */
int mf__csv_read_lock(const char *path, int *lock_fd, mf_error *err);
void mf__csv_read_unlock(int lock_fd);

/*---- Timestamps (timeutil.c) ---------------------------------------------*/

/* Parse timestamp text (RFC 3339 / ISO 8601 with optional zone, 0-9
 * fractional digits, 'T' or ' ', or a bare integer = epoch seconds) to
 * microseconds since the epoch, UTC. Returns 0, or -1 when unparsable. */
int mf__ts_parse(const char *s, size_t len, int64_t *out_us);
/* Write RFC 3339 with 'Z' (no fraction when zero, else 6 digits) into buf
 * (at least MF__TS_BUFLEN bytes). Returns the length. */
#define MF__TS_BUFLEN 40
size_t mf__ts_format(int64_t us, char *buf);
/* Epoch seconds (user input given as an integer) to microseconds; -1 when
 * outside the years 0001..9999, the span the text forms cover (so the
 * product never overflows). mf__ts_in_range: whether microseconds are in
 * that span (then they format as text that parses back). */
int mf__ts_from_seconds(int64_t sec, int64_t *out_us);
bool mf__ts_in_range(int64_t us);

/* Durations and bounds without overflow: seconds to microseconds and a
 * difference, both saturating at the int64 range (a view's ttl may be any
 * int64 in a registry; timestamps come from users and stores). */
static inline int64_t mf__secs_to_us_sat(int64_t s) {
    int64_t r;
    if (__builtin_mul_overflow(s, (int64_t)1000000, &r)) return s < 0 ? INT64_MIN : INT64_MAX;
    return r;
}
static inline int64_t mf__sub_sat(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

#endif /* MF_INTERNAL_H */
