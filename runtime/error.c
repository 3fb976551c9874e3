/*
 * error.c — result codes, error values and logging.
 *
 * Errors are values: functions return an MF_* code and fill a caller-owned
 * mf_error. The texts of the codes come from the MF_ERRORS table in
 * moonfeast.h, the only list of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_internal.h"

int mf__log_level = 1;

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

void mf__log(int level, const char *fmt, ...) {
    if (level > mf__log_level) return;
    static const char *names[] = {"error", "warning", "info", "debug"};
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "moonfeast: %s: ", names[level < 0 ? 0 : level > 3 ? 3 : level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
