/*
 * A chat webhook for tests/integration/test_ops_notify.sh: listens on
 * 127.0.0.1:PORT (loopback only), appends each POST body as one line to LOG and answers 200
 * — or 500 while the file LOG.fail exists.
 *
 *   notify_receiver PORT LOG
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX 65536

struct request {
	char body[BODY_MAX];
	size_t len;
};

static const char *log_path;
static volatile sig_atomic_t stop;

static void on_signal(int signal_number)
{
	(void)signal_number;
	stop = 1;
}

static enum MHD_Result answer(struct MHD_Connection *connection, unsigned int status)
{
	struct MHD_Response *response =
	    MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result result = MHD_queue_response(connection, status, response);

	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
	struct request *request = *state;
	char fail_path[4096];
	FILE *log;

	(void)cls;
	(void)url;
	(void)version;
	if (strcmp(method, "POST") != 0)
		return answer(connection, 405);
	if (request == NULL) {
		*state = request = calloc(1, sizeof(*request));
		return request != NULL ? MHD_YES : MHD_NO;
	}
	if (*upload_size > 0) {
		size_t room = BODY_MAX - 1 - request->len;
		size_t take = *upload_size < room ? *upload_size : room;

		memcpy(request->body + request->len, upload_data, take);
		request->len += take;
		*upload_size = 0;
		return MHD_YES;
	}
	snprintf(fail_path, sizeof(fail_path), "%s.fail", log_path);
	if (access(fail_path, F_OK) == 0)
		return answer(connection, 500);
	log = fopen(log_path, "a");
	if (log == NULL)
		return answer(connection, 500);
	fwrite(request->body, 1, request->len, log);
	fputc('\n', log);
	fclose(log);
	return answer(connection, 200);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **state,
                         enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)connection;
	(void)code;
	free(*state);
	*state = NULL;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *daemon;
	struct sockaddr_in address;
	long port;

	if (argc != 3 || (port = strtol(argv[1], NULL, 10)) <= 0 || port > 65535) {
		fprintf(stderr, "usage: notify_receiver PORT LOG\n");
		return 2;
	}
	log_path = argv[2];
	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_port = htons((uint16_t)port);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	daemon =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
	                     on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address, MHD_OPTION_END);
	if (daemon == NULL) {
		fprintf(stderr, "notify_receiver: cannot listen on port %ld\n", port);
		return 1;
	}
	while (!stop)
		pause();
	MHD_stop_daemon(daemon);
	return 0;
}
