/*
 * test_values.c — typed cells (table.c) and their output: list cells as
 * JSON, String cells as UTF-8, JSON and CSV output of hostile values.
 *
 * Every typed cell enters through mf__col_push_text, so that is what is
 * tested: list cells are strict JSON arrays of the list's scalar type, never
 * holding null, kept in one canonical text (compact, numbers in their
 * shortest text, timestamps RFC 3339), Int64 exact beyond 2^53; String
 * cells are well-formed UTF-8 without NUL bytes. Expected canonical texts
 * are written out by hand. JSON output is checked with Jansson's decoder, a
 * strict parser independent of moonfeast's writer (it refuses invalid
 * UTF-8, control characters, bad escapes, NaN); CSV output must refuse a
 * NUL byte rather than write it raw.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include <jansson.h>

#include "mf_json.h"
#include "mf_table.h"
#include "mft.h"

/*---- Helpers ----------------------------------------------------------------*/

/* Push text into a fresh column of type t; returns the push's result and,
 * on success, the stored text in got (at least 256 bytes). */
static int push1(Mf__ValueType t, const char *p, size_t len, char *got) {
    mf__col c;
    mf__col_init(&c, "c", t, false);
    int rc = mf__col_push_text(&c, p, len);
    if (rc == 0 && got) {
        char num[64];
        size_t n;
        const char *s = mf__col_text(&c, 0, num, &n);
        snprintf(got, 256, "%.*s", (int)n, s);
    }
    mf__col_free(&c);
    return rc;
}

static int push_s(Mf__ValueType t, const char *s, char *got) { return push1(t, s, strlen(s), got); }

/* Whether text[0..len) is one JSON value for a strict parser. */
static bool strict_json(const char *text, size_t len) {
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j) printf("#   not JSON (%s at %d): %.*s\n", e.text, e.position, (int)len, text);
    json_decref(j);
    return j != NULL;
}

#define I64L MF__VALUE_TYPE__VT_INT64_LIST
#define I32L MF__VALUE_TYPE__VT_INT32_LIST
#define F64L MF__VALUE_TYPE__VT_DOUBLE_LIST
#define F32L MF__VALUE_TYPE__VT_FLOAT_LIST
#define STRL MF__VALUE_TYPE__VT_STRING_LIST
#define BYTL MF__VALUE_TYPE__VT_BYTES_LIST
#define BOOL_L MF__VALUE_TYPE__VT_BOOL_LIST
#define TSL MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST

/*---- List cells ---------------------------------------------------------------*/

/* One rule for every store and the CLI: a list never holds null. */
static void test_list_null_refused(void) {
    CHECK(push_s(I64L, "[1,null]", NULL) != 0);
    CHECK(push_s(I64L, "[null]", NULL) != 0);
    CHECK(push_s(STRL, "[\"a\",null]", NULL) != 0);
    CHECK(push_s(F64L, "[null,1.5]", NULL) != 0);
    CHECK(push_s(TSL, "[null]", NULL) != 0);
    CHECK(push_s(BOOL_L, "[true,null]", NULL) != 0);
    /* an empty cell is a null list, an empty array an empty list */
    char got[256];
    CHECK(push_s(I64L, "[]", got) == 0);
    CHECK_STR(got, "[]");
    mf__col c;
    mf__col_init(&c, "c", I64L, false);
    CHECK(mf__col_push_text(&c, "", 0) == 0 && c.n == 1 && !c.valid[0]);
    mf__col_free(&c);
}

/* Strict JSON: what RFC 8259 refuses is refused. */
static void test_list_strict_json(void) {
    static const char *const bad_i64[] = {
        "[1,]", "[,1]", "[01]", "[1 2]", "[[1]]", "[{}]", "[\"1\"]", "[1.5]", "[1e2]", "[+1]",
        "[1] x", "1", "[1", "[0x10]", "[true]", "[-]", "[1,,2]", "{\"a\":1}"};
    for (size_t i = 0; i < sizeof bad_i64 / sizeof *bad_i64; i++) {
        if (push_s(I64L, bad_i64[i], NULL) == 0) printf("#   accepted %s\n", bad_i64[i]);
        CHECK(push_s(I64L, bad_i64[i], NULL) != 0);
    }
    static const char *const bad_str[] = {
        "[\"\\q\"]",      /* unknown escape */
        "[\"\\u12\"]",    /* short \u */
        "[\"\xff\"]",     /* invalid UTF-8 */
        "[\"\xc0\xaf\"]", /* overlong */
        "[\"\\ud800\"]",  /* lone surrogate */
        "[\"a\tb\"]",     /* raw control character */
        "[\"a\\u0000b\"]", /* NUL is not String text */
        "[1]", "['a']"};
    for (size_t i = 0; i < sizeof bad_str / sizeof *bad_str; i++) {
        if (push_s(STRL, bad_str[i], NULL) == 0) printf("#   accepted %s\n", bad_str[i]);
        CHECK(push_s(STRL, bad_str[i], NULL) != 0);
    }
    CHECK(push_s(F64L, "[NaN]", NULL) != 0);
    CHECK(push_s(F64L, "[Infinity]", NULL) != 0);
    CHECK(push_s(F64L, "[1e400]", NULL) != 0);
    CHECK(push_s(F32L, "[1e39]", NULL) != 0);
    CHECK(push_s(I32L, "[2147483648]", NULL) != 0);
    CHECK(push_s(I32L, "[-2147483649]", NULL) != 0);
    CHECK(push_s(I64L, "[9223372036854775808]", NULL) != 0);
    CHECK(push_s(BOOL_L, "[1]", NULL) != 0);
    CHECK(push_s(BOOL_L, "[\"true\"]", NULL) != 0);
    CHECK(push_s(TSL, "[\"2025-13-01\"]", NULL) != 0);
    CHECK(push_s(TSL, "[1.5]", NULL) != 0);
    CHECK(push_s(TSL, "[99999999999999]", NULL) != 0);
}

/* Accepted cells are kept in one canonical text. */
static void test_list_canonical(void) {
    static const struct {
        Mf__ValueType t;
        const char *in, *want;
    } cases[] = {
        /* Int64 exact beyond 2^53 (a double would give ...992) */
        {I64L, "[9007199254740993, -9223372036854775808 ,9223372036854775807]",
         "[9007199254740993,-9223372036854775808,9223372036854775807]"},
        {I64L, " [ 1 ,\n2\t] ", "[1,2]"},
        {I32L, "[-2147483648,2147483647,-0]", "[-2147483648,2147483647,0]"},
        {F64L, "[1.0,1e2,0.1,-0.0,3,1.7976931348623157e308]",
         "[1,100,0.1,-0,3,1.7976931348623157e+308]"},
        {F32L, "[0.1,3.4028234e38,16777217]", "[0.1,3.4028235e+38,16777216]"},
        {BOOL_L, "[true,false ]", "[true,false]"},
        {STRL, "[\"a\\\"b\",\"\\u00e9\",\"\xc3\xa9\",\"\\/\",\"\\n\",\"\"]",
         "[\"a\\\"b\",\"\xc3\xa9\",\"\xc3\xa9\",\"/\",\"\\n\",\"\"]"},
        {STRL, "[\"\\ud83d\\ude00\"]", "[\"\xf0\x9f\x98\x80\"]"},
        {BYTL, "[\"ab\\u0000\",\"\"]", "[\"ab\\u0000\",\"\"]"},
        {TSL, "[\"2025-01-01T00:00:00+01:00\",0,\"2025-01-02 03:04:05.1234567\"]",
         "[\"2024-12-31T23:00:00Z\",\"1970-01-01T00:00:00Z\",\"2025-01-02T03:04:05.123456Z\"]"},
        {I64L, "[]", "[]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char got[256] = "";
        int rc = push_s(cases[i].t, cases[i].in, got);
        if (rc != 0 || strcmp(got, cases[i].want) != 0)
            printf("#   %s: %s -> rc %d, %s\n", mf__dtype_name(cases[i].t), cases[i].in, rc, got);
        CHECK(rc == 0);
        CHECK_STR(got, cases[i].want);
        /* canonical text is a fixed point */
        char again[256] = "";
        CHECK(push_s(cases[i].t, got, again) == 0);
        CHECK_STR(again, got);
    }
}

/* The codec reads common cells on a fast path and the rest through
 * Jansson: on generated cells (numbers of every form, booleans, null,
 * strings with and without escapes, white space, garbage), both must accept
 * the same cells and write the same canonical text. */
static void test_fast_path_agrees(void) {
    static const char *const tok[] = {
        "0", "-0", "7", "-12", "01", "2147483647", "2147483648", "-2147483649",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "123456789012345678901234567890", "1.5", "-0.0", "0.1", "1e5", "1E+2", "2e-3", "1.",
        ".5", "1e", "-", "3.4028235e38", "3.4028236e38", "1e39", "1e400", "4.9e-324",
        "0.30000000000000004", "16777217", "true", "false", "null", "nan", "tru",
        "\"ab\"", "\"\"", "\"a\\\"b\"", "\"a\\u00e9\"", "\"\xc3\xa9\"", "\"\x01\"", "\"a b\"",
        "\"\xff\"", "\"\xed\xa0\x80\"", "\"\x7f\"",
        "\"2025-01-01T00:00:00Z\"", "[1]", "{}", ""};
    static const char *const ws[] = {"", "", "", " ", "\n", "\t ", "\r"};
    static const Mf__ValueType types[] = {I32L, I64L, F32L, F64L, BOOL_L, STRL, BYTL, TSL};
    uint32_t r = 99;
#define RND(n) ((r = r * 1103515245 + 12345), (size_t)((r >> 16) % (n)))
    mf__buf cell, a, b;
    mf__buf_init(&cell);
    mf__buf_init(&a);
    mf__buf_init(&b);
    size_t accepted = 0;
    for (int n = 0; n < 40000; n++) {
        Mf__ValueType t = types[RND(sizeof types / sizeof *types)];
        cell.len = 0;
        mf__buf_puts(&cell, ws[RND(7)]);
        mf__buf_putc(&cell, '[');
        size_t k = RND(5);
        /* mostly tokens of one kind, so that many cells are valid */
        size_t base = RND(sizeof tok / sizeof *tok);
        for (size_t i = 0; i < k; i++) {
            if (i) mf__buf_putc(&cell, RND(30) ? ',' : ' ');
            mf__buf_puts(&cell, ws[RND(7)]);
            mf__buf_puts(&cell, tok[RND(3) ? base : RND(sizeof tok / sizeof *tok)]);
            mf__buf_puts(&cell, ws[RND(7)]);
        }
        mf__buf_puts(&cell, RND(40) ? "]" : "],");
        mf__buf_puts(&cell, ws[RND(7)]);
        char why[MF__JSON_WHYLEN];
        a.len = b.len = 0;
        int ra = mf__json_list_canon(t, cell.data, cell.len, &a, why);
        json_t *arr = mf__json_list_parse(t, cell.data, cell.len, why);
        int rb = arr ? mf__json_list_canon_value(t, arr, &b, why) : -1;
        json_decref(arr);
        if (ra != rb || (ra == 0 && (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)))
            printf("#   %s %s: %d %s / %d %s\n", mf__dtype_name(t), cell.data, ra,
                   ra ? "" : a.data, rb, rb ? why : b.data);
        CHECK(ra == rb);
        CHECK(ra != 0 || (a.len == b.len && memcmp(a.data, b.data, a.len) == 0));
        accepted += ra == 0;
    }
#undef RND
    printf("#   %zu of 40000 generated cells valid\n", accepted);
    CHECK(accepted > 5000);
    mf__buf_free(&cell);
    mf__buf_free(&a);
    mf__buf_free(&b);
}

/*---- String cells -------------------------------------------------------------*/

static void test_string_cells(void) {
    static const struct {
        const char *p;
        size_t len;
        bool ok;
    } cases[] = {
        {"plain", 5, true},
        {"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15, true},
        {"tab\tand\nnewline", 15, true},
        {"\xff", 1, false},
        {"a\0b", 3, false},             /* NUL */
        {"\xc0\xaf", 2, false},         /* overlong '/' */
        {"\xe0\x80\xaf", 3, false},     /* overlong */
        {"\xed\xa0\x80", 3, false},     /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 4, false}, /* above U+10FFFF */
        {"\xc3", 1, false},             /* truncated */
        {"abcdefgh\xc3", 9, false},     /* truncated after an ASCII run */
        {"\x80", 1, false},             /* lone continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = push1(MF__VALUE_TYPE__VT_STRING, cases[i].p, cases[i].len, NULL);
        if ((rc == 0) != cases[i].ok) printf("#   case %zu: rc %d\n", i, rc);
        CHECK((rc == 0) == cases[i].ok);
    }
    /* Bytes take any bytes; pass-through text columns are not checked */
    CHECK(push1(MF__VALUE_TYPE__VT_BYTES, "\xff\0", 2, NULL) == 0);
    mf__col raw;
    mf__col_init(&raw, "note", MF__VALUE_TYPE__VT_STRING, true);
    CHECK(mf__col_push_text(&raw, "\xff\x01", 2) == 0);
    mf__col_free(&raw);
}

/*---- JSON output --------------------------------------------------------------*/

/* mf__buf_json_str writes valid JSON whatever the bytes: invalid UTF-8
 * bytes become U+FFFD, control characters \u escapes. */
static void test_json_str_any_bytes(void) {
    mf__buf b;
    mf__buf_init(&b);
    mf__buf_json_str(&b, "a\xff" "b", 3);
    CHECK_STR(b.data, "\"a\xef\xbf\xbd" "b\"");
    b.len = 0;
    mf__buf_json_str(&b, "\"\\\x01\x1f\x7f\0", 6);
    CHECK(b.len == 25 && memcmp(b.data, "\"\\\"\\\\\\u0001\\u001f\x7f\\u0000\"", 25) == 0);
    b.len = 0;
    mf__buf_json_str(&b, "\xed\xa0\x80\xc3\xa9", 5); /* a surrogate's 3 bytes, then é */
    CHECK_STR(b.data, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9\"");
    /* every single byte, every pair of bytes */
    for (unsigned x = 0; x < 256; x++) {
        for (unsigned y = 0; y < 256; y++) {
            char in[3] = {(char)x, (char)y, 'z'};
            b.len = 0;
            mf__buf_json_str(&b, in, 3);
            if (!strict_json(b.data, b.len)) printf("#   bytes %02x %02x\n", x, y);
            CHECK(strict_json(b.data, b.len));
        }
    }
    /* random byte strings */
    uint32_t r = 12345;
    for (int n = 0; n < 20000; n++) {
        char in[24];
        size_t len = (size_t)(n % 24);
        for (size_t i = 0; i < len; i++) {
            r = r * 1103515245 + 12345;
            in[i] = (char)(r >> 16);
        }
        b.len = 0;
        mf__buf_json_str(&b, in, len);
        CHECK(strict_json(b.data, b.len));
    }
    mf__buf_free(&b);
}

/* A row of hostile values of every type as JSON: one strict JSON array. */
static void test_col_json_hostile(void) {
    mf__col c[6];
    mf__col_init(&c[0], "d", MF__VALUE_TYPE__VT_DOUBLE, false);
    mf__col_init(&c[1], "f", MF__VALUE_TYPE__VT_FLOAT, false);
    mf__col_init(&c[2], "raw", MF__VALUE_TYPE__VT_STRING, true);
    mf__col_init(&c[3], "b", MF__VALUE_TYPE__VT_BYTES, false);
    mf__col_init(&c[4], "l", STRL, false);
    mf__col_init(&c[5], "ts", MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, false);
    static const char *const dv[] = {"nan", "inf", "-inf", "1e308", "-0", "4.9e-324"};
    for (size_t i = 0; i < 6; i++) {
        CHECK(mf__col_push_text(&c[0], dv[i], strlen(dv[i])) == 0);
        CHECK(mf__col_push_text(&c[1], dv[i], strlen(dv[i])) == 0 || i >= 3);
        if (c[1].n == i) mf__col_push_null(&c[1]);
        CHECK(mf__col_push_text(&c[2], "\xff\"\\\x01\0x", 6) == 0);
        CHECK(mf__col_push_text(&c[3], "\0\xff", 2) == 0);
        CHECK(mf__col_push_text(&c[4], "[\"\\u0001\\\"\\\\\"]", 14) == 0);
        CHECK(mf__col_push_text(&c[5], "9999-12-31T23:59:59.999999Z", 27) == 0);
    }
    mf__buf b;
    mf__buf_init(&b);
    mf__buf_putc(&b, '[');
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 6; j++) {
            if (i || j) mf__buf_putc(&b, ',');
            mf__col_json(&c[j], i, &b);
        }
    mf__buf_putc(&b, ']');
    CHECK(strict_json(b.data, b.len));
    CHECK(strncmp(b.data, "[null,null,", 11) == 0); /* NaN as null */
    mf__buf_free(&b);
    for (size_t j = 0; j < 6; j++) mf__col_free(&c[j]);
}

/*---- CSV output ---------------------------------------------------------------*/

/* A NUL byte (possible in pass-through text and Bytes read from SQLite)
 * never reaches CSV output: writing is an error naming the column and the
 * row, and no file is left. JSON Lines escape it. */
static void test_csv_refuses_nul(void) {
    char dir[] = "/tmp/mft_values_XXXXXX";
    CHECK(mkdtemp(dir));
    char path[64], tmp[80];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    mf_table *t = mf__table_new(2);
    mf__col_init(&t->cols[0], "id", MF__VALUE_TYPE__VT_INT64, false);
    mf__col_init(&t->cols[1], "note", MF__VALUE_TYPE__VT_STRING, true);
    mf__col_push_i64(&t->cols[0], 1);
    mf__col_push_text(&t->cols[1], "fine", 4);
    mf__col_push_i64(&t->cols[0], 2);
    mf__col_push_text(&t->cols[1], "a\0b", 3);
    t->nrows = 2;
    mf_error err;
    int rc = mf_table_write(t, path, MF_FORMAT_CSV, &err);
    CHECK(rc != MF_OK);
    CHECK_HAS(err.message, "column 'note'");
    CHECK_HAS(err.message, "row 2");
    CHECK_HAS(err.message, "NUL");
    CHECK(access(path, F_OK) != 0 && access(tmp, F_OK) != 0);
    snprintf(path, sizeof path, "%s/out.jsonl", dir);
    CHECK(mf_table_write(t, path, MF_FORMAT_JSONL, &err) == MF_OK);
    char *text = NULL;
    size_t len = 0;
    CHECK(mf__read_input(path, SIZE_MAX, &text, &len, &err) == MF_OK);
    CHECK_STR(text, "{\"id\":1,\"note\":\"fine\"}\n{\"id\":2,\"note\":\"a\\u0000b\"}\n");
    free(text);
    remove(path);
    rmdir(dir);
    mf_table_free(t);
}

/* mf__sort_keys (materialize's write order) agrees with a comparison sort
 * in memcmp-then-length order: keys of one length and of several, with a
 * long common prefix, with a shorter prefix than the 8 bytes it sorts by,
 * keys that are prefixes of others, differences past the 8 bytes, zero
 * bytes where the shorter keys are padded, and a single key. */
static const char *sk_buf;
static const size_t *sk_off;
static int sk_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t lx = sk_off[x + 1] - sk_off[x], ly = sk_off[y + 1] - sk_off[y];
    int c = memcmp(sk_buf + sk_off[x], sk_buf + sk_off[y], lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

static void test_sort_keys(void) {
    uint64_t seed = 42;
    int bad = 0, cases = 0;
    for (int shape = 0; shape < 6; shape++)
        for (size_t n = 1; n <= 3000; n = n * 3 + 1) {
            mf__buf b;
            mf__buf_init(&b);
            size_t *off = mf__xmalloc((n + 1) * sizeof *off);
            for (size_t i = 0; i < n; i++) {
                off[i] = b.len;
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                uint64_t r = seed >> 11;
                static const char prefix[] = "\x01\0\0\0\x02\0\0\0\x09\0\0\0driver_id\x04\0\0\0\x08\0\0\0";
                size_t plen = shape == 1 ? 3 : sizeof prefix - 1;
                mf__buf_put(&b, prefix, plen);
                unsigned char tail[24];
                size_t tl = shape == 2 ? r % 12 : shape == 3 ? 16 : 8;
                for (size_t j = 0; j < tl; j++) {
                    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                    tail[j] = shape == 4 ? (unsigned char)(seed >> 60) /* few values: long ties */
                            : shape == 3 && j < 8 ? (unsigned char)(i % 3) /* differ past 8 bytes */
                            : (unsigned char)(seed >> 56);
                }
                if (shape == 5) tl = (size_t)(r % 4), memset(tail, 0, tl); /* zeros, prefixes */
                mf__buf_put(&b, tail, tl);
            }
            off[n] = b.len;
            uint32_t *got = mf__xmalloc(n * sizeof *got), *want = mf__xmalloc(n * sizeof *want);
            for (size_t i = 0; i < n; i++) got[i] = want[i] = (uint32_t)(n - 1 - i);
            mf__sort_keys(b.data, off, got, n);
            sk_buf = b.data, sk_off = off;
            qsort(want, n, sizeof *want, sk_cmp);
            unsigned char *seen = mf__xcalloc(n, 1);
            for (size_t i = 0; i < n; i++) /* every id once; equal keys in either order */
                if (got[i] >= n || seen[got[i]]++ ||
                    (got[i] != want[i] && sk_cmp(&got[i], &want[i]) != 0)) {
                    bad++;
                    break;
                }
            free(seen);
            cases++;
            free(got), free(want), free(off);
            mf__buf_free(&b);
        }
    printf("#   %d cases\n", cases);
    CHECK(bad == 0);
}

/* mf__to_f32: a double as a float, rounded to nearest, infinite from half an
 * ulp past FLT_MAX on (where C's conversion is undefined). */
static void test_to_f32(void) {
    CHECK(mf__to_f32(0x1.fffffep127) == 0x1.fffffep127f);
    CHECK(mf__to_f32(0x1.fffffe8p127) == 0x1.fffffep127f); /* below the half: FLT_MAX */
    CHECK(isinf(mf__to_f32(0x1.ffffffp127)) && mf__to_f32(0x1.ffffffp127) > 0);
    CHECK(isinf(mf__to_f32(-1e300)) && mf__to_f32(-1e300) < 0);
    CHECK(isnan(mf__to_f32(NAN)));
    CHECK(mf__to_f32(0.1) == 0.1f && mf__to_f32(-0.0) == 0 && signbit(mf__to_f32(-0.0)));
}

int main(void) {
    RUN(test_to_f32);
    RUN(test_sort_keys);
    RUN(test_list_null_refused);
    RUN(test_list_strict_json);
    RUN(test_list_canonical);
    RUN(test_fast_path_agrees);
    RUN(test_string_cells);
    RUN(test_json_str_any_bytes);
    RUN(test_col_json_hostile);
    RUN(test_csv_refuses_nul);
    MFT_END();
}
