/*
 * util.c — memory, growable buffers, UTF-8, files and paths.
 *
 * Small helpers every module uses; each exists only here. Allocation
 * failure of the mf__x* helpers aborts (see mf_internal.h): they serve
 * small, fixed-size needs, and it keeps the real error paths readable.
 * Work whose size a caller chooses (entity rows, pushed rows, online
 * responses) allocates with the mf__try_* helpers instead, whose failure
 * (no memory, or a size that overflows) the caller returns as MF_ENOMEM.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mf_internal.h"

/*---- Memory ---------------------------------------------------------------*/

static void oom(void) {
    fputs("moonfeast: out of memory\n", stderr);
    abort();
}

/* Large blocks (columns and records of millions of rows) are backed by
 * transparent huge pages: a block of at least HUGE_MIN bytes is allocated
 * aligned to a huge page, rounded up to whole huge pages and marked
 * MADV_HUGEPAGE, so that each 2 MiB of it is one page fault instead of 512.
 * Such a block grows by a new aligned block and a copy (realloc would move
 * it to an address that is not aligned); it is freed with free(). Where THP
 * is off (/sys/kernel/mm/transparent_hugepage/enabled "never") the advice
 * changes nothing and the blocks are on small pages.
 *
 * Measured on two virtual machines of the same kind (docs/benchmarks.md):
 * on one, a page fault costs ~12 us (a 256 MiB block touched page by page:
 * 0.78 s) and huge pages took the 1M x 10M point-in-time join from
 * 1.85-1.94 s to 1.28-1.84 s, right after a DuckDB run freed 900 MiB and
 * after 30 s pauses alike (faults 62,900 -> 14,600); the 1M x 1M join 1.11
 * -> 0.60 s. On the other (2026-12-02, d7b7a1a then ad932ae), back to back
 * runs gained the same way, but the first run after a pause lost (0.93-0.95
 * s against 0.77 s), that machine having taken the freed memory back so
 * that each first touch of a huge page meant compaction and zeroing 2 MiB.
 * Prefaulting small pages with MADV_POPULATE_WRITE instead was slower than
 * both on the first machine (1.99-2.14 s). */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)4 << 20)

static void *huge_alloc(size_t n) {
    if (n > SIZE_MAX - HUGE_PAGE) return NULL;
    size_t r = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, r) != 0) return NULL;
    madvise(p, r, MADV_HUGEPAGE);
    return p;
}

/* realloc(p, n) for a block that may be or become large. */
static void *big_realloc(void *p, size_t n) {
    if (n < HUGE_MIN) return realloc(p, n ? n : 1);
    size_t have = p ? malloc_usable_size(p) : 0;
    if (have >= n && ((uintptr_t)p & (HUGE_PAGE - 1)) == 0) return p;
    void *q = huge_alloc(n);
    if (!q) return NULL;
    if (p) {
        memcpy(q, p, have < n ? have : n);
        free(p);
    }
    return q;
}

/* calloc(n, size); a large block is cleared by hand (posix_memalign's
 * memory may be reused). */
static void *big_calloc(size_t n, size_t size) {
    size_t bytes;
    if (!mf__size_mul(n, size, &bytes)) return NULL;
    if (bytes < HUGE_MIN) return calloc(n ? n : 1, size ? size : 1);
    void *p = huge_alloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void *mf__xmalloc(size_t n) {
    void *p = n >= HUGE_MIN ? huge_alloc(n) : malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

void *mf__xcalloc(size_t n, size_t size) {
    void *p = big_calloc(n, size);
    if (!p) oom();
    return p;
}

void *mf__xrealloc(void *p, size_t n) {
    p = big_realloc(p, n);
    if (!p) oom();
    return p;
}

void *mf__try_malloc(size_t n) { return n >= HUGE_MIN ? huge_alloc(n) : malloc(n ? n : 1); }

void *mf__try_calloc(size_t n, size_t size) { return big_calloc(n, size); }

void *mf__try_realloc_array(void *p, size_t n, size_t size) {
    size_t bytes;
    if (!mf__size_mul(n, size, &bytes)) return NULL;
    return big_realloc(p, bytes);
}

char *mf__xstrdup(const char *s) { return mf__xstrndup(s, strlen(s)); }

char *mf__xstrndup(const char *s, size_t n) {
    char *p = mf__xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *mf__xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = mf__xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/*---- Buffers ---------------------------------------------------------------*/

void mf__buf_init(mf__buf *b) { b->data = NULL, b->len = 0, b->cap = 0; }

void mf__buf_free(mf__buf *b) {
    free(b->data);
    mf__buf_init(b);
}

/* The capacity for len + extra + 1 bytes: doubling from cap (64 at
 * first), or exactly what is needed once doubling would overflow. 0 when
 * the need itself overflows. */
static size_t buf_cap_for(const mf__buf *b, size_t extra) {
    size_t need;
    if (!mf__size_add(b->len, extra, &need) || !mf__size_add(need, 1, &need)) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    return cap;
}

void mf__buf_grow(mf__buf *b, size_t extra) {
    size_t cap = buf_cap_for(b, extra);
    if (!cap) oom();
    if (cap <= b->cap) return;
    b->data = mf__xrealloc(b->data, cap);
    b->cap = cap;
}

int mf__buf_try_reserve(mf__buf *b, size_t extra) {
    size_t cap = buf_cap_for(b, extra);
    if (!cap) return -1;
    if (cap <= b->cap) return 0;
    char *p = mf__try_realloc_array(b->data, cap, 1);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

void mf__buf_puts(mf__buf *b, const char *s) { mf__buf_put(b, s, strlen(s)); }


void mf__test_pause(const char *point) {
    const char *spec = getenv("MF_TEST_PAUSE");
    if (!spec || !*spec) return;
    size_t plen = strlen(point);
    for (const char *p = spec; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > plen + 1 && !strncmp(p, point, plen) && p[plen] == '=') {
            long ms = strtol(p + plen + 1, NULL, 10);
            if (ms > 0) {
                struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
                while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
            }
            return;
        }
        p += n + (end ? 1 : 0);
    }
}

void mf__buf_base64(mf__buf *b, const void *data, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    mf__buf_reserve(b, (n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        mf__buf_put(b, q, 4);
    }
}

void mf__buf_printf(mf__buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    mf__buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *mf__buf_steal(mf__buf *b) {
    if (!b->data) mf__buf_reserve(b, 0), b->data[0] = '\0';
    char *p = b->data;
    mf__buf_init(b);
    return p;
}

/*---- UTF-8 ------------------------------------------------------------------*/

/* Length (2 to 4) of the well-formed UTF-8 sequence at p[0..n) whose lead
 * byte p[0] is 0x80 or above, or 0 when there is none: RFC 3629, so no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c < 0xc2) return 0; /* a continuation byte, or an overlong 2-byte lead */
    if (c < 0xe0) return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c < 0xf0) {
        if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)) return 0;
        return 3;
    }
    if (c < 0xf5) {
        if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)) return 0;
        return 4;
    }
    return 0;
}

size_t mf__utf8_check(const char *s, size_t n, bool allow_nul) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII without NUL, 8 bytes at a time */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            uint64_t high = w & UINT64_C(0x8080808080808080);
            uint64_t zero = (w - UINT64_C(0x0101010101010101)) & ~w & UINT64_C(0x8080808080808080);
            if (high || (zero && !allow_nul)) break;
            i += 8;
        }
        if (i == n) break;
        unsigned char c = p[i];
        if (c == 0 && !allow_nul) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (!k) return i;
        i += k;
    }
    return n;
}

/* JSON strings are UTF-8: every byte of s that is not part of well-formed
 * UTF-8 is written as U+FFFD (the replacement character), so the output is
 * valid JSON whatever the bytes (values are checked where they enter; this
 * is the last line of defence, for pass-through text and names).
 * Characters below U+0020 (NUL too), '"' and '\\' are escaped. */
void mf__buf_json_str(mf__buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    mf__buf_reserve(b, n + 2);
    mf__buf_putc(b, '"');
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            if (c < 0x80) {
                i++;
                continue;
            }
            size_t k = utf8_seq(p + i, n - i);
            if (k) {
                i += k;
                continue;
            }
        }
        mf__buf_put(b, s + start, i - start);
        switch (c) {
        case '"': mf__buf_puts(b, "\\\""); break;
        case '\\': mf__buf_puts(b, "\\\\"); break;
        case '\n': mf__buf_puts(b, "\\n"); break;
        case '\r': mf__buf_puts(b, "\\r"); break;
        case '\t': mf__buf_puts(b, "\\t"); break;
        default:
            if (c >= 0x80) {
                mf__buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
            } else {
                char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                mf__buf_puts(b, u);
            }
        }
        start = ++i;
    }
    mf__buf_put(b, s + start, n - start);
    mf__buf_putc(b, '"');
}

/*---- Files and paths -------------------------------------------------------*/

/* Refuse what is neither a regular file nor a pipe; name what it is. */
static const char *not_input_kind(mode_t m) {
    if (S_ISREG(m) || S_ISFIFO(m)) return NULL;
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a file";
}

int mf__open_input(const char *path, int *fd_out, bool *is_file, size_t *size,
                   mf_error *err) {
    *fd_out = -1;
    /* O_NONBLOCK: opening a FIFO does not wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return mf__err_at(err, MF_EIO, path, 0, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    const char *bad = NULL;
    int e = 0;
    if (fstat(fd, &st) != 0) e = errno;
    else bad = not_input_kind(st.st_mode);
    /* reads may wait again: for a FIFO, only while a writer has it open */
    if (!e && !bad && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) e = errno;
    if (e || bad) {
        close(fd);
        if (e)
            return mf__err_at(err, MF_EIO, path, 0, "cannot read %s: %s", path, strerror(e));
        return mf__err_at(err, MF_EIO, path, 0,
                          "cannot read %s: it is %s (a file or a pipe is needed)", path, bad);
    }
    *fd_out = fd;
    *is_file = S_ISREG(st.st_mode);
    *size = *is_file ? (size_t)st.st_size : 0;
    return MF_OK;
}

int mf__read_input(const char *path, size_t max, char **out, size_t *len, mf_error *err) {
    int fd;
    bool is_file;
    size_t size;
    int rc = mf__open_input(path, &fd, &is_file, &size, err);
    if (rc) return rc;
    mf__buf b;
    mf__buf_init(&b);
    for (;;) {
        mf__buf_reserve(&b, 65536);
        size_t want = b.cap - b.len - 1;
        size_t room = max - b.len; /* b.len <= max here */
        if (room < SIZE_MAX) room++; /* one byte past max tells */
        if (want > room) want = room;
        ssize_t n = read(fd, b.data + b.len, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            mf__buf_free(&b);
            return mf__err_at(err, MF_EIO, path, 0, "cannot read %s: %s", path, strerror(e));
        }
        if (n == 0) break;
        b.len += (size_t)n;
        b.data[b.len] = '\0';
        if (b.len > max) {
            close(fd);
            mf__buf_free(&b);
            return mf__err_at(err, MF_EDATA, path, 0, "%s is longer than %zu bytes", path, max);
        }
    }
    close(fd);
    if (len) *len = b.len;
    *out = mf__buf_steal(&b);
    return MF_OK;
}

char *mf__path_join(const char *dir, const char *rel) {
    if (rel[0] == '/' || !dir || !dir[0]) return mf__xstrdup(rel);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    while (rel[0] == '.' && rel[1] == '/') rel += 2;
    return mf__xasprintf("%.*s/%s", (int)dl, dir, rel);
}

int mf__mkdirs(const char *path, bool dir_of_path, mf_error *err) {
    char *p = mf__xstrdup(path);
    if (dir_of_path) {
        char *slash = strrchr(p, '/');
        if (!slash) {
            free(p);
            return MF_OK;
        }
        *slash = '\0';
    }
    for (char *q = p + 1; ; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (p[0] && mkdir(p, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                mf__err(err, MF_EIO, "cannot create directory %s: %s", p, strerror(e));
                free(p);
                return MF_EIO;
            }
            *q = c;
            if (!c) break;
        }
    }
    free(p);
    return MF_OK;
}

bool mf__valid_name(const char *s) {
    if (!s || !*s) return false;
    if (!(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

char *mf__temp_beside(const char *path) {
    static unsigned long temps;
    return mf__xasprintf("%s.tmp-%ld-%lu", path, (long)getpid(),
                         __atomic_add_fetch(&temps, 1, __ATOMIC_RELAXED));
}

bool mf__path_is_special(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

int64_t mf__mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mf__mono_coarse_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mf__now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
