# bad_inputs.sh — configuration and command-line inputs that must be
# refused quickly and clearly (docs/config.md, docs/cli.md), over the
# quickstart repo (`moonfeast init`):
#   - a feature_store.yaml of very many YAML anchors (libyaml checks each
#     new anchor against all earlier ones: 150k of them took a minute);
#   - a Lua online store's section of very many options (its keys were
#     matched pairwise);
#   - a Lua store's type given as ${VAR}: its options are its own;
#   - `registry migrate` from a registry that does not exist (it migrated
#     "0 objects" into a new, empty registry, and created the missing
#     SQLite file);
#   - an --entity-query that is empty, or holds more than one statement;
#   - the banner of `serve --registry-ttl 0`;
#   - get-historical-features -o naming a file the store keeps (it wrote
#     the training data over the registry);
#   - list --tags without a value, init "" (messages that blamed another
#     thing).
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$WORK"' EXIT
has() { printf '%s' "$1" | grep -qF -- "$2"; }
secs() { date +%s; }

run "$MF" init "$WORK/repo" --project drivers
expect_rc "init" 0
cd "$WORK/repo" || exit 1
cp feature_store.yaml yaml.keep

awk 'BEGIN { printf "project: drivers\nx: ["; for (i = 0; i < 90000; i++) printf "%s&a%d 0", (i ? "," : ""), i; print "]" }' >feature_store.yaml
t0=$(secs)
run "$MF" plan
expect_err "90,000 YAML anchors: refused" 1 "YAML anchors"
check "  ... at once" test $(($(secs) - t0)) -lt 5

{ printf 'project: drivers\nonline_store:\n  type: lua\n  module: m.lua\n'
  awk 'BEGIN { for (i = 0; i < 60000; i++) printf "  k%d: v\n", i }'; } >feature_store.yaml
t0=$(secs)
run "$MF" plan
expect_err "a Lua store with 60,000 options: refused" 1 "keys"
check "  ... at once" test $(($(secs) - t0)) -lt 5

printf 'return { update = function() end, teardown = function() end, write = function() end,\n  read = function() return {}, {} end }\n' >m.lua
printf 'project: drivers\nonline_store:\n  type: "${MF_T}"\n  module: m.lua\n  greeting: hello\n' >feature_store.yaml
MF_T=lua run "$MF" plan
expect_rc "a Lua store's type as \${VAR}: its own options are taken" 0
cp yaml.keep feature_store.yaml

run "$MF" registry migrate --from data/registyr.db --to sqlite:///new.db
expect_err "registry migrate from a registry file that does not exist" 2 "data/registyr.db"
check "  ... creates nothing" test ! -e new.db
run "$MF" registry migrate --from sqlite:///nothere.db --to data/copy.db
expect_err "registry migrate from a SQLite registry that does not exist" 2 "nothere.db"
check "  ... and does not create it" test ! -e nothere.db

run "$MF" apply
expect_rc "apply" 0
run "$MF" get-historical-features --entity-query '' --entity-db data/online.db -f driver_hourly_stats:conv_rate
check "an empty --entity-query: an error saying so" has "$ERR" "the query is empty"
check "  ... not 'not an error'" sh -c '! printf "%s" "$1" | grep -q "not an error"' - "$ERR"
run "$MF" get-historical-features --entity-query "select 1001 as driver_id, '2025-01-02T00:00:00Z' as event_timestamp; this is junk" --entity-db data/online.db -f driver_hourly_stats:conv_rate
expect_err "an --entity-query of more than one statement: refused" 2 "one statement"

timeout 5 "$MF" serve -p 0 --registry-ttl 0 --no-access-log >serve.out 2>serve.err &
pid=$!
i=0
while [ "$i" -lt 40 ] && ! grep -q "SIGHUP" serve.out serve.err 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
banner=$(cat serve.out serve.err)
check "serve --registry-ttl 0: the banner says it refreshes on SIGHUP only" has "$banner" "SIGHUP only)"
check "  ... with no number after it" sh -c '! printf "%s" "$1" | grep -q "only0"' - "$banner"

run "$MF" frobnicate
expect_err "an unknown command" 2 "unknown command 'frobnicate'"
check "  ... points at the main help, not at its own" sh -c '! printf "%s" "$1" | grep -q "frobnicate --help"' - "$ERR"
run "$MF" --log-level
expect_err "a global option without its value is named as written" 2 "'--log-level'"
run "$MF" get-online-features -e driver_id=1001,,, -f driver_hourly_stats:conv_rate
expect_err "-e with empty fields" 2 "-e takes KEY=VALUE"
run "$MF" materialize --jobs +2 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z
expect_err "a number with a sign it does not need is refused" 2 "--jobs takes a whole number"
run "$MF" serve -p ' 80'
expect_err "a number with a space before it is refused" 2 "--port takes a whole number"
sed 's/^entity_key_serialization_version: .*/entity_key_serialization_version: 99999999999999999999/' yaml.keep >feature_store.yaml
run "$MF" plan
expect_err "an integer past 64 bits is named as such" 1 "out of the range of a 64-bit integer"
cp yaml.keep feature_store.yaml
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-02T00:00:00Z -v driver_hourly_stats -v driver_hourly_stats
expect_rc "materialize of a view named twice" 0
check "  ... materializes it once" test "$(printf '%s\n' "$OUT" "$ERR" | grep -c '^driver_hourly_stats:')" -eq 1
printf 'driver_id,event_timestamp\n1001,2025-01-02T00:00:00Z\n' >ents.csv
cp data/registry.db registry.keep
cp data/online.db online.keep
for target in data/registry.db data/online.db feature_store.yaml; do
    run "$MF" get-historical-features -e ents.csv -f driver_hourly_stats:conv_rate -o "$target" --format csv
    expect_err "get-historical-features -o $target: refused" 2 "--output $target is the"
done
check "  ... the registry is left as it was" cmp -s data/registry.db registry.keep
check "  ... the online store is left as it was" cmp -s data/online.db online.keep
check "  ... the configuration is left as it was" cmp -s feature_store.yaml yaml.keep
run "$MF" get-historical-features -e ents.csv -f driver_hourly_stats:conv_rate -o ./data/../data/out.csv
expect_rc "get-historical-features -o another file in data/" 0
run "$MF" feature-views list --tags
expect_err "list --tags without its value: says so" 2 "--tags needs a value"
run "$MF" init ""
expect_err "init of an empty directory name: names the directory, not the project" 2 "directory name is empty"
