/*-------------------------------------------------------------------------
 *
 * ps_train_batch.c
 *	  ps_train's batch methods, run by every worker over its shard of the
 *	  examples, all in step: each computes its shard's part of the loss,
 *	  the gradient, the Hessian's diagonal or a Hessian-vector product, a
 *	  reduction (ps_train_sync.c: through the parameter server) sums the
 *	  parts, and every worker then takes the same step from the same sums,
 *	  so the weights stay the same on all of them without being sent.
 *
 *	  L2: a trust-region Newton method, the one liblinear uses (TRON:
 *	  conjugate gradients with a diagonal preconditioner, Steihaug's stop
 *	  at the trust region's border): one reduction of 2 x keys values per
 *	  point tried, one of keys values per conjugate-gradient step.  Its
 *	  stopping test is a bound: the objective is lambda-strongly convex, so
 *	  objective - optimum <= ||gradient||^2 / (2 lambda).
 *
 *	  L1: over a shrinking working set of features, OWL-QN while it is
 *	  large, Newton steps (newGLMNET's) once it is small; in
 *	  ps_train_l1.c.
 *
 * Both stop once the bound is at most tolerance x objective, after
 * max_iterations, or when a worker asks to (the reductions carry it).
 *
 * Layer 12 (tools), in src/tools: plain C and src/common.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_train_batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_train_l1.h"
#include "ps_train_solver.h"

/* out = H v: lambda v plus the loss's Hessian at w times v, summed. */
static bool
hessian_times(Solver *s, const double *v, double *out)
{
	const BatchProblem *p = s->p;
	const Dataset *data = p->data;
	double		scal[1];
	size_t		r,
				j;

	memset(out, 0, sizeof(double) * s->d);
	for (r = 0; r < p->nrows; r++)
	{
		size_t		ex = p->rows[r];
		double		t = 0;

		for (j = data->start[ex]; j < data->start[ex + 1]; j++)
			t += v[data->slot[j]] * data->vals[j];
		t *= s->D[r];
		for (j = data->start[ex]; j < data->start[ex + 1]; j++)
			out[data->slot[j]] += t * data->vals[j];
	}
	if (!solver_reduce(s, out, s->d, scal, 0))
		return false;
	for (j = 0; j < s->d; j++)
		out[j] += p->lambda * v[j];
	return true;
}

static double
m_dot(const double *a, const double *M, const double *b, size_t n)
{
	double		t = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		t += a[i] * M[i] * b[i];
	return t;
}

/*
 * Preconditioned conjugate gradients for H s = -g within the trust
 * region ||s||_M <= delta (Steihaug); r ends as -g - H s.
 */
static bool
trpcg(Solver *s, double delta, const double *g, const double *M, double *st,
	  double *r, double *dvec, double *Hd, double *z, bool *boundary)
{
	size_t		n = s->d,
				i;
	double		zTr,
				cgtol;

	*boundary = false;
	for (i = 0; i < n; i++)
	{
		st[i] = 0;
		r[i] = -g[i];
		z[i] = r[i] / M[i];
		dvec[i] = z[i];
	}
	zTr = solver_dot(z, r, n);
	cgtol = 0.1 * sqrt(zTr);
	for (;;)
	{
		double		a,
					snorm,
					znewTr;

		if (sqrt(zTr) <= cgtol)
			break;
		if (!hessian_times(s, dvec, Hd))
			return false;
		if (s->stopped)
			return true;
		a = zTr / solver_dot(dvec, Hd, n);
		for (i = 0; i < n; i++)
			st[i] += a * dvec[i];
		snorm = sqrt(m_dot(st, M, st, n));
		if (snorm > delta)
		{
			double		sMd,
						sMs,
						dMd,
						rad;

			*boundary = true;
			for (i = 0; i < n; i++)
				st[i] -= a * dvec[i];
			sMd = m_dot(st, M, dvec, n);
			sMs = m_dot(st, M, st, n);
			dMd = m_dot(dvec, M, dvec, n);
			rad = sqrt(sMd * sMd + dMd * (delta * delta - sMs));
			a = sMd >= 0 ? (delta * delta - sMs) / (sMd + rad) : (rad - sMd) / dMd;
			for (i = 0; i < n; i++)
			{
				st[i] += a * dvec[i];
				r[i] -= a * Hd[i];
			}
			break;
		}
		for (i = 0; i < n; i++)
		{
			r[i] -= a * Hd[i];
			z[i] = r[i] / M[i];
		}
		znewTr = solver_dot(z, r, n);
		for (i = 0; i < n; i++)
			dvec[i] = z[i] + znewTr / zTr * dvec[i];
		zTr = znewTr;
	}
	return true;
}

static void
l2_status(Solver *s, BatchStatus *st, int iteration, double f, const double *w,
		  const double *g)
{
	size_t		i;

	st->iteration = iteration;
	st->inner = s->inner;
	st->objective = f;
	st->gap = solver_dot(g, g, s->d) / (2 * s->p->lambda);
	st->nnz = 0;
	for (i = 0; i < s->d; i++)
		st->nnz += w[i] != 0;
	st->w = w;
}

/*
 * w, just evaluated (the reduction buffer holds the loss's gradient and
 * Hessian diagonal there), becomes the current point: its gradient g of
 * the objective, liblinear's preconditioner M, and its rows' D.
 */
static void
take_point(Solver *s, const double *w, double *g, double *M)
{
	double		lambda = s->p->lambda,
			   *t = s->D;
	size_t		n = s->d,
				i;

	for (i = 0; i < n; i++)
	{
		g[i] = s->red[i] + lambda * w[i];
		M[i] = 0.99 * lambda + 0.01 * (lambda + s->red[n + i]);
	}
	s->D = s->Dt;
	s->Dt = t;
}

/* TRON, as liblinear 2.3 runs it for L2-regularised logistic regression */
static bool
train_l2(Solver *s, double *w, BatchStatus *st)
{
	const BatchProblem *p = s->p;
	size_t		n = s->d,
				i;
	double	   *g = solver_alloc(sizeof(double) * n),
			   *M = solver_alloc(sizeof(double) * n),
			   *wt = solver_alloc(sizeof(double) * n),
			   *sv = solver_alloc(sizeof(double) * n),
			   *r = solver_alloc(sizeof(double) * n),
			   *dv = solver_alloc(sizeof(double) * n),
			   *Hd = solver_alloc(sizeof(double) * n),
			   *z = solver_alloc(sizeof(double) * n);
	double		f,
				loss,
				delta;
	int			iter = 0;
	bool		ok = false;

	memset(w, 0, sizeof(double) * n);
	if (!solver_evaluate(s, w, true, 0, &loss, NULL))
		goto out;
	f = loss;
	take_point(s, w, g, M);
	/* the first radius: the length of a diagonal Newton step */
	{
		double		t = 0;

		for (i = 0; i < n; i++)
			t += g[i] * g[i] / M[i];
		delta = sqrt(t);
	}
	for (;;)
	{
		double		gs,
					sr,
					prered,
					actred,
					fnew,
					dnorm,
					a;
		bool		boundary;

		l2_status(s, st, iter, f, w, g);
		if (p->progress && p->progress(p->ctx, st))
			s->want_stop = true;
		if (s->stopped || st->gap <= p->tolerance * f || iter >= p->max_iterations)
			break;
		if (!trpcg(s, delta, g, M, sv, r, dv, Hd, z, &boundary))
			goto out;
		if (s->stopped)
			break;
		for (i = 0; i < n; i++)
			wt[i] = w[i] + sv[i];
		gs = solver_dot(g, sv, n);
		sr = solver_dot(sv, r, n);
		prered = -0.5 * (gs - sr);
		if (!solver_evaluate(s, wt, true, 0, &loss, NULL))
			goto out;
		if (s->stopped)
			break;
		fnew = loss + 0.5 * p->lambda * solver_dot(wt, wt, n);
		actred = f - fnew;
		dnorm = sqrt(m_dot(sv, M, sv, n));
		if (iter == 0)
			delta = fmin(delta, dnorm);
		a = fnew - f - gs <= 0 ? 4 : fmax(0.25, -0.5 * (gs / (fnew - f - gs)));
		if (actred < 1e-4 * prered)
			delta = fmin(a * dnorm, 0.5 * delta);
		else if (actred < 0.25 * prered)
			delta = fmax(0.25 * delta, fmin(a * dnorm, 0.5 * delta));
		else if (actred < 0.75 * prered)
			delta = fmax(0.25 * delta, fmin(a * dnorm, 4 * delta));
		else if (boundary)
			delta = 4 * delta;
		else
			delta = fmax(delta, fmin(a * dnorm, 4 * delta));
		iter++;
		if (actred > 1e-4 * prered)
		{
			memcpy(w, wt, sizeof(double) * n);
			f = fnew;
			take_point(s, w, g, M);
		}
		if (prered <= 0 ||
			(fabs(actred) <= 1e-12 * fabs(f) && fabs(prered) <= 1e-12 * fabs(f)))
		{
			l2_status(s, st, iter, f, w, g);
			break;
		}
	}
	ok = true;
out:
	free(g);
	free(M);
	free(wt);
	free(sv);
	free(r);
	free(dv);
	free(Hd);
	free(z);
	return ok;
}

size_t
batch_max_reduction(size_t nkeys, bool l1)
{
	size_t		m = 2 * nkeys;

	if (l1 && l1_max_reduction(nkeys) > m)
		m = l1_max_reduction(nkeys);
	return m;
}

bool
batch_train(const BatchProblem *p, double *w, BatchStatus *st)
{
	Solver		s;
	bool		ok;

	memset(&s, 0, sizeof(s));
	memset(st, 0, sizeof(BatchStatus));
	s.p = p;
	s.d = p->nkeys;
	s.red = solver_alloc(sizeof(double) * (2 * s.d + 1));
	s.D = solver_alloc(sizeof(double) * (p->nrows + 1));
	s.Dt = solver_alloc(sizeof(double) * (p->nrows + 1));
	ok = p->l1 ? batch_train_l1(&s, w, st) : train_l2(&s, w, st);
	st->inner = s.inner;
	st->w = w;
	free(s.red);
	free(s.D);
	free(s.Dt);
	free(s.alpha);
	free(s.alphat);
	free(s.act);
	free(s.pos);
	free(s.cstart);
	free(s.cidx);
	free(s.cval);
	return ok;
}
