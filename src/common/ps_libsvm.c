/*-------------------------------------------------------------------------
 *
 * ps_libsvm.c
 *	  Parsing one line of LibSVM text (see ps_libsvm.h for the syntax).
 *
 * The line need not end in a NUL: every token is bounded by len.  Numbers
 * are checked for their characters before strtod reads them (so no "inf",
 * "nan" or hexadecimal), copied into a bounded buffer, and must be finite
 * within float range.  Errors give a fixed reason and the offset of the
 * token.
 *
 * Layer 1 (pure code), in src/common: no PostgreSQL header, no allocation.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_libsvm.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NUMBER_MAX 64			/* the longest number read */

static bool
fail(PsLibsvmError *err, const char *reason, size_t offset)
{
	err->reason = reason;
	err->offset = offset;
	return false;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The end of the meaningful part of the line: before a comment. */
static size_t
content_end(const char *line, size_t len)
{
	const char *hash = memchr(line, '#', len);

	return hash ? (size_t) (hash - line) : len;
}

/* Nothing but blanks and a comment? */
bool
ps_libsvm_blank(const char *line, size_t len)
{
	size_t		end = content_end(line, len),
				i;

	for (i = 0; i < end; i++)
		if (!is_blank(line[i]))
			return false;
	return true;
}

/* A decimal number line[from .. to - 1] into *out (finite, float range). */
static bool
read_number(const char *line, size_t from, size_t to, double *out)
{
	char		buf[NUMBER_MAX + 1];
	char	   *end;
	size_t		i;
	bool		digit = false;

	if (to <= from || to - from > NUMBER_MAX)
		return false;
	for (i = from; i < to; i++)
	{
		char		c = line[i];

		if (c >= '0' && c <= '9')
			digit = true;
		else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E')
			return false;
	}
	if (!digit)
		return false;
	memcpy(buf, line + from, to - from);
	buf[to - from] = '\0';
	*out = strtod(buf, &end);
	return *end == '\0' && isfinite(*out) && fabs(*out) <= FLT_MAX;
}

/* A decimal id line[from .. to - 1] (up to 2^64 - 1) into *out. */
static bool
read_id(const char *line, size_t from, size_t to, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (to <= from)
		return false;
	for (i = from; i < to; i++)
	{
		unsigned	d = (unsigned) (line[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/*
 * Parse line[0 .. len - 1]: the label (+1 or -1) into *label, its features
 * into ids and vals (at most cap; PS_LIBSVM_MAX_FEATURES(len) always do),
 * their number into *n, in the order of the line.  Returns false with err
 * set on a malformed line (a blank one too).
 */
bool
ps_libsvm_parse(const char *line, size_t len, float *label, int64_t *ids,
				float *vals, size_t cap, size_t *n, PsLibsvmError *err)
{
	size_t		end = content_end(line, len),
				i = 0,
				m = 0;
	bool		have_label = false;

	*n = 0;
	while (i < end)
	{
		size_t		tok,
					colon,
					stop;
		double		v;
		uint64_t	id;

		while (i < end && is_blank(line[i]))
			i++;
		if (i >= end)
			break;
		tok = i;
		while (i < end && !is_blank(line[i]))
			i++;
		stop = i;
		if (!have_label)
		{
			if (!read_number(line, tok, stop, &v))
				return fail(err, "the label is not a number", tok);
			if (v == 1)
				*label = 1.0f;
			else if (v == -1 || v == 0)
				*label = -1.0f;
			else
				return fail(err, "the label is not +1, -1, 1 or 0", tok);
			have_label = true;
			continue;
		}
		for (colon = tok; colon < stop && line[colon] != ':'; colon++)
			;
		if (colon >= stop)
			return fail(err, "a feature is not id:value", tok);
		if (colon - tok == 3 && memcmp(line + tok, "qid", 3) == 0)
			continue;			/* a ranking file's query id */
		if (!read_id(line, tok, colon, &id))
			return fail(err, "a feature id is not a decimal integer below 2^64", tok);
		if (!read_number(line, colon + 1, stop, &v))
			return fail(err, "a feature value is not a finite number within float range",
						colon + 1);
		if (m >= cap)
			return fail(err, "more features than room for them", tok);
		ids[m] = (int64_t) id;
		vals[m] = (float) v;
		m++;
	}
	if (!have_label)
		return fail(err, "the line has no label", 0);
	*n = m;
	return true;
}
