/*-------------------------------------------------------------------------
 *
 * ps_train_tables.h
 *	  The tables ps_train trains into, prepared on the server or on every
 *	  node of its cluster.
 *
 * Layer 12 (tools), in src/tools; for ps_train's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_TRAIN_TABLES_H
#define PS_TRAIN_TABLES_H

#include <stdbool.h>

#include "ps_train_worker.h"

extern void train_prepare_tables(TrainOptions *o, const char *consistency,
								 int max_delay, bool reset);
extern void train_drop_sync_table(void);

#endif							/* PS_TRAIN_TABLES_H */
