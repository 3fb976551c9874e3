/*
 * fuzz_csv.c — libFuzzer target over CSV reading, through the paths real
 * files take (built and run by `make fuzz`; see docs/development.md).
 *
 * Input: two option bytes, then the file's bytes.
 *   byte 0: bits 0-1 the delimiter (',', ';', '\t', '|'); bit 2 a small
 *           record length limit (byte 1 * 2 + 1 bytes) instead of 64 MiB;
 *           bits 3-7 pick the value type of each column (with its index)
 *   byte 1: the small limit; also which column field_mapping renames
 *
 * Each input is written to a memory file (a regular file: mapped, as
 * source files are) and read
 *   1. by the one-thread reader, every cell parsed as its column's type
 *      (table.c), added to type inference and written back as CSV and JSON
 *      text; the records and the error give a transcript;
 *   2. by the split reader (split as soon as one byte is left): when the
 *      first half met no quote, the halves must give the same transcript;
 *   3. through a pipe (read whole into memory): the same transcript, unless
 *      the pipe reader stopped at a line longer than the limit, which the
 *      data must then have;
 *   4. written back with the CSV writer and read again: the same records;
 *   5. as a file source (source.c: field_mapping, the duplicate column
 *      check, split reading) and as entity rows (pit_join.c).
 * A difference between transcripts, or an answer that breaks a rule of the
 * reader (a NUL byte in a field, a record longer than the limit), aborts:
 * libFuzzer reports it as a crash, with the input.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mf_csv.h"
#include "mf_internal.h"
#include "mf_source.h"
#include "mf_table.h"

/*---- Helpers ---------------------------------------------------------------*/

static const Mf__ValueType TYPES[] = {
    MF__VALUE_TYPE__VT_STRING, MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_DOUBLE,
    MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, MF__VALUE_TYPE__VT_BOOL, MF__VALUE_TYPE__VT_INT32,
    MF__VALUE_TYPE__VT_FLOAT, MF__VALUE_TYPE__VT_BYTES, MF__VALUE_TYPE__VT_INT64_LIST,
    MF__VALUE_TYPE__VT_STRING_LIST, MF__VALUE_TYPE__VT_DOUBLE_LIST,
    MF__VALUE_TYPE__VT_BOOL_LIST, MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST,
};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])

typedef struct opts {
    char delim;
    size_t max_line; /* 0: the default */
    unsigned type_seed;
    unsigned map_col;
} opts;

static void fail(const char *what, const mf__buf *a, const mf__buf *b) {
    fprintf(stderr, "fuzz_csv: %s\n--- first:\n%s\n--- second:\n%s\n", what,
            a ? a->data : "", b ? b->data : "");
    abort();
}

/* A file of `len` bytes at a path of its own, kept open for the process:
 * a memfd (a regular file) rewritten for each input. Returns the path. */
static const char *memory_file(const uint8_t *data, size_t len) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_csv", MFD_CLOEXEC);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) abort();
    size_t off = 0;
    while (off < len) {
        ssize_t n = pwrite(fd, data + off, len - off, (off_t)off);
        if (n <= 0) abort();
        off += (size_t)n;
    }
    return path;
}

/* Append a record to the transcript: its line and its fields, lengths
 * first (fields may hold any byte but NUL). Checks the reader's rules. */
static void note_record(mf__buf *t, const mf__csv *c, const mf__slice *f, const opts *o) {
    size_t n = mf__csv_ncols(c), total = n ? n - 1 : 0;
    mf__buf_printf(t, "%ld:", mf__csv_line(c));
    for (size_t i = 0; i < n; i++) {
        if (memchr(f[i].ptr, '\0', f[i].len)) fail("a NUL byte in a field", t, NULL);
        total += f[i].len;
        mf__buf_printf(t, "%zu=", f[i].len);
        mf__buf_put(t, f[i].ptr, f[i].len);
    }
    /* unescaped fields are never longer than their text */
    if (total > (o->max_line ? o->max_line : MF__CSV_MAX_LINE))
        fail("a record longer than the limit", t, NULL);
    mf__buf_putc(t, '\n');
}

/* The error into the transcript; a message that starts with the file's
 * path (which differs between the ways of reading) gets "<path>" instead. */
static void note_error(mf__buf *t, int rc, const mf_error *err) {
    const char *m = err->message;
    size_t pl = strlen(err->file);
    mf__buf_printf(t, "error %d at %d: ", rc, err->line);
    if (pl && strncmp(m, err->file, pl) == 0) {
        mf__buf_puts(t, "<path>");
        m += pl;
    }
    mf__buf_printf(t, "%s\n", m);
}

/* The header's names into the transcript. */
static void note_header(mf__buf *t, const mf__csv *c) {
    mf__buf_printf(t, "header %ld:", mf__csv_line(c));
    for (size_t i = 0; i < mf__csv_ncols(c); i++) mf__buf_printf(t, "[%s]", mf__csv_colname(c, i));
    mf__buf_putc(t, '\n');
}

/* Read c to its end or to an error that stops it, into the transcript.
 * Returns the last result (0 or a sticky error). With `cols`, parse every
 * cell as its column's type. */
static int read_all(mf__csv *c, mf__buf *t, const opts *o, mf__col *cols, mf__infer *inf) {
    const mf__slice *f;
    mf_error err;
    for (;;) {
        int rc = mf__csv_next(c, &f, &err);
        if (rc == 0) return 0;
        if (rc < 0) {
            note_error(t, rc, &err);
            if (strstr(err.message, "expected ")) continue; /* a wrong field count goes on */
            return rc;
        }
        note_record(t, c, f, o);
        for (size_t i = 0; cols && i < mf__csv_ncols(c); i++) {
            mf__infer_add(&inf[i], f[i].ptr, f[i].len);
            if (mf__col_push_text(&cols[i], f[i].ptr, f[i].len) != 0) mf__col_push_null(&cols[i]);
        }
    }
}

static mf__csv_opts csv_opts(const opts *o, size_t split_min) {
    mf__csv_opts co = {.delim = o->delim, .max_line = o->max_line, .split_min = split_min};
    return co;
}

/*---- The paths ---------------------------------------------------------------*/

/* 1: one thread, typed cells. The transcript goes to t. */
static void one_thread(const char *path, const opts *o, mf__buf *t) {
    mf__csv_opts co = csv_opts(o, 0);
    mf__csv *c;
    mf_error err;
    int rc = mf__csv_open_opts(path, &co, &c, &err);
    if (rc) {
        note_error(t, rc, &err);
        return;
    }
    note_header(t, c);
    size_t nc = mf__csv_ncols(c);
    mf__col *cols = mf__xcalloc(nc, sizeof *cols);
    mf__infer *inf = mf__xcalloc(nc, sizeof *inf);
    for (size_t i = 0; i < nc; i++) {
        mf__col_init(&cols[i], mf__csv_colname(c, i), TYPES[(o->type_seed + i) % NTYPES], false);
        mf__infer_init(&inf[i]);
    }
    read_all(c, t, o, cols, inf);
    mf__buf out;
    mf__buf_init(&out);
    char num[64];
    for (size_t i = 0; i < nc; i++) {
        (void)mf__infer_type(&inf[i]);
        for (size_t r = 0; r < cols[i].n; r++) {
            size_t len;
            const char *s = mf__col_text(&cols[i], r, num, &len);
            mf__csv_write_field(&out, s, len, o->delim);
            mf__col_json(&cols[i], r, &out);
        }
        mf__col_free(&cols[i]);
    }
    mf__buf_free(&out);
    free(cols);
    free(inf);
    mf__csv_close(c);
}

/* 2: split as early as possible; when the first half met no quote, the
 * transcript must be the one-thread one. */
static void split_read(const char *path, const opts *o, const mf__buf *want) {
    mf__csv_opts co = csv_opts(o, 1);
    mf__csv *c, *tail = NULL;
    mf_error err;
    if (mf__csv_open_opts(path, &co, &c, &err) != MF_OK) return; /* as in 1 */
    mf__buf t;
    mf__buf_init(&t);
    note_header(&t, c);
    mf__csv_split(c, &tail);
    int rc = read_all(c, &t, o, NULL, NULL);
    if (tail && rc == 0 && !mf__csv_saw_quote(c)) read_all(tail, &t, o, NULL, NULL);
    if (!tail || !mf__csv_saw_quote(c))
        if (strcmp(t.data, want->data) != 0) fail("split read differs", want, &t);
    mf__csv_close(tail);
    mf__csv_close(c);
    mf__buf_free(&t);
}

/* Whether data has a line longer than `max` (the pipe reader's stop). */
static bool has_long_line(const uint8_t *data, size_t len, size_t max) {
    size_t start = 0;
    for (size_t i = 0; i <= len; i++)
        if (i == len || data[i] == '\n') {
            if (i - start > max) return true;
            start = i + 1;
        }
    return false;
}

/* 3: through a pipe (inputs are smaller than a pipe's buffer). */
static void pipe_read(const uint8_t *data, size_t len, const opts *o, const mf__buf *want) {
    int fds[2];
    /* an empty pipe says so in other words than an empty file */
    if (len == 0 || len > 60000 || pipe(fds) != 0) return;
    if (len && write(fds[1], data, len) != (ssize_t)len) abort();
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    mf__csv_opts co = csv_opts(o, 0);
    mf__csv *c;
    mf_error err;
    mf__buf t;
    mf__buf_init(&t);
    int rc = mf__csv_open_opts(path, &co, &c, &err);
    close(fds[0]);
    if (rc) {
        note_error(&t, rc, &err);
        if (strcmp(t.data, want->data) != 0) {
            size_t max = o->max_line ? o->max_line : MF__CSV_MAX_LINE;
            if (!strstr(err.message, "record longer than") || !has_long_line(data, len, max + 4))
                fail("pipe read differs", want, &t);
        }
    } else {
        note_header(&t, c);
        read_all(c, &t, o, NULL, NULL);
        mf__csv_close(c);
        if (strcmp(t.data, want->data) != 0) fail("pipe read differs", want, &t);
    }
    mf__buf_free(&t);
}

/* 4: the records written back with the writer read the same. Records are
 * taken from a fresh read; only a file read to its end without error. */
static void round_trip(const char *path, const opts *o) {
    mf__csv_opts co = csv_opts(o, 0);
    co.max_line = 0; /* quoting makes records longer */
    mf__csv *c;
    mf_error err;
    if (mf__csv_open_opts(path, &co, &c, &err) != MF_OK) return;
    size_t nc = mf__csv_ncols(c);
    mf__buf text, want;
    mf__buf_init(&text);
    mf__buf_init(&want);
    for (size_t i = 0; i < nc; i++) {
        if (i) mf__buf_putc(&text, o->delim);
        const char *name = mf__csv_colname(c, i);
        if (nc == 1 && !name[0]) mf__buf_puts(&text, "\"\"");
        else mf__csv_write_field(&text, name, strlen(name), o->delim);
        mf__buf_printf(&want, "[%s]", name);
    }
    mf__buf_putc(&text, '\n');
    mf__buf_putc(&want, '\n');
    const mf__slice *f;
    int rc;
    while ((rc = mf__csv_next(c, &f, &err)) == 1) {
        for (size_t i = 0; i < nc; i++) {
            if (i) mf__buf_putc(&text, o->delim);
            /* a one-column empty record must be "" (a blank line is skipped) */
            if (nc == 1 && f[i].len == 0) mf__buf_puts(&text, "\"\"");
            else mf__csv_write_field(&text, f[i].ptr, f[i].len, o->delim);
            mf__buf_printf(&want, "%zu=", f[i].len);
            mf__buf_put(&want, f[i].ptr, f[i].len);
        }
        mf__buf_putc(&text, '\n');
        mf__buf_putc(&want, '\n');
    }
    mf__csv_close(c);
    if (rc == 0) {
        const char *p2 = memory_file((const uint8_t *)text.data, text.len);
        mf__buf got;
        mf__buf_init(&got);
        if (mf__csv_open_opts(p2, &co, &c, &err) != MF_OK) fail(err.message, &want, &text);
        for (size_t i = 0; i < mf__csv_ncols(c); i++)
            mf__buf_printf(&got, "[%s]", mf__csv_colname(c, i));
        mf__buf_putc(&got, '\n');
        while ((rc = mf__csv_next(c, &f, &err)) == 1) {
            for (size_t i = 0; i < mf__csv_ncols(c); i++) {
                mf__buf_printf(&got, "%zu=", f[i].len);
                mf__buf_put(&got, f[i].ptr, f[i].len);
            }
            mf__buf_putc(&got, '\n');
        }
        if (rc != 0) fail(err.message, &want, &text);
        mf__csv_close(c);
        if (strcmp(got.data, want.data) != 0) fail("written and read back differs", &want, &got);
        mf__buf_free(&got);
    }
    mf__buf_free(&text);
    mf__buf_free(&want);
}

/* 5: a file source (field_mapping renames one column to the next one's
 * name when byte 1 says so) and entity rows. */
static void as_source(const char *path, const opts *o) {
    mf__config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.repo_path = (char *)"/";
    /* the file offline store, its one option max_line_bytes */
    int64_t max_line = (int64_t)(o->max_line ? o->max_line : MF__CSV_MAX_LINE);
    char *no_text[1] = {NULL};
    cfg.offline.st = &mf__offline_types[0];
    cfg.offline.num = &max_line;
    cfg.offline.str = no_text;
    char delim[2] = {o->delim, '\0'};
    Mf__DataSourceSpec ds = MF__DATA_SOURCE_SPEC__INIT;
    ds.name = (char *)"fuzz";
    ds.kind = (char *)"file";
    ds.path = (char *)path;
    ds.delimiter = delim;
    Mf__FieldMapping fm = MF__FIELD_MAPPING__INIT;
    Mf__FieldMapping *fms[1] = {&fm};
    char from[16], to[16];
    if (o->map_col & 1) {
        snprintf(from, sizeof from, "c%u", (o->map_col >> 1) % 4);
        snprintf(to, sizeof to, "c%u", (o->map_col >> 1) % 4 + 1);
        fm.source_column = from;
        fm.name = to;
        ds.field_mapping = fms;
        ds.n_field_mapping = 1;
    }
    mf__source *s, *tail = NULL;
    mf_error err;
    if (mf__source_open(&cfg, &ds, NULL, &s, &err) == MF_OK) {
        for (size_t i = 0; i < mf__source_ncols(s); i++)
            for (size_t j = 0; j < i; j++)
                if (!strcmp(mf__source_colname(s, i), mf__source_colname(s, j)))
                    fail("a source with a column twice opened", NULL, NULL);
        mf__source_split(s, &tail);
        const mf__slice *f;
        int rc;
        while ((rc = mf__source_next(s, &f, &err)) != 0 && (rc > 0 || strstr(err.message, "expected ")))
            (void)mf__source_line(s);
        if (tail) {
            while ((rc = mf__source_next(tail, &f, &err)) != 0 &&
                   (rc > 0 || strstr(err.message, "expected ")))
                (void)mf__source_line(tail);
            mf__source_close(tail);
        }
        mf__source_close(s);
    }
    mf_entity_df *df;
    if (mf_entity_df_read_csv(path, &df, &err) == MF_OK) mf_entity_df_free(df);
}

/*---- Entry -------------------------------------------------------------------*/

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    static const char delims[] = {',', ';', '\t', '|'};
    opts o = {.delim = delims[data[0] & 3],
              .max_line = (data[0] & 4) ? (size_t)data[1] * 2 + 1 : 0,
              .type_seed = data[0] >> 3,
              .map_col = data[1]};
    data += 2, size -= 2;
    const char *path = memory_file(data, size);
    mf__buf want;
    mf__buf_init(&want);
    one_thread(path, &o, &want);
    split_read(path, &o, &want);
    pipe_read(data, size, &o, &want);
    as_source(path, &o);
    round_trip(path, &o); /* last: it rewrites the memory file */
    mf__buf_free(&want);
    return 0;
}
