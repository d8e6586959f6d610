/*-------------------------------------------------------------------------
 *
 * ps_logistic.h
 *	  The logistic model's arithmetic, one definition for the server's SQL
 *	  functions and for ps_train: the sigmoid and log(1 + exp(z)), both
 *	  without overflow.
 *
 * Layer 1 (pure code), in src/common: plain C99, header only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_LOGISTIC_H
#define PS_LOGISTIC_H

#include <math.h>

/* 1 / (1 + exp(-m)) */
static inline double
ps_sigmoid(double m)
{
	if (m >= 0)
		return 1.0 / (1.0 + exp(-m));
	return exp(m) / (1.0 + exp(m));
}

/* log(1 + exp(z)): the loss of margin -z */
static inline double
ps_log1pexp(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

#endif							/* PS_LOGISTIC_H */
