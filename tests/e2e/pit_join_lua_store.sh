# pit_join_lua_store.sh — the point-in-time join cases of pit_join.sh with
# every one-line file_source replaced by a lua_source that names no module,
# read by the Lua offline store examples/lua_jsonl_offline/jsonl_store.lua,
# which answers historical retrieval with its own join (join: lua): the same
# golden answers.
MF_PIT_SOURCES=jsonl_store
. "$(dirname "$0")/pit_join.sh"
