/*
 * test_csv.c — unit tests of csv.c: the RFC 4180 reader (quoting, line
 * ends, BOM, delimiters, line numbers, every error) and the field writer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mf_csv.h"
#include "mf_internal.h"
#include "mft.h"

/*---- Helpers -------------------------------------------------------------*/

static char tmp_path[64];

/* Write `len` bytes to a fresh temporary file; returns its path (static
 * buffer, overwritten by the next call; the previous file is removed). */
static const char *write_tmp_n(const char *data, size_t len) {
    if (tmp_path[0]) unlink(tmp_path);
    snprintf(tmp_path, sizeof tmp_path, "/tmp/mf_test_csv_XXXXXX");
    int fd = mkstemp(tmp_path);
    if (fd < 0) abort();
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n <= 0) abort();
        off += (size_t)n;
    }
    close(fd);
    return tmp_path;
}
static const char *write_tmp(const char *data) { return write_tmp_n(data, strlen(data)); }

static bool slice_is(mf__slice s, const char *want) {
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* Read a whole file into a flat text: fields joined by '|', records by
 * '\n', prefixed by the record's line number: "2:a|b\n4:c|d\n". */
static int dump(const char *path, char delim, mf__buf *out, mf_error *err) {
    mf__csv *c;
    int rc = mf__csv_open(path, delim, &c, err);
    if (rc != MF_OK) return rc;
    const mf__slice *f;
    while ((rc = mf__csv_next(c, &f, err)) == 1) {
        mf__buf_printf(out, "%ld:", mf__csv_line(c));
        for (size_t i = 0; i < mf__csv_ncols(c); i++) {
            if (i) mf__buf_putc(out, '|');
            mf__buf_put(out, f[i].ptr, f[i].len);
        }
        mf__buf_putc(out, '\n');
    }
    mf__csv_close(c);
    return rc;
}

/* dump() of `text` must succeed and give `want`. */
#define CHECK_READS(text, delim, want)                                        \
    do {                                                                      \
        mf__buf b_;                                                           \
        mf_error e_;                                                          \
        mf__buf_init(&b_);                                                    \
        int rc_ = dump(write_tmp(text), delim, &b_, &e_);                     \
        if (rc_ != 0) printf("#   error: %s line %d: %s\n", e_.file, e_.line, e_.message); \
        CHECK(rc_ == 0);                                                      \
        mf__buf_putc(&b_, '\0');                                              \
        char *got_ = mf__buf_steal(&b_);                                      \
        int same_ = strcmp(got_, want) == 0;                                  \
        if (!same_) printf("#   got:\n%s#   want:\n%s", got_, want);          \
        free(got_);                                                           \
        CHECK(same_);                                                         \
    } while (0)

/* Reading `text` must fail with `want_code` at `line`, message containing
 * `needle`, err->file the path. */
#define CHECK_FAILS(text, want_code, line_no, needle)                         \
    CHECK_FAILS_N(text, strlen(text), want_code, line_no, needle)
/* The same for `len` bytes of text (which may hold NUL bytes). */
#define CHECK_FAILS_N(text, len, want_code, line_no, needle)                  \
    do {                                                                      \
        mf__buf b_;                                                           \
        mf_error e_;                                                          \
        mf__buf_init(&b_);                                                    \
        const char *path_ = write_tmp_n(text, len);                           \
        int rc_ = dump(path_, ',', &b_, &e_);                                 \
        mf__buf_free(&b_);                                                    \
        CHECK(rc_ == (want_code));                                            \
        CHECK(e_.code == (want_code));                                        \
        CHECK_STR(e_.file, path_);                                            \
        if (e_.line != (line_no)) printf("#   line %d: %s\n", e_.line, e_.message); \
        CHECK(e_.line == (line_no));                                          \
        CHECK_HAS(e_.message, needle);                                        \
    } while (0)

/*---- Reading -------------------------------------------------------------*/

static void test_basic(void) {
    mf__csv *c;
    mf_error err;
    const char *path = write_tmp("id,name,score\n1,ann,0.5\n2,bob,0.25\n");
    CHECK(mf__csv_open(path, ',', &c, &err) == MF_OK);
    CHECK(mf__csv_ncols(c) == 3);
    CHECK_STR(mf__csv_colname(c, 0), "id");
    CHECK_STR(mf__csv_colname(c, 2), "score");
    CHECK(mf__csv_colname(c, 3) == NULL);
    CHECK(mf__csv_find(c, "name") == 1);
    CHECK(mf__csv_find(c, "nope") == -1);
    CHECK(mf__csv_find(c, "") == -1);
    CHECK_STR(mf__csv_path(c), path);
    CHECK(mf__csv_line(c) == 1);
    const mf__slice *f;
    CHECK(mf__csv_next(c, &f, &err) == 1);
    CHECK(mf__csv_line(c) == 2);
    CHECK(slice_is(f[0], "1") && slice_is(f[1], "ann") && slice_is(f[2], "0.5"));
    CHECK(mf__csv_next(c, &f, &err) == 1);
    CHECK(mf__csv_line(c) == 3);
    CHECK(slice_is(f[0], "2") && slice_is(f[1], "bob") && slice_is(f[2], "0.25"));
    CHECK(mf__csv_next(c, &f, &err) == 0);
    CHECK(mf__csv_next(c, &f, &err) == 0); /* stays at the end */
    mf__csv_close(c);
    mf__csv_close(NULL);
}

static void test_header_only(void) {
    CHECK_READS("a,b\n", ',', "");
    CHECK_READS("a,b", ',', "");
    mf__csv *c;
    mf_error err;
    CHECK(mf__csv_open(write_tmp("\n\r\nx\n"), ',', &c, &err) == MF_OK);
    CHECK(mf__csv_ncols(c) == 1);
    CHECK_STR(mf__csv_colname(c, 0), "x");
    CHECK(mf__csv_line(c) == 3);
    mf__csv_close(c);
}

static void test_quotes(void) {
    CHECK_READS("a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"\"\n", ',',
                "2:x,y|say \"hi\"|\n");
    CHECK_READS("a,b\n\"\"\"\",\"\"\"\"\"\"\n", ',', "2:\"|\"\"\n");
    CHECK_READS("a,b\n\"plain\",x\n", ',', "2:plain|x\n");
    CHECK_READS("a,b\n\"\",\"\"\n", ',', "2:|\n");
    CHECK_READS("\"col,1\",\"col \"\"2\"\"\"\n1,2\n", ',', "2:1|2\n");
    mf__csv *c;
    mf_error err;
    CHECK(mf__csv_open(write_tmp("\"col,1\",\"col \"\"2\"\"\"\n"), ',', &c, &err) == MF_OK);
    CHECK_STR(mf__csv_colname(c, 0), "col,1");
    CHECK_STR(mf__csv_colname(c, 1), "col \"2\"");
    CHECK(mf__csv_find(c, "col \"2\"") == 1);
    mf__csv_close(c);
}

static void test_embedded_newlines(void) {
    CHECK_READS("a,b\n"
                "1,\"two\nlines\"\n"
                "2,\"three\n\nlines\"\n"
                "3,x\n"
                "\"4\r\n\",\"q\"\"\n\"\"\"\n"
                "5,y\n",
                ',',
                "2:1|two\nlines\n"
                "4:2|three\n\nlines\n"
                "7:3|x\n"
                "8:4\r\n|q\"\n\"\n"
                "11:5|y\n");
}

static void test_crlf(void) {
    CHECK_READS("a,b\r\n1,2\r\n\"3\",\"x\r\ny\"\r\n4,\r\n", ',',
                "2:1|2\n3:3|x\r\ny\n5:4|\n");
    CHECK_READS("a,b\r\n1,2", ',', "2:1|2\n");
    CHECK_READS("a,b\r\n1,2\r\n\r\n\r\n", ',', "2:1|2\n");
    CHECK_READS("a,b\n1,2\r\n3,4\n", ',', "2:1|2\n3:3|4\n"); /* mixed */
}

static void test_bom(void) {
    mf__csv *c;
    mf_error err;
    CHECK(mf__csv_open(write_tmp("\xEF\xBB\xBFid,v\n1,2\n"), ',', &c, &err) == MF_OK);
    CHECK_STR(mf__csv_colname(c, 0), "id");
    CHECK(mf__csv_find(c, "id") == 0);
    mf__csv_close(c);
    CHECK_READS("\xEF\xBB\xBF\"id\",v\n1,2\n", ',', "2:1|2\n");
    /* Only at the very start. */
    CHECK_READS("id,v\n\xEF\xBB\xBF" "1,2\n", ',', "2:\xEF\xBB\xBF" "1|2\n");
    CHECK_FAILS("\xEF\xBB\xBF", MF_EDATA, 1, "no header row");
}

static void test_delimiters(void) {
    CHECK_READS("a;b;c\n1,5;x;\"p;q\"\n", ';', "2:1,5|x|p;q\n");
    CHECK_READS("a\tb\n1\t\"x\ty\"\n\t\n", '\t', "2:1|x\ty\n3:|\n");
    CHECK_READS("a|b\n1|2\n", '|', "2:1|2\n");
    CHECK_READS("a,b\n1|2,3\n", ',', "2:1|2|3\n");
    mf__csv *c;
    mf_error err;
    const char *path = write_tmp("a,b\n");
    CHECK(mf__csv_open(path, '"', &c, &err) == MF_EUSAGE);
    CHECK(c == NULL);
    CHECK_HAS(err.message, "delimiter");
    CHECK(mf__csv_open(path, '\n', &c, &err) == MF_EUSAGE);
    CHECK(mf__csv_open(path, '\r', &c, &err) == MF_EUSAGE);
    CHECK(mf__csv_open(path, '\0', &c, &err) == MF_EUSAGE);
    /* With ';' a line "a,b" is one column. */
    CHECK(mf__csv_open(path, ';', &c, &err) == MF_OK);
    CHECK(mf__csv_ncols(c) == 1);
    CHECK_STR(mf__csv_colname(c, 0), "a,b");
    mf__csv_close(c);
}

static void test_empty_cells(void) {
    CHECK_READS("a,b,c\n1,,3\n,,\n,2,\n1,2,\n", ',',
                "2:1||3\n3:||\n4:|2|\n5:1|2|\n");
    CHECK_READS("a,b,c\n\"\",,\"\"\n", ',', "2:||\n");
    /* Spaces are data, not trimmed. */
    CHECK_READS("a,b\n 1 , x\n", ',', "2: 1 | x\n");
}

static void test_final_line(void) {
    CHECK_READS("a,b\n1,2\n3,4", ',', "2:1|2\n3:3|4\n");
    CHECK_READS("a,b\n1,2\n3,\"4\"", ',', "2:1|2\n3:3|4\n");
    CHECK_READS("a,b\n1,2\n3,\"x\"\"\"", ',', "2:1|2\n3:3|x\"\n");
    CHECK_READS("a,b\n1,2\n3,", ',', "2:1|2\n3:3|\n");
    CHECK_READS("a,b\n1,2\n\n\n\n", ',', "2:1|2\n");
    CHECK_READS("a,b\n1,2\n3,\"x\ny\"", ',', "2:1|2\n3:3|x\ny\n");
}

static void test_blank_lines(void) {
    CHECK_READS("\n\na,b\n\n1,2\n\r\n\n3,4\n\n", ',', "5:1|2\n8:3|4\n");
    /* A one-column file: an empty value is written "" and is kept. */
    CHECK_READS("v\n1\n\"\"\n3\n", ',', "2:1\n3:\n4:3\n");
}

/* Exactly a page of data, without and with a final newline (the added
 * '\n' then lives in the reserved page after the file). */
static void test_page_sized_file(void) {
    long page = sysconf(_SC_PAGESIZE);
    for (int variant = 0; variant < 3; variant++) {
        size_t size = (size_t)page - (variant == 2);
        char *data = malloc(size);
        memset(data, 'x', size);
        memcpy(data, "h\n", 2);
        if (variant == 1) data[size - 1] = '\n';
        mf__csv *c;
        mf_error err;
        CHECK(mf__csv_open(write_tmp_n(data, size), ',', &c, &err) == MF_OK);
        free(data);
        const mf__slice *f;
        CHECK(mf__csv_next(c, &f, &err) == 1);
        CHECK(f[0].len == size - 2 - (variant == 1));
        CHECK(f[0].ptr[0] == 'x' && f[0].ptr[f[0].len - 1] == 'x');
        CHECK(mf__csv_next(c, &f, &err) == 0);
        mf__csv_close(c);
    }
}

/* Many quoted fields with doubled quotes in one record: the scratch buffer
 * grows (and moves) while the record is read. */
static void test_many_escaped_fields(void) {
    enum { NCOL = 60 };
    mf__buf text;
    mf__buf_init(&text);
    for (int i = 0; i < NCOL; i++) mf__buf_printf(&text, "%sc%d", i ? "," : "", i);
    mf__buf_putc(&text, '\n');
    for (int row = 0; row < 3; row++) {
        for (int i = 0; i < NCOL; i++) {
            if (i) mf__buf_putc(&text, ',');
            mf__buf_putc(&text, '"');
            for (int k = 0; k < 20 + i * 7 + row; k++)
                mf__buf_puts(&text, k % 5 == 0 ? "\"\"" : "z");
            mf__buf_putc(&text, '"');
        }
        mf__buf_puts(&text, "\r\n");
    }
    mf__csv *c;
    mf_error err;
    CHECK(mf__csv_open(write_tmp_n(text.data, text.len), ',', &c, &err) == MF_OK);
    mf__buf_free(&text);
    const mf__slice *f;
    for (int row = 0; row < 3; row++) {
        CHECK(mf__csv_next(c, &f, &err) == 1);
        CHECK(mf__csv_line(c) == 2 + row);
        for (int i = 0; i < NCOL; i++) {
            int n = 20 + i * 7 + row;
            CHECK(f[i].len == (size_t)n);
            for (int k = 0; k < n; k++) CHECK(f[i].ptr[k] == (k % 5 == 0 ? '"' : 'z'));
        }
    }
    CHECK(mf__csv_next(c, &f, &err) == 0);
    mf__csv_close(c);
}

/* A pipe is read whole instead of mapped. */
static void test_pipe(void) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    const char *text = "a,b\n1,\"x\"\"y\"\n2,3";
    CHECK(write(fds[1], text, strlen(text)) == (ssize_t)strlen(text));
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    mf__buf b;
    mf_error err;
    mf__buf_init(&b);
    int rc = dump(path, ',', &b, &err);
    close(fds[0]);
    mf__buf_putc(&b, '\0');
    CHECK(rc == 0);
    CHECK_STR(b.data, "2:1|x\"y\n3:2|3\n");
    mf__buf_free(&b);
}

/* Tens of megabytes: crosses the page-release window several times. */
static void test_large_file(void) {
    enum { ROWS = 1500000 };
    mf__buf text;
    mf__buf_init(&text);
    mf__buf_puts(&text, "id,double,label\n");
    for (long i = 0; i < ROWS; i++)
        mf__buf_printf(&text, i % 1000 == 0 ? "%ld,%ld,\"l\"\"%ld\"\n" : "%ld,%ld,label-%ld\n",
                       i, 2 * i, i);
    mf__csv *c;
    mf_error err;
    CHECK(mf__csv_open(write_tmp_n(text.data, text.len), ',', &c, &err) == MF_OK);
    mf__buf_free(&text);
    const mf__slice *f;
    long i = 0;
    char want[64];
    int rc;
    while ((rc = mf__csv_next(c, &f, &err)) == 1) {
        snprintf(want, sizeof want, "%ld", i);
        if (!slice_is(f[0], want)) break;
        snprintf(want, sizeof want, "%ld", 2 * i);
        if (!slice_is(f[1], want)) break;
        snprintf(want, sizeof want, i % 1000 == 0 ? "l\"%ld" : "label-%ld", i);
        if (!slice_is(f[2], want)) break;
        if (mf__csv_line(c) != i + 2) break;
        i++;
    }
    CHECK(rc == 0);
    CHECK(i == ROWS);
    mf__csv_close(c);
}

/*---- Errors --------------------------------------------------------------*/

static void test_error_field_count(void) {
    CHECK_FAILS("a,b,c\n1,2,3\n4,5\n", MF_EDATA, 3, "expected 3 fields, found 2");
    CHECK_FAILS("a,b,c\n1,2,3,4\n", MF_EDATA, 2, "expected 3 fields, found 4");
    CHECK_FAILS("a,b\n\"x\ny\",1\n2\n", MF_EDATA, 4, "expected 2 fields, found 1");
    CHECK_FAILS("a,b\r\n1,2\r\n\r\n3\r\n", MF_EDATA, 4, "found 1");
    /* The reader goes on after a bad count. */
    mf__csv *c;
    mf_error err;
    CHECK(mf__csv_open(write_tmp("a,b\n1\n2,3\n"), ',', &c, &err) == MF_OK);
    const mf__slice *f;
    CHECK(mf__csv_next(c, &f, &err) == MF_EDATA);
    CHECK(err.line == 2);
    CHECK(mf__csv_next(c, &f, &err) == 1);
    CHECK(slice_is(f[0], "2") && slice_is(f[1], "3"));
    CHECK(mf__csv_line(c) == 3);
    CHECK(mf__csv_next(c, &f, &err) == 0);
    mf__csv_close(c);
}

static void test_error_quotes(void) {
    CHECK_FAILS("a,b\n1,\"abc\n2,3\n", MF_EDATA, 2, "unterminated quoted field");
    CHECK_FAILS("a,b\n1,\"ab\"\"c", MF_EDATA, 2, "unterminated quoted field in field 2 (b)");
    CHECK_FAILS("a,b\n\"x\ny\",\"open\n", MF_EDATA, 3, "unterminated");
    CHECK_FAILS("a,b\n1,ab\"c\n", MF_EDATA, 2, "quote inside an unquoted field in field 2 (b)");
    CHECK_FAILS("a,b\n\"x\n\",ab\"c\n", MF_EDATA, 3, "quote inside an unquoted field");
    CHECK_FAILS("a,b\n1,2\n x\"\",2\n", MF_EDATA, 3, "quote inside an unquoted field in field 1 (a)");
    CHECK_FAILS("a,b\n\"x\"y,2\n", MF_EDATA, 2, "text after the closing quote in field 1 (a)");
    CHECK_FAILS("a,b\n\"x\" ,2\n", MF_EDATA, 2, "text after the closing quote");
    CHECK_FAILS("a,b\n1,2\n3,4\r5\n", MF_EDATA, 3, "carriage return without a line feed in field 2 (b)");
    CHECK_FAILS("a,b\n1,\"2\"\r3\n", MF_EDATA, 2, "carriage return without a line feed");
    CHECK_FAILS("a,b\n1,2,\"x\"y\n", MF_EDATA, 2, "text after the closing quote in field 3");
}

static void test_error_sticky(void) {
    mf__csv *c;
    mf_error err;
    CHECK(mf__csv_open(write_tmp("a,b\n1,x\"y\n2,3\n"), ',', &c, &err) == MF_OK);
    const mf__slice *f;
    CHECK(mf__csv_next(c, &f, &err) == MF_EDATA);
    CHECK(mf__csv_next(c, &f, &err) == MF_EDATA);
    CHECK_HAS(err.message, "earlier error");
    CHECK(err.line == 2);
    mf__csv_close(c);
}

static void test_error_header(void) {
    CHECK_FAILS("a,\"b\n", MF_EDATA, 1, "header: unterminated quoted field in field 2");
    CHECK_FAILS("\n\na,b\"c\n", MF_EDATA, 3, "header: quote inside an unquoted field");
}

static void test_error_open(void) {
    mf__csv *c = (mf__csv *)1;
    mf_error err;
    const char *path = write_tmp("");
    CHECK(mf__csv_open(path, ',', &c, &err) == MF_EDATA);
    CHECK(c == NULL);
    CHECK_STR(err.file, path);
    CHECK_HAS(err.message, path);
    CHECK_HAS(err.message, "empty");
    path = write_tmp("\n\r\n\n");
    CHECK(mf__csv_open(path, ',', &c, &err) == MF_EDATA);
    CHECK_HAS(err.message, path);
    CHECK_HAS(err.message, "no header row");
    CHECK(mf__csv_open("/nonexistent/dir/x.csv", ',', &c, &err) == MF_EIO);
    CHECK(err.code == MF_EIO);
    CHECK_HAS(err.message, "/nonexistent/dir/x.csv");
    CHECK_HAS(err.message, strerror(ENOENT));
    CHECK_STR(err.file, "/nonexistent/dir/x.csv");
    CHECK(mf__csv_open("/tmp", ',', &c, &err) == MF_EIO); /* a directory */
    CHECK_HAS(err.message, "/tmp");
    CHECK(mf__csv_open(path, ',', &c, NULL) == MF_EDATA); /* err optional */
}

/* A NUL byte anywhere in the file is an error naming its line: it would
 * otherwise reach CSV output as a raw byte. */
static void test_error_nul(void) {
    static const char unquoted[] = "a,b\n1,x\0y\n";
    CHECK_FAILS_N(unquoted, sizeof unquoted - 1, MF_EDATA, 2, "NUL byte in field 2 (b)");
    static const char quoted[] = "a,b\n1,2\n\"p\nq\0\",3\n";
    CHECK_FAILS_N(quoted, sizeof quoted - 1, MF_EDATA, 4, "NUL byte in field 1 (a)");
    static const char doubled[] = "a,b\n1,\"x\"\"\0\"\n";
    CHECK_FAILS_N(doubled, sizeof doubled - 1, MF_EDATA, 2, "NUL byte in field 2 (b)");
    static const char header[] = "a\0,b\n1,2\n";
    CHECK_FAILS_N(header, sizeof header - 1, MF_EDATA, 1, "header: NUL byte in field 1");
    static const char last[] = "a,b\n1,2\n\0";
    CHECK_FAILS_N(last, sizeof last - 1, MF_EDATA, 3, "NUL byte in field 1 (a)");
    static const char one_col[] = "a\n\0\0\0\n";
    CHECK_FAILS_N(one_col, sizeof one_col - 1, MF_EDATA, 2, "NUL byte");
}

/* Read a file that holds a header line "h" and a line of `n` bytes 'x'
 * with the default limit; returns the result of the first mf__csv_next. */
static int read_long_line(size_t n, mf_error *err) {
    char *data = malloc(n + 3);
    memcpy(data, "h\n", 2);
    memset(data + 2, 'x', n);
    data[n + 2] = '\n';
    const char *path = write_tmp_n(data, n + 3);
    free(data);
    mf__csv *c;
    int rc = mf__csv_open(path, ',', &c, err);
    if (rc) return rc;
    const mf__slice *f;
    rc = mf__csv_next(c, &f, err);
    if (rc == 1 && f[0].len != n) rc = -100;
    mf__csv_close(c);
    return rc;
}

/* The default limit: a record of 64 MiB is read, one byte more is an error
 * naming the file and line. */
static void test_line_limit_default(void) {
    mf_error err;
    CHECK(read_long_line(MF__CSV_MAX_LINE, &err) == 1);
    CHECK(read_long_line(MF__CSV_MAX_LINE + 1, &err) == MF_EDATA);
    CHECK_STR(err.file, tmp_path);
    CHECK(err.line == 2);
    CHECK_HAS(err.message, "record longer than 67108864 bytes");
}

/* Open `len` bytes of text with a limit of `max` bytes per record and read
 * it to the end or to the first error; returns that result. */
static int read_limited(const char *text, size_t len, size_t max, const char *key,
                        mf_error *err) {
    mf__csv_opts o = {.delim = ',', .max_line = max, .limit_key = key};
    mf__csv *c;
    int rc = mf__csv_open_opts(write_tmp_n(text, len), &o, &c, err);
    if (rc) return rc;
    const mf__slice *f;
    while ((rc = mf__csv_next(c, &f, err)) == 1) {}
    mf__csv_close(c);
    return rc;
}
#define LIMITED(text, max) read_limited(text, strlen(text), max, NULL, &err)

static void test_line_limit(void) {
    mf_error err;
    /* 8 bytes: the line break is not counted */
    CHECK(LIMITED("a,b\n1234,678\n12,45678\r\n\"1\",\"\"\"\"\n", 8) == 0);
    CHECK(LIMITED("a,b\n1234,678\n123,56789\n", 8) == MF_EDATA);
    CHECK(err.line == 3);
    CHECK_HAS(err.message, "record longer than 8 bytes in field 2 (b)");
    CHECK(LIMITED("a,b\n1234,6789\n", 8) == MF_EDATA);
    CHECK(err.line == 2);
    CHECK(LIMITED("a,b\n12345678,\n", 8) == MF_EDATA); /* the delimiter counts */
    CHECK(LIMITED("a,b\n1234567,\n", 8) == 0);
    /* quoted fields, closing quote, doubled quotes, line breaks inside */
    CHECK(LIMITED("a,b\n1,\"3456\"\n", 8) == 0);
    CHECK(LIMITED("a,b\n1,\"34567\"\n", 8) == MF_EDATA);
    CHECK(err.line == 2);
    CHECK(LIMITED("a,b\n1,\"3\"\"6\"\n", 8) == 0);
    CHECK(LIMITED("a,b\n1,\"3\"\"67\"\n", 8) == MF_EDATA);
    CHECK(LIMITED("a,b\n1,\"34\"\"\"\n", 8) == 0);
    CHECK(LIMITED("a,b\n1,\"34\"\"\"\"\"\n", 8) == MF_EDATA);
    CHECK(LIMITED("a,b\n1,2\n1,\"3\n\n\n\n\n\n\n\"\n", 8) == MF_EDATA);
    CHECK(err.line == 3); /* where the record starts */
    CHECK_HAS(err.message, "record longer than 8 bytes in field 2 (b)");
    /* an unterminated quote past the limit is reported as too long */
    CHECK(LIMITED("a,b\n1,\"345678901234\n", 8) == MF_EDATA);
    CHECK_HAS(err.message, "record longer than 8 bytes");
    CHECK(LIMITED("a,b\n1,\"3456\n", 8) == MF_EDATA);
    CHECK_HAS(err.message, "unterminated quoted field");
    /* the header too; a BOM is not counted */
    CHECK(LIMITED("abcd,fghi\n", 8) == MF_EDATA);
    CHECK(err.line == 1);
    CHECK_HAS(err.message, "header: record longer than 8 bytes");
    CHECK(LIMITED("\xEF\xBB\xBF" "abc,efgh\n", 8) == 0);
    /* the error is sticky and names the setting when told */
    static const char text[] = "a\n123456789\n1\n";
    CHECK(read_limited(text, sizeof text - 1, 8, "offline_store.max_line_bytes", &err) ==
          MF_EDATA);
    CHECK_HAS(err.message, "record longer than 8 bytes (offline_store.max_line_bytes)");
    CHECK_STR(err.file, tmp_path);
    CHECK(err.line == 2);
}

/* Not files: a device is refused, a FIFO without a writer is empty rather
 * than a wait for ever, a directory is named as such. */
static void test_not_a_file(void) {
    mf__csv *c = (mf__csv *)1;
    mf_error err;
    CHECK(mf__csv_open("/dev/zero", ',', &c, &err) == MF_EIO);
    CHECK(c == NULL);
    CHECK_STR(err.file, "/dev/zero");
    CHECK_HAS(err.message, "/dev/zero");
    CHECK_HAS(err.message, "character device");
    CHECK(mf__csv_open("/tmp", ',', &c, &err) == MF_EIO);
    CHECK_HAS(err.message, "/tmp");
    CHECK_HAS(err.message, "directory");
    char fifo[64];
    snprintf(fifo, sizeof fifo, "/tmp/mf_test_csv_fifo_%d", (int)getpid());
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    alarm(20); /* the old reader waited for a writer for ever */
    int rc = mf__csv_open(fifo, ',', &c, &err);
    alarm(0);
    unlink(fifo);
    CHECK(rc == MF_EDATA);
    CHECK(c == NULL);
    CHECK_HAS(err.message, fifo);
    CHECK_HAS(err.message, "empty");
}

/* Pipes: the reader stops reading once a line is longer than the limit
 * (an endless line must not fill memory), and refuses NUL bytes. */
static void test_pipe_limits(void) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) { /* an endless stream of zero bytes after a header */
        close(fds[0]);
        signal(SIGPIPE, SIG_DFL);
        char zeros[4096] = "h\n";
        if (write(fds[1], zeros, 2) != 2) _exit(1);
        memset(zeros, 0, sizeof zeros);
        while (write(fds[1], zeros, sizeof zeros) > 0) {}
        _exit(0);
    }
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    mf__csv_opts o = {.delim = ',', .max_line = 100000};
    mf__csv *c = (mf__csv *)1;
    mf_error err;
    int rc = mf__csv_open_opts(path, &o, &c, &err);
    close(fds[0]);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    CHECK(rc == MF_EDATA);
    CHECK(c == NULL);
    CHECK(err.line == 2);
    CHECK_HAS(err.message, "longer than 100000 bytes");

    /* NUL bytes through a pipe */
    CHECK(pipe(fds) == 0);
    static const char text[] = "a\n1\n\0\0\0\n";
    CHECK(write(fds[1], text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fds[1]);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    mf__buf b;
    mf__buf_init(&b);
    rc = dump(path, ',', &b, &err);
    close(fds[0]);
    mf__buf_free(&b);
    CHECK(rc == MF_EDATA);
    CHECK(err.line == 3);
    CHECK_HAS(err.message, "NUL byte");
}

/* The split reader keeps the limits: a NUL byte or an over-long record in
 * the second half is reported by the tail reader with its line in the
 * file, as the one-thread reader reports it. */
static void test_split_limits(void) {
    for (int kind = 0; kind < 3; kind++) {
        mf__buf text;
        mf__buf_init(&text);
        mf__buf_puts(&text, "k,v\n");
        for (int i = 0; i < 2000; i++) {
            if (i == 1500 && kind == 0) mf__buf_put(&text, "7,x\0y\n", 6);
            else if (i == 1500 && kind == 1) mf__buf_puts(&text, "7,0123456789012345678901234\n");
            else mf__buf_printf(&text, "%d,v%d\n", i, i);
        }
        long bad_line = kind == 2 ? 0 : 1502;
        for (int split = 0; split < 2; split++) {
            mf__csv_opts o = {.delim = ',', .max_line = 20, .split_min = 16};
            mf__csv *c, *t = NULL;
            mf_error err;
            CHECK(mf__csv_open_opts(write_tmp_n(text.data, text.len), &o, &c, &err) == MF_OK);
            if (split) CHECK(mf__csv_split(c, &t) == 1);
            const mf__slice *f;
            long rows = 0;
            int rc;
            while ((rc = mf__csv_next(c, &f, &err)) == 1) rows++;
            if (t) {
                CHECK(rc == 0);
                CHECK(!mf__csv_saw_quote(c));
                CHECK(rows > 0 && rows < 1500);
                while ((rc = mf__csv_next(t, &f, &err)) == 1) rows++;
            }
            if (bad_line) {
                CHECK(rc == MF_EDATA);
                if (err.line != bad_line) printf("#   line %d: %s\n", err.line, err.message);
                CHECK(err.line == bad_line);
                CHECK_HAS(err.message, kind == 0 ? "NUL byte in field 2 (v)"
                                                 : "record longer than 20 bytes in field 2 (v)");
                CHECK(rows == 1500);
            } else {
                CHECK(rc == 0);
                CHECK(rows == 2000);
            }
            mf__csv_close(t);
            mf__csv_close(c);
        }
        mf__buf_free(&text);
    }
}

/* A header may have MF__CSV_MAX_COLS columns, no more (each costs memory
 * whatever the line limit). */
static void test_max_columns(void) {
    for (int extra = 0; extra < 2; extra++) {
        mf__buf text;
        mf__buf_init(&text);
        for (int i = 0; i < MF__CSV_MAX_COLS + extra; i++) mf__buf_printf(&text, "%sc%d", i ? "," : "", i);
        mf__buf_puts(&text, "\n");
        mf__csv *c;
        mf_error err;
        int rc = mf__csv_open(write_tmp_n(text.data, text.len), ',', &c, &err);
        mf__buf_free(&text);
        if (!extra) {
            CHECK(rc == MF_OK);
            CHECK(mf__csv_ncols(c) == MF__CSV_MAX_COLS);
            mf__csv_close(c);
        } else {
            CHECK(rc == MF_EDATA);
            CHECK(err.line == 1);
            CHECK_HAS(err.message, "more than 16384 columns");
        }
    }
}

/*---- Writing -------------------------------------------------------------*/

static void test_write_field(void) {
    static const struct {
        const char *in, *out;
        char delim;
    } cases[] = {
        {"plain", "plain", ','},
        {"", "", ','},
        {"a,b", "\"a,b\"", ','},
        {"a,b", "a,b", ';'},
        {"a;b", "\"a;b\"", ';'},
        {"a\tb", "\"a\tb\"", '\t'},
        {"say \"hi\"", "\"say \"\"hi\"\"\"", ','},
        {"\"", "\"\"\"\"", ','},
        {"two\nlines", "\"two\nlines\"", ','},
        {"cr\rhere", "\"cr\rhere\"", ','},
        {" lead", "\" lead\"", ','},
        {"trail ", "\"trail \"", ','},
        {"\ttab", "\"\ttab\"", ','},
        {"in side", "in side", ','},
        {"2021-04-12T10:59:42Z", "2021-04-12T10:59:42Z", ','},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        mf__buf b;
        mf__buf_init(&b);
        mf__buf_puts(&b, "<");
        mf__csv_write_field(&b, cases[i].in, strlen(cases[i].in), cases[i].delim);
        mf__buf_puts(&b, ">");
        char want[64];
        snprintf(want, sizeof want, "<%s>", cases[i].out);
        CHECK_STR(b.data, want);
        mf__buf_free(&b);
    }
    /* Not NUL-terminated input, embedded NUL kept. */
    mf__buf b;
    mf__buf_init(&b);
    mf__csv_write_field(&b, "a\"b,cdef", 5, ',');
    CHECK(b.len == 8 && memcmp(b.data, "\"a\"\"b,c\"", 8) == 0);
    mf__buf_free(&b);
    /* A special byte at every position of fields of 1 to 40 bytes (the
     * check reads eight bytes at a time, then the rest one at a time),
     * next to bytes that differ from it in one bit. */
    static const char specials[] = {',', '"', '\n', '\r', ';'};
    for (size_t len = 1; len <= 40; len++)
        for (size_t at = 0; at < len; at++)
            for (size_t k = 0; k < sizeof specials; k++) {
                char in[48];
                for (size_t i = 0; i < len; i++) in[i] = (char)('a' + (i % 26));
                if (at > 0) in[at - 1] = (char)(specials[k] ^ 1);
                in[at] = specials[k];
                char delim = specials[k] == ';' ? ';' : ',';
                mf__buf_init(&b);
                mf__csv_write_field(&b, in, len, delim);
                CHECK(b.len >= len + 2 && b.data[0] == '"' && b.data[b.len - 1] == '"');
                mf__buf_free(&b);
                in[at] = (char)(specials[k] ^ 1); /* no special byte at all */
                if (in[at] == ' ' || in[at] == '\t') in[at] = 'x';
                mf__buf_init(&b);
                mf__csv_write_field(&b, in, len, delim);
                CHECK(b.len == len && memcmp(b.data, in, len) == 0);
                mf__buf_free(&b);
            }
}

/* Found by fuzz_csv: a field that starts with a UTF-8 byte order mark is
 * quoted, since written first in a file it would read back without it (a
 * reader drops a BOM at the start of a file). */
static void test_write_bom_field(void) {
    mf__buf b;
    mf__buf_init(&b);
    mf__csv_write_field(&b, "\xEF\xBB\xBFid", 5, ',');
    CHECK_STR(b.data, "\"\xEF\xBB\xBFid\"");
    mf__buf_puts(&b, ",x\n1,2\n");
    mf__csv *c;
    mf_error err;
    CHECK(mf__csv_open(write_tmp_n(b.data, b.len), ',', &c, &err) == MF_OK);
    mf__buf_free(&b);
    CHECK_STR(mf__csv_colname(c, 0), "\xEF\xBB\xBFid");
    mf__csv_close(c);
    mf__buf_init(&b);
    mf__csv_write_field(&b, "\xEF\xBB", 2, ','); /* half a BOM is plain text */
    CHECK_STR(b.data, "\xEF\xBB");
    mf__buf_free(&b);
}

/* Random fields written with the writer read back identical. */
static void test_write_read_round_trip(void) {
    static const char alphabet[] = "ab ,;\"\r\n\t|x";
    const char delims[] = {',', ';', '\t', '|'};
    unsigned seed = 12345;
    for (size_t d = 0; d < sizeof delims; d++) {
        enum { ROWS = 400, COLS = 4 };
        static char cells[ROWS][COLS][16];
        static size_t lens[ROWS][COLS];
        mf__buf text;
        mf__buf_init(&text);
        for (int i = 0; i < COLS; i++) {
            if (i) mf__buf_putc(&text, delims[d]);
            mf__buf_printf(&text, "c%d", i);
        }
        mf__buf_puts(&text, "\n");
        for (int r = 0; r < ROWS; r++) {
            for (int i = 0; i < COLS; i++) {
                seed = seed * 1103515245u + 12345u;
                size_t n = (seed >> 16) % 16;
                for (size_t k = 0; k < n; k++) {
                    seed = seed * 1103515245u + 12345u;
                    cells[r][i][k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
                }
                lens[r][i] = n;
                if (i) mf__buf_putc(&text, delims[d]);
                mf__csv_write_field(&text, cells[r][i], n, delims[d]);
            }
            mf__buf_puts(&text, r % 2 ? "\r\n" : "\n");
        }
        mf__csv *c;
        mf_error err;
        CHECK(mf__csv_open(write_tmp_n(text.data, text.len), delims[d], &c, &err) == MF_OK);
        mf__buf_free(&text);
        CHECK(mf__csv_ncols(c) == COLS);
        const mf__slice *f;
        for (int r = 0; r < ROWS; r++) {
            int rc = mf__csv_next(c, &f, &err);
            if (rc != 1) printf("#   row %d: %s (line %d)\n", r, err.message, err.line);
            CHECK(rc == 1);
            for (int i = 0; i < COLS; i++) {
                CHECK(f[i].len == lens[r][i]);
                CHECK(memcmp(f[i].ptr, cells[r][i], lens[r][i]) == 0);
            }
        }
        CHECK(mf__csv_next(c, &f, &err) == 0);
        mf__csv_close(c);
    }
}

/* The same bytes read mapped (a file: special bytes found 64 at a time)
 * and whole from a pipe (byte by byte) give the same records, line
 * numbers and errors, wherever the special bytes fall in a block. */
static int dump_pipe(const char *data, size_t len, char delim, mf__buf *out, mf_error *err) {
    int fds[2];
    if (pipe(fds) != 0) abort();
    if (write(fds[1], data, len) != (ssize_t)len) abort();
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    int rc = dump(path, delim, out, err);
    close(fds[0]);
    return rc;
}

static void test_mapped_agrees_with_pipe(void) {
    static const char *alphabets[] = {"ab1,,,\n", "ab1,;\"\r\n", "xy,\n\n\r\"\"", "a,\n\0\""};
    static char data[20000];
    unsigned seed = 777;
    int cases = 0, clean = 0;
    for (int t = 0; t < 400; t++) {
        const char *alpha = alphabets[t % 4];
        size_t na = t % 4 == 3 ? 5 : strlen(alpha);
        seed = seed * 1103515245u + 12345u;
        size_t len = 1 + (seed >> 8) % (t < 200 ? 300 : sizeof data - 1);
        char delim = t % 8 == 1 ? ';' : ',';
        if (t % 2) {
            /* well-formed: 3 fields a record, some quoted, LF or CRLF */
            size_t i = 0;
            int col = 0;
            while (i + 40 < len) {
                seed = seed * 1103515245u + 12345u;
                unsigned r = seed >> 16;
                size_t n = r % 7 == 0 ? r % 90 : r % 12;
                bool q = r % 11 == 0;
                if (q) data[i++] = '"';
                for (size_t k = 0; k < n && i + 40 < len; k++) {
                    seed = seed * 1103515245u + 12345u;
                    unsigned x = seed >> 16;
                    if (q && x % 9 == 0) data[i++] = delim;
                    else if (q && x % 13 == 0) data[i++] = '"', data[i++] = '"';
                    else data[i++] = (char)('a' + x % 26);
                }
                if (q) data[i++] = '"';
                if (++col < 3) {
                    data[i++] = delim;
                } else {
                    col = 0;
                    if (r % 3 == 0) data[i++] = '\r';
                    data[i++] = '\n';
                }
            }
            len = i ? i : 1;
            if (!i) data[0] = 'a';
        } else {
            /* long runs without special bytes, then a burst of them */
            for (size_t i = 0; i < len; i++) {
                seed = seed * 1103515245u + 12345u;
                unsigned r = seed >> 16;
                data[i] = r % 5 ? (char)('c' + r % 7) : alpha[(r / 5) % na];
            }
        }
        mf__buf a, b;
        mf__buf_init(&a);
        mf__buf_init(&b);
        mf_error ea, eb;
        memset(&ea, 0, sizeof ea);
        memset(&eb, 0, sizeof eb);
        int ra = dump(write_tmp_n(data, len), delim, &a, &ea);
        int rb = dump_pipe(data, len, delim, &b, &eb);
        CHECK(ra == rb);
        CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
        if (ra != MF_OK) CHECK(ea.line == eb.line);
        if (ra != rb || a.len != b.len) printf("#   case %d: rc %d / %d\n", t, ra, rb);
        cases++;
        clean += ra == MF_OK;
        mf__buf_free(&a);
        mf__buf_free(&b);
    }
    printf("# %d inputs, %d read without an error\n", cases, clean);
    CHECK(clean >= 150);
}

int main(void) {
    RUN(test_basic);
    RUN(test_header_only);
    RUN(test_quotes);
    RUN(test_embedded_newlines);
    RUN(test_crlf);
    RUN(test_bom);
    RUN(test_delimiters);
    RUN(test_empty_cells);
    RUN(test_final_line);
    RUN(test_blank_lines);
    RUN(test_page_sized_file);
    RUN(test_many_escaped_fields);
    RUN(test_pipe);
    RUN(test_large_file);
    RUN(test_error_field_count);
    RUN(test_error_quotes);
    RUN(test_error_sticky);
    RUN(test_error_header);
    RUN(test_error_open);
    RUN(test_error_nul);
    RUN(test_line_limit_default);
    RUN(test_line_limit);
    RUN(test_not_a_file);
    RUN(test_pipe_limits);
    RUN(test_split_limits);
    RUN(test_max_columns);
    RUN(test_write_field);
    RUN(test_write_bom_field);
    RUN(test_write_read_round_trip);
    RUN(test_mapped_agrees_with_pipe);
    if (tmp_path[0]) unlink(tmp_path);
    MFT_END();
}
