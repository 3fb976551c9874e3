# online_toggle.sh — a view whose `online` flag goes false then true again
# (docs/concepts.md, "plan, apply, delete, teardown"): apply drops the
# online data of a view that is not online, so its materialization history
# goes too; the next materialize-incremental starts as for a new view (END
# - ttl) and the view is served again. Over the quickstart repo (`moonfeast
# init`: driver_hourly_stats, ttl 1 day, rows every 15 minutes from
# 2025-01-01 to 2025-01-05 23:45).
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$WORK"' EXIT

run "$MF" init "$WORK/repo" --project drivers
expect_rc "init" 0
cd "$WORK/repo" || exit 1
DEFS=driver_repo.lua

# The data is of 2025: a value found is OUTSIDE_MAX_AGE (the ttl counts
# from now), one not found NOT_FOUND.
conv() { # the status of driver 1001's conv_rate
    run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate
    printf '%s' "$OUT" | sed -n 's/.*"statuses":\["\([A-Z_]*\)"\][^{]*$/\1/p'
}
expect_status() { # NAME WANT
    got=$(conv)
    if [ "$got" = "$2" ]; then ok "$1"; else not_ok "$1" "got: $got" "want: $2" "out: $OUT"; fi
}

run "$MF" apply
expect_rc "apply" 0
run "$MF" materialize-incremental 2025-01-06T00:00:00Z -v driver_hourly_stats
expect_rc "materialize-incremental to 2025-01-06" 0
expect_status "served after materializing" OUTSIDE_MAX_AGE

sed -i 's/  online = true,/  online = false,/' "$DEFS"
run "$MF" apply
expect_rc "apply with online = false" 0
sed -i 's/  online = false,/  online = true,/' "$DEFS"
run "$MF" apply
expect_rc "apply with online = true again" 0
expect_status "not served: its online data went with online = false" NOT_FOUND

run "$MF" feature-views describe driver_hourly_stats
if printf '%s' "$OUT" | grep -q '2025-01-06'; then
    not_ok "its materialization history went with its data" "out: $OUT"
else
    ok "its materialization history went with its data"
fi
run "$MF" materialize-incremental 2025-01-06T12:00:00Z -v driver_hourly_stats
expect_rc "materialize-incremental to 2025-01-06T12" 0
expect_status "served again: the window started at END - ttl" OUTSIDE_MAX_AGE
