# cli_definitions.sh — the definition lifecycle through the real CLI:
# init, plan, apply, the list and describe commands, edits and re-plans,
# delete, teardown, help texts, and every error path's exit code and message
# (exit codes: 0 success, 1 user error, 2 bad usage; runtime/cli.c).
#
# Golden files: tests/e2e/golden/cli_definitions/ (MF_UPDATE_GOLDEN=1
# rewrites them). No output of any run may hold a sanitizer report.
. "$(dirname "$0")/lib.sh"
# lib.sh has moved to $WORK: a relative MF_BIN is relative to where we were
case $MF in /*) ;; */*) MF=$OLDPWD/$MF ;; esac

G=cli_definitions
mkdir -p "$GOLDEN/$G"
ALL=$WORK/.all # every output of every run, checked at the end

r() { # run, keeping the output for the final sanitizer sweep
    run "$@"
    printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"
}

check() { # NAME CONDITION-COMMAND...: ok when the command succeeds
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "stdout: $OUT" "stderr: $ERR"; fi
}

has_out() { printf '%s' "$OUT" | grep -qF -- "$1"; }
has_err() { printf '%s' "$ERR" | grep -qF -- "$1"; }

#---- init ------------------------------------------------------------------

r "$MF" init repo
check "init exits 0 and says where" has_out "Created a feature repo in repo"
check "init writes feature_store.yaml" test -f repo/feature_store.yaml
check "init writes driver_repo.lua" test -f repo/driver_repo.lua
check "init names the project after the folder" grep -qx 'project: repo' repo/feature_store.yaml
lines=$(wc -l <repo/data/driver_stats.csv 2>/dev/null | tr -d ' ')
check "init writes 4800 rows and a header" test "$lines" = 4801
check "CSV header" test "$(head -n 1 repo/data/driver_stats.csv)" = \
    "driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips"

r "$MF" init again/repo
check "init is deterministic (two inits, identical files)" diff -r repo again/repo

r "$MF" init other --project my_project
check "init --project names the project" grep -qx 'project: my_project' other/feature_store.yaml

r "$MF" init repo
if [ "$RC" -ne 0 ] && has_err "already exists"; then
    ok "init into an existing repo fails"
else
    not_ok "init into an existing repo fails" "exit $RC" "stderr: $ERR"
fi
check "failed init leaves the existing definitions" cmp -s repo/driver_repo.lua again/repo/driver_repo.lua

r "$MF" init bad --project "no-dash"
expect_err "init with an invalid project name" 2 "project name 'no-dash'"

#---- plan and apply --------------------------------------------------------

r "$MF" -C repo plan
expect_golden "plan of a fresh repo" "$G/plan_initial.txt"
check "plan writes nothing" test ! -e repo/data/registry.db

r "$MF" -C repo apply
expect_golden "apply of a fresh repo" "$G/apply_initial.txt"

r "$MF" -C repo apply
expect_out "second apply adds nothing" \
    "Applied: 0 added, 0 changed, 9 unchanged, 0 deleted; registry version 2"

r "$MF" -C repo plan
check "plan after apply: all unchanged" has_out "Plan: 0 to add, 0 to change, 9 unchanged, 0 to delete."

#---- list and describe -----------------------------------------------------

r "$MF" -C repo entities list
expect_golden "entities list" "$G/entities_list.txt"
r "$MF" -C repo feature-views list
expect_golden "feature-views list" "$G/feature_views_list.txt"
r "$MF" -C repo feature-views list --tags team:driver_performance
expect_golden "feature-views list --tags (match)" "$G/feature_views_list.txt"
r "$MF" -C repo feature-views list --tags=team:driver_performance
expect_golden "feature-views list --tags=K:V" "$G/feature_views_list.txt"
r "$MF" -C repo feature-views list --tags team:driver_performance --tags team:other
expect_out "feature-views list, every filter must match" "NAME  DETAILS"
r "$MF" -C repo feature-views list --tags team:nobody
expect_out "feature-views list --tags (no match)" "NAME  DETAILS"
r "$MF" -C repo data-sources list
expect_golden "data-sources list" "$G/data_sources_list.txt"
r "$MF" -C repo on-demand-feature-views list
expect_golden "on-demand-feature-views list" "$G/on_demand_feature_views_list.txt"
r "$MF" -C repo feature-services list
expect_golden "feature-services list" "$G/feature_services_list.txt"

r "$MF" -C repo feature-views describe driver_hourly_stats
expect_golden "feature-views describe" "$G/describe_driver_hourly_stats.json" \
    '/"created"/d; /"updated"/d'
r "$MF" -C repo feature-views describe nosuch
expect_err "describe of an unknown view" 1 "no feature view named 'nosuch' in project 'repo'"

r "$MF" -C repo registry-dump
if [ "$RC" -eq 0 ] && python3 -m json.tool "$WORK/.out" >/dev/null 2>&1 &&
    has_out '"transform_source"' && has_out '"driver_activity_v2"'; then
    ok "registry-dump is valid JSON with every object"
else
    not_ok "registry-dump is valid JSON with every object" "exit $RC" "$(head -c 300 "$WORK/.out")"
fi

#---- -f: a configuration named explicitly ----------------------------------

r "$MF" -f repo/feature_store.yaml entities list
expect_golden "-f from another directory" "$G/entities_list.txt"
# a second configuration in the same repo, with its own registry
sed 's|^registry: .*|registry: data/other_registry.db|' repo/feature_store.yaml >repo/other.yaml
r "$MF" -f repo/other.yaml plan
check "-f other.yaml uses its own registry" has_out "Plan: 9 to add, 0 to change, 0 unchanged, 0 to delete."
r "$MF" -C repo -f other.yaml entities list
expect_out "-f is taken from the -C directory" "NAME  DETAILS"
r "$MF" -f nosuch/feature_store.yaml plan
expect_err "-f to a missing file" 1 "nosuch/feature_store.yaml"

#---- edits: a changed ttl, a removed service -------------------------------

cp repo/driver_repo.lua "$WORK/driver_repo.lua.orig"
# the first view's ttl only
awk '!done && /ttl = days\(1\)/ { sub(/days\(1\)/, "days(2)"); done = 1 } { print }' \
    "$WORK/driver_repo.lua.orig" >"$WORK/step1.lua"
# drop the paragraph defining driver_activity_v2
awk 'BEGIN { RS = ""; ORS = "\n\n" } !/driver_activity_v2/' "$WORK/step1.lua" >repo/driver_repo.lua
check "the edit changed one ttl and removed one service" \
    test "$(grep -c 'days(2)' repo/driver_repo.lua)-$(grep -c driver_activity_v2 repo/driver_repo.lua)" = 1-0

r "$MF" -C repo plan
expect_golden "plan after the edit" "$G/plan_after_edit.txt"
check "plan names the changed field" \
    has_out "~ feature view driver_hourly_stats (changed: ttl_seconds)"
check "plan deletes the removed service" has_out "- feature service driver_activity_v2 (no longer defined)"

r "$MF" -C repo apply
expect_golden "apply after the edit" "$G/apply_after_edit.txt"
r "$MF" -C repo feature-views list
check "the new ttl is registered" has_out "features=3 ttl=172800s source=driver_hourly_stats_source"
r "$MF" -C repo feature-services list
check "the removed service is deleted by apply" eval '! has_out driver_activity_v2 && has_out driver_activity_v1'
r "$MF" -C repo plan
check "plan after apply: the registry matches the files" has_out "Plan: 0 to add, 0 to change, 8 unchanged, 0 to delete."

#---- a view no longer defined: apply deletes it and drops its online data ---

cat >repo/extra.lua <<'EOT'
feature_view {
  name = "extra_stats", entities = { "driver" }, ttl = days(1), source = "driver_hourly_stats_source",
  schema = { field { name = "conv_rate", dtype = Float32 } },
}
EOT
r "$MF" -C repo apply
check "a view in a second file is added" has_out "Created feature view extra_stats"
r "$MF" -C repo materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v extra_stats
r "$MF" -C repo get-online-features -e driver_id=1001 -f extra_stats:conv_rate
check "  ... and materialized" has_out '"PRESENT"'
r sqlite3 repo/data/online.db .tables
check "  ... with its online table" has_out "extra_stats"
rm repo/extra.lua
r "$MF" -C repo plan
check "plan: the view whose file is gone is to be deleted" has_out "- feature view extra_stats (no longer defined)"
check "  ... counted" has_out "Plan: 0 to add, 0 to change, 8 unchanged, 1 to delete."
r "$MF" -C repo apply
check "apply deletes it" has_out "Deleted feature view extra_stats"
check "  ... counted" has_out "Applied: 0 added, 0 changed, 8 unchanged, 1 deleted;"
r sqlite3 repo/data/online.db .tables
check "  ... and drops its online data" eval '[ "$RC" -eq 0 ] && ! has_out extra_stats && has_out driver_hourly_stats'
r "$MF" -C repo get-online-features -e driver_id=1001 -f extra_stats:conv_rate
expect_err "  ... a read of it is an error" 1 "extra_stats"

#---- delete ----------------------------------------------------------------

r "$MF" -C repo delete driver_activity_v1
expect_out "delete a service" "Deleted driver_activity_v1"
r "$MF" -C repo feature-services list
check "the deleted service is gone" eval '! has_out driver_activity_v1'
r "$MF" -C repo plan
check "plan after delete: the files still define it" has_out "Plan: 1 to add, 0 to change, 7 unchanged, 0 to delete."
r "$MF" -C repo apply
check "apply adds it again" has_out "Created feature service driver_activity_v1"

r "$MF" -C repo delete driver
expect_err "delete of an entity in use" 1 "cannot delete entity 'driver': feature view 'driver_hourly_stats"
r "$MF" -C repo entities list
check "the entity in use is still there" has_out "driver  join_keys=driver_id"
r "$MF" -C repo delete driver_hourly_stats_source
expect_err "delete of a source in use" 1 "feature view 'driver_hourly_stats' uses it"
r "$MF" -C repo delete nosuch
expect_err "delete of an unknown name" 1 "no object named 'nosuch' in project 'repo'"
r "$MF" -C repo delete driver --kind feature-view
expect_err "delete with a kind that does not hold the name" 1 "no feature view named 'driver'"
r "$MF" -C repo delete driver --kind widget
expect_err "delete with an unknown kind" 2 "unknown kind 'widget'"
r "$MF" -C repo delete driver --kind=feature-view
expect_err "delete --kind=KIND as --kind KIND" 1 "no feature view named 'driver'"

# a configuration piped in: the current folder is the repo folder (it was
# /dev, or /proc/PID/fd: no definitions, a registry under /dev)
r sh -c 'cd repo && "$0" -f /dev/stdin feature-views list <feature_store.yaml' "$MF"
check "-f /dev/stdin (redirected): the repo is the current folder" has_out "driver_hourly_stats"
r sh -c 'cd repo && cat feature_store.yaml | "$0" -f /dev/stdin feature-views list' "$MF"
check "-f /dev/stdin (a pipe): the same" has_out "driver_hourly_stats"
# ... but a repo under /dev/shm is a folder like any other
if shm=$(mktemp -d /dev/shm/mf_cli_XXXXXX 2>/dev/null); then
    cp -r repo "$shm/"
    r "$MF" -f "$shm/repo/feature_store.yaml" feature-views list
    check "-f /dev/shm/.../feature_store.yaml: the repo is its folder" has_out "driver_hourly_stats"
    rm -rf "$shm"
else
    ok "-f /dev/shm/.../feature_store.yaml # SKIP no /dev/shm on this machine"
fi

#---- teardown --------------------------------------------------------------

r sqlite3 repo/data/online.db .tables
check "online tables exist before teardown" has_out "driver_hourly_stats"
r "$MF" -C repo teardown
expect_out "teardown" "Tore down project repo"
for k in entities data-sources feature-views on-demand-feature-views feature-services; do
    r "$MF" -C repo $k list
    expect_out "$k list after teardown is empty" "NAME  DETAILS"
done
r sqlite3 repo/data/online.db .tables
check "online tables gone after teardown" eval '[ "$RC" -eq 0 ] && ! has_out driver_hourly_stats'
r "$MF" -C repo apply
check "apply after teardown adds everything again" has_out "Applied: 8 added, 0 changed, 0 unchanged, 0 deleted"

#---- source validation -----------------------------------------------------

cat >repo/missing.lua <<'EOT'
local gone = file_source { name = "gone_source", path = "data/gone.csv", timestamp_field = "event_timestamp" }
feature_view {
  name = "gone_stats", entities = { "driver" }, ttl = days(1), source = gone,
  schema = { field { name = "conv_rate", dtype = Float32 } },
}
EOT
r "$MF" -C repo plan
expect_err "plan: a view whose source file is missing" 1 "missing.lua:2: feature view 'gone_stats': its source 'gone_source' reads data/gone.csv, which does not exist"
r "$MF" -C repo apply
expect_err "apply: the same error" 1 "--skip-source-validation skips the check"
r "$MF" -C repo feature-views list
check "  ... and nothing was registered" eval '! has_out gone_stats'
r "$MF" -C repo apply --skip-source-validation
check "apply --skip-source-validation registers it" has_out "Created feature view gone_stats"
r "$MF" -C repo plan --skip-source-validation
check "plan --skip-source-validation" has_out "Plan: 0 to add, 0 to change, 10 unchanged, 0 to delete."
rm repo/missing.lua
r "$MF" -C repo apply
check "  ... and deleted again once its file is gone" has_out "Deleted feature view gone_stats"

#---- global options after the command, -c, usage errors ---------------------

r "$MF" feature-views list -C repo
check "-C after the command" has_out "driver_hourly_stats "
r "$MF" entities list --chdir=repo
check "--chdir=DIR after the command" has_out "driver  join_keys=driver_id"
r "$MF" -c repo entities list
check "-c before the command, as Feast spells it" has_out "driver  join_keys=driver_id"
r "$MF" plan -c repo --log-level=error
check "-c and --log-level=LEVEL after the command" has_out "Plan: 0 to add"
r "$MF" plan -c
expect_err "a global option after the command without its value" 2 "option '-c' needs a value"
r "$MF" -C repo materialize 2025-01-01T00:00:00Z
expect_err "a usage error names the command's own help" 2 "Try 'moonfeast materialize --help'."
r "$MF" --bogus
expect_err "before a command: the main help" 2 "Try 'moonfeast --help'."

#---- version and help ------------------------------------------------------

r "$MF" version
expect_out "version" "moonfeast 0.1.0"
r "$MF" --version
expect_out "--version" "moonfeast 0.1.0"

r "$MF" --help
check "--help: exit 0 and a usage line" eval '[ "$RC" -eq 0 ] && printf "%s\n" "$OUT" | grep -q "^Usage: moonfeast"'
cmds=$(printf '%s\n' "$OUT" | sed -n '/^Commands:/,$p' | grep -oE '^  [a-z][a-z-]+' | tr -d ' ')
for c in $(printf '%s\n' init apply plan delete teardown registry-dump version lua-test \
    entities data-sources feature-views on-demand-feature-views feature-services $cmds | sort -u); do
    for form in "$c --help" "$c -h"; do
        r "$MF" $form
        check "$form" eval '[ "$RC" -eq 0 ] && printf "%s\n" "$OUT" | grep -q "^Usage:"'
    done
done
for k in entities feature-views; do
    r "$MF" $k list --help
    check "$k list --help" eval '[ "$RC" -eq 0 ] && printf "%s\n" "$OUT" | grep -q "^Usage: moonfeast KIND list"'
    r "$MF" $k describe --help
    check "$k describe --help" eval '[ "$RC" -eq 0 ] && printf "%s\n" "$OUT" | grep -q "^Usage: moonfeast KIND describe"'
done
r "$MF"
check "no command: usage on stderr, exit 2" eval '[ "$RC" -eq 2 ] && printf "%s\n" "$ERR" | grep -q "^Usage:"'

#---- usage errors (exit 2) -------------------------------------------------

r "$MF" frobnicate
expect_err "unknown command" 2 "unknown command 'frobnicate'"
r "$MF" frobnicate --help
expect_err "--help of an unknown command" 2 "unknown command 'frobnicate'"
r "$MF" --frob plan
expect_err "unknown global option" 2 "unknown option '--frob'"
r "$MF" -x plan
expect_err "unknown short option" 2 "option '-x'"
r "$MF" -xC repo plan
expect_err "an unknown short option inside a cluster is named (not the program)" 2 "option '-x' needs a value or is unknown"
r "$MF" -C
expect_err "a short option without its value" 2 "option '-C' needs a value"
r "$MF" --log-level loud plan
expect_err "unknown log level" 2 "unknown log level 'loud'"
r "$MF" -C repo delete
expect_err "delete without NAME" 2 "delete: missing NAME"
r "$MF" -C repo delete a b
expect_err "delete with two names" 2 "delete: unexpected argument 'b'"
r "$MF" -C repo plan extra
expect_err "unexpected argument to plan" 2 "plan: unexpected argument 'extra'"
r "$MF" -C repo apply extra
expect_err "unexpected argument to apply" 2 "apply: unexpected argument 'extra'"
r "$MF" -C repo teardown now
expect_err "unexpected argument to teardown" 2 "teardown: unexpected argument 'now'"
r "$MF" version 2
expect_err "unexpected argument to version" 2 "version: unexpected argument '2'"
r "$MF" -C repo entities
expect_err "kind without subcommand" 2 "entities: expected 'list' or 'describe NAME'"
r "$MF" -C repo entities show
expect_err "kind with an unknown subcommand" 2 "unknown subcommand 'show'"
r "$MF" -C repo entities describe
expect_err "describe without NAME" 2 "describe: expected exactly one NAME"
r "$MF" -C repo feature-views list --tags team
if [ "$RC" -eq 0 ] && [ "$(printf '%s\n' "$OUT" | grep -c '^driver_hourly_stats')" -eq 2 ]; then
    ok "--tags KEY matches any value"
else
    not_ok "--tags KEY matches any value" "exit $RC" "stdout: $OUT"
fi
r "$MF" -C repo entities list extra
expect_err "list with an unexpected argument" 2 "list: unexpected argument 'extra'"

#---- user errors (exit 1) --------------------------------------------------

mkdir -p empty
r "$MF" -C empty plan
expect_err "missing feature_store.yaml" 1 "cannot open ./feature_store.yaml"
r "$MF" -C nosuchdir plan
expect_err "-C to a missing directory" 1 "cannot change to directory nosuchdir"

cp -r again/repo yamlbad
printf 'bogus_key: 1\n' >>yamlbad/feature_store.yaml
n=$(wc -l <yamlbad/feature_store.yaml | tr -d ' ')
r "$MF" -C yamlbad plan
expect_err "unknown key in feature_store.yaml (key)" 1 "unknown key 'bogus_key'"
expect_err "unknown key in feature_store.yaml (line)" 1 "line $n"

cp -r again/repo luabad
printf 'local x = 1\n\nlocal = 3\n' >luabad/zz_bad.lua
r "$MF" -C luabad plan
expect_err "Lua syntax error names file:line" 1 "error: zz_bad.lua:3:"
r "$MF" -C luabad apply
expect_err "apply refuses a Lua syntax error" 1 "zz_bad.lua:3:"
check "nothing applied after the error" test ! -e luabad/data/registry.db

printf '\n\nentity {\n  name = "rider",\n}\n' >luabad/zz_bad.lua
r "$MF" -C luabad plan
expect_err "invalid definition names file:line" 1 "error: zz_bad.lua:3: entity 'rider': missing required field 'join_keys'"

printf 'local t = nil\nt.x = 1\n' >luabad/zz_bad.lua
r "$MF" -C luabad plan
expect_err "Lua runtime error names file:line" 1 "error: zz_bad.lua:2: attempt to index local 't'"

printf 'feature_view { name = "v", source = "driver_hourly_stats_source", schema = {\n  field { name = "nope", dtype = Int64 } } }\n' >luabad/zz_bad.lua
r "$MF" -C luabad plan
expect_err "apply-time check names file:line and the columns" 1 \
    "zz_bad.lua:1: feature view 'v': feature 'nope' not found in"

printf 'io.open("pwned", "w")\n' >luabad/zz_bad.lua
r "$MF" -C luabad plan
expect_err "the sandbox has no io" 1 "zz_bad.lua:1: undefined global 'io'"
check "the sandbox wrote nothing" test ! -e luabad/pwned -a ! -e pwned

#---- no sanitizer report anywhere ------------------------------------------

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error|PANIC' "$ALL"; then
    not_ok "no sanitizer report or panic in any output" "$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error|PANIC' "$ALL" | head -5)"
else
    ok "no sanitizer report or panic in any output"
fi
