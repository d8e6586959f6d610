/*-------------------------------------------------------------------------
 *
 * ps_train_l1.c
 *	  ps_train's batch solver for L1-regularised logistic regression, over
 *	  a working set of features which shrinks as zero weights settle well
 *	  inside their optimality condition, as liblinear's L1 solvers shrink
 *	  theirs: each reduction then carries the active features' values
 *	  only, and each pass over the shard reads only its features among
 *	  them.  A full evaluation of every feature's gradient ends each
 *	  working set's solve; the features outside it that violate their
 *	  condition start another.
 *
 *	  The steps: OWL-QN (limited-memory quasi-Newton restricted to an
 *	  orthant, Andrew and Gao 2007) while the set is large; once it has at
 *	  most L1_NEWTON_MAX features, newGLMNET's Newton steps (Yuan, Ho and
 *	  Lin 2012): the set's Hessian X'DX is reduced whole (a packed
 *	  triangle), every worker solves the same quadratic subproblem by
 *	  coordinate descent, and a line search along its direction follows.
 *
 *	  The stopping test is the duality gap of a dual point made from the
 *	  primal one (alpha_i = sigmoid(-y_i w.x_i), scaled into the dual's
 *	  box), whose entropy term comes back with the next point's reduction;
 *	  the gap is loose until very near the optimum, so a working set's
 *	  solve also ends when a Newton step's model promises less than a
 *	  hundredth of tolerance x objective, or when the objective fell by
 *	  less than tolerance / 10 of itself over L1_STALL iterations (tests
 *	  that certify nothing).
 *
 * Layer 12 (tools), in src/tools: plain C and src/common.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_train_l1.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_logistic.h"

/* a solve stops when the objective fell by less than tolerance / 10 over this many iterations */
#define L1_STALL 20
/* the working set: the features within L1_SHRINK lambda of violating their condition */
#define L1_SHRINK 0.1
/* a working set of at most this many features takes Newton steps, its Hessian reduced whole */
#define L1_NEWTON_MAX 1400
/* coordinate-descent sweeps of a Newton step's subproblem, at most */
#define L1_CD_SWEEPS 100

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
 * The active features' part of the shard: row r's features among them are
 * cidx[cstart[r] .. cstart[r + 1] - 1] (active indexes), with cval.
 */
static void
compact_rows(Solver *s)
{
	const BatchProblem *p = s->p;
	const Dataset *data = p->data;
	size_t		r,
				j,
				m = 0;

	for (r = 0; r < p->nrows; r++)
	{
		size_t		ex = p->rows[r];

		s->cstart[r] = m;
		for (j = data->start[ex]; j < data->start[ex + 1]; j++)
		{
			int32_t		a = s->pos[data->slot[j]];

			if (a >= 0)
			{
				s->cidx[m] = a;
				s->cval[m++] = data->vals[j];
			}
		}
	}
	s->cstart[p->nrows] = m;
}

/*
 * evaluate() over the active features only: w and the gradient in
 * red[0 .. na - 1] are by active index (the other weights are 0).
 */
static bool
evaluate_active(Solver *s, const double *w, double scale, double *loss,
				double *dual)
{
	const BatchProblem *p = s->p;
	const Dataset *data = p->data;
	double	   *g = s->red;
	double		scal[3] = {0, 0, 0};
	size_t		r,
				j;

	memset(g, 0, sizeof(double) * s->na);
	for (r = 0; r < p->nrows; r++)
	{
		double		m = 0,
					y = data->labels[p->rows[r]],
					sig,
					coef;

		for (j = s->cstart[r]; j < s->cstart[r + 1]; j++)
			m += w[s->cidx[j]] * s->cval[j];
		scal[0] += ps_log1pexp(-y * m);
		sig = ps_sigmoid(-y * m);
		coef = -y * sig;
		for (j = s->cstart[r]; j < s->cstart[r + 1]; j++)
			g[s->cidx[j]] += coef * s->cval[j];
		s->alphat[r] = sig;
		if (scale > 0)
			scal[1] += solver_entropy(scale * s->alpha[r]);
	}
	if (!solver_reduce(s, s->red, s->na, scal, 2))
		return false;
	*loss = scal[0];
	*dual = scal[1];
	return true;
}

static void
swap_alpha(Solver *s)
{
	double	   *t = s->alpha;

	s->alpha = s->alphat;
	s->alphat = t;
}

/* the packed upper triangle of an na x na matrix: where (i, j), i <= j, is */
static size_t
packed(size_t na, size_t i, size_t j)
{
	return i * na - i * (i - 1) / 2 + (j - i);
}

size_t
l1_max_reduction(size_t nkeys)
{
	size_t		na = nkeys < L1_NEWTON_MAX ? nkeys : L1_NEWTON_MAX;

	return na * (na + 1) / 2;
}

/*
 * H = X' D X over the active features (D = alpha (1 - alpha) at the
 * current point), summed over the workers, packed.
 */
static bool
active_hessian(Solver *s, double *H)
{
	const BatchProblem *p = s->p;
	size_t		na = s->na,
				r,
				a,
				b;
	double		scal[1];

	memset(H, 0, sizeof(double) * na * (na + 1) / 2);
	for (r = 0; r < p->nrows; r++)
	{
		double		D = s->alpha[r] * (1 - s->alpha[r]);

		for (a = s->cstart[r]; a < s->cstart[r + 1]; a++)
		{
			size_t		i = (size_t) s->cidx[a];
			double		va = D * s->cval[a];

			H[packed(na, i, i)] += va * s->cval[a];
			for (b = a + 1; b < s->cstart[r + 1]; b++)
			{
				size_t		j = (size_t) s->cidx[b];
				double		t = va * s->cval[b];

				if (i == j)		/* a feature twice in the row */
					H[packed(na, i, i)] += 2 * t;
				else
					H[i < j ? packed(na, i, j) : packed(na, j, i)] += t;
			}
		}
	}
	return solver_reduce(s, H, na * (na + 1) / 2, scal, 0);
}

/*
 * The Newton direction d of newGLMNET (Yuan, Ho and Lin 2012): the
 * minimum of gl.d + d'Hd/2 + lambda ||wa + d||_1 by cyclic coordinate
 * descent, Hd kept up to date; every worker computes the same one.
 * Returns the model's decrease gl.d + lambda (||wa + d||_1 - ||wa||_1).
 */
static double
newton_direction(const double *H, size_t na, const double *gl,
				 const double *wa, double lambda, double *d, double *Hd)
{
	double		first = 0,
				delta = 0;
	size_t		i,
				j;
	int			sweep;

	memset(d, 0, sizeof(double) * na);
	memset(Hd, 0, sizeof(double) * na);
	for (sweep = 0; sweep < L1_CD_SWEEPS; sweep++)
	{
		double		viol = 0;

		for (j = 0; j < na; j++)
		{
			double		hjj = H[packed(na, j, j)] + 1e-12,
						G = gl[j] + Hd[j],
						wj = wa[j] + d[j],
						Gp = G + lambda,
						Gn = G - lambda,
						z;
			bool		to_zero;

			/* the subgradient of least norm, and the coordinate's minimum */
			if (wj > 0)
				viol += fabs(Gp);
			else if (wj < 0)
				viol += fabs(Gn);
			else
				viol += Gp < 0 ? -Gp : (Gn > 0 ? Gn : 0);
			to_zero = false;
			if (Gp <= hjj * wj)
				z = fmin(fmax(-Gp / hjj, -10), 10);
			else if (Gn >= hjj * wj)
				z = fmin(fmax(-Gn / hjj, -10), 10);
			else
			{
				z = -wj;
				to_zero = true;
			}
			if (fabs(z) < 1e-12)
				continue;
			/* at zero, exactly: wa + d rounds to 0 only if d is -wa */
			if (to_zero)
			{
				z = -wa[j] - d[j];
				d[j] = -wa[j];
			}
			else
				d[j] += z;
			for (i = 0; i < j; i++)
				Hd[i] += z * H[packed(na, i, j)];
			for (i = j; i < na; i++)
				Hd[i] += z * H[packed(na, j, i)];
		}
		if (sweep == 0)
			first = viol;
		if (viol <= 0.01 * first)
			break;
	}
	for (j = 0; j < na; j++)
		delta += gl[j] * d[j] + lambda * (fabs(wa[j] + d[j]) - fabs(wa[j]));
	return delta;
}

/*
 * The objective at the point tried, wt (active features), into *fnew;
 * and the current point's duality gap (f minus its dual, which comes
 * back with this reduction).  False if the reduction failed.
 */
static bool
try_point(Solver *s, const double *wt, double scale, double f, double *fnew,
		  BatchStatus *st)
{
	double		loss,
				dual;
	size_t		nnz;

	if (!evaluate_active(s, wt, scale, &loss, &dual))
		return false;
	if (!s->stopped)
	{
		st->gap = f - dual;
		*fnew = loss + s->p->lambda * l1_norm(wt, s->na, &nnz);
	}
	return true;
}

/*
 * L1: OWL-QN over a working set of features (shrinking, as liblinear's
 * L1 solvers do).  A full evaluation gives every feature's gradient; the
 * active set is the nonzero weights and the zero ones whose gradient is
 * within (1 - L1_SHRINK) lambda of violating their optimality condition
 * (|g| <= lambda), and OWL-QN solves the problem over those alone, on the
 * shard's features among them (each reduction is one of the active
 * features' values).  Then a full evaluation checks the others: if one
 * violates, a new active set is made and solved, else the active
 * problem's solution is the whole one's and its duality gap the whole
 * one's too (the dual point's scale is the same).
 */
bool
batch_train_l1(Solver *s, double *w, BatchStatus *st)
{
	const BatchProblem *p = s->p;
	size_t		n = s->d,
				i;
	int			mem = n <= 2000000 ? 10 : (int) fmax(3, 20000000.0 / n),
				iter = 0,
				reported = -1;
	double	   *gfull = solver_alloc(sizeof(double) * n),
			   *wa = solver_alloc(sizeof(double) * n),
			   *gl = solver_alloc(sizeof(double) * n),
			   *pg = solver_alloc(sizeof(double) * n),
			   *dir = solver_alloc(sizeof(double) * n),
			   *wt = solver_alloc(sizeof(double) * n),
			   *S = solver_alloc(sizeof(double) * n * mem),
			   *Y = solver_alloc(sizeof(double) * n * mem),
			   *rho = solver_alloc(sizeof(double) * mem),
			   *al = solver_alloc(sizeof(double) * mem),
			   *H = solver_alloc(sizeof(double) * (l1_max_reduction(n) + 1)),
			   *Hd = solver_alloc(sizeof(double) * ((n < L1_NEWTON_MAX ? n : L1_NEWTON_MAX) + 1)),
				past[L1_STALL + 1];
	double		f,
				loss,
				scale;
	size_t		nnz;
	bool		ok = false,
				done = false;
	int			phase;

	s->alpha = solver_alloc(sizeof(double) * (p->nrows + 1));
	s->alphat = solver_alloc(sizeof(double) * (p->nrows + 1));
	s->pos = solver_alloc(sizeof(int32_t) * n);
	s->act = solver_alloc(sizeof(int32_t) * n);
	s->cstart = solver_alloc(sizeof(size_t) * (p->nrows + 1));
	{
		size_t		shard = 0,
					r;

		for (r = 0; r < p->nrows; r++)
			shard += p->data->start[p->rows[r] + 1] - p->data->start[p->rows[r]];
		s->cidx = solver_alloc(sizeof(int32_t) * (shard + 1));
		s->cval = solver_alloc(sizeof(float) * (shard + 1));
	}
	memset(w, 0, sizeof(double) * n);
	if (!solver_evaluate(s, w, false, 0, &loss, NULL))
		goto out;
	f = loss;
	memcpy(gfull, s->red, sizeof(double) * n);
	swap_alpha(s);
	st->gap = INFINITY;
	for (phase = 0; !done; phase++)
	{
		size_t		na = 0,
					violators = 0;
		bool		newton_converged = false;
		int			npairs = 0,
					newest = -1,
					start = iter,
					k;

		/* the active set; none of the others may violate after a phase */
		for (i = 0; i < n; i++)
		{
			double		a = fabs(gfull[i]);

			if (phase > 0 && s->pos[i] < 0 && a > p->lambda)
				violators++;
			if (w[i] != 0 || a > (1 - L1_SHRINK) * p->lambda)
			{
				s->act[na] = (int32_t) i;
				s->pos[i] = (int32_t) na++;
			}
			else
				s->pos[i] = -1;
		}
		if (phase > 0 && violators == 0)
		{
			/*
			 * The whole problem's duality gap at the final point: the dual
			 * point scaled by every feature's gradient, its entropy summed
			 * over the workers (one reduction of a scalar).
			 */
			double		gmax = 0,
						scal[2] = {0, 0};
			size_t		r;

			for (i = 0; i < n; i++)
				gmax = fmax(gmax, fabs(gfull[i]));
			scale = gmax > p->lambda ? p->lambda / gmax : 1;
			for (r = 0; r < p->nrows; r++)
				scal[0] += solver_entropy(scale * s->alpha[r]);
			if (!solver_reduce(s, s->red, 0, scal, 1))
				goto out;
			if (!s->stopped)
			{
				st->gap = f - scal[0];
				st->objective = f;
			}
			break;
		}
		s->na = na;
		compact_rows(s);
		if (phase > 0)
			st->gap = INFINITY;	/* the last set's gap says nothing of this one */
		for (i = 0; i < na; i++)
		{
			wa[i] = w[s->act[i]];
			gl[i] = gfull[s->act[i]];
		}

		for (;;)
		{
			double		gmax = 0,
						step,
						fnew = 0,
						descent;
			int			tries;
			bool		accepted = false,
						newton = false;
			double		delta = 0;

			st->iteration = iter;
			st->inner = s->inner;
			st->objective = f;
			(void) l1_norm(wa, na, &st->nnz);
			st->w = w;
			past[(iter - start) % (L1_STALL + 1)] = f;
			/* once an iteration: a new working set starts where the last ended */
			if (iter != reported && p->progress && p->progress(p->ctx, st))
				s->want_stop = true;
			reported = iter;
			if (s->stopped || iter >= p->max_iterations)
			{
				done = true;
				break;
			}
			if (st->gap <= p->tolerance * f || newton_converged)
				break;
			/* stalled: less than tolerance / 10 gained over the last L1_STALL */
			if (iter - start >= L1_STALL &&
				past[(iter - start + 1) % (L1_STALL + 1)] - f <= 0.1 * p->tolerance * f)
				break;

			/*
			 * Shrinking: drop the active features that rest at 0 well
			 * inside their condition, once they are a tenth of the set;
			 * the pairs lose those coordinates (and any pair the loss
			 * leaves without curvature).
			 */
			{
				size_t		out = 0,
							m = 0;

				for (i = 0; i < na; i++)
					out += wa[i] == 0 && fabs(gl[i]) < (1 - L1_SHRINK) * p->lambda;
				if (out * 10 > na)
				{
					size_t		keep = na - out;
					int			kept = 0,
								c;

					/*
					 * The pairs' rows, from stride na to stride keep, in
					 * place: a value moves only down, past values read.
					 */
					for (c = 0; c < mem; c++)
					{
						size_t		mm = 0;

						for (i = 0; i < na; i++)
						{
							if (wa[i] == 0 && fabs(gl[i]) < (1 - L1_SHRINK) * p->lambda)
								continue;
							S[(size_t) c * keep + mm] = S[(size_t) c * na + i];
							Y[(size_t) c * keep + mm] = Y[(size_t) c * na + i];
							mm++;
						}
					}
					for (i = 0; i < na; i++)
					{
						if (wa[i] == 0 && fabs(gl[i]) < (1 - L1_SHRINK) * p->lambda)
						{
							s->pos[s->act[i]] = -1;
							continue;
						}
						s->act[m] = s->act[i];
						s->pos[s->act[m]] = (int32_t) m;
						wa[m] = wa[i];
						gl[m] = gl[i];
						m++;
					}
					for (k = 0; k < npairs; k++)
					{
						int			j = (newest - npairs + 1 + k + mem) % mem;
						double		sy = solver_dot(S + (size_t) j * m, Y + (size_t) j * m, m);

						if (sy > 1e-12 * sqrt(solver_dot(S + (size_t) j * m, S + (size_t) j * m, m) *
											  solver_dot(Y + (size_t) j * m, Y + (size_t) j * m, m)))
						{
							int			to = (newest - npairs + 1 + kept + mem) % mem;

							if (to != j)
							{
								memmove(S + (size_t) to * m, S + (size_t) j * m, sizeof(double) * m);
								memmove(Y + (size_t) to * m, Y + (size_t) j * m, sizeof(double) * m);
							}
							rho[to] = 1 / sy;
							kept++;
						}
					}
					newest = (newest - npairs + kept + mem) % mem;
					npairs = kept;
					na = s->na = m;
					compact_rows(s);
				}
			}

			/* the dual point of this one: alpha scaled into ||X'(alpha y)|| <= lambda */
			for (i = 0; i < na; i++)
				gmax = fmax(gmax, fabs(gl[i]));
			scale = gmax > p->lambda ? p->lambda / gmax : 1;

			pseudo_gradient(wa, gl, p->lambda, na, pg);
			if (solver_dot(pg, pg, na) == 0)
			{
				st->gap = 0;
				break;
			}

			/*
			 * A small working set: a Newton step, its Hessian reduced
			 * whole, the direction by coordinate descent, then a
			 * backtracking line search along it (newGLMNET's).  The set
			 * ends once the model promises less than a hundredth of the
			 * tolerance.
			 */
			if (na <= L1_NEWTON_MAX)
			{
				if (!active_hessian(s, H))
					goto out;
				if (s->stopped)
				{
					done = true;
					break;
				}
				delta = newton_direction(H, na, gl, wa, p->lambda, dir, Hd);
				if (delta >= 0)
					break;
				for (step = 1, tries = 0; tries < 30; tries++, step *= 0.5)
				{
					for (i = 0; i < na; i++)
						wt[i] = wa[i] + step * dir[i];
					if (!try_point(s, wt, scale, f, &fnew, st))
						goto out;
					if (s->stopped)
						break;
					if (fnew - f <= 0.01 * step * delta)
					{
						accepted = true;
						break;
					}
				}
				newton = true;
			}
			else
			{
				/* the direction: -H pg by two loops over the pairs, kept in pg's orthant */
				memcpy(dir, pg, sizeof(double) * na);
				for (k = 0; k < npairs; k++)
				{
					int			j = (newest - k + mem) % mem;

					al[j] = rho[j] * solver_dot(S + (size_t) j * na, dir, na);
					for (i = 0; i < na; i++)
						dir[i] -= al[j] * Y[(size_t) j * na + i];
				}
				if (npairs > 0)
				{
					double	   *ys = Y + (size_t) newest * na;
					double		gamma = 1 / (rho[newest] * solver_dot(ys, ys, na));

					for (i = 0; i < na; i++)
						dir[i] *= gamma;
				}
				for (k = npairs - 1; k >= 0; k--)
				{
					int			j = (newest - k + mem) % mem;
					double		b = rho[j] * solver_dot(Y + (size_t) j * na, dir, na);

					for (i = 0; i < na; i++)
						dir[i] += (al[j] - b) * S[(size_t) j * na + i];
				}
				for (i = 0; i < na; i++)
				{
					dir[i] = -dir[i];
					if (dir[i] * pg[i] >= 0)
						dir[i] = 0;
				}

				/* backtracking, projected on the orthant */
				step = npairs == 0 ? fmin(1, 1 / sqrt(solver_dot(pg, pg, na))) : 1;
				for (tries = 0; tries < 40; tries++)
				{
					for (i = 0; i < na; i++)
					{
						double		o = wa[i] != 0 ? wa[i] : -pg[i];

						wt[i] = wa[i] + step * dir[i];
						if (wt[i] * o <= 0)
							wt[i] = 0;
					}
					if (!try_point(s, wt, scale, f, &fnew, st))
						goto out;
					if (s->stopped)
						break;
					descent = 0;
					for (i = 0; i < na; i++)
						descent += pg[i] * (wt[i] - wa[i]);
					if (fnew <= f + 1e-4 * descent)
					{
						accepted = true;
						break;
					}
					step *= 0.5;
				}
			}
			if (s->stopped)
			{
				done = true;
				break;
			}
			if (!accepted)
				break;
			iter++;

			if (newton)
			{
				npairs = 0;		/* OWL-QN's pairs are stale now */
				newton_converged = -delta <= 0.01 * p->tolerance * fnew;
			}
			else
			{
				/* the pair of this step, if it keeps the inverse positive definite */
				int			j = (newest + 1) % mem;
				double	   *sj = S + (size_t) j * na,
						   *yj = Y + (size_t) j * na,
							sy;

				for (i = 0; i < na; i++)
				{
					sj[i] = wt[i] - wa[i];
					yj[i] = s->red[i] - gl[i];
				}
				sy = solver_dot(sj, yj, na);
				if (sy > 1e-12 * sqrt(solver_dot(sj, sj, na) * solver_dot(yj, yj, na)))
				{
					rho[j] = 1 / sy;
					newest = j;
					if (npairs < mem)
						npairs++;
				}
			}
			memcpy(wa, wt, sizeof(double) * na);
			memcpy(gl, s->red, sizeof(double) * na);
			for (i = 0; i < na; i++)
				w[s->act[i]] = wa[i];
			f = fnew;
			swap_alpha(s);
		}
		if (done)
			break;

		/* every feature's gradient at the phase's solution */
		if (!solver_evaluate(s, w, false, 0, &loss, NULL))
			goto out;
		if (s->stopped)
			break;
		f = loss + p->lambda * l1_norm(w, n, &nnz);
		memcpy(gfull, s->red, sizeof(double) * n);
		swap_alpha(s);
	}
	ok = true;
out:
	free(gfull);
	free(wa);
	free(gl);
	free(pg);
	free(dir);
	free(wt);
	free(S);
	free(Y);
	free(rho);
	free(al);
	free(H);
	free(Hd);
	return ok;
}
