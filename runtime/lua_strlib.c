/*
 * lua_strlib.c — Lua's string pattern functions, with their work charged.
 *
 * string.find, string.match, string.gmatch and string.gsub for sandboxed
 * Lua. LuaJIT's own are C functions that backtrack without bound, and a
 * count hook cannot interrupt C: ("a"):rep(40):match(("a?"):rep(40) ..
 * ("a"):rep(40)) takes 2^40 steps and ("a"):rep(1e5):find(".-.-.-.-b")
 * n^4, so one line of a definition file, or a long request string fed to a
 * transform, would hang its thread. These four give the same results and
 * the same error messages as LuaJIT 2.1's (the patterns of the Lua 5.1
 * manual, §5.4.1, as LuaJIT's lib_string.c implements them), and count
 * their work in steps as they go:
 *
 *   - 1 for each call of the matcher on a (subject position, pattern
 *     position) pair: every start position tried, every backtracking step;
 *   - for each test of one subject byte against a single-character item
 *     (and for each of the two tests of a %f), the length of the item in
 *     the pattern (1 for 'a' or '.', 2 for '%a', the whole of a set '[...]');
 *   - 1 per subject byte a %b scans;
 *   - 1 + length/16 for each back-reference comparison;
 *   - for find's plain search: the bytes scanned / 16, and 1 + needle/16
 *     per candidate position compared; the scan for specials: pattern/16;
 *   - 1 per byte of gsub's replacement string, for each match replaced.
 *
 * Steps go to the charge function given to mf__lua_strlib_patterns
 * (mf__lua_charge in the sandbox) every CHARGE_BATCH steps and when a call
 * ends, before its results are pushed. The charge function raises once the
 * budget is spent; nothing here allocates outside Lua (the gsub result is a
 * luaL_Buffer, whose pieces live on the Lua stack), so that error, like any
 * other Lua error raised here, leaks nothing.
 *
 * LuaJIT's rules, kept exactly (some differ from Lua 5.1's or 5.2's):
 *   - the pattern ends at its first NUL byte (it is read as a C string),
 *     except in find's plain search, which uses all of it; find searches
 *     plainly when its 4th argument is true or the pattern has none of
 *     ^ $ * + ? . ( [ % -;
 *   - classes %a %c %d %g %l %p %s %u %w %x (ASCII, as <ctype.h> in the C
 *     locale: LuaJIT's own table puts no byte above 127 in a class) and
 *     %z (the NUL byte), upper case for the complement; '%' before any
 *     other byte is that byte;
 *   - at most MAX_CAPTURES captures ("too many captures"), at most
 *     MAX_DEPTH nested matcher calls ("pattern too complex");
 *   - find's and match's init: negative counts from the end, before the
 *     start means 1, beyond the end means the end (not nil); it is read
 *     as LuaJIT's (int32_t) cast on x86-64 reads it: NaN and values
 *     outside int32 become INT32_MIN;
 *   - '^' anchors find, match and gsub, and is an ordinary byte in gmatch;
 *   - in a gsub replacement string '%' before a byte that is not a digit
 *     stands for that byte (a '%' at the end for a NUL byte); there is no
 *     "invalid use of '%'" error in LuaJIT.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "mf_internal.h"

typedef void (*charge_fn)(lua_State *L, uint64_t steps);

#define ESC '%'
#define MAX_CAPTURES 32  /* LuaJIT's LUA_MAXCAPTURES */
#define MAX_DEPTH 200    /* LuaJIT's LJ_MAX_XLEVEL */
#define CHARGE_BATCH 1024

/* The length of a capture that is open, or that is a position "()". */
#define CAP_OPEN (-1)
#define CAP_POSITION (-2)

/*---- Match state and charging ---------------------------------------------*/

/* One search of one subject: the subject, the captures, the steps not yet
 * charged. Lives on the C stack of the calling function. */
typedef struct mstate {
    const char *src;   /* the subject */
    const char *end;   /* its end: src + its length */
    lua_State *L;
    charge_fn charge;
    uint64_t steps;    /* counted, not yet charged */
    int level;         /* captures started (open or closed) */
    int depth;         /* nested calls of match_here */
    int where;         /* the stack level errors are placed at (luaL_where) */
    struct {
        const char *init;
        ptrdiff_t len; /* bytes, or CAP_OPEN / CAP_POSITION */
    } cap[MAX_CAPTURES];
} mstate;

static void ms_init(mstate *ms, lua_State *L, charge_fn charge, const char *s, size_t len) {
    ms->src = s;
    ms->end = s + len;
    ms->L = L;
    ms->charge = charge;
    ms->steps = 0;
    ms->level = 0;
    ms->depth = 0;
    ms->where = 1;
}

/* Charge what is counted (may raise). */
static void settle(mstate *ms) {
    uint64_t n = ms->steps;
    ms->steps = 0;
    if (n) ms->charge(ms->L, n);
}

/* Count n steps; charge a batch once it is full. */
static inline void spend(mstate *ms, uint64_t n) {
    ms->steps += n;
    if (ms->steps >= CHARGE_BATCH) settle(ms);
}

/* The charge function stored in upvalue `up` of the running C closure. */
static charge_fn charge_of(lua_State *L, int up) {
    return *(charge_fn *)lua_touserdata(L, lua_upvalueindex(up));
}

/* Raise msg as LuaJIT raises pattern errors: in the caller's context
 * ("file:line: msg" when called from Lua; ms->where is 2 in gsub's loop
 * run as a protected call of its own, one C level below string.gsub).
 * Does not return. */
static void fail(mstate *ms, const char *msg) {
    luaL_where(ms->L, ms->where);
    lua_pushstring(ms->L, msg);
    lua_concat(ms->L, 2);
    lua_error(ms->L);
}

/*---- Single-character items -----------------------------------------------*/

/* Whether byte c belongs to the class letter cl of '%cl' (upper case: the
 * complement). Any other cl stands for itself. Classes hold ASCII bytes
 * only, as in LuaJIT's own character table, whatever the locale. */
static int class_has(int c, int cl) {
    int lower = cl >= 'A' && cl <= 'Z' ? cl - 'A' + 'a' : cl;
    int ascii = c < 0x80, in;
    switch (lower) {
    case 'a': in = ascii && isalpha(c); break;
    case 'c': in = ascii && iscntrl(c); break;
    case 'd': in = ascii && isdigit(c); break;
    case 'g': in = ascii && isgraph(c); break;
    case 'l': in = ascii && islower(c); break;
    case 'p': in = ascii && ispunct(c); break;
    case 's': in = ascii && isspace(c); break;
    case 'u': in = ascii && isupper(c); break;
    case 'w': in = ascii && isalnum(c); break;
    case 'x': in = ascii && isxdigit(c); break;
    case 'z': in = c == 0; break;
    default: return cl == c;
    }
    return lower == cl ? in : !in;
}

/* Whether byte c is in the set whose '[' is at p and whose closing ']' is
 * at last. */
static int set_has(int c, const char *p, const char *last) {
    int want = 1;
    if (p[1] == '^') {
        want = 0;
        p++;
    }
    for (p++; p < last; p++) {
        if (*p == ESC) {
            p++;
            if (class_has(c, (unsigned char)*p)) return want;
        } else if (p[1] == '-' && p + 2 < last) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return want;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return want;
        }
    }
    return !want;
}

/* The end of the single-character item at p (one past it): a byte, '.',
 * '%x' or a set. Raises on a pattern that ends inside the item. A set's
 * scan is charged here: where no subject byte is tested against it (at the
 * subject's end, before a lazy item's rest), nothing else pays for it. */
static const char *item_end(mstate *ms, const char *p) {
    if (*p == ESC) {
        if (p[1] == '\0') fail(ms, "malformed pattern (ends with '%')");
        return p + 2;
    }
    if (*p != '[') return p + 1;
    const char *start = p;
    p++;
    if (*p == '^') p++;
    /* the first byte of the set is in it even when it is ']' */
    do {
        if (*p == '\0') fail(ms, "malformed pattern (missing ']')");
        if (*p++ == ESC && *p != '\0') p++;
    } while (*p != ']');
    spend(ms, (uint64_t)(p - start));
    return p + 1;
}

/* Whether the subject byte at s exists and matches the item p..ep. */
static inline int item_at(mstate *ms, const char *s, const char *p, const char *ep) {
    if (s >= ms->end) return 0;
    spend(ms, (uint64_t)(ep - p));
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return class_has(c, (unsigned char)p[1]);
    case '[': return set_has(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/*---- The matcher ------------------------------------------------------------*/

/* The matcher recurses where LuaJIT's does (captures, quantifiers other
 * than a plain item, '?') and loops where LuaJIT's loops, so that its depth,
 * and with it "pattern too complex", is the same for every pattern. */

static const char *match_here(mstate *ms, const char *s, const char *p);

/* The item p..ep repeated as often as it matches, then fewer, until the
 * rest of the pattern (after the quantifier) matches. */
static const char *repeat_greedy(mstate *ms, const char *s, const char *p, const char *ep) {
    ptrdiff_t n = 0;
    while (item_at(ms, s + n, p, ep)) n++;
    for (; n >= 0; n--) {
        const char *e = match_here(ms, s + n, ep + 1);
        if (e) return e;
    }
    return NULL;
}

/* The item p..ep repeated as rarely as the rest of the pattern allows. */
static const char *repeat_lazy(mstate *ms, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *e = match_here(ms, s, ep + 1);
        if (e) return e;
        if (!item_at(ms, s, p, ep)) return NULL;
        s++;
    }
}

/* Start capture number ms->level at s (len CAP_OPEN or CAP_POSITION) and
 * match the rest; undone when the rest fails. */
static const char *capture_open(mstate *ms, const char *s, const char *p, ptrdiff_t len) {
    if (ms->level >= MAX_CAPTURES) fail(ms, "too many captures");
    ms->cap[ms->level].init = s;
    ms->cap[ms->level].len = len;
    ms->level++;
    const char *e = match_here(ms, s, p);
    if (!e) ms->level--;
    return e;
}

/* Close the innermost open capture at s and match the rest; reopened when
 * the rest fails. */
static const char *capture_close(mstate *ms, const char *s, const char *p) {
    int l = ms->level - 1;
    while (l >= 0 && ms->cap[l].len != CAP_OPEN) l--;
    if (l < 0) fail(ms, "invalid pattern capture");
    ms->cap[l].len = s - ms->cap[l].init;
    const char *e = match_here(ms, s, p);
    if (!e) ms->cap[l].len = CAP_OPEN;
    return e;
}

/* %bxy at s (p points at x): the end of the balanced run, or NULL. */
static const char *balanced(mstate *ms, const char *s, const char *p) {
    if (p[0] == '\0' || p[1] == '\0') fail(ms, "unbalanced pattern");
    if (s >= ms->end || *s != p[0]) return NULL;
    int open = 1;
    while (++s < ms->end) {
        spend(ms, 1);
        if (*s == p[1]) {
            if (--open == 0) return s + 1;
        } else if (*s == p[0]) {
            open++;
        }
    }
    return NULL;
}

/* %1..%9 at s (d is the digit): the end of the repeated capture, or NULL.
 * A position capture never matches; %0, an unknown or an open capture is
 * an error. */
static const char *backref(mstate *ms, const char *s, int d) {
    int l = d - '1';
    if (l < 0 || l >= ms->level || ms->cap[l].len == CAP_OPEN)
        fail(ms, "invalid capture index");
    ptrdiff_t len = ms->cap[l].len;
    if (len < 0) return NULL;
    spend(ms, 1 + ((uint64_t)len >> 4));
    if (ms->end - s < len || memcmp(ms->cap[l].init, s, (size_t)len) != 0) return NULL;
    return s + len;
}

/* Match the pattern at p (NUL-terminated) against the subject from s: the
 * end of the match, or NULL. */
static const char *match_here(mstate *ms, const char *s, const char *p) {
    if (++ms->depth > MAX_DEPTH) fail(ms, "pattern too complex");
    for (;;) {
        spend(ms, 1);
        switch (*p) {
        case '\0':
            goto done;
        case '(':
            if (p[1] == ')') s = capture_open(ms, s, p + 2, CAP_POSITION);
            else s = capture_open(ms, s, p + 1, CAP_OPEN);
            goto done;
        case ')':
            s = capture_close(ms, s, p + 1);
            goto done;
        case '$':
            if (p[1] != '\0') break; /* a '$' before the end is a byte */
            if (s != ms->end) s = NULL;
            goto done;
        case ESC:
            if (p[1] == 'b') {
                s = balanced(ms, s, p + 2);
                if (!s) goto done;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (*p != '[') fail(ms, "missing '[' after '%f' in pattern");
                const char *ep = item_end(ms, p);
                int before = s == ms->src ? 0 : (unsigned char)s[-1];
                int here = s < ms->end ? (unsigned char)*s : 0;
                spend(ms, 2 * (uint64_t)(ep - p));
                if (set_has(before, p, ep - 1) || !set_has(here, p, ep - 1)) {
                    s = NULL;
                    goto done;
                }
                p = ep;
                continue;
            }
            if (p[1] >= '0' && p[1] <= '9') {
                s = backref(ms, s, p[1]);
                if (!s) goto done;
                p += 2;
                continue;
            }
            break;
        default:
            break;
        }
        /* a single-character item and its quantifier, if any */
        const char *ep = item_end(ms, p);
        switch (*ep) {
        case '?':
            if (item_at(ms, s, p, ep)) {
                const char *e = match_here(ms, s + 1, ep + 1);
                if (e) {
                    s = e;
                    goto done;
                }
            }
            p = ep + 1;
            continue;
        case '*':
            s = repeat_greedy(ms, s, p, ep);
            goto done;
        case '+':
            s = item_at(ms, s, p, ep) ? repeat_greedy(ms, s + 1, p, ep) : NULL;
            goto done;
        case '-':
            s = repeat_lazy(ms, s, p, ep);
            goto done;
        default:
            if (!item_at(ms, s, p, ep)) {
                s = NULL;
                goto done;
            }
            s++;
            p = ep;
            continue;
        }
    }
done:
    ms->depth--;
    return s;
}

/*---- Captures as values -----------------------------------------------------*/

/* Push capture i of the match s..e; with no captures, capture 0 is the
 * whole match. Stack: [] -> [value] */
static void push_capture(mstate *ms, int i, const char *s, const char *e) {
    if (i >= ms->level) {
        if (i != 0) fail(ms, "invalid capture index");
        lua_pushlstring(ms->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = ms->cap[i].len;
    if (len == CAP_OPEN) fail(ms, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(ms->L, ms->cap[i].init - ms->src + 1);
    else
        lua_pushlstring(ms->L, ms->cap[i].init, (size_t)len);
}

/* Push every capture of the match s..e (the whole match when there is none
 * and s is not NULL). Returns how many were pushed. */
static int push_captures(mstate *ms, const char *s, const char *e) {
    int n = ms->level == 0 && s ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(ms, i, s, e);
    return n;
}

/*---- find and match -----------------------------------------------------------*/

/* Whether find must treat the pattern as one: it holds one of the bytes
 * that are special at the top level of a pattern. */
static int has_specials(mstate *ms, const char *p, size_t len) {
    spend(ms, len >> 4);
    for (size_t i = 0; i < len; i++) {
        switch (p[i]) {
        case '^': case '$': case '*': case '+': case '?': case '.': case '(': case '[':
        case '%': case '-':
            return 1;
        default:
            break;
        }
    }
    return 0;
}

/* The first occurrence of needle n (nlen bytes) in s (slen bytes), or NULL. */
static const char *find_plain(mstate *ms, const char *s, size_t slen, const char *n,
                              size_t nlen) {
    if (nlen > slen) return NULL;
    if (nlen == 0) return s;
    const char *last = s + (slen - nlen); /* the last start that fits */
    while (s <= last) {
        size_t span = (size_t)(last - s) + 1;
        const char *q = memchr(s, (unsigned char)n[0], span);
        spend(ms, (q ? (size_t)(q - s) : span) >> 4);
        if (!q) return NULL;
        spend(ms, 1 + (nlen >> 4));
        if (memcmp(q + 1, n + 1, nlen - 1) == 0) return q;
        s = q + 1;
    }
    return NULL;
}

/* find's and match's init (argument 3, default 1) as LuaJIT reads it: any
 * number or numeric string, cast as (int32_t) by x86-64 (cvttsd2si: NaN and
 * out of range give INT32_MIN). */
static int32_t opt_init(lua_State *L) {
    if (lua_isnoneornil(L, 3)) return 1;
    double d = luaL_checknumber(L, 3);
    if (d > -2147483649.0 && d < 2147483648.0) return (int32_t)d;
    return INT32_MIN;
}

/* string.find (find = 1) and string.match (find = 0). Upvalue 1: the charge
 * function. Stack: [s p init plain] -> [results] */
static int find_or_match(lua_State *L, int find) {
    size_t slen, plen;
    const char *s = luaL_checklstring(L, 1, &slen);
    const char *p = luaL_checklstring(L, 2, &plen);
    int64_t start = opt_init(L);
    if (start < 0) start += (int64_t)slen;
    else start--;
    if (start < 0) start = 0;
    if (start > (int64_t)slen) start = (int64_t)slen;
    mstate ms;
    ms_init(&ms, L, charge_of(L, 1), s, slen);

    if (find && (lua_toboolean(L, 4) || !has_specials(&ms, p, plen))) {
        const char *q = find_plain(&ms, s + start, slen - (size_t)start, p, plen);
        settle(&ms);
        if (!q) {
            lua_pushnil(L);
            return 1;
        }
        lua_pushinteger(L, q - s + 1);
        lua_pushinteger(L, (lua_Integer)(q - s + (ptrdiff_t)plen));
        return 2;
    }

    int anchored = *p == '^';
    if (anchored) p++;
    for (const char *at = s + start;; at++) {
        ms.level = 0;
        ms.depth = 0;
        const char *e = match_here(&ms, at, p);
        if (e) {
            settle(&ms);
            if (!find) return push_captures(&ms, at, e);
            lua_pushinteger(L, at - s + 1);
            lua_pushinteger(L, e - s);
            return 2 + push_captures(&ms, NULL, NULL);
        }
        if (anchored || at >= ms.end) break;
    }
    settle(&ms);
    lua_pushnil(L);
    return 1;
}

static int l_find(lua_State *L) { return find_or_match(L, 1); }
static int l_match(lua_State *L) { return find_or_match(L, 0); }

/*---- gmatch ---------------------------------------------------------------------*/

/* The iterator: upvalues subject, pattern, next start (0-based), charge.
 * Returns the captures of the next match, or nothing at the end. An empty
 * match moves the next start one byte on. */
static int gmatch_next(lua_State *L) {
    size_t slen;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &slen);
    const char *p = lua_tostring(L, lua_upvalueindex(2));
    size_t pos = (size_t)lua_tointeger(L, lua_upvalueindex(3));
    mstate ms;
    ms_init(&ms, L, charge_of(L, 4), s, slen);
    for (; pos <= slen; pos++) {
        const char *at = s + pos;
        ms.level = 0;
        ms.depth = 0;
        const char *e = match_here(&ms, at, p);
        if (e) {
            settle(&ms);
            lua_pushinteger(L, (lua_Integer)(e - s) + (e == at));
            lua_replace(L, lua_upvalueindex(3));
            return push_captures(&ms, at, e);
        }
    }
    settle(&ms);
    return 0;
}

/* string.gmatch. Upvalue 1: the charge function. Stack: [s p] -> [iterator] */
static int l_gmatch(lua_State *L) {
    luaL_checklstring(L, 1, NULL);
    luaL_checklstring(L, 2, NULL);
    lua_settop(L, 2);
    lua_pushinteger(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, gmatch_next, 4);
    return 1;
}

/*---- gsub -----------------------------------------------------------------------*/

/* Append the replacement string (argument 3) for the match s..e: '%0' the
 * match, '%1'..'%9' a capture, '%' and any other byte that byte. */
static void add_template(mstate *ms, luaL_Buffer *b, const char *s, const char *e) {
    size_t n;
    const char *r = lua_tolstring(ms->L, 3, &n);
    spend(ms, n);
    for (size_t i = 0; i < n; i++) {
        if (r[i] != ESC) {
            luaL_addchar(b, r[i]);
            continue;
        }
        char c = r[++i]; /* the terminating NUL when the '%' is last */
        if (c < '0' || c > '9') {
            luaL_addchar(b, c);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else {
            push_capture(ms, c - '1', s, e);
            luaL_addvalue(b);
        }
    }
}

/* Append the replacement for the match s..e: from the template, the table
 * (indexed by the first capture) or the function (called with every
 * capture). false or nil keeps the match; a value that is not a string or
 * a number is an error. */
static void add_replacement(mstate *ms, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = ms->L;
    int t = lua_type(L, 3);
    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        add_template(ms, b, s, e);
        return;
    }
    if (t == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(ms, s, e);
        lua_call(L, n, 1);
    } else {
        push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        char msg[64];
        snprintf(msg, sizeof msg, "invalid replacement value (a %s)", luaL_typename(L, -1));
        fail(ms, msg);
    }
    luaL_addvalue(b);
}

/* How deep string.gsub calls with a replacement function or table are
 * nested on this thread (one that calls gsub again, through the function
 * or a table's __index): each level holds a luaL_Buffer (8 KiB) on the C
 * stack, and a recursion through gsub would overflow the C stack before
 * LuaJIT's own limits stop it. Such a call runs its loop in a protected
 * call, so that the count comes down however it ends. */
static __thread int gsub_depth;
#define GSUB_MAX_DEPTH 64

/* The work of string.gsub, its arguments checked by l_gsub. Upvalue 1:
 * the charge function; upvalue 2, true when run as l_gsub's protected
 * call (its errors are then placed two levels up, at gsub's caller).
 * Stack: [s p repl max_n] -> [result count] */
static int gsub_run(lua_State *L) {
    size_t slen;
    const char *s = lua_tolstring(L, 1, &slen);
    const char *p = lua_tostring(L, 2);
    int max_n = luaL_optint(L, 4, (int)(slen + 1));
    int anchored = *p == '^';
    if (anchored) p++;
    mstate ms;
    ms_init(&ms, L, charge_of(L, 1), s, slen);
    if (lua_toboolean(L, lua_upvalueindex(2))) ms.where = 2;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *at = s;
    int n = 0;
    while (n < max_n) {
        ms.level = 0;
        ms.depth = 0;
        const char *e = match_here(&ms, at, p);
        if (e) {
            n++;
            add_replacement(&ms, &b, at, e);
        }
        if (e && e > at) at = e;
        else if (at < ms.end) luaL_addchar(&b, *at++);
        else break;
        if (anchored) break;
    }
    luaL_addlstring(&b, at, (size_t)(ms.end - at));
    settle(&ms);
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

/* string.gsub. Upvalue 1: the charge function.
 * Stack: [s p repl max_n] -> [result count] */
static int l_gsub(lua_State *L) {
    size_t slen;
    luaL_checklstring(L, 1, &slen);
    luaL_checklstring(L, 2, NULL);
    int t = lua_type(L, 3);
    (void)luaL_optint(L, 4, (int)(slen + 1));
    if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TFUNCTION && t != LUA_TTABLE)
        luaL_argerror(L, 3, "string/function/table expected");
    if (t != LUA_TFUNCTION && t != LUA_TTABLE) return gsub_run(L); /* calls no Lua */
    if (gsub_depth >= GSUB_MAX_DEPTH)
        return luaL_error(L, "string.gsub nested more than %d deep (a replacement that calls "
                          "gsub again)", GSUB_MAX_DEPTH);
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushboolean(L, 1);
    lua_pushcclosure(L, gsub_run, 2);
    lua_insert(L, 1);
    gsub_depth++;
    int st = lua_pcall(L, nargs, 2, 0);
    gsub_depth--;
    if (st != 0) return lua_error(L); /* the same error, passed on */
    return 2;
}

/*---- Registration -----------------------------------------------------------------*/

void mf__lua_strlib_patterns(lua_State *L, charge_fn charge) {
    static const struct {
        const char *name;
        lua_CFunction fn;
    } fns[] = {{"find", l_find}, {"match", l_match}, {"gmatch", l_gmatch}, {"gsub", l_gsub}};
    /* the charge function lives in a userdata: a function pointer is not a
     * light userdata in ISO C */
    charge_fn *slot = lua_newuserdata(L, sizeof *slot);
    *slot = charge;
    for (size_t i = 0; i < MF__ARRAY_LEN(fns); i++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, fns[i].fn, 1);
        lua_setfield(L, -3, fns[i].name);
    }
    lua_pop(L, 1);
}
