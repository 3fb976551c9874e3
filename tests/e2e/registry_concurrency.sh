# registry_concurrency.sh — many `moonfeast apply` processes at once, one
# file registry (docs/concepts.md, "The registry": writers take a lock, so concurrent
# writers lose nothing).
#
# N feature repos, one project, each feature_store.yaml naming the same
# absolute registry (each repo has its own online store: this tests the
# registry, and SQLite may refuse concurrent first opens of one new
# database in WAL mode). Every repo defines the same entity
# and source and its own view view_I; each applies ROUNDS times, changing
# its view's description every round, all repos in parallel. Afterwards
# every view is registered with its last description, the shared objects
# exist once, and the registry version is the number of applies (one commit
# each): a lost update would show as a missing view, a stale description or
# a smaller version.
. "$(dirname "$0")/lib.sh"

N=8
ROUNDS=5
SHARED=$WORK/shared
REG=$SHARED/registry.db
mkdir -p "$SHARED"

write_defs() { # DIR I ROUND
    cat >"$1/defs.lua" <<EOF
local driver = entity {
  name = "driver",
  join_keys = { "driver_id" },
  value_type = Int64,
  description = "A driver",
}

local stats = file_source {
  name = "driver_stats",
  path = "data/stats.csv",
  timestamp_field = "event_timestamp",
}

feature_view {
  name = "view_$2",
  entities = { driver },
  ttl = days(1),
  schema = { field { name = "conv_rate", dtype = Float32 } },
  source = stats,
  online = true,
  description = "view $2, round $3",
}
EOF
}

i=1
while [ $i -le $N ]; do
    d=$WORK/repo_$i
    mkdir -p "$d/data"
    cat >"$d/feature_store.yaml" <<EOF
project: shared_project
provider: local
registry: $REG
online_store:
  type: sqlite
  path: data/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
EOF
    printf 'driver_id,event_timestamp,conv_rate\n1001,2025-01-01T00:00:00Z,0.5\n' >"$d/data/stats.csv"
    i=$((i + 1))
done

# worker I: wait for the start signal, then apply ROUNDS times
worker() {
    d=$WORK/repo_$1
    while [ ! -e "$WORK/go" ]; do sleep 0.01; done
    r=1
    while [ $r -le $ROUNDS ]; do
        write_defs "$d" "$1" $r
        if ! "$MF" -C "$d" apply >"$d/apply_$r.out" 2>"$d/apply_$r.err"; then
            echo "repo_$1 round $r: $(head -c 300 "$d/apply_$r.err" | tr '\n' ' ')" >>"$WORK/failures"
        fi
        r=$((r + 1))
    done
}

pids=""
i=1
while [ $i -le $N ]; do
    worker $i &
    pids="$pids $!"
    i=$((i + 1))
done
touch "$WORK/go"
for p in $pids; do wait "$p"; done

if [ -e "$WORK/failures" ]; then
    not_ok "every apply succeeded"
    sed 's/^/#   /' "$WORK/failures"
else
    ok "every apply succeeded"
fi

run "$MF" -C "$WORK/repo_1" registry-dump
cp "$WORK/.out" "$WORK/dump.json"
expect_rc "registry-dump after the parallel applies" 0

total=$((N * ROUNDS))
version=$(sed -n 's/^  "version": \([0-9]*\),*$/\1/p' "$WORK/dump.json")
if [ "$version" = "$total" ]; then
    ok "registry version is the number of applies ($total)"
else
    not_ok "registry version is the number of applies ($total)" "version: ${version:-none}"
fi

missing=""
stale=""
i=1
while [ $i -le $N ]; do
    grep -q "\"name\": \"view_$i\"" "$WORK/dump.json" || missing="$missing view_$i"
    grep -q "\"description\": \"view $i, round $ROUNDS\"" "$WORK/dump.json" ||
        stale="$stale view_$i"
    i=$((i + 1))
done
if [ -z "$missing" ]; then ok "every view is registered"; else not_ok "every view is registered" "missing:$missing"; fi
if [ -z "$stale" ]; then
    ok "every view has its last description"
else
    not_ok "every view has its last description" "stale:$stale"
fi

run "$MF" -C "$WORK/repo_3" feature-views list
want="NAME    DETAILS"
i=1
while [ $i -le $N ]; do
    want="$want
view_$i  entities=driver features=1 ttl=86400s source=driver_stats online"
    i=$((i + 1))
done
expect_out "feature-views list shows all $N views" "$want"

run "$MF" -C "$WORK/repo_5" entities list
expect_out "the shared entity is registered once" "NAME    DETAILS
driver  join_keys=driver_id value_type=Int64"
run "$MF" -C "$WORK/repo_7" data-sources list
expect_out "the shared source is registered once" "NAME          DETAILS
driver_stats  type=file path=data/stats.csv"

n_projects=$(grep -c '"name": "shared_project"' "$WORK/dump.json")
if [ "$n_projects" = 1 ]; then ok "the project is registered once"; else not_ok "the project is registered once" "found $n_projects"; fi

if [ -e "$REG.tmp" ]; then not_ok "no temporary file left" "$REG.tmp exists"; else ok "no temporary file left"; fi

