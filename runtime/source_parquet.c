/*
 * source_parquet.c — Parquet file sources (a file, or a directory dataset)
 * for source.c, and the typed cells they hand out (mf_source.h).
 *
 * A dataset is every file named *.parquet under the directory (any depth;
 * names starting with '.' or '_' are skipped, as writers use them for
 * markers and metadata), in byte order of their paths, so that rows come
 * in one stable order ("last in the source" wins ties, as for CSV). Folder
 * names `key=value` between the directory and a file are Hive partitions:
 * each key is a column (after the files' own columns) whose value is the
 * text of the folder name (%XX escapes decoded; __HIVE_DEFAULT_PARTITION__
 * is null), read as a CSV cell is. Every file must have every column of
 * the first file (by name, in any order) and the same partition keys; a
 * file's own column wins over a partition key of the same name.
 *
 * Rows are read one row group at a time, and only the columns the hint
 * names (every column when it names none). A row group whose timestamp
 * statistics lie wholly outside the hint's [start, end] (and that says it
 * holds no null timestamp) is skipped without being read. Cells come as
 * typed values (mf__cell) or, for callers that want text, as the text a
 * CSV file would hold for the same value (mf__pq_text).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mf_online.h"
#include "mf_parquet.h"
#include "mf_source.h"
#include "mf_table.h"
#include "mf_values.h"

#define MAX_FILES 100000

typedef struct unit {
    uint32_t file, rg;
} unit;

struct mf__pqsrc {
    char *root;
    size_t nfiles;
    char **paths;
    mf__pq_file **files;
    bool owns_files;    /* a split's tail borrows them */
    size_t nfcols;      /* columns of the first file */
    size_t nparts;      /* partition columns, after them */
    char ***part_vals;  /* per file, per partition key: text or NULL */
    size_t ncols;
    char **names;       /* raw names: file columns then partition keys */
    long **fmap;        /* per file: column index of each of the first nfcols */
    bool *need;
    unit *units;
    size_t u, uend;     /* next unit to read, end */
    /* the current row group */
    bool loaded;
    unit cur;
    mf__pq_vals *vals;  /* per column (needed ones) */
    size_t row, nrows;
    int64_t file_row0;  /* rows of the file before this row group */
    long ts_col;        /* raw column of the timestamp field, or -1 */
    int64_t lo, hi;
    size_t skipped;
    mf__cell *cells;
    mf__slice *slices;
    mf__buf text;
    mf__buf *lists;     /* per column: the JSON text of a list cell */
    size_t *fill, nfill;       /* the needed columns */
    bool blockable;
    mf__cell_col *block;       /* per column, for mf__pqsrc_next_block */
    const mf__pq_col **pcs;    /* per column: the current file's column */
};

/*---- Opening ---------------------------------------------------------------*/

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* The files of a dataset in the order they are read: the files a push
 * added (push.c's name, "push-YYYYMMDDTHHMMSS.uuuuuuZ-PID-N.parquet",
 * right in the dataset's folder) after every other file, in the order of
 * their times (then PID and N, as numbers); the others in the byte order
 * of their paths. So pushed rows are the last rows of the source, as they
 * are of a CSV they are appended to, whatever the other files are named. */
typedef struct dsfile {
    char *path;
    const char *time; /* of a pushed file: "YYYYMMDDTHHMMSS.uuuuuuZ" */
    const char *pid, *nth; /* its digits, each ended by '-' or '.' */
    size_t npid, nnth;
} dsfile;

/* n digits at p, then the byte end; 0 when not so. */
static size_t digits_then(const char *p, char end) {
    size_t n = 0;
    while (p[n] >= '0' && p[n] <= '9') n++;
    return n > 0 && n <= 20 && p[n] == end ? n : 0;
}

/* Whether name (the file name of a path right in the dataset's folder) is
 * one a push wrote; fills f's time, pid and nth. */
static bool pushed_name(const char *name, dsfile *f) {
    static const char pat[] = "push-DDDDDDDDTDDDDDD.DDDDDDZ-";
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == 'D' ? !(name[i] >= '0' && name[i] <= '9') : name[i] != pat[i]) return false;
    }
    const char *p = name + sizeof pat - 1;
    size_t np = digits_then(p, '-');
    if (!np) return false;
    const char *q = p + np + 1;
    size_t nq = digits_then(q, '.');
    if (!nq || strcmp(q + nq, ".parquet") != 0) return false;
    f->time = name + 5, f->pid = p, f->npid = np, f->nth = q, f->nnth = nq;
    return true;
}

/* Digit strings as numbers (no leading zeros but in "0": as printed). */
static int cmp_num(const char *a, size_t na, const char *b, size_t nb) {
    if (na != nb) return na < nb ? -1 : 1;
    return memcmp(a, b, na);
}

static int cmp_dsfile(const void *pa, const void *pb) {
    const dsfile *a = pa, *b = pb;
    if (!a->time != !b->time) return a->time ? 1 : -1;
    if (!a->time) return strcmp(a->path, b->path);
    int c = memcmp(a->time, b->time, 22);
    if (!c) c = cmp_num(a->pid, a->npid, b->pid, b->npid);
    if (!c) c = cmp_num(a->nth, a->nnth, b->nth, b->nnth);
    return c ? c : strcmp(a->path, b->path);
}

int64_t mf__pq_last_push_us(const char *dir) {
    int64_t last = INT64_MIN;
    DIR *d = opendir(dir);
    if (!d) return last;
    struct dirent *e;
    while ((e = readdir(d))) {
        dsfile f;
        if (!pushed_name(e->d_name, &f)) continue;
        const char *t = f.time; /* YYYYMMDDTHHMMSS.uuuuuuZ */
        char iso[32];
        snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s.%.6sZ", t, t + 4, t + 6, t + 9,
                 t + 11, t + 13, t + 16);
        int64_t us;
        if (mf__ts_parse(iso, strlen(iso), &us) == 0 && us > last) last = us;
    }
    closedir(d);
    return last;
}

/* Sort the n paths of the dataset in folder root as above. */
static void sort_dataset(const char *root, char **paths, size_t n) {
    dsfile *f = mf__xcalloc(n + 1, sizeof *f);
    size_t rl = strlen(root);
    for (size_t i = 0; i < n; i++) {
        f[i].path = paths[i];
        const char *name = paths[i] + rl + 1; /* walk's paths are root/... */
        if (strncmp(paths[i], root, rl) != 0 || paths[i][rl] != '/' || strchr(name, '/') ||
            !pushed_name(name, &f[i]))
            f[i].time = NULL;
    }
    qsort(f, n, sizeof *f, cmp_dsfile);
    for (size_t i = 0; i < n; i++) paths[i] = f[i].path;
    free(f);
}

static int walk(const char *dir, char ***out, size_t *n, int depth, mf_error *err) {
    if (depth > 32) return mf__err(err, MF_EDATA, "Parquet dataset: %s nests too deep", dir);
    DIR *d = opendir(dir);
    if (!d) return mf__err(err, MF_EIO, "cannot read directory %s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = MF_OK;
    while (rc == MF_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.' || e->d_name[0] == '_') continue;
        char *p = mf__xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) {
            free(p);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk(p, out, n, depth + 1, err);
            free(p);
        } else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".parquet")) {
            if (*n >= MAX_FILES) {
                rc = mf__err(err, MF_EDATA, "Parquet dataset: more than %d files", MAX_FILES);
                free(p);
                break;
            }
            *out = mf__xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = p;
        } else {
            free(p);
        }
    }
    closedir(d);
    return rc;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *unescape(const char *s, size_t n) {
    char *o = mf__xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int a, b;
        if (s[i] == '%' && i + 2 < n && (a = hexval(s[i + 1])) >= 0 &&
            (b = hexval(s[i + 2])) >= 0) {
            o[k++] = (char)(a * 16 + b);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    return o;
}

/* Partition keys and values of file path under root: folders k=v. */
static void partitions(const char *root, const char *path, char ***keys, char ***vals, size_t *n) {
    *keys = NULL, *vals = NULL, *n = 0;
    const char *p = path + strlen(root);
    while (*p == '/') p++;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) break; /* the file's own name */
        const char *eq = memchr(p, '=', (size_t)(slash - p));
        if (eq && eq > p) {
            *keys = mf__xrealloc(*keys, (*n + 1) * sizeof **keys);
            *vals = mf__xrealloc(*vals, (*n + 1) * sizeof **vals);
            (*keys)[*n] = unescape(p, (size_t)(eq - p));
            char *v = unescape(eq + 1, (size_t)(slash - eq - 1));
            if (!strcmp(v, "__HIVE_DEFAULT_PARTITION__") || !*v) {
                free(v);
                v = NULL;
            }
            (*vals)[*n] = v;
            (*n)++;
        }
        p = slash + 1;
    }
}

static void free_strs(char **a, size_t n) {
    for (size_t i = 0; a && i < n; i++) free(a[i]);
    free(a);
}

void mf__pqsrc_close(mf__pqsrc *q) {
    if (!q) return;
    for (size_t c = 0; q->vals && c < q->ncols; c++) mf__pq_vals_free(&q->vals[c]);
    free(q->vals);
    if (q->owns_files) {
        for (size_t i = 0; i < q->nfiles; i++) {
            mf__pq_close(q->files[i]);
            free(q->paths[i]);
            free_strs(q->part_vals ? q->part_vals[i] : NULL, q->nparts);
            free(q->fmap ? q->fmap[i] : NULL);
        }
        free(q->files);
        free(q->paths);
        free(q->part_vals);
        free(q->fmap);
        free_strs(q->names, q->ncols);
        free(q->root);
    }
    free(q->need);
    free(q->fill);
    free(q->pcs);
    free(q->block);
    free(q->units);
    free(q->cells);
    free(q->slices);
    mf__buf_free(&q->text);
    for (size_t c = 0; q->lists && c < q->ncols; c++) mf__buf_free(&q->lists[c]);
    free(q->lists);
    free(q);
}

static const char *mapped_name(const Mf__DataSourceSpec *ds, const char *col) {
    for (size_t i = 0; i < ds->n_field_mapping; i++)
        if (strcmp(ds->field_mapping[i]->source_column, col) == 0)
            return ds->field_mapping[i]->name;
    return col;
}

/* The per-column reading state of q, empty (a reader and each half of a
 * split one own their own). */
static void alloc_col_state(mf__pqsrc *q) {
    size_t n = q->ncols + 1;
    q->vals = mf__xcalloc(n, sizeof *q->vals);
    q->cells = mf__xcalloc(n, sizeof *q->cells);
    q->slices = mf__xcalloc(n, sizeof *q->slices);
    q->lists = mf__xcalloc(n, sizeof *q->lists);
    q->fill = mf__xcalloc(n, sizeof *q->fill);
    q->pcs = mf__xcalloc(n, sizeof *q->pcs);
    q->block = mf__xcalloc(n, sizeof *q->block);
}


int mf__pqsrc_open(const char *path, const Mf__DataSourceSpec *ds, const mf__source_hint *hint,
                   mf__pqsrc **out, mf_error *err) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return mf__err_at(err, MF_EIO, path, 0, "cannot open %s: %s", path, strerror(errno));
    mf__pqsrc *q = mf__xcalloc(1, sizeof *q);
    q->owns_files = true;
    q->root = mf__xstrdup(path);
    q->ts_col = -1;
    q->lo = hint ? hint->start_us : INT64_MIN;
    q->hi = hint ? hint->end_us : INT64_MAX;
    int rc = MF_OK;
    if (S_ISDIR(st.st_mode)) {
        size_t n = strlen(q->root);
        while (n > 1 && q->root[n - 1] == '/') q->root[--n] = '\0';
        rc = walk(q->root, &q->paths, &q->nfiles, 0, err);
        if (rc == MF_OK && q->nfiles == 0)
            rc = mf__err(err, MF_EDATA, "Parquet dataset %s: no .parquet file in the directory",
                         path);
        if (rc == MF_OK) sort_dataset(q->root, q->paths, q->nfiles);
    } else {
        q->paths = mf__xcalloc(1, sizeof *q->paths);
        q->paths[0] = mf__xstrdup(path);
        q->nfiles = 1;
    }
    if (rc) {
        mf__pqsrc_close(q);
        return rc;
    }
    q->files = mf__xcalloc(q->nfiles, sizeof *q->files);
    q->part_vals = mf__xcalloc(q->nfiles, sizeof *q->part_vals);
    q->fmap = mf__xcalloc(q->nfiles, sizeof *q->fmap);
    char **pkeys0 = NULL;
    for (size_t i = 0; i < q->nfiles && rc == MF_OK; i++) {
        rc = mf__pq_open(q->paths[i], &q->files[i], err);
        if (rc) break;
        const mf__pq_file *f = q->files[i];
        /* columns are found by name (in every file of a dataset): a name
         * twice is an error, as in a CSV header */
        size_t nfc = mf__pq_ncols(f);
        const char **sorted = mf__xcalloc(nfc + 1, sizeof *sorted);
        for (size_t c = 0; c < nfc; c++) sorted[c] = mf__pq_col_at(f, c)->name;
        qsort(sorted, nfc, sizeof *sorted, cmp_str);
        for (size_t c = 1; c < nfc && rc == MF_OK; c++)
            if (!strcmp(sorted[c - 1], sorted[c]))
                rc = mf__err(err, MF_EDATA, "Parquet file %s: two columns named '%.100s'",
                             q->paths[i], sorted[c]);
        free(sorted);
        if (rc) break;
        char **pk, **pv;
        size_t np = 0;
        if (q->nfiles > 1 || S_ISDIR(st.st_mode)) partitions(q->root, q->paths[i], &pk, &pv, &np);
        else pk = pv = NULL;
        if (i == 0) {
            q->nfcols = mf__pq_ncols(f);
            q->nparts = np;
            pkeys0 = pk;
            pk = NULL;
            q->ncols = q->nfcols;
            q->names = mf__xcalloc(q->nfcols + np + 1, sizeof *q->names);
            for (size_t c = 0; c < q->nfcols; c++)
                q->names[c] = mf__xstrdup(mf__pq_col_at(f, c)->name);

            for (size_t k = 0; k < np; k++)
                if (mf__pq_find(f, pkeys0[k]) < 0) q->names[q->ncols++] = mf__xstrdup(pkeys0[k]);
        } else {
            bool same = np == q->nparts;
            for (size_t k = 0; k < np && same; k++) same = !strcmp(pk[k], pkeys0[k]);
            if (!same) {
                rc = mf__err(err, MF_EDATA, "Parquet dataset %s: %s has other partition folders "
                             "than %s", q->root, q->paths[i], q->paths[0]);
                free_strs(pv, np);
                pv = NULL;
            }
            free_strs(pk, np);
        }
        q->part_vals[i] = pv;
        q->fmap[i] = mf__xcalloc(q->nfcols + 1, sizeof **q->fmap);
        for (size_t c = 0; c < q->nfcols && rc == MF_OK; c++) {
            long j = mf__pq_find(f, q->names[c]);
            if (j < 0)
                rc = mf__err(err, MF_EDATA, "Parquet dataset %s: %s has no column '%s' (which %s "
                             "has)", q->root, q->paths[i], q->names[c], q->paths[0]);
            q->fmap[i][c] = j;
        }
    }
    size_t np0 = q->nparts;
    if (rc) {
        free_strs(pkeys0, np0);
        mf__pqsrc_close(q);
        return rc;
    }
    /* the partition values of the keys that are not file columns, in the
     * order of the columns */
    size_t nkept = q->ncols - q->nfcols;
    if (nkept != np0) {
        for (size_t i = 0; i < q->nfiles; i++) {
            char **nv = mf__xcalloc(nkept + 1, sizeof *nv);
            size_t m = 0;
            for (size_t k = 0; k < np0; k++) {
                if (mf__pq_find(q->files[0], pkeys0[k]) < 0) nv[m++] = q->part_vals[i][k];
                else free(q->part_vals[i][k]);
            }
            free(q->part_vals[i]);
            q->part_vals[i] = nv;
        }
        q->nparts = nkept;
    }
    free_strs(pkeys0, np0);
    /* needed columns */
    q->need = mf__xcalloc(q->ncols + 1, sizeof *q->need);
    for (size_t c = 0; c < q->ncols; c++) {
        const char *name = mapped_name(ds, q->names[c]);
        bool need = !hint || hint->ncolumns == 0;
        for (size_t h = 0; hint && h < hint->ncolumns && !need; h++)
            need = !strcmp(hint->columns[h], name);
        if (c < q->nfcols) {
            const mf__pq_col *pc = mf__pq_col_at(q->files[0], c);
            if (pc->unsupported) {
                if (hint && hint->ncolumns && need) {
                    rc = mf__err(err, MF_EDATA, "Parquet file %s: column '%s' is %s, which is not "
                                 "supported", q->paths[0], q->names[c], pc->unsupported);
                    break;
                }
                need = false;
            }
        }
        q->need[c] = need;
        if (ds->timestamp_field[0] && !strcmp(name, ds->timestamp_field) && c < q->nfcols)
            q->ts_col = (long)c;
    }
    if (rc) {
        mf__pqsrc_close(q);
        return rc;
    }
    /* units */
    size_t nu = 0;
    for (size_t i = 0; i < q->nfiles; i++) nu += mf__pq_nrowgroups(q->files[i]);
    q->units = mf__xcalloc(nu + 1, sizeof *q->units);
    for (size_t i = 0; i < q->nfiles; i++)
        for (size_t g = 0; g < mf__pq_nrowgroups(q->files[i]); g++)
            q->units[q->uend++] = (unit){(uint32_t)i, (uint32_t)g};
    alloc_col_state(q);
    /* a block read needs every needed column as an array of numbers */
    q->blockable = true;
    for (size_t c = 0; c < q->ncols && q->blockable; c++) {
        if (!q->need[c]) continue;
        if (c >= q->nfcols) {
            q->blockable = false;
            break;
        }
        for (size_t i = 0; i < q->nfiles && q->blockable; i++) {
            const mf__pq_col *pc = mf__pq_col_at(q->files[i], (size_t)q->fmap[i][c]);
            q->blockable = !pc->list && !pc->unsupported &&
                           (pc->kind == MF__PQ_BOOL || pc->kind == MF__PQ_INT ||
                            pc->kind == MF__PQ_TS || pc->kind == MF__PQ_F32 ||
                            pc->kind == MF__PQ_F64);
        }
    }
    *out = q;
    return MF_OK;
}

size_t mf__pqsrc_ncols(const mf__pqsrc *q) { return q->ncols; }
size_t mf__pqsrc_nparts(const mf__pqsrc *q) { return q->ncols - q->nfcols; }
const char *mf__pqsrc_colname(const mf__pqsrc *q, size_t i) { return q->names[i]; }
const char *mf__pqsrc_where(const mf__pqsrc *q) {
    return q->loaded ? q->paths[q->cur.file] : q->root;
}
long mf__pqsrc_row(const mf__pqsrc *q) {
    return q->loaded ? (long)(q->file_row0 + (int64_t)q->row) : 0;
}

const char *mf__pqsrc_part_value(const mf__pqsrc *q, size_t i, size_t f, bool *more) {
    *more = i >= q->nfcols && i < q->ncols && f < q->nfiles;
    return *more ? q->part_vals[f][i - q->nfcols] : NULL;
}

int mf__pqsrc_col_type(const mf__pqsrc *q, size_t i, Mf__ValueType *t) {
    if (i >= q->nfcols) return 0; /* a partition: text */
    const mf__pq_col *c = mf__pq_col_at(q->files[0], i);
    if (c->unsupported) return -1;
    Mf__ValueType s;
    switch (c->kind) {
    case MF__PQ_BOOL: s = MF__VALUE_TYPE__VT_BOOL; break;
    case MF__PQ_INT:
        s = c->ptype == 1 && !c->is_unsigned ? MF__VALUE_TYPE__VT_INT32 : MF__VALUE_TYPE__VT_INT64;
        break;
    case MF__PQ_UINT64: s = MF__VALUE_TYPE__VT_INT64; break;
    case MF__PQ_F32: s = MF__VALUE_TYPE__VT_FLOAT; break;
    case MF__PQ_F64:
    case MF__PQ_DECIMAL: s = MF__VALUE_TYPE__VT_DOUBLE; break;
    case MF__PQ_STRING: s = MF__VALUE_TYPE__VT_STRING; break;
    case MF__PQ_BYTES: s = MF__VALUE_TYPE__VT_BYTES; break;
    case MF__PQ_TS: s = MF__VALUE_TYPE__VT_UNIX_TIMESTAMP; break;
    default: return 0;
    }
    if (c->list) {
        switch (s) {
        case MF__VALUE_TYPE__VT_BOOL: s = MF__VALUE_TYPE__VT_BOOL_LIST; break;
        case MF__VALUE_TYPE__VT_INT32: s = MF__VALUE_TYPE__VT_INT32_LIST; break;
        case MF__VALUE_TYPE__VT_INT64: s = MF__VALUE_TYPE__VT_INT64_LIST; break;
        case MF__VALUE_TYPE__VT_FLOAT: s = MF__VALUE_TYPE__VT_FLOAT_LIST; break;
        case MF__VALUE_TYPE__VT_DOUBLE: s = MF__VALUE_TYPE__VT_DOUBLE_LIST; break;
        case MF__VALUE_TYPE__VT_STRING: s = MF__VALUE_TYPE__VT_STRING_LIST; break;
        case MF__VALUE_TYPE__VT_BYTES: s = MF__VALUE_TYPE__VT_BYTES_LIST; break;
        case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: s = MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST; break;
        default: return 0;
        }
    }
    *t = s;
    return 1;
}

/*---- Reading -----------------------------------------------------------------*/

static bool skip_unit(mf__pqsrc *q, unit u) {
    if (q->ts_col < 0 || (q->lo == INT64_MIN && q->hi == INT64_MAX)) return false;
    long fc = q->fmap[u.file][q->ts_col];
    int64_t mn, mx;
    if (!mf__pq_rg_ts_range(q->files[u.file], u.rg, (size_t)fc, &mn, &mx)) return false;
    if (!mf__ts_in_range(mn) || !mf__ts_in_range(mx)) return false; /* let the rows say */
    return mx < q->lo || mn > q->hi;
}

static int load_next(mf__pqsrc *q, mf_error *err) {
    q->loaded = false; /* the value buffers are kept for the next row group */
    while (q->u < q->uend) {
        unit u = q->units[q->u++];
        mf__pq_file *f = q->files[u.file];
        int64_t n = mf__pq_rg_rows(f, u.rg);
        if (n == 0) continue;
        if (skip_unit(q, u)) {
            q->skipped++;
            continue;
        }
        int64_t before = 0;
        for (uint32_t g = 0; g < u.rg; g++) before += mf__pq_rg_rows(f, g);
        for (size_t c = 0; c < q->nfcols; c++) {
            if (!q->need[c]) continue;
            int rc = mf__pq_read(f, u.rg, (size_t)q->fmap[u.file][c], &q->vals[c], err);
            if (rc) return rc;
        }
        q->cur = u;
        q->loaded = true;
        /* what each needed cell is filled from, for this file */
        q->nfill = 0;
        for (size_t c = 0; c < q->ncols; c++) {
            if (!q->need[c]) {
                q->cells[c].kind = MF__CELL_NULL;
                continue;
            }
            q->fill[q->nfill++] = c;
            q->pcs[c] = c < q->nfcols ? mf__pq_col_at(f, (size_t)q->fmap[u.file][c]) : NULL;
        }
        q->row = 0;
        q->nrows = (size_t)n;
        q->file_row0 = before;
        return 1;
    }
    if (q->skipped)
        mf__log(3, "Parquet source %s: %zu row group(s) skipped by their timestamp statistics",
                q->root, q->skipped);
    q->skipped = 0;
    return 0;
}

/* Cells of row q->row of the current row group (the needed ones; the
 * others stay null). */
static void fill_cells(mf__pqsrc *q) {
    size_t r = q->row;
    for (size_t k = 0; k < q->nfill; k++) {
        size_t c = q->fill[k];
        mf__cell *x = &q->cells[c];
        if (c >= q->nfcols) {
            const char *t = q->part_vals[q->cur.file][c - q->nfcols];
            x->kind = t ? MF__CELL_TEXT : MF__CELL_NULL;
            x->p = t;
            x->len = t ? strlen(t) : 0;
            continue;
        }
        const mf__pq_col *pc = q->pcs[c];
        const mf__pq_vals *v = &q->vals[c];
        if (v->valid && !v->valid[r]) {
            x->kind = MF__CELL_NULL;
            continue;
        }
        if (pc->list) {
            mf__buf *b = &q->lists[c];
            b->len = 0;
            mf__pq_list_json(pc, v, r, b);
            x->kind = MF__CELL_TEXT;
            x->p = b->data;
            x->len = b->len;
            continue;
        }
        switch (pc->kind) {
        case MF__PQ_BOOL: x->kind = MF__CELL_BOOL, x->i = v->i[r]; break;
        case MF__PQ_INT: x->kind = MF__CELL_INT, x->i = v->i[r]; break;
        case MF__PQ_TS: x->kind = MF__CELL_TS, x->i = v->i[r]; break;
        case MF__PQ_F32: x->kind = MF__CELL_F32, x->f = v->f[r]; break;
        case MF__PQ_F64: x->kind = MF__CELL_F64, x->d = v->d[r]; break;
        case MF__PQ_STRING:
        case MF__PQ_BYTES:
            x->kind = MF__CELL_TEXT;
            x->p = v->heap ? v->heap + v->off[r] : "";
            x->len = v->off[r + 1] - v->off[r];
            break;
        default: { /* uint64, decimal: their text */
            mf__buf *b = &q->lists[c];
            b->len = 0;
            mf__pq_text(pc, v, r, b);
            x->kind = MF__CELL_TEXT;
            x->p = b->data;
            x->len = b->len;
        }
        }
    }
}

int mf__pqsrc_next(mf__pqsrc *q, const mf__cell **cells, mf_error *err) {
    if (q->loaded && q->row + 1 < q->nrows) {
        q->row++;
    } else {
        int r = load_next(q, err);
        if (r <= 0) return r;
    }
    fill_cells(q);
    *cells = q->cells;
    return 1;
}

bool mf__pqsrc_blockable(const mf__pqsrc *q) { return q->blockable; }

void mf__pqsrc_block_row(mf__pqsrc *q, size_t r) { q->row = r; }

int mf__pqsrc_next_block(mf__pqsrc *q, const mf__cell_col **cols, size_t *n, mf_error *err) {
    int r = load_next(q, err);
    if (r <= 0) return r;
    for (size_t c = 0; c < q->ncols; c++) {
        mf__cell_col *b = &q->block[c];
        memset(b, 0, sizeof *b);
        b->kind = MF__CELL_NULL;
        if (!q->need[c]) continue;
        const mf__pq_vals *v = &q->vals[c];
        b->valid = v->valid;
        switch (q->pcs[c]->kind) {
        case MF__PQ_BOOL: b->kind = MF__CELL_BOOL, b->i = v->i; break;
        case MF__PQ_INT: b->kind = MF__CELL_INT, b->i = v->i; break;
        case MF__PQ_TS: b->kind = MF__CELL_TS, b->i = v->i; break;
        case MF__PQ_F32: b->kind = MF__CELL_F32, b->f = v->f; break;
        default: b->kind = MF__CELL_F64, b->d = v->d; break;
        }
    }
    q->row = q->nrows - 1; /* the next call loads the next row group */
    *cols = q->block;
    *n = q->nrows;
    return 1;
}

int mf__pqsrc_next_text(mf__pqsrc *q, const mf__slice **fields, mf_error *err) {
    const mf__cell *cells;
    int r = mf__pqsrc_next(q, &cells, err);
    if (r <= 0) return r;
    q->text.len = 0;
    size_t *at = mf__xmalloc((q->ncols + 1) * sizeof *at);
    for (size_t c = 0; c < q->ncols; c++) {
        at[c] = q->text.len;
        mf__cell_text(&cells[c], &q->text);
    }
    for (size_t c = 0; c < q->ncols; c++) {
        size_t end = c + 1 < q->ncols ? at[c + 1] : q->text.len;
        bool null = cells[c].kind == MF__CELL_NULL;
        q->slices[c].ptr = null ? NULL : q->text.data + at[c];
        q->slices[c].len = null ? 0 : end - at[c];
    }
    free(at);
    *fields = q->slices;
    return 1;
}

int mf__pqsrc_split(mf__pqsrc *q, mf__pqsrc **tail) {
    *tail = NULL;
    if (q->uend - q->u < 2) return 0;
    int64_t total = 0, half = 0;
    for (size_t i = q->u; i < q->uend; i++)
        total += mf__pq_rg_rows(q->files[q->units[i].file], q->units[i].rg);
    size_t mid = q->u;
    while (mid < q->uend && half * 2 < total)
        half += mf__pq_rg_rows(q->files[q->units[mid].file], q->units[mid].rg), mid++;
    if (mid >= q->uend || mid == q->u) return 0;
    mf__pqsrc *t = mf__xcalloc(1, sizeof *t);
    *t = *q;
    t->owns_files = false;
    t->need = mf__xmalloc((q->ncols + 1) * sizeof *t->need);
    memcpy(t->need, q->need, (q->ncols + 1) * sizeof *t->need);
    t->units = mf__xmalloc((q->uend + 1) * sizeof *t->units);
    memcpy(t->units, q->units, (q->uend + 1) * sizeof *t->units);
    t->u = mid;
    t->loaded = false;
    t->skipped = 0;
    alloc_col_state(t);
    t->nfill = 0;
    mf__buf_init(&t->text);
    q->uend = mid;
    *tail = t;
    return 1;
}

int mf__pqsrc_cell_err(const mf__pqsrc *q, mf_error *err, const char *col, const char *text,
                       size_t len, const char *want) {
    return mf__err_at(err, MF_EDATA, mf__pqsrc_where(q), 0,
                      "row group %u, row %zu (row %lld of the file): column '%s': '%.*s' is not %s",
                      q->cur.rg + 1, q->row + 1, (long long)(q->file_row0 + (int64_t)q->row + 1), col,
                      (int)(len > 200 ? 200 : len), text ? text : "", want);
}

/*---- Typed cells --------------------------------------------------------------*/

void mf__cell_text(const mf__cell *c, mf__buf *out) {
    char num[64];
    switch (c->kind) {
    case MF__CELL_NULL: return;
    case MF__CELL_TEXT: mf__buf_put(out, c->p, c->len); return;
    case MF__CELL_INT: mf__buf_printf(out, "%lld", (long long)c->i); return;
    case MF__CELL_BOOL: mf__buf_puts(out, c->i ? "true" : "false"); return;
    case MF__CELL_F32: mf__buf_put(out, num, mf__format_float(c->f, num)); return;
    case MF__CELL_F64: mf__buf_put(out, num, mf__format_double(c->d, num)); return;
    case MF__CELL_TS:
        if (mf__ts_in_range(c->i)) mf__buf_put(out, num, mf__ts_format(c->i, num));
        else mf__buf_printf(out, "(a timestamp out of range: %lld us)", (long long)c->i);
        return;
    }
}

int mf__cell_ts(const mf__cell *c, int64_t *us) {
    switch (c->kind) {
    case MF__CELL_NULL: return 1;
    case MF__CELL_TS:
        if (!mf__ts_in_range(c->i)) return -1;
        *us = c->i;
        return 0;
    case MF__CELL_INT: return mf__ts_from_seconds(c->i, us) ? -1 : 0;
    case MF__CELL_TEXT:
        if (!c->len) return 1;
        return mf__ts_parse(c->p, c->len, us) ? -1 : 0;
    case MF__CELL_F64: {
        /* as its CSV text: whole epoch seconds are a time (1735736400.0
         * writes 1735736400), a fraction is not. (Not a FLOAT: past 2^24
         * every float is whole, 128 s apart at today's times.) */
        double d = c->d;
        if (!(d >= -9.2e18 && d <= 9.2e18) || d != floor(d)) return -1;
        return mf__ts_from_seconds((int64_t)d, us) ? -1 : 0;
    }
    default: return -1;
    }
}

int mf__cell_key(mf__buf *k, Mf__ValueType t, const mf__cell *c) {
    switch (c->kind) {
    case MF__CELL_NULL: return 1;
    case MF__CELL_TEXT: return mf__key_append_text(k, t, c->p, c->len);
    case MF__CELL_INT:
        if (t == MF__VALUE_TYPE__VT_INT64 ||
            (t == MF__VALUE_TYPE__VT_INT32 && c->i >= INT32_MIN && c->i <= INT32_MAX)) {
            mf__buf_put(k, &c->i, 8);
            return 0;
        }
        break;
    case MF__CELL_TS:
        if (t == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
            if (!mf__ts_in_range(c->i)) return -1;
            mf__buf_put(k, &c->i, 8);
            return 0;
        }
        break;
    default: break;
    }
    mf__buf b;
    mf__buf_init(&b);
    mf__cell_text(c, &b);
    int r = mf__key_append_text(k, t, b.data ? b.data : "", b.len);
    mf__buf_free(&b);
    return r;
}

int mf__cell_push(mf__col *col, const mf__cell *c) {
    switch (c->kind) {
    case MF__CELL_NULL: mf__col_push_null(col); return 0;
    case MF__CELL_TEXT: return mf__col_push_text(col, c->p, c->len);
    case MF__CELL_INT:
        if (col->sc == MF__SC_I64 && col->type != MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
            mf__col_push_i64(col, c->i);
            return 0;
        }
        if (col->sc == MF__SC_I32) {
            if (c->i < INT32_MIN || c->i > INT32_MAX) return -1;
            mf__col_push_num(col, (double)c->i);
            return 0;
        }
        break;
    case MF__CELL_TS:
        if (col->type == MF__VALUE_TYPE__VT_UNIX_TIMESTAMP) {
            if (!mf__ts_in_range(c->i)) return -1;
            mf__col_push_i64(col, c->i);
            return 0;
        }
        break;
    case MF__CELL_F64:
        if (col->sc == MF__SC_F64) {
            mf__col_push_num(col, c->d);
            return 0;
        }
        break;
    case MF__CELL_F32:
        if (col->sc == MF__SC_F32) {
            mf__col_push_num(col, c->f);
            return 0;
        }
        break;
    case MF__CELL_BOOL:
        if (col->sc == MF__SC_BOOL) {
            mf__col_push_num(col, (double)c->i);
            return 0;
        }
        break;
    }
    mf__buf b;
    mf__buf_init(&b);
    mf__cell_text(c, &b);
    int r = mf__col_push_text(col, b.data ? b.data : "", b.len);
    mf__buf_free(&b);
    return r;
}
