/*
 * sqlite_setup.c — how moonfeast configures the SQLite library, once per
 * process, before its first connection.
 *
 * Two process-wide settings, applied only when SQLite has not been
 * initialized yet (a host that called sqlite3_initialize() or used SQLite
 * before moonfeast's first connection keeps its own configuration; the
 * settings then stay SQLite's defaults and everything works, only slower
 * with several threads):
 *
 * 1. Mutexes that spin briefly before sleeping (glibc's adaptive mutex)
 *    instead of SQLite's default ones that sleep at once. Every read
 *    transaction on a WAL database takes the database's shared-memory
 *    mutex twice (begin and end), one mutex per file for the whole
 *    process. Its critical sections are a few hundred nanoseconds, so with
 *    two threads reading the same store the default mutex put one of them
 *    to sleep and woke it with a futex call on most reads: two threads
 *    gave 1.3-1.5x one thread's reads. Spinning first, the waiter gets the
 *    mutex without a system call (2x; docs/benchmarks.md).
 *
 * 2. No memory statistics (SQLITE_CONFIG_MEMSTATUS off, which SQLite's
 *    documentation recommends for speed): with them on, every allocation
 *    of every connection takes one global mutex. It disables
 *    sqlite3_memory_used(), sqlite3_soft_heap_limit64() and their kind,
 *    which moonfeast does not use.
 *
 * The mutex semantics are SQLite's own pthread ones: recursive mutexes are
 * recursive, the others are not; the static mutexes (one per type number)
 * live for the whole process.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "mf_internal.h"

/* the opaque type of sqlite3.h, defined by an application that supplies
 * its own mutexes */
struct sqlite3_mutex {
    pthread_mutex_t m;
};

/* SQLite 3.40 numbers its static mutexes 2 .. 13; room for later ones */
enum { FIRST_STATIC = SQLITE_MUTEX_STATIC_MAIN, NSTATIC = 64 };
static struct sqlite3_mutex static_mutexes[NSTATIC] = {
    [0 ... NSTATIC - 1] = {PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP}};

static int mx_init(void) { return SQLITE_OK; }
static int mx_end(void) { return SQLITE_OK; }

static sqlite3_mutex *mx_alloc(int type) {
    if (type >= FIRST_STATIC) {
        /* an unknown static mutex: refusing is safer than sharing one */
        return type - FIRST_STATIC < NSTATIC ? &static_mutexes[type - FIRST_STATIC] : NULL;
    }
    if (type != SQLITE_MUTEX_FAST && type != SQLITE_MUTEX_RECURSIVE) return NULL;
    sqlite3_mutex *p = malloc(sizeof *p);
    if (!p) return NULL;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, type == SQLITE_MUTEX_RECURSIVE ? PTHREAD_MUTEX_RECURSIVE
                                                                  : PTHREAD_MUTEX_ADAPTIVE_NP);
    int rc = pthread_mutex_init(&p->m, &a);
    pthread_mutexattr_destroy(&a);
    if (rc != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void mx_free(sqlite3_mutex *p) {
    if (p < static_mutexes || p >= static_mutexes + NSTATIC) {
        pthread_mutex_destroy(&p->m);
        free(p);
    }
}

static void mx_enter(sqlite3_mutex *p) { pthread_mutex_lock(&p->m); }
static int mx_try(sqlite3_mutex *p) { return pthread_mutex_trylock(&p->m) == 0 ? SQLITE_OK : SQLITE_BUSY; }
static void mx_leave(sqlite3_mutex *p) { pthread_mutex_unlock(&p->m); }

static const sqlite3_mutex_methods mutex_methods = {
    mx_init, mx_end, mx_alloc, mx_free, mx_enter, mx_try, mx_leave,
    NULL, NULL, /* xMutexHeld, xMutexNotheld: only SQLite's debug builds ask */
};

static bool configured;

static void setup(void) {
    /* SQLITE_MISUSE when SQLite is already initialized: leave it as it is */
    if (sqlite3_threadsafe() == 0) return;
    if (sqlite3_config(SQLITE_CONFIG_MUTEX, &mutex_methods) != SQLITE_OK) return;
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    configured = true;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

bool mf__sqlite_setup(void) {
    pthread_once(&once, setup);
    return configured;
}
