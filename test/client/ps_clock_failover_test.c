/*
 * ps_clock_failover_test.c
 *	  A worker's clock across a failover, run by
 *	  test/t/035_clock_failover.pl:
 *	  ps_clock_failover_test TABLE KA K1 K2 CONN_A CONN_1 CONN_2.
 *
 * Three nodes hold TABLE under sequential consistency with one
 * synchronous replica; node A (CONN_A) holds key KA, the
 * other two nodes K1 and K2.  Workers W0 (through node 1) and W1 (a child
 * process, through node 2) join.  W0 pushes 1 to KA at clock 1 and waits.
 * Then a session of this program locks TABLE on node A, so that W1's push
 * of 1 to KA at clock 1 waits there, unanswered; W1 then asks for a pull
 * of KA, K1 and K2 at clock 2 and tells W0 that the call returned, without
 * waiting for anything.  This program prints "# kill" and waits for a
 * line on stdin, while the test kills node A.  W0's pull of KA (and K1,
 * K2) at clock 2 goes to KA's new server, and must read 2: W1's pull (a call for clock
 * 2, which says W1 is done with clock 1) may reach a node only once W1's
 * push of clock 1 was answered, here sent again to the new server after
 * the failover.  Had the pull gone out at once, the new server would have
 * counted W1 done and answered 1.  Prints TAP lines; exits 0 if every
 * check passed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <ps_client.h>

#include "ps_test_tap.h"

static void
pause_ms(long ms)
{
	struct timespec p = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&p, NULL);
}

/* W1, in the child: 0 if all went as planned.  go: from W0; told: to it */
static int
worker1(const char *table, int64_t ka, int64_t k1, int64_t k2,
		const char *conninfo, int go, int told)
{
	PsClient   *c;
	char	   *err = NULL,
				b;
	int64_t		clock = 0,
				keys[3],
				push,
				pull;
	float		one = 1,
				got[3];
	PsTaskOptions opt = {0};

	c = ps_client_connect(conninfo, &err);
	if (c == NULL || (opt.worker = ps_client_join(c, table, &clock)) <= 0)
		return 1;
	if (write(told, "j", 1) != 1 || read(go, &b, 1) != 1)
		return 1;
	opt.clock = 1;
	push = ps_client_push(c, table, &ka, 1, &one, &opt);
	if (push <= 0)
		return 1;
	pause_ms(300);				/* the push reaches node A and waits there */
	keys[0] = ka;
	keys[1] = k1;
	keys[2] = k2;
	opt.clock = 2;
	pull = ps_client_pull(c, table, keys, 3, got, &opt);
	if (pull <= 0 || write(told, "p", 1) != 1)
		return 1;
	/* W0 reads before this worker waits for anything */
	if (read(go, &b, 1) != 1)
		return 1;
	if (ps_client_wait(c, push) != 0 || ps_client_wait(c, pull) != 0)
		return 1;
	ps_client_close(c);
	return got[0] == 2 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *table;
	int64_t		ka,
				k1,
				k2,
				keys[3],
				clock = 0,
				ts;
	pid_t		child;
	int			to_child[2],
				from_child[2],
				status = 0;
	char		b = 0,
				sql[256],
				line[64];
	PsClient   *c;
	PGconn	   *lock;
	PGresult   *res;
	char	   *err = NULL;
	float		one = 1,
				got[3] = {-1, -1, -1};
	PsTaskOptions opt = {0};

	if (argc != 8)
	{
		fprintf(stderr, "usage: %s TABLE KA K1 K2 CONN_A CONN_1 CONN_2\n", argv[0]);
		return 2;
	}
	table = argv[1];
	ka = strtoll(argv[2], NULL, 10);
	k1 = strtoll(argv[3], NULL, 10);
	k2 = strtoll(argv[4], NULL, 10);
	if (pipe(to_child) != 0 || pipe(from_child) != 0)
		return 2;
	fflush(stdout);
	child = fork();
	if (child == 0)
	{
		close(to_child[1]);
		close(from_child[0]);
		_exit(worker1(table, ka, k1, k2, argv[7], to_child[0], from_child[1]));
	}
	close(to_child[0]);
	close(from_child[1]);

	c = ps_client_connect(argv[6], &err);
	check(c != NULL, "W0 connects through node 1", NULL);
	if (c == NULL)
		return 1;
	opt.worker = ps_client_join(c, table, &clock);
	check(opt.worker > 0 && read(from_child[0], &b, 1) == 1 && b == 'j',
		  "W0 and W1 join the cluster", c);
	opt.clock = 1;
	ts = ps_client_push(c, table, &ka, 1, &one, &opt);
	check(ts > 0 && ps_client_wait(c, ts) == 0, "W0 pushes 1 to KA at clock 1", c);

	lock = PQconnectdb(argv[5]);
	snprintf(sql, sizeof(sql), "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", table);
	res = PQexec(lock, sql);
	check(PQresultStatus(res) == PGRES_COMMAND_OK, "a session locks the table on node A", NULL);
	PQclear(res);
	check(write(to_child[1], "g", 1) == 1, "W1 is told to push", NULL);
	pause_ms(1000);				/* W1's push waits at node A */
	printf("# kill\n");
	fflush(stdout);
	check(fgets(line, sizeof(line), stdin) != NULL, "node A is killed", NULL);
	PQfinish(lock);
	check(read(from_child[0], &b, 1) == 1 && b == 'p',
		  "W1's call of a pull for clock 2 returned", NULL);

	/* on every live node, so that W1's pull is not held there for W0 */
	keys[0] = ka;
	keys[1] = k1;
	keys[2] = k2;
	opt.clock = 2;
	ts = ps_client_pull(c, table, keys, 3, got, &opt);
	check(ts > 0 && ps_client_wait(c, ts) == 0, "W0's pull of KA, K1, K2 at clock 2 is answered", c);
	check(got[0] == 2, "it reads both workers' pushes of clock 1 to KA (2)", c);
	if (got[0] != 2)
		printf("# W0 read %g\n", got[0]);
	check(write(to_child[1], "d", 1) == 1 && waitpid(child, &status, 0) == child &&
		  WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "W1's push and pull finish, and its pull read 2 too", NULL);
	ps_client_close(c);
	return nfailed > 0;
}
