/* mbsim entry point: command line, startup, port file, clean exit on SIGTERM/SIGINT. */
#include "mbsim.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: mbsim --port N [--port-file FILE] --token TOKEN --administration-id ID\n"
	        "             [--rate-limit REQUESTS/SECONDS] [--seed N] "
	        "[--webhook-retry-seconds N]\n"
	        "A Moneybird API v2 simulator for tests; binds 127.0.0.1 only.\n"
	        "See tests/mbsim/README.md.\n");
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct mbsim_options *opt)
{
	int i;
	unsigned long v;
	bool port_given = false;

	memset(opt, 0, sizeof(*opt));
	opt->rate_requests = 150;
	opt->rate_seconds = 300;
	opt->webhook_retry_seconds = 30;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (val == NULL) {
			fprintf(stderr, "mbsim: %s needs a value\n", arg);
			return -1;
		}
		i++;
		if (strcmp(arg, "--port") == 0) {
			if (parse_ulong(val, 65535, &v) != 0)
				goto bad;
			opt->port = (unsigned)v;
			port_given = true;
		} else if (strcmp(arg, "--port-file") == 0) {
			opt->port_file = val;
		} else if (strcmp(arg, "--token") == 0) {
			opt->token = val;
		} else if (strcmp(arg, "--administration-id") == 0) {
			if (!mbsim_is_digits(val) || strlen(val) > 20)
				goto bad;
			opt->administration_id = val;
		} else if (strcmp(arg, "--rate-limit") == 0) {
			const char *slash = strchr(val, '/');
			char requests[32];

			if (slash == NULL || (size_t)(slash - val) >= sizeof(requests))
				goto bad;
			snprintf(requests, sizeof(requests), "%.*s", (int)(slash - val), val);
			if (parse_ulong(requests, 1000000, &v) != 0 || v == 0)
				goto bad;
			opt->rate_requests = (unsigned)v;
			if (parse_ulong(slash + 1, 86400, &v) != 0 || v == 0)
				goto bad;
			opt->rate_seconds = (unsigned)v;
		} else if (strcmp(arg, "--seed") == 0) {
			if (parse_ulong(val, ~0UL, &v) != 0)
				goto bad;
			opt->seed = v;
			opt->seed_given = true;
		} else if (strcmp(arg, "--webhook-retry-seconds") == 0) {
			if (parse_ulong(val, 86400, &v) != 0)
				goto bad;
			opt->webhook_retry_seconds = (unsigned)v;
		} else {
			fprintf(stderr, "mbsim: unknown option %s\n", arg);
			return -1;
		}
		continue;
	bad:
		fprintf(stderr, "mbsim: invalid value for %s: %s\n", arg, val);
		return -1;
	}
	if (!port_given || opt->token == NULL || opt->token[0] == '\0' ||
	    opt->administration_id == NULL) {
		fprintf(stderr, "mbsim: --port, --token and --administration-id are required\n");
		return -1;
	}
	return 0;
}

/* Written atomically (temp file + rename) so a poller never reads half a number. */
static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	if (fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mbsim sim;
	pthread_condattr_t cond_attr;
	pthread_t webhook_thread;
	sigset_t signals;
	void *daemon = NULL;
	int sig = 0, rc = 1;
	bool thread_started = false;

	memset(&sim, 0, sizeof(sim));
	if (parse_args(argc, argv, &sim.opt) != 0) {
		usage(stderr);
		return 2;
	}
	/* Dates ("today") are the administration's, like Moneybird's. */
	setenv("TZ", "Europe/Amsterdam", 1);
	tzset();
	sim.rng =
	    sim.opt.seed_given ? sim.opt.seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	sim.next_id = 496081500000000000ULL + (mbsim_random(&sim) % 1000000) * 1000;
	sim.rate_log = calloc(sim.opt.rate_requests, sizeof(*sim.rate_log));
	if (sim.rate_log == NULL)
		return 1;
	pthread_mutex_init(&sim.lock, NULL);
	pthread_condattr_init(&cond_attr);
	pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sim.wake, &cond_attr);
	pthread_condattr_destroy(&cond_attr);
	mbsim_store_seed(&sim);

	/* Block the signals in every thread; the main thread waits for them. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (mbsim_webhooks_start(&sim, &webhook_thread) != 0) {
		fprintf(stderr, "mbsim: cannot start the webhook thread\n");
		goto out;
	}
	thread_started = true;
	daemon = mbsim_http_start(&sim, &sim.bound_port);
	if (daemon == NULL) {
		fprintf(stderr, "mbsim: cannot listen on 127.0.0.1:%u\n", sim.opt.port);
		goto out;
	}
	if (sim.opt.port_file != NULL && write_port_file(sim.opt.port_file, sim.bound_port) != 0) {
		fprintf(stderr, "mbsim: cannot write port file %s\n", sim.opt.port_file);
		goto out;
	}
	fprintf(stderr, "mbsim: listening on http://127.0.0.1:%u/api/v2/%s/ (rate limit %u/%us)\n",
	        sim.bound_port, sim.opt.administration_id, sim.opt.rate_requests,
	        sim.opt.rate_seconds);
	while (sigwait(&signals, &sig) != 0)
		;
	fprintf(stderr, "mbsim: signal %d, exiting\n", sig);
	rc = 0;
out:
	mbsim_http_stop(daemon);
	if (thread_started) {
		pthread_mutex_lock(&sim.lock);
		sim.stopping = true;
		pthread_cond_signal(&sim.wake);
		pthread_mutex_unlock(&sim.lock);
		pthread_join(webhook_thread, NULL);
	}
	mbsim_store_free(&sim);
	free(sim.rate_log);
	pthread_cond_destroy(&sim.wake);
	pthread_mutex_destroy(&sim.lock);
	return rc;
}
