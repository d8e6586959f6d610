/*-------------------------------------------------------------------------
 *
 * ps_train_batch.h
 *	  ps_train's batch methods: the full-gradient solvers each worker runs
 *	  over its shard, all workers in step, summing their parts through a
 *	  reduction (ps_train_sync.c).
 *
 * Layer 12 (tools), in src/tools; for ps_train's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_TRAIN_BATCH_H
#define PS_TRAIN_BATCH_H

#include "ps_train_data.h"

/*
 * Sums vec[0 .. nvec - 1] (to float precision) and scal[0 .. nscal - 1]
 * (to about 1e-11 absolute) over every worker, in place; every worker
 * gets the same sums.  Returns false on failure (the reduction keeps why).
 */
typedef bool (*BatchReduce) (void *ctx, double *vec, size_t nvec,
							 double *scal, size_t nscal);

/* Where a run stands after an iteration (the same on every worker). */
typedef struct BatchStatus
{
	int			iteration;		/* outer iterations (Newton, quasi-Newton) */
	int64_t		inner;			/* reductions so far */
	double		objective;
	double		gap;			/* bound on objective - optimum; inf: none yet */
	size_t		nnz;
	const double *w;			/* the weights, by model slot */
} BatchStatus;

/*
 * Called after each iteration; returns true to stop (a limit reached).
 * A stop, asked for here or through *stop, takes effect on every worker
 * at the same reduction: each one carries the workers' stop requests.
 */
typedef bool (*BatchProgress) (void *ctx, const BatchStatus *st);

typedef struct BatchProblem
{
	const Dataset *data;
	const size_t *rows;			/* this worker's examples */
	size_t		nrows;
	size_t		nkeys;			/* model slots */
	bool		l1;
	double		lambda;
	double		tolerance;		/* stop once gap <= tolerance * objective */
	int			max_iterations;
	BatchReduce reduce;
	BatchProgress progress;
	void	   *ctx;
	volatile int *stop;			/* nonzero: stop (seen by all at a reduction) */
} BatchProblem;

/*
 * Minimise the objective from w = 0: L2 by a trust-region Newton method
 * (conjugate gradients, diagonal preconditioner), L1 by OWL-QN.  w holds
 * nkeys weights at the end.  Returns false if a reduction failed.
 */
extern bool batch_train(const BatchProblem *p, double *w, BatchStatus *st);

#endif							/* PS_TRAIN_BATCH_H */
