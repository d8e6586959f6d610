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

#include "ps_train_solver.h"

/*
 * Minimise the objective from w = 0: L2 by a trust-region Newton method
 * (conjugate gradients, diagonal preconditioner), L1 by OWL-QN.  w holds
 * nkeys weights at the end.  Returns false if a reduction failed.
 */
extern bool batch_train(const BatchProblem *p, double *w, BatchStatus *st);

#endif							/* PS_TRAIN_BATCH_H */
