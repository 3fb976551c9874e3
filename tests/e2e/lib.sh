# tests/e2e/lib.sh — helpers for end-to-end scripts (sourced).
#
# Each script runs the real binary ($MF_BIN) in a fresh temp dir and reports
# each case as "ok - NAME" or "not ok - NAME" with the difference.
set -u
MF=${MF_BIN:?MF_BIN must name the moonfeast binary}
case "$MF" in /*) ;; *) MF=$(pwd)/$MF ;; esac
MF_BIN=$MF
export MF_BIN
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
GOLDEN=$E2E_DIR/golden
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# check NAME COMMAND...: ok when COMMAND succeeds, else not ok with the
# command and the last run's output (a test may define its own)
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "stdout: $OUT" "stderr: $ERR"; fi
}

# run CMD...: sets OUT, ERR, RC
run() {
    "$@" >"$WORK/.out" 2>"$WORK/.err"
    RC=$?
    OUT=$(cat "$WORK/.out")
    ERR=$(cat "$WORK/.err")
}

# expect_rc NAME WANT: check the last run's exit code
expect_rc() {
    if [ "$RC" -eq "$2" ]; then ok "$1"; else not_ok "$1" "exit $RC, want $2" "stderr: $ERR"; fi
}

# expect_err NAME RC SUBSTRING: exit code and a substring of stderr
expect_err() {
    if [ "$RC" -ne "$2" ]; then
        not_ok "$1" "exit $RC, want $2" "stdout: $OUT" "stderr: $ERR"
    elif ! printf '%s' "$ERR" | grep -qF -- "$3"; then
        not_ok "$1" "stderr lacks: $3" "stderr: $ERR"
    elif printf '%s' "$ERR" | grep -qE 'AddressSanitizer|runtime error:|Segmentation'; then
        not_ok "$1" "sanitizer or crash report" "stderr: $ERR"
    else
        ok "$1"
    fi
}

# expect_dtype NAME FIELD DTYPE: the registry (registry-dump, run in the
# current repo) holds a field FIELD of type DTYPE
expect_dtype() {
    run "$MF" registry-dump
    got=$(printf '%s' "$OUT" | tr -d ' \n' | grep -o "\"name\":\"$2\",\"dtype\":\"[A-Za-z0-9()]*\"")
    case $got in
    *"\"dtype\":\"$3\""*) ok "$1" ;;
    *) not_ok "$1" "want $2 of type $3" "got: $got" "stderr: $ERR" ;;
    esac
}

# expect_out NAME TEXT: exit 0 and stdout equal to TEXT
expect_out() {
    if [ "$RC" -ne 0 ]; then
        not_ok "$1" "exit $RC" "stderr: $ERR"
    elif [ "$OUT" != "$2" ]; then
        not_ok "$1" "stdout differs:" "$(printf '%s\n' "$2" | diff - "$WORK/.out" | head -20)"
    else
        ok "$1"
    fi
}

# expect_golden NAME FILE [FILTER]: exit 0 and stdout (through FILTER, a
# sed script) equal to golden/FILE. MF_UPDATE_GOLDEN=1 rewrites the file.
expect_golden() {
    filt=${3:-}
    if [ -n "$filt" ]; then sed -e "$filt" "$WORK/.out" >"$WORK/.got"; else cp "$WORK/.out" "$WORK/.got"; fi
    if [ "${MF_UPDATE_GOLDEN:-}" = 1 ]; then cp "$WORK/.got" "$GOLDEN/$2"; fi
    if [ "$RC" -ne 0 ]; then
        not_ok "$1" "exit $RC" "stderr: $ERR"
    elif ! diff -u "$GOLDEN/$2" "$WORK/.got" >"$WORK/.diff" 2>&1; then
        not_ok "$1" "differs from golden/$2:" "$(head -30 "$WORK/.diff")"
    else
        ok "$1"
    fi
}

# start_redis: a redis-server of the test's own on a free loopback port
# (a few tries), data in $WORK/redis; sets PORT and RPID, or leaves PORT
# empty (the log is in $WORK/redis/log). stop_redis stops it; scripts that
# start one set: trap 'stop_redis; rm -rf "$WORK"' EXIT
RPID=
PORT=
stop_redis() {
    if [ -n "$RPID" ]; then
        kill "$RPID" 2>/dev/null
        wait "$RPID" 2>/dev/null
        RPID=
    fi
}
start_redis() {
    mkdir -p "$WORK/redis"
    PORT=
    for try in 1 2 3 4 5 6 7 8; do
        p=$(((($$ * 31 + try * 7919 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 30000) + 20000))
        redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK/redis" \
            >"$WORK/redis/log" 2>&1 &
        RPID=$!
        n=0
        while [ $n -lt 100 ]; do
            if [ "$(redis-cli -h 127.0.0.1 -p "$p" ping 2>/dev/null)" = PONG ]; then PORT=$p; break; fi
            kill -0 "$RPID" 2>/dev/null || break
            sleep 0.05
            n=$((n + 1))
        done
        [ -n "$PORT" ] && return 0
        stop_redis
    done
    return 1
}

# start_pg: a PostgreSQL server of the test's own, from Debian's packages:
# initdb into $WORK/pg, listening on a Unix socket there and on a free
# loopback port. PostgreSQL refuses to run as root, so as root its
# binaries run as the postgres user. Sets PG_PORT, PG_DIR and PG_PID (the
# postmaster's), and pg_url DB prints a URL of database DB (made by
# pg_createdb DB). Returns 1 when PostgreSQL is not installed, 2 when it
# did not start (see $WORK/pg/*.log). stop_pg stops it (fast shutdown, by
# its PID); scripts that start one set:
#   trap 'stop_pg; rm -rf "$WORK"' EXIT
PG_PID=
PG_PORT=
PG_DIR=$WORK/pg
PG_AS=
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
stop_pg() {
    [ -n "$PG_PID" ] || return 0
    kill -INT "$PG_PID" 2>/dev/null
    n=0
    while kill -0 "$PG_PID" 2>/dev/null && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
    kill -KILL "$PG_PID" 2>/dev/null
    PG_PID=
}
# pg_run: start the server on the data folder (again after stop_pg: the
# same port); waits until it accepts connections.
pg_run() {
    b=$(pg_bin)
    rm -f "$PG_DIR/data/postmaster.pid"
    $PG_AS "$b/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -c "unix_socket_directories=$PG_DIR" \
        -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 \
        >>"$PG_DIR/server.log" 2>&1 &
    n=0
    while [ $n -lt 300 ]; do
        if [ -f "$PG_DIR/data/postmaster.pid" ] &&
            psql -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
            PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
            return 0
        fi
        sleep 0.05
        n=$((n + 1))
    done
    return 2
}
start_pg() {
    b=$(pg_bin)
    [ -n "$b" ] && [ -x "$b/initdb" ] && [ -x "$b/postgres" ] || return 1
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || return 1
        chmod 711 "$WORK"
        chown postgres "$PG_DIR"
        PG_AS="runuser -u postgres --"
    fi
    chmod 700 "$PG_DIR"
    $PG_AS "$b/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        >"$PG_DIR/initdb.log" 2>&1 || return 2
    for try in 1 2 3 4 5; do
        PG_PORT=$(((($$ * 37 + try * 7907 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 30000) + 20000))
        pg_run && return 0
        stop_pg
    done
    return 2
}
pg_url() { echo "postgresql:///$1?host=$PG_DIR&port=$PG_PORT&user=postgres"; }
pg_createdb() {
    psql -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -Atqc "CREATE DATABASE $1" >/dev/null
}

# start_redis_cluster [MASTERS] [REPLICAS]: a Redis Cluster of the test's own,
# MASTERS masters (default 3) with REPLICAS replicas each (default 1), every
# node on free loopback ports (its port and a cluster bus port), data in
# $WORK/cluster/PORT (log there), joined with `redis-cli --cluster create`
# and waited for until every node says cluster_state:ok and every master
# has its replicas online. Sets CLUSTER_PORTS (every node), CLUSTER_PIDS,
# CLUSTER_SEEDS ("127.0.0.1:P,127.0.0.1:Q", two nodes, for a connection
# string); returns 1 when it cannot (what started is stopped).
# stop_redis_cluster stops the nodes by PID; scripts that start one set:
# trap 'stop_redis_cluster; rm -rf "$WORK"' EXIT. cluster_masters prints
# the ports of the nodes that are masters now.
CLUSTER_PIDS=
CLUSTER_PORTS=
CLUSTER_SEEDS=
stop_redis_cluster() {
    for pid in $CLUSTER_PIDS; do kill "$pid" 2>/dev/null; done
    for pid in $CLUSTER_PIDS; do wait "$pid" 2>/dev/null; done
    CLUSTER_PIDS=
}
cluster_masters() {
    for p in $CLUSTER_PORTS; do
        redis-cli -h 127.0.0.1 -p "$p" info replication 2>/dev/null | grep -q '^role:master' && echo "$p"
    done
}
_cluster_ready() { # REPLICAS
    for p in $CLUSTER_PORTS; do
        redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
        info=$(redis-cli -h 127.0.0.1 -p "$p" info replication 2>/dev/null)
        if printf '%s' "$info" | grep -q '^role:master'; then
            [ "$(printf '%s' "$info" | grep -c 'state=online')" -ge "$1" ] || return 1
        fi
    done
}
start_redis_cluster() {
    masters=${1:-3} replicas=${2:-1}
    n=$((masters * (1 + replicas)))
    mkdir -p "$WORK/cluster"
    CLUSTER_PORTS= CLUSTER_PIDS= CLUSTER_SEEDS=
    got=0 try=0
    while [ "$got" -lt "$n" ]; do
        try=$((try + 1))
        if [ "$try" -gt $((n * 6)) ]; then stop_redis_cluster; return 1; fi
        r=$(($$ * 31 + try * 7919 + $(date +%N | sed 's/^0*//;s/^$/0/')))
        p=$((r % 30000 + 20000)) bus=$(((r / 7) % 30000 + 20000))
        [ "$p" != "$bus" ] || continue
        redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 && continue
        d=$WORK/cluster/$p
        mkdir -p "$d"
        redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$d" \
            --cluster-enabled yes --cluster-config-file "$d/nodes.conf" --cluster-port "$bus" \
            --cluster-node-timeout 1000 --repl-diskless-sync-delay 0 >"$d/log" 2>&1 &
        pid=$!
        up=
        k=0
        while [ $k -lt 100 ]; do
            if [ "$(redis-cli -h 127.0.0.1 -p "$p" ping 2>/dev/null)" = PONG ]; then up=1; break; fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
            k=$((k + 1))
        done
        if [ -z "$up" ]; then
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            continue
        fi
        CLUSTER_PIDS="$CLUSTER_PIDS $pid"
        CLUSTER_PORTS="$CLUSTER_PORTS $p"
        got=$((got + 1))
    done
    set -- $CLUSTER_PORTS
    CLUSTER_SEEDS="127.0.0.1:$1,127.0.0.1:$2"
    # shellcheck disable=SC2046
    if ! redis-cli --cluster create $(for p in $CLUSTER_PORTS; do echo "127.0.0.1:$p"; done) \
        --cluster-replicas "$replicas" --cluster-yes >"$WORK/cluster/create.log" 2>&1; then
        stop_redis_cluster
        return 1
    fi
    k=0
    while [ $k -lt 400 ]; do
        _cluster_ready "$replicas" && return 0
        sleep 0.05
        k=$((k + 1))
    done
    stop_redis_cluster
    return 1
}
