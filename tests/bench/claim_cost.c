/*
 * bm-claim-cost: times the job queue's claim against a database, for the
 * fairness bench (fair_bench.sh). It claims a job and gives it back, N times,
 * then asks N times when the next job is due, and prints the mean and the
 * worst time of each as key=value lines. Claims count nothing against
 * Moneybird; a give-back writes the same audit rows a worker's would.
 *
 *   bm-claim-cost CONNINFO N [explain]
 *
 * With "explain", the plans of the claim's statements (EXPLAIN ANALYZE with
 * buffers, through auto_explain) go to stderr as notices; needs a superuser.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "queue.h"
#include "store.h"

#define OWNER "bench:claim-cost:0" /* host:pid:nonce:index, as a worker's */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The plans auto_explain sends as notices (the store's connection drops them). */
static void print_notice(void *arg, const char *message)
{
	(void)arg;
	fputs(message, stderr);
}

static void report(const char *name, double total_us, double worst_us, int n)
{
	printf("%s_mean_us=%.0f\n%s_max_us=%.0f\n", name, n > 0 ? total_us / n : 0.0, name,
	       worst_us);
}

int main(int argc, char **argv)
{
	struct cn_error err = {""};
	PGconn *conn = NULL;
	double total = 0, worst = 0;
	int n, claimed = 0;

	if (argc < 3 || argc > 4 || (n = (int)strtol(argv[2], NULL, 10)) < 1) {
		fprintf(stderr, "usage: bm-claim-cost CONNINFO N [explain]\n");
		return 2;
	}
	if (store_connect(argv[1], &conn, &err) != CN_OK) {
		fprintf(stderr, "bm-claim-cost: %s\n", err.message);
		return 1;
	}
	if (argc == 4)
		PQsetNoticeProcessor(conn, print_notice, NULL);
	if (argc == 4 &&
	    store_exec(conn,
	               "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;"
	               " SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on;"
	               " SET auto_explain.log_nested_statements = on;"
	               " SET auto_explain.log_level = notice",
	               &err) != CN_OK) {
		fprintf(stderr, "bm-claim-cost: %s\n", err.message);
		PQfinish(conn);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct queue_job job;
		double start = now_us(), took;
		int rc = queue_claim(conn, OWNER, 60, 0, &job, &err);

		took = now_us() - start;
		total += took;
		worst = took > worst ? took : worst;
		if (rc == CN_NOT_FOUND)
			continue;
		if (rc != CN_OK || queue_release(conn, &job, OWNER, "bench", &err) != CN_OK) {
			fprintf(stderr, "bm-claim-cost: %s\n", err.message);
			PQfinish(conn);
			return 1;
		}
		claimed++;
	}
	report("claim", total, worst, n);
	printf("claimed=%d\n", claimed);
	total = worst = 0;
	for (int i = 0; i < n; i++) {
		int64_t delay_ms = 0;
		double start = now_us(), took;
		int rc = queue_next_ready_ms(conn, OWNER, 0, &delay_ms, &err);

		took = now_us() - start;
		total += took;
		worst = took > worst ? took : worst;
		if (rc != CN_OK && rc != CN_NOT_FOUND) {
			fprintf(stderr, "bm-claim-cost: %s\n", err.message);
			PQfinish(conn);
			return 1;
		}
	}
	report("next_ready", total, worst, n);
	PQfinish(conn);
	return 0;
}
