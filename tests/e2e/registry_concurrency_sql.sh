# registry_concurrency_sql.sh — registry_concurrency.sh on the SQL registry
# in SQLite.
MF_REG_BACKEND=sqlite
. "$(dirname "$0")/registry_concurrency.sh"
