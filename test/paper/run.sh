#!/usr/bin/env bash
# test/paper/run.sh: the paper's experiments (section 5: bounded delay,
# Figures 11-13, and the traffic savings), reproduced on the brown set
# with ps_train against a dedicated local server, run by hand (about 15
# minutes; not part of the test suite).  It writes, beside itself:
#
#   tau.tsv, tau.md   for 2 and 4 workers and max delay tau in {0, 1, 2,
#                     4, 8, 16}: the time to reach a fixed objective, the
#                     epochs it took, and the workers' idle share (their
#                     time in pulls: the consistency model's waits and the
#                     pulls themselves); eventual consistency (no waits
#                     at all) as the reference
#   tau.png           the same as a gnuplot chart (gnuplot-nox)
#   traffic.md        bytes pushed and pulled over a fixed number of epochs
#                     without and with key caching, compression and the
#                     KKT filter, and the objective each reached
#
# The method is ps_train --method ftrl (minibatch FTRL, L1, lambda 1),
# whose workers pull at their clock under bounded delay; the batch method
# runs in lockstep, where tau changes nothing.  Settings (environment):
# PS_DATA (default ../shared/data beside the tree), TARGET (the objective
# to reach, default 14000), EPOCHS (at most, default 10), BATCH (default
# 20), REPS (runs of each tau, the median kept: 5), TRAFFIC_EPOCHS (5), TRAFFIC_BATCH (1000), PS_PAPER_PORT (54331),
# PS_NO_BUILD=1 to use the ps already installed.
source "$(dirname "$0")/../lib.sh"

DATA=${PS_DATA:-$PS_ROOT/../shared/data}
OUT=$PS_ROOT/test/paper
TARGET=${TARGET:-14000}
EPOCHS=${EPOCHS:-10}
BATCH=${BATCH:-20}
REPS=${REPS:-5}
TRAFFIC_EPOCHS=${TRAFFIC_EPOCHS:-5}
TRAFFIC_BATCH=${TRAFFIC_BATCH:-1000}
for f in brown.train.svm brown.test.svm; do
	[ -r "$DATA/$f" ] || { echo "test/paper/run.sh: $DATA/$f is not readable (set PS_DATA)" >&2; exit 1; }
done

install_packages gnuplot-nox
[ -n "${PS_NO_BUILD:-}" ] || build_and_install

DIR=$(scratch_dir ps-paper)
PORT=${PS_PAPER_PORT:-54331}
trap 'stop_cluster "$DIR"' EXIT
start_cluster "$DIR" "$PORT" "shared_buffers = 1GB" "max_wal_size = 8GB"
SERVER="host=$DIR port=$PORT user=postgres dbname=postgres"
psql -X -q -h "$DIR" -p "$PORT" -U postgres -d postgres -c 'CREATE EXTENSION ps'
echo "== server: $(psql -X -At -h "$DIR" -p "$PORT" -U postgres -c 'SELECT version()')"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"

# one ps_train run; prints "seconds read_seconds epochs objective wait
# pushed pulled filtered" from its output
train() {
	local conn=$1
	shift
	"$PG_BIN/ps_train" --server "$conn" --table brown_w --reset \
		--train "$DATA/brown.train.svm" --test "$DATA/brown.test.svm" \
		--method ftrl --reg l1 --lambda 1 "$@" > "$DIR/train.out"
	python3 - "$DIR/train.out" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
j = json.loads(text.strip().splitlines()[-1])
read = float(re.search(r"read in ([\d.]+) s", text).group(1))
print(j["seconds"], read, j["iterations"], j["objective"], j["wait_fraction"],
      j["bytes_pushed"], j["bytes_pulled"], j["filtered_keys"])
PY
}

echo "== time to objective $TARGET (brown, L1, lambda 1, FTRL, minibatches of $BATCH, at most $EPOCHS epochs)"
printf 'workers\ttau\tseconds\ttrain_seconds\tepochs\tobjective\treached\tidle\n' > "$OUT/tau.tsv"
for workers in 2 4; do
	for tau in 0 1 2 4 8 16 eventual; do
		if [ "$tau" = eventual ]; then
			consistency=(--consistency eventual)
		else
			consistency=(--consistency bounded --max-delay "$tau")
		fi
		# REPS runs; the one of median training time
		: > "$DIR/reps"
		for _ in $(seq "$REPS"); do
			read -r secs readsecs epochs obj wait _ < <(train "$SERVER" --workers "$workers" \
				"${consistency[@]}" --epochs "$EPOCHS" --batch "$BATCH" --target-objective "$TARGET")
			reached=$(python3 -c "print('yes' if $obj <= $TARGET else 'no')")
			tsecs=$(python3 -c "print(round($secs - $readsecs, 3))")
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workers" "$tau" "$secs" "$tsecs" "$epochs" \
				"$obj" "$reached" "$wait" >> "$DIR/reps"
		done
		sort -t "$(printf '\t')" -k4,4g "$DIR/reps" | sed -n "$(( (REPS + 1) / 2 ))p" | tee -a "$OUT/tau.tsv"
	done
done

python3 - "$OUT/tau.tsv" "$TARGET" "$BATCH" "$REPS" > "$OUT/tau.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("Time for `ps_train --method ftrl` (L1, lambda 1, minibatches of %s) to reach objective %s on brown"
      % (sys.argv[3], sys.argv[2]))
print("(`bash test/paper/run.sh`; the median of %s runs, by seconds after reading the files; idle: the workers' share"
      " of time in pulls, the consistency model's waits and the pulls themselves)." % sys.argv[4])
print()
print("| tau | 2 workers: seconds | epochs | idle | 4 workers: seconds | epochs | idle |")
print("|---|---|---|---|---|---|---|")
by = {(r["workers"], r["tau"]): r for r in rows}
for tau in ["0", "1", "2", "4", "8", "16", "eventual"]:
    cells = []
    for w in ["2", "4"]:
        r = by[(w, tau)]
        s = r["train_seconds"] if r["reached"] == "yes" else "not reached (%s)" % r["objective"]
        cells += [s, r["epochs"], "%.0f %%" % (100 * float(r["idle"]))]
    print("| %s | %s |" % (tau if tau != "eventual" else "eventual (no waits)", " | ".join(cells)))
PY
cat "$OUT/tau.md"

gnuplot <<GP
set terminal pngcairo size 900,420 font "sans,10"
set output "$OUT/tau.png"
set datafile separator "\t"
set multiplot layout 1,2 title "brown, L1, FTRL minibatches of $BATCH: bounded delay tau"
set xlabel "max delay tau (clocks)"
set logscale x 2
set xrange [0.5:32]
set xtics ("0" 0.7, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16)
set ylabel "seconds to objective $TARGET"
set key top right
plot "< awk -F'\t' 'NR>1 && \$2 ~ /^[0-9]+\$/ && \$1==2 {print (\$2==0?0.7:\$2) \"\t\" \$4}' $OUT/tau.tsv" using 1:2 with linespoints title "2 workers", \
     "< awk -F'\t' 'NR>1 && \$2 ~ /^[0-9]+\$/ && \$1==4 {print (\$2==0?0.7:\$2) \"\t\" \$4}' $OUT/tau.tsv" using 1:2 with linespoints title "4 workers"
set ylabel "workers' idle share (time in pulls)"
set yrange [0:1]
plot "< awk -F'\t' 'NR>1 && \$2 ~ /^[0-9]+\$/ && \$1==2 {print (\$2==0?0.7:\$2) \"\t\" \$8}' $OUT/tau.tsv" using 1:2 with linespoints title "2 workers", \
     "< awk -F'\t' 'NR>1 && \$2 ~ /^[0-9]+\$/ && \$1==4 {print (\$2==0?0.7:\$2) \"\t\" \$8}' $OUT/tau.tsv" using 1:2 with linespoints title "4 workers"
unset multiplot
GP
echo "== wrote $OUT/tau.tsv, $OUT/tau.md, $OUT/tau.png"

echo "== traffic: 2 workers, tau 8, $TRAFFIC_EPOCHS epochs of minibatches of $TRAFFIC_BATCH"
NOCACHE="$SERVER options='-c ps.key_cache_size=0'"
{
	echo "Bytes of ps_train --method ftrl on brown (L1, lambda 1, 2 workers, bounded delay 8,"
	echo "$TRAFFIC_EPOCHS epochs of minibatches of $TRAFFIC_BATCH; \`bash test/paper/run.sh\`): sent (pushes and pull"
	echo "requests) and received (pull answers), as the client library counts them."
	echo
	echo "| run | sent MB | received MB | total MB | total vs. none | keys filtered | objective |"
	echo "|---|---|---|---|---|---|---|"
} > "$OUT/traffic.md"
base=
for run in none cache cache+zstd cache+zstd+kkt; do
	conn=$SERVER
	flags=()
	case $run in
		none) conn=$NOCACHE ;;
		cache+zstd) flags=(--compress) ;;
		cache+zstd+kkt) flags=(--compress --kkt) ;;
	esac
	read -r _ _ _ obj _ pushed pulled filtered < <(train "$conn" --workers 2 \
		--consistency bounded --max-delay 8 --epochs "$TRAFFIC_EPOCHS" --batch "$TRAFFIC_BATCH" "${flags[@]}")
	total=$((pushed + pulled))
	[ -n "$base" ] || base=$total
	python3 -c "print('| %s | %.1f | %.1f | %.1f | %.2fx | %d | %s |' % ('$run', $pushed / 1e6, $pulled / 1e6, $total / 1e6, $base / $total, $filtered, '$obj'))" \
		| tee -a "$OUT/traffic.md"
done
echo "== wrote $OUT/traffic.md"
