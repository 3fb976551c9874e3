#!/bin/sh
# docs_cli.sh — docs/cli.md and the README say what the real command does.
#
# 1. Every command the docs show (`$ moonfeast ...` in docs/cli.md, the
#    indented `moonfeast ...` lines of the README) exists: `moonfeast CMD
#    --help` exits 0. Every command of `moonfeast --help` has its section.
# 2. Every example of docs/cli.md with its output is run as written (the
#    `moonfeast` of the example is this build's binary, first on PATH) in
#    the situation it describes, and its output must be the documented one;
#    only timings, ports and thread counts are masked.
# 3. Every documented exit code and message is checked twice: the sentence
#    is in docs/cli.md (line breaks ignored), and the command exits with that
#    code and prints that message.
. "$(dirname "$0")/lib.sh"
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$WORK"' EXIT

ROOT=$(cd "$E2E_DIR/../.." && pwd)
CLI_MD=$ROOT/docs/cli.md
README=$ROOT/README.md
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$MF" >"$WORK/bin/moonfeast"
chmod +x "$WORK/bin/moonfeast"
PATH=$WORK/bin:$PATH
export PATH

# docs/cli.md as one line (line breaks and runs of spaces as one space)
FLAT=$WORK/cli.flat
tr '\n' ' ' <"$CLI_MD" | tr -s ' ' >"$FLAT"

#---- 1. commands exist ------------------------------------------------------

# command words of a `moonfeast ...` line: the first word, and the second
# too for `KIND list|describe` and `registry migrate`
cmd_of() {
    printf '%s\n' "$1" | awk '{
        i = 1; while (i <= NF && $i != "moonfeast") i++
        c = $(i + 1)
        if ($(i + 2) == "list" || $(i + 2) == "describe" || $(i + 2) == "migrate") c = c " " $(i + 2)
        print c }'
}
{
    grep -E '^\$ moonfeast ' "$CLI_MD"
    grep -E '^    moonfeast [a-z]' "$README"
} >"$WORK/shown"
n=0
while IFS= read -r line; do
    c=$(cmd_of "$line")
    # shellcheck disable=SC2086 # the words of the command
    if moonfeast $c --help >/dev/null 2>&1; then n=$((n + 1)); else not_ok "documented command '$c' exists" "from: $line"; fi
done <"$WORK/shown"
if [ "$n" -ge 12 ]; then ok "the $n commands the docs show exist"; else not_ok "the commands the docs show exist" "only $n checked"; fi

moonfeast --help 2>&1 | sed -n '/^Commands:/,$p' | sed 1d | awk '{print $1}' | tr -d '|' | grep . |
    sort -u >"$WORK/listed"
missing=
while read -r c; do
    case "$c" in list | describe | entities | data-sources | on-demand-feature-views | feature-services) continue ;; esac
    if [ "$c" = feature-views ]; then
        grep -q '^### Listing and describing' "$CLI_MD" || missing="$missing $c"
    elif ! grep -q "^### \`$c" "$CLI_MD"; then
        missing="$missing $c"
    fi
done <"$WORK/listed"
if [ -z "$missing" ]; then ok "every command of moonfeast --help has a section in docs/cli.md"; else not_ok "every command of moonfeast --help has a section in docs/cli.md" "missing:$missing"; fi

# every long option a command's section of docs/cli.md names is in that
# command's --help (global options aside)
missing=
for c in init plan apply delete teardown registry-dump "registry migrate" get-historical-features \
    materialize materialize-incremental get-online-features push write-to-online-store serve \
    to-parquet lua-test; do
    flags=$(awk -v h="### \`$c" 'index($0, h) == 1 { f = 1; print; next } f && /^##/ { exit } f' "$CLI_MD" |
        grep -o -- '--[a-z][a-z-]*' | sort -u | grep -vx -- '--help\|--log-level\|--chdir\|--feature-store-yaml')
    # shellcheck disable=SC2086 # the words of the command
    help=$(moonfeast $c --help 2>&1)
    for f in $flags; do
        printf '%s' "$help" | grep -q -- "$f" || missing="$missing $c:$f"
    done
done
if [ -z "$missing" ]; then ok "every option docs/cli.md gives a command is in its --help"; else not_ok "every option docs/cli.md gives a command is in its --help" "missing:$missing"; fi

#---- 2. the examples, as written -------------------------------------------

# example HEADING: the first fenced block after the heading that starts with
# `### \`HEADING` (or is HEADING) whose first line is a `$ ` command
example() {
    awk -v h="$1" '
        !found && (index($0, "### `" h) == 1 || $0 == h) { found = 1; next }
        found && /^```/ { if (inb) { if (keep) exit; inb = 0; next } inb = 1; first = 1; next }
        found && inb { if (first) { keep = ($0 ~ /^\$ /); first = 0 } if (keep) print }
    ' "$CLI_MD"
}

# play NAME HEADING [SED]: run the example under HEADING in the current
# folder, each `$ ` line (with `\` continuations) through sh, standard
# output and error together; `$ cat FILE` writes the shown text into FILE.
# The output (through SED, applied to both sides) must be the shown one,
# and every command must exit 0.
play() {
    example "$2" >"$WORK/ex"
    if [ ! -s "$WORK/ex" ]; then not_ok "$1" "no example under '$2' in docs/cli.md"; return; fi
    play_ex "$1" "${3:-}"
}

# play_ex NAME [SED]: play the commands and outputs in $WORK/ex; `$ cd DIR`
# changes this script's folder
play_ex() {
    name=$1
    : >"$WORK/ex.want"
    : >"$WORK/ex.got"
    bad=
    awk '
        function flush() { if (cmd != "") print cmd > (dir "/cmd." n); cmd = "" }
        /^\$ / { flush(); n++; cmd = substr($0, 3); cont = /\\$/; if (cont) sub(/\\$/, "", cmd); next }
        cont { c = $0; cont = /\\$/; if (cont) sub(/\\$/, "", c); cmd = cmd " " c; next }
        { print > (dir "/out." n + 0) }
        END { flush() }
    ' dir="$WORK" n=0 "$WORK/ex"
    i=1
    while [ -f "$WORK/cmd.$i" ]; do
        cmd=$(cat "$WORK/cmd.$i")
        [ -f "$WORK/out.$i" ] || : >"$WORK/out.$i"
        case "$cmd" in
        "cd "*)
            cd "${cmd#cd }" || bad="$bad; cannot $cmd"
            ;;
        "cat "*)
            cp "$WORK/out.$i" "${cmd#cat }"
            ;;
        *)
            cat "$WORK/out.$i" >>"$WORK/ex.want"
            sh -c "$cmd" >>"$WORK/ex.got" 2>&1 || bad="$bad; exit $? from: $cmd"
            ;;
        esac
        rm -f "$WORK/cmd.$i" "$WORK/out.$i"
        i=$((i + 1))
    done
    if [ -n "${2:-}" ]; then
        sed -E -e "$2" "$WORK/ex.want" >"$WORK/ex.w2"
        sed -E -e "$2" "$WORK/ex.got" >"$WORK/ex.g2"
    else
        cp "$WORK/ex.want" "$WORK/ex.w2"
        cp "$WORK/ex.got" "$WORK/ex.g2"
    fi
    if [ -n "$bad" ]; then
        not_ok "$name" "${bad#; }" "$(cat "$WORK/ex.got")"
    elif ! diff -u "$WORK/ex.w2" "$WORK/ex.g2" >"$WORK/ex.diff"; then
        not_ok "$name" "the docs show other output:" "$(head -20 "$WORK/ex.diff")"
    else
        ok "$name"
    fi
}

# the plan and apply examples: a repo with one entity, one source and one
# view; then a second view; then the first view's ttl changed and the second
# removed
mkdir -p "$WORK/pa/data" && cd "$WORK/pa" || exit 1
printf 'project: pa\nregistry: data/registry.db\nonline_store:\n  type: sqlite\n  path: data/online.db\n' >feature_store.yaml
printf 'driver_id,event_timestamp,conv_rate,acc_rate\n1001,2025-01-01T00:00:00Z,0.5,0.25\n' >data/driver_stats.csv
defs() { # TTL_DAYS [old]
    cat >defs.lua <<EOF
local driver = entity { name = "driver", join_keys = { "driver_id" }, value_type = Int64 }
local src = file_source { name = "driver_stats_source", path = "data/driver_stats.csv",
                          timestamp_field = "event_timestamp" }
feature_view { name = "driver_hourly_stats", entities = { driver }, ttl = days($1),
               schema = { field { name = "conv_rate", dtype = Float32 } }, source = src }
EOF
    if [ "${2:-}" = old ]; then
        cat >>defs.lua <<'EOF'
feature_view { name = "old_stats", entities = { driver }, ttl = days(1),
               schema = { field { name = "acc_rate", dtype = Float32 } }, source = src }
EOF
    fi
}
defs 1
play "docs/cli.md apply example" "apply"
defs 1 old
moonfeast apply >/dev/null
defs 2
play "docs/cli.md plan example" "plan"

# the init examples, in an empty folder
mkdir -p "$WORK/init" && cd "$WORK/init" || exit 1
play "docs/cli.md init examples" "init"

# the quickstart repo for the rest
cd "$WORK" && moonfeast init qs >/dev/null && cd qs || exit 1
moonfeast apply >/dev/null
play "docs/cli.md list example" "### Listing and describing"
play "docs/cli.md get-historical-features example" "get-historical-features"
if [ -s train.jsonl ] && head -1 train.jsonl | grep -q '"driver_hourly_stats__conv_rate"'; then
    ok "the get-historical-features example writes train.jsonl with full feature names"
else
    not_ok "the get-historical-features example writes train.jsonl with full feature names" "$(head -2 train.jsonl 2>&1)"
fi
play "docs/cli.md materialize example" "materialize START END" \
    's/in [0-9.]+s \([0-9]+ rows\/s\)/in Ts (R rows\/s)/; /^driver_hourly_stats_fresh: /d'
play "docs/cli.md get-online-features example" "get-online-features"

# registry migrate: the example's command with a SQLite URL for PostgreSQL's
example "registry migrate" >"$WORK/ex"
want=$(sed -n 2p "$WORK/ex" | sed 's|postgresql://moon:pw@db1:5432/features|sqlite:///migrated.db|')
run moonfeast registry migrate --from data/registry.db --to sqlite:///migrated.db
if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ]; then
    ok "docs/cli.md registry migrate example (to a SQLite URL)"
else
    not_ok "docs/cli.md registry migrate example (to a SQLite URL)" "exit $RC" "want: $want" "got: $OUT$ERR"
fi

# serve: the first line and an access log line, numbers masked
example "serve" | sed -n '/^\$ moonfeast serve$/,$p' >"$WORK/ex"
mask='s/[0-9]+/N/g'
moonfeast serve -p 0 >/dev/null 2>"$WORK/serve.err" &
SPID=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'serving on' "$WORK/serve.err"; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's|.*serving on http://127.0.0.1:\([0-9]*\).*|\1|p' "$WORK/serve.err")
curl -s "http://127.0.0.1:$port/health" >/dev/null
sleep 0.2
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
SPID=
want=$(sed 1d "$WORK/ex" | sed -E "$mask")
got=$(head -2 "$WORK/serve.err" | sed -E "$mask")
if [ -n "$port" ] && [ "$got" = "$want" ]; then
    ok "docs/cli.md serve example (numbers masked)"
else
    not_ok "docs/cli.md serve example (numbers masked)" "want: $want" "got: $got"
fi

# docs/getting-started.md: every `$ ` block, in order, in one empty folder
GS=$ROOT/docs/getting-started.md
awk '/^```/ { if (inb) { inb = 0; next } inb = 1; first = 1; next }
     inb { if (first) { keep = ($0 ~ /^\$ /); first = 0 } if (keep) print }' "$GS" >"$WORK/ex"
mkdir -p "$WORK/gs" && cd "$WORK/gs" || exit 1
if [ "$(grep -c '^\$ ' "$WORK/ex")" -ge 10 ]; then
    play_ex "docs/getting-started.md, every example in order" \
        's/in [0-9.]+s \([0-9]+ rows\/s\)/in Ts (R rows\/s)/; /^driver_hourly_stats_fresh: [0-9]+ rows read/d'
else
    not_ok "docs/getting-started.md, every example in order" "fewer examples than expected"
fi
grep -E '^(moonfeast|curl) ' "$GS" >"$WORK/gs.lines"
while IFS= read -r line; do
    case "$line" in moonfeast*) c=$(cmd_of "$line")
        # shellcheck disable=SC2086 # the words of the command
        moonfeast $c --help >/dev/null 2>&1 || not_ok "getting-started command '$c' exists" "from: $line" ;;
    esac
done <"$WORK/gs.lines"
cd "$WORK/qs" || exit 1

#---- 3. documented exit codes and messages ---------------------------------

# claim NAME DOC_TEXT RC MESSAGE CMD...: docs/cli.md holds DOC_TEXT, and CMD
# exits RC with MESSAGE on standard error or output
claim() {
    name=$1 doc=$2 want_rc=$3 msg=$4
    shift 4
    if ! grep -qF -- "$doc" "$FLAT"; then
        not_ok "$name" "docs/cli.md no longer says: $doc"
        return
    fi
    run "$@"
    if [ "$RC" -ne "$want_rc" ]; then
        not_ok "$name" "exit $RC, documented $want_rc" "stdout: $OUT" "stderr: $ERR"
    elif ! printf '%s\n%s' "$OUT" "$ERR" | grep -qF -- "$msg"; then
        not_ok "$name" "output lacks the documented: $msg" "stdout: $OUT" "stderr: $ERR"
    else
        ok "$name"
    fi
}

claim "no command: the list of commands, exit 2" \
    '`moonfeast` without a command prints the list of commands to standard error and exits 2' 2 \
    "Commands:" moonfeast
claim "a usage error points at the command's --help" \
    "Usage errors read \`moonfeast: MESSAGE\` followed by \`Try 'moonfeast COMMAND --help'.\`" 2 \
    "Try 'moonfeast materialize --help'." moonfeast materialize --bogus
claim "a usage error before a command points at moonfeast --help" \
    "(\`Try 'moonfeast --help'.\` before a command is known)" 2 \
    "Try 'moonfeast --help'." moonfeast --bogus
claim "errors read moonfeast: error: MESSAGE" \
    'Errors go to standard error, never as a C trace: `moonfeast: error: MESSAGE`' 1 \
    "moonfeast: error: " moonfeast feature-views describe nope
claim "init into a repo is refused, exit 1" \
    'Refused (exit 1) when DIR already holds a `feature_store.yaml`' 1 \
    "already exists" moonfeast init .
claim "init with an unknown template, exit 2" \
    'An unknown template is a usage error (exit 2) naming the known ones' 2 \
    "expected one of: local, redis" moonfeast init x -t gcp
claim "describe of an unknown name, exit 1" 'An unknown name exits 1.' 1 \
    "no entity named 'nope'" moonfeast entities describe nope
claim "delete of a used entity, exit 1 and the message" \
    "Refused, exit 1, when another object uses it: \`cannot delete entity 'driver': feature view 'driver_hourly_stats' uses it; delete that first\`" 1 \
    "cannot delete entity 'driver': feature view 'driver_hourly_stats' uses it; delete that first" \
    moonfeast delete driver
claim "historical: an output of unknown format, exit 2" \
    "(exit 2: \`cannot tell the format of 'out.txt' from its name\`)" 2 \
    "cannot tell the format of 'out.txt' from its name" \
    moonfeast get-historical-features -e entities.csv -f driver_hourly_stats:conv_rate -o out.txt
claim "historical: a ref not view:feature, exit 2" 'Exit 2 also for a ref not of the form `view:feature`' 2 \
    "" moonfeast get-historical-features -e entities.csv -f conv_rate
claim "historical: refs and --feature-service together, exit 2" 'refs and `--feature-service` together' 2 \
    "" moonfeast get-historical-features -e entities.csv -f driver_hourly_stats:conv_rate --feature-service driver_activity_v2
claim "historical: --end before --start, exit 2" '`--end` before `--start`' 2 \
    "" moonfeast get-historical-features --start 2025-01-05 --end 2025-01-01 --feature-service driver_activity_v2
claim "materialize: START after END, exit 2" 'Exit 2 when START is after END' 2 \
    "the start of the window is after its end" moonfeast materialize 2025-01-06 2025-01-01
claim "materialize: an unknown view, exit 1" 'exit 1 for an unknown view' 1 \
    "unknown feature view 'nope'" moonfeast materialize 2025-01-01 2025-01-06 -v nope
cat >>driver_repo.lua <<'EOF'
feature_view {
  name = "offline_stats",
  entities = { driver },
  ttl = days(1),
  schema = { field { name = "conv_rate", dtype = Float32 } },
  source = driver_stats_source,
  online = false,
}
EOF
moonfeast apply >/dev/null
claim "materialize: a view that is not online, exit 1 and the message" \
    "and for a view that is not online (\`feature view 'offline_stats' is not online (online = false)\`)" 1 \
    "feature view 'offline_stats' is not online (online = false)" \
    moonfeast materialize 2025-01-01 2025-01-06 -v offline_stats
printf 'driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips\n1001,2025-01-06T00:00:00Z,2025-01-06T00:00:01Z,0.5,0.25,4321\n1002,2025-01-06T00:00:00Z,2025-01-06T00:00:01Z,0.5,0.25,4322\n' >rows.csv
claim "push prints the documented line" \
    'Prints `push: N rows accepted (stores keep values newer than these)` to standard error' 0 \
    "push: 2 rows accepted (stores keep values newer than these)" \
    moonfeast push driver_stats_push_source --file rows.csv --to online
claim "write-to-online-store prints the documented line" \
    'Prints `write-to-online-store: N rows accepted (stores keep values newer than these)`' 0 \
    "write-to-online-store: 2 rows accepted (stores keep values newer than these)" \
    moonfeast write-to-online-store driver_hourly_stats --file rows.csv
claim "registry migrate into a registry that holds anything, exit 2" \
    'a registry that holds anything is refused (exit 2)' 2 \
    "" moonfeast registry migrate --from data/registry.db --to sqlite:///migrated.db
claim "version prints the documented line" "Prints \`moonfeast $("$MF" version | cut -d' ' -f2)\`." 0 \
    "moonfeast " moonfeast version
claim "serve: bad options exit 2" 'exit 2 for bad options' 2 "" moonfeast serve --threads 0
nc_port=
# a port in use: listen with a first server, then start a second on it
moonfeast serve -p 0 >/dev/null 2>"$WORK/serve2.err" &
SPID=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'serving on' "$WORK/serve2.err"; do sleep 0.1; i=$((i + 1)); done
nc_port=$(sed -n 's|.*serving on http://127.0.0.1:\([0-9]*\).*|\1|p' "$WORK/serve2.err")
claim "serve: a port in use, exit 1 and the message" \
    "and when it cannot listen (\`cannot listen on 127.0.0.1:6566: Address already in use\`)" 1 \
    "cannot listen on 127.0.0.1:$nc_port: Address already in use" moonfeast serve -p "$nc_port"
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
SPID=
claim "delete prints Deleted NAME" 'Prints `Deleted NAME`.' 0 \
    "Deleted offline_stats" moonfeast delete offline_stats
claim "teardown prints the documented line" 'Prints `Tore down project NAME`' 0 \
    "Tore down project qs" moonfeast teardown

#---- 4. the docs stand alone ----------------------------------------------

# every relative link of the README, docs/ and the examples' READMEs names a
# file of the repository, and a heading of it when it has a #fragment (the
# fragment as GitHub makes it: lower case, punctuation dropped, spaces -)
cd "$ROOT" || exit 1
slugs() {
    sed -n 's/^#\{1,6\} \{1,\}//p' "$1" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9_ -]//g; s/ /-/g'
}
bad=
nlinks=0
for f in README.md docs/*.md examples/*/README.md; do
    dir=$(dirname "$f")
    for l in $(grep -o '](\([^)# ]*\)\(#[^) ]*\)\{0,1\})' "$f" | sed 's/^](//; s/)$//'); do
        case "$l" in http://* | https://* | mailto:*) continue ;; esac
        nlinks=$((nlinks + 1))
        path=${l%%#*}
        frag=
        case "$l" in *'#'*) frag=${l#*#} ;; esac
        if [ -z "$path" ]; then target=$f; else target=$dir/$path; fi
        if [ ! -e "$target" ]; then
            bad="$bad $f:$l"
        elif [ -n "$frag" ] && ! slugs "$target" | grep -qxF -- "$frag"; then
            bad="$bad $f:$l"
        fi
    done
done
if [ -z "$bad" ] && [ "$nlinks" -ge 50 ]; then
    ok "the $nlinks relative links of the docs resolve in the repository"
else
    not_ok "the relative links of the docs resolve in the repository" "broken:$bad" "($nlinks links)"
fi
hits=$(grep -nE '\.\./shared|/work/|/home/[a-z]|/root/' README.md docs/*.md examples/*/README.md man/moonfeast.1 2>/dev/null | head -5)
if [ -z "$hits" ]; then
    ok "the docs point at nothing outside the repository"
else
    not_ok "the docs point at nothing outside the repository" "$hits"
fi
