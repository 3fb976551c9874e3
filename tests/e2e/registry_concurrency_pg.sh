# registry_concurrency_pg.sh — registry_concurrency.sh on the SQL registry
# in PostgreSQL (a server the test starts and stops itself).
MF_REG_BACKEND=postgresql
. "$(dirname "$0")/registry_concurrency.sh"
