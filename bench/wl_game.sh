# bench/wl_game.sh — the game workload of bench/run.sh (sourced by it;
# uses its helpers): examples/game_server with 2 threads, each tick reading
# a lobby of 64 players x 10 features (and the on-demand win rate computed
# from two of them and a request field) and pushing one match result
# online, on the SQLite online store. The same work is run with the two
# threads sharing one mf_store and with a store per thread, in rounds
# whose order alternates (shared first in odd rounds); each run gives the
# percentiles of its timed ticks (2 x TICKS, the first 200 of each thread
# left out). Figures: the median over the runs of each mode's p99 per
# tick, and the median over the rounds of the ratio shared / per-thread
# (goal <= 1: sharing a store costs nothing).

wl_game() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "game: skipped: $MFLINK_WHY"
        return 0
    fi
    src=$ROOT/examples/game_server/game_server.c
    # shellcheck disable=SC3013
    if [ ! -x "$TOOLS/game_server" ] || [ "$src" -nt "$TOOLS/game_server" ] ||
       [ "$TOOLS/libmoonfeast.a" -nt "$TOOLS/game_server" ]; then
        say "building game_server"
        # shellcheck disable=SC2086
        $CC -O2 -std=c11 -Wall -Wextra -I"$ROOT/include" -o "$TOOLS/game_server.tmp" "$src" \
            "$TOOLS/libmoonfeast.a" $MF_PKG -lm -lpthread -ldl || exit 1
        mv "$TOOLS/game_server.tmp" "$TOOLS/game_server"
    fi
    if [ "$SCALE" = full ]; then ticks=20000; else ticks=2000; fi
    dir=$WORK/game
    rm -rf "$dir"
    mkdir -p "$dir/log"
    cp -R "$ROOT/examples/game_server/repo" "$dir/repo"
    rm -f "$dir"/repo/data/*.db*
    say "game: 2 threads x $ticks ticks, 64 players x 10 features + 1 push a tick; shared store against a store per thread, $RUNS rounds"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        if [ $((i % 2)) = 1 ]; then order="shared per-thread"; else order="per-thread shared"; fi
        for mode in $order; do
            log=$dir/log/${mode}_$i
            if ! "$TOOLS/game_server" "$dir/repo" --threads 2 --lobby 64 --ticks "$ticks" \
                --warmup 200 --stores "$mode" >"$log" 2>&1; then
                say "game_server --stores $mode failed:"
                cat "$log" >&2
                exit 1
            fi
        done
    done
    # gstat MODE FIELD: FIELD (p50 p90 p99 max ticks/s) of each run of MODE, one a line
    gstat() {
        for f in "$dir"/log/"$1"_*; do
            sed -n 's/^tick latency: p50 \([0-9.]*\) us, p90 \([0-9.]*\) us, p99 \([0-9.]*\) us, max \([0-9.]*\) us ([0-9]* ticks, \([0-9]*\) ticks\/s)$/p50 \1 p90 \2 p99 \3 max \4 tps \5/p' "$f" |
                awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'
        done
    }
    ok_runs=$(grep -l '^games in the store: ' "$dir"/log/* | wc -l)
    bad_runs=$(grep -l 'MISMATCH' "$dir"/log/* | wc -l)
    s99=$(gstat shared p99 | med) p99=$(gstat per-thread p99 | med)
    rounds=$(i=0; while [ "$i" -lt "$RUNS" ]; do i=$((i + 1))
        a=$(gstat shared p99 | sed -n "${i}p") b=$(gstat per-thread p99 | sed -n "${i}p")
        awk -v a="$a" -v b="$b" 'BEGIN { if (b + 0 > 0) printf "%.3f\n", a / b }'; done)
    r=$(printf '%s\n' "$rounds" | med)
    L=game_2threads_64x10_push
    figure "${L}_shared_p99" "$s99" us \
        "one store for both threads; p50 $(gstat shared p50 | med) us, p90 $(gstat shared p90 | med) us; $(gstat shared tps | med) ticks/s; p99 of the runs $(gstat shared p99 | lo)-$(gstat shared p99 | hi) us"
    figure "${L}_per_thread_p99" "$p99" us \
        "a store per thread; p50 $(gstat per-thread p50 | med) us, p90 $(gstat per-thread p90 | med) us; $(gstat per-thread tps | med) ticks/s; p99 of the runs $(gstat per-thread p99 | lo)-$(gstat per-thread p99 | hi) us"
    figure "${L}_shared_vs_per_thread_p99" "$(fmt "$r" 2)" x \
        "goal <= 1; median of the rounds' ratios ($(printf '%s' "$rounds" | tr '\n' ' ' | sed 's/ $//'))"
    if [ "$bad_runs" = 0 ] && [ "$ok_runs" = $((2 * RUNS)) ]; then v=yes; else v=NO; fi
    figure "game_values_ok" "$v" "" "every pushed match result read back from the store in $ok_runs of $((2 * RUNS)) runs"
}
