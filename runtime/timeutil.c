/*
 * timeutil.c — timestamps as text, both ways.
 *
 * Timestamps inside moonfeast are int64 microseconds since the Unix epoch,
 * UTC. This file reads them from RFC 3339 / ISO 8601 text or bare epoch
 * seconds and writes them back as RFC 3339 with 'Z', using its own
 * proleptic-Gregorian day arithmetic (no sscanf, mktime or timegm: these run
 * once per cell of multi-million-row CSV files, and the libc ones depend on
 * the TZ environment).
 *
 * Epoch seconds are read with numparse.c's integer parser. Nothing here
 * allocates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_internal.h"
#include "mf_values.h"

/*---- Calendar arithmetic -------------------------------------------------*/

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY INT64_C(86400000000)

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). Valid for any year that fits. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                      /* 0..399 */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* 0..146096 */
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(unsigned y, unsigned m) {
    static const unsigned char dim[13] = {0,  31, 28, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
    if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return 29;
    return dim[m];
}

/* The text forms cover years 0001..9999; bare epoch seconds (as text, or
 * as integers through mf__ts_from_seconds) are held to the same span, so
 * that whatever parses can be formatted and parsed again and no seconds
 * times 10^6 overflows. */
#define TS_MIN_SEC INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define TS_MAX_SEC INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/*---- Timestamps ----------------------------------------------------------*/

/* The two decimal digits at p as a number, or -1. */
static inline int two_digits(const unsigned char *p) {
    unsigned a = (unsigned)p[0] - '0', b = (unsigned)p[1] - '0';
    if (a > 9 || b > 9) return -1;
    return (int)(a * 10 + b);
}

int mf__ts_from_seconds(int64_t sec, int64_t *out_us) {
    if (sec < TS_MIN_SEC || sec > TS_MAX_SEC) return -1;
    *out_us = sec * US_PER_SEC; /* cannot overflow inside that span */
    return 0;
}

bool mf__ts_in_range(int64_t us) {
    return us >= TS_MIN_SEC * US_PER_SEC && us <= TS_MAX_SEC * US_PER_SEC + (US_PER_SEC - 1);
}

/* Bare epoch seconds: optional '-', one or more digits. */
static int parse_epoch_seconds(const char *s, size_t len, int64_t *out_us) {
    if (len == 0 || s[0] == '+') return -1;
    int64_t sec;
    if (mf__parse_int64(s, len, &sec) != 0) return -1;
    return mf__ts_from_seconds(sec, out_us);
}

/* Accepted: YYYY-MM-DD, optionally followed by 'T'/'t'/' ' and HH:MM,
 * optionally :SS, optionally .F (1-9 digits, truncated to microseconds),
 * optionally a zone: 'Z'/'z', +HH, +HHMM, +HH:MM (or '-'). Date-only text
 * is midnight UTC; no zone means UTC. Second 60 (leap second) is refused.
 * Anything else, including surrounding spaces, is -1. */
int mf__ts_parse(const char *s, size_t len, int64_t *out_us) {
    const unsigned char *p = (const unsigned char *)s;
    if (len < 10 || p[4] != '-') return parse_epoch_seconds(s, len, out_us);

    int y1 = two_digits(p), y2 = two_digits(p + 2);
    int mo = two_digits(p + 5), d = two_digits(p + 8);
    if (y1 < 0 || y2 < 0 || p[7] != '-' || mo < 1 || mo > 12 || d < 1)
        return -1;
    int y = y1 * 100 + y2;
    if (y == 0 || (unsigned)d > days_in_month((unsigned)y, (unsigned)mo))
        return -1;
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400;
    int64_t frac = 0;
    size_t i = 10;
    if (i == len) goto done;

    if (p[i] != 'T' && p[i] != 't' && p[i] != ' ') return -1;
    if (len < 16 || p[13] != ':') return -1;
    int h = two_digits(p + 11), mi = two_digits(p + 14), sec = 0;
    if (h < 0 || h > 23 || mi < 0 || mi > 59) return -1;
    i = 16;
    if (i < len && p[i] == ':') {
        if (len - i < 3) return -1;
        sec = two_digits(p + i + 1);
        if (sec < 0 || sec > 59) return -1;
        i += 3;
        if (i < len && p[i] == '.') {
            size_t start = ++i;
            unsigned dg;
            while (i < len && (dg = (unsigned)p[i] - '0') <= 9) {
                if (i - start < 6) frac = frac * 10 + dg;
                i++;
            }
            size_t nd = i - start;
            if (nd == 0 || nd > 9) return -1;
            for (; nd < 6; nd++) frac *= 10;
        }
    }
    secs += h * 3600 + mi * 60 + sec;

    if (i < len) {
        unsigned char c = p[i];
        if (c == 'Z' || c == 'z') {
            if (i + 1 != len) return -1;
        } else if (c == '+' || c == '-') {
            const unsigned char *q = p + i + 1;
            size_t r = len - i - 1;
            int oh = r >= 2 ? two_digits(q) : -1, om = 0;
            if (r == 2)
                om = 0;
            else if (r == 4)
                om = two_digits(q + 2);
            else if (r == 5 && q[2] == ':')
                om = two_digits(q + 3);
            else
                return -1;
            if (oh < 0 || oh > 23 || om < 0 || om > 59) return -1;
            int off = oh * 3600 + om * 60;
            secs -= c == '+' ? off : -off;
        } else {
            return -1;
        }
    }
done:
    /* an offset can move the time out of 0001..9999 (UTC): then it has no
     * text form that reads back */
    if (secs < TS_MIN_SEC || secs > TS_MAX_SEC) return -1;
    *out_us = secs * US_PER_SEC + frac;
    return 0;
}

static inline char *put2(char *p, unsigned v) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* Any int64 is written; years outside 0000..9999 (only reachable from
 * microsecond values no text parses to) come out with more digits or a
 * sign. */
size_t mf__ts_format(int64_t us, char *buf) {
    int64_t days = us / US_PER_DAY, rem = us % US_PER_DAY;
    if (rem < 0) rem += US_PER_DAY, days--;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned sod = (unsigned)(rem / US_PER_SEC), frac = (unsigned)(rem % US_PER_SEC);

    char *p = buf;
    if (y >= 0 && y <= 9999) {
        p = put2(p, (unsigned)y / 100);
        p = put2(p, (unsigned)y % 100);
    } else {
        p += snprintf(p, 16, "%04lld", (long long)y);
    }
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, sod / 3600);
    *p++ = ':';
    p = put2(p, sod / 60 % 60);
    *p++ = ':';
    p = put2(p, sod % 60);
    if (frac) {
        *p++ = '.';
        for (int k = 5; k >= 0; k--, frac /= 10) p[k] = (char)('0' + frac % 10);
        p += 6;
    }
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - buf);
}
