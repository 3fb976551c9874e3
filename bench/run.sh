#!/bin/sh
# bench/run.sh — moonfeast's benchmarks; `make bench` builds moonfeast and
# runs this. What every figure means: docs/benchmarks.md.
#
# Prints one line per figure, `name value unit (ratios)`, and writes the
# same lines to bench/.work/results.txt. Everything large (data, peers,
# outputs) lives under bench/.work/, which git ignores; generated data is
# kept between runs and made again only when its parameters or its
# generator change.
#
# Environment:
#   MF_BENCH_ONLY   workloads to run, separated by spaces or commas
#                   (default: all of them; the list is in WORKLOADS below)
#   MF_BENCH_SCALE  full (default) or small (a tenth of the rows, for
#                   development; its figures are not comparable to the goals)
#   MF_BENCH_RUNS   timed runs of each command; the median is reported
#                   (default 3)
#   MF_BIN          the moonfeast binary (default: bin/moonfeast)
#   MF_LIB          the library the in-process programs link (default:
#                   lib/libmoonfeast.a)
#   MF_BENCH_WORK   the work folder (default: bench/.work)
#   MF_DUCKDB_NODE_API  the npm spec of the DuckDB peer
#                   (default: @duckdb/node-api@1.5.6-r.1)
#
# Adding a workload: write a function wl_NAME that prints its figures with
# `figure`, and add NAME to WORKLOADS.
set -eu

WORKLOADS="pit transform_hist online_sqlite materialize_sqlite materialize_jobs lua_store online_redis redis_cluster materialize_redis push http_sqlite http_redis http_soak registry parquet game"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
WORK=${MF_BENCH_WORK:-$BENCH/.work}
MF_BIN=${MF_BIN:-$ROOT/bin/moonfeast}
MF_LIB=${MF_LIB:-$ROOT/lib/libmoonfeast.a}
SCALE=${MF_BENCH_SCALE:-full}
RUNS=${MF_BENCH_RUNS:-3}
ONLY=$(printf '%s' "${MF_BENCH_ONLY:-}" | tr ',' ' ')
CC=${CC:-cc}
DUCKDB_SPEC=${MF_DUCKDB_NODE_API:-@duckdb/node-api@1.5.6-r.1}
NODE_DIR=$WORK/node
RESULTS=$WORK/results.txt
TOOLS=$WORK/bin

case $SCALE in full | small) ;; *) echo "bench: MF_BENCH_SCALE is full or small, not '$SCALE'" >&2; exit 2 ;; esac
case $RUNS in '' | *[!0-9]* | 0) echo "bench: MF_BENCH_RUNS must be a positive number" >&2; exit 2 ;; esac
for w in $ONLY; do
    case " $WORKLOADS " in *" $w "*) ;; *) echo "bench: unknown workload '$w' (known: $WORKLOADS)" >&2; exit 2 ;; esac
done
[ -x "$MF_BIN" ] || { echo "bench: $MF_BIN not found (run make first)" >&2; exit 1; }

mkdir -p "$WORK" "$TOOLS"
: >"$RESULTS.tmp"
# Time a copy, so a rebuild during the run cannot change or lock the binary.
cp "$MF_BIN" "$TOOLS/moonfeast.tmp" && mv "$TOOLS/moonfeast.tmp" "$TOOLS/moonfeast"
MF=$TOOLS/moonfeast
# The same for the library the in-process programs link (relinked when the
# copy changes).
LIB_COPIED=
if [ -f "$MF_LIB" ]; then
    if ! cmp -s "$MF_LIB" "$TOOLS/libmoonfeast.a"; then
        cp "$MF_LIB" "$TOOLS/libmoonfeast.a.tmp" && mv "$TOOLS/libmoonfeast.a.tmp" "$TOOLS/libmoonfeast.a"
    fi
    LIB_COPIED=1
fi

#---- Output --------------------------------------------------------------------

# figure NAME VALUE UNIT [NOTE]: one result line, on stdout and in results.txt
# (UNIT may be empty for a yes/no figure). Every line ends with the load
# during its workload so far: `[load MIN-MAX]`, the lowest and highest
# 1-minute load average sampled each second since the workload started
# (the bench's own processes count too), and `LOADED` after it when the
# highest exceeded the number of cores.
figure() {
    line="$1 $2${3:+ $3}"
    [ -z "${4:-}" ] || line="$line ($4)"
    line="$line $(load_span)"
    echo "$line"
    echo "$line" >>"$RESULTS.tmp"
}

# note TEXT: a remark (a skipped peer...), also kept in results.txt.
note() {
    echo "# $*"
    echo "# $*" >>"$RESULTS.tmp"
}

say() { echo "bench: $*" >&2; }

#---- Load ------------------------------------------------------------------------

# A sampler appends the 1-minute load average to $LOADLOG every second for
# the whole run; load_mark (at each workload's start) remembers where the
# workload's samples begin, load_span sums them up for figure.
LOADLOG=$WORK/load.log
LOAD_PID=
LOAD_FROM=0
load_start() {
    : >"$LOADLOG"
    (while :; do cut -d' ' -f1 /proc/loadavg >>"$LOADLOG"; sleep 1; done) &
    LOAD_PID=$!
}
load_stop() {
    [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
    LOAD_PID=
}
load_mark() { LOAD_FROM=$(wc -l <"$LOADLOG"); }
load_span() {
    awk -v from="$LOAD_FROM" -v cores="$(nproc)" -v now="$(cut -d' ' -f1 /proc/loadavg)" '
        NR > from { v = $1 + 0; if (n == 0 || v < lo) lo = v; if (n == 0 || v > hi) hi = v; n++ }
        END {
            if (n == 0) { lo = now + 0; hi = now + 0 }
            printf "[load %.2f-%.2f%s]\n", lo, hi, (hi > cores ? " LOADED" : "")
        }' "$LOADLOG"
}

# ratio A B: A / B with two decimals ("-" when B is 0 or empty).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }

# human N: 10000000 -> 10M, 100000 -> 100k.
human() {
    awk -v n="$1" 'BEGIN {
        if (n >= 1000000 && n % 1000000 == 0) printf "%dM\n", n / 1000000
        else if (n >= 1000 && n % 1000 == 0) printf "%dk\n", n / 1000
        else print n }'
}

#---- Tools -----------------------------------------------------------------------

# /usr/bin/time (Debian package time) for wall time and peak RSS.
ensure_time() {
    [ -x /usr/bin/time ] && return 0
    say "installing the Debian package 'time' (for /usr/bin/time -v)"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=sudo
        else
            say "/usr/bin/time is missing: apt-get install time"
            exit 1
        fi
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends time >/dev/null
}

# build NAME: bench/NAME.c -> $TOOLS/NAME with cc -O2, when the source is newer.
# (-nt is not POSIX but dash, bash and busybox sh have it.)
# shellcheck disable=SC3013
build() {
    if [ ! -x "$TOOLS/$1" ] || [ "$BENCH/$1.c" -nt "$TOOLS/$1" ]; then
        say "building $1"
        $CC -O2 -std=gnu11 -Wall -Wextra -o "$TOOLS/$1" "$BENCH/$1.c"
    fi
}

# build_with NAME DEP FLAGS...: bench/NAME.c -> $TOOLS/NAME, compiled with
# FLAGS after the source (include paths, libraries); made again when the
# source, a header in bench/ or the file DEP ("" for none) is newer.
# Returns 1 when the compiler fails.
# shellcheck disable=SC3013
build_with() {
    name=$1 dep=$2
    shift 2
    stale=
    for h in "$BENCH"/*.h; do [ "$h" -nt "$TOOLS/$name" ] && stale=1; done
    if [ ! -x "$TOOLS/$name" ] || [ "$BENCH/$name.c" -nt "$TOOLS/$name" ] || [ -n "$stale" ] ||
       { [ -n "$dep" ] && [ "$dep" -nt "$TOOLS/$name" ]; }; then
        say "building $name"
        $CC -O2 -std=gnu11 -Wall -Wextra -o "$TOOLS/$name.tmp" "$BENCH/$name.c" "$@" || return 1
        mv "$TOOLS/$name.tmp" "$TOOLS/$name"
    fi
}

# DuckDB through npm into $NODE_DIR, once. Sets DUCKDB_OK=1 or explains why
# the peer is skipped in DUCKDB_WHY.
DUCKDB_OK=
DUCKDB_WHY=
ensure_duckdb() {
    [ -n "$DUCKDB_OK$DUCKDB_WHY" ] && return 0
    if ! command -v node >/dev/null 2>&1; then
        DUCKDB_WHY="node is missing"
    elif [ -f "$NODE_DIR/node_modules/@duckdb/node-api/package.json" ] &&
         [ "$(cat "$NODE_DIR/.spec" 2>/dev/null)" = "$DUCKDB_SPEC" ]; then
        DUCKDB_OK=1
    elif ! command -v npm >/dev/null 2>&1; then
        DUCKDB_WHY="npm is missing"
    else
        say "installing $DUCKDB_SPEC into $NODE_DIR"
        mkdir -p "$NODE_DIR"
        if npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "$DUCKDB_SPEC" \
            >"$WORK/npm.log" 2>&1; then
            echo "$DUCKDB_SPEC" >"$NODE_DIR/.spec"
            DUCKDB_OK=1
        else
            DUCKDB_WHY="npm install $DUCKDB_SPEC failed (see $WORK/npm.log)"
        fi
    fi
    [ -n "$DUCKDB_OK" ] || DUCKDB_OK=0
    if [ "$DUCKDB_OK" = 1 ]; then
        DUCKDB_VERSION=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' \
            "$NODE_DIR/node_modules/@duckdb/node-api/package.json" | head -n 1)
    fi
}

#---- Timing ------------------------------------------------------------------------

# measure LOG CMD...: one run of CMD under /usr/bin/time -v (its output to
# LOG); appends "wall_s rss_kib cpu_s" to LOG.runs. Returns CMD's status.
measure() {
    log=$1
    shift
    if ! /usr/bin/time -v -o "$log.time" "$@" >"$log" 2>&1; then
        say "command failed: $*"
        tail -n 20 "$log" >&2
        return 1
    fi
    awk '
        /Elapsed \(wall clock\) time/ {
            v = $NF; n = split(v, p, ":")
            wall = n == 3 ? p[1] * 3600 + p[2] * 60 + p[3] : p[1] * 60 + p[2] }
        /Maximum resident set size/ { rss = $NF }
        /User time \(seconds\)/ { cpu += $NF }
        /System time \(seconds\)/ { cpu += $NF }
        END { print wall, rss, cpu }' "$log.time" >>"$log.runs"
}

# summarize LOG: from LOG.runs, sets WALL (s), RSS (MiB) and CPU (s), the
# medians over the runs, and SPREAD, "min-max s" of the walls.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
summarize() {
    WALL=$(awk '{ print $1 }' "$1.runs" | median | awk '{ printf "%.2f\n", $1 }')
    RSS=$(awk '{ print $2 }' "$1.runs" | median | awk '{ printf "%.0f\n", $1 / 1024 }')
    CPU=$(awk '{ print $3 }' "$1.runs" | median | awk '{ printf "%.2f\n", $1 }')
    SPREAD=$(awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 }
        END { printf "%.2f-%.2f s\n", lo, hi }' "$1.runs")
}

#---- Workload: point-in-time join ------------------------------------------------

# pit_data KIND NAME ROWS KEYS SEED [csv-only]: $PIT_DATA/NAME.csv (and .bin)
# from gen_pit, unless made before with the same arguments and generator.
pit_data() {
    kind=$1 name=$2
    shift 2
    stamp="$(cksum <"$BENCH/gen_pit.c") $kind $*"
    if [ -f "$PIT_DATA/$name.csv" ] && [ "$(cat "$PIT_DATA/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    say "generating $name ($kind, $1 rows, $2 keys)"
    rm -f "$PIT_DATA/$name.stamp"
    "$TOOLS/gen_pit" "$kind" "$PIT_DATA/$name" "$@"
    echo "$stamp" >"$PIT_DATA/$name.stamp"
}

# The feature repo: one view per feature file, all over the same entity.
pit_repo() {
    rm -rf "$PIT_REPO"
    mkdir -p "$PIT_REPO/data"
    cat >"$PIT_REPO/feature_store.yaml" <<EOF
project: bench
provider: local
registry: data/registry.db
online_store:
  type: sqlite
  path: data/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
EOF
    {
        echo '-- Generated by bench/run.sh: the views of the point-in-time join benchmark.'
        echo 'local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }'
        for pair in $PIT_VIEWS; do
            v=${pair%%=*} f=${pair#*=}
            cat <<EOF
feature_view {
  name = "$v",
  entities = { driver },
  ttl = seconds($PIT_TTL),
  schema = {
    field { name = "conv_rate", dtype = Float32 },
    field { name = "acc_rate", dtype = Float64 },
    field { name = "trips", dtype = Int64 },
  },
  source = file_source {
    name = "${v}_source",
    path = "../data/$f.csv",
    timestamp_field = "event_timestamp",
  },
  online = false,
}
EOF
        done
    } >"$PIT_REPO/bench.lua"
    "$MF" -C "$PIT_REPO" apply >"$PIT_WORK/apply.log" 2>&1 || {
        cat "$PIT_WORK/apply.log" >&2
        exit 1
    }
}

# pit_case LABEL FLOOR(yes|no) VIEW=FILE...: time moonfeast, DuckDB and the
# floor on one configuration and print its figures. Sets MF_WALL, DK_WALL
# (empty when the peer is skipped) for the caller.
pit_case() {
    label=$1 floor=$2
    shift 2
    files="$PIT_DATA/$PIT_ENT.csv" refs='' dviews='' names='' bins=
    for pair in "$@"; do
        v=${pair%%=*} f=${pair#*=}
        files="$files $PIT_DATA/$f.csv"
        refs="$refs -f $v:conv_rate -f $v:acc_rate -f $v:trips"
        dviews="$dviews $v=$PIT_DATA/$f.csv"
        names="$names $v"
        bins="$bins $PIT_DATA/$f.bin"
    done
    # shellcheck disable=SC2086
    cat $files >/dev/null # the same warm page cache for everyone
    mf_out=$PIT_WORK/out/moonfeast_$label.csv dk_out=$PIT_WORK/out/duckdb_$label.csv
    mf_log=$PIT_WORK/log/moonfeast_$label.log dk_log=$PIT_WORK/log/duckdb_$label.log
    rm -f "$mf_log.runs" "$dk_log.runs"
    dk_ok=$DUCKDB_OK
    if [ "$dk_ok" = 1 ]; then peer=" and DuckDB ASOF LEFT JOIN, alternating"; else peer=; fi
    say "$label: moonfeast get-historical-features$peer, $RUNS runs each"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        measure "$mf_log" "$MF" -C "$PIT_REPO" get-historical-features \
            --entities "$PIT_DATA/$PIT_ENT.csv" $refs --full-feature-names -o "$mf_out" || exit 1
        if [ "$dk_ok" = 1 ]; then
            # shellcheck disable=SC2086
            measure "$dk_log" node "$BENCH/duckdb_pit.mjs" join "$NODE_DIR" 2 \
                "$PIT_DATA/$PIT_ENT.csv" "$PIT_TTL" "$dk_out" $dviews || {
                note "$label: the DuckDB peer failed; see $dk_log"
                dk_ok=0
            }
        fi
    done
    summarize "$mf_log"
    MF_WALL=$WALL MF_RSS=$RSS MF_CPU=$CPU MF_SPREAD=$SPREAD
    DK_WALL='' DK_RSS='' DK_CPU='' DK_SPREAD='' FL_WALL='' FL_MATCHED=
    if [ "$dk_ok" = 1 ]; then
        summarize "$dk_log"
        DK_WALL=$WALL DK_RSS=$RSS DK_CPU=$CPU DK_SPREAD=$SPREAD
    fi
    if [ "$floor" = yes ]; then
        say "$label: floor (radix sort-merge in memory)"
        # shellcheck disable=SC2086
        "$TOOLS/floor_pit" "$PIT_TTL" "$((RUNS > 3 ? RUNS : 3))" "$PIT_DATA/$PIT_ENT.bin" $bins \
            >"$PIT_WORK/log/floor_$label.log"
        FL_WALL=$(awk '{ print $2 }' "$PIT_WORK/log/floor_$label.log")
        FL_MATCHED=$(awk '{ print $4 }' "$PIT_WORK/log/floor_$label.log")
    fi

    # Figures.
    rel=
    [ -n "$FL_WALL" ] && rel="$(ratio "$MF_WALL" "$FL_WALL")x floor"
    [ -n "$DK_WALL" ] && rel="${rel:+$rel, }$(ratio "$MF_WALL" "$DK_WALL")x DuckDB"
    figure "${label}_moonfeast_wall" "$MF_WALL" s "${rel:+$rel; }runs $MF_SPREAD"
    figure "${label}_moonfeast_peak_rss" "$MF_RSS" MiB \
        "$([ -n "$DK_RSS" ] && echo "$(ratio "$MF_RSS" "$DK_RSS")x DuckDB")"
    if [ -n "$DK_WALL" ]; then
        figure "${label}_duckdb_wall" "$DK_WALL" s \
            "DuckDB $DUCKDB_VERSION, 2 threads${FL_WALL:+, $(ratio "$DK_WALL" "$FL_WALL")x floor}; runs $DK_SPREAD"
        figure "${label}_duckdb_peak_rss" "$DK_RSS" MiB
    fi
    figure "${label}_moonfeast_cpu" "$MF_CPU" s "user + system${DK_CPU:+; DuckDB $DK_CPU s}"
    [ -n "$FL_WALL" ] && figure "${label}_floor_wall" "$FL_WALL" s "radix sort-merge of parsed data, 1 thread"
    if [ -n "$DK_WALL" ]; then
        figure "${label}_wall_moonfeast_vs_duckdb" "$(ratio "$MF_WALL" "$DK_WALL")" x "goal <= $PIT_GOAL"
        figure "${label}_rss_moonfeast_vs_duckdb" "$(ratio "$MF_RSS" "$DK_RSS")" x "goal <= 1"
    fi
    [ -n "$FL_WALL" ] && figure "${label}_wall_moonfeast_vs_floor" "$(ratio "$MF_WALL" "$FL_WALL")" x

    # Do the answers agree? Row counts, then a full comparison with DuckDB.
    rows_ent=$(($(wc -l <"$PIT_DATA/$PIT_ENT.csv") - 1))
    rows_mf=$(($(wc -l <"$mf_out") - 1))
    if [ -n "$DK_WALL" ]; then
        # shellcheck disable=SC2086
        cmp=$(node "$BENCH/duckdb_pit.mjs" compare "$NODE_DIR" 2 "$mf_out" "$dk_out" $names) || cmp=
        # shellcheck disable=SC2016
        verdict=$(printf '%s' "$cmp" | N="$rows_ent" FM="${FL_MATCHED:-}" node -e '
            const c = JSON.parse(require("fs").readFileSync(0, "utf8"));
            const n = Number(process.env.N), fm = process.env.FM;
            const cols = Object.keys(c.nonnull_a);
            const sameNN = cols.every((k) => c.nonnull_a[k] === c.nonnull_b[k]);
            // the floor counts matches summed over the views: one column of each
            const fsum = cols.filter((_, i) => i % 3 === 0).reduce((s, k) => s + c.nonnull_a[k], 0);
            const floorOk = !fm || Number(fm) === fsum;
            const ok = c.rows_a === n && c.rows_b === n && c.only_a === 0 && c.only_b === 0 &&
              sameNN && floorOk;
            console.log((ok ? "yes" : "NO") + "\t" + `${n} entity rows, ${c.rows_a} moonfeast rows, ` +
              `${c.rows_b} DuckDB rows; rows only in moonfeast: ${c.only_a}, only in DuckDB: ` +
              `${c.only_b}; non-null values per column ${sameNN ? "equal" : "DIFFER"} ` +
              `(${cols[0]}: ${c.nonnull_a[cols[0]]})` +
              (fm ? `; floor matches ${fm}${floorOk ? "" : " DIFFER"}` : ""));
        ' 2>"$PIT_WORK/log/compare_$label.err") || verdict=$(printf 'NO\tthe comparison failed: %s' "${cmp:-no output}")
        figure "${label}_outputs_agree" "$(printf '%s' "$verdict" | cut -f1)" "" \
            "$(printf '%s' "$verdict" | cut -f2-)"
    else
        if [ "$rows_mf" = "$rows_ent" ]; then v=yes; else v=NO; fi
        figure "${label}_rows_match_entities" "$v" "" \
            "$rows_mf output rows, $rows_ent entity rows; no DuckDB to compare with"
    fi
}

wl_pit() {
    PIT_WORK=$WORK/pit
    PIT_DATA=$PIT_WORK/data
    PIT_REPO=$PIT_WORK/repo
    PIT_TTL=86400
    mkdir -p "$PIT_DATA" "$PIT_WORK/out" "$PIT_WORK/log"
    rm -f "$PIT_WORK"/out/*.csv
    if [ "$SCALE" = full ]; then
        n_ent=1000000 n_feat=10000000 n_feat_small=1000000 n_keys=100000
    else
        n_ent=100000 n_feat=1000000 n_feat_small=100000 n_keys=10000
    fi
    build gen_pit
    build floor_pit
    ensure_duckdb
    [ "$DUCKDB_OK" = 1 ] || note "pit: DuckDB peer skipped: $DUCKDB_WHY"

    E=$(human $n_ent) F=$(human $n_feat) FS=$(human $n_feat_small)
    PIT_ENT=ent_${n_ent}_${n_keys}
    big=feat_${n_feat}_${n_keys}
    small=feat_${n_feat_small}_${n_keys}
    pit_data entities "$PIT_ENT" "$n_ent" "$n_keys" 1
    pit_data features "${big}_v1" "$n_feat" "$n_keys" 11
    pit_data features "${small}" "$n_feat_small" "$n_keys" 21
    for i in 2 3 4 5; do
        pit_data features "${big}_v$i" "$n_feat" "$n_keys" "1$i" csv-only
    done
    PIT_VIEWS="small=$small v1=${big}_v1 v2=${big}_v2 v3=${big}_v3 v4=${big}_v4 v5=${big}_v5"
    pit_repo

    # The reference workload, then how cost grows with rows and views.
    # (the goal, <= 0.3x DuckDB's wall, is the reference workload's)
    PIT_GOAL=0.3
    pit_case "pit_${E}x${F}" yes "v1=${big}_v1"
    PIT_GOAL=-
    one_mf=$MF_WALL one_dk=$DK_WALL
    pit_case "pit_${E}x${FS}" yes "small=$small"
    for nv in 2 5; do
        set --
        i=1
        while [ "$i" -le "$nv" ]; do
            set -- "$@" "v$i=${big}_v$i"
            i=$((i + 1))
        done
        lab="pit_${E}x${F}_${nv}views"
        pit_case "$lab" no "$@"
        figure "${lab}_moonfeast_wall_per_view" "$(awk -v w="$MF_WALL" -v n="$nv" 'BEGIN { printf "%.2f\n", w / n }')" s \
            "$(ratio "$(awk -v w="$MF_WALL" -v n="$nv" 'BEGIN { print w / n }')" "$one_mf")x the 1-view wall"
        if [ -n "$DK_WALL" ] && [ -n "$one_dk" ]; then
            figure "${lab}_duckdb_wall_per_view" "$(awk -v w="$DK_WALL" -v n="$nv" 'BEGIN { printf "%.2f\n", w / n }')" s \
                "$(ratio "$(awk -v w="$DK_WALL" -v n="$nv" 'BEGIN { print w / n }')" "$one_dk")x the 1-view wall"
        fi
    done
}

#---- Workload: on-demand transforms on the historical path -----------------------------

# The pit workload's reference join (1M entity rows x 10M feature rows, one
# view), then the same with an on-demand view of simple arithmetic over two
# of its features and one request field (an entity column), in row mode and
# in batch mode: the added wall time is each transform's cost.
wl_transform_hist() {
    PIT_WORK=$WORK/pit
    PIT_DATA=$PIT_WORK/data
    TF_WORK=$WORK/transform_hist
    TF_REPO=$TF_WORK/repo
    mkdir -p "$PIT_DATA" "$TF_WORK/out" "$TF_WORK/log"
    if [ "$SCALE" = full ]; then
        n_ent=1000000 n_feat=10000000 n_keys=100000
    else
        n_ent=100000 n_feat=1000000 n_keys=10000
    fi
    build gen_pit
    ent=ent_${n_ent}_${n_keys} feat=feat_${n_feat}_${n_keys}_v1
    pit_data entities "$ent" "$n_ent" "$n_keys" 1
    pit_data features "$feat" "$n_feat" "$n_keys" 11
    # the entity rows with a request field
    if [ ! -f "$TF_WORK/$ent.req.csv" ] || [ "$PIT_DATA/$ent.csv" -nt "$TF_WORK/$ent.req.csv" ]; then
        awk -F, -v OFS=, 'NR == 1 { print $0, "bonus"; next } { print $0, NR % 7 }' \
            "$PIT_DATA/$ent.csv" >"$TF_WORK/$ent.req.csv"
    fi
    rm -rf "$TF_REPO"
    mkdir -p "$TF_REPO/data"
    printf 'project: bench\nregistry: data/registry.db\nonline_store: {type: sqlite, path: data/online.db}\n' \
        >"$TF_REPO/feature_store.yaml"
    cat >"$TF_REPO/bench.lua" <<EOF
-- Generated by bench/run.sh: the transform benchmark's views.
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local v1 = feature_view {
  name = "v1", entities = { driver }, ttl = seconds(86400),
  schema = { field { name = "conv_rate", dtype = Float32 }, field { name = "acc_rate", dtype = Float64 },
             field { name = "trips", dtype = Int64 } },
  source = file_source { name = "v1_source", path = "$PIT_DATA/$feat.csv", timestamp_field = "event_timestamp" },
  online = false,
}
local req = request_source { name = "req", schema = { field { name = "bonus", dtype = Int64 } } }
on_demand_feature_view {
  name = "t_row", sources = { v1, req },
  schema = { field { name = "score", dtype = Float64 } },
  transform = function(r)
    if r.conv_rate == nil then return { score = null } end
    return { score = r.conv_rate * 100 + r.acc_rate + r.bonus }
  end,
}
on_demand_feature_view {
  name = "t_batch", sources = { v1, req }, mode = "batch",
  schema = { field { name = "score", dtype = Float64 } },
  transform = function(cols, n)
    local c, a, b, out = cols.conv_rate, cols.acc_rate, cols.bonus, {}
    for i = 1, n do
      local x = c[i]
      if x ~= nil then out[i] = x * 100 + a[i] + b[i] end
    end
    return { score = out }
  end,
}
EOF
    "$MF" -C "$TF_REPO" apply >"$TF_WORK/apply.log" 2>&1 || {
        cat "$TF_WORK/apply.log" >&2
        exit 1
    }
    E=$(human $n_ent) F=$(human $n_feat)
    base="-f v1:conv_rate -f v1:acc_rate -f v1:trips"
    cat "$TF_WORK/$ent.req.csv" "$PIT_DATA/$feat.csv" >/dev/null
    for case in none row batch; do rm -f "$TF_WORK/log/$case.runs"; done
    say "transform_hist: the ${E}x${F} join without a transform, with row mode, with batch mode; $RUNS runs each"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        for case in none row batch; do
            extra=
            [ "$case" = row ] && extra="-f t_row:score"
            [ "$case" = batch ] && extra="-f t_batch:score"
            # shellcheck disable=SC2086
            measure "$TF_WORK/log/$case" "$MF" -C "$TF_REPO" get-historical-features \
                --entities "$TF_WORK/$ent.req.csv" $base $extra \
                -o "$TF_WORK/out/$case.csv" || exit 1
        done
    done
    summarize "$TF_WORK/log/none"
    none=$WALL
    figure "transform_hist_${E}x${F}_without_wall" "$none" s "runs $SPREAD"
    for case in row batch; do
        summarize "$TF_WORK/log/$case"
        added=$(awk -v a="$WALL" -v b="$none" 'BEGIN { printf "%.2f\n", a - b }')
        goal=0.5
        [ "$case" = batch ] && goal=0.15
        figure "transform_hist_${E}x${F}_${case}_wall" "$WALL" s "runs $SPREAD"
        figure "transform_hist_${E}x${F}_${case}_added" "$added" s "goal <= $goal s"
    done
    # both modes must compute the same scores
    if ! cmp -s "$TF_WORK/out/row.csv" "$TF_WORK/out/batch.csv"; then
        note "transform_hist: row and batch mode outputs differ"
    fi
}

#---- Shared by the online, materialize and push workloads -------------------------

# The event times of every generated source are in the 30 days from
# 2025-01-01; materializations take the window [2025-01-01, 2025-02-01].
MAT_START=1735689600000000
MAT_END=1738368000000000
ONLINE_NFEAT=10  # features per view in the online and push workloads
ONLINE_NVIEWS=5  # views of the wide online read
KEY_SEED=42      # the driver ids each read asks for

# kv FILE KEY: the word after KEY in FILE's "key value key value ..." line.
kv() { awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k) { print $(i + 1); exit } }' "$1"; }

# med / lo / hi: the median, least and greatest of numbers, one a line.
lo() { sort -g | head -n 1; }
hi() { sort -g | tail -n 1; }
med() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
# fmt N DIGITS: N with DIGITS decimals.
fmt() { awk -v n="$1" -v d="$2" 'BEGIN { printf "%.*f\n", d, n }'; }
# rate N S: N / S, rounded to a whole number.
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s + 0 == 0) print "-"; else printf "%.0f\n", n / s }'; }

# The in-process programs link the copy of the library taken at the start
# (see the top). Sets MFLINK_OK=1, or 0 with MFLINK_WHY.
MFLINK_OK=
MFLINK_WHY=
ensure_mflink() {
    [ -n "$MFLINK_OK" ] && return 0
    MFLINK_OK=0
    if [ -z "$LIB_COPIED" ]; then
        MFLINK_WHY="$MF_LIB not found (run make)"
    elif ! MF_PKG=$(pkg-config --cflags --libs luajit sqlite3 yaml-0.1 libprotobuf-c hiredis jansson libpq libzstd liblz4 zlib 2>/dev/null); then
        MFLINK_WHY="pkg-config does not know luajit, sqlite3, yaml-0.1, libprotobuf-c, hiredis, jansson, libpq, libzstd, liblz4 or zlib"
    else
        MF_PKG="$MF_PKG -lsnappy" # Debian's libsnappy has no .pc
        SQLITE_PKG=$(pkg-config --cflags --libs sqlite3)
        HIREDIS_PKG=$(pkg-config --cflags --libs hiredis)
        MFLINK_OK=1
    fi
}

# build_mf NAME: a program linked with moonfeast's library.
build_mf() {
    # shellcheck disable=SC2086
    build_with "$1" "$TOOLS/libmoonfeast.a" -I"$ROOT/include" "$TOOLS/libmoonfeast.a" $MF_PKG \
        -lm -lpthread -ldl
}

# Our own redis-server on a free loopback port, nothing persisted. The EXIT
# trap (see Main) stops it whatever happens.
REDIS_PID=
REDIS_PORT=
REDIS_WHY=
redis_start() {
    REDIS_WHY=
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        REDIS_WHY="redis-server or redis-cli is missing (Debian package redis-server)"
        return 1
    fi
    mkdir -p "$WORK/redis"
    port=$((20000 + $$ % 20000))
    tries=0
    while [ "$tries" -lt 20 ]; do
        tries=$((tries + 1))
        port=$((port + 1))
        # something answers there already: not ours
        redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && continue
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$WORK/redis" --logfile "$WORK/redis/redis-$port.log" --daemonize no \
            >"$WORK/redis/redis-$port.out" 2>&1 &
        REDIS_PID=$!
        i=0
        while [ "$i" -lt 100 ] && kill -0 "$REDIS_PID" 2>/dev/null; do
            pid=$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' |
                sed -n 's/^process_id://p')
            if [ "$pid" = "$REDIS_PID" ]; then
                REDIS_PORT=$port
                say "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port (pid $REDIS_PID)"
                return 0
            fi
            sleep 0.1
            i=$((i + 1))
        done
        redis_stop
    done
    REDIS_WHY="no redis-server could be started on a free loopback port (logs in $WORK/redis/)"
    return 1
}

redis_stop() {
    [ -n "$REDIS_PID" ] || return 0
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID='' REDIS_PORT=''
}

rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# feat_fields NFEAT: schema fields feat_00 .. typed as gen_online's columns.
feat_fields() {
    f=0
    while [ "$f" -lt "$1" ]; do
        case $((f % 3)) in 0) t=Float32 ;; 1) t=Float64 ;; *) t=Int64 ;; esac
        printf '    field { name = "feat_%02d", dtype = %s },\n' "$f" "$t"
        f=$((f + 1))
    done
}

# lua_view NAME SOURCE NFEAT: an online feature view on entity driver (also the
# global NAME of the definition files), no
# ttl, with NFEAT features; SOURCE is Lua text.
lua_view() {
    cat <<EOF
$1 = feature_view {
  name = "$1",
  entities = { driver },
  schema = {
$(feat_fields "$3")
  },
  source = $2,
}
EOF
}

# lua_file_source NAME PATH
lua_file_source() {
    printf 'file_source { name = "%s", path = "%s", timestamp_field = "event_timestamp" }' "$1" "$2"
}

# bench_repo DIR ONLINE LUA: a feature repo in DIR, made anew: project
# "bench", online store ONLINE (sqlite, redis:PORT, or
# redis_cluster:HOST:PORT,HOST:PORT), definitions LUA
# after the entity `driver` (driver_id, Int64); then `moonfeast apply`.
bench_repo() {
    rm -rf "$1"
    mkdir -p "$1/data"
    case $2 in
    sqlite) online="  type: sqlite
  path: data/online.db" ;;
    redis:*) online="  type: redis
  connection_string: \"127.0.0.1:${2#redis:}\"" ;;
    redis_cluster:*) online="  type: redis
  redis_type: redis_cluster
  connection_string: \"${2#redis_cluster:}\"" ;;
    esac
    cat >"$1/feature_store.yaml" <<EOF
project: bench
provider: local
registry: data/registry.db
online_store:
$online
offline_store:
  type: file
entity_key_serialization_version: 3
EOF
    {
        echo '-- Generated by bench/run.sh.'
        echo 'local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }'
        printf '%s\n' "$3"
    } >"$1/bench.lua"
    "$MF" -C "$1" apply >"$1/apply.log" 2>&1 || {
        cat "$1/apply.log" >&2
        exit 1
    }
}

# mat_load REPO LOG VIEW...: materialize VIEWs (untimed set-up); says how
# long it took in a note.
mat_load() {
    repo=$1 log=$2
    shift 2
    kind=$(sed -n 's/^  type: //p' "$repo/feature_store.yaml" | head -n 1)
    say "materializing $* into $kind"
    "$TOOLS/mat_run" "$repo" "$MAT_START" "$MAT_END" "$@" >"$log" 2>&1 || {
        cat "$log" >&2
        exit 1
    }
    note "set-up: materialized $(awk '/^total/ { print $5 }' "$log") entity rows of $# view(s) into $kind" \
        "in $(fmt "$(awk '/^total/ { print $7 }' "$log")" 1) s"
}

#---- Online data -----------------------------------------------------------------------

online_sizes() {
    if [ "$SCALE" = full ]; then
        ON_KEYS=1000000 ON_WARM1=20000 ON_CALLS1=200000 ON_WARM100=100 ON_CALLS100=2000
    else
        ON_KEYS=100000 ON_WARM1=2000 ON_CALLS1=20000 ON_WARM100=20 ON_CALLS100=300
    fi
    ON_DATA=$WORK/online/data
    ON_K=$(human "$ON_KEYS")
}

# online_data: ov_KEYS_vK.csv for K = 1..5 under $ON_DATA (gen_online, seed
# 100+K), unless made before with the same arguments and generator.
online_data() {
    online_sizes
    mkdir -p "$ON_DATA"
    build_with gen_online ""
    k=1
    while [ "$k" -le "$ONLINE_NVIEWS" ]; do
        f=$ON_DATA/ov_${ON_KEYS}_v$k
        stamp="$(cat "$BENCH/gen_online.c" "$BENCH/mfb.h" | cksum) $ON_KEYS $ONLINE_NFEAT $((100 + k))"
        if [ ! -f "$f.csv" ] || [ "$(cat "$f.stamp" 2>/dev/null)" != "$stamp" ]; then
            say "generating $(basename "$f").csv ($ON_KEYS keys, $ONLINE_NFEAT features)"
            rm -f "$f.stamp"
            "$TOOLS/gen_online" "$f.csv" "$ON_KEYS" "$ONLINE_NFEAT" $((100 + k))
            echo "$stamp" >"$f.stamp"
        fi
        k=$((k + 1))
    done
}

# online_views_lua: views ov1 .. ov5 on the generated files.
online_views_lua() {
    k=1
    while [ "$k" -le "$ONLINE_NVIEWS" ]; do
        lua_view "ov$k" "$(lua_file_source "ov${k}_source" "$ON_DATA/ov_${ON_KEYS}_v$k.csv")" "$ONLINE_NFEAT"
        k=$((k + 1))
    done
}

# online_case STORE NENT NVIEWS WARMUP CALLS BLOCK GOAL: moonfeast's online
# read and its floor, interleaved BLOCK calls at a time in one process
# (online_read), MF_BENCH_RUNS runs; prints the figures of label
# online_STORE_KEYS_NENTxNFEATURES. Needs ON_REPO (and, for redis,
# REDIS_PORT).
online_case() {
    store=$1 nent=$2 nv=$3 warm=$4 calls=$5 block=$6 goal=$7 orepo=${8:-$ON_REPO}
    nf=$((nv * ONLINE_NFEAT))
    label=online_${store}_${ON_K}_${nent}x$nf${9:-}
    vseeds=
    k=1
    while [ "$k" -le "$nv" ]; do
        vseeds="$vseeds $((100 + k))"
        k=$((k + 1))
    done
    log=$ON_LOG/$label
    rm -f "$log".*
    if [ "$store" = sqlite ]; then
        floor=sqlite:$ON_REPO/data/online.db
        fdesc="prepared point SELECTs per call: $((nent * nv))"
    else
        floor=redis:127.0.0.1:$REDIS_PORT
        fdesc="pipelined HMGETs per call: $nent of $((nv * (ONLINE_NFEAT + 1))) fields, one round trip"
    fi
    say "$label: $calls calls each after $warm, moonfeast and the floor taking turns every $block calls, $RUNS runs"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        "$TOOLS/online_read" "$orepo" "$ON_KEYS" "$nent" "$nv" "$ONLINE_NFEAT" "$warm" "$calls" \
            "$block" "$KEY_SEED" "$floor" $vseeds >"$log.$i" 2>&1 || {
            cat "$log.$i" >&2
            exit 1
        }
    done
    # ostat WHO KEY FN: FN (med, lo, hi) of KEY on WHO's line over the runs
    ostat() { for f in "$log".[0-9]*; do sed -n "s/^$1 //p" "$f" | kv /dev/stdin "$2"; done | "$3"; }
    osum() { for f in "$log".[0-9]*; do sed -n "s/^$1 //p" "$f" | kv /dev/stdin "$2"; done | awk '{ s += $1 } END { print s + 0 }'; }
    mf_med=$(ostat moonfeast median_us med) mf_p99=$(ostat moonfeast p99_us med)
    fl_med=$(ostat floor median_us med) fl_p99=$(ostat floor p99_us med)
    mf_rng="$(fmt "$(ostat moonfeast median_us lo)" 2)-$(fmt "$(ostat moonfeast median_us hi)" 2) us"
    fl_rng="$(fmt "$(ostat floor median_us lo)" 2)-$(fmt "$(ostat floor median_us hi)" 2) us"
    r_med=$(ratio "$mf_med" "$fl_med") r_p99=$(ratio "$mf_p99" "$fl_p99")
    figure "${label}_median" "$(fmt "$mf_med" 2)" us "${r_med}x floor; goal <= $goal; runs $mf_rng"
    figure "${label}_p99" "$(fmt "$mf_p99" 2)" us "${r_p99}x floor"
    figure "${label}_floor_median" "$(fmt "$fl_med" 2)" us "$fdesc; runs $fl_rng"
    figure "${label}_floor_p99" "$(fmt "$fl_p99" 2)" us
    figure "${label}_median_vs_floor" "$r_med" x "goal <= $goal"
    figure "${label}_p99_vs_floor" "$r_p99" x "goal <= $goal"
    if grep -q "^per_view " "$log.1"; then
        pv_med=$(ostat per_view median_us med)
        figure "${label}_per_view_hmgets_median" "$(fmt "$pv_med" 2)" us \
            "not a floor: the same fields as one HMGET per view and entity ($((nent * nv)) HMGETs of $((ONLINE_NFEAT + 1)) fields), as moonfeast asked them before it grouped the views of one entity, one round trip; $(ratio "$pv_med" "$fl_med")x floor, moonfeast $(ratio "$mf_med" "$pv_med")x this"
    fi
    bad=$(osum moonfeast bad) cells=$(osum moonfeast cells)
    miss=$(osum floor missing) asked=$(osum floor reads)
    if [ "$bad" = 0 ] && [ "$miss" = 0 ]; then v=yes; else v=NO; fi
    figure "${label}_values_ok" "$v" "" "$cells cells read by moonfeast, $bad not PRESENT or not the generated value; floor: $miss of $asked reads found nothing"
}

# online_threads_case: one shared store (ON_REPO, SQLite) read by 1 and by 2
# threads at once, 1 entity x ONLINE_NFEAT features of ov1 per call, and
# raw SQLite (the floor's statement, a connection per thread) the same way
# (online_threads), MF_BENCH_RUNS rounds; prints the calls per second of
# each (medians over the rounds) and the ratios, beside online_read's
# 1-entity figure of the same run (MF_MEAN1: its mean, us), and the ratio
# of two busy loops to one (what the machine gave).
online_threads_case() {
    build_mf online_threads
    label=online_sqlite_${ON_K}_1x${ONLINE_NFEAT}
    log=$ON_LOG/${label}_threads
    if [ "$SCALE" = full ]; then secs=3; else secs=1; fi
    say "${label}_threads: 1 and 2 threads on one store, and raw SQLite, $secs s per phase, $RUNS rounds"
    "$TOOLS/online_threads" "$ON_REPO" "$ON_KEYS" "$ONLINE_NFEAT" "$secs" "$RUNS" "$KEY_SEED" 101 \
        >"$log" 2>&1 || {
        cat "$log" >&2
        exit 1
    }
    # tstat WHO T FN: FN of the calls per second of WHO with T threads over the rounds
    tstat() { awk -v w="$1" -v t="$2" '$1 == w && $3 == t { print $11 }' "$log" | "$3"; }
    m1=$(tstat moonfeast 1 med) m2=$(tstat moonfeast 2 med)
    f1=$(tstat floor 1 med) f2=$(tstat floor 2 med)
    read1=$(awk -v m="$MF_MEAN1" 'BEGIN { if (m + 0 > 0) printf "%.0f\n", 1e6 / m; else print "-" }')
    figure "${label}_1_thread_calls_per_s" "$(fmt "$m1" 0)" calls/s \
        "one shared store; rounds $(tstat moonfeast 1 lo)-$(tstat moonfeast 1 hi); 1 / online_read's mean of this run: $read1 calls/s, $(ratio "$m1" "$read1")x"
    figure "${label}_2_threads_calls_per_s" "$(fmt "$m2" 0)" calls/s \
        "rounds $(tstat moonfeast 2 lo)-$(tstat moonfeast 2 hi)"
    figure "${label}_2_threads_vs_1" "$(ratio "$m2" "$m1")" x "goal >= 1.7"
    figure "${label}_floor_1_thread_calls_per_s" "$(fmt "$f1" 0)" calls/s \
        "raw SQLite, a connection per thread; rounds $(tstat floor 1 lo)-$(tstat floor 1 hi)"
    figure "${label}_floor_2_threads_calls_per_s" "$(fmt "$f2" 0)" calls/s \
        "rounds $(tstat floor 2 lo)-$(tstat floor 2 hi)"
    figure "${label}_floor_2_threads_vs_1" "$(ratio "$f2" "$f1")" x "how far SQLite itself scales here"
    c1=$(tstat cpu 1 med) c2=$(tstat cpu 2 med)
    figure "${label}_cpu_2_threads_vs_1" "$(ratio "$c2" "$c1")" x \
        "two busy loops against one: the parallelism the machine gave during the run"
    bad=$(awk '$1 == "moonfeast" || $1 == "floor" { s += $NF } END { print s + 0 }' "$log")
    [ -n "$(tstat moonfeast 2 med)" ] || { say "online_threads printed nothing"; exit 1; }
    if [ "$bad" = 0 ]; then v=yes; else v=NO; fi
    figure "${label}_threads_values_ok" "$v" "" "$bad cells not PRESENT or not the generated value, or floor reads that found nothing"
}

#---- Workload: online reads, SQLite ----------------------------------------------------

# online_sqlite_repo: ON_REPO (and ON_LOG), the SQLite online store of
# ONLINE_NVIEWS views x ON_KEYS keys (online_data) shared by the online_sqlite
# and http workloads, materialized unless an earlier run's is kept; then
# read once, for a warm page cache.
online_sqlite_repo() {
    build_mf mat_run
    online_data
    ON_REPO=$WORK/online_sqlite/repo_$ON_KEYS ON_LOG=$WORK/online_sqlite/log
    mkdir -p "$ON_LOG"
    lua=$(online_views_lua)
    # The materialized store is kept while the data, the definitions and
    # moonfeast are the same.
    stamp="$(cat "$ON_DATA"/ov_"$ON_KEYS"_v*.stamp "$MF" "$TOOLS/libmoonfeast.a" | cksum) $(printf '%s' "$lua" | cksum)"
    if [ -f "$ON_REPO/data/online.db" ] && [ "$(cat "$ON_REPO.stamp" 2>/dev/null)" = "$stamp" ]; then
        note "set-up: the SQLite online store of an earlier run is kept ($ON_KEYS keys x $ONLINE_NVIEWS views, same data and moonfeast)"
        # an interrupted run may have left the transform registered
        [ ! -f "$ON_REPO/tf.lua" ] || online_tf_remove
    else
        rm -f "$ON_REPO.stamp"
        bench_repo "$ON_REPO" sqlite "$lua"
        set --
        k=1
        while [ "$k" -le "$ONLINE_NVIEWS" ]; do
            set -- "$@" "ov$k"
            k=$((k + 1))
        done
        mat_load "$ON_REPO" "$ON_LOG/load.log" "$@"
        echo "$stamp" >"$ON_REPO.stamp"
    fi
    # the same repo reading on one connection, as the floors and the Lua
    # store do (no split reads)
    ON_ONE=$ON_REPO/one_connection.yaml
    sed 's|^  path: data/online.db$|&\n  split_read_keys: 0|' "$ON_REPO/feature_store.yaml" >"$ON_ONE"
    grep -q '^  split_read_keys: 0$' "$ON_ONE" || { say "online_sqlite: cannot write $ON_ONE"; exit 1; }
    cat "$ON_REPO"/data/online.db* >/dev/null # a warm page cache for all
}

# online_tf_add / online_tf_remove: register in ON_REPO (or remove) the
# on-demand view tf (row mode: score = feat_00 * 2 + feat_01 + bonus, over
# ov1 and the request field bonus) of the online transform cases.
online_tf_add() {
    cat >"$ON_REPO/tf.lua" <<'EOT'
-- Generated by bench/run.sh: the transform of the online transform cases.
local req = request_source { name = "req", schema = { field { name = "bonus", dtype = Int64 } } }
on_demand_feature_view {
  name = "tf", sources = { ov1:select { "feat_00", "feat_01" }, req },
  schema = { field { name = "score", dtype = Float64 } },
  transform = function(r) return { score = r.feat_00 * 2 + r.feat_01 + r.bonus } end,
}
EOT
    "$MF" -C "$ON_REPO" apply >"$ON_LOG/tf_apply.log" 2>&1 || {
        cat "$ON_LOG/tf_apply.log" >&2
        exit 1
    }
}
online_tf_remove() {
    rm -f "$ON_REPO/tf.lua"
    "$MF" -C "$ON_REPO" apply >/dev/null 2>&1 || true
}

wl_online_sqlite() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "online_sqlite: skipped: $MFLINK_WHY"
        return 0
    fi
    build_mf online_read
    online_sqlite_repo
    online_case sqlite 1 1 "$ON_WARM1" "$ON_CALLS1" 1000 1.5
    MF_MEAN1=$(ostat moonfeast mean_us med)
    # against the floor (one connection, one thread) with moonfeast's reads
    # on one connection too; then the default, split over two connections
    online_case sqlite 100 "$ONLINE_NVIEWS" "$ON_WARM100" "$ON_CALLS100" 20 1.5 "$ON_ONE"
    one_med=$mf_med
    online_case sqlite 100 "$ONLINE_NVIEWS" "$ON_WARM100" "$ON_CALLS100" 20 1.5 "$ON_REPO" _split
    figure "online_sqlite_${ON_K}_100x$((ONLINE_NVIEWS * ONLINE_NFEAT))_split_vs_one" \
        "$(ratio "$mf_med" "$one_med")" x \
        "not a floor ratio: the default, whose calls of 256 keys or more over several views read them on two connections at once (split_read_keys), against reads on one connection (the figures above); medians $(fmt "$mf_med" 2) and $(fmt "$one_med" 2) us"
    online_threads_case
    online_transform_case
}

# online_transform_case: the cost of a row-mode transform on the SQLite
# online read (online_transform), 1 and 100 entity rows, MF_BENCH_RUNS runs.
online_transform_case() {
    build_mf online_transform
    online_tf_add
    for nent in 1 100; do
        if [ "$nent" = 1 ]; then warm=$ON_WARM1 calls=$ON_CALLS1 block=1000; else warm=$ON_WARM100 calls=$ON_CALLS100 block=20; fi
        log=$ON_LOG/transform_$nent
        rm -f "$log".*
        say "online_transform: $nent entity rows, $calls calls each after $warm, with and without the transform taking turns, $RUNS runs"
        i=0
        while [ "$i" -lt "$RUNS" ]; do
            i=$((i + 1))
            "$TOOLS/online_transform" "$ON_REPO" "$ON_KEYS" "$nent" "$warm" "$calls" "$block" \
                "$KEY_SEED" >"$log.$i" 2>&1 || {
                cat "$log.$i" >&2
                exit 1
            }
        done
        tst() { for f in "$log".[0-9]*; do sed -n "s/^$1 //p" "$f" | kv /dev/stdin "$2"; done | "$3"; }
        added=$(for f in "$log".[0-9]*; do sed -n 's/^added_per_row_us //p' "$f"; done | med)
        figure "online_sqlite_transform_${nent}x10_plain_median" "$(fmt "$(tst plain median_us med)" 2)" us
        figure "online_sqlite_transform_${nent}x10_with_median" "$(fmt "$(tst transform median_us med)" 2)" us
        figure "online_sqlite_transform_${nent}x10_added_per_row" "$(fmt "$added" 3)" us "goal <= 0.5"
    done
    online_tf_remove
}

#---- Workload: online reads, Redis ------------------------------------------------------

wl_online_redis() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "online_redis: skipped: $MFLINK_WHY"
        return 0
    fi
    if ! redis_start; then
        note "online_redis: skipped: $REDIS_WHY"
        return 0
    fi
    build_mf online_read
    build_mf mat_run
    online_data
    dir=$WORK/online_redis
    ON_REPO=$dir/repo ON_LOG=$dir/log
    mkdir -p "$dir" "$ON_LOG"
    bench_repo "$ON_REPO" "redis:$REDIS_PORT" "$(online_views_lua)"
    set --
    k=1
    while [ "$k" -le "$ONLINE_NVIEWS" ]; do
        set -- "$@" "ov$k"
        k=$((k + 1))
    done
    mat_load "$ON_REPO" "$ON_LOG/load.log" "$@"
    keys=$(rcli dbsize | tr -d '\r')
    note "set-up: redis holds $keys keys, $(rcli info memory | tr -d '\r' | sed -n 's/^used_memory_human://p') used"
    online_case redis 1 1 "$ON_WARM1" "$ON_CALLS1" 1000 1.1
    online_case redis 100 "$ONLINE_NVIEWS" "$ON_WARM100" "$ON_CALLS100" 20 1.1
    redis_stop
}

#---- Workload: online reads, Redis Cluster against single Redis -------------------------

# Our own Redis Cluster of CLUSTER_NMASTERS masters, no replicas (reads go to
# masters; replicas would only slow the load), each on a free loopback port
# with its cluster bus on another, nothing persisted, data and logs in
# $WORK/cluster/PORT; joined by `redis-cli --cluster create` and waited for
# until every node says cluster_state:ok. Sets CLUSTER_PORTS, CLUSTER_PIDS,
# CLUSTER_SEEDS (two nodes, for a connection string), or CLUSTER_WHY. The
# EXIT trap (see Main) stops it.
CLUSTER_NMASTERS=3
CLUSTER_PIDS=
CLUSTER_PORTS=
CLUSTER_SEEDS=
CLUSTER_WHY=
cluster_start() {
    CLUSTER_WHY=
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        CLUSTER_WHY="redis-server or redis-cli is missing (Debian package redis-server)"
        return 1
    fi
    port=$((21000 + ($$ * 7) % 18000))
    tries=0 n=0
    while [ "$n" -lt "$CLUSTER_NMASTERS" ] && [ "$tries" -lt 40 ]; do
        tries=$((tries + 1))
        port=$((port + 2))
        redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && continue
        d=$WORK/cluster/$port
        rm -rf "$d"
        mkdir -p "$d"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$d" \
            --cluster-enabled yes --cluster-config-file "$d/nodes.conf" \
            --cluster-port $((port + 1)) --cluster-node-timeout 5000 \
            --logfile "$d/redis.log" --daemonize no >"$d/redis.out" 2>&1 &
        pid=$!
        i=0
        while [ "$i" -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
            got=$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' |
                sed -n 's/^process_id://p')
            [ "$got" = "$pid" ] && break
            sleep 0.1
            i=$((i + 1))
        done
        if [ "${got:-}" != "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            continue
        fi
        CLUSTER_PIDS="$CLUSTER_PIDS $pid" CLUSTER_PORTS="$CLUSTER_PORTS $port"
        n=$((n + 1))
    done
    if [ "$n" -lt "$CLUSTER_NMASTERS" ]; then
        cluster_stop
        CLUSTER_WHY="no $CLUSTER_NMASTERS redis-servers could be started on free loopback ports (logs in $WORK/cluster/)"
        return 1
    fi
    # shellcheck disable=SC2046
    if ! redis-cli --cluster create $(for p in $CLUSTER_PORTS; do echo "127.0.0.1:$p"; done) \
        --cluster-replicas 0 --cluster-yes >"$WORK/cluster/create.log" 2>&1; then
        cluster_stop
        CLUSTER_WHY="redis-cli --cluster create failed (see $WORK/cluster/create.log)"
        return 1
    fi
    i=0
    while [ "$i" -lt 200 ]; do
        ready=1
        for p in $CLUSTER_PORTS; do
            redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | tr -d '\r' |
                grep -q '^cluster_state:ok$' || ready=
        done
        [ -n "$ready" ] && break
        sleep 0.1
        i=$((i + 1))
    done
    if [ -z "$ready" ]; then
        cluster_stop
        CLUSTER_WHY="the cluster did not reach cluster_state:ok (logs in $WORK/cluster/)"
        return 1
    fi
    set -- $CLUSTER_PORTS
    CLUSTER_SEEDS="127.0.0.1:$1,127.0.0.1:$2"
    say "Redis Cluster of $CLUSTER_NMASTERS masters on 127.0.0.1:$(echo $CLUSTER_PORTS | sed 's/ /,/g') (pids$CLUSTER_PIDS)"
}

cluster_stop() {
    for pid in $CLUSTER_PIDS; do kill "$pid" 2>/dev/null || true; done
    for pid in $CLUSTER_PIDS; do wait "$pid" 2>/dev/null || true; done
    CLUSTER_PIDS='' CLUSTER_PORTS='' CLUSTER_SEEDS=''
}

# pair_case NENT NVIEWS WARMUP CALLS BLOCK GOAL: the cluster's online read
# against single Redis's, the same calls in one process (online_pair),
# MF_BENCH_RUNS runs; prints the figures of label
# redis_cluster_KEYS_NENTxNFEATURES. Needs RC_DIR.
pair_case() {
    nent=$1 nv=$2 warm=$3 calls=$4 block=$5 goal=$6
    nf=$((nv * ONLINE_NFEAT))
    label=redis_cluster_${ON_K}_${nent}x$nf
    vseeds=
    k=1
    while [ "$k" -le "$nv" ]; do
        vseeds="$vseeds $((100 + k))"
        k=$((k + 1))
    done
    log=$RC_DIR/log/$label
    rm -f "$log".*
    say "$label: $calls calls each after $warm, the cluster and single Redis taking turns every $block calls, $RUNS runs"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        "$TOOLS/online_pair" "$RC_DIR/cluster" "$RC_DIR/single" "$ON_KEYS" "$nent" "$nv" \
            "$ONLINE_NFEAT" "$warm" "$calls" "$block" "$KEY_SEED" $vseeds >"$log.$i" 2>&1 || {
            cat "$log.$i" >&2
            exit 1
        }
    done
    pstat() { for f in "$log".[0-9]*; do sed -n "s/^$1 //p" "$f" | kv /dev/stdin "$2"; done | "$3"; }
    psum() { for f in "$log".[0-9]*; do sed -n "s/^$1 //p" "$f" | kv /dev/stdin "$2"; done | awk '{ s += $1 } END { print s + 0 }'; }
    c_med=$(pstat a median_us med) c_p99=$(pstat a p99_us med)
    s_med=$(pstat b median_us med) s_p99=$(pstat b p99_us med)
    c_rng="$(fmt "$(pstat a median_us lo)" 2)-$(fmt "$(pstat a median_us hi)" 2) us"
    s_rng="$(fmt "$(pstat b median_us lo)" 2)-$(fmt "$(pstat b median_us hi)" 2) us"
    r_med=$(ratio "$c_med" "$s_med") r_p99=$(ratio "$c_p99" "$s_p99")
    figure "${label}_median" "$(fmt "$c_med" 2)" us "${r_med}x single Redis; goal $goal; runs $c_rng"
    figure "${label}_p99" "$(fmt "$c_p99" 2)" us "${r_p99}x single Redis"
    figure "${label}_single_median" "$(fmt "$s_med" 2)" us "moonfeast on single Redis, the same calls; runs $s_rng"
    figure "${label}_single_p99" "$(fmt "$s_p99" 2)" us
    figure "${label}_median_vs_single" "$r_med" x "goal $goal"
    figure "${label}_p99_vs_single" "$r_p99" x
    bad=$(( $(psum a bad) + $(psum b bad) )) cells=$(( $(psum a cells) + $(psum b cells) ))
    if [ "$bad" = 0 ]; then v=yes; else v=NO; fi
    figure "${label}_values_ok" "$v" "" "$cells cells read (both stores), $bad not PRESENT or not the generated value"
}

# wl_redis_cluster: the online reads of online_redis (1 x 10, 100 x 50 from 5
# views, 1M keys) on a Redis Cluster of 3 masters against single Redis, both
# materialized from the same files in this run.
wl_redis_cluster() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "redis_cluster: skipped: $MFLINK_WHY"
        return 0
    fi
    if ! redis_start; then
        note "redis_cluster: skipped: $REDIS_WHY"
        return 0
    fi
    if ! cluster_start; then
        note "redis_cluster: skipped: $CLUSTER_WHY"
        redis_stop
        return 0
    fi
    build_mf online_pair
    build_mf mat_run
    online_data
    RC_DIR=$WORK/redis_cluster
    mkdir -p "$RC_DIR/log"
    lua=$(online_views_lua)
    bench_repo "$RC_DIR/single" "redis:$REDIS_PORT" "$lua"
    bench_repo "$RC_DIR/cluster" "redis_cluster:$CLUSTER_SEEDS" "$lua"
    set --
    k=1
    while [ "$k" -le "$ONLINE_NVIEWS" ]; do
        set -- "$@" "ov$k"
        k=$((k + 1))
    done
    mat_load "$RC_DIR/single" "$RC_DIR/log/load_single.log" "$@"
    mat_load "$RC_DIR/cluster" "$RC_DIR/log/load_cluster.log" "$@"
    keys=0 per=
    for p in $CLUSTER_PORTS; do
        n=$(redis-cli -h 127.0.0.1 -p "$p" dbsize | tr -d '\r')
        keys=$((keys + n))
        per="${per:+$per, }$n"
    done
    note "set-up: the cluster holds $keys keys ($per per master), single Redis $(rcli dbsize | tr -d '\r')"
    per=
    pair_case 1 1 "$ON_WARM1" "$ON_CALLS1" 1000 "-"
    pair_case 100 "$ONLINE_NVIEWS" "$ON_WARM100" "$ON_CALLS100" 20 "<= 1.0"
    cluster_stop
    redis_stop
}

#---- Materialization -------------------------------------------------------------------

# mat_data: the source of the materialize workloads is the point-in-time
# join's first feature file (gen_pit, seed 11; shared with wl_pit, made
# when missing): MAT_ROWS rows over MAT_KEYS keys, 3 features.
mat_data() {
    if [ "$SCALE" = full ]; then MAT_ROWS=10000000 MAT_KEYS=100000; else MAT_ROWS=1000000 MAT_KEYS=10000; fi
    PIT_DATA=$WORK/pit/data
    mkdir -p "$PIT_DATA"
    build gen_pit
    pit_data features "feat_${MAT_ROWS}_${MAT_KEYS}_v1" "$MAT_ROWS" "$MAT_KEYS" 11
    MAT_CSV=$PIT_DATA/feat_${MAT_ROWS}_${MAT_KEYS}_v1.csv
    MAT_LABEL=$(human "$MAT_ROWS")x$(human "$MAT_KEYS")
    MAT_LUA=$(
        cat <<EOF
feature_view {
  name = "mat",
  entities = { driver },
  schema = {
    field { name = "conv_rate", dtype = Float32 },
    field { name = "acc_rate", dtype = Float64 },
    field { name = "trips", dtype = Int64 },
  },
  source = $(lua_file_source mat_source "$MAT_CSV"),
}
EOF
    )
}

# mat_runs DIR [none]: MF_BENCH_RUNS timed materializations into SQLite
# (mat_run under /usr/bin/time) into an empty store each, every one
# followed (unless `none`) by a run of the floor (floor_sqlite_insert: the rows that run wrote, inserted
# in key order into a new database with the store's settings); sets
# M_WALL, M_RSS, M_SPREAD, M_READ_S, M_WRITE_S (medians; the write is the
# writing phase plus the store's close, where moonfeast checkpoints its
# WAL, as the floor's timed close does), M_READ, M_WRITTEN, M_FLOOR_S (the
# floor's median) and M_PAIRS (each run's floor time over its write time).
# (Redis has its own: mat_redis_runs.)
mat_runs() {
    dir=$1 with_floor=${2:-floor}
    log=$dir/log/mat
    rm -f "$log".* "$dir/log/floor".*
    cat "$MAT_CSV" >/dev/null
    say "materialize: $(human "$MAT_ROWS") rows, $RUNS runs into an empty SQLite store"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        bench_repo "$dir/repo" sqlite "$MAT_LUA"
        measure "$log" "$TOOLS/mat_run" "$dir/repo" "$MAT_START" "$MAT_END" mat || exit 1
        cp "$log" "$log.$i"
        [ "$with_floor" = none ] && continue
        "$TOOLS/floor_sqlite_insert" "$dir/repo/data/online.db" bench:mat "$dir/floor.db" 1 \
            >"$dir/log/floor.$i" || exit 1
        rm -f "$dir"/floor.db*
    done
    summarize "$log"
    M_WALL=$WALL M_RSS=$RSS M_SPREAD=$SPREAD
    M_READ_S=$(for f in "$log".[0-9]*; do awk '/^total/ { print $9 }' "$f"; done | med)
    M_WRITE_S=$(for f in "$log".[0-9]*; do awk '/^total/ { print $11 + $13 }' "$f"; done | med)
    M_READ=$(awk '/^total/ { print $3 }' "$log.1")
    M_WRITTEN=$(awk '/^total/ { print $5 }' "$log.1")
    M_FLOOR_S= M_PAIRS=
    [ "$with_floor" = none ] && return 0
    M_FLOOR_S=$(for f in "$dir/log/floor".[0-9]*; do kv "$f" sorted_s; done | med)
    j=0
    while [ "$j" -lt "$RUNS" ]; do
        j=$((j + 1))
        M_PAIRS="$M_PAIRS $(awk -v f="$(kv "$dir/log/floor.$j" sorted_s)" \
            '/^total/ { w = $11 + $13; printf "%.2f", (w > 0 ? f / w : 0) }' "$log.$j")"
    done
}

# mat_figures STORE FLOOR_S FLOOR_DESC: the figures of a materialize
# workload.
mat_figures() {
    store=$1 fl_s=$2 fl_desc=$3
    label=materialize_${store}_$MAT_LABEL
    w_rate=$(rate "$M_WRITTEN" "$M_WRITE_S") r_rate=$(rate "$M_READ" "$M_READ_S")
    fl_rate=$(rate "$M_WRITTEN" "$fl_s")
    figure "${label}_wall" "$M_WALL" s "$M_READ source rows read, $M_WRITTEN entities written; runs $M_SPREAD"
    figure "${label}_peak_rss" "$M_RSS" MiB
    figure "${label}_entities_per_s" "$(rate "$M_WRITTEN" "$M_WALL")" entities/s "entities written / wall"
    figure "${label}_read_rows_per_s" "$r_rate" rows/s \
        "reading phase $(fmt "$M_READ_S" 2) s; goal >= 5000000"
    unsplit=
    [ "$r_rate" = - ] && unsplit="; one batch only: the phases are not split, reading included"
    figure "${label}_write_entities_per_s" "$w_rate" entities/s \
        "writing phase and the store's close $(fmt "$M_WRITE_S" 3) s; $(ratio "$w_rate" "$fl_rate")x floor$unsplit"
    figure "${label}_floor_rows_per_s" "$fl_rate" rows/s "$fl_desc; $(fmt "$fl_s" 3) s"
    if [ -n "${M_PAIRS:-}" ]; then
        # floor runs alternate with moonfeast's: the median of the ratios of
        # each run to the floor run right after it
        figure "${label}_write_vs_floor" "$(printf '%s\n' $M_PAIRS | med)" x \
            "goal >= ${M_GOAL:-0.7}; median of each run's ratio to the floor run after it, runs $(printf '%s\n' $M_PAIRS | lo)-$(printf '%s\n' $M_PAIRS | hi); ratio of the medians $(ratio "$w_rate" "$fl_rate")"
    else
        figure "${label}_write_vs_floor" "$(ratio "$w_rate" "$fl_rate")" x "goal >= ${M_GOAL:-0.7}"
    fi
    return 0
}

wl_materialize_sqlite() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "materialize_sqlite: skipped: $MFLINK_WHY"
        return 0
    fi
    build_mf mat_run
    # shellcheck disable=SC2086
    build_with floor_sqlite_insert "" $SQLITE_PKG
    mat_data
    dir=$WORK/materialize_sqlite
    mkdir -p "$dir/log"
    mat_runs "$dir"
    M_GOAL=0.9
    mat_figures sqlite "$M_FLOOR_S" \
        "prepared INSERT of the $(kv "$dir/log/floor.1" rows) rows written, sorted by key, one transaction, the close (its checkpoint) included; a run after each moonfeast run; median of $RUNS"
    M_GOAL=
}

# wl_lua_store: the online store written in Lua
# (examples/lua_memory_store/memory.lua) against the SQLite store of
# online_sqlite, in one process (lua_store.c): the memory store is filled by
# an in-process materialization of the five views (timed: rows read per
# second), then 1 x 10 and 100 x 50 reads through both, taking turns.
# Goals: reads no slower than SQLite; materialize >= 1M rows read per second.
# The memory store keeps every row in the Lua state (lua.max_memory_mb),
# so this workload uses the small data set (100k keys) at every scale.
wl_lua_store() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "lua_store: skipped: $MFLINK_WHY"
        return 0
    fi
    build_mf lua_store
    saved_scale=$SCALE
    SCALE=small
    online_sqlite_repo
    SCALE=$saved_scale
    dir=$WORK/lua_store
    mkdir -p "$dir/log"
    rm -rf "$dir/repo"
    mkdir -p "$dir/repo/data"
    cp "$ON_REPO/bench.lua" "$dir/repo/"
    printf 'project: bench\nregistry: data/registry.db\nonline_store:\n  type: lua\n  module: %s\nlua:\n  max_memory_mb: 2048\n' \
        "$ROOT/examples/lua_memory_store/memory.lua" >"$dir/repo/feature_store.yaml"
    "$MF" -C "$dir/repo" apply >"$dir/log/apply" 2>&1 || {
        cat "$dir/log/apply" >&2
        exit 1
    }
    note "lua_store: load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; $ON_KEYS keys x $ONLINE_NVIEWS views"
    i=0
    rm -f "$dir"/log/run.*
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        say "lua_store: run $i"
        "$TOOLS/lua_store" "$ON_ONE" "$dir/repo" "$ON_KEYS" "$ONLINE_NVIEWS" 20000 300 "$KEY_SEED" \
            >"$dir/log/run.$i" 2>&1 || {
            cat "$dir/log/run.$i" >&2
            exit 1
        }
    done
    ms=$(cat "$dir"/log/run.* | awk '$1 == "materialize_s" { print $2 }' | med)
    rows=$(cat "$dir"/log/run.* | awk '$1 == "rows_read" { print $2 }' | med)
    figure lua_store_fill_rows_per_s "$(rate "$rows" "$ms")" rows/s "$rows rows, one per key, of $ONLINE_NVIEWS views into the Lua memory store in $ms s, one job (writes: every row is a key)"
    # the materialize workload's source (MAT_ROWS rows, MAT_KEYS keys) into
    # the Lua memory store, `moonfeast materialize` end to end
    ensure_time
    mat_data
    rm -rf "$dir/mat"
    mkdir -p "$dir/mat/data"
    printf -- '-- Generated by bench/run.sh.\nlocal driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }\n%s\n' \
        "$MAT_LUA" >"$dir/mat/bench.lua"
    cp "$dir/repo/feature_store.yaml" "$dir/mat/"
    "$MF" -C "$dir/mat" apply >"$dir/log/mat_apply" 2>&1 || {
        cat "$dir/log/mat_apply" >&2
        exit 1
    }
    rm -f "$dir/log/mat.runs"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        measure "$dir/log/mat" "$MF" -C "$dir/mat" materialize 2025-01-01T00:00:00Z 2025-02-01T00:00:00Z || exit 1
    done
    mw=$(cut -d' ' -f1 "$dir/log/mat.runs" | median)
    figure lua_store_materialize_rows_per_s "$(rate "$MAT_ROWS" "$mw")" rows/s "$MAT_LABEL into the Lua memory store, moonfeast materialize end to end in $mw s (wall, median); goal >= 1000000"
    for c in 1x10 100; do
        sq=$(cat "$dir"/log/run.* | awk -v k="sqlite_${c}_median_us" '$1 == k { print $2 }' | med)
        lu=$(cat "$dir"/log/run.* | awk -v k="lua_${c}_median_us" '$1 == k { print $2 }' | med)
        sq99=$(cat "$dir"/log/run.* | awk -v k="sqlite_${c}_p99_us" '$1 == k { print $2 }' | med)
        lu99=$(cat "$dir"/log/run.* | awk -v k="lua_${c}_p99_us" '$1 == k { print $2 }' | med)
        label=$c
        [ "$c" = 100 ] && label=100x50
        figure "lua_store_${label}_median" "$lu" us "$(ratio "$lu" "$sq")x the SQLite store's $sq us; p99 $lu99 us against $sq99 us; goal <= 1.0x"
        figure "lua_store_${label}_not_present" "$(cat "$dir"/log/run.* | awk -v k="${c}_not_present" '$1 == k { s += $2 } END { print s + 0 }')" "" "cells not PRESENT or OUTSIDE_MAX_AGE, both stores"
    done
}

# wl_materialize_jobs: the local batch engine. Five views over the
# materialize workload's source (MAT_ROWS rows, MAT_KEYS keys each: reading
# is most of the work), SQLite, all materialized by `moonfeast materialize`
# with --jobs 1 and with --jobs 2, in turns (RUNS each, a fresh online
# store every time); the ratio of the median walls. Goal: >= 1.7 on 2 cores.
wl_materialize_jobs() {
    ensure_time
    mat_data
    dir=$WORK/materialize_jobs
    mkdir -p "$dir/log"
    rm -f "$dir"/log/*.runs
    lua=""
    for v in 1 2 3 4 5; do
        lua="$lua
$(printf '%s' "$MAT_LUA" | sed -e "s/name = \"mat\"/name = \"mj$v\"/" -e "s/mat_source/mj${v}_source/")"
    done
    bench_repo "$dir/repo" sqlite "$lua"
    note "materialize_jobs: load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; 5 views x $MAT_LABEL, SQLite"
    r=0
    while [ "$r" -lt "$RUNS" ]; do
        for j in 1 2; do
            rm -f "$dir"/repo/data/online.db*
            "$MF" -C "$dir/repo" apply >/dev/null 2>&1 || exit 1
            say "materialize_jobs: run $((r + 1)), --jobs $j"
            measure "$dir/log/jobs$j" "$MF" -C "$dir/repo" materialize 2025-01-01T00:00:00Z \
                2025-02-01T00:00:00Z --jobs "$j" || exit 1
        done
        r=$((r + 1))
    done
    w1=$(cut -d' ' -f1 "$dir/log/jobs1.runs" | median)
    w2=$(cut -d' ' -f1 "$dir/log/jobs2.runs" | median)
    s1=$(cut -d' ' -f1 "$dir/log/jobs1.runs" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print a "-" b }')
    s2=$(cut -d' ' -f1 "$dir/log/jobs2.runs" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print a "-" b }')
    figure materialize_jobs_5x${MAT_LABEL}_jobs1_wall "$w1" s "runs $s1 s"
    figure materialize_jobs_5x${MAT_LABEL}_jobs2_wall "$w2" s "runs $s2 s"
    figure materialize_jobs_jobs2_vs_jobs1 "$(ratio "$w1" "$w2")" x "goal >= 1.7; the same online store either way (tests/e2e/materialize_jobs.sh)"
}

# mat_redis_runs MODE DIR: MF_BENCH_RUNS timed materializations into Redis,
# MODE
#   empty      into an empty store (FLUSHALL before each run): the first
#              load; every key is new;
#   populated  into a store that already holds every key, with an older
#              event time (the usual incremental materialization): before
#              each run, FLUSHALL and an untimed materialization of the
#              first half of the month (every key has rows there: gen_pit
#              spreads each key's rows over the whole month), then the timed
#              one of the whole month, whose winner of every key is newer:
#              every key passes the event-time check and is rewritten.
# Right after each run, the floor (floor_redis_hset, one timed rewrite of
# the hashes the run wrote) in the same MODE, so that both see the machine
# in the same state. Sets what mat_runs sets, M_PAIRS (each run's floor
# seconds / write seconds), M_FLOOR_S (the floor's median) and M_LOAD (the
# load averages, 1 minute, seen after each run: "lo-hi").
mat_redis_runs() {
    mode=$1 dir=$2
    log=$dir/log/$mode
    rm -f "$log".* "$dir/log/floor_$mode".*
    cat "$MAT_CSV" >/dev/null
    say "materialize_redis: $(human "$MAT_ROWS") rows, $RUNS runs into a store that is $mode"
    i=0 loads=
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        rcli flushall >/dev/null
        if [ "$mode" = populated ]; then
            "$TOOLS/mat_run" "$dir/repo" "$MAT_START" "$MAT_MID" mat >"$dir/log/prefill" 2>&1 || {
                cat "$dir/log/prefill" >&2
                exit 1
            }
            n=$(rcli dbsize | tr -d '\r')
            [ "$n" = "$MAT_KEYS" ] || { say "materialize_redis: the first half of the month left $n keys, not $MAT_KEYS"; exit 1; }
        fi
        measure "$log" "$TOOLS/mat_run" "$dir/repo" "$MAT_START" "$MAT_END" mat || exit 1
        cp "$log" "$log.$i"
        "$TOOLS/floor_redis_hset" 127.0.0.1 "$REDIS_PORT" 10000 1 "$mode" >"$dir/log/floor_$mode.$i" || exit 1
        loads="$loads $(cut -d' ' -f1 /proc/loadavg)"
    done
    summarize "$log"
    M_WALL=$WALL M_RSS=$RSS M_SPREAD=$SPREAD
    M_READ_S=$(for f in "$log".[0-9]*; do awk '/^total/ { print $9 }' "$f"; done | med)
    M_WRITE_S=$(for f in "$log".[0-9]*; do awk '/^total/ { print $11 + $13 }' "$f"; done | med)
    M_READ=$(awk '/^total/ { print $3 }' "$log.1")
    M_WRITTEN=$(awk '/^total/ { print $5 }' "$log.1")
    M_FLOOR_S=$(for f in "$dir/log/floor_$mode".[0-9]*; do kv "$f" hset_s; done | med)
    M_LOAD="$(printf '%s\n' $loads | lo)-$(printf '%s\n' $loads | hi)"
    M_PAIRS=
    j=0
    while [ "$j" -lt "$RUNS" ]; do
        j=$((j + 1))
        M_PAIRS="$M_PAIRS $(awk -v f="$(kv "$dir/log/floor_$mode.$j" hset_s)" \
            '/^total/ { w = $11 + $13; printf "%.2f", (w > 0 ? f / w : 0) }' "$log.$j")"
    done
}

# wl_materialize_redis: the materialize workload's source into Redis, into
# an empty store (figures materialize_redis_*) and into a populated one
# (materialize_redis_populated_*), each against pipelined HSETs of the same
# hashes into a store in the same state. Goal: >= 0.8x the floor, both.
wl_materialize_redis() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "materialize_redis: skipped: $MFLINK_WHY"
        return 0
    fi
    if ! redis_start; then
        note "materialize_redis: skipped: $REDIS_WHY"
        return 0
    fi
    build_mf mat_run
    # shellcheck disable=SC2086
    build_with floor_redis_hset "" $HIREDIS_PKG
    mat_data
    MAT_MID=$((MAT_START + 15 * 86400 * 1000000))
    dir=$WORK/materialize_redis
    mkdir -p "$dir/log"
    bench_repo "$dir/repo" "redis:$REDIS_PORT" "$MAT_LUA"
    M_GOAL=0.8
    for mode in empty populated; do
        mat_redis_runs "$mode" "$dir"
        fl=$dir/log/floor_$mode.1
        if [ "$mode" = empty ]; then
            store=redis what="into an empty store (FLUSHALL first)"
        else
            store=redis_populated what="into the populated store (every key and field there: each HSET replaces the values of an existing hash)"
        fi
        mat_figures "$store" "$M_FLOOR_S" \
            "HSET of the $(kv "$fl" keys) hashes written ($(kv "$fl" fields) fields) $what, pipelined 10000 at a time, after each run; median of $RUNS; load average $M_LOAD during the runs"
    done
    M_GOAL=
    redis_stop
}

#---- Workload: pushes ------------------------------------------------------------------

# push_case TARGET REPO TO BATCH: MF_BENCH_RUNS runs of push_run; figure
# push_TARGET_batchBATCH_rows_per_s.
push_case() {
    target=$1 repo=$2 to=$3 batch=$4
    label=push_${target}_batch$batch
    log=$PUSH_DIR/log/$label
    rm -f "$log".*
    say "$label: pushes of $batch rows for ${PUSH_SECONDS}s, $RUNS runs"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        "$TOOLS/push_run" "$repo" push_src "$to" "$batch" "$PUSH_SECONDS" 1000000 "$ON_KEYS" \
            "$ONLINE_NFEAT" $((KEY_SEED + i)) >"$log.$i" 2>&1 || {
            cat "$log.$i" >&2
            exit 1
        }
    done
    st() { for f in "$log".[0-9]*; do kv "$f" "$1"; done | "$2"; }
    figure "${label}_rows_per_s" "$(fmt "$(st rows_per_s med)" 0)" rows/s \
        "per call median $(fmt "$(st median_us med)" 1) us, p99 $(fmt "$(st p99_us med)" 1) us; runs $(fmt "$(st rows_per_s lo)" 0)-$(fmt "$(st rows_per_s hi)" 0) rows/s"
}

wl_push() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "push: skipped: $MFLINK_WHY"
        return 0
    fi
    build_mf push_run
    build_mf mat_run
    online_data
    PUSH_DIR=$WORK/push
    mkdir -p "$PUSH_DIR/log"
    if [ "$SCALE" = full ]; then PUSH_SECONDS=3; else PUSH_SECONDS=1; fi
    # The push source's batch source: a copy of the first online file, so
    # that the view holds every key before the pushes (materialized first)
    # and offline pushes append to a file of ON_KEYS rows.
    batch_csv=$PUSH_DIR/push_batch.csv
    cp "$ON_DATA/ov_${ON_KEYS}_v1.csv" "$batch_csv"
    lua=$(lua_view pushed "push_source { name = \"push_src\", batch_source = $(lua_file_source push_batch "$batch_csv") }" "$ONLINE_NFEAT")
    bench_repo "$PUSH_DIR/sqlite" sqlite "$lua"
    mat_load "$PUSH_DIR/sqlite" "$PUSH_DIR/log/load_sqlite.log" pushed
    push_case sqlite_online "$PUSH_DIR/sqlite" online 1
    push_case sqlite_online "$PUSH_DIR/sqlite" online 1000
    push_case offline_csv "$PUSH_DIR/sqlite" offline 1
    push_case offline_csv "$PUSH_DIR/sqlite" offline 1000
    if redis_start; then
        bench_repo "$PUSH_DIR/redis" "redis:$REDIS_PORT" "$lua"
        mat_load "$PUSH_DIR/redis" "$PUSH_DIR/log/load_redis.log" pushed
        push_case redis_online "$PUSH_DIR/redis" online 1
        push_case redis_online "$PUSH_DIR/redis" online 1000
        redis_stop
    else
        note "push: Redis skipped: $REDIS_WHY"
    fi
    rm -f "$batch_csv"
}

#---- Workloads: HTTP (moonfeast serve under wrk) ----------------------------------------

# wrk (Debian package wrk), installed when missing like /usr/bin/time.
# Returns 1 (and sets HTTP_WHY) when it cannot be had.
ensure_wrk() {
    command -v wrk >/dev/null 2>&1 && return 0
    say "installing the Debian package 'wrk'"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=sudo
        else
            HTTP_WHY="wrk is missing (apt-get install wrk)"
            return 1
        fi
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 || true
    command -v wrk >/dev/null 2>&1 && return 0
    HTTP_WHY="wrk is missing and could not be installed (apt-get install wrk)"
    return 1
}

# http_prereq NAME: what every HTTP workload needs (moonfeast's library for
# mat_run, wrk, the floor server); returns 1 after a note when something is
# missing. Sets HTTP_SERVE=1 when this moonfeast has the `serve` command.
HTTP_WHY=
http_prereq() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "$1: skipped: $MFLINK_WHY"
        return 1
    fi
    if ! ensure_wrk; then
        note "$1: skipped: $HTTP_WHY"
        return 1
    fi
    if ! MHD_PKG=$(pkg-config --cflags --libs libmicrohttpd 2>/dev/null); then
        note "$1: skipped: pkg-config does not know libmicrohttpd (Debian package libmicrohttpd-dev)"
        return 1
    fi
    # shellcheck disable=SC2086
    build_with http_floor "" $MHD_PKG -lpthread || {
        note "$1: skipped: bench/http_floor.c does not build"
        return 1
    }
    HTTP_SERVE=0
    "$MF" serve --help >/dev/null 2>&1 && HTTP_SERVE=1
    # turns of HTTP_SECS seconds, HTTP_ROUNDS of them per server and case
    if [ "$SCALE" = full ]; then
        HTTP_SECS=2 HTTP_ROUNDS=$((RUNS * 5))
    else
        HTTP_SECS=1 HTTP_ROUNDS=$((RUNS * 2))
    fi
    note "$1: load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; the server under test and wrk share the machine's $(nproc) cores, so every figure is held against the floor server under the same wrk command in the same run"
    return 0
}

# alive PID: the process exists and is not a zombie (kill -0 cannot tell).
alive() {
    st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# free_port: a loopback port nothing listens on (the kernel's pick, through
# python3 when there is one; else one derived from the shell's pid and
# HTTP_TRY, which the callers retry).
HTTP_TRY=0
free_port() {
    if command -v python3 >/dev/null 2>&1 &&
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null; then
        return 0
    fi
    echo $((30000 + ($$ * 13 + HTTP_TRY * 7919) % 30000))
}

# stop_pid PID: SIGTERM, SIGKILL after 10 s; sets STOP_RC to its exit status.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    i=0
    while [ "$i" -lt 100 ] && alive "$1"; do
        sleep 0.1
        i=$((i + 1))
    done
    if alive "$1"; then
        say "pid $1 did not stop in 10 s after SIGTERM: killed"
        kill -KILL "$1" 2>/dev/null || true
    fi
    STOP_RC=0
    wait "$1" 2>/dev/null || STOP_RC=$?
}

# serve_start REPO LOG: `moonfeast serve` (2 threads, no access log) on a
# free loopback port, in REPO; sets SERVE_PID and SERVE_PORT once it says
# it serves. Returns 1 when it does not (its output is in LOG).
SERVE_PID=
SERVE_PORT=
serve_start() {
    HTTP_TRY=0
    while [ "$HTTP_TRY" -lt 5 ]; do
        HTTP_TRY=$((HTTP_TRY + 1))
        port=$(free_port)
        "$MF" -C "$1" serve -h 127.0.0.1 -p "$port" --threads 2 --no-access-log >"$2" 2>&1 &
        SERVE_PID=$!
        i=0
        while [ "$i" -lt 300 ] && alive "$SERVE_PID"; do
            if grep -q "serving on http://" "$2"; then
                SERVE_PORT=$port
                say "moonfeast serve on 127.0.0.1:$port (pid $SERVE_PID)"
                return 0
            fi
            sleep 0.1
            i=$((i + 1))
        done
        serve_stop
    done
    return 1
}

# serve_stop: stops our server; sets SERVE_RC (its exit status, 0 expected).
SERVE_RC=
serve_stop() {
    [ -n "$SERVE_PID" ] || return 0
    stop_pid "$SERVE_PID"
    SERVE_RC=$STOP_RC SERVE_PID='' SERVE_PORT=''
}

# floor_start NAME BODYFILE: the floor server (http_floor, 2 threads)
# answering BODYFILE; sets FLOOR_PORT_NAME. Its pid is kept in FLOOR_PIDS.
FLOOR_PIDS=
floor_start() {
    log=$HTTP_DIR/log/floor_$1.out
    "$TOOLS/http_floor" "$2" 2 >"$log" 2>&1 &
    pid=$!
    FLOOR_PIDS="$FLOOR_PIDS $pid"
    i=0
    while [ "$i" -lt 100 ] && alive "$pid"; do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
        if [ -n "$port" ]; then
            eval "FLOOR_PORT_$1=$port"
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    say "http_floor did not start:"
    cat "$log" >&2
    exit 1
}

floor_stop_all() {
    for pid in $FLOOR_PIDS; do stop_pid "$pid"; done
    FLOOR_PIDS=
}

http_stop_all() {
    serve_stop
    floor_stop_all
}

# http_bodies FILE NENT NVIEWS COUNT SEED [tf]: COUNT request bodies, one a
# line: NENT driver ids drawn at random (awk's rand, seeded with SEED) from
# the ON_KEYS keys, and the ONLINE_NFEAT features of each of the views ov1
# .. ovNVIEWS (full feature names when more than one view: their feature
# names are the same); with tf also the request field bonus of each row and
# the feature tf:score.
http_bodies() {
    awk -v nent="$2" -v nv="$3" -v count="$4" -v seed="$5" -v tf="${6:-}" -v nkeys="$ON_KEYS" \
        -v nf="$ONLINE_NFEAT" 'BEGIN {
        srand(seed)
        feats = ""
        for (v = 1; v <= nv; v++)
            for (f = 0; f < nf; f++)
                feats = feats sprintf("%s\"ov%d:feat_%02d\"", feats == "" ? "" : ",", v, f)
        if (tf != "") feats = feats ",\"tf:score\""
        full = nv > 1 ? "true" : "false"
        for (c = 0; c < count; c++) {
            ids = ""; bonus = ""
            for (e = 0; e < nent; e++) {
                ids = ids (e ? "," : "") sprintf("%d", 1001 + int(rand() * nkeys))
                bonus = bonus (e ? "," : "") (c + e) % 7
            }
            ent = "\"driver_id\":[" ids "]"
            if (tf != "") ent = ent ",\"bonus\":[" bonus "]"
            printf "{\"entities\":{%s},\"features\":[%s],\"full_feature_names\":%s}\n", ent, feats, full
        }
    }' >"$1"
}

# http_answer PORT BODIES OUT: POSTs the first body of BODIES to
# /get-online-features, the answer in OUT; returns 1 unless it is a 200.
http_answer() {
    head -n 1 "$2" >"$2.first"
    code=$(curl -s -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "@$2.first" "http://127.0.0.1:$1/get-online-features") || code=000
    [ "$code" = 200 ] || {
        say "POST /get-online-features answered $code: $(head -c 300 "$3" 2>/dev/null)"
        return 1
    }
}

# not_present FILE: how many statuses of the answer in FILE are not PRESENT
# (-1 when it has none).
not_present() {
    all=$(grep -o '"statuses":\[[^]]*\]' "$1" | grep -o '"[A-Z_]*"' | grep -c . || true)
    bad=$(grep -o '"statuses":\[[^]]*\]' "$1" | grep -o '"[A-Z_]*"' | grep -vc '"PRESENT"' || true)
    if [ "$all" = 0 ]; then echo -1; else echo "$bad"; fi
}

# cli_answer REPO BODIES OUT: the same answer from `moonfeast
# get-online-features` (the body of the floor when there is no server).
cli_answer() {
    ca_bodies=$2 ca_out=$3
    set --
    for id in $(head -n 1 "$ca_bodies" | sed 's/.*"driver_id":\[\([^]]*\)\].*/\1/' | tr ',' ' '); do
        set -- "$@" -e "driver_id=$id"
    done
    for f in $(head -n 1 "$ca_bodies" | sed 's/.*"features":\[\([^]]*\)\].*/\1/' | tr -d '"' | tr ',' ' '); do
        set -- "$@" -f "$f"
    done
    grep -q '"full_feature_names":true' "$ca_bodies" && set -- "$@" --full-feature-names
    "$MF" -C "$REPO_FOR_CLI" get-online-features "$@" >"$ca_out.tmp" || exit 1
    tr -d '\n' <"$ca_out.tmp" >"$ca_out"
}

# http_wrk LOG PORT BODIES THREADS CONNS SECS [DELAY_MS]: one wrk run of
# SECS seconds (bounded by timeout) against 127.0.0.1:PORT with
# bench/http_wrk.lua; its "key value" summary in LOG.sum, its latency
# histogram in LOG.hist, its output in LOG.out.
http_wrk() {
    log=$1 port=$2 bodies=$3 thr=$4 conns=$5 secs=$6 delay=${7:-}
    if ! MF_WRK_BODIES=$bodies MF_WRK_DELAY_MS=$delay MF_WRK_HIST=$log.hist timeout $((secs + 30)) \
        wrk -t "$thr" -c "$conns" -d "${secs}s" --timeout 2s -s "$BENCH/http_wrk.lua" \
        "http://127.0.0.1:$port/get-online-features" >"$log.out" 2>&1; then
        say "wrk failed against port $port:"
        tail -n 20 "$log.out" >&2
        exit 1
    fi
    sed -n 's/^wrk //p' "$log.out" >"$log.sum"
    [ -s "$log.sum" ] || {
        say "wrk printed no summary: $log.out"
        exit 1
    }
}

# wst CASE WHO KEY FN: FN (med, lo, hi) of KEY over the turns of CASE by WHO.
wst() { for f in "$HTTP_DIR/log/$1_$2".*.sum; do [ -f "$f" ] && kv "$f" "$3"; done | "$4"; }
# wsum CASE WHO KEY: the sum over the turns.
wsum() { for f in "$HTTP_DIR/log/$1_$2".*.sum; do [ -f "$f" ] && kv "$f" "$3"; done | awk '{ s += $1 } END { print s + 0 }'; }
# hp CASE WHO P: the P-th percentile (nearest rank) of the latencies of all
# the turns of CASE by WHO (their histograms merged), microseconds.
hp() {
    cat "$HTTP_DIR/log/$1_$2".*.hist | awk '{ c[$1] += $2 } END { for (v in c) print v, c[v] }' | sort -n |
        awk -v p="$3" '
        { v[NR] = $1; c[NR] = $2; n += $2 }
        END {
            want = p / 100 * n
            if (want > int(want)) want = int(want) + 1
            if (want < 1) want = 1
            for (i = 1; i <= NR; i++) { acc += c[i]; if (acc >= want) { print v[i]; exit } }
        }'
}
# pairs CASE_A WHO_A CASE_B WHO_B KEY: the median over the rounds of KEY of
# A's turn over KEY of B's turn of the same round (turns next to each
# other meet the same moment of the machine).
pairs() {
    r=0
    while [ "$r" -lt "$HTTP_ROUNDS" ]; do
        r=$((r + 1))
        ratio "$(kv "$HTTP_DIR/log/$1_$2.$r.sum" "$5")" "$(kv "$HTTP_DIR/log/$3_$4.$r.sum" "$5")"
    done | med
}
# ms US: microseconds as milliseconds, 3 decimals.
ms() { awk -v u="$1" 'BEGIN { printf "%.3f\n", u / 1000 }'; }
# wrng CASE WHO KEY: "lo-hi" of KEY over the runs, in ms (for latency
# keys) or whole numbers.
wrng() {
    case $3 in
    *_us) echo "$(ms "$(wst "$1" "$2" "$3" lo)")-$(ms "$(wst "$1" "$2" "$3" hi)") ms" ;;
    *) echo "$(fmt "$(wst "$1" "$2" "$3" lo)" 0)-$(fmt "$(wst "$1" "$2" "$3" hi)" 0)" ;;
    esac
}

# http_round CASE WHO PORT BODIES THREADS CONNS I: run I of CASE by WHO.
http_round() {
    http_wrk "$HTTP_DIR/log/$1_$2.$7" "$3" "$4" "$5" "$6" "$HTTP_SECS"
}

# http_errors CASES...: the errors of every run of CASES (both servers), and
# a description.
http_errors() {
    e=0 n=0
    for c in "$@"; do
        for who in mf floor; do
            e=$((e + $(wsum "$c" "$who" errors))) n=$((n + $(wsum "$c" "$who" requests)))
        done
    done
    HTTP_ERRORS=$e HTTP_REQUESTS=$n
}

# wl_http_sqlite: moonfeast serve on the online_sqlite store (ON_KEYS keys x
# 5 views x 10 features, SQLite) and the floor server, under the same wrk
# commands, in HTTP_ROUNDS rounds of turns of HTTP_SECS s (the floor, then
# moonfeast, for each case of the round):
#   c32: 1 entity x 10 features (ov1), 2 wrk threads, 32 connections;
#   c1:  the same, 1 thread, 1 connection;
#   tf:  the same plus the row-mode transform tf:score (and its request
#        field), 1 connection (moonfeast only: held against c1; the two
#        alternate which goes first);
#   w100: 100 entities x 50 features from 5 views, 1 connection (the floor
#        answers a body of that answer's size).
# Latency percentiles are those of all the turns of a case (histograms
# merged); req/s the median of the turns; ratios of req/s the median over
# the rounds of moonfeast's turn over the floor's turn just before it.
wl_http_sqlite() {
    http_prereq http_sqlite || return 0
    online_sqlite_repo
    HTTP_DIR=$WORK/http_sqlite
    mkdir -p "$HTTP_DIR/log"
    rm -f "$HTTP_DIR"/log/*
    b1=$HTTP_DIR/bodies_1x10 btf=$HTTP_DIR/bodies_1x10_tf b100=$HTTP_DIR/bodies_100x50
    http_bodies "$b1" 1 1 10000 "$KEY_SEED"
    http_bodies "$btf" 1 1 10000 "$KEY_SEED" tf
    http_bodies "$b100" 100 "$ONLINE_NVIEWS" 1000 "$KEY_SEED"
    online_tf_add
    REPO_FOR_CLI=$ON_REPO
    label=http_sqlite_${ON_K}
    if [ "$HTTP_SERVE" = 1 ]; then
        if ! serve_start "$ON_REPO" "$HTTP_DIR/log/serve.out"; then
            say "moonfeast serve did not start:"
            tail -n 20 "$HTTP_DIR/log/serve.out" >&2
            exit 1
        fi
        http_answer "$SERVE_PORT" "$b1" "$HTTP_DIR/answer_1x10.json" || exit 1
        http_answer "$SERVE_PORT" "$btf" "$HTTP_DIR/answer_1x10_tf.json" || exit 1
        http_answer "$SERVE_PORT" "$b100" "$HTTP_DIR/answer_100x50.json" || exit 1
    else
        note "http_sqlite: this moonfeast has no serve command: the floor alone, answering what get-online-features prints"
        cli_answer "$ON_REPO" "$b1" "$HTTP_DIR/answer_1x10.json"
        cli_answer "$ON_REPO" "$b100" "$HTTP_DIR/answer_100x50.json"
    fi
    size1=$(wc -c <"$HTTP_DIR/answer_1x10.json") size100=$(wc -c <"$HTTP_DIR/answer_100x50.json")
    floor_start s1 "$HTTP_DIR/answer_1x10.json"
    floor_start s100 "$HTTP_DIR/answer_100x50.json"
    # shellcheck disable=SC2154
    f1=$FLOOR_PORT_s1 f100=$FLOOR_PORT_s100 mf=${SERVE_PORT:-}

    say "http_sqlite: warm-up, then $HTTP_ROUNDS rounds of ${HTTP_SECS}s wrk turns (the floor, then moonfeast)"
    http_wrk "$HTTP_DIR/log/warm_floor" "$f1" "$b1" 2 32 3
    if [ -n "$mf" ]; then
        http_wrk "$HTTP_DIR/log/warm_mf" "$mf" "$b1" 2 32 3
        http_wrk "$HTTP_DIR/log/warm_mf_tf" "$mf" "$btf" 1 1 1
        http_wrk "$HTTP_DIR/log/warm_mf_w100" "$mf" "$b100" 1 1 1
    fi
    i=0
    while [ "$i" -lt "$HTTP_ROUNDS" ]; do
        i=$((i + 1))
        http_round c32 floor "$f1" "$b1" 2 32 "$i"
        [ -z "$mf" ] || http_round c32 mf "$mf" "$b1" 2 32 "$i"
        http_round c1 floor "$f1" "$b1" 1 1 "$i"
        if [ -n "$mf" ]; then
            if [ $((i % 2)) = 1 ]; then
                http_round c1 mf "$mf" "$b1" 1 1 "$i"
                http_round tf mf "$mf" "$btf" 1 1 "$i"
            else
                http_round tf mf "$mf" "$btf" 1 1 "$i"
                http_round c1 mf "$mf" "$b1" 1 1 "$i"
            fi
        fi
        http_round w100 floor "$f100" "$b100" 1 1 "$i"
        [ -z "$mf" ] || http_round w100 mf "$mf" "$b100" 1 1 "$i"
    done
    fdesc="libmicrohttpd, 2 threads, a fixed body of $size1 bytes"

    # Figures.
    L=${label}_1x10
    fl_rps=$(wst c32 floor req_per_s med) fl_p99=$(hp c32 floor 99)
    fl1_p99=$(hp c1 floor 99) fl1_p50=$(hp c1 floor 50)
    if [ -n "$mf" ]; then
        mf_rps=$(wst c32 mf req_per_s med) mf_p99=$(hp c32 mf 99)
        r_rps=$(pairs c32 mf c32 floor req_per_s) r_p99=$(ratio "$mf_p99" "$fl_p99")
        figure "${L}_c32_req_per_s" "$(fmt "$mf_rps" 0)" req/s \
            "${r_rps}x floor; goal >= 0.6; p50 $(ms "$(hp c32 mf 50)") ms; turns $(wrng c32 mf req_per_s)"
        figure "${L}_c32_p99" "$(ms "$mf_p99")" ms "${r_p99}x floor; goal <= 2; p99.9 $(ms "$(hp c32 mf 99.9)") ms"
    fi
    figure "${L}_c32_floor_req_per_s" "$(fmt "$fl_rps" 0)" req/s "$fdesc; turns $(wrng c32 floor req_per_s)"
    figure "${L}_c32_floor_p99" "$(ms "$fl_p99")" ms "p50 $(ms "$(hp c32 floor 50)") ms; p99.9 $(ms "$(hp c32 floor 99.9)") ms"
    if [ -n "$mf" ]; then
        figure "${L}_c32_req_per_s_vs_floor" "$r_rps" x \
            "goal >= 0.6; median of the rounds' ratios; ratio of the medians $(ratio "$mf_rps" "$fl_rps")"
        figure "${L}_c32_p99_vs_floor" "$r_p99" x "goal <= 2"
        m1_p99=$(hp c1 mf 99) m1_p50=$(hp c1 mf 50)
        figure "${L}_c1_p99" "$(ms "$m1_p99")" ms \
            "goal <= 0.25; $(ratio "$m1_p99" "$fl1_p99")x floor; p99.9 $(ms "$(hp c1 mf 99.9)") ms, max $(ms "$(wst c1 mf max_us hi)") ms; p99 of the turns $(wrng c1 mf p99_us)"
        figure "${L}_c1_p50" "$(ms "$m1_p50")" ms \
            "$(ratio "$m1_p50" "$fl1_p50")x floor; $(fmt "$(wst c1 mf req_per_s med)" 0) req/s"
    fi
    figure "${L}_c1_floor_p99" "$(ms "$fl1_p99")" ms \
        "p50 $(ms "$fl1_p50") ms, p99.9 $(ms "$(hp c1 floor 99.9)") ms; $(fmt "$(wst c1 floor req_per_s med)" 0) req/s; p99 of the turns $(wrng c1 floor p99_us)"
    if [ -n "$mf" ]; then
        t_p99=$(hp tf mf 99)
        figure "${L}_transform_c1_p99" "$(ms "$t_p99")" ms \
            "goal <= 1.10x without; p50 $(ms "$(hp tf mf 50)") ms ($(ratio "$(hp tf mf 50)" "$m1_p50")x without); p99 of the turns $(wrng tf mf p99_us)"
        figure "${L}_transform_c1_p99_vs_without" "$(pairs tf mf c1 mf p99_us)" x \
            "goal <= 1.10; the same requests plus the row-mode transform tf:score and its request field; median of the rounds' ratios of the turns' p99; ratio of the p99s of all turns $(ratio "$t_p99" "$m1_p99")"
        w_p99=$(hp w100 mf 99)
        figure "${label}_100x50_c1_p99" "$(ms "$w_p99")" ms \
            "goal <= 3; p50 $(ms "$(hp w100 mf 50)") ms; $(fmt "$(wst w100 mf req_per_s med)" 0) req/s; the floor's p99 $(ms "$(hp w100 floor 99)") ms; p99 of the turns $(wrng w100 mf p99_us)"
    fi
    figure "${label}_100x50_c1_floor_p99" "$(ms "$(hp w100 floor 99)")" ms \
        "a fixed body of $size100 bytes; p50 $(ms "$(hp w100 floor 50)") ms"
    http_errors c32 c1 tf w100
    figure "http_sqlite_errors" "$HTTP_ERRORS" "" \
        "goal 0: socket errors, timeouts and answers >= 400 in $HTTP_REQUESTS requests to both servers"
    if [ -n "$mf" ]; then
        n1=$(not_present "$HTTP_DIR/answer_1x10.json") ntf=$(not_present "$HTTP_DIR/answer_1x10_tf.json")
        n100=$(not_present "$HTTP_DIR/answer_100x50.json")
        if [ "$n1$ntf$n100" = 000 ]; then v=yes; else v=NO; fi
        figure "http_sqlite_values_ok" "$v" "" \
            "first answers of each case: statuses not PRESENT 1x10 $n1, with transform $ntf, 100x50 $n100 (-1: none); $size1 and $size100 bytes"
        serve_stop
        [ "$SERVE_RC" = 0 ] || note "http_sqlite: moonfeast serve exited with status $SERVE_RC after SIGTERM (0 expected); see $HTTP_DIR/log/serve.out"
    fi
    floor_stop_all
    online_tf_remove
}

# wl_http_redis: the 1 x 10 case through Redis (a store of ov1 alone,
# ON_KEYS keys, materialized into our redis-server), 1 connection (the
# goal) and 32, against the floor server answering a body of the same
# size, in rounds of turns as wl_http_sqlite.
wl_http_redis() {
    http_prereq http_redis || return 0
    if ! redis_start; then
        note "http_redis: skipped: $REDIS_WHY"
        return 0
    fi
    build_mf mat_run
    online_data
    HTTP_DIR=$WORK/http_redis
    mkdir -p "$HTTP_DIR/log"
    rm -f "$HTTP_DIR"/log/*
    repo=$HTTP_DIR/repo
    bench_repo "$repo" "redis:$REDIS_PORT" "$(lua_view ov1 "$(lua_file_source ov1_source "$ON_DATA/ov_${ON_KEYS}_v1.csv")" "$ONLINE_NFEAT")"
    mat_load "$repo" "$HTTP_DIR/log/load.log" ov1
    b1=$HTTP_DIR/bodies_1x10
    http_bodies "$b1" 1 1 10000 "$KEY_SEED"
    REPO_FOR_CLI=$repo
    if [ "$HTTP_SERVE" = 1 ]; then
        if ! serve_start "$repo" "$HTTP_DIR/log/serve.out"; then
            say "moonfeast serve did not start:"
            tail -n 20 "$HTTP_DIR/log/serve.out" >&2
            exit 1
        fi
        http_answer "$SERVE_PORT" "$b1" "$HTTP_DIR/answer_1x10.json" || exit 1
    else
        note "http_redis: this moonfeast has no serve command: the floor alone"
        cli_answer "$repo" "$b1" "$HTTP_DIR/answer_1x10.json"
    fi
    size1=$(wc -c <"$HTTP_DIR/answer_1x10.json")
    floor_start r1 "$HTTP_DIR/answer_1x10.json"
    # shellcheck disable=SC2154
    f1=$FLOOR_PORT_r1 mf=${SERVE_PORT:-}
    say "http_redis: warm-up, then $HTTP_ROUNDS rounds of ${HTTP_SECS}s wrk turns (the floor, then moonfeast)"
    http_wrk "$HTTP_DIR/log/warm_floor" "$f1" "$b1" 2 32 3
    [ -z "$mf" ] || http_wrk "$HTTP_DIR/log/warm_mf" "$mf" "$b1" 2 32 3
    i=0
    while [ "$i" -lt "$HTTP_ROUNDS" ]; do
        i=$((i + 1))
        http_round c1 floor "$f1" "$b1" 1 1 "$i"
        [ -z "$mf" ] || http_round c1 mf "$mf" "$b1" 1 1 "$i"
        http_round c32 floor "$f1" "$b1" 2 32 "$i"
        [ -z "$mf" ] || http_round c32 mf "$mf" "$b1" 2 32 "$i"
    done
    L=http_redis_${ON_K}_1x10
    fl1_p99=$(hp c1 floor 99) fl_rps=$(wst c32 floor req_per_s med) fl_p99=$(hp c32 floor 99)
    if [ -n "$mf" ]; then
        m1_p99=$(hp c1 mf 99)
        figure "${L}_c1_p99" "$(ms "$m1_p99")" ms \
            "goal <= 1; $(ratio "$m1_p99" "$fl1_p99")x floor; p50 $(ms "$(hp c1 mf 50)") ms, p99.9 $(ms "$(hp c1 mf 99.9)") ms; $(fmt "$(wst c1 mf req_per_s med)" 0) req/s; p99 of the turns $(wrng c1 mf p99_us)"
    fi
    figure "${L}_c1_floor_p99" "$(ms "$fl1_p99")" ms "libmicrohttpd, 2 threads, a fixed body of $size1 bytes; p50 $(ms "$(hp c1 floor 50)") ms"
    if [ -n "$mf" ]; then
        mf_rps=$(wst c32 mf req_per_s med) mf_p99=$(hp c32 mf 99)
        figure "${L}_c32_req_per_s" "$(fmt "$mf_rps" 0)" req/s \
            "$(pairs c32 mf c32 floor req_per_s)x floor (no goal through Redis); p99 $(ms "$mf_p99") ms, $(ratio "$mf_p99" "$fl_p99")x the floor's; turns $(wrng c32 mf req_per_s)"
    fi
    figure "${L}_c32_floor_req_per_s" "$(fmt "$fl_rps" 0)" req/s "p99 $(ms "$fl_p99") ms"
    http_errors c1 c32
    figure "http_redis_errors" "$HTTP_ERRORS" "" \
        "goal 0: socket errors, timeouts and answers >= 400 in $HTTP_REQUESTS requests to both servers"
    if [ -n "$mf" ]; then
        n1=$(not_present "$HTTP_DIR/answer_1x10.json")
        if [ "$n1" = 0 ]; then v=yes; else v=NO; fi
        figure "http_redis_values_ok" "$v" "" "first answer: $n1 statuses not PRESENT (-1: none); $size1 bytes"
        serve_stop
        [ "$SERVE_RC" = 0 ] || note "http_redis: moonfeast serve exited with status $SERVE_RC after SIGTERM (0 expected); see $HTTP_DIR/log/serve.out"
    fi
    floor_stop_all
    redis_stop
}

# rss_kib PID [FIELD]: the resident set of PID, KiB (FIELD of
# /proc/PID/status: VmRSS, the default; RssAnon, its anonymous memory;
# RssFile, its file pages).
rss_kib() { sed -n "s/^${2:-VmRSS}:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }

# wl_http_soak: moonfeast serve on the online_sqlite store, 1 x 10
# requests at a fixed rate well below saturation for SOAK seconds (60; 15
# at small scale): each of N connections waits 1 ms before each request
# (wrk's delay()), N = the rate 32 connections got in a short probe just
# before / 2000 (at most 64): with wrk's timers a connection makes about
# 450 requests a second, so the rate is about a fifth of the probe's. Zero
# errors expected, and the resident memory at the end within 5% of what it
# was after the first 10 s (5 s at small scale): its anonymous memory
# (RssAnon: heap and stacks, where a leak shows), since its file pages
# (RssFile) grow as requests touch more of the store's mapped file, which
# is the OS's page cache, not the server's memory; both are reported.
wl_http_soak() {
    http_prereq http_soak || return 0
    if [ "$HTTP_SERVE" != 1 ]; then
        note "http_soak: skipped: this moonfeast has no serve command"
        return 0
    fi
    online_sqlite_repo
    HTTP_DIR=$WORK/http_soak
    mkdir -p "$HTTP_DIR/log"
    rm -f "$HTTP_DIR"/log/*
    if [ "$SCALE" = full ]; then soak=60 first=10; else soak=15 first=5; fi
    b1=$HTTP_DIR/bodies_1x10
    http_bodies "$b1" 1 1 50000 $((KEY_SEED + 1))
    if ! serve_start "$ON_REPO" "$HTTP_DIR/log/serve.out"; then
        say "moonfeast serve did not start:"
        tail -n 20 "$HTTP_DIR/log/serve.out" >&2
        exit 1
    fi
    rss0=$(rss_kib "$SERVE_PID" RssAnon)
    http_wrk "$HTTP_DIR/log/probe" "$SERVE_PORT" "$b1" 2 32 3
    sat=$(kv "$HTTP_DIR/log/probe.sum" req_per_s)
    conns=$(awk -v s="$sat" 'BEGIN { c = int(s / 2000); if (c < 1) c = 1; if (c > 64) c = 64; print c }')
    say "http_soak: $conns connections, 1 ms between requests each, ${soak}s (the probe: $(fmt "$sat" 0) req/s at 32 connections)"
    MF_WRK_BODIES=$b1 MF_WRK_DELAY_MS=1 timeout $((soak + 30)) \
        wrk -t 1 -c "$conns" -d "${soak}s" --timeout 2s -s "$BENCH/http_wrk.lua" \
        "http://127.0.0.1:$SERVE_PORT/get-online-features" >"$HTTP_DIR/log/soak.out" 2>&1 &
    wrk_pid=$!
    sleep "$first"
    rss1=$(rss_kib "$SERVE_PID" RssAnon) file1=$(rss_kib "$SERVE_PID" RssFile)
    wait "$wrk_pid" || {
        say "wrk failed:"
        tail -n 20 "$HTTP_DIR/log/soak.out" >&2
        exit 1
    }
    rss2=$(rss_kib "$SERVE_PID" RssAnon) file2=$(rss_kib "$SERVE_PID" RssFile)
    sed -n 's/^wrk //p' "$HTTP_DIR/log/soak.out" >"$HTTP_DIR/log/soak"
    s=$HTTP_DIR/log/soak
    serve_stop
    [ "$SERVE_RC" = 0 ] || note "http_soak: moonfeast serve exited with status $SERVE_RC after SIGTERM (0 expected); see $HTTP_DIR/log/serve.out"
    growth=$(awk -v a="$rss2" -v b="$rss1" 'BEGIN { printf "%.1f\n", (a - b) * 100 / b }')
    figure "http_soak_${soak}s_req_per_s" "$(fmt "$(kv "$s" req_per_s)" 0)" req/s \
        "$conns connections x 1 ms delay, 1 wrk thread; $(ratio "$(kv "$s" req_per_s)" "$sat")x the 32-connection probe ($(fmt "$sat" 0) req/s); p50 $(ms "$(kv "$s" p50_us)") ms, p99 $(ms "$(kv "$s" p99_us)") ms, max $(ms "$(kv "$s" max_us)") ms"
    figure "http_soak_${soak}s_errors" "$(kv "$s" errors)" "" \
        "goal 0; in $(kv "$s" requests) requests: connect $(kv "$s" err_connect), read $(kv "$s" err_read), write $(kv "$s" err_write), timeout $(kv "$s" err_timeout), status >= 400 $(kv "$s" non_2xx)"
    figure "http_soak_${soak}s_rss_growth" "$growth" % \
        "goal <= 5; anonymous resident memory (RssAnon) $rss1 KiB after ${first}s, $rss2 KiB at the end, $rss0 KiB before any request; file pages resident (RssFile: the mapped store and the binary) $file1 KiB after ${first}s, $file2 KiB at the end"
}

# The registry workload (applies per second, the refresh check).
. "$BENCH/wl_registry.sh"
# The Parquet workload (the pit join and materialization over a Parquet file).
. "$BENCH/wl_parquet.sh"
# The game workload (examples/game_server: one store shared by two threads, or one each).
. "$BENCH/wl_game.sh"

#---- Main --------------------------------------------------------------------------

trap 'load_stop; redis_stop; cluster_stop; http_stop_all; bench_pg_stop' EXIT
trap 'exit 130' INT TERM HUP
ensure_time
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit+changes"
note "$(date -u +%Y-%m-%dT%H:%M:%SZ) moonfeast $commit, scale $SCALE, median of $RUNS runs," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "results in $RESULTS"
load_start
for w in $WORKLOADS; do
    if [ -z "$ONLY" ] || case " $ONLY " in *" $w "*) true ;; *) false ;; esac; then
        load_mark
        "wl_$w"
    fi
done
mv "$RESULTS.tmp" "$RESULTS"
