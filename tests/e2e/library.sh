#!/bin/sh
# tests/e2e/library.sh — libmoonfeast as a host program links it, from the
# build tree (the build $MF_BIN belongs to: bin/ -> lib/, build-asan/bin/ ->
# build-asan/lib/):
#   - the shared library's real name, SONAME and links, from the version
#     in include/moonfeast.h;
#   - it exports exactly the functions the header declares (nm -D), each
#     marked MF_API, and nothing else (no mf__ internals, no protobuf code);
#   - the header compiles alone as C99 and C11 with -pedantic, and a C++
#     translation unit (tests/library/cxx_api.cpp) compiles with g++
#     -Wall -Wextra -Werror -pedantic as C++11 and C++17, links against the
#     shared library and gives the expected answers;
#   - tests/library/client.c linked with the static library does too.
. "$(dirname "$0")/lib.sh"
top=$(cd "$E2E_DIR/../.." && pwd)
hdr=$top/include/moonfeast.h
bindir=$(dirname "$MF_BIN")
case "$bindir" in
"$top/bin") libdir=$top/lib ;;
*) libdir=$(dirname "$bindir")/lib ;;
esac
so=$libdir/libmoonfeast.so
CC=${CC:-cc}
CXX=${CXX:-g++}

# The sanitized build's library needs its runtime in every program linking it.
SAN=
if readelf -d "$so.0" 2>/dev/null | grep -q 'libasan'; then
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi

#---- Names and links ---------------------------------------------------------
ver=$(sed -n 's/^#define MF_VERSION_STRING "\(.*\)"$/\1/p' "$hdr")
major=$(sed -n 's/^#define MF_VERSION_MAJOR \([0-9]*\)$/\1/p' "$hdr")
minor=$(sed -n 's/^#define MF_VERSION_MINOR \([0-9]*\)$/\1/p' "$hdr")
patch=$(sed -n 's/^#define MF_VERSION_PATCH \([0-9]*\)$/\1/p' "$hdr")
if [ -z "$ver" ] || [ "$ver" != "$major.$minor.$patch" ]; then
    not_ok "header version" "MF_VERSION_STRING '$ver' is not MAJOR.MINOR.PATCH '$major.$minor.$patch'"
else
    ok "header version $ver = MF_VERSION_MAJOR.MINOR.PATCH"
fi
l0=$(readlink "$so" 2>/dev/null) l1=$(readlink "$so.$major" 2>/dev/null)
if [ "$l0" = "libmoonfeast.so.$major" ] && [ "$l1" = "libmoonfeast.so.$ver" ] &&
   [ -f "$so.$ver" ] && [ ! -L "$so.$ver" ]; then
    ok "libmoonfeast.so -> .so.$major -> .so.$ver"
else
    not_ok "shared library links" "libmoonfeast.so -> '$l0', .so.$major -> '$l1'" "$(ls -l "$libdir")"
fi
soname=$(readelf -d "$so.$ver" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = "libmoonfeast.so.$major" ]; then ok "SONAME $soname"; else not_ok "SONAME" "got '$soname'"; fi
[ -f "$libdir/libmoonfeast.a" ] && ok "static library" || not_ok "static library" "no $libdir/libmoonfeast.a"

#---- Exports -----------------------------------------------------------------
# The functions the header declares: its text without comments (the
# preprocessor's), every identifier mf_... followed by "(" (the function
# pointer types' names are followed by ")").
$CC -E -P -DMF_API= "$hdr" >"$WORK/hdr.i" 2>"$WORK/hdr.err" ||
    not_ok "preprocess the header" "$(cat "$WORK/hdr.err")"
grep -o 'mf_[a-z0-9_]*[[:space:]]*(' "$WORK/hdr.i" | sed 's/[[:space:]]*($//' | sort -u >"$WORK/declared"
n_declared=$(wc -l <"$WORK/declared")
n_marked=$(grep -c '^MF_API ' "$hdr")
if [ "$n_declared" -gt 60 ] && [ "$n_declared" = "$n_marked" ]; then
    ok "header: $n_declared functions, each marked MF_API"
else
    not_ok "header: every function marked MF_API" "$n_declared functions declared, $n_marked lines start with MF_API"
fi
nm -D --defined-only "$so.$ver" | awk '{ print $NF }' | sort -u >"$WORK/exported"
if [ ! -s "$WORK/exported" ]; then
    not_ok "exports" "nm -D found no symbols in $so.$ver"
elif cmp -s "$WORK/declared" "$WORK/exported"; then
    ok "the shared library exports exactly the $n_declared public functions"
else
    not_ok "exports = the header's functions" \
        "$(comm -13 "$WORK/declared" "$WORK/exported" | wc -l) exported but not declared, e.g. $(comm -13 "$WORK/declared" "$WORK/exported" | head -5 | tr '\n' ' ')" \
        "declared but not exported: $(comm -23 "$WORK/declared" "$WORK/exported" | tr '\n' ' ')"
fi

#---- The header as C and C++ -------------------------------------------------
printf '#include <moonfeast.h>\nint main(void) { return mf_version() == 0; }\n' >"$WORK/only.c"
for std in c99 c11; do
    if $CC -std=$std -pedantic -Wall -Wextra -Werror -I"$top/include" -c "$WORK/only.c" \
        -o "$WORK/only.o" 2>"$WORK/cc.err"; then
        ok "the header alone compiles as $std -pedantic -Wall -Wextra -Werror"
    else
        not_ok "the header as $std" "$(head -20 "$WORK/cc.err")"
    fi
done

# fresh copy of the tiny repo: $1 the folder
repo_copy() { rm -rf "$1" && cp -R "$top/tests/library/repo" "$1" && rm -f "$1"/data/*.db*; }

cat >"$WORK/cxx.want" <<EOF
version $ver ($((major * 1000000 + minor * 1000 + patch))), header $ver, 14 result codes
+ entity user
+ data source scores
+ data source score_push
+ data source bonus
+ feature view user_stats
+ on-demand feature view boosted
+ feature service ranking
materialized user_stats: 3 read, 2 written
{"metadata":{"feature_names":["user_id","score","total"]},"results":[{"values":[2,1],"statuses":["PRESENT","PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]},{"values":[0.5,0.75],"statuses":["PRESENT","PRESENT"],"event_timestamps":["2025-01-01T00:00:00Z","2025-01-02T00:00:00Z"]},{"values":[3.5,1.75],"statuses":["PRESENT","PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]}]}
unknown view: MF_EREQUEST
user_id=2 event_timestamp=2025-01-01T06:00:00Z bonus=0.5 user_stats__score=0.5 boosted__total=1
on-demand views: 1 (boosted)
describe boosted: has its transform
registry version 2, 0 log lines
EOF
for std in c++11 c++17; do
    # shellcheck disable=SC2086
    if ! $CXX -std=$std -Wall -Wextra -Werror -pedantic $SAN -I"$top/include" \
        "$top/tests/library/cxx_api.cpp" -L"$libdir" -lmoonfeast -o "$WORK/cxx_$std" 2>"$WORK/cxx.err"; then
        not_ok "C++ ($std) against the header and the shared library" "$(head -30 "$WORK/cxx.err")"
        continue
    fi
    ok "C++ ($std): compiles with -Wall -Wextra -Werror -pedantic and links with -lmoonfeast"
    repo_copy "$WORK/cxx_repo"
    run env LD_LIBRARY_PATH="$libdir" "$WORK/cxx_$std" "$WORK/cxx_repo"
    expect_out "C++ ($std): the program's answers through the shared library" "$(cat "$WORK/cxx.want")"
done
if LD_LIBRARY_PATH="$libdir" ldd "$WORK/cxx_c++11" 2>/dev/null | grep -q "libmoonfeast.so.$major => $libdir/libmoonfeast.so.$major"; then
    ok "the C++ program loads libmoonfeast.so.$major from the build"
else
    not_ok "the C++ program's libmoonfeast" "$(LD_LIBRARY_PATH="$libdir" ldd "$WORK/cxx_c++11" 2>&1 | grep moonfeast)"
fi

#---- Static linking ----------------------------------------------------------
# shellcheck disable=SC2046,SC2086
if $CC -std=c11 -Wall -Wextra -Werror $SAN "$top/tests/library/client.c" \
    $(PKG_CONFIG_PATH=$libdir pkg-config --cflags --libs moonfeast-static) \
    -o "$WORK/client_static" 2>"$WORK/cc.err"; then
    ok "client.c links with libmoonfeast.a (the build's moonfeast-static.pc)"
else
    not_ok "client.c with libmoonfeast.a" "$(head -20 "$WORK/cc.err")"
fi
if readelf -d "$WORK/client_static" 2>/dev/null | grep -q 'libmoonfeast'; then
    not_ok "the static client needs no libmoonfeast.so" "$(readelf -d "$WORK/client_static" | grep NEEDED)"
else
    ok "the static client needs no libmoonfeast.so"
fi
repo_copy "$WORK/static_repo"
run "$WORK/client_static" "$WORK/static_repo"
expect_out "client.c (static): its answers" "library $ver, header $ver, same=1
open of a missing repo: I/O error
applied 7 objects to project tiny
user 1: score=0.75 games=5 total=1.25 (PRESENT)
user 2: score=0.5 games=8 total=1.5 (PRESENT)
user 3: score=null games=null total=null (NOT_FOUND)
after the push: user 3: score=0.125 games=1 total=2.13 (PRESENT)
user_id,event_timestamp,bonus,score,games,total
1,2025-01-01T12:00:00Z,1,0.25,4,1.25
1,2025-01-02T12:00:00Z,1,0.75,5,1.75
feature view user_stats"
