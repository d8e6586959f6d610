#!/usr/bin/env bash
# test/cluster.sh: a cluster of ps servers on loopback ports, for trying
# it (README, "Running a cluster").
#
#   bash test/cluster.sh start [NODES] [REPLICAS] [MODE]
#       builds and installs ps (PS_NO_BUILD=1 skips that), starts NODES
#       servers (default 3) on 127.0.0.1, ports 54350, 54351, ... (PS_PORT
#       changes the first), each with extension ps and a ps table w in
#       database postgres, makes them one cluster, and configures REPLICAS
#       (default 1) in MODE (synchronous, the default, or asynchronous);
#       prints where they are.
#   bash test/cluster.sh stop DIR
#       stops the servers started in DIR and removes it.
source "$(dirname "$0")/lib.sh"

case "${1:-}" in
start)
	NODES=${2:-3}
	REPLICAS=${3:-1}
	MODE=${4:-synchronous}
	PORT=${PS_PORT:-54350}
	install_packages
	[ "${PS_NO_BUILD:-0}" = 1 ] || build_and_install
	DIR=$(scratch_dir ps-cluster)
	for i in $(seq 1 "$NODES"); do
		start_node "$DIR/n$i" $((PORT + i - 1))
	done
	for i in $(seq 1 "$NODES"); do
		psql -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
			-c "SELECT ps_cluster_add('$(node_conninfo $((PORT + i - 1)))')" >/dev/null
	done
	if [ "$REPLICAS" -gt 0 ]; then
		psql -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
			-c "SELECT ps_cluster_configure(replicas => $REPLICAS, replication => '$MODE')" >/dev/null
	fi
	echo "== a cluster of $NODES servers in $DIR, $REPLICAS replica(s), $MODE"
	psql -X -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
		-c 'SELECT node, host, port, state, round(share::numeric, 3) AS share FROM ps_cluster_nodes()'
	echo "connect:  psql -h 127.0.0.1 -p $PORT -U postgres postgres   (any node: ports $PORT .. $((PORT + NODES - 1)))"
	echo "clients:  ps_client_connect(\"$(node_conninfo "$PORT")\", &err)"
	echo "stop:     bash $0 stop $DIR"
	;;
stop)
	DIR=${2:?usage: $0 stop DIR}
	for d in "$DIR"/n*; do
		[ -d "$d" ] && stop_node "$d"
	done
	as_root rm -rf "$DIR"
	;;
*)
	echo "usage: $0 start [NODES] [REPLICAS] [MODE] | stop DIR" >&2
	exit 2
	;;
esac
