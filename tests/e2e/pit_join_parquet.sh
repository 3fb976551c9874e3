# pit_join_parquet.sh — the point-in-time join cases of pit_join.sh, every
# one-line file_source's CSV file converted to Parquet (moonfeast
# to-parquet: typed columns where the text survives) and read from there:
# the same golden answers.
MF_PIT_SOURCES=parquet
. "$(dirname "$0")/pit_join.sh"
