/*
 * numparse.c — the scalar parsers of mf_values.h: integers, booleans and
 * floating point read from cell text, shared by CSV reading, type
 * inference and every other place that reads a number. (numfmt.c writes
 * them.)
 *
 * Numbers are read in the "C" locale whatever the process locale is; the
 * common short decimals take an exact fast path, everything else goes
 * through strtod_l/strtof_l. Nothing here allocates, except one "C" locale
 * object, created on first use and kept for the life of the process.
 */
#define _GNU_SOURCE /* strtod_l, strtof_l */
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_internal.h"
#include "mf_values.h"

/*---- Locale --------------------------------------------------------------*/

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

/*---- Integers and booleans -----------------------------------------------*/

int mf__parse_int64(const char *s, size_t len, int64_t *out) {
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    bool neg = false;
    if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
    if (p == e) return -1;
    while (p < e - 1 && *p == '0') p++;
    if (e - p > 19) return -1; /* 10^19 > INT64_MAX, whatever the digits */
    uint64_t v = 0;            /* 19 digits cannot overflow 64 bits */
    for (; p < e; p++) {
        unsigned dg = (unsigned)*p - '0';
        if (dg > 9) return -1;
        v = v * 10 + dg;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return -1;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)v;
    }
    return 0;
}

int mf__parse_int32(const char *s, size_t len, int32_t *out) {
    int64_t v;
    if (mf__parse_int64(s, len, &v) != 0 || v < INT32_MIN || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* Case-insensitive equality of s[0..len) with the lowercase word w. */
static bool word_eq(const char *s, size_t len, const char *w) {
    size_t i = 0;
    for (; i < len && w[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        if (c != (unsigned char)w[i]) return false;
    }
    return i == len && w[i] == '\0';
}

int mf__parse_bool(const char *s, size_t len, bool *out) {
    static const char *const yes[] = {"true", "t", "yes", "1"};
    static const char *const no[] = {"false", "f", "no", "0"};
    for (size_t i = 0; i < MF__ARRAY_LEN(yes); i++) {
        if (word_eq(s, len, yes[i])) return *out = true, 0;
        if (word_eq(s, len, no[i])) return *out = false, 0;
    }
    return -1;
}

/*---- Floating point ------------------------------------------------------*/

#define FLOAT_TEXT_MAX 512

/* A plain decimal, split into mantissa and power of ten. */
typedef struct decimal {
    bool neg;
    bool exact;    /* every significant digit is in mant */
    uint64_t mant; /* the first (up to) 19 significant digits */
    int64_t exp10; /* value = mant * 10^exp10 when exact */
} decimal;

/* Scan [sign] digits [. digits] [(e|E) [sign] digits] with at least one
 * mantissa digit, covering all of [p, e). Returns 0, or -1 when the text has
 * any other shape (which strtod may still accept: inf, nan). */
static int scan_decimal(const unsigned char *p, const unsigned char *e,
                        decimal *out) {
    bool neg = false, exact = true, any = false;
    uint64_t m = 0;
    int nd = 0;
    int64_t ex = 0;
    unsigned dg;
    if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
    for (; p < e && (dg = (unsigned)*p - '0') <= 9; p++) {
        any = true;
        if (nd < 19) {
            if (m || dg) m = m * 10 + dg, nd++;
        } else {
            ex++;
            if (dg) exact = false;
        }
    }
    if (p < e && *p == '.') {
        for (p++; p < e && (dg = (unsigned)*p - '0') <= 9; p++) {
            any = true;
            if (nd < 19) {
                if (m || dg) m = m * 10 + dg, nd++;
                ex--;
            } else if (dg) {
                exact = false;
            }
        }
    }
    if (!any) return -1;
    if (p < e && (*p == 'e' || *p == 'E')) {
        bool eneg = false;
        int64_t ev = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p == e) return -1;
        for (; p < e && (dg = (unsigned)*p - '0') <= 9; p++)
            if (ev < 100000) ev = ev * 10 + dg;
        ex += eneg ? -ev : ev;
    }
    if (p != e) return -1;
    out->neg = neg, out->exact = exact, out->mant = m, out->exp10 = ex;
    return 0;
}

/* Text strtod may read that we refuse: leading or embedded white space
 * (strtod skips leading blanks) and hexadecimal floats. */
static bool strtod_refused(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == 'x' || c == 'X' || c == ' ' || (c >= '\t' && c <= '\r'))
            return true;
    }
    return false;
}

static const double pow10_d[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const float pow10_f[11] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                  1e6f, 1e7f, 1e8f, 1e9f, 1e10f};

/* Both parsers' slow path: the C library's conversion in the "C" locale,
 * into *d (when d) or *f. A finite text that overflows is an error. */
static int parse_slow(const char *s, size_t len, double *d, float *f) {
    if (strtod_refused(s, len)) return -1;
    char tmp[FLOAT_TEXT_MAX];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    locale_t loc = c_locale();
    errno = 0;
    if (d) {
        double v = loc ? strtod_l(tmp, &end, loc) : strtod(tmp, &end);
        if (end != tmp + len || (errno == ERANGE && isinf(v))) return -1;
        *d = v;
    } else {
        float v = loc ? strtof_l(tmp, &end, loc) : strtof(tmp, &end);
        if (end != tmp + len || (errno == ERANGE && isinf(v))) return -1;
        *f = v;
    }
    return 0;
}

int mf__parse_double(const char *s, size_t len, double *out) {
    if (len == 0 || len >= FLOAT_TEXT_MAX) return -1;
    decimal dc;
    if (scan_decimal((const unsigned char *)s, (const unsigned char *)s + len,
                     &dc) == 0 && dc.exact) {
        if (dc.mant == 0) return *out = dc.neg ? -0.0 : 0.0, 0;
#if FLT_EVAL_METHOD == 0
        /* Clinger's fast path: both operands exact, one correctly rounded
         * operation. */
        if (dc.mant <= (UINT64_C(1) << 53) && dc.exp10 >= -22 &&
            dc.exp10 <= 22) {
            double v = (double)dc.mant;
            v = dc.exp10 < 0 ? v / pow10_d[-dc.exp10] : v * pow10_d[dc.exp10];
            return *out = dc.neg ? -v : v, 0;
        }
#endif
    }
    return parse_slow(s, len, out, NULL);
}

int mf__parse_float(const char *s, size_t len, float *out) {
    if (len == 0 || len >= FLOAT_TEXT_MAX) return -1;
    decimal dc;
    if (scan_decimal((const unsigned char *)s, (const unsigned char *)s + len,
                     &dc) == 0 && dc.exact) {
        if (dc.mant == 0) return *out = dc.neg ? -0.0f : 0.0f, 0;
#if FLT_EVAL_METHOD == 0
        if (dc.mant <= (UINT64_C(1) << 24) && dc.exp10 >= -10 &&
            dc.exp10 <= 10) {
            float v = (float)dc.mant;
            v = dc.exp10 < 0 ? v / pow10_f[-dc.exp10] : v * pow10_f[dc.exp10];
            return *out = dc.neg ? -v : v, 0;
        }
#endif
    }
    return parse_slow(s, len, NULL, out);
}
