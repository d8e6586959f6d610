/*-------------------------------------------------------------------------
 *
 * ps_train_worker.h
 *	  ps_train's worker processes: what they are told, and what they
 *	  report through memory shared with the coordinator.
 *
 * Layer 12 (tools), in src/tools; for ps_train's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_TRAIN_WORKER_H
#define PS_TRAIN_WORKER_H

#include <stdint.h>

#include "ps_train_data.h"

#define PS_TRAIN_MAX_WORKERS 64

typedef struct TrainOptions
{
	const char *server;
	const char *table;
	int			workers;
	bool		l1;
	double		lambda;
	int			epochs;
	int			batch;			/* examples a minibatch */
	double		learning_rate;
	bool		kkt;			/* the client's KKT filter (L1) */
	bool		compress;
} TrainOptions;

/* One worker's counters; written by it, read by the coordinator. */
typedef struct WorkerReport
{
	volatile int64_t epochs_done;
	volatile int64_t clock;
	volatile int64_t examples;
	volatile uint64_t bytes_pushed,
				bytes_pulled,
				filtered;
	volatile int64_t wait_us;	/* in pulls: the consistency model's waits
								 * and the pulls themselves */
	volatile int finished;		/* 1: done, 2: failed (error says why) */
	char		error[2048];
} WorkerReport;

typedef struct TrainShared
{
	volatile int stop;			/* the coordinator asks the workers to end */
	volatile int64_t measured;	/* epochs the coordinator has measured */
	WorkerReport w[PS_TRAIN_MAX_WORKERS];
} TrainShared;

extern int	worker_main(const TrainOptions *o, const Dataset *train, int id,
						TrainShared *sh);

#endif							/* PS_TRAIN_WORKER_H */
