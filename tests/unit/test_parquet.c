/*
 * test_parquet.c — the Parquet reader and writer (parquet.c,
 * parquet_write.c, source_parquet.c).
 *
 * - Fixtures written by DuckDB (tests/parquet/fixtures/, made by
 *   tests/parquet/make_fixtures.mjs): every compression and page version,
 *   every column read and compared value by value with types.expect.jsonl,
 *   whose texts the script made from DuckDB's own reading of the file.
 * - A file built here byte by byte for what DuckDB does not write: INT96,
 *   DELTA_BYTE_ARRAY, RLE booleans in a v2 page, the legacy two-level and
 *   bare repeated lists, a REQUIRED column, page CRCs (the encoders here
 *   are written from the format's description, not taken from the reader).
 * - Bad files: every truncation of a file, bad magic, a footer length past
 *   the start, corrupt pages with and without a CRC, random byte flips,
 *   unsupported codecs and encodings: an error naming the file, never a
 *   crash (the ASan pass runs this too).
 * - The writer: a table of every type with nulls and lists, written and
 *   read back; row groups skipped by their statistics through a source.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "mf_parquet.h"
#include "mf_source.h"
#include "mf_table.h"
#include "mf_thrift.h"
#include "mft.h"

#define FIX "tests/parquet/fixtures/"

static char tmpdir[64];

static unsigned seen_enc, seen_codec, seen_page;

static void note_seen(const mf__pq_file *f) {
    unsigned e, c, p;
    mf__pq_seen(f, &e, &c, &p);
    seen_enc |= e, seen_codec |= c, seen_page |= p;
}

/* Text of row r of a column as the fixtures write it (bytes: hex). */
static void cell_text(const mf__pq_col *c, const mf__pq_vals *v, size_t r, mf__buf *b) {
    b->len = 0;
    if (v->valid && !v->valid[r]) return;
    if (c->list) {
        mf__pq_list_json(c, v, r, b);
    } else if (c->kind == MF__PQ_BYTES) {
        for (uint64_t k = v->off[r]; k < v->off[r + 1]; k++)
            mf__buf_printf(b, "%02X", (unsigned char)v->heap[k]);
    } else {
        mf__pq_text(c, v, r, b);
    }
}

/* Read every column of a fixture and compare with the expected texts. */
static int check_fixture(const char *name, json_t *expect, size_t *cells) {
    char path[256];
    snprintf(path, sizeof path, FIX "%s.parquet", name);
    mf__pq_file *f;
    mf_error err;
    if (mf__pq_open(path, &f, &err)) {
        printf("#   %s: %s\n", name, err.message);
        return -1;
    }
    int bad = 0;
    mf__buf b;
    mf__buf_init(&b);
    size_t row0 = 0;
    for (size_t g = 0; g < mf__pq_nrowgroups(f) && !bad; g++) {
        size_t n = (size_t)mf__pq_rg_rows(f, g);
        for (size_t c = 0; c < mf__pq_ncols(f) && !bad; c++) {
            const mf__pq_col *pc = mf__pq_col_at(f, c);
            mf__pq_vals v = {0};
            if (mf__pq_read(f, g, c, &v, &err)) {
                printf("#   %s: %s\n", name, err.message);
                bad = 1;
            }
            for (size_t r = 0; r < n && !bad; r++) {
                json_t *row = json_array_get(expect, row0 + r);
                json_t *want = json_object_get(row, pc->name);
                if (!want) {
                    printf("#   %s: column %s not expected\n", name, pc->name);
                    bad = 1;
                    break;
                }
                cell_text(pc, &v, r, &b);
                bool isnull = v.valid && !v.valid[r];
                if (json_is_null(want) ? !isnull
                                       : isnull || strcmp(json_string_value(want), b.data ? b.data : "")) {
                    printf("#   %s: row group %zu, row %zu, column %s: got %s, want %s\n", name, g,
                           r, pc->name, isnull ? "null" : b.data,
                           json_is_null(want) ? "null" : json_string_value(want));
                    bad = 1;
                }
                (*cells)++;
            }
            mf__pq_vals_free(&v);
        }
        row0 += n;
    }
    if (!bad && row0 != json_array_size(expect)) {
        printf("#   %s: %zu rows, want %zu\n", name, row0, json_array_size(expect));
        bad = 1;
    }
    note_seen(f);
    mf__buf_free(&b);
    mf__pq_close(f);
    return bad ? -1 : 0;
}

static json_t *load_expect(void) {
    json_t *a = json_array();
    FILE *fp = fopen(FIX "types.expect.jsonl", "r");
    if (!fp) return a;
    char line[8192];
    while (fgets(line, sizeof line, fp)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (o) json_array_append_new(a, o);
    }
    fclose(fp);
    return a;
}

static void test_duckdb_fixtures(void) {
    json_t *expect = load_expect();
    CHECK(json_array_size(expect) == 300);
    static const char *const names[] = {"types_uncompressed", "types_snappy", "types_gzip",
                                        "types_zstd", "types_lz4", "types_v2_zstd",
                                        "types_v2_snappy"};
    size_t cells = 0;
    int bad = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) bad |= check_fixture(names[i], expect, &cells) != 0;
    json_decref(expect);
    printf("#   %zu cells compared in %zu files\n", cells, sizeof names / sizeof *names);
    CHECK(!bad);
    CHECK(cells == 7 * 300 * 26);
}

static void test_unsupported_codec(void) {
    mf__pq_file *f;
    mf_error err;
    CHECK(mf__pq_open(FIX "types_brotli.parquet", &f, &err) == MF_OK);
    mf__pq_vals v = {0};
    int rc = mf__pq_read(f, 0, 1, &v, &err);
    mf__pq_vals_free(&v);
    mf__pq_close(f);
    CHECK(rc == MF_EDATA);
    CHECK_HAS(err.message, "types_brotli.parquet");
    CHECK_HAS(err.message, "compression BROTLI is not supported");
    CHECK_HAS(err.message, "row group 1, column 't0'");
}

/*---- A file built here ----------------------------------------------------------*/

typedef struct hchunk {
    int type, codec;
    int64_t nvals, off, size;
    bool dict;
    int64_t dict_off;
} hchunk;

static void put_le32(mf__buf *b, uint32_t v) {
    char x[4] = {(char)v, (char)(v >> 8), (char)(v >> 16), (char)(v >> 24)};
    mf__buf_put(b, x, 4);
}

static void varint(mf__buf *b, uint64_t v) {
    while (v >= 0x80) mf__buf_putc(b, (char)(v | 0x80)), v >>= 7;
    mf__buf_putc(b, (char)v);
}

/* Levels as one bit-packed run of width w (values padded to 8). */
static void levels_bp(mf__buf *b, const int *lv, int n, int w) {
    int groups = (n + 7) / 8;
    varint(b, (uint64_t)groups << 1 | 1);
    uint8_t bytes[64] = {0};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < w; k++)
            if (lv[i] >> k & 1) bytes[(i * w + k) / 8] |= (uint8_t)(1 << ((i * w + k) % 8));
    mf__buf_put(b, bytes, (size_t)(groups * w));
}

/* DELTA_BINARY_PACKED of v[0..n): one block of 128 values in 4 miniblocks. */
static void delta_bp(mf__buf *b, const int64_t *v, int n) {
    varint(b, 128);
    varint(b, 4);
    varint(b, (uint64_t)n);
    varint(b, ((uint64_t)v[0] << 1) ^ (uint64_t)(v[0] >> 63));
    if (n < 2) return;
    int64_t d[128], mn = INT64_MAX;
    for (int i = 1; i < n; i++) d[i - 1] = v[i] - v[i - 1], mn = d[i - 1] < mn ? d[i - 1] : mn;
    varint(b, ((uint64_t)mn << 1) ^ (uint64_t)(mn >> 63));
    int w = 0;
    for (int i = 0; i < n - 1; i++)
        while ((uint64_t)(d[i] - mn) >> w) w++;
    uint8_t widths[4] = {(uint8_t)w, 0, 0, 0};
    mf__buf_put(b, widths, 4);
    uint8_t bytes[32 * 8] = {0}; /* one miniblock of 32 values */
    for (int i = 0; i < n - 1; i++)
        for (int k = 0; k < w; k++)
            if ((uint64_t)(d[i] - mn) >> k & 1) bytes[(i * w + k) / 8] |= (uint8_t)(1 << ((i * w + k) % 8));
    mf__buf_put(b, bytes, (size_t)(32 * w / 8));
}

/* A v1 (or v2) data page, uncompressed, with a CRC. */
static void page(mf__buf *file, int type, const mf__buf *body, int nvals, int enc, int nulls,
                 int nrows, int rep_len, int def_len) {
    mf__buf h;
    mf__buf_init(&h);
    mf__tw w;
    mf__tw_init(&w, &h);
    mf__tw_struct_begin(&w);
    mf__tw_i32(&w, 1, type);
    mf__tw_i32(&w, 2, (int32_t)body->len);
    mf__tw_i32(&w, 3, (int32_t)body->len);
    mf__tw_i32(&w, 4, (int32_t)crc32(0, (const Bytef *)body->data, (uInt)body->len));
    if (type == 0) {
        mf__tw_field(&w, 5, MF__TC_STRUCT);
        mf__tw_struct_begin(&w);
        mf__tw_i32(&w, 1, nvals);
        mf__tw_i32(&w, 2, enc);
        mf__tw_i32(&w, 3, 3);
        mf__tw_i32(&w, 4, 3);
        mf__tw_struct_end(&w);
    } else {
        mf__tw_field(&w, 8, MF__TC_STRUCT);
        mf__tw_struct_begin(&w);
        mf__tw_i32(&w, 1, nvals);
        mf__tw_i32(&w, 2, nulls);
        mf__tw_i32(&w, 3, nrows);
        mf__tw_i32(&w, 4, enc);
        mf__tw_i32(&w, 5, def_len);
        mf__tw_i32(&w, 6, rep_len);
        mf__tw_bool(&w, 7, false);
        mf__tw_struct_end(&w);
    }
    mf__tw_struct_end(&w);
    mf__buf_put(file, h.data, h.len);
    mf__buf_put(file, body->data, body->len);
    mf__buf_free(&h);
}

/* v1 body: [rep levels], [def levels], values. */
static void body_v1(mf__buf *body, const int *rep, const int *def, int n, int maxr, int maxd,
                    const mf__buf *vals) {
    mf__buf l;
    mf__buf_init(&l);
    if (maxr) {
        levels_bp(&l, rep, n, 1);
        put_le32(body, (uint32_t)l.len);
        mf__buf_put(body, l.data, l.len);
        l.len = 0;
    }
    if (maxd) {
        levels_bp(&l, def, n, maxd > 1 ? 2 : 1);
        put_le32(body, (uint32_t)l.len);
        mf__buf_put(body, l.data, l.len);
    }
    mf__buf_put(body, vals->data, vals->len);
    mf__buf_free(&l);
}

static void schema_leaf(mf__tw *w, const char *name, int type, int rep, int conv) {
    mf__tw_struct_begin(w);
    mf__tw_i32(w, 1, type);
    mf__tw_i32(w, 3, rep);
    mf__tw_binary(w, 4, name, strlen(name));
    if (conv >= 0) mf__tw_i32(w, 6, conv);
    mf__tw_struct_end(w);
}

/* handmade(): column bdec's last value does not fit 64 bits */
static bool hand_wide_dec;

/* A BYTE_ARRAY DECIMAL leaf (converted type DECIMAL, precision 38). */
static void schema_dec(mf__tw *w, const char *name, int rep, int scale) {
    mf__tw_struct_begin(w);
    mf__tw_i32(w, 1, 6);
    mf__tw_i32(w, 3, rep);
    mf__tw_binary(w, 4, name, strlen(name));
    mf__tw_i32(w, 6, 5);
    mf__tw_i32(w, 7, scale);
    mf__tw_i32(w, 8, 38);
    mf__tw_struct_end(w);
}

/* Write the hand-made file (4 rows) to path; *crc_at gets the offset of a
 * byte inside the first page's values. */
static int handmade(const char *path, size_t *crc_at) {
    mf__buf file, body, vals;
    mf__buf_init(&file), mf__buf_init(&body), mf__buf_init(&vals);
    mf__buf_put(&file, "PAR1", 4);
    hchunk ch[8];
    memset(ch, 0, sizeof ch);
    int n = 4;
    /* 0: req INT64 REQUIRED PLAIN: 10 20 30 40 */
    ch[0].off = (int64_t)file.len, ch[0].type = 2, ch[0].nvals = 4;
    for (int i = 0; i < 4; i++) {
        int64_t x = 10 * (i + 1);
        mf__buf_put(&vals, &x, 8);
    }
    body_v1(&body, NULL, NULL, n, 0, 0, &vals);
    size_t at = file.len;
    page(&file, 0, &body, 4, 0, 0, 0, 0, 0);
    *crc_at = file.len - 3; /* in the values */
    (void)at;
    ch[0].size = (int64_t)file.len - ch[0].off;
    /* 1: t96 INT96 OPTIONAL: 2025-01-01T00:00:00.000001Z, null,
     * 1960-01-01T12:00:00Z, 2000-02-29T23:59:59.999999Z */
    ch[1].off = (int64_t)file.len, ch[1].type = 3, ch[1].nvals = 4;
    body.len = vals.len = 0;
    struct { int64_t nanos; int32_t jday; } t96[3] = {
        {1000, 2460677}, {43200LL * 1000000000LL, 2436935}, {86399999999000LL, 2451604}};
    for (int i = 0; i < 3; i++) {
        mf__buf_put(&vals, &t96[i].nanos, 8);
        mf__buf_put(&vals, &t96[i].jday, 4);
    }
    int def1[4] = {1, 0, 1, 1};
    body_v1(&body, NULL, def1, n, 0, 1, &vals);
    page(&file, 0, &body, 4, 0, 0, 0, 0, 0);
    ch[1].size = (int64_t)file.len - ch[1].off;
    /* 2: dba BYTE_ARRAY UTF8, DELTA_BYTE_ARRAY: apple apricot banana null */
    ch[2].off = (int64_t)file.len, ch[2].type = 6, ch[2].nvals = 4;
    body.len = vals.len = 0;
    int64_t pre[3] = {0, 2, 0}, suf[3] = {5, 5, 6};
    delta_bp(&vals, pre, 3);
    delta_bp(&vals, suf, 3);
    mf__buf_puts(&vals, "appleRICOTbanana");
    memcpy(vals.data + vals.len - 11, "ricot", 5);
    int def2[4] = {1, 1, 1, 0};
    body_v1(&body, NULL, def2, n, 0, 1, &vals);
    page(&file, 0, &body, 4, 7, 0, 0, 0, 0);
    ch[2].size = (int64_t)file.len - ch[2].off;
    /* 3: l2, optional group (LIST) { repeated int32 element }: [1,2] [] null [3] */
    ch[3].off = (int64_t)file.len, ch[3].type = 1, ch[3].nvals = 5;
    body.len = vals.len = 0;
    int32_t e3[3] = {1, 2, 3};
    mf__buf_put(&vals, e3, 12);
    int rep3[5] = {0, 1, 0, 0, 0}, def3[5] = {2, 2, 1, 0, 2};
    body_v1(&body, rep3, def3, 5, 1, 2, &vals);
    page(&file, 0, &body, 5, 0, 0, 0, 0, 0);
    ch[3].size = (int64_t)file.len - ch[3].off;
    /* 4: rb BOOLEAN OPTIONAL, v2 page, RLE values: true false null true */
    ch[4].off = (int64_t)file.len, ch[4].type = 0, ch[4].nvals = 4;
    body.len = vals.len = 0;
    int def4[4] = {1, 1, 0, 1};
    levels_bp(&body, def4, 4, 1);
    size_t def_len = body.len;
    mf__buf rle;
    mf__buf_init(&rle);
    int b4[3] = {1, 0, 1};
    levels_bp(&rle, b4, 3, 1);
    put_le32(&body, (uint32_t)rle.len);
    mf__buf_put(&body, rle.data, rle.len);
    mf__buf_free(&rle);
    page(&file, 3, &body, 4, 3, 1, 4, 0, (int)def_len);
    ch[4].size = (int64_t)file.len - ch[4].off;
    /* 5: bare repeated int32: [5] [] [6,7] [8] */
    ch[5].off = (int64_t)file.len, ch[5].type = 1, ch[5].nvals = 5;
    body.len = vals.len = 0;
    int32_t e5[4] = {5, 6, 7, 8};
    mf__buf_put(&vals, e5, 16);
    int rep5[5] = {0, 0, 0, 1, 0}, def5[5] = {1, 0, 1, 1, 1};
    body_v1(&body, rep5, def5, 5, 1, 1, &vals);
    page(&file, 0, &body, 5, 0, 0, 0, 0, 0);
    ch[5].size = (int64_t)file.len - ch[5].off;
    /* 6: bdec BYTE_ARRAY DECIMAL(scale 2) OPTIONAL PLAIN: 123.45, null,
     * -0.01 (one byte), INT64_MAX in 9 bytes (a sign byte before it) */
    ch[6].off = (int64_t)file.len, ch[6].type = 6, ch[6].nvals = 4;
    body.len = vals.len = 0;
    uint8_t d6[] = {2, 0, 0, 0, 0x30, 0x39, 1, 0, 0, 0, 0xff, 9, 0, 0, 0,
                    0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (hand_wide_dec) d6[15] = 0xff; /* -2^64 + INT64_MAX: past 64 bits */
    mf__buf_put(&vals, d6, sizeof d6);
    int def6[4] = {1, 0, 1, 1};
    body_v1(&body, NULL, def6, n, 0, 1, &vals);
    page(&file, 0, &body, 4, 0, 0, 0, 0, 0);
    ch[6].size = (int64_t)file.len - ch[6].off;
    /* 7: ddec BYTE_ARRAY DECIMAL(scale 0) REQUIRED DELTA_BYTE_ARRAY: 256
     * (01 00), 258 (prefix 1, 02), -1 (ff), -256 (prefix 1, ff 00) */
    ch[7].off = (int64_t)file.len, ch[7].type = 6, ch[7].nvals = 4;
    body.len = vals.len = 0;
    int64_t pre7[4] = {0, 1, 0, 1}, suf7[4] = {2, 1, 1, 2};
    delta_bp(&vals, pre7, 4);
    delta_bp(&vals, suf7, 4);
    static const uint8_t d7[] = {1, 0, 2, 0xff, 0xff, 0};
    mf__buf_put(&vals, d7, sizeof d7);
    body_v1(&body, NULL, NULL, n, 0, 0, &vals);
    page(&file, 0, &body, 4, 7, 0, 0, 0, 0);
    ch[7].size = (int64_t)file.len - ch[7].off;

    /* footer */
    mf__buf foot;
    mf__buf_init(&foot);
    mf__tw w;
    mf__tw_init(&w, &foot);
    mf__tw_struct_begin(&w);
    mf__tw_i32(&w, 1, 1);
    mf__tw_list(&w, 2, MF__TC_STRUCT, 10);
    mf__tw_struct_begin(&w);
    mf__tw_binary(&w, 4, "schema", 6);
    mf__tw_i32(&w, 5, 8);
    mf__tw_struct_end(&w);
    schema_leaf(&w, "req", 2, 0, -1);
    schema_leaf(&w, "t96", 3, 1, -1);
    schema_leaf(&w, "dba", 6, 1, 0);
    mf__tw_struct_begin(&w); /* l2 */
    mf__tw_i32(&w, 3, 1);
    mf__tw_binary(&w, 4, "l2", 2);
    mf__tw_i32(&w, 5, 1);
    mf__tw_i32(&w, 6, 3);
    mf__tw_struct_end(&w);
    schema_leaf(&w, "element", 1, 2, -1);
    schema_leaf(&w, "rb", 0, 1, -1);
    schema_leaf(&w, "bare", 1, 2, -1);
    schema_dec(&w, "bdec", 1, 2);
    schema_dec(&w, "ddec", 0, 0);
    mf__tw_i64(&w, 3, 4);
    mf__tw_list(&w, 4, MF__TC_STRUCT, 1);
    mf__tw_struct_begin(&w);
    mf__tw_list(&w, 1, MF__TC_STRUCT, 8);
    for (int c = 0; c < 8; c++) {
        mf__tw_struct_begin(&w);
        mf__tw_i64(&w, 2, 0);
        mf__tw_field(&w, 3, MF__TC_STRUCT);
        mf__tw_struct_begin(&w);
        mf__tw_i32(&w, 1, ch[c].type);
        mf__tw_list(&w, 2, MF__TC_I32, 1);
        mf__tw_zigzag(&w, 0);
        mf__tw_list(&w, 3, MF__TC_BINARY, 1);
        mf__tw_raw_binary(&w, "x", 1);
        mf__tw_i32(&w, 4, 0);
        mf__tw_i64(&w, 5, ch[c].nvals);
        mf__tw_i64(&w, 6, ch[c].size);
        mf__tw_i64(&w, 7, ch[c].size);
        mf__tw_i64(&w, 9, ch[c].off);
        mf__tw_struct_end(&w);
        mf__tw_struct_end(&w);
    }
    mf__tw_i64(&w, 2, 100);
    mf__tw_i64(&w, 3, 4);
    mf__tw_struct_end(&w);
    mf__tw_struct_end(&w);
    mf__buf_put(&file, foot.data, foot.len);
    put_le32(&file, (uint32_t)foot.len);
    mf__buf_put(&file, "PAR1", 4);
    FILE *fp = fopen(path, "wb");
    int rc = fp && fwrite(file.data, 1, file.len, fp) == file.len ? 0 : -1;
    if (fp) fclose(fp);
    mf__buf_free(&file), mf__buf_free(&body), mf__buf_free(&vals), mf__buf_free(&foot);
    return rc;
}

/* All of a file's cells, "col=text" per row, nulls as NULL, ";"-joined. */
static char *dump(const char *path, mf_error *err, int *rc) {
    mf__pq_file *f;
    *rc = mf__pq_open(path, &f, err);
    if (*rc) return NULL;
    mf__buf out, b;
    mf__buf_init(&out), mf__buf_init(&b);
    for (size_t g = 0; g < mf__pq_nrowgroups(f) && !*rc; g++)
        for (size_t c = 0; c < mf__pq_ncols(f) && !*rc; c++) {
            const mf__pq_col *pc = mf__pq_col_at(f, c);
            mf__pq_vals v = {0};
            *rc = mf__pq_read(f, g, c, &v, err);
            for (size_t r = 0; r < v.nrows && !*rc; r++) {
                cell_text(pc, &v, r, &b);
                mf__buf_printf(&out, "%s%s=%s", out.len ? ";" : "", pc->name,
                               v.valid && !v.valid[r] ? "NULL" : b.data ? b.data : "");
            }
            mf__pq_vals_free(&v);
        }
    note_seen(f);
    mf__pq_close(f);
    mf__buf_free(&b);
    if (*rc) {
        mf__buf_free(&out);
        return NULL;
    }
    return mf__buf_steal(&out);
}

static char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *p = malloc((size_t)sz + 1);
    *n = fread(p, 1, (size_t)sz, fp);
    fclose(fp);
    return p;
}

static void spit(const char *path, const char *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    fwrite(p, 1, n, fp);
    fclose(fp);
}

static void test_handmade(void) {
    char path[128];
    size_t crc_at;
    snprintf(path, sizeof path, "%s/hand.parquet", tmpdir);
    CHECK(handmade(path, &crc_at) == 0);
    mf_error err;
    int rc;
    char *d = dump(path, &err, &rc);
    if (rc) printf("#   %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK_STR(d, "req=10;req=20;req=30;req=40;"
                 "t96=2025-01-01T00:00:00.000001Z;t96=NULL;t96=1960-01-01T12:00:00Z;"
                 "t96=2000-02-29T23:59:59.999999Z;"
                 "dba=apple;dba=apricot;dba=banana;dba=NULL;"
                 "l2=[1,2];l2=[];l2=NULL;l2=[3];"
                 "rb=true;rb=false;rb=NULL;rb=true;"
                 "bare=[5];bare=[];bare=[6,7];bare=[8];"
                 "bdec=123.45;bdec=NULL;bdec=-0.01;bdec=92233720368547758.07;"
                 "ddec=256;ddec=258;ddec=-1;ddec=-256");
    free(d);
    mf__pq_file *f;
    CHECK(mf__pq_open(path, &f, &err) == MF_OK);
    CHECK(mf__pq_col_at(f, 0)->max_def == 0); /* REQUIRED */
    mf__pq_close(f);
    /* a byte of the first page changed: its CRC no longer matches */
    size_t n;
    char *p = slurp(path, &n);
    CHECK(p);
    p[crc_at] ^= 0x40;
    spit(path, p, n);
    free(p);
    d = dump(path, &err, &rc);
    free(d);
    CHECK(rc == MF_EDATA);
    CHECK_HAS(err.message, "hand.parquet: row group 1, column 'req', page 1: the page checksum "
                           "does not match");
    /* a decimal stored as bytes whose unscaled value needs more than 64 bits */
    hand_wide_dec = true;
    CHECK(handmade(path, &crc_at) == 0);
    hand_wide_dec = false;
    d = dump(path, &err, &rc);
    free(d);
    CHECK(rc == MF_EDATA);
    CHECK_HAS(err.message, "hand.parquet: row group 1, column 'bdec', page 1: a DECIMAL whose "
                           "unscaled value does not fit 64 bits");
}

/* Every encoding, codec and page type above was met by some read. */
static void test_coverage(void) {
    static const int encs[] = {0, 2, 3, 5, 6, 7, 8, 9};
    for (size_t i = 0; i < sizeof encs / sizeof *encs; i++) {
        if (!(seen_enc >> encs[i] & 1)) printf("#   encoding %d never read\n", encs[i]);
        CHECK(seen_enc >> encs[i] & 1);
    }
    static const int codecs[] = {0, 1, 2, 6, 7};
    for (size_t i = 0; i < sizeof codecs / sizeof *codecs; i++) CHECK(seen_codec >> codecs[i] & 1);
    CHECK(seen_page == ((1u << 0) | (1u << 2) | (1u << 3)));
}

/*---- Bad files ------------------------------------------------------------------*/

/* Open and read everything; 0 when it all read, else the error code. */
static int read_all(const char *path, mf_error *err) {
    int rc;
    char *d = dump(path, err, &rc);
    free(d);
    return rc;
}

static void test_truncated(void) {
    size_t n;
    char *p = slurp(FIX "types_v2_snappy.parquet", &n);
    CHECK(p && n > 1000);
    char path[128];
    snprintf(path, sizeof path, "%s/cut.parquet", tmpdir);
    int errors = 0;
    for (size_t len = 0; len < n; len += len < 64 ? 1 : 97) {
        spit(path, p, len);
        mf_error err;
        int rc = read_all(path, &err);
        if (rc == MF_OK) {
            printf("#   a file cut at %zu of %zu bytes read without error\n", len, n);
            free(p);
            CHECK(0);
        }
        if (!strstr(err.message, "cut.parquet")) {
            printf("#   the error does not name the file: %s\n", err.message);
            free(p);
            CHECK(0);
        }
        errors++;
    }
    free(p);
    CHECK(errors > 100);
    /* the messages say what is wrong */
    mf_error err;
    spit(path, "PAR1", 4);
    CHECK(read_all(path, &err) == MF_EDATA);
    CHECK_HAS(err.message, "not a Parquet file (4 bytes, too short)");
    spit(path, "PAR1xxxxxxxxxxxxxxxxPAR2", 24);
    CHECK(read_all(path, &err) == MF_EDATA);
    CHECK_HAS(err.message, "no PAR1 magic number at its end");
    spit(path, "PAR1xxxxxxxxxxxx\xff\xff\x00\x00PAR1", 24);
    CHECK(read_all(path, &err) == MF_EDATA);
    CHECK_HAS(err.message, "is more than the file holds; is the file truncated?");
    spit(path, "PAR1\x15\x00\x15\x00\x08\x00\x00\x00PARE", 16);
    CHECK(read_all(path, &err) == MF_EDATA);
    CHECK_HAS(err.message, "encrypted Parquet files are not supported");
    CHECK(read_all(tmpdir, &err) != MF_OK); /* a directory */
}

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) {
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return rs;
}

/* Random bytes changed in real files: errors or values, never a crash
 * (nor, under ASan, a bad access). */
static void test_flipped(void) {
    static const char *const names[] = {"types_snappy", "types_v2_zstd", "types_gzip",
                                        "types_lz4", "types_uncompressed"};
    char path[128];
    snprintf(path, sizeof path, "%s/flip.parquet", tmpdir);
    int errors = 0, reads = 0;
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        char src[256];
        snprintf(src, sizeof src, FIX "%s.parquet", names[k]);
        size_t n;
        char *p = slurp(src, &n);
        CHECK(p);
        for (int t = 0; t < 60; t++) {
            char *q = malloc(n);
            memcpy(q, p, n);
            int flips = 1 + (int)(rnd() % 4);
            for (int j = 0; j < flips; j++) {
                size_t at = t % 2 ? n - 9 - rnd() % 300 : rnd() % n; /* the footer, or anywhere */
                if (at >= n) at = n - 1;
                q[at] = (char)rnd();
            }
            spit(path, q, n);
            free(q);
            mf_error err;
            reads++;
            if (read_all(path, &err) != MF_OK) errors++;
        }
        free(p);
    }
    printf("#   %d damaged files read, %d errors\n", reads, errors);
    CHECK(errors > 0);
}

/* Inputs the fuzzer found (tests/parquet/regress/): read without a crash
 * or, under ASan/UBSan, a report; each is an error or values. */
static void test_fuzz_regressions(void) {
    DIR *d = opendir("tests/parquet/regress");
    CHECK(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "tests/parquet/regress/%s", e->d_name);
        mf_error err;
        (void)read_all(path, &err);
        Mf__DataSourceSpec ds = MF__DATA_SOURCE_SPEC__INIT;
        mf__pqsrc *q;
        int orc = mf__pqsrc_open(path, &ds, NULL, &q, &err);
        if (!strcmp(e->d_name, "dup_names.parquet")) {
            /* two columns named 'tz': columns are found by name */
            CHECK(orc == MF_EDATA);
            CHECK_HAS(err.message, "two columns named 'tz'");
        }
        if (orc == MF_OK) {
            const mf__cell *cells;
            while (mf__pqsrc_next(q, &cells, &err) == 1) {
            }
            mf__pqsrc_close(q);
        }
        n++;
    }
    closedir(d);
    CHECK(n >= 2);
}

/*---- The writer -----------------------------------------------------------------*/

/* Write a table of every type, read it back, compare; with pages cut at
 * page_bytes of values. *size: the file's size. */
static void write_read(size_t page_bytes, long *size) {
    *size = -1;
    mf__pq_write_group_rows = 1000;
    mf__pq_write_page_rows = 300;
    mf__pq_write_page_bytes = page_bytes;
    size_t n = 2500;
    static const Mf__ValueType types[] = {
        MF__VALUE_TYPE__VT_INT32, MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_FLOAT,
        MF__VALUE_TYPE__VT_DOUBLE, MF__VALUE_TYPE__VT_BOOL, MF__VALUE_TYPE__VT_STRING,
        MF__VALUE_TYPE__VT_BYTES, MF__VALUE_TYPE__VT_UNIX_TIMESTAMP,
        MF__VALUE_TYPE__VT_INT64_LIST, MF__VALUE_TYPE__VT_STRING_LIST,
        MF__VALUE_TYPE__VT_DOUBLE_LIST, MF__VALUE_TYPE__VT_UNIX_TIMESTAMP_LIST};
    size_t nc = sizeof types / sizeof *types;
    mf_table *t = mf__table_new(nc + 1);
    t->nrows = n;
    char buf[128];
    mf__buf want;
    mf__buf_init(&want);
    for (size_t c = 0; c <= nc; c++) {
        char name[16];
        snprintf(name, sizeof name, "c%zu", c);
        mf__col_init(&t->cols[c], name, c < nc ? types[c] : MF__VALUE_TYPE__VT_STRING, c == nc);
    }
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c <= nc; c++) {
            mf__col *col = &t->cols[c];
            if (c < nc && (r + c) % 9 == 4) {
                mf__col_push_null(col);
                continue;
            }
            long v = (long)(r % 37) - 18; /* repeats: dictionaries */
            switch (c < nc ? types[c] : MF__VALUE_TYPE__VT_STRING) {
            case MF__VALUE_TYPE__VT_INT32: snprintf(buf, sizeof buf, "%ld", v * 1000); break;
            case MF__VALUE_TYPE__VT_INT64: snprintf(buf, sizeof buf, "%ld", (long)r * 1000000007L); break;
            case MF__VALUE_TYPE__VT_FLOAT: snprintf(buf, sizeof buf, "%ld.25", v); break;
            case MF__VALUE_TYPE__VT_DOUBLE: snprintf(buf, sizeof buf, "%.17g", (double)r / 7); break;
            case MF__VALUE_TYPE__VT_BOOL: snprintf(buf, sizeof buf, "%s", r % 3 ? "true" : "false"); break;
            case MF__VALUE_TYPE__VT_STRING: snprintf(buf, sizeof buf, c == nc ? "p%zu" : "s%ld é", c == nc ? r : (size_t)v); break;
            case MF__VALUE_TYPE__VT_BYTES: snprintf(buf, sizeof buf, "b%zu", r); break;
            case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP: snprintf(buf, sizeof buf, "%ld", 1735689600L + (long)r * 61); break;
            case MF__VALUE_TYPE__VT_INT64_LIST: snprintf(buf, sizeof buf, r % 5 ? "[%ld,%zu]" : "[]", v, r); break;
            case MF__VALUE_TYPE__VT_STRING_LIST: snprintf(buf, sizeof buf, "[\"x%ld\",\"y\"]", v); break;
            case MF__VALUE_TYPE__VT_DOUBLE_LIST: snprintf(buf, sizeof buf, "[%ld.5]", v); break;
            default: snprintf(buf, sizeof buf, "[\"2025-01-0%zuT00:00:00Z\"]", 1 + r % 9); break;
            }
            CHECK(mf__col_push_text(col, buf, strlen(buf)) == 0);
        }
    /* the expected texts: what CSV output would hold */
    for (size_t c = 0; c <= nc; c++)
        for (size_t r = 0; r < n; r++) {
            size_t len;
            char nb[64];
            const char *p = mf__col_text(&t->cols[c], r, nb, &len);
            mf__buf_printf(&want, "%s%s=", want.len ? ";" : "", t->cols[c].name);
            if (!t->cols[c].valid[r]) mf__buf_puts(&want, "NULL");
            else if (types[c < nc ? c : 0] == MF__VALUE_TYPE__VT_BYTES && c < nc)
                for (size_t k = 0; k < len; k++) mf__buf_printf(&want, "%02X", (unsigned char)p[k]);
            else mf__buf_put(&want, p, len);
        }
    char path[128];
    snprintf(path, sizeof path, "%s/w.parquet", tmpdir);
    mf_error err;
    int rc = mf__pq_write_table(t, path, true, &err);
    mf_table_free(t);
    mf__pq_write_group_rows = (size_t)1 << 20;
    mf__pq_write_page_rows = (size_t)1 << 16;
    mf__pq_write_page_bytes = (size_t)1 << 28;
    if (rc) printf("#   %s\n", err.message);
    CHECK(rc == MF_OK);
    mf__pq_file *f;
    CHECK(mf__pq_open(path, &f, &err) == MF_OK);
    CHECK(mf__pq_nrowgroups(f) == 3);
    CHECK(mf__pq_col_at(f, 5)->kind == MF__PQ_STRING && mf__pq_col_at(f, 6)->kind == MF__PQ_BYTES);
    CHECK(mf__pq_col_at(f, 7)->kind == MF__PQ_TS && mf__pq_col_at(f, 8)->list);
    int64_t mn, mx;
    CHECK(!mf__pq_rg_ts_range(f, 0, 7, &mn, &mx)); /* it has nulls */
    mf__pq_close(f);
    /* read back by column: regroup the dump (row groups, then columns) */
    char *d = dump(path, &err, &rc);
    CHECK(rc == MF_OK);
    /* compare as sets of "col=value" in order per column */
    mf__buf got;
    mf__buf_init(&got);
    for (size_t c = 0; c <= nc; c++) {
        char pre[16];
        int pl = snprintf(pre, sizeof pre, "c%zu=", c);
        for (char *s = d; s && *s;) {
            char *e = strchr(s, ';');
            size_t l = e ? (size_t)(e - s) : strlen(s);
            if (!strncmp(s, pre, (size_t)pl)) {
                if (got.len) mf__buf_putc(&got, ';');
                mf__buf_put(&got, s, l);
            }
            s = e ? e + 1 : NULL;
        }
    }
    free(d);
    int same = !strcmp(got.data ? got.data : "", want.data ? want.data : "");
    if (!same) {
        size_t k = 0;
        while (got.data[k] && got.data[k] == want.data[k]) k++;
        printf("#   differs at %zu: got ...%.60s\n#   want ...%.60s\n", k, got.data + k, want.data + k);
    }
    mf__buf_free(&got);
    mf__buf_free(&want);
    CHECK(same);
    struct stat st;
    if (stat(path, &st) == 0) *size = (long)st.st_size;
}

static long default_size;

static void test_write_read(void) { write_read((size_t)1 << 28, &default_size); }

/* Pages also end by bytes (a page's sizes are 32-bit fields): cut at 600
 * bytes, the same values read back, from a file of more pages. */
static void test_write_read_small_pages(void) {
    long small;
    write_read(600, &small);
    CHECK(default_size > 0 && small > default_size);
}

/* Row groups outside a source's time range are not read. */
static void test_stats_skip(void) {
    mf__pq_write_group_rows = 100;
    size_t n = 1000;
    mf_table *t = mf__table_new(2);
    t->nrows = n;
    mf__col_init(&t->cols[0], "ts", MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, false);
    mf__col_init(&t->cols[1], "x", MF__VALUE_TYPE__VT_INT64, false);
    for (size_t r = 0; r < n; r++) {
        mf__col_push_i64(&t->cols[0], (int64_t)(1735689600 + r) * 1000000);
        mf__col_push_i64(&t->cols[1], (int64_t)r);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/s.parquet", tmpdir);
    mf_error err;
    int rc = mf__pq_write_table(t, path, false, &err);
    mf_table_free(t);
    mf__pq_write_group_rows = (size_t)1 << 20;
    CHECK(rc == MF_OK);
    Mf__DataSourceSpec ds = MF__DATA_SOURCE_SPEC__INIT;
    ds.timestamp_field = "ts";
    const char *cols[] = {"ts", "x"};
    /* rows 250..449: row groups 2, 3 and 4 (rows 200..499) are read */
    mf__source_hint h = {"materialize", (int64_t)(1735689600 + 250) * 1000000,
                         (int64_t)(1735689600 + 449) * 1000000, cols, 2};
    mf__pqsrc *q;
    CHECK(mf__pqsrc_open(path, &ds, &h, &q, &err) == MF_OK);
    const mf__cell *cells;
    int64_t seen = 0, first = -1;
    while ((rc = mf__pqsrc_next(q, &cells, &err)) == 1) {
        if (first < 0) first = cells[1].i;
        seen++;
    }
    mf__pqsrc_close(q);
    CHECK(rc == 0);
    CHECK(seen == 300 && first == 200);
    /* no hint: every row */
    CHECK(mf__pqsrc_open(path, &ds, NULL, &q, &err) == MF_OK);
    seen = 0;
    while (mf__pqsrc_next(q, &cells, &err) == 1) seen++;
    mf__pqsrc_close(q);
    CHECK(seen == 1000);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mf_test_pq_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_duckdb_fixtures);
    RUN(test_unsupported_codec);
    RUN(test_handmade);
    RUN(test_truncated);
    RUN(test_flipped);
    RUN(test_fuzz_regressions);
    RUN(test_write_read);
    RUN(test_write_read_small_pages);
    RUN(test_coverage);
    RUN(test_stats_skip);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    MFT_END();
}
