# registry_concurrency.sh — 8 processes × 50 registry commits at once
# against one registry (docs/concepts.md, "The registry": concurrent
# writers lose nothing). MF_REG_BACKEND picks it: file (this script),
# sqlite or postgresql (registry_concurrency_sql.sh, _pg.sh).
#
# Four writers each apply their own project 50 times, changing their
# view's description every round. In one shared project, two processes
# record 50 materializations each (of their own view, in windows with gaps,
# so none merges), and two delete 50 feature services each. Afterwards
# every view has its last description, each materialized view its 50
# intervals, the deleted services are gone and the rest is there, and the
# registry's version counts every commit: a lost update shows as a stale
# description, a missing interval, a service back from the dead or a
# smaller version.
. "$(dirname "$0")/lib.sh"

BACKEND=${MF_REG_BACKEND:-file}
W=4        # writers, each in its own project
ROUNDS=50  # commits per process
NS=100     # feature services of the shared project (two deleters, 50 each)
SHARED=$WORK/shared
mkdir -p "$SHARED"

case $BACKEND in
file) REGISTRY="registry: $SHARED/registry.db" ;;
sqlite) REGISTRY="registry:
  registry_type: sql
  path: sqlite:///$SHARED/registry.sqlite" ;;
postgresql)
    trap 'stop_pg; rm -rf "$WORK"' EXIT
    start_pg
    rc=$?
    if [ $rc = 1 ]; then
        ok "registry concurrency on PostgreSQL # SKIP PostgreSQL is not installed (make deps installs it)"
        exit 0
    fi
    if [ $rc != 0 ]; then
        not_ok "PostgreSQL started" "$(tail -n 5 "$PG_DIR"/*.log)"
        exit 0
    fi
    pg_createdb reg
    REGISTRY="registry:
  registry_type: sql
  path: \"$(pg_url reg)\"" ;;
*) echo "unknown MF_REG_BACKEND $BACKEND" >&2; exit 2 ;;
esac

repo() { # DIR PROJECT
    mkdir -p "$1/data"
    cat >"$1/feature_store.yaml" <<EOT
project: $2
provider: local
$REGISTRY
online_store:
  type: sqlite
  path: data/online.db
entity_key_serialization_version: 3
EOT
    printf 'driver_id,event_timestamp,conv_rate\n1001,2025-01-01T00:30:00Z,0.5\n' >"$1/data/stats.csv"
}

common='local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local stats = file_source { name = "driver_stats", path = "data/stats.csv", timestamp_field = "event_timestamp" }'

write_defs() { # DIR I ROUND
    cat >"$1/defs.lua" <<EOT
$common
feature_view {
  name = "view_$2", entities = { driver }, ttl = days(1), source = stats,
  schema = { field { name = "conv_rate", dtype = Float32 } },
  description = "view $2, round $3",
}
EOT
}

i=1
while [ $i -le $W ]; do
    repo "$WORK/repo_$i" "project_$i"
    i=$((i + 1))
done
S=$WORK/shared_repo
repo "$S" shared
{
    echo "$common"
    for v in 1 2; do
        printf 'local mv_%s = feature_view { name = "mv_%s", entities = { driver }, ttl = days(1), source = stats,\n  schema = { field { name = "conv_rate", dtype = Float32 } } }\n' $v $v
    done
    k=1
    while [ $k -le $NS ]; do
        printf 'feature_service { name = "fs_%s", features = { mv_1 } }\n' $k
        k=$((k + 1))
    done
} >"$S/defs.lua"
run "$MF" -C "$S" apply
expect_rc "the shared project is applied" 0

# window r of a materializer: 2 h apart, 1 h long (gaps: no two merge)
T0=1735689600 # 2025-01-01T00:00:00Z
window() { # R: prints START END
    s=$((T0 + $1 * 7200))
    printf '%s %s' "$(date -u -d "@$s" +%Y-%m-%dT%H:%M:%SZ)" "$(date -u -d "@$((s + 3600))" +%Y-%m-%dT%H:%M:%SZ)"
}

fail() { echo "$*" >>"$WORK/failures"; }
writer() { # I
    while [ ! -e "$WORK/go" ]; do sleep 0.01; done
    r=1
    while [ $r -le $ROUNDS ]; do
        write_defs "$WORK/repo_$1" "$1" $r
        "$MF" -C "$WORK/repo_$1" apply >/dev/null 2>"$WORK/w$1.err" ||
            fail "writer $1 round $r: $(head -c 300 "$WORK/w$1.err" | tr '\n' ' ')"
        r=$((r + 1))
    done
}
materializer() { # VIEW
    while [ ! -e "$WORK/go" ]; do sleep 0.01; done
    r=0
    while [ $r -lt $ROUNDS ]; do
        # shellcheck disable=SC2046
        "$MF" -C "$S" materialize $(window $r) -v "$1" >/dev/null 2>"$WORK/m$1.err" ||
            fail "materialize $1 round $r: $(head -c 300 "$WORK/m$1.err" | tr '\n' ' ')"
        r=$((r + 1))
    done
}
deleter() { # FIRST
    while [ ! -e "$WORK/go" ]; do sleep 0.01; done
    k=$1
    while [ $k -lt $(($1 + ROUNDS)) ]; do
        "$MF" -C "$S" delete "fs_$k" >/dev/null 2>"$WORK/d$1.err" ||
            fail "delete fs_$k: $(head -c 300 "$WORK/d$1.err" | tr '\n' ' ')"
        k=$((k + 1))
    done
}

pids=""
i=1
while [ $i -le $W ]; do
    writer $i &
    pids="$pids $!"
    i=$((i + 1))
done
materializer mv_1 & pids="$pids $!"
materializer mv_2 & pids="$pids $!"
deleter 1 & pids="$pids $!"
deleter 51 & pids="$pids $!"
touch "$WORK/go"
for p in $pids; do wait "$p"; done

if [ -e "$WORK/failures" ]; then
    not_ok "every commit of 8 processes x $ROUNDS succeeded ($BACKEND)" "$(head -n 20 "$WORK/failures")"
else
    ok "every commit of 8 processes x $ROUNDS succeeded ($BACKEND)"
fi

run "$MF" -C "$S" registry-dump
cp "$WORK/.out" "$WORK/dump.json"
total=$((1 + 8 * ROUNDS))
version=$(sed -n 's/^  "version": \([0-9]*\),*$/\1/p' "$WORK/dump.json")
if [ "$version" = "$total" ]; then
    ok "the registry's version counts every commit ($total)"
else
    not_ok "the registry's version counts every commit ($total)" "version: ${version:-none}"
fi

stale=""
i=1
while [ $i -le $W ]; do
    grep -q "\"description\": \"view $i, round $ROUNDS\"" "$WORK/dump.json" || stale="$stale view_$i"
    i=$((i + 1))
done
if [ -z "$stale" ]; then ok "every writer's view has its last description"; else not_ok "every writer's view has its last description" "stale:$stale"; fi
run "$MF" -C "$WORK/repo_3" feature-views list
expect_out "each project holds its own view only" "NAME    DETAILS
view_3  entities=driver features=1 ttl=86400s source=driver_stats online"

want=$(r=0; while [ $r -lt $ROUNDS ]; do date -u -d "@$((T0 + r * 7200))" +%Y-%m-%dT%H:%M:%SZ; r=$((r + 1)); done)
for v in mv_1 mv_2; do
    run "$MF" -C "$S" feature-views describe $v
    got=$(printf '%s\n' "$OUT" | sed -n 's/^ *"start": "\([^"]*\)",*$/\1/p' | sort)
    if [ "$got" = "$want" ]; then
        ok "$v has its $ROUNDS materialization intervals"
    else
        not_ok "$v has its $ROUNDS materialization intervals" "got $(printf '%s\n' "$got" | grep -c .) intervals"
    fi
done
run "$MF" -C "$S" feature-services list
if [ "$RC" = 0 ] && [ "$OUT" = "NAME  DETAILS" ]; then
    ok "every deleted service is gone"
else
    not_ok "every deleted service is gone" "$(printf '%s' "$OUT" | head -n 5)"
fi
run "$MF" -C "$S" feature-views list
check_views=$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 }' | tr '\n' ' ')
if [ "$check_views" = "mv_1 mv_2 " ]; then ok "the shared project's views are there"; else not_ok "the shared project's views are there" "$check_views"; fi
