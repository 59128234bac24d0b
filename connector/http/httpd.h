/*
 * The webhook listener: routing, method and size checks, JSON error bodies.
 * Webhook deliveries go to the intake; health, readiness and metrics are
 * answered here. Connections, deadlines and threads are the listener's
 * (listener.h), with the http.* limits of the configuration.
 */
#ifndef BM_HTTPD_H
#define BM_HTTPD_H

#include "error.h"
#include "intake.h"
#include "listener.h"

struct httpd;

/* The http.* limits of config as a listener's limits. */
void httpd_limits_from_config(const struct config *config, struct listener_limits *limits);

/* Starts listening on config->http_listen_host:port with the http.* limits.
 * *out is owned by the caller (httpd_stop). */
int httpd_start(struct intake_context *intake, struct httpd **out, struct cn_error *err) MUST_CHECK;

/* The port actually bound (useful with port 0). */
unsigned int httpd_port(const struct httpd *httpd);

/* Stops accepting, lets in-flight requests finish, frees everything. */
void httpd_stop(struct httpd *httpd);

#endif
