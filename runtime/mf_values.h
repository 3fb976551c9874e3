/*
 * mf_values.h — scalar text parsing (numparse.c) and number formatting
 * (numfmt.c).
 *
 * The one place where moonfeast turns cell text into numbers and booleans
 * and numbers back into text; CSV reading, CSV writing and type inference
 * all go through here. Timestamps (mf__ts_parse, mf__ts_format) are declared
 * in mf_internal.h and live in timeutil.c.
 *
 * Every parser takes a {pointer, length} pair that need not be
 * NUL-terminated, never reads past the length, accepts no surrounding white
 * space (callers trim), and returns 0 on success or -1 on bad text, leaving
 * *out untouched on failure. Text is read in the "C" locale whatever the
 * process locale is.
 */
#ifndef MF_VALUES_H
#define MF_VALUES_H

#include "mf_internal.h"

/*---- Parsing -------------------------------------------------------------*/

/* Optional '+' or '-', then one or more decimal digits (leading zeros are
 * fine). A value outside the type's range is an error. */
int mf__parse_int64(const char *s, size_t len, int64_t *out);
int mf__parse_int32(const char *s, size_t len, int32_t *out);

/* Decimal floating point as strtod reads it: "1", "-1.5", ".5", "1.",
 * "1e-3", "2.5E+10", "inf", "-Infinity", "nan" (any case). Hexadecimal
 * floats are rejected, and so is text of 512 characters or more. A finite
 * number too large for the type (1e400 as double, 1e39 as float) is an
 * error; one too small becomes a denormal or zero. */
int mf__parse_double(const char *s, size_t len, double *out);
int mf__parse_float(const char *s, size_t len, float *out);

/* true/false, t/f, yes/no, 1/0, in any case. */
int mf__parse_bool(const char *s, size_t len, bool *out);

/*---- Formatting ----------------------------------------------------------*/

/* Size of a buffer that any mf__format_double/float result fits in. */
#define MF__NUM_BUFLEN 32

/* Write the shortest of %.15g, %.16g, %.17g that reads back to exactly v
 * ("nan", "inf", "-inf" for the special values, "-0" for negative zero)
 * into buf (at least MF__NUM_BUFLEN bytes), NUL-terminated. Returns the
 * length. */
size_t mf__format_double(double v, char *buf);
/* Same for a float, trying %.6g to %.9g. */
size_t mf__format_float(float v, char *buf);
/* An integer in decimal (what "%lld" writes), NUL-terminated; returns the
 * length. */
size_t mf__format_int(int64_t v, char *buf);

#endif /* MF_VALUES_H */
