/*
 * error.c — result codes, error values and logging.
 *
 * Errors are values: functions return an MF_* code and fill a caller-owned
 * mf_error. The texts of the codes come from the MF_ERRORS table in
 * moonfeast.h, the only list of them.
 *
 * Logging is process-wide and safe from any thread: the level is an atomic
 * int (mf_set_log_level), and the destination (stderr, or the host's
 * callback set with mf_set_log_callback) is read under a read lock held
 * while the message is delivered, so that once mf_set_log_callback returns
 * no thread still calls the previous callback. Each message is formatted
 * whole first and written with one call, so lines of threads that log at
 * once never interleave.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_internal.h"

_Atomic int mf__log_level = 1;

static pthread_rwlock_t log_lock = PTHREAD_RWLOCK_INITIALIZER;
static mf_log_fn log_fn; /* NULL: stderr */
static void *log_ud;

const char *mf_strerror(int code) {
    switch (code) {
#define MF__CASE(name, value, desc) \
    case value:                     \
        return desc;
        MF_ERRORS(MF__CASE)
#undef MF__CASE
    }
    return "unknown error";
}

void mf_free(void *p) { free(p); }

void mf__err_clear(mf_error *err) {
    if (!err) return;
    err->code = MF_OK;
    err->message[0] = '\0';
    err->file[0] = '\0';
    err->line = 0;
}

static int err_vset(mf_error *err, int code, const char *file, int line,
                    const char *fmt, va_list ap) {
    if (!err) return code;
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    err->line = line;
    return code;
}

int mf__err(mf_error *err, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, NULL, 0, fmt, ap);
    va_end(ap);
    return code;
}

int mf__err_at(mf_error *err, int code, const char *file, int line,
               const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, file, line, fmt, ap);
    va_end(ap);
    return code;
}

int mf__err_nomem(mf_error *err, const char *what, ...) {
    if (!err) return MF_ENOMEM;
    char w[1024];
    va_list ap;
    va_start(ap, what);
    vsnprintf(w, sizeof w, what, ap);
    va_end(ap);
    return mf__err(err, MF_ENOMEM, "%s: out of memory", w);
}

void mf__err_append(mf_error *err, const char *text) {
    if (!err) return;
    size_t n = strnlen(err->message, sizeof err->message - 1);
    snprintf(err->message + n, sizeof err->message - n, "%s", text);
}

void mf__err_prefix(mf_error *err, const char *fmt, ...) {
    if (!err) return;
    char pre[512], old[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof err->message - 3) n = sizeof err->message - 3;
    memcpy(err->message, pre, n);
    memcpy(err->message + n, ": ", 2);
    size_t room = sizeof err->message - n - 3, ol = strlen(old);
    if (ol > room) ol = room;
    memcpy(err->message + n + 2, old, ol);
    err->message[n + 2 + ol] = '\0';
}

/*---- Logging -----------------------------------------------------------------*/

void mf_set_log_level(int level) {
    atomic_store_explicit(&mf__log_level, level, memory_order_relaxed);
}

int mf_get_log_level(void) { return atomic_load_explicit(&mf__log_level, memory_order_relaxed); }

void mf_set_log_callback(mf_log_fn fn, void *ud) {
    pthread_rwlock_wrlock(&log_lock);
    log_fn = fn;
    log_ud = ud;
    pthread_rwlock_unlock(&log_lock);
}

void mf__log(int level, const char *fmt, ...) {
    if (level > mf_get_log_level()) return;
    static const char *const names[] = {"error", "warning", "info", "debug"};
    char small[1024], *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof small && (msg = malloc((size_t)n + 1)) != NULL) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (!msg) msg = small; /* no memory: the message cut at 1023 bytes */
    pthread_rwlock_rdlock(&log_lock);
    if (log_fn)
        log_fn(level, msg, log_ud);
    else
        fprintf(stderr, "moonfeast: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], msg);
    pthread_rwlock_unlock(&log_lock);
    if (msg != small) free(msg);
}
