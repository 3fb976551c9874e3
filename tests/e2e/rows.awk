# rows.awk — a get-online-features response (one JSON line) as one line per
# entity row, for the e2e scripts: for each column "value|status|event_timestamp",
# joined by '|'; quotes dropped, numbers printed as %.17g. Values must not hold
# ',', ']' or '|'.
function norm(v) {
    gsub(/"/, "", v)
    if (v ~ /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/) v = sprintf("%.17g", v + 0)
    return v
}
{
    n = split($0, parts, /\{"values":\[/)
    nrow = 0
    for (c = 2; c <= n; c++) {
        s = parts[c]
        i = index(s, "],\"statuses\":[")
        vals = substr(s, 1, i - 1)
        rest = substr(s, i + 14)
        j = index(rest, "],\"event_timestamps\":[")
        sts = substr(rest, 1, j - 1)
        rest = substr(rest, j + 22)
        tss = substr(rest, 1, index(rest, "]") - 1)
        nrow = split(vals, V, ",")
        split(sts, S, ",")
        split(tss, T, ",")
        for (k = 1; k <= nrow; k++) {
            val[c, k] = norm(V[k]); st[c, k] = norm(S[k]); ts[c, k] = norm(T[k])
        }
    }
    for (k = 1; k <= nrow; k++) {
        line = ""
        for (c = 2; c <= n; c++)
            line = line (c > 2 ? "|" : "") val[c, k] "|" st[c, k] "|" ts[c, k]
        print line
    }
}
