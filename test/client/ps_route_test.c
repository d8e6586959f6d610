/*
 * ps_route_test.c
 *	  The client library in a cluster, run by test/t/029_route.pl:
 *	  ps_route_test CONNINFO TABLE.
 *
 * Phase 1: one client, connected through one node, pushes listed keys
 * (in a shuffled order, some twice) and a range that crosses blocks of
 * every node, then pulls them back (listed in another order, with
 * repeats; the range in pieces); every value must be exact.  Two more
 * clients connect and pull once (they learn the ring).  Then it prints
 * "# ready" and waits for a line on stdin: meanwhile the test empties the
 * table everywhere and adds a node.
 * Phase 2: the two clients, whose ring is now stale, go on: the first
 * pulls first (answered by PS003, then sent again by the newer ring), the
 * second pushes first; then every value must be exact again.  Exits 0 if
 * every check passed; prints one TAP line per check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ps_client.h>

#include "ps_test_tap.h"

#define NKEYS 20000
#define KEY_STEP 409			/* listed keys 409, 818, ...: 2000 blocks */
#define RANGE_FIRST 100000000
#define RANGE_N 120000

static int64_t keys[NKEYS + 100];
static float vals[NKEYS + 100];
static float rvals[RANGE_N];
static float out[NKEYS + 100];
static float rout[RANGE_N];

/* keys KEY_STEP x (1 .. NKEYS) shuffled, then 100 of them again; value k % 13 + 1 each */
static void
make_keys(void)
{
	int			i;

	for (i = 0; i < NKEYS; i++)
		keys[i] = (int64_t) (i + 1) * KEY_STEP;
	for (i = NKEYS - 1; i > 0; i--)
	{
		int			j = (int) (test_rand() % (uint64_t) (i + 1));
		int64_t		t = keys[i];

		keys[i] = keys[j];
		keys[j] = t;
	}
	for (i = 0; i < 100; i++)
		keys[NKEYS + i] = keys[i];
	for (i = 0; i < NKEYS + 100; i++)
		vals[i] = (float) (keys[i] % 13 + 1);
	for (i = 0; i < RANGE_N; i++)
		rvals[i] = (float) ((RANGE_FIRST + i) % 7);
}

/* the expected value of key k after `times` rounds of pushes */
static float
expect(int64_t k, int times)
{
	return (float) (times * (k % 13 + 1));
}

static int
push_all(PsClient *c, const char *table)
{
	int64_t		a = ps_client_push(c, table, keys, NKEYS + 100, vals, NULL);
	int64_t		b = ps_client_push_range(c, table, RANGE_FIRST, RANGE_N, rvals, NULL);

	return a > 0 && b > a && ps_client_wait(c, b) == 0 && ps_client_wait(c, a) == 0;
}

/* pull everything back and compare: listed keys in reverse order, the range */
static int
pull_check(PsClient *c, const char *table, int rounds, int *twice_ok)
{
	static int64_t rkeys[NKEYS + 100];
	int			i,
				bad = 0;
	int64_t		a,
				b;

	for (i = 0; i < NKEYS + 100; i++)
		rkeys[i] = keys[NKEYS + 99 - i];
	memset(out, 0xff, sizeof(out));
	memset(rout, 0xff, sizeof(rout));
	a = ps_client_pull(c, table, rkeys, NKEYS + 100, out, NULL);
	b = ps_client_pull_range(c, table, RANGE_FIRST, RANGE_N, rout, NULL);
	if (a <= 0 || b <= 0 || ps_client_wait(c, b) != 0 || ps_client_wait(c, a) != 0)
		return 0;
	/* the first 100 keys of the list were pushed twice a round */
	for (i = 0; i < NKEYS + 100; i++)
	{
		int64_t		k = rkeys[i];
		int			twice = 0,
					j;

		for (j = 0; j < 100 && !twice; j++)
			twice = keys[j] == k;
		if (out[i] != expect(k, rounds * (twice ? 2 : 1)))
			bad++;
	}
	for (i = 0; i < RANGE_N; i++)
		if (rout[i] != (float) (rounds * ((RANGE_FIRST + i) % 7)))
			bad++;
	*twice_ok = bad == 0;
	return 1;
}

int
main(int argc, char **argv)
{
	char	   *err = NULL;
	PsClient   *c,
			   *c2,
			   *c3;
	const char *table;
	char		line[64];
	int			ok;
	float		one;
	int64_t		k1 = KEY_STEP;

	if (argc != 3)
	{
		fprintf(stderr, "usage: ps_route_test CONNINFO TABLE\n");
		return 2;
	}
	table = argv[2];
	make_keys();
	{
		double		sum = 0;
		int			i;

		for (i = 0; i < NKEYS + 100; i++)
			sum += vals[i];
		printf("# listed keys' values sum to %.0f a round\n", sum);
	}

	c = ps_client_connect(argv[1], &err);
	check(c != NULL, "connect through one node of the cluster", NULL);
	if (c == NULL)
	{
		printf("# %s\n", err);
		return 1;
	}
	check(push_all(c, table), "push 20100 listed keys (100 twice) and a range of 120000 keys", c);
	check(pull_check(c, table, 1, &ok) && ok,
		  "pull them back, listed in another order and the range: every value exact", c);
	{
		PsTaskOptions bad = {0};
		int64_t		t;

		bad.worker = 1;
		bad.clock = 1;
		t = ps_client_push(c, table, &k1, 1, &one, &bad);
		check(t == -1 && strcmp(ps_client_sqlstate(c), "42704") == 0,
			  "a task of a worker that did not join through the client fails, not sent", NULL);
	}
	check(ps_client_wait(c, 999999) == -1 && strcmp(ps_client_sqlstate(c), "22023") == 0,
		  "waiting for a timestamp never given fails", NULL);

	c2 = ps_client_connect(argv[1], &err);
	c3 = ps_client_connect(argv[1], &err);
	check(c2 != NULL && c3 != NULL, "two more clients connect", NULL);
	if (c2 == NULL || c3 == NULL)
		return 1;
	{
		int			twice = 0,
					i;

		for (i = 0; i < 100; i++)
			twice |= keys[i] == k1;
		check(ps_client_wait(c2, ps_client_pull(c2, table, &k1, 1, &one, NULL)) == 0 &&
			  one == expect(k1, twice ? 2 : 1),
			  "and pull: they know the ring", c2);
	}
	ps_client_close(c);

	printf("# ready\n");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;

	/* the table is empty now, and the ring has one more node */
	check(pull_check(c2, table, 0, &ok) && ok,
		  "a client with the old ring pulls: refused, it reads the ring again and gets every key (0s)", c2);
	check(push_all(c3, table), "a client with the old ring pushes everything: refused, sent again", c3);
	check(pull_check(c3, table, 1, &ok) && ok, "every value exact, once", c3);
	check(pull_check(c2, table, 1, &ok) && ok, "the other client sees them too", c2);
	ps_client_close(c2);
	ps_client_close(c3);
	printf("1..%d\n", ntests);
	return nfailed > 0;
}
