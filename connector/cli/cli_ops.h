/*
 * The operator commands: `status` (per connection: orders per state, the
 * oldest unsynced order, the last error, the Moneybird rate budget left,
 * pauses, spooled deliveries, redeliveries that differed), `show ORDER` (one
 * order's deliveries, Moneybird calls, ids and audit history), `retry`
 * (parked orders back in the queue), `replay` (saved order.paid payloads
 * through the webhook's own validation and storing path) and `preview` (what
 * a payload would become in Moneybird, writing nothing). Human output is
 * aligned; --json output has a stable shape documented in deploy/README.md.
 * Each returns the process exit code: 0 ok, 1 runtime failure, 2 usage.
 */
#ifndef BM_CLI_OPS_H
#define BM_CLI_OPS_H

#include "config.h"

/* argv[0] is the command name ("status", "show", ...). */
int cli_ops_status(const struct config *config, int argc, char **argv);
int cli_ops_show(const struct config *config, int argc, char **argv);
int cli_ops_retry(const struct config *config, int argc, char **argv);
int cli_ops_replay(const struct config *config, int argc, char **argv);
int cli_ops_preview(const struct config *config, int argc, char **argv);

/* True when `command` is one of the above (main's dispatch). */
int cli_ops_is_command(const char *command);

#endif
