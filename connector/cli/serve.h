/*
 * The `serve` command: checks the schema, registers the configured
 * connections, starts the HTTP intake and the spool drain, and runs until
 * SIGTERM/SIGINT (SIGHUP reopens the log file). Returns the exit code.
 */
#ifndef BM_SERVE_H
#define BM_SERVE_H

#include "config.h"

int serve_run(const struct config *config);

#endif
