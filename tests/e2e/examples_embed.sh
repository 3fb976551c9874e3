#!/bin/sh
# tests/e2e/examples_embed.sh — the C programs that embed moonfeast
# (examples/game_server, examples/edge_scoring), as built by `make
# examples` into the build $MF_BIN belongs to (build/ or build-asan/), run
# as their READMEs say: their output against the README's expected output
# (latency figures masked), the shape of the latency lines, and their
# numbers worked out again here (win rates, scores). Then
# examples/c_api_example.c, built as docs/c-api.md says (against the same
# build's lib/), its output and its copy in the page against the file.
. "$(dirname "$0")/lib.sh"
top=$(cd "$E2E_DIR/../.." && pwd)
bindir=$(dirname "$MF_BIN")
case "$bindir" in
"$top/bin") exdir=$top/build/examples libdir=$top/lib ;;
*) exdir=$(dirname "$bindir")/examples libdir=$(dirname "$bindir")/lib ;;
esac
SAN=
if readelf -d "$libdir/libmoonfeast.so.0" 2>/dev/null | grep -q 'libasan'; then
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi
GS=$exdir/game_server ES=$exdir/edge_scoring

# block_after PATTERN FILE: the first fenced block after the first line
# matching PATTERN.
block_after() {
    awk -v pat="$1" '
        !seen && $0 ~ pat { seen = 1; next }
        seen && /^```/ { if (inb) exit; inb = 1; next }
        inb { print }' "$2"
}

# latencies and rates vary: mask them
mask() { sed -E -e 's/[0-9]+\.[0-9] us/X us/g' -e 's/[0-9]+ ticks\/s/X ticks\/s/'; }

# compare NAME WANT_FILE GOT_FILE
compare() {
    if diff "$2" "$3" >"$WORK/diff"; then ok "$1"; else not_ok "$1" "$(head -20 "$WORK/diff")"; fi
}

for b in "$GS" "$ES"; do
    if [ ! -x "$b" ]; then
        not_ok "$(basename "$b") is built" "no $b (make examples)"
        exit 1
    fi
done

#---- game_server ----------------------------------------------------------------
readme=$top/examples/game_server/README.md
cp -R "$top/examples/game_server/repo" "$WORK/game_repo"
rm -f "$WORK"/game_repo/data/*.db*
run "$GS" "$WORK/game_repo"
if [ "$RC" != 0 ]; then
    not_ok "game_server: the README's run" "exit $RC" "$OUT" "$ERR"
else
    ok "game_server: the README's run exits 0"
fi
printf '%s\n' "$OUT" >"$WORK/gs.out"
block_after '^Expected output' "$readme" | mask >"$WORK/gs.want"
mask <"$WORK/gs.out" >"$WORK/gs.got"
compare "game_server: output as in its README (latencies masked)" "$WORK/gs.want" "$WORK/gs.got"
lat=$(grep '^tick latency:' "$WORK/gs.out")
if printf '%s\n' "$lat" | grep -Eq '^tick latency: p50 [0-9]+\.[0-9] us, p90 [0-9]+\.[0-9] us, p99 [0-9]+\.[0-9] us, max [0-9]+\.[0-9] us \(1960 ticks, [0-9]+ ticks/s\)$' &&
   printf '%s\n' "$lat" | awk '{ gsub(/,/, ""); if (!($4 > 0 && $4 <= $7 && $7 <= $10 && $10 <= $13)) exit 1 }'; then
    ok "game_server: percentiles p50 <= p90 <= p99 <= max over 2 x 980 timed ticks"
else
    not_ok "game_server: the latency line" "$lat"
fi
# The win rates, worked out from wins and losses: (w + 5) / (w + l + 10).
bad=$(awk '/^player / { gsub(/,/, ""); w = $4; l = $6; r = $8
           want = sprintf("%.4f", (w + 5) / (w + l + 10)); if (r != want) print $0 " (want " want ")" }' "$WORK/gs.out")
n=$(grep -c '^player ' "$WORK/gs.out")
if [ "$n" = 2 ] && [ -z "$bad" ]; then
    ok "game_server: win_rate = (wins + prior/2) / (wins + losses + prior) for both lobbies"
else
    not_ok "game_server: win rates" "$n player lines; wrong: $bad"
fi
# Another shape: one store per thread, 3 threads, fewer ticks, no warm-up.
rm -f "$WORK"/game_repo/data/online.db*
run "$GS" "$WORK/game_repo" --stores per-thread --threads 3 --ticks 200 --warmup 0 --lobby 40
if [ "$RC" = 0 ] &&
   printf '%s\n' "$OUT" | grep -q '^3 threads, one store per thread, 200 ticks each' &&
   printf '%s\n' "$OUT" | grep -Eq '^tick latency: .* \(600 ticks, ' &&
   printf '%s\n' "$OUT" | grep -Eq '^games in the store: 4876 before, 5476 after: 600 more, 600 pushed$' &&
   [ "$(printf '%s\n' "$OUT" | grep -c '^thread [0-2]: players .*, 200 matches pushed')" = 3 ]; then
    ok "game_server: 3 threads with a store each, lobbies of 40: every push in the store"
else
    not_ok "game_server --stores per-thread --threads 3" "exit $RC" "$OUT" "$ERR"
fi
run "$GS"
expect_rc "game_server without a repo: usage, exit 2" 2
run "$GS" "$WORK/game_repo" --threads 3 --lobby 64
expect_rc "game_server: more players than the data's 128: usage, exit 2" 2

#---- edge_scoring ------------------------------------------------------------
readme=$top/examples/edge_scoring/README.md
cp -R "$top/examples/edge_scoring/repo" "$WORK/edge_repo"
rm -f "$WORK"/edge_repo/data/*.db*
run "$ES" "$WORK/edge_repo" <"$top/examples/edge_scoring/requests.txt"
expect_rc "edge_scoring: the README's run exits 0" 0
printf '%s\n' "$OUT" >"$WORK/es.out"
block_after '^Standard output, always the same' "$readme" >"$WORK/es.want"
compare "edge_scoring: standard output as in its README" "$WORK/es.want" "$WORK/es.out"
printf '%s\n' "$ERR" | mask >"$WORK/es.err"
block_after '^Standard error' "$readme" | mask >"$WORK/es.errwant"
compare "edge_scoring: standard error as in its README (latencies masked)" "$WORK/es.errwant" "$WORK/es.err"
# The scores worked out again from the CSV (each user's latest row) and the
# formula of the README.
bad=$(awk '
    function clamp(x, lo, hi) { return x < lo ? lo : (x > hi ? hi : x) }
    function log1p(x) { return log(1 + x) }
    NR == FNR { if (FNR > 1) { split($0, f, ","); if (f[2] >= ts[f[1]]) {
                    ts[f[1]] = f[2]; avg[f[1]] = f[3]; cnt[f[1]] = f[4]; home[f[1]] = f[5]
                    age[f[1]] = f[6]; cb[f[1]] = f[7] } }
                next }
    /^user=/ { split($0, kv, /[ =]/); u = kv[2]; a = kv[4]; c = kv[6]; got = kv[8]; dec = kv[10]
        if (!(u in avg)) { want = "none"; wd = "review" }
        else {
            s = 0.35 * clamp(log1p(a / avg[u]) / log1p(10), 0, 1) + 0.20 * clamp(cnt[u] / 20, 0, 1) \
                + (c != home[u] ? 0.25 : 0) + 0.15 * clamp(cb[u] / 3, 0, 1) + (age[u] < 30 ? 0.05 : 0)
            want = sprintf("%.3f", s); wd = s >= 0.6 ? "block" : (s >= 0.3 ? "review" : "allow")
        }
        n++
        if (got != want || dec != wd) print $0 " (want " want " " wd ")" }
    END { if (n != 7) print "scored lines: " n }' \
    "$top/examples/edge_scoring/repo/data/user_stats.csv" "$WORK/es.out")
if [ -z "$bad" ]; then ok "edge_scoring: every score and decision as the formula gives them"
else not_ok "edge_scoring: scores" "$bad"; fi
run sh -c "printf '1003 5000 US\n' | '$ES' '$WORK/edge_repo' 2>/dev/null"
# its expected output: the block after the one holding the command
expect_out "edge_scoring: a request from a pipe (the README's second command)" \
    "$(awk '/^printf .1003 5000 US/ { f = 1; next } f && /^```/ { n++; next } n == 2 { print } n == 3 { exit }' "$readme")"
run "$ES"
expect_rc "edge_scoring without a repo: usage, exit 2" 2

#---- examples/c_api_example.c, as docs/c-api.md builds it ------------------------
doc=$top/docs/c-api.md
awk '/^```c$/ { f = 1; next } f && /^```$/ { exit } f' "$doc" >"$WORK/doc_example.c"
if cmp -s "$WORK/doc_example.c" "$top/examples/c_api_example.c"; then
    ok "docs/c-api.md shows examples/c_api_example.c as it is"
else
    not_ok "docs/c-api.md's copy of c_api_example.c" "$(diff "$WORK/doc_example.c" "$top/examples/c_api_example.c" | head -10)"
fi
build_cmd=$(awk '/^Build and run from the top of the tree/ { f = 1; next } f && /^```/ { n++; next } n == 1 { print } n == 2 { exit }' "$doc" |
    sed -e 's/\\$//' | tr '\n' ' ')
case "$build_cmd" in
*"PKG_CONFIG_PATH=lib pkg-config --cflags --libs moonfeast-static"*) ok "docs/c-api.md builds the example with moonfeast-static.pc" ;;
*) not_ok "docs/c-api.md's build command" "$build_cmd" ;;
esac
# shellcheck disable=SC2046,SC2086
if (cd "$top" && cc -std=c11 $SAN examples/c_api_example.c -o "$WORK/c_api_example" \
    $(PKG_CONFIG_PATH=$libdir pkg-config --cflags --libs moonfeast-static)) 2>"$WORK/cc.err"; then
    ok "c_api_example builds as docs/c-api.md says"
else
    not_ok "c_api_example builds" "$(head -20 "$WORK/cc.err")"
fi
run "$WORK/c_api_example" "$WORK/c_api_repo"
awk '/^point-in-time join on three entity rows/ { f = 1; next } f && /^```/ { n++; next } n == 1 { print } n == 2 { exit }' "$doc" >"$WORK/cae.want"
printf '%s\n' "$OUT" | sed -n '/^driver_id,event_timestamp/,$p' >"$WORK/cae.got"
if [ "$RC" = 0 ] && [ -s "$WORK/cae.want" ] && cmp -s "$WORK/cae.want" "$WORK/cae.got"; then
    ok "c_api_example prints the training data docs/c-api.md shows"
else
    not_ok "c_api_example's output" "exit $RC" "$(diff "$WORK/cae.want" "$WORK/cae.got" | head -10)" "$ERR"
fi
