/*
 * unit_tap.h
 *	  What the unit tests of src/common share: check() prints one TAP line
 *	  ("ok N - what" or "not ok N - what") and counts failures; next_rand()
 *	  is a fixed-seed xorshift, so every run tests the same cases.
 */
#ifndef UNIT_TAP_H
#define UNIT_TAP_H

#include <stdint.h>
#include <stdio.h>

static int	ntests = 0;
static int	nfailed = 0;

static void
check(int ok, const char *what)
{
	ntests++;
	if (!ok)
		nfailed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", ntests, what);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#endif							/* UNIT_TAP_H */
