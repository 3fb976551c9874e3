/*
 * test_registry.c — unit tests of runtime/registry.c, the file registry
 * (runtime/registry_file.c) and the SQL registry (runtime/registry_sql.c).
 *
 * Every test works in its own temporary folder. Objects are built by hand
 * with every field of their messages set (a guard test fails when a field
 * added to registry.proto is left out of the builders), committed through
 * the backend's vt->commit and read back with vt->load. The tests of the
 * registry's contract (round trip, versions, a failed commit, writers in
 * several processes and threads, intervals, deletes, projects) run on
 * every backend: the file registry, the SQL registry on SQLite and on
 * PostgreSQL (a server this program starts, mft_pg.h; skipped with a
 * message when PostgreSQL is not installed). The crash tests of the real
 * `apply` path are the e2e scripts tests/e2e/registry_*.sh.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mf_internal.h"
#include "mft.h"
#include "mft_pg.h"

#define FREE_MSG(m) protobuf_c_message_free_unpacked((ProtobufCMessage *)(m), NULL)
#define NEW(type, desc) ((type *)mf__pb_new(&(desc)))

static const unsigned char MAGIC[8] = {'M', 'F', 'R', 'E', 'G', 1, '\r', '\n'};

/*---- Files and folders -----------------------------------------------------*/

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* A new empty folder; caller frees and removes it with tmpdir_done. */
static char *tmpdir_new(void) {
    const char *base = getenv("TMPDIR");
    char *t = mf__xasprintf("%s/mft_registry_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(t)) {
        printf("#   mkdtemp %s: %s\n", t, strerror(errno));
        free(t);
        return NULL;
    }
    return t;
}

static void tmpdir_done(char *dir) {
    if (dir) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Whole file; NULL when it cannot be read. Caller frees. */
static char *slurp(const char *path, size_t *len) {
    char *data = NULL;
    mf_error err;
    if (mf__read_input(path, SIZE_MAX, &data, len, &err) != MF_OK) return NULL;
    return data;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/*---- Builders: every field set ---------------------------------------------*/

static void push_str(char ***arr, size_t *n, const char *s) {
    *arr = mf__xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = mf__xstrdup(s);
}

static Mf__Tag *tag(const char *k, const char *v) {
    Mf__Tag *t = NEW(Mf__Tag, mf__tag__descriptor);
    mf__pb_set_string(&t->key, k);
    mf__pb_set_string(&t->value, v);
    return t;
}

static void add_tags(ProtobufCMessage *m) {
    mf__pb_append(m, "tags", &tag("team", "drivers")->base);
    mf__pb_append(m, "tags", &tag("tier", "gold \"quoted\"")->base);
}

static Mf__Field *field(const char *name, Mf__ValueType dt) {
    Mf__Field *f = NEW(Mf__Field, mf__field__descriptor);
    mf__pb_set_string(&f->name, name);
    f->dtype = dt;
    char *d = mf__xasprintf("the %s feature", name);
    mf__pb_set_string(&f->description, d);
    free(d);
    mf__pb_append(&f->base, "tags", &tag("unit", name)->base);
    return f;
}

static Mf__Meta *meta(const char *file, int line) {
    Mf__Meta *m = NEW(Mf__Meta, mf__meta__descriptor);
    mf__pb_set_string(&m->file, file);
    m->line = line;
    m->created_us = 1700000000000001;
    m->updated_us = 1700000000000002;
    return m;
}

static Mf__FeatureViewProjection *projection(const char *view, const char *alias) {
    Mf__FeatureViewProjection *p =
        NEW(Mf__FeatureViewProjection, mf__feature_view_projection__descriptor);
    mf__pb_set_string(&p->view_name, view);
    mf__pb_set_string(&p->alias, alias);
    push_str(&p->features, &p->n_features, "conv_rate");
    push_str(&p->features, &p->n_features, "trips");
    Mf__JoinKeyMap *j = NEW(Mf__JoinKeyMap, mf__join_key_map__descriptor);
    mf__pb_set_string(&j->view_key, "driver_id");
    mf__pb_set_string(&j->entity_column, "driver");
    mf__pb_append(&p->base, "join_key_map", &j->base);
    return p;
}

static Mf__Entity *full_entity(const char *project, const char *name) {
    Mf__Entity *e = NEW(Mf__Entity, mf__entity__descriptor);
    Mf__EntitySpec *s = e->spec = NEW(Mf__EntitySpec, mf__entity_spec__descriptor);
    mf__pb_set_string(&s->project, project);
    mf__pb_set_string(&s->name, name);
    push_str(&s->join_keys, &s->n_join_keys, "driver_id");
    push_str(&s->join_keys, &s->n_join_keys, "region");
    s->value_type = MF__VALUE_TYPE__VT_INT64;
    mf__pb_set_string(&s->description, "A driver\nof the service");
    add_tags(&s->base);
    mf__pb_set_string(&s->owner, "ml@example.com");
    e->meta = meta("defs/entities.lua", 3);
    return e;
}

/* A data source of `kind` with the fields that kind uses. */
static Mf__DataSource *full_source(const char *project, const char *name, const char *kind) {
    Mf__DataSource *d = NEW(Mf__DataSource, mf__data_source__descriptor);
    Mf__DataSourceSpec *s = d->spec = NEW(Mf__DataSourceSpec, mf__data_source_spec__descriptor);
    mf__pb_set_string(&s->project, project);
    mf__pb_set_string(&s->name, name);
    mf__pb_set_string(&s->kind, kind);
    mf__pb_set_string(&s->description, "where the rows come from");
    add_tags(&s->base);
    mf__pb_set_string(&s->owner, "data@example.com");
    if (strcmp(kind, "request") != 0) {
        mf__pb_set_string(&s->timestamp_field, "event_timestamp");
        mf__pb_set_string(&s->created_timestamp_column, "created");
        Mf__FieldMapping *fm = NEW(Mf__FieldMapping, mf__field_mapping__descriptor);
        mf__pb_set_string(&fm->source_column, "drv");
        mf__pb_set_string(&fm->name, "driver_id");
        mf__pb_append(&s->base, "field_mapping", &fm->base);
    }
    if (strcmp(kind, "file") == 0) {
        mf__pb_set_string(&s->path, "data/driver_stats.csv");
        mf__pb_set_string(&s->format, "csv");
        mf__pb_set_string(&s->delimiter, ";");
    } else if (strcmp(kind, "sqlite") == 0) {
        mf__pb_set_string(&s->database, "data/warehouse.db");
        mf__pb_set_string(&s->table, "driver_stats");
        mf__pb_set_string(&s->query, "SELECT * FROM driver_stats WHERE x > 0");
    } else if (strcmp(kind, "push") == 0) {
        mf__pb_set_string(&s->batch_source, "file_source");
    } else if (strcmp(kind, "lua") == 0) {
        mf__pb_set_string(&s->module, "modules/jsonl.lua");
        mf__pb_append(&s->base, "options", &tag("path", "data/stats.jsonl")->base);
    } else {
        mf__pb_append(&s->base, "schema", &field("val_to_add", MF__VALUE_TYPE__VT_INT64)->base);
        mf__pb_append(&s->base, "schema",
                      &field("names", MF__VALUE_TYPE__VT_STRING_LIST)->base);
    }
    d->meta = meta("defs/sources.lua", 10);
    return d;
}

static Mf__FeatureView *full_view(const char *project, const char *name) {
    Mf__FeatureView *v = NEW(Mf__FeatureView, mf__feature_view__descriptor);
    Mf__FeatureViewSpec *s = v->spec = NEW(Mf__FeatureViewSpec, mf__feature_view_spec__descriptor);
    mf__pb_set_string(&s->project, project);
    mf__pb_set_string(&s->name, name);
    push_str(&s->entities, &s->n_entities, "driver");
    mf__pb_append(&s->base, "features", &field("conv_rate", MF__VALUE_TYPE__VT_FLOAT)->base);
    mf__pb_append(&s->base, "features", &field("trips", MF__VALUE_TYPE__VT_INT64_LIST)->base);
    s->ttl_seconds = 86400;
    mf__pb_set_string(&s->source, "file_source");
    s->online = 1;
    mf__pb_set_string(&s->description, "Hourly stats");
    add_tags(&s->base);
    mf__pb_set_string(&s->owner, "ml@example.com");
    s->schema_inferred = 1;
    mf__pb_append(&s->base, "entity_columns",
                  &field("driver_id", MF__VALUE_TYPE__VT_INT64)->base);
    v->meta = meta("defs/views.lua", 20);
    for (int i = 0; i < 2; i++) {
        Mf__MaterializationInterval *iv =
            NEW(Mf__MaterializationInterval, mf__materialization_interval__descriptor);
        iv->start_us = 1735689600000000 + i * 3600000000LL;
        iv->end_us = iv->start_us + 3600000000LL;
        mf__pb_append(&v->base, "intervals", &iv->base);
    }
    return v;
}

static Mf__OnDemandFeatureView *full_odfv(const char *project, const char *name) {
    Mf__OnDemandFeatureView *o =
        NEW(Mf__OnDemandFeatureView, mf__on_demand_feature_view__descriptor);
    Mf__OnDemandFeatureViewSpec *s = o->spec =
        NEW(Mf__OnDemandFeatureViewSpec, mf__on_demand_feature_view_spec__descriptor);
    mf__pb_set_string(&s->project, project);
    mf__pb_set_string(&s->name, name);
    mf__pb_append(&s->base, "source_views", &projection("driver_hourly_stats", "dhs")->base);
    push_str(&s->request_sources, &s->n_request_sources, "vals_to_add");
    mf__pb_append(&s->base, "features", &field("conv_plus", MF__VALUE_TYPE__VT_DOUBLE)->base);
    mf__pb_set_string(&s->transform_source,
                      "function(row)\n  return {conv_plus = row.conv_rate + row.val_to_add}\nend");
    mf__pb_set_string(&s->transform_file, "defs/odfv.lua");
    s->transform_line = 7;
    mf__pb_set_string(&s->mode, "lua");
    s->write_to_online_store = 1;
    mf__pb_set_string(&s->description, "computed at request time");
    add_tags(&s->base);
    mf__pb_set_string(&s->owner, "ml@example.com");
    o->meta = meta("defs/odfv.lua", 5);
    return o;
}

static Mf__FeatureService *full_service(const char *project, const char *name) {
    Mf__FeatureService *f = NEW(Mf__FeatureService, mf__feature_service__descriptor);
    Mf__FeatureServiceSpec *s = f->spec =
        NEW(Mf__FeatureServiceSpec, mf__feature_service_spec__descriptor);
    mf__pb_set_string(&s->project, project);
    mf__pb_set_string(&s->name, name);
    mf__pb_append(&s->base, "features", &projection("driver_hourly_stats", "v1")->base);
    mf__pb_append(&s->base, "features", &projection("adjusted", "odfv")->base);
    mf__pb_set_string(&s->description, "what the model reads");
    add_tags(&s->base);
    mf__pb_set_string(&s->owner, "ml@example.com");
    f->meta = meta("defs/services.lua", 40);
    return f;
}

static const char *const source_kinds[] = {"file", "sqlite", "push", "request", "lua"};

/* A registry (version 0) holding, for project "demo", one object of every
 * kind and a data source of every source kind, all fully set. */
static Mf__Registry *full_registry(void) {
    Mf__Registry *r = mf__reg_new();
    Mf__Project *p = NEW(Mf__Project, mf__project__descriptor);
    mf__pb_set_string(&p->name, "demo");
    p->created_us = 1700000000000000;
    mf__pb_append(&r->base, "projects", &p->base);
    mf__reg_add(r, MF_KIND_ENTITY, &full_entity("demo", "driver")->base);
    for (size_t i = 0; i < MF__ARRAY_LEN(source_kinds); i++) {
        char *name = mf__xasprintf("%s_source", source_kinds[i]);
        mf__reg_add(r, MF_KIND_DATA_SOURCE, &full_source("demo", name, source_kinds[i])->base);
        free(name);
    }
    mf__reg_add(r, MF_KIND_FEATURE_VIEW, &full_view("demo", "driver_hourly_stats")->base);
    mf__reg_add(r, MF_KIND_ON_DEMAND_FEATURE_VIEW, &full_odfv("demo", "adjusted")->base);
    mf__reg_add(r, MF_KIND_FEATURE_SERVICE, &full_service("demo", "driver_activity")->base);
    return r;
}

/* A minimal object of `kind` (spec project and name, meta line). */
static ProtobufCMessage *small_obj(mf_object_kind kind, const char *project, const char *name,
                                   int line) {
    static const ProtobufCMessageDescriptor *const objs[MF_KIND_COUNT] = {
        &mf__entity__descriptor, &mf__data_source__descriptor, &mf__feature_view__descriptor,
        &mf__on_demand_feature_view__descriptor, &mf__feature_service__descriptor};
    static const ProtobufCMessageDescriptor *const specs[MF_KIND_COUNT] = {
        &mf__entity_spec__descriptor, &mf__data_source_spec__descriptor,
        &mf__feature_view_spec__descriptor, &mf__on_demand_feature_view_spec__descriptor,
        &mf__feature_service_spec__descriptor};
    ProtobufCMessage *o = mf__pb_new(objs[kind]);
    ProtobufCMessage *s = mf__pb_new(specs[kind]);
    const ProtobufCFieldDescriptor *f;
    f = protobuf_c_message_descriptor_get_field_by_name(specs[kind], "project");
    mf__pb_set_string((char **)((char *)s + f->offset), project);
    f = protobuf_c_message_descriptor_get_field_by_name(specs[kind], "name");
    mf__pb_set_string((char **)((char *)s + f->offset), name);
    f = protobuf_c_message_descriptor_get_field_by_name(objs[kind], "spec");
    *(ProtobufCMessage **)((char *)o + f->offset) = s;
    if (line) {
        f = protobuf_c_message_descriptor_get_field_by_name(objs[kind], "meta");
        *(Mf__Meta **)((char *)o + f->offset) = meta("x.lua", line);
    }
    return o;
}

/*---- "Every field set" guard -----------------------------------------------*/

static bool field_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
    const char *p = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)((const char *)m + f->quantifier_offset) > 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: return *(char *const *)p && **(char *const *)p;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p != NULL;
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_INT32: return *(const int32_t *)p != 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64: return *(const int64_t *)p != 0;
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)p != 0;
    default: return false; /* a type registry.proto did not use: look here */
    }
}

/* Append "prefix.field" for every field of m left unset, recursing into
 * set sub-messages (every element of message lists). With `shallow`, fields
 * of m itself are not reported, only those of its sub-messages. */
static void unset_fields(const ProtobufCMessage *m, const char *prefix, bool shallow,
                         mf__buf *out) {
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!field_set(m, f)) {
            if (!shallow) mf__buf_printf(out, " %s.%s", prefix, f->name);
            continue;
        }
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        char *sub = mf__xasprintf("%s.%s", prefix, f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            ProtobufCMessage *const *a = *(ProtobufCMessage *const *const *)((const char *)m + f->offset);
            for (size_t j = 0; j < n; j++) unset_fields(a[j], sub, false, out);
        } else {
            unset_fields(*(ProtobufCMessage *const *)((const char *)m + f->offset), sub, false, out);
        }
        free(sub);
    }
}

/*---- Mutators --------------------------------------------------------------*/

typedef struct add_ctx {
    const Mf__Registry *objs; /* every object and project is added (cloned) */
    long long seen_version;   /* version the mutator was given */
} add_ctx;

static int add_all(Mf__Registry *reg, void *ud, mf_error *err) {
    (void)err;
    add_ctx *c = ud;
    c->seen_version = (long long)reg->version;
    for (size_t i = 0; i < c->objs->n_projects; i++)
        mf__pb_append(&reg->base, "projects", mf__pb_clone(&c->objs->projects[i]->base));
    for (int k = 0; k < MF_KIND_COUNT; k++)
        for (size_t i = 0; i < mf__reg_count(c->objs, k); i++) {
            mf__obj o;
            mf__reg_get(c->objs, k, i, &o);
            mf__reg_add(reg, k, mf__pb_clone(o.msg));
        }
    return MF_OK;
}

static int no_change(Mf__Registry *reg, void *ud, mf_error *err) {
    (void)reg, (void)ud, (void)err;
    return MF_OK;
}

/* Adds an entity, then fails: nothing may be written. */
static int add_then_fail(Mf__Registry *reg, void *ud, mf_error *err) {
    (void)ud;
    mf__reg_add(reg, MF_KIND_ENTITY, small_obj(MF_KIND_ENTITY, "demo", "doomed", 1));
    reg->version += 100;
    return mf__err(err, MF_EDEF, "refusing on purpose");
}

typedef struct slow_ctx {
    const char *name;   /* entity added */
    int signal_fd;      /* a byte is written here once inside (or -1) */
    long sleep_ms;      /* then the mutator sleeps this long */
    long long seen_version;
} slow_ctx;

static int slow_add(Mf__Registry *reg, void *ud, mf_error *err) {
    (void)err;
    slow_ctx *c = ud;
    c->seen_version = (long long)reg->version;
    mf__reg_add(reg, MF_KIND_ENTITY, small_obj(MF_KIND_ENTITY, "demo", c->name, 1));
    if (c->signal_fd >= 0 && write(c->signal_fd, "x", 1) != 1) return MF_EIO;
    if (c->sleep_ms) sleep_ms(c->sleep_ms);
    return MF_OK;
}

/*---- Helpers over the backend ----------------------------------------------*/

static bool is_url(const char *path) {
    return !strncmp(path, "sqlite:", 7) || !strncmp(path, "postgresql:", 11);
}

/* A file path, or an SQL registry's URL (its writer's project: "demo"). */
static mf__registry *open_reg(const char *path) {
    mf__registry *r = NULL;
    mf_error err;
    int rc = is_url(path) ? mf__registry_sql_open(path, NULL, "demo", &r, &err)
                          : mf__registry_file_open(path, &r, &err);
    if (rc != MF_OK) {
        printf("#   open %s: %s\n", path, err.message);
        return NULL;
    }
    return r;
}

/* Load path; NULL (with a diagnostic) on failure. Caller frees. */
static Mf__Registry *load_path(const char *path) {
    mf__registry *r = open_reg(path);
    if (!r) return NULL;
    Mf__Registry *out = NULL;
    mf_error err;
    int rc = r->vt->load(r, &out, &err);
    r->vt->close(r);
    if (rc != MF_OK) {
        printf("#   load %s: %d %s\n", path, rc, err.message);
        return NULL;
    }
    return out;
}

static int commit_path(const char *path, mf__registry_mutator fn, void *ud) {
    mf__registry *r = open_reg(path);
    if (!r) return MF_EINTERNAL;
    mf_error err;
    int rc = r->vt->commit(r, fn, ud, &err);
    if (rc != MF_OK) printf("#   commit %s: %d %s\n", path, rc, err.message);
    r->vt->close(r);
    return rc;
}

/* Load expecting MF_EREGISTRY with a message naming path (and holding
 * `what` when not NULL). Returns 1 when so. */
static int load_fails(const char *path, const char *what) {
    mf__registry *r = open_reg(path);
    if (!r) return 0;
    Mf__Registry *out = NULL;
    mf_error err;
    memset(&err, 0, sizeof err);
    int rc = r->vt->load(r, &out, &err);
    r->vt->close(r);
    int ok = rc == MF_EREGISTRY && err.code == MF_EREGISTRY && out == NULL &&
             strstr(err.message, path) && (!what || strstr(err.message, what));
    if (!ok) printf("#   load %s: rc %d, message \"%s\" (want %s)\n", path, rc, err.message,
                    what ? what : "a registry error");
    mf__reg_free(out);
    return ok;
}

/* Touch every object of a loaded registry the way plan/apply/list do. */
static void walk(const Mf__Registry *reg) {
    for (int k = 0; k < MF_KIND_COUNT; k++)
        for (size_t i = 0; i < mf__reg_count(reg, k); i++) {
            mf__obj o;
            mf__reg_get(reg, k, i, &o);
            (void)mf__reg_find(reg, k, o.project, o.name);
        }
    mf__buf b;
    mf__buf_init(&b);
    mf__pb_to_json(&reg->base, &b, true, 2);
    mf__buf_free(&b);
}

/*---- Tests: registry.c object access ---------------------------------------*/

static void test_builders_set_every_field(void) {
    Mf__Registry *r = full_registry();
    mf__buf b;
    mf__buf_init(&b);
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        if (k == MF_KIND_DATA_SOURCE) continue;
        mf__obj o;
        mf__reg_get(r, k, 0, &o);
        unset_fields(o.msg, mf_kind_name(k), false, &b);
    }
    unset_fields(&r->projects[0]->base, "project", false, &b);
    /* data sources: each kind sets its own fields; together, all of them */
    const ProtobufCMessageDescriptor *d = &mf__data_source_spec__descriptor;
    for (unsigned f = 0; f < d->n_fields; f++) {
        bool any = false;
        for (size_t i = 0; i < r->n_data_sources; i++)
            any = any || field_set(&r->data_sources[i]->spec->base, &d->fields[f]);
        if (!any) mf__buf_printf(&b, " data_source.spec.%s", d->fields[f].name);
    }
    for (size_t i = 0; i < r->n_data_sources; i++) {
        unset_fields(&r->data_sources[i]->spec->base, "data_source.spec", true, &b);
        unset_fields(&r->data_sources[i]->meta->base, "data_source.meta", false, &b);
    }
    CHECK(r->n_data_sources == 5);
    CHECK_STR(b.data ? b.data : "", "");
    mf__buf_free(&b);
    mf__reg_free(r);
}

static void test_reg_ops_every_kind(void) {
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        Mf__Registry *r = mf__reg_new();
        CHECK(r->schema_version == 1 && r->version == 0);
        CHECK(mf__reg_count(r, k) == 0);
        CHECK(mf__reg_find(r, k, "p1", "a") == -1);
        mf__reg_add(r, k, small_obj(k, "p1", "a", 1));
        mf__reg_add(r, k, small_obj(k, "p1", "b", 2));
        mf__reg_add(r, k, small_obj(k, "p1", "c", 0)); /* no meta */
        mf__reg_add(r, k, small_obj(k, "p2", "a", 4));
        CHECK(mf__reg_count(r, k) == 4);
        /* other kinds untouched */
        for (int j = 0; j < MF_KIND_COUNT; j++)
            if (j != k) CHECK(mf__reg_count(r, j) == 0);
        CHECK(mf__reg_count(r, MF_KIND_ANY) == 0);
        /* the list is the message field the kind names */
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(
            &mf__registry__descriptor, mf__reg_field_name(k));
        CHECK(fd != NULL);
        CHECK(*(size_t *)((char *)r + fd->quantifier_offset) == 4);

        CHECK(mf__reg_find(r, k, "p1", "a") == 0);
        CHECK(mf__reg_find(r, k, "p1", "b") == 1);
        CHECK(mf__reg_find(r, k, "p1", "c") == 2);
        CHECK(mf__reg_find(r, k, "p2", "a") == 3);
        CHECK(mf__reg_find(r, k, "p2", "b") == -1);
        CHECK(mf__reg_find(r, k, "p3", "a") == -1);
        CHECK(mf__reg_find(r, k, "p1", "A") == -1);
        CHECK(mf__reg_find(r, k, "p1", "") == -1);
        for (int j = 0; j < MF_KIND_COUNT; j++)
            if (j != k) CHECK(mf__reg_find(r, j, "p1", "a") == -1);

        mf__obj o;
        mf__reg_get(r, k, 1, &o);
        CHECK(o.kind == (mf_object_kind)k);
        CHECK_STR(o.project, "p1");
        CHECK_STR(o.name, "b");
        CHECK(o.msg == ((ProtobufCMessage **)*(void **)((char *)r + fd->offset))[1]);
        CHECK(o.spec && o.spec->descriptor->fields[0].type == PROTOBUF_C_TYPE_STRING);
        CHECK(o.meta && o.meta->line == 2);
        mf__reg_get(r, k, 2, &o);
        CHECK(o.meta == NULL);
        mf__reg_get(r, k, 3, &o);
        CHECK_STR(o.project, "p2");
        CHECK_STR(o.name, "a");

        /* remove from the middle keeps the order of the rest */
        mf__reg_remove(r, k, 1);
        CHECK(mf__reg_count(r, k) == 3);
        CHECK(mf__reg_find(r, k, "p1", "b") == -1);
        CHECK(mf__reg_find(r, k, "p1", "c") == 1);
        CHECK(mf__reg_find(r, k, "p2", "a") == 2);
        mf__reg_remove(r, k, 2); /* last */
        CHECK(mf__reg_find(r, k, "p2", "a") == -1);
        mf__reg_remove(r, k, 0); /* first */
        CHECK(mf__reg_count(r, k) == 1);
        CHECK(mf__reg_find(r, k, "p1", "c") == 0);
        mf__reg_remove(r, k, 0);
        CHECK(mf__reg_count(r, k) == 0);
        CHECK(mf__reg_find(r, k, "p1", "c") == -1);
        /* and the list can grow again */
        mf__reg_add(r, k, small_obj(k, "p1", "d", 5));
        CHECK(mf__reg_find(r, k, "p1", "d") == 0);
        mf__reg_free(r);
    }
    mf__reg_free(NULL);
}

static void test_kind_names(void) {
    static const char *const fields[MF_KIND_COUNT] = {
        "entities", "data_sources", "feature_views", "on_demand_feature_views",
        "feature_services"};
    static const char *const names[MF_KIND_COUNT] = {
        "entity", "data source", "feature view", "on-demand feature view", "feature service"};
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        CHECK_STR(mf__reg_field_name(k), fields[k]);
        CHECK_STR(mf_kind_name(k), names[k]);
    }
    CHECK_STR(mf_kind_name(MF_KIND_ANY), "object");
    CHECK_STR(mf_kind_name(MF_KIND_COUNT), "object");
}

/*---- Tests: round trip through the file ------------------------------------*/

static void test_round_trip_every_kind(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    /* the folder of the registry does not exist yet: commit creates it */
    char *path = mf__xasprintf("%s/sub/dir/registry.db", dir);
    Mf__Registry *want = full_registry();
    mf__registry *r = open_reg(path);
    CHECK(r);
    mf_error err;
    add_ctx c = {want, -1};
    int64_t t0 = mf__now_us();
    CHECK(r->vt->commit(r, add_all, &c, &err) == MF_OK);
    int64_t t1 = mf__now_us();
    CHECK(c.seen_version == 0);

    Mf__Registry *got = NULL;
    CHECK(r->vt->load(r, &got, &err) == MF_OK);
    CHECK(got->version == 1);
    CHECK(got->schema_version == 1);
    CHECK(got->last_updated_us >= t0 && got->last_updated_us <= t1);
    CHECK(got->n_projects == 1 && mf__pb_equal(&got->projects[0]->base, &want->projects[0]->base));
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        CHECK(mf__reg_count(got, k) == mf__reg_count(want, k));
        for (size_t i = 0; i < mf__reg_count(want, k); i++) {
            mf__obj a, b;
            mf__reg_get(want, k, i, &a);
            mf__reg_get(got, k, i, &b);
            if (!mf__pb_equal(a.msg, b.msg)) printf("#   %s %s differs\n", mf_kind_name(k), a.name);
            CHECK(mf__pb_equal(a.msg, b.msg));
            CHECK(b.meta != NULL);
        }
    }
    /* the whole message, once version and time are what the commit set */
    want->version = 1;
    want->last_updated_us = got->last_updated_us;
    CHECK(mf__pb_equal(&want->base, &got->base));

    /* the on-disk form: magic, little-endian payload length, the message */
    size_t len = 0;
    char *bytes = slurp(path, &len);
    CHECK(bytes && len > 16);
    CHECK(memcmp(bytes, MAGIC, 8) == 0);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (unsigned char)bytes[8 + i];
    CHECK(n == len - 16);
    Mf__Registry *raw = mf__registry__unpack(NULL, len - 16, (uint8_t *)bytes + 16);
    free(bytes);
    CHECK(raw && mf__pb_equal(&raw->base, &got->base));
    mf__reg_free(raw);

    /* a second handle reads the same; a second commit makes version 2 */
    Mf__Registry *again = load_path(path);
    CHECK(again && mf__pb_equal(&again->base, &got->base));
    mf__reg_free(again);
    sleep_ms(2);
    CHECK(r->vt->commit(r, no_change, NULL, &err) == MF_OK);
    Mf__Registry *v2 = NULL;
    CHECK(r->vt->load(r, &v2, &err) == MF_OK);
    CHECK(v2->version == 2);
    CHECK(v2->last_updated_us > got->last_updated_us && v2->last_updated_us <= mf__now_us());
    want->version = 2;
    want->last_updated_us = v2->last_updated_us;
    CHECK(mf__pb_equal(&want->base, &v2->base));
    /* a commit through another handle continues the count */
    CHECK(commit_path(path, no_change, NULL) == MF_OK);
    Mf__Registry *v3 = load_path(path);
    CHECK(v3 && v3->version == 3);
    mf__reg_free(v3);

    mf__reg_free(v2);
    mf__reg_free(got);
    mf__reg_free(want);
    r->vt->close(r);
    free(path);
    tmpdir_done(dir);
}

/*---- Tests: reading what is not a registry ---------------------------------*/

static void test_never_written_is_empty(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *path = mf__xasprintf("%s/missing/registry.db", dir);
    Mf__Registry *r = load_path(path);
    CHECK(r);
    CHECK(r->version == 0 && r->schema_version == 1 && r->last_updated_us == 0);
    CHECK(r->n_projects == 0);
    for (int k = 0; k < MF_KIND_COUNT; k++) CHECK(mf__reg_count(r, k) == 0);
    mf__reg_free(r);
    /* reading creates nothing: no folder, no lock file */
    char *sub = mf__xasprintf("%s/missing", dir);
    CHECK(!exists(sub));
    free(sub);
    free(path);
    tmpdir_done(dir);
}

static void test_garbage_is_an_error(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *path = mf__xasprintf("%s/registry.db", dir);
    static const char text[] = "this is not a moonfeast registry, just some text\n";
    CHECK(write_bytes(path, text, sizeof text - 1) == 0);
    CHECK(load_fails(path, "not a moonfeast registry"));
    CHECK(write_bytes(path, "", 0) == 0); /* empty file */
    CHECK(load_fails(path, "is empty (0 bytes)"));
    CHECK(write_bytes(path, "MFR", 3) == 0);
    CHECK(load_fails(path, NULL));
    /* an SQLite database (say, the online store) named as the registry */
    static const char sqlite_hdr[32] = "SQLite format 3";
    CHECK(write_bytes(path, sqlite_hdr, sizeof sqlite_hdr) == 0);
    CHECK(load_fails(path, "not a moonfeast registry"));
    /* the magic of a future format version */
    unsigned char future[24];
    memcpy(future, MAGIC, 8);
    future[5] = 2;
    memset(future + 8, 0, 16);
    future[8] = 8;
    CHECK(write_bytes(path, future, sizeof future) == 0);
    CHECK(load_fails(path, NULL));
    /* a commit refuses to overwrite what it cannot read */
    CHECK(write_bytes(path, text, sizeof text - 1) == 0);
    mf__registry *r = open_reg(path);
    CHECK(r);
    mf_error err;
    int rc = r->vt->commit(r, no_change, NULL, &err);
    r->vt->close(r);
    CHECK(rc == MF_EREGISTRY);
    size_t len;
    char *now = slurp(path, &len);
    CHECK(now && len == sizeof text - 1 && memcmp(now, text, len) == 0);
    free(now);
    free(path);
    tmpdir_done(dir);
}

static void test_truncated_is_an_error(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *good = mf__xasprintf("%s/good.db", dir);
    char *bad = mf__xasprintf("%s/bad.db", dir);
    Mf__Registry *want = full_registry();
    add_ctx c = {want, -1};
    CHECK(commit_path(good, add_all, &c) == MF_OK);
    mf__reg_free(want);
    size_t len;
    char *bytes = slurp(good, &len);
    CHECK(bytes && len > 100);
    /* every prefix of a good file, longest first */
    CHECK(write_bytes(bad, bytes, len) == 0);
    for (size_t n = len; n-- > 0;) {
        CHECK(truncate(bad, (off_t)n) == 0);
        if (!load_fails(bad, n == 0 ? "is empty" : "truncated")) {
            printf("#   prefix of %zu of %zu bytes\n", n, len);
            CHECK(0);
        }
    }
    /* and a good file with more after it (here: a well-formed field,
     * version = 5, so only the length in the header can tell) */
    char *longer = mf__xmalloc(len + 2);
    memcpy(longer, bytes, len);
    longer[len] = 0x10, longer[len + 1] = 0x05;
    CHECK(write_bytes(bad, longer, len + 2) == 0);
    CHECK(load_fails(bad, "2 bytes after its end"));
    free(longer);
    CHECK(write_bytes(bad, bytes, len) == 0);
    Mf__Registry *r = load_path(bad);
    CHECK(r && r->version == 1);
    mf__reg_free(r);
    free(bytes);
    free(good);
    free(bad);
    tmpdir_done(dir);
}

/* Header + length + payload. */
static int write_registry_bytes(const char *path, const unsigned char *payload, size_t n) {
    unsigned char *b = mf__xmalloc(n + 16);
    memcpy(b, MAGIC, 8);
    for (int i = 0; i < 8; i++) b[8 + i] = (unsigned char)((uint64_t)n >> (8 * i));
    if (n) memcpy(b + 16, payload, n);
    int rc = write_bytes(path, b, n + 16);
    free(b);
    return rc;
}

static void test_corrupt_payload_is_an_error(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *path = mf__xasprintf("%s/registry.db", dir);
    /* a varint that never ends */
    unsigned char ff[40];
    memset(ff, 0xff, sizeof ff);
    CHECK(write_registry_bytes(path, ff, sizeof ff) == 0);
    CHECK(load_fails(path, "corrupt"));
    /* field 5 (entities) announcing 100 bytes, holding 2 */
    static const unsigned char short_sub[] = {0x2a, 0x64, 0x0a, 0x00};
    CHECK(write_registry_bytes(path, short_sub, sizeof short_sub) == 0);
    CHECK(load_fails(path, "corrupt"));
    /* field 2 (version) sent with the length-delimited wire type */
    static const unsigned char wrong_wire[] = {0x12, 0x01, 0x05};
    CHECK(write_registry_bytes(path, wrong_wire, sizeof wrong_wire) == 0);
    CHECK(load_fails(path, "corrupt"));
    /* a newer layout (schema_version 2, field 1): refused, naming it, and a
     * commit leaves it as it is */
    static const unsigned char newer[] = {0x08, 0x02};
    CHECK(write_registry_bytes(path, newer, sizeof newer) == 0);
    CHECK(load_fails(path, "schema version 2"));
    /* a negative one is damage, not a newer moonfeast (the message said) */
    static const unsigned char negative[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(write_registry_bytes(path, negative, sizeof negative) == 0);
    CHECK(load_fails(path, "is corrupt (schema version -1)"));
    CHECK(write_registry_bytes(path, newer, sizeof newer) == 0);
    mf__registry *nr = open_reg(path);
    CHECK(nr);
    if (nr) {
        mf_error err;
        CHECK(nr->vt->commit(nr, no_change, NULL, &err) == MF_EREGISTRY);
        nr->vt->close(nr);
    }
    static const unsigned char v1[] = {0x08, 0x01};
    CHECK(write_registry_bytes(path, v1, sizeof v1) == 0);
    Mf__Registry *r1 = load_path(path);
    CHECK(r1 && r1->schema_version == 1);
    mf__reg_free(r1);
    /* an empty payload is an empty registry */
    CHECK(write_registry_bytes(path, NULL, 0) == 0);
    Mf__Registry *r = load_path(path);
    CHECK(r && r->version == 0 && r->n_entities == 0);
    mf__reg_free(r);
    free(path);
    tmpdir_done(dir);
}

/* Well-formed protobuf that no writer produces: an object without spec.
 * Every user of the registry (plan, apply, list, find) reads spec->name, so
 * loading must refuse it rather than hand it out. */
static void test_object_without_spec_is_an_error(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *path = mf__xasprintf("%s/registry.db", dir);
    for (int field = 5; field <= 9; field++) { /* entities .. feature_services */
        /* version 3, then an object holding only meta {line: 1} */
        const unsigned char payload[] = {0x10, 0x03, (unsigned char)(field << 3 | 2), 0x04,
                                         0x12, 0x02, 0x10, 0x01};
        CHECK(write_registry_bytes(path, payload, sizeof payload) == 0);
        if (!load_fails(path, "corrupt")) {
            printf("#   registry field %d\n", field);
            CHECK(0);
        }
    }
    free(path);
    tmpdir_done(dir);
}

/* Flip bytes of a good file one at a time: a load either fails with a
 * registry error or yields a registry every accessor can walk. */
static void test_damaged_bytes_never_crash(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *good = mf__xasprintf("%s/good.db", dir);
    char *bad = mf__xasprintf("%s/bad.db", dir);
    Mf__Registry *want = full_registry();
    add_ctx c = {want, -1};
    CHECK(commit_path(good, add_all, &c) == MF_OK);
    mf__reg_free(want);
    size_t len;
    char *bytes = slurp(good, &len);
    CHECK(bytes);
    static const unsigned char masks[] = {0xff, 0x01, 0x80};
    int failed = 0, loaded = 0;
    CHECK(write_bytes(bad, bytes, len) == 0);
    int fd = open(bad, O_WRONLY);
    CHECK(fd >= 0);
    for (size_t m = 0; m < sizeof masks; m++) {
        for (size_t i = 0; i < len; i++) {
            /* flip byte i in place (the registry never does that; we do) */
            char flipped = (char)(bytes[i] ^ (char)masks[m]);
            CHECK(pwrite(fd, &flipped, 1, (off_t)i) == 1);
            mf__registry *r = open_reg(bad);
            CHECK(r);
            Mf__Registry *out = NULL;
            mf_error err;
            int rc = r->vt->load(r, &out, &err);
            r->vt->close(r);
            if (rc == MF_OK) {
                walk(out);
                mf__reg_free(out);
                loaded++;
            } else {
                if (rc != MF_EREGISTRY || !strstr(err.message, bad))
                    printf("#   byte %zu ^ %#x: rc %d %s\n", i, masks[m], rc, err.message);
                CHECK(rc == MF_EREGISTRY && strstr(err.message, bad));
                failed++;
            }
            CHECK(pwrite(fd, &bytes[i], 1, (off_t)i) == 1);
        }
    }
    close(fd);
    /* both outcomes happen: the header is checked, strings are not */
    CHECK(failed > 0 && loaded > 0);
    free(bytes);
    free(good);
    free(bad);
    tmpdir_done(dir);
}

/*---- Tests: atomic replacement ---------------------------------------------*/

static void test_commit_replaces_atomically(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *path = mf__xasprintf("%s/registry.db", dir);
    char *tmp = mf__xasprintf("%s.tmp", path);
    slow_ctx a = {"a", -1, 0, -1};
    CHECK(commit_path(path, slow_add, &a) == MF_OK);
    CHECK(exists(path) && !exists(tmp));
    struct stat st1, st2;
    CHECK(stat(path, &st1) == 0);
    /* a reader holding the old file keeps reading the old bytes */
    size_t len1;
    char *old = slurp(path, &len1);
    CHECK(old);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    slow_ctx b = {"b", -1, 0, -1};
    CHECK(commit_path(path, slow_add, &b) == MF_OK);
    CHECK(!exists(tmp));
    CHECK(stat(path, &st2) == 0);
    CHECK(st1.st_ino != st2.st_ino); /* renamed into place, not rewritten */
    char *held = mf__xmalloc(len1 + 1);
    ssize_t got = pread(fd, held, len1 + 1, 0);
    close(fd);
    CHECK(got == (ssize_t)len1 && memcmp(held, old, len1) == 0);
    free(held);
    free(old);
    Mf__Registry *r = load_path(path);
    CHECK(r && r->version == 2 && r->n_entities == 2);
    mf__reg_free(r);
    free(path);
    free(tmp);
    tmpdir_done(dir);
}

static void test_stale_tmp_is_ignored_and_replaced(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *path = mf__xasprintf("%s/registry.db", dir);
    char *tmp = mf__xasprintf("%s.tmp", path);
    static const char junk[] = "half a registry from a writer that crashed";
    /* before the first commit: still an empty registry */
    CHECK(write_bytes(tmp, junk, sizeof junk - 1) == 0);
    Mf__Registry *r = load_path(path);
    CHECK(r && r->version == 0 && r->n_entities == 0);
    mf__reg_free(r);
    slow_ctx a = {"a", -1, 0, -1};
    CHECK(commit_path(path, slow_add, &a) == MF_OK);
    CHECK(!exists(tmp));
    /* after one: the registry as committed */
    CHECK(write_bytes(tmp, junk, sizeof junk - 1) == 0);
    /* a longer stale file, to catch a rewrite without truncation */
    char big[8192];
    memset(big, 'x', sizeof big);
    CHECK(write_bytes(tmp, big, sizeof big) == 0);
    r = load_path(path);
    CHECK(r && r->version == 1 && r->n_entities == 1);
    mf__reg_free(r);
    slow_ctx b = {"b", -1, 0, -1};
    CHECK(commit_path(path, slow_add, &b) == MF_OK);
    CHECK(!exists(tmp));
    r = load_path(path);
    CHECK(r && r->version == 2 && r->n_entities == 2);
    CHECK(mf__reg_find(r, MF_KIND_ENTITY, "demo", "a") == 0);
    CHECK(mf__reg_find(r, MF_KIND_ENTITY, "demo", "b") == 1);
    mf__reg_free(r);
    free(path);
    free(tmp);
    tmpdir_done(dir);
}

static void test_failing_mutator_writes_nothing(void) {
    char *dir = tmpdir_new();
    CHECK(dir);
    char *path = mf__xasprintf("%s/registry.db", dir);
    char *tmp = mf__xasprintf("%s.tmp", path);
    mf_error err;
    /* never written: stays absent */
    mf__registry *r = open_reg(path);
    CHECK(r);
    CHECK(r->vt->commit(r, add_then_fail, NULL, &err) == MF_EDEF);
    CHECK(err.code == MF_EDEF);
    CHECK_STR(err.message, "refusing on purpose");
    CHECK(!exists(path) && !exists(tmp));
    /* written: bytes and inode unchanged */
    slow_ctx a = {"a", -1, 0, -1};
    CHECK(r->vt->commit(r, slow_add, &a, &err) == MF_OK);
    size_t len1, len2;
    char *before = slurp(path, &len1);
    CHECK(before);
    struct stat st1, st2;
    CHECK(stat(path, &st1) == 0);
    CHECK(r->vt->commit(r, add_then_fail, NULL, &err) == MF_EDEF);
    CHECK_STR(err.message, "refusing on purpose");
    char *after = slurp(path, &len2);
    CHECK(after && len1 == len2 && memcmp(before, after, len1) == 0);
    CHECK(stat(path, &st2) == 0 && st1.st_ino == st2.st_ino);
    CHECK(!exists(tmp));
    free(before);
    free(after);
    Mf__Registry *got = NULL;
    CHECK(r->vt->load(r, &got, &err) == MF_OK);
    CHECK(got->version == 1 && got->n_entities == 1);
    CHECK(mf__reg_find(got, MF_KIND_ENTITY, "demo", "doomed") == -1);
    mf__reg_free(got);
    /* and the next good commit counts on from there */
    CHECK(r->vt->commit(r, no_change, NULL, &err) == MF_OK);
    CHECK(r->vt->load(r, &got, &err) == MF_OK);
    CHECK(got->version == 2 && got->n_entities == 1);
    mf__reg_free(got);
    r->vt->close(r);
    free(path);
    free(tmp);
    tmpdir_done(dir);
}

/*---- Writers on threads (used by every backend's test below) -------------*/

#define N_THREADS 4
#define N_COMMITS 15

typedef struct thread_arg {
    const char *path;
    int id;
    int failures;
} thread_arg;

static void *committer(void *p) {
    thread_arg *a = p;
    mf__registry *r = open_reg(a->path); /* a handle per thread */
    if (!r) {
        a->failures = N_COMMITS;
        return NULL;
    }
    for (int i = 0; i < N_COMMITS; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d_%d", a->id, i);
        slow_ctx c = {name, -1, 0, -1};
        mf_error err;
        if (r->vt->commit(r, slow_add, &c, &err) != MF_OK) {
            a->failures++;
            printf("#   commit: %s\n", err.message);
        }
    }
    r->vt->close(r);
    return NULL;
}

/*---- Tests on every backend: the file registry, the SQL registry on SQLite
 * and on PostgreSQL (a server this program starts) -----------------------*/

static mft_pg pg;
static int pg_state = 1; /* 0 running, 1 not installed, -1 failed to start */
static char *cur_dir;    /* the test's folder */
static int cur_backend;
static const char *const backend_names[] = {"file", "sql/sqlite", "sql/postgresql"};

/* Where the current backend keeps a new, empty registry (caller frees). */
static char *new_loc(void) {
    switch (cur_backend) {
    case 0: return mf__xasprintf("%s/registry.db", cur_dir);
    case 1: return mf__xasprintf("sqlite:///%s/registry.db", cur_dir);
    default: return mft_pg_new_db(&pg);
    }
}

static uint64_t token_of(const char *loc) {
    mf__registry *r = open_reg(loc);
    if (!r) return 0;
    uint64_t t = 0;
    mf_error err;
    if (r->vt->version(r, &t, &err) != MF_OK) printf("#   version: %s\n", err.message);
    r->vt->close(r);
    return t;
}

static void b_round_trip(void) {
    char *loc = new_loc();
    CHECK(loc);
    uint64_t t_empty = token_of(loc);
    Mf__Registry *want = full_registry();
    add_ctx c = {want, -1};
    int64_t t0 = mf__now_us();
    CHECK(commit_path(loc, add_all, &c) == MF_OK);
    int64_t t1 = mf__now_us();
    CHECK(c.seen_version == 0);
    Mf__Registry *got = load_path(loc);
    CHECK(got);
    CHECK(got->version == 1 && got->schema_version == 1);
    CHECK(got->last_updated_us >= t0 && got->last_updated_us <= t1);
    for (int k = 0; k < MF_KIND_COUNT; k++) CHECK(mf__reg_count(got, k) == mf__reg_count(want, k));
    want->version = 1;
    want->last_updated_us = got->last_updated_us;
    if (!mf__pb_equal(&want->base, &got->base)) {
        mf__buf a, b;
        mf__buf_init(&a);
        mf__buf_init(&b);
        mf__pb_to_json(&want->base, &a, true, 2);
        mf__pb_to_json(&got->base, &b, true, 2);
        printf("#   want %s\n#   got  %s\n", a.data, b.data);
        mf__buf_free(&a);
        mf__buf_free(&b);
    }
    CHECK(mf__pb_equal(&want->base, &got->base));
    /* the token: changed by the commit, the same while nothing commits */
    uint64_t t_one = token_of(loc);
    CHECK(t_one != 0 && t_one != t_empty && token_of(loc) == t_one);
    sleep_ms(2);
    CHECK(commit_path(loc, no_change, NULL) == MF_OK);
    Mf__Registry *v2 = load_path(loc);
    CHECK(v2 && v2->version == 2 && v2->last_updated_us > got->last_updated_us);
    want->version = 2;
    want->last_updated_us = v2->last_updated_us;
    CHECK(mf__pb_equal(&want->base, &v2->base));
    CHECK(token_of(loc) != t_one);
    mf__reg_free(v2);
    mf__reg_free(got);
    mf__reg_free(want);
    free(loc);
}

static void b_never_written_is_empty(void) {
    char *loc = new_loc();
    CHECK(loc);
    Mf__Registry *r = load_path(loc);
    CHECK(r && r->version == 0 && r->n_projects == 0);
    for (int k = 0; k < MF_KIND_COUNT; k++) CHECK(mf__reg_count(r, k) == 0);
    mf__reg_free(r);
    free(loc);
}

static void b_failing_mutator_writes_nothing(void) {
    char *loc = new_loc();
    CHECK(loc);
    mf__registry *r = open_reg(loc);
    CHECK(r);
    mf_error err;
    slow_ctx a = {"a", -1, 0, -1};
    CHECK(r->vt->commit(r, slow_add, &a, &err) == MF_OK);
    uint64_t t = 0;
    CHECK(r->vt->version(r, &t, &err) == MF_OK);
    CHECK(r->vt->commit(r, add_then_fail, NULL, &err) == MF_EDEF);
    CHECK_STR(err.message, "refusing on purpose");
    uint64_t t2 = 0;
    CHECK(r->vt->version(r, &t2, &err) == MF_OK && t2 == t);
    Mf__Registry *got = NULL;
    CHECK(r->vt->load(r, &got, &err) == MF_OK);
    CHECK(got->version == 1 && got->n_entities == 1);
    CHECK(mf__reg_find(got, MF_KIND_ENTITY, "demo", "doomed") == -1);
    mf__reg_free(got);
    CHECK(r->vt->commit(r, no_change, NULL, &err) == MF_OK);
    CHECK(r->vt->load(r, &got, &err) == MF_OK);
    CHECK(got->version == 2 && got->n_entities == 1);
    mf__reg_free(got);
    r->vt->close(r);
    free(loc);
}

/* A writer in another process inside its commit: readers go on at once
 * with the committed registry; another writer waits and builds on it. */
static void b_writers_take_turns(void) {
    char *loc = new_loc();
    CHECK(loc);
    slow_ctx first = {"first", -1, 0, -1};
    CHECK(commit_path(loc, slow_add, &first) == MF_OK);
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        slow_ctx c = {"from_child", fds[1], 300, -1};
        int rc = commit_path(loc, slow_add, &c);
        _exit(rc == MF_OK && c.seen_version == 1 ? 0 : 1);
    }
    close(fds[1]);
    char x;
    ssize_t got = read(fds[0], &x, 1);
    close(fds[0]);
    CHECK(got == 1);
    int64_t t0 = mf__now_us();
    Mf__Registry *r = load_path(loc);
    int64_t t_read = mf__now_us() - t0;
    CHECK(r && r->version == 1 && r->n_entities == 1);
    mf__reg_free(r);
    CHECK(t_read < 200000);
    slow_ctx p = {"from_parent", -1, 0, -1};
    CHECK(commit_path(loc, slow_add, &p) == MF_OK);
    int64_t waited = mf__now_us() - t0;
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(waited >= 200000);
    CHECK(p.seen_version == 2);
    r = load_path(loc);
    CHECK(r && r->version == 3 && r->n_entities == 3);
    CHECK(mf__reg_find(r, MF_KIND_ENTITY, "demo", "from_child") == 1);
    CHECK(mf__reg_find(r, MF_KIND_ENTITY, "demo", "from_parent") == 2);
    mf__reg_free(r);
    free(loc);
}

static void b_threads_lose_nothing(void) {
    char *loc = new_loc();
    CHECK(loc);
    pthread_t th[N_THREADS];
    thread_arg args[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        args[i] = (thread_arg){loc, i, 0};
        CHECK(pthread_create(&th[i], NULL, committer, &args[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) CHECK(args[i].failures == 0);
    Mf__Registry *r = load_path(loc);
    CHECK(r && r->version == N_THREADS * N_COMMITS && r->n_entities == N_THREADS * N_COMMITS);
    mf__reg_free(r);
    free(loc);
}

/* Mutators of intervals, views and projects. */
typedef struct iv_ctx {
    const char *view;
    int64_t start, end;
    bool replace; /* drop the view's intervals first */
} iv_ctx;

static int add_interval(Mf__Registry *reg, void *ud, mf_error *err) {
    iv_ctx *c = ud;
    long i = mf__reg_find(reg, MF_KIND_FEATURE_VIEW, "demo", c->view);
    if (i < 0) return mf__err(err, MF_EREGISTRY, "no view %s", c->view);
    Mf__FeatureView *fv = reg->feature_views[i];
    while (c->replace && fv->n_intervals) mf__pb_remove(&fv->base, "intervals", 0);
    Mf__MaterializationInterval *n =
        NEW(Mf__MaterializationInterval, mf__materialization_interval__descriptor);
    n->start_us = c->start;
    n->end_us = c->end;
    mf__pb_append(&fv->base, "intervals", &n->base);
    return MF_OK;
}

static int drop_view(Mf__Registry *reg, void *ud, mf_error *err) {
    (void)err;
    long i = mf__reg_find(reg, MF_KIND_FEATURE_VIEW, "demo", ud);
    if (i >= 0) mf__reg_remove(reg, MF_KIND_FEATURE_VIEW, (size_t)i);
    return MF_OK;
}

static int drop_projects(Mf__Registry *reg, void *ud, mf_error *err) {
    (void)ud, (void)err;
    while (reg->n_projects) mf__pb_remove(&reg->base, "projects", 0);
    return MF_OK;
}

static void b_intervals_deletes_projects(void) {
    char *loc = new_loc();
    CHECK(loc);
    Mf__Registry *want = full_registry();
    add_ctx c = {want, -1};
    CHECK(commit_path(loc, add_all, &c) == MF_OK);
    mf__reg_free(want);
    Mf__Registry *r = load_path(loc);
    CHECK(r && r->n_feature_views == 1);
    size_t n0 = r->feature_views[0]->n_intervals;
    mf__reg_free(r);
    /* appended, then replaced, as materialization records them */
    iv_ctx a = {"driver_hourly_stats", 5000, 6000, false};
    CHECK(commit_path(loc, add_interval, &a) == MF_OK);
    r = load_path(loc);
    CHECK(r && r->feature_views[0]->n_intervals == n0 + 1);
    CHECK(r->feature_views[0]->intervals[n0]->start_us == 5000 &&
          r->feature_views[0]->intervals[n0]->end_us == 6000);
    mf__reg_free(r);
    iv_ctx b = {"driver_hourly_stats", 1, 9000, true};
    CHECK(commit_path(loc, add_interval, &b) == MF_OK);
    r = load_path(loc);
    CHECK(r && r->version == 3 && r->feature_views[0]->n_intervals == 1);
    CHECK(r->feature_views[0]->intervals[0]->start_us == 1 &&
          r->feature_views[0]->intervals[0]->end_us == 9000);
    mf__reg_free(r);
    /* a deleted view goes with its intervals, and does not come back with
     * them when a view of that name is made again */
    CHECK(commit_path(loc, drop_view, "driver_hourly_stats") == MF_OK);
    r = load_path(loc);
    CHECK(r && r->version == 4 && r->n_feature_views == 0 && r->n_entities == 1);
    mf__reg_free(r);
    slow_ctx e = {"again", -1, 0, -1};
    CHECK(commit_path(loc, slow_add, &e) == MF_OK);
    /* a project removed: gone from the registry, and the version still grows */
    CHECK(commit_path(loc, drop_projects, NULL) == MF_OK);
    r = load_path(loc);
    CHECK(r && r->version == 6 && r->n_projects == 0);
    mf__reg_free(r);
    free(loc);
}

/*---- Tests of the SQL registry alone -----------------------------------------*/

static void sql_bad_urls(void) {
    static const char *const bad[][2] = {
        {"mysql://u@h/db", "unsupported database URL"},
        {"sqlite:///", "give a database file"},
        {"sqlite:///:memory:", "give a database file"},
        {"postgresqlx://h/db", "not a PostgreSQL URL"},
        {"sqlite:/relative", "unsupported database URL"}};
    for (size_t i = 0; i < MF__ARRAY_LEN(bad); i++) {
        mf__registry *r = NULL;
        mf_error err;
        CHECK(mf__registry_sql_open(bad[i][0], "/tmp", "demo", &r, &err) == MF_ECONFIG);
        CHECK(r == NULL);
        CHECK_HAS(err.message, bad[i][1]);
    }
    /* a server that is not there: the call fails naming it, without the
     * password */
    int port = mft_pg_free_port();
    char *url = mf__xasprintf("postgresql://moon:s3cret@127.0.0.1:%d/reg", port);
    mf__registry *r = NULL;
    mf_error err;
    CHECK(mf__registry_sql_open(url, "/tmp", "demo", &r, &err) == MF_OK);
    Mf__Registry *got = NULL;
    CHECK(r->vt->load(r, &got, &err) == MF_EREGISTRY);
    CHECK(got == NULL);
    CHECK_HAS(err.message, "postgresql://moon:***@127.0.0.1:");
    CHECK_HAS(err.message, "cannot connect");
    CHECK(!strstr(err.message, "s3cret"));
    CHECK(r->vt->commit(r, no_change, NULL, &err) == MF_EREGISTRY);
    CHECK(!strstr(err.message, "s3cret"));
    r->vt->close(r);
    free(url);
    /* libpq also takes the password as a query parameter */
    url = mf__xasprintf("postgresql://127.0.0.1:%d/reg?user=moon&password=s3cret&"
                        "connect_timeout=2", port);
    CHECK(mf__registry_sql_open(url, "/tmp", "demo", &r, &err) == MF_OK);
    CHECK(r->vt->load(r, &got, &err) == MF_EREGISTRY);
    if (strstr(err.message, "s3cret")) printf("#   %s\n", err.message);
    CHECK(!strstr(err.message, "s3cret"));
    CHECK_HAS(err.message, "?user=moon&password=***&connect_timeout=2");
    r->vt->close(r);
    free(url);
}

typedef struct rowset {
    char *text;
} rowset;

/* Every row of table (SQLite) as text, for comparing before and after. */
static char *table_text(const char *db, const char *sql) {
    sqlite3 *h;
    if (sqlite3_open(db, &h) != SQLITE_OK) return NULL;
    sqlite3_stmt *st;
    mf__buf b;
    mf__buf_init(&b);
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const void *p = sqlite3_column_blob(st, c);
                int n = sqlite3_column_bytes(st, c);
                for (int i = 0; i < n; i++) mf__buf_printf(&b, "%02x", ((const unsigned char *)p)[i]);
                mf__buf_puts(&b, "|");
            }
            mf__buf_puts(&b, "\n");
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    char *out = mf__xstrdup(b.data ? b.data : "");
    mf__buf_free(&b);
    return out;
}

/* A commit writes only the rows it changed: a materialization record its
 * view's intervals (and its project's version), an apply its objects. */
static void sql_writes_only_its_rows(void) {
    char *db = mf__xasprintf("%s/reg.db", cur_dir);
    char *url = mf__xasprintf("sqlite:///%s", db);
    Mf__Registry *want = full_registry();
    add_ctx c = {want, -1};
    CHECK(commit_path(url, add_all, &c) == MF_OK);
    mf__reg_free(want);
    char *objs = table_text(db, "SELECT id, project, kind, name, body FROM mf_objects ORDER BY id");
    CHECK(objs && strlen(objs) > 100);
    iv_ctx a = {"driver_hourly_stats", 5000, 6000, false};
    CHECK(commit_path(url, add_interval, &a) == MF_OK);
    char *objs2 = table_text(db, "SELECT id, project, kind, name, body FROM mf_objects ORDER BY id");
    CHECK(objs2 && strcmp(objs, objs2) == 0);
    free(objs2);
    /* an entity added: every other row as it was */
    char *ivs = table_text(db, "SELECT * FROM mf_intervals ORDER BY project, view, seq");
    slow_ctx e = {"added", -1, 0, -1};
    CHECK(commit_path(url, slow_add, &e) == MF_OK);
    objs2 = table_text(db, "SELECT id, project, kind, name, body FROM mf_objects WHERE name <> "
                           "'added' ORDER BY id");
    char *ivs2 = table_text(db, "SELECT * FROM mf_intervals ORDER BY project, view, seq");
    CHECK(objs2 && strcmp(objs, objs2) == 0);
    CHECK(ivs && ivs2 && strcmp(ivs, ivs2) == 0);
    free(objs);
    free(objs2);
    free(ivs);
    free(ivs2);
    free(url);
    free(db);
}

static void sql_corrupt_and_newer_layout(void) {
    char *db = mf__xasprintf("%s/reg.db", cur_dir);
    char *url = mf__xasprintf("sqlite:///%s", db);
    slow_ctx e = {"drv", -1, 0, -1};
    CHECK(commit_path(url, slow_add, &e) == MF_OK);
    sqlite3 *h;
    CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    CHECK(sqlite3_exec(h, "UPDATE mf_objects SET body = x'0aff01'", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(load_fails(url, "the row of entity 'drv' (project 'demo') is corrupt"));
    CHECK(sqlite3_exec(h, "DELETE FROM mf_objects; UPDATE mf_schema SET version = 7", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(h);
    CHECK(load_fails(url, "its tables have layout version 7, and this moonfeast reads version 1"));
    free(url);
    free(db);
}

/* A long-lived handle (a server) on a SQLite SQL registry whose file is
 * replaced (a restore, a migrate into a new file) reads the new file; one
 * whose file is deleted fails, never reading or creating an empty one (it
 * kept reading the deleted file, and recorded intervals into it). */
static void sql_sqlite_file_replaced(void) {
    char *db = mf__xasprintf("%s/live.db", cur_dir), *db2 = mf__xasprintf("%s/next.db", cur_dir);
    char *url = mf__xasprintf("sqlite:///%s", db), *url2 = mf__xasprintf("sqlite:///%s", db2);
    mf__registry *r = open_reg(url);
    CHECK(r);
    if (!r) return;
    mf_error err;
    slow_ctx a = {"first", -1, 0, -1};
    CHECK(r->vt->commit(r, slow_add, &a, &err) == MF_OK);
    Mf__Registry *got = NULL;
    CHECK(r->vt->load(r, &got, &err) == MF_OK && got && got->n_entities == 1);
    mf__reg_free(got);
    slow_ctx b = {"second", -1, 0, -1}, c = {"third", -1, 0, -1};
    CHECK(commit_path(url2, slow_add, &b) == MF_OK);
    CHECK(commit_path(url2, slow_add, &c) == MF_OK);
    /* as a restore does: the old database gone with its -wal and -shm
     * (still open here), the new one moved into its place */
    char *wal = mf__xasprintf("%s-wal", db), *shm = mf__xasprintf("%s-shm", db);
    CHECK(unlink(db) == 0);
    unlink(wal);
    unlink(shm);
    free(wal);
    free(shm);
    CHECK(rename(db2, db) == 0);
    got = NULL;
    int lrc = r->vt->load(r, &got, &err);
    if (lrc) printf("#   load after the replace: %s\n", err.message);
    CHECK(lrc == MF_OK);
    CHECK(got && got->n_entities == 2 && got->version == 2);
    mf__reg_free(got);
    /* a commit goes into the new file too */
    slow_ctx d = {"fourth", -1, 0, -1};
    CHECK(r->vt->commit(r, slow_add, &d, &err) == MF_OK);
    mf__registry *f = open_reg(url);
    got = NULL;
    CHECK(f && f->vt->load(f, &got, &err) == MF_OK && got && got->n_entities == 3);
    mf__reg_free(got);
    if (f) f->vt->close(f);
    CHECK(unlink(db) == 0);
    got = NULL;
    CHECK(r->vt->load(r, &got, &err) == MF_EREGISTRY && got == NULL);
    CHECK_HAS(err.message, "live.db is gone");
    CHECK(access(db, F_OK) != 0); /* not created again */
    r->vt->close(r);
    free(db), free(db2), free(url), free(url2);
}

/* PostgreSQL stopped in the middle of a sequence: the calls fail clearly,
 * and once it is back the same handle works again. */
static void pg_restart_mid_sequence(void) {
    char *url = mft_pg_new_db(&pg);
    CHECK(url);
    mf__registry *r = open_reg(url);
    CHECK(r);
    mf_error err;
    slow_ctx a = {"before", -1, 0, -1};
    CHECK(r->vt->commit(r, slow_add, &a, &err) == MF_OK);
    mft_pg_stop(&pg);
    Mf__Registry *got = NULL;
    CHECK(r->vt->load(r, &got, &err) == MF_EREGISTRY);
    CHECK_HAS(err.message, "SQL registry postgresql:///");
    slow_ctx b = {"while_down", -1, 0, -1};
    CHECK(r->vt->commit(r, slow_add, &b, &err) == MF_EREGISTRY);
    CHECK(mft_pg_run(&pg) == 0);
    CHECK(r->vt->load(r, &got, &err) == MF_OK);
    CHECK(got->version == 1 && got->n_entities == 1);
    mf__reg_free(got);
    slow_ctx c = {"after", -1, 0, -1};
    CHECK(r->vt->commit(r, slow_add, &c, &err) == MF_OK);
    /* restarted while the handle was idle: its next call reconnects */
    mft_pg_stop(&pg);
    CHECK(mft_pg_run(&pg) == 0);
    CHECK(r->vt->load(r, &got, &err) == MF_OK);
    CHECK(got->version == 2 && got->n_entities == 2);
    CHECK(mf__reg_find(got, MF_KIND_ENTITY, "demo", "while_down") == -1);
    mf__reg_free(got);
    r->vt->close(r);
    free(url);
}

static void run_backend(const char *name, void (*fn)(void), int backend) {
    char label[160];
    snprintf(label, sizeof label, "%s (%s)", name, backend_names[backend]);
    if (backend == 2 && pg_state != 0) {
        printf("ok - %s # SKIP %s\n", label,
               pg_state == 1 ? "PostgreSQL is not installed (make deps installs it)"
                             : "the PostgreSQL server did not start");
        return;
    }
    cur_backend = backend;
    cur_dir = tmpdir_new();
    mft_run(label, fn);
    tmpdir_done(cur_dir);
    cur_dir = NULL;
}

#define RUN_EVERY(fn)                                             \
    do {                                                          \
        for (int b_ = 0; b_ < 3; b_++) run_backend(#fn, fn, b_);  \
    } while (0)

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    RUN(test_builders_set_every_field);
    RUN(test_reg_ops_every_kind);
    RUN(test_kind_names);
    RUN(test_round_trip_every_kind);
    RUN(test_never_written_is_empty);
    RUN(test_garbage_is_an_error);
    RUN(test_truncated_is_an_error);
    RUN(test_corrupt_payload_is_an_error);
    RUN(test_object_without_spec_is_an_error);
    RUN(test_damaged_bytes_never_crash);
    RUN(test_commit_replaces_atomically);
    RUN(test_stale_tmp_is_ignored_and_replaced);
    RUN(test_failing_mutator_writes_nothing);
    pg_state = mft_pg_start(&pg);
    if (pg_state == 1) printf("# PostgreSQL is not installed: its cases are skipped\n");
    RUN_EVERY(b_round_trip);
    RUN_EVERY(b_never_written_is_empty);
    RUN_EVERY(b_failing_mutator_writes_nothing);
    RUN_EVERY(b_writers_take_turns);
    RUN_EVERY(b_threads_lose_nothing);
    RUN_EVERY(b_intervals_deletes_projects);
    RUN(sql_bad_urls);
    run_backend("sql_writes_only_its_rows", sql_writes_only_its_rows, 1);
    run_backend("sql_corrupt_and_newer_layout", sql_corrupt_and_newer_layout, 1);
    run_backend("sql_sqlite_file_replaced", sql_sqlite_file_replaced, 1);
    run_backend("pg_restart_mid_sequence", pg_restart_mid_sequence, 2);
    if (pg_state == 0) mft_pg_done(&pg);
    MFT_END();
}
