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
 * (conjugate gradients, diagonal preconditioner), L1 over a shrinking
 * working set by OWL-QN, then Newton steps once the set is small.  w holds
 * nkeys weights at the end.  Returns false if a reduction failed.
 */
extern bool batch_train(const BatchProblem *p, double *w, BatchStatus *st);

/* The most values a reduction of batch_train sums, for nkeys keys. */
extern size_t batch_max_reduction(size_t nkeys, bool l1);

#endif							/* PS_TRAIN_BATCH_H */
