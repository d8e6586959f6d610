/*
 * bench_util.h
 *	  What the benchmark clients share: a monotonic clock and libpq's
 *	  binary array format.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INT8OID 20
#define FLOAT4OID 700
#define INT8ARRAYOID 1016
#define FLOAT4ARRAYOID 1021

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* binary array of n elements of elemsize bytes (network order) */
static char *
bin_array(uint32_t elemtype, int n, int elemsize, const void *data, int *len)
{
	int			total = 20 + n * (4 + elemsize);
	char	   *buf = malloc(total);
	char	   *p = buf;
	uint32_t	v;
	int			i;

	v = htonl(1);
	memcpy(p, &v, 4);
	p += 4;						/* ndim */
	v = 0;
	memcpy(p, &v, 4);
	p += 4;						/* no nulls */
	v = htonl(elemtype);
	memcpy(p, &v, 4);
	p += 4;
	v = htonl(n);
	memcpy(p, &v, 4);
	p += 4;
	v = htonl(1);
	memcpy(p, &v, 4);
	p += 4;						/* lower bound */
	for (i = 0; i < n; i++)
	{
		v = htonl(elemsize);
		memcpy(p, &v, 4);
		p += 4;
		if (elemsize == 8)
		{
			uint64_t	x;

			memcpy(&x, (const char *) data + 8 * i, 8);
			x = ((uint64_t) htonl((uint32_t) x) << 32) | htonl((uint32_t) (x >> 32));
			memcpy(p, &x, 8);
		}
		else
		{
			uint32_t	x;

			memcpy(&x, (const char *) data + 4 * i, 4);
			x = htonl(x);
			memcpy(p, &x, 4);
		}
		p += elemsize;
	}
	*len = total;
	return buf;
}

#endif							/* BENCH_UTIL_H */
