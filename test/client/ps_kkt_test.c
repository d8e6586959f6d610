/*
 * ps_kkt_test.c
 *	  The client library's KKT filter against a real server (run by
 *	  test/t/023_kkt.pl, built with pkg-config ps-client).
 *
 * Usage: ps_kkt_test CONNINFO
 * The database has ftrl tables with l1 = 1 and the server's KKT filter
 * on: kk_a1 and kk_b1 (dim 1), kk_a2 and kk_b2 (dim 2), kk_c and kk_d
 * (dim 1); and kk_n (ftrl, no KKT filter).  One client pushes to each a
 * table with the client's filter on, another the same pushes to each b
 * table with it off: the tables must end bit for bit the same (the
 * client leaves out only pushes the server would drop), and the client
 * must have left some out.  Prints TAP lines, and "# kkt A B N" lines:
 * the server's count of dropped keys on B must be N more than on A.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <ps_client.h>

#include "ps_test_tap.h"

static double
uniform(void)
{
	return (double) (test_rand() >> 11) / 9007199254740992.0;
}

enum
{
	SPACE = 3000, NK = 400
};

/*
 * The same rounds through a (its KKT filter on) to ta and through b (off)
 * to tb: pulls of listed keys (waited for, or not: then the push after is
 * sent before the pull's answer comes), range pulls, pushes of listed keys
 * in any order with repeats, and now and then a range push; the first
 * round's pull is still in flight when its push goes (a fresh client's
 * first slacks), and the next round pushes without pulling.  Gradients: most small (within l1 = 1), some large, some
 * exactly 0 (which the server applies to a key whose weight is not 0).  Returns whether every pull of
 * a gave what the same pull of b did.
 */
static int
run_pair(PsClient *a, PsClient *b, const char *ta, const char *tb, int dim,
		 int rounds)
{
	static int64_t keys[NK];
	static float grads[NK * 2],
				got_a[SPACE * 2],
				got_b[SPACE * 2],
				dense[100 * 2];
	int			r,
				i,
				same = 1;

	for (r = 0; r < rounds; r++)
	{
		/* a pull not waited for, then pushes on what it told */
		static const int modes[4] = {1, 3, 0, 2};
		int			mode = modes[r % 4];
		int64_t		pa = 0,
					pb = 0,
					ua,
					ub;

		for (i = 0; i < NK; i++)
			keys[i] = 1 + (int64_t) (uniform() * SPACE);
		for (i = 0; i < NK * dim; i++)
		{
			double		u = uniform();

			grads[i] = u < 0.05 ? 0.0f :
				u < 0.85 ? (float) (uniform() * 0.9 - 0.45) :
				(float) ((uniform() < 0.5 ? -1 : 1) * (1 + 1.5 * uniform()));
		}
		if (mode == 0 || mode == 1)
		{
			pa = ps_client_pull(a, ta, keys, NK, got_a, &(PsTaskOptions){.dim = dim});
			pb = ps_client_pull(b, tb, keys, NK, got_b, &(PsTaskOptions){.dim = dim});
		}
		else if (mode == 2)
		{
			pa = ps_client_pull_range(a, ta, 1, SPACE, got_a, &(PsTaskOptions){.dim = dim});
			pb = ps_client_pull_range(b, tb, 1, SPACE, got_b, &(PsTaskOptions){.dim = dim});
		}
		if (pa != 0 && mode != 1)
		{
			/* the pulls' answers (and slacks) in before the pushes */
			same &= ps_client_wait(a, pa) == 0 && ps_client_wait(b, pb) == 0;
			same &= memcmp(got_a, got_b, sizeof(float) * dim *
						   (mode == 2 ? SPACE : NK)) == 0;
		}
		ua = ps_client_push(a, ta, keys, NK, grads, &(PsTaskOptions){.dim = dim});
		ub = ps_client_push(b, tb, keys, NK, grads, &(PsTaskOptions){.dim = dim});
		if (mode == 1)
		{
			same &= ps_client_wait(a, pa) == 0 && ps_client_wait(b, pb) == 0;
			same &= memcmp(got_a, got_b, sizeof(float) * dim * NK) == 0;
		}
		if (r % 8 == 7)
		{
			/* a range push: the slacks of the whole table go stale */
			for (i = 0; i < 100 * dim; i++)
				dense[i] = (float) (uniform() * 3 - 1.5);
			ps_client_push_range(a, ta, 100, 100, dense, &(PsTaskOptions){.dim = dim});
			ps_client_push_range(b, tb, 100, 100, dense, &(PsTaskOptions){.dim = dim});
		}
		if (ua < 0 || ub < 0)
			same = 0;
	}
	same &= ps_client_wait(a, ps_client_pull_range(a, ta, 1, SPACE, got_a,
												   &(PsTaskOptions){.dim = dim, .kkt = -1})) == 0;
	same &= ps_client_wait(b, ps_client_pull_range(b, tb, 1, SPACE, got_b,
												   &(PsTaskOptions){.dim = dim})) == 0;
	return same && memcmp(got_a, got_b, sizeof(float) * dim * SPACE) == 0;
}

static PsClient *
connect_or_die(const char *conninfo)
{
	char	   *err = NULL;
	PsClient   *c = ps_client_connect(conninfo, &err);

	if (c == NULL)
	{
		printf("not ok 1 - connects\n# %s1..1\n", err ? err : "");
		exit(1);
	}
	return c;
}

int
main(int argc, char **argv)
{
	const char *conninfo = argc > 1 ? argv[1] : "";
	PsClient   *a = connect_or_die(conninfo);
	PsClient   *b = connect_or_die(conninfo);
	uint64_t	filtered,
				saved,
				known,
				before;
	float		w[4];
	int64_t		k[2] = {5, 6};
	int64_t		t;
	int			ok;

	check(ps_client_set_kkt(a, 1, (size_t) 1 << 32) == -1,
		  "a max_keys above 2^31 is refused", a);
	check(ps_client_set_kkt(a, 1, 0) == 0, "the KKT filter is on for one client", a);

	/* dim 1 */
	ok = run_pair(a, b, "kk_a1", "kk_b1", 1, 48);
	ps_client_kkt_stats(a, &filtered, &saved, &known);
	printf("# dim 1: %llu pushes of keys left out, %llu bytes, %llu keys known\n",
		   (unsigned long long) filtered, (unsigned long long) saved,
		   (unsigned long long) known);
	check(ok, "dim 1: every pull and the tables at the end are the same with the client's filter and without", a);
	check(filtered > 1000 && saved == filtered * 6,
		  "dim 1: the client left out over a thousand keys' pushes, 6 bytes each", a);
	printf("# kkt kk_a1 kk_b1 %llu\n", (unsigned long long) filtered);

	/* dim 2 */
	before = filtered;
	ok = run_pair(a, b, "kk_a2", "kk_b2", 2, 48);
	ps_client_kkt_stats(a, &filtered, &saved, &known);
	printf("# dim 2: %llu pushes of keys left out\n",
		   (unsigned long long) (filtered - before));
	check(ok, "dim 2: the same with the client's filter and without", a);
	check(filtered - before > 200, "dim 2: the client left out some", a);
	printf("# kkt kk_a2 kk_b2 %llu\n", (unsigned long long) (filtered - before));

	/* a table without the server's filter has no slacks to tell */
	t = ps_client_pull(a, "kk_n", k, 2, w, NULL);
	check(ps_client_wait(a, t) == -1 && strcmp(ps_client_sqlstate(a), "55000") == 0 &&
		  strstr(ps_client_error(a), "no KKT filter") != NULL,
		  "a pull with the filter from a table without the server's fails with 55000", a);
	t = ps_client_pull(a, "kk_n", k, 2, w, &(PsTaskOptions){.kkt = -1});
	check(ps_client_wait(a, t) == 0 && w[0] == 0 && w[1] == 0,
		  "the same pull with the filter off for the task succeeds", a);
	ps_client_close(a);
	ps_client_close(b);

	/* a client that keeps the slacks of 500 keys at most (fewer than it meets) */
	a = connect_or_die(conninfo);
	b = connect_or_die(conninfo);
	ps_client_set_kkt(a, 1, 500);
	ok = run_pair(a, b, "kk_c", "kk_d", 1, 24);
	ps_client_kkt_stats(a, &filtered, &saved, &known);
	printf("# 500 keys at most: %llu left out, %llu known\n",
		   (unsigned long long) filtered, (unsigned long long) known);
	check(ok && known <= 500 && filtered > 0,
		  "with at most 500 keys known: the same tables, some pushes left out", a);
	printf("# kkt kk_c kk_d %llu\n", (unsigned long long) filtered);
	ps_client_close(a);
	ps_client_close(b);

	/*
	 * A reconnect forgets the slacks: the server may have lost pushes
	 * acknowledged before their flush, or be another one.  Here z of key 7
	 * moves behind the client's back (its slack 1 becomes 0.1), then the
	 * client's backend is terminated; after the reconnect a push of 0.5
	 * must go, and be applied (|0.9 + 0.5| > 1).
	 */
	{
		char		ci[1024];
		PGconn	   *admin = PQconnectdb(conninfo);
		PGresult   *r;
		int64_t		k7 = 7;
		float		half = 0.5f,
					w7 = 0;

		snprintf(ci, sizeof(ci), "%s application_name=kkt_r", conninfo);
		a = connect_or_die(ci);
		ps_client_set_kkt(a, 1, 0);
		t = ps_client_pull(a, "kk_r", &k7, 1, &w7, NULL);
		ok = ps_client_wait(a, t) == 0;
		r = PQexec(admin, "SELECT ps_configure('kk_r', kkt_filter => false); "
				   "SELECT ps_push('kk_r', '{7}', '{0.9}'); "
				   "SELECT ps_configure('kk_r', kkt_filter => true); "
				   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kkt_r'");
		ok &= PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
		/* a pull of another key finds the connection lost, and reconnects */
		t = ps_client_pull(a, "kk_r", k, 1, w, NULL);
		ok &= ps_client_wait(a, t) == 0 && ps_client_reconnects(a) == 1;
		t = ps_client_push(a, "kk_r", &k7, 1, &half, NULL);
		ok &= ps_client_wait(a, t) == 0;
		t = ps_client_pull(a, "kk_r", &k7, 1, &w7, &(PsTaskOptions){.kkt = -1});
		ok &= ps_client_wait(a, t) == 0;
		check(ok && w7 != 0, "after a reconnect a push the old slack covered is sent, and applied", a);
		ps_client_close(a);
		PQfinish(admin);
	}

	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
