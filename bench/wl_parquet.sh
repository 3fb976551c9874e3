# bench/wl_parquet.sh — the `parquet` workload of bench/run.sh (sourced by
# it; uses its helpers): Parquet sources.
#
# 1. The pit reference workload (1M entity rows x 10M feature rows, 3
#    features, ttl 1 day) with the feature rows in one Parquet file written
#    by DuckDB (snappy, its default row groups: bench/duckdb_parquet.mjs
#    convert), moonfeast's get-historical-features against DuckDB's ASOF
#    LEFT JOIN over read_parquet of the same file, alternating, in the same
#    run; the outputs compared whole (duckdb_pit.mjs compare). Goals: wall
#    <= 0.5x DuckDB's, peak RSS <= 1x.
# 2. Materialize the same 10M rows (100k keys) from the Parquet file into
#    SQLite in process (mat_run, as materialize_sqlite does with the CSV):
#    goal >= 20M source rows read per second in the reading phase.
# The Parquet file is made once per CSV (bench/.work/parquet/data/, with a
# stamp). Without DuckDB (node, npm) there is no Parquet file to read: the
# workload is skipped with a note.
wl_parquet() {
    PIT_WORK=$WORK/pit
    PIT_DATA=$PIT_WORK/data
    PQ=$WORK/parquet
    PIT_TTL=86400
    mkdir -p "$PIT_DATA" "$PQ/data" "$PQ/out" "$PQ/log"
    if [ "$SCALE" = full ]; then n_ent=1000000 n_feat=10000000 n_keys=100000
    else n_ent=100000 n_feat=1000000 n_keys=10000; fi
    build gen_pit
    ensure_duckdb
    if [ "$DUCKDB_OK" != 1 ]; then
        note "parquet: skipped: DuckDB writes its Parquet file and is the peer: $DUCKDB_WHY"
        return 0
    fi
    E=$(human $n_ent) F=$(human $n_feat)
    PIT_ENT=ent_${n_ent}_${n_keys}
    big=feat_${n_feat}_${n_keys}_v1
    pit_data entities "$PIT_ENT" "$n_ent" "$n_keys" 1
    pit_data features "$big" "$n_feat" "$n_keys" 11
    pq=$PQ/data/$big.parquet
    stamp="$(cat "$PIT_DATA/$big.stamp") $(cksum <"$BENCH/duckdb_parquet.mjs") $DUCKDB_SPEC"
    if [ ! -f "$pq" ] || [ "$(cat "$pq.stamp" 2>/dev/null)" != "$stamp" ]; then
        say "parquet: writing $big.parquet with DuckDB"
        rm -f "$pq.stamp"
        node "$BENCH/duckdb_parquet.mjs" convert "$NODE_DIR" "$PIT_DATA/$big.csv" "$pq" || exit 1
        echo "$stamp" >"$pq.stamp"
    fi
    note "parquet: $big.parquet $(($(wc -c <"$pq") / 1048576)) MiB (the CSV: $(($(wc -c <"$PIT_DATA/$big.csv") / 1048576)) MiB)"

    # 1. the join
    bench_repo "$PQ/repo" sqlite "$(cat <<LUA
feature_view {
  name = "v1",
  entities = { driver },
  ttl = seconds($PIT_TTL),
  schema = {
    field { name = "conv_rate", dtype = Float32 },
    field { name = "acc_rate", dtype = Float64 },
    field { name = "trips", dtype = Int64 },
  },
  source = $(lua_file_source v1_source "$pq"),
  online = false,
}
LUA
)"
    label=parquet_pit_${E}x${F}
    mf_out=$PQ/out/moonfeast.csv dk_out=$PQ/out/duckdb.csv
    mf_log=$PQ/log/moonfeast_pit dk_log=$PQ/log/duckdb_pit
    rm -f "$mf_log.runs" "$dk_log.runs"
    cat "$pq" "$PIT_DATA/$PIT_ENT.csv" >/dev/null
    say "$label: moonfeast get-historical-features and DuckDB ASOF over read_parquet, alternating, $RUNS runs each"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        measure "$mf_log" "$MF" -C "$PQ/repo" get-historical-features --entities "$PIT_DATA/$PIT_ENT.csv" \
            -f v1:conv_rate -f v1:acc_rate -f v1:trips --full-feature-names -o "$mf_out" || exit 1
        measure "$dk_log" node "$BENCH/duckdb_parquet.mjs" join "$NODE_DIR" 2 \
            "$PIT_DATA/$PIT_ENT.csv" "$PIT_TTL" "$dk_out" "v1=$pq" || exit 1
    done
    summarize "$mf_log"
    MF_WALL=$WALL MF_RSS=$RSS MF_CPU=$CPU MF_SPREAD=$SPREAD
    summarize "$dk_log"
    DK_WALL=$WALL DK_RSS=$RSS DK_CPU=$CPU DK_SPREAD=$SPREAD
    figure "${label}_moonfeast_wall" "$MF_WALL" s "$(ratio "$MF_WALL" "$DK_WALL")x DuckDB; runs $MF_SPREAD"
    figure "${label}_moonfeast_peak_rss" "$MF_RSS" MiB "$(ratio "$MF_RSS" "$DK_RSS")x DuckDB"
    figure "${label}_duckdb_wall" "$DK_WALL" s "DuckDB $DUCKDB_VERSION, 2 threads; runs $DK_SPREAD"
    figure "${label}_duckdb_peak_rss" "$DK_RSS" MiB
    figure "${label}_moonfeast_cpu" "$MF_CPU" s "user + system; DuckDB $DK_CPU s"
    figure "${label}_wall_moonfeast_vs_duckdb" "$(ratio "$MF_WALL" "$DK_WALL")" x "goal <= 0.5"
    figure "${label}_rss_moonfeast_vs_duckdb" "$(ratio "$MF_RSS" "$DK_RSS")" x "goal <= 1"
    rows_ent=$(($(wc -l <"$PIT_DATA/$PIT_ENT.csv") - 1))
    cmp=$(node "$BENCH/duckdb_pit.mjs" compare "$NODE_DIR" 2 "$mf_out" "$dk_out" v1) || cmp=
    # shellcheck disable=SC2016
    verdict=$(printf '%s' "$cmp" | N="$rows_ent" node -e '
        const c = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const n = Number(process.env.N);
        const cols = Object.keys(c.nonnull_a);
        const same = cols.every((k) => c.nonnull_a[k] === c.nonnull_b[k]);
        const ok = c.rows_a === n && c.rows_b === n && c.only_a === 0 && c.only_b === 0 && same;
        console.log((ok ? "yes" : "NO") + "\t" + `${n} entity rows, ${c.rows_a} moonfeast rows, ` +
          `${c.rows_b} DuckDB rows; rows only in moonfeast: ${c.only_a}, only in DuckDB: ${c.only_b}; ` +
          `non-null values per column ${same ? "equal" : "DIFFER"} (${cols[0]}: ${c.nonnull_a[cols[0]]})`);
    ' 2>/dev/null) || verdict=$(printf 'NO\tthe comparison failed: %s' "${cmp:-no output}")
    figure "${label}_outputs_agree" "$(printf '%s' "$verdict" | cut -f1)" "" "$(printf '%s' "$verdict" | cut -f2-)"

    # 2. materialize from Parquet into SQLite
    ensure_mflink
    if [ "$MFLINK_OK" != 1 ]; then
        note "parquet: materialize skipped: $MFLINK_WHY"
        return 0
    fi
    build_mf mat_run
    MAT_ROWS=$n_feat MAT_KEYS=$n_keys MAT_CSV=$pq
    MAT_LABEL=$(human "$MAT_ROWS")x$(human "$MAT_KEYS")
    MAT_LUA=$(
        cat <<LUA
feature_view {
  name = "mat",
  entities = { driver },
  schema = {
    field { name = "conv_rate", dtype = Float32 },
    field { name = "acc_rate", dtype = Float64 },
    field { name = "trips", dtype = Int64 },
  },
  source = $(lua_file_source mat_source "$pq"),
}
LUA
    )
    dir=$PQ/materialize
    mkdir -p "$dir/log"
    mat_runs "$dir" none
    mlabel=parquet_materialize_sqlite_$MAT_LABEL
    figure "${mlabel}_wall" "$M_WALL" s "$M_READ source rows read, $M_WRITTEN entities written; runs $M_SPREAD"
    figure "${mlabel}_peak_rss" "$M_RSS" MiB
    figure "${mlabel}_read_rows_per_s" "$(rate "$M_READ" "$M_READ_S")" rows/s \
        "reading phase $(fmt "$M_READ_S" 2) s; goal >= 20000000"
    figure "${mlabel}_write_entities_per_s" "$(rate "$M_WRITTEN" "$M_WRITE_S")" entities/s \
        "writing phase and the store's close $(fmt "$M_WRITE_S" 3) s"
}
