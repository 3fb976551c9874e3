/*
 * test_pit_join.c — differential test of historical retrieval (pit_join.c).
 *
 * For each of NSEEDS seeds: generate a small random repo (2-3 feature views
 * with ttls from 0 up, some with a created timestamp column, Int64 keys from
 * a small range so that keys repeat, one view with a composite Int64+String
 * key, sometimes one without entities; CSV or SQLite sources, sometimes
 * behind a field_mapping, columns in random order; timestamps from a range
 * of a few seconds written in every accepted text form, with deliberate
 * ties of event and created time; random nulls in feature cells), apply it
 * through the public API, then ask for a random set of its features for
 * random entity rows (absent keys, null keys, duplicates, times before and
 * after all data), given in memory (mf_entity_df_add_*) on even seeds and
 * read from a CSV file on odd ones. Every cell of the result is compared
 * with a brute-force reference written here from docs/concepts.md, "Historical retrieval":
 * for each entity row and view, scan every source row; a candidate has the
 * same key and ts <= T and (ttl == 0 or ts >= T - ttl); the winner has the
 * greatest ts, then the greatest created, then comes last in the source.
 * Some seeds also run entity-less retrieval (a time window instead of entity
 * rows), checked the same way. Values are generated as short decimal text
 * that parses exactly, so every comparison is exact. The first mismatch is
 * reported with its seed, row and column.
 */
#define _GNU_SOURCE /* nftw, mkdtemp */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mf_parquet.h"
#include "moonfeast.h"
#include "mft.h"

#define NSEEDS 300
#define BASE_S INT64_C(1735689600) /* 2025-01-01T00:00:00Z */
#define US INT64_C(1000000)
#define MAXV 3
#define MAXF 3
#define MAXREFS (MAXV * MAXF)

/*---- Random numbers (splitmix64) ---------------------------------------------*/

static uint64_t rng;

/* What the seeds covered, for the summary line. */
static long n_parquet;
static long n_views, n_sqlite, n_mapped, n_created, n_keyless, n_heavy, n_ttl0, n_csv_entities;

static uint64_t rnd(void) {
    uint64_t z = (rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int rint_in(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); }
static bool chance(int pct) { return (int)(rnd() % 100) < pct; }

/*---- Text ---------------------------------------------------------------------*/

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) abort();
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k + 64) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
        if (b->n == 0) b->p[0] = '\0';
    }
}

/* One CSV field, quoted (inner quotes doubled) when it needs to be. */
static void sb_csv(sbuf *b, const char *s) {
    bool q = s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' ') || strpbrk(s, ",\"\r\n");
    if (!q) {
        sb_printf(b, "%s", s);
        return;
    }
    sb_printf(b, "\"");
    for (const char *c = s; *c; c++) sb_printf(b, *c == '"' ? "\"\"" : "%c", *c);
    sb_printf(b, "\"");
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    if (fclose(f) != 0) rc = -1;
    return rc;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* Text of the instant BASE + off_us in one of the accepted forms (style
 * chosen at random): RFC 3339 with Z/z, a space instead of T, no zone,
 * numeric offsets (+01:00, +0100, +01, -00:30), 0-9 fractional digits,
 * bare epoch seconds. Only for instants within a day of BASE. */
static void ts_text(int64_t off_us, char *out, size_t size) {
    int64_t sec = off_us >= 0 ? off_us / US : -((-off_us + US - 1) / US);
    int64_t frac = off_us - sec * US; /* 0 .. US-1 */
    int style = rint_in(0, 8);
    if (style == 8 && frac == 0) {
        snprintf(out, size, "%" PRId64, BASE_S + sec);
        return;
    }
    static const struct { const char *zone; int off_s; } zones[] = {
        {"Z", 0}, {"z", 0}, {"", 0}, {"+01:00", 3600}, {"+0100", 3600},
        {"+01", 3600}, {"-00:30", -1800}, {"+00:00", 0}};
    int zi = style % 8;
    int64_t local = sec + zones[zi].off_s; /* seconds from BASE, local time */
    const char *day = "2025-01-01";
    if (local < 0) local += 86400, day = "2024-12-31";
    char fr[16] = "";
    if (frac) {
        switch (rint_in(0, 2)) {
        case 0: snprintf(fr, sizeof fr, ".%06" PRId64, frac); break;
        case 1: snprintf(fr, sizeof fr, ".%06" PRId64 "999", frac); break; /* 9 digits, truncated */
        default: {
            /* fewest digits that say frac exactly */
            int64_t f = frac;
            int nd = 6;
            while (f % 10 == 0) f /= 10, nd--;
            snprintf(fr, sizeof fr, ".%0*" PRId64, nd, f);
        }
        }
    }
    snprintf(out, size, "%s%c%02d:%02d:%02d%s%s", day, chance(20) ? ' ' : 'T',
             (int)(local / 3600), (int)(local / 60 % 60), (int)(local % 60), fr, zones[zi].zone);
}

/*---- The generated repo ----------------------------------------------------------*/

enum { T_INT64, T_INT32, T_F64, T_F32, T_STRING, T_BOOL, T_TS, NTYPES };
static const char *const type_lua[NTYPES] = {"Int64", "Int32", "Float64", "Float32",
                                             "String", "Bool", "UnixTimestamp"};
static const int type_vt[NTYPES] = {4, 3, 5, 6, 2, 7, 8}; /* Feast ValueType numbers */

enum { KEYS_K1, KEYS_K1_S, KEYS_NONE };

typedef struct cell {
    bool valid;
    int64_t i;   /* Int32, Int64, Bool (0/1), UnixTimestamp (µs) */
    double d;    /* Float32 (as float), Float64 */
    char s[24];  /* String */
    char text[64]; /* the cell as written to the source */
} cell;

typedef struct srow {
    int64_t k1;
    char s[4];
    int64_t ts, cr; /* µs from BASE */
    char ts_text[64], cr_text[64];
    cell f[MAXF];
} srow;

typedef struct view {
    char name[16];
    int keys;
    int64_t ttl_s;
    bool has_cr, sqlite, mapped, parquet;
    int nf, ftype[MAXF];
    srow *rows;
    size_t nrows;
} view;

typedef struct erow {
    bool k1_valid, s_valid;
    int64_t k1;
    char s[4];
    int64_t T; /* µs from BASE */
    char k1_text[24], T_text[64], extra[24];
} erow;

typedef struct ref {
    int v, f;
    char text[32], col[40];
} ref;

typedef struct gen {
    unsigned seed;
    char dir[96];
    view v[MAXV];
    int nv;
    erow *e;
    size_t ne;
    bool csv_entities;
    int ecol_order[4]; /* CSV entity file: column order (0 k1, 1 s, 2 ts, 3 extra) */
    ref refs[MAXREFS];
    int nrefs;
    bool full;
} gen;

static const char *const strings[] = {"a", "b,c", "say \"hi\"", " sp ", "two\nlines", "ünï", "x"};
static const char *const bools_true[] = {"true", "1", "T", "yes", "TRUE"};
static const char *const bools_false[] = {"false", "0", "f", "No", "FALSE"};

static void gen_cell(cell *c, int type) {
    memset(c, 0, sizeof *c);
    if (chance(15)) return; /* null: an empty cell */
    c->valid = true;
    switch (type) {
    case T_INT64:
        c->i = chance(5) ? (chance(50) ? INT64_MAX : INT64_MIN) : rint_in(-1000, 1000);
        snprintf(c->text, sizeof c->text, "%" PRId64, c->i);
        break;
    case T_INT32:
        c->i = rint_in(-100, 100);
        snprintf(c->text, sizeof c->text, "%" PRId64, c->i);
        break;
    case T_F64: {
        int k = rint_in(-400, 400);
        c->d = k / 4.0;
        if (chance(20)) snprintf(c->text, sizeof c->text, "%de-2", k * 25);
        else snprintf(c->text, sizeof c->text, "%.2f", c->d);
        break;
    }
    case T_F32: {
        int k = rint_in(-800, 800);
        c->d = (double)(float)(k / 8.0);
        snprintf(c->text, sizeof c->text, "%.3f", k / 8.0);
        break;
    }
    case T_STRING: {
        const char *str = strings[rint_in(0, (int)(sizeof strings / sizeof *strings) - 1)];
        snprintf(c->s, sizeof c->s, "%s", str);
        snprintf(c->text, sizeof c->text, "%s", str);
        break;
    }
    case T_BOOL:
        c->i = chance(50);
        snprintf(c->text, sizeof c->text, "%s", c->i ? bools_true[rint_in(0, 4)] : bools_false[rint_in(0, 4)]);
        break;
    case T_TS:
        c->i = (int64_t)rint_in(-50, 100) * US + (chance(20) ? 250000 : 0);
        ts_text(c->i, c->text, sizeof c->text);
        c->i += BASE_S * US;
        break;
    }
}

/* A random instant (µs from BASE) for a source row: seconds 0..19, now and
 * then half a second or a microsecond more. */
static int64_t gen_src_ts(int hi) {
    int64_t t = (int64_t)rint_in(0, hi) * US;
    if (chance(10)) t += chance(50) ? 500000 : 1;
    return t;
}

static void gen_view(gen *g, int i) {
    view *v = &g->v[i];
    snprintf(v->name, sizeof v->name, "v%d", i);
    v->keys = i == 1 ? KEYS_K1_S : (i == 2 && chance(40)) ? KEYS_NONE : KEYS_K1;
    static const int ttls[] = {0, 0, 1, 2, 3, 5, 8, 15};
    v->ttl_s = ttls[rint_in(0, 7)];
    v->has_cr = chance(50);
    v->sqlite = chance(20);
    v->mapped = chance(25);
    v->nf = rint_in(1, MAXF);
    for (int f = 0; f < v->nf; f++) v->ftype[f] = rint_in(0, NTYPES - 1);
    bool heavy = chance(15); /* one key, many rows, a few instants: ties */
    /* every other CSV source read as Parquet instead (converted by
     * to-parquet's rule: typed only where the text survives), without a
     * draw, so that the data of every seed stay what they were */
    v->parquet = !v->sqlite && (g->seed + (unsigned)i) % 2 == 0;
    n_parquet += v->parquet;
    n_views++, n_sqlite += v->sqlite, n_mapped += v->mapped, n_created += v->has_cr;
    n_keyless += v->keys == KEYS_NONE, n_heavy += heavy, n_ttl0 += v->ttl_s == 0;
    v->nrows = heavy ? (size_t)rint_in(30, 60) : (size_t)rint_in(0, 40);
    v->rows = calloc(v->nrows + 1, sizeof *v->rows);
    for (size_t r = 0; r < v->nrows; r++) {
        srow *w = &v->rows[r];
        w->k1 = heavy ? 1 : rint_in(1, 5);
        snprintf(w->s, sizeof w->s, "%c", "abc"[rint_in(0, 2)]);
        w->ts = heavy ? (int64_t)rint_in(0, 3) * US : gen_src_ts(19);
        w->cr = (int64_t)rint_in(0, heavy ? 1 : 5) * US;
        ts_text(w->ts, w->ts_text, sizeof w->ts_text);
        ts_text(w->cr, w->cr_text, sizeof w->cr_text);
        for (int f = 0; f < v->nf; f++) gen_cell(&w->f[f], v->ftype[f]);
    }
}

static void gen_entities(gen *g) {
    g->ne = chance(5) ? 0 : (size_t)rint_in(1, 30);
    g->e = calloc(g->ne + 1, sizeof *g->e);
    for (size_t i = 0; i < g->ne; i++) {
        erow *e = &g->e[i];
        if (i > 0 && chance(20)) {
            *e = g->e[rint_in(0, (int)i - 1)]; /* a duplicate row */
        } else {
            e->k1_valid = !chance(8);
            e->k1 = rint_in(0, 7);
            e->s_valid = !chance(8);
            snprintf(e->s, sizeof e->s, "%c", "abcd"[rint_in(0, 3)]);
            e->T = (int64_t)rint_in(-3, 26) * US;
            if (chance(15)) e->T += chance(50) ? 500000 : (chance(50) ? 1 : 999999);
            ts_text(e->T, e->T_text, sizeof e->T_text);
            if (!e->k1_valid) e->k1_text[0] = '\0';
            else if (chance(15)) snprintf(e->k1_text, sizeof e->k1_text, "00%" PRId64, e->k1);
            else if (chance(10)) snprintf(e->k1_text, sizeof e->k1_text, "+%" PRId64, e->k1);
            else snprintf(e->k1_text, sizeof e->k1_text, "%" PRId64, e->k1);
        }
        snprintf(e->extra, sizeof e->extra, "r%zu", i);
    }
}

/* Requested refs: a random subset of every view's features, shuffled. */
static void gen_refs(gen *g, bool k1_views_only) {
    g->nrefs = 0;
    for (int i = 0; i < g->nv; i++) {
        if (k1_views_only && g->v[i].keys != KEYS_K1) continue;
        for (int f = 0; f < g->v[i].nf; f++)
            if (chance(75)) g->refs[g->nrefs++] = (ref){.v = i, .f = f};
    }
    if (g->nrefs == 0) g->refs[g->nrefs++] = (ref){.v = 0, .f = 0};
    for (int i = g->nrefs - 1; i > 0; i--) {
        int j = rint_in(0, i);
        ref t = g->refs[i];
        g->refs[i] = g->refs[j];
        g->refs[j] = t;
    }
    g->full = chance(50);
    for (int i = 0; i < g->nrefs; i++) {
        ref *r = &g->refs[i];
        snprintf(r->text, sizeof r->text, "v%d:v%d_f%d", r->v, r->v, r->f);
        if (g->full) snprintf(r->col, sizeof r->col, "v%d__v%d_f%d", r->v, r->v, r->f);
        else snprintf(r->col, sizeof r->col, "v%d_f%d", r->v, r->f);
    }
}

/*---- Writing the repo ---------------------------------------------------------------*/

/* Source column names of a view in file order (before field_mapping). */
static int view_columns(const view *v, const char *cols[10], char names[MAXF][32]) {
    int n = 0;
    if (v->keys != KEYS_NONE) cols[n++] = "k1";
    if (v->keys == KEYS_K1_S) cols[n++] = "s";
    cols[n++] = "ts";
    if (v->has_cr) cols[n++] = "cr";
    for (int f = 0; f < v->nf; f++) {
        snprintf(names[f], sizeof names[f], "%s_f%d", v->name, f);
        cols[n++] = names[f];
    }
    return n;
}

/* Text of source row r's column named col ("" for null). */
static const char *row_value(const view *v, const srow *w, const char *col, char *buf) {
    if (strcmp(col, "k1") == 0) return sprintf(buf, "%" PRId64, w->k1), buf;
    if (strcmp(col, "s") == 0) return w->s;
    if (strcmp(col, "ts") == 0) return w->ts_text;
    if (strcmp(col, "cr") == 0) return w->cr_text;
    if (strcmp(col, "junk") == 0) return "j";
    int f = col[strlen(col) - 1] - '0';
    (void)v;
    return w->f[f].valid ? w->f[f].text : "";
}

static int write_sources(gen *g, sqlite3 **db) {
    char path[256];
    for (int i = 0; i < g->nv; i++) {
        view *v = &g->v[i];
        const char *cols[10];
        char names[MAXF][32];
        int n = view_columns(v, cols, names);
        if (chance(30)) cols[n++] = "junk";
        for (int c = n - 1; c > 0; c--) { /* random column order */
            int j = rint_in(0, c);
            const char *t = cols[c];
            cols[c] = cols[j];
            cols[j] = t;
        }
        char buf[32];
        if (v->sqlite) {
            if (!*db) {
                snprintf(path, sizeof path, "%s/data/src.db", g->dir);
                if (sqlite3_open(path, db) != SQLITE_OK) return -1;
                sqlite3_exec(*db, "BEGIN", NULL, NULL, NULL);
            }
            sbuf q = {0};
            sb_printf(&q, "CREATE TABLE %s (", v->name);
            for (int c = 0; c < n; c++) sb_printf(&q, "%s%s%s", c ? ", " : "", v->mapped ? "c_" : "", cols[c]);
            sb_printf(&q, ")");
            int rc = sqlite3_exec(*db, q.p, NULL, NULL, NULL);
            free(q.p);
            if (rc != SQLITE_OK) return -1;
            q = (sbuf){0};
            sb_printf(&q, "INSERT INTO %s VALUES (", v->name);
            for (int c = 0; c < n; c++) sb_printf(&q, "%s?", c ? ", " : "");
            sb_printf(&q, ")");
            sqlite3_stmt *st;
            rc = sqlite3_prepare_v2(*db, q.p, -1, &st, NULL);
            free(q.p);
            if (rc != SQLITE_OK) return -1;
            for (size_t r = 0; r < v->nrows; r++) {
                sqlite3_reset(st);
                for (int c = 0; c < n; c++) {
                    const char *val = row_value(v, &v->rows[r], cols[c], buf);
                    if (val[0]) sqlite3_bind_text(st, c + 1, val, -1, SQLITE_TRANSIENT);
                    else sqlite3_bind_null(st, c + 1);
                }
                if (sqlite3_step(st) != SQLITE_DONE) rc = -1;
            }
            sqlite3_finalize(st);
            if (rc != SQLITE_OK) return -1;
            continue;
        }
        sbuf b = {0};
        for (int c = 0; c < n; c++) sb_printf(&b, "%s%s%s", c ? "," : "", v->mapped ? "c_" : "", cols[c]);
        sb_printf(&b, chance(20) ? "\r\n" : "\n");
        for (size_t r = 0; r < v->nrows; r++) {
            for (int c = 0; c < n; c++) {
                if (c) sb_printf(&b, ",");
                sb_csv(&b, row_value(v, &v->rows[r], cols[c], buf));
            }
            sb_printf(&b, "\n");
        }
        snprintf(path, sizeof path, "%s/data/%s.csv", g->dir, v->name);
        int rc = write_file(path, b.p);
        free(b.p);
        if (rc) return -1;
        if (v->parquet) {
            char pq[600];
            mf_error e;
            snprintf(pq, sizeof pq, "%s/data/%s.parquet", g->dir, v->name);
            if (mf__pq_from_csv(path, pq, &e) != 0) {
                printf("#   seed %u: to-parquet %s: %s\n", g->seed, path, e.message);
                return -1;
            }
        }
    }
    if (*db && sqlite3_exec(*db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) return -1;
    return 0;
}

static int write_defs(gen *g) {
    sbuf b = {0};
    sb_printf(&b, "local e1 = entity { name = \"e1\", join_keys = { \"k1\" }, value_type = Int64 }\n"
                  "local e3 = entity { name = \"e3\", join_keys = { \"s\" }, value_type = String }\n");
    for (int i = 0; i < g->nv; i++) {
        view *v = &g->v[i];
        sb_printf(&b, "feature_view { name = \"%s\", online = false, ttl = %" PRId64 ",\n", v->name,
                  v->ttl_s);
        sb_printf(&b, "  entities = { %s },\n",
                  v->keys == KEYS_K1 ? "e1" : v->keys == KEYS_K1_S ? "e1, e3" : "");
        sb_printf(&b, "  schema = {");
        for (int f = 0; f < v->nf; f++)
            sb_printf(&b, " field { name = \"%s_f%d\", dtype = %s },", v->name, f, type_lua[v->ftype[f]]);
        sb_printf(&b, " },\n");
        if (v->sqlite)
            sb_printf(&b, "  source = sqlite_source { name = \"src_%s\", database = \"data/src.db\", "
                          "table = \"%s\",\n", v->name, v->name);
        else
            sb_printf(&b, "  source = file_source { name = \"src_%s\", path = \"data/%s.%s\",\n",
                      v->name, v->name, v->parquet ? "parquet" : "csv");
        sb_printf(&b, "    timestamp_field = \"ts\",%s\n", v->has_cr ? " created_timestamp_column = \"cr\"," : "");
        if (v->mapped) {
            const char *cols[10];
            char names[MAXF][32];
            int n = view_columns(v, cols, names);
            sb_printf(&b, "    field_mapping = {");
            for (int c = 0; c < n; c++) sb_printf(&b, " c_%s = \"%s\",", cols[c], cols[c]);
            sb_printf(&b, " },\n");
        }
        sb_printf(&b, "  } }\n");
    }
    char path[256];
    snprintf(path, sizeof path, "%s/defs.lua", g->dir);
    int rc = write_file(path, b.p);
    free(b.p);
    snprintf(path, sizeof path, "%s/feature_store.yaml", g->dir);
    if (rc == 0) rc = write_file(path, "project: t\n");
    return rc;
}

static int write_entities_csv(gen *g, char *path, size_t size) {
    static const char *const names[4] = {"k1", "s", "event_timestamp", "extra"};
    for (int c = 0; c < 4; c++) g->ecol_order[c] = c;
    for (int c = 3; c > 0; c--) {
        int j = rint_in(0, c), t = g->ecol_order[c];
        g->ecol_order[c] = g->ecol_order[j];
        g->ecol_order[j] = t;
    }
    sbuf b = {0};
    for (int c = 0; c < 4; c++) sb_printf(&b, "%s%s", c ? "," : "", names[g->ecol_order[c]]);
    sb_printf(&b, "\n");
    for (size_t i = 0; i < g->ne; i++) {
        const erow *e = &g->e[i];
        for (int c = 0; c < 4; c++) {
            if (c) sb_printf(&b, ",");
            switch (g->ecol_order[c]) {
            case 0: sb_printf(&b, "%s", e->k1_text); break;
            case 1: sb_printf(&b, "%s", e->s_valid ? e->s : ""); break;
            case 2: sb_printf(&b, "%s", e->T_text); break;
            default: sb_printf(&b, "%s", e->extra); break;
            }
        }
        sb_printf(&b, "\n");
    }
    snprintf(path, size, "%s/entities.csv", g->dir);
    int rc = write_file(path, b.p ? b.p : "");
    free(b.p);
    return rc;
}

/*---- The reference -----------------------------------------------------------------*/

/* Index of the winning source row of view v for key (k1, s) at time T, or
 * -1. Written from the rules, not from pit_join.c. */
static long ref_winner(const view *v, bool k1_valid, int64_t k1, bool s_valid, const char *s,
                       int64_t T) {
    long best = -1;
    for (size_t r = 0; r < v->nrows; r++) {
        const srow *w = &v->rows[r];
        if (v->keys != KEYS_NONE && (!k1_valid || w->k1 != k1)) continue;
        if (v->keys == KEYS_K1_S && (!s_valid || strcmp(w->s, s) != 0)) continue;
        if (w->ts > T) continue;
        if (v->ttl_s > 0 && w->ts < T - v->ttl_s * US) continue;
        const srow *b = best < 0 ? NULL : &v->rows[best];
        if (!b || w->ts > b->ts || (w->ts == b->ts && (!v->has_cr || w->cr >= b->cr)))
            best = (long)r;
    }
    return best;
}

/*---- Comparing ---------------------------------------------------------------------*/

static long cells_checked, cells_valued;

/* Report a mismatch of seed g and return -1 from the calling function. */
#define FAIL(g, ...)                                                                  \
    do {                                                                              \
        printf("#   seed %u: ", (g)->seed);                                           \
        printf(__VA_ARGS__);                                                          \
        printf("\n");                                                                 \
        return -1;                                                                    \
    } while (0)

static void cell_text(const cell *c, int type, char *out, size_t n) {
    if (!c || !c->valid) {
        snprintf(out, n, "null");
        return;
    }
    switch (type) {
    case T_F64:
    case T_F32: snprintf(out, n, "%.17g", c->d); break;
    case T_STRING: snprintf(out, n, "'%s'", c->s); break;
    default: snprintf(out, n, "%" PRId64, c->i); break;
    }
}

/* Compare result column col, row row, with the expected cell (NULL: null). */
static int check_cell(gen *g, const mf_table *t, size_t col, size_t row, const cell *want,
                      int type) {
    cells_checked++;
    char w[64], got[96];
    cell_text(want, type, w, sizeof w);
    bool null = mf_table_is_null(t, col, row);
    bool same;
    if (!want || !want->valid) {
        same = null;
    } else {
        cells_valued++;
        if (null) {
            same = false;
        } else if (type == T_F64 || type == T_F32) {
            same = mf_table_double(t, col, row) == want->d;
        } else if (type == T_STRING) {
            size_t len;
            const char *s = mf_table_text(t, col, row, &len);
            same = s && len == strlen(want->s) && memcmp(s, want->s, len) == 0;
        } else {
            same = mf_table_int64(t, col, row) == want->i;
        }
    }
    if (same) return 0;
    if (null) {
        snprintf(got, sizeof got, "null");
    } else if (type == T_F64 || type == T_F32) {
        snprintf(got, sizeof got, "%.17g", mf_table_double(t, col, row));
    } else if (type == T_STRING) {
        size_t len;
        const char *s = mf_table_text(t, col, row, &len);
        snprintf(got, sizeof got, "'%.*s'", s ? (int)len : 4, s ? s : "NULL");
    } else {
        snprintf(got, sizeof got, "%" PRId64, mf_table_int64(t, col, row));
    }
    FAIL(g, "row %zu, column %s: want %s, got %s", row, mf_table_col_name(t, col), w, got);
}

/* The feature columns of row `row` against the reference at key/time (T
 * in µs from BASE, like the source rows). */
static int check_features(gen *g, const mf_table *t, size_t first_col, size_t row, bool k1_valid,
                          int64_t k1, bool s_valid, const char *s, int64_t T) {
    for (int j = 0; j < g->nrefs; j++) {
        const ref *r = &g->refs[j];
        const view *v = &g->v[r->v];
        long w = ref_winner(v, k1_valid, k1, s_valid, s, T);
        if (check_cell(g, t, first_col + (size_t)j, row, w < 0 ? NULL : &v->rows[w].f[r->f],
                       v->ftype[r->f]))
            return -1;
    }
    return 0;
}

static int check_header(gen *g, const mf_table *t, size_t first_col) {
    if (mf_table_ncols(t) != first_col + (size_t)g->nrefs)
        FAIL(g, "%zu columns, want %zu", mf_table_ncols(t), first_col + (size_t)g->nrefs);
    for (int j = 0; j < g->nrefs; j++) {
        const ref *r = &g->refs[j];
        size_t c = first_col + (size_t)j;
        if (strcmp(mf_table_col_name(t, c), r->col) != 0)
            FAIL(g, "column %zu is named %s, want %s", c, mf_table_col_name(t, c), r->col);
        if (mf_table_col_type(t, c) != type_vt[g->v[r->v].ftype[r->f]])
            FAIL(g, "column %s has type %d, want %d", r->col, mf_table_col_type(t, c),
                 type_vt[g->v[r->v].ftype[r->f]]);
    }
    return 0;
}

static bool text_is(const mf_table *t, size_t col, size_t row, const char *want) {
    size_t len;
    const char *s = mf_table_text(t, col, row, &len);
    if (!want[0]) return mf_table_is_null(t, col, row);
    return s && len == strlen(want) && memcmp(s, want, len) == 0;
}

/* Retrieval with entity rows; every cell checked. */
static int run_join(gen *g, mf_store *store) {
    mf_error err;
    mf_entity_df *df = NULL;
    if (g->csv_entities) {
        char path[256];
        if (write_entities_csv(g, path, sizeof path)) FAIL(g, "cannot write the entity file");
        if (mf_entity_df_read_csv(path, &df, &err) != MF_OK)
            FAIL(g, "mf_entity_df_read_csv: %s", err.message);
    } else {
        df = mf_entity_df_new(g->ne);
        int64_t *k1 = calloc(g->ne + 1, sizeof *k1), *T = calloc(g->ne + 1, sizeof *T);
        uint8_t *valid = calloc(g->ne + 1, 1);
        const char **s = calloc(g->ne + 1, sizeof *s), **x = calloc(g->ne + 1, sizeof *x);
        for (size_t i = 0; i < g->ne; i++) {
            k1[i] = g->e[i].k1;
            valid[i] = g->e[i].k1_valid;
            T[i] = g->e[i].T + BASE_S * US;
            s[i] = g->e[i].s_valid ? g->e[i].s : NULL;
            x[i] = g->e[i].extra;
        }
        int rc = mf_entity_df_add_int64(df, "k1", k1, valid, &err);
        if (!rc) rc = mf_entity_df_add_text(df, "s", s, &err);
        if (!rc) rc = mf_entity_df_add_timestamps(df, "event_timestamp", T, &err);
        if (!rc) rc = mf_entity_df_add_text(df, "extra", x, &err);
        free(k1), free(T), free(valid), free(s), free(x);
        if (rc) {
            mf_entity_df_free(df);
            FAIL(g, "building the entity rows: %s", err.message);
        }
    }
    const char *refs[MAXREFS];
    for (int j = 0; j < g->nrefs; j++) refs[j] = g->refs[j].text;
    mf_historical_options o = {refs, (size_t)g->nrefs, NULL, g->full, 0, 0};
    mf_table *t = NULL;
    int rc = mf_get_historical_features(store, df, &o, &t, &err);
    mf_entity_df_free(df);
    if (rc != MF_OK) FAIL(g, "mf_get_historical_features: %s", err.message);
    int bad = 0;
    if (mf_table_nrows(t) != g->ne) {
        printf("#   seed %u: %zu rows, want %zu\n", g->seed, mf_table_nrows(t), g->ne);
        bad = -1;
    }
    if (!bad) bad = check_header(g, t, 4);
    static const char *const enames[4] = {"k1", "s", "event_timestamp", "extra"};
    for (size_t i = 0; i < g->ne && !bad; i++) {
        const erow *e = &g->e[i];
        /* entity columns pass through: CSV text untouched, typed values as given */
        for (int c = 0; c < 4 && !bad; c++) {
            int which = g->csv_entities ? g->ecol_order[c] : c;
            bool same;
            if (strcmp(mf_table_col_name(t, (size_t)c), enames[which]) != 0) {
                printf("#   seed %u: entity column %d is %s, want %s\n", g->seed, c,
                       mf_table_col_name(t, (size_t)c), enames[which]);
                bad = -1;
                break;
            }
            if (g->csv_entities) {
                const char *want = which == 0 ? e->k1_text : which == 1 ? (e->s_valid ? e->s : "")
                                   : which == 2 ? e->T_text : e->extra;
                same = mf_table_col_type(t, (size_t)c) == 2 && text_is(t, (size_t)c, i, want);
            } else if (which == 0) {
                same = mf_table_col_type(t, 0) == 4 &&
                       (e->k1_valid ? !mf_table_is_null(t, 0, i) && mf_table_int64(t, 0, i) == e->k1
                                    : mf_table_is_null(t, 0, i));
            } else if (which == 2) {
                same = mf_table_col_type(t, 2) == 8 &&
                       mf_table_int64(t, 2, i) == e->T + BASE_S * US;
            } else {
                same = text_is(t, (size_t)c, i, which == 1 ? (e->s_valid ? e->s : "") : e->extra);
            }
            if (!same) {
                printf("#   seed %u: row %zu, entity column %s not passed through\n", g->seed, i,
                       enames[which]);
                bad = -1;
            }
        }
        if (!bad)
            bad = check_features(g, t, 4, i, e->k1_valid, e->k1, e->s_valid, e->s, e->T);
    }
    mf_table_free(t);
    if (bad) FAIL(g, "(see above)");
    return 0;
}

/* Entity-less retrieval over [start, end]: every k1 with a row of a
 * requested view in the window, once, with its values as of end. */
static int run_window(gen *g, mf_store *store) {
    int64_t start = (int64_t)rint_in(-2, 20) * US, end = start + (int64_t)rint_in(0, 8) * US;
    gen_refs(g, true);
    bool want[8] = {false};
    size_t nwant = 0;
    for (int j = 0; j < g->nrefs; j++) {
        const view *v = &g->v[g->refs[j].v];
        for (size_t r = 0; r < v->nrows; r++)
            if (v->rows[r].ts >= start && v->rows[r].ts <= end && !want[v->rows[r].k1])
                want[v->rows[r].k1] = true, nwant++;
    }
    const char *refs[MAXREFS];
    for (int j = 0; j < g->nrefs; j++) refs[j] = g->refs[j].text;
    mf_historical_options o = {refs, (size_t)g->nrefs, NULL, g->full, start + BASE_S * US,
                               end + BASE_S * US};
    mf_table *t = NULL;
    mf_error err;
    /* no options: a usage error, not a crash */
    mf_table *none = NULL;
    if (mf_get_historical_features(store, NULL, NULL, &none, &err) != MF_EUSAGE || none)
        FAIL(g, "mf_get_historical_features without options: not MF_EUSAGE%s", "");
    if (mf_get_historical_features(store, NULL, &o, &t, &err) != MF_OK)
        FAIL(g, "entity-less mf_get_historical_features: %s", err.message);
    int bad = 0;
    if (mf_table_nrows(t) != nwant || mf_table_ncols(t) < 2 ||
        strcmp(mf_table_col_name(t, 0), "k1") != 0 ||
        strcmp(mf_table_col_name(t, 1), "event_timestamp") != 0) {
        printf("#   seed %u: window [%" PRId64 ", %" PRId64 "] µs: %zu rows, want %zu\n", g->seed,
               start, end, mf_table_nrows(t), nwant);
        bad = -1;
    }
    if (!bad) bad = check_header(g, t, 2);
    bool seen[8] = {false};
    for (size_t i = 0; i < mf_table_nrows(t) && !bad; i++) {
        int64_t k1 = mf_table_int64(t, 0, i);
        if (k1 < 0 || k1 > 7 || !want[k1] || seen[k1] ||
            mf_table_int64(t, 1, i) != end + BASE_S * US) {
            printf("#   seed %u: window row %zu: key %" PRId64 " unexpected or repeated\n", g->seed,
                   i, k1);
            bad = -1;
            break;
        }
        seen[k1] = true;
        bad = check_features(g, t, 2, i, true, k1, false, "", end);
    }
    mf_table_free(t);
    if (bad) FAIL(g, "(entity-less retrieval, see above)");
    return 0;
}

static int run_seed(unsigned seed, const char *top, int *windows) {
    gen g;
    memset(&g, 0, sizeof g);
    g.seed = seed;
    rng = UINT64_C(0x5EED0000) + seed;
    snprintf(g.dir, sizeof g.dir, "%s/s%u", top, seed);
    char data[128];
    snprintf(data, sizeof data, "%s/data", g.dir);
    if (mkdir(g.dir, 0755) != 0 || mkdir(data, 0755) != 0) FAIL(&g, "mkdir: %s", strerror(errno));
    g.nv = rint_in(2, 3);
    for (int i = 0; i < g.nv; i++) gen_view(&g, i);
    gen_entities(&g);
    g.csv_entities = seed % 2 == 1;
    n_csv_entities += g.csv_entities;
    gen_refs(&g, false);

    int rc = 0;
    sqlite3 *db = NULL;
    if (write_sources(&g, &db) != 0 || write_defs(&g) != 0) {
        printf("#   seed %u: cannot write the repo%s%s\n", seed, db ? ": " : "",
               db ? sqlite3_errmsg(db) : "");
        rc = -1;
    }
    sqlite3_close(db);
    mf_store *store = NULL;
    mf_error err;
    if (rc == 0 && mf_store_open(g.dir, NULL, &store, &err) != MF_OK) {
        printf("#   seed %u: mf_store_open: %s\n", seed, err.message);
        rc = -1;
    }
    if (rc == 0 && mf_apply(store, NULL, &err) != MF_OK) {
        printf("#   seed %u: mf_apply: %s (%s:%d)\n", seed, err.message, err.file, err.line);
        rc = -1;
    }
    if (rc == 0) rc = run_join(&g, store);
    if (rc == 0 && seed % 3 == 2) {
        rc = run_window(&g, store);
        ++*windows;
    }
    mf_store_close(store);
    for (int i = 0; i < g.nv; i++) free(g.v[i].rows);
    free(g.e);
    if (rc == 0) nftw(g.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    else printf("#   the repo of seed %u is kept in %s\n", seed, g.dir);
    return rc;
}

/*---- Tests ---------------------------------------------------------------------------*/

static void test_reference_agrees_with_join(void) {
    /* In memory when there is a tmpfs: every apply commits the registry
     * with fsync, which on a busy disk can take longer than the joins. */
    char top[64];
    snprintf(top, sizeof top, "/dev/shm/mf_test_pit_XXXXXX");
    if (access("/dev/shm", W_OK) != 0 || !mkdtemp(top)) {
        snprintf(top, sizeof top, "/tmp/mf_test_pit_XXXXXX");
        if (!mkdtemp(top)) {
            printf("#   mkdtemp: %s\n", strerror(errno));
            CHECK(0);
        }
    }
    int windows = 0, failed = 0;
    unsigned seed;
    for (seed = 1; seed <= NSEEDS && !failed; seed++) failed = run_seed(seed, top, &windows) != 0;
    printf("# %u seeds (%ld with entity rows from CSV, %d with a window retrieval), %ld views "
           "(%ld SQLite, %ld Parquet, %ld field_mapping, %ld created, %ld without entities, %ld many-tie, "
           "%ld ttl 0): %ld cells compared, %ld with a value\n",
           seed - 1, n_csv_entities, windows, n_views, n_sqlite, n_parquet, n_mapped, n_created, n_keyless,
           n_heavy, n_ttl0, cells_checked, cells_valued);
    if (!failed) rmdir(top);
    CHECK(!failed);
    /* the generator must produce real joins, not only nulls */
    CHECK(cells_valued > 1000 && cells_checked - cells_valued > 1000);
}

/* The reference itself, on a hand-made case, so that a broken reference
 * cannot agree with a broken join. */
static void test_reference_by_hand(void) {
    srow rows[6];
    memset(rows, 0, sizeof rows);
    /* key 1: ts 10 s (cr 1, 2, 2), 12 s (cr 0), 5 s; key 2: 10 s */
    int64_t ts[6] = {10, 10, 10, 12, 10, 5}, cr[6] = {1, 2, 2, 0, 9, 0}, k[6] = {1, 1, 1, 1, 2, 1};
    for (int i = 0; i < 6; i++) rows[i].ts = ts[i] * US, rows[i].cr = cr[i] * US, rows[i].k1 = k[i];
    view v = {.keys = KEYS_K1, .ttl_s = 3, .has_cr = true, .rows = rows, .nrows = 6};
    CHECK(ref_winner(&v, true, 1, false, "", 11 * US) == 2);  /* cr tie: last */
    CHECK(ref_winner(&v, true, 1, false, "", 12 * US) == 3);  /* greater ts */
    CHECK(ref_winner(&v, true, 1, false, "", 15 * US) == 3);  /* T - ttl == ts */
    CHECK(ref_winner(&v, true, 1, false, "", 15 * US + 1) == -1);
    CHECK(ref_winner(&v, true, 1, false, "", 13 * US + 1) == 3);
    CHECK(ref_winner(&v, true, 1, false, "", 9 * US) == -1);  /* 5 s is 4 s old */
    CHECK(ref_winner(&v, true, 1, false, "", 8 * US) == 5);   /* 3 s old: inside */
    CHECK(ref_winner(&v, true, 2, false, "", 10 * US) == 4);
    CHECK(ref_winner(&v, false, 1, false, "", 10 * US) == -1); /* null key */
    CHECK(ref_winner(&v, true, 3, false, "", 10 * US) == -1);
    v.has_cr = false;
    CHECK(ref_winner(&v, true, 1, false, "", 11 * US) == 2); /* all tie: last in file */
    v.ttl_s = 0;
    CHECK(ref_winner(&v, true, 1, false, "", 100 * US) == 3);
    CHECK(ref_winner(&v, true, 1, false, "", 5 * US - 1) == -1);
}

/* A join of more than 65536 entity rows finds its winners on two threads,
 * one half of the rows each, and its CSV output is formatted by two
 * threads while written: the same cells as the join of each half alone
 * (fewer rows: one thread), and the same file as the halves' files. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    sbuf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) sb_printf(&b, "%.*s", (int)n, tmp);
    fclose(f);
    *len = b.n;
    return b.p;
}

static void test_large_join_halves(void) {
    enum { N = 140000, KEYS = 3000, SRC = 60000 };
    char dir[] = "/tmp/mf_test_pit_big_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/data", dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/feature_store.yaml", dir);
    CHECK(write_file(path, "project: big\n") == 0);
    snprintf(path, sizeof path, "%s/defs.lua", dir);
    CHECK(write_file(path, "local e = entity { name = \"e\", join_keys = { \"k\" }, value_type = Int64 }\n"
                           "feature_view { name = \"v\", online = false, ttl = 7200, entities = { e },\n"
                           "  schema = { field { name = \"x\", dtype = Int64 }, field { name = \"y\", "
                           "dtype = Float32 }, field { name = \"s\", dtype = String } },\n"
                           "  source = file_source { name = \"src\", path = \"data/v.csv\", "
                           "timestamp_field = \"ts\" } }\n") == 0);
    rng = 4242;
    sbuf b = {0};
    sb_printf(&b, "k,ts,x,y,s\n");
    for (int i = 0; i < SRC; i++) {
        int64_t ts = 1735689600 + (int64_t)(rnd() % 86400);
        if (chance(5)) sb_printf(&b, "%d,%" PRId64 ",,,\n", rint_in(0, KEYS - 1), ts);
        else
            sb_printf(&b, "%d,%" PRId64 ",%d,%d.%03d,s%d\n", rint_in(0, KEYS - 1), ts,
                      rint_in(-5000, 5000), rint_in(0, 99), rint_in(0, 999), i);
    }
    snprintf(path, sizeof path, "%s/data/v.csv", dir);
    CHECK(write_file(path, b.p) == 0);
    free(b.p);
    int64_t *k = malloc(N * sizeof *k), *t = malloc(N * sizeof *t);
    for (int i = 0; i < N; i++) {
        k[i] = rint_in(0, KEYS + 10);
        t[i] = (1735689600 + (int64_t)(rnd() % 90000)) * US;
    }
    mf_store *store = NULL;
    mf_error err;
    CHECK(mf_store_open(dir, NULL, &store, &err) == MF_OK);
    CHECK(mf_apply(store, NULL, &err) == MF_OK);
    const char *refs[] = {"v:x", "v:y", "v:s"};
    mf_historical_options o = {refs, 3, NULL, 0, 0, 0};
    mf_table *whole = NULL, *half[2] = {NULL, NULL};
    const size_t from[3] = {0, N / 2 + 7, N};
    for (int h = -1; h < 2; h++) {
        size_t lo = h < 0 ? 0 : from[h], hi = h < 0 ? N : from[h + 1];
        mf_entity_df *df = mf_entity_df_new(hi - lo);
        CHECK(mf_entity_df_add_int64(df, "k", k + lo, NULL, &err) == MF_OK);
        CHECK(mf_entity_df_add_timestamps(df, "event_timestamp", t + lo, &err) == MF_OK);
        CHECK(mf_get_historical_features(store, df, &o, h < 0 ? &whole : &half[h], &err) == MF_OK);
        mf_entity_df_free(df);
    }
    size_t diff = 0, valued = 0;
    for (size_t i = 0; whole && half[0] && half[1] && i < N; i++) {
        const mf_table *p = half[i >= from[1]];
        size_t r = i - from[i >= from[1]];
        for (size_t c = 2; c < 5; c++) {
            int na = mf_table_is_null(whole, c, i), nb = mf_table_is_null(p, c, r);
            valued += !na;
            if (na != nb) diff++;
            else if (na) continue;
            else if (c == 2 && mf_table_int64(whole, c, i) != mf_table_int64(p, c, r)) diff++;
            else if (c == 3 && mf_table_double(whole, c, i) != mf_table_double(p, c, r)) diff++;
            else if (c == 4) {
                size_t la, lb;
                const char *ta = mf_table_text(whole, c, i, &la), *tb = mf_table_text(p, c, r, &lb);
                if (la != lb || memcmp(ta, tb, la) != 0) diff++;
            }
        }
    }
    CHECK(diff == 0);
    CHECK(valued > N / 2 && valued < 3 * (size_t)N - 1000);
    /* the whole table's file is the header and the halves' rows */
    char pw[300], p0[300], p1[300];
    snprintf(pw, sizeof pw, "%s/whole.csv", dir);
    snprintf(p0, sizeof p0, "%s/h0.csv", dir);
    snprintf(p1, sizeof p1, "%s/h1.csv", dir);
    CHECK(mf_table_write(whole, pw, MF_FORMAT_CSV, &err) == MF_OK);
    CHECK(mf_table_write(half[0], p0, MF_FORMAT_CSV, &err) == MF_OK);
    CHECK(mf_table_write(half[1], p1, MF_FORMAT_CSV, &err) == MF_OK);
    size_t lw = 0, l0 = 0, l1 = 0;
    char *fw = slurp(pw, &lw), *f0 = slurp(p0, &l0), *f1 = slurp(p1, &l1);
    const char *body1 = f1 ? strchr(f1, '\n') : NULL;
    CHECK(fw && f0 && body1);
    if (fw && f0 && body1) {
        body1++;
        size_t lb = l1 - (size_t)(body1 - f1);
        CHECK(lw == l0 + lb && memcmp(fw, f0, l0) == 0 && memcmp(fw + l0, body1, lb) == 0);
    }
    free(fw);
    free(f0);
    free(f1);
    mf_table_free(whole);
    mf_table_free(half[0]);
    mf_table_free(half[1]);
    mf_store_close(store);
    free(k);
    free(t);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entity times and windows from the C API outside the years 0001..9999
 * are refused (INT64_MAX minus a source time overflowed in the ttl check). */
static void test_times_out_of_range(void) {
    char dir[] = "/tmp/mf_test_pit_range_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/data", dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/feature_store.yaml", dir);
    CHECK(write_file(path, "project: r\n") == 0);
    snprintf(path, sizeof path, "%s/defs.lua", dir);
    CHECK(write_file(path, "local e = entity { name = \"e\", join_keys = { \"k\" }, value_type = Int64 }\n"
                           "feature_view { name = \"v\", online = false, ttl = 60, entities = { e },\n"
                           "  schema = { field { name = \"x\", dtype = Int64 } },\n"
                           "  source = file_source { name = \"src\", path = \"data/v.csv\", "
                           "timestamp_field = \"ts\" } }\n") == 0);
    snprintf(path, sizeof path, "%s/data/v.csv", dir);
    CHECK(write_file(path, "k,ts,x\n1,-62135596800,5\n1,1735689600,6\n") == 0);
    mf_store *store = NULL;
    mf_error err;
    CHECK(mf_store_open(dir, NULL, &store, &err) == MF_OK);
    CHECK(mf_apply(store, NULL, &err) == MF_OK);
    const char *refs[] = {"v:x"};
    const int64_t bad[] = {INT64_MAX, INT64_MIN, INT64_C(253402300800) * 1000000};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t k = 1, t = bad[i];
        mf_entity_df *df = mf_entity_df_new(1);
        CHECK(mf_entity_df_add_int64(df, "k", &k, NULL, &err) == MF_OK);
        CHECK(mf_entity_df_add_timestamps(df, "event_timestamp", &t, &err) == MF_OK);
        mf_historical_options o = {refs, 1, NULL, 0, 0, 0};
        mf_table *out = NULL;
        CHECK(mf_get_historical_features(store, df, &o, &out, &err) == MF_EDATA);
        CHECK_HAS(err.message, "years 0001 to 9999");
        mf_table_free(out);
        mf_entity_df_free(df);
        mf_historical_options w = {refs, 1, NULL, 0, bad[i] < 0 ? bad[i] : 0, bad[i] < 0 ? 0 : bad[i]};
        CHECK(mf_get_historical_features(store, NULL, &w, &out, &err) == MF_EUSAGE);
        CHECK_HAS(err.message, "years 0001 to 9999");
        mf_table_free(out);
    }
    /* the edge of the range still joins */
    int64_t k = 1, t = INT64_C(253402300799) * 1000000;
    mf_entity_df *df = mf_entity_df_new(1);
    CHECK(mf_entity_df_add_int64(df, "k", &k, NULL, &err) == MF_OK);
    CHECK(mf_entity_df_add_timestamps(df, "event_timestamp", &t, &err) == MF_OK);
    mf_historical_options o = {refs, 1, NULL, 0, 0, 0};
    mf_table *out = NULL;
    CHECK(mf_get_historical_features(store, df, &o, &out, &err) == MF_OK);
    CHECK(out && mf_table_is_null(out, 2, 0));
    mf_table_free(out);
    mf_entity_df_free(df);
    mf_store_close(store);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
    RUN(test_times_out_of_range);
    RUN(test_reference_by_hand);
    RUN(test_reference_agrees_with_join);
    RUN(test_large_join_halves);
    MFT_END();
}
