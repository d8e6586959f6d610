/*-------------------------------------------------------------------------
 *
 * ps.h
 *	  Declarations shared across the ps extension: configuration, the
 *	  preload check and the entry points each file offers the others.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_H
#define PS_H

#define PS_VERSION_STR "0.3"

/* GUCs */
extern int	ps_max_request_keys;
extern int	ps_max_tables;
extern int	ps_max_workers;
extern int	ps_worker_timeout;
extern int	ps_max_training_tables_per_role;

/* ps.c */
extern bool ps_preloaded;
extern void ps_check_preloaded(void);

#endif							/* PS_H */
