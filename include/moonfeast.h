/*
 * moonfeast.h — the public C API of moonfeast, a feature store runtime.
 *
 * One header, one prefix (mf_). Every handle is opaque; every constructor has
 * exactly one destructor; closing or freeing NULL is a no-op. Functions return
 * MF_OK (0) or a negative MF_E* code and, when given an mf_error, fill it with
 * a readable message and, for mistakes in user input, the file and line.
 * The header compiles as C (C99 and later) and as C++; the library is
 * libmoonfeast (shared: libmoonfeast.so.MAJOR; static: libmoonfeast.a), found
 * with `pkg-config moonfeast`.
 *
 * Every function below says, in its comment, which threads may call it
 * ("Threads:") and who owns what crosses the call ("Memory:"). The words:
 *
 *   Memory: "caller frees with X" means the caller owns the result and must
 *   release it with X; "borrowed" means the pointer stays owned by the
 *   object it came from and is valid until that object is freed or changed;
 *   "copied" means moonfeast keeps its own copy of an argument, which the
 *   caller may free or reuse when the call returns; "static" means it lives
 *   as long as the process. Pointer arguments not mentioned are only read
 *   during the call.
 *
 *   Threads: "any thread" means the function may run on any thread, at the
 *   same time as any other call. "Any thread, shared store" means calls on
 *   one mf_store may run concurrently from any threads (below). "The
 *   owner's thread" means the object (a request, a response, a plan, a
 *   list, a table, an entity frame) is used by one thread at a time: it
 *   has no lock, belongs to its caller, and may move between threads.
 *
 * Threads. One mf_store serves any number of threads at once: every
 * function that takes an mf_store may be called concurrently on the same
 * store, from any threads, except mf_store_skip_source_validation (a
 * setting: before the handle is shared) and mf_store_close, which must be the last
 * call on it (no call on that store may be running on another thread, or
 * start after it: a caller's bug moonfeast does not detect). Each thread
 * that calls gets its own connection to the online store, made on its
 * first call and released when the thread exits or the store closes,
 * whichever comes first; a host never manages them. Calls see the
 * registry through a snapshot the store shares between threads and swaps
 * when the registry changes (docs/concepts.md, "Threads").
 * Every other object (mf_online_request, mf_online_response, mf_plan,
 * mf_object_list, mf_table, mf_entity_df) belongs to its caller and has no
 * lock: one thread at a time may use it, and it may move between threads.
 * Several threads may only read an mf_table or an mf_entity_df at once
 * (several pushes of one frame), as long as none changes it. Functions
 * without a handle are safe from any thread. Process-wide state is the log
 * level and destination (below, safe from any thread); moonfeast changes
 * neither the disposition of SIGPIPE nor any thread's signal mask: it
 * writes to Redis with MSG_NOSIGNAL, so a server that goes away is an
 * MF_ESTORE error, not the end of the process.
 *
 * SQLite. The first mf_store_open (or other use of SQLite by moonfeast) in
 * a process configures the SQLite library, unless it is already
 * initialized: mutexes that spin briefly before they sleep (threads reading
 * one SQLite store at once otherwise wait on each other in the kernel) and
 * no memory statistics (sqlite3_memory_used() and sqlite3_soft_heap_limit64()
 * then do nothing). A host that uses SQLite itself and wants its own
 * configuration calls sqlite3_initialize() before its first mf_store_open;
 * moonfeast then leaves SQLite as it is and works the same, only slower
 * with several threads. It must not be using SQLite on another thread
 * while that first mf_store_open runs (sqlite3_config's own rule).
 */
#ifndef MOONFEAST_H
#define MOONFEAST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*---------------------------------------------------------------------------
 * Version
 *-------------------------------------------------------------------------*/

/* The version of this header. The shared library's SONAME carries the
 * major number (libmoonfeast.so.0): a program built against one release
 * runs with any later library of the same major number. mf_version() and
 * mf_version_number() give the library's own version at run time, which
 * may be later than the header a program was compiled with. */
#define MF_VERSION_MAJOR 0
#define MF_VERSION_MINOR 1
#define MF_VERSION_PATCH 0
#define MF_VERSION_STRING "0.1.0"
/* MAJOR * 1000000 + MINOR * 1000 + PATCH (0.1.0 is 1000), for #if. */
#define MF_VERSION_NUMBER \
    (MF_VERSION_MAJOR * 1000000 + MF_VERSION_MINOR * 1000 + MF_VERSION_PATCH)

/* Marks the functions the shared library exports: with GCC and Clang, the
 * library is compiled with -fvisibility=hidden and only these keep default
 * visibility. A host has nothing to do with it. */
#ifndef MF_API
#if defined(__GNUC__) || defined(__clang__)
#define MF_API __attribute__((visibility("default")))
#else
#define MF_API
#endif
#endif

/* The library's version, "MAJOR.MINOR.PATCH" (MF_VERSION_STRING of the
 * library that was built). Threads: any thread. Memory: static. */
MF_API const char *mf_version(void);
/* The library's MF_VERSION_NUMBER. Threads: any thread. Memory: nothing
 * is handed out. */
MF_API int mf_version_number(void);

/*---------------------------------------------------------------------------
 * Errors
 *-------------------------------------------------------------------------*/

/* X(name, value, description) — the single table of result codes. */
#define MF_ERRORS(X)                                                   \
    X(MF_OK, 0, "ok")                                                  \
    X(MF_EUSAGE, -1, "bad usage")                                      \
    X(MF_ECONFIG, -2, "invalid configuration")                         \
    X(MF_EDEF, -3, "invalid definition")                               \
    X(MF_ELUA, -4, "Lua error")                                        \
    X(MF_EIO, -5, "I/O error")                                         \
    X(MF_EREGISTRY, -6, "registry error")                              \
    X(MF_ENOTFOUND, -7, "not found")                                   \
    X(MF_ESTORE, -8, "online store error")                             \
    X(MF_EDATA, -9, "bad data")                                        \
    X(MF_ENOMEM, -10, "out of memory")                                 \
    X(MF_EINTERNAL, -11, "internal error")                             \
    X(MF_EREQUEST, -12, "bad request")                                 \
    X(MF_ELIMIT, -13, "limit exceeded")

enum mf_status {
#define MF__ENUM(name, value, desc) name = value,
    MF_ERRORS(MF__ENUM)
#undef MF__ENUM
};

/* Filled by any call that fails. `file` and `line` name the user input at
 * fault (a definition file, feature_store.yaml, a CSV) when there is one;
 * else file is "" and line 0. The caller owns it (a local variable is
 * usual); a call that succeeds may leave it as it was. Every `err`
 * argument below may be NULL when the caller needs only the code. */
typedef struct mf_error {
    int code;
    char message[2048];
    char file[512];
    int line;
} mf_error;

/* Text describing a result code ("not found"; "unknown error" for a code
 * that is none of the above). Never NULL. Threads: any thread. Memory:
 * static. */
MF_API const char *mf_strerror(int code);

/* Release memory handed out by moonfeast as a plain char * (the JSON texts
 * of mf_describe and mf_registry_dump). NULL is a no-op. Threads: any
 * thread. Memory: p is freed. */
MF_API void mf_free(void *p);

/*---------------------------------------------------------------------------
 * Logging (process-wide; every function here is safe from any thread)
 *-------------------------------------------------------------------------*/

/* Levels of messages: a message is delivered when its level is at most the
 * process-wide level (default MF_LOG_WARNING). */
enum mf_log_level {
    MF_LOG_ERROR = 0,
    MF_LOG_WARNING = 1,
    MF_LOG_INFO = 2,
    MF_LOG_DEBUG = 3
};

/* Set or read the process-wide level (enum mf_log_level). Threads: any
 * thread; a change is seen by the next message of every thread. Memory:
 * nothing crosses. */
MF_API void mf_set_log_level(int level);
MF_API int mf_get_log_level(void);

/* Receives each message (one line, no prefix, no newline; borrowed for the
 * call) with its level and the `ud` given to mf_set_log_callback. It may
 * be called from any thread, several at once, and must not call
 * mf_set_log_callback. */
typedef void (*mf_log_fn)(int level, const char *message, void *ud);

/* Send messages to fn (NULL: back to standard error, the default, as
 * "moonfeast: LEVEL: message" lines). Threads: any thread. Memory: ud
 * stays the caller's; when this returns, no call of the previous callback
 * is still running, so the previous ud may be freed. */
MF_API void mf_set_log_callback(mf_log_fn fn, void *ud);

/*---------------------------------------------------------------------------
 * Store handle
 *-------------------------------------------------------------------------*/

typedef struct mf_store mf_store;

typedef struct mf_open_options {
    /* Path of feature_store.yaml; NULL means <repo>/feature_store.yaml. A
     * relative path is taken from the current directory. The folder holding
     * the file (its real path) is the repo folder: the definitions are
     * found there, and relative paths of the configuration and the
     * definitions are taken from there (repo_path is then not used). */
    const char *config_file;
    /* The process-wide log level (enum mf_log_level), set by mf_store_open
     * as mf_set_log_level would: with opts given, this is applied. A host
     * with several stores sets the level once with mf_set_log_level and
     * passes opts NULL, or the level it wants. */
    int log_level;
} mf_open_options;

/* Open the feature repo at `repo_path` (NULL = current directory), or the
 * one of the configuration file `opts->config_file`: read the
 * feature_store.yaml and open the registry. Definitions (Lua files) are
 * not read until a call needs them (apply, plan); the registry is read on
 * the first call that needs it, the online store on each thread's first
 * call. `opts` may be NULL for defaults. Threads: any thread. Memory: on
 * success *out is a new handle that the caller closes with
 * mf_store_close; repo_path and opts are only read during the call. */
MF_API int mf_store_open(const char *repo_path, const mf_open_options *opts,
                         mf_store **out, mf_error *err);

/* Close a handle and everything it owns, the connections of every thread
 * that used it included. Requests and other objects made with the store
 * may be freed after it. NULL is a no-op. Threads: it must be the store's
 * last call: no other call on it may be running on another thread, or
 * start after it. Memory: store is freed, and with it every string
 * borrowed from it. */
MF_API void mf_store_close(mf_store *store);

/* Project name from the configuration. Threads: any thread, shared store.
 * Memory: borrowed from the store (valid until it is closed). */
MF_API const char *mf_store_project(const mf_store *store);

/*---------------------------------------------------------------------------
 * Definitions: plan, apply, delete, teardown
 *-------------------------------------------------------------------------*/

typedef enum mf_object_kind {
    MF_KIND_ENTITY = 0,
    MF_KIND_DATA_SOURCE = 1,
    MF_KIND_FEATURE_VIEW = 2,
    MF_KIND_ON_DEMAND_FEATURE_VIEW = 3,
    MF_KIND_FEATURE_SERVICE = 4,
    MF_KIND_COUNT = 5,
    MF_KIND_ANY = -1
} mf_object_kind;

/* "entity", "data source", ... Threads: any thread. Memory: static. */
MF_API const char *mf_kind_name(mf_object_kind kind);

typedef enum mf_plan_action {
    MF_PLAN_ADD = 0,       /* defined, not yet registered */
    MF_PLAN_CHANGE = 1,    /* defined and registered, definition differs */
    MF_PLAN_UNCHANGED = 2, /* defined and registered, identical */
    MF_PLAN_DELETE = 3     /* registered, no longer defined: apply deletes it (a
                              deleted view's online data is dropped) */
} mf_plan_action;

typedef struct mf_plan mf_plan;

/* Load the repo's Lua definitions, validate them and compare them with the
 * registry. Writes nothing. Threads: any thread, shared store. Memory: on
 * success *out is a new plan the caller frees with mf_plan_free. */
MF_API int mf_plan_compute(mf_store *store, mf_plan **out, mf_error *err);

/* Like mf_plan_compute, then make the project's registry match the
 * definitions in one registry commit: register every added and changed
 * object, delete the objects no longer defined (dropping the online data of
 * deleted views first), and update the online store for the views.
 * Commits from several threads or processes serialize on the registry's
 * lock; the store's snapshot is reloaded before this returns, so the next
 * call on any thread sees the change (so for mf_delete, mf_teardown and
 * the intervals mf_materialize records). Threads: any thread, shared
 * store. Memory: `out` may be NULL; when not, *out receives the plan that
 * was applied (caller frees with mf_plan_free). */
MF_API int mf_apply(mf_store *store, mf_plan **out, mf_error *err);

/* Whether mf_apply and mf_plan_compute check that every feature view's
 * source exists and holds the view's columns (Feast's source validation;
 * on by default). skip nonzero turns the check off for this handle (the
 * CLI's --skip-source-validation); a view whose schema is inferred still
 * reads its source. Threads: call before the handle is shared. Memory:
 * nothing is allocated; NULL store is a no-op. */
MF_API void mf_store_skip_source_validation(mf_store *store, int skip);

/* Number of items of a plan. Threads: the owner's thread. Memory: nothing
 * is handed out. */
MF_API size_t mf_plan_count(const mf_plan *plan);
/* Item i (0 <= i < count). `changed` is a comma-separated list of the
 * changed top-level fields for MF_PLAN_CHANGE, "" otherwise. Any output
 * pointer may be NULL. Returns MF_OK, or MF_EUSAGE for i out of range.
 * Threads: the owner's thread. Memory: strings borrowed from the plan. */
MF_API int mf_plan_item(const mf_plan *plan, size_t i, mf_object_kind *kind,
                        const char **name, mf_plan_action *action,
                        const char **changed);
/* Threads: the owner's thread. Memory: plan is freed (NULL: no-op). */
MF_API void mf_plan_free(mf_plan *plan);

/* Remove one object by name from the registry (the online data of a deleted
 * feature view is dropped too). `kind` may be MF_KIND_ANY; when the name
 * exists under several kinds, MF_EUSAGE asks for a kind. Threads: any
 * thread, shared store. Memory: name is only read. */
MF_API int mf_delete(mf_store *store, mf_object_kind kind, const char *name,
                     mf_error *err);

/* Remove every object of the store's project from the registry and drop its
 * online tables. Threads: any thread, shared store. Memory: nothing
 * crosses. */
MF_API int mf_teardown(mf_store *store, mf_error *err);

/*---------------------------------------------------------------------------
 * Inspecting the registry
 *-------------------------------------------------------------------------*/

typedef struct mf_object_list mf_object_list;

/* List the registered objects of one kind in the store's project, sorted by
 * name. `tag_filters` is NULL or an array of n_tag_filters "key:value"
 * strings that must all match. Threads: any thread, shared store. Memory:
 * caller frees *out with mf_object_list_free; the filters are only read. */
MF_API int mf_list(mf_store *store, mf_object_kind kind,
                   const char *const *tag_filters, size_t n_tag_filters,
                   mf_object_list **out, mf_error *err);
/* Number of items. Threads: the owner's thread. Memory: nothing is handed
 * out. */
MF_API size_t mf_object_list_count(const mf_object_list *list);
/* Name and one-line summary of item i (0 <= i < count). Threads: the
 * owner's thread. Memory: borrowed from the list. */
MF_API const char *mf_object_list_name(const mf_object_list *list, size_t i);
MF_API const char *mf_object_list_summary(const mf_object_list *list, size_t i);
/* Threads: the owner's thread. Memory: list is freed (NULL: no-op). */
MF_API void mf_object_list_free(mf_object_list *list);

/* The JSON of one registered object (spec, meta and, for feature views,
 * materialization intervals). Threads: any thread, shared store. Memory:
 * caller frees *json with mf_free. */
MF_API int mf_describe(mf_store *store, mf_object_kind kind, const char *name,
                       char **json, mf_error *err);

/* The whole registry (all projects) as JSON. Threads: any thread, shared
 * store. Memory: caller frees *json with mf_free. */
MF_API int mf_registry_dump(mf_store *store, char **json, mf_error *err);

/* Registry version (commits so far); 0 for a registry never written.
 * Threads: any thread, shared store. Memory: *version is the caller's. */
MF_API int mf_registry_version(mf_store *store, uint64_t *version, mf_error *err);

/*---------------------------------------------------------------------------
 * Repo scaffolding
 *-------------------------------------------------------------------------*/

/* Create a ready-to-apply feature repo in `dir` (created when missing; must
 * hold none of the files it writes: MF_EREQUEST, nothing overwritten):
 * feature_store.yaml, a definitions file (driver_repo.lua) and a
 * deterministic sample CSV of driver statistics (data/driver_stats.csv). `project` may be
 * NULL for the folder's base name. Threads: any thread (two calls on one
 * folder at once are the caller's race). Memory: dir and project are only
 * read. */
MF_API int mf_init_repo(const char *dir, const char *project, mf_error *err);

/* mf_init_repo with a template: "local" (NULL; the online store in a SQLite
 * file under data/) or "redis" (the online store in the Redis server at
 * localhost:6379; edit connection_string to point elsewhere). Same files
 * otherwise. An unknown name is MF_EUSAGE naming the known ones. Threads and
 * memory: as mf_init_repo. */
MF_API int mf_init_repo_template(const char *dir, const char *project, const char *template_name,
                                 mf_error *err);

/*---------------------------------------------------------------------------
 * Tables: columnar results
 *-------------------------------------------------------------------------*/

/* A table of typed columns (a historical retrieval result). Column types
 * are Feast ValueType numbers (2 String, 3 Int32, 4 Int64, 5 Double,
 * 6 Float, 7 Bool, 8 UnixTimestamp, 1 Bytes, 11..18 lists). Entity columns
 * passed through from the input keep their type: a column added with
 * mf_entity_df_add_int64 is Int64 (4), one of timestamps UnixTimestamp (8),
 * text (and the columns of a CSV or SQLite entity source) String (2)
 * holding the input text. Entity-less retrieval (no entities): the join
 * keys are of their views' key types, event_timestamp UnixTimestamp (8).
 * Column and row indexes must be in range. Threads, for every function of
 * this section: the owner's thread; several threads may call the const
 * ones (all but mf_table_free) on one table at once: "readers at
 * once" below. */
typedef struct mf_table mf_table;

typedef enum mf_table_format {
    MF_FORMAT_CSV = 0,
    MF_FORMAT_JSONL = 1,
    MF_FORMAT_PARQUET = 2 /* snappy; see docs/concepts.md, Output formats */
} mf_table_format;

/* Rows and columns. Threads: readers at once. Memory: nothing is handed
 * out. */
MF_API size_t mf_table_nrows(const mf_table *t);
MF_API size_t mf_table_ncols(const mf_table *t);
/* Name of a column. Threads: readers at once. Memory: borrowed from the
 * table. */
MF_API const char *mf_table_col_name(const mf_table *t, size_t col);
/* Type of a column; whether a cell is null. Threads: readers at once.
 * Memory: nothing is handed out. */
MF_API int mf_table_col_type(const mf_table *t, size_t col);
MF_API int mf_table_is_null(const mf_table *t, size_t col, size_t row);
/* Int32, Int64, Bool (0/1) and UnixTimestamp (microseconds since the
 * epoch) cells. 0 for null. Threads: readers at once. Memory: nothing is
 * handed out. */
MF_API int64_t mf_table_int64(const mf_table *t, size_t col, size_t row);
/* Float and Double cells (others converted). 0 for null. Threads: readers
 * at once. Memory: nothing is handed out. */
MF_API double mf_table_double(const mf_table *t, size_t col, size_t row);
/* String, Bytes and list cells (lists as JSON text), not NUL-terminated;
 * NULL for null or other types. Threads: readers at once. Memory: borrowed
 * from the table. */
MF_API const char *mf_table_text(const mf_table *t, size_t col, size_t row,
                                 size_t *len);
/* Write as CSV (header, then rows; nulls as empty cells), JSON Lines or
 * Parquet to `path` ("-" or NULL: standard output). A file is written to a
 * temporary name beside it and renamed into place. Threads: readers at
 * once (two writes to one path at once are the caller's race). Memory:
 * path is only read. */
MF_API int mf_table_write(const mf_table *t, const char *path, mf_table_format fmt,
                          mf_error *err);
/* Threads: the owner's thread, when no other thread reads the table.
 * Memory: t is freed (NULL: no-op), with every text borrowed from it. */
MF_API void mf_table_free(mf_table *t);

/*---------------------------------------------------------------------------
 * Historical retrieval (point-in-time join)
 *-------------------------------------------------------------------------*/

/* Entity rows: join-key columns, an `event_timestamp` column, and any other
 * columns (passed through to the output untouched). The same frame type
 * holds the rows of mf_push and mf_write_to_online_store. Threads: the
 * owner's thread while it is built; once built, several threads may read
 * it at once (retrievals, pushes, mf_entity_df_nrows). */
typedef struct mf_entity_df mf_entity_df;

/* An empty frame of nrows rows; add columns of exactly nrows values. Never
 * NULL. Threads: any thread. Memory: caller frees with mf_entity_df_free. */
MF_API mf_entity_df *mf_entity_df_new(size_t nrows);
/* Add a column of 64-bit integers; valid may be NULL (all present) or
 * nrows bytes, 0 = null. Used as a timestamp (event_timestamp, a push's
 * timestamp column), integers are epoch seconds; mf_entity_df_add_timestamps
 * takes microseconds. A column too large to allocate (nrows is the
 * caller's choice) is MF_ENOMEM naming it, and the frame stays as it was;
 * a name used twice is MF_EUSAGE. Threads: the owner's thread. Memory:
 * name, values and valid are copied. */
MF_API int mf_entity_df_add_int64(mf_entity_df *df, const char *name,
                                  const int64_t *values, const uint8_t *valid,
                                  mf_error *err);
/* Add a column of text values (NULL entries = null). Join keys given as
 * text are parsed as the view's key type at retrieval. Threads: the
 * owner's thread. Memory: copied. */
MF_API int mf_entity_df_add_text(mf_entity_df *df, const char *name,
                                 const char *const *values, mf_error *err);
/* Add a timestamp column (microseconds since the epoch, UTC). Threads: the
 * owner's thread. Memory: copied. */
MF_API int mf_entity_df_add_timestamps(mf_entity_df *df, const char *name,
                                       const int64_t *us, mf_error *err);
/* Read entity rows from a CSV file (header required) or from a query on a
 * SQLite database; every column is text. Threads: any thread. Memory:
 * caller frees *out with mf_entity_df_free. */
MF_API int mf_entity_df_read_csv(const char *path, mf_entity_df **out,
                                 mf_error *err);
MF_API int mf_entity_df_read_sqlite(const char *db_path, const char *sql,
                                    mf_entity_df **out, mf_error *err);
/* Threads: any thread reading the frame. Memory: nothing is handed out. */
MF_API size_t mf_entity_df_nrows(const mf_entity_df *df);
/* Threads: the owner's thread, when no other thread reads the frame.
 * Memory: df is freed (NULL: no-op). */
MF_API void mf_entity_df_free(mf_entity_df *df);

typedef struct mf_historical_options {
    /* Feature refs "view:feature" (n_features of them), or NULL with
     * feature_service set. */
    const char *const *features;
    size_t n_features;
    const char *feature_service;
    /* Name output columns view__feature (alias__feature). */
    int full_feature_names;
    /* Entity-less retrieval (entities == NULL): every entity key with a
     * source row in [start_us, end_us] gets its latest values as of end. */
    int64_t start_us, end_us;
} mf_historical_options;

/* Point-in-time join (docs/concepts.md, "Historical retrieval"): for each
 * entity row, each feature's latest value at or before the row's time
 * (within the view's ttl); on-demand views are computed after the join,
 * with their request fields taken from the entity columns of the same
 * names. `entities` may be NULL for entity-less retrieval. Uses up to two
 * threads of its own. Threads: any thread, shared store; `entities` may
 * be read by other threads at the same time. Memory: on success *out is a
 * new table (entity columns in input order, then the requested features in
 * request order; rows in input order) that the caller frees with
 * mf_table_free; opts is only read (NULL: MF_EUSAGE, there is nothing to
 * retrieve). */
MF_API int mf_get_historical_features(mf_store *store, const mf_entity_df *entities,
                                      const mf_historical_options *opts,
                                      mf_table **out, mf_error *err);

/*---------------------------------------------------------------------------
 * Materialization: offline sources -> online store
 *-------------------------------------------------------------------------*/

typedef struct mf_materialize_options {
    /* Called when a view starts (rows 0), on progress, and once per view at
     * the end (done = 1); may be NULL. rows_read counts source rows in the
     * window, rows_written the entity rows written. `view` is borrowed for
     * the call. */
    void (*progress)(void *ud, const char *view, uint64_t rows_read,
                     uint64_t rows_written, int done);
    void *ud;
    /* Views materialized at once, each on a thread of its own (this one
     * included); 0: batch_engine.jobs of the configuration, else one per
     * CPU. progress is then called from those threads, never two calls at
     * once. */
    int jobs;
} mf_materialize_options;

/* For each named online feature view (all online views when n_views is 0):
 * the latest source row per entity key with start <= event_ts <= end is
 * written to the online store (never replacing newer data), in batches of
 * one transaction each; then [start, end] is recorded in the registry for
 * that view. Several views run at once (opts->jobs); the first failure
 * stops the views not yet started and is the call's error, and the views
 * done keep their recorded intervals. `opts` may be NULL. Threads: any
 * thread, shared store (it starts threads of its own, joined before it
 * returns). Memory: views and opts are only read. */
MF_API int mf_materialize(mf_store *store, int64_t start_us, int64_t end_us,
                          const char *const *views, size_t n_views,
                          const mf_materialize_options *opts, mf_error *err);

/* Like mf_materialize with start = the view's last recorded end; for a
 * view never materialized, end - ttl when ttl > 0, else its oldest row.
 * Threads and memory: as mf_materialize. */
MF_API int mf_materialize_incremental(mf_store *store, int64_t end_us,
                                      const char *const *views, size_t n_views,
                                      const mf_materialize_options *opts,
                                      mf_error *err);

/*---------------------------------------------------------------------------
 * Online reads
 *-------------------------------------------------------------------------*/

/* Statuses of online values (Feast's names). */
typedef enum mf_status_code {
    MF_STATUS_PRESENT = 0,
    MF_STATUS_NOT_FOUND = 1,
    MF_STATUS_NULL_VALUE = 2,
    MF_STATUS_OUTSIDE_MAX_AGE = 3
} mf_status_code;

/* "PRESENT", "NOT_FOUND", ... Threads: any thread. Memory: static. */
MF_API const char *mf_status_name(mf_status_code s);

/* A reusable request: set features once, then per call reset the entity
 * rows and add them. Resolution of refs against the registry is cached in
 * the request and redone only when the store's registry snapshot changes
 * (or the request is used with another store); the request keeps that
 * snapshot until it resolves again or is freed. A request belongs to its
 * caller: one thread at a time (each serving thread has its own). An entity
 * column too large to allocate is MF_ENOMEM, and the request stays
 * usable. Threads, for every function taking a request: the owner's
 * thread. */
typedef struct mf_online_request mf_online_request;

/* Never NULL. Threads: any thread. Memory: caller frees with
 * mf_online_request_free. */
MF_API mf_online_request *mf_online_request_new(void);
/* Threads: the owner's thread. Memory: req is freed (NULL: no-op); it may
 * outlive the store it was used with. */
MF_API void mf_online_request_free(mf_online_request *req);
/* Features: refs "view:feature" (an on-demand view's outputs too), or a
 * feature service name; each replaces the other. Threads: the owner's
 * thread. Memory: refs and name are copied. */
MF_API int mf_online_request_set_features(mf_online_request *req,
                                          const char *const *refs, size_t n,
                                          mf_error *err);
MF_API int mf_online_request_set_feature_service(mf_online_request *req,
                                                 const char *name, mf_error *err);
/* Name feature columns view__feature in the response. Threads: the
 * owner's thread. Memory: nothing crosses. */
MF_API void mf_online_request_set_full_feature_names(mf_online_request *req, int on);
/* Forget the entity rows (keeping memory for reuse). Threads: the owner's
 * thread. Memory: the request keeps its buffers. */
MF_API void mf_online_request_clear_entities(mf_online_request *req);
/* Add one column of n values (every column of a call must have the same n;
 * a column may be added once per call). A column is a join key, or a
 * request field of a requested on-demand view (request data for
 * transforms, given beside the keys); a column that is no join key of a
 * requested view is not returned in the response. Text
 * values are parsed as the key's or field's type at read time. Threads:
 * the owner's thread. Memory: join_key and values are copied. */
MF_API int mf_online_request_add_int64(mf_online_request *req, const char *join_key,
                                       const int64_t *values, size_t n,
                                       mf_error *err);
MF_API int mf_online_request_add_text(mf_online_request *req, const char *join_key,
                                      const char *const *values, size_t n,
                                      mf_error *err);

/* A reusable response (column-oriented, docs/concepts.md, "Online reads").
 * Belongs to its caller, like a request. Columns: the join keys first,
 * then the features in request order, then the outputs of on-demand views
 * computed at read time; rows: the entity rows. Column and row indexes
 * must be in range. Threads, for every function taking a response: the
 * owner's thread. Memory: every pointer a response hands out is borrowed
 * from it, valid until its next use by mf_get_online_features (or until
 * it is freed). */
typedef struct mf_online_response mf_online_response;

/* Never NULL. Threads: any thread. Memory: caller frees with
 * mf_online_response_free. */
MF_API mf_online_response *mf_online_response_new(void);
/* Threads: the owner's thread. Memory: resp is freed (NULL: no-op). */
MF_API void mf_online_response_free(mf_online_response *resp);
/* Columns and rows. Threads: the owner's thread. Memory: nothing is handed
 * out. */
MF_API size_t mf_online_response_ncols(const mf_online_response *r);
MF_API size_t mf_online_response_nrows(const mf_online_response *r);
/* Output name of column col. Threads: the owner's thread. Memory:
 * borrowed. */
MF_API const char *mf_online_response_name(const mf_online_response *r, size_t col);
/* Type (Feast ValueType number), status and event time (microseconds; 0
 * for join keys and NOT_FOUND) of a cell. Threads: the owner's thread.
 * Memory: nothing is handed out. */
MF_API int mf_online_response_type(const mf_online_response *r, size_t col);
MF_API mf_status_code mf_online_response_status(const mf_online_response *r,
                                                size_t col, size_t row);
MF_API int64_t mf_online_response_event_ts(const mf_online_response *r, size_t col,
                                           size_t row);
/* Cell values, as for tables: int64 for Int32, Int64, Bool, UnixTimestamp;
 * double for Float and Double; 0 for null. Threads: the owner's thread.
 * Memory: nothing is handed out. */
MF_API int mf_online_response_is_null(const mf_online_response *r, size_t col,
                                      size_t row);
MF_API int64_t mf_online_response_int64(const mf_online_response *r, size_t col,
                                        size_t row);
MF_API double mf_online_response_double(const mf_online_response *r, size_t col,
                                        size_t row);
/* Text cells (String, Bytes, lists as JSON); not NUL-terminated; NULL for
 * null or other types. Threads: the owner's thread. Memory: borrowed. */
MF_API const char *mf_online_response_text(const mf_online_response *r, size_t col,
                                           size_t row, size_t *len);
/* Feast's JSON shape; *len gets the length. Threads: the owner's thread
 * (it builds the text on first use). Memory: borrowed from the response
 * (valid until its next use). */
MF_API const char *mf_online_response_json(mf_online_response *r, size_t *len);

/* Read the latest values, then compute the requested on-demand views (their
 * Lua transforms, with the request fields added beside the keys). Fills
 * `resp` (its previous content is dropped). A response too large to
 * allocate is MF_ENOMEM. Threads: any thread, shared store; each thread
 * with its own request and response. Memory: req and resp stay the
 * caller's. */
MF_API int mf_get_online_features(mf_store *store, mf_online_request *req,
                                  mf_online_response *resp, mf_error *err);

/*---------------------------------------------------------------------------
 * Pushes and direct writes
 *-------------------------------------------------------------------------*/

typedef enum mf_push_to {
    MF_PUSH_ONLINE = 1,
    MF_PUSH_OFFLINE = 2,
    MF_PUSH_ONLINE_AND_OFFLINE = 3
} mf_push_to;

/* Push rows (a frame built like entity rows: columns named as the views
 * use them — join keys, the batch source's timestamp column, features) to
 * the push source `source`. Online: every online view fed by the source
 * (stores keep newer values); offline: appended to the batch source, on
 * disk (fsynced) before the call returns; both: online first (a failed
 * online write appends nothing offline). Every view
 * is validated first: a missing or mistyped column writes nothing, and so
 * does a push too large to allocate (MF_ENOMEM). Threads: any thread,
 * shared store; several threads may push at once, also the same frame.
 * Memory: rows stays the caller's, only read. */
MF_API int mf_push(mf_store *store, const char *source, const mf_entity_df *rows,
                   mf_push_to to, mf_error *err);

/* Write rows to the online store of one feature view (as a push would).
 * Threads and memory: as mf_push. */
MF_API int mf_write_to_online_store(mf_store *store, const char *view,
                                    const mf_entity_df *rows, mf_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MOONFEAST_H */
