/*-------------------------------------------------------------------------
 *
 * ps_rule.c
 *	  Server-side update rules: the arithmetic that turns a pushed value
 *	  (a delta or a gradient) and a key's stored record into its new record.
 *
 * A key's record is its dim values followed by the rule's state, nstate
 * floats per value float (see ps_rule_nstate): AdaGrad keeps the sum of
 * squared gradients n; FTRL-proximal (McMahan et al., "Ad Click Prediction:
 * a View from the Trenches", KDD 2013) keeps z and n and derives the weight
 * from them, which is what gives it exact zeros under L1.  A key never
 * written has an all-zero record.  Pulls and scans show the values only.
 *
 * Everything here is plain arithmetic on float arrays, vectorisable, with
 * no memory allocation or errors: the storage layer runs it under leaf
 * locks and checks the results for overflow itself.
 *
 * Layer 1 (pure code): arithmetic on floats; no buffers, no tables, no
 * other file of ps.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "ps_rule.h"

static const char *const rule_names[] = {"sum", "sgd", "adagrad", "ftrl"};

const char *
ps_rule_name(PsRuleKind kind)
{
	return rule_names[kind];
}

bool
ps_rule_parse(const char *name, PsRuleKind *kind)
{
	int			i;

	for (i = 0; i < (int) lengthof(rule_names); i++)
		if (strcmp(name, rule_names[i]) == 0)
		{
			*kind = (PsRuleKind) i;
			return true;
		}
	return false;
}

/*
 * The FTRL weight for accumulators z and n: zero inside the L1 ball.
 */
static inline float4
ftrl_weight(const PsRule *r, float4 z, float4 n)
{
	float4		az = fabsf(z);

	if (az <= r->l1)
		return 0.0f;
	return -(z - copysignf(r->l1, z)) / ((r->beta + sqrtf(n)) / r->lr + r->l2);
}

/*
 * New record of one key from its old record (width = dim * (1 + nstate)
 * floats) and the aggregated pushed values g (dim floats).  out may be
 * the same as old.
 */
void
ps_rule_apply(const PsRule *r, int dim, const float4 *old, const float4 *g,
			  float4 *out)
{
	int			j;

	switch (r->kind)
	{
		case PS_RULE_SUM:
			for (j = 0; j < dim; j++)
				out[j] = old[j] + g[j];
			break;
		case PS_RULE_SGD:
			for (j = 0; j < dim; j++)
				out[j] = old[j] - r->lr * (g[j] + r->l2 * old[j]);
			break;
		case PS_RULE_ADAGRAD:
			{
				const float4 *on = old + dim;
				float4	   *nn = out + dim;

				for (j = 0; j < dim; j++)
				{
					float4		gj = g[j] + r->l2 * old[j];
					float4		n = on[j] + gj * gj;

					nn[j] = n;
					out[j] = old[j] - r->lr * gj / (sqrtf(n) + PS_ADAGRAD_EPS);
				}
				break;
			}
		case PS_RULE_FTRL:
			{
				const float4 *oz = old + dim,
						   *on = old + 2 * dim;
				float4	   *nz = out + dim,
						   *nn = out + 2 * dim;

				for (j = 0; j < dim; j++)
				{
					float4		n = on[j] + g[j] * g[j];
					float4		sigma = (sqrtf(n) - sqrtf(on[j])) / r->lr;
					float4		z = oz[j] + g[j] - sigma * old[j];

					nz[j] = z;
					nn[j] = n;
					out[j] = ftrl_weight(r, z, n);
				}
				break;
			}
	}
}

/*
 * Record of a key set to value (INSERT, COPY): fresh state that yields
 * exactly that value.  For FTRL, n = 0 and z is chosen so that the weight
 * it derives is value.
 */
void
ps_rule_set(const PsRule *r, int dim, const float4 *value, float4 *out)
{
	int			nstate = ps_rule_nstate(r->kind);
	int			j;

	memcpy(out, value, sizeof(float4) * dim);
	memset(out + dim, 0, sizeof(float4) * dim * nstate);
	if (r->kind == PS_RULE_FTRL)
		for (j = 0; j < dim; j++)
		{
			float4		w = value[j];

			/* invert ftrl_weight at n = 0 */
			out[dim + j] = (w == 0.0f) ? 0.0f :
				-w * (r->beta / r->lr + r->l2) - copysignf(r->l1, w);
		}
}

/*
 * The KKT filter of the paper, for the L1 rule: a key whose weights are all
 * zero and would stay zero after this update (for FTRL: |z + g| within the
 * L1 threshold in every component) is inactive, and its push can be
 * skipped.  Like the paper's filter this is an approximation: the skipped
 * gradients do not accumulate in z.
 */
bool
ps_rule_kkt_inactive(const PsRule *r, int dim, const float4 *old,
					 const float4 *g)
{
	const float4 *oz = old + dim;
	int			j;

	if (r->kind != PS_RULE_FTRL || r->l1 <= 0.0f)
		return false;
	for (j = 0; j < dim; j++)
		if (old[j] != 0.0f || fabsf(oz[j] + g[j]) > r->l1)
			return false;
	return true;
}
