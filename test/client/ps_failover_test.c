/*
 * ps_failover_test.c
 *	  One client of test/t/032_failover.pl:
 *	  ps_failover_test CONNINFO TABLE VALUE PUSHES KEYS PAUSE_MS [FIRST].
 *
 * Connected through one node of a cluster, it pushes VALUE to each of the
 * keys 4096, 2 * 4096, ..., KEYS * 4096 (one block each, so over every
 * node), PUSHES times, waiting for each push, PAUSE_MS apart; or, given
 * FIRST, to the range of KEYS blocks of keys from FIRST (KEYS * 4096
 * keys, a range push: the client cuts it into pieces of one node).  For each
 * push it prints "ok N SENT DONE" (wall-clock seconds) or "fail N SQLSTATE
 * MESSAGE"; at the end "# done OK FAILED".  Meanwhile the test kills a
 * node: every push must still succeed, exactly once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ps_client.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	PsClient   *c;
	char	   *err = NULL;
	int64_t    *keys,
				first;
	float	   *vals;
	int			value,
				pushes,
				nkeys,
				pause_ms,
				ok = 0,
				failed = 0,
				p,
				i;

	if (argc != 7 && argc != 8)
	{
		fprintf(stderr, "usage: %s CONNINFO TABLE VALUE PUSHES KEYS PAUSE_MS [FIRST]\n", argv[0]);
		return 2;
	}
	value = atoi(argv[3]);
	pushes = atoi(argv[4]);
	nkeys = atoi(argv[5]);
	pause_ms = atoi(argv[6]);
	first = argc == 8 ? strtoll(argv[7], NULL, 10) : -1;
	if (first >= 0)
		nkeys *= 4096;
	c = ps_client_connect(argv[1], &err);
	if (c == NULL)
	{
		printf("fail 0 08006 %s\n", err ? err : "cannot connect");
		return 1;
	}
	keys = malloc(sizeof(int64_t) * nkeys);
	vals = malloc(sizeof(float) * nkeys);
	if (keys == NULL || vals == NULL)
		return 1;
	for (i = 0; i < nkeys; i++)
	{
		keys[i] = (int64_t) (i + 1) * 4096;
		vals[i] = (float) value;
	}
	for (p = 1; p <= pushes; p++)
	{
		double		sent = now();
		int64_t		ts = first >= 0 ?
			ps_client_push_range(c, argv[2], first, (size_t) nkeys, vals, NULL) :
			ps_client_push(c, argv[2], keys, (size_t) nkeys, vals, NULL);

		if (ts > 0 && ps_client_wait(c, ts) == 0)
		{
			printf("ok %d %.6f %.6f\n", p, sent, now());
			ok++;
		}
		else
		{
			printf("fail %d %s %s\n", p, ps_client_sqlstate(c), ps_client_error(c));
			failed++;
		}
		fflush(stdout);
		if (pause_ms > 0)
		{
			struct timespec pause = {pause_ms / 1000, (long) (pause_ms % 1000) * 1000000L};

			nanosleep(&pause, NULL);
		}
	}
	printf("# done %d %d\n", ok, failed);
	ps_client_close(c);
	free(keys);
	free(vals);
	return failed > 0;
}
