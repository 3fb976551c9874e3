#!/bin/sh
# tests/run.sh — run every test and print "N passed, N failed" last.
#
# Suites: C unit tests (build/tests/test_*), Lua stdlib tests (tests/lua/,
# through `moonfeast lua-test`), CLI end-to-end scripts (tests/e2e/*.sh).
# Every test prints "ok - NAME" or "not ok - NAME"; a program that dies
# without saying so counts as one failure. With MF_ASAN unset the suites
# run twice: the normal build, then the ASan+UBSan build (build-asan/);
# MF_ASAN=skip runs only the normal build, MF_ASAN=only only the sanitized.
# The threaded unit tests built with ThreadSanitizer (build-tsan/tests/, see
# TSAN_TESTS in the Makefile) run as a third pass when built, unless
# MF_TSAN=skip; MF_TSAN=only runs that pass alone. A report fails.
# Before the total, one "# SUITE (PASS): N passed, N failed" line per suite
# and pass (normal build, ASan+UBSan pass, ThreadSanitizer pass).
# Environment: MF_BIN (moonfeast binary), MF_TEST_BUILD (build dir).
# MF_TEST_FILTER=substring runs only the programs whose path contains it.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
normal_bin=${MF_BIN:-$top/bin/moonfeast}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

run_one() { # label command...
    label=$1
    shift
    out=$(mktemp)
    "$@" >"$out" 2>&1
    rc=$?
    sed -e "s|^ok - |ok - $label: |" -e "s|^not ok - |not ok - $label: |" "$out" |
        grep -E '^(ok|not ok) - |^#' | tee -a "$results" | grep -v '^ok - ' || true
    if [ $rc -ne 0 ] && ! grep -q '^not ok - ' "$out"; then
        echo "not ok - $label: exited with status $rc" | tee -a "$results"
        tail -n 20 "$out" | sed 's/^/#   /'
    fi
    rm -f "$out"
}

suite() { # build-dir moonfeast-binary label-prefix
    build=$1
    export MF_BIN=$2
    pre=$3
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        case "$t" in *"${MF_TEST_FILTER:-}"*) ;; *) continue ;; esac
        run_one "$pre$(basename "$t")" "$t"
    done
    for t in tests/lua/test_*.lua; do
        [ -f "$t" ] || continue
        case "$t" in *"${MF_TEST_FILTER:-}"*) ;; *) continue ;; esac
        run_one "${pre}lua/$(basename "$t" .lua)" "$MF_BIN" lua-test "$t"
    done
    for t in tests/e2e/*.sh; do
        [ -f "$t" ] || continue
        case "$t" in *"${MF_TEST_FILTER:-}"*) ;; *) continue ;; esac
        run_one "${pre}e2e/$(basename "$t" .sh)" sh "$t"
    done
}

tsan_suite() { # the threaded unit tests under ThreadSanitizer
    for t in "$top"/build-tsan/tests/test_*; do
        [ -x "$t" ] || continue
        case "$t" in *"${MF_TEST_FILTER:-}"*) ;; *) continue ;; esac
        TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 exitcode=66} run_one "tsan/$(basename "$t")" "$t"
    done
}

if [ "${MF_TSAN:-}" = only ]; then
    export MF_BIN=$normal_bin
    tsan_suite
    p=$(grep -c '^ok - tsan/' "$results")
    f=$(grep -c '^not ok - tsan/' "$results")
    echo "# threaded unit tests (ThreadSanitizer pass): $p passed, $f failed"
    passed=$(grep -c '^ok - ' "$results")
    failed=$(grep -c '^not ok - ' "$results")
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

mode=${MF_ASAN:-}
if [ "$mode" != only ]; then
    suite "${MF_TEST_BUILD:-$top/build}" "${MF_BIN:-$top/bin/moonfeast}" ""
fi
if [ "$mode" = only ]; then
    suite "${MF_TEST_BUILD:-$top/build-asan}" "${MF_BIN:-$top/build-asan/bin/moonfeast}" "asan/"
elif [ "$mode" != skip ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    suite "$top/build-asan" "$top/build-asan/bin/moonfeast" "asan/"
fi
if [ "${MF_TSAN:-}" != skip ]; then
    MF_BIN=$normal_bin tsan_suite
fi

# a line per suite and pass, then the total (the last line)
summary() { # LABEL-PREFIX NAME
    p=$(grep -c "^ok - $1" "$results")
    f=$(grep -c "^not ok - $1" "$results")
    [ $((p + f)) -eq 0 ] || echo "# $2: $p passed, $f failed"
}
summary 'test_' 'unit tests (normal build)'
summary 'lua/' 'Lua stdlib tests (normal build)'
summary 'e2e/' 'end-to-end scripts (normal build)'
summary 'asan/test_' 'unit tests (ASan+UBSan pass)'
summary 'asan/lua/' 'Lua stdlib tests (ASan+UBSan pass)'
summary 'asan/e2e/' 'end-to-end scripts (ASan+UBSan pass)'
summary 'tsan/' 'threaded unit tests (ThreadSanitizer pass)'

passed=$(grep -c '^ok - ' "$results")
failed=$(grep -c '^not ok - ' "$results")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
