# bench/results_md.awk — bench/.work/results.txt as the markdown tables of
# docs/benchmarks.md ("Every figure"): one table per workload (a line
# "#### `W`" before each), a row per figure: name, value and unit,
# details (the parentheses), load (the brackets).
#   awk -f bench/results_md.awk bench/.work/results.txt
function flush_head(w) {
    printf "\n#### `%s`\n\n| figure | value | details (floor, peer, ratio, goal, spread) | load |\n|---|---|---|---|\n", w
}
/^#/ { next }
NF >= 2 {
    name = $1
    rest = substr($0, length($1) + 2)
    load = ""
    if (match(rest, / \[load [^]]*\]$/)) {
        load = substr(rest, RSTART + 7, RLENGTH - 8)
        rest = substr(rest, 1, RSTART - 1)
    }
    details = ""
    if (match(rest, / \(.*\)$/)) {
        details = substr(rest, RSTART + 2, RLENGTH - 3)
        rest = substr(rest, 1, RSTART - 1)
    }
    w = name
    sub(/_.*/, "", w)
    if (name ~ /^(online_sqlite|online_redis|redis_cluster|materialize_sqlite|materialize_redis|materialize_jobs|lua_store|transform_hist|http_sqlite|http_redis|http_soak)/) {
        split(name, p, "_"); w = p[1] "_" p[2]
    }
    if (w != cur) { flush_head(w); cur = w }
    gsub(/\|/, "\\|", details)
    printf "| `%s` | %s | %s | %s |\n", name, rest, details, load
}
