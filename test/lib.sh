# test/lib.sh: shared steps of test/check.sh and test/demo.sh, sourced by
# both.  Installs the packages ps needs, builds and installs it from a
# scratch copy of the tree that the postgres user can read, and starts and
# stops PostgreSQL 15 clusters as the postgres user (initdb and pg_ctl
# refuse to run as root).
set -euo pipefail

PS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
	as_root runuser -u postgres -- "$@"
}

# Packages: PostgreSQL 15 server and headers, libpq, OpenBLAS, zstd, the TAP
# test modules, and a compiler.
install_packages() {
	local pkgs=(postgresql-15 postgresql-client-15 postgresql-server-dev-15
				libpq-dev libopenblas-dev libzstd-dev libipc-run-perl pkg-config make gcc gdb
				postgresql-15-cron
				"$@")
	local missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "== installing ${missing[*]}"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# Copy the tree into a fresh folder the postgres user owns, build and
# install it.  Sets PS_BUILD.
build_and_install() {
	PS_BUILD=$(scratch_dir ps-build)
	tar -C "$PS_ROOT" --exclude=.git -cf - . | tar -C "$PS_BUILD" -xf -
	as_root chown -R postgres: "$PS_BUILD"
	echo "== building ps in $PS_BUILD"
	as_postgres make -s -C "$PS_BUILD" clean >/dev/null
	as_postgres make -s -C "$PS_BUILD" 2>&1 | grep -v "^$" || true
	test -f "$PS_BUILD/ps.so"
	test -x "$PS_BUILD/src/tools/ps_train"
	as_root make -s -C "$PS_BUILD" install >/dev/null
}

# A fresh folder under /tmp that the postgres user owns; prints its path.
scratch_dir() {
	local dir
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$dir"
	as_root chown postgres: "$dir"
	echo "$dir"
}

# start_cluster DIR PORT [extra postgresql.conf lines...]
start_cluster() {
	local dir=$1 port=$2
	shift 2
	as_postgres "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
	{
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "shared_preload_libraries = 'ps'"
		printf '%s\n' "$@"
	} | as_root tee -a "$dir/data/postgresql.conf" >/dev/null
	as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

stop_cluster() {
	local dir=$1
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
	fi
}

# A node of a cluster on loopback: start_node DIR PORT [extra lines...]
# starts a server in DIR (created, owned by postgres) listening on
# 127.0.0.1:PORT with what a cluster with replicas needs, and creates
# extension ps and the ps table w (key bigint, val real) in postgres.
start_node() {
	local dir=$1 port=$2
	shift 2
	as_root mkdir -p "$dir"
	as_root chown postgres: "$dir"
	start_cluster "$dir" "$port" "listen_addresses = '127.0.0.1'" \
		"max_prepared_transactions = 10" "wal_level = logical" \
		"max_worker_processes = 16" "max_wal_senders = 10" \
		"max_replication_slots = 10" "wal_retrieve_retry_interval = 200ms" "$@"
	psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c 'CREATE EXTENSION ps' -c 'CREATE TABLE w (key bigint, val real) USING ps'
}

# The conninfo by which the nodes and clients reach the node at PORT.
node_conninfo() {
	echo "host=127.0.0.1 port=$1 dbname=postgres user=postgres"
}

# Stop a node of a cluster: fast, and if that does not finish within 10 s
# (a logical walsender waiting at shutdown for a subscriber that is gone),
# immediate.
stop_node() {
	local dir=$1
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -t 10 -w stop >/dev/null 2>&1 ||
			as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
}
