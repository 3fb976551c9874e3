#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS — run every fuzz target of BUILD/fuzz/
# (built by `make fuzz`) for SECONDS each, from its committed seed corpus
# tests/fuzz/corpus/<target>/ (read only; optional) and a work corpus of new inputs
# in BUILD/corpus/<target>/ (kept between runs), with the dictionary
# tests/fuzz/<target>.dict when there is one. A crash, leak, timeout
# (10 s for one input) or memory blow-up (2 GiB) fails the target; its
# input is saved as BUILD/artifacts/<target>-crash-... and the command to
# replay it is printed. Exits 1 when any target failed.
set -u
build=${1:?usage: run.sh BUILD SECONDS}
secs=${2:?usage: run.sh BUILD SECONDS}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
failed=0
n=0
for bin in "$build"/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    n=$((n + 1))
    seeds=tests/fuzz/corpus/$name
    work=$build/corpus/$name
    mkdir -p "$work" "$build/artifacts"
    [ -d "$seeds" ] || seeds=""
    dict=""
    [ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
    log=$build/$name.log
    echo "fuzz: $name for ${secs}s (log: $log)"
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$name-" $dict "$work" $seeds >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "ok - fuzz $name: ${execs:-?} runs in ${secs}s, $cov, no crash"
    else
        failed=$((failed + 1))
        echo "not ok - fuzz $name: exit $rc"
        grep -E 'ERROR|SUMMARY|fuzz_csv:|==[0-9]+==|Test unit written' "$log" | head -20 | sed 's/^/#   /'
        for a in $(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log"); do
            echo "#   replay: $bin $a"
        done
    fi
done
[ "$n" -gt 0 ] || { echo "fuzz: no targets in $build/fuzz"; exit 1; }
[ "$failed" -eq 0 ]
