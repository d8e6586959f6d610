#!/usr/bin/env bash
# test/check.sh: run every test of ps on this machine (Debian 12, as root or
# with sudo): install packages, build and install the extension, start a
# scratch PostgreSQL 15 server with ps preloaded, and run the regression
# tests (sql/, expected/) and the TAP tests (test/t/: crash recovery,
# streaming standby, concurrency, pg_dump round trip, ...) through
# `make installcheck` (clang-14 and its sanitizer runtimes for the fuzz
# test, psycopg and numpy for the Python test, and xz-utils for the spam
# set of test/data, as well).  Exits
# non-zero if anything fails.
source "$(dirname "$0")/lib.sh"

install_packages clang-14 libclang-rt-14-dev python3-psycopg python3-numpy xz-utils
build_and_install

TESTDIR=$(scratch_dir ps-check)
PORT=${PS_TEST_PORT:-54329}

cleanup() {
	stop_cluster "$TESTDIR"
	# a TAP test cut short by the time limit leaves its clusters running
	for pid in "$PS_BUILD"/tmp_check/t_*_data/pgdata/postmaster.pid; do
		[ -f "$pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$(dirname "$pid")" \
			-m immediate -w stop >/dev/null 2>&1
	done
	true
}
trap cleanup EXIT

start_cluster "$TESTDIR" "$PORT"
echo "== running tests (server log: $TESTDIR/server.log)"
status=0
as_postgres env PGHOST="$TESTDIR" PGPORT="$PORT" PGUSER=postgres \
	PG_TEST_TIMEOUT_DEFAULT=60 \
	timeout -k 30 ${PS_TEST_TIME_LIMIT:-1500} \
	make -C "$PS_BUILD" installcheck || status=$?
[ $status -eq 124 ] && echo "== the tests did not finish in ${PS_TEST_TIME_LIMIT:-1500} s"
if [ $status -ne 0 ]; then
	for f in "$PS_BUILD"/regression.diffs "$PS_BUILD"/output_iso/regression.diffs; do
		[ -f "$f" ] && { echo "== $f"; cat "$f"; }
	done
	for f in "$PS_BUILD"/tmp_check/log/regress_log_*; do
		[ -f "$f" ] && { echo "== tail of $f"; tail -n 60 "$f"; }
	done
	echo "== FAILED"
	exit $status
fi
echo "== all tests passed"
