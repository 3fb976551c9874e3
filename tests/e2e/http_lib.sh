# tests/e2e/http_lib.sh — helpers for the scripts that test `moonfeast serve`
# (sourced after lib.sh; not a test itself: run.sh runs tests/e2e/*.sh, and
# this file only defines functions).
#
# start_server LOG ARGS...: `moonfeast serve -p 0 ARGS` in the background,
#   its stderr in LOG; waits for its "serving on" line; sets SPID and SPORT
#   (empty when it did not start). SCHEME (http or https) and CURL_TLS
#   (extra curl arguments) say how to reach it.
# stop_server: SIGTERM, wait; SRC gets its exit status.
# http METHOD PATH BODY [CURL ARGS...]: one request; CODE and HB (the body)
#   and HH (the headers) are set. BODY "" sends none; @FILE sends a file.
# expect_http NAME CODE SUBSTRING: the status, and the body contains it.
# expect_http_body NAME CODE TEXT: the status, and the body equals it.
# body_has S...: the body contains every S.
# http_wait PATH BODY SUBSTRING: POSTs until a 200 holds SUBSTRING (5 s).
# check NAME COMMAND...: ok when the command succeeds.
# check_log LOG: no sanitizer report or crash in a server's log.
SPID=
SPORT=
SRC=
SCHEME=http
CURL_TLS=
HOSTNAME_=127.0.0.1

start_server() {
    log=$1
    shift
    : >"$log"
    "$MF" serve -p 0 "$@" 2>"$log" &
    SPID=$!
    SPORT=
    n=0
    while [ $n -lt 400 ]; do
        SPORT=$(sed -n 's|.*serving on https\{0,1\}://.*:\([0-9][0-9]*\) (.*|\1|p' "$log" | head -n 1)
        [ -n "$SPORT" ] && return 0
        if ! kill -0 "$SPID" 2>/dev/null; then
            wait "$SPID" 2>/dev/null
            SPID=
            return 1
        fi
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}

stop_server() {
    SRC=
    if [ -n "$SPID" ]; then
        kill -TERM "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
        SRC=$?
        SPID=
    fi
}

http() {
    method=$1
    path=$2
    body=$3
    shift 3
    if [ -n "$body" ]; then
        # shellcheck disable=SC2086
        CODE=$(curl -s -o "$WORK/.hb" -D "$WORK/.hh" -w '%{http_code}' -X "$method" \
            -H 'Content-Type: application/json' --data-binary "$body" $CURL_TLS "$@" \
            "$SCHEME://$HOSTNAME_:$SPORT$path")
    else
        # shellcheck disable=SC2086
        CODE=$(curl -s -o "$WORK/.hb" -D "$WORK/.hh" -w '%{http_code}' -X "$method" \
            $CURL_TLS "$@" "$SCHEME://$HOSTNAME_:$SPORT$path")
    fi
    HB=$(cat "$WORK/.hb" 2>/dev/null)
    HH=$(cat "$WORK/.hh" 2>/dev/null)
}

# http_wait PATH BODY SUBSTRING: POST BODY to PATH every 0.1 s, for up to
# 5 s, until the answer is a 200 holding SUBSTRING (for changes that reach
# a server within its registry ttl); CODE and HB are the last answer's.
http_wait() {
    n=0
    while [ $n -lt 50 ]; do
        http POST "$1" "$2"
        [ "$CODE" = 200 ] && body_has "$3" && return 0
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

body_has() {
    for s in "$@"; do
        case $HB in *"$s"*) ;; *) return 1 ;; esac
    done
    return 0
}

expect_http() {
    if [ "$CODE" != "$2" ]; then
        not_ok "$1" "status $CODE, want $2" "body: $(printf '%s' "$HB" | head -c 600)"
    elif ! body_has "$3"; then
        not_ok "$1" "body lacks: $3" "body: $(printf '%s' "$HB" | head -c 600)"
    else
        ok "$1"
    fi
}

expect_http_body() {
    if [ "$CODE" != "$2" ]; then
        not_ok "$1" "status $CODE, want $2" "body: $(printf '%s' "$HB" | head -c 600)"
    elif [ "$HB" != "$3" ]; then
        not_ok "$1" "body differs" "got:  $(printf '%s' "$HB" | head -c 600)" \
            "want: $(printf '%s' "$3" | head -c 600)"
    else
        ok "$1"
    fi
}

check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*" "body: $(printf '%s' "$HB" | head -c 400)"; fi
}

check_log() {
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|ThreadSanitizer' "$1"; then
        not_ok "no sanitizer report in $1" "$(grep -E -A8 'Sanitizer|runtime error' "$1" | head -30)"
    else
        ok "no sanitizer report in $1"
    fi
}
