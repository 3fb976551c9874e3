#!/bin/sh
# apply_online_data.sh — apply and the online data around its registry
# commit: no failure loses data the registry still counts on, and a name
# that changes kind keeps a table of its own.
#   A. A view turned offline, its apply killed inside the registry commit
#      (MF_TEST_PAUSE=registry: the writer sleeps before the rename): the
#      registry still has the view online with its history, so its data
#      must still be there (apply dropped the table before the commit; the
#      data was gone for good, and materialize-incremental skipped it).
#   B. A feature view replaced by an on-demand view of its name, written to
#      the online store, in one apply: apply made the table "if not
#      exists" (the feature view's), then dropped it with the deleted view:
#      the on-demand view had no table, and apply exited 0. Both share one
#      table, so a name changes kind in two applies: the first is refused
#      (nothing written or dropped), the two-step route works.
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

has() { printf '%s' "$OUT" | grep -qF -- "$1"; }

run "$MF" init r
cd r || exit 1
run "$MF" apply
run "$MF" materialize-incremental 2025-01-06T00:00:00Z
expect_rc "set-up: apply, materialize-incremental" 0
read_conv() { run "$MF" get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate; }
read_conv
check "set-up: the value is there" has '"values":[0.881238]'

# A
sed -i 's/  online = true,/  online = false,/' driver_repo.lua
MF_TEST_PAUSE=registry=5000 "$MF" apply >/dev/null 2>&1 &
pid=$!
sleep 2
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
sed -i 's/  online = false,/  online = true,/' driver_repo.lua
run "$MF" apply
expect_rc "A: apply again after an apply killed inside its commit" 0
read_conv
check "  ... the view's online data is still there" has '"values":[0.881238]'
run "$MF" materialize-incremental 2025-01-06T00:00:00Z
read_conv
check "  ... and after materialize-incremental" has '"values":[0.881238]'

# A2: the drop itself comes after the commit
sed -i 's/  online = true,/  online = false,/' driver_repo.lua
run "$MF" apply
expect_rc "A2: turning the view offline" 0
sed -i 's/  online = false,/  online = true,/' driver_repo.lua
run "$MF" apply
read_conv
check "  ... online again: nothing (its data dropped, its history with it)" has '"statuses":["PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z"]},{"values":[null],"statuses":["NOT_FOUND"]'
run "$MF" materialize-incremental 2025-01-06T00:00:00Z
read_conv
check "  ... until materialize-incremental, which starts over" has '"values":[0.881238]'

# B
cat >extra.lua <<'EOT'
feature_view {
  name = "twin", entities = { "driver" }, ttl = days(1), source = "driver_hourly_stats_source",
  schema = { field { name = "conv_rate", dtype = Float32 } },
}
EOT
run "$MF" apply
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v twin
expect_rc "B: set-up: a feature view twin, materialized" 0
cat >extra.lua <<'EOT'
feature_view {
  name = "twin_src", entities = { "driver" }, ttl = days(1), source = "driver_hourly_stats_source",
  schema = { field { name = "conv_rate", dtype = Float32 } },
}
on_demand_feature_view {
  name = "twin", sources = { "twin_src" }, write_to_online_store = true,
  schema = { field { name = "x2", dtype = Float64 } },
  transform = function(row)
    if row.conv_rate == nil then return { x2 = null } end
    return { x2 = row.conv_rate * 2 }
  end,
}
EOT
run "$MF" apply
expect_err "B: twin becoming an on-demand view in the same apply is refused" 2 "'twin' is registered as a feature view and defined as an on-demand feature view"
run "$MF" get-online-features -e driver_id=1001 -f twin:conv_rate
check "  ... nothing dropped: the feature view's data is there" has '"values":[0.881238]'
cp extra.lua extra.next
sed -n '1,4p' extra.next >extra.lua
run "$MF" apply
expect_rc "  ... first an apply without twin (its data dropped with it)" 0
cp extra.next extra.lua
rm extra.next
run "$MF" apply
expect_rc "  ... then the on-demand view twin" 0
run "$MF" get-online-features -e driver_id=1001 -f twin:x2
check "  ... its table is new: nothing there yet (not the feature view's rows)" has '{"values":[null],"statuses":["NOT_FOUND"]'
run "$MF" materialize 2025-01-01T00:00:00Z 2025-01-06T00:00:00Z -v twin_src
expect_rc "  ... materializing its source writes it" 0
run "$MF" get-online-features -e driver_id=1001 -f twin:x2
check "  ... and it reads back" has '"values":[1.7624759674072266]'
