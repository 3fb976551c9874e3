/*
 * pb_reflect.c — generic operations over protobuf-c messages.
 *
 * The registry's generated structs (registry.proto) are moonfeast's object
 * model, so the plan, the registry stores and the dumps need to copy,
 * compare, print and edit them without a hand-written function per message.
 * Everything here walks the protobuf-c descriptors instead: a field's
 * `offset` locates its value, `quantifier_offset` its count (repeated), its
 * has_ flag (proto2/proto3 `optional` scalars) or its oneof case, and
 * `default_value` what "unset" means.
 *
 * Memory follows protobuf_c_message_free_unpacked(msg, NULL), the one way a
 * message is freed: every message, string, array and bytes buffer is its own
 * malloc block, except singular strings equal to the field's default pointer
 * (protobuf_c_empty_string in proto3), which are static and never freed.
 * Elements of repeated string fields are always malloc'd (free_unpacked
 * frees them unconditionally).
 *
 * Also here: the DSL's dtype text ("Int64", "Array(Float32)") <-> ValueType.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_internal.h"
#include "mf_values.h"

#define MEMBER(msg, off) ((char *)(msg) + (off))
#define CMEMBER(msg, off) ((const char *)(msg) + (off))

/*---- Helpers ---------------------------------------------------------------*/

/* Internal misuse (a wrong field name in C code, a type mismatch): not a
 * user error, so it aborts with a message instead of returning a code. */
static void misuse(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void misuse(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("moonfeast: internal error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Size of one stored value of type t (a singular field, or one element of a
 * repeated field's array). */
static size_t value_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    misuse("unknown protobuf-c field type %d", (int)t);
}

/* Whether a oneof member is the selected one. Fields outside a oneof are
 * always "selected". */
static bool oneof_selected(const ProtobufCMessage *msg,
                           const ProtobufCFieldDescriptor *f) {
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) return true;
    return *(const uint32_t *)CMEMBER(msg, f->quantifier_offset) == f->id;
}

/* Whether f has a has_ flag at quantifier_offset: optional scalars and
 * bytes outside a oneof. (Optional strings and messages use NULL.) */
static bool has_flag(const ProtobufCFieldDescriptor *f) {
    return f->label == PROTOBUF_C_LABEL_OPTIONAL &&
           !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

/* Whether a singular field holds a value: its oneof case is selected and,
 * for fields with a has_ flag, the flag is set. proto3 plain fields
 * (LABEL_NONE) and optional strings/messages (NULL = unset, handled as the
 * default) are always present. */
static bool field_present(const ProtobufCMessage *msg,
                          const ProtobufCFieldDescriptor *f) {
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) return oneof_selected(msg, f);
    if (has_flag(f))
        return *(const protobuf_c_boolean *)CMEMBER(msg, f->quantifier_offset);
    return true;
}

static size_t repeated_count(const ProtobufCMessage *msg,
                             const ProtobufCFieldDescriptor *f) {
    return *(const size_t *)CMEMBER(msg, f->quantifier_offset);
}

static const char *repeated_array(const ProtobufCMessage *msg,
                                  const ProtobufCFieldDescriptor *f) {
    return *(char *const *)CMEMBER(msg, f->offset);
}

/*---- Construction and copy -------------------------------------------------*/

/* New message of desc with its defaults; caller frees with
 * protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *mf__pb_new(const ProtobufCMessageDescriptor *desc) {
    ProtobufCMessage *msg = mf__xmalloc(desc->sizeof_message);
    desc->message_init(msg);
    return msg;
}

static ProtobufCMessage *copy_message(const ProtobufCMessage *src);

/* Deep-copy the value at src into dst (dst already holds a shallow copy for
 * singular fields). Singular strings and bytes equal to the field's default
 * keep pointing at it; everything else gets fresh memory. */
static void copy_value(const ProtobufCFieldDescriptor *f, void *dst,
                       const void *src, bool repeated) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)src;
        if (!repeated && (s == NULL || s == (const char *)f->default_value))
            *(char **)dst = (char *)s;
        else
            *(char **)dst = mf__xstrdup(s ? s : "");
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = src;
        const ProtobufCBinaryData *def = f->default_value;
        ProtobufCBinaryData *o = dst;
        if (b->data == NULL) {
            o->len = 0, o->data = NULL;
        } else if (!repeated && def && b->data == def->data) {
            *o = *b;
        } else {
            o->len = b->len;
            o->data = mf__xmalloc(b->len);
            if (b->len) memcpy(o->data, b->data, b->len);
        }
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)src;
        if (m && m != f->default_value)
            *(ProtobufCMessage **)dst = copy_message(m);
        else
            *(const ProtobufCMessage **)dst = m;
        break;
    }
    default: memcpy(dst, src, value_size(f->type)); break;
    }
}

static ProtobufCMessage *copy_message(const ProtobufCMessage *src) {
    const ProtobufCMessageDescriptor *desc = src->descriptor;
    ProtobufCMessage *dst = mf__xmalloc(desc->sizeof_message);
    memcpy(dst, src, desc->sizeof_message);

    if (src->n_unknown_fields) {
        dst->unknown_fields = mf__xmalloc(src->n_unknown_fields *
                                          sizeof(ProtobufCMessageUnknownField));
        for (unsigned i = 0; i < src->n_unknown_fields; i++) {
            const ProtobufCMessageUnknownField *u = &src->unknown_fields[i];
            dst->unknown_fields[i] = *u;
            dst->unknown_fields[i].data = mf__xmalloc(u->len);
            if (u->len) memcpy(dst->unknown_fields[i].data, u->data, u->len);
        }
    } else {
        dst->unknown_fields = NULL;
    }

    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        /* An unselected oneof member shares storage with the selected one. */
        if (!oneof_selected(src, f)) continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = repeated_count(src, f);
            const char *arr = repeated_array(src, f);
            char **slot = (char **)MEMBER(dst, f->offset);
            if (n == 0 || arr == NULL) {
                *slot = NULL;
                *(size_t *)MEMBER(dst, f->quantifier_offset) = 0;
                continue;
            }
            size_t sz = value_size(f->type);
            char *copy = mf__xmalloc(n * sz);
            for (size_t j = 0; j < n; j++)
                copy_value(f, copy + j * sz, arr + j * sz, true);
            *slot = copy;
        } else {
            copy_value(f, MEMBER(dst, f->offset), CMEMBER(src, f->offset), false);
        }
    }
    return dst;
}

/* Deep copy of msg (NULL gives NULL); caller frees with
 * protobuf_c_message_free_unpacked(copy, NULL). Unknown fields are kept. */
ProtobufCMessage *mf__pb_clone(const ProtobufCMessage *msg) {
    return msg ? copy_message(msg) : NULL;
}

/*---- Comparison ------------------------------------------------------------*/

/* Equality of one stored value. NULL strings equal ""; NaN equals NaN;
 * a NULL submessage equals only NULL. */
static bool value_equal(const ProtobufCFieldDescriptor *f, const void *a,
                        const void *b) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return *(const int32_t *)a == *(const int32_t *)b;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return *(const uint32_t *)a == *(const uint32_t *)b;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return *(const int64_t *)a == *(const int64_t *)b;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)a == *(const uint64_t *)b;
    case PROTOBUF_C_TYPE_FLOAT: {
        float x = *(const float *)a, y = *(const float *)b;
        return x == y || (isnan(x) && isnan(y));
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double x = *(const double *)a, y = *(const double *)b;
        return x == y || (isnan(x) && isnan(y));
    }
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)a == !*(const protobuf_c_boolean *)b;
    case PROTOBUF_C_TYPE_STRING: {
        const char *x = *(char *const *)a, *y = *(char *const *)b;
        return strcmp(x ? x : "", y ? y : "") == 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *x = a, *y = b;
        return x->len == y->len &&
               (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *x = *(ProtobufCMessage *const *)a;
        const ProtobufCMessage *y = *(ProtobufCMessage *const *)b;
        if (!x || !y) return x == y;
        return mf__pb_equal(x, y);
    }
    }
    return false;
}

/* Whether a present singular value equals the field's default (proto3:
 * "", 0, false, empty bytes, NULL submessage). */
static bool value_is_default(const ProtobufCFieldDescriptor *f, const void *p) {
    static const union { uint64_t u; double d; } zero;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        const char *def = f->default_value ? (const char *)f->default_value : "";
        return s == NULL || strcmp(s, def) == 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p, *def = f->default_value;
        if (def) return value_equal(f, b, def);
        return b->len == 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p == NULL;
    default: return value_equal(f, p, f->default_value ? f->default_value : &zero);
    }
}

/* Equality of field f between two messages of the same type. */
static bool field_equal(const ProtobufCFieldDescriptor *f,
                        const ProtobufCMessage *a, const ProtobufCMessage *b) {
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = repeated_count(a, f);
        if (n != repeated_count(b, f)) return false;
        const char *xa = repeated_array(a, f), *xb = repeated_array(b, f);
        if (n == 0) return true;
        if (!xa || !xb) return xa == xb;
        size_t sz = value_size(f->type);
        for (size_t i = 0; i < n; i++)
            if (!value_equal(f, xa + i * sz, xb + i * sz)) return false;
        return true;
    }
    bool pa = field_present(a, f), pb = field_present(b, f);
    if (pa != pb) return false;
    if (!pa) return true;
    return value_equal(f, CMEMBER(a, f->offset), CMEMBER(b, f->offset));
}

/* True when a and b have the same type and every field is equal, nested
 * messages compared recursively. Unknown fields are ignored. Two NULLs are
 * equal. */
bool mf__pb_equal(const ProtobufCMessage *a, const ProtobufCMessage *b) {
    if (a == b) return true;
    if (!a || !b || a->descriptor != b->descriptor) return false;
    const ProtobufCMessageDescriptor *desc = a->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (!field_equal(&desc->fields[i], a, b)) return false;
    return true;
}

/* Append to `out` the names of the top-level fields whose values differ
 * between a and b, in declaration order, separated by commas (a comma goes
 * only between the names this call writes). Either side may be NULL,
 * standing for an empty message of the other's type. a and b must be of the
 * same type (aborts otherwise). */
void mf__pb_diff_fields(const ProtobufCMessage *a, const ProtobufCMessage *b,
                        mf__buf *out) {
    if (!a && !b) return;
    ProtobufCMessage *empty = NULL;
    if (!a || !b) {
        empty = mf__pb_new((a ? a : b)->descriptor);
        if (!a) a = empty;
        else b = empty;
    }
    if (a->descriptor != b->descriptor)
        misuse("mf__pb_diff_fields: %s compared with %s", a->descriptor->name,
               b->descriptor->name);
    const ProtobufCMessageDescriptor *desc = a->descriptor;
    bool first = true;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (field_equal(f, a, b)) continue;
        if (!first) mf__buf_putc(out, ',');
        mf__buf_puts(out, f->name);
        first = false;
    }
    protobuf_c_message_free_unpacked(empty, NULL);
}

/*---- JSON ------------------------------------------------------------------*/

static void json_message(const ProtobufCMessage *msg, mf__buf *out, bool full,
                         int indent, int depth);

/* Newline and indentation for nesting level `depth` (pretty output only). */
static void json_newline(mf__buf *out, int indent, int depth) {
    if (indent <= 0) return;
    mf__buf_putc(out, '\n');
    size_t n = (size_t)indent * (size_t)depth;
    mf__buf_reserve(out, n);
    memset(out->data + out->len, ' ', n);
    out->len += n;
    out->data[out->len] = '\0';
}

/* The shortest text that reads back as the same double or float
 * (numfmt.c, locale-independent). JSON has no NaN or infinity: those are
 * null. */
static void json_number(mf__buf *out, double v, bool is_float) {
    if (!isfinite(v)) {
        mf__buf_puts(out, "null");
        return;
    }
    char s[MF__NUM_BUFLEN];
    size_t n = is_float ? mf__format_float((float)v, s) : mf__format_double(v, s);
    mf__buf_put(out, s, n);
}

/* An enum value: ValueType as dtype text, other enums by value name, an
 * unknown number as a number. */
static void json_enum(mf__buf *out, const ProtobufCFieldDescriptor *f, int v) {
    if (f->descriptor == &mf__value_type__descriptor) {
        const char *name = mf__dtype_name((Mf__ValueType)v);
        mf__buf_json_str(out, name, strlen(name));
        return;
    }
    const ProtobufCEnumValue *ev =
        protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    if (ev)
        mf__buf_json_str(out, ev->name, strlen(ev->name));
    else
        mf__buf_printf(out, "%d", v);
}

/* One stored value (singular field or array element) at p. */
static void json_value(const ProtobufCFieldDescriptor *f, const void *p,
                       mf__buf *out, bool full, int indent, int depth) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        mf__buf_printf(out, "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        mf__buf_printf(out, "%" PRIu32, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        mf__buf_printf(out, "%" PRId64, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        mf__buf_printf(out, "%" PRIu64, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT: json_number(out, *(const float *)p, true); break;
    case PROTOBUF_C_TYPE_DOUBLE:
        json_number(out, *(const double *)p, false);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        mf__buf_puts(out, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: json_enum(out, f, *(const int *)p); break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        if (!s) s = "";
        mf__buf_json_str(out, s, strlen(s));
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        mf__buf_putc(out, '"');
        mf__buf_base64(out, b->data, b->data ? b->len : 0);
        mf__buf_putc(out, '"');
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        json_message(*(ProtobufCMessage *const *)p, out, full, indent, depth);
        break;
    }
}

/* Whether field f is written. Unselected oneof members never are; the
 * selected one always is. With !full, empty lists, unset optional fields
 * and plain (proto3) fields holding their default are left out; an
 * optional field that is set is written even when it holds the default. */
static bool json_wanted(const ProtobufCMessage *msg,
                        const ProtobufCFieldDescriptor *f, bool full) {
    if (!oneof_selected(msg, f)) return false;
    if (full || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) return true;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return repeated_count(msg, f) > 0;
    if (has_flag(f)) return field_present(msg, f);
    return !value_is_default(f, CMEMBER(msg, f->offset));
}

/* Field f's value at nesting level `depth`: an array for repeated fields
 * (scalars on one line, messages one per line when pretty), null for an
 * unset optional field. */
static void json_field(const ProtobufCMessage *msg,
                       const ProtobufCFieldDescriptor *f, mf__buf *out,
                       bool full, int indent, int depth) {
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        if (field_present(msg, f))
            json_value(f, CMEMBER(msg, f->offset), out, full, indent, depth);
        else
            mf__buf_puts(out, "null");
        return;
    }
    size_t n = repeated_count(msg, f);
    const char *arr = repeated_array(msg, f);
    if (n == 0 || !arr) {
        mf__buf_puts(out, "[]");
        return;
    }
    size_t sz = value_size(f->type);
    bool nested = f->type == PROTOBUF_C_TYPE_MESSAGE;
    mf__buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) mf__buf_puts(out, indent > 0 && !nested ? ", " : ",");
        if (nested) json_newline(out, indent, depth + 1);
        json_value(f, arr + i * sz, out, full, indent, depth + 1);
    }
    if (nested) json_newline(out, indent, depth);
    mf__buf_putc(out, ']');
}

/* A timestamp field: a plain int64 whose name ends in "_us" (microseconds
 * since the epoch, the registry's convention). */
static bool is_time_field(const ProtobufCFieldDescriptor *f) {
    size_t n = strlen(f->name);
    return f->type == PROTOBUF_C_TYPE_INT64 && f->label != PROTOBUF_C_LABEL_REPEATED && n > 3 &&
           strcmp(f->name + n - 3, "_us") == 0;
}

static void json_message(const ProtobufCMessage *msg, mf__buf *out, bool full,
                         int indent, int depth) {
    if (!msg) {
        mf__buf_puts(out, "null");
        return;
    }
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    bool any = false;
    mf__buf_putc(out, '{');
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!json_wanted(msg, f, full)) continue;
        if (any) mf__buf_putc(out, ',');
        json_newline(out, indent, depth + 1);
        if (is_time_field(f) && field_present(msg, f)) {
            /* times as RFC 3339 text under the name without "_us"; one
             * outside the years 1..9999 (an open end) as null */
            mf__buf_json_str(out, f->name, strlen(f->name) - 3);
            mf__buf_puts(out, indent > 0 ? ": " : ":");
            int64_t us = *(const int64_t *)CMEMBER(msg, f->offset);
            char ts[MF__TS_BUFLEN];
            if (mf__ts_in_range(us)) mf__buf_json_str(out, ts, mf__ts_format(us, ts));
            else mf__buf_puts(out, "null");
        } else {
            mf__buf_json_str(out, f->name, strlen(f->name));
            mf__buf_puts(out, indent > 0 ? ": " : ":");
            json_field(msg, f, out, full, indent, depth + 1);
        }
        any = true;
    }
    if (any) json_newline(out, indent, depth);
    mf__buf_putc(out, '}');
}

/* Append msg as a JSON object to `out` (NULL as null). Keys are the proto
 * field names in descriptor order (= declaration order in registry.proto,
 * whose fields are numbered in order). indent 0 writes one compact line;
 * indent > 0 pretty-prints with that many spaces per level. */
void mf__pb_to_json(const ProtobufCMessage *msg, mf__buf *out, bool full,
                    int indent) {
    json_message(msg, out, full, indent, 0);
}

/*---- Editing ---------------------------------------------------------------*/

/* The descriptor of msg's repeated message field `name`; aborts when there
 * is none (a bug in the caller). */
static const ProtobufCFieldDescriptor *
repeated_message_field(const ProtobufCMessage *msg, const char *name,
                       const char *who) {
    if (!msg) misuse("%s: NULL message", who);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (!f) misuse("%s: %s has no field \"%s\"", who, msg->descriptor->name, name);
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        misuse("%s: %s.%s is not a repeated message field", who,
               msg->descriptor->name, name);
    return f;
}

/* Append elem to msg's repeated message field `field_name`. Ownership of
 * elem passes to msg (freed with it). */
void mf__pb_append(ProtobufCMessage *msg, const char *field_name,
                   ProtobufCMessage *elem) {
    const ProtobufCFieldDescriptor *f =
        repeated_message_field(msg, field_name, "mf__pb_append");
    if (!elem || elem->descriptor != f->descriptor)
        misuse("mf__pb_append: %s.%s takes %s, given %s", msg->descriptor->name,
               field_name, ((const ProtobufCMessageDescriptor *)f->descriptor)->name,
               elem ? elem->descriptor->name : "NULL");
    size_t *n = (size_t *)MEMBER(msg, f->quantifier_offset);
    ProtobufCMessage ***arr = (ProtobufCMessage ***)MEMBER(msg, f->offset);
    *arr = mf__xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = elem;
}

/* Remove and free element i of msg's repeated message field `field_name`;
 * later elements move down one place. Aborts when i is out of range. */
void mf__pb_remove(ProtobufCMessage *msg, const char *field_name, size_t i) {
    const ProtobufCFieldDescriptor *f =
        repeated_message_field(msg, field_name, "mf__pb_remove");
    size_t *n = (size_t *)MEMBER(msg, f->quantifier_offset);
    ProtobufCMessage ***arr = (ProtobufCMessage ***)MEMBER(msg, f->offset);
    if (i >= *n)
        misuse("mf__pb_remove: index %zu out of range for %s.%s (%zu elements)",
               i, msg->descriptor->name, field_name, *n);
    protobuf_c_message_free_unpacked((*arr)[i], NULL);
    memmove(*arr + i, *arr + i + 1, (*n - i - 1) * sizeof **arr);
    if (--*n == 0) {
        free(*arr);
        *arr = NULL;
    }
}

/* Replace the string in *slot (a singular string field) with a malloc'd
 * copy of s, freeing the old one unless it is protobuf_c_empty_string.
 * NULL or "" store protobuf_c_empty_string. s may alias *slot. */
void mf__pb_set_string(char **slot, const char *s) {
    char *old = *slot;
    *slot = (s && *s) ? mf__xstrdup(s) : (char *)protobuf_c_empty_string;
    if (old && old != protobuf_c_empty_string) free(old);
}

/*---- Value types -----------------------------------------------------------*/

static const struct {
    Mf__ValueType scalar, list;
    const char *name, *list_name;
} dtypes[] = {
    {MF__VALUE_TYPE__VT_INT32, MF__VALUE_TYPE__VT_INT32_LIST, "Int32",
     "Array(Int32)"},
    {MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_INT64_LIST, "Int64",
     "Array(Int64)"},
    {MF__VALUE_TYPE__VT_FLOAT, MF__VALUE_TYPE__VT_FLOAT_LIST, "Float32",
     "Array(Float32)"},
    {MF__VALUE_TYPE__VT_DOUBLE, MF__VALUE_TYPE__VT_DOUBLE_LIST, "Float64",
     "Array(Float64)"},
    {MF__VALUE_TYPE__VT_STRING, MF__VALUE_TYPE__VT_STRING_LIST, "String",
     "Array(String)"},
    {MF__VALUE_TYPE__VT_BYTES, MF__VALUE_TYPE__VT_BYTES_LIST, "Bytes",
     "Array(Bytes)"},
    {MF__VALUE_TYPE__VT_BOOL, MF__VALUE_TYPE__VT_BOOL_LIST, "Bool",
     "Array(Bool)"},
    {MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST,
     "UnixTimestamp", "Array(UnixTimestamp)"},
};

/* The ValueType a DSL dtype text names, exactly as written (case and
 * spacing matter); VT_INVALID for NULL or anything else, including nested
 * arrays and "Null" (not a type a definition can declare). */
Mf__ValueType mf__dtype_parse(const char *s) {
    if (!s) return MF__VALUE_TYPE__VT_INVALID;
    for (size_t i = 0; i < MF__ARRAY_LEN(dtypes); i++) {
        if (strcmp(s, dtypes[i].name) == 0) return dtypes[i].scalar;
        if (strcmp(s, dtypes[i].list_name) == 0) return dtypes[i].list;
    }
    return MF__VALUE_TYPE__VT_INVALID;
}

/* The dtype text of t (static); "Null" for VT_NULL, "Invalid" for
 * VT_INVALID and numbers outside the enum. */
const char *mf__dtype_name(Mf__ValueType t) {
    for (size_t i = 0; i < MF__ARRAY_LEN(dtypes); i++) {
        if (t == dtypes[i].scalar) return dtypes[i].name;
        if (t == dtypes[i].list) return dtypes[i].list_name;
    }
    if (t == MF__VALUE_TYPE__VT_NULL) return "Null";
    return "Invalid";
}
