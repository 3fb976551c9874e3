# pit_join_jsonl.sh — the point-in-time join cases of pit_join.sh, every
# one-line file_source replaced by a lua_source reading the same rows as
# JSON Lines (examples/lua_jsonl_offline): the same golden answers.
MF_PIT_SOURCES=jsonl
. "$(dirname "$0")/pit_join.sh"
