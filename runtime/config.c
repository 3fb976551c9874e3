/*
 * config.c — reading feature_store.yaml into an mf__config.
 *
 * The file is loaded whole with libyaml's document API and walked one
 * section at a time (project, provider, registry, online_store,
 * offline_store, entity_key_serialization_version, feature_server, lua,
 * batch_engine; see
 * docs/config.md). Every value is a scalar or a flat mapping of scalars,
 * except feature_server.auth.tokens (a list of flat mappings) and
 * batch_engine.commands (a flat mapping of names to programs), so the walk
 * never goes deeper than four levels whatever the input.
 *
 * Rules kept here and nowhere else:
 *   - `${VAR}` in any scalar value is replaced from the environment; an unset
 *     variable is an error. `$` not followed by `{` is kept as is.
 *   - Unknown and duplicate keys are errors, at any level, naming the full
 *     key ("online_store.foo") and its line.
 *   - Paths (file registry, sqlite online store, Lua modules) are made
 *     absolute against the repo directory, the real directory of the yaml
 *     file. An sql registry URL is kept exactly as written.
 *   - An explicit null (`key:` with nothing, `~`, `null`) is an error rather
 *     than "use the default": leave the key out for the default.
 *
 *   - Limits, checked on libyaml's event stream before the document is
 *     built (its loader takes time quadratic in the nesting depth): at most
 *     MAX_DEPTH levels of nesting, scalars (keys or values) of at most
 *     MAX_SCALAR bytes; the file itself at most MAX_FILE bytes, and a file
 *     or a pipe (see mf__open_input: a device is refused, nothing waits).
 *   - Durations in seconds that the runtime multiplies into micro- or
 *     milliseconds are at most MAX_SECONDS, so that the product fits in 64
 *     bits.
 *
 * Errors are MF_ECONFIG with the yaml path and the 1-based line of the key
 * or value at fault; the message repeats both so it reads on its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "mf_csv.h"
#include "mf_internal.h"

#define MAX_DEPTH 32
#define MAX_SCALAR 65536
#define MAX_ANCHORS 256 /* anchors and aliases in all (libyaml's loader checks
                         * each anchor against every earlier one) */
#define MAX_KEYS 1024   /* keys of one mapping */
#define MAX_FILE ((size_t)1 << 20)
/* cache_ttl_seconds * 1000000 (and Redis's key_ttl_seconds * 1000) must
 * not overflow: 10^12 s, some 31700 years. */
#define MAX_SECONDS INT64_C(1000000000000)

/*---- Parse state and error messages ---------------------------------------*/

typedef struct cfg_parse {
    const char *file;     /* path as the caller gave it (mf_error.file) */
    const char *base;     /* its base name, used in messages */
    const char *repo;     /* absolute repo directory */
    yaml_document_t *doc;
    mf_error *err;
} cfg_parse;

static int node_line(const yaml_node_t *n) {
    if (!n) return 1;
    size_t l = n->start_mark.line + 1;
    return l > INT_MAX ? INT_MAX : (int)l;
}

/* "<message> in <file> at line N". Returns MF_ECONFIG. */
static int loc_err(cfg_parse *P, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int loc_err(cfg_parse *P, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mf__err_at(P->err, MF_ECONFIG, P->file, line, "%s in %s at line %d",
                      msg, P->base, line);
}

/* "key '<key>' in <file> at line N: <message>", N being the line of `at`.
 * Returns MF_ECONFIG. */
static int key_err(cfg_parse *P, const yaml_node_t *at, const char *key,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int key_err(cfg_parse *P, const yaml_node_t *at, const char *key,
                   const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = node_line(at);
    return mf__err_at(P->err, MF_ECONFIG, P->file, line,
                      "key '%s' in %s at line %d: %s", key, P->base, line, msg);
}

static const char *kind_name(const yaml_node_t *n) {
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a scalar";
    }
}

/* A plain `key:` with nothing after it, `~`, `null`, or an explicit !!null. */
static bool is_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE) return false;
    if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0) return true;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *v = (const char *)n->data.scalar.value;
    return !v[0] || !strcmp(v, "~") || !strcmp(v, "null") ||
           !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* "section.name" (or "name" at the top level) into buf; returns buf. */
static const char *key_path(char *buf, size_t size, const char *section,
                            const char *name) {
    if (section)
        snprintf(buf, size, "%s.%s", section, name);
    else
        snprintf(buf, size, "%s", name);
    return buf;
}

/* Edit distance, for "did you mean" hints on short keys. */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/*---- Scalar values ---------------------------------------------------------*/

/* Copy the scalar `n` (the value of `key`) with every ${VAR} replaced from
 * the environment. On success *out is owned by the caller (free()). */
static int expand_env(cfg_parse *P, const yaml_node_t *n, const char *key,
                      char **out) {
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (strlen(v) != len)
        return key_err(P, n, key, "the value contains a NUL character");
    mf__buf b;
    mf__buf_init(&b);
    size_t i = 0;
    while (i < len) {
        if (v[i] != '$' || i + 1 >= len || v[i + 1] != '{') {
            mf__buf_putc(&b, v[i++]);
            continue;
        }
        const char *close = memchr(v + i + 2, '}', len - i - 2);
        if (!close) {
            mf__buf_free(&b);
            return key_err(P, n, key, "unterminated '${' in value '%.80s'", v);
        }
        size_t nlen = (size_t)(close - (v + i + 2));
        if (nlen == 0) {
            mf__buf_free(&b);
            return key_err(P, n, key, "empty variable name '${}' in value '%.80s'", v);
        }
        char *name = mf__xstrndup(v + i + 2, nlen);
        const char *val = getenv(name);
        if (!val) {
            key_err(P, n, key, "environment variable '%s' is not set", name);
            free(name);
            mf__buf_free(&b);
            return MF_ECONFIG;
        }
        free(name);
        mf__buf_puts(&b, val);
        i = (size_t)(close - v) + 1;
    }
    *out = mf__buf_steal(&b);
    return MF_OK;
}

/* The value of `key` as a non-empty string, ${VAR} expanded. On success
 * *out is owned by the caller. */
static int get_string(cfg_parse *P, const yaml_node_t *n, const char *key,
                      char **out) {
    if (n->type != YAML_SCALAR_NODE)
        return key_err(P, n, key, "expected a scalar value, got %s", kind_name(n));
    if (is_null(n)) return key_err(P, n, key, "expected a value, got nothing");
    char *s = NULL;
    int rc = expand_env(P, n, key, &s);
    if (rc) return rc;
    if (!s[0]) {
        free(s);
        return key_err(P, n, key, "the value must not be empty");
    }
    *out = s;
    return MF_OK;
}

/* The value of `key`, one of the '|'-separated words of choices. */
static int get_choice(cfg_parse *P, const yaml_node_t *n, const char *key, const char *choices,
                      char **out) {
    char *s = NULL;
    int rc = get_string(P, n, key, &s);
    if (rc) return rc;
    size_t len = strlen(s);
    for (const char *c = choices; *c;) {
        size_t w = strcspn(c, "|");
        if (w == len && memcmp(c, s, len) == 0) {
            *out = s;
            return MF_OK;
        }
        c += w + (c[w] == '|');
    }
    char list[256];
    size_t l = 0;
    for (const char *c = choices; *c && l + 3 < sizeof list; c++) {
        if (*c == '|') list[l++] = ',', list[l++] = ' ';
        else list[l++] = *c;
    }
    list[l] = 0;
    key_err(P, n, key, "expected one of %s, got '%.80s'", list, s);
    free(s);
    return MF_ECONFIG;
}

/* The value of `key` as a decimal integer in min..max. */
static int get_int(cfg_parse *P, const yaml_node_t *n, const char *key,
                   int64_t min, int64_t max, int64_t *out) {
    char *s = NULL;
    int rc = get_string(P, n, key, &s);
    if (rc) return rc;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    bool digits = *p != '\0';
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') digits = false;
    if (!digits) {
        key_err(P, n, key, "expected an integer, got '%.80s'", s);
        free(s);
        return MF_ECONFIG;
    }
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < min || v > max) {
        if (min == INT64_MIN && max == INT64_MAX)
            key_err(P, n, key, "%.80s is out of the range of a 64-bit integer", s);
        else if (max == INT64_MAX)
            key_err(P, n, key, "must be at least %lld, got %.80s", (long long)min, s);
        else
            key_err(P, n, key, "must be between %lld and %lld, got %.80s",
                    (long long)min, (long long)max, s);
        free(s);
        return MF_ECONFIG;
    }
    free(s);
    *out = v;
    return MF_OK;
}

/* The value of `key` as a path, made absolute against the repo directory.
 * On success *out is owned by the caller. */
static int get_path(cfg_parse *P, const yaml_node_t *n, const char *key,
                    char **out) {
    char *s = NULL;
    int rc = get_string(P, n, key, &s);
    if (rc) return rc;
    *out = mf__path_join(P->repo, s);
    free(s);
    return MF_OK;
}

/* Replace an owned string field. */
static void set_str(char **slot, char *owned) {
    free(*slot);
    *slot = owned;
}

/*---- Mappings --------------------------------------------------------------*/

/* One key a mapping may hold. `types` limits it to some types of its
 * section (bit i = type i); 0 means any. key/val are filled by map_collect
 * (borrowed from the document). */
typedef struct cfg_slot {
    const char *name;
    unsigned types;
    yaml_node_t *key;
    yaml_node_t *val;
} cfg_slot;

/* Sort the pairs of mapping `map` into slots[0..n). An unknown key, a
 * duplicate or a key that is not a scalar is an error. `section` is NULL
 * at the top level. */
static int map_collect(cfg_parse *P, yaml_node_t *map, const char *section,
                       cfg_slot *slots, size_t n) {
    char path[160];
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(P->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(P->doc, pair->value);
        if (!k || !v) return loc_err(P, node_line(map), "malformed mapping");
        if (k->type != YAML_SCALAR_NODE)
            return loc_err(P, node_line(k), "a key in %s is %s, expected a name",
                           section ? section : "the top level", kind_name(k));
        const char *name = (const char *)k->data.scalar.value;
        cfg_slot *s = NULL;
        if (strlen(name) == k->data.scalar.length)
            for (size_t i = 0; i < n && !s; i++)
                if (!strcmp(slots[i].name, name)) s = &slots[i];
        if (!s) {
            const char *hint = NULL;
            size_t best = 3, nl = strlen(name);
            for (size_t i = 0; i < n; i++) {
                size_t d = edit_distance(name, slots[i].name), sl = strlen(slots[i].name);
                if (sl > nl + 1 && slots[i].name[sl - nl - 1] == '_' &&
                    !strcmp(slots[i].name + sl - nl, name))
                    d = 1; /* "type" for "registry_type" */
                if (d < best && d < nl) best = d, hint = slots[i].name;
            }
            int line = node_line(k);
            key_path(path, sizeof path, section, name);
            return mf__err_at(P->err, MF_ECONFIG, P->file, line,
                              "unknown key '%s' in %s at line %d%s%s%s", path, P->base,
                              line, hint ? " (did you mean '" : "", hint ? hint : "",
                              hint ? "'?)" : "");
        }
        if (s->key)
            return loc_err(P, node_line(k), "duplicate key '%s' (first at line %d)",
                           key_path(path, sizeof path, section, name),
                           node_line(s->key));
        s->key = k;
        s->val = v;
    }
    return MF_OK;
}

/* Read a section that is either a type name (when allow_scalar) or a
 * mapping whose key slots[0] names the type. *type receives the index into
 * `types` (NULL-terminated); default_type applies when a mapping has no
 * type key (-1: the key is required). Other keys are checked against their
 * type masks. Slots hold borrowed nodes. */
static int typed_section(cfg_parse *P, yaml_node_t *val, const char *section,
                         const char *what, const char *const *types,
                         int default_type, bool allow_scalar, cfg_slot *slots,
                         size_t n, int *type) {
    char path[160];
    const yaml_node_t *type_node = NULL;
    const char *type_key = section;
    if (val->type == YAML_MAPPING_NODE) {
        int rc = map_collect(P, val, section, slots, n);
        if (rc) return rc;
        type_node = slots[0].val;
        type_key = key_path(path, sizeof path, section, slots[0].name);
        if (!type_node) {
            if (default_type < 0)
                return loc_err(P, node_line(val), "missing required key '%s'", type_key);
            *type = default_type;
        }
    } else if (!allow_scalar || val->type != YAML_SCALAR_NODE) {
        return key_err(P, val, section, "expected a mapping, got %s", kind_name(val));
    } else {
        type_node = val;
    }
    if (type_node) {
        char *t = NULL;
        int rc = get_string(P, type_node, type_key, &t);
        if (rc) return rc;
        int found = -1;
        for (int i = 0; types[i]; i++)
            if (!strcmp(types[i], t)) found = i;
        if (found < 0) {
            mf__buf list;
            mf__buf_init(&list);
            for (int i = 0; types[i]; i++)
                mf__buf_printf(&list, "%s%s", i ? ", " : "", types[i]);
            key_err(P, type_node, type_key, "unknown %s type '%.80s' (expected one of: %s)",
                    what, t, list.data);
            mf__buf_free(&list);
            free(t);
            return MF_ECONFIG;
        }
        free(t);
        *type = found;
    }
    for (size_t i = 1; i < n; i++)
        if (slots[i].key && slots[i].types && !(slots[i].types & (1u << *type)))
            return loc_err(P, node_line(slots[i].key),
                           "unknown key '%s' for %s type '%s'",
                           key_path(path, sizeof path, section, slots[i].name),
                           what, types[*type]);
    return MF_OK;
}

/*---- Sections --------------------------------------------------------------*/

static int parse_project(cfg_parse *P, const yaml_node_t *root,
                         const yaml_node_t *val, mf__config *cfg) {
    if (!val) return loc_err(P, node_line(root), "missing required key 'project'");
    char *s = NULL;
    int rc = get_string(P, val, "project", &s);
    if (rc) return rc;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9'))) {
            key_err(P, val, "project",
                    "invalid project name '%.80s': use only letters, digits and '_'", s);
            free(s);
            return MF_ECONFIG;
        }
    }
    set_str(&cfg->project, s);
    return MF_OK;
}

static int parse_provider(cfg_parse *P, yaml_node_t *val, mf__config *cfg) {
    static const char *const types[] = {"local", "lua", NULL};
    enum { LOCAL, LUA };
    cfg_slot s[] = {{"type", 0, NULL, NULL}, {"module", 1u << LUA, NULL, NULL}};
    int type = LOCAL;
    int rc = typed_section(P, val, "provider", "provider", types, -1, true, s,
                           MF__ARRAY_LEN(s), &type);
    if (rc) return rc;
    char *module = NULL;
    if (type == LUA) {
        if (!s[1].val)
            return loc_err(P, node_line(val), "missing required key 'provider.module'");
        if ((rc = get_path(P, s[1].val, "provider.module", &module))) return rc;
    }
    set_str(&cfg->provider_type, mf__xstrdup(types[type]));
    set_str(&cfg->provider_module, module);
    return MF_OK;
}

static void free_commands(mf__config *cfg) {
    for (size_t i = 0; i < cfg->n_engine_commands; i++) {
        free(cfg->engine_command_names[i]);
        free(cfg->engine_command_paths[i]);
    }
    free(cfg->engine_command_names);
    free(cfg->engine_command_paths);
    cfg->engine_command_names = cfg->engine_command_paths = NULL;
    cfg->n_engine_commands = 0;
}

/* batch_engine.commands: {name: program, ...}, the only programs a Lua
 * engine's host.run may start. Names are letters, digits, '_' and '-';
 * each program (a path from the repo directory) must be an executable
 * regular file now. */
static int parse_commands(cfg_parse *P, yaml_node_t *map, mf__config *cfg) {
    if (map->type != YAML_MAPPING_NODE)
        return key_err(P, map, "batch_engine.commands",
                       "expected a mapping of names to programs ({submit: bin/submit.sh}), "
                       "got %s", kind_name(map));
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    cfg->engine_command_names = mf__xcalloc(n + 1, sizeof *cfg->engine_command_names);
    cfg->engine_command_paths = mf__xcalloc(n + 1, sizeof *cfg->engine_command_paths);
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(P->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(P->doc, pair->value);
        if (!k || !v) return loc_err(P, node_line(map), "malformed mapping");
        if (k->type != YAML_SCALAR_NODE)
            return loc_err(P, node_line(k), "a key in batch_engine.commands is %s, expected "
                           "a name", kind_name(k));
        const char *name = (const char *)k->data.scalar.value;
        bool good = name[0] && strlen(name) == k->data.scalar.length && strlen(name) <= 64;
        for (const char *c = name; good && *c; c++)
            good = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
        if (!good)
            return loc_err(P, node_line(k), "invalid command name '%.80s' in "
                           "batch_engine.commands: use 1 to 64 letters, digits, '_' and '-'",
                           name);
        char key[128];
        snprintf(key, sizeof key, "batch_engine.commands.%s", name);
        for (size_t i = 0; i < cfg->n_engine_commands; i++)
            if (!strcmp(cfg->engine_command_names[i], name))
                return loc_err(P, node_line(k), "duplicate key '%s'", key);
        char *path = NULL;
        int rc = get_path(P, v, key, &path);
        if (rc) return rc;
        struct stat st;
        const char *why = NULL;
        if (stat(path, &st) != 0) why = strerror(errno);
        else if (!S_ISREG(st.st_mode)) why = "not a regular file";
        else if (access(path, X_OK) != 0) why = "not executable";
        if (why) {
            key_err(P, v, key, "the program '%s' cannot be run: %s", path, why);
            free(path);
            return MF_ECONFIG;
        }
        cfg->engine_command_names[cfg->n_engine_commands] = mf__xstrdup(name);
        cfg->engine_command_paths[cfg->n_engine_commands++] = path;
    }
    return MF_OK;
}

/* batch_engine: local (with jobs: N threads, default one per CPU) or
 * {type: lua, module: path, commands: {name: program}, command_timeout_seconds}. */
static int parse_engine(cfg_parse *P, yaml_node_t *val, mf__config *cfg) {
    static const char *const types[] = {"local", "lua", NULL};
    enum { LOCAL, LUA };
    cfg_slot s[] = {{"type", 0, NULL, NULL},
                    {"module", 1u << LUA, NULL, NULL},
                    {"jobs", 1u << LOCAL, NULL, NULL},
                    {"commands", 1u << LUA, NULL, NULL},
                    {"command_timeout_seconds", 1u << LUA, NULL, NULL}};
    int type = LOCAL;
    int rc = typed_section(P, val, "batch_engine", "batch engine", types, LOCAL, true, s,
                           MF__ARRAY_LEN(s), &type);
    if (rc) return rc;
    char *module = NULL;
    int64_t jobs = 0, timeout = cfg->engine_command_timeout_seconds;
    if (type == LUA) {
        if (!s[1].val)
            return loc_err(P, node_line(val), "missing required key 'batch_engine.module'");
        if (s[4].val && (rc = get_int(P, s[4].val, "batch_engine.command_timeout_seconds", 1,
                                      604800, &timeout)))
            return rc;
        free_commands(cfg);
        if (s[3].val && (rc = parse_commands(P, s[3].val, cfg))) return rc;
        if ((rc = get_path(P, s[1].val, "batch_engine.module", &module))) return rc;
    } else if (s[2].val && (rc = get_int(P, s[2].val, "batch_engine.jobs", 1, 256, &jobs))) {
        return rc;
    }
    set_str(&cfg->engine_type, mf__xstrdup(types[type]));
    set_str(&cfg->engine_module, module);
    cfg->engine_jobs = (int)jobs;
    cfg->engine_command_timeout_seconds = timeout;
    return MF_OK;
}

/* The path of a file registry: a URL there ("postgresql://...") would be
 * taken for a folder name (a private registry per machine, the password in
 * a directory name), so it is refused, pointing at the SQL registry. */
static int file_registry_path(cfg_parse *P, const yaml_node_t *n, const char *key, char **out) {
    char *s = NULL;
    int rc = get_string(P, n, key, &s);
    if (rc) return rc;
    if (strstr(s, "://")) {
        char *shown = mf__url_hide_password(s);
        rc = key_err(P, n, key, "'%s' is a URL, not a file path (a file registry is a "
                     "local file): for a registry in PostgreSQL or SQLite, set registry_type: "
                     "sql and its path to the URL", shown);
        free(shown);
        free(s);
        return rc;
    }
    *out = mf__path_join(P->repo, s);
    free(s);
    return MF_OK;
}

static int parse_registry(cfg_parse *P, yaml_node_t *val, mf__config *cfg) {
    static const char *const types[] = {"file", "sql", NULL};
    enum { FILE_, SQL };
    int rc;
    if (val->type == YAML_SCALAR_NODE) {
        char *path = NULL;
        if ((rc = file_registry_path(P, val, "registry", &path))) return rc;
        set_str(&cfg->registry_type, mf__xstrdup("file"));
        set_str(&cfg->registry_path, path);
        return MF_OK;
    }
    cfg_slot s[] = {{"registry_type", 0, NULL, NULL},
                    {"path", 0, NULL, NULL},
                    {"cache_ttl_seconds", 0, NULL, NULL}};
    int type = FILE_;
    rc = typed_section(P, val, "registry", "registry", types, FILE_, false, s,
                       MF__ARRAY_LEN(s), &type);
    if (rc) return rc;
    int64_t ttl = cfg->registry_cache_ttl_seconds;
    if (s[2].val &&
        (rc = get_int(P, s[2].val, "registry.cache_ttl_seconds", 0, MAX_SECONDS, &ttl)))
        return rc;
    char *path = NULL;
    if (type == SQL) {
        if (!s[1].val)
            return loc_err(P, node_line(val),
                           "missing required key 'registry.path' (the database URL)");
        if ((rc = get_string(P, s[1].val, "registry.path", &path))) return rc;
    } else if (s[1].val) {
        if ((rc = file_registry_path(P, s[1].val, "registry.path", &path))) return rc;
    } else {
        path = mf__path_join(P->repo, "data/registry.db");
    }
    set_str(&cfg->registry_type, mf__xstrdup(types[type]));
    set_str(&cfg->registry_path, path);
    cfg->registry_cache_ttl_seconds = ttl;
    return MF_OK;
}

/*---- Store sections (online_store, offline_store) ---------------------------*/

const mf__store_type *mf__store_type_find(const mf__store_type *t, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return &t[i];
    return NULL;
}

static long opt_index(const mf__store_conf *c, const char *name) {
    if (!c->st) return -1;
    for (size_t i = 0; i < c->st->nopts; i++)
        if (!strcmp(c->st->opts[i].name, name)) return (long)i;
    return -1;
}

const char *mf__conf_str(const mf__store_conf *c, const char *name) {
    long i = opt_index(c, name);
    return i < 0 ? NULL : c->str[i];
}

int64_t mf__conf_int(const mf__store_conf *c, const char *name) {
    long i = opt_index(c, name);
    return i < 0 ? 0 : c->num[i];
}

static void conf_free(mf__store_conf *c) {
    for (size_t i = 0; i < c->n_extra; i++) {
        free(c->extra[i].name);
        free(c->extra[i].value);
    }
    free(c->extra);
    for (size_t i = 0; c->st && i < c->st->nopts; i++) free(c->str[i]);
    free(c->str);
    free(c->num);
    free(c->type);
    memset(c, 0, sizeof *c);
}

/* c as type st with every option at its default. */
static void conf_defaults(cfg_parse *P, mf__store_conf *c, const mf__store_type *st) {
    conf_free(c);
    c->type = mf__xstrdup(st->name);
    c->st = st;
    c->str = mf__xcalloc(st->nopts + 1, sizeof *c->str);
    c->num = mf__xcalloc(st->nopts + 1, sizeof *c->num);
    for (size_t i = 0; i < st->nopts; i++) {
        const mf__opt_spec *o = &st->opts[i];
        if (o->kind == MF__OPT_INT) c->num[i] = o->idef;
        else if (o->def && o->kind == MF__OPT_PATH) c->str[i] = mf__path_join(P->repo, o->def);
        else if (o->def) c->str[i] = mf__xstrdup(o->def);
    }
}

/* A store section: a type name, or a mapping of `type` (default: the
 * table's first type) and the options that type declares. */
static int parse_store(cfg_parse *P, yaml_node_t *val, const char *section, const char *what,
                       const mf__store_type *table, size_t ntypes, mf__store_conf *out) {
    /* the slots: type, then every option name of every type, with the
     * types that declare it */
    size_t cap = 1;
    for (size_t t = 0; t < ntypes; t++) cap += table[t].nopts;
    cfg_slot *slots = mf__xcalloc(cap, sizeof *slots);
    const char **types = mf__xcalloc(ntypes + 1, sizeof *types);
    size_t n = 1;
    slots[0].name = "type";
    for (size_t t = 0; t < ntypes; t++) {
        types[t] = table[t].name;
        for (size_t i = 0; i < table[t].nopts; i++) {
            size_t k = 1;
            while (k < n && strcmp(slots[k].name, table[t].opts[i].name) != 0) k++;
            if (k == n) slots[n++].name = table[t].opts[i].name;
            slots[k].types |= 1u << t;
        }
    }
    /* a type that takes any other key as an option of its own (Lua
     * stores): every key of the mapping that no type declares becomes a
     * slot of that type */
    const mf__store_type *named = NULL;
    if (val->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *pr = val->data.mapping.pairs.start;
             pr < val->data.mapping.pairs.top && !named; pr++) {
            yaml_node_t *k = yaml_document_get_node(P->doc, pr->key);
            yaml_node_t *v = yaml_document_get_node(P->doc, pr->value);
            if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
                !strcmp((const char *)k->data.scalar.value, "type")) {
                /* the type as it will be read: ${VAR} expanded (an error
                 * there is reported when the type is read) */
                const char *tv = (const char *)v->data.scalar.value;
                char *ex = NULL;
                if (strstr(tv, "${")) {
                    char key[160];
                    key_path(key, sizeof key, section, "type");
                    /* an unset variable is the error to report (not the
                     * keys only the intended type takes) */
                    if (expand_env(P, v, key, &ex) != MF_OK) {
                        free(slots);
                        free(types);
                        return MF_ECONFIG;
                    }
                }
                named = mf__store_type_find(table, ntypes, ex ? ex : tv);
                free(ex);
            }
        }
    }
    /* pass[k]: slot k goes to the module as its own option (a name no
     * type declares, or one only other types declare: a Lua store may have
     * a `path` of its own) */
    bool *pass = NULL;
    if (named && named->any_options) {
        size_t extra = (size_t)(val->data.mapping.pairs.top - val->data.mapping.pairs.start);
        slots = mf__xrealloc(slots, (cap + extra) * sizeof *slots);
        memset(slots + cap, 0, extra * sizeof *slots);
        pass = mf__xcalloc(cap + extra, sizeof *pass);
        unsigned bit = 1u << (unsigned)(named - table);
        for (yaml_node_pair_t *pr = val->data.mapping.pairs.start;
             pr < val->data.mapping.pairs.top; pr++) {
            yaml_node_t *k = yaml_document_get_node(P->doc, pr->key);
            if (!k || k->type != YAML_SCALAR_NODE) continue;
            const char *name = (const char *)k->data.scalar.value;
            size_t j = 0;
            while (j < n && strcmp(slots[j].name, name) != 0) j++;
            if (j == n) {
                slots[n].name = name;
                slots[n++].types = bit;
                pass[j] = true;
            } else if (j > 0 && !(slots[j].types & bit)) {
                slots[j].types |= bit;
                pass[j] = true;
            }
        }
    }
    int type = 0;
    int rc = typed_section(P, val, section, what, types, 0, true, slots, n, &type);
    mf__store_conf c;
    memset(&c, 0, sizeof c);
    if (rc == MF_OK) conf_defaults(P, &c, &table[type]);
    /* the module's own keys, as text (${VAR} expanded; scalars only) */
    for (size_t k = 1; rc == MF_OK && pass && &table[type] == named && k < n; k++) {
        if (!slots[k].val || !pass[k]) continue;
        char key[160], *str = NULL;
        key_path(key, sizeof key, section, slots[k].name);
        if ((rc = get_string(P, slots[k].val, key, &str))) break;
        c.extra = mf__xrealloc(c.extra, (c.n_extra + 1) * sizeof *c.extra);
        c.extra[c.n_extra].name = mf__xstrdup(slots[k].name);
        c.extra[c.n_extra++].value = str;
    }
    for (size_t i = 0; rc == MF_OK && i < table[type].nopts; i++) {
        const mf__opt_spec *o = &table[type].opts[i];
        yaml_node_t *node = NULL;
        for (size_t k = 1; k < n && !node; k++)
            if (!strcmp(slots[k].name, o->name)) node = slots[k].val;
        char key[160];
        key_path(key, sizeof key, section, o->name);
        if (!node) {
            if (o->required) rc = loc_err(P, node_line(val), "missing required key '%s'", key);
            continue;
        }
        char *str = NULL;
        switch (o->kind) {
        case MF__OPT_INT: rc = get_int(P, node, key, o->min, o->max, &c.num[i]); break;
        case MF__OPT_PATH: rc = get_path(P, node, key, &str); break;
        case MF__OPT_CHOICE: rc = get_choice(P, node, key, o->choices, &str); break;
        default: rc = get_string(P, node, key, &str); break;
        }
        if (str) set_str(&c.str[i], str);
    }
    free(slots);
    free(types);
    free(pass);
    if (rc) {
        conf_free(&c);
        return rc;
    }
    conf_free(out);
    *out = c;
    return MF_OK;
}

static int parse_online(cfg_parse *P, yaml_node_t *val, mf__config *cfg) {
    return parse_store(P, val, "online_store", "online store", mf__online_types,
                       mf__n_online_types, &cfg->online);
}

static int parse_offline(cfg_parse *P, yaml_node_t *val, mf__config *cfg) {
    return parse_store(P, val, "offline_store", "offline store", mf__offline_types,
                       mf__n_offline_types, &cfg->offline);
}

static int parse_ek_version(cfg_parse *P, const yaml_node_t *val, mf__config *cfg) {
    const char *key = "entity_key_serialization_version";
    int64_t v = 0;
    int rc = get_int(P, val, key, INT64_MIN, INT64_MAX, &v);
    if (rc) return rc;
    if (v != 3)
        return key_err(P, val, key, "unsupported version %lld: only 3 is supported",
                       (long long)v);
    cfg->entity_key_serialization_version = 3;
    return MF_OK;
}

/* The value of `key` as true or false. */
static int get_bool(cfg_parse *P, const yaml_node_t *n, const char *key, bool *out) {
    char *s = NULL;
    int rc = get_string(P, n, key, &s);
    if (rc) return rc;
    if (!strcmp(s, "true")) *out = true;
    else if (!strcmp(s, "false")) *out = false;
    else rc = key_err(P, n, key, "expected true or false, got '%.80s'", s);
    free(s);
    return rc;
}

/* feature_server.auth: {tokens: [{token: T, role: read|write|admin}, ...]}.
 * Tokens must differ: two equal tokens with different roles would make
 * the role depend on their order. */
static int parse_auth(cfg_parse *P, yaml_node_t *val, mf__server_config *sc) {
    if (val->type != YAML_MAPPING_NODE)
        return key_err(P, val, "feature_server.auth", "expected a mapping, got %s",
                       kind_name(val));
    cfg_slot s[] = {{"tokens", 0, NULL, NULL}};
    int rc = map_collect(P, val, "feature_server.auth", s, MF__ARRAY_LEN(s));
    if (rc) return rc;
    if (!s[0].val)
        return loc_err(P, node_line(val), "missing required key 'feature_server.auth.tokens'");
    yaml_node_t *seq = s[0].val;
    if (seq->type != YAML_SEQUENCE_NODE)
        return key_err(P, seq, "feature_server.auth.tokens", "expected a list, got %s",
                       kind_name(seq));
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (!n)
        return key_err(P, seq, "feature_server.auth.tokens",
                       "the list is empty: give at least one token, or leave auth out");
    sc->tokens = mf__xcalloc(n, sizeof *sc->tokens);
    for (size_t i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "feature_server.auth.tokens[%zu]", i);
        yaml_node_t *item = yaml_document_get_node(P->doc, seq->data.sequence.items.start[i]);
        if (!item) return loc_err(P, node_line(seq), "malformed list");
        if (item->type != YAML_MAPPING_NODE)
            return key_err(P, item, key, "expected a mapping {token, role}, got %s",
                           kind_name(item));
        cfg_slot t[] = {{"token", 0, NULL, NULL}, {"role", 0, NULL, NULL}};
        if ((rc = map_collect(P, item, key, t, MF__ARRAY_LEN(t)))) return rc;
        if (!t[0].val || !t[1].val)
            return loc_err(P, node_line(item), "missing required key '%s.%s'", key,
                           t[0].val ? "role" : "token");
        char sub[96], *tok = NULL, *role = NULL;
        snprintf(sub, sizeof sub, "%s.token", key);
        if ((rc = get_string(P, t[0].val, sub, &tok))) return rc;
        sc->tokens[sc->n_tokens++].token = tok;
        for (const char *c = tok; *c; c++)
            if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
                return key_err(P, t[0].val, sub,
                               "a token is printable ASCII without spaces (it travels in an "
                               "HTTP header)");
        for (size_t j = 0; j + 1 < sc->n_tokens; j++)
            if (!strcmp(sc->tokens[j].token, tok))
                return key_err(P, t[0].val, sub, "the same token as tokens[%zu]", j);
        snprintf(sub, sizeof sub, "%s.role", key);
        if ((rc = get_string(P, t[1].val, sub, &role))) return rc;
        mf__role r = !strcmp(role, "read")    ? MF__ROLE_READ
                     : !strcmp(role, "write") ? MF__ROLE_WRITE
                     : !strcmp(role, "admin") ? MF__ROLE_ADMIN
                                              : (mf__role)0;
        if (!r) rc = key_err(P, t[1].val, sub, "expected read, write or admin, got '%.80s'", role);
        free(role);
        if (rc) return rc;
        sc->tokens[sc->n_tokens - 1].role = r;
    }
    return MF_OK;
}

static int parse_server(cfg_parse *P, yaml_node_t *val, mf__config *cfg) {
    if (val->type != YAML_MAPPING_NODE)
        return key_err(P, val, "feature_server", "expected a mapping, got %s",
                       kind_name(val));
    enum { PORT, HOST, THREADS, TTL, BODY, ROWS, HEADER, CONNS, TIMEOUT, LOG, METRICS,
           KEY, CERT, AUTH, REUSE };
    cfg_slot s[] = {{"port", 0, NULL, NULL},
                    {"host", 0, NULL, NULL},
                    {"threads", 0, NULL, NULL},
                    {"registry_ttl_seconds", 0, NULL, NULL},
                    {"max_body_bytes", 0, NULL, NULL},
                    {"max_entity_rows", 0, NULL, NULL},
                    {"max_header_bytes", 0, NULL, NULL},
                    {"max_connections", 0, NULL, NULL},
                    {"request_timeout_seconds", 0, NULL, NULL},
                    {"access_log", 0, NULL, NULL},
                    {"metrics_public", 0, NULL, NULL},
                    {"tls_key", 0, NULL, NULL},
                    {"tls_cert", 0, NULL, NULL},
                    {"auth", 0, NULL, NULL},
                    {"read_reuse_us", 0, NULL, NULL}};
    int rc = map_collect(P, val, "feature_server", s, MF__ARRAY_LEN(s));
    if (rc) return rc;
    mf__server_config *sc = &cfg->server;
    int64_t port = sc->port, threads = sc->threads;
    if ((s[PORT].val && (rc = get_int(P, s[PORT].val, "feature_server.port", 1, 65535, &port))) ||
        (s[THREADS].val &&
         (rc = get_int(P, s[THREADS].val, "feature_server.threads", 1, 1024, &threads))) ||
        (s[TTL].val && (rc = get_int(P, s[TTL].val, "feature_server.registry_ttl_seconds", 0,
                                     MAX_SECONDS, &sc->registry_ttl_seconds))) ||
        (s[BODY].val && (rc = get_int(P, s[BODY].val, "feature_server.max_body_bytes", 1024,
                                      INT64_C(1) << 32, &sc->max_body_bytes))) ||
        (s[ROWS].val && (rc = get_int(P, s[ROWS].val, "feature_server.max_entity_rows", 1,
                                      INT64_C(100000000), &sc->max_entity_rows))) ||
        (s[HEADER].val && (rc = get_int(P, s[HEADER].val, "feature_server.max_header_bytes",
                                        4096, INT64_C(1) << 24, &sc->max_header_bytes))) ||
        (s[CONNS].val && (rc = get_int(P, s[CONNS].val, "feature_server.max_connections", 1,
                                       65536, &sc->max_connections))) ||
        (s[TIMEOUT].val &&
         (rc = get_int(P, s[TIMEOUT].val, "feature_server.request_timeout_seconds", 1, 86400,
                       &sc->request_timeout_seconds))) ||
        (s[REUSE].val && (rc = get_int(P, s[REUSE].val, "feature_server.read_reuse_us", 0,
                                       1000000, &sc->read_reuse_us))) ||
        (s[LOG].val && (rc = get_bool(P, s[LOG].val, "feature_server.access_log",
                                      &sc->access_log))) ||
        (s[METRICS].val && (rc = get_bool(P, s[METRICS].val, "feature_server.metrics_public",
                                          &sc->metrics_public))))
        return rc;
    sc->port = (int)port;
    sc->threads = (int)threads;
    if (s[HOST].val) {
        char *host = NULL;
        if ((rc = get_string(P, s[HOST].val, "feature_server.host", &host))) return rc;
        set_str(&sc->host, host);
    }
    if (!s[KEY].val != !s[CERT].val)
        return loc_err(P, node_line(val), "feature_server: give tls_key and tls_cert together "
                       "(TLS needs both)");
    if (s[KEY].val &&
        ((rc = get_path(P, s[KEY].val, "feature_server.tls_key", &sc->tls_key)) ||
         (rc = get_path(P, s[CERT].val, "feature_server.tls_cert", &sc->tls_cert))))
        return rc;
    if (s[AUTH].val && (rc = parse_auth(P, s[AUTH].val, sc))) return rc;
    return MF_OK;
}

/* lua: {max_instructions, max_memory_mb, timeout_seconds}: the budget of
 * one load of the definitions; lua: {transform_max_instructions,
 * transform_max_memory_mb, transform_timeout_ms}: the budget of one call of
 * an on-demand transform (memory: of a worker's Lua state). The upper
 * bounds keep the products (bytes, microseconds) far from overflow. */
static int parse_lua(cfg_parse *P, yaml_node_t *val, mf__config *cfg) {
    if (val->type != YAML_MAPPING_NODE)
        return key_err(P, val, "lua", "expected a mapping, got %s", kind_name(val));
    cfg_slot s[] = {{"max_instructions", 0, NULL, NULL},
                    {"max_memory_mb", 0, NULL, NULL},
                    {"timeout_seconds", 0, NULL, NULL},
                    {"transform_max_instructions", 0, NULL, NULL},
                    {"transform_max_memory_mb", 0, NULL, NULL},
                    {"transform_timeout_ms", 0, NULL, NULL}};
    int rc = map_collect(P, val, "lua", s, MF__ARRAY_LEN(s));
    if (rc) return rc;
    int64_t ins = (int64_t)cfg->lua_budget.max_instructions;
    int64_t mb = (int64_t)(cfg->lua_budget.max_memory >> 20);
    int64_t secs = cfg->lua_budget.max_ms / 1000;
    if ((s[0].val && (rc = get_int(P, s[0].val, "lua.max_instructions", 1000,
                                   INT64_C(1000000000000000), &ins))) ||
        (s[1].val && (rc = get_int(P, s[1].val, "lua.max_memory_mb", 1, 1048576, &mb))) ||
        (s[2].val && (rc = get_int(P, s[2].val, "lua.timeout_seconds", 1, 86400 * 365, &secs))))
        return rc;
    cfg->lua_budget.max_instructions = (uint64_t)ins;
    cfg->lua_budget.max_memory = (size_t)mb << 20;
    cfg->lua_budget.max_ms = secs * 1000;
    ins = (int64_t)cfg->transform_budget.max_instructions;
    mb = (int64_t)(cfg->transform_budget.max_memory >> 20);
    int64_t ms = cfg->transform_budget.max_ms;
    if ((s[3].val && (rc = get_int(P, s[3].val, "lua.transform_max_instructions", 1000,
                                   INT64_C(1000000000000000), &ins))) ||
        (s[4].val && (rc = get_int(P, s[4].val, "lua.transform_max_memory_mb", 1, 1048576, &mb))) ||
        (s[5].val &&
         (rc = get_int(P, s[5].val, "lua.transform_timeout_ms", 1, INT64_C(86400000), &ms))))
        return rc;
    cfg->transform_budget.max_instructions = (uint64_t)ins;
    cfg->transform_budget.max_memory = (size_t)mb << 20;
    cfg->transform_budget.max_ms = ms;
    return MF_OK;
}

/*---- Document --------------------------------------------------------------*/

/* Every field at its default; paths against P->repo. */
static void set_defaults(cfg_parse *P, mf__config *cfg) {
    cfg->provider_type = mf__xstrdup("local");
    cfg->registry_type = mf__xstrdup("file");
    cfg->registry_path = mf__path_join(P->repo, "data/registry.db");
    cfg->registry_cache_ttl_seconds = 600;
    conf_defaults(P, &cfg->online, &mf__online_types[0]);
    conf_defaults(P, &cfg->offline, &mf__offline_types[0]);
    cfg->engine_type = mf__xstrdup("local");
    cfg->engine_command_timeout_seconds = 3600;
    cfg->lua_budget.max_instructions = MF__LUA_DEFAULT_INSTRUCTIONS;
    cfg->lua_budget.max_memory = (size_t)MF__LUA_DEFAULT_MEMORY_MB << 20;
    cfg->lua_budget.max_ms = (int64_t)MF__LUA_DEFAULT_SECONDS * 1000;
    cfg->transform_budget.max_instructions = MF__LUA_TRANSFORM_INSTRUCTIONS;
    cfg->transform_budget.max_memory = (size_t)MF__LUA_TRANSFORM_MEMORY_MB << 20;
    cfg->transform_budget.max_ms = MF__LUA_TRANSFORM_MS;
    cfg->entity_key_serialization_version = 3;
    cfg->server.host = mf__xstrdup("127.0.0.1");
    cfg->server.port = 6566;
    cfg->server.registry_ttl_seconds = -1;
    cfg->server.max_body_bytes = INT64_C(64) << 20;
    cfg->server.max_entity_rows = 100000;
    cfg->server.max_header_bytes = 32768;
    cfg->server.max_connections = 1024;
    cfg->server.request_timeout_seconds = 30;
    cfg->server.read_reuse_us = 1000;
    cfg->server.access_log = true;
}

static int parse_root(cfg_parse *P, yaml_node_t *root, mf__config *cfg) {
    if (root && root->type != YAML_MAPPING_NODE && !is_null(root))
        return loc_err(P, node_line(root), "expected a mapping of keys at the top, got %s",
                       kind_name(root));
    enum { PROJECT, PROVIDER, REGISTRY, ONLINE, OFFLINE, EKSV, SERVER, LUA, ENGINE };
    cfg_slot s[] = {{"project", 0, NULL, NULL},
                    {"provider", 0, NULL, NULL},
                    {"registry", 0, NULL, NULL},
                    {"online_store", 0, NULL, NULL},
                    {"offline_store", 0, NULL, NULL},
                    {"entity_key_serialization_version", 0, NULL, NULL},
                    {"feature_server", 0, NULL, NULL},
                    {"lua", 0, NULL, NULL},
                    {"batch_engine", 0, NULL, NULL}};
    int rc;
    if (root && root->type == YAML_MAPPING_NODE &&
        (rc = map_collect(P, root, NULL, s, MF__ARRAY_LEN(s))))
        return rc;
    if ((rc = parse_project(P, root, s[PROJECT].val, cfg))) return rc;
    if (s[PROVIDER].val && (rc = parse_provider(P, s[PROVIDER].val, cfg))) return rc;
    if (s[REGISTRY].val && (rc = parse_registry(P, s[REGISTRY].val, cfg))) return rc;
    if (s[ONLINE].val && (rc = parse_online(P, s[ONLINE].val, cfg))) return rc;
    if (s[OFFLINE].val && (rc = parse_offline(P, s[OFFLINE].val, cfg))) return rc;
    if (s[EKSV].val && (rc = parse_ek_version(P, s[EKSV].val, cfg))) return rc;
    if (s[SERVER].val && (rc = parse_server(P, s[SERVER].val, cfg))) return rc;
    if (s[LUA].val && (rc = parse_lua(P, s[LUA].val, cfg))) return rc;
    if (s[ENGINE].val && (rc = parse_engine(P, s[ENGINE].val, cfg))) return rc;
    return MF_OK;
}

/* libyaml's complaint as an MF_ECONFIG error. */
static int yaml_fail(cfg_parse *P, const yaml_parser_t *yp, const char *text,
                     size_t len) {
    if (yp->error == YAML_MEMORY_ERROR)
        return mf__err(P->err, MF_ENOMEM, "out of memory parsing %s", P->file);
    const char *problem = yp->problem ? yp->problem : "unknown problem";
    size_t line0;
    if (yp->error == YAML_READER_ERROR) {
        size_t off = yp->problem_offset < len ? yp->problem_offset : len;
        line0 = 0;
        for (size_t i = 0; i < off; i++) line0 += text[i] == '\n';
    } else {
        line0 = yp->problem_mark.line;
    }
    int line = line0 + 1 > INT_MAX ? INT_MAX : (int)(line0 + 1);
    if (yp->context)
        return mf__err_at(P->err, MF_ECONFIG, P->file, line,
                          "invalid YAML in %s at line %d: %s %s (from line %d)", P->base,
                          line, problem, yp->context, (int)yp->context_mark.line + 1);
    return mf__err_at(P->err, MF_ECONFIG, P->file, line, "invalid YAML in %s at line %d: %s",
                      P->base, line, problem);
}

/* Check the limits on the event stream: nesting depth (mappings and lists
 * open at once), scalar length, keys of a mapping, anchors and aliases.
 * A syntax error is left to the loader, which reports it: up to it the
 * stream is within the limits. */
static int check_limits(cfg_parse *P, const char *text, size_t len) {
    yaml_parser_t yp;
    if (!yaml_parser_initialize(&yp))
        return mf__err(P->err, MF_ENOMEM, "out of memory parsing %s", P->file);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    int depth = 0, rc = MF_OK, anchors = 0;
    /* per open collection: a mapping's nodes so far (-1: a list) */
    long nodes[MAX_DEPTH + 2];
    yaml_event_t ev;
    while (rc == MF_OK && yaml_parser_parse(&yp, &ev)) {
        yaml_event_type_t type = ev.type;
        size_t l0 = ev.start_mark.line;
        int line = l0 + 1 > INT_MAX ? INT_MAX : (int)(l0 + 1);
        const yaml_char_t *anchor = type == YAML_SCALAR_EVENT           ? ev.data.scalar.anchor
                                    : type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                    : type == YAML_MAPPING_START_EVENT  ? ev.data.mapping_start.anchor
                                                                        : NULL;
        if ((anchor || type == YAML_ALIAS_EVENT) && ++anchors > MAX_ANCHORS)
            rc = loc_err(P, line, "more than %d YAML anchors and aliases", MAX_ANCHORS);
        bool node = type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
                    type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT;
        if (rc == MF_OK && node && depth > 0 && depth <= MAX_DEPTH && nodes[depth] >= 0 &&
            ++nodes[depth] > 2 * MAX_KEYS)
            rc = loc_err(P, line, "a mapping of more than %d keys", MAX_KEYS);
        if (rc != MF_OK) {
        } else if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_DEPTH)
                rc = loc_err(P, line, "nested deeper than %d levels", MAX_DEPTH);
            else
                nodes[depth] = type == YAML_MAPPING_START_EVENT ? 0 : -1;
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (type == YAML_SCALAR_EVENT && ev.data.scalar.length > MAX_SCALAR) {
            rc = loc_err(P, line, "a scalar longer than %d bytes (%zu bytes, '%.20s...')",
                         MAX_SCALAR, ev.data.scalar.length, (const char *)ev.data.scalar.value);
        }
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&yp);
    return rc;
}

/* The SQL registry on SQLite and the SQLite online store must not be one
 * database: a registry commit holds its write lock while it drops online
 * data there (delete, teardown), which then waits for itself and fails. */
static int check_shared_db(cfg_parse *P, const mf__config *cfg) {
    if (!cfg->registry_type || strcmp(cfg->registry_type, "sql") != 0 || !cfg->registry_path ||
        strncmp(cfg->registry_path, "sqlite:///", 10) != 0 || !cfg->online.type ||
        strcmp(cfg->online.type, "sqlite") != 0)
        return MF_OK;
    const char *rest = cfg->registry_path + 10, *online = mf__conf_str(&cfg->online, "path");
    if (!online) return MF_OK;
    char *reg = rest[0] == '/' ? mf__xstrdup(rest) : mf__path_join(P->repo, rest);
    struct stat a, b;
    bool same = !strcmp(reg, online) || (stat(reg, &a) == 0 && stat(online, &b) == 0 &&
                                         a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    free(reg);
    if (!same) return MF_OK;
    return mf__err_at(P->err, MF_ECONFIG, P->file, 0, "%s: registry.path '%s' is the online "
                      "store's database (online_store.path): give the SQL registry a database "
                      "of its own", P->base, cfg->registry_path);
}

/* Load the text of the yaml file (already read) into cfg. */
static int parse_text(cfg_parse *P, const char *text, size_t len, mf__config *cfg) {
    int rc = check_limits(P, text, len);
    if (rc) return rc;
    yaml_parser_t yp;
    yaml_document_t doc, extra;
    if (!yaml_parser_initialize(&yp))
        return mf__err(P->err, MF_ENOMEM, "out of memory parsing %s", P->file);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &doc)) {
        int rc = yaml_fail(P, &yp, text, len);
        yaml_parser_delete(&yp);
        return rc;
    }
    /* A second document is a mistake (or hides one): refuse it. */
    if (!yaml_parser_load(&yp, &extra)) {
        rc = yaml_fail(P, &yp, text, len);
    } else {
        /* named at its `---` (an empty one's node is past the last line) */
        if (yaml_document_get_root_node(&extra)) {
            size_t l = extra.start_mark.line + 1;
            rc = loc_err(P, l > INT_MAX ? INT_MAX : (int)l, "a second YAML document");
        }
        yaml_document_delete(&extra);
    }
    if (rc == MF_OK) {
        P->doc = &doc;
        rc = parse_root(P, yaml_document_get_root_node(&doc), cfg);
        P->doc = NULL;
    }
    if (rc == MF_OK) rc = check_shared_db(P, cfg);
    yaml_document_delete(&doc);
    yaml_parser_delete(&yp);
    return rc;
}

/*---- Entry points ----------------------------------------------------------*/

/* See mf_internal.h. On error cfg is left zeroed (nothing to free). */
int mf__config_load(const char *path, mf__config *cfg, mf_error *err) {
    memset(cfg, 0, sizeof *cfg);
    if (!path || !path[0])
        return mf__err(err, MF_EUSAGE, "no configuration file given");
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!base[0])
        return mf__err_at(err, MF_EIO, path, 0, "cannot open %s: not a file", path);
    char *dir = slash ? mf__xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : mf__xstrdup(".");
    char *repo = realpath(dir, NULL);
    int e = errno;
    /* a configuration given as a descriptor (-f /dev/stdin, piped or
     * redirected; -f <(...)) has no folder of its own: /dev or
     * /proc/PID/fd would be the repo folder; the current one is */
    if (repo && (!strcmp(repo, "/dev") || !strncmp(repo, "/proc/", 6))) { /* (not /dev/shm) */
        free(repo);
        repo = realpath(".", NULL);
        e = errno;
    }
    free(dir);
    if (!repo)
        return mf__err_at(err, MF_EIO, path, 0, "cannot open %s: %s", path, strerror(e));

    char *text = NULL;
    size_t len = 0;
    int rc = mf__read_input(path, MAX_FILE, &text, &len, err);
    if (rc) {
        free(repo);
        if (rc == MF_EDATA)
            rc = mf__err_at(err, MF_ECONFIG, path, 0, "%s is longer than %zu bytes: too large "
                            "for a configuration file", base, MAX_FILE);
        return rc;
    }
    cfg_parse P = {.file = path, .base = base, .repo = repo, .doc = NULL, .err = err};
    cfg->repo_path = repo;
    cfg->config_path = mf__path_join(repo, base);
    set_defaults(&P, cfg);
    rc = parse_text(&P, text, len, cfg);
    free(text);
    if (rc) mf__config_free(cfg);
    return rc;
}

/* Free every field of cfg (not cfg itself) and zero it. */
void mf__config_free(mf__config *cfg) {
    if (!cfg) return;
    free(cfg->config_path);
    free(cfg->repo_path);
    free(cfg->project);
    free(cfg->provider_type);
    free(cfg->provider_module);
    free(cfg->registry_type);
    free(cfg->registry_path);
    conf_free(&cfg->online);
    conf_free(&cfg->offline);
    free(cfg->engine_type);
    free(cfg->engine_module);
    free_commands(cfg);
    free(cfg->server.host);
    free(cfg->server.tls_key);
    free(cfg->server.tls_cert);
    for (size_t i = 0; i < cfg->server.n_tokens; i++) free(cfg->server.tokens[i].token);
    free(cfg->server.tokens);
    memset(cfg, 0, sizeof *cfg);
}
