#!/usr/bin/env bash
# test/bench/cluster.sh: the cluster benchmark (run by hand, not part of
# the test suite; README, "Performance", "A cluster").  Builds and installs
# ps, starts three servers on loopback ports and prints one table:
#
#   - push and pull keys/s of WORKERS (default 4) workers through the
#     client library with 1, 2 and 3 servers (test/bench/ps_bench_cluster.c:
#     each worker pushes the same KEYS keys a clock, ITERS clocks, then
#     pulls them ITERS times);
#   - on 3 servers with 1 replica: the same pushes with no replicas,
#     asynchronous and synchronous replication, the ratio of each to no
#     replicas (target: synchronous at least half), the bytes replicated
#     (ps_replication_stats) against the bytes the clients pushed
#     (ps_client_traffic), next to k/n, and the asynchronous replicas' lag;
#   - recovery: three clients push (test/client/ps_failover_test.c), one
#     server is killed (SIGKILL), and the time from the kill to each
#     client's first push that succeeded at the new owner;
#   - ps_train on brown (if ../shared/data or PS_DATA has it): one server,
#     three, and three with one killed midway (KILL_AFTER seconds).
#
# The workers run under sequential consistency with ps.gather_window =
# 50 ms, so that the scheduler aggregates the workers' pushes of a clock
# (replication after aggregation replicates the aggregate).  Every server
# and every client share the machine's 2 cores: more servers add no CPU.
source "$(dirname "$0")/../lib.sh"

install_packages
build_and_install

WORKERS=${WORKERS:-4}
ITERS=${ITERS:-100}
KEYS=${KEYS:-10000}
DIR=$(scratch_dir ps-bench-cluster)
PORT=${PS_BENCH_PORT:-54360}
trap 'for d in "$DIR"/n* "$DIR"/b*; do [ -d "$d" ] && stop_node "$d"; done' EXIT

gcc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -o "$DIR/ps_bench_cluster" \
	"$PS_ROOT/test/bench/ps_bench_cluster.c" $(pkg-config --cflags --libs ps-client) -lpq
gcc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -o "$DIR/ps_failover_test" \
	"$PS_ROOT/test/client/ps_failover_test.c" $(pkg-config --cflags --libs ps-client) -lpq

for i in 1 2 3; do
	start_node "$DIR/n$i" $((PORT + i - 1)) "ps.gather_window = 50" "shared_buffers = 512MB"
done
q() { psql -X -q -At -h 127.0.0.1 -p $((PORT + $1 - 1)) -U postgres -d postgres -c "$2"; }
everywhere() { for i in 1 2 3; do q "$i" "$1" >/dev/null; done; }
everywhere "SELECT ps_configure('w', consistency => 'sequential')"
echo "== server: $(q 1 'SELECT version()')"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $WORKERS workers, $KEYS keys a push, $ITERS clocks"

# load: prints "push_keys_per_s pull_keys_per_s bytes_pushed", after a
# tenth of it unmeasured (a replicator, subscriptions and caches start)
warm() { "$DIR/ps_bench_cluster" "$(node_conninfo "$PORT")" w "$WORKERS" $((ITERS / 10 + 1)) "$KEYS" >/dev/null; }
load() { warm; "$DIR/ps_bench_cluster" "$(node_conninfo "$PORT")" w "$WORKERS" "$ITERS" "$KEYS"; }
run() { "$DIR/ps_bench_cluster" "$(node_conninfo "$PORT")" w "$WORKERS" "$ITERS" "$KEYS"; }
repl_bytes() {
	local s=0 b
	for i in 1 2 3; do
		b=$(q "$i" 'SELECT coalesce(sum(bytes), 0) FROM ps_replication_stats()')
		s=$((s + b))
	done
	echo "$s"
}

printf '\n%-44s %14s %14s\n' "case" "push keys/s" "pull keys/s"
read -r p1 l1 _ < <(load)
printf '%-44s %14s %14s\n' "1 server" "$p1" "$l1"
everywhere 'TRUNCATE w'
q 1 "SELECT ps_cluster_add('$(node_conninfo "$PORT")')" >/dev/null
q 1 "SELECT ps_cluster_add('$(node_conninfo $((PORT + 1)))')" >/dev/null
read -r p2 l2 _ < <(load)
printf '%-44s %14s %14s\n' "2 servers" "$p2" "$l2"
everywhere 'TRUNCATE w'
q 1 "SELECT ps_cluster_add('$(node_conninfo $((PORT + 2)))')" >/dev/null
read -r p3 l3 b0 < <(load)
printf '%-44s %14s %14s\n' "3 servers, no replicas" "$p3" "$l3"

# one replica in MODE: prints "push_keys_per_s pull_keys_per_s bytes_pushed bytes_replicated"
replicated() {
	local r0 p l b
	everywhere 'TRUNCATE w'
	q 1 "SELECT ps_cluster_configure(replicas => 1, replication => '$1')" >/dev/null
	warm
	r0=$(repl_bytes)
	read -r p l b < <(run)
	echo "$p $l $b $(($(repl_bytes) - r0))"
}
read -r pa la ba ra < <(replicated asynchronous)
lag=$(q 1 "SELECT coalesce(max(extract(epoch FROM lag) * 1000)::int, 0) FROM ps_replication() WHERE role = 'replica'")
printf '%-44s %14s %14s\n' "3 servers, 1 replica, asynchronous" "$pa" "$la"
read -r ps ls bs rs < <(replicated synchronous)
printf '%-44s %14s %14s\n' "3 servers, 1 replica, synchronous" "$ps" "$ls"

echo
awk -v n="$p3" -v a="$pa" -v s="$ps" 'BEGIN {
	printf "push throughput against no replicas: asynchronous %.2fx, synchronous %.2fx (target: synchronous >= 0.5x)\n", a / n, s / n }'
awk -v ra="$ra" -v ba="$ba" -v rs="$rs" -v bs="$bs" -v w="$WORKERS" 'BEGIN {
	printf "bytes replicated / bytes pushed: asynchronous %d / %d = %.3f, synchronous %d / %d = %.3f (k/n = 1/%d = %.3f)\n",
		ra, ba, ra / ba, rs, bs, rs / bs, w, 1 / w }'
echo "asynchronous: the replicas' lag at the last row applied: ${lag} ms"

# recovery after a kill: 3 clients through the 3 servers, node 3 killed
everywhere 'TRUNCATE w'
for i in 1 2 3; do
	"$DIR/ps_failover_test" "$(node_conninfo $((PORT + i - 1)))" w "$i" 300 60 10 >"$DIR/fail$i.out" &
done
sleep 1.5
killed=$(date +%s.%N)
kill -9 "$(as_root head -1 "$DIR/n3/data/postmaster.pid")"
wait
for i in 1 2 3; do
	awk -v k="$killed" -v c="$i" '/^ok/ && $3 > k && !done { printf "recovery: client %d (through node %d): first push after the kill succeeded %.0f ms after it\n", c, c, ($4 - k) * 1000; done = 1 }
		/^# done/ { printf "           client %d: %s pushes succeeded, %s failed\n", c, $3, $4 }' "$DIR/fail$i.out"
done
q 1 'SELECT failovers, last_detect_ms, last_failover_ms FROM ps_cluster_monitor()' |
	awk -F'|' '$1 > 0 { printf "monitor of node 1: detected after %s ms, ring and replication changed %s ms later\n", $2, $3 }'
q 2 'SELECT failovers, last_detect_ms, last_failover_ms FROM ps_cluster_monitor()' |
	awk -F'|' '$1 > 0 { printf "monitor of node 2: detected after %s ms, ring and replication changed %s ms later\n", $2, $3 }'
want=$((300 * 6))
bad=$( (q 1 'SELECT key, val FROM w WHERE ps_key_node(key) = ps_node_id()'; q 2 'SELECT key, val FROM w WHERE ps_key_node(key) = ps_node_id()') |
	awk -F'|' -v w="$want" '$2 != w { n++ } END { print n + 0 }')
echo "keys not holding exactly $want after the kill: $bad"

# ps_train on brown (../shared/data, or PS_DATA): L2, lambda 1, the batch
# method, 2 workers; on one server, on three with one synchronous replica,
# and on three with node 3 killed midway (fresh servers for each)
DATA=${PS_DATA:-$PS_ROOT/../shared/data}
if [ -f "$DATA/brown.train.svm" ]; then
	for d in "$DIR"/n*; do stop_node "$d"; done
	train() {
		ps_train --server "$(node_conninfo "$1")" --table brown --reset --train "$DATA/brown.train.svm" \
			--test "$DATA/brown.test.svm" --workers 2 --reg l2 --lambda 1 2>>"$DIR/train.err" | tail -1
	}
	field() { sed -n "s/.*\"$1\": \\([^,}]*\\).*/\\1/p"; }
	report() {
		local json=$1 what=$2
		printf '%-44s objective %s, test accuracy %s, %s s\n' "$what" "$(field objective <<<"$json")" \
			"$(field test_accuracy <<<"$json")" "$(field seconds <<<"$json")"
		# a run that gave no result says why
		[ -n "$json" ] || echo "    ps_train failed: $(grep -v '^ps_train: table' "$DIR/train.err" | tail -1)"
	}
	base=$((PORT + 10))
	start_node "$DIR/b0" "$base" >/dev/null
	echo
	echo "ps_train on brown (L2, lambda 1, batch method, 2 workers; liblinear's optimum 6193.686)"
	report "$(train "$base")" "1 server"
	stop_node "$DIR/b0"
	for round in 1 2; do
		ports=()
		for i in 1 2 3; do
			p=$((base + 10 * round + i))
			start_node "$DIR/b$round$i" "$p" >/dev/null
			ports+=("$p")
		done
		q0() { psql -X -q -At -h 127.0.0.1 -p "${ports[0]}" -U postgres -d postgres -c "$1"; }
		for p in "${ports[@]}"; do
			q0 "SELECT ps_cluster_add('$(node_conninfo "$p")')" >/dev/null
		done
		q0 "SELECT ps_cluster_configure(replicas => 1, replication => 'synchronous')" >/dev/null
		if [ "$round" = 1 ]; then
			report "$(train "${ports[0]}")" "3 servers, 1 synchronous replica"
		else
			train "${ports[0]}" >"$DIR/brown_kill.out" &
			trainer=$!
			sleep "${KILL_AFTER:-8}"
			kill -9 "$(as_root head -1 "$DIR/b${round}3/data/postmaster.pid")"
			wait "$trainer" || true
			report "$(cat "$DIR/brown_kill.out")" "3 servers, node 3 killed after ${KILL_AFTER:-8} s"
		fi
		for i in 1 2 3; do stop_node "$DIR/b$round$i"; done
	done
fi
