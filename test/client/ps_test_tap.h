/*
 * ps_test_tap.h
 *	  TAP output for the client library's test programs: check() prints
 *	  one "ok N - what" line, and on failure the client's last error;
 *	  test_rand() is a seeded xorshift generator, the same every run.
 */
#ifndef PS_TEST_TAP_H
#define PS_TEST_TAP_H

#include <stdint.h>
#include <stdio.h>

#include <ps_client.h>

static int	ntests = 0;
static int	nfailed = 0;

static void
check(int ok, const char *what, PsClient *c)
{
	ntests++;
	if (!ok)
		nfailed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", ntests, what);
	if (!ok && c)
		printf("# last error: [%s] %s\n", ps_client_sqlstate(c), ps_client_error(c));
}

static uint64_t test_rng = 88172645463325252ULL;

static inline uint64_t
test_rand(void)
{
	test_rng ^= test_rng << 13;
	test_rng ^= test_rng >> 7;
	test_rng ^= test_rng << 17;
	return test_rng;
}

#endif							/* PS_TEST_TAP_H */
