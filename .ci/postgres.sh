#!/usr/bin/env bash
# A throw-away PostgreSQL cluster on loopback for the `stepkit history` tests, the same for .ci/run and a
# developer's shell:
#   eval "$(.ci/postgres.sh start)"   # starts it (or finds it running), prints export STEPKIT_TEST_POSTGRES_URL=...
#   .ci/postgres.sh stop              # stops it and removes its files
# Debian's postgresql server binaries (/usr/lib/postgresql/<major>/bin), a cluster made by initdb in
# $STEPKIT_PG_DIR (default /tmp/stepkit-ci-postgres), listening on 127.0.0.1 only, port $STEPKIT_PG_PORT
# (default 15432), scram-sha-256 passwords, fsync off (it is thrown away). Run as root, it runs the server
# as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

dir="${STEPKIT_PG_DIR:-/tmp/stepkit-ci-postgres}"
port="${STEPKIT_PG_PORT:-15432}"
user=stepkit
database=stepkit_history
# A test secret: .ci/run checks that it never appears in stepkit's output.
password=pg-history-secret-5e2b

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$bin/initdb" ] || { echo "postgres.sh: no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url="postgres://$user:$password@127.0.0.1:$port/$database"

case "${1:-}" in
start)
    if [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
        echo "export STEPKIT_TEST_POSTGRES_URL='$url'"
        exit 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_owner sh -c "printf '%s\n' '$password' > '$dir/pwfile'"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" start -D "$dir/data" -w -t 60 -l "$dir/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c fsync=off -c max_connections=100" \
        >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner env PGPASSWORD="$password" "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE $user LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE $database OWNER $user" >/dev/null
    echo "export STEPKIT_TEST_POSTGRES_URL='$url'"
    ;;
stop)
    if [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" stop -D "$dir/data" -m fast -w >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
