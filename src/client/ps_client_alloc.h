/*-------------------------------------------------------------------------
 *
 * ps_client_alloc.h
 *	  malloc for the client library's files: out of memory aborts with a
 *	  message (the library's calls have no way to report it mid-task).
 *
 * Layer 11 (client library), in src/client; for the library's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_ALLOC_H
#define PS_CLIENT_ALLOC_H

#include <stdio.h>
#include <stdlib.h>

static inline void *
ps_client_malloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "ps_client: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

#endif							/* PS_CLIENT_ALLOC_H */
