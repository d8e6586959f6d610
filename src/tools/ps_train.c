/*-------------------------------------------------------------------------
 *
 * ps_train.c
 *	  ps_train: sparse logistic regression trained through the parameter
 *	  server by worker processes, with progress and a final JSON line.
 *
 *	  ps_train --server CONNINFO --table W --train FILE [--test FILE]
 *			   [--workers N] [--reg l1|l2] [--lambda X] [--consistency C]
 *			   [--max-delay T] [--epochs E] [--target-objective X]
 *			   [--time-limit S] [--method batch|ftrl] [--tolerance X]
 *			   [--batch B] [--learning-rate A] [--reset] [--kkt] [--compress]
 *
 * The coordinator reads the LibSVM files, prepares the table (created if
 * missing; refused if not empty, unless --reset), configures it (FTRL
 * with l1 or l2 from lambda, the consistency model and max delay, the KKT
 * filter if asked for), forks the workers (ps_train_worker.c), prints a
 * progress line after each epoch (the weights pulled and measured on the
 * training set: objective, nonzero weights), stops them at the target
 * objective or the time limit, and ends with the test set's accuracy,
 * log-loss and AUC, and one JSON object.  The objective is that of
 * ../shared/data/README.md: lambda ||w||_1 (L1) or lambda / 2 ||w||^2
 * (L2) plus sum log(1 + exp(-y w.x)).
 *
 * Methods.  batch (the default, ps_train_batch.c): the workers, in step,
 * run a trust-region Newton method (L2) or OWL-QN (L1) over their
 * shards, summing their gradients and Hessian products through the
 * parameter server (ps_train_sync.c: a sync table under sequential
 * consistency); worker 0 writes the weights to the model table (sum rule)
 * at most a second apart and at the end; it stops at --tolerance (a bound
 * on the objective's distance to the optimum, relative), --epochs
 * iterations, the target or the time limit.  ftrl: minibatch FTRL through
 * the server-side rule, each worker at its own clock under the table's
 * consistency model (for streaming data; it reaches the optimum only
 * approximately).
 * The KKT filter drops a minibatch's gradient of a key at zero when it is
 * within l1, and dropped gradients do not accumulate: with small batches
 * it keeps every weight at zero, so it is off unless --kkt.
 *
 * Layer 12 (tools), in src/tools: uses the client library, libpq and
 * src/common.
 *
 *-------------------------------------------------------------------------
 */
#define _DEFAULT_SOURCE			/* MAP_ANONYMOUS, with -std=c99 */

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <ps_client.h>

#include "ps_train_tables.h"
#include "ps_train_data.h"
#include "ps_train_worker.h"

static void
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ps_train: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"ps_train --help\".\n");
	exit(2);
}

static void
usage(void)
{
	printf("ps_train: sparse logistic regression through the ps parameter server\n\n"
		   "  --server CONNINFO        libpq connection string (required)\n"
		   "  --table NAME             ps table of the weights (created if missing; required)\n"
		   "  --train FILE             LibSVM training set (required)\n"
		   "  --test FILE              LibSVM test set: accuracy, log-loss, AUC\n"
		   "  --workers N              worker processes, 1 .. %d (default 2)\n"
		   "  --reg l1|l2              regulariser (default l2)\n"
		   "  --lambda X               its weight, > 0 (default 1)\n"
		   "  --consistency C          sequential, eventual or bounded (default bounded)\n"
		   "  --max-delay T            bounded delay, clocks (default 4)\n"
		   "  --epochs E               ftrl: passes over the training set (default 10);\n"
		   "                           batch: iterations at most (default 1000)\n"
		   "  --target-objective X     stop once the objective is at most X\n"
		   "  --time-limit S           stop after S seconds\n"
		   "  --batch B                examples a minibatch (default 20)\n"
		   "  --learning-rate A        FTRL's alpha (default 2)\n"
		   "  --method M               batch (default: L2 trust-region Newton, L1 OWL-QN,\n"
		   "                           all workers in step) or ftrl (minibatches, streaming)\n"
		   "  --tolerance X            batch: stop at objective gap X relative (default 1e-3)\n"
		   "  --reset                  empty the table first\n"
		   "  --kkt                    L1: the KKT filter, on the server and in the\n"
		   "                           workers (drops gradients within l1: for large batches)\n"
		   "  --compress               zstd for pushes and pulls\n",
		   PS_TRAIN_MAX_WORKERS);
	exit(0);
}

static double
number_arg(const char *flag, const char *s, double lo, double hi)
{
	char	   *end;
	double		v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
	{
		fprintf(stderr, "ps_train: %s must be a number from %g to %g, not \"%s\"\n"
				"Try \"ps_train --help\".\n", flag, lo, hi, s);
		exit(2);
	}
	return v;
}

static int
int_arg(const char *flag, const char *s, int lo, int hi)
{
	double		v = number_arg(flag, s, lo, hi);

	if (v != floor(v))
	{
		fprintf(stderr, "ps_train: %s must be an integer, not \"%s\"\n", flag, s);
		exit(2);
	}
	return (int) v;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The workers, once started: a coordinator that fails stops them first. */
static TrainShared *workers_shared;
static pid_t worker_pids[PS_TRAIN_MAX_WORKERS];
static int	nstarted;

static void
stop_workers(void)
{
	int			i;

	if (workers_shared == NULL)
		return;
	workers_shared->stop = 1;
	for (i = 0; i < nstarted; i++)
		if (worker_pids[i] > 0)
			waitpid(worker_pids[i], NULL, 0);
	nstarted = 0;
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "ps_train: %s: %s\n", what, why);
	stop_workers();
	train_drop_sync_table();
	exit(1);
}

typedef struct Eval
{
	double		objective;
	size_t		nnz;
	Measures	train,
				test;
} Eval;

/* Pull every model key's weight and measure the model. */
static void
evaluate(PsClient *c, const TrainOptions *o, const int64_t *keys, size_t nkeys,
		 float *w, const Dataset *train, const Dataset *test, Eval *ev)
{
	size_t		at;

	/* in parts well below ps.max_request_keys */
	for (at = 0; at < nkeys; at += 1000000)
	{
		size_t		n = nkeys - at < 1000000 ? nkeys - at : 1000000;
		int64_t		t = ps_client_pull(c, o->table, keys + at, n, w + at, NULL);

		if (t < 0 || ps_client_wait(c, t) != 0)
			die("pulling the weights", ps_client_error(c));
	}
	measure(train, w, &ev->train);
	ev->objective = ev->train.loss + regulariser(w, nkeys, o->l1, o->lambda, &ev->nnz);
	if (test)
		measure(test, w, &ev->test);
}

/* The workers' counters, summed. */
typedef struct Totals
{
	int64_t		examples,
				clocks,
				wait_us;
	uint64_t	pushed,
				pulled,
				filtered;
} Totals;

static void
totals(const TrainShared *sh, int workers, Totals *t)
{
	int			i;

	memset(t, 0, sizeof(Totals));
	for (i = 0; i < workers; i++)
	{
		t->examples += sh->w[i].examples;
		t->clocks += sh->w[i].clock;
		t->pushed += sh->w[i].bytes_pushed;
		t->pulled += sh->w[i].bytes_pulled;
		t->filtered += sh->w[i].filtered;
		t->wait_us += sh->w[i].wait_us;
	}
}

static void
human_bytes(char *buf, size_t len, double b)
{
	const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
	int			u = 0;

	while (b >= 1000 && u < 4)
	{
		b /= 1000;
		u++;
	}
	snprintf(buf, len, "%.1f %s", b, unit[u]);
}

int
main(int argc, char **argv)
{
	static struct option longopts[] = {
		{"server", required_argument, NULL, 's'},
		{"table", required_argument, NULL, 'T'},
		{"train", required_argument, NULL, 't'},
		{"test", required_argument, NULL, 'e'},
		{"workers", required_argument, NULL, 'w'},
		{"reg", required_argument, NULL, 'r'},
		{"lambda", required_argument, NULL, 'l'},
		{"consistency", required_argument, NULL, 'c'},
		{"max-delay", required_argument, NULL, 'd'},
		{"epochs", required_argument, NULL, 'E'},
		{"target-objective", required_argument, NULL, 'o'},
		{"time-limit", required_argument, NULL, 'L'},
		{"batch", required_argument, NULL, 'b'},
		{"learning-rate", required_argument, NULL, 'a'},
		{"reset", no_argument, NULL, 'R'},
		{"method", required_argument, NULL, 'M'},
		{"tolerance", required_argument, NULL, 'X'},
		{"kkt", no_argument, NULL, 'K'},
		{"compress", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	TrainOptions o = {NULL, NULL, 2, false, 1.0, 10, 20, 2.0, false, false,
	true, 1e-3, 1000, -INFINITY, NULL, NULL, 0};
	const char *train_path = NULL,
			   *test_path = NULL,
			   *consistency = "bounded";
	int			max_delay = 4,
				opt,
				i,
				shown = 0,
				failed = -1;
	double		target = -INFINITY,
				limit = INFINITY,
				t0,
				elapsed;
	bool		reset = false,
				delay_given = false,
				epochs_given = false,
				tol_given = false;
	char		err[1024];
	Dataset		train,
				test;
	int64_t    *keys;
	size_t		nkeys;
	float	   *w;
	TrainShared *sh;
	PsClient   *c;
	char	   *cerr = NULL;
	Eval		ev;
	Totals		tot;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (opt)
		{
			case 's': o.server = optarg; break;
			case 'T': o.table = optarg; break;
			case 't': train_path = optarg; break;
			case 'e': test_path = optarg; break;
			case 'w': o.workers = int_arg("--workers", optarg, 1, PS_TRAIN_MAX_WORKERS); break;
			case 'r':
				if (strcmp(optarg, "l1") != 0 && strcmp(optarg, "l2") != 0)
					usage_error("--reg must be l1 or l2, not \"%s\"", optarg);
				o.l1 = strcmp(optarg, "l1") == 0;
				break;
			case 'l': o.lambda = number_arg("--lambda", optarg, 1e-30, 1e30); break;
			case 'c':
				if (strcmp(optarg, "sequential") != 0 && strcmp(optarg, "eventual") != 0 &&
					strcmp(optarg, "bounded") != 0)
					usage_error("--consistency must be sequential, eventual or bounded, not \"%s\"", optarg);
				consistency = optarg;
				break;
			case 'd':
				max_delay = int_arg("--max-delay", optarg, 0, 1000000);
				delay_given = true;
				break;
			case 'E': o.epochs = int_arg("--epochs", optarg, 1, 1000000); epochs_given = true; break;
			case 'o': target = number_arg("--target-objective", optarg, -1e300, 1e300); break;
			case 'L': limit = number_arg("--time-limit", optarg, 0, 1e9); break;
			case 'b': o.batch = int_arg("--batch", optarg, 1, 1000000); break;
			case 'a': o.learning_rate = number_arg("--learning-rate", optarg, 1e-9, 1e9); break;
			case 'R': reset = true; break;
			case 'M':
				if (strcmp(optarg, "batch") != 0 && strcmp(optarg, "ftrl") != 0)
					usage_error("--method must be batch or ftrl, not \"%s\"", optarg);
				o.full_batch = strcmp(optarg, "batch") == 0;
				break;
			case 'X': o.tolerance = number_arg("--tolerance", optarg, 1e-12, 1); tol_given = true; break;
			case 'K': o.kkt = true; break;
			case 'C': o.compress = true; break;
			case 'h': usage(); break;
			default:
				fprintf(stderr, "Try \"ps_train --help\".\n");
				exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument \"%s\"", argv[optind]);
	if (o.server == NULL || o.table == NULL || train_path == NULL)
		usage_error("%s", "--server, --table and --train are required");
	if (o.kkt && !o.l1)
		usage_error("%s", "--kkt needs --reg l1 (the KKT filter keeps weights at zero under L1)");
	if (o.full_batch && o.kkt)
		usage_error("%s", "--kkt is for --method ftrl (the server's KKT filter works on FTRL's accumulators)");
	if (!o.full_batch && tol_given)
		usage_error("%s", "--tolerance is for --method batch");
	/* the batch method: an epoch is an iteration, 1000 at most unless told */
	o.max_iterations = epochs_given ? o.epochs : 1000;
	o.target = target;
	if (strcmp(consistency, "bounded") != 0)
	{
		if (delay_given)
			usage_error("--max-delay needs --consistency bounded, not %s", consistency);
		max_delay = 0;
	}

	t0 = now_s();
	if (!dataset_load(train_path, &train, err, sizeof(err)))
		die("reading the training set", err);
	if (test_path && !dataset_load(test_path, &test, err, sizeof(err)))
		die("reading the test set", err);
	nkeys = model_keys(&train, test_path ? &test : NULL, &keys);
	if ((size_t) o.workers > train.n)
	{
		printf("ps_train: %zu training examples: %zu workers, not %d\n", train.n, train.n, o.workers);
		o.workers = (int) train.n;
	}
	w = malloc(sizeof(float) * (nkeys + 1));
	printf("ps_train: %zu training examples, %zu features (%zu keys in the model)%s, read in %.2f s\n",
		   train.n, train.nnz, nkeys, test_path ? ", and a test set" : "", now_s() - t0);
	o.keys = keys;
	o.nkeys = nkeys;
	if (o.full_batch)
		printf("ps_train: %d workers in step, %s, lambda %g, %s, tolerance %g, at most %d iterations\n",
			   o.workers, o.l1 ? "L1" : "L2", o.lambda,
			   o.l1 ? "OWL-QN" : "trust-region Newton", o.tolerance, o.max_iterations);
	else
		printf("ps_train: %d workers, %s, lambda %g, consistency %s, max delay %d, %d epochs of minibatches of %d, FTRL alpha %g%s\n",
			   o.workers, o.l1 ? "L1" : "L2", o.lambda, consistency, max_delay, o.epochs, o.batch,
			   o.learning_rate, o.kkt ? ", KKT filter" : "");
	fflush(stdout);
	train_prepare_tables(&o, consistency, max_delay, reset);

	sh = mmap(NULL, sizeof(TrainShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("shared memory", "mmap failed");
	memset(sh, 0, sizeof(TrainShared));
	fflush(stdout);
	workers_shared = sh;
	for (i = 0; i < o.workers; i++)
	{
		pid_t		pid = fork();

		if (pid < 0)
			die("starting the workers", "fork failed");
		if (pid == 0)
			_exit(worker_main(&o, &train, i, sh));
		worker_pids[nstarted++] = pid;
	}
	c = ps_client_connect(o.server, &cerr);
	if (c == NULL)
		die("connecting", cerr ? cerr : "");

	for (;;)
	{
		int			done = 0,
					least = INT32_MAX;
		struct timespec nap = {0, 20 * 1000 * 1000};

		int			status;
		pid_t		gone;

		if (now_s() - t0 >= limit)
			sh->stop = 1;
		/* a worker that died without saying so (a signal) */
		while ((gone = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < o.workers; i++)
				if (worker_pids[i] == gone)
				{
					worker_pids[i] = 0;
					if (sh->w[i].finished == 0)
					{
						snprintf(sh->w[i].error, sizeof(sh->w[i].error),
								 "worker %d ended without finishing (%s %d)", i,
								 WIFSIGNALED(status) ? "signal" : "exit status",
								 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
						sh->w[i].finished = 2;
					}
				}
		for (i = 0; i < o.workers; i++)
		{
			done += sh->w[i].finished != 0;
			if (sh->w[i].finished == 2 && failed < 0)
			{
				failed = i;
				sh->stop = 1;
			}
			if (sh->w[i].epochs_done < least)
				least = (int) sh->w[i].epochs_done;
		}
		elapsed = now_s() - t0;
		/* an epoch every worker finished, and no stop asked for yet */
		if (!o.full_batch && least > shown && failed < 0 && !sh->stop)
		{
			/* the workers wait for this measure: least is shown + 1 */
			char		pb[32],
						qb[32];

			shown = least;
			totals(sh, o.workers, &tot);
			evaluate(c, &o, keys, nkeys, w, &train, test_path ? &test : NULL, &ev);
			human_bytes(pb, sizeof(pb), (double) tot.pushed);
			human_bytes(qb, sizeof(qb), (double) tot.pulled);
			printf("epoch %d  clock %lld  %.0f examples/s  objective %.6f  nnz %zu  pushed %s  pulled %s  filtered %llu  waiting %.0f%%\n",
				   shown, (long long) (tot.clocks / o.workers), tot.examples / elapsed, ev.objective,
				   ev.nnz, pb, qb, (unsigned long long) tot.filtered,
				   100.0 * tot.wait_us / 1e6 / (elapsed * o.workers));
			fflush(stdout);
			if (ev.objective <= target)
				sh->stop = 1;
			sh->measured = shown;
		}
		if (done == o.workers)
			break;
		nanosleep(&nap, NULL);
	}
	stop_workers();
	train_drop_sync_table();
	if (failed >= 0)
	{
		fprintf(stderr, "ps_train: %s\n", sh->w[failed].error);
		ps_client_close(c);
		return 1;
	}
	totals(sh, o.workers, &tot);
	if (o.full_batch)
	{
		shown = (int) sh->iterations;
		tot.clocks = sh->reductions * o.workers;
	}
	evaluate(c, &o, keys, nkeys, w, &train, test_path ? &test : NULL, &ev);
	elapsed = now_s() - t0;
	ps_client_close(c);
	if (o.full_batch)
		printf("done: objective %.6f, %zu nonzero weights, %d iterations, %lld reductions, bound %.3g, %.2f s\n",
			   ev.objective, ev.nnz, shown, (long long) sh->reductions, sh->gap, elapsed);
	else
		printf("done: objective %.6f, %zu nonzero weights, %d epochs, %.2f s\n",
			   ev.objective, ev.nnz, shown, elapsed);
	if (test_path)
		printf("test: accuracy %.4f, log-loss %.4f, AUC %.5f (%zu examples)\n",
			   ev.test.accuracy, ev.test.logloss, ev.test.auc, test.n);
	printf("{\"objective\": %.10g, \"nnz\": %zu, ", ev.objective, ev.nnz);
	if (test_path && !isnan(ev.test.auc))
		printf("\"test_accuracy\": %.6f, \"test_logloss\": %.6f, \"test_auc\": %.6f, ",
			   ev.test.accuracy, ev.test.logloss, ev.test.auc);
	else if (test_path)
		printf("\"test_accuracy\": %.6f, \"test_logloss\": %.6f, \"test_auc\": null, ",
			   ev.test.accuracy, ev.test.logloss);
	else
		printf("\"test_accuracy\": null, \"test_logloss\": null, \"test_auc\": null, ");
	printf("\"seconds\": %.3f, \"iterations\": %d, \"clocks\": %lld, \"bytes_pushed\": %llu, "
		   "\"bytes_pulled\": %llu, \"filtered_keys\": %llu, \"examples\": %lld, "
		   "\"workers\": %d, \"reg\": \"%s\", \"lambda\": %.10g, \"consistency\": \"%s\", "
		   "\"max_delay\": %d, \"wait_fraction\": %.4f, \"method\": \"%s\"}\n",
		   elapsed, shown, (long long) (tot.clocks / o.workers), (unsigned long long) tot.pushed,
		   (unsigned long long) tot.pulled, (unsigned long long) tot.filtered, (long long) tot.examples,
		   o.workers, o.l1 ? "l1" : "l2", o.lambda, consistency, max_delay,
		   tot.wait_us / 1e6 / (elapsed * o.workers),
		   !o.full_batch ? "minibatch-ftrl" : o.l1 ? "owl-qn" : "trust-region-newton");
	dataset_free(&train);
	if (test_path)
		dataset_free(&test);
	free(keys);
	free(w);
	return 0;
}
