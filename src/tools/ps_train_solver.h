/*-------------------------------------------------------------------------
 *
 * ps_train_solver.h
 *	  What ps_train's batch solvers share: the problem a worker solves
 *	  (its shard, the regulariser, the reduction and progress callbacks),
 *	  the solver's state, the reduction that carries the workers' stop
 *	  requests, and the evaluation of the loss and its gradient over a
 *	  worker's shard.
 *
 * Layer 12 (tools), in src/tools; for ps_train's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_TRAIN_SOLVER_H
#define PS_TRAIN_SOLVER_H

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

typedef struct Solver
{
	const BatchProblem *p;
	size_t		d;
	double	   *red;			/* reduction buffer: 2 x d */
	double	   *D,				/* per row: sigma (1 - sigma) at w, */
			   *Dt;				/* ... and at the point tried */
	double	   *alpha,			/* per row: sigmoid(-y w.x) at w (L1), */
			   *alphat;			/* ... and at the point tried */
	int64_t		inner;
	/* L1's active features */
	size_t		na;
	int32_t    *act,			/* active index -> model slot */
			   *pos;			/* model slot -> active index, or -1 */
	size_t	   *cstart;			/* the shard's rows over the active features */
	int32_t    *cidx;
	float	   *cval;
	bool		want_stop;		/* the progress callback asked */
	bool		stopped;		/* a reduction said some worker asked */
} Solver;

extern void *solver_alloc(size_t n);
extern double solver_dot(const double *a, const double *b, size_t n);
extern bool solver_reduce(Solver *s, double *vec, size_t nvec, double *scal,
						  size_t nscal);
extern double solver_entropy(double a);
extern bool solver_evaluate(Solver *s, const double *w, bool diag, double scale,
							double *loss, double *dual);

#endif							/* PS_TRAIN_SOLVER_H */
