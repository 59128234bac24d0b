/*
 * The `audit` commands. `audit head` prints the newest audit row's id and
 * chain hash ("ID:HASH") for the operator to keep outside the database;
 * `audit verify [--expect ID:HASH]` walks the hash chain page by page
 * (small statements, constant memory), names the first broken row, and with
 * --expect also fails when the kept head is no longer in the chain as it was:
 * the one thing that shows a log rewritten by someone able to recompute
 * every hash (the database owner).
 */
#ifndef BM_CLI_AUDIT_H
#define BM_CLI_AUDIT_H

#include "config.h"

/* argv[0] is "audit". Returns the process exit code. */
int cli_audit(const struct config *config, int argc, char **argv);

#endif
