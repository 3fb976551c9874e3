/*
 * test_pb_reflect.c — unit tests of runtime/pb_reflect.c.
 *
 * Registry objects are built by hand the way the rest of the runtime builds
 * them (mf__pb_new, mf__pb_set_string, malloc'd arrays, mf__pb_append) and
 * freed with protobuf_c_message_free_unpacked, so ASan checks that clones
 * and edits own exactly the memory free_unpacked releases. A hand-written
 * "Kitchen" descriptor covers the field types registry.proto does not use
 * (double, float, bytes, uint32, other enums, optional, oneof).
 */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mf_internal.h"
#include "mft.h"

#define FREE_MSG(m) protobuf_c_message_free_unpacked((ProtobufCMessage *)(m), NULL)
#define NEW(type, desc) ((type *)mf__pb_new(&(desc)))

/*---- A tiny JSON validator -------------------------------------------------*/

static void js_ws(const char **p) {
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r') (*p)++;
}

static int js_value(const char **p, int depth);

static int js_string(const char **p) {
    if (**p != '"') return 0;
    (*p)++;
    while (**p != '"') {
        unsigned char c = (unsigned char)**p;
        if (c < 0x20) return 0;
        if (c == '\\') {
            (*p)++;
            if (**p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", (*p)[i]) || !(*p)[i]) return 0;
                *p += 4;
            } else if (!**p || !strchr("\"\\/bfnrt", **p)) {
                return 0;
            }
        }
        (*p)++;
    }
    (*p)++;
    return 1;
}

static int js_number(const char **p) {
    const char *s = *p;
    if (**p == '-') (*p)++;
    if (**p == '0') (*p)++;
    else if (**p >= '1' && **p <= '9') while (**p >= '0' && **p <= '9') (*p)++;
    else return 0;
    if (**p == '.') {
        (*p)++;
        if (!(**p >= '0' && **p <= '9')) return 0;
        while (**p >= '0' && **p <= '9') (*p)++;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-') (*p)++;
        if (!(**p >= '0' && **p <= '9')) return 0;
        while (**p >= '0' && **p <= '9') (*p)++;
    }
    return *p > s;
}

static int js_value(const char **p, int depth) {
    if (depth > 64) return 0;
    js_ws(p);
    if (**p == '{' || **p == '[') {
        char close = **p == '{' ? '}' : ']';
        int object = **p == '{';
        (*p)++;
        js_ws(p);
        if (**p == close) return (*p)++, 1;
        for (;;) {
            if (object) {
                js_ws(p);
                if (!js_string(p)) return 0;
                js_ws(p);
                if (**p != ':') return 0;
                (*p)++;
            }
            if (!js_value(p, depth + 1)) return 0;
            js_ws(p);
            if (**p == ',') { (*p)++; continue; }
            if (**p == close) return (*p)++, 1;
            return 0;
        }
    }
    if (**p == '"') return js_string(p);
    if (!strncmp(*p, "true", 4)) return *p += 4, 1;
    if (!strncmp(*p, "false", 5)) return *p += 5, 1;
    if (!strncmp(*p, "null", 4)) return *p += 4, 1;
    return js_number(p);
}

static int json_valid(const char *s) {
    if (!js_value(&s, 0)) return 0;
    js_ws(&s);
    return *s == '\0';
}

/*---- Builders --------------------------------------------------------------*/

static void push_str(char ***arr, size_t *n, const char *s) {
    *arr = mf__xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = mf__xstrdup(s);
}

static Mf__Tag *new_tag(const char *k, const char *v) {
    Mf__Tag *t = NEW(Mf__Tag, mf__tag__descriptor);
    mf__pb_set_string(&t->key, k);
    mf__pb_set_string(&t->value, v);
    return t;
}

static Mf__Field *new_field(const char *name, Mf__ValueType dt) {
    Mf__Field *f = NEW(Mf__Field, mf__field__descriptor);
    mf__pb_set_string(&f->name, name);
    f->dtype = dt;
    return f;
}

static Mf__Meta *new_meta(const char *file, int line) {
    Mf__Meta *m = NEW(Mf__Meta, mf__meta__descriptor);
    mf__pb_set_string(&m->file, file);
    m->line = line;
    m->created_us = 1700000000000000;
    m->updated_us = -1;
    return m;
}

static Mf__FeatureViewProjection *new_projection(const char *view) {
    Mf__FeatureViewProjection *p =
        NEW(Mf__FeatureViewProjection, mf__feature_view_projection__descriptor);
    mf__pb_set_string(&p->view_name, view);
    push_str(&p->features, &p->n_features, "conv_rate");
    push_str(&p->features, &p->n_features, "trips");
    Mf__JoinKeyMap *j = NEW(Mf__JoinKeyMap, mf__join_key_map__descriptor);
    mf__pb_set_string(&j->view_key, "driver_id");
    mf__pb_set_string(&j->entity_column, "driver");
    mf__pb_append(&p->base, "join_key_map", &j->base);
    return p;
}

static Mf__FeatureViewSpec *new_view_spec(void) {
    Mf__FeatureViewSpec *s = NEW(Mf__FeatureViewSpec, mf__feature_view_spec__descriptor);
    mf__pb_set_string(&s->project, "demo");
    mf__pb_set_string(&s->name, "driver_hourly_stats");
    push_str(&s->entities, &s->n_entities, "driver");
    mf__pb_append(&s->base, "features",
                  &new_field("conv_rate", MF__VALUE_TYPE__VT_FLOAT)->base);
    Mf__Field *acc = new_field("acc_rate", MF__VALUE_TYPE__VT_DOUBLE);
    mf__pb_append(&acc->base, "tags", &new_tag("unit", "ratio")->base);
    mf__pb_append(&s->base, "features", &acc->base);
    mf__pb_append(&s->base, "features",
                  &new_field("trips", MF__VALUE_TYPE__VT_INT64_LIST)->base);
    s->ttl_seconds = 86400;
    mf__pb_set_string(&s->source, "driver_stats_source");
    s->online = 1;
    mf__pb_set_string(&s->description, "Hourly \"stats\"\n");
    mf__pb_append(&s->base, "tags", &new_tag("team", "drivers")->base);
    mf__pb_set_string(&s->owner, "ml@example.com");
    mf__pb_append(&s->base, "entity_columns",
                  &new_field("driver_id", MF__VALUE_TYPE__VT_INT64)->base);
    return s;
}

static Mf__EntitySpec *new_entity_spec(void) {
    Mf__EntitySpec *s = NEW(Mf__EntitySpec, mf__entity_spec__descriptor);
    mf__pb_set_string(&s->project, "demo");
    mf__pb_set_string(&s->name, "driver");
    push_str(&s->join_keys, &s->n_join_keys, "driver_id");
    s->value_type = MF__VALUE_TYPE__VT_INT64;
    return s;
}

/* A registry holding one object of every kind. */
static Mf__Registry *new_registry(void) {
    Mf__Registry *r = NEW(Mf__Registry, mf__registry__descriptor);
    r->schema_version = 1;
    r->version = UINT64_MAX;
    r->last_updated_us = 1700000000123456;

    Mf__Project *p = NEW(Mf__Project, mf__project__descriptor);
    mf__pb_set_string(&p->name, "demo");
    p->created_us = 1;
    mf__pb_append(&r->base, "projects", &p->base);

    Mf__Entity *e = NEW(Mf__Entity, mf__entity__descriptor);
    e->spec = new_entity_spec();
    e->meta = new_meta("defs/entities.lua", 3);
    mf__pb_append(&r->base, "entities", &e->base);

    Mf__DataSource *d = NEW(Mf__DataSource, mf__data_source__descriptor);
    d->spec = NEW(Mf__DataSourceSpec, mf__data_source_spec__descriptor);
    mf__pb_set_string(&d->spec->project, "demo");
    mf__pb_set_string(&d->spec->name, "driver_stats_source");
    mf__pb_set_string(&d->spec->kind, "file");
    mf__pb_set_string(&d->spec->timestamp_field, "event_timestamp");
    mf__pb_set_string(&d->spec->path, "data/driver_stats.csv");
    mf__pb_set_string(&d->spec->delimiter, ",");
    Mf__FieldMapping *fm = NEW(Mf__FieldMapping, mf__field_mapping__descriptor);
    mf__pb_set_string(&fm->source_column, "drv");
    mf__pb_set_string(&fm->name, "driver_id");
    mf__pb_append(&d->spec->base, "field_mapping", &fm->base);
    mf__pb_append(&d->spec->base, "schema",
                  &new_field("val", MF__VALUE_TYPE__VT_STRING)->base);
    d->meta = new_meta("defs/sources.lua", 10);
    mf__pb_append(&r->base, "data_sources", &d->base);

    Mf__FeatureView *v = NEW(Mf__FeatureView, mf__feature_view__descriptor);
    v->spec = new_view_spec();
    v->meta = new_meta("defs/views.lua", 20);
    Mf__MaterializationInterval *iv =
        NEW(Mf__MaterializationInterval, mf__materialization_interval__descriptor);
    iv->start_us = 10, iv->end_us = 20;
    mf__pb_append(&v->base, "intervals", &iv->base);
    mf__pb_append(&r->base, "feature_views", &v->base);

    Mf__OnDemandFeatureView *o =
        NEW(Mf__OnDemandFeatureView, mf__on_demand_feature_view__descriptor);
    o->spec = NEW(Mf__OnDemandFeatureViewSpec, mf__on_demand_feature_view_spec__descriptor);
    mf__pb_set_string(&o->spec->project, "demo");
    mf__pb_set_string(&o->spec->name, "adjusted");
    mf__pb_append(&o->spec->base, "source_views", &new_projection("driver_hourly_stats")->base);
    push_str(&o->spec->request_sources, &o->spec->n_request_sources, "vals_to_add");
    mf__pb_append(&o->spec->base, "features",
                  &new_field("conv_plus", MF__VALUE_TYPE__VT_DOUBLE)->base);
    mf__pb_set_string(&o->spec->transform_source,
                      "function(inputs)\n  return {conv_plus = inputs.conv_rate + 1}\nend");
    mf__pb_set_string(&o->spec->mode, "lua");
    o->spec->write_to_online_store = 1;
    o->meta = new_meta("defs/odfv.lua", 5);
    mf__pb_append(&r->base, "on_demand_feature_views", &o->base);

    Mf__FeatureService *fs = NEW(Mf__FeatureService, mf__feature_service__descriptor);
    fs->spec = NEW(Mf__FeatureServiceSpec, mf__feature_service_spec__descriptor);
    mf__pb_set_string(&fs->spec->project, "demo");
    mf__pb_set_string(&fs->spec->name, "driver_activity");
    Mf__FeatureViewProjection *pr = new_projection("driver_hourly_stats");
    mf__pb_set_string(&pr->alias, "dhs");
    mf__pb_append(&fs->spec->base, "features", &pr->base);
    mf__pb_append(&fs->spec->base, "tags", &new_tag("tier", "gold")->base);
    fs->meta = NULL; /* a registry may hold objects without meta */
    mf__pb_append(&r->base, "feature_services", &fs->base);
    return r;
}

/* Packed form of msg; caller frees. */
static uint8_t *pack(const ProtobufCMessage *msg, size_t *len) {
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = mf__xmalloc(*len);
    protobuf_c_message_pack(msg, buf);
    return buf;
}

static int same_packed(const ProtobufCMessage *a, const ProtobufCMessage *b) {
    size_t la, lb;
    uint8_t *pa = pack(a, &la), *pb = pack(b, &lb);
    int same = la == lb && memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return same;
}

/* JSON text of msg; caller frees. */
static char *to_json(const void *msg, bool full, int indent) {
    mf__buf b;
    mf__buf_init(&b);
    mf__pb_to_json((const ProtobufCMessage *)msg, &b, full, indent);
    return mf__buf_steal(&b);
}

/*---- The Kitchen message: every field type ---------------------------------*/

typedef enum { COLOR_RED = 0, COLOR_GREEN = 1, COLOR_BLUE = 5 } Color;

typedef struct {
    ProtobufCMessage base;
    double d;                    /* 1 */
    float f;                     /* 2 */
    ProtobufCBinaryData b;       /* 3 */
    int32_t i32;                 /* 4 */
    uint32_t u32;                /* 5 */
    int64_t i64;                 /* 6 */
    uint64_t u64;                /* 7 */
    protobuf_c_boolean flag;     /* 8 */
    int color;                   /* 9 Color */
    Mf__ValueType vt;            /* 10 */
    char *s;                     /* 11 */
    Mf__Tag *tag;                /* 12 */
    size_t n_ds;                 /* 13 */
    double *ds;
    size_t n_fs;                 /* 14 */
    float *fs;
    size_t n_bs;                 /* 15 */
    ProtobufCBinaryData *bs;
    size_t n_i32s;               /* 16 */
    int32_t *i32s;
    size_t n_u64s;               /* 17 */
    uint64_t *u64s;
    size_t n_flags;              /* 18 */
    protobuf_c_boolean *flags;
    size_t n_colors;             /* 19 */
    int *colors;
    size_t n_vts;                /* 20 */
    Mf__ValueType *vts;
    size_t n_ss;                 /* 21 */
    char **ss;
    size_t n_tags;               /* 22 */
    Mf__Tag **tags;
    protobuf_c_boolean has_opt;  /* 23 optional int32 */
    int32_t opt;
    uint32_t choice_case;        /* oneof choice { 24 string, 25 int64 } */
    union {
        char *choice_s;
        int64_t choice_n;
    };
} Kitchen;

static const ProtobufCEnumValue color_values[] = {
    {"RED", "COLOR_RED", 0}, {"GREEN", "COLOR_GREEN", 1}, {"BLUE", "COLOR_BLUE", 5}};
static const ProtobufCEnumValueIndex color_by_name[] = {
    {"BLUE", 2}, {"GREEN", 1}, {"RED", 0}};
static const ProtobufCIntRange color_ranges[] = {{0, 0}, {5, 2}, {0, 3}};
static const ProtobufCEnumDescriptor color_descriptor = {
    PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC, "t.Color", "Color", "Color", "t",
    3, color_values, 3, color_by_name, 2, color_ranges, NULL, NULL, NULL, NULL};

#define KF(name, id, label, type, qoff, desc, def, flags)                      \
    {#name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, qoff,          \
     offsetof(Kitchen, name), desc, def, flags, 0, NULL, NULL}
#define KS(name, id, type, desc, def) KF(name, id, NONE, type, 0, desc, def, 0)
#define KR(name, id, type, desc)                                                \
    KF(name, id, REPEATED, type, offsetof(Kitchen, n_##name), desc, NULL, 0)

static const ProtobufCFieldDescriptor kitchen_fields[] = {
    KS(d, 1, DOUBLE, NULL, NULL),
    KS(f, 2, FLOAT, NULL, NULL),
    KS(b, 3, BYTES, NULL, NULL),
    KS(i32, 4, INT32, NULL, NULL),
    KS(u32, 5, UINT32, NULL, NULL),
    KS(i64, 6, INT64, NULL, NULL),
    KS(u64, 7, UINT64, NULL, NULL),
    KS(flag, 8, BOOL, NULL, NULL),
    KS(color, 9, ENUM, &color_descriptor, NULL),
    KS(vt, 10, ENUM, &mf__value_type__descriptor, NULL),
    KS(s, 11, STRING, NULL, &protobuf_c_empty_string),
    KS(tag, 12, MESSAGE, &mf__tag__descriptor, NULL),
    KR(ds, 13, DOUBLE, NULL),
    KR(fs, 14, FLOAT, NULL),
    KR(bs, 15, BYTES, NULL),
    KR(i32s, 16, INT32, NULL),
    KR(u64s, 17, UINT64, NULL),
    KR(flags, 18, BOOL, NULL),
    KR(colors, 19, ENUM, &color_descriptor),
    KR(vts, 20, ENUM, &mf__value_type__descriptor),
    KR(ss, 21, STRING, NULL),
    KR(tags, 22, MESSAGE, &mf__tag__descriptor),
    KF(opt, 23, OPTIONAL, INT32, offsetof(Kitchen, has_opt), NULL, NULL, 0),
    KF(choice_s, 24, NONE, STRING, offsetof(Kitchen, choice_case), NULL, NULL,
       PROTOBUF_C_FIELD_FLAG_ONEOF),
    KF(choice_n, 25, NONE, INT64, offsetof(Kitchen, choice_case), NULL, NULL,
       PROTOBUF_C_FIELD_FLAG_ONEOF),
};
#define N_KITCHEN (sizeof kitchen_fields / sizeof kitchen_fields[0])

static unsigned kitchen_by_name[N_KITCHEN]; /* filled by kitchen_setup */
static const ProtobufCIntRange kitchen_ranges[] = {{1, 0}, {0, N_KITCHEN}};

static void kitchen_init(ProtobufCMessage *m);

static const ProtobufCMessageDescriptor kitchen_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "t.Kitchen", "Kitchen", "Kitchen", "t",
    sizeof(Kitchen), N_KITCHEN, kitchen_fields, kitchen_by_name,
    1, kitchen_ranges, kitchen_init, NULL, NULL, NULL};

static void kitchen_init(ProtobufCMessage *m) {
    memset(m, 0, sizeof(Kitchen));
    m->descriptor = &kitchen_descriptor;
    ((Kitchen *)m)->s = (char *)protobuf_c_empty_string;
}

static int by_name(const void *a, const void *b) {
    return strcmp(kitchen_fields[*(const unsigned *)a].name,
                  kitchen_fields[*(const unsigned *)b].name);
}

static void kitchen_setup(void) {
    for (unsigned i = 0; i < N_KITCHEN; i++) kitchen_by_name[i] = i;
    qsort(kitchen_by_name, N_KITCHEN, sizeof kitchen_by_name[0], by_name);
}

#define ARR(field, ...)                                                         \
    do {                                                                        \
        __typeof__(*k->field) tmp_[] = {__VA_ARGS__};                           \
        k->n_##field = sizeof tmp_ / sizeof tmp_[0];                            \
        k->field = mf__xmalloc(sizeof tmp_);                                    \
        memcpy(k->field, tmp_, sizeof tmp_);                                    \
    } while (0)

static ProtobufCBinaryData bin(const char *s, size_t n) {
    ProtobufCBinaryData b = {n, mf__xmalloc(n)};
    memcpy(b.data, s, n);
    return b;
}

static Kitchen *new_kitchen(void) {
    Kitchen *k = (Kitchen *)mf__pb_new(&kitchen_descriptor);
    k->d = 0.1;
    k->f = 0.1f;
    k->b = bin("hi!\0\xff", 5);
    k->i32 = -5;
    k->u32 = 4000000000u;
    k->i64 = INT64_MIN;
    k->u64 = UINT64_MAX;
    k->flag = 1;
    k->color = COLOR_BLUE;
    k->vt = MF__VALUE_TYPE__VT_BOOL_LIST;
    mf__pb_set_string(&k->s, "x\ty");
    k->tag = new_tag("k", "");
    ARR(ds, 1.5, -0.0, NAN, 1e300, 1.0 / 3);
    ARR(fs, 0.1f, 3.4028235e38f, INFINITY);
    ARR(bs, bin("", 0), bin("a", 1));
    ARR(i32s, 1, -2);
    ARR(u64s, 0, UINT64_MAX);
    ARR(flags, 1, 0);
    ARR(colors, COLOR_RED, COLOR_GREEN, COLOR_BLUE, 7);
    ARR(vts, MF__VALUE_TYPE__VT_STRING, MF__VALUE_TYPE__VT_NULL, (Mf__ValueType)99);
    ARR(ss, mf__xstrdup("a"), mf__xstrdup("\"q\""));
    ARR(tags, new_tag("a", "b"));
    k->has_opt = 1, k->opt = 0;
    k->choice_case = 25, k->choice_n = 0;
    return k;
}

/*---- Tests: construction ---------------------------------------------------*/

static void test_new_has_defaults(void) {
    Mf__FeatureViewSpec *s = NEW(Mf__FeatureViewSpec, mf__feature_view_spec__descriptor);
    CHECK(s->base.descriptor == &mf__feature_view_spec__descriptor);
    CHECK(s->name == protobuf_c_empty_string);
    CHECK(s->n_features == 0 && s->features == NULL);
    CHECK(s->ttl_seconds == 0 && !s->online);
    FREE_MSG(s);
    Mf__Registry *r = NEW(Mf__Registry, mf__registry__descriptor);
    CHECK(r->version == 0 && r->n_feature_views == 0);
    FREE_MSG(r);
}

static void test_set_string(void) {
    Mf__Tag *t = NEW(Mf__Tag, mf__tag__descriptor);
    mf__pb_set_string(&t->key, "a");
    CHECK_STR(t->key, "a");
    CHECK(t->key != protobuf_c_empty_string);
    mf__pb_set_string(&t->key, t->key); /* aliasing its own value */
    CHECK_STR(t->key, "a");
    mf__pb_set_string(&t->key, "");
    CHECK(t->key == protobuf_c_empty_string);
    mf__pb_set_string(&t->key, "b");
    mf__pb_set_string(&t->key, NULL);
    CHECK(t->key == protobuf_c_empty_string);
    mf__pb_set_string(&t->value, "kept");
    FREE_MSG(t); /* value freed by free_unpacked, key is the static "" */
}

/*---- Tests: clone and equality ---------------------------------------------*/

static void test_clone_view_spec(void) {
    Mf__FeatureViewSpec *s = new_view_spec();
    Mf__FeatureViewSpec *c = (Mf__FeatureViewSpec *)mf__pb_clone(&s->base);
    CHECK(c != s);
    CHECK(mf__pb_equal(&s->base, &c->base));
    CHECK(same_packed(&s->base, &c->base));
    /* deep: nothing shared */
    CHECK(c->name != s->name && c->entities != s->entities);
    CHECK(c->entities[0] != s->entities[0]);
    CHECK(c->features != s->features && c->features[1] != s->features[1]);
    CHECK(c->features[1]->tags[0] != s->features[1]->tags[0]);
    CHECK_STR(c->features[1]->tags[0]->value, "ratio");
    /* unset strings keep pointing at the static empty string */
    CHECK(c->features[0]->description == protobuf_c_empty_string);
    mf__pb_set_string(&c->features[1]->tags[0]->value, "percent");
    CHECK_STR(s->features[1]->tags[0]->value, "ratio");
    CHECK(!mf__pb_equal(&s->base, &c->base));
    FREE_MSG(s);
    FREE_MSG(c);
}

static void test_clone_registry(void) {
    Mf__Registry *r = new_registry();
    Mf__Registry *c = (Mf__Registry *)mf__pb_clone(&r->base);
    CHECK(mf__pb_equal(&r->base, &c->base));
    CHECK(same_packed(&r->base, &c->base));
    CHECK(c->feature_services[0]->meta == NULL);
    CHECK(c->entities[0]->meta != r->entities[0]->meta);
    CHECK_STR(c->on_demand_feature_views[0]->spec->source_views[0]->join_key_map[0]->entity_column,
              "driver");
    /* a clone of an unpacked registry, and a clone of the clone */
    size_t len;
    uint8_t *buf = pack(&r->base, &len);
    ProtobufCMessage *u = protobuf_c_message_unpack(&mf__registry__descriptor, NULL, len, buf);
    free(buf);
    CHECK(u != NULL);
    ProtobufCMessage *uc = mf__pb_clone(u);
    ProtobufCMessage *cc = mf__pb_clone(&c->base);
    CHECK(mf__pb_equal(u, &r->base) && mf__pb_equal(uc, u) && mf__pb_equal(cc, &r->base));
    FREE_MSG(r);
    FREE_MSG(c);
    FREE_MSG(u);
    FREE_MSG(uc);
    FREE_MSG(cc);
    CHECK(mf__pb_clone(NULL) == NULL);
}

static void test_clone_keeps_unknown_fields(void) {
    /* Tag{key:"k"} followed by field 9 (varint 150), which Tag lacks */
    static const uint8_t wire[] = {0x0a, 0x01, 'k', 0x48, 0x96, 0x01};
    ProtobufCMessage *t = protobuf_c_message_unpack(&mf__tag__descriptor, NULL,
                                                    sizeof wire, wire);
    CHECK(t && t->n_unknown_fields == 1);
    ProtobufCMessage *c = mf__pb_clone(t);
    CHECK(c->n_unknown_fields == 1 && c->unknown_fields != t->unknown_fields);
    size_t len;
    uint8_t *buf = pack(c, &len);
    int same = len == sizeof wire && memcmp(buf, wire, len) == 0;
    free(buf);
    FREE_MSG(t);
    FREE_MSG(c);
    CHECK(same);
}

static void test_equal_detects_changes(void) {
    Mf__FeatureViewSpec *a = new_view_spec(), *b = new_view_spec();
    CHECK(mf__pb_equal(&a->base, &b->base));
    b->features[2]->dtype = MF__VALUE_TYPE__VT_INT32_LIST;
    CHECK(!mf__pb_equal(&a->base, &b->base));
    b->features[2]->dtype = a->features[2]->dtype;
    mf__pb_set_string(&b->features[1]->tags[0]->key, "units");
    CHECK(!mf__pb_equal(&a->base, &b->base));
    mf__pb_set_string(&b->features[1]->tags[0]->key, "unit");
    CHECK(mf__pb_equal(&a->base, &b->base));
    push_str(&b->entities, &b->n_entities, "rider");
    CHECK(!mf__pb_equal(&a->base, &b->base));
    free(b->entities[--b->n_entities]);
    CHECK(mf__pb_equal(&a->base, &b->base));
    b->online = 2; /* any true value is true */
    CHECK(mf__pb_equal(&a->base, &b->base));
    /* a NULL string compares like "" */
    free(b->owner);
    b->owner = NULL;
    mf__pb_set_string(&a->owner, "");
    CHECK(mf__pb_equal(&a->base, &b->base));
    /* different message types, NULLs */
    CHECK(!mf__pb_equal(&a->base, &a->features[0]->base));
    CHECK(mf__pb_equal(NULL, NULL) && !mf__pb_equal(&a->base, NULL));
    FREE_MSG(a);
    FREE_MSG(b);

    /* an unset submessage differs from an empty one */
    Mf__Entity *e1 = NEW(Mf__Entity, mf__entity__descriptor);
    Mf__Entity *e2 = NEW(Mf__Entity, mf__entity__descriptor);
    e2->meta = NEW(Mf__Meta, mf__meta__descriptor);
    CHECK(!mf__pb_equal(&e1->base, &e2->base));
    FREE_MSG(e1);
    FREE_MSG(e2);
}

static void test_diff_fields(void) {
    Mf__FeatureViewSpec *a = new_view_spec(), *b = new_view_spec();
    mf__buf out;
    mf__buf_init(&out);
    mf__pb_diff_fields(&a->base, &b->base, &out);
    CHECK(out.len == 0);
    b->ttl_seconds = 3600;
    mf__pb_set_string(&b->features[0]->description, "changed deep inside");
    mf__pb_diff_fields(&a->base, &b->base, &out);
    CHECK_STR(out.data, "features,ttl_seconds"); /* declaration order */
    out.len = 0;
    b->online = 0;
    mf__pb_remove(&b->base, "tags", 0);
    mf__pb_diff_fields(&a->base, &b->base, &out);
    CHECK_STR(out.data, "features,ttl_seconds,online,tags");
    mf__buf_free(&out);
    /* NULL stands for an empty message */
    mf__pb_diff_fields(NULL, &a->features[0]->base, &out);
    CHECK_STR(out.data, "name,dtype");
    mf__buf_free(&out);
    FREE_MSG(a);
    FREE_MSG(b);
}

static void test_kitchen_clone_and_equal(void) {
    Kitchen *k = new_kitchen();
    Kitchen *c = (Kitchen *)mf__pb_clone(&k->base);
    CHECK(mf__pb_equal(&k->base, &c->base)); /* NaN == NaN here */
    CHECK(same_packed(&k->base, &c->base));
    CHECK(c->b.data != k->b.data && c->bs != k->bs && c->bs[1].data != k->bs[1].data);
    CHECK(c->ss[0] != k->ss[0] && c->tags[0] != k->tags[0]);
    CHECK(c->choice_case == 25 && c->has_opt);
    size_t len;
    uint8_t *buf = pack(&k->base, &len);
    ProtobufCMessage *u = protobuf_c_message_unpack(&kitchen_descriptor, NULL, len, buf);
    free(buf);
    CHECK(u && mf__pb_equal(u, &k->base));
    FREE_MSG(u);

    c->has_opt = 0;
    CHECK(!mf__pb_equal(&k->base, &c->base));
    c->has_opt = 1;
    c->bs[1].data[0] = 'b';
    CHECK(!mf__pb_equal(&k->base, &c->base));
    c->bs[1].data[0] = 'a';
    c->fs[0] = 0.2f;
    CHECK(!mf__pb_equal(&k->base, &c->base));
    c->fs[0] = 0.1f;
    /* switch the oneof to its string member */
    c->choice_case = 24;
    c->choice_s = mf__xstrdup("picked");
    CHECK(!mf__pb_equal(&k->base, &c->base));
    mf__buf out;
    mf__buf_init(&out);
    mf__pb_diff_fields(&k->base, &c->base, &out);
    CHECK_STR(out.data, "choice_s,choice_n");
    mf__buf_free(&out);
    Kitchen *cc = (Kitchen *)mf__pb_clone(&c->base);
    CHECK(cc->choice_s != c->choice_s && !strcmp(cc->choice_s, "picked"));
    CHECK(mf__pb_equal(&cc->base, &c->base));
    FREE_MSG(cc);
    FREE_MSG(c);
    FREE_MSG(k);
}

/*---- Tests: JSON -----------------------------------------------------------*/

static void test_json_compact(void) {
    Mf__EntitySpec *s = new_entity_spec();
    char *j = to_json(s, false, 0);
    CHECK_STR(j, "{\"project\":\"demo\",\"name\":\"driver\",\"join_keys\":[\"driver_id\"],"
                 "\"value_type\":\"Int64\"}");
    free(j);
    j = to_json(s, true, 0);
    CHECK_STR(j, "{\"project\":\"demo\",\"name\":\"driver\",\"join_keys\":[\"driver_id\"],"
                 "\"value_type\":\"Int64\",\"description\":\"\",\"tags\":[],\"owner\":\"\"}");
    free(j);
    FREE_MSG(s);

    Mf__Tag *t = NEW(Mf__Tag, mf__tag__descriptor);
    j = to_json(t, false, 0);
    CHECK_STR(j, "{}");
    free(j);
    j = to_json(t, false, 4);
    CHECK_STR(j, "{}");
    free(j);
    mf__pb_set_string(&t->key, "q\"b\\s\n\x01");
    j = to_json(t, false, 0);
    CHECK_STR(j, "{\"key\":\"q\\\"b\\\\s\\n\\u0001\"}");
    free(j);
    FREE_MSG(t);
    j = to_json(NULL, false, 0);
    CHECK_STR(j, "null");
    free(j);
}

static void test_json_numbers_and_nesting(void) {
    Mf__Registry *r = NEW(Mf__Registry, mf__registry__descriptor);
    r->version = UINT64_MAX;
    r->last_updated_us = INT64_MIN;
    Mf__Entity *e = NEW(Mf__Entity, mf__entity__descriptor);
    e->meta = new_meta("", -7);
    mf__pb_append(&r->base, "entities", &e->base);
    char *j = to_json(r, false, 0);
    /* times (int64 *_us fields) as RFC 3339 under their name without
     * "_us"; one outside years 1..9999 as null */
    CHECK_STR(j, "{\"version\":18446744073709551615,\"last_updated\":null,"
                 "\"entities\":[{\"meta\":{\"line\":-7,\"created\":\"2023-11-14T22:13:20Z\","
                 "\"updated\":\"1969-12-31T23:59:59.999999Z\"}}]}");
    free(j);
    j = to_json(e, true, 0);
    CHECK_STR(j, "{\"spec\":null,\"meta\":{\"file\":\"\",\"line\":-7,"
                 "\"created\":\"2023-11-14T22:13:20Z\",\"updated\":\"1969-12-31T23:59:59.999999Z\"}}");
    free(j);
    FREE_MSG(r);
}

static void test_json_pretty(void) {
    Mf__EntitySpec *s = new_entity_spec();
    push_str(&s->join_keys, &s->n_join_keys, "region");
    mf__pb_append(&s->base, "tags", &new_tag("team", "rides")->base);
    mf__pb_append(&s->base, "tags", &new_tag("tier", "")->base);
    char *j = to_json(s, false, 2);
    CHECK_STR(j, "{\n"
                 "  \"project\": \"demo\",\n"
                 "  \"name\": \"driver\",\n"
                 "  \"join_keys\": [\"driver_id\", \"region\"],\n"
                 "  \"value_type\": \"Int64\",\n"
                 "  \"tags\": [\n"
                 "    {\n"
                 "      \"key\": \"team\",\n"
                 "      \"value\": \"rides\"\n"
                 "    },\n"
                 "    {\n"
                 "      \"key\": \"tier\"\n"
                 "    }\n"
                 "  ]\n"
                 "}");
    free(j);
    FREE_MSG(s);

    Mf__Registry *r = new_registry();
    for (int full = 0; full <= 1; full++) {
        for (int indent = 0; indent <= 4; indent += 2) {
            j = to_json(r, full, indent);
            int ok = json_valid(j);
            if (!ok) printf("#   invalid JSON (full=%d indent=%d):\n%s\n", full, indent, j);
            if (indent == 0) CHECK(strchr(j, '\n') == NULL);
            free(j);
            CHECK(ok);
        }
    }
    j = to_json(r, false, 2);
    CHECK_HAS(j, "\"feature_views\": [\n    {\n      \"spec\": {\n        \"project\": \"demo\"");
    CHECK_HAS(j, "\"dtype\": \"Array(Int64)\"");
    CHECK_HAS(j, "\"transform_source\": \"function(inputs)\\n  return");
    CHECK_HAS(j, "\"version\": 18446744073709551615");
    free(j);
    FREE_MSG(r);
}

static void test_json_all_types(void) {
    Kitchen *k = new_kitchen();
    char *j = to_json(k, false, 0);
    CHECK_STR(j, "{\"d\":0.1,\"f\":0.1,\"b\":\"aGkhAP8=\",\"i32\":-5,\"u32\":4000000000,"
                 "\"i64\":-9223372036854775808,\"u64\":18446744073709551615,"
                 "\"flag\":true,\"color\":\"BLUE\",\"vt\":\"Array(Bool)\",\"s\":\"x\\ty\","
                 "\"tag\":{\"key\":\"k\"},"
                 "\"ds\":[1.5,-0,null,1e+300,0.3333333333333333],"
                 "\"fs\":[0.1,3.4028235e+38,null],"
                 "\"bs\":[\"\",\"YQ==\"],\"i32s\":[1,-2],"
                 "\"u64s\":[0,18446744073709551615],\"flags\":[true,false],"
                 "\"colors\":[\"RED\",\"GREEN\",\"BLUE\",7],"
                 "\"vts\":[\"String\",\"Null\",\"Invalid\"],"
                 "\"ss\":[\"a\",\"\\\"q\\\"\"],\"tags\":[{\"key\":\"a\",\"value\":\"b\"}],"
                 "\"opt\":0,\"choice_n\":0}");
    free(j);
    j = to_json(k, true, 3);
    CHECK(json_valid(j));
    CHECK_HAS(j, "\"ds\": [1.5, -0, null, 1e+300, 0.3333333333333333]");
    CHECK_HAS(j, "\"tag\": {\n      \"key\": \"k\",\n      \"value\": \"\"\n   }");
    CHECK(strstr(j, "choice_s") == NULL);
    free(j);
    FREE_MSG(k);

    /* an empty Kitchen: nothing but defaults */
    k = (Kitchen *)mf__pb_new(&kitchen_descriptor);
    j = to_json(k, false, 2);
    CHECK_STR(j, "{}");
    free(j);
    j = to_json(k, true, 0);
    CHECK(json_valid(j));
    CHECK_HAS(j, "\"d\":0,\"f\":0,\"b\":\"\",");
    CHECK_HAS(j, "\"color\":\"RED\",\"vt\":\"Invalid\",\"s\":\"\",\"tag\":null,\"ds\":[]");
    CHECK_HAS(j, "\"opt\":null}");
    free(j);
    /* base64 padding variants */
    const char *want[] = {"\"\"", "\"YQ==\"", "\"YWI=\"", "\"YWJj\"", "\"YWJjZA==\""};
    for (size_t n = 0; n <= 4; n++) {
        free(k->b.data);
        k->b = bin("abcd", n);
        j = to_json(k, false, 0);
        char *exp = mf__xasprintf("{\"b\":%s}", want[n]);
        int same = n == 0 ? strcmp(j, "{}") == 0 : strcmp(j, exp) == 0;
        if (!same) printf("#   got %s want %s\n", j, exp);
        free(exp);
        free(j);
        CHECK(same);
    }
    FREE_MSG(k);
}

/*---- Tests: editing --------------------------------------------------------*/

static void test_append_remove(void) {
    Mf__FeatureViewSpec *s = NEW(Mf__FeatureViewSpec, mf__feature_view_spec__descriptor);
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        mf__pb_append(&s->base, "features",
                      &new_field(names[i], MF__VALUE_TYPE__VT_INT64)->base);
    CHECK(s->n_features == 4);
    CHECK_STR(s->features[3]->name, "d");
    mf__pb_remove(&s->base, "features", 1);
    CHECK(s->n_features == 3);
    CHECK_STR(s->features[0]->name, "a");
    CHECK_STR(s->features[1]->name, "c");
    CHECK_STR(s->features[2]->name, "d");
    mf__pb_remove(&s->base, "features", 2);
    mf__pb_remove(&s->base, "features", 0);
    CHECK(s->n_features == 1);
    CHECK_STR(s->features[0]->name, "c");
    mf__pb_remove(&s->base, "features", 0);
    CHECK(s->n_features == 0);
    mf__pb_append(&s->base, "entity_columns",
                  &new_field("id", MF__VALUE_TYPE__VT_STRING)->base);
    char *j = to_json(s, false, 0);
    CHECK_STR(j, "{\"entity_columns\":[{\"name\":\"id\",\"dtype\":\"String\"}]}");
    free(j);
    FREE_MSG(s);
}

/* Run fn in a child process; true when it aborted with a message on stderr
 * containing `needle`. */
static bool aborts_with(void (*fn)(void), const char *needle) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    char msg[1024];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof msg - 1 && (n = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0)
        len += (size_t)n;
    msg[len] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(msg, needle);
    if (!ok) printf("#   child status %d, stderr: %s\n", status, msg);
    return ok;
}

static void misuse_unknown_field(void) {
    Mf__EntitySpec *s = new_entity_spec();
    mf__pb_append(&s->base, "nope", &new_tag("a", "b")->base);
}
static void misuse_not_repeated(void) {
    Mf__EntitySpec *s = new_entity_spec();
    mf__pb_append(&s->base, "name", &new_tag("a", "b")->base);
}
static void misuse_repeated_string(void) {
    Mf__EntitySpec *s = new_entity_spec();
    mf__pb_remove(&s->base, "join_keys", 0);
}
static void misuse_wrong_element(void) {
    Mf__EntitySpec *s = new_entity_spec();
    mf__pb_append(&s->base, "tags", &new_field("x", MF__VALUE_TYPE__VT_INT64)->base);
}
static void misuse_out_of_range(void) {
    Mf__EntitySpec *s = new_entity_spec();
    mf__pb_remove(&s->base, "tags", 0);
}

static void test_misuse_aborts(void) {
    CHECK(aborts_with(misuse_unknown_field, "mf.EntitySpec has no field \"nope\""));
    CHECK(aborts_with(misuse_not_repeated, "mf.EntitySpec.name is not a repeated message field"));
    CHECK(aborts_with(misuse_repeated_string, "join_keys is not a repeated message field"));
    CHECK(aborts_with(misuse_wrong_element, "takes mf.Tag, given mf.Field"));
    CHECK(aborts_with(misuse_out_of_range, "index 0 out of range"));
}

/*---- Tests: dtypes ---------------------------------------------------------*/

static void test_dtype_round_trip(void) {
    static const struct {
        Mf__ValueType t;
        const char *name;
    } all[] = {
        {MF__VALUE_TYPE__VT_BYTES, "Bytes"},
        {MF__VALUE_TYPE__VT_STRING, "String"},
        {MF__VALUE_TYPE__VT_INT32, "Int32"},
        {MF__VALUE_TYPE__VT_INT64, "Int64"},
        {MF__VALUE_TYPE__VT_DOUBLE, "Float64"},
        {MF__VALUE_TYPE__VT_FLOAT, "Float32"},
        {MF__VALUE_TYPE__VT_BOOL, "Bool"},
        {MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, "UnixTimestamp"},
        {MF__VALUE_TYPE__VT_BYTES_LIST, "Array(Bytes)"},
        {MF__VALUE_TYPE__VT_STRING_LIST, "Array(String)"},
        {MF__VALUE_TYPE__VT_INT32_LIST, "Array(Int32)"},
        {MF__VALUE_TYPE__VT_INT64_LIST, "Array(Int64)"},
        {MF__VALUE_TYPE__VT_DOUBLE_LIST, "Array(Float64)"},
        {MF__VALUE_TYPE__VT_FLOAT_LIST, "Array(Float32)"},
        {MF__VALUE_TYPE__VT_BOOL_LIST, "Array(Bool)"},
        {MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST, "Array(UnixTimestamp)"},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK_STR(mf__dtype_name(all[i].t), all[i].name);
        CHECK(mf__dtype_parse(all[i].name) == all[i].t);
    }
    /* every value of the enum has a name, and names parse back (except the
     * two that are not declarable types) */
    const ProtobufCEnumDescriptor *ed = &mf__value_type__descriptor;
    for (unsigned i = 0; i < ed->n_values; i++) {
        Mf__ValueType t = (Mf__ValueType)ed->values[i].value;
        const char *name = mf__dtype_name(t);
        if (t == MF__VALUE_TYPE__VT_NULL) CHECK_STR(name, "Null");
        else if (t == MF__VALUE_TYPE__VT_INVALID) CHECK_STR(name, "Invalid");
        else CHECK(mf__dtype_parse(name) == t);
    }
    CHECK_STR(mf__dtype_name((Mf__ValueType)9), "Invalid");
    CHECK_STR(mf__dtype_name((Mf__ValueType)-3), "Invalid");
}

static void test_dtype_unknown(void) {
    const char *bad[] = {"", "int64", "INT64", "Int", "Float", "Double", "Array",
                         "Array()", "Array(Int64", "Array(Int64))", "Array( Int64)",
                         "Array(Array(Int64))", "Array(Null)", "Null", "Invalid",
                         " Int64", "Int64 ", "List(Int64)", "Array(int64)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mf__dtype_parse(bad[i]) != MF__VALUE_TYPE__VT_INVALID)
            printf("#   accepted \"%s\"\n", bad[i]);
        CHECK(mf__dtype_parse(bad[i]) == MF__VALUE_TYPE__VT_INVALID);
    }
    CHECK(mf__dtype_parse(NULL) == MF__VALUE_TYPE__VT_INVALID);
}

int main(void) {
    kitchen_setup();
    RUN(test_new_has_defaults);
    RUN(test_set_string);
    RUN(test_clone_view_spec);
    RUN(test_clone_registry);
    RUN(test_clone_keeps_unknown_fields);
    RUN(test_equal_detects_changes);
    RUN(test_diff_fields);
    RUN(test_kitchen_clone_and_equal);
    RUN(test_json_compact);
    RUN(test_json_numbers_and_nesting);
    RUN(test_json_pretty);
    RUN(test_json_all_types);
    RUN(test_append_remove);
    RUN(test_misuse_aborts);
    RUN(test_dtype_round_trip);
    RUN(test_dtype_unknown);
    MFT_END();
}
