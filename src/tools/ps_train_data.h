/*-------------------------------------------------------------------------
 *
 * ps_train_data.h
 *	  ps_train's data: LibSVM files read into rows of (label, keys, vals),
 *	  and the measures of a logistic model on them.
 *
 * Layer 12 (tools), in src/tools; for ps_train's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_TRAIN_DATA_H
#define PS_TRAIN_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Examples in compressed rows: row i's features are start[i] .. start[i + 1] - 1. */
typedef struct Dataset
{
	size_t		n;				/* examples */
	size_t		nnz;			/* features, over all examples */
	size_t	   *start;			/* n + 1 */
	int64_t    *keys;
	float	   *vals;
	float	   *labels;			/* +1 or -1 */
	int32_t    *slot;			/* each feature's key among the model's keys */
} Dataset;

/* What a model scores on a data set. */
typedef struct Measures
{
	double		loss;			/* sum log(1 + exp(-y w.x)) */
	double		accuracy;
	double		logloss;		/* loss / n */
	double		auc;
} Measures;

extern bool dataset_load(const char *path, Dataset *d, char *err, size_t errlen);
extern void dataset_free(Dataset *d);
extern size_t model_keys(Dataset *a, Dataset *b, int64_t **keys);
extern void measure(const Dataset *d, const float *w, Measures *m);
extern double regulariser(const float *w, size_t n, bool l1, double lambda,
						  size_t *nnz);

#endif							/* PS_TRAIN_DATA_H */
