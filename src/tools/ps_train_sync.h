/*-------------------------------------------------------------------------
 *
 * ps_train_sync.h
 *	  ps_train's reduction through the parameter server: every worker's
 *	  vector summed by a ps table under sequential consistency.
 *
 * Layer 12 (tools), in src/tools; for ps_train's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_TRAIN_SYNC_H
#define PS_TRAIN_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ps_client.h>

typedef struct Sync
{
	PsClient   *c;
	const char *table;			/* the sync table */
	int			wid;			/* the worker's id there (ps_join) */
	int			id;				/* 0 .. workers - 1 */
	int			workers;
	int64_t		round;
	size_t		slot;			/* keys a slot: the largest reduction */
	float	   *buf;
	float	   *pulled[3];		/* what each slot held when last pulled */
	size_t		npulled[3];
	char		error[1024];
} Sync;

extern bool sync_init(Sync *s, PsClient *c, const char *table, int wid, int id,
					  int workers, size_t max_vec, size_t max_scal);
extern bool sync_reduce(Sync *s, double *vec, size_t nvec, double *scal,
						size_t nscal);
extern void sync_free(Sync *s);

#endif							/* PS_TRAIN_SYNC_H */
