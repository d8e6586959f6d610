/*
 * ps_bench_codecs.c
 *	  Which compressor for the wire format's values and keys: LZ4, zstd or
 *	  Snappy (Debian's liblz4-dev, libzstd-dev, libsnappy-dev), measured on
 *	  the sections of real pushes and pulls.  Run by hand:
 *
 *	  gcc -O2 -Isrc/common test/bench/ps_bench_codecs.c src/common/ps_wire.c \
 *		  -llz4 -lzstd -lsnappy -lm -o /tmp/ps_bench_codecs
 *	  /tmp/ps_bench_codecs ../shared/data/brown.train.svm
 *
 * From the first 1000 examples of a LibSVM file (a worker's minibatch) it
 * builds: the key section of their distinct features (varints, as the
 * wire sends them); the gradient of the logistic loss at w = 0 (values
 * (p - y) x summed per feature: multiples of 0.5 for binary features) and
 * at a w of small random weights (continuous values), float32 as sent;
 * and the values of a pull of 100k weights of which 95% are zero, dense
 * and in the wire's sparse form.  For each section and codec it prints the
 * ratio (original / compressed) and the compression and decompression
 * speeds (MB/s of original bytes, best of 5).
 */
#include <lz4.h>
#include <math.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "ps_wire.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

typedef struct Codec
{
	const char *name;
	size_t		(*bound) (size_t n);
	size_t		(*comp) (const char *src, size_t n, char *dst, size_t cap);
	size_t		(*decomp) (const char *src, size_t n, char *dst, size_t cap);
} Codec;

static size_t lz4_bound(size_t n) { return (size_t) LZ4_compressBound((int) n); }
static size_t lz4_comp(const char *s, size_t n, char *d, size_t cap) { return (size_t) LZ4_compress_default(s, d, (int) n, (int) cap); }
static size_t lz4_decomp(const char *s, size_t n, char *d, size_t cap) { return (size_t) LZ4_decompress_safe(s, d, (int) n, (int) cap); }
static size_t zstd_bound(size_t n) { return ZSTD_compressBound(n); }
static size_t zstd1_comp(const char *s, size_t n, char *d, size_t cap) { return ZSTD_compress(d, cap, s, n, 1); }
static size_t zstd3_comp(const char *s, size_t n, char *d, size_t cap) { return ZSTD_compress(d, cap, s, n, 3); }
static size_t zstd_decomp(const char *s, size_t n, char *d, size_t cap) { return ZSTD_decompress(d, cap, s, n); }
static size_t snappy_bound(size_t n) { return snappy_max_compressed_length(n); }
static size_t snappy_comp(const char *s, size_t n, char *d, size_t cap) { size_t l = cap; return snappy_compress(s, n, d, &l) == SNAPPY_OK ? l : 0; }
static size_t snappy_decomp(const char *s, size_t n, char *d, size_t cap) { size_t l = cap; return snappy_uncompress(s, n, d, &l) == SNAPPY_OK ? l : 0; }

static const Codec codecs[] = {
	{"lz4", lz4_bound, lz4_comp, lz4_decomp},
	{"zstd -1", zstd_bound, zstd1_comp, zstd_decomp},
	{"zstd -3", zstd_bound, zstd3_comp, zstd_decomp},
	{"snappy", snappy_bound, snappy_comp, snappy_decomp},
};

static void
measure(const char *what, const void *data, size_t n)
{
	size_t		c;

	for (c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++)
	{
		const Codec *k = &codecs[c];
		char	   *comp = malloc(k->bound(n));
		char	   *back = malloc(n);
		size_t		clen = 0;
		double		best_c = 1e9,
					best_d = 1e9;
		int			r;

		for (r = 0; r < 5; r++)
		{
			double		t0 = now_s();

			clen = k->comp(data, n, comp, k->bound(n));
			best_c = fmin(best_c, now_s() - t0);
			t0 = now_s();
			if (k->decomp(comp, clen, back, n) != n || memcmp(back, data, n) != 0)
			{
				fprintf(stderr, "%s: %s did not round-trip\n", what, k->name);
				exit(1);
			}
			best_d = fmin(best_d, now_s() - t0);
		}
		printf("| %-44s | %9zu | %-7s | %6.2fx | %8.0f | %8.0f |\n", what, n, k->name,
			   (double) n / clen, n / best_c / 1e6, n / best_d / 1e6);
		free(comp);
		free(back);
	}
}

int
main(int argc, char **argv)
{
	FILE	   *f = fopen(argc > 1 ? argv[1] : "../shared/data/brown.train.svm", "r");
	static char line[1 << 20];
	int64_t    *fk = malloc(sizeof(int64_t) * 4000000);
	float	   *fy = malloc(sizeof(float) * 1000);
	int		   *fex = malloc(sizeof(int) * 4000000);
	size_t		nf = 0,
				i,
				m = 0;
	int			ex = 0;
	int64_t    *keys;
	float	   *g0,
			   *g1,
			   *w;
	uint8_t    *msg;
	size_t		len;
	PsWireMsg	pm;
	PsWireError err;
	unsigned	seed = 7;

	if (f == NULL)
	{
		perror("open");
		return 1;
	}
	while (ex < 1000 && fgets(line, sizeof(line), f))
	{
		char	   *p = line,
				   *e;

		fy[ex] = strtod(p, &e) > 0 ? 1 : 0;
		for (p = e; *p;)
		{
			long long	k = strtoll(p, &e, 10);

			if (e == p || *e != ':')
				break;
			strtod(e + 1, &p);
			fk[nf] = k;
			fex[nf++] = ex;
		}
		ex++;
	}
	fclose(f);

	/* distinct features of the minibatch, sorted */
	keys = malloc(sizeof(int64_t) * nf);
	memcpy(keys, fk, sizeof(int64_t) * nf);
	qsort(keys, nf, sizeof(int64_t), cmp_i64);
	for (i = 0; i < nf; i++)
		if (m == 0 || keys[i] != keys[m - 1])
			keys[m++] = keys[i];

	/* gradients at w = 0 (p = 0.5) and at small random weights */
	g0 = calloc(m, sizeof(float));
	g1 = calloc(m, sizeof(float));
	w = malloc(sizeof(float) * m);
	for (i = 0; i < m; i++)
		w[i] = ((float) rand_r(&seed) / RAND_MAX - 0.5f) * 0.2f;
	{
		double	   *margin = calloc(ex, sizeof(double));

		for (i = 0; i < nf; i++)
		{
			int64_t    *at = bsearch(&fk[i], keys, m, sizeof(int64_t), cmp_i64);

			margin[fex[i]] += w[at - keys];
		}
		for (i = 0; i < nf; i++)
		{
			int64_t    *at = bsearch(&fk[i], keys, m, sizeof(int64_t), cmp_i64);
			double		p1 = 1 / (1 + exp(-margin[fex[i]]));

			g0[at - keys] += 0.5f - fy[fex[i]];
			g1[at - keys] += (float) (p1 - fy[fex[i]]);
		}
		free(margin);
	}

	printf("%d examples, %zu feature occurrences, %zu distinct features\n\n", ex, nf, m);
	printf("| %-44s | %9s | %-7s | %7s | %8s | %8s |\n", "section", "bytes", "codec", "ratio", "comp MB/s", "dec MB/s");
	printf("|----------------------------------------------|-----------|---------|---------|----------|----------|\n");
	msg = malloc(ps_wire_bound(m, 1, 1, 1));
	len = ps_wire_encode(msg, PS_WIRE_PUSH, m, 1, NULL, 0, keys, 0, g0, false);
	if (!ps_wire_parse(msg, len, &pm, &err))
		return 1;
	measure("keys: varints of the minibatch's features", pm.keys, pm.keys_len);
	measure("values: gradient at w = 0 (float32)", g0, m * 4);
	measure("values: gradient at random w (float32)", g1, m * 4);
	{
		size_t		n = 100000;
		float	   *pw = calloc(n, sizeof(float));
		uint8_t    *sp = malloc(ps_wire_bound(n, 1, 0, 1));
		size_t		sl;

		for (i = 0; i < n; i++)
			if (rand_r(&seed) % 20 == 0)
				pw[i] = ((float) rand_r(&seed) / RAND_MAX - 0.5f);
		measure("pull of 100k L1 weights, 95% zero, dense", pw, n * 4);
		sl = ps_wire_encode(sp, PS_WIRE_VALUES, n, 1, NULL, 0, NULL, 0, pw, true);
		printf("| %-44s | %9zu | %-7s | %6.2fx |          |          |\n",
			   "the same in the wire's sparse form", sl - 16, "none", (double) n * 4 / (sl - 16));
		measure("the same, sparse form", sp + 16, sl - 16);
	}
	return 0;
}
