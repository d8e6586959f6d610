/*
 * ps_bench_cluster.c
 *	  The cluster benchmark's load, run by test/bench/cluster.sh:
 *	  ps_bench_cluster CONNINFO TABLE WORKERS ITERS KEYS.
 *
 * WORKERS processes, each with its own client connected through
 * CONNINFO (any node of a cluster, or a server on its own), join TABLE as
 * workers (ps_client_join) and run ITERS iterations: each pushes the same
 * KEYS keys (spread over every node: one every 7 keys from 1) with
 * gradient 1 at its clock, and waits for it.  Then each pulls the KEYS keys
 * ITERS times.  Prints one line:
 *
 *	 push_keys_per_s pull_keys_per_s bytes_pushed
 *
 * (keys summed over the workers, over the wall-clock time of the slowest;
 * bytes_pushed: what the clients sent for their pushes, as
 * ps_client_traffic counts it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ps_client.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* One worker; writes "push_seconds pull_seconds bytes" to fd. */
static int
run_worker(const char *conninfo, const char *table, int iters, int nkeys, int fd)
{
	char	   *err = NULL;
	PsClient   *c = ps_client_connect(conninfo, &err);
	int64_t    *keys = malloc(sizeof(int64_t) * nkeys);
	float	   *vals = malloc(sizeof(float) * nkeys);
	PsTaskOptions opt;
	int64_t		clock = 0;
	uint64_t	sent = 0,
				received = 0;
	double		t0,
				t1,
				t2;
	char		line[128];
	int			worker,
				i;

	if (c == NULL || keys == NULL || vals == NULL)
	{
		fprintf(stderr, "ps_bench_cluster: %s\n", err ? err : "out of memory");
		return 1;
	}
	for (i = 0; i < nkeys; i++)
	{
		keys[i] = 1 + (int64_t) i * 7;
		vals[i] = 1.0f;
	}
	worker = ps_client_join(c, table, &clock);
	if (worker < 0)
	{
		fprintf(stderr, "ps_bench_cluster: join: %s\n", ps_client_error(c));
		return 1;
	}
	memset(&opt, 0, sizeof(opt));
	opt.worker = worker;
	t0 = now();
	for (i = 0; i < iters; i++)
	{
		int64_t		ts;

		opt.clock = clock + i;
		ts = ps_client_push(c, table, keys, (size_t) nkeys, vals, &opt);
		if (ts < 0 || ps_client_wait(c, ts) != 0)
		{
			fprintf(stderr, "ps_bench_cluster: push: %s\n", ps_client_error(c));
			return 1;
		}
	}
	t1 = now();
	ps_client_traffic(c, &sent, &received);
	for (i = 0; i < iters; i++)
	{
		int64_t		ts = ps_client_pull(c, table, keys, (size_t) nkeys, vals, NULL);

		if (ts < 0 || ps_client_wait(c, ts) != 0)
		{
			fprintf(stderr, "ps_bench_cluster: pull: %s\n", ps_client_error(c));
			return 1;
		}
	}
	t2 = now();
	ps_client_leave(c, table, worker);
	snprintf(line, sizeof(line), "%.6f %.6f %llu\n", t1 - t0, t2 - t1, (unsigned long long) sent);
	if (write(fd, line, strlen(line)) < 0)
		return 1;
	ps_client_close(c);
	return 0;
}

int
main(int argc, char **argv)
{
	int			workers,
				iters,
				nkeys,
				fds[2],
				failed = 0,
				i;
	double		push_s = 0,
				pull_s = 0;
	unsigned long long bytes = 0;
	FILE	   *in;

	if (argc != 6)
	{
		fprintf(stderr, "usage: %s CONNINFO TABLE WORKERS ITERS KEYS\n", argv[0]);
		return 2;
	}
	workers = atoi(argv[3]);
	iters = atoi(argv[4]);
	nkeys = atoi(argv[5]);
	if (pipe(fds) != 0)
		return 1;
	for (i = 0; i < workers; i++)
	{
		pid_t		pid = fork();

		if (pid == 0)
		{
			close(fds[0]);
			_exit(run_worker(argv[1], argv[2], iters, nkeys, fds[1]));
		}
	}
	close(fds[1]);
	for (i = 0; i < workers; i++)
	{
		int			status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	in = fdopen(fds[0], "r");
	for (i = 0; i < workers && in; i++)
	{
		double		a,
					b;
		unsigned long long s;

		if (fscanf(in, "%lf %lf %llu", &a, &b, &s) != 3)
			break;
		push_s = a > push_s ? a : push_s;
		pull_s = b > pull_s ? b : pull_s;
		bytes += s;
	}
	if (failed || i < workers)
	{
		fprintf(stderr, "ps_bench_cluster: %d of %d workers failed\n", failed ? failed : workers - i, workers);
		return 1;
	}
	printf("%.0f %.0f %llu\n", (double) workers * iters * nkeys / push_s,
		   (double) workers * iters * nkeys / pull_s, bytes);
	return 0;
}
