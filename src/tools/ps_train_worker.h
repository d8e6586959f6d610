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
	/* the batch method (ps_train_batch.c) */
	bool		full_batch;		/* --method batch */
	double		tolerance;
	int			max_iterations;
	double		target;			/* stop at this objective */
	const char *sync_table;		/* the reductions' table */
	const int64_t *keys;		/* the model's keys, by slot */
	size_t		nkeys;
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
	volatile int joined;		/* joined its table (the model, or batch: the sync table) */
	volatile int finished;		/* 1: done, 2: failed (error says why) */
	char		error[2048];
} WorkerReport;

typedef struct TrainShared
{
	volatile int stop;			/* the coordinator asks the workers to end */
	volatile int64_t measured;	/* epochs the coordinator has measured */
	/* the batch method, from worker 0 */
	volatile int64_t iterations,
				reductions;
	volatile double objective,
				gap;
	WorkerReport w[PS_TRAIN_MAX_WORKERS];
} TrainShared;

extern int	worker_main(const TrainOptions *o, const Dataset *train, int id,
						TrainShared *sh);

#endif							/* PS_TRAIN_WORKER_H */
