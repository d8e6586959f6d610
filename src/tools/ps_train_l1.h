/*-------------------------------------------------------------------------
 *
 * ps_train_l1.h
 *	  ps_train's batch solver for L1: OWL-QN over a shrinking set of
 *	  active features.
 *
 * Layer 12 (tools), in src/tools; for ps_train's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_TRAIN_L1_H
#define PS_TRAIN_L1_H

#include "ps_train_solver.h"

extern bool batch_train_l1(Solver *s, double *w, BatchStatus *st);
extern size_t l1_max_reduction(size_t nkeys);

#endif							/* PS_TRAIN_L1_H */
