/*
 * The bookkeeper's console: serve's second HTTP listener (console.listen),
 * its own libmicrohttpd daemon with its own limits, database pool and
 * reconcile runner. Server-rendered HTML pages over the status model
 * (engine/status.c), two operator actions (retry a parked order, run a
 * reconciliation), users and sessions in PostgreSQL (store_console.c).
 */
#ifndef BM_CONSOLE_H
#define BM_CONSOLE_H

#include "error.h"
#include "runtime.h"

struct console;

/* Starts the console when console.listen is set (*out stays NULL when it is
 * off). *out is owned by the caller (console_stop). */
int console_start(const struct runtime *runtime, struct console **out,
                  struct cn_error *err) MUST_CHECK;

/* The port actually bound. */
unsigned int console_port(const struct console *console);

/* Stops accepting, lets requests and a running reconciliation finish,
 * frees everything; accepts NULL. */
void console_stop(struct console *console);

#endif
