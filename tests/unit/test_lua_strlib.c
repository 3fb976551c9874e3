/*
 * test_lua_strlib.c — unit tests of lua_strlib.c: Lua's string pattern
 * functions (find, match, gmatch, gsub) with their work charged.
 *
 * The oracle is LuaJIT itself. Every case calls LuaJIT's own string.find /
 * match / gmatch / gsub and ours in one lua_State (a plain luaL_newstate,
 * JIT off as in the sandbox), from the same line of Lua, and compares every
 * result (how many, their types and values, gmatch's whole iteration) and
 * every error message, location and all (the calls are not tail calls, so
 * that errors carry one). The cases: a hand-written list of
 * tricky ones (init and plain in find, NUL bytes in subject and pattern,
 * every class over all 256 bytes, sets, captures and their limit, the
 * recursion limit, %b, %f, malformed patterns, gsub's replacement kinds and
 * max_n, numbers as arguments, argument errors), then random cases: random
 * patterns from the grammar of the Lua 5.1 manual (§5.4.1), malformed ones
 * included, over random subjects of a small alphabet with NUL bytes, '%'
 * and brackets.
 *
 * Then the budget: with a charge function that raises after N steps, the
 * exponential and polynomial patterns of the issue (and a few more shapes:
 * back-references, %b, plain find, gsub templates, gmatch) stop with that
 * error, quickly (a watchdog turns a hang into a failure); the steps of a
 * linear match grow in proportion to the subject; charges come in batches.
 * Last a rough speed comparison with LuaJIT's own, printed as '#' lines and
 * not asserted.
 */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#include "mf_internal.h"
#include "mft.h"

/*---- The state and the charge functions ------------------------------------*/

static lua_State *L;

static uint64_t charged;        /* steps charged since reset_charge() */
static uint64_t charge_calls;   /* calls of the charge function since then */
static uint64_t charge_limit;   /* raise once charged exceeds this */

static void reset_charge(uint64_t limit) {
    charged = 0;
    charge_calls = 0;
    charge_limit = limit;
}

/* The charge function given to mf__lua_strlib_patterns: counts, and raises
 * like mf__lua_charge once the limit is passed. */
static void test_charge(lua_State *Ls, uint64_t steps) {
    charged += steps;
    charge_calls++;
    if (charged > charge_limit) {
        lua_pushstring(Ls, "test budget spent");
        lua_error(Ls);
    }
}

/* A hang must fail the test, not the whole run: the budget tests run under
 * a watchdog. */
static const char *watched = "";

static void on_alarm(int sig) {
    (void)sig;
    static const char pre[] = "not ok - ", post[] = " (timed out: the work was not stopped)\n";
    ssize_t w = write(1, pre, sizeof pre - 1);
    w = write(1, watched, strlen(watched));
    w = write(1, post, sizeof post - 1);
    (void)w;
    _exit(1);
}

static void watch(const char *name, unsigned seconds) {
    watched = name;
    alarm(seconds);
}

/*---- The Lua side of the differential test --------------------------------*/

/* Chunk called with (ours, LuaJIT's string table); returns check(name, args)
 * -> nil or (description, want, got), the list of values named V.x for
 * replacements and bad arguments, and run_tricky() -> cases, mismatches,
 * report of the first ones. */
static const char driver_lua[] =
    "local F, S = ...\n"
    "local unpack, select, pcall, type, tostring = unpack, select, pcall, type, tostring\n"
    "local format, rep, concat = S.format, S.rep, table.concat\n"
    "local function pack(...) return { n = select('#', ...), ... } end\n"
    "local calls = {}\n"
    /* not tail calls: a tail call hands the C function pcall's frame, so
     * neither LuaJIT nor ours would add a location to its errors */
    "function calls.find(T, a) local r = pack(T.find(unpack(a, 1, a.n))) return unpack(r, 1, r.n) end\n"
    "function calls.match(T, a) local r = pack(T.match(unpack(a, 1, a.n))) return unpack(r, 1, r.n) end\n"
    "function calls.gsub(T, a) local r = pack(T.gsub(unpack(a, 1, a.n))) return unpack(r, 1, r.n) end\n"
    "function calls.gmatch(T, a)\n"
    "  local it = T.gmatch(unpack(a, 1, a.n))\n"
    "  local out = { n = 0 }\n"
    "  for i = 1, 64 do\n"
    "    local r = pack(it())\n"
    "    out[i], out.n = r, i\n"
    "    if r.n == 0 or r[1] == nil then break end\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "function calls.method_find(T, a) local o = { find = T.find } local r = pack(o:find(unpack(a, 1, a.n))) return unpack(r, 1, r.n) end\n"
    "function calls.method_gsub(T, a) local o = { gsub = T.gsub } local r = pack(o:gsub(unpack(a, 1, a.n))) return unpack(r, 1, r.n) end\n"
    "local V = {\n"
    "  t_letters = { a = 'A', b = false, x = '%1', ['1'] = 'one', [1] = 'first', [2] = 2.5,\n"
    "                ['%'] = 'pct', ['('] = true, [')'] = {} },\n"
    "  t_empty = {},\n"
    "  t_meta = setmetatable({}, { __index = function(t, k)\n"
    "    if type(k) == 'string' then return '<' .. k .. '>' end return k end }),\n"
    "  f_id = function(...) return ... end,\n"
    "  f_count = function(...) return select('#', ...) end,\n"
    "  f_second = function(a, b) return b end,\n"
    "  f_false = function() return false end,\n"
    "  f_nil = function() end,\n"
    "  f_table = function() return {} end,\n"
    "  f_true = function() return true end,\n"
    "  f_concat = function(a, b) return tostring(a) .. '|' .. tostring(b) end,\n"
    "  f_error = function(a) error('boom ' .. tostring(a)) end,\n"
    "  bad_table = {},\n"
    "}\n"
    "local Vlist, Vname = {}, {}\n"
    "for k, v in pairs(V) do Vlist[#Vlist + 1] = k end\n"
    "table.sort(Vlist)\n"
    "for i, k in ipairs(Vlist) do Vlist[i] = V[k]; Vname[V[k]] = 'V.' .. k end\n"
    "local function ser(v)\n"
    "  local t = type(v)\n"
    "  if Vname[v] then return Vname[v] end\n"
    "  if t == 'string' then return format('%q', v) end\n"
    "  if t == 'number' then return format('%.17g', v) end\n"
    "  if t ~= 'table' then return tostring(v) end\n"
    "  local parts = {}\n"
    "  for i = 1, v.n or 0 do parts[i] = ser(v[i]) end\n"
    "  return '(' .. concat(parts, ', ') .. ')'\n"
    "end\n"
    "local function check(name, a)\n"
    "  local want = ser(pack(pcall(calls[name], S, a)))\n"
    "  local got = ser(pack(pcall(calls[name], F, a)))\n"
    "  if want ~= got then return name .. ser(a), want, got end\n"
    "end\n"
    "local tricky = {}\n"
    "local function c(name, ...) tricky[#tricky + 1] = { name, pack(...) } end\n"
    /* find: init, plain, the no-specials path */
    "for _, i in ipairs({ 1, 0, 2, 4, 5, 6, 7, 100, -1, -2, -5, -6, -100, 3.9, -1.5,\n"
    "    2^31 - 1, 2^31, 2^32 + 3, -2^31, -2^31 - 1, 2^53, 0/0, 1/0, -1/0,\n"
    "    '3', ' 0x3 ', '1e0', '3x', '', V.bad_table, true }) do\n"
    "  c('find', 'hello', 'l', i); c('find', 'hello', 'l.', i); c('find', 'hello', '', i)\n"
    "  c('match', 'hello', '.', i); c('find', 'hello', 'l', i, true)\n"
    "end\n"
    "c('find', 'hello', 'l', nil); c('find', 'hello', 'l', nil, true)\n"
    "for _, p in ipairs({ true, false, 0, '', 'x', V.bad_table }) do\n"
    "  c('find', 'a.b', '.', 1, p); c('find', 'a.b', '.', nil, p)\n"
    "end\n"
    "for _, p in ipairs({ ')', ']', 'a)b', '+', '^', '$', '*', '?', '.', '(', '[', '%', '-',\n"
    "    '}', '~', '\\0b', '\\0b.', '%z', '[%z]b', 'b\\0', 'b\\0$' }) do\n"
    "  c('find', 'a)b]+^$*?.([%-}~a\\0b', p); c('find', 'a)b]', p, 1, true); c('match', 'a)b]', p)\n"
    "end\n"
    "c('find', '', ''); c('find', '', '', 2); c('find', '', 'a'); c('find', 'a', 'aa')\n"
    "for _, p in ipairs({ 'a-', 'a*', 'a+', 'a?', 'a.', '(a)', '%a', '[a]', '^a', 'a$' }) do\n"
    "  c('find', 'xa-a*a+a?a.(a)%a[a]^aa$', p)\n"
    "end\n"
    "c('find', 'abc', '^b'); c('find', 'abc', '^b', 2); c('find', 'abc', '^a', 2)\n"
    "c('find', 'abc', 'c$'); c('find', 'abc', 'b$'); c('find', 'a$c', '$c'); c('find', 'a$c', 'a$c')\n"
    "c('match', 'a^b', 'a^b'); c('match', 'x', 'x$$'); c('match', 'x$', 'x$$'); c('match', '', '^$')\n"
    "c('match', 'abc', '^(.-)$'); c('match', 'aaa', 'a-'); c('match', 'aaa', 'a-$'); c('match', 'aaab', 'a*b')\n"
    "c('match', 'aaa', 'a?a?a?aaa'); c('match', '[[x]]', '%[(.-)%]'); c('match', ' x ', '^%s*(.-)%s*$')\n"
    /* every class and set over all bytes */
    "local all = {}\n"
    "for b = 0, 255 do all[#all + 1] = S.char(b) end\n"
    "all = concat(all)\n"
    "for l in S.gmatch('acdglpsuwxzACDGLPSUWXZqQbBfF%.[]-^$', '.') do\n"
    "  c('gsub', all, '%' .. l, '')\n"
    "  c('gsub', all, '[%' .. l .. ']', '')\n"
    "  c('gsub', all, '[^%' .. l .. ']', '')\n"
    "end\n"
    "for _, s in ipairs({ '[a-f]', '[f-a]', '[%a-z]', '[a-]', '[-a]', '[]]', '[^]]', '[]-a]',\n"
    "    '[^%d]', '[%]]', '[a%-z]', '[\\1-\\31]', '[\\0-\\31]', '[\\128-\\255]', '[^\\200-\\100]',\n"
    "    '[%w_]', '[^%w_]', '[.]', '[%%]', '[%[]', '[[]', '[a-c-e]', '[--/]', '[^-]', '[%^]', '[^^]' }) do\n"
    "  c('gsub', all, s, '')\n"
    "  c('gsub', all, s .. '+', '<%0>')\n"
    "end\n"
    /* captures, back-references, their limits */
    "c('match', 'hello world', '(h)(e)(l)(l)(o)'); c('match', 'hello', '()ll()'); c('find', 'hello', '()ll()')\n"
    "c('match', 'hello', '(h(el)(l)o)'); c('match', 'hello', '('); c('match', 'hello', ')')\n"
    "c('match', 'hello', '(()'); c('match', 'hello', '%1'); c('match', 'hello', '(l)%1')\n"
    "c('match', 'hello', '(l)%2'); c('match', 'hello', '(l%1)'); c('match', 'hello', '%0')\n"
    "c('match', 'hello', '()%1'); c('match', 'aa', '(a)%1'); c('match', 'abab', '(ab)%1$')\n"
    "c('find', 'hello', '(l)(l)'); c('find', 'hello', '(l'); c('match', 'x', '(x)%9')\n"
    "for k = 30, 34 do\n"
    "  c('match', 'x', rep('()', k)); c('find', 'x', rep('()', k))\n"
    "  c('match', 'x', rep('(', k) .. 'x' .. rep(')', k)); c('gsub', 'xx', rep('(', k) .. 'x' .. rep(')', k), V.f_count)\n"
    "end\n"
    /* the recursion limit */
    "for k = 196, 204 do\n"
    "  c('match', rep('a', k), rep('a?', k)); c('match', '', rep('a*', k)); c('match', 'b', rep('a-', k) .. 'b')\n"
    "  c('match', rep('ab', k), rep('a+b', k)); c('match', rep('a', k), rep('(a)', k))\n"
    "  c('match', rep('a', k), rep('a', k)); c('gmatch', rep('a', k), rep('a?', k))\n"
    "end\n"
    /* %b and %f */
    "c('match', 'f(a(b)c)d', '%b()'); c('match', 'f(a(b', '%b()'); c('match', 'x', '%b'); c('match', 'x', '%bx')\n"
    "c('match', '\"a\"b\"', '%b\"\"'); c('gsub', '(a)(b)((c))', '%b()', 'X'); c('match', 'xay', '%bxy%b')\n"
    "c('gsub', 'THE (quick) fox', '%f[%a]%a+', 'W'); c('find', 'x', '%fx'); c('find', 'x', '%f')\n"
    "c('find', 'hello', '%f[%l]'); c('find', 'hello', '%f[%z]'); c('find', 'hello', '%f[^%l]')\n"
    "c('match', 'a\\0b', '%f[%z].'); c('find', 'hello', '%f[%l]', 3); c('gmatch', 'the cat', '%f[%w]%w+')\n"
    "c('find', 'x', '%f['); c('find', 'x', '%f[x')\n"
    /* malformed patterns */
    "for _, p in ipairs({ '%', 'x%', '[', '[a', '[%', '[%]', '[^', '[]', '[^]', '[a-', '%f', 'a(', 'a)',\n"
    "    '(%', '[\\0]', '%\\0', 'a[]b]' }) do\n"
    "  c('match', 'x]', p); c('find', 'x]', p); c('gsub', 'x]', p, 'y'); c('gmatch', 'x]', p)\n"
    "end\n"
    /* gsub */
    "for _, n in ipairs({ 1, 0, -1, 2, 1.9, '1', 2^31, 2^32 + 1, -2^31 - 1, 0/0, 1/0, -1/0, 'x', V.bad_table }) do\n"
    "  c('gsub', 'hello world', 'o', '0', n); c('gsub', 'hello', '', '-', n)\n"
    "end\n"
    "c('gsub', 'hello world', 'o', '0', nil)\n"
    "for _, p in ipairs({ '', '^', '$', '^h', '^l', 'l*', 'l-', 'x*', '()', '(l)(l)', '(', '.', '^$' }) do\n"
    "  for _, r in ipairs({ '-', '%1', '%2', '%2%1', '%0%0', '%%', '%', 'a%', '%x', 'x\\0y', '%\\0', 5, 1.5 }) do\n"
    "    c('gsub', 'hello', p, r)\n"
    "  end\n"
    "  for _, v in ipairs(Vlist) do c('gsub', 'hello', p, v) end\n"
    "end\n"
    "for _, v in ipairs(Vlist) do\n"
    "  c('gsub', 'a(b)c%x1', '.', v); c('gsub', 'abc', '()', v); c('gsub', 'abc', '(%w)(%w)', v)\n"
    "end\n"
    "c('gsub', 'hello', 'l'); c('gsub', 'hello', 'l', nil); c('gsub', 'hello', 'l', true)\n"
    "c('gsub', 'hello', 'l', false); c('gsub', 'a\\0b\\0', '\\0', '-'); c('gsub', 'a\\0b', '%z', '0')\n"
    "c('gsub', 12345, 3, 9); c('gsub', 'x', 'x', 12); c('gsub', 'hello world', '(%w+)', '<%1>')\n"
    "c('gsub', 'abc', '%w', '%1'); c('gsub', 'abc', '', '-'); c('gsub', 'hello world', '%w+', '%0 %0', 1)\n"
    /* gmatch */
    "for _, p in ipairs({ '%a+', '', '^a', '^', '(%w+)=(%w+)', '()', '.-', 'x*', '(', '[', '$', 'a$', '()a' }) do\n"
    "  c('gmatch', 'one two  three', p); c('gmatch', '^a^a k=v, a=b', p); c('gmatch', '', p)\n"
    "end\n"
    "c('gmatch', nil, 'x'); c('gmatch', 'x'); c('gmatch', 123, 2); c('gmatch', 'x', 'x', 'extra')\n"
    /* argument types and numbers as strings */
    "c('find'); c('find', 'x'); c('find', nil, 'x'); c('find', V.bad_table, 'x'); c('find', 'x', true)\n"
    "c('match', 'x', V.bad_table); c('match'); c('gsub', 'x'); c('gsub', 'x', 'x'); c('gsub', true, 'x', 'y')\n"
    "c('gsub', 'x', nil, 'y'); c('gmatch', V.bad_table, 'x'); c('gmatch', 'x', false)\n"
    "c('method_find', 'x'); c('method_find', 'hello', 'l'); c('method_gsub', 'x', 'x')\n"
    "for _, s in ipairs({ 1e100, 0.1, -0.0, 2^53, 1/0, -1/0, 0/0, 123, -7.25 }) do\n"
    "  c('find', s, 'e'); c('match', s, '%d+'); c('match', s, '.*'); c('gsub', s, '%d', 'D')\n"
    "  c('find', 'x1e+100x-0.1', s, 1, true); c('gmatch', s, '.')\n"
    "end\n"
    "local function run_tricky()\n"
    "  local bad, report = 0, {}\n"
    "  for _, t in ipairs(tricky) do\n"
    "    local d, w, g = check(t[1], t[2])\n"
    "    if d then\n"
    "      bad = bad + 1\n"
    "      if bad <= 10 then report[#report + 1] = '#   ' .. d .. '\\n#     LuaJIT: ' .. w .. '\\n#     ours:   ' .. g end\n"
    "    end\n"
    "  end\n"
    "  return #tricky, bad, concat(report, '\\n')\n"
    "end\n"
    "return check, Vlist, run_tricky\n";

/* Registry references of check, Vlist and run_tricky. */
static int ref_check, ref_values, ref_tricky;
static int n_values;

/* Load the driver with ours in a table and LuaJIT's string table. */
static int load_driver(void) {
    if (luaL_loadbuffer(L, driver_lua, sizeof driver_lua - 1, "=driver") != 0) {
        printf("# driver: %s\n", lua_tostring(L, -1));
        return -1;
    }
    lua_newtable(L);
    mf__lua_strlib_patterns(L, test_charge);
    lua_getglobal(L, "string");
    if (lua_pcall(L, 2, 3, 0) != 0) {
        printf("# driver: %s\n", lua_tostring(L, -1));
        return -1;
    }
    ref_tricky = luaL_ref(L, LUA_REGISTRYINDEX);
    n_values = (int)lua_objlen(L, -1);
    ref_values = luaL_ref(L, LUA_REGISTRYINDEX);
    ref_check = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/*---- Random cases -----------------------------------------------------------*/

static uint64_t rng_state = 0x2545F4914F6CDD1Du;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}
static unsigned below(unsigned n) { return (unsigned)(rnd() % n); }
static bool chance(unsigned percent) { return below(100) < percent; }

/* One argument of a case. */
enum { A_NIL, A_STR, A_NUM, A_TRUE, A_FALSE, A_VALUE };
typedef struct targ {
    int kind;
    char s[160];
    size_t len;
    double num;
    int value; /* 1-based index into Vlist */
} targ;

typedef struct tcase {
    const char *fn;
    int nargs;
    targ a[4];
} tcase;

typedef struct sbuf {
    char *b;
    size_t n, cap;
} sbuf;

static void put(sbuf *o, const char *s, size_t n) {
    if (o->n + n > o->cap) n = o->cap - o->n;
    memcpy(o->b + o->n, s, n);
    o->n += n;
}
static void putc1(sbuf *o, char c) { put(o, &c, 1); }
static void puts0(sbuf *o, const char *s) { put(o, s, strlen(s)); }

/* Subject bytes: letters the patterns use, NUL, '%', brackets, specials, a
 * byte above 127. */
static const char subject_bytes[] = "aaabbx1A \0%[]()-.^$\xe9";

static void gen_subject(targ *t) {
    sbuf o = {t->s, 0, 24};
    unsigned n = below(13);
    for (unsigned i = 0; i < n; i++) putc1(&o, subject_bytes[below(sizeof subject_bytes - 1)]);
    t->kind = A_STR;
    t->len = o.n;
}

static const char *const classes[] = {"%a", "%c", "%d", "%g", "%l", "%p", "%s", "%u",
                                      "%w", "%x", "%z", "%A", "%D", "%S", "%W", "%Z",
                                      "%q", "%%", "%.", "%[", "%]", "%(", "%)", "%-",
                                      "%^", "%$", "%b", "%f"};

/* A bracket set, closed or (rarely) not. */
static void gen_set(sbuf *o) {
    putc1(o, '[');
    if (chance(25)) putc1(o, '^');
    if (chance(10)) putc1(o, ']');
    unsigned n = 1 + below(3);
    for (unsigned i = 0; i < n; i++) {
        switch (below(6)) {
        case 0: putc1(o, "ab1x%-]"[below(7)]); break;
        case 1: puts0(o, "a-b"); break;
        case 2: puts0(o, classes[below(MF__ARRAY_LEN(classes))]); break;
        case 3: putc1(o, '-'); break;
        case 4: putc1(o, "(^.[$"[below(5)]); break;
        default: putc1(o, "ab"[below(2)]); break;
        }
    }
    if (!chance(4)) putc1(o, ']');
}

/* A random pattern from the grammar of §5.4.1, malformed now and then. */
static void gen_pattern(targ *t) {
    sbuf o = {t->s, 0, sizeof t->s - 8};
    int open = 0;
    if (chance(15)) putc1(&o, '^');
    unsigned items = below(7);
    for (unsigned i = 0; i < items; i++) {
        bool single = true;
        switch (below(20)) {
        case 0: case 1: case 2: case 3: putc1(&o, "aabx1 "[below(6)]); break;
        case 4: putc1(&o, '.'); break;
        case 5: case 6: puts0(&o, classes[below(MF__ARRAY_LEN(classes) - 2)]); break;
        case 7: case 8: gen_set(&o); break;
        case 9:
            if (chance(30)) puts0(&o, "()"), single = false;
            else putc1(&o, '('), open++, single = false;
            break;
        case 10:
            if (open > 0 || chance(10)) putc1(&o, ')'), open--, single = false;
            break;
        case 11: putc1(&o, '%'), putc1(&o, "0112239"[below(7)]), single = false; break;
        case 12:
            puts0(&o, "%b");
            if (!chance(5)) putc1(&o, "(ab["[below(4)]);
            if (!chance(5)) putc1(&o, ")ab]"[below(4)]);
            single = false;
            break;
        case 13:
            puts0(&o, "%f");
            if (chance(90)) gen_set(&o);
            else putc1(&o, 'a');
            single = false;
            break;
        case 14: putc1(&o, '$'), single = false; break;
        case 15: if (chance(20)) putc1(&o, '\0'), single = false; break;
        case 16: putc1(&o, "]^-*+?"[below(6)]); break;
        default: putc1(&o, "ab"[below(2)]); break;
        }
        if (single && chance(40)) putc1(&o, "*+-?"[below(4)]);
    }
    while (open > 0 && chance(80)) putc1(&o, ')'), open--;
    if (chance(15)) putc1(&o, '$');
    if (chance(2)) putc1(&o, '%');
    t->kind = A_STR;
    t->len = o.n;
}

static const double odd_numbers[] = {12, 1.5, -3, 1e15, 1e16, 1e100, -0.0, 0.1, 2e-3};

/* Sometimes a number or a value of a wrong type instead of a string. */
static void gen_string_arg(targ *t, void (*gen)(targ *)) {
    unsigned r = below(100);
    if (r < 2) {
        t->kind = A_NUM;
        t->num = odd_numbers[below(MF__ARRAY_LEN(odd_numbers))];
    } else if (r < 3) {
        t->kind = "\0\3\5"[below(3)]; /* nil, true, a table */
        if (t->kind == A_VALUE) t->value = 1 + (int)below((unsigned)n_values);
    } else {
        gen(t);
    }
}

static const double inits[] = {1, 0, 2, 3, 5, 12, 13, 14, 100, -1, -2, -5, -13, -100,
                               2.5, -1.5, 2147483648.0, -2147483649.0, 4294967299.0};

static void gen_number_arg(targ *t, const double *pool, size_t n) {
    unsigned r = below(100);
    t->kind = A_NUM;
    if (r < 60) t->num = (double)((int)below(31) - 15);
    else if (r < 92) t->num = pool[below((unsigned)n)];
    else if (r < 95) t->kind = A_NIL;
    else if (r < 97) t->kind = A_STR, t->len = (size_t)snprintf(t->s, sizeof t->s, "%d", (int)below(5));
    else if (r < 98) t->kind = A_STR, t->len = (size_t)snprintf(t->s, sizeof t->s, "x");
    else t->kind = A_TRUE;
}

/* A gsub replacement template: bytes with '%' escapes of every kind. */
static void gen_template(targ *t) {
    sbuf o = {t->s, 0, 24};
    unsigned n = below(6);
    for (unsigned i = 0; i < n; i++) {
        if (chance(40)) {
            putc1(&o, '%');
            if (i + 1 < n || !chance(20)) putc1(&o, "0112239%xa\0"[below(11)]);
        } else {
            putc1(&o, "ab-\0["[below(5)]);
        }
    }
    t->kind = A_STR;
    t->len = o.n;
}

static void gen_case(tcase *c) {
    static const char *const fns[] = {"find", "match", "gmatch", "gsub"};
    memset(c, 0, sizeof *c);
    c->fn = fns[below(4)];
    gen_string_arg(&c->a[0], gen_subject);
    gen_string_arg(&c->a[1], gen_pattern);
    c->nargs = 2;
    if (strcmp(c->fn, "gsub") == 0) {
        unsigned r = below(100);
        targ *t = &c->a[2];
        if (r < 50) gen_template(t);
        else if (r < 55) t->kind = A_NUM, t->num = odd_numbers[below(4)];
        else if (r < 93) t->kind = A_VALUE, t->value = 1 + (int)below((unsigned)n_values);
        else t->kind = r < 96 ? A_NIL : A_TRUE;
        c->nargs = 3;
        if (chance(30)) gen_number_arg(&c->a[3], inits, MF__ARRAY_LEN(inits)), c->nargs = 4;
    } else if (strcmp(c->fn, "gmatch") != 0 && chance(60)) {
        gen_number_arg(&c->a[2], inits, MF__ARRAY_LEN(inits));
        c->nargs = 3;
        if (strcmp(c->fn, "find") == 0 && chance(40)) {
            c->a[3].kind = chance(50) ? A_TRUE : chance(50) ? A_FALSE : A_NIL;
            c->nargs = 4;
        }
    }
}

static void push_arg(const targ *t) {
    switch (t->kind) {
    case A_STR: lua_pushlstring(L, t->s, t->len); break;
    case A_NUM: lua_pushnumber(L, t->num); break;
    case A_TRUE: lua_pushboolean(L, 1); break;
    case A_FALSE: lua_pushboolean(L, 0); break;
    case A_VALUE:
        lua_rawgeti(L, LUA_REGISTRYINDEX, ref_values);
        lua_rawgeti(L, -1, t->value);
        lua_remove(L, -2);
        break;
    default: lua_pushnil(L); break;
    }
}

/* Run one case through check(). Returns 1 on a mismatch (reported while
 * *reported < 10), 0 when equal, -1 when the driver itself failed. */
static int run_case(const tcase *c, int *reported) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref_check);
    lua_pushstring(L, c->fn);
    lua_createtable(L, c->nargs, 1);
    for (int i = 0; i < c->nargs; i++) {
        push_arg(&c->a[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, c->nargs);
    lua_setfield(L, -2, "n");
    if (lua_pcall(L, 2, 3, 0) != 0) {
        printf("# driver error: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    int bad = !lua_isnil(L, -3);
    if (bad && (*reported)++ < 10)
        printf("#   %s\n#     LuaJIT: %s\n#     ours:   %s\n", lua_tostring(L, -3),
               lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 3);
    return bad;
}

/*---- Differential tests ------------------------------------------------------*/

static void test_tricky_cases_match_luajit(void) {
    reset_charge(UINT64_MAX);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref_tricky);
    CHECK(lua_pcall(L, 0, 3, 0) == 0);
    int cases = (int)lua_tointeger(L, -3), bad = (int)lua_tointeger(L, -2);
    if (bad) printf("%s\n", lua_tostring(L, -1));
    printf("# %d hand-written cases, %d differ from LuaJIT\n", cases, bad);
    lua_pop(L, 3);
    CHECK(cases > 1000);
    CHECK(bad == 0);
    CHECK(charged > 0); /* and the work was charged */
}

static void test_random_cases_match_luajit(void) {
    reset_charge(UINT64_MAX);
    int cases = 100000, bad = 0, reported = 0, errors = 0;
    for (int i = 0; i < cases; i++) {
        tcase c;
        gen_case(&c);
        int r = run_case(&c, &reported);
        if (r < 0) errors++;
        if (r > 0) bad++;
    }
    printf("# %d random cases, %d differ from LuaJIT\n", cases, bad);
    CHECK(errors == 0);
    CHECK(bad == 0);
}

/*---- Budget -------------------------------------------------------------------*/

/* Run `code` (a chunk called with our table as ...) under a charge function
 * that raises after `limit` steps. Returns the error message (a static copy)
 * or NULL when the chunk ran to its end. */
static const char *run_limited(const char *code, uint64_t limit) {
    static char msg[512];
    reset_charge(limit);
    if (luaL_loadstring(L, code) != 0) {
        snprintf(msg, sizeof msg, "load: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return msg;
    }
    lua_newtable(L);
    mf__lua_strlib_patterns(L, test_charge);
    int rc = lua_pcall(L, 1, 0, 0);
    if (rc == 0) return NULL;
    snprintf(msg, sizeof msg, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
    lua_pop(L, 1);
    return msg;
}

/* The shapes of unbounded work; each must stop at the budget. */
static const struct {
    const char *name, *code;
} runaway[] = {
    {"exponential a?^40 a^40",
     "local F = ... return F.match(('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40))"},
    {"polynomial .-.-.-.-b",
     "local F = ... return F.find(('a'):rep(1e5), '.-.-.-.-b')"},
    {"gsub with an exponential pattern",
     "local F = ... return F.gsub(('a'):rep(30), ('a?'):rep(30) .. ('a'):rep(30) .. 'b', 'x')"},
    {"gmatch of a polynomial pattern",
     "local F = ... for w in F.gmatch(('a'):rep(1e5), 'a*a*a*b') do end"},
    {"back-reference compares", "local F = ... return F.match(('a'):rep(2e5), '(.*)%1b')"},
    {"%b over a long subject", "local F = ... return F.find(('('):rep(2e5), '%b()')"},
    {"plain find of a long needle",
     "local F = ... return F.find(('a'):rep(4e6), ('a'):rep(2e6) .. 'b', 1, true)"},
    {"find of a long needle without specials",
     "local F = ... local p = ('y'):rep(1e6) for i = 1, 1e6 do F.find('x', p) end"},
    {"gsub template work (empty captures)",
     "local F = ... return F.gsub(('a'):rep(1e5), '(a-)', ('%1'):rep(1e5))"},
    {"sets of many bytes",
     "local F = ... return F.find(('a'):rep(1e5), '[' .. ('b'):rep(1e5) .. ']')"},
    /* no subject byte is tested there: the set's scan was charged 1 step */
    {"a set of many bytes at the subject's end",
     "local F = ... local p = '[' .. ('b'):rep(1e5) .. ']' for i = 1, 1e4 do F.match('', p) end"},
};

static void test_runaway_patterns_stop_at_the_budget(void) {
    for (size_t i = 0; i < MF__ARRAY_LEN(runaway); i++) {
        watch("test_runaway_patterns_stop_at_the_budget", 60);
        const char *msg = run_limited(runaway[i].code, 2000000);
        alarm(0);
        if (!msg || !strstr(msg, "test budget spent"))
            printf("#   %s: %s\n", runaway[i].name, msg ? msg : "ran to its end");
        CHECK(msg != NULL);
        CHECK_HAS(msg, "test budget spent");
        /* batches of 1024 steps, or one test of a long set */
        CHECK(charged > 2000000 && charged < 2000000 + 200000);
    }
}

/* The budget error can be caught by pcall in a plain state, and the state
 * and our functions stay usable afterwards. */
static void test_state_usable_after_budget_error(void) {
    const char *msg = run_limited(
        "local F = ...\n"
        "local ok, err = pcall(F.match, ('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40))\n"
        "assert(not ok and err == 'test budget spent', tostring(err))\n"
        "error('after')\n",
        100000);
    CHECK(msg != NULL);
    CHECK_HAS(msg, "after");
    msg = run_limited("local F = ...\n"
                      "local s, n = F.gsub('hello world', 'o', '0')\n"
                      "assert(s == 'hell0 w0rld' and n == 2)\n"
                      "assert(F.match('key=val', '(%w+)=(%w+)') == 'key')\n",
                      UINT64_MAX);
    CHECK(msg == NULL);
}

/* Steps charged by one call of `code` with subject length n. */
static uint64_t steps_for(const char *code, int n) {
    char chunk[512];
    snprintf(chunk, sizeof chunk, "local F = ... local n = %d\n%s", n, code);
    const char *msg = run_limited(chunk, UINT64_MAX);
    if (msg) printf("#   %s\n", msg);
    return msg ? 0 : charged;
}

static void test_linear_work_is_charged_in_proportion(void) {
    static const char *const linear[] = {
        "F.match('d' .. ('x'):rep(n - 1), '^[%a_][%w_]*$')",
        "F.find(('a'):rep(n), 'z')",
        "F.find(('a'):rep(n), '[z]')",
        "F.gsub(('a '):rep(n / 2), '%s+', ' ')",
        "for w in F.gmatch(('ab '):rep(n / 3), '%a+') do end",
        "F.find(('a'):rep(n), 'b', 1, true)",
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(linear); i++) {
        uint64_t s1 = steps_for(linear[i], 10000), s2 = steps_for(linear[i], 100000);
        double ratio = s1 ? (double)s2 / (double)s1 : 0;
        printf("# %s: %llu steps for 10^4 bytes, %llu for 10^5 (x%.2f)\n", linear[i],
               (unsigned long long)s1, (unsigned long long)s2, ratio);
        CHECK(s1 > 0);
        CHECK(ratio > 9.0 && ratio < 11.0);
    }
    /* each byte the matcher looks at costs a step or more */
    CHECK(steps_for("F.match(('x'):rep(n), '^x*$')", 100000) >= 100000);
}

static void test_charges_come_in_batches(void) {
    const char *msg = run_limited("local F = ... F.find(('a'):rep(1e6), '^a*b')", UINT64_MAX);
    CHECK(msg == NULL);
    printf("# %llu steps in %llu charges\n", (unsigned long long)charged,
           (unsigned long long)charge_calls);
    CHECK(charged > 1000000);
    CHECK(charge_calls <= charged / 1024 + 1);
    /* the remainder is charged when the call ends: a short match charges */
    msg = run_limited("local F = ... assert(F.match('abc', 'b') == 'b')", UINT64_MAX);
    CHECK(msg == NULL);
    CHECK(charged > 0 && charged < 1024 && charge_calls == 1);
}

/*---- Speed (printed, not asserted) ----------------------------------------------*/

static double time_loop(const char *lib, const char *call, int n) {
    char chunk[512];
    snprintf(chunk, sizeof chunk,
             "local F, S = ... local T = %s local s = ('ab c\\t'):rep(256)\n"
             "local clock = os.clock local t0 = clock()\n"
             "for i = 1, %d do %s end\n"
             "return clock() - t0",
             lib, n, call);
    reset_charge(UINT64_MAX);
    if (luaL_loadstring(L, chunk) != 0) return -1;
    lua_newtable(L);
    mf__lua_strlib_patterns(L, test_charge);
    lua_getglobal(L, "string");
    if (lua_pcall(L, 2, 1, 0) != 0) {
        printf("# %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    double t = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return t;
}

static void test_speed_against_luajit(void) {
    static const struct {
        const char *call;
        int n;
    } cases[] = {
        {"T.match('driver_id_1001', '^[%a_][%w_]*$')", 1000000},
        {"T.gsub(s, '%s+', ' ')", 6000},
        {"T.find('conv_rate_2024', '_(%d+)$')", 1000000},
        {"T.find('conv_rate_2024', 'rate', 1, true)", 1000000},
    };
    for (size_t i = 0; i < MF__ARRAY_LEN(cases); i++) {
        double theirs = time_loop("S", cases[i].call, cases[i].n);
        double ours = time_loop("F", cases[i].call, cases[i].n);
        CHECK(theirs >= 0 && ours >= 0);
        printf("# speed %s: %.3fs LuaJIT, %.3fs ours, ratio %.2f\n", cases[i].call, theirs,
               ours, theirs > 0 ? ours / theirs : 0.0);
    }
}

int main(void) {
    signal(SIGALRM, on_alarm);
    L = luaL_newstate();
    if (!L) return 1;
    luaL_openlibs(L);
    /* the sandbox interprets (compiled traces do not call hooks): so here */
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    if (load_driver() != 0) {
        printf("not ok - load the differential driver\n");
        lua_close(L);
        return 1;
    }
    RUN(test_tricky_cases_match_luajit);
    RUN(test_random_cases_match_luajit);
    RUN(test_runaway_patterns_stop_at_the_budget);
    RUN(test_state_usable_after_budget_error);
    RUN(test_linear_work_is_charged_in_proportion);
    RUN(test_charges_come_in_batches);
    RUN(test_speed_against_luajit);
    lua_close(L);
    MFT_END();
}
