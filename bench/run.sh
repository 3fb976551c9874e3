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
#                   development; its figures are not comparable to BENCH.md)
#   MF_BENCH_RUNS   timed runs of each command; the median is reported
#                   (default 3)
#   MF_BIN          the moonfeast binary (default: bin/moonfeast)
#   MF_BENCH_WORK   the work folder (default: bench/.work)
#   MF_DUCKDB_NODE_API  the npm spec of the DuckDB peer
#                   (default: @duckdb/node-api@1.5.6-r.1)
#
# Adding a workload: write a function wl_NAME that prints its figures with
# `figure`, and add NAME to WORKLOADS.
set -eu

WORKLOADS="pit"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
WORK=${MF_BENCH_WORK:-$BENCH/.work}
MF_BIN=${MF_BIN:-$ROOT/bin/moonfeast}
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

#---- Output --------------------------------------------------------------------

# figure NAME VALUE UNIT [NOTE]: one result line, on stdout and in results.txt
# (UNIT may be empty for a yes/no figure).
figure() {
    line="$1 $2${3:+ $3}"
    [ -z "${4:-}" ] || line="$line ($4)"
    echo "$line"
    echo "$line" >>"$RESULTS.tmp"
}

# note TEXT: a remark (a skipped peer...), also kept in results.txt.
note() {
    echo "# $*"
    echo "# $*" >>"$RESULTS.tmp"
}

say() { echo "bench: $*" >&2; }

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
        figure "${label}_wall_moonfeast_vs_duckdb" "$(ratio "$MF_WALL" "$DK_WALL")" x "goal <= 0.5"
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

    # The workload of BENCH.md, then how cost grows with rows and views.
    pit_case "pit_${E}x${F}" yes "v1=${big}_v1"
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

#---- Main --------------------------------------------------------------------------

ensure_time
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit+changes"
note "$(date -u +%Y-%m-%dT%H:%M:%SZ) moonfeast $commit, scale $SCALE, median of $RUNS runs," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "results in $RESULTS"
for w in $WORKLOADS; do
    if [ -z "$ONLY" ] || case " $ONLY " in *" $w "*) true ;; *) false ;; esac; then
        "wl_$w"
    fi
done
mv "$RESULTS.tmp" "$RESULTS"
