/*
 * test_timeutil.c — unit tests of timeutil.c: timestamp text in and out,
 * and the scalar parsers and formatters of mf_values.h.
 */
#define _GNU_SOURCE /* timegm, as an independent oracle */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <time.h>

#include "mf_internal.h"
#include "mf_values.h"
#include "mft.h"

/*---- Helpers -------------------------------------------------------------*/

/* Parse a NUL-terminated string; returns the rc, *us filled on success. */
static int ts(const char *s, int64_t *us) { return mf__ts_parse(s, strlen(s), us); }

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static int64_t epoch_of(int y, int mo, int d, int h, int mi, int s) {
    struct tm tm = {0};
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

/*---- Timestamps: parsing -------------------------------------------------*/

static void test_ts_accepted_forms(void) {
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"2021-04-12T10:59:42Z", INT64_C(1618225182000000)},
        {"2021-04-12t10:59:42z", INT64_C(1618225182000000)},
        {"2021-04-12 10:59:42Z", INT64_C(1618225182000000)},
        {"2021-04-12T10:59:42", INT64_C(1618225182000000)},
        {"2021-04-12 10:59:42", INT64_C(1618225182000000)},
        {"2021-04-12T12:59:42+02:00", INT64_C(1618225182000000)},
        {"2021-04-12T12:59:42+0200", INT64_C(1618225182000000)},
        {"2021-04-12T12:59:42+02", INT64_C(1618225182000000)},
        {"2021-04-12T05:29:42-0530", INT64_C(1618225182000000)},
        {"2021-04-12T05:29:42-05:30", INT64_C(1618225182000000)},
        {"2021-04-12T10:59:42+00:00", INT64_C(1618225182000000)},
        {"2021-04-12T10:59:42-00:00", INT64_C(1618225182000000)},
        {"2021-04-12T10:59Z", INT64_C(1618225140000000)},
        {"2021-04-12T10:59", INT64_C(1618225140000000)},
        {"2021-04-12", INT64_C(1618185600000000)},
        {"2021-04-12T10:59:42.1Z", INT64_C(1618225182100000)},
        {"2021-04-12T10:59:42.123Z", INT64_C(1618225182123000)},
        {"2021-04-12T10:59:42.123456Z", INT64_C(1618225182123456)},
        {"2021-04-12T10:59:42.1234567Z", INT64_C(1618225182123456)},
        {"2021-04-12T10:59:42.123456789Z", INT64_C(1618225182123456)},
        {"2021-04-12T10:59:42.999999999", INT64_C(1618225182999999)},
        {"2021-04-12T12:59:42.5+02:00", INT64_C(1618225182500000)},
        {"2021-04-12T10:59:42.000000Z", INT64_C(1618225182000000)},
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01", 0},
        {"1618225182", INT64_C(1618225182000000)},
        {"0", 0},
        {"-1", -1000000},
        {"-0", 0},
        {"0001618225182", INT64_C(1618225182000000)},
        {"2021", INT64_C(2021000000)},
        {"253402300799", INT64_C(253402300799000000)},
        {"-62135596800", INT64_C(-62135596800000000)},
        {"2021-12-31T23:59:59Z", INT64_C(1640995199000000)},
        {"2021-01-01T00:30:00+01:00", INT64_C(1609459200000000) - 1800000000},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        int64_t us = 12345;
        int rc = ts(cases[i].text, &us);
        if (rc != 0 || us != cases[i].us)
            printf("#   %s -> rc %d, %lld (want %lld)\n", cases[i].text, rc,
                   (long long)us, (long long)cases[i].us);
        CHECK(rc == 0);
        CHECK(us == cases[i].us);
    }
}

static void test_ts_rejected(void) {
    static const char *const bad[] = {
        "", " ", " 2021-04-12", "2021-04-12 ", "2021-04-12T10:59:42Z ",
        " 1618225182", "1618225182 ", "+1618225182", "-", "1.5", "1e9",
        "12a", "2021-04-1", "2021-4-12", "21-04-12", "2021/04/12",
        "2021-04-12T", "2021-04-12 ", "2021-04-12X10:59:42", "2021-04-12T10",
        "2021-04-12T10:5", "2021-04-12T10:59:4", "2021-04-12T10:59:", "2021-04-12T10-59-42",
        "2021-04-12T10:59:42.", "2021-04-12T10:59:42.1234567890",
        "2021-04-12T10:59:42.Z", "2021-04-12T10:59.5", "2021-04-12T10:59:42ZZ",
        "2021-04-12T10:59:42Z+01", "2021-04-12T10:59:42+1", "2021-04-12T10:59:42+123",
        "2021-04-12T10:59:42+01:0", "2021-04-12T10:59:42+01:000", "2021-04-12T10:59:42+24:00",
        "2021-04-12T10:59:42+01:60", "2021-04-12T10:59:42 +01:00", "2021-04-12T10:59:42 UTC",
        "2021-04-12T10:59:42+ab", "2021-04-12Z", "2021-04-12+01:00",
        "0000-01-01", "2021-00-12", "2021-13-12", "2021-04-00", "2021-04-31",
        "2021-01-32", "2021-02-29", "1900-02-29", "2100-02-29", "2021-04-12T24:00:00",
        "2021-04-12T23:60:00", "2021-04-12T23:59:60", "2021-04-12T23:59:60Z",
        "2021-04-12T-1:00:00", "２０２１-04-12", "253402300800", "-62135596801",
        "99999999999999999999", "1x", "2021-04-12T10:59:42\n",
        /* an offset that moves the time out of the years 0001..9999 (UTC) */
        "9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00-01:00", "0001-01-01T00:00:00+00:01",
        "0001-01-01+00:00",
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(bad); i++) {
        int64_t us = 777;
        int rc = ts(bad[i], &us);
        if (rc != -1) printf("#   accepted: \"%s\" -> %lld\n", bad[i], (long long)us);
        CHECK(rc == -1);
        CHECK(us == 777); /* untouched on failure */
    }
}

static void test_ts_not_nul_terminated(void) {
    /* The parser must stop at len. */
    const char *s = "2021-04-12T10:59:42Zgarbage";
    int64_t us;
    CHECK(mf__ts_parse(s, 20, &us) == 0);
    CHECK(us == INT64_C(1618225182000000));
    CHECK(mf__ts_parse(s, 10, &us) == 0);
    CHECK(us == INT64_C(1618185600000000));
    CHECK(mf__ts_parse(s, 19, &us) == 0); /* no zone */
    CHECK(mf__ts_parse(s, 21, &us) == -1);
    CHECK(mf__ts_parse("16182251829", 10, &us) == 0);
    CHECK(us == INT64_C(1618225182000000));
    CHECK(mf__ts_parse(s, 0, &us) == -1);
    char exact[10];
    memcpy(exact, "2021-04-12", 10); /* no terminator at all */
    CHECK(mf__ts_parse(exact, sizeof exact, &us) == 0);
}

static void test_ts_leap_years(void) {
    int64_t us;
    static const char *const ok[] = {"2000-02-29", "2024-02-29", "2400-02-29",
                                     "0004-02-29", "1996-02-29T23:59:59Z"};
    static const char *const no[] = {"1900-02-29", "2100-02-29", "2023-02-29",
                                     "0001-02-29", "2000-02-30"};
    for (size_t i = 0; i < MF__ARRAY_LEN(ok); i++) CHECK(ts(ok[i], &us) == 0);
    for (size_t i = 0; i < MF__ARRAY_LEN(no); i++) CHECK(ts(no[i], &us) == -1);
    CHECK(ts("2024-02-29", &us) == 0);
    CHECK(us / 1000000 == epoch_of(2024, 2, 29, 0, 0, 0));
    int64_t mar1;
    CHECK(ts("2024-03-01", &mar1) == 0);
    CHECK(mar1 - us == INT64_C(86400000000));
}

/* Every calendar day of years 1..9999 (about 3.65M) against timegm. */
static void test_ts_every_day(void) {
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t prev = INT64_MIN;
    char text[32];
    for (int y = 1; y <= 9999; y++) {
        bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        for (int m = 1; m <= 12; m++) {
            int nd = dim[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= nd; d++) {
                snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
                int64_t us;
                CHECK(mf__ts_parse(text, 10, &us) == 0);
                if (prev != INT64_MIN) CHECK(us - prev == INT64_C(86400000000));
                prev = us;
                /* timegm is slow-ish: check a day in every 7 and all of
                 * the years around the epoch and the ends. */
                if ((y % 7 == 0 || y < 3 || y > 9997 || (y > 1960 && y < 1980)) &&
                    us / 1000000 != epoch_of(y, m, d, 0, 0, 0)) {
                    printf("#   %s: %lld vs timegm %lld\n", text, (long long)us,
                           (long long)epoch_of(y, m, d, 0, 0, 0));
                    CHECK(0);
                }
                char out[MF__TS_BUFLEN];
                size_t n = mf__ts_format(us, out);
                CHECK(n == 20);
                CHECK(memcmp(out, text, 10) == 0);
                CHECK(strcmp(out + 10, "T00:00:00Z") == 0);
            }
        }
    }
}

/*---- Timestamps: formatting ----------------------------------------------*/

static void test_ts_format(void) {
    char buf[MF__TS_BUFLEN];
    CHECK(mf__ts_format(0, buf) == 20);
    CHECK_STR(buf, "1970-01-01T00:00:00Z");
    mf__ts_format(INT64_C(1618225182000000), buf);
    CHECK_STR(buf, "2021-04-12T10:59:42Z");
    CHECK(mf__ts_format(INT64_C(1618225182123000), buf) == 27);
    CHECK_STR(buf, "2021-04-12T10:59:42.123000Z");
    mf__ts_format(INT64_C(1618225182000001), buf);
    CHECK_STR(buf, "2021-04-12T10:59:42.000001Z");
    mf__ts_format(INT64_C(253402300799999999), buf);
    CHECK_STR(buf, "9999-12-31T23:59:59.999999Z");
    mf__ts_format(INT64_C(-62135596800000000), buf);
    CHECK_STR(buf, "0001-01-01T00:00:00Z");
    /* Whatever the value, something sensible and bounded is written. */
    CHECK(mf__ts_format(INT64_MAX, buf) < MF__TS_BUFLEN);
    CHECK_STR(buf, "294247-01-10T04:00:54.775807Z");
    CHECK(mf__ts_format(INT64_MIN, buf) < MF__TS_BUFLEN);
    CHECK_STR(buf, "-290308-12-21T19:59:05.224192Z");
}

static void test_ts_negative_epochs(void) {
    char buf[MF__TS_BUFLEN];
    int64_t us;
    mf__ts_format(-1, buf);
    CHECK_STR(buf, "1969-12-31T23:59:59.999999Z");
    mf__ts_format(-1000000, buf);
    CHECK_STR(buf, "1969-12-31T23:59:59Z");
    mf__ts_format(-500000, buf);
    CHECK_STR(buf, "1969-12-31T23:59:59.500000Z");
    mf__ts_format(INT64_C(-86400000000), buf);
    CHECK_STR(buf, "1969-12-31T00:00:00Z");
    mf__ts_format(INT64_C(-86400000001), buf);
    CHECK_STR(buf, "1969-12-30T23:59:59.999999Z");
    CHECK(ts("1969-12-31T23:59:59.5Z", &us) == 0);
    CHECK(us == -500000);
    CHECK(ts("1969-12-31T23:59:59.9999999Z", &us) == 0); /* truncated */
    CHECK(us == -1);
    CHECK(ts("1900-01-01T00:00:00Z", &us) == 0);
    CHECK(us == INT64_C(-2208988800000000));
    CHECK(ts("-2208988800", &us) == 0);
    CHECK(us == INT64_C(-2208988800000000));
    CHECK(ts("1969-12-31T23:00:00-01:00", &us) == 0);
    CHECK(us == 0);
    /* year 0 in UTC: refused, as "0000-12-31T23:00:00Z" would not read back */
    CHECK(ts("0001-01-01T00:00:00+01:00", &us) == -1);
    CHECK(ts("0001-01-01T01:00:00+01:00", &us) == 0);
    mf__ts_format(us, buf);
    CHECK_STR(buf, "0001-01-01T00:00:00Z");
}

static void test_ts_round_trips(void) {
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"2021-04-12T10:59:42Z", "2021-04-12T10:59:42Z"},
        {"2021-04-12 10:59:42", "2021-04-12T10:59:42Z"},
        {"2021-04-12T12:59:42.5+02:00", "2021-04-12T10:59:42.500000Z"},
        {"2021-04-12T10:59:42.000000001Z", "2021-04-12T10:59:42Z"},
        {"2021-04-12", "2021-04-12T00:00:00Z"},
        {"1618225182", "2021-04-12T10:59:42Z"},
        {"-1", "1969-12-31T23:59:59Z"},
        {"2021-01-01T00:30:00+01:00", "2020-12-31T23:30:00Z"},
        {"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        int64_t us;
        char buf[MF__TS_BUFLEN];
        CHECK(ts(cases[i].in, &us) == 0);
        size_t n = mf__ts_format(us, buf);
        CHECK(n == strlen(buf));
        CHECK_STR(buf, cases[i].out);
    }
    /* Random instants over the whole range: parse(format(x)) == x. */
    const int64_t lo = INT64_C(-62135596800000000), hi = INT64_C(253402300799999999);
    for (int i = 0; i < 200000; i++) {
        int64_t us = lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
        if (i % 4 == 0) us -= us % 1000000; /* some whole seconds */
        char buf[MF__TS_BUFLEN];
        size_t n = mf__ts_format(us, buf);
        int64_t back;
        CHECK(mf__ts_parse(buf, n, &back) == 0);
        if (back != us) printf("#   %lld -> %s -> %lld\n", (long long)us, buf, (long long)back);
        CHECK(back == us);
        CHECK(buf[n - 1] == 'Z');
        CHECK(n == (us % 1000000 ? 27u : 20u));
    }
}

/*---- Integers and booleans -----------------------------------------------*/

static int i64(const char *s, int64_t *v) { return mf__parse_int64(s, strlen(s), v); }

static void test_parse_int64(void) {
    int64_t v;
    CHECK(i64("0", &v) == 0 && v == 0);
    CHECK(i64("-0", &v) == 0 && v == 0);
    CHECK(i64("+42", &v) == 0 && v == 42);
    CHECK(i64("-42", &v) == 0 && v == -42);
    CHECK(i64("007", &v) == 0 && v == 7);
    CHECK(i64("00000000000000000000000000001", &v) == 0 && v == 1);
    CHECK(i64("9223372036854775807", &v) == 0 && v == INT64_MAX);
    CHECK(i64("-9223372036854775808", &v) == 0 && v == INT64_MIN);
    CHECK(i64("-0009223372036854775808", &v) == 0 && v == INT64_MIN);
    CHECK(i64("1000000000000000000", &v) == 0 && v == INT64_C(1000000000000000000));
    v = 5;
    static const char *const bad[] = {
        "", "-", "+", "--1", "+-1", " 1", "1 ", "1.0", "1e3", "0x10", "12a",
        "9223372036854775808", "-9223372036854775809", "10000000000000000000",
        "18446744073709551616", "99999999999999999999999", "１",
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(bad); i++) {
        if (i64(bad[i], &v) != -1) printf("#   accepted \"%s\"\n", bad[i]);
        CHECK(i64(bad[i], &v) == -1);
    }
    CHECK(v == 5);
    CHECK(mf__parse_int64("12345", 3, &v) == 0 && v == 123);
}

static void test_parse_int32(void) {
    int32_t v;
    CHECK(mf__parse_int32("2147483647", 10, &v) == 0 && v == INT32_MAX);
    CHECK(mf__parse_int32("-2147483648", 11, &v) == 0 && v == INT32_MIN);
    CHECK(mf__parse_int32("2147483648", 10, &v) == -1);
    CHECK(mf__parse_int32("-2147483649", 11, &v) == -1);
    CHECK(mf__parse_int32("9223372036854775807", 19, &v) == -1);
    CHECK(mf__parse_int32("17", 2, &v) == 0 && v == 17);
    CHECK(mf__parse_int32("", 0, &v) == -1);
    CHECK(mf__parse_int32("1.", 2, &v) == -1);
}

static void test_parse_bool(void) {
    static const char *const t[] = {"true", "True", "TRUE", "tRuE", "t", "T",
                                    "yes", "Yes", "YES", "1"};
    static const char *const f[] = {"false", "False", "FALSE", "f", "F",
                                    "no", "No", "NO", "0"};
    static const char *const bad[] = {"", "tru", "truee", "yes ", " no", "2",
                                      "-1", "00", "y", "n", "on", "off", "nil"};
    bool b;
    for (size_t i = 0; i < MF__ARRAY_LEN(t); i++) {
        b = false;
        CHECK(mf__parse_bool(t[i], strlen(t[i]), &b) == 0 && b);
    }
    for (size_t i = 0; i < MF__ARRAY_LEN(f); i++) {
        b = true;
        CHECK(mf__parse_bool(f[i], strlen(f[i]), &b) == 0 && !b);
    }
    for (size_t i = 0; i < MF__ARRAY_LEN(bad); i++)
        CHECK(mf__parse_bool(bad[i], strlen(bad[i]), &b) == -1);
    CHECK(mf__parse_bool("truex", 4, &b) == 0 && b);
    CHECK(mf__parse_bool("no", 1, &b) == -1);
}

/*---- Floating point ------------------------------------------------------*/

static bool same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
static bool same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static int dbl(const char *s, double *v) { return mf__parse_double(s, strlen(s), v); }
static int flt(const char *s, float *v) { return mf__parse_float(s, strlen(s), v); }

static void test_parse_double(void) {
    double v;
    CHECK(dbl("1.5", &v) == 0 && v == 1.5);
    CHECK(dbl("-1.5", &v) == 0 && v == -1.5);
    CHECK(dbl("+2", &v) == 0 && v == 2);
    CHECK(dbl(".5", &v) == 0 && v == 0.5);
    CHECK(dbl("5.", &v) == 0 && v == 5);
    CHECK(dbl("1e3", &v) == 0 && v == 1000);
    CHECK(dbl("1E-3", &v) == 0 && v == 0.001);
    CHECK(dbl("2.5e+10", &v) == 0 && v == 2.5e10);
    CHECK(dbl("0.1", &v) == 0 && v == 0.1);
    CHECK(dbl("-0.0", &v) == 0 && v == 0 && signbit(v));
    CHECK(dbl("0e999999", &v) == 0 && v == 0);
    CHECK(dbl("0.70372635", &v) == 0 && v == 0.70372635);
    CHECK(dbl("123456789012345678901234567890", &v) == 0 && v == 123456789012345678901234567890.0);
    CHECK(dbl("9007199254740993", &v) == 0 && v == 9007199254740992.0); /* ties to even */
    CHECK(dbl("1.7976931348623157e308", &v) == 0 && v == 1.7976931348623157e308);
    CHECK(dbl("4.9e-324", &v) == 0 && v == 4.9e-324);
    CHECK(dbl("1e-400", &v) == 0 && v == 0); /* underflow is fine */
    CHECK(dbl("inf", &v) == 0 && isinf(v) && v > 0);
    CHECK(dbl("-INF", &v) == 0 && isinf(v) && v < 0);
    CHECK(dbl("Infinity", &v) == 0 && isinf(v));
    CHECK(dbl("nan", &v) == 0 && isnan(v));
    CHECK(dbl("NaN", &v) == 0 && isnan(v));
    CHECK(dbl("-nan", &v) == 0 && isnan(v));
    v = 42;
    static const char *const bad[] = {
        "", ".", "-", "+", "e5", ".e5", "1e", "1e+", "1e-", "1.5.2", "0x10",
        "0X1p3", " 1", "1 ", "\t1", "1\n", "1,5", "1e400", "-1e400", "1f",
        "infinit", "nana", "1_000", "--1", "1e5e5",
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(bad); i++) {
        if (dbl(bad[i], &v) != -1) printf("#   accepted \"%s\"\n", bad[i]);
        CHECK(dbl(bad[i], &v) == -1);
    }
    CHECK(v == 42);
    /* Stops at len; long text. */
    CHECK(mf__parse_double("1.5e3", 3, &v) == 0 && v == 1.5);
    CHECK(mf__parse_double("12", 1, &v) == 0 && v == 1);
    char big[600];
    memset(big, '0', sizeof big);
    big[508] = '1', big[509] = '.', big[510] = '5'; /* 000...0001.5 */
    CHECK(mf__parse_double(big, 511, &v) == 0 && v == 1.5);
    CHECK(mf__parse_double(big, 512, &v) == -1);
    CHECK(mf__parse_double(big, 600, &v) == -1);
}

static void test_parse_float(void) {
    float v;
    CHECK(flt("1.5", &v) == 0 && v == 1.5f);
    CHECK(flt("0.1", &v) == 0 && v == 0.1f);
    CHECK(flt("-0", &v) == 0 && v == 0 && signbit(v));
    CHECK(flt("3.4028235e38", &v) == 0 && v == 3.4028235e38f);
    CHECK(flt("16777217", &v) == 0 && v == 16777216.0f);
    CHECK(flt("1e-50", &v) == 0 && v == 0);
    CHECK(flt("inf", &v) == 0 && isinf(v));
    CHECK(flt("nan", &v) == 0 && isnan(v));
    CHECK(flt("1e39", &v) == -1);
    CHECK(flt("-3.5e38", &v) == -1);
    CHECK(flt("", &v) == -1);
    CHECK(flt("0x1", &v) == -1);
    CHECK(flt("1.5 ", &v) == -1);
}

/* Random decimal texts, read by us and by strtod/strtof: bit-identical. */
static void test_parse_matches_strtod(void) {
    char s[64];
    for (int i = 0; i < 300000; i++) {
        int nd = 1 + (int)(rnd() % 20), dot = (int)(rnd() % (unsigned)(nd + 2));
        size_t n = 0;
        if (rnd() % 3 == 0) s[n++] = '-';
        for (int k = 0; k < nd; k++) {
            if (k == dot) s[n++] = '.';
            s[n++] = (char)('0' + rnd() % 10);
        }
        if (rnd() % 3 == 0)
            n += (size_t)sprintf(s + n, "e%d", (int)(rnd() % 80) - 40);
        s[n] = '\0';
        double d, want_d = strtod(s, NULL);
        float f, want_f = strtof(s, NULL);
        CHECK(mf__parse_double(s, n, &d) == 0);
        if (isinf(want_f)) { /* finite text too large for a float */
            CHECK(mf__parse_float(s, n, &f) == -1);
            f = want_f;
        } else {
            CHECK(mf__parse_float(s, n, &f) == 0);
        }
        if (!same_double(d, want_d) || !same_float(f, want_f))
            printf("#   %s: %.17g vs %.17g, %.9g vs %.9g\n", s, d, want_d, f, want_f);
        CHECK(same_double(d, want_d));
        CHECK(same_float(f, want_f));
    }
}

static void test_format_double(void) {
    char buf[MF__NUM_BUFLEN];
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.0, "0"}, {1.0, "1"}, {-3.0, "-3"}, {123456789012345.0, "123456789012345"},
        {1e15, "1e+15"}, {0.1, "0.1"}, {1.5, "1.5"}, {-2.25, "-2.25"},
        {1.0 / 3, "0.3333333333333333"}, {0.1 + 0.2, "0.30000000000000004"},
        {1e21, "1e+21"}, {1e-7, "1e-07"}, {0.70372635, "0.70372635"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {9007199254740993.0, "9007199254740992"},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        size_t n = mf__format_double(cases[i].v, buf);
        CHECK(n == strlen(buf));
        CHECK_STR(buf, cases[i].text);
    }
    mf__format_double(-0.0, buf);
    CHECK_STR(buf, "-0");
    mf__format_double(NAN, buf);
    CHECK_STR(buf, "nan");
    mf__format_double(INFINITY, buf);
    CHECK_STR(buf, "inf");
    mf__format_double(-INFINITY, buf);
    CHECK_STR(buf, "-inf");
}

/* Random bit patterns: the text reads back bit-identical, and is the
 * shortest of the %.15g/%.16g/%.17g candidates. */
static void test_format_double_round_trip(void) {
    char buf[MF__NUM_BUFLEN], want[64];
    for (int i = 0; i < 300000; i++) {
        double v;
        uint64_t bits = rnd();
        if (i % 3 == 0) v = (double)(int64_t)(bits >> (rnd() % 64)) / (double)(1 + rnd() % 1000);
        else if (i % 3 == 1) v = (double)(bits % 100000000) / 1e4;
        else memcpy(&v, &bits, sizeof v);
        if (isnan(v)) continue;
        size_t n = mf__format_double(v, buf);
        CHECK(n == strlen(buf) && n < MF__NUM_BUFLEN);
        double back;
        CHECK(mf__parse_double(buf, n, &back) == 0);
        CHECK(same_double(back, v) || (v == 0 && back == 0 && signbit(v) == signbit(back)));
        int prec = 15;
        for (; prec < 17; prec++) {
            snprintf(want, sizeof want, "%.*g", prec, v);
            if (strtod(want, NULL) == v) break;
        }
        snprintf(want, sizeof want, "%.*g", prec, v);
        if (v != 0 && !isinf(v) && strcmp(buf, want) != 0)
            printf("#   %.17g: %s vs %s\n", v, buf, want);
        CHECK(v == 0 || isinf(v) || strcmp(buf, want) == 0);
    }
}

static void test_format_float_round_trip(void) {
    char buf[MF__NUM_BUFLEN], want[64];
    size_t n = mf__format_float(0.1f, buf);
    CHECK(n == 3);
    CHECK_STR(buf, "0.1");
    mf__format_float(16777216.0f, buf);
    CHECK_STR(buf, "16777216");
    mf__format_float(1e6f, buf);
    CHECK_STR(buf, "1e+06");
    mf__format_float(-42.0f, buf);
    CHECK_STR(buf, "-42");
    mf__format_float(3.4028235e38f, buf);
    CHECK_STR(buf, "3.4028235e+38");
    mf__format_float(-INFINITY, buf);
    CHECK_STR(buf, "-inf");
    mf__format_float(-0.0f, buf);
    CHECK_STR(buf, "-0");
    for (int i = 0; i < 300000; i++) {
        float v;
        uint32_t bits = (uint32_t)rnd();
        if (i % 2) v = (float)(bits % 1000000) / 1000.0f;
        else memcpy(&v, &bits, sizeof v);
        if (isnan(v)) continue;
        n = mf__format_float(v, buf);
        CHECK(n == strlen(buf) && n < MF__NUM_BUFLEN);
        float back;
        CHECK(mf__parse_float(buf, n, &back) == 0);
        CHECK(same_float(back, v) || (v == 0 && back == 0));
        int prec = 6;
        for (; prec < 9; prec++) {
            snprintf(want, sizeof want, "%.*g", prec, (double)v);
            if (strtof(want, NULL) == v) break;
        }
        snprintf(want, sizeof want, "%.*g", prec, (double)v);
        CHECK(v == 0 || isinf(v) || strcmp(buf, want) == 0);
    }
}

/* A process locale with a decimal comma must not change the text. */
static void test_locale_independent(void) {
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < MF__ARRAY_LEN(names) && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    printf("# numeric locale for this test: %s\n", got ? got : "C (none other installed)");
    char buf[MF__NUM_BUFLEN];
    double v;
    float f;
    int ok = dbl("1.25e300", &v) == 0 && v == 1.25e300 && flt("1.2345678", &f) == 0 &&
             f == 1.2345678f;
    mf__format_double(0.1 + 0.2, buf);
    setlocale(LC_NUMERIC, "C");
    CHECK(ok);
    CHECK_STR(buf, "0.30000000000000004");
}

int main(void) {
    RUN(test_ts_accepted_forms);
    RUN(test_ts_rejected);
    RUN(test_ts_not_nul_terminated);
    RUN(test_ts_leap_years);
    RUN(test_ts_every_day);
    RUN(test_ts_format);
    RUN(test_ts_negative_epochs);
    RUN(test_ts_round_trips);
    RUN(test_parse_int64);
    RUN(test_parse_int32);
    RUN(test_parse_bool);
    RUN(test_parse_double);
    RUN(test_parse_float);
    RUN(test_parse_matches_strtod);
    RUN(test_format_double);
    RUN(test_format_double_round_trip);
    RUN(test_format_float_round_trip);
    RUN(test_locale_independent);
    MFT_END();
}
