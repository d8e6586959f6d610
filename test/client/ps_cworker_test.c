/*
 * ps_cworker_test.c
 *	  Workers across the servers of a cluster through the client library,
 *	  run by test/t/030_cluster_workers.pl:
 *	  ps_cworker_test TABLE K1 K3 CONN1 CONN2 CONN3 CONN4.
 *
 * Nodes 1 to 3 (CONN1..3) are a cluster and node 4 a server on its own;
 * the table is under sequential consistency on every node, with
 * ps.worker_timeout = 3 s; K1 is a key node 1 holds, K3 one node 3 holds.
 * The checks read each node's ps_workers over libpq of their own.
 *
 * On node 4 alone: a worker joins, pushes and leaves, as with ps_join.
 * In the cluster: workers A and B join through two clients and are on
 * every node at the same clock.  A pushes only K1 (node 1) and still moves
 * its clock on nodes 2 and 3 (its pushes reach every node, empty where it
 * has no keys); so B's pull of K3 passes on node 3; B's pull of K1 waits
 * on node 1 until A pushes K3 (an empty push to node 1) and then reads
 * exactly A's pushes; a pull for a clock A has not reached times out; A
 * goes silent while B's empty pushes keep B alive everywhere: A is
 * dropped on every node, B's pull passes, A's push fails; B leaves every
 * node.  Then worker C joins and pushes a range over every node; it prints
 * "# ready" and waits for a line on stdin, while the test adds node 4 to
 * the ring; C's next pushes are refused in part (its ring is old), sent
 * again, and C joins node 4 on the way, at its clock; then every node has
 * C at the same clock, the values are exact, and C leaves all four.
 * Prints one TAP line per check; exits 0 if every check passed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <ps_client.h>

#include "ps_test_tap.h"

#define RANGE_N (4096 * 64)		/* 64 blocks: some on every node */

static const char *table;
static const char *conns[4];
static float range_vals[RANGE_N];
static float range_out[RANGE_N];

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The first value of sql on node i (0-based), as a new string ("" if none). */
static char *
node_value(int i, const char *sql)
{
	PGconn	   *conn = PQconnectdb(conns[i]);
	PGresult   *res;
	const char *params[1] = {table};
	char	   *v;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		printf("# node %d: %s", i + 1, PQerrorMessage(conn));
		PQfinish(conn);
		return strdup("(no connection)");
	}
	res = PQexecParams(conn, sql, strstr(sql, "$1") ? 1 : 0, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		printf("# node %d: %s", i + 1, PQresultErrorMessage(res));
		v = strdup("(error)");
	}
	else
		v = strdup(PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	PQfinish(conn);
	return v;
}

/* Does sql give want on nodes first .. last (0-based)?  Prints what differs. */
static int
nodes_say(int first, int last, const char *sql, const char *want)
{
	int			ok = 1,
				i;

	for (i = first; i <= last; i++)
	{
		char	   *got = node_value(i, sql);

		if (strcmp(got, want) != 0)
		{
			printf("# node %d says \"%s\", not \"%s\"\n", i + 1, got, want);
			ok = 0;
		}
		free(got);
	}
	return ok;
}

/* Do nodes first .. last list the table's workers as want, "id:state:clock ..."? */
static int
workers_are(int first, int last, const char *want)
{
	return nodes_say(first, last,
					 "SELECT string_agg(worker || ':' || state || ':' || clock, ' ' ORDER BY worker)"
					 " FROM ps_workers($1::regclass)", want);
}

static PsClient *
connect_or_die(const char *conninfo)
{
	char	   *err = NULL;
	PsClient   *c = ps_client_connect(conninfo, &err);

	if (c == NULL)
	{
		printf("Bail out! %s\n", err ? err : "no client");
		exit(1);
	}
	return c;
}

/* A worker's push of one key, waited for. */
static int
push_key(PsClient *c, int worker, int64_t clock, int64_t key, float val)
{
	PsTaskOptions o = {0};
	int64_t		t;

	o.worker = worker;
	o.clock = clock;
	t = ps_client_push(c, table, &key, 1, &val, &o);
	return t > 0 && ps_client_wait(c, t) == 0;
}

/* A worker's pull of one key, sent (not waited for). */
static int64_t
send_pull(PsClient *c, int worker, int64_t clock, int64_t key, float *out)
{
	PsTaskOptions o = {0};

	o.worker = worker;
	o.clock = clock;
	return ps_client_pull(c, table, &key, 1, out, &o);
}

/* A worker's push of the range 0 .. RANGE_N - 1, all ones, waited for. */
static int
push_range(PsClient *c, int worker, int64_t clock)
{
	PsTaskOptions o = {0};
	int64_t		t;

	o.worker = worker;
	o.clock = clock;
	t = ps_client_push_range(c, table, 0, RANGE_N, range_vals, &o);
	return t > 0 && ps_client_wait(c, t) == 0;
}

/* Does a backend of node i wait (a pull held back by a worker's clock)? */
static int
pull_waits_on(int i)
{
	int			tries;

	for (tries = 0; tries < 100; tries++)
	{
		char	   *n = node_value(i, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'Extension'"
								   " AND backend_type = 'client backend'");
		int			waiting = atoi(n);

		free(n);
		if (waiting > 0)
			return 1;
		sleep_ms(50);
	}
	return 0;
}

/* A server on its own: join, push, leave, as ps_join does. */
static void
one_server(void)
{
	PsClient   *c = connect_or_die(conns[3]);
	int64_t		clock = -1;
	int			id = ps_client_join(c, table, &clock);

	check(id == 1 && clock == 0, "a worker joins a server on its own through the client: id 1 at clock 0", c);
	check(push_key(c, id, 3, 5, 1.0f), "it pushes for clock 3", c);
	check(workers_are(3, 3, "1:active:2"), "the server lists it at clock 2", NULL);
	check(ps_client_leave(c, table, id) == 0 && workers_are(3, 3, "1:left:2"),
		  "it leaves: the server lists it as left", c);
	check(!push_key(c, id, 4, 5, 1.0f) && strcmp(ps_client_sqlstate(c), "55000") == 0,
		  "a push of the worker that left fails", c);
	ps_client_close(c);
}

int
main(int argc, char **argv)
{
	PsClient   *a,
			   *b,
			   *cc;
	char		slow[1024];
	int64_t		k1,
				k3,
				clock,
				t;
	int			wa,
				wb,
				wc,
				ok,
				i;
	float		v = 0;
	char		line[64];

	if (argc != 8)
	{
		fprintf(stderr, "usage: ps_cworker_test TABLE K1 K3 CONN1 CONN2 CONN3 CONN4\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	table = argv[1];
	k1 = strtoll(argv[2], NULL, 10);
	k3 = strtoll(argv[3], NULL, 10);
	for (i = 0; i < 4; i++)
		conns[i] = argv[4 + i];
	for (i = 0; i < RANGE_N; i++)
		range_vals[i] = 1.0f;

	one_server();

	/* B's pulls wait at most 1 s, well below ps.worker_timeout */
	snprintf(slow, sizeof(slow), "%s options='-c ps.wait_timeout=1000'", conns[1]);
	a = connect_or_die(conns[0]);
	b = connect_or_die(slow);
	wa = ps_client_join(a, table, &clock);
	check(wa == 1 && clock == 0, "worker A joins the cluster through node 1: id 1 at clock 0", a);
	wb = ps_client_join(b, table, &clock);
	check(wb == 2 && clock == 0, "worker B joins through node 2: id 2 at clock 0", b);
	check(workers_are(0, 2, "1:active:0 2:active:0"),
		  "both are on every node, at clock 0", NULL);
	check(!push_key(b, wa, 1, k1, 1.0f) && strcmp(ps_client_sqlstate(b), "42704") == 0,
		  "a task of a worker that joined through another client fails, unsent", b);

	ok = 1;
	for (clock = 1; clock <= 4; clock++)
		ok &= push_key(a, wa, clock, k1, 1.0f);
	check(ok, "A pushes K1 (node 1) for clocks 1 to 4", a);
	check(workers_are(0, 2, "1:active:3 2:active:0"),
		  "A is at clock 3 on every node, also where it pushed no key", NULL);

	ok = 1;
	for (clock = 1; clock <= 4; clock++)
		ok &= push_key(b, wb, clock, k3, 1.0f);
	t = send_pull(b, wb, 4, k3, &v);
	check(ok && t > 0 && ps_client_wait(b, t) == 0 && v == 4.0f,
		  "B pushes K3 (node 3) for clocks 1 to 4 and its pull for clock 4 passes there: 4", b);

	t = send_pull(b, wb, 5, k1, &v);
	check(t > 0 && pull_waits_on(0),
		  "B's pull of K1 for clock 5 waits on node 1 for A", b);
	check(push_key(a, wa, 5, k3, 10.0f), "A pushes K3 (node 3) for clock 5", a);
	check(ps_client_wait(b, t) == 0 && v == 4.0f,
		  "B's pull passes, with exactly A's pushes to K1: 4", b);

	t = send_pull(b, wb, 6, k3, &v);
	check(t > 0 && ps_client_wait(b, t) == -1 && strcmp(ps_client_sqlstate(b), "55P03") == 0,
		  "B's pull for clock 6 times out: A is at clock 4 on node 3", b);

	/* A goes silent; B's empty pushes keep it alive on every node */
	ok = 1;
	for (i = 0; i < 9; i++)
	{
		PsTaskOptions o = {0};

		o.worker = wb;
		o.clock = 6;
		t = ps_client_push(b, table, NULL, 0, NULL, &o);
		ok &= t > 0 && ps_client_wait(b, t) == 0;
		sleep_ms(500);
	}
	check(ok, "B pushes no keys for clock 6, every 0.5 s for 4.5 s", b);
	t = send_pull(b, wb, 7, k3, &v);
	check(t > 0 && ps_client_wait(b, t) == 0 && v == 14.0f,
		  "A, silent for more than ps.worker_timeout, no longer holds back B's pull for clock 7: 14", b);
	check(workers_are(0, 1, "1:dropped:4 2:active:5") && workers_are(2, 2, "1:dropped:4 2:active:6"),
		  "A is dropped on every node; B is alive on every node", NULL);
	check(!push_key(a, wa, 8, k1, 1.0f) && strcmp(ps_client_sqlstate(a), "55000") == 0,
		  "a push of the dropped worker A fails", a);
	check(ps_client_leave(b, table, wb) == 0 &&
		  workers_are(0, 1, "1:dropped:4 2:left:5") && workers_are(2, 2, "1:dropped:4 2:left:6"),
		  "B leaves: it has left every node", b);
	check(ps_client_leave(b, table, wb) == -1 && strcmp(ps_client_sqlstate(b), "42704") == 0,
		  "leaving twice fails", b);

	/* worker C, then the ring moves under it */
	cc = connect_or_die(conns[1]);
	wc = ps_client_join(cc, table, &clock);
	check(wc == 3 && clock == 0, "worker C joins through node 2: id 3 at clock 0", cc);
	check(push_range(cc, wc, 1) && push_range(cc, wc, 2),
		  "C pushes a range over every node for clocks 1 and 2", cc);
	printf("# ready\n");
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	check(push_range(cc, wc, 3) && push_range(cc, wc, 4),
		  "with node 4 on the ring, C's pushes for clocks 3 and 4 go through its old ring", cc);
	check(nodes_say(0, 3, "SELECT string_agg(clock::text, ' ') FROM ps_workers($1::regclass)"
					" WHERE state = 'active'", "3"),
		  "C is at clock 3 on all four nodes: it joined node 4 on the way", NULL);
	t = ps_client_pull_range(cc, table, 0, RANGE_N, range_out, NULL);
	ok = t > 0 && ps_client_wait(cc, t) == 0;
	for (i = 0; ok && i < RANGE_N; i++)
		ok = range_out[i] == 2.0f;
	check(ok, "every key of the range holds exactly C's two pushes since", cc);
	check(ps_client_leave(cc, table, wc) == 0, "C leaves", cc);
	check(nodes_say(0, 3, "SELECT count(*) FILTER (WHERE state = 'active') || '/' ||"
					" count(*) FILTER (WHERE state = 'left' AND clock = 3)"
					" FROM ps_workers($1::regclass)", "0/1"),
		  "C has left all four nodes (none active, one left at clock 3)", NULL);

	ps_client_close(a);
	ps_client_close(b);
	ps_client_close(cc);
	printf("1..%d\n", ntests);
	return nfailed == 0 ? 0 : 1;
}
