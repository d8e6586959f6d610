/*-------------------------------------------------------------------------
 *
 * ps_train_solver.c
 *	  What ps_train's batch solvers share: memory, dot products, the
 *	  reduction (which carries every worker's stop request, so that all
 *	  stop at the same one), and the evaluation of the logistic loss, its
 *	  gradient and the Hessian's diagonal over a worker's shard, summed
 *	  over the workers.
 *
 * Layer 12 (tools), in src/tools: plain C and src/common.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_train_solver.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_logistic.h"

void *
solver_alloc(size_t n)
{
	void	   *p = calloc(n ? n : 1, 1);

	if (p == NULL)
	{
		fprintf(stderr, "ps_train: out of memory\n");
		exit(1);
	}
	return p;
}

double
solver_dot(const double *a, const double *b, size_t n)
{
	double		s = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* The reduction, carrying the stop requests; false if it failed. */
bool
solver_reduce(Solver *s, double *vec, size_t nvec, double *scal, size_t nscal)
{
	const BatchProblem *p = s->p;

	scal[nscal] = (s->want_stop || (p->stop && *p->stop)) ? 1 : 0;
	if (!p->reduce(p->ctx, vec, nvec, scal, nscal + 1))
		return false;
	s->inner++;
	if (scal[nscal] > 0.5)
		s->stopped = true;
	return true;
}

/* -a log a - (1 - a) log(1 - a) */
double
solver_entropy(double a)
{
	double		h = 0;

	if (a > 0 && a < 1)
		h = -a * log(a) - (1 - a) * log1p(-a);
	return h;
}

/*
 * The shard's loss at w, its gradient in red[0 .. d - 1] and (diag) the
 * Hessian's diagonal of the loss in red[d .. 2d - 1], summed over the
 * workers; D and alpha of the rows at w go to Dt and alphat.  scal[1]
 * brings back the sum of solver_entropy(scale x alpha) over the rows at the
 * current point (L1's dual), scale <= 0: not wanted.
 */
bool
solver_evaluate(Solver *s, const double *w, bool diag, double scale, double *loss,
		 double *dual)
{
	const BatchProblem *p = s->p;
	const Dataset *data = p->data;
	double	   *g = s->red,
			   *h = s->red + s->d;
	double		scal[3] = {0, 0, 0};
	size_t		r,
				j;

	memset(g, 0, sizeof(double) * s->d * (diag ? 2 : 1));
	for (r = 0; r < p->nrows; r++)
	{
		size_t		ex = p->rows[r];
		double		m = 0,
					y = data->labels[ex],
					sig,
					coef;

		for (j = data->start[ex]; j < data->start[ex + 1]; j++)
			m += w[data->slot[j]] * data->vals[j];
		scal[0] += ps_log1pexp(-y * m);
		sig = ps_sigmoid(-y * m);
		coef = -y * sig;
		for (j = data->start[ex]; j < data->start[ex + 1]; j++)
			g[data->slot[j]] += coef * data->vals[j];
		s->Dt[r] = sig * (1 - sig);
		if (diag)
			for (j = data->start[ex]; j < data->start[ex + 1]; j++)
				h[data->slot[j]] += s->Dt[r] * data->vals[j] * data->vals[j];
		if (s->alphat)
			s->alphat[r] = sig;
		if (scale > 0)
			scal[1] += solver_entropy(scale * s->alpha[r]);
	}
	if (!solver_reduce(s, s->red, s->d * (diag ? 2 : 1), scal, 2))
		return false;
	*loss = scal[0];
	if (dual)
		*dual = scal[1];
	return true;
}

