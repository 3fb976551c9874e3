# registry_sql.sh — the SQL registry through the CLI and the server: the
# init repo on SQLite (sqlite:///relative) and on PostgreSQL (a server this
# test starts and stops): apply, plan, materialize, reads; registry migrate
# file -> SQLite -> PostgreSQL -> file keeps every object and interval; a
# PostgreSQL restart in the middle of a sequence fails the commands that
# needed it, clearly, and the next succeed; a server keeps serving its last
# snapshot while PostgreSQL is down and sees an apply within its ttl once it
# is back; bad URLs are errors naming the configuration, never the password.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/http_lib.sh"
trap 'stop_server; stop_pg; rm -rf "$WORK"' EXIT

has() { printf '%s' "$1" | grep -qF -- "$2"; }
use_registry() { # URL: the repo's registry becomes the SQL registry at URL
    sed -i '/^registry:/,/^[a-z]/{/^registry:/d;/^  /d}' feature_store.yaml
    printf 'registry:\n  registry_type: sql\n  path: "%s"\n  cache_ttl_seconds: 1\n' "$1" >>feature_store.yaml
}
dump() { # the registry without its version and times
    "$MF" registry-dump | grep -v '"version"\|"last_updated"\|"created"\|"updated"'
}

run "$MF" init repo
cd repo || exit 1
cp feature_store.yaml file.yaml
use_registry "sqlite:///data/registry.sqlite"
run "$MF" apply
expect_rc "apply into the SQLite SQL registry" 0
check "  ... the database file is in the repo" test -s data/registry.sqlite
check "  ... version 1" has "$OUT" "registry version 1"
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z
expect_rc "materialize records its intervals there" 0
run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate
check "online reads through it" has "$OUT" '"values":[0.881238]'
run "$MF" plan
check "plan against it: nothing to do" has "$OUT" "Plan: 0 to add, 0 to change, 9 unchanged, 0 to delete."
run sqlite3 data/registry.sqlite "SELECT count(*) FROM mf_objects; SELECT count(*) FROM mf_intervals; SELECT version FROM mf_projects"
check "one row per object, per interval; the project's version counts the commits" test "$OUT" = "9
2
3"
run "$MF" get-historical-features -e data/driver_stats.csv -f driver_hourly_stats:conv_rate -o data/registry.sqlite --format csv
expect_err "--output onto the SQLite SQL registry is refused" 2 "--output data/registry.sqlite is the registry"
check "  ... and the registry is intact" test "$(sqlite3 data/registry.sqlite 'SELECT count(*) FROM mf_objects')" = 9

# migrate: SQLite -> file -> (PostgreSQL) -> file, every object and interval
run "$MF" registry migrate --from sqlite:///data/registry.sqlite --to data/copy.db
check "migrate to a file registry" has "$OUT" "Migrated 9 objects of 1 project to data/copy.db"
want=$(dump)
run "$MF" registry migrate --from sqlite:///data/registry.sqlite --to data/copy.db
expect_err "migrate into a registry that is not empty is refused" 2 "the target registry is not empty"
run "$MF" registry migrate --from data/copy.db
expect_err "migrate without --to" 2 "give --from and --to"
run "$MF" registry migrate --from=sqlite:///data/registry.sqlite --to=data/copy2.db
check "migrate takes --from=FROM --to=TO too" has "$OUT" "Migrated 9 objects of 1 project to data/copy2.db"
run "$MF" registry migrate --from data/copy.db --to mysql://h/db
expect_err "migrate to an unsupported URL" 1 "unsupported database URL"

start_pg
rc=$?
if [ $rc = 1 ]; then
    ok "PostgreSQL registry # SKIP PostgreSQL is not installed (make deps installs it)"
    exit 0
fi
if [ $rc != 0 ]; then
    not_ok "PostgreSQL started" "$(tail -n 5 "$PG_DIR"/*.log)"
    exit 0
fi
pg_createdb reg
PG=$(pg_url reg)
run "$MF" registry migrate --from data/copy.db --to "$PG"
check "migrate a file registry into PostgreSQL" has "$OUT" "Migrated 9 objects of 1 project"
use_registry "$PG"
got=$(dump)
check "  ... every object and interval is there" test "$got" = "$want"
run "$MF" registry migrate --from "$PG" --to data/back.db
cp feature_store.yaml pg.yaml
cp file.yaml feature_store.yaml
sed -i 's|^registry: .*|registry: data/back.db|' feature_store.yaml
got=$(dump)
check "  ... and back into a file registry, the same" test "$got" = "$want"
cp pg.yaml feature_store.yaml

# the repo on PostgreSQL: apply deletes, materialize records
sed -i 's/ttl = days(1)/ttl = days(2)/' driver_repo.lua
run "$MF" apply
check "apply against PostgreSQL" has "$OUT" "Updated feature view driver_hourly_stats (changed: ttl_seconds)"
run "$MF" materialize-incremental 2025-01-07T00:00:00Z
expect_rc "materialize-incremental against PostgreSQL" 0
run psql -h "$PG_DIR" -p "$PG_PORT" -U postgres -d reg -Atc "SELECT count(*) FROM mf_intervals"
check "  ... its intervals are rows (merged per view)" test "$OUT" = 2

# a server on the PostgreSQL registry; PostgreSQL stopped, then back
start_server server.log --registry-ttl 1
check "serve on the PostgreSQL registry" test -n "$SPORT"
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"]}'
expect_http "  ... reads" 200 '"values":[0.881238]'
stop_pg
run "$MF" feature-views list
expect_err "PostgreSQL down: a command that needs the registry fails naming it" 1 "SQL registry postgresql:///reg?host="
run "$MF" apply
expect_err "  ... apply too, and nothing is half-written" 1 "SQL registry"
sleep 1.5
http POST /get-online-features '{"entities":{"driver_id":[1001]},"features":["driver_hourly_stats:conv_rate"]}'
expect_http "  ... the server keeps serving its last snapshot" 200 '"values":[0.881238]'
pg_run
run "$MF" feature-views list
check "PostgreSQL back: the next command succeeds" has "$OUT" "driver_hourly_stats"
cat >extra.lua <<'EOT'
feature_view {
  name = "extra_stats", entities = { "driver" }, ttl = days(1), source = "driver_hourly_stats_source",
  schema = { field { name = "conv_rate", dtype = Float32 } },
}
EOT
run "$MF" apply
check "  ... an apply" has "$OUT" "Created feature view extra_stats"
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v extra_stats
http_wait /get-online-features '{"entities":{"driver_id":[1001]},"features":["extra_stats:conv_rate"]}' '"values":[0.881238]'
expect_http "  ... which the server sees within its ttl" 200 '"values":[0.881238]'
stop_server
check "the server exits 0" test "$SRC" = 0
check_log server.log
check "  ... having said the registry could not be reloaded" grep -q "could not be reloaded" server.log

# bad URLs: errors naming the configuration; never the password
use_registry "mysql://u:pw@h/db"
run "$MF" feature-views list
expect_err "an unsupported scheme" 1 "unsupported database URL"
check "  ... naming feature_store.yaml" has "$ERR" "feature_store.yaml"
use_registry "postgresql://moon:s3cret@127.0.0.1:1/reg"
run "$MF" feature-views list
expect_err "a server that is not there" 1 "postgresql://moon:***@127.0.0.1:1/reg"
check "  ... the password is not shown" eval '! has "$ERR" s3cret'
# registry migrate names both registries in its output and errors: without
# the password either (PostgreSQL trusts the test's socket: any password)
pg_createdb reg3
run "$MF" registry migrate --from data/copy.db --to "postgresql://postgres:s3cret@/reg3?host=$PG_DIR&port=$PG_PORT"
check "migrate's output names the target without its password" has "$OUT" "to postgresql://postgres:***@/reg3?host="
check "  ... the password is not shown" eval '! has "$OUT$ERR" s3cret'
run "$MF" registry migrate --from data/copy.db --to "postgresql://moon:s3cret@127.0.0.1:1/reg"
expect_err "migrate to a server that is not there" 1 "writing postgresql://moon:***@127.0.0.1:1/reg"
check "  ... the password is not shown" eval '! has "$OUT$ERR" s3cret'
run "$MF" registry migrate --from "postgresql://moon:s3cret@127.0.0.1:1/reg" --to data/x.db
expect_err "migrate from a server that is not there" 1 "reading postgresql://moon:***@127.0.0.1:1/reg"
check "  ... the password is not shown" eval '! has "$OUT$ERR" s3cret'
