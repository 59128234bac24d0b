/*
 * bm-loadgen: a small closed-loop HTTP load generator for the bookto webhook.
 * It keeps C keep-alive connections busy (one request in flight on each, like
 * wrk), each request a distinct, correctly signed order.paid delivery, and
 * records every request's latency from the first byte written to the last
 * byte of the answer. Bodies are built and signed before that clock starts,
 * so signing never counts as connector latency. One thread, poll(): the
 * generator itself needs little CPU on the 2-core machine it shares with
 * the connector and PostgreSQL.
 *
 * Results go to stdout as key=value lines (see print_report) so the bench
 * scripts can parse them; --ack-file lists every acknowledged order_id.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bookto.h"
#include "loadgen_body.h"

#define MAX_CONNS 1024
#define BODY_MAX 4096
#define REQUEST_MAX (BODY_MAX + 1024)
#define RESPONSE_MAX 16384
#define MAX_SAMPLES (64u * 1024u * 1024u)
#define MAX_STATUS 600

enum conn_phase { PHASE_IDLE, PHASE_CONNECTING, PHASE_WRITING, PHASE_READING };

struct conn {
	int fd;
	enum conn_phase phase;
	bool reused;      /* the socket already carried a request */
	uint64_t index;   /* order index of the request in flight */
	unsigned attempt; /* 0 = first try of this index */
	char request[REQUEST_MAX];
	size_t request_len;
	size_t sent;
	char response[RESPONSE_MAX];
	size_t response_len;
	int64_t start_us;
};

struct retry_entry {
	uint64_t index;
	unsigned attempt;
	int64_t not_before_us;
};

struct options {
	char host[64];
	int port;
	char path[256];
	char secret[256];
	char prefix[64];
	unsigned concurrency;
	uint64_t count;    /* 0 = until duration */
	double duration_s; /* 0 = until count */
	uint64_t start;
	unsigned new_buyer_permille;
	uint64_t buyer_pool; /* > 0: every order from one of buyers 0..pool-1 */
	double rate;         /* requests per second, 0 = as fast as possible */
	unsigned retries;    /* re-sends of an unanswered / 5xx delivery */
	int timeout_ms;
	const char *ack_file;
	bool quiet;
	struct body_source src; /* where the bodies come from */
};

struct stats {
	uint64_t issued;
	uint64_t answered;
	uint64_t no_answer; /* connection failed or closed before an answer */
	uint64_t timeouts;
	uint64_t status[MAX_STATUS];
	uint64_t other_status;
	uint64_t accepted, duplicate, spooled, ignored;
	uint64_t retried;
	uint64_t given_up;
	uint32_t *samples_us;
	size_t sample_count;
	size_t sample_cap;
	int64_t first_send_us;
	int64_t last_answer_us;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: bm-loadgen --url http://127.0.0.1:PORT/webhooks/bookto[/NAME] --secret S\n"
	        "                  [--concurrency 32] [--count N] [--duration SECONDS]\n"
	        "                  [--prefix ID_PREFIX] [--start N] [--new-buyers PERMILLE]\n"
	        "                  [--buyer-pool N]\n"
	        "                  [--rate PER_SECOND] [--retries N] [--timeout-ms MS]\n"
	        "                  [--ack-file FILE] [--quiet]\n"
	        "                  [--realistic SEED | --bodies FILE]\n"
	        "Sends distinct signed order.paid deliveries (order_id PREFIX-INDEX).\n"
	        "--new-buyers 300: 30%% of orders come from a buyer never seen before, the\n"
	        "rest from earlier buyers (default 1000: every order a new buyer).\n"
	        "--buyer-pool N: every order from one of the buyers 0..N-1 (returning buyers\n"
	        "after a --new-buyers run that created them).\n"
	        "--realistic SEED: bm-ordergen's realistic orders (prices, treatments, buyer\n"
	        "kinds) for the same order ids and buyer numbers, instead of 121.00 each\n"
	        "(only bookable ones: see bm-ordergen --bookable).\n"
	        "--bodies FILE: POST the lines of FILE as they are (e.g. bm-ordergen output);\n"
	        "order index = line number from 0, --count defaults to the line count.\n");
}

static bool parse_u64(const char *text, uint64_t *out)
{
	char *end = NULL;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
		return false;
	*out = value;
	return true;
}

static bool parse_double(const char *text, double *out)
{
	char *end = NULL;

	errno = 0;
	*out = strtod(text, &end);
	return errno == 0 && end != text && *end == '\0' && *out >= 0;
}

static bool parse_url(const char *url, struct options *opt)
{
	const char *rest, *colon, *slash;
	uint64_t port;
	char port_text[16];
	size_t host_len, port_len;

	if (strncmp(url, "http://", 7) != 0)
		return false;
	rest = url + 7;
	colon = strchr(rest, ':');
	slash = strchr(rest, '/');
	if (colon == NULL || slash == NULL || colon > slash)
		return false;
	host_len = (size_t)(colon - rest);
	port_len = (size_t)(slash - colon - 1);
	if (host_len == 0 || host_len >= sizeof(opt->host) || port_len == 0 ||
	    port_len >= sizeof(port_text) || strlen(slash) >= sizeof(opt->path))
		return false;
	memcpy(opt->host, rest, host_len);
	opt->host[host_len] = '\0';
	memcpy(port_text, colon + 1, port_len);
	port_text[port_len] = '\0';
	if (!parse_u64(port_text, &port) || port == 0 || port > 65535)
		return false;
	opt->port = (int)port;
	snprintf(opt->path, sizeof(opt->path), "%s", slash);
	return true;
}

/* Stores a number option within its bounds (none for 'd' a double; 'l' a uint64_t, 'u' an
 * unsigned or int): 0, or -1 for a bad number; 1 when `name` is another option. */
static int set_number_option(struct options *opt, const char *name, const char *arg)
{
	const struct {
		const char *name;
		uint64_t min, max;
		char type;
		void *to;
	} numbers[] = {
	    {"--concurrency", 1, MAX_CONNS, 'u', &opt->concurrency},
	    {"--count", 0, UINT64_MAX, 'l', &opt->count},
	    {"--start", 0, UINT64_MAX, 'l', &opt->start},
	    {"--new-buyers", 0, 1000, 'u', &opt->new_buyer_permille},
	    {"--buyer-pool", 0, UINT64_MAX, 'l', &opt->buyer_pool},
	    {"--retries", 0, 1000, 'u', &opt->retries},
	    {"--timeout-ms", 1, 600000, 'u', &opt->timeout_ms},
	    {"--duration", 0, 0, 'd', &opt->duration_s},
	    {"--rate", 0, 0, 'd', &opt->rate},
	};
	uint64_t value;

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		if (strcmp(name, numbers[i].name) != 0)
			continue;
		if (numbers[i].type == 'd')
			return parse_double(arg, numbers[i].to) ? 0 : -1;
		if (!parse_u64(arg, &value) || value < numbers[i].min || value > numbers[i].max)
			return -1;
		if (numbers[i].type == 'l')
			*(uint64_t *)numbers[i].to = value;
		else
			*(unsigned *)numbers[i].to = (unsigned)value;
		return 0;
	}
	return 1;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	uint64_t value;
	int number;
	bool have_url = false, have_secret = false;

	memset(opt, 0, sizeof(*opt));
	opt->concurrency = 32;
	opt->new_buyer_permille = 1000;
	opt->timeout_ms = 30000;
	snprintf(opt->prefix, sizeof(opt->prefix), "bench-%ld-%ld", (long)getpid(),
	         (long)time(NULL));
	for (int i = 1; i < argc; i++) {
		const char *name = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(name, "--quiet") == 0) {
			opt->quiet = true;
			continue;
		}
		if (strcmp(name, "--help") == 0) {
			usage();
			exit(0);
		}
		if (arg == NULL)
			goto bad;
		i++;
		if ((number = set_number_option(opt, name, arg)) < 0)
			goto bad;
		if (number == 0)
			continue;
		if (strcmp(name, "--url") == 0) {
			if (!parse_url(arg, opt))
				goto bad;
			have_url = true;
		} else if (strcmp(name, "--secret") == 0) {
			if (strlen(arg) >= sizeof(opt->secret))
				goto bad;
			snprintf(opt->secret, sizeof(opt->secret), "%s", arg);
			have_secret = true;
		} else if (strcmp(name, "--prefix") == 0) {
			if (strlen(arg) == 0 || strlen(arg) >= sizeof(opt->prefix))
				goto bad;
			snprintf(opt->prefix, sizeof(opt->prefix), "%s", arg);
		} else if (strcmp(name, "--ack-file") == 0) {
			opt->ack_file = arg;
		} else if (strcmp(name, "--realistic") == 0) {
			if (!parse_u64(arg, &value))
				goto bad;
			ordergen_init(&opt->src.gen, value);
			opt->src.gen.bookable_only = true; /* a bench counts synced orders */
			opt->src.realistic = 1;
		} else if (strcmp(name, "--bodies") == 0) {
			if (opt->src.lines != NULL ||
			    body_source_load(&opt->src, arg, BODY_MAX - 1) != 0)
				goto bad;
		} else {
			goto bad;
		}
	}
	if (opt->src.lines != NULL && opt->count == 0 && opt->duration_s <= 0)
		opt->count =
		    opt->src.line_count > opt->start ? opt->src.line_count - opt->start : 0;
	if (!have_url || !have_secret || (opt->count == 0 && opt->duration_s <= 0))
		goto bad;
	opt->src.prefix = opt->prefix;
	snprintf(opt->src.gen.prefix, sizeof(opt->src.gen.prefix), "%s", opt->prefix);
	return 0;
bad:
	usage();
	return -1;
}

/* ceil(n * permille / 1000): buyers first seen among the first n orders. */
static uint64_t buyers_before(uint64_t n, unsigned permille)
{
	return (n * permille + 999) / 1000;
}

/* Order index -> buyer number. Order i is from a new buyer when the running
 * count of new buyers steps up at i; otherwise it reuses an earlier buyer,
 * spread by a multiplicative hash so repeat orders hit many buyers. */
static uint64_t buyer_of(uint64_t index, unsigned permille)
{
	uint64_t before = buyers_before(index, permille);

	if (buyers_before(index + 1, permille) > before || before == 0)
		return before;
	return (index * 2654435761u) % before;
}

/* Builds the signed HTTP request for order `index` into c->request. */
static int build_request(const struct options *opt, struct conn *c, uint64_t index)
{
	char body[BODY_MAX];
	char timestamp[32];
	char signature[72];
	uint64_t buyer = opt->buyer_pool > 0 ? (index * 2654435761u) % opt->buyer_pool
	                                     : buyer_of(index, opt->new_buyer_permille);
	int body_len, request_len;

	body_len = body_source_render(&opt->src, index, buyer, body, sizeof(body));
	if (body_len < 0 || (size_t)body_len >= sizeof(body))
		return -1;
	snprintf(timestamp, sizeof(timestamp), "%lld", (long long)time(NULL));
	bookto_sign(opt->secret, timestamp, (const unsigned char *)body, (size_t)body_len,
	            signature);
	request_len =
	    snprintf(c->request, sizeof(c->request),
	             "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
	             "Content-Type: application/json\r\nX-Bookto-Event: order.paid\r\n"
	             "X-Bookto-Timestamp: %s\r\nX-Bookto-Signature: %s\r\n"
	             "Content-Length: %d\r\n\r\n%s",
	             opt->path, opt->host, opt->port, timestamp, signature, body_len, body);
	if (request_len < 0 || (size_t)request_len >= sizeof(c->request))
		return -1;
	c->request_len = (size_t)request_len;
	c->sent = 0;
	c->response_len = 0;
	c->index = index;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->reused = false;
	c->phase = PHASE_IDLE;
}

static int conn_open(const struct options *opt, struct conn *c)
{
	struct sockaddr_in addr;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)opt->port);
	if (inet_pton(AF_INET, opt->host, &addr.sin_addr) != 1) {
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->reused = false;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		c->phase = PHASE_WRITING;
		return 0;
	}
	if (errno == EINPROGRESS) {
		c->phase = PHASE_CONNECTING;
		return 0;
	}
	conn_close(c);
	return -1;
}

static void record_sample(struct stats *st, int64_t latency_us)
{
	if (st->sample_count == st->sample_cap) {
		size_t cap = st->sample_cap == 0 ? 65536 : st->sample_cap * 2;
		uint32_t *grown;

		if (cap > MAX_SAMPLES)
			return;
		grown = realloc(st->samples_us, cap * sizeof(*grown));
		if (grown == NULL)
			return;
		st->samples_us = grown;
		st->sample_cap = cap;
	}
	if (latency_us < 0)
		latency_us = 0;
	if (latency_us > (int64_t)UINT32_MAX)
		latency_us = (int64_t)UINT32_MAX;
	st->samples_us[st->sample_count++] = (uint32_t)latency_us;
}

/* Parses a complete answer in c->response: 1 = complete (status, keep-alive
 * set), 0 = need more bytes, -1 = malformed. */
static int parse_response(struct conn *c, int *status, bool *keep_alive, const char **body,
                          size_t *body_len)
{
	char *head_end, *line;
	long content_length = -1;
	size_t head_len;

	c->response[c->response_len] = '\0';
	head_end = strstr(c->response, "\r\n\r\n");
	if (head_end == NULL)
		return c->response_len >= RESPONSE_MAX - 1 ? -1 : 0;
	head_len = (size_t)(head_end - c->response) + 4;
	if (strncmp(c->response, "HTTP/1.", 7) != 0 || c->response_len < 12)
		return -1;
	*status =
	    (c->response[9] - '0') * 100 + (c->response[10] - '0') * 10 + (c->response[11] - '0');
	*keep_alive = c->response[7] == '1';
	for (line = strstr(c->response, "\r\n"); line != NULL && line < head_end;
	     line = strstr(line + 2, "\r\n")) {
		const char *field = line + 2;

		if (strncasecmp(field, "Content-Length:", 15) == 0) {
			char *end = NULL;

			content_length = strtol(field + 15, &end, 10);
			if (end == field + 15 || content_length < 0)
				return -1;
		} else if (strncasecmp(field, "Connection:", 11) == 0) {
			const char *value = field + 11;

			while (*value == ' ')
				value++;
			if (strncasecmp(value, "close", 5) == 0)
				*keep_alive = false;
		} else if (strncasecmp(field, "Transfer-Encoding:", 18) == 0) {
			return -1; /* the connector sends fixed-length answers */
		}
	}
	if (content_length < 0)
		return -1;
	if (c->response_len < head_len + (size_t)content_length)
		return c->response_len >= RESPONSE_MAX - 1 ? -1 : 0;
	*body = c->response + head_len;
	*body_len = (size_t)content_length;
	return 1;
}

struct run {
	const struct options *opt;
	struct stats *stats;
	FILE *ack;
	uint64_t next_index; /* next never-sent order index */
	uint64_t end_index;  /* UINT64_MAX in duration mode */
	int64_t stop_us;     /* stop issuing after this (duration mode) */
	int64_t start_us;
	struct retry_entry *retry;
	size_t retry_count, retry_cap;
};

static void retry_push(struct run *run, uint64_t index, unsigned attempt)
{
	if (attempt > run->opt->retries) {
		run->stats->given_up++;
		return;
	}
	if (run->retry_count == run->retry_cap) {
		size_t cap = run->retry_cap == 0 ? 256 : run->retry_cap * 2;
		struct retry_entry *grown = realloc(run->retry, cap * sizeof(*grown));

		if (grown == NULL) {
			run->stats->given_up++;
			return;
		}
		run->retry = grown;
		run->retry_cap = cap;
	}
	/* bookto-like backoff: 200 ms, 400 ms, ... capped at 2 s */
	run->retry[run->retry_count].index = index;
	run->retry[run->retry_count].attempt = attempt;
	run->retry[run->retry_count].not_before_us =
	    now_us() + (attempt < 10 ? (int64_t)attempt * 200000 : 2000000);
	run->retry_count++;
	run->stats->retried++;
}

/* The next (index, attempt) to send, or false when there is none right now. */
static bool next_work(struct run *run, uint64_t *index, unsigned *attempt, int64_t now)
{
	for (size_t i = 0; i < run->retry_count; i++) {
		if (run->retry[i].not_before_us <= now) {
			*index = run->retry[i].index;
			*attempt = run->retry[i].attempt;
			run->retry[i] = run->retry[--run->retry_count];
			return true;
		}
	}
	if (run->next_index >= run->end_index || now >= run->stop_us)
		return false;
	if (run->opt->rate > 0) {
		double due = (double)(run->next_index - run->opt->start) / run->opt->rate;

		if ((double)(now - run->start_us) / 1e6 < due)
			return false;
	}
	*index = run->next_index++;
	*attempt = 0;
	return true;
}

static bool more_work_possible(const struct run *run, int64_t now)
{
	return run->retry_count > 0 || (run->next_index < run->end_index && now < run->stop_us);
}

/* A request ended without an answer (closed, refused, timed out). */
static void request_failed(struct run *run, struct conn *c, bool timeout)
{
	if (timeout)
		run->stats->timeouts++;
	run->stats->no_answer++;
	retry_push(run, c->index, c->attempt + 1);
	conn_close(c);
}

static void request_answered(struct run *run, struct conn *c, int status, const char *body,
                             size_t body_len)
{
	struct stats *st = run->stats;
	int64_t t = now_us();

	st->answered++;
	st->last_answer_us = t;
	record_sample(st, t - c->start_us);
	if (status >= 0 && status < MAX_STATUS)
		st->status[status]++;
	else
		st->other_status++;
	if (status >= 200 && status < 300) {
		if (memmem(body, body_len, "\"accepted\"", 10) != NULL)
			st->accepted++;
		else if (memmem(body, body_len, "\"duplicate\"", 11) != NULL)
			st->duplicate++;
		else if (memmem(body, body_len, "\"spooled\"", 9) != NULL)
			st->spooled++;
		else if (memmem(body, body_len, "\"ignored\"", 9) != NULL)
			st->ignored++;
		if (run->ack != NULL)
			fprintf(run->ack, "%s-%" PRIu64 " %d\n", run->opt->prefix, c->index,
			        status);
	} else if (status >= 500 || status == 429) {
		retry_push(run, c->index, c->attempt + 1);
	}
}

/* Starts the next request on an idle connection; false when no work. */
static bool conn_start(struct run *run, struct conn *c, int64_t now)
{
	uint64_t index;
	unsigned attempt;

	if (!next_work(run, &index, &attempt, now))
		return false;
	if (build_request(run->opt, c, index) != 0) {
		fprintf(stderr, "bm-loadgen: request %" PRIu64 " too large or past the last line\n",
		        index);
		exit(2);
	}
	c->attempt = attempt;
	run->stats->issued++;
	if (c->fd < 0 && conn_open(run->opt, c) != 0) {
		request_failed(run, c, false);
		return true;
	}
	if (c->fd >= 0 && c->phase == PHASE_IDLE)
		c->phase = PHASE_WRITING;
	c->start_us = now_us();
	if (run->stats->first_send_us == 0)
		run->stats->first_send_us = c->start_us;
	return true;
}

static void conn_step(struct run *run, struct conn *c, short revents)
{
	if (c->phase == PHASE_CONNECTING) {
		int so_error = 0;
		socklen_t len = sizeof(so_error);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 ||
		    so_error != 0) {
			request_failed(run, c, false);
			return;
		}
		c->phase = PHASE_WRITING;
	}
	if (c->phase == PHASE_WRITING && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t n =
		    send(c->fd, c->request + c->sent, c->request_len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* A kept-alive socket the server closed while idle: not a
			 * failed delivery, just reconnect and send again. */
			bool stale = c->reused && c->sent == 0;

			if (stale) {
				conn_close(c);
				if (conn_open(run->opt, c) == 0)
					return;
			}
			request_failed(run, c, false);
			return;
		}
		c->sent += (size_t)n;
		if (c->sent == c->request_len)
			c->phase = PHASE_READING;
		return;
	}
	if (c->phase == PHASE_READING && (revents & (POLLIN | POLLERR | POLLHUP))) {
		ssize_t n = recv(c->fd, c->response + c->response_len,
		                 RESPONSE_MAX - 1 - c->response_len, 0);
		int status = 0, parsed;
		bool keep_alive = true;
		const char *body = NULL;
		size_t body_len = 0;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (c->reused && c->response_len == 0) {
				/* closed between requests: resend on a fresh socket */
				conn_close(c);
				if (conn_open(run->opt, c) == 0) {
					c->sent = 0;
					return;
				}
			}
			request_failed(run, c, false);
			return;
		}
		c->response_len += (size_t)n;
		parsed = parse_response(c, &status, &keep_alive, &body, &body_len);
		if (parsed == 0)
			return;
		if (parsed < 0) {
			fprintf(stderr, "bm-loadgen: malformed answer\n");
			request_failed(run, c, false);
			return;
		}
		request_answered(run, c, status, body, body_len);
		if (keep_alive) {
			c->phase = PHASE_IDLE;
			c->reused = true;
		} else {
			conn_close(c);
		}
	}
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double percentile_ms(const struct stats *st, double p)
{
	size_t rank;

	if (st->sample_count == 0)
		return 0;
	rank = (size_t)(p * (double)(st->sample_count - 1) + 0.5);
	return st->samples_us[rank] / 1000.0;
}

static void print_report(const struct options *opt, struct stats *st, uint64_t next_index)
{
	uint64_t ok2xx = 0, non2xx = st->other_status;
	double elapsed = st->last_answer_us > st->first_send_us
	                     ? (double)(st->last_answer_us - st->first_send_us) / 1e6
	                     : 0;

	qsort(st->samples_us, st->sample_count, sizeof(*st->samples_us), compare_u32);
	for (int code = 0; code < MAX_STATUS; code++) {
		if (code >= 200 && code < 300)
			ok2xx += st->status[code];
		else
			non2xx += st->status[code];
	}
	printf("prefix=%s\n", opt->prefix);
	printf("concurrency=%u\n", opt->concurrency);
	printf("issued=%" PRIu64 "\n", st->issued);
	printf("answered=%" PRIu64 "\n", st->answered);
	printf("status_200=%" PRIu64 "\n", st->status[200]);
	printf("status_2xx=%" PRIu64 "\n", ok2xx);
	printf("non_2xx=%" PRIu64 "\n", non2xx);
	for (int code = 0; code < MAX_STATUS; code++)
		if (st->status[code] > 0 && code != 200)
			printf("status_%d=%" PRIu64 "\n", code, st->status[code]);
	printf("no_answer=%" PRIu64 "\n", st->no_answer);
	printf("timeouts=%" PRIu64 "\n", st->timeouts);
	printf("retried=%" PRIu64 "\n", st->retried);
	printf("given_up=%" PRIu64 "\n", st->given_up);
	printf("accepted=%" PRIu64 "\n", st->accepted);
	printf("duplicate=%" PRIu64 "\n", st->duplicate);
	printf("spooled=%" PRIu64 "\n", st->spooled);
	printf("ignored=%" PRIu64 "\n", st->ignored);
	printf("elapsed_s=%.3f\n", elapsed);
	printf("acks_per_s=%.1f\n", elapsed > 0 ? (double)ok2xx / elapsed : 0.0);
	printf("p50_ms=%.2f\n", percentile_ms(st, 0.50));
	printf("p90_ms=%.2f\n", percentile_ms(st, 0.90));
	printf("p99_ms=%.2f\n", percentile_ms(st, 0.99));
	printf("p999_ms=%.2f\n", percentile_ms(st, 0.999));
	printf("max_ms=%.2f\n", percentile_ms(st, 1.0));
	printf("next_index=%" PRIu64 "\n", next_index);
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	static struct pollfd fds[MAX_CONNS];
	static struct stats st;
	struct options opt;
	struct run run;
	int64_t last_progress;

	if (parse_options(argc, argv, &opt) != 0)
		return 2;
	memset(&run, 0, sizeof(run));
	run.opt = &opt;
	run.stats = &st;
	run.next_index = opt.start;
	run.end_index = opt.count > 0 ? opt.start + opt.count : UINT64_MAX;
	if (opt.ack_file != NULL) {
		run.ack = fopen(opt.ack_file, "w");
		if (run.ack == NULL) {
			perror(opt.ack_file);
			return 2;
		}
	}
	for (unsigned i = 0; i < opt.concurrency; i++) {
		conns[i].fd = -1;
		conns[i].phase = PHASE_IDLE;
	}
	run.start_us = now_us();
	run.stop_us =
	    opt.duration_s > 0 ? run.start_us + (int64_t)(opt.duration_s * 1e6) : INT64_MAX;
	last_progress = run.start_us;
	for (;;) {
		int64_t now = now_us();
		unsigned busy = 0;
		int timeout_ms = 100;

		for (unsigned i = 0; i < opt.concurrency; i++) {
			struct conn *c = &conns[i];

			if (c->phase == PHASE_IDLE)
				(void)conn_start(&run, c, now);
			if (c->phase != PHASE_IDLE && now - c->start_us > opt.timeout_ms * 1000LL)
				request_failed(&run, c, true);
			fds[i].fd = c->phase == PHASE_IDLE ? -1 : c->fd;
			fds[i].events = c->phase == PHASE_READING ? POLLIN : POLLOUT;
			fds[i].revents = 0;
			if (c->phase != PHASE_IDLE)
				busy++;
		}
		if (busy == 0 && !more_work_possible(&run, now))
			break;
		if (busy < opt.concurrency && (opt.rate > 0 || run.retry_count > 0))
			timeout_ms = 2;
		if (poll(fds, opt.concurrency, timeout_ms) < 0 && errno != EINTR) {
			perror("poll");
			return 2;
		}
		for (unsigned i = 0; i < opt.concurrency; i++)
			if (fds[i].fd >= 0 && fds[i].revents != 0)
				conn_step(&run, &conns[i], fds[i].revents);
		if (!opt.quiet && now - last_progress > 5000000) {
			fprintf(stderr, "bm-loadgen: %" PRIu64 " answered, %" PRIu64 " 2xx\n",
			        st.answered, st.status[200]);
			last_progress = now;
		}
	}
	for (unsigned i = 0; i < opt.concurrency; i++)
		conn_close(&conns[i]);
	if (run.ack != NULL && fclose(run.ack) != 0) {
		perror(opt.ack_file);
		return 2;
	}
	print_report(&opt, &st, run.next_index);
	body_source_free(&opt.src);
	free(st.samples_us);
	free(run.retry);
	return 0;
}
