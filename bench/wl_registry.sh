# bench/wl_registry.sh — the registry workload of bench/run.sh (sourced by
# it; uses its helpers): applies per second against one registry with 1, 8
# and 32 concurrent writer processes, each applying a project of its own
# (bench/registry_bench.c: mf_apply, definitions loaded, planned and
# committed, as `moonfeast apply` does), and the latency of the refresh
# check a long-running server makes meanwhile (the registry's version
# query). On the file registry, the SQL registry on SQLite, and on
# PostgreSQL (a server of the bench's own, skipped with a note when
# PostgreSQL is not installed).

BPG_PID=
BPG_DIR=
BPG_PORT=
# bench_pg_start: initdb into $WORK/pg and a postgres on a Unix socket there
# (as the postgres user when root); sets BPG_PID or explains in BPG_WHY.
bench_pg_start() {
    BPG_WHY=
    b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$b" ] || [ ! -x "$b/initdb" ]; then
        BPG_WHY="PostgreSQL is not installed (Debian package postgresql)"
        return 1
    fi
    BPG_DIR=$WORK/pg
    rm -rf "$BPG_DIR"
    mkdir -p "$BPG_DIR"
    as=
    if [ "$(id -u)" = 0 ]; then
        chmod 711 "$WORK"
        chown postgres "$BPG_DIR"
        as="runuser -u postgres --"
    fi
    chmod 700 "$BPG_DIR"
    if ! $as "$b/initdb" -D "$BPG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        >"$BPG_DIR/initdb.log" 2>&1; then
        BPG_WHY="initdb failed (see $BPG_DIR/initdb.log)"
        return 1
    fi
    BPG_PORT=$((40000 + $$ % 20000))
    # durable as configured by default (fsync on): commit costs are real
    $as "$b/postgres" -D "$BPG_DIR/data" -p "$BPG_PORT" -c "unix_socket_directories=$BPG_DIR" \
        -c listen_addresses= -c max_connections=200 >"$BPG_DIR/server.log" 2>&1 &
    n=0
    while [ $n -lt 300 ]; do
        if [ -f "$BPG_DIR/data/postmaster.pid" ] &&
            psql -h "$BPG_DIR" -p "$BPG_PORT" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
            BPG_PID=$(head -n 1 "$BPG_DIR/data/postmaster.pid")
            return 0
        fi
        sleep 0.05
        n=$((n + 1))
    done
    BPG_WHY="postgres did not start (see $BPG_DIR/server.log)"
    return 1
}
bench_pg_stop() {
    [ -n "$BPG_PID" ] || return 0
    kill -INT "$BPG_PID" 2>/dev/null
    n=0
    while kill -0 "$BPG_PID" 2>/dev/null && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
    BPG_PID=
}

wl_registry() {
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "registry: skipped: $MFLINK_WHY"
        return 0
    fi
    # shellcheck disable=SC2086
    build_with registry_bench "$TOOLS/libmoonfeast.a" -I"$ROOT/include" -I"$ROOT/runtime" \
        -I"$ROOT/build/gen" "$TOOLS/libmoonfeast.a" $MF_PKG -lm -lpthread -ldl || exit 1
    if [ "$SCALE" = full ]; then SCALE_APPLIES=640; else SCALE_APPLIES=128; fi
    dir=$WORK/registry
    rm -rf "$dir"
    mkdir -p "$dir"
    backends="file sqlite"
    if bench_pg_start; then
        backends="$backends postgresql"
    else
        note "registry: PostgreSQL skipped: $BPG_WHY"
    fi
    note "registry: load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; each writer applies its own project (1 entity, 1 source, 1 view) $((SCALE_APPLIES)) times in all"
    for be in $backends; do
        for wr in 1 8 32; do
            per=$((SCALE_APPLIES / wr))
            [ "$per" -ge 2 ] || per=2
            case $be in
            file) loc=$dir/$be-$wr/registry.db ;;
            sqlite) loc=sqlite:///$dir/$be-$wr/registry.sqlite ;;
            postgresql)
                psql -h "$BPG_DIR" -p "$BPG_PORT" -U postgres -d postgres -Atqc "CREATE DATABASE r$wr" >/dev/null
                loc="postgresql:///r$wr?host=$BPG_DIR&port=$BPG_PORT&user=postgres" ;;
            esac
            mkdir -p "$dir/$be-$wr"
            say "registry: $be, $wr writer(s) x $per applies"
            out=$dir/$be-$wr/result
            if ! "$TOOLS/registry_bench" "$loc" "$wr" "$per" "$dir/$be-$wr/repos" >"$out" 2>"$dir/$be-$wr/err"; then
                note "registry: $be with $wr writers failed: $(head -c 300 "$dir/$be-$wr/err")"
                continue
            fi
            figure "registry_${be}_w${wr}_applies_per_s" "$(fmt "$(kv "$out" applies_per_s)" 0)" applies/s \
                "$(kv "$out" applies) applies in $(kv "$out" seconds) s; load $(cut -d' ' -f1 /proc/loadavg)"
            figure "registry_${be}_w${wr}_check_p99" "$(kv "$out" check_p99_us)" us \
                "the refresh check while they write: p50 $(kv "$out" check_p50_us) us over $(kv "$out" checks) checks"
        done
    done
    bench_pg_stop
}
