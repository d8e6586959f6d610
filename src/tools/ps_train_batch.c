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
 *	  L1: OWL-QN (limited-memory quasi-Newton restricted to an orthant,
 *	  Andrew and Gao 2007): one reduction of keys values per point tried.
 *	  Its stopping test is the duality gap of a dual point made from the
 *	  primal one (alpha_i = sigmoid(-y_i w.x_i), scaled into the dual's
 *	  box), whose entropy term comes back with the next point's reduction;
 *	  the gap is loose until very near the optimum, so it also stops when
 *	  the objective fell by less than tolerance / 10 of itself over
 *	  L1_STALL iterations (a test that certifies nothing).
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

#include "ps_logistic.h"

/* L1 stops when the objective fell by less than tolerance / 10 over this many iterations */
#define L1_STALL 20

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
	bool		want_stop;		/* the progress callback asked */
	bool		stopped;		/* a reduction said some worker asked */
} Solver;

static void *
xalloc(size_t n)
{
	void	   *p = calloc(n ? n : 1, 1);

	if (p == NULL)
	{
		fprintf(stderr, "ps_train: out of memory\n");
		exit(1);
	}
	return p;
}

static double
dot(const double *a, const double *b, size_t n)
{
	double		s = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* The reduction, carrying the stop requests; false if it failed. */
static bool
reduce(Solver *s, double *vec, size_t nvec, double *scal, size_t nscal)
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
static double
entropy(double a)
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
 * brings back the sum of entropy(scale x alpha) over the rows at the
 * current point (L1's dual), scale <= 0: not wanted.
 */
static bool
evaluate(Solver *s, const double *w, bool diag, double scale, double *loss,
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
			scal[1] += entropy(scale * s->alpha[r]);
	}
	if (!reduce(s, s->red, s->d * (diag ? 2 : 1), scal, 2))
		return false;
	*loss = scal[0];
	if (dual)
		*dual = scal[1];
	return true;
}

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
	if (!reduce(s, out, s->d, scal, 0))
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
	zTr = dot(z, r, n);
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
		a = zTr / dot(dvec, Hd, n);
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
		znewTr = dot(z, r, n);
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
	st->gap = dot(g, g, s->d) / (2 * s->p->lambda);
	st->nnz = 0;
	for (i = 0; i < s->d; i++)
		st->nnz += w[i] != 0;
	st->w = w;
}

/* TRON, as liblinear 2.3 runs it for L2-regularised logistic regression */
static bool
train_l2(Solver *s, double *w, BatchStatus *st)
{
	const BatchProblem *p = s->p;
	size_t		n = s->d,
				i;
	double	   *g = xalloc(sizeof(double) * n),
			   *Mraw = xalloc(sizeof(double) * n),
			   *M = xalloc(sizeof(double) * n),
			   *wt = xalloc(sizeof(double) * n),
			   *sv = xalloc(sizeof(double) * n),
			   *r = xalloc(sizeof(double) * n),
			   *dv = xalloc(sizeof(double) * n),
			   *Hd = xalloc(sizeof(double) * n),
			   *z = xalloc(sizeof(double) * n);
	double		f,
				loss,
				delta;
	int			iter = 0;
	bool		ok = false;

	memset(w, 0, sizeof(double) * n);
	if (!evaluate(s, w, true, 0, &loss, NULL))
		goto out;
	f = loss;
	memcpy(g, s->red, sizeof(double) * n);
	memcpy(Mraw, s->red + n, sizeof(double) * n);
	{
		double	   *t = s->D;

		s->D = s->Dt;
		s->Dt = t;
	}
	for (i = 0; i < n; i++)
		M[i] = 0.99 * p->lambda + 0.01 * (p->lambda + Mraw[i]);
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
		gs = dot(g, sv, n);
		sr = dot(sv, r, n);
		prered = -0.5 * (gs - sr);
		if (!evaluate(s, wt, true, 0, &loss, NULL))
			goto out;
		if (s->stopped)
			break;
		fnew = loss + 0.5 * p->lambda * dot(wt, wt, n);
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
			double	   *t = s->D;

			memcpy(w, wt, sizeof(double) * n);
			f = fnew;
			for (i = 0; i < n; i++)
			{
				g[i] = s->red[i] + p->lambda * w[i];
				M[i] = 0.99 * p->lambda + 0.01 * (p->lambda + s->red[n + i]);
			}
			s->D = s->Dt;
			s->Dt = t;
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
	free(Mraw);
	free(M);
	free(wt);
	free(sv);
	free(r);
	free(dv);
	free(Hd);
	free(z);
	return ok;
}

/* OWL-QN's pseudo-gradient of loss + lambda ||w||_1 */
static void
pseudo_gradient(const double *w, const double *gl, double lambda, size_t n,
				double *pg)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		if (w[i] > 0)
			pg[i] = gl[i] + lambda;
		else if (w[i] < 0)
			pg[i] = gl[i] - lambda;
		else if (gl[i] + lambda < 0)
			pg[i] = gl[i] + lambda;
		else if (gl[i] - lambda > 0)
			pg[i] = gl[i] - lambda;
		else
			pg[i] = 0;
	}
}

static double
l1_norm(const double *w, size_t n, size_t *nnz)
{
	double		t = 0;
	size_t		i;

	*nnz = 0;
	for (i = 0; i < n; i++)
	{
		t += fabs(w[i]);
		*nnz += w[i] != 0;
	}
	return t;
}

/*
 * L1: OWL-QN.  The quasi-Newton direction of the pseudo-gradient, kept
 * in its orthant; a backtracking line search projected on the orthant of
 * w's signs (a zero weight takes the sign that descends).
 */
static bool
train_l1(Solver *s, double *w, BatchStatus *st)
{
	const BatchProblem *p = s->p;
	size_t		n = s->d,
				i;
	int			mem = n <= 2000000 ? 10 : (int) fmax(3, 20000000.0 / n),
				npairs = 0,
				newest = -1,
				iter = 0,
				k;
	double	   *gl = xalloc(sizeof(double) * n),
			   *pg = xalloc(sizeof(double) * n),
			   *dir = xalloc(sizeof(double) * n),
			   *wt = xalloc(sizeof(double) * n),
			   *S = xalloc(sizeof(double) * n * mem),
			   *Y = xalloc(sizeof(double) * n * mem),
			   *rho = xalloc(sizeof(double) * mem),
			   *al = xalloc(sizeof(double) * mem),
				past[L1_STALL + 1];
	double		f,
				loss,
				scale,
				dual;
	size_t		nnz;
	bool		ok = false;

	s->alpha = xalloc(sizeof(double) * (p->nrows + 1));
	s->alphat = xalloc(sizeof(double) * (p->nrows + 1));
	memset(w, 0, sizeof(double) * n);
	if (!evaluate(s, w, false, 0, &loss, NULL))
		goto out;
	f = loss;
	memcpy(gl, s->red, sizeof(double) * n);
	{
		double	   *t = s->alpha;

		s->alpha = s->alphat;
		s->alphat = t;
	}
	st->gap = INFINITY;
	for (;;)
	{
		double		gmax = 0,
					step,
					fnew = 0,
					descent;
		int			tries;
		bool		accepted = false;

		st->iteration = iter;
		st->inner = s->inner;
		st->objective = f;
		(void) l1_norm(w, n, &st->nnz);
		st->w = w;
		past[iter % (L1_STALL + 1)] = f;
		if (p->progress && p->progress(p->ctx, st))
			s->want_stop = true;
		if (s->stopped || st->gap <= p->tolerance * f || iter >= p->max_iterations)
			break;
		/* stalled: less than tolerance / 10 gained over the last L1_STALL */
		if (iter >= L1_STALL &&
			past[(iter + 1) % (L1_STALL + 1)] - f <= 0.1 * p->tolerance * f)
			break;

		/* the dual point of this one: alpha scaled into ||X'(alpha y)|| <= lambda */
		for (i = 0; i < n; i++)
			gmax = fmax(gmax, fabs(gl[i]));
		scale = gmax > p->lambda ? p->lambda / gmax : 1;

		/* the direction: -H pg by two loops over the pairs, kept in pg's orthant */
		pseudo_gradient(w, gl, p->lambda, n, pg);
		if (dot(pg, pg, n) == 0)
		{
			st->gap = 0;
			break;
		}
		memcpy(dir, pg, sizeof(double) * n);
		for (k = 0; k < npairs; k++)
		{
			int			j = (newest - k + mem) % mem;

			al[j] = rho[j] * dot(S + (size_t) j * n, dir, n);
			for (i = 0; i < n; i++)
				dir[i] -= al[j] * Y[(size_t) j * n + i];
		}
		if (npairs > 0)
		{
			double	   *ys = Y + (size_t) newest * n;
			double		gamma = 1 / (rho[newest] * dot(ys, ys, n));

			for (i = 0; i < n; i++)
				dir[i] *= gamma;
		}
		for (k = npairs - 1; k >= 0; k--)
		{
			int			j = (newest - k + mem) % mem;
			double		b = rho[j] * dot(Y + (size_t) j * n, dir, n);

			for (i = 0; i < n; i++)
				dir[i] += (al[j] - b) * S[(size_t) j * n + i];
		}
		for (i = 0; i < n; i++)
		{
			dir[i] = -dir[i];
			if (dir[i] * pg[i] >= 0)
				dir[i] = 0;
		}

		/* backtracking, projected on the orthant */
		step = npairs == 0 ? 1 / sqrt(dot(pg, pg, n)) : 1;
		for (tries = 0; tries < 40; tries++)
		{
			for (i = 0; i < n; i++)
			{
				double		o = w[i] != 0 ? w[i] : -pg[i];

				wt[i] = w[i] + step * dir[i];
				if (wt[i] * o <= 0)
					wt[i] = 0;
			}
			if (!evaluate(s, wt, false, scale, &loss, &dual))
				goto out;
			if (s->stopped)
				break;
			/* the gap of the current point, from its dual */
			st->gap = f - dual;
			fnew = loss + p->lambda * l1_norm(wt, n, &nnz);
			descent = 0;
			for (i = 0; i < n; i++)
				descent += pg[i] * (wt[i] - w[i]);
			if (fnew <= f + 1e-4 * descent)
			{
				accepted = true;
				break;
			}
			step *= 0.5;
		}
		if (!accepted)
			break;
		iter++;

		/* the pair of this step, if it keeps the inverse positive definite */
		{
			int			j = (newest + 1) % mem;
			double	   *sj = S + (size_t) j * n,
					   *yj = Y + (size_t) j * n,
						sy;

			for (i = 0; i < n; i++)
			{
				sj[i] = wt[i] - w[i];
				yj[i] = s->red[i] - gl[i];
			}
			sy = dot(sj, yj, n);
			if (sy > 1e-12 * sqrt(dot(sj, sj, n) * dot(yj, yj, n)))
			{
				rho[j] = 1 / sy;
				newest = j;
				if (npairs < mem)
					npairs++;
			}
		}
		memcpy(w, wt, sizeof(double) * n);
		memcpy(gl, s->red, sizeof(double) * n);
		f = fnew;
		{
			double	   *t = s->alpha;

			s->alpha = s->alphat;
			s->alphat = t;
		}
	}
	ok = true;
out:
	free(gl);
	free(pg);
	free(dir);
	free(wt);
	free(S);
	free(Y);
	free(rho);
	free(al);
	return ok;
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
	s.red = xalloc(sizeof(double) * (2 * s.d + 1));
	s.D = xalloc(sizeof(double) * (p->nrows + 1));
	s.Dt = xalloc(sizeof(double) * (p->nrows + 1));
	ok = p->l1 ? train_l1(&s, w, st) : train_l2(&s, w, st);
	st->inner = s.inner;
	st->w = w;
	free(s.red);
	free(s.D);
	free(s.Dt);
	free(s.alpha);
	free(s.alphat);
	return ok;
}
