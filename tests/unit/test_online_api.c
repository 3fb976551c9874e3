/*
 * test_online_api.c — online reads through the public C API (online.c over
 * materialize.c and the SQLite store), with a request and a response reused
 * across calls as a serving loop does.
 *
 * The repo (project "api") holds views "stats" (trips Int64, rate Float64,
 * name String, f32 Float32; 200 drivers) and "other" (bonus Int64; drivers
 * 1..150), keyed by driver_id. The CSV gives every driver an old row, its
 * latest row, and (every 7th) a row after the materialized window, in an
 * order where the latest row is not last. Expected values come from the
 * formulas that wrote the CSV (want()), never from the code under test.
 *
 * Checked: 1000 calls of one request/response with changing entity values
 * (int64 and text, 1 to 7 rows, unknown keys) and switching feature sets
 * (refs across views, a service with a projection, full names on and off);
 * every cell's name, type, status, event time and value; the JSON of every
 * call against the accessors (parsed by a small JSON reader below); after
 * mf_apply through the same store (ttl, a new feature, a removed feature)
 * the request resolves again; errors leave request and response usable; a
 * request moved to another store handle resolves again; a view without
 * entities answers one row per entity row, and none without entity columns
 * is an error.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_internal.h"
#include "mft.h"

/*---- Files ----------------------------------------------------------------*/

static char *tmp_root;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/*---- The repo -------------------------------------------------------------*/

enum { NDRIVERS = 200, NOTHER = 150, MAXID = 230 };
static const int64_t T0 = 1735689600; /* 2025-01-01T00:00:00Z */
static const int64_t T1 = 1735776000; /* 2025-01-02T00:00:00Z */

/* Definitions; `ttl` of stats, `extra` adds the feature extra, `trips`
 * keeps the feature trips. */
static char *defs_text(int ttl, bool extra, bool trips) {
    return mf__xasprintf(
        "local driver = entity { name = 'driver', join_keys = { 'driver_id' }, value_type = Int64 }\n"
        "local src = file_source { name = 'src', path = 'data/stats.csv', timestamp_field = 'ts' }\n"
        "local osrc = file_source { name = 'osrc', path = 'data/other.csv', timestamp_field = 'ts' }\n"
        "local stats = feature_view { name = 'stats', entities = { driver }, ttl = %d,\n"
        "  schema = { %s field { name = 'rate', dtype = Float64 },\n"
        "             field { name = 'name', dtype = String }, field { name = 'f32', dtype = Float32 },\n"
        "             %s },\n"
        "  source = src }\n"
        "local other = feature_view { name = 'other', entities = { driver }, ttl = 0,\n"
        "  schema = { field { name = 'bonus', dtype = Int64 } }, source = osrc }\n"
        "feature_service { name = 'svc', features = { %s, other } }\n",
        ttl, trips ? "field { name = 'trips', dtype = Int64 }," : "",
        extra ? "field { name = 'extra', dtype = Int64 }" : "",
        trips ? "stats:select { 'f32', 'trips' }:with_name('s2')"
              : "stats:select { 'f32' }:with_name('s2')");
}

static void put_row(mf__buf *b, int64_t d, int64_t ts, int64_t trips, double rate,
                    const char *name, double f32, int64_t extra) {
    char t[MF__TS_BUFLEN];
    mf__ts_format(ts * 1000000, t);
    mf__buf_printf(b, "%lld,%s,%lld,%.17g,%s,%.9g,%lld\n", (long long)d, t, (long long)trips, rate,
                   name, f32, (long long)extra);
}

/* A repo in tmp_root/<name>; returns its path (caller frees) or NULL. */
static char *make_repo(const char *name, const char *project) {
    char *dir = mf__xasprintf("%s/%s", tmp_root, name);
    char *data = mf__xasprintf("%s/data", dir);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", dir);
    char *defs = mf__xasprintf("%s/defs.lua", dir);
    char *csv = mf__xasprintf("%s/data/stats.csv", dir);
    char *ocsv = mf__xasprintf("%s/data/other.csv", dir);
    char *ytext = mf__xasprintf("project: %s\n", project);
    char *dtext = defs_text(0, false, true);
    mf__buf b;
    mf__buf_init(&b);
    mf__buf_puts(&b, "driver_id,ts,trips,rate,name,f32,extra\n");
    /* latest rows first, then rows after the window, then old rows */
    for (int64_t d = 1; d <= NDRIVERS; d++) {
        char nm[32];
        snprintf(nm, sizeof nm, "drv%lld", (long long)d);
        put_row(&b, d, T1 + d, d * 3, (double)d / 8.0, d % 10 == 0 ? "" : nm, (double)d / 4.0,
                d * d);
    }
    for (int64_t d = 7; d <= NDRIVERS; d += 7) put_row(&b, d, T1 + 5000, -2, -2, "late", -2, -2);
    for (int64_t d = NDRIVERS; d >= 1; d--) put_row(&b, d, T0, -1, -1, "old", -1, -1);
    mf__buf o;
    mf__buf_init(&o);
    mf__buf_puts(&o, "driver_id,ts,bonus\n");
    for (int64_t d = 1; d <= NOTHER; d++) {
        char t[MF__TS_BUFLEN];
        mf__ts_format((T1 + 100) * 1000000, t);
        mf__buf_printf(&o, "%lld,%s,%lld\n", (long long)d, t, (long long)(d * 100));
    }
    int rc = (mkdir(dir, 0700) == 0 && mkdir(data, 0700) == 0 && write_text(yaml, ytext) == 0 &&
              write_text(defs, dtext) == 0 && write_text(csv, b.data) == 0 &&
              write_text(ocsv, o.data) == 0)
                 ? 0
                 : -1;
    mf__buf_free(&b);
    mf__buf_free(&o);
    free(data);
    free(yaml);
    free(defs);
    free(csv);
    free(ocsv);
    free(ytext);
    free(dtext);
    if (rc) {
        printf("#   cannot write the repo in %s: %s\n", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

static int set_defs(const char *repo, int ttl, bool extra, bool trips) {
    char *p = mf__xasprintf("%s/defs.lua", repo);
    char *t = defs_text(ttl, extra, trips);
    int rc = write_text(p, t);
    free(p);
    free(t);
    return rc;
}

#define API_OK(call)                                                          \
    do {                                                                      \
        int api_rc = (call);                                                  \
        if (api_rc != MF_OK) {                                                \
            printf("#   %s:%d: %s failed (%d): %s\n", __FILE__, __LINE__,    \
                   #call, api_rc, err.message);                               \
            mft_failed_now = 1;                                               \
            return;                                                           \
        }                                                                     \
    } while (0)

/* Open the repo, apply, materialize [T0, T1 + 1000]. */
static mf_store *open_ready(const char *repo) {
    mf_store *s = NULL;
    mf_error err;
    mf_open_options o = {NULL, 0};
    if (mf_store_open(repo, &o, &s, &err) != MF_OK || mf_apply(s, NULL, &err) != MF_OK ||
        mf_materialize(s, T0 * 1000000, (T1 + 1000) * 1000000, NULL, 0, NULL, &err) != MF_OK) {
        printf("#   preparing %s: %s\n", repo, err.message);
        mf_store_close(s);
        return NULL;
    }
    return s;
}

/*---- Expected values --------------------------------------------------------*/

typedef struct want_cell {
    int found;     /* a stored row for the view */
    int null;      /* value null */
    int64_t i;     /* Int64 */
    double d;      /* Float64 / Float32 */
    char s[32];    /* String */
    int64_t ts_us; /* event time */
} want_cell;

/* feature: "trips", "rate", "name", "f32", "extra" (stats), "bonus" (other) */
static void want(const char *feature, int64_t d, want_cell *w) {
    memset(w, 0, sizeof *w);
    bool other = strcmp(feature, "bonus") == 0;
    w->found = d >= 1 && d <= (other ? NOTHER : NDRIVERS);
    if (!w->found) {
        w->null = 1;
        return;
    }
    w->ts_us = (other ? T1 + 100 : T1 + d) * 1000000;
    if (strcmp(feature, "trips") == 0) w->i = d * 3;
    else if (strcmp(feature, "extra") == 0) w->i = d * d;
    else if (strcmp(feature, "bonus") == 0) w->i = d * 100;
    else if (strcmp(feature, "rate") == 0) w->d = (double)d / 8.0;
    else if (strcmp(feature, "f32") == 0) w->d = (double)d / 4.0;
    else if (strcmp(feature, "name") == 0) {
        if (d % 10 == 0) w->null = 1;
        else snprintf(w->s, sizeof w->s, "drv%lld", (long long)d);
    }
}

static int type_of(const char *feature) {
    if (strcmp(feature, "rate") == 0) return 5;
    if (strcmp(feature, "f32") == 0) return 6;
    if (strcmp(feature, "name") == 0) return 2;
    return 4;
}

/* Check one feature cell against want(); prints and returns false when it
 * differs. ttl_out: the status to expect for a present value. */
static bool cell_ok(const mf_online_response *r, size_t col, size_t row, const char *feature,
                    int64_t d, mf_status_code present_status) {
    want_cell w;
    want(feature, d, &w);
    mf_status_code st = mf_online_response_status(r, col, row);
    mf_status_code want_st = !w.found ? MF_STATUS_NOT_FOUND
                             : w.null ? MF_STATUS_NULL_VALUE
                                      : present_status;
    bool ok = st == want_st && mf_online_response_event_ts(r, col, row) == w.ts_us &&
              mf_online_response_is_null(r, col, row) == w.null &&
              mf_online_response_type(r, col) == type_of(feature);
    if (ok && !w.null) {
        int t = type_of(feature);
        if (t == 4) ok = mf_online_response_int64(r, col, row) == w.i;
        else if (t == 5 || t == 6) ok = mf_online_response_double(r, col, row) == w.d;
        else {
            size_t len;
            const char *p = mf_online_response_text(r, col, row, &len);
            ok = p && len == strlen(w.s) && memcmp(p, w.s, len) == 0;
        }
    }
    if (!ok)
        printf("#   column %zu (%s) row %zu, driver %lld: status %s (want %s), ts %lld (want "
               "%lld), null %d (want %d), int %lld, double %g\n",
               col, feature, row, (long long)d, mf_status_name(st), mf_status_name(want_st),
               (long long)mf_online_response_event_ts(r, col, row), (long long)w.ts_us,
               mf_online_response_is_null(r, col, row), w.null,
               (long long)mf_online_response_int64(r, col, row),
               mf_online_response_double(r, col, row));
    return ok;
}

/*---- A small JSON reader ---------------------------------------------------*/

typedef struct jv {
    char kind;     /* 'n' null, 'b' bool, '#' number, 's' string, '[' array, '{' object */
    char *text;    /* number: its text; string: the decoded bytes */
    size_t len;
    struct jv *items; /* array items / object values */
    char **keys;      /* object keys */
    size_t n;
} jv;

static void jv_free(jv *v) {
    free(v->text);
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
}

static void skip_ws(const char **p) {
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r') (*p)++;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Parse a string at *p (at the quote) into b; -1 on bad text. */
static int parse_str(const char **p, mf__buf *b) {
    if (**p != '"') return -1;
    (*p)++;
    while (**p != '"') {
        unsigned char c = (unsigned char)**p;
        if (!c || c < 0x20) return -1;
        if (c != '\\') {
            mf__buf_putc(b, (char)c);
            (*p)++;
            continue;
        }
        (*p)++;
        char e = *(*p)++;
        switch (e) {
        case '"': case '\\': case '/': mf__buf_putc(b, e); break;
        case 'b': mf__buf_putc(b, '\b'); break;
        case 'f': mf__buf_putc(b, '\f'); break;
        case 'n': mf__buf_putc(b, '\n'); break;
        case 'r': mf__buf_putc(b, '\r'); break;
        case 't': mf__buf_putc(b, '\t'); break;
        case 'u': {
            int cp = 0;
            for (int k = 0; k < 4; k++) {
                int h = hexval((*p)[k]);
                if (h < 0) return -1;
                cp = cp * 16 + h;
            }
            *p += 4;
            if (cp >= 0x80) return -1; /* not needed by these tests */
            mf__buf_putc(b, (char)cp);
            break;
        }
        default: return -1;
        }
    }
    (*p)++;
    return 0;
}

static int parse_value(const char **p, jv *v) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    const char *s = *p;
    if (*s == '"') {
        mf__buf b;
        mf__buf_init(&b);
        if (parse_str(p, &b)) {
            mf__buf_free(&b);
            return -1;
        }
        v->kind = 's';
        v->len = b.len;
        v->text = b.data ? mf__buf_steal(&b) : mf__xstrdup("");
        return 0;
    }
    if (*s == '[' || *s == '{') {
        bool obj = *s == '{';
        v->kind = *s;
        (*p)++;
        skip_ws(p);
        if (**p == (obj ? '}' : ']')) {
            (*p)++;
            return 0;
        }
        for (;;) {
            v->items = mf__xrealloc(v->items, (v->n + 1) * sizeof *v->items);
            if (obj) {
                v->keys = mf__xrealloc(v->keys, (v->n + 1) * sizeof *v->keys);
                skip_ws(p);
                mf__buf k;
                mf__buf_init(&k);
                if (parse_str(p, &k)) {
                    mf__buf_free(&k);
                    return -1;
                }
                v->keys[v->n] = k.data ? mf__buf_steal(&k) : mf__xstrdup("");
                skip_ws(p);
                if (*(*p)++ != ':') {
                    v->items[v->n++].kind = 'n';
                    v->items[v->n - 1].text = NULL, v->items[v->n - 1].n = 0;
                    v->items[v->n - 1].items = NULL, v->items[v->n - 1].keys = NULL;
                    return -1;
                }
            }
            if (parse_value(p, &v->items[v->n])) {
                v->n++;
                return -1;
            }
            v->n++;
            skip_ws(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p == (obj ? '}' : ']')) {
                (*p)++;
                return 0;
            }
            return -1;
        }
    }
    if (strncmp(s, "null", 4) == 0) {
        v->kind = 'n';
        *p += 4;
        return 0;
    }
    if (strncmp(s, "true", 4) == 0 || strncmp(s, "false", 5) == 0) {
        v->kind = 'b';
        v->text = mf__xstrdup(*s == 't' ? "true" : "false");
        *p += *s == 't' ? 4 : 5;
        return 0;
    }
    const char *e = s;
    while (*e == '-' || *e == '+' || *e == '.' || *e == 'e' || *e == 'E' || (*e >= '0' && *e <= '9'))
        e++;
    if (e == s) return -1;
    v->kind = '#';
    v->text = mf__xstrndup(s, (size_t)(e - s));
    v->len = (size_t)(e - s);
    *p = e;
    return 0;
}

static const jv *jv_get(const jv *o, const char *key) {
    if (o->kind != '{') return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0) return &o->items[i];
    return NULL;
}

/* The response's JSON agrees with its accessors, cell by cell. Prints the
 * first difference. */
static bool json_agrees(mf_online_response *r) {
    size_t len;
    const char *text = mf_online_response_json(r, &len);
    if (!text || strlen(text) != len) {
        printf("#   JSON length %zu differs from its text\n", len);
        return false;
    }
    const char *p = text;
    jv root;
    bool ok = parse_value(&p, &root) == 0;
    skip_ws(&p);
    ok = ok && *p == 0;
    const jv *names = ok ? jv_get(jv_get(&root, "metadata"), "feature_names") : NULL;
    const jv *results = ok ? jv_get(&root, "results") : NULL;
    size_t nc = mf_online_response_ncols(r), nr = mf_online_response_nrows(r);
    ok = ok && names && names->kind == '[' && names->n == nc && results && results->kind == '[' &&
         results->n == nc && root.n == 2;
    for (size_t c = 0; ok && c < nc; c++) {
        ok = names->items[c].kind == 's' &&
             strcmp(names->items[c].text, mf_online_response_name(r, c)) == 0;
        const jv *col = &results->items[c];
        const jv *vals = jv_get(col, "values"), *sts = jv_get(col, "statuses"),
                 *tss = jv_get(col, "event_timestamps");
        ok = ok && col->n == 3 && vals && sts && tss && vals->n == nr && sts->n == nr &&
             tss->n == nr;
        int type = mf_online_response_type(r, c);
        for (size_t i = 0; ok && i < nr; i++) {
            const jv *v = &vals->items[i], *st = &sts->items[i], *ts = &tss->items[i];
            int64_t t;
            ok = st->kind == 's' && strcmp(st->text, mf_status_name(mf_online_response_status(r, c, i))) == 0 &&
                 ts->kind == 's' && mf__ts_parse(ts->text, ts->len, &t) == 0 &&
                 t == mf_online_response_event_ts(r, c, i);
            if (!ok) break;
            if (mf_online_response_is_null(r, c, i)) {
                ok = v->kind == 'n';
            } else if (type == 4 || type == 3) {
                char buf[32];
                snprintf(buf, sizeof buf, "%lld", (long long)mf_online_response_int64(r, c, i));
                ok = v->kind == '#' && strcmp(v->text, buf) == 0;
            } else if (type == 5) {
                ok = v->kind == '#' && strtod(v->text, NULL) == mf_online_response_double(r, c, i);
            } else if (type == 6) {
                ok = v->kind == '#' &&
                     (float)strtod(v->text, NULL) == (float)mf_online_response_double(r, c, i);
            } else if (type == 2) {
                size_t l;
                const char *s = mf_online_response_text(r, c, i, &l);
                ok = v->kind == 's' && s && v->len == l && memcmp(v->text, s, l) == 0;
            } else {
                ok = false;
            }
            if (!ok)
                printf("#   JSON cell (%zu, %zu) disagrees with the accessors: %s\n", c, i,
                       v->text ? v->text : "null");
        }
        if (!ok) printf("#   JSON column %zu disagrees: %.300s\n", c, text);
    }
    if (!ok) printf("#   JSON: %.500s\n", text);
    jv_free(&root);
    return ok;
}

/*---- Feature sets -------------------------------------------------------------*/

typedef struct fset {
    const char *refs[6]; /* NULL-terminated; empty: the service */
    const char *features[6];
    const char *full_names[6];
} fset;

static const fset SETS[] = {
    {{"stats:trips", "stats:rate", "stats:name", "stats:f32"},
     {"trips", "rate", "name", "f32"},
     {"stats__trips", "stats__rate", "stats__name", "stats__f32"}},
    {{"stats:name", "other:bonus", "stats:trips"},
     {"name", "bonus", "trips"},
     {"stats__name", "other__bonus", "stats__trips"}},
    {{"other:bonus"}, {"bonus"}, {"other__bonus"}},
    {{NULL}, {"f32", "trips", "bonus"}, {"s2__f32", "s2__trips", "other__bonus"}},
    {{"stats:f32", "stats:f32"}, {NULL}, {NULL}}, /* a duplicate: only with full names */
};

static size_t set_nfeat(const fset *f) {
    size_t n = 0;
    while (n < 6 && f->features[n]) n++;
    return n;
}

/*---- Tests --------------------------------------------------------------------*/

static char *repo_main;

/* 1000 calls of one request and one response. */
static void test_reuse_1000(void) {
    mf_error err;
    mf_store *s = open_ready(repo_main);
    CHECK(s);
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    uint64_t seed = 12345;
    size_t bad = 0, set = SIZE_MAX;
    int full = -1;
    for (int call = 0; call < 1000 && !bad; call++) {
        /* a new feature set every 40 calls, full names flipping every 20 */
        size_t want_set = (size_t)(call / 40) % 4;
        int want_full = (call / 20) % 2;
        if (want_set != set) {
            set = want_set;
            if (SETS[set].refs[0]) {
                size_t n = 0;
                while (SETS[set].refs[n]) n++;
                API_OK(mf_online_request_set_features(req, SETS[set].refs, n, &err));
            } else {
                API_OK(mf_online_request_set_feature_service(req, "svc", &err));
            }
        }
        if (want_full != full) mf_online_request_set_full_feature_names(req, full = want_full);
        mf_online_request_clear_entities(req);
        size_t n = 1 + (size_t)call % 7;
        int64_t ids[8];
        char txt[8][24];
        const char *tp[8];
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            ids[i] = (int64_t)((seed >> 33) % MAXID) + 1;
            snprintf(txt[i], sizeof txt[i], "%lld", (long long)ids[i]);
            tp[i] = txt[i];
        }
        if (call % 2) API_OK(mf_online_request_add_text(req, "driver_id", tp, n, &err));
        else API_OK(mf_online_request_add_int64(req, "driver_id", ids, n, &err));
        API_OK(mf_get_online_features(s, req, resp, &err));
        size_t nf = set_nfeat(&SETS[set]);
        CHECK(mf_online_response_ncols(resp) == nf + 1);
        CHECK(mf_online_response_nrows(resp) == n);
        CHECK_STR(mf_online_response_name(resp, 0), "driver_id");
        CHECK(mf_online_response_type(resp, 0) == 4);
        for (size_t i = 0; i < n; i++) {
            CHECK(mf_online_response_int64(resp, 0, i) == ids[i]);
            CHECK(mf_online_response_status(resp, 0, i) == MF_STATUS_PRESENT);
            CHECK(mf_online_response_event_ts(resp, 0, i) == 0);
        }
        for (size_t f = 0; f < nf; f++) {
            CHECK_STR(mf_online_response_name(resp, f + 1),
                      full ? SETS[set].full_names[f] : SETS[set].features[f]);
            for (size_t i = 0; i < n; i++)
                if (!cell_ok(resp, f + 1, i, SETS[set].features[f], ids[i], MF_STATUS_PRESENT)) bad++;
        }
        if (!json_agrees(resp)) bad++;
        if (bad) printf("#   at call %d (set %zu, full names %d)\n", call, set, full);
    }
    CHECK(bad == 0);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
}

/* Mistakes leave the request and the response usable. */
static void test_errors_then_recovery(void) {
    mf_error err;
    mf_store *s = open_ready(repo_main);
    CHECK(s);
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"stats:trips", "other:bonus"};
    API_OK(mf_online_request_set_features(req, refs, 2, &err));
    const char *good[] = {"5", "151"};
    const char *bad[] = {"5", "abc"};
    int64_t ids3[] = {1, 2, 3};

    /* a text that is not an Int64 */
    API_OK(mf_online_request_add_text(req, "driver_id", bad, 2, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "'abc'");
    CHECK_HAS(err.message, "driver_id");
    /* the failed call leaves the response empty (its cells were half set:
     * reading them, its JSON included, read uninitialised memory) */
    CHECK(mf_online_response_nrows(resp) == 0 && mf_online_response_ncols(resp) == 0);
    size_t jl;
    CHECK_STR(mf_online_response_json(resp, &jl), "{\"metadata\":{\"feature_names\":[]},\"results\":[]}");
    mf_online_request_clear_entities(req);
    API_OK(mf_online_request_add_text(req, "driver_id", good, 2, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(cell_ok(resp, 1, 0, "trips", 5, MF_STATUS_PRESENT));
    CHECK(cell_ok(resp, 2, 1, "bonus", 151, MF_STATUS_PRESENT));
    CHECK(json_agrees(resp));

    /* the same column twice; columns of different lengths */
    CHECK(mf_online_request_add_text(req, "driver_id", good, 2, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "driver_id");
    CHECK(mf_online_request_add_int64(req, "x", ids3, 3, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "'x'");

    /* a missing join key */
    mf_online_request_clear_entities(req);
    API_OK(mf_online_request_add_int64(req, "rider_id", ids3, 3, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "missing join key 'driver_id'");
    /* given again, with an extra column that no view uses (not output) */
    API_OK(mf_online_request_add_int64(req, "driver_id", ids3, 3, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(mf_online_response_ncols(resp) == 3);
    CHECK_STR(mf_online_response_name(resp, 0), "driver_id");
    for (size_t i = 0; i < 3; i++) CHECK(cell_ok(resp, 1, i, "trips", ids3[i], MF_STATUS_PRESENT));
    CHECK(json_agrees(resp));

    /* unknown refs and services; a duplicate output name */
    const char *unknown_view[] = {"nosuch:trips"};
    API_OK(mf_online_request_set_features(req, unknown_view, 1, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "'nosuch'");
    const char *unknown_feat[] = {"stats:trips", "stats:nosuch"};
    API_OK(mf_online_request_set_features(req, unknown_feat, 2, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "'stats:nosuch'");
    const char *malformed[] = {"stats"};
    API_OK(mf_online_request_set_features(req, malformed, 1, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "'stats'");
    API_OK(mf_online_request_set_feature_service(req, "nosvc", &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "'nosvc'");
    size_t n_dup = 2;
    API_OK(mf_online_request_set_features(req, SETS[4].refs, n_dup, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "'f32'");
    mf_online_request_set_full_feature_names(req, 1);
    /* a duplicate with full names is still the same output name */
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);

    /* and back to a good request */
    mf_online_request_set_full_feature_names(req, 0);
    API_OK(mf_online_request_set_features(req, refs, 2, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(mf_online_response_nrows(resp) == 3);
    for (size_t i = 0; i < 3; i++) CHECK(cell_ok(resp, 2, i, "bonus", ids3[i], MF_STATUS_PRESENT));
    CHECK(json_agrees(resp));
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
}

/* No entity rows: an empty answer, on a fresh request and after calls
 * with rows; the JSON has empty arrays. */
static void test_zero_rows(void) {
    mf_error err;
    mf_store *s = NULL;
    mf_open_options o = {NULL, 0};
    API_OK(mf_store_open(repo_main, &o, &s, &err));
    const char *refs[] = {"stats:trips", "other:bonus"};
    for (int round = 0; round < 2; round++) {
        mf_online_request *req = mf_online_request_new();
        mf_online_response *resp = mf_online_response_new();
        API_OK(mf_online_request_set_features(req, refs, 2, &err));
        int64_t ids[2] = {4, 5};
        if (round == 1) { /* rows first, then none */
            API_OK(mf_online_request_add_int64(req, "driver_id", ids, 2, &err));
            API_OK(mf_get_online_features(s, req, resp, &err));
            CHECK(mf_online_response_nrows(resp) == 2);
            mf_online_request_clear_entities(req);
        }
        API_OK(mf_online_request_add_int64(req, "driver_id", ids, 0, &err));
        API_OK(mf_get_online_features(s, req, resp, &err));
        CHECK(mf_online_response_nrows(resp) == 0);
        CHECK(mf_online_response_ncols(resp) == 3);
        size_t len;
        CHECK_STR(mf_online_response_json(resp, &len),
                  "{\"metadata\":{\"feature_names\":[\"driver_id\",\"trips\",\"bonus\"]},"
                  "\"results\":[{\"values\":[],\"statuses\":[],\"event_timestamps\":[]},"
                  "{\"values\":[],\"statuses\":[],\"event_timestamps\":[]},"
                  "{\"values\":[],\"statuses\":[],\"event_timestamps\":[]}]}");
        /* and rows again */
        mf_online_request_clear_entities(req);
        API_OK(mf_online_request_add_int64(req, "driver_id", ids, 2, &err));
        API_OK(mf_get_online_features(s, req, resp, &err));
        CHECK(cell_ok(resp, 1, 1, "trips", 5, MF_STATUS_PRESENT));
        CHECK(json_agrees(resp));
        mf_online_response_free(resp);
        mf_online_request_free(req);
    }
    mf_store_close(s);
}

/* A request reused with ever new extra entity columns (as a server's
 * cached request meets whatever clients send): the columns of earlier calls
 * are not kept without bound (resolution went over every name ever given:
 * 400 calls of 20 new names took minutes). And a column of 0 rows then one
 * of 2 is refused as columns of different lengths. */
static void test_ever_new_columns(void) {
    mf_error err;
    mf_store *s = NULL;
    mf_open_options o = {NULL, 0};
    API_OK(mf_store_open(repo_main, &o, &s, &err));
    const char *refs[] = {"stats:trips"};
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    API_OK(mf_online_request_set_features(req, refs, 1, &err));
    int64_t id = 5, one = 1;
    int64_t t0 = mf__mono_us();
    bool all_ok = true;
    for (int call = 0; call < 400 && all_ok; call++) {
        mf_online_request_clear_entities(req);
        all_ok = mf_online_request_add_int64(req, "driver_id", &id, 1, &err) == MF_OK;
        for (int j = 0; j < 20 && all_ok; j++) {
            char name[32];
            snprintf(name, sizeof name, "junk_%d_%d", call, j);
            all_ok = mf_online_request_add_int64(req, name, &one, 1, &err) == MF_OK;
        }
        all_ok = all_ok && mf_get_online_features(s, req, resp, &err) == MF_OK &&
                 cell_ok(resp, 1, 0, "trips", 5, MF_STATUS_PRESENT);
    }
    CHECK(all_ok);
    double secs = (double)(mf__mono_us() - t0) / 1e6;
    printf("# 400 calls of 20 new entity columns each: %.2f s\n", secs);
    CHECK(secs < 20);
    mf_online_request_clear_entities(req);
    int64_t two[2] = {4, 5};
    API_OK(mf_online_request_add_int64(req, "driver_id", two, 0, &err));
    CHECK(mf_online_request_add_int64(req, "x", two, 2, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "entity column 'x' has 2 values, others have 0");
    /* the plan of a call with driver_id is not reused by one without it,
     * even of 0 rows (it answered 0 rows, no error) */
    mf_online_request_clear_entities(req);
    API_OK(mf_online_request_add_int64(req, "driver_id", two, 2, &err));
    API_OK(mf_online_request_add_int64(req, "x", two, 2, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    mf_online_request_clear_entities(req);
    API_OK(mf_online_request_add_int64(req, "x", two, 0, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "missing join key 'driver_id'");
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
}

/* Apply through the same store handle: the request resolves again (ttl
 * changed, a feature added, a feature removed). */
static void test_apply_re_resolves(void) {
    mf_error err;
    char *repo = make_repo("apply", "api2");
    CHECK(repo);
    mf_store *s = open_ready(repo);
    CHECK(s);
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"stats:trips", "stats:name"};
    int64_t ids[] = {1, 10, 250};
    API_OK(mf_online_request_set_features(req, refs, 2, &err));
    API_OK(mf_online_request_add_int64(req, "driver_id", ids, 3, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    for (size_t i = 0; i < 3; i++) {
        CHECK(cell_ok(resp, 1, i, "trips", ids[i], MF_STATUS_PRESENT));
        CHECK(cell_ok(resp, 2, i, "name", ids[i], MF_STATUS_PRESENT));
    }

    /* ttl 3600: every value (from 2025) is older than now - ttl */
    CHECK(set_defs(repo, 3600, false, true) == 0);
    API_OK(mf_apply(s, NULL, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    for (size_t i = 0; i < 3; i++) {
        CHECK(cell_ok(resp, 1, i, "trips", ids[i], MF_STATUS_OUTSIDE_MAX_AGE));
        CHECK(cell_ok(resp, 2, i, "name", ids[i], MF_STATUS_OUTSIDE_MAX_AGE));
    }
    CHECK(json_agrees(resp));

    /* a new feature: the stored rows lack it until the next materialize */
    CHECK(set_defs(repo, 0, true, true) == 0);
    API_OK(mf_apply(s, NULL, &err));
    const char *refs2[] = {"stats:extra", "stats:trips"};
    API_OK(mf_online_request_set_features(req, refs2, 2, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK_STR(mf_online_response_name(resp, 1), "extra");
    CHECK(mf_online_response_status(resp, 1, 0) == MF_STATUS_NULL_VALUE);
    CHECK(mf_online_response_event_ts(resp, 1, 0) == (T1 + 1) * 1000000);
    CHECK(mf_online_response_status(resp, 1, 2) == MF_STATUS_NOT_FOUND);
    for (size_t i = 0; i < 3; i++) CHECK(cell_ok(resp, 2, i, "trips", ids[i], MF_STATUS_PRESENT));
    API_OK(mf_materialize(s, T0 * 1000000, (T1 + 1000) * 1000000, NULL, 0, NULL, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    for (size_t i = 0; i < 3; i++) {
        CHECK(cell_ok(resp, 1, i, "extra", ids[i], MF_STATUS_PRESENT));
        CHECK(cell_ok(resp, 2, i, "trips", ids[i], MF_STATUS_PRESENT));
    }
    CHECK(json_agrees(resp));

    /* trips removed from the view: the same request now names an unknown
     * feature */
    CHECK(set_defs(repo, 0, true, false) == 0);
    API_OK(mf_apply(s, NULL, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "'stats:trips'");
    const char *refs3[] = {"stats:extra"};
    API_OK(mf_online_request_set_features(req, refs3, 1, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    for (size_t i = 0; i < 3; i++) CHECK(cell_ok(resp, 1, i, "extra", ids[i], MF_STATUS_PRESENT));
    /* the service follows the view too */
    API_OK(mf_online_request_set_feature_service(req, "svc", &err));
    mf_online_request_set_full_feature_names(req, 1);
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(mf_online_response_ncols(resp) == 3);
    CHECK_STR(mf_online_response_name(resp, 1), "s2__f32");
    CHECK_STR(mf_online_response_name(resp, 2), "other__bonus");
    for (size_t i = 0; i < 3; i++) {
        CHECK(cell_ok(resp, 1, i, "f32", ids[i], MF_STATUS_PRESENT));
        CHECK(cell_ok(resp, 2, i, "bonus", ids[i], MF_STATUS_PRESENT));
    }
    CHECK(json_agrees(resp));
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
    free(repo);
}

/* A request of 300 features of one view (more than the read path keeps
 * on its stack). */
static void test_wide_request(void) {
    enum { NF = 300 };
    mf_error err;
    char *dir = mf__xasprintf("%s/wide", tmp_root);
    char *data = mf__xasprintf("%s/data", dir);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", dir);
    char *defs = mf__xasprintf("%s/defs.lua", dir);
    char *csv = mf__xasprintf("%s/data/w.csv", dir);
    mf__buf d, c;
    mf__buf_init(&d);
    mf__buf_init(&c);
    mf__buf_puts(&d, "local driver = entity { name = 'driver', join_keys = { 'driver_id' }, "
                     "value_type = Int64 }\nfeature_view { name = 'w', entities = { driver }, "
                     "ttl = 0,\n  source = file_source { name = 'ws', path = 'data/w.csv', "
                     "timestamp_field = 'ts' },\n  schema = {\n");
    mf__buf_puts(&c, "driver_id,ts");
    for (int f = 0; f < NF; f++) {
        mf__buf_printf(&d, "    field { name = 'f%d', dtype = Int64 },\n", f);
        mf__buf_printf(&c, ",f%d", f);
    }
    mf__buf_puts(&d, "  } }\n");
    mf__buf_puts(&c, "\n");
    for (int r = 1; r <= 2; r++) {
        mf__buf_printf(&c, "%d,2025-01-01T00:00:00Z", r);
        for (int f = 0; f < NF; f++) mf__buf_printf(&c, ",%d", r * 1000 + f);
        mf__buf_puts(&c, "\n");
    }
    int wrc = mkdir(dir, 0700) || mkdir(data, 0700) || write_text(yaml, "project: wide\n") ||
              write_text(defs, d.data) || write_text(csv, c.data);
    mf__buf_free(&d);
    mf__buf_free(&c);
    free(data);
    free(yaml);
    free(defs);
    free(csv);
    CHECK(wrc == 0);
    mf_store *s = open_ready(dir);
    free(dir);
    CHECK(s);
    char **refs = mf__xcalloc(NF, sizeof *refs);
    for (int f = 0; f < NF; f++) refs[f] = mf__xasprintf("w:f%d", NF - 1 - f); /* reversed */
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    int64_t ids[3] = {2, 3, 1};
    API_OK(mf_online_request_set_features(req, (const char *const *)refs, NF, &err));
    API_OK(mf_online_request_add_int64(req, "driver_id", ids, 3, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(mf_online_response_ncols(resp) == NF + 1);
    size_t bad = 0;
    for (int f = 0; f < NF; f++) {
        size_t col = (size_t)f + 1;
        int feat = NF - 1 - f;
        char nm[16];
        snprintf(nm, sizeof nm, "f%d", feat);
        if (strcmp(mf_online_response_name(resp, col), nm) != 0) bad++;
        for (size_t i = 0; i < 3; i++) {
            bool found = ids[i] != 3;
            if (mf_online_response_status(resp, col, i) !=
                    (found ? MF_STATUS_PRESENT : MF_STATUS_NOT_FOUND) ||
                (found && mf_online_response_int64(resp, col, i) != ids[i] * 1000 + feat))
                bad++;
        }
    }
    if (bad) printf("#   %zu cells wrong\n", bad);
    CHECK(bad == 0);
    CHECK(json_agrees(resp));
    for (int f = 0; f < NF; f++) free(refs[f]);
    free(refs);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
}

/* The materialized key of driver_id=1001 in data/online.db is the v3 key
 * written out by hand (docs/concepts.md, "Online stores"). */
static void test_materialized_key_bytes(void) {
    mf_error err;
    char *dir = mf__xasprintf("%s/keys", tmp_root);
    char *db = mf__xasprintf("%s/data/online.db", dir);
    API_OK(mf_init_repo(dir, "keys", &err));
    mf_store *s = open_ready(dir);
    CHECK(s);
    mf_store_close(s);
    sqlite3 *h = NULL;
    CHECK(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(h, "SELECT count(*) FROM \"keys:driver_hourly_stats\" WHERE "
                             "entity_key = x'01000000" "02000000" "09000000"
                             "6472697665725f6964" /* driver_id */
                             "04000000" "08000000" "e903000000000000'", -1, &st, NULL) ==
          SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    CHECK(n == 1);
    free(db);
    free(dir);
}

/* A repo tmp_root/name of project `project`: defs.lua holding defs, and
 * data/csv_name holding csv. Returns its folder (the caller frees it), or
 * NULL. */
static char *small_repo(const char *name, const char *project, const char *defs,
                        const char *csv_name, const char *csv) {
    char *dir = mf__xasprintf("%s/%s", tmp_root, name);
    char *data = mf__xasprintf("%s/data", dir);
    char *yaml = mf__xasprintf("%s/feature_store.yaml", dir);
    char *ytext = mf__xasprintf("project: %s\n", project);
    char *dpath = mf__xasprintf("%s/defs.lua", dir);
    char *cpath = mf__xasprintf("%s/%s", data, csv_name);
    bool ok = mkdir(dir, 0700) == 0 && mkdir(data, 0700) == 0 && write_text(yaml, ytext) == 0 &&
              write_text(dpath, defs) == 0 && write_text(cpath, csv) == 0;
    free(data);
    free(yaml);
    free(ytext);
    free(dpath);
    free(cpath);
    if (!ok) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* A view without entities (Feast keys its one row by a dummy entity): a
 * read answers one row per entity row of the request, whatever its
 * columns; a request without any entity column cannot say how many rows
 * it wants and is an error naming the view. */
static void test_entityless_view(void) {
    mf_error err;
    /* the latest row (T1 + 5) holds 7 */
    char *dir = small_repo("nokey", "nokey",
                           "feature_view { name = 'glob', ttl = 0,\n"
                           "  schema = { field { name = 'n', dtype = Int64 } },\n"
                           "  source = file_source { name = 'gs', path = 'data/g.csv',\n"
                           "                         timestamp_field = 'ts' } }\n",
                           "g.csv", "ts,n\n1735776005,7\n1735776001,3\n1735689600,1\n");
    CHECK(dir);
    if (!dir) return;
    mf_store *s = open_ready(dir);
    CHECK(s);
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"glob:n"};
    API_OK(mf_online_request_set_features(req, refs, 1, &err));
    int rc = mf_get_online_features(s, req, resp, &err);
    CHECK(rc == MF_EREQUEST);
    CHECK_HAS(err.message, "feature view 'glob' has no entities");
    const char *who[3] = {"a", "b", NULL};
    API_OK(mf_online_request_add_text(req, "anything", who, 3, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(mf_online_response_nrows(resp) == 3);
    CHECK(mf_online_response_ncols(resp) == 1);
    for (size_t i = 0; i < 3; i++) {
        CHECK(mf_online_response_status(resp, 0, i) == MF_STATUS_PRESENT);
        CHECK(mf_online_response_int64(resp, 0, i) == 7);
        CHECK(mf_online_response_event_ts(resp, 0, i) == (T1 + 5) * 1000000);
    }
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
    free(dir);
}

/* A request resolved on one store handle and used with another (opened
 * after the first was closed) resolves again. */
static void test_request_moves_to_another_store(void) {
    mf_error err;
    char *other = make_repo("moved", "api3");
    CHECK(other);
    CHECK(set_defs(other, 0, false, false) == 0); /* its stats has no trips */
    mf_store *s = open_ready(other);
    CHECK(s);
    mf_store_close(s);
    s = open_ready(repo_main);
    CHECK(s);
    mf_store_close(s);

    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"stats:trips"};
    int64_t id = 3;
    API_OK(mf_online_request_set_features(req, refs, 1, &err));
    API_OK(mf_online_request_add_int64(req, "driver_id", &id, 1, &err));
    mf_open_options o = {NULL, 0};
    API_OK(mf_store_open(repo_main, &o, &s, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(cell_ok(resp, 1, 0, "trips", 3, MF_STATUS_PRESENT));
    mf_store_close(s);
    API_OK(mf_store_open(other, &o, &s, &err));
    int rc = mf_get_online_features(s, req, resp, &err);
    if (rc == MF_OK) printf("#   the request kept the plan of the closed store\n");
    CHECK(rc == MF_EREQUEST);
    CHECK_HAS(err.message, "'stats:trips'");
    mf_store_close(s);
    mf_online_response_free(resp);
    mf_online_request_free(req);
    free(other);
}

/* On-demand views online: outputs after the regular features, computed from
 * source features read into hidden columns and request fields given beside
 * the join keys; recompiled when the definitions change. */
static const char *odfv_defs(int factor) {
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "local req = request_source { name = 'req', schema = { field { name = 'bonus', dtype = Int64 } } }\n"
             "on_demand_feature_view { name = 'o', sources = { 'stats', req },\n"
             "  schema = { field { name = 'score', dtype = Float64 }, field { name = 'tag', dtype = String } },\n"
             "  transform = function(r)\n"
             "    if r.rate == nil then return { score = null, tag = null } end\n"
             "    return { score = r.rate * r.trips * %d + r.bonus, tag = (r.name or '-') .. '!' }\n"
             "  end }\n"
             "feature_service { name = 'osvc', features = { 'stats', 'o' } }\n",
             factor);
    return buf;
}

/* The join-key columns come in the order of this call's entity columns,
 * also when a reused request was given them in another order before (the
 * server reuses a thread's request for the same features). */
static void test_key_order_follows_call(void) {
    char *dir = small_repo("keys2", "k2",
                           "local ui = entity { name = 'ui', join_keys = { 'user_id', 'item' } }\n"
                           "feature_view { name = 'p', entities = { ui },\n"
                           "  schema = { field { name = 'score', dtype = Int64 } },\n"
                           "  source = file_source { name = 'ps', path = 'data/p.csv',\n"
                           "                         timestamp_field = 'ts' } }\n",
                           "p.csv", "user_id,item,ts,score\n1,x,2025-01-01T12:00:00Z,100\n");
    CHECK(dir);
    if (!dir) return;
    mf_store *s = open_ready(dir);
    CHECK(s);
    if (s) {
        mf_error err;
        mf_online_request *req = mf_online_request_new();
        mf_online_response *resp = mf_online_response_new();
        const char *refs[] = {"p:score"}, *u[] = {"1"}, *it[] = {"x"};
        API_OK(mf_online_request_set_features(req, refs, 1, &err));
        API_OK(mf_online_request_add_text(req, "user_id", u, 1, &err));
        API_OK(mf_online_request_add_text(req, "item", it, 1, &err));
        API_OK(mf_get_online_features(s, req, resp, &err));
        CHECK_STR(mf_online_response_name(resp, 0), "user_id");
        CHECK_STR(mf_online_response_name(resp, 1), "item");
        mf_online_request_clear_entities(req);
        API_OK(mf_online_request_add_text(req, "item", it, 1, &err));
        API_OK(mf_online_request_add_text(req, "user_id", u, 1, &err));
        API_OK(mf_get_online_features(s, req, resp, &err));
        CHECK_STR(mf_online_response_name(resp, 0), "item");
        CHECK_STR(mf_online_response_name(resp, 1), "user_id");
        size_t jl;
        const char *json = mf_online_response_json(resp, &jl);
        CHECK(mf_online_response_int64(resp, 2, 0) == 100);
        CHECK(strstr(json, "\"feature_names\":[\"item\",\"user_id\",\"score\"]"));
        mf_online_request_free(req);
        mf_online_response_free(resp);
        mf_store_close(s);
    }
    free(dir);
}

static void test_on_demand_views(void) {
    char *repo = make_repo("odfv", "od");
    CHECK(repo);
    if (!repo) return;
    char *p = mf__xasprintf("%s/odfv.lua", repo);
    CHECK(write_text(p, odfv_defs(1)) == 0);
    mf_store *s = open_ready(repo);
    CHECK(s);
    if (!s) goto done;
    mf_error err;
    mf_online_request *req = mf_online_request_new();
    mf_online_response *resp = mf_online_response_new();
    const char *refs[] = {"o:score", "stats:rate", "o:tag"};
    int64_t ids[] = {1, 20, 999}, bonus[] = {10, 20, 30};
    API_OK(mf_online_request_set_features(req, refs, 3, &err));
    API_OK(mf_online_request_add_int64(req, "driver_id", ids, 3, &err));
    API_OK(mf_online_request_add_int64(req, "bonus", bonus, 3, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(mf_online_response_ncols(resp) == 4);
    CHECK_STR(mf_online_response_name(resp, 0), "driver_id");
    CHECK_STR(mf_online_response_name(resp, 1), "rate");
    CHECK_STR(mf_online_response_name(resp, 2), "score");
    CHECK_STR(mf_online_response_name(resp, 3), "tag");
    for (size_t i = 0; i < 3; i++) {
        want_cell rate, trips, name;
        want("rate", ids[i], &rate);
        want("trips", ids[i], &trips);
        want("name", ids[i], &name);
        if (!rate.found) {
            CHECK(mf_online_response_is_null(resp, 2, i));
            CHECK(mf_online_response_status(resp, 2, i) == MF_STATUS_NULL_VALUE);
            CHECK(mf_online_response_status(resp, 1, i) == MF_STATUS_NOT_FOUND);
            continue;
        }
        double sc = rate.d * (double)trips.i + (double)bonus[i];
        CHECK(mf_online_response_double(resp, 2, i) == sc);
        CHECK(mf_online_response_status(resp, 2, i) == MF_STATUS_PRESENT);
        CHECK(mf_online_response_event_ts(resp, 2, i) == 0);
        char tag[40];
        snprintf(tag, sizeof tag, "%s!", name.null ? "-" : name.s);
        size_t len;
        const char *t = mf_online_response_text(resp, 3, i, &len);
        CHECK(t && len == strlen(tag) && !memcmp(t, tag, len));
    }
    size_t jl;
    const char *json = mf_online_response_json(resp, &jl);
    CHECK(strstr(json, "\"feature_names\":[\"driver_id\",\"rate\",\"score\",\"tag\"]"));
    CHECK(!strstr(json, "trips")); /* a hidden input is not in the response */
    /* new definitions: the request resolves again, the transform is compiled again */
    CHECK(write_text(p, odfv_defs(2)) == 0);
    API_OK(mf_apply(s, NULL, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    want_cell r1, t1;
    want("rate", 1, &r1);
    want("trips", 1, &t1);
    CHECK(mf_online_response_double(resp, 2, 0) == r1.d * (double)t1.i * 2 + 10);
    /* a service with an on-demand view, full names */
    API_OK(mf_online_request_set_feature_service(req, "osvc", &err));
    mf_online_request_set_full_feature_names(req, 1);
    mf_online_request_clear_entities(req);
    API_OK(mf_online_request_add_int64(req, "driver_id", ids, 3, &err));
    API_OK(mf_online_request_add_int64(req, "bonus", bonus, 3, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    size_t nc = mf_online_response_ncols(resp);
    CHECK(nc > 2);
    if (nc > 2) {
        CHECK_STR(mf_online_response_name(resp, nc - 2), "o__score");
        CHECK_STR(mf_online_response_name(resp, nc - 1), "o__tag");
    }
    /* no rows at all: an empty answer, the on-demand columns included */
    mf_online_request_clear_entities(req);
    API_OK(mf_online_request_add_int64(req, "driver_id", ids, 0, &err));
    API_OK(mf_online_request_add_int64(req, "bonus", bonus, 0, &err));
    API_OK(mf_get_online_features(s, req, resp, &err));
    CHECK(mf_online_response_nrows(resp) == 0);
    CHECK(mf_online_response_ncols(resp) == nc);
    /* a request field missing, then of a wrong type: errors naming it */
    mf_online_request_clear_entities(req);
    API_OK(mf_online_request_add_int64(req, "driver_id", ids, 3, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "on-demand feature view 'o' needs the request field 'bonus'");
    const char *bad[] = {"1", "x", "2"};
    API_OK(mf_online_request_add_text(req, "bonus", bad, 3, &err));
    CHECK(mf_get_online_features(s, req, resp, &err) == MF_EREQUEST);
    CHECK_HAS(err.message, "request field 'bonus', row 2: 'x' is not a valid Int64");
    mf_online_request_free(req);
    mf_online_response_free(resp);
done:
    mf_store_close(s);
    free(p);
    free(repo);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    tmp_root = mf__xasprintf("%s/mft_online_api_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        printf("not ok - mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    repo_main = make_repo("main", "api");
    if (!repo_main) return 1;
    RUN(test_reuse_1000);
    RUN(test_errors_then_recovery);
    RUN(test_zero_rows);
    RUN(test_ever_new_columns);
    RUN(test_apply_re_resolves);
    RUN(test_wide_request);
    RUN(test_materialized_key_bytes);
    RUN(test_entityless_view);
    RUN(test_on_demand_views);
    RUN(test_key_order_follows_call);
    RUN(test_request_moves_to_another_store); /* last: may crash without the fix */
    nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp_root);
    free(repo_main);
    MFT_END();
}
