/*
 * ps_test_tap.h
 *	  TAP output for the client library's test programs: check() prints
 *	  one "ok N - what" line, and on failure the client's last error.
 */
#ifndef PS_TEST_TAP_H
#define PS_TEST_TAP_H

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

#endif							/* PS_TEST_TAP_H */
