/*
 * ps_client_test.c
 *	  The client library against a real server (run by
 *	  test/t/018_client.pl, built with pkg-config ps-client, so that the
 *	  installed header, library and pkg-config file are what it uses).
 *
 * Usage: ps_client_test CONNINFO
 * The database has ps tables cl_w (dim 1) and cl_v (dim 3), both empty,
 * and cl_w a worker 1 (ps_join).  Prints TAP lines; the TAP test checks
 * the tables' contents afterwards as well.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <ps_client.h>
#include <time.h>

#include "ps_test_tap.h"

int
main(int argc, char **argv)
{
	const char *conninfo = argc > 1 ? argv[1] : "";
	char	   *err = NULL;
	PsClient   *c;
	PsClient   *bad;
	enum
	{
		NPUSH = 64, NK = 500, SPACE = 2000
	};
	static int64_t keys[NPUSH][NK];
	static float vals[NPUSH][NK];
	static double expect[SPACE];
	static float got[SPACE];
	static int64_t all[SPACE];
	int64_t		ts[NPUSH],
				t,
				t2;
	int			i,
				j,
				ok,
				inflight;
	unsigned	seed = 12345;

	/* connecting */
	bad = ps_client_connect("host=/nonexistent port=1", &err);
	check(bad == NULL && err != NULL && strstr(err, "/nonexistent") != NULL,
		  "a bad conninfo gives no client and libpq's reason", NULL);
	free(err);
	err = NULL;
	c = ps_client_connect(conninfo, &err);
	check(c != NULL, "connects", NULL);
	if (c == NULL)
	{
		printf("# %s", err ? err : "");
		printf("1..%d\n", ntests);
		return 1;
	}

	/*
	 * 64 pushes sent without waiting, keys in random order with repeats;
	 * integer values, so that the sums are exact.
	 */
	for (i = 0; i < NPUSH; i++)
	{
		for (j = 0; j < NK; j++)
		{
			keys[i][j] = rand_r(&seed) % SPACE;
			vals[i][j] = (float) (rand_r(&seed) % 7) - 3;
			expect[keys[i][j]] += vals[i][j];
		}
		ts[i] = ps_client_push(c, "cl_w", keys[i], NK, vals[i], NULL);
	}
	inflight = ps_client_in_flight(c);
	ok = 1;
	for (i = 0; i < NPUSH; i++)
		ok &= ts[i] == i + 1;
	check(ok, "each push returns its timestamp at once: 1, 2, ... 64", c);
	printf("# %d of 64 pushes in flight right after sending them\n", inflight);
	check(inflight > 1, "several pushes are in flight on the one connection", c);
	check(ps_client_wait(c, ts[NPUSH - 1]) == 0, "waiting for the last push succeeds", c);
	check(ps_client_in_flight(c) == 0, "and then none is in flight: the earlier ones finished first", c);
	ok = 1;
	for (i = 0; i < NPUSH; i++)
		ok &= ps_client_wait(c, ts[i]) == 0;
	check(ok, "every push succeeded", c);

	/* a pull of every key, in reverse order, with a repeat */
	for (i = 0; i < SPACE; i++)
		all[i] = SPACE - 1 - i;
	all[SPACE - 1] = all[0];
	t = ps_client_pull(c, "cl_w", all, SPACE, got, NULL);
	check(t > 0 && ps_client_wait(c, t) == 0, "a pull of 2000 keys in reverse order, one repeated", c);
	ok = 1;
	for (i = 0; i < SPACE; i++)
		ok &= got[i] == (float) expect[all[i]];
	check(ok, "pulls the exact sums of the 64 pushes, in the order asked", c);

	/* ranges: push 1 to keys 100 .. 1099, pull 0 .. 1999 */
	{
		static float ones[1000],
					r[SPACE];

		for (i = 0; i < 1000; i++)
			ones[i] = 1;
		t = ps_client_push_range(c, "cl_w", 100, 1000, ones, NULL);
		t2 = ps_client_pull_range(c, "cl_w", 0, SPACE, r, NULL);
		check(t > 0 && t2 > t && ps_client_wait(c, t2) == 0 && ps_client_wait(c, t) == 0,
			  "a range push and a range pull in one pipeline", c);
		ok = 1;
		for (i = 0; i < SPACE; i++)
			ok &= r[i] == (float) (expect[i] + (i >= 100 && i < 1100 ? 1 : 0));
		check(ok, "the range pull sees the range push (sent before it)", c);
		for (i = 100; i < 1100; i++)
			expect[i] += 1;
	}

	/* vectors: dim 3 */
	{
		int64_t		vk[2] = {7, 3};
		float		vv[6] = {1, 2, 3, 4, 5, 6},
					out[6];
		PsTaskOptions o = {0};

		o.dim = 3;
		t = ps_client_push(c, "cl_v", vk, 2, vv, &o);
		t2 = ps_client_pull(c, "cl_v", vk, 2, out, &o);
		check(ps_client_wait(c, t2) == 0 && ps_client_wait(c, t) == 0 &&
			  memcmp(out, vv, sizeof(vv)) == 0,
			  "a table of dim 3: values pulled as pushed, per key", c);
		t = ps_client_pull(c, "cl_v", vk, 2, out, NULL);
		check(ps_client_wait(c, t) == -1 && strstr(ps_client_error(c), "dim 3") != NULL,
			  "a pull of dim 1 from it fails, saying the table has dim 3", c);
	}

	/* a worker's push moves its clock (the TAP test reads it) */
	{
		int64_t		k = 5;
		float		v = 10;
		PsTaskOptions o = {0};

		o.worker = 1;
		o.clock = 4;
		t = ps_client_push(c, "cl_w", &k, 1, &v, &o);
		check(ps_client_wait(c, t) == 0, "worker 1's push at clock 4", c);
		expect[5] += 10;
		o.worker = 9;
		t = ps_client_push(c, "cl_w", &k, 1, &v, &o);
		check(ps_client_wait(c, t) == -1 && strcmp(ps_client_sqlstate(c), "") != 0 &&
			  strstr(ps_client_error(c), "no worker 9") != NULL,
			  "a push of a worker that did not join fails with the server's error", c);
	}

	/*
	 * Key caching: the same key list pushed and pulled again is sent as
	 * its hash (bytes saved, no miss).  Then the server's cache is turned
	 * off behind the library's back: its lists miss, and the library sends
	 * the keys again by itself; the sums stay exact.
	 */
	{
		static float pulled[NK];
		uint64_t	saved,
					misses,
					saved0;
		PGconn	   *admin;
		PGresult   *r;

		ps_client_key_cache_stats(c, &saved0, &misses);
		for (i = 0; i < 8; i++)
		{
			t = ps_client_push(c, "cl_w", keys[0], NK, vals[0], NULL);
			t2 = ps_client_pull(c, "cl_w", keys[0], NK, pulled, NULL);
		}
		for (j = 0; j < NK; j++)
			expect[keys[0][j]] += 8 * vals[0][j];
		ok = ps_client_wait(c, t2) == 0;
		for (j = 0; j < NK; j++)
			ok &= pulled[j] == (float) expect[keys[0][j]];
		ps_client_key_cache_stats(c, &saved, &misses);
		printf("# key cache: %llu bytes saved, %llu misses\n",
			   (unsigned long long) (saved - saved0), (unsigned long long) misses);
		check(ok && saved - saved0 >= 15 * 200 && misses == 0,
			  "a key list sent again goes as its hash: bytes saved, no miss, exact values", c);

		admin = PQconnectdb(conninfo);
		r = PQexec(admin, "ALTER SYSTEM SET ps.key_cache_size = 0");
		PQclear(r);
		r = PQexec(admin, "SELECT pg_reload_conf()");
		PQclear(r);
		{
			struct timespec half = {0, 500 * 1000 * 1000};

			nanosleep(&half, NULL);	/* the backend takes the reload */
		}
		ok = 1;
		for (i = 0; i < 4; i++)
		{
			t = ps_client_push(c, "cl_w", keys[1], NK, vals[1], NULL);
			ok &= ps_client_wait(c, t) == 0;
			t2 = ps_client_pull(c, "cl_w", keys[1], NK, pulled, NULL);
			ok &= ps_client_wait(c, t2) == 0;
		}
		for (j = 0; j < NK; j++)
			expect[keys[1][j]] += 4 * vals[1][j];
		for (j = 0; j < NK; j++)
			ok &= pulled[j] == (float) expect[keys[1][j]];
		ps_client_key_cache_stats(c, &saved, &misses);
		printf("# after the server's cache was turned off: %llu misses\n",
			   (unsigned long long) misses);
		check(ok && misses > 0,
			  "lists the server no longer holds miss, are sent again, and the values are exact", c);

		/*
		 * A miss with a task sent after it: sending it again would run it
		 * after that one, so it fails (PS001), not applied; the others
		 * stand.  (If its answer came back before the next task was sent,
		 * nothing was sent after it and it is sent again instead: either
		 * way the values must match what the library reported.)
		 */
		{
			int64_t		ta,
						tb,
						tc;
			int			b_ok;

			ta = ps_client_push(c, "cl_w", keys[2], NK, vals[2], NULL);
			tb = ps_client_push(c, "cl_w", keys[2], NK, vals[2], NULL);
			tc = ps_client_pull(c, "cl_w", keys[2], NK, pulled, NULL);
			ok = ps_client_wait(c, tc) == 0 && ps_client_wait(c, ta) == 0;
			b_ok = ps_client_wait(c, tb) == 0;
			ok &= b_ok || strcmp(ps_client_sqlstate(c), "PS001") == 0;
			printf("# the second push %s\n", b_ok ? "was sent again and applied" : "failed with PS001");
			for (j = 0; j < NK; j++)
				expect[keys[2][j]] += (b_ok ? 2 : 1) * vals[2][j];
			/*
			 * The pull ran after ta, and after tb if tb was not sent again;
			 * sent again, tb went before the pull if its miss was answered
			 * before the pull was sent, else after it: the pull saw all of
			 * tb or none of it.
			 */
			{
				int			with = 1,
							without = 1;

				for (j = 0; j < NK; j++)
				{
					with &= pulled[j] == (float) expect[keys[2][j]];
					without &= pulled[j] == (float) (expect[keys[2][j]] - vals[2][j]);
				}
				ok &= b_ok ? (with || without) : with;
			}
			check(ok, "a miss with a task sent after it fails with PS001 and is not applied (or, sent again, applied once); the rest stand", c);
		}
		r = PQexec(admin, "ALTER SYSTEM RESET ps.key_cache_size");
		PQclear(r);
		r = PQexec(admin, "SELECT pg_reload_conf()");
		PQclear(r);
		PQfinish(admin);
	}

	/*
	 * Push filters, on table cl_f.  Significantly-modified keeps a key's
	 * values back until their sum passes the threshold, then sends the
	 * sum; ps_client_flush sends what is kept back.
	 */
	{
		int64_t		fk[2] = {10, 11};
		float		ones[2] = {1, 1},
					got2[2];
		PsTaskOptions o = {0};
		uint64_t	held,
					skipped,
					fsaved;

		o.significance = 2.5f;
		ok = 1;
		for (i = 1; i <= 3; i++)
		{
			t = ps_client_push(c, "cl_f", fk, 2, ones, &o);
			t2 = ps_client_pull(c, "cl_f", fk, 2, got2, NULL);
			ok &= ps_client_wait(c, t2) == 0 && ps_client_wait(c, t) == 0;
			ok &= got2[0] == (i < 3 ? 0 : 3) && got2[1] == (i < 3 ? 0 : 3);
		}
		check(ok, "significantly-modified: sums of 1 and 2 kept back, 3 (> 2.5) sent", c);
		t = ps_client_push(c, "cl_f", fk, 1, ones, &o);
		t2 = ps_client_flush(c, "cl_f", NULL);
		t = ps_client_pull(c, "cl_f", fk, 2, got2, NULL);
		check(t2 > 0 && ps_client_wait(c, t) == 0 && got2[0] == 4 && got2[1] == 3,
			  "ps_client_flush sends what was kept back", c);
		check(ps_client_flush(c, "cl_f", NULL) == 0, "and then there is nothing to flush", c);
		ps_client_filter_stats(c, &held, &skipped, &fsaved);
		check(held == 5 && skipped == 0 && fsaved == 5 * 6,
			  "it counts the 5 keys it held back, 6 bytes each", c);
	}

	/*
	 * Random skip, for the whole client: keys with values below 100 go
	 * with probability 1/2, doubled.  Every key ends up 0 or 2, about half
	 * of each, and the skipped keys are counted exactly.
	 */
	{
		static int64_t rk[1000];
		static float rv[1000],
					rg[1000];
		uint64_t	held,
					skipped0,
					skipped,
					fsaved;
		int			twos = 0;

		for (i = 0; i < 1000; i++)
		{
			rk[i] = 1000 + i;
			rv[i] = 1;
		}
		ps_client_filter_stats(c, &held, &skipped0, &fsaved);
		check(ps_client_set_filters(c, 0, 100, 0.5f, 42) == 0, "filters set for the client", c);
		check(ps_client_set_filters(c, 0, 100, 1.5f, 42) == -1, "a probability above 1 is refused", c);
		t = ps_client_push(c, "cl_f", rk, 1000, rv, NULL);
		ps_client_set_filters(c, 0, 0, 0, 0);
		t2 = ps_client_pull(c, "cl_f", rk, 1000, rg, NULL);
		ok = ps_client_wait(c, t2) == 0 && ps_client_wait(c, t) == 0;
		for (i = 0; i < 1000; i++)
		{
			ok &= rg[i] == 0 || rg[i] == 2;
			twos += rg[i] == 2;
		}
		ps_client_filter_stats(c, &held, &skipped, &fsaved);
		printf("# random skip sent %d of 1000 keys\n", twos);
		check(ok && twos > 400 && twos < 600 && skipped - skipped0 == (uint64_t) (1000 - twos),
			  "random skip: each key 0 or 2, about half sent, the skipped ones counted", c);
	}

	/*
	 * Compression: pushes' values and pulls' answers compressed (zstd)
	 * give exactly what they give uncompressed.
	 */
	{
		static float a[SPACE],
					b[SPACE],
					twos[2000];

		for (i = 0; i < 2000; i++)
			twos[i] = 2;
		ps_client_set_compression(c, 1);
		t = ps_client_push(c, "cl_w", keys[3], NK, vals[3], NULL);
		t2 = ps_client_push_range(c, "cl_w", 0, 2000, twos, NULL);
		ok = ps_client_wait(c, t) == 0 && ps_client_wait(c, t2) == 0;
		for (j = 0; j < NK; j++)
			expect[keys[3][j]] += vals[3][j];
		for (i = 0; i < 2000; i++)
			expect[i] += 2;
		t = ps_client_pull_range(c, "cl_w", 0, SPACE, a, NULL);
		ok &= ps_client_wait(c, t) == 0;
		ps_client_set_compression(c, 0);
		t = ps_client_pull_range(c, "cl_w", 0, SPACE, b, NULL);
		ok &= ps_client_wait(c, t) == 0 && memcmp(a, b, sizeof(a)) == 0;
		for (i = 0; i < SPACE; i++)
			ok &= b[i] == (float) expect[i];
		check(ok, "compression on and off: the same values, the exact sums", c);
	}

	/* errors are the failing task's only */
	{
		int64_t		k[2] = {1, 2};
		float		v[2] = {1, NAN},
					out[2];
		int64_t		after[1];
		PsTaskOptions o = {0};

		t = ps_client_push(c, "no_such_table", k, 2, v, NULL);
		t2 = ps_client_pull(c, "cl_w", k, 2, out, NULL);
		check(ps_client_wait(c, t) == -1 && strcmp(ps_client_sqlstate(c), "42P01") == 0,
			  "a push to an unknown table fails with 42P01", c);
		check(ps_client_wait(c, t2) == 0 && out[0] == (float) expect[1] && out[1] == (float) expect[2],
			  "and the pull sent right after it succeeds", c);
		t = ps_client_push(c, "cl_w", k, 2, v, NULL);
		check(ps_client_wait(c, t) == -1 && strcmp(ps_client_sqlstate(c), "22023") == 0 &&
			  strstr(ps_client_error(c), "finite") != NULL,
			  "a push with a NaN fails, saying values must be finite", c);
		/* execute after: a task after a failed one is not sent */
		after[0] = t;
		o.after = after;
		o.nafter = 1;
		v[1] = 1;
		t2 = ps_client_push(c, "cl_w", k, 2, v, &o);
		check(t2 == -1 && strstr(ps_client_error(c), "failed") != NULL,
			  "a push to execute after the failed one is refused, unsent", c);
		after[0] = ts[0];
		t2 = ps_client_push(c, "cl_w", k, 2, v, &o);
		check(t2 > 0 && ps_client_wait(c, t2) == 0,
			  "a push to execute after a push that succeeded is sent and succeeds", c);
		expect[1] += 1;
		expect[2] += 1;
		check(ps_client_wait(c, 1000000) == -1, "waiting for a timestamp never given fails", c);
	}

	ps_client_close(c);

	/* what the TAP test compares with the table: key, expected sum */
	for (i = 0; i < SPACE; i++)
		if (expect[i] != 0)
			printf("# expect %d %.0f\n", i, expect[i]);
	printf("1..%d\n", ntests);
	return nfailed > 0;
}
