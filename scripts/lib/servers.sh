# Shell functions shared by scripts/test and scripts/cluster: Debian packages, throwaway PostgreSQL and Redis
# on loopback, and process helpers. Source it; it defines functions and PGBIN/PY only, and starts nothing.
# The caller defines log() and die().

PGBIN=/usr/lib/postgresql/15/bin   # not /usr/local/bin: that symlink exists on some boxes only
# Debian's python, not whatever pyenv/venv shim happens to come first on PATH.
PY=/usr/bin/python3

pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# install_missing PACKAGE...: as root, apt-get installs them; as anyone else, says how and fails.
install_missing() {
    (( $# )) || return 0
    if (( EUID != 0 )); then
        log "missing Debian packages: $*"
        log "install them with: sudo apt-get install -y --no-install-recommends $*"
        exit 2
    fi
    log "installing missing Debian packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    # apt talks on stdout; keep stdout for our own output (exports, URLs).
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "$@" >&2
}

# PostgreSQL refuses to run as root, so as root every pg command runs as the
# `postgres` OS user. `cd /` because that user may not be allowed into our cwd.
as_pg() {
    if (( EUID == 0 )); then
        (cd / && exec runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# A daemon that has exited but not yet been reaped (a zombie, e.g. redis after
# daemonizing when PID 1 reaps slowly) still answers `kill -0`; count it as gone.
pid_alive() {
    [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Wait up to $2 seconds for process $1 to disappear.
wait_gone() {
    local i
    for (( i = 0; i < $2 * 10; i++ )); do pid_alive "$1" || return 0; sleep 0.1; done
    return 1
}

# Ask the kernel for a currently unused port. Racy in theory (another process could
# take it before the server binds it), but the window is milliseconds.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until DESCRIPTION SECONDS COMMAND...: poll until COMMAND succeeds.
wait_until() {
    local what=$1 secs=$2 i
    shift 2
    for (( i = 0; i < secs * 4; i++ )); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    log "$what did not answer within ${secs}s"
    return 1
}

# pg_start DIR PORT DURABLE: a new cluster in DIR/data listening on 127.0.0.1:PORT, trusting every local
# connection (loopback only). DURABLE=0 trades durability for speed (fsync off), for data that dies with the run.
pg_start() {
    local dir=$1 port=$2 durable=$3
    mkdir -p "$dir"
    (( EUID == 0 )) && chown postgres: "$dir"
    as_pg test -w "$dir" || die "the postgres user cannot write to $dir (set TMPDIR to a folder it can reach)"
    # -U postgres makes the superuser name independent of the OS user (the connection string says Username=postgres).
    as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C \
        --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    # Settings go into the config file rather than `pg_ctl -o` so no path needs shell quoting.
    cat >>"$dir/data/postgresql.conf" <<PGEOF

# --- scripts/lib/servers.sh: throwaway server on loopback ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
# Per-statement counts for bench/costs/run (docs/scaling.md); negligible for everything else.
shared_preload_libraries = 'pg_stat_statements'
PGEOF
    if [[ $durable != 1 ]]; then
        printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$dir/data/postgresql.conf"
    fi
    if ! as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
        tail -n 30 "$dir/postgres.log" >&2 || true
        die "PostgreSQL failed to start"
    fi
    wait_until "PostgreSQL on 127.0.0.1:$port" 30 \
        "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres \
        || { tail -n 30 "$dir/postgres.log" >&2 || true; exit 2; }
}

# pg_stop DIR: stops the cluster pg_start made in DIR, whatever state it is in.
pg_stop() {
    local dir=$1 pg_pid
    pg_pid=$(head -n1 "$dir/data/postmaster.pid" 2>/dev/null)
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" stop -m immediate -w -t 30 >/dev/null 2>&1
    pid_alive "$pg_pid" && kill -KILL "$pg_pid" 2>/dev/null
    wait_gone "$pg_pid" 10
}

# redis_start DIR PORT APPENDFSYNC: Redis on 127.0.0.1:PORT with its files in DIR. AOF is on, as production
# must run it (docs/operations.md; /health/ready reports Degraded without it); APPENDFSYNC is no or everysec.
redis_start() {
    local dir=$1 port=$2 fsync=$3
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly yes --appendfsync "$fsync" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
        || die "redis-server failed to start"
    wait_until "Redis on 127.0.0.1:$port" 30 redis_ping "$port" \
        || { tail -n 30 "$dir/redis.log" >&2 || true; exit 2; }
}

redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]; }

# redis_stop DIR PORT
redis_stop() {
    local dir=$1 port=$2 redis_pid
    redis_pid=$(cat "$dir/redis.pid" 2>/dev/null)
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1
    wait_gone "$redis_pid" 10 || kill -KILL "$redis_pid" 2>/dev/null
    wait_gone "$redis_pid" 5
}
