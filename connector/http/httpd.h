/*
 * The HTTP front end (GNU libmicrohttpd): routing, method and size limits,
 * raw body capture with a hard cap, JSON error bodies. Webhook deliveries go
 * to the intake; health and readiness are answered here.
 */
#ifndef BM_HTTPD_H
#define BM_HTTPD_H

#include "error.h"
#include "intake.h"

struct httpd;

/* Starts listening on config->http_listen_host:port with a thread per
 * connection. *out is owned by the caller (httpd_stop). */
int httpd_start(struct intake_context *intake, struct httpd **out, struct cn_error *err) MUST_CHECK;

/* The port actually bound (useful with port 0). */
unsigned int httpd_port(const struct httpd *httpd);

/* Stops accepting, lets in-flight requests finish, frees everything. */
void httpd_stop(struct httpd *httpd);

#endif
