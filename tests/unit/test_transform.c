/*
 * test_transform.c — unit tests of the transform runtime (transform.c):
 * on-demand views built by hand (text, mode, schema), inputs as typed
 * columns, outputs checked cell by cell.
 *
 * Checked: row mode over numbers, nulls in and out (nil and `null`),
 * every scalar type and lists both ways, UnixTimestamp as seconds; batch
 * mode (columns and a row count); the schema rules (a missing output, an
 * extra output, a wrong type, a non-table result, a list holding null,
 * too many batch values), each an error naming the view, the output and the
 * row; a Lua error named at the definition file's line; the budget per
 * call (an endless loop, runaway memory, a backtracking pattern) in row
 * and batch mode, and the next call running normally after it; nothing of
 * one call visible to the next (globals, libraries, modules, the row
 * table); inputs of any name and of any number; compiling once per generation; which texts can loop; and that a
 * typical transform stays compiled by the JIT (LuaJIT's trace events: at
 * least one trace, no abort).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "mf_internal.h"
#include "mf_transform.h"
#include "mft.h"

/*---- Helpers ---------------------------------------------------------------*/

typedef struct odfv {
    Mf__OnDemandFeatureView v;
    Mf__OnDemandFeatureViewSpec s;
    Mf__Meta m;
    Mf__Field f[8];
    Mf__Field *fp[8];
} odfv;

/* A view "o" with the transform text `src` (at line 10 of defs.lua) and
 * outputs names[i] of types types[i]. */
static void make_view(odfv *o, const char *src, const char *mode, size_t nf,
                      const char *const *names, const Mf__ValueType *types) {
    memset(o, 0, sizeof *o);
    mf__on_demand_feature_view__init(&o->v);
    mf__on_demand_feature_view_spec__init(&o->s);
    mf__meta__init(&o->m);
    o->s.name = (char *)"o";
    o->s.transform_source = (char *)src;
    o->s.mode = (char *)mode;
    o->s.transform_file = (char *)"defs.lua";
    o->s.transform_line = 10;
    for (size_t i = 0; i < nf; i++) {
        mf__field__init(&o->f[i]);
        o->f[i].name = (char *)names[i];
        o->f[i].dtype = types[i];
        o->fp[i] = &o->f[i];
    }
    o->s.features = o->fp;
    o->s.n_features = nf;
    o->v.spec = &o->s;
    o->m.file = (char *)"defs.lua";
    o->m.line = 9;
    o->v.meta = &o->m;
}

static mf__transforms *rt(void) {
    mf__transforms *t = NULL;
    mf_error err;
    mf__lua_budget b = {200000, 32u << 20, 2000};
    if (mf__transforms_new(&b, &t, &err) != MF_OK) printf("#   new: %s\n", err.message);
    return t;
}

/* A column named `name` of type ty from text cells ("" = null). */
static void col_of(mf__col *c, const char *name, Mf__ValueType ty, const char *const *cells,
                   size_t n) {
    mf__col_init(c, name, ty, false);
    for (size_t i = 0; i < n; i++)
        if (mf__col_push_text(c, cells[i], strlen(cells[i])) != 0)
            printf("#   bad test cell '%s'\n", cells[i]);
}

/* Text of row i of c ("" for null). */
static const char *cell(const mf__col *c, size_t i, char *buf) {
    size_t len;
    if (!c->valid[i]) return "<null>";
    const char *t = mf__col_text(c, i, buf, &len);
    static char out[256];
    snprintf(out, sizeof out, "%.*s", (int)len, t);
    return out;
}

#define CHECK_CELL(c, i, want)                                                \
    do {                                                                      \
        char b_[64];                                                          \
        CHECK_STR(cell((c), (i), b_), (want));                                \
    } while (0)

/* Run o over inputs and expect failure with code and phrases. */
static bool fails(mf__transforms *t, uint64_t gen, odfv *o, const mf__tf_input *in, size_t nin,
                  size_t n, int code, const char *p1, const char *p2) {
    mf__col out[8];
    for (size_t j = 0; j < o->s.n_features; j++)
        mf__col_init(&out[j], o->f[j].name, o->f[j].dtype, false);
    mf_error err;
    mf__err_clear(&err);
    int rc = mf__transforms_run(t, gen, &o->v, in, nin, n, out, &err);
    for (size_t j = 0; j < o->s.n_features; j++) mf__col_free(&out[j]);
    bool ok = rc == code && err.code == code && strstr(err.message, p1) &&
              (!p2 || strstr(err.message, p2));
    if (!ok) printf("#   rc %d (want %d): %s:%d: %s\n", rc, code, err.file, err.line, err.message);
    return ok;
}

/*---- Tests -------------------------------------------------------------------*/

static void test_row_mode(void) {
    mf__transforms *t = rt();
    CHECK(t);
    if (!t) return;
    static const char *const names[] = {"c", "d"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_DOUBLE, MF__VALUE_TYPE__VT_INT64};
    odfv o;
    make_view(&o, "function(r)\n  return { c = r.a and r.a * 2 + r.b or null, d = r.b }\nend",
              "row", 2, names, types);
    static const char *const a[] = {"1.5", "", "-4"}, *const b[] = {"10", "20", "30"};
    mf__col ca, cb;
    col_of(&ca, "a", MF__VALUE_TYPE__VT_DOUBLE, a, 3);
    col_of(&cb, "b", MF__VALUE_TYPE__VT_INT64, b, 3);
    mf__tf_input in[] = {{"a", &ca}, {"b", &cb}};
    mf__col out[2];
    mf__col_init(&out[0], "c", types[0], false);
    mf__col_init(&out[1], "d", types[1], false);
    mf_error err;
    CHECK(mf__transforms_run(t, 1, &o.v, in, 2, 3, out, &err) == MF_OK);
    CHECK(out[0].n == 3 && out[1].n == 3);
    CHECK_CELL(&out[0], 0, "13");
    CHECK_CELL(&out[0], 1, "<null>");
    CHECK_CELL(&out[0], 2, "22");
    CHECK_CELL(&out[1], 2, "30");
    /* a second call appends, from the compiled transform */
    CHECK(mf__transforms_run(t, 1, &o.v, in, 2, 1, out, &err) == MF_OK);
    CHECK(out[0].n == 4);
    CHECK_CELL(&out[0], 3, "13");
    for (int j = 0; j < 2; j++) mf__col_free(&out[j]);
    mf__col_free(&ca);
    mf__col_free(&cb);
    mf__transforms_free(t);
}

static void test_types_both_ways(void) {
    mf__transforms *t = rt();
    if (!t) return;
    static const char *const names[] = {"i32", "i64", "f32", "f64", "s", "by", "bo", "ts"};
    static const Mf__ValueType types[] = {
        MF__VALUE_TYPE__VT_INT32, MF__VALUE_TYPE__VT_INT64, MF__VALUE_TYPE__VT_FLOAT,
        MF__VALUE_TYPE__VT_DOUBLE, MF__VALUE_TYPE__VT_STRING, MF__VALUE_TYPE__VT_BYTES,
        MF__VALUE_TYPE__VT_BOOL, MF__VALUE_TYPE__VT_UNIX_TIMESTAMP};
    odfv o;
    make_view(&o,
              "function(r)\n"
              "  assert(type(r.ts) == 'number' and r.ts == 1735689600.5, 'ts as seconds')\n"
              "  assert(#r.l == 3 and r.l[3] == 2^53, 'list as array')\n"
              "  assert(r.flag == true and r.name == 'caf\\195\\169', 'bool and string')\n"
              "  return { i32 = -2147483648, i64 = 2^53, f32 = 0.5, f64 = r.x / 3,\n"
              "    s = r.name:upper(), by = 'x\\0y', bo = not r.flag, ts = r.ts + 60 }\n"
              "end",
              "row", 8, names, types);
    static const char *const ts[] = {"2025-01-01T00:00:00.5Z"}, *const l[] = {"[1,2,9007199254740992]"},
                             *const fl[] = {"true"}, *const nm[] = {"caf\xc3\xa9"},
                             *const x[] = {"1"};
    mf__col cts, cl, cf, cn, cx;
    col_of(&cts, "ts", MF__VALUE_TYPE__VT_UNIX_TIMESTAMP, ts, 1);
    col_of(&cl, "l", MF__VALUE_TYPE__VT_INT64_LIST, l, 1);
    col_of(&cf, "flag", MF__VALUE_TYPE__VT_BOOL, fl, 1);
    col_of(&cn, "name", MF__VALUE_TYPE__VT_STRING, nm, 1);
    col_of(&cx, "x", MF__VALUE_TYPE__VT_DOUBLE, x, 1);
    mf__tf_input in[] = {{"ts", &cts}, {"l", &cl}, {"flag", &cf}, {"name", &cn}, {"x", &cx}};
    mf__col out[8];
    for (int j = 0; j < 8; j++) mf__col_init(&out[j], names[j], types[j], false);
    mf_error err;
    int rc = mf__transforms_run(t, 1, &o.v, in, 5, 1, out, &err);
    if (rc) printf("#   %s\n", err.message);
    CHECK(rc == MF_OK);
    CHECK_CELL(&out[0], 0, "-2147483648");
    CHECK_CELL(&out[1], 0, "9007199254740992");
    CHECK_CELL(&out[2], 0, "0.5");
    CHECK_CELL(&out[3], 0, "0.3333333333333333");
    CHECK_CELL(&out[4], 0, "CAF\xc3\xa9");
    CHECK(out[5].valid[0] && out[5].off[1] - out[5].off[0] == 3 &&
          !memcmp(out[5].heap + out[5].off[0], "x\0y", 3));
    CHECK_CELL(&out[6], 0, "false");
    CHECK_CELL(&out[7], 0, "2025-01-01T00:01:00.500000Z");
    for (int j = 0; j < 8; j++) mf__col_free(&out[j]);
    /* lists out */
    static const char *const ln[] = {"l"};
    static const Mf__ValueType lt[] = {MF__VALUE_TYPE__VT_INT64_LIST};
    odfv o2;
    make_view(&o2, "function(r) return { l = { r.l[1] * 2, -1, 0 } } end", "row", 1, ln, lt);
    mf__col lo;
    mf__col_init(&lo, "l", lt[0], false);
    CHECK(mf__transforms_run(t, 1, &o2.v, in, 5, 1, &lo, &err) == MF_OK);
    CHECK_CELL(&lo, 0, "[2,-1,0]");
    mf__col_free(&lo);
    mf__col_free(&cts);
    mf__col_free(&cl);
    mf__col_free(&cf);
    mf__col_free(&cn);
    mf__col_free(&cx);
    mf__transforms_free(t);
}

static void test_batch_mode(void) {
    mf__transforms *t = rt();
    if (!t) return;
    static const char *const names[] = {"c"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_DOUBLE};
    odfv o;
    make_view(&o,
              "function(cols, n)\n"
              "  local a, out = cols.a, {}\n"
              "  for i = 1, n do out[i] = a[i] and a[i] + 1 end\n"
              "  return { c = out }\n"
              "end",
              "batch", 1, names, types);
    static const char *const a[] = {"1", "", "3", "4"};
    mf__col ca;
    col_of(&ca, "a", MF__VALUE_TYPE__VT_DOUBLE, a, 4);
    mf__tf_input in[] = {{"a", &ca}};
    mf__col out;
    mf__col_init(&out, "c", types[0], false);
    mf_error err;
    CHECK(mf__transforms_run(t, 1, &o.v, in, 1, 4, &out, &err) == MF_OK);
    CHECK(out.n == 4);
    CHECK_CELL(&out, 0, "2");
    CHECK_CELL(&out, 1, "<null>");
    CHECK_CELL(&out, 3, "5");
    mf__col_free(&out);
    /* the batch rules */
    odfv b;
    make_view(&b, "function(cols, n) return { } end", "batch", 1, names, types);
    CHECK(fails(t, 2, &b, in, 1, 4, MF_ELUA, "on-demand feature view 'o': output 'c' is missing",
                NULL));
    make_view(&b, "function(cols, n) return { c = { 1, 2, 3, 4, 5 } } end", "batch", 1, names,
              types);
    CHECK(fails(t, 3, &b, in, 1, 4, MF_ELUA, "output 'c' has more values than the 4 rows", NULL));
    make_view(&b, "function(cols, n) return { c = cols.a, e = {} } end", "batch", 1, names, types);
    CHECK(fails(t, 4, &b, in, 1, 4, MF_ELUA, "output 'e' is not in the schema (outputs: c)", NULL));
    make_view(&b, "function(cols, n) return { c = { 1, 'x' } } end", "batch", 1, names, types);
    CHECK(fails(t, 5, &b, in, 1, 4, MF_ELUA, "output 'c' must be a number, got 'x' (batch row 2)",
                NULL));
    make_view(&b, "function(cols, n) while true do end end", "batch", 1, names, types);
    CHECK(fails(t, 6, &b, in, 1, 4, MF_ELIMIT, "on-demand feature view 'o' stopped after 800000 "
                "Lua instructions", "lua.transform_max_instructions in feature_store.yaml, for "
                "each of the call's 4 rows"));
    /* more rows than one call takes: several calls, rows numbered across them */
    enum { BIG = 3 * MF__TF_BATCH_ROWS + 5 };
    mf__col cbig;
    mf__col_init(&cbig, "a", MF__VALUE_TYPE__VT_DOUBLE, false);
    for (int i = 0; i < BIG; i++) mf__col_push_num(&cbig, i);
    mf__tf_input inb[] = {{"a", &cbig}};
    mf__col_init(&out, "c", types[0], false);
    CHECK(mf__transforms_run(t, 1, &o.v, inb, 1, BIG, &out, &err) == MF_OK);
    CHECK(out.n == BIG);
    CHECK_CELL(&out, BIG - 1, "12293");
    CHECK_CELL(&out, MF__TF_BATCH_ROWS, "4097");
    mf__col_free(&out);
    make_view(&b, "function(cols, n) local o = {} for i = 1, n do o[i] = cols.a[i] == 9000 and 'x' or 1 end "
              "return { c = o } end", "batch", 1, names, types);
    CHECK(fails(t, 7, &b, inb, 1, BIG, MF_ELUA, "output 'c' must be a number, got 'x' (batch row 9001)",
                NULL));
    mf__col_free(&cbig);
    mf__col_free(&ca);
    mf__transforms_free(t);
}

static void test_schema_rules(void) {
    mf__transforms *t = rt();
    if (!t) return;
    static const char *const names[] = {"c"};
    static const Mf__ValueType i32[] = {MF__VALUE_TYPE__VT_INT32};
    static const Mf__ValueType str[] = {MF__VALUE_TYPE__VT_STRING};
    static const Mf__ValueType lst[] = {MF__VALUE_TYPE__VT_STRING_LIST};
    static const char *const a[] = {"1", "2"};
    mf__col ca;
    col_of(&ca, "a", MF__VALUE_TYPE__VT_INT64, a, 2);
    mf__tf_input in[] = {{"a", &ca}};
    odfv o;
    uint64_t gen = 1;
    make_view(&o, "function(r) return { } end", "row", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "output 'c' is missing (return null for a null "
                "value) (row 1)", NULL));
    make_view(&o, "function(r) return { c = 1, cc = 2 } end", "row", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "output 'cc' is not in the schema (outputs: c)",
                NULL));
    make_view(&o, "function(r) return { c = r.a + 0.5 } end", "row", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "output 'c' must be a whole number in the Int32 "
                "range, got 1.5 (row 1)", NULL));
    make_view(&o, "function(r) if r.a == 2 then return { c = 2^31 } end return { c = 1 } end",
              "row", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "got 2147483648 (row 2)", NULL));
    make_view(&o, "function(r) return { c = 'caf\\233' } end", "row", 1, names, str);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "output 'c' must be a string of UTF-8 text", NULL));
    make_view(&o, "function(r) return { c = { 'x', null } } end", "row", 1, names, lst);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "element 2 is null", NULL));
    /* a Float32 output past the float range is refused, as such a value
     * in a source or a list is (it was stored as infinity, and answered
     * online as null with status PRESENT); infinity itself passes, as in
     * a source */
    static const Mf__ValueType f32[] = {MF__VALUE_TYPE__VT_FLOAT};
    make_view(&o, "function(r) return { c = r.a == 1 and 1 or -1e300 } end", "row", 1, names, f32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "output 'c' must be a number in the Float32 "
                "range, got -1.0000000000000001e+300 (row 2)", NULL));
    make_view(&o, "function(r) return { c = r.a == 1 and 1/0 or -1/0 } end", "row", 1, names,
              f32);
    {
        mf__col fo;
        mf__col_init(&fo, "c", f32[0], false);
        mf_error ferr;
        CHECK(mf__transforms_run(t, gen++, &o.v, in, 1, 2, &fo, &ferr) == MF_OK);
        CHECK(fo.n == 2 && isinf(((float *)fo.data)[0]) && ((float *)fo.data)[0] > 0 &&
              isinf(((float *)fo.data)[1]) && ((float *)fo.data)[1] < 0);
        mf__col_free(&fo);
    }
    /* list elements as a list cell's text takes them: finite, in range
     * (they were written as null and as inf, which is not JSON) */
    static const Mf__ValueType lf32[] = {MF__VALUE_TYPE__VT_FLOAT_LIST};
    static const Mf__ValueType lf64[] = {MF__VALUE_TYPE__VT_DOUBLE_LIST};
    make_view(&o, "function(r) return { c = { 1.5, 1e39 } } end", "row", 1, names, lf32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "element 2 is 9.9999999999999994e+38: a list holds",
                NULL));
    make_view(&o, "function(r) return { c = { 0/0 } } end", "row", 1, names, lf64);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "element 1 is", "finite numbers"));
    make_view(&o, "function(r) return { c = { 1, -1/0 } } end", "row", 1, names, lf64);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "element 2 is", "finite numbers"));
    make_view(&o, "function(r) return { c = { 3.4e38, -1e-45 } } end", "row", 1, names, lf32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_OK, "", NULL)); /* the edges still fit */
    /* a Bytes list element is UTF-8 text (a list cell is JSON text; it was
     * written with U+FFFD for each byte that is not) */
    static const Mf__ValueType lby[] = {MF__VALUE_TYPE__VT_BYTES_LIST};
    make_view(&o, "function(r) return { c = { 'b', '\\255\\0a' } } end", "row", 1, names, lby);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "element 2 is not UTF-8 text", NULL));
    make_view(&o, "function(r) return { c = { 'caf\\195\\169', 'a\\0b' } } end", "row", 1, names,
              lby);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_OK, "", NULL)); /* UTF-8, NUL included */
    /* batch outputs are read raw: a metatable's __index does not run
     * outside the error handler (its error lost its place) */
    make_view(&o, "function(cols, n) return setmetatable({}, { __index = function() "
                  "error('from __index') end }) end", "batch", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "output 'c' is missing", NULL));
    /* text that passes for one function expression but returns a closure
     * (its counter was shared by every row and request) */
    make_view(&o, "function() end and (function() local n = 0 return function(r) n = n + 1 "
              "return { c = n } end end)() or function() end", "row", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "the transform uses 'n' from outside its body",
                NULL));
    make_view(&o, "function(r) return 5 end", "row", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "the transform must return a table of outputs, "
                "got 5 (row 1)", NULL));
    /* a Lua error: named at the line of the definition file */
    make_view(&o, "function(r)\n  local x = nil\n  return { c = x.y }\nend", "row", 1, names, i32);
    mf__col out;
    mf__col_init(&out, "c", i32[0], false);
    mf_error err;
    CHECK(mf__transforms_run(t, gen++, &o.v, in, 1, 2, &out, &err) == MF_ELUA);
    CHECK_STR(err.file, "defs.lua");
    CHECK(err.line == 12);
    CHECK_HAS(err.message, "on-demand feature view 'o': attempt to index local 'x'");
    mf__col_free(&out);
    /* a stdlib misuse in a tail call (the caller's frame is gone, the
     * message has no place): placed at the transform */
    make_view(&o, "function(r) local m = require 'mf.math' return m.clamp(1, 5, 1) end", "row", 1,
              names, i32);
    mf__col_init(&out, "c", i32[0], false);
    CHECK(mf__transforms_run(t, gen++, &o.v, in, 1, 2, &out, &err) == MF_ELUA);
    CHECK_STR(err.file, "defs.lua");
    CHECK(err.line == 10);
    CHECK_HAS(err.message, "mf.math.clamp");
    mf__col_free(&out);
    /* a text that does not compile or is not a function */
    make_view(&o, "function(r) return { c = 1 }", "row", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "on-demand feature view 'o': ", "expected"));
    make_view(&o, "42", "row", 1, names, i32);
    CHECK(fails(t, gen++, &o, in, 1, 2, MF_ELUA, "the transform is not a function", NULL));
    mf__col_free(&ca);
    mf__transforms_free(t);
}

static void test_budget_per_call(void) {
    mf__transforms *t = rt();
    if (!t) return;
    static const char *const names[] = {"c"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_DOUBLE};
    static const char *const a[] = {"1", "2", "3"};
    mf__col ca;
    col_of(&ca, "a", MF__VALUE_TYPE__VT_DOUBLE, a, 3);
    mf__tf_input in[] = {{"a", &ca}};
    odfv o;
    make_view(&o, "function(r)\n  if r.a == 2 then\n    while true do end\n  end\n  return { c = r.a }\nend",
              "row", 1, names, types);
    mf__col out;
    mf__col_init(&out, "c", types[0], false);
    mf_error err;
    CHECK(mf__transforms_run(t, 1, &o.v, in, 1, 3, &out, &err) == MF_ELIMIT);
    CHECK_HAS(err.message, "on-demand feature view 'o' stopped after 200000 Lua instructions (the "
              "limit is lua.transform_max_instructions in feature_store.yaml)");
    CHECK_STR(err.file, "defs.lua");
    CHECK(err.line == 12);
    CHECK(out.n == 1); /* row 1 went through; the budget is per call */
    mf__col_free(&out);
    /* the next call runs normally */
    mf__col_init(&out, "c", types[0], false);
    CHECK(mf__transforms_run(t, 1, &o.v, in, 1, 1, &out, &err) == MF_OK);
    mf__col_free(&out);
    /* a loop that pcall tries to survive */
    make_view(&o, "function(r) while true do pcall(function() while true do end end) end end",
              "row", 1, names, types);
    CHECK(fails(t, 2, &o, in, 1, 1, MF_ELIMIT, "lua.transform_max_instructions", NULL));
    /* runaway memory, then a backtracking pattern */
    make_view(&o, "function(r) local t = {} local i = 0 while true do i = i + 1 t[i] = ('x'):rep(1e6) .. i end end",
              "row", 1, names, types);
    CHECK(fails(t, 3, &o, in, 1, 1, MF_ELIMIT, "Lua memory would exceed 32 MiB",
                "lua.transform_max_memory_mb"));
    make_view(&o, "function(r) local s = ('a'):rep(40) return { c = #s:match(('a?'):rep(40) .. s) } end",
              "row", 1, names, types);
    CHECK(fails(t, 4, &o, in, 1, 1, MF_ELIMIT, "lua.transform_max_instructions", NULL));
    /* and after all that, the runtime still works */
    make_view(&o, "function(r) return { c = r.a * 10 } end", "row", 1, names, types);
    mf__col_init(&out, "c", types[0], false);
    CHECK(mf__transforms_run(t, 5, &o.v, in, 1, 3, &out, &err) == MF_OK);
    CHECK_CELL(&out, 2, "30");
    mf__col_free(&out);
    mf__col_free(&ca);
    mf__transforms_free(t);
}

/* Memory an earlier call left behind is garbage that later calls must not
 * be refused for. LuaJIT starts a collection only once the heap has grown
 * to twice what the last one kept: a collection that ended while half the
 * cap or more was in use (during a call that held it) puts that point past
 * the cap, and then every later call only piled its garbage up to the cap
 * and failed there, for good. Found by fuzz_transform (a transform that
 * filled the cap, then the known transform after it refused). Here the
 * collection runs from C while 8 MiB of a 16 MiB cap is in use, as
 * LuaJIT's own would during such a call. */
static int run_chunk(mf__lstate *s, const char *src, mf_error *err) {
    mf__lstate_begin(s);
    int rc = mf__lstate_load(s, src, strlen(src), "=test", err);
    return rc ? rc : mf__lstate_pcall(s, 0, 0, err);
}

static void test_garbage_not_charged(void) {
    mf__lua_budget b = {50000000, 16u << 20, 5000};
    mf__lstate *s = mf__lstate_new(&b, true);
    if (!s) return;
    mf_error err;
    CHECK(run_chunk(s, "big = {} for i = 1, 700000 do big[i] = i end", &err) == MF_OK);
    lua_gc(mf__lstate_L(s), LUA_GCCOLLECT, 0);
    CHECK(run_chunk(s, "big = nil", &err) == MF_OK);
    int failed = -1;
    for (int i = 0; i < 40 && failed < 0; i++) /* ~1 MiB of garbage each */
        if (run_chunk(s, "local t = {} for i = 1, 100000 do t[i] = i end", &err) != MF_OK) {
            printf("#   call %d: %s\n", i, err.message);
            failed = i;
        }
    CHECK(failed < 0);
    mf__lstate_free(s);
}

/* A call that fills the cap, with collections from the count hook on the
 * way (each one seeing the call's own tables live): what the call held is
 * garbage once it ends, and the next calls must not be refused for it. An
 * interpreted state (as definitions, stores and providers run). */
static void test_garbage_after_full_call(void) {
    mf__lua_budget b = {2000000000, 16u << 20, 20000};
    mf__lstate *s = mf__lstate_new(&b, false);
    if (!s) return;
    mf_error err;
    CHECK(run_chunk(s, "local t = {} for i = 1, 1e7 do t[i] = {i} end", &err) == MF_ELIMIT);
    int failed = -1;
    for (int i = 0; i < 6 && failed < 0; i++)
        if (run_chunk(s, "local x = {} for i = 1, 20000 do x[i] = {i} end", &err) != MF_OK) {
            printf("#   call %d after the full one: %s\n", i, err.message);
            failed = i;
        }
    CHECK(failed < 0);
    mf__lstate_free(s);
}

/* Inputs built from C (no hook runs there) of over half the cap, then a
 * Lua loop over them, call after call, as a batch transform's calls go:
 * each call's inputs are garbage once it ends, and never make the next
 * call's inputs fail. */
static int build_input(lua_State *L, void *ud) {
    (void)ud;
    char buf[1024];
    memset(buf, 'x', sizeof buf);
    lua_createtable(L, 9000, 0);
    for (int i = 1; i <= 9000; i++) {
        snprintf(buf, 16, "%08d", i + (int)(intptr_t)ud * 10000); /* distinct strings */
        lua_pushlstring(L, buf, sizeof buf);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "inp");
    return MF_OK;
}

static void test_garbage_of_inputs(void) {
    mf__lua_budget b = {2000000000, 16u << 20, 20000};
    mf__lstate *s = mf__lstate_new(&b, false);
    if (!s) return;
    mf_error err;
    static const char loop[] = "local n = 0 for k = 1, 3 do for i = 1, #inp do n = n + #inp[i] end end "
                               "inp = nil";
    int failed = -1;
    for (int call = 0; call < 8 && failed < 0; call++) {
        mf__lstate_begin(s);
        int brc = -1;
        int rc = mf__lstate_cpcall(s, build_input, (void *)(intptr_t)call, &brc, &err);
        if (rc == MF_OK) rc = brc;
        if (rc == MF_OK) rc = mf__lstate_load(s, loop, strlen(loop), "=test", &err);
        if (rc == MF_OK) rc = mf__lstate_pcall(s, 0, 0, &err);
        if (rc != MF_OK) {
            printf("#   call %d: %s\n", call, err.message);
            failed = call;
        }
    }
    CHECK(failed < 0);
    mf__lstate_free(s);
}

/* Inputs larger than the Lua memory cap (text of 40 MB against 32 MiB):
 * building the call's input table or columns runs out of memory outside
 * the transform, which LuaJIT answers by ending the process unless that
 * work runs in a protected call. It must be an error, and the runtime must
 * go on working after it; in row and batch mode. */
static void test_inputs_over_the_memory_cap(void) {
    mf__transforms *t = rt();
    if (!t) return;
    static const char *const names[] = {"c"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_INT64};
    size_t big = (size_t)40 << 20;
    char *text = malloc(big + 1);
    if (!text) return;
    memset(text, 'x', big);
    text[big] = '\0';
    const char *cells[] = {"ab", text, "abc"};
    mf__col cs;
    col_of(&cs, "s", MF__VALUE_TYPE__VT_STRING, cells, 3);
    free(text);
    mf__tf_input in[] = {{"s", &cs}};
    static const char *const modes[] = {"row", "batch"};
    static const char *const srcs[] = {"function(r) return { c = #r.s } end",
                                       "function(c, n) local o = {} for i = 1, n do o[i] = #c.s[i] end "
                                       "return { c = o } end"};
    for (int m = 0; m < 2; m++) {
        odfv o;
        make_view(&o, srcs[m], modes[m], 1, names, types);
        CHECK(fails(t, (uint64_t)(10 + m), &o, in, 1, 3, MF_ELIMIT, "Lua memory would exceed 32 MiB",
                    "lua.transform_max_memory_mb"));
        /* the first row alone still goes through */
        mf__col out;
        mf__col_init(&out, "c", types[0], false);
        mf_error err;
        int rc = mf__transforms_run(t, (uint64_t)(10 + m), &o.v, in, 1, 1, &out, &err);
        if (rc != MF_OK) printf("#   %s, one row: %s\n", modes[m], err.message);
        CHECK(rc == MF_OK);
        if (rc == MF_OK) CHECK_CELL(&out, 0, "2");
        mf__col_free(&out);
    }
    mf__col_free(&cs);
    mf__transforms_free(t);
}

/* Lua's own functions keep their behaviour in the sandbox: xpcall passes
 * its extra arguments on; a recursion through string.gsub's replacement
 * function is an error of the call at a bounded depth (each level holds a
 * buffer on the C stack), never a crash, and the next call runs. */
static void test_sandbox_functions(void) {
    mf__transforms *t = rt();
    if (!t) return;
    static const char *const names[] = {"c"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_DOUBLE};
    static const char *const a[] = {"1"};
    mf__col ca;
    col_of(&ca, "a", MF__VALUE_TYPE__VT_DOUBLE, a, 1);
    mf__tf_input in[] = {{"a", &ca}};
    odfv o;
    mf__col out;
    mf_error err;
    make_view(&o, "function(r) local ok, x, y = xpcall(function(...) return ... end, tostring, 1, 2)"
              " return { c = ok and x + y or -1 } end", "row", 1, names, types);
    mf__col_init(&out, "c", types[0], false);
    CHECK(mf__transforms_run(t, 1, &o.v, in, 1, 1, &out, &err) == MF_OK);
    CHECK_CELL(&out, 0, "3");
    mf__col_free(&out);
    make_view(&o, "function(r) local function g(d) return (('x'):gsub('x', function() return "
              "g(d + 1) end)) end g(0) return { c = 1 } end", "row", 1, names, types);
    CHECK(fails(t, 2, &o, in, 1, 1, MF_ELUA, "string.gsub nested more than 64 deep", NULL));
    make_view(&o, "function(r) local s = ('abc'):gsub('%w', function(c) return (c:gsub('.', "
              "'%0%0')) end) return { c = #s } end", "row", 1, names, types);
    mf__col_init(&out, "c", types[0], false);
    CHECK(mf__transforms_run(t, 3, &o.v, in, 1, 1, &out, &err) == MF_OK);
    CHECK_CELL(&out, 0, "6");
    mf__col_free(&out);
    mf__col_free(&ca);
    mf__transforms_free(t);
}

/* Nothing of one call is seen by the next. */
static void test_calls_isolated(void) {
    mf__transforms *t = rt();
    if (!t) return;
    static const char *const names[] = {"c"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_DOUBLE};
    static const char *const a[] = {"1"};
    mf__col ca;
    col_of(&ca, "a", MF__VALUE_TYPE__VT_DOUBLE, a, 1);
    mf__tf_input in[] = {{"a", &ca}};
    odfv o;
    make_view(&o, "function(r) counter = 1 return { c = 1 } end", "row", 1, names, types);
    CHECK(fails(t, 1, &o, in, 1, 1, MF_ELUA, "the globals of a transform cannot be changed "
                "(a transform tried to set 'counter')", NULL));
    make_view(&o, "function(r) rawset(_G, 'x', 1) return { c = 1 } end", "row", 1, names, types);
    CHECK(fails(t, 2, &o, in, 1, 1, MF_ELUA, "a read-only table cannot be changed", NULL));
    make_view(&o, "function(r) string.upper = nil return { c = 1 } end", "row", 1, names, types);
    CHECK(fails(t, 3, &o, in, 1, 1, MF_ELUA, "string cannot be changed", NULL));
    /* table.insert, table.remove and table.sort write raw, as rawset does */
    static const char *const raw_writes[] = {
        "function(r) table.insert(_G, 'x') return { c = #_G } end",
        "function(r) table.insert(string, 1, 'y') return { c = #string } end",
        "function(r) table.remove(table) return { c = 1 } end",
        "function(r) table.sort(math) return { c = 1 } end"};
    for (size_t i = 0; i < MF__ARRAY_LEN(raw_writes); i++) {
        make_view(&o, raw_writes[i], "row", 1, names, types);
        CHECK(fails(t, 30 + i, &o, in, 1, 1, MF_ELUA, "a read-only table cannot be changed", NULL));
    }
    make_view(&o, "function(r) local m = require 'mf.math' m.clamp = print return { c = 1 } end",
              "row", 1, names, types);
    CHECK(fails(t, 4, &o, in, 1, 1, MF_ELUA, "module 'mf.math' cannot be changed", NULL));
    make_view(&o, "function(r) return { c = nothing_here } end", "row", 1, names, types);
    CHECK(fails(t, 5, &o, in, 1, 1, MF_ELUA, "undefined global 'nothing_here'", NULL));
    /* a seed would decide the next calls' random numbers */
    make_view(&o, "function(r) math.randomseed(r.a) return { c = math.random(1000) } end", "row",
              1, names, types);
    CHECK(fails(t, 7, &o, in, 1, 1, MF_ELUA, "math.randomseed is not available in a transform",
                NULL));
    /* the row table is new on every call */
    make_view(&o, "function(r) local seen = r.mark r.mark = true return { c = seen and 1 or 0 } end",
              "row", 1, names, types);
    mf__col out;
    mf__col_init(&out, "c", types[0], false);
    mf_error err;
    CHECK(mf__transforms_run(t, 6, &o.v, in, 1, 1, &out, &err) == MF_OK);
    CHECK(mf__transforms_run(t, 6, &o.v, in, 1, 1, &out, &err) == MF_OK);
    CHECK_CELL(&out, 0, "0");
    CHECK_CELL(&out, 1, "0");
    mf__col_free(&out);
    /* the sandbox's escapes stay closed */
    make_view(&o, "function(r) return { c = io and 1 or 0 } end", "row", 1, names, types);
    CHECK(fails(t, 7, &o, in, 1, 1, MF_ELUA, "undefined global 'io'", NULL));
    static const struct {
        const char *src, *phrase;
    } escapes[] = {
        {"function(r) return { c = loadstring('return 1')() } end", "undefined global 'loadstring'"},
        {"function(r) return { c = load('return 1')() } end", "undefined global 'load'"},
        {"function(r) return { c = #string.dump(print) } end", "attempt to call field 'dump'"},
        {"function(r) return { c = #(''):dump() } end", "attempt to call method 'dump'"},
        {"function(r) return { c = debug.getinfo(1).currentline } end", "undefined global 'debug'"},
        {"function(r) return { c = require('ffi') and 1 } end", "module 'ffi' not found"},
        {"function(r) os.execute('true') return { c = 1 } end", "attempt to call field 'execute'"},
        {"function(r) setmetatable(_G, nil) return { c = 1 } end",
         "cannot change a protected metatable"},
        {"function(r) getmetatable('').__index.upper = nil return { c = 1 } end",
         "attempt to index a boolean value"},
        {"function(r) return { c = getfenv(1) and 1 } end", "undefined global 'getfenv'"},
        {"function(r) return { c = jit.version } end", "undefined global 'jit'"},
    };
    for (size_t e = 0; e < MF__ARRAY_LEN(escapes); e++) {
        make_view(&o, escapes[e].src, "row", 1, names, types);
        CHECK(fails(t, 100 + e, &o, in, 1, 1, MF_ELUA, escapes[e].phrase, NULL));
    }
    make_view(&o, "function(r) return { c = getmetatable('') and 1 or 0 } end", "row", 1, names,
              types);
    mf__col_init(&out, "c", types[0], false);
    CHECK(mf__transforms_run(t, 8, &o.v, in, 1, 1, &out, &err) == MF_OK);
    CHECK_CELL(&out, 0, "0");
    mf__col_free(&out);
    mf__col_free(&ca);
    mf__transforms_free(t);
}

/* Inputs reach the row table under their own names whatever bytes those
 * hold (the row call is generated Lua text), a null input is absent from
 * it, and past the generated call's limit (150 inputs) the table is built
 * the other way with the same result. */
static void test_input_names(void) {
    mf__transforms *t = rt();
    CHECK(t);
    if (!t) return;
    static const char *const names[] = {"c"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_DOUBLE};
    odfv o;
    make_view(&o, "function(r)\n  local n = 0\n  for _ in pairs(r) do n = n + 1 end\n"
                  "  return { c = r['a\"b'] * 1000 + r['c\\\\d'] * 100 + r['\\195\\169]] x'] * 10 + n }\nend",
              "row", 1, names, types);
    static const char *const one[] = {"1"}, *const two[] = {"2"}, *const three[] = {"3"},
                             *const none[] = {""};
    mf__col c1, c2, c3, c4;
    col_of(&c1, "a\"b", MF__VALUE_TYPE__VT_DOUBLE, one, 1);
    col_of(&c2, "c\\d", MF__VALUE_TYPE__VT_DOUBLE, two, 1);
    col_of(&c3, "\xc3\xa9]] x", MF__VALUE_TYPE__VT_DOUBLE, three, 1);
    col_of(&c4, "gone", MF__VALUE_TYPE__VT_DOUBLE, none, 1);
    mf__tf_input in[] = {{"a\"b", &c1}, {"c\\d", &c2}, {"\xc3\xa9]] x", &c3}, {"gone", &c4}};
    mf__col out;
    mf__col_init(&out, "c", types[0], false);
    mf_error err;
    CHECK(mf__transforms_run(t, 1, &o.v, in, 4, 1, &out, &err) == MF_OK);
    CHECK_CELL(&out, 0, "1233");
    mf__col_free(&out);
    mf__col_free(&c1);
    mf__col_free(&c2);
    mf__col_free(&c3);
    mf__col_free(&c4);
    /* 149, 150, 151 and 200 inputs: the sum of every value, and how many */
    static const size_t counts[] = {149, 150, 151, 200};
    make_view(&o, "function(r)\n  local s, n = 0, 0\n  for _, v in pairs(r) do s, n = s + v, n + 1 end\n"
                  "  return { c = s * 1000 + n }\nend", "row", 1, names, types);
    for (size_t k = 0; k < MF__ARRAY_LEN(counts); k++) {
        size_t m = counts[k];
        mf__col *cols = calloc(m, sizeof *cols);
        mf__tf_input *ins = calloc(m, sizeof *ins);
        char (*nm)[24] = calloc(m, sizeof *nm);
        double sum = 0;
        for (size_t i = 0; i < m; i++) {
            char v[24];
            snprintf(nm[i], sizeof nm[i], "in%zu", i);
            snprintf(v, sizeof v, "%zu", i % 7);
            sum += (double)(i % 7);
            const char *cells[] = {v, v};
            col_of(&cols[i], nm[i], MF__VALUE_TYPE__VT_DOUBLE, cells, 2);
            ins[i] = (mf__tf_input){nm[i], &cols[i]};
        }
        mf__col_init(&out, "c", types[0], false);
        CHECK(mf__transforms_run(t, 2, &o.v, ins, m, 2, &out, &err) == MF_OK);
        char want[32];
        snprintf(want, sizeof want, "%.0f", sum * 1000 + (double)m);
        CHECK_CELL(&out, 0, want);
        CHECK_CELL(&out, 1, want);
        mf__col_free(&out);
        for (size_t i = 0; i < m; i++) mf__col_free(&cols[i]);
        free(cols);
        free(ins);
        free(nm);
    }
    mf__transforms_free(t);
}

static void test_can_loop(void) {
    static const struct {
        const char *src;
        bool loops;
    } cases[] = {
        {"function(r) return { c = r.a * 2 } end", false},
        {"function(r) for i = 1, 3 do end return {} end", true},
        {"function(r) while r.a do end end", true},
        {"function(r) repeat until true end", true},
        {"function(r) goto x ::x:: end", true},
        {"function(r) local f = function() end return {} end", true},
        {"function(r) local s = 'for while' return { c = s } end", false},
        {"function(r) -- a for loop? no\n return {} end", false},
        {"function(r) --[==[ while ]] repeat ]==] return {} end", false},
        {"function(r) return { c = [[\nfunction for]] } end", false},
        {"function(r) return { c = \"say \\\"while\\\"\" } end", false},
        {"function(r) return { format = 1, forward = r.whilst, c = 0x1f } end", false},
        {"function(r) local x = 1e+10 return { c = x } end", false},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        bool got = mf__transform_can_loop(cases[i].src, strlen(cases[i].src));
        if (got != cases[i].loops) printf("#   %s: got %d\n", cases[i].src, got);
        CHECK(got == cases[i].loops);
    }
}

/* Run the row transform src (one Float64 output "c") as generation gen
 * over the n rows of in (its two inputs), into out (cleared first), under
 * a JIT watch; print the counts under `what`, set *traces and *aborts, and
 * return the call's code. */
static int run_watched(mf__transforms *t, uint64_t gen, const char *src, const char *what,
                       const mf__tf_input *in, size_t n, mf__col *out, int *traces, int *aborts) {
    static const char *const names[] = {"c"};
    static const Mf__ValueType types[] = {MF__VALUE_TYPE__VT_DOUBLE};
    odfv o;
    make_view(&o, src, "row", 1, names, types);
    mf__col_clear(out);
    mf_error err;
    mf__transforms_jit_watch(t);
    int rc = mf__transforms_run(t, gen, &o.v, in, 2, n, out, &err);
    mf__transforms_jit_counts(t, traces, aborts);
    printf("# %s over %zu rows: %d traces, %d aborts\n", what, n, *traces, *aborts);
    return rc;
}

/* A typical transform is compiled by the JIT: LuaJIT's trace events, seen
 * from a plain state running the same text the way the runtime does. */
static void test_jit_compiles_typical(void) {
    mf__transforms *t = rt();
    if (!t) return;
    enum { N = 20000 };
    mf__col ca, cb, out;
    mf__col_init(&ca, "conv_rate", MF__VALUE_TYPE__VT_DOUBLE, false);
    mf__col_init(&cb, "val_to_add", MF__VALUE_TYPE__VT_INT64, false);
    for (int i = 0; i < N; i++) {
        mf__col_push_num(&ca, i / 100.0);
        mf__col_push_i64(&cb, i);
    }
    mf__tf_input in[] = {{"conv_rate", &ca}, {"val_to_add", &cb}};
    mf__col_init(&out, "c", MF__VALUE_TYPE__VT_DOUBLE, false);
    int traces = 0, aborts = 0;
    CHECK(run_watched(t, 1, "function(r) return { c = r.conv_rate * 100 + r.val_to_add } end",
                      "typical transform", in, N, &out, &traces, &aborts) == MF_OK);
    CHECK(traces >= 1);
    CHECK(aborts == 0);
    CHECK_CELL(&out, N - 1, "39998");
    /* one calling loop-free stdlib functions (through require) is compiled
     * too: those functions and the helpers they call are left to the JIT.
     * The first call's require loads the module through the sandbox's own
     * require, which is JIT-off: a trace being recorded then ends there
     * (whether one is, is a matter of timing), once; a function that stays
     * JIT-off ends one at every try, until LuaJIT gives up (some 15) */
    CHECK(run_watched(t, 2,
                      "function(r) local m = require('mf.math') "
                      "return { c = m.clamp(r.conv_rate, 0, 1) + m.log1p(r.val_to_add) } end",
                      "transform calling mf.math.clamp and log1p", in, N, &out, &traces,
                      &aborts) == MF_OK);
    CHECK(traces >= 1);
    CHECK(aborts <= 2);
    /* and one calling mf.time.age_now (os.time, the sandbox's checked one) */
    CHECK(run_watched(t, 3,
                      "function(r) local t = require('mf.time') "
                      "return { c = t.age_now(r.val_to_add) } end",
                      "transform calling mf.time.age_now", in, N, &out, &traces,
                      &aborts) == MF_OK);
    CHECK(traces >= 1);
    CHECK(aborts <= 2);
    /* one calling a stdlib function that loops is interpreted where it
     * calls it: a trace reaching the call is aborted there, never compiled
     * through the loop (tests/e2e/transforms.sh: such a loop stops at the
     * budget) */
    CHECK(run_watched(t, 4,
                      "function(r) local m = require('mf.math') "
                      "return { c = m.mean({ r.conv_rate, r.val_to_add }) } end",
                      "transform calling mf.math.mean", in, N, &out, &traces, &aborts) == MF_OK);
    CHECK(aborts >= 1);
    CHECK_CELL(&out, N - 1, "10099.495");
    /* a transform that loops is interpreted: no trace at all */
    CHECK(run_watched(t, 5,
                      "function(r) local s = 0 for i = 1, 10 do s = s + i end return { c = s } end",
                      "looping transform", in, N, &out, &traces, &aborts) == MF_OK);
    CHECK(traces == 0);
    mf__col_free(&out);
    mf__col_free(&ca);
    mf__col_free(&cb);
    mf__transforms_free(t);
}

int main(void) {
    RUN(test_garbage_not_charged);
    RUN(test_sandbox_functions);
    RUN(test_garbage_after_full_call);
    RUN(test_garbage_of_inputs);
    RUN(test_row_mode);
    RUN(test_types_both_ways);
    RUN(test_batch_mode);
    RUN(test_schema_rules);
    RUN(test_budget_per_call);
    RUN(test_inputs_over_the_memory_cap);
    RUN(test_calls_isolated);
    RUN(test_input_names);
    RUN(test_can_loop);
    RUN(test_jit_compiles_typical);
    MFT_END();
}
