/*
 * fuzz_parquet.c — libFuzzer target over Parquet reading (built and run by
 * `make fuzz`; see docs/development.md).
 *
 * The input is the file. It is written to a memory file and
 *   1. opened (footer, schema), then every column of every row group is
 *      decoded and every value turned into text (scalars and lists);
 *   2. read as a file source (source_parquet.c): every row's typed cells,
 *      their text, and each cell pushed into columns of several types and
 *      made a key, as the join and materialization do;
 *   3. when it all read, the same through a source split in two by row
 *      groups: the halves must hold the same number of rows.
 * The limits are lowered (rows per row group, bytes per page) so that
 * memory stays far below the fuzzer's cap. A decoded column that breaks
 * the reader's own promises (offsets that go backwards or past the heap,
 * list offsets past the values, a row count that is not the row group's)
 * aborts: libFuzzer reports it with the input.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mf_internal.h"
#include "mf_online.h"
#include "mf_parquet.h"
#include "mf_source.h"
#include "mf_table.h"

static void check_vals(const mf__pq_col *c, const mf__pq_vals *v, size_t rows) {
    if (v->nrows != rows) abort();
    if (c->list) {
        for (size_t r = 0; r < rows; r++)
            if (v->lo[r] > v->lo[r + 1]) abort();
        if (rows && v->lo[rows] > v->nvals) abort();
    } else if (v->nvals != rows) {
        abort();
    }
    if (c->kind == MF__PQ_STRING || c->kind == MF__PQ_BYTES) {
        for (size_t i = 0; i < v->nvals; i++)
            if (v->off[i] > v->off[i + 1]) abort();
        if (v->nvals && v->off[v->nvals] > v->heap_len) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mf__pq_max_rows = 1 << 16;
    mf__pq_max_page = 4 << 20;
    int fd = memfd_create("fuzz.parquet", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    mf_error err;
    mf__pq_file *f;
    bool all_ok = true;
    if (mf__pq_open(path, &f, &err) == MF_OK) {
        mf__buf b;
        mf__buf_init(&b);
        for (size_t g = 0; g < mf__pq_nrowgroups(f); g++)
            for (size_t c = 0; c < mf__pq_ncols(f); c++) {
                const mf__pq_col *pc = mf__pq_col_at(f, c);
                mf__pq_vals v = {0};
                int64_t mn, mx;
                (void)mf__pq_rg_ts_range(f, g, c, &mn, &mx);
                if (mf__pq_read(f, g, c, &v, &err) == MF_OK) {
                    check_vals(pc, &v, (size_t)mf__pq_rg_rows(f, g));
                    for (size_t r = 0; r < v.nrows; r++) {
                        b.len = 0;
                        if (v.valid && !v.valid[r]) continue;
                        if (pc->list) mf__pq_list_json(pc, &v, r, &b);
                        else mf__pq_text(pc, &v, r, &b);
                    }
                } else if (!pc->unsupported) {
                    all_ok = false;
                }
                mf__pq_vals_free(&v);
            }
        mf__buf_free(&b);
        mf__pq_close(f);
    } else {
        all_ok = false;
    }
    /* as a source: typed cells into columns of several types, keys */
    Mf__DataSourceSpec ds = MF__DATA_SOURCE_SPEC__INIT;
    static const Mf__ValueType types[] = {
        MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_INT32, MF__VALUE_TYPE__VT_DOUBLE,
        MF__VALUE_TYPE__VT_FLOAT, MF__VALUE_TYPE__VT_BOOL, MF__VALUE_TYPE__VT_STRING,
        MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, MF__VALUE_TYPE__VT_INT64_LIST};
    size_t total[2] = {0, 0};
    for (int pass = 0; pass < (all_ok ? 2 : 1); pass++) {
        mf__pqsrc *q;
        if (mf__pqsrc_open(path, &ds, NULL, &q, &err) != MF_OK) break;
        mf__pqsrc *tail = NULL;
        if (pass == 1) mf__pqsrc_split(q, &tail);
        size_t nc = mf__pqsrc_ncols(q);
        mf__col cols[8];
        for (int k = 0; k < 8; k++) mf__col_init(&cols[k], "x", types[k], false);
        mf__buf key, text;
        mf__buf_init(&key);
        mf__buf_init(&text);
        for (mf__pqsrc *s = q; s; s = s == q ? tail : NULL) {
            const mf__cell *cells;
            int rc;
            while ((rc = mf__pqsrc_next(s, &cells, &err)) == 1) {
                total[pass]++;
                for (size_t c = 0; c < nc; c++) {
                    text.len = 0;
                    mf__cell_text(&cells[c], &text);
                    int64_t us;
                    (void)mf__cell_ts(&cells[c], &us);
                    for (int k = 0; k < 8; k++) {
                        (void)mf__cell_push(&cols[k], &cells[c]);
                        key.len = 0;
                        if (k < 7) (void)mf__cell_key(&key, types[k], &cells[c]);
                    }
                }
                if (total[pass] % 256 == 0)
                    for (int k = 0; k < 8; k++) mf__col_clear(&cols[k]);
            }
            if (rc < 0 && pass == 1) abort(); /* it all read in pass 0 */
            if (rc < 0) break;
        }
        for (int k = 0; k < 8; k++) mf__col_free(&cols[k]);
        mf__buf_free(&key);
        mf__buf_free(&text);
        mf__pqsrc_close(tail);
        mf__pqsrc_close(q);
    }
    if (all_ok && total[0] != total[1]) abort();
    close(fd);
    return 0;
}
