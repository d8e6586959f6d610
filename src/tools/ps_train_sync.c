/*-------------------------------------------------------------------------
 *
 * ps_train_sync.c
 *	  ps_train's reduction through the parameter server.  The sync table
 *	  (a ps table with the sum rule and sequential consistency, which the
 *	  workers joined) has three slots of keys; reduction r is every
 *	  worker's push of its part to slot r % 3 at clock r + 1, then its pull
 *	  of the slot at clock r + 2, which the consistency model holds until
 *	  every worker pushed at clock r + 1: the sum.
 *
 *	  The slots are reused without rounding left over: worker 0 pushes
 *	  minus what it pulled from the slot of reduction r - 2 along with its
 *	  part of reduction r, which leaves exactly zero (x + -x is 0 in
 *	  float).  Every worker had pulled that slot: its pull of r - 1, which
 *	  worker 0's pull of r - 1 waited for, came after.  And everyone's
 *	  push of r + 1 to that slot comes after its pull of r, which saw
 *	  worker 0's pushes of clock r + 1.
 *
 *	  Values travel as float; a scalar travels as five floats holding
 *	  integers below 2^18 (its digits in base 2^18 from 2^36 down to
 *	  2^-36), which the server's float sums add exactly for up to 64
 *	  workers.  A sixth scalar counts the workers: the sum must be their
 *	  number, or the reduction failed.
 *
 * Layer 12 (tools), in src/tools: uses the client library.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_train_sync.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_DIGITS 5
#define SYNC_PART 1000000		/* keys a push or pull, well below
								 * ps.max_request_keys */

static const double digit_scale[SYNC_DIGITS] = {
	68719476736.0, 262144.0, 1.0, 1.0 / 262144.0, 1.0 / 68719476736.0
};

bool
sync_init(Sync *s, PsClient *c, const char *table, int wid, int id,
		  int workers, size_t max_vec, size_t max_scal)
{
	int			i;

	memset(s, 0, sizeof(Sync));
	s->c = c;
	s->table = table;
	s->wid = wid;
	s->id = id;
	s->workers = workers;
	s->slot = max_vec + SYNC_DIGITS * (max_scal + 1);
	s->buf = malloc(sizeof(float) * s->slot);
	for (i = 0; i < 3; i++)
		s->pulled[i] = malloc(sizeof(float) * s->slot);
	if (!s->buf || !s->pulled[0] || !s->pulled[1] || !s->pulled[2])
	{
		snprintf(s->error, sizeof(s->error), "out of memory");
		return false;
	}
	return true;
}

void
sync_free(Sync *s)
{
	int			i;

	free(s->buf);
	for (i = 0; i < 3; i++)
		free(s->pulled[i]);
}

/* x in base 2^18 digits; false if it is not finite or too large */
static bool
encode(double x, float *out)
{
	int			k;

	if (!isfinite(x) || fabs(x) >= 68719476736.0 * 262144.0)
		return false;
	for (k = 0; k < SYNC_DIGITS; k++)
	{
		double		q = k < SYNC_DIGITS - 1 ? trunc(x / digit_scale[k]) :
			rint(x / digit_scale[k]);

		out[k] = (float) q;
		x -= q * digit_scale[k];
	}
	return true;
}

static double
decode(const float *in)
{
	double		x = 0;
	int			k;

	for (k = 0; k < SYNC_DIGITS; k++)
		x += (double) in[k] * digit_scale[k];
	return x;
}

static bool
failed(Sync *s, const char *what)
{
	snprintf(s->error, sizeof(s->error), "%s: [%s] %s", what,
			 ps_client_sqlstate(s->c), ps_client_error(s->c));
	return false;
}

/* Push (vals) or pull (into vals) keys first .. first + n - 1 in parts. */
static int64_t
ranges(Sync *s, bool push, int64_t first, size_t n, float *vals, int64_t clock)
{
	PsTaskOptions opt = {0};
	int64_t		t = 0;
	size_t		at;

	opt.worker = s->wid;
	opt.clock = clock;
	for (at = 0; at < n; at += SYNC_PART)
	{
		size_t		m = n - at < SYNC_PART ? n - at : SYNC_PART;

		t = push ? ps_client_push_range(s->c, s->table, first + (int64_t) at, m, vals + at, &opt)
			: ps_client_pull_range(s->c, s->table, first + (int64_t) at, m, vals + at, &opt);
		if (t < 0)
			return -1;
	}
	return t;
}

/*
 * Sums vec and scal over the workers (see ps_train_batch.h); false on
 * failure, s->error saying why.
 */
bool
sync_reduce(Sync *s, double *vec, size_t nvec, double *scal, size_t nscal)
{
	size_t		n = nvec + SYNC_DIGITS * (nscal + 1),
				i;
	int			slot = (int) (s->round % 3),
				old = (int) ((s->round + 1) % 3);
	int64_t		clock = s->round + 1,
				t;
	float	   *got = s->pulled[slot];

	if (n > s->slot)
	{
		snprintf(s->error, sizeof(s->error), "a reduction of %zu values, more than its slot's %zu",
				 n, s->slot);
		return false;
	}
	for (i = 0; i < nvec; i++)
		s->buf[i] = (float) vec[i];
	for (i = 0; i <= nscal; i++)
		if (!encode(i < nscal ? scal[i] : 1.0, s->buf + nvec + SYNC_DIGITS * i))
		{
			snprintf(s->error, sizeof(s->error), "a value to sum is not finite or too large (%g)",
					 i < nscal ? scal[i] : 1.0);
			return false;
		}
	if (ranges(s, true, (int64_t) (slot * s->slot), n, s->buf, clock) < 0)
		return failed(s, "pushing to the sync table");
	if (s->id == 0 && s->round >= 2 && s->npulled[old] > 0)
	{
		/* leave the slot of reduction round - 2 at exactly zero */
		for (i = 0; i < s->npulled[old]; i++)
			s->pulled[old][i] = -s->pulled[old][i];
		if (ranges(s, true, (int64_t) (old * s->slot), s->npulled[old], s->pulled[old], clock) < 0)
			return failed(s, "pushing to the sync table");
		s->npulled[old] = 0;
	}
	t = ranges(s, false, (int64_t) (slot * s->slot), n, got, clock + 1);
	if (t < 0 || ps_client_wait(s->c, t) != 0)
		return failed(s, "pulling from the sync table");
	s->npulled[slot] = n;
	s->round++;
	if (decode(got + nvec + SYNC_DIGITS * nscal) != s->workers)
	{
		snprintf(s->error, sizeof(s->error),
				 "reduction %lld summed %g workers' parts, not %d (a worker left or was dropped)",
				 (long long) s->round, decode(got + nvec + SYNC_DIGITS * nscal), s->workers);
		return false;
	}
	for (i = 0; i < nvec; i++)
		vec[i] = got[i];
	for (i = 0; i < nscal; i++)
		scal[i] = decode(got + nvec + SYNC_DIGITS * i);
	return true;
}
