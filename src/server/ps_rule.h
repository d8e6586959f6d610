/*-------------------------------------------------------------------------
 *
 * ps_rule.h
 *	  Server-side update rules: how a pushed value changes a stored one.
 *
 * Layer 1 (pure code).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_RULE_H
#define PS_RULE_H

typedef enum PsRuleKind
{
	PS_RULE_SUM,				/* w += g */
	PS_RULE_SGD,				/* w -= lr * (g + l2 * w) */
	PS_RULE_ADAGRAD,			/* n += g^2; w -= lr * g / (sqrt(n) + eps) */
	PS_RULE_FTRL				/* FTRL-proximal with L1 and L2 */
} PsRuleKind;

typedef struct PsRule
{
	PsRuleKind	kind;
	float4		lr;				/* learning rate (FTRL: alpha) */
	float4		l1;				/* L1 strength (FTRL) */
	float4		l2;				/* L2 strength */
	float4		beta;			/* FTRL beta */
} PsRule;

#define PS_ADAGRAD_EPS 1e-6f

/* state floats per value float */
static inline int
ps_rule_nstate(PsRuleKind kind)
{
	switch (kind)
	{
		case PS_RULE_ADAGRAD:
			return 1;			/* n: sum of squared gradients */
		case PS_RULE_FTRL:
			return 2;			/* z and n */
		default:
			return 0;
	}
}

extern const char *ps_rule_name(PsRuleKind kind);
extern bool ps_rule_parse(const char *name, PsRuleKind *kind);
extern void ps_rule_apply(const PsRule *rule, int dim, const float4 *old,
						  const float4 *g, float4 *out);
extern void ps_rule_set(const PsRule *rule, int dim, const float4 *value,
						float4 *out);
extern bool ps_rule_kkt_inactive(const PsRule *rule, int dim,
								 const float4 *old, const float4 *g);

#endif							/* PS_RULE_H */
