/*
 * mf_json.h — list values as JSON, both ways (json.c).
 *
 * The one reader and writer of list values: CSV and SQLite cells, the
 * online stores and (later) request bodies all go through here. Reading is
 * Jansson's strict decoder; the element rules (types, ranges, no null) and
 * the canonical text written back live in json.c.
 */
#ifndef MF_JSON_H
#define MF_JSON_H

#include <jansson.h>

#include "mf_internal.h"

/* Size of the `why` buffers below: a short reason for a refused value. */
#define MF__JSON_WHYLEN 160

/* One list element as a scalar of the list's element type: Int32, Int64
 * and Bool (0/1) in i, UnixTimestamp in i as microseconds; Float32 and
 * Float64 in d; String and Bytes in s[0..len) (borrowed). */
typedef struct mf__jelem {
    int64_t i;
    double d;
    const char *s;
    size_t len;
} mf__jelem;

/* Decode JSON text p[0..len) as a value of list type t (VT_*_LIST): a JSON
 * array (nothing else but white space around it). Returns the array (caller
 * frees with json_decref), or NULL with a reason in why. The elements are
 * not checked yet: mf__json_elem does that. */
json_t *mf__json_list_parse(Mf__ValueType t, const char *p, size_t len, char *why);

/* Element i of array `a`, decoded, as an element of list type t into *out
 * (strings borrowed from a). Returns 0, or -1 with a reason in why ("element
 * 2 is null: a list cannot hold null"). */
int mf__json_elem(Mf__ValueType t, const json_t *a, size_t i, mf__jelem *out, char *why);

/* Append element e of list type t in canonical form: integers in decimal,
 * floats in their shortest text (NaN and infinities, which only values
 * read from Redis can hold, as null), true/false, strings through
 * mf__buf_json_str, timestamps as RFC 3339 strings. */
void mf__json_put_elem(mf__buf *out, Mf__ValueType t, const mf__jelem *e);

/* Append the canonical text of JSON array `a` as a value of list type t
 * ('[' elements joined by ',' ']'). Returns 0, or -1 with a reason in why
 * (out may then hold a partial text past its old length). */
int mf__json_list_canon_value(Mf__ValueType t, const json_t *a, mf__buf *out, char *why);

/* Same for JSON text p[0..len): parse, check, append canonical text. */
int mf__json_list_canon(Mf__ValueType t, const char *p, size_t len, mf__buf *out, char *why);

#endif
