/*
 * test_numfmt.c — unit tests of numfmt.c (mf__format_double,
 * mf__format_float).
 *
 * The formatters must write exactly what the implementation they replaced
 * wrote, byte for byte, for every input. That implementation is kept below
 * as the reference (ref_format_double/float: snprintf("%.*g") for P = 15,
 * 16, 17 [6 to 9] until the text reads back, after two fast paths), compiled
 * only into this test. The differential tests run both over millions of
 * values: random bit patterns, the neighbours of every power of ten and of
 * two, subnormals, integers near 2^53 and the other limits, exact ties,
 * values of 15, 16 and 17 digits, the special values; for floats a large
 * random sample and every float of some ranges. A table of texts worked
 * out independently (Python's correctly rounded %g and exact fractions)
 * pins the rule itself. The last test prints the time per value, old and
 * new (not checked: a benchmark is not a test).
 *
 * Under ASan/UBSan the samples are half the size.
 */
#define _GNU_SOURCE /* newlocale, uselocale for the reference */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "mf_internal.h"
#include "mf_values.h"
#include "mft.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* sample sizes: full in the normal build, half under the sanitizers */
#define SAMPLE(n) (SANITIZED ? (n) / 2 : (n))

/*---- The reference: the implementation numfmt.c replaced ----------------*/

/* The "C" locale, created once and shared by every thread; (locale_t)0 if
 * it cannot be created (then the process locale is used). */
static locale_t c_locale(void) {
    static _Atomic(locale_t) cached;
    locale_t l = atomic_load_explicit(&cached, memory_order_acquire);
    if (l) return l;
    locale_t fresh = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!fresh) return (locale_t)0;
    locale_t expected = (locale_t)0;
    if (!atomic_compare_exchange_strong(&cached, &expected, fresh)) {
        freelocale(fresh);
        return expected;
    }
    return fresh;
}

static const double pow10_d[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Write the integer v (|v| < 10^18) in decimal. */
static size_t format_integer(int64_t v, char *buf) {
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return n;
}

/* Special values shared by double and float: returns the length written,
 * or 0 when v is an ordinary nonzero number. */
static size_t format_special(double v, char *buf) {
    const char *t = isnan(v)   ? "nan"
                    : isinf(v) ? (v < 0 ? "-inf" : "inf")
                    : v == 0   ? (signbit(v) ? "-0" : "0")
                               : NULL;
    if (!t) return 0;
    size_t n = strlen(t);
    memcpy(buf, t, n + 1);
    return n;
}

/* snprintf("%.*g") in the "C" locale. */
static size_t format_g(double v, int prec, char *buf) {
    locale_t loc = c_locale(), old = loc ? uselocale(loc) : (locale_t)0;
    int n = snprintf(buf, MF__NUM_BUFLEN, "%.*g", prec, v);
    if (loc) uselocale(old);
    return (size_t)n;
}

/* Fast path for decimals in fixed notation, where %g would not use an
 * exponent ([1e-4, lim)): the fewest fractional digits k such that
 * n / 10^k reads back as v. n and 10^k are exact doubles (|n| < 2^53,
 * k <= 22) and IEEE division rounds correctly, so n / 10^k is exactly what
 * strtod makes of the text; n is tried at +-1 of round(v * 10^k) because
 * that product is itself rounded. Digits beyond the shortest are never
 * written: the first k that works is the shortest, and its text is what
 * %.Pg writes for the shortest P. Returns 0 when the value is not covered
 * (the caller then uses snprintf). */
static size_t format_fixed(double v, double lim, int max_k, bool as_float, char *buf) {
    const double *p10 = pow10_d;
    double a = fabs(v);
    if (!(a >= 1e-4 && a < lim)) return 0;
    for (int k = 1; k <= max_k; k++) {
        double scaled = a * p10[k];
        if (scaled >= 9007199254740992.0) return 0;
        int64_t c = (int64_t)(scaled + 0.5), best = 0;
        /* a * 10^k exactly, as hi + lo (fma gives the product's rounding
         * error), so that distances to n compare exactly */
        double lo_part = fma(a, p10[k], -scaled), best_d = 0;
        for (int64_t n = c - 1; n <= c + 1; n++) {
            if (n <= 0) continue;
            double back = (double)n / p10[k];
            if (as_float ? (float)back != (float)a : back != a) continue;
            /* of several that read back, the nearest (what %g rounds to) */
            double d = fabs(((double)n - scaled) - lo_part);
            /* an exact tie goes to the even digit, as printf rounds */
            if (!best || d < best_d || (d == best_d && n % 2 == 0)) best = n, best_d = d;
        }
        if (best) {
            int64_t n = best;
            /* digits of n with a point before the last k */
            char dig[24];
            int nd = 0;
            for (int64_t x = n; x; x /= 10) dig[nd++] = (char)('0' + x % 10);
            size_t len = 0;
            if (v < 0) buf[len++] = '-';
            if (nd <= k) {
                buf[len++] = '0';
                buf[len++] = '.';
                for (int z = 0; z < k - nd; z++) buf[len++] = '0';
                while (nd) buf[len++] = dig[--nd];
            } else {
                while (nd > k) buf[len++] = dig[--nd];
                buf[len++] = '.';
                while (nd) buf[len++] = dig[--nd];
            }
            buf[len] = '\0';
            return len;
        }
    }
    return 0;
}

static size_t ref_format_double(double v, char *buf) {
    size_t n = format_special(v, buf);
    if (n) return n;
    /* Integers below 10^15 are what %.15g writes them as, and exact. */
    if (fabs(v) < 1e15 && v == (double)(int64_t)v)
        return format_integer((int64_t)v, buf);
    if ((n = format_fixed(v, 1e15, 22, false, buf)) != 0) return n;
    for (int prec = 15; prec < 17; prec++) {
        double back;
        n = format_g(v, prec, buf);
        if (mf__parse_double(buf, n, &back) == 0 && back == v) return n;
    }
    return format_g(v, 17, buf);
}

static size_t ref_format_float(float v, char *buf) {
    size_t n = format_special(v, buf);
    if (n) return n;
    if (fabsf(v) < 1e6f && v == (float)(int32_t)v)
        return format_integer((int64_t)v, buf);
    /* the decimal fast path, confirmed by the exact float parser (going
     * through double can round twice) */
    if ((n = format_fixed(v, 1e6, 14, true, buf)) != 0) {
        float back;
        if (mf__parse_float(buf, n, &back) == 0 && back == v) return n;
    }
    for (int prec = 6; prec < 9; prec++) {
        float back;
        n = format_g(v, prec, buf);
        if (mf__parse_float(buf, n, &back) == 0 && back == v) return n;
    }
    return format_g(v, 9, buf);
}

/*---- Helpers -------------------------------------------------------------*/

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static double dbl_of(uint64_t bits) {
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}
static uint64_t bits_of(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}
static float flt_of(uint32_t bits) {
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Values compared and mismatches seen by the differential tests. */
static long n_compared, n_mismatched;
static double test_start;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Format v both ways; false (after a # line naming v and both texts) when
 * they differ in any byte or in the returned length. */
static bool same_double(double v) {
    char got[MF__NUM_BUFLEN + 8], want[MF__NUM_BUFLEN + 8];
    memset(got, 'x', sizeof got);
    size_t n = mf__format_double(v, got);
    size_t m = ref_format_double(v, want);
    n_compared++;
    if (n == m && n < MF__NUM_BUFLEN && memcmp(got, want, n + 1) == 0) return true;
    if (n_mismatched++ < 10)
        printf("#   double 0x%016llx (%.17g): got \"%.*s\" (%zu), want \"%s\"\n",
               (unsigned long long)bits_of(v), v, (int)(n < sizeof got ? n : sizeof got), got,
               n, want);
    return false;
}

static bool same_float(float v) {
    char got[MF__NUM_BUFLEN + 8], want[MF__NUM_BUFLEN + 8];
    memset(got, 'x', sizeof got);
    size_t n = mf__format_float(v, got);
    size_t m = ref_format_float(v, want);
    n_compared++;
    if (n == m && n < MF__NUM_BUFLEN && memcmp(got, want, n + 1) == 0) return true;
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    if (n_mismatched++ < 10)
        printf("#   float 0x%08x (%.9g): got \"%.*s\" (%zu), want \"%s\"\n", b, (double)v,
               (int)(n < sizeof got ? n : sizeof got), got, n, want);
    return false;
}

/* Both signs. */
static bool same_double2(double v) { return same_double(v) & same_double(-v); }

/* v and its k nearest neighbours on each side. */
static bool same_double_around(double v, int k) {
    bool ok = same_double(v);
    double up = v, down = v;
    for (int i = 0; i < k; i++) {
        up = nextafter(up, INFINITY);
        down = nextafter(down, -INFINITY);
        ok &= same_double(up) & same_double(down);
    }
    return ok;
}

static bool same_float_around(float v, int k) {
    bool ok = same_float(v);
    float up = v, down = v;
    for (int i = 0; i < k; i++) {
        up = nextafterf(up, INFINITY);
        down = nextafterf(down, -INFINITY);
        ok &= same_float(up) & same_float(down);
    }
    return ok;
}

/* Report the running count of a differential test. */
static void counted(const char *what, long before) {
    printf("# %s: %ld values compared (%.1f s)\n", what, n_compared - before, now_s() - test_start);
    test_start = now_s();
}

/*---- The rule, independently ---------------------------------------------*/

/* Texts worked out with Python: the first of '%.15g', '%.16g', '%.17g'
 * (floats: '%.6g' to '%.9g' of the exact value) that reads back, with
 * exact rounding to float32 done in fractions. */
static void test_known_doubles(void) {
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},
        {0.5, "0.5"},
        {1.5, "1.5"},
        {-2.25, "-2.25"},
        {1.0 / 3, "0.3333333333333333"},
        {0.30000000000000004, "0.30000000000000004"},
        {1e21, "1e+21"},
        {1e-7, "1e-07"},
        {1e15, "1e+15"},
        {1e16, "1e+16"},
        {123456789012345.6, "123456789012345.6"},
        {0.70372635, "0.70372635"},
        {0x1p53, "9007199254740992"},
        {0x1p53 + 2, "9007199254740994"},
        {0x1p60, "1.152921504606847e+18"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {0x1p-1074, "4.94065645841247e-324"},           /* smallest subnormal */
        {0x1p-1022, "2.2250738585072014e-308"},         /* smallest normal */
        {0x0.fffffffffffffp-1022, "2.225073858507201e-308"}, /* largest subnormal */
        {1e-310, "9.99999999999997e-311"},
        {0x1p89, "6.1897001964269014e+26"},   /* a power of two: 16 digits miss */
        {0x1p-24, "5.9604644775390625e-08"},  /* likewise */
        {-0x1p-44, "-5.6843418860808015e-14"}, /* likewise */
        {5.9447410000000005, "5.9447410000000005"}, /* 0.023731 * 100 + 0.571641 + 3 */
        {1e-4, "0.0001"},
        {9.999999999999999e-05, "9.999999999999999e-05"},
        {999999999999999.5, "999999999999999.5"},
        {0x1p50 + 0.25, "1125899906842624.2"}, /* an exact tie: to even */
        {0x1p49 + 0.25, "562949953421312.2"},  /* likewise, at 16 digits */
        {-100.0, "-100"},
        {3.14159, "3.14159"},
        {1e100, "1e+100"},
        {1.5e-300, "1.5e-300"},
        {123.456, "123.456"},
        {0.000123456789, "0.000123456789"},
        {4.35e-05, "4.35e-05"},
        {0.0, "0"},
        {-0.0, "-0"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
        {NAN, "nan"},
        {-NAN, "nan"},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        char buf[MF__NUM_BUFLEN];
        size_t n = mf__format_double(cases[i].v, buf);
        CHECK(n == strlen(buf));
        CHECK_STR(buf, cases[i].text);
        CHECK(same_double(cases[i].v));
    }
}

static void test_known_floats(void) {
    static const struct {
        float v;
        const char *text;
    } cases[] = {
        {0.1f, "0.1"},
        {1e6f, "1e+06"},
        {16777216.0f, "16777216"},
        {3.4028234663852886e38f, "3.4028235e+38"},
        {0x1p-149f, "1.4013e-45"},         /* smallest subnormal */
        {0x1p-126f, "1.1754944e-38"},      /* smallest normal */
        {0x1p-96f, "1.26217745e-29"},      /* a power of two: 8 digits miss */
        {0x1p87f, "1.54742505e+26"},       /* likewise */
        {0x1p90f, "1.23794004e+27"},       /* likewise */
        {0.3f, "0.3"},
        {1.1f, "1.1"},
        {123456.7f, "123456.7"},
        {0.000123f, "0.000123"},
        {7e-39f, "7e-39"},
        {-2.5f, "-2.5"},
        {1e10f, "1e+10"},
        {3.14159265f, "3.1415927"},
        {1e-4f, "0.0001"},
        {999999.9f, "999999.9"},
        {-0.0f, "-0"},
        {INFINITY, "inf"},
        {NAN, "nan"},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        char buf[MF__NUM_BUFLEN];
        size_t n = mf__format_float(cases[i].v, buf);
        CHECK(n == strlen(buf));
        CHECK_STR(buf, cases[i].text);
        CHECK(same_float(cases[i].v));
    }
}

/*---- Doubles against the reference ---------------------------------------*/

static void test_double_random_bits(void) {
    long before = n_compared;
    bool ok = true;
    for (long i = 0; i < SAMPLE(3000000); i++) ok &= same_double(dbl_of(rnd()));
    /* every binary exponent, several significands each */
    for (uint64_t e = 0; e < 2047; e++)
        for (int i = 0; i < SAMPLE(200); i++)
            ok &= same_double(dbl_of(e << 52 | (rnd() >> 12)));
    counted("random bit patterns", before);
    CHECK(ok);
}

/* The neighbours of each power of ten (where the decimal exponent and
 * %g's choice of notation change), and random values close to them. */
static void test_double_near_powers_of_ten(void) {
    long before = n_compared;
    bool ok = true;
    char text[32];
    for (int e = -324; e <= 308; e++) {
        snprintf(text, sizeof text, "1e%d", e);
        double p = strtod(text, NULL);
        ok &= same_double_around(p, SAMPLE(400));
        for (int i = 0; i < SAMPLE(400); i++) {
            double f = 1 + ((double)(rnd() >> 11) / 9007199254740992.0 - 0.5) * 1e-3;
            ok &= same_double2(p * f);
        }
    }
    counted("near powers of ten", before);
    CHECK(ok);
}

/* Every power of two, both signs, with neighbours: the powers of two have
 * the asymmetric interval (the exact path). */
static void test_double_powers_of_two(void) {
    long before = n_compared;
    bool ok = true;
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1, e);
        ok &= same_double_around(p, 3) & same_double_around(-p, 3);
    }
    counted("powers of two", before);
    CHECK(ok);
}

static void test_double_subnormals(void) {
    long before = n_compared;
    bool ok = true;
    for (uint64_t c = 1; c <= 3000; c++) /* the smallest and the largest */
        ok &= same_double2(dbl_of(c)) & same_double2(dbl_of((UINT64_C(1) << 52) - c));
    for (long i = 0; i < SAMPLE(150000); i++) {
        uint64_t c = rnd() >> 12 >> (rnd() % 52); /* every magnitude */
        ok &= same_double(dbl_of(c | (rnd() & UINT64_C(1) << 63)));
    }
    counted("subnormals", before);
    CHECK(ok);
}

/* Integers around 2^53 and the other limits of the integer and fixed
 * notations, and random large integers. */
static void test_double_integers(void) {
    long before = n_compared;
    bool ok = true;
    const double limits[] = {0x1p53, 1e15, 1e16, 1e17, 1e18, 0x1p63, 0x1p64, 1e21, 1e22, 1e23};
    for (size_t i = 0; i < MF__ARRAY_LEN(limits); i++) ok &= same_double_around(limits[i], SAMPLE(40000));
    for (long i = 0; i < SAMPLE(200000); i++) {
        ok &= same_double2((double)(rnd() >> (rnd() % 64)));
        ok &= same_double2((double)(int64_t)(rnd() % UINT64_C(1000000000000000000)));
    }
    /* just off an integer (or a multiple of a power of ten): within the
     * short-decimal shortcut's tolerance, but not short */
    for (long i = 0; i < SAMPLE(100000); i++) {
        double n = (double)(rnd() % 1000000000) * pow10_d[rnd() % 4] / pow10_d[rnd() % 4];
        ok &= same_double_around(n, 4);
    }
    counted("integers", before);
    CHECK(ok);
}

/* Exact ties: values in [2^40, 2^53) have a few fractional bits, so their
 * exact decimal often ends in 5 just past the digit that %.Pg and the
 * shortest round at (2^50 + 0.25 is 1125899906842624.25). */
static void test_double_halfway(void) {
    long before = n_compared;
    bool ok = true;
    for (int e = 40; e < 53; e++)
        for (long i = 0; i < SAMPLE(20000); i++)
            ok &= same_double2(ldexp((double)((rnd() >> 11) | UINT64_C(1) << 52), e - 52));
    for (long i = 0; i < SAMPLE(50000); i++) {
        double n = ldexp(1, 50) + (double)(rnd() % (UINT64_C(1) << 50));
        ok &= same_double(n + 0.25) & same_double(n + 0.75);
    }
    /* decimals exactly between two doubles read from text: ties the
     * reader breaks to even */
    for (long i = 0; i < SAMPLE(50000); i++) {
        double v = dbl_of((rnd() >> 2) + (UINT64_C(1) << 61)); /* moderate range */
        double w = nextafter(v, INFINITY);
        ok &= same_double(v) & same_double(w) & same_double((v + w) / 2);
    }
    counted("halfway cases", before);
    CHECK(ok);
}

/* Decimals of 15, 16 and 17 significant digits (and 1 to 14) at random
 * exponents, read from text: the lengths where %.15g, %.16g and %.17g
 * take turns; and sums like an on-demand transform's. */
static void test_double_digits(void) {
    long before = n_compared;
    bool ok = true;
    char text[64];
    for (long i = 0; i < SAMPLE(600000); i++) {
        int nd = i % 3 == 0 ? 15 + (int)(rnd() % 3) : 1 + (int)(rnd() % 17);
        uint64_t d = 1 + rnd() % 9;
        for (int k = 1; k < nd; k++) d = d * 10 + rnd() % 10;
        int e = (int)(rnd() % 80) - 40;
        if (i % 7 == 0) e = (int)(rnd() % 600) - 300;
        snprintf(text, sizeof text, "%llue%d", (unsigned long long)d, e);
        ok &= same_double2(strtod(text, NULL));
    }
    for (long i = 0; i < SAMPLE(300000); i++) {
        double x = (double)(rnd() % 100000) / 1000;
        ok &= same_double2(0.023731 * x + 0.571641 + 3);
        ok &= same_double2(x * 1.1);
        ok &= same_double2(x / 3);
    }
    counted("15, 16, 17 digits", before);
    CHECK(ok);
}

static void test_double_special(void) {
    long before = n_compared;
    bool ok = same_double(0.0) & same_double(-0.0) & same_double(INFINITY) &
              same_double(-INFINITY) & same_double(NAN) & same_double(-NAN) &
              same_double(DBL_MAX) & same_double(-DBL_MAX) & same_double(DBL_MIN) &
              same_double(DBL_EPSILON) & same_double(DBL_TRUE_MIN);
    /* NaNs with payloads */
    for (int i = 0; i < 1000; i++) ok &= same_double(dbl_of(UINT64_C(0x7ff0000000000000) | (rnd() >> 12) | 1));
    counted("special values", before);
    CHECK(ok);
}

/* mf__format_int writes what "%lld" does. */
static void test_int(void) {
    static const int64_t known[] = {0, 1, -1, 9, 10, -10, 99, 100, 12345, -12345,
                                    INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
                                    INT64_MAX - 1, INT64_MIN + 1, 999999999999999999,
                                    1000000000000000000};
    char got[MF__NUM_BUFLEN], want[MF__NUM_BUFLEN];
    bool ok = true;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        size_t n = mf__format_int(known[i], got);
        snprintf(want, sizeof want, "%lld", (long long)known[i]);
        ok &= n == strlen(want) && strcmp(got, want) == 0;
    }
    for (int i = 0; i < 100000; i++) { /* every length, both signs */
        int64_t v = (int64_t)(rnd() >> (rnd() % 64));
        if (i & 1) v = -v;
        size_t n = mf__format_int(v, got);
        snprintf(want, sizeof want, "%lld", (long long)v);
        ok &= n == strlen(want) && strcmp(got, want) == 0;
    }
    CHECK(ok);
}

/*---- Floats against the reference ----------------------------------------*/

static void test_float_sample(void) {
    long before = n_compared;
    bool ok = true;
    for (long i = 0; i < SAMPLE(2500000); i++) ok &= same_float(flt_of((uint32_t)rnd()));
    for (uint32_t e = 0; e < 256; e++) /* every exponent */
        for (int i = 0; i < SAMPLE(1000); i++)
            ok &= same_float(flt_of(e << 23 | (uint32_t)(rnd() >> 41) | (uint32_t)(rnd() & 1) << 31));
    for (int e = -149; e <= 127; e++) /* powers of two, with neighbours */
        ok &= same_float_around(ldexpf(1, e), 3) & same_float_around(-ldexpf(1, e), 3);
    counted("float sample", before);
    CHECK(ok);
}

/* Every float of [1, 2) and [1e-4, 2e-4) (the short-decimal shortcut's
 * range and its lower end), every subnormal of a stretch, and the ends of
 * the integer and fixed ranges. */
static void test_float_ranges(void) {
    long before = n_compared;
    bool ok = true;
    uint32_t step = SANITIZED ? 7 : 1;
    for (uint32_t b = 0x3f800000; b < 0x40000000; b += step) ok &= same_float(flt_of(b));
    float lo = 1e-4f, hi = 2e-4f;
    uint32_t blo, bhi;
    memcpy(&blo, &lo, 4);
    memcpy(&bhi, &hi, 4);
    for (uint32_t b = blo; b < bhi; b += step) ok &= same_float(flt_of(b));
    for (uint32_t b = 1; b < 200000; b += step) ok &= same_float(flt_of(b)) & same_float(flt_of(0x00800000 - b));
    const float limits[] = {1e6f, 1e7f, 1e9f, 0x1p24f, 0x1p31f, 1e-5f, FLT_MAX};
    for (size_t i = 0; i < MF__ARRAY_LEN(limits); i++)
        ok &= same_float_around(limits[i], SAMPLE(20000)) & same_float_around(-limits[i], 100);
    counted("float ranges", before);
    CHECK(ok);
}

/*---- Speed ---------------------------------------------------------------*/

/* CPU time of this process: steadier than the wall clock on a machine
 * that other work shares. */
static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

#define SPEED_N 200000

/* CPU ns per value of fmt over vals, best of 3 runs. */
static double time_double(size_t (*fmt)(double, char *), const double *vals) {
    char buf[MF__NUM_BUFLEN];
    double best = INFINITY;
    volatile size_t sink = 0;
    for (int run = 0; run < 3; run++) {
        double t0 = now_ns();
        for (int i = 0; i < SPEED_N; i++) sink += fmt(vals[i], buf);
        double t = (now_ns() - t0) / SPEED_N;
        if (t < best) best = t;
    }
    (void)sink;
    return best;
}

static double time_float(size_t (*fmt)(float, char *), const float *vals) {
    char buf[MF__NUM_BUFLEN];
    double best = INFINITY;
    volatile size_t sink = 0;
    for (int run = 0; run < 3; run++) {
        double t0 = now_ns();
        for (int i = 0; i < SPEED_N; i++) sink += fmt(vals[i], buf);
        double t = (now_ns() - t0) / SPEED_N;
        if (t < best) best = t;
    }
    (void)sink;
    return best;
}

static void report(const char *what, double old_ns, double new_ns) {
    printf("# %-44s old %7.1f ns, new %6.1f ns (%.1fx)%s\n", what, old_ns, new_ns,
           old_ns / new_ns, SANITIZED ? " [sanitized build]" : "");
}

/* Significant digits of a formatted number. */
static int sig_digits(const char *s) {
    int n = 0;
    bool lead = true;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9') continue;
        if (*s != '0') lead = false;
        n += !lead;
    }
    return n;
}

/* Fill vals with n values of what on-demand transforms compute (a
 * feature times a weight plus an offset) whose text has between lo and
 * hi significant digits. */
static void fill_digits(double *vals, int lo, int hi) {
    char buf[MF__NUM_BUFLEN];
    for (int i = 0; i < SPEED_N;) {
        double x = (double)(rnd() >> 11) / 9007199254740992.0 * 100;
        double v = 0.023731 * x + 0.571641 + 3;
        mf__format_double(v, buf);
        int nd = sig_digits(buf);
        if (nd >= lo && nd <= hi) vals[i++] = v;
    }
}

/* Time per value, old and new, printed and not checked. */
static void test_speed(void) {
    static double d[SPEED_N];
    static float f[SPEED_N];
    char buf[MF__NUM_BUFLEN];
    /* 1 to 6 significant digits, not integers: 0.5, 12.25, 3.1416 */
    for (int i = 0; i < SPEED_N; i++) {
        int nd = 1 + i % 6, k = 1 + (int)(rnd() % (unsigned)nd);
        uint64_t m = 1 + rnd() % (uint64_t)(pow10_d[nd] - 1);
        if (m % 10 == 0) m++;
        d[i] = (double)m / pow10_d[k];
        mf__format_double(d[i], buf);
        CHECK(sig_digits(buf) <= 6);
    }
    report("double, 1-6 digits (0.5, 12.25, 3.1416)", time_double(ref_format_double, d),
           time_double(mf__format_double, d));
    fill_digits(d, 16, 16);
    report("double, 16 digits (x * 0.023731 + 3.571641)", time_double(ref_format_double, d),
           time_double(mf__format_double, d));
    fill_digits(d, 17, 17);
    report("double, 17 digits (x * 0.023731 + 3.571641)", time_double(ref_format_double, d),
           time_double(mf__format_double, d));
    for (int i = 0; i < SPEED_N; i++) {
        double v;
        do v = dbl_of(rnd());
        while (!isfinite(v));
        d[i] = v;
    }
    report("double, random bit patterns", time_double(ref_format_double, d),
           time_double(mf__format_double, d));
    for (int i = 0; i < SPEED_N; i++) d[i] = (double)(rnd() % 1000000);
    report("double, integers", time_double(ref_format_double, d), time_double(mf__format_double, d));
    for (int i = 0; i < SPEED_N; i++) {
        int nd = 1 + i % 6, k = 1 + (int)(rnd() % (unsigned)nd);
        uint64_t m = 1 + rnd() % (uint64_t)(pow10_d[nd] - 1);
        if (m % 10 == 0) m++;
        f[i] = (float)((double)m / pow10_d[k]);
    }
    report("float, 1-6 digits", time_float(ref_format_float, f), time_float(mf__format_float, f));
    for (int i = 0; i < SPEED_N;) {
        float v = (float)(0.023731 * (double)(rnd() >> 11) / 9007199254740992.0 * 100 + 3.571641);
        mf__format_float(v, buf);
        if (sig_digits(buf) >= 8) f[i++] = v;
    }
    report("float, 8-9 digits", time_float(ref_format_float, f), time_float(mf__format_float, f));
}

int main(void) {
    test_start = now_s();
    RUN(test_known_doubles);
    RUN(test_known_floats);
    RUN(test_double_random_bits);
    RUN(test_double_near_powers_of_ten);
    RUN(test_double_powers_of_two);
    RUN(test_double_subnormals);
    RUN(test_double_integers);
    RUN(test_double_halfway);
    RUN(test_double_digits);
    RUN(test_double_special);
    RUN(test_int);
    RUN(test_float_sample);
    RUN(test_float_ranges);
    printf("# %ld values compared with the reference, %ld differed\n", n_compared, n_mismatched);
    RUN(test_speed);
    MFT_END();
}
