/*
 * json.c — list values as JSON text, both ways: the one codec that CSV and
 * SQLite cells, both online stores and (later) request bodies go through.
 *
 * A list cell is a JSON array whose elements are values of the list's
 * scalar type:
 *   Int32, Int64      JSON integers (no fraction, no exponent), in range;
 *   Float32, Float64  JSON numbers (integers too), finite, in range (a
 *                     Float32 element is rounded from the double);
 *   Bool              true or false;
 *   String            JSON strings: well-formed UTF-8, no NUL (\u0000);
 *   Bytes             JSON strings, taken as their UTF-8 bytes (NUL allowed);
 *   UnixTimestamp     strings in any form mf__ts_parse reads, or integers
 *                     (epoch seconds), within its span (years 1 to 9999).
 * A list cannot hold null (Feast's list Values have no place for one): an
 * element null is an error, as are nested arrays and objects. An empty cell
 * is a null list; "[]" an empty one.
 *
 * Accepted cells are kept in canonical text: compact ('[', elements joined
 * by ',', ']'), integers in decimal, floats in their shortest text
 * (mf__format_double/float), strings through mf__buf_json_str (UTF-8 as is,
 * control characters, '"' and '\' escaped), timestamps as RFC 3339 strings
 * (mf__ts_format). So every store holds, and every output prints, the same
 * text for the same list, and the canonical text of a canonical text is
 * itself.
 *
 * Reading is Jansson's decoder (strict RFC 8259: UTF-8 checked, escapes
 * checked, no NaN, no trailing commas). Jansson, not cJSON: cJSON keeps
 * every number as a double, which changes Int64 values above 2^53;
 * Jansson keeps integers as json_int_t (long long), exact, and refuses
 * ones out of range. Float lists are decoded with JSON_DECODE_INT_AS_REAL,
 * so that an integer too large for int64 is still a valid double. Cells of
 * the common shapes (numbers, booleans, strings without escapes) take a
 * fast path that builds no tree and gives exactly what the Jansson path
 * gives (see fast_canon); the element rules and the writer are shared.
 * Writing is moonfeast's own (Jansson prints doubles with 17 digits, not
 * the shortest text).
 *
 * Entry points: mf__json_list_canon for text (cells), and, for JSON already
 * decoded by Jansson (request bodies), mf__json_list_canon_value;
 * mf__json_list_parse with mf__json_elem give the elements one by one (the
 * Redis store builds its list Values so), mf__json_put_elem writes one.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mf_json.h"
#include "mf_values.h"

_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "Jansson integers are 64-bit");

/* The scalar type of list type t (VT_INT64_LIST -> VT_INT64). */
static Mf__ValueType elem_type(Mf__ValueType t) { return (Mf__ValueType)(t - 10); }

static bool is_list(Mf__ValueType t) {
    return t >= MF__VALUE_TYPE__VT_BYTES_LIST && t <= MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST;
}

/*---- Reading ------------------------------------------------------------------*/

json_t *mf__json_list_parse(Mf__ValueType t, const char *p, size_t len, char *why) {
    if (!is_list(t)) {
        snprintf(why, MF__JSON_WHYLEN, "%s is not a list type", mf__dtype_name(t));
        return NULL;
    }
    Mf__ValueType el = elem_type(t);
    size_t flags = JSON_ALLOW_NUL; /* NUL in strings is refused below, per type */
    if (el == MF__VALUE_TYPE__VT_FLOAT || el == MF__VALUE_TYPE__VT_DOUBLE)
        flags |= JSON_DECODE_INT_AS_REAL;
    json_error_t e;
    json_t *a = json_loadb(p, len, flags, &e);
    if (!a) {
        snprintf(why, MF__JSON_WHYLEN, "not valid JSON (%.100s, at character %d)", e.text,
                 e.position);
        return NULL;
    }
    if (!json_is_array(a)) {
        json_decref(a);
        snprintf(why, MF__JSON_WHYLEN, "not a JSON array");
        return NULL;
    }
    return a;
}

/* The element rules, one function per kind of JSON scalar, shared by the
 * general path (mf__json_elem) and the fast path: element i (0-based) of a
 * list of type t, already decoded from JSON, into *out. Each returns 0, or
 * -1 with a reason in why. */

static int elem_kind_err(Mf__ValueType t, size_t i, const char *kind, char *why) {
    snprintf(why, MF__JSON_WHYLEN, "element %zu is %s, not a %s", i + 1, kind,
             mf__dtype_name(elem_type(t)));
    return -1;
}

/* A JSON integer. */
static int elem_int(Mf__ValueType t, size_t i, int64_t v, mf__jelem *out, char *why) {
    Mf__ValueType el = elem_type(t);
    switch (el) {
    case MF__VALUE_TYPE__VT_INT32:
        if (v < INT32_MIN || v > INT32_MAX) {
            snprintf(why, MF__JSON_WHYLEN, "element %zu (%lld) is out of Int32 range", i + 1,
                     (long long)v);
            return -1;
        }
        /* fall through */
    case MF__VALUE_TYPE__VT_INT64:
        out->i = v;
        return 0;
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: { /* epoch seconds, by the same rule as text */
        char num[24];
        size_t n = (size_t)snprintf(num, sizeof num, "%lld", (long long)v);
        if (mf__ts_parse(num, n, &out->i) == 0) return 0;
        snprintf(why, MF__JSON_WHYLEN, "element %zu (%s) is not a timestamp (epoch seconds of "
                 "years 1 to 9999)", i + 1, num);
        return -1;
    }
    default:
        return elem_kind_err(t, i, "an integer", why);
    }
}

/* A JSON number read as a double (float lists read integers so too). */
static int elem_real(Mf__ValueType t, size_t i, double d, mf__jelem *out, char *why) {
    Mf__ValueType el = elem_type(t);
    if (el != MF__VALUE_TYPE__VT_FLOAT && el != MF__VALUE_TYPE__VT_DOUBLE)
        return elem_kind_err(t, i, "a number with a fraction or exponent", why);
    /* Float32: what rounds to infinity (from FLT_MAX + half an ulp up) */
    if (!isfinite(d) || (el == MF__VALUE_TYPE__VT_FLOAT && fabs(d) >= 0x1.ffffffp127)) {
        snprintf(why, MF__JSON_WHYLEN, "element %zu is out of %s range", i + 1,
                 mf__dtype_name(el));
        return -1;
    }
    out->d = el == MF__VALUE_TYPE__VT_FLOAT ? (double)(float)d : d;
    return 0;
}

/* A JSON string, decoded: s[0..len). */
static int elem_str(Mf__ValueType t, size_t i, const char *s, size_t len, mf__jelem *out,
                    char *why) {
    switch (elem_type(t)) {
    case MF__VALUE_TYPE__VT_STRING:
        if (memchr(s, 0, len)) {
            snprintf(why, MF__JSON_WHYLEN, "element %zu holds a NUL character (\\u0000), "
                     "which a String cannot", i + 1);
            return -1;
        }
        /* fall through */
    case MF__VALUE_TYPE__VT_BYTES:
        out->s = s;
        out->len = len;
        return 0;
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP:
        if (mf__ts_parse(s, len, &out->i) == 0) return 0;
        snprintf(why, MF__JSON_WHYLEN, "element %zu ('%.40s') is not a timestamp (RFC 3339, or "
                 "epoch seconds of years 1 to 9999)", i + 1, s);
        return -1;
    default:
        return elem_kind_err(t, i, "a string", why);
    }
}

/* true or false. */
static int elem_bool(Mf__ValueType t, size_t i, bool b, mf__jelem *out, char *why) {
    if (elem_type(t) != MF__VALUE_TYPE__VT_BOOL) return elem_kind_err(t, i, "a boolean", why);
    out->i = b;
    return 0;
}

int mf__json_elem(Mf__ValueType t, const json_t *a, size_t i, mf__jelem *out, char *why) {
    const json_t *v = json_array_get(a, i);
    memset(out, 0, sizeof *out);
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_INTEGER: return elem_int(t, i, json_integer_value(v), out, why);
    case JSON_REAL: return elem_real(t, i, json_real_value(v), out, why);
    case JSON_STRING:
        return elem_str(t, i, json_string_value(v), json_string_length(v), out, why);
    case JSON_TRUE: return elem_bool(t, i, true, out, why);
    case JSON_FALSE: return elem_bool(t, i, false, out, why);
    case JSON_ARRAY: return elem_kind_err(t, i, "an array", why);
    case JSON_OBJECT: return elem_kind_err(t, i, "an object", why);
    default:
        snprintf(why, MF__JSON_WHYLEN, "element %zu is null: a list cannot hold null", i + 1);
        return -1;
    }
}

/*---- The fast path ------------------------------------------------------------*/

static const char *skip_ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* The end of the JSON number at p (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?), or NULL; *integer when it has neither a fraction nor
 * an exponent. */
static const char *scan_number(const char *p, const char *e, bool *integer) {
    if (p < e && *p == '-') p++;
    if (p == e || *p < '0' || *p > '9') return NULL;
    if (*p == '0') p++;
    else
        while (p < e && *p >= '0' && *p <= '9') p++;
    *integer = true;
    if (p < e && *p == '.') {
        *integer = false;
        if (++p == e || *p < '0' || *p > '9') return NULL;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        *integer = false;
        if (++p < e && (*p == '+' || *p == '-')) p++;
        if (p == e || *p < '0' || *p > '9') return NULL;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    return p;
}

/* Cells of the common shapes are read here without building a tree (the
 * general path costs a few hundred nanoseconds a cell, which reading list
 * columns of large sources multiplies): arrays of numbers, of true and
 * false, or of strings without escapes or control characters. Values go
 * through the same element rules and the same writer. The fast path
 * accepts only what the general path (Jansson) accepts and writes the same
 * canonical text (test_values.c compares the two on generated cells);
 * anything else, errors included, is left to the general path, which also
 * words the error. Returns 1 when done, 0 (out unchanged) when not. */
static int fast_canon(Mf__ValueType t, const char *p, size_t len, mf__buf *out) {
    Mf__ValueType el = elem_type(t);
    if (el == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) return 0;
    const char *e = p + len;
    size_t start = out->len;
    char why[MF__JSON_WHYLEN];
    p = skip_ws(p, e);
    if (p == e || *p != '[') return 0;
    p = skip_ws(p + 1, e);
    mf__buf_putc(out, '[');
    for (size_t i = 0; p < e && !(i == 0 && *p == ']'); i++) {
        mf__jelem x = {0, 0, NULL, 0};
        if (*p == '"') {
            const char *q = p + 1;
            while (q < e && (unsigned char)*q >= 0x20 && *q != '"' && *q != '\\') q++;
            size_t n = (size_t)(q - p - 1);
            if (q == e || *q != '"' || mf__utf8_check(p + 1, n, false) != n ||
                elem_str(t, i, p + 1, n, &x, why) != 0)
                goto general;
            p = q + 1;
        } else if (*p == 't' || *p == 'f') {
            bool b = *p == 't';
            size_t n = b ? 4 : 5;
            if ((size_t)(e - p) < n || memcmp(p, b ? "true" : "false", n) != 0 ||
                elem_bool(t, i, b, &x, why) != 0)
                goto general;
            p += n;
        } else {
            bool integer;
            const char *q = scan_number(p, e, &integer);
            if (!q) goto general;
            if (el == MF__VALUE_TYPE__VT_INT32 || el == MF__VALUE_TYPE__VT_INT64) {
                int64_t v;
                if (!integer || mf__parse_int64(p, (size_t)(q - p), &v) != 0 ||
                    elem_int(t, i, v, &x, why) != 0)
                    goto general;
            } else {
                double d;
                if (mf__parse_double(p, (size_t)(q - p), &d) != 0 ||
                    elem_real(t, i, d, &x, why) != 0)
                    goto general;
            }
            p = q;
        }
        if (i) mf__buf_putc(out, ',');
        mf__json_put_elem(out, t, &x);
        p = skip_ws(p, e);
        if (p == e || (*p != ',' && *p != ']')) goto general;
        if (*p == ',') p = skip_ws(p + 1, e);
        else break;
    }
    if (p == e || skip_ws(p + 1, e) != e) goto general;
    mf__buf_putc(out, ']');
    return 1;
general:
    out->len = start;
    out->data[start] = '\0';
    return 0;
}

/*---- Writing ------------------------------------------------------------------*/

/* Decimal text of v at the end of buf[0..24); returns where it starts. */
static char *int_text(int64_t v, char *buf) {
    char *p = buf + 24;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    return p;
}

void mf__json_put_elem(mf__buf *out, Mf__ValueType t, const mf__jelem *e) {
    char nb[MF__TS_BUFLEN > MF__NUM_BUFLEN ? MF__TS_BUFLEN : MF__NUM_BUFLEN];
    switch (elem_type(t)) {
    case MF__VALUE_TYPE__VT_INT32:
    case MF__VALUE_TYPE__VT_INT64: {
        char ib[24], *q = int_text(e->i, ib);
        mf__buf_put(out, q, (size_t)(ib + 24 - q));
        break;
    }
    case MF__VALUE_TYPE__VT_FLOAT:
    case MF__VALUE_TYPE__VT_DOUBLE:
        /* (a Float32 past its range would print as inf, not JSON) */
        if (!isfinite(e->d) ||
            (elem_type(t) == MF__VALUE_TYPE__VT_FLOAT && !isfinite(mf__to_f32(e->d))))
            mf__buf_puts(out, "null");
        else if (elem_type(t) == MF__VALUE_TYPE__VT_FLOAT)
            mf__buf_put(out, nb, mf__format_float(mf__to_f32(e->d), nb));
        else
            mf__buf_put(out, nb, mf__format_double(e->d, nb));
        break;
    case MF__VALUE_TYPE__VT_BOOL: mf__buf_puts(out, e->i ? "true" : "false"); break;
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP:
        mf__buf_json_str(out, nb, mf__ts_format(e->i, nb));
        break;
    default: /* String, Bytes */
        mf__buf_json_str(out, e->s, e->len);
        break;
    }
}

int mf__json_list_canon_value(Mf__ValueType t, const json_t *a, mf__buf *out, char *why) {
    if (!json_is_array(a)) {
        snprintf(why, MF__JSON_WHYLEN, "not a JSON array");
        return -1;
    }
    size_t n = json_array_size(a);
    mf__buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
        mf__jelem e;
        if (mf__json_elem(t, a, i, &e, why) != 0) return -1;
        if (i) mf__buf_putc(out, ',');
        mf__json_put_elem(out, t, &e);
    }
    mf__buf_putc(out, ']');
    return 0;
}

int mf__json_list_canon(Mf__ValueType t, const char *p, size_t len, mf__buf *out, char *why) {
    if (is_list(t) && fast_canon(t, p, len, out)) return 0;
    json_t *a = mf__json_list_parse(t, p, len, why);
    if (!a) return -1;
    int rc = mf__json_list_canon_value(t, a, out, why);
    json_decref(a);
    return rc;
}
