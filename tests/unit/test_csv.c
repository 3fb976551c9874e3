/*
 * test_csv.c — unit tests of csv.c: the RFC 4180 reader (quoting, line
 * ends, BOM, delimiters, line numbers, every error) and the field writer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
    do {                                                                      \
        mf__buf b_;                                                           \
        mf_error e_;                                                          \
        mf__buf_init(&b_);                                                    \
        const char *path_ = write_tmp(text);                                  \
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
    RUN(test_write_field);
    RUN(test_write_read_round_trip);
    if (tmp_path[0]) unlink(tmp_path);
    MFT_END();
}
