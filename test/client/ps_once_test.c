/*
 * ps_once_test.c
 *	  Clients of the ps client library pushing integer-valued gradients
 *	  while their connections are cut (test/t/021_once.pl terminates their
 *	  backends and kills the whole server): the sums must be exact.
 *
 *	  ps_once_test CONNINFO TABLE CLIENTS PUSHES [STOPFILE]
 *
 * Each of CLIENTS processes makes PUSHES pushes (or fewer: it stops once
 * STOPFILE exists, so that the test decides how long it runs) with up to DEPTH in
 * flight on its connection, and a pull every so often: listed keys mostly
 * (1000 of them, spread over the table's KEYS keys, so that a push covers
 * many leaves), every fifth a range of 1000 keys, and every fiftieth a
 * range of 100000 keys (more leaves than one WAL record holds, so that a
 * crash can fall inside one push).  Push p of client c adds 1 + (c + p) %
 * 3 to each of its keys.  When all are finished, the parent pulls every
 * key and compares it with the sums it computes the same way; it prints
 * "exact KEYS keys" and each client's reconnect count, or the first key
 * that differs, and exits 1 on any difference or failed task.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ps_client.h>

#define KEYS 200000
#define LISTED 1000
#define SMALL_RANGE 1000
#define BIG_RANGE 100000
#define DEPTH 8

/* The keys of push p of client c: listed (n), or a range from *first. */
static size_t
push_keys(int c, int p, int64_t *keys, int64_t *first, int *range)
{
	size_t		i;

	*range = 0;
	if (p % 50 == 49)
	{
		*range = 1;
		*first = ((int64_t) p * 7919 + c * 104729) % (KEYS - BIG_RANGE);
		return BIG_RANGE;
	}
	if (p % 5 == 4)
	{
		*range = 1;
		*first = ((int64_t) p * 7919 + c * 104729) % (KEYS - SMALL_RANGE);
		return SMALL_RANGE;
	}
	/* distinct keys, unsorted: the library sorts them */
	for (i = 0; i < LISTED; i++)
		keys[i] = ((int64_t) i * 199 + p * 31 + c * 17) % KEYS;
	return LISTED;
}

static float
push_value(int c, int p)
{
	return (float) (1 + (c + p) % 3);
}

static int
run_client(const char *conninfo, const char *table, int c, int npushes,
		   const char *stopfile, int *made)
{
	char	   *err = NULL;
	PsClient   *cl = ps_client_connect(conninfo, &err);
	int64_t    *ts = calloc(npushes, sizeof(int64_t));
	int64_t    *keys = malloc(sizeof(int64_t) * LISTED);
	float	   *vals = malloc(sizeof(float) * BIG_RANGE);
	float	   *pulled = malloc(sizeof(float) * LISTED);
	int			p,
				failed = 0;
	int64_t		oldest = 0;

	if (cl == NULL)
	{
		fprintf(stderr, "client %d: cannot connect: %s\n", c, err);
		return 1;
	}
	for (p = 0; p < npushes; p++)
	{
		int64_t		first = 0;
		int			range;
		size_t		n,
					i;
		int64_t		t;

		if (stopfile && p % 20 == 0 && access(stopfile, F_OK) == 0)
			break;
		n = push_keys(c, p, keys, &first, &range);
		for (i = 0; i < n; i++)
			vals[i] = push_value(c, p);
		t = range ? ps_client_push_range(cl, table, first, n, vals, NULL) :
			ps_client_push(cl, table, keys, n, vals, NULL);
		if (t < 0)
		{
			fprintf(stderr, "client %d: push %d not sent: %s\n", c, p, ps_client_error(cl));
			return 1;
		}
		ts[p] = t;
		if (p % 10 == 3 &&
			ps_client_pull(cl, table, keys, LISTED, pulled, NULL) < 0)
		{
			fprintf(stderr, "client %d: pull not sent: %s\n", c, ps_client_error(cl));
			return 1;
		}
		/* at most DEPTH tasks in flight: wait for the oldest beyond that */
		while (ps_client_in_flight(cl) > DEPTH)
			if (ps_client_wait(cl, ++oldest) != 0)
			{
				fprintf(stderr, "client %d: task %lld failed: %s (%s)\n", c,
						(long long) oldest, ps_client_error(cl), ps_client_sqlstate(cl));
				failed = 1;
			}
	}
	*made = npushes = p;
	for (p = 0; p < npushes; p++)
		if (ps_client_wait(cl, ts[p]) != 0 && ts[p] > oldest)
		{
			fprintf(stderr, "client %d: push %d failed: %s (%s)\n", c, p,
					ps_client_error(cl), ps_client_sqlstate(cl));
			failed = 1;
		}
	printf("client %d pushes %d reconnects %llu\n", c, npushes,
		   (unsigned long long) ps_client_reconnects(cl));
	ps_client_close(cl);
	return failed;
}

int
main(int argc, char **argv)
{
	const char *conninfo,
			   *table,
			   *stopfile;
	int			nclients,
				npushes,
				c,
				p,
				bad = 0;
	int		   *made;
	int			fds[2];
	double	   *expect;
	float	   *got;
	int64_t    *keys = malloc(sizeof(int64_t) * LISTED);
	PsClient   *cl;
	char	   *err = NULL;
	int64_t		t;
	size_t		i;

	if (argc != 5 && argc != 6)
	{
		fprintf(stderr, "usage: %s CONNINFO TABLE CLIENTS PUSHES [STOPFILE]\n", argv[0]);
		return 2;
	}
	conninfo = argv[1];
	table = argv[2];
	nclients = atoi(argv[3]);
	npushes = atoi(argv[4]);
	stopfile = argc == 6 ? argv[5] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* each client says through the pipe how many pushes it made */
	made = calloc(nclients, sizeof(int));
	if (pipe(fds) != 0)
		return 2;
	for (c = 0; c < nclients; c++)
	{
		pid_t		pid = fork();

		if (pid == 0)
		{
			int			n = 0,
						rc = run_client(conninfo, table, c, npushes, stopfile, &n);
			int			rec[2] = {c, n};

			if (write(fds[1], rec, sizeof(rec)) != sizeof(rec))
				rc = 1;
			_exit(rc);
		}
	}
	close(fds[1]);
	for (c = 0; c < nclients; c++)
	{
		int			status,
					rec[2];

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad = 1;
		if (read(fds[0], rec, sizeof(rec)) == sizeof(rec) && rec[0] >= 0 && rec[0] < nclients)
			made[rec[0]] = rec[1];
	}

	/* the sums the pushes make */
	expect = calloc(KEYS, sizeof(double));
	for (c = 0; c < nclients; c++)
		for (p = 0; p < made[c]; p++)
		{
			int64_t		first = 0;
			int			range;
			size_t		n = push_keys(c, p, keys, &first, &range);

			for (i = 0; i < n; i++)
				expect[range ? first + (int64_t) i : keys[i]] += push_value(c, p);
		}

	got = malloc(sizeof(float) * KEYS);
	cl = ps_client_connect(conninfo, &err);
	if (cl == NULL || (t = ps_client_pull_range(cl, table, 0, KEYS, got, NULL)) < 0 ||
		ps_client_wait(cl, t) != 0)
	{
		fprintf(stderr, "cannot pull the sums: %s\n", cl ? ps_client_error(cl) : err);
		return 1;
	}
	for (i = 0; i < KEYS; i++)
		if ((double) got[i] != expect[i])
		{
			printf("key %zu: %.1f, expected %.1f\n", i, got[i], expect[i]);
			bad = 1;
			break;
		}
	if (!bad)
		printf("exact %d keys\n", KEYS);
	ps_client_close(cl);
	return bad;
}
