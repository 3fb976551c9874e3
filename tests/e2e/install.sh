#!/bin/sh
# tests/e2e/install.sh — `make install` and `make uninstall` as a packager
# and a host program's author use them (the normal build):
#   1. DESTDIR=$WORK/root PREFIX=/usr/local: exactly the header, both
#      libraries with their SONAME links, moonfeast.pc and
#      moonfeast-static.pc (prefix=/usr/local), the binary and the man page
#      land under the DESTDIR; the man page renders without warnings and
#      has a section for every command of `moonfeast --help`;
#   2. tests/library/client.c is built against that install with pkg-config
#      only (PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR, no other flag),
#      loads the installed libmoonfeast.so.0 and answers on a tiny repo;
#   3. the installed binary and the client run in a chroot of $WORK/root
#      holding only them, the shared libraries they load and the tiny repo:
#      no source tree and no Lua file but the repo's is reachable, so the
#      runtime's Lua and the stdlib come from inside the library;
#   4. make uninstall removes every file install put there;
#   5. PREFIX=$WORK/prefix (no DESTDIR): the client linked with
#      libmoonfeast.a through `pkg-config moonfeast-static`, then uninstall
#      again.
. "$(dirname "$0")/lib.sh"
top=$(cd "$E2E_DIR/../.." && pwd)
CC=${CC:-cc}
R=$WORK/root
P=/usr/local
ver=$(sed -n 's/^#define MF_VERSION_STRING "\(.*\)"$/\1/p' "$top/include/moonfeast.h")
major=${ver%%.*}

# make in the top folder with only the variables given (none inherited
# from a make that runs this test).
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$top" "$@"; }

# The files install puts under a prefix, sorted (relative to DESTDIR).
installed_list() { # PREFIX
    for f in bin/moonfeast include/moonfeast.h lib/libmoonfeast.a lib/libmoonfeast.so \
        "lib/libmoonfeast.so.$major" "lib/libmoonfeast.so.$ver" lib/pkgconfig/moonfeast.pc \
        lib/pkgconfig/moonfeast-static.pc share/man/man1/moonfeast.1; do
        echo "$1/$f"
    done | sort
}

# fresh copy of the tiny repo: $1 the folder
repo_copy() { rm -rf "$1" && cp -R "$top/tests/library/repo" "$1" && rm -f "$1"/data/*.db*; }

client_want="library $ver, header $ver, same=1
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

#---- 1. make install with DESTDIR --------------------------------------------
if ! mk install DESTDIR="$R" PREFIX="$P" >"$WORK/install.log" 2>&1; then
    not_ok "make install DESTDIR=... PREFIX=$P" "$(tail -20 "$WORK/install.log")"
    exit 1
fi
ok "make install DESTDIR=... PREFIX=$P"
installed_list "$P" >"$WORK/want_files"
(cd "$R" && find . ! -type d | sed 's|^\.||' | sort) >"$WORK/got_files"
if cmp -s "$WORK/want_files" "$WORK/got_files"; then
    ok "install puts exactly the $(wc -l <"$WORK/want_files") files under DESTDIR$P"
else
    not_ok "installed files" "$(diff "$WORK/want_files" "$WORK/got_files")"
fi
L=$R$P/lib
if [ "$(readlink "$L/libmoonfeast.so")" = "libmoonfeast.so.$major" ] &&
   [ "$(readlink "$L/libmoonfeast.so.$major")" = "libmoonfeast.so.$ver" ] &&
   cmp -s "$L/libmoonfeast.so.$ver" "$top/lib/libmoonfeast.so.$ver" &&
   cmp -s "$R$P/include/moonfeast.h" "$top/include/moonfeast.h"; then
    ok "installed links libmoonfeast.so -> .so.$major -> .so.$ver; library and header are the build's"
else
    not_ok "installed libraries" "$(ls -l "$L")"
fi
for pc in moonfeast moonfeast-static; do
    f=$L/pkgconfig/$pc.pc
    if grep -qx "prefix=$P" "$f" && grep -qx "Version: $ver" "$f" && ! grep -q "$WORK" "$f"; then
        ok "$pc.pc: prefix=$P (not the DESTDIR), Version: $ver"
    else
        not_ok "$pc.pc" "$(cat "$f")"
    fi
done
if command -v groff >/dev/null 2>&1; then
    run groff -man -Tascii -P-cbu -ww "$R$P/share/man/man1/moonfeast.1"
    if [ "$RC" = 0 ] && [ -z "$ERR" ] && printf '%s\n' "$OUT" | grep -q '^MOONFEAST(1)'; then
        ok "the man page renders without warnings"
    else
        not_ok "the man page" "rc $RC" "$ERR"
    fi
    # every command of `moonfeast --help` has its section in the man page
    # (a section heading starts with it; the listing kinds are in KIND's)
    missing=
    for c in $("$MF" --help 2>&1 | sed -n '/^Commands:/,$p' | awk 'NR > 1 && /^  [a-z]/ { print $1 }'); do
        case $c in
        entities | data-sources | feature-views | on-demand-feature-views | feature-services)
            printf '%s\n' "$OUT" | grep -q "^   KIND list" && printf '%s\n' "$OUT" | grep -qw -- "$c" ||
                missing="$missing $c" ;;
        *) printf '%s\n' "$OUT" | grep -q "^   $c\( \|$\)" || missing="$missing $c" ;;
        esac
    done
    if [ -z "$missing" ]; then ok "the man page has a section for every command of moonfeast --help"
    else not_ok "man page sections" "commands of moonfeast --help without one:$missing"; fi
else
    echo "# groff is not installed: the man page was not rendered"
fi

#---- 2. a program built with pkg-config only ---------------------------------
export PKG_CONFIG_PATH="$L/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$R"
cflags=$(pkg-config --cflags moonfeast) libs=$(pkg-config --libs moonfeast)
case " $cflags $libs " in
*" -I$R$P/include "*" -L$L "*) ok "pkg-config moonfeast: -I and -L of the install" ;;
*) not_ok "pkg-config --cflags --libs moonfeast" "$cflags $libs" ;;
esac
mkdir -p "$WORK/build" && cp "$top/tests/library/client.c" "$WORK/build/"
# shellcheck disable=SC2086
if (cd "$WORK/build" && $CC -std=c11 -Wall -Wextra -Werror client.c $cflags $libs -o client) \
    2>"$WORK/cc.err"; then
    ok "client.c builds with \$(pkg-config --cflags --libs moonfeast) alone"
else
    not_ok "client.c with pkg-config" "$(head -20 "$WORK/cc.err")"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
if LD_LIBRARY_PATH=$L ldd "$WORK/build/client" 2>&1 | grep -q "libmoonfeast.so.$major => $L/libmoonfeast.so.$major"; then
    ok "the client loads the installed libmoonfeast.so.$major"
else
    not_ok "the client's libmoonfeast" "$(LD_LIBRARY_PATH=$L ldd "$WORK/build/client" 2>&1 | grep moonfeast)"
fi
repo_copy "$WORK/repo1"
run env LD_LIBRARY_PATH="$L" "$WORK/build/client" "$WORK/repo1"
expect_out "the client's answers through the installed library" "$client_want"

#---- 3. in a chroot: no source tree, no Lua files ----------------------------
# Copy every shared library the binary and the client load (but
# libmoonfeast, which is installed there) into $R at the same path.
cp "$WORK/build/client" "$R/client"
for f in $(LD_LIBRARY_PATH=$L ldd "$R$P/bin/moonfeast" "$R/client" | grep -o '/[^ ]*' | grep -v libmoonfeast | sort -u); do
    case "$f" in "$R"/*) continue ;; esac
    mkdir -p "$R$(dirname "$f")" && cp -L "$f" "$R$f"
done
repo_copy "$R/repo"
repo_copy "$R/repo2"
mkdir -p "$R/repo/t"
cat >"$R/repo/t/test_stdlib.lua" <<'EOF'
-- every stdlib module, from the library itself
local t, m, s = require "mf.time", require "mf.math", require "mf.strings"
local g, e = require "mf.geo", require "mf.encoding"
assert(t and m and s and g and e)
assert(m.round(1.25, 1) == 1.3)
print("stdlib ok")
EOF
lua_files=$(cd "$R" && find . -name '*.lua' | sort | tr '\n' ' ')
if [ "$lua_files" = "./repo/t/test_stdlib.lua ./repo/tiny.lua ./repo2/tiny.lua " ]; then
    ok "the chroot holds no Lua file but the repos'"
else
    not_ok "Lua files in the chroot" "$lua_files"
fi
chroot_cmd=
CHROOT=$(command -v chroot) UNSHARE=$(command -v unshare)
if [ -n "$CHROOT" ] && "$CHROOT" "$R" "$P/bin/moonfeast" version >/dev/null 2>&1; then
    chroot_cmd=$CHROOT
elif [ -n "$CHROOT" ] && [ -n "$UNSHARE" ] &&
     "$UNSHARE" -r "$CHROOT" "$R" "$P/bin/moonfeast" version >/dev/null 2>&1; then
    chroot_cmd="$UNSHARE -r $CHROOT"
fi
if [ -z "$chroot_cmd" ]; then
    echo "# chroot is not permitted here (not root, no user namespaces): the chroot runs were skipped"
else
    # shellcheck disable=SC2086
    in_root() { run env -i LD_LIBRARY_PATH="$P/lib" $chroot_cmd "$R" "$@"; }
    in_root "$P/bin/moonfeast" version
    expect_out "chroot: moonfeast version" "moonfeast $ver"
    in_root "$P/bin/moonfeast" -C /repo apply
    expect_rc "chroot: moonfeast apply (the definition DSL and the sandbox)" 0
    in_root "$P/bin/moonfeast" -C /repo materialize 2025-01-01 2025-01-03
    expect_rc "chroot: moonfeast materialize" 0
    in_root "$P/bin/moonfeast" -C /repo get-online-features -e user_id=1,bonus=1 -f boosted:total
    expect_out "chroot: get-online-features with a transform that requires mf.math" \
        '{"metadata":{"feature_names":["user_id","total"]},"results":[{"values":[1],"statuses":["PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z"]},{"values":[1.75],"statuses":["PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z"]}]}'
    in_root "$P/bin/moonfeast" lua-test /repo/t/test_stdlib.lua
    if [ "$RC" = 0 ] && printf '%s' "$OUT$ERR" | grep -q 'stdlib ok'; then
        ok "chroot: lua-test requires every stdlib module"
    else
        not_ok "chroot: lua-test of the stdlib" "rc $RC" "$OUT" "$ERR"
    fi
    in_root /client /repo2
    expect_out "chroot: the client through the installed libmoonfeast.so" "$client_want"
fi

#---- 4. make uninstall --------------------------------------------------------
if mk uninstall DESTDIR="$R" PREFIX="$P" >"$WORK/uninstall.log" 2>&1; then
    left=$(cd "$R" && find ".$P" ! -type d)
    if [ -z "$left" ]; then ok "make uninstall removes every installed file"
    else not_ok "make uninstall" "left: $left"; fi
else
    not_ok "make uninstall" "$(tail -20 "$WORK/uninstall.log")"
fi

#---- 5. PREFIX alone, static linking through pkg-config ------------------------
Q=$WORK/prefix
if mk install PREFIX="$Q" >"$WORK/install2.log" 2>&1; then
    ok "make install PREFIX=<temp folder>"
else
    not_ok "make install PREFIX=<temp folder>" "$(tail -20 "$WORK/install2.log")"
fi
export PKG_CONFIG_PATH="$Q/lib/pkgconfig"
# shellcheck disable=SC2046
if (cd "$WORK/build" && $CC -std=c11 -Wall -Wextra -Werror client.c \
    $(pkg-config --cflags --libs moonfeast-static) -o client_static) 2>"$WORK/cc.err"; then
    ok "client.c links libmoonfeast.a with \$(pkg-config --cflags --libs moonfeast-static)"
else
    not_ok "client.c with pkg-config moonfeast-static" "$(head -20 "$WORK/cc.err")"
fi
unset PKG_CONFIG_PATH
if readelf -d "$WORK/build/client_static" 2>/dev/null | grep -q libmoonfeast; then
    not_ok "the static client needs no libmoonfeast.so" "$(readelf -d "$WORK/build/client_static" | grep NEEDED)"
else
    ok "the static client needs no libmoonfeast.so"
fi
repo_copy "$WORK/repo3"
run "$WORK/build/client_static" "$WORK/repo3"
expect_out "the static client's answers" "$client_want"
mk uninstall PREFIX="$Q" >"$WORK/uninstall2.log" 2>&1
left=$(find "$Q" ! -type d)
if [ -z "$left" ]; then ok "make uninstall PREFIX=<temp folder> leaves no file"
else not_ok "make uninstall PREFIX=<temp folder>" "left: $left"; fi
