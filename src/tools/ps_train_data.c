/*-------------------------------------------------------------------------
 *
 * ps_train_data.c
 *	  ps_train's data: a LibSVM file read into compressed rows (each line
 *	  parsed by src/common/ps_libsvm.c; blank and comment lines skipped; a
 *	  malformed line is an error naming the file, the line and the byte),
 *	  the model's keys (every feature of the training and test sets, each
 *	  once, ascending), and the measures of a logistic model: loss,
 *	  accuracy, log-loss, AUC, and the L1 or L2 regulariser.
 *
 * Layer 12 (tools), in src/tools: plain C; uses src/common.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_train_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_libsvm.h"
#include "ps_logistic.h"

static void *
xrealloc(void *p, size_t size)
{
	void	   *q = realloc(p, size ? size : 1);

	if (q == NULL)
	{
		fprintf(stderr, "ps_train: out of memory (%zu bytes)\n", size);
		exit(1);
	}
	return q;
}

/*
 * Read the LibSVM file at path into d.  Returns false with err set (file,
 * line number, reason) if it cannot be read or a line is malformed.
 */
bool
dataset_load(const char *path, Dataset *d, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		linecap = 0,
				cap = 0,
				rowcap = 0,
				lineno = 0;
	ssize_t		len;

	memset(d, 0, sizeof(Dataset));
	if (f == NULL)
	{
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	d->start = xrealloc(NULL, sizeof(size_t));
	d->start[0] = 0;
	while ((len = getline(&line, &linecap, f)) >= 0)
	{
		size_t		room = PS_LIBSVM_MAX_FEATURES((size_t) len),
					n;
		float		label;
		PsLibsvmError perr;

		lineno++;
		if (ps_libsvm_blank(line, (size_t) len))
			continue;
		if (d->nnz + room > cap)
		{
			cap = (d->nnz + room) * 2;
			d->keys = xrealloc(d->keys, sizeof(int64_t) * cap);
			d->vals = xrealloc(d->vals, sizeof(float) * cap);
		}
		if (!ps_libsvm_parse(line, (size_t) len, &label, d->keys + d->nnz,
							 d->vals + d->nnz, room, &n, &perr))
		{
			snprintf(err, errlen, "%s:%zu: %s (at byte %zu)", path, lineno,
					 perr.reason, perr.offset + 1);
			free(line);
			fclose(f);
			return false;
		}
		if (d->n + 1 >= rowcap)
		{
			rowcap = rowcap ? rowcap * 2 : 1024;
			d->labels = xrealloc(d->labels, sizeof(float) * rowcap);
			d->start = xrealloc(d->start, sizeof(size_t) * (rowcap + 1));
		}
		d->labels[d->n] = label;
		d->nnz += n;
		d->n++;
		d->start[d->n] = d->nnz;
	}
	if (ferror(f))
	{
		snprintf(err, errlen, "%s: after line %zu: %s", path, lineno, strerror(errno));
		free(line);
		fclose(f);
		return false;
	}
	free(line);
	fclose(f);
	if (d->n == 0)
	{
		snprintf(err, errlen, "%s: no examples", path);
		return false;
	}
	return true;
}

void
dataset_free(Dataset *d)
{
	free(d->start);
	free(d->keys);
	free(d->vals);
	free(d->labels);
	free(d->slot);
	memset(d, 0, sizeof(Dataset));
}

typedef struct KeyId
{
	int64_t		key;
	int32_t		id;
} KeyId;

static int
cmp_key_id(const void *a, const void *b)
{
	int64_t		x = ((const KeyId *) a)->key,
				y = ((const KeyId *) b)->key;

	return (x > y) - (x < y);
}

/* The key table of model_keys: open addressing, ids by first sight. */
typedef struct KeyTable
{
	size_t		mask;			/* size - 1, a power of 2 */
	int			shift;			/* 64 - log2(size) */
	int64_t    *keys;
	int32_t    *ids;			/* -1: empty */
	size_t		n;				/* distinct keys so far */
} KeyTable;

/* Fibonacci hashing: the product's top bits, which every bit of k moves */
static size_t
key_hash(int64_t k, int shift)
{
	return (size_t) (((uint64_t) k * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
}

static void
key_table_init(KeyTable *t, size_t size)
{
	t->mask = size - 1;
	t->shift = 64;
	while (size > 1)
	{
		t->shift--;
		size >>= 1;
	}
	size = t->mask + 1;
	t->keys = xrealloc(NULL, sizeof(int64_t) * size);
	t->ids = xrealloc(NULL, sizeof(int32_t) * size);
	memset(t->ids, 0xff, sizeof(int32_t) * size);
	t->n = 0;
}

static int32_t
key_table_id(KeyTable *t, int64_t k)
{
	size_t		h;

	if (2 * (t->n + 1) > t->mask + 1)
	{
		KeyTable	big;
		size_t		i;

		key_table_init(&big, 2 * (t->mask + 1));
		for (i = 0; i <= t->mask; i++)
			if (t->ids[i] >= 0)
			{
				h = key_hash(t->keys[i], big.shift);
				while (big.ids[h] >= 0)
					h = (h + 1) & big.mask;
				big.keys[h] = t->keys[i];
				big.ids[h] = t->ids[i];
			}
		big.n = t->n;
		free(t->keys);
		free(t->ids);
		*t = big;
	}
	h = key_hash(k, t->shift);
	while (t->ids[h] >= 0)
	{
		if (t->keys[h] == k)
			return t->ids[h];
		h = (h + 1) & t->mask;
	}
	if (t->n >= (size_t) INT32_MAX)
	{
		fprintf(stderr, "ps_train: more than 2^31 - 1 distinct features\n");
		exit(1);
	}
	t->keys[h] = k;
	t->ids[h] = (int32_t) t->n;
	return (int32_t) t->n++;
}

/*
 * The model's keys: every feature of a and of b (NULL: none), once each,
 * ascending, in *keys; sets each data set's slot.  Returns how many.  A
 * hash table numbers the keys as they come, and one sort of the distinct
 * keys turns those numbers into ranks.
 */
size_t
model_keys(Dataset *a, Dataset *b, int64_t **keys)
{
	Dataset    *sets[2] = {a, b};
	KeyTable	t;
	KeyId	   *order;
	int32_t    *rank;
	int64_t    *k;
	size_t		i;
	int			s;

	key_table_init(&t, 1 << 16);
	for (s = 0; s < 2; s++)
	{
		Dataset    *d = sets[s];

		if (d == NULL)
			continue;
		d->slot = xrealloc(d->slot, sizeof(int32_t) * (d->nnz + 1));
		for (i = 0; i < d->nnz; i++)
			d->slot[i] = key_table_id(&t, d->keys[i]);
	}
	order = xrealloc(NULL, sizeof(KeyId) * (t.n + 1));
	for (i = 0; i <= t.mask; i++)
		if (t.ids[i] >= 0)
		{
			order[t.ids[i]].key = t.keys[i];
			order[t.ids[i]].id = t.ids[i];
		}
	qsort(order, t.n, sizeof(KeyId), cmp_key_id);
	rank = xrealloc(NULL, sizeof(int32_t) * (t.n + 1));
	k = xrealloc(NULL, sizeof(int64_t) * (t.n + 1));
	for (i = 0; i < t.n; i++)
	{
		rank[order[i].id] = (int32_t) i;
		k[i] = order[i].key;
	}
	for (s = 0; s < 2; s++)
	{
		Dataset    *d = sets[s];

		if (d == NULL)
			continue;
		for (i = 0; i < d->nnz; i++)
			d->slot[i] = rank[d->slot[i]];
	}
	free(order);
	free(rank);
	free(t.keys);
	free(t.ids);
	*keys = k;
	return t.n;
}

typedef struct Scored
{
	double		score;
	float		label;
} Scored;

static int
cmp_score(const void *a, const void *b)
{
	double		x = ((const Scored *) a)->score,
				y = ((const Scored *) b)->score;

	return (x > y) - (x < y);
}

/*
 * The loss, accuracy, log-loss and AUC of weights w (one per model key,
 * by slot) on d.  AUC by ranks, ties sharing their mean rank.
 */
void
measure(const Dataset *d, const float *w, Measures *m)
{
	Scored	   *s = xrealloc(NULL, sizeof(Scored) * d->n);
	size_t		i,
				j,
				right = 0,
				npos = 0;
	double		ranksum = 0;

	m->loss = 0;
	for (i = 0; i < d->n; i++)
	{
		double		margin = 0;

		for (j = d->start[i]; j < d->start[i + 1]; j++)
			margin += (double) w[d->slot[j]] * d->vals[j];
		m->loss += ps_log1pexp(-d->labels[i] * margin);
		right += (margin > 0) == (d->labels[i] > 0);
		s[i].score = margin;
		s[i].label = d->labels[i];
		npos += d->labels[i] > 0;
	}
	qsort(s, d->n, sizeof(Scored), cmp_score);
	for (i = 0; i < d->n; i = j)
	{
		double		rank;
		size_t		k;

		for (j = i + 1; j < d->n && s[j].score == s[i].score; j++)
			;
		rank = (double) (i + 1 + j) / 2;	/* mean of ranks i + 1 .. j */
		for (k = i; k < j; k++)
			if (s[k].label > 0)
				ranksum += rank;
	}
	m->accuracy = (double) right / d->n;
	m->logloss = m->loss / d->n;
	m->auc = npos == 0 || npos == d->n ? NAN :
		(ranksum - (double) npos * (npos + 1) / 2) / ((double) npos * (d->n - npos));
	free(s);
}

/* lambda ||w||_1 or lambda / 2 ||w||^2; the nonzero weights in *nnz. */
double
regulariser(const float *w, size_t n, bool l1, double lambda, size_t *nnz)
{
	double		r = 0;
	size_t		i;

	*nnz = 0;
	for (i = 0; i < n; i++)
	{
		*nnz += w[i] != 0;
		r += l1 ? fabs(w[i]) : 0.5 * (double) w[i] * w[i];
	}
	return lambda * r;
}
