/*
 * registry.c — the registry as an object container, and backend selection.
 *
 * A Registry message (registry.proto) holds every applied object of every
 * project. This file gives uniform access to its five object lists by
 * mf_object_kind, so that plan, apply, list and describe are written once
 * for all kinds. Backends (registry_file.c, and the SQL one) only load and
 * commit whole Registry messages.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "mf_internal.h"

/*---- Kinds -----------------------------------------------------------------*/

static const char *const kind_names[MF_KIND_COUNT] = {
    "entity", "data source", "feature view", "on-demand feature view",
    "feature service"};

static const char *const kind_fields[MF_KIND_COUNT] = {
    "entities", "data_sources", "feature_views", "on_demand_feature_views",
    "feature_services"};

const char *mf_kind_name(mf_object_kind kind) {
    if (kind < 0 || kind >= MF_KIND_COUNT) return "object";
    return kind_names[kind];
}

const char *mf__reg_field_name(mf_object_kind kind) { return kind_fields[kind]; }

/*---- Access by kind --------------------------------------------------------*/

size_t mf__reg_count(const Mf__Registry *reg, mf_object_kind kind) {
    switch (kind) {
    case MF_KIND_ENTITY: return reg->n_entities;
    case MF_KIND_DATA_SOURCE: return reg->n_data_sources;
    case MF_KIND_FEATURE_VIEW: return reg->n_feature_views;
    case MF_KIND_ON_DEMAND_FEATURE_VIEW: return reg->n_on_demand_feature_views;
    case MF_KIND_FEATURE_SERVICE: return reg->n_feature_services;
    default: return 0;
    }
}

/* Fill `out` from an object message whose fields 1 and 2 are spec and meta
 * and whose spec has string fields `project` and `name`. */
static void obj_view(mf_object_kind kind, ProtobufCMessage *m, Mf__Meta *meta,
                     ProtobufCMessage *spec, const char *project,
                     const char *name, mf__obj *out) {
    out->kind = kind;
    out->msg = m;
    out->spec = spec;
    out->meta = meta;
    out->project = project;
    out->name = name;
}

void mf__reg_get(const Mf__Registry *reg, mf_object_kind kind, size_t i,
                 mf__obj *out) {
    switch (kind) {
    case MF_KIND_ENTITY: {
        Mf__Entity *o = reg->entities[i];
        obj_view(kind, &o->base, o->meta, &o->spec->base, o->spec->project,
                 o->spec->name, out);
        break;
    }
    case MF_KIND_DATA_SOURCE: {
        Mf__DataSource *o = reg->data_sources[i];
        obj_view(kind, &o->base, o->meta, &o->spec->base, o->spec->project,
                 o->spec->name, out);
        break;
    }
    case MF_KIND_FEATURE_VIEW: {
        Mf__FeatureView *o = reg->feature_views[i];
        obj_view(kind, &o->base, o->meta, &o->spec->base, o->spec->project,
                 o->spec->name, out);
        break;
    }
    case MF_KIND_ON_DEMAND_FEATURE_VIEW: {
        Mf__OnDemandFeatureView *o = reg->on_demand_feature_views[i];
        obj_view(kind, &o->base, o->meta, &o->spec->base, o->spec->project,
                 o->spec->name, out);
        break;
    }
    case MF_KIND_FEATURE_SERVICE: {
        Mf__FeatureService *o = reg->feature_services[i];
        obj_view(kind, &o->base, o->meta, &o->spec->base, o->spec->project,
                 o->spec->name, out);
        break;
    }
    default: abort();
    }
}

long mf__reg_find(const Mf__Registry *reg, mf_object_kind kind,
                  const char *project, const char *name) {
    size_t n = mf__reg_count(reg, kind);
    for (size_t i = 0; i < n; i++) {
        mf__obj o;
        mf__reg_get(reg, kind, i, &o);
        if (strcmp(o.name, name) == 0 && strcmp(o.project, project) == 0)
            return (long)i;
    }
    return -1;
}

void mf__reg_add(Mf__Registry *reg, mf_object_kind kind, ProtobufCMessage *obj) {
    mf__pb_append(&reg->base, kind_fields[kind], obj);
}

void mf__reg_remove(Mf__Registry *reg, mf_object_kind kind, size_t i) {
    mf__pb_remove(&reg->base, kind_fields[kind], i);
}

Mf__Registry *mf__reg_new(void) {
    Mf__Registry *r = (Mf__Registry *)mf__pb_new(&mf__registry__descriptor);
    r->schema_version = 1;
    return r;
}

void mf__reg_free(Mf__Registry *reg) {
    if (reg) protobuf_c_message_free_unpacked(&reg->base, NULL);
}

/*---- Backend selection -----------------------------------------------------*/

static bool is_url(const char *loc) {
    return strstr(loc, "://") != NULL;
}

/* A registry named by a file path or a database URL; relative paths (and
 * sqlite:///relative) from dir. Writes of a migration belong to no one
 * project: the SQL registry bumps each project it writes. */
static int open_loc(const char *loc, const char *dir, mf__registry **out, mf_error *err) {
    if (is_url(loc)) return mf__registry_sql_open(loc, dir, "", out, err);
    char *path = mf__path_join(dir, loc);
    int rc = mf__registry_file_open(path, out, err);
    free(path);
    return rc;
}

typedef struct copy_ctx {
    const Mf__Registry *from;
} copy_ctx;

/* Mutator: the (empty) target receives every project and object. */
static int copy_all(Mf__Registry *reg, void *ud, mf_error *err) {
    copy_ctx *c = ud;
    if (reg->n_projects || reg->n_entities || reg->n_data_sources || reg->n_feature_views ||
        reg->n_on_demand_feature_views || reg->n_feature_services)
        return mf__err(err, MF_EUSAGE, "the target registry is not empty (version %llu): "
                       "migrate copies into an empty registry only",
                       (unsigned long long)reg->version);
    for (size_t i = 0; i < c->from->n_projects; i++)
        mf__pb_append(&reg->base, "projects", mf__pb_clone(&c->from->projects[i]->base));
    for (int k = 0; k < MF_KIND_COUNT; k++)
        for (size_t i = 0; i < mf__reg_count(c->from, k); i++) {
            mf__obj o;
            mf__reg_get(c->from, k, i, &o);
            mf__reg_add(reg, k, mf__pb_clone(o.msg));
        }
    return MF_OK;
}

int mf__registry_migrate(const char *from, const char *to, const char *dir, size_t *nobjs,
                         size_t *nprojects, uint64_t *version, mf_error *err) {
    mf__registry *a = NULL, *b = NULL;
    Mf__Registry *src = NULL, *after = NULL;
    /* messages name the registries without their passwords */
    char *from_m = mf__url_hide_password(from), *to_m = mf__url_hide_password(to);
    /* a source that is not there is a mistake (a typo), not an empty
     * registry: neither read it as one nor create it */
    int rc = MF_OK;
    const char *file = !is_url(from) ? from : !strncmp(from, "sqlite:///", 10) ? from + 10 : NULL;
    if (file) {
        char *path = mf__path_join(dir, file);
        struct stat st;
        int missing = stat(path, &st) != 0;
        free(path);
        if (missing) {
            rc = mf__err(err, MF_EUSAGE, "registry migrate: the registry to migrate from, %s, "
                         "does not exist", from_m);
            goto out;
        }
    }
    rc = open_loc(from, dir, &a, err);
    if (rc == MF_OK) {
        rc = a->vt->load(a, &src, err);
        if (rc) mf__err_prefix(err, "reading %s", from_m);
        else if (!src->n_projects)
            rc = mf__err(err, MF_EUSAGE, "registry migrate: %s holds no project: nothing to "
                         "migrate", from_m);
    }
    if (rc == MF_OK) rc = open_loc(to, dir, &b, err);
    if (rc == MF_OK) {
        copy_ctx c = {src};
        rc = b->vt->commit(b, copy_all, &c, err);
        if (rc) mf__err_prefix(err, "writing %s", to_m);
    }
    if (rc == MF_OK) rc = b->vt->load(b, &after, err);
    if (rc == MF_OK) {
        *nobjs = 0;
        for (int k = 0; k < MF_KIND_COUNT; k++) *nobjs += mf__reg_count(after, k);
        *nprojects = after->n_projects;
        *version = after->version;
    }
    mf__reg_free(src);
    mf__reg_free(after);
    if (a) a->vt->close(a);
    if (b) b->vt->close(b);
out:
    free(from_m);
    free(to_m);
    return rc;
}

int mf__registry_open(const mf__config *cfg, mf__registry **out, mf_error *err) {
    if (strcmp(cfg->registry_type, "file") == 0)
        return mf__registry_file_open(cfg->registry_path, out, err);
    if (strcmp(cfg->registry_type, "sql") == 0) {
        int rc = mf__registry_sql_open(cfg->registry_path, cfg->repo_path, cfg->project, out, err);
        if (rc == MF_ECONFIG && err && !err->file[0])
            mf__err_prefix(err, "%s", cfg->config_path);
        return rc;
    }
    return mf__err_at(err, MF_ECONFIG, cfg->config_path, 0,
                      "registry_type '%s' is not supported by this build "
                      "(supported: file, sql)",
                      cfg->registry_type);
}
