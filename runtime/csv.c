/*
 * csv.c — a streaming RFC 4180 CSV reader and the CSV field writer.
 *
 * The reader maps a regular file into memory (pipes and FIFOs are read in
 * whole; directories and devices are refused, see mf__open_input) and hands
 * out fields as slices pointing into that memory. Only a quoted field with
 * doubled quotes needs new bytes; it is unescaped into a scratch buffer
 * owned by the reader and reused for every record, so reading allocates
 * nothing per row.
 *
 * Limits, so that no input can exhaust memory or pass bytes that no output
 * can carry: a NUL byte is an error (the unquoted scan stops at it; quoted
 * text is searched for one); a record longer than max_line bytes is an error
 * at the line where it starts (checked at the end of every field, and
 * quoted text is only searched up to the limit); reading a pipe stops at a
 * line longer than that; the header has at most MF__CSV_MAX_COLS columns,
 * as each costs memory.
 *
 * The buffer always ends with '\n' (one is added after a final line without
 * one, in the zero-filled tail of the mapping), which lets the inner loop
 * scan an unquoted field without a bounds check: every scan stops at the
 * delimiter, a quote, CR or LF at the latest. To keep the resident set
 * small on large files, pages already read are handed back to the kernel
 * every few megabytes (MADV_DONTNEED; the file is unchanged, since the
 * mapping is private and only its last page is ever written).
 *
 * A file truncated by another process while it is mapped makes reads past
 * the new end fault (SIGBUS), as with any mmap reader.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mf_csv.h"
#include "mf_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define CSV_SIMD 1
#endif

/* Pages before the current record are released once this many bytes of the
 * mapping have been read past the last release. */
#define DROP_WINDOW ((size_t)16 << 20)
/* The pages ahead of the current record are mapped in runs of this many
 * bytes by one madvise(MADV_POPULATE_READ) (Linux 5.14), instead of one
 * fault per 64 KiB or less as the scan first touches them: on a virtual
 * machine a fault costs microseconds. Where the call is refused, the scan
 * faults the pages in as before. */
#define POPULATE_RUN ((size_t)4 << 20)
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
/* The least rest that mf__csv_split splits unless told otherwise. */
#define SPLIT_MIN ((size_t)1 << 20)

struct mf__csv {
    char *path;
    char delim;
    size_t max_line;  /* longest record, its line break not counted */
    char *limit_key;  /* the setting of max_line for messages, or NULL */
    size_t split_min; /* least rest mf__csv_split splits */

    char *base;      /* the file's bytes (mapping or heap copy) */
    size_t map_len;  /* length of the mapping; 0 when base is heap memory */
    size_t dropped;  /* bytes at the start of the mapping released so far */
    size_t mapped;   /* bytes of the mapping populated ahead so far */
    const char *first; /* start of the first record (after the header) */
    const char *p;   /* start of the next record */
    const char *end; /* end of the data; end[-1] == '\n' when not empty */
    long line;       /* line number at p */
    long rec_line;   /* line number at which the current record starts */
    int failed;      /* a syntax error stopped the reader */

    size_t ncols;
    char **names; /* ncols column names, owned */

    /* The current record: fields[0..fcap); while the header is read the
     * array grows (growing), afterwards fcap == ncols and further fields
     * are counted but not stored. */
    mf__slice *fields;
    size_t fcap;
    bool growing;
    /* Fields unescaped into scratch: their indices and scratch offsets
     * (pointers are set once the record is complete, as scratch may move
     * while it grows). */
    size_t *esc_idx, *esc_off, nesc;
    mf__buf scratch;

    unsigned char special[256]; /* delimiter, '"', CR, LF, NUL */
    /* Mapped files: where the special bytes are in the 64-byte block at
     * blk (64-aligned), one bit per byte, computed once per block. */
    bool simd;
    const char *blk;
    uint64_t blk_mask;
    bool borrowed; /* base belongs to the reader this one was split from */
    bool saw_quote; /* a quote character was read */
    /* A split-off reader counts lines from 1 at its start; its true line
     * numbers add the lines before it, counted only when a message needs
     * them (counting half a large file costs more than reading it). */
    const char *count_from, *count_to;
    long line_offset; /* -1 until counted */
};

/* The file's line number of line `line` as this reader counts it. */
static long abs_line(const mf__csv *c, long line) {
    if (!c->count_from) return line;
    if (c->line_offset < 0) {
        mf__csv *m = (mf__csv *)c; /* a cache, not a change of state */
        size_t n = 0;
        for (const char *p = c->count_from; p < c->count_to; p++) n += *p == '\n';
        m->line_offset = (long)n;
    }
    return line + c->line_offset;
}

/*---- Finding special bytes ------------------------------------------------*/

#ifdef CSV_SIMD
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 512
#endif
/* Bit i set when byte blk[i] (blk 64-aligned) is special. An aligned block
 * never crosses a page, and the mapping covers whole pages, so reading the
 * block is safe wherever in it the data ends. */
static uint64_t special_mask(const mf__csv *c, const char *blk) {
    const __m128i d = _mm_set1_epi8(c->delim), q = _mm_set1_epi8('"'),
                  cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), z = _mm_setzero_si128();
    uint64_t m = 0;
    __builtin_prefetch(blk + PREFETCH_AHEAD);
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_load_si128((const __m128i *)(const void *)(blk + 16 * k));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, d), _mm_cmpeq_epi8(x, q)),
                                   _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, cr),
                                                             _mm_cmpeq_epi8(x, lf)),
                                                _mm_cmpeq_epi8(x, z)));
        m |= (uint64_t)(uint16_t)_mm_movemask_epi8(hit) << (16 * k);
    }
    return m;
}
#endif

/* The first special byte (delimiter, quote, CR, LF, NUL) at or after p;
 * there is one, since the data ends with '\n'. */
static inline const char *skip_plain(mf__csv *c, const char *p) {
#ifdef CSV_SIMD
    if (c->simd) {
        for (;;) {
            const char *blk = (const char *)((uintptr_t)p & ~(uintptr_t)63);
            if (blk != c->blk) {
                c->blk = blk;
                c->blk_mask = special_mask(c, blk);
            }
            uint64_t m = c->blk_mask >> (p - blk);
            if (m) return p + __builtin_ctzll(m);
            p = blk + 64;
        }
    }
#endif
    const unsigned char *special = c->special;
    while (!special[(unsigned char)*p]) p++;
    return p;
}

/*---- Loading the file ----------------------------------------------------*/

/* Map `size` (> 0) bytes of fd privately and writable, followed by at least
 * two zero bytes of writable memory. Sets c->base and c->map_len. */
static int map_file(mf__csv *c, int fd, size_t size, mf_error *err) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t total = (size + 2 + page - 1) / page * page;
    /* Reserve the whole span anonymously (zero pages after the file), then
     * lay the file over its start. */
    char *base = mmap(NULL, total, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return mf__err_at(err, MF_EIO, c->path, 0, "cannot map %s: %s",
                          c->path, strerror(errno));
    if (mmap(base, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
             0) == MAP_FAILED) {
        int e = errno;
        munmap(base, total);
        return mf__err_at(err, MF_EIO, c->path, 0, "cannot map %s: %s",
                          c->path, strerror(e));
    }
    madvise(base, size, MADV_SEQUENTIAL);
    c->base = base;
    c->map_len = total;
    c->simd = true;
    return MF_OK;
}

/* The error for a record longer than c->max_line that starts at `line`. */
static int too_long(mf__csv *c, long line, mf_error *err, const char *where) {
    return mf__err_at(err, MF_EDATA, c->path, (int)line, "record longer than %zu bytes%s%s%s%s",
                      c->max_line, c->limit_key ? " (" : "", c->limit_key ? c->limit_key : "",
                      c->limit_key ? ")" : "", where);
}

/* Read all of fd (a pipe) into heap memory with two spare bytes. Sets
 * c->base and *size. Stops with MF_EDATA at a line longer than the limit,
 * so that an endless line cannot fill memory (a byte of slack for a CR
 * and three for a BOM: the parser applies the exact rule). */
static int slurp_file(mf__csv *c, int fd, size_t *size, mf_error *err) {
    size_t cap = 1 << 16, len = 0;
    size_t line_start = 0; /* offset of the current line */
    long lines = 1;        /* its number */
    char *buf = mf__xmalloc(cap);
    for (;;) {
        if (cap - len < 4096 + 2) buf = mf__xrealloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 2);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            return mf__err_at(err, MF_EIO, c->path, 0, "cannot read %s: %s",
                              c->path, strerror(e));
        }
        for (char *p = buf + len, *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL;)
            line_start = (size_t)(++p - buf), lines++;
        len += (size_t)n;
        if (len - line_start > c->max_line + 4) {
            free(buf);
            return too_long(c, lines, err, "");
        }
    }
    buf[len] = buf[len + 1] = '\0';
    c->base = buf;
    *size = len;
    return MF_OK;
}

/* Map the next run of pages once the scan is within a run of the end of
 * those mapped so far. */
static void populate_ahead(mf__csv *c, size_t at) {
    size_t stop = (size_t)(c->end - c->base);
    if (at + POPULATE_RUN <= c->mapped || c->mapped >= stop) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t from = (c->mapped > at ? c->mapped : at) / page * page;
    size_t to = from + 2 * POPULATE_RUN < stop ? from + 2 * POPULATE_RUN : stop;
    if (madvise(c->base + from, to - from, MADV_POPULATE_READ) == 0) c->mapped = to;
    else c->mapped = stop; /* refused: leave it to the faults */
}

/* Release the pages of the mapping that lie wholly before c->p, and map
 * those ahead of it. */
static void drop_read_pages(mf__csv *c) {
    size_t at = (size_t)(c->p - c->base);
    if (!c->map_len) return;
    populate_ahead(c, at);
    if (at - c->dropped < DROP_WINDOW) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t last = (size_t)(c->end - c->base) - 1; /* keep the final '\n' */
    size_t upto = (at < last ? at : last) / page * page;
    if (upto > c->dropped &&
        madvise(c->base + c->dropped, upto - c->dropped, MADV_DONTNEED) == 0)
        c->dropped = upto;
}

/*---- Parsing records -----------------------------------------------------*/

static size_t count_newlines(const char *p, const char *q) {
    size_t n = 0;
    while ((p = memchr(p, '\n', (size_t)(q - p))) != NULL) n++, p++;
    return n;
}

/* "field 3 (price)" for error messages; names are known once the header
 * has been read. */
static const char *field_label(const mf__csv *c, size_t i, char *buf,
                               size_t size) {
    if (i < c->ncols)
        snprintf(buf, size, "field %zu (%.200s)", i + 1, c->names[i]);
    else
        snprintf(buf, size, "field %zu", i + 1);
    return buf;
}

static void grow_fields(mf__csv *c) {
    c->fcap = c->fcap ? c->fcap * 2 : 16;
    c->fields = mf__xrealloc(c->fields, c->fcap * sizeof *c->fields);
    c->esc_idx = mf__xrealloc(c->esc_idx, c->fcap * sizeof *c->esc_idx);
    c->esc_off = mf__xrealloc(c->esc_off, c->fcap * sizeof *c->esc_off);
}

/* A syntax error: stop the reader for good. */
static int syntax_error(mf__csv *c, long line, mf_error *err, const char *what,
                        size_t field) {
    char lab[256];
    c->failed = 1;
    return mf__err_at(err, MF_EDATA, c->path, (int)abs_line(c, line), "%s in %s", what,
                      field_label(c, field, lab, sizeof lab));
}

/* The current record passed the limit in `field`: stop the reader for
 * good (where the record ends is not known). */
static int record_too_long(mf__csv *c, mf_error *err, size_t field) {
    char lab[256], where[272];
    c->failed = 1;
    snprintf(where, sizeof where, " in %s", field_label(c, field, lab, sizeof lab));
    return too_long(c, abs_line(c, c->rec_line), err, where);
}

/* Parse the record at c->p into c->fields (fields past c->fcap are counted
 * only). Returns 1 with *nfields set, 0 at end of data, or MF_EDATA. */
static int read_record(mf__csv *c, size_t *nfields, mf_error *err) {
    const char *p = c->p, *end = c->end;
    long line = c->line;

    for (;;) { /* blank lines */
        if (p == end) {
            c->p = p, c->line = line;
            return 0;
        }
        if (*p == '\n')
            p++, line++;
        else if (*p == '\r' && p[1] == '\n')
            p += 2, line++;
        else
            break;
    }
    c->rec_line = line;
    c->scratch.len = 0;
    c->nesc = 0;

    const char delim = c->delim;
    /* the record may not reach past lim (end when the rest is shorter) */
    const char *lim = (size_t)(end - p) > c->max_line ? p + c->max_line : end;
    size_t n = 0;
    for (;;) {
        if (n == c->fcap && c->growing) {
            if (n == MF__CSV_MAX_COLS) {
                c->failed = 1;
                return mf__err_at(err, MF_EDATA, c->path, (int)abs_line(c, c->rec_line),
                                  "more than %d columns", MF__CSV_MAX_COLS);
            }
            grow_fields(c);
        }
        if (*p != '"') {
            /* Unquoted: runs to the next special byte, which exists
             * because the data ends with '\n'. */
            const char *s = p;
            p = skip_plain(c, p);
            if (n < c->fcap) {
                c->fields[n].ptr = s;
                c->fields[n].len = (size_t)(p - s);
            }
            if (p > lim) return record_too_long(c, err, n);
            if (*p == '\0') return syntax_error(c, line, err, "NUL byte", n);
            if (*p == '"') {
                c->saw_quote = true;
                return syntax_error(c, line, err,
                                    "quote inside an unquoted field", n);
            }
        } else {
            c->saw_quote = true;
            long open_line = line;
            const char *s = ++p;
            bool escaped = false;
            size_t off = 0;
            for (;;) {
                if (p > lim) return record_too_long(c, err, n);
                const char *q = memchr(p, '"', (size_t)(lim - p));
                if (!q)
                    return lim < end ? record_too_long(c, err, n)
                                     : syntax_error(c, open_line, err,
                                                    "unterminated quoted field", n);
                const char *z = memchr(p, '\0', (size_t)(q - p));
                if (z)
                    return syntax_error(c, line + (long)count_newlines(p, z), err,
                                        "NUL byte", n);
                line += (long)count_newlines(p, q);
                /* q < end - 1 since the data ends with '\n'. */
                if (q[1] == '"') {
                    if (!escaped) escaped = true, off = c->scratch.len;
                    mf__buf_put(&c->scratch, p, (size_t)(q + 1 - p));
                    p = q + 2;
                    continue;
                }
                if (n < c->fcap) {
                    if (escaped) {
                        mf__buf_put(&c->scratch, p, (size_t)(q - p));
                        c->fields[n].ptr = NULL;
                        c->fields[n].len = c->scratch.len - off;
                        c->esc_idx[c->nesc] = n;
                        c->esc_off[c->nesc++] = off;
                    } else {
                        c->fields[n].ptr = s;
                        c->fields[n].len = (size_t)(q - s);
                    }
                }
                p = q + 1;
                break;
            }
            if (*p != delim && *p != '\n' && *p != '\r')
                return syntax_error(c, line, err,
                                    "text after the closing quote", n);
        }
        n++;
        if (*p == delim) {
            p++;
            continue;
        }
        if (*p == '\n') {
            p++;
            break;
        }
        if (p[1] == '\n') { /* *p == '\r' */
            p += 2;
            break;
        }
        return syntax_error(c, line, err,
                            "carriage return without a line feed", n - 1);
    }
    for (size_t k = 0; k < c->nesc; k++)
        c->fields[c->esc_idx[k]].ptr = c->scratch.data + c->esc_off[k];
    c->p = p;
    c->line = line + 1;
    *nfields = n;
    return 1;
}

/*---- Reader --------------------------------------------------------------*/

int mf__csv_open(const char *path, char delim, mf__csv **out, mf_error *err) {
    mf__csv_opts o = {.delim = delim};
    return mf__csv_open_opts(path, &o, out, err);
}

int mf__csv_open_opts(const char *path, const mf__csv_opts *o, mf__csv **out,
                      mf_error *err) {
    *out = NULL;
    char delim = o->delim;
    if (delim == '"' || delim == '\n' || delim == '\r' || delim == '\0')
        return mf__err(err, MF_EUSAGE,
                       "invalid CSV delimiter (character code %d) for %s",
                       (unsigned char)delim, path);
    int fd;
    bool is_file;
    size_t size = 0;
    int rc = mf__open_input(path, &fd, &is_file, &size, err);
    if (rc) return rc;

    mf__csv *c = mf__xcalloc(1, sizeof *c);
    c->path = mf__xstrdup(path);
    c->delim = delim;
    c->max_line = o->max_line ? o->max_line : MF__CSV_MAX_LINE;
    c->limit_key = o->limit_key ? mf__xstrdup(o->limit_key) : NULL;
    c->split_min = o->split_min ? o->split_min : SPLIT_MIN;
    mf__buf_init(&c->scratch);
    c->special[(unsigned char)delim] = 1;
    c->special['"'] = c->special['\r'] = c->special['\n'] = c->special['\0'] = 1;

    if (is_file) {
        if (size > 0) rc = map_file(c, fd, size, err);
    } else {
        rc = slurp_file(c, fd, &size, err);
    }
    close(fd);
    if (rc != MF_OK) goto fail;
    if (size == 0) {
        rc = mf__err_at(err, MF_EDATA, path, 1, "%s is empty: a CSV file needs a header row%s",
                        path, is_file ? "" : " (a pipe or FIFO that gave nothing, or had no writer)");
        goto fail;
    }

    const char *data = c->base;
    if (c->base[size - 1] != '\n') c->base[size++] = '\n';
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) data += 3;
    c->p = data;
    c->end = c->base + size;
    c->line = 1;

    size_t n;
    c->growing = true;
    rc = read_record(c, &n, err);
    c->growing = false;
    if (rc == 0) {
        rc = mf__err_at(err, MF_EDATA, path, 1,
                        "%s has no header row (only blank lines)", path);
        goto fail;
    }
    if (rc < 0) {
        mf__err_prefix(err, "header");
        goto fail;
    }
    c->ncols = n;
    c->first = c->p;
    c->names = mf__xmalloc(n * sizeof *c->names);
    for (size_t i = 0; i < n; i++)
        c->names[i] = mf__xstrndup(c->fields[i].ptr, c->fields[i].len);
    c->fcap = n;
    *out = c;
    return MF_OK;

fail:
    mf__csv_close(c);
    return rc;
}

size_t mf__csv_ncols(const mf__csv *c) { return c->ncols; }

const char *mf__csv_colname(const mf__csv *c, size_t i) {
    return i < c->ncols ? c->names[i] : NULL;
}

long mf__csv_find(const mf__csv *c, const char *name) {
    for (size_t i = 0; i < c->ncols; i++)
        if (strcmp(c->names[i], name) == 0) return (long)i;
    return -1;
}

int mf__csv_next(mf__csv *c, const mf__slice **fields, mf_error *err) {
    if (c->failed)
        return mf__err_at(err, MF_EDATA, c->path, (int)abs_line(c, c->rec_line),
                          "CSV reading stopped at an earlier error");
    drop_read_pages(c);
    size_t n;
    int rc = read_record(c, &n, err);
    if (rc <= 0) return rc;
    if (n != c->ncols)
        return mf__err_at(err, MF_EDATA, c->path, (int)abs_line(c, c->rec_line),
                          "expected %zu fields, found %zu", c->ncols, n);
    *fields = c->fields;
    return 1;
}

long mf__csv_line(const mf__csv *c) { return abs_line(c, c->rec_line); }
long mf__csv_line_mark(const mf__csv *c) { return c->rec_line; }
long mf__csv_mark_line(const mf__csv *c, long mark) { return abs_line(c, mark); }

bool mf__csv_saw_quote(const mf__csv *c) { return c->saw_quote; }

bool mf__csv_record_stable(const mf__csv *c) { return c->map_len && c->nesc == 0; }

void mf__csv_progress(const mf__csv *c, size_t *done, size_t *total) {
    *done = (size_t)(c->p - c->first);
    *total = (size_t)(c->end - c->first);
}

const char *mf__csv_path(const mf__csv *c) { return c->path; }

int mf__csv_split(mf__csv *c, mf__csv **tail) {
    *tail = NULL;
    if (c->failed || c->saw_quote || (size_t)(c->end - c->p) < c->split_min) return 0;
    /* without quotes every '\n' ends a record, so any line break is a
     * record boundary; whether the first half has none is known once it
     * has been read (mf__csv_saw_quote) */
    const char *mid = c->p + (c->end - c->p) / 2;
    const char *nl = memchr(mid, '\n', (size_t)(c->end - mid));
    if (!nl || nl + 1 >= c->end) return 0;
    mf__csv *t = mf__xcalloc(1, sizeof *t);
    t->path = mf__xstrdup(c->path);
    t->delim = c->delim;
    t->max_line = c->max_line;
    t->limit_key = c->limit_key ? mf__xstrdup(c->limit_key) : NULL;
    t->split_min = c->split_min;
    memcpy(t->special, c->special, sizeof t->special);
    t->base = c->base;
    t->map_len = c->map_len;
    t->simd = c->simd;
    t->borrowed = true;
    t->p = t->first = nl + 1;
    t->end = c->end;
    t->line = 1;
    t->rec_line = 1;
    t->count_from = c->p;
    t->count_to = nl + 1;
    t->line_offset = -1;
    /* lines before c->p are c->line - 1 */
    t->line = c->line;
    t->rec_line = c->line;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    t->dropped = (size_t)(t->p - t->base) / page * page;
    t->mapped = t->dropped;
    t->ncols = c->ncols;
    t->names = mf__xmalloc((c->ncols ? c->ncols : 1) * sizeof *t->names);
    for (size_t i = 0; i < c->ncols; i++) t->names[i] = mf__xstrdup(c->names[i]);
    t->fields = mf__xcalloc(c->ncols ? c->ncols : 1, sizeof *t->fields);
    t->esc_idx = mf__xcalloc(c->ncols ? c->ncols : 1, sizeof *t->esc_idx);
    t->esc_off = mf__xcalloc(c->ncols ? c->ncols : 1, sizeof *t->esc_off);
    t->fcap = c->ncols;
    mf__buf_init(&t->scratch);
    c->end = nl + 1;
    *tail = t;
    return 1;
}

void mf__csv_close(mf__csv *c) {
    if (!c) return;
    if (c->borrowed)
        ; /* the reader it was split from owns the bytes */
    else if (c->map_len)
        munmap(c->base, c->map_len);
    else
        free(c->base);
    if (c->names)
        for (size_t i = 0; i < c->ncols; i++) free(c->names[i]);
    free(c->names);
    free(c->fields);
    free(c->esc_idx);
    free(c->esc_off);
    mf__buf_free(&c->scratch);
    free(c->limit_key);
    free(c->path);
    free(c);
}

/*---- Writing -------------------------------------------------------------*/

/* Whether s holds none of delim, '"', LF and CR: eight bytes at a time
 * (a byte of x ^ c is zero where x has c; (y - 0x01..) & ~y & 0x80.. is
 * nonzero exactly when y has a zero byte), the rest one at a time. */
static bool plain_text(const char *s, size_t len, char delim) {
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones << 7;
    const uint64_t d = ones * (unsigned char)delim, q = ones * '"', lf = ones * '\n',
                   cr = ones * '\r';
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t a = x ^ d, b = x ^ q, c = x ^ lf, e = x ^ cr;
        if ((((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) | ((e - ones) & ~e)) &
            highs)
            return false;
    }
    for (; i < len; i++) {
        char ch = s[i];
        if (ch == delim || ch == '"' || ch == '\n' || ch == '\r') return false;
    }
    return true;
}

void mf__csv_write_field(mf__buf *out, const char *s, size_t len, char delim) {
    bool quote = len > 0 && (s[0] == ' ' || s[0] == '\t' ||
                             s[len - 1] == ' ' || s[len - 1] == '\t' ||
                             (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0));
    if (!quote) quote = !plain_text(s, len, delim);
    if (!quote) {
        mf__buf_put(out, s, len);
        return;
    }
    mf__buf_reserve(out, len + 2);
    mf__buf_putc(out, '"');
    const char *p = s, *e = s + len, *q;
    while ((q = memchr(p, '"', (size_t)(e - p))) != NULL) {
        mf__buf_put(out, p, (size_t)(q + 1 - p)); /* through the quote */
        mf__buf_putc(out, '"');                   /* and its double */
        p = q + 1;
    }
    mf__buf_put(out, p, (size_t)(e - p));
    mf__buf_putc(out, '"');
}
