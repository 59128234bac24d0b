/*
 * The `audit` commands. `audit head` prints the newest row's id and hash of
 * every chain in use ("ID:HASH", comma-separated in chain order; one chain
 * prints one "ID:HASH") for the operator to keep outside the database;
 * `audit verify [--expect ID:HASH,...]` walks the log page by page (small
 * statements, constant memory) keeping each chain's previous hash, names the
 * first broken row, and with --expect also fails when a kept head is no
 * longer in the log as it was: the one thing that shows a chain rewritten by
 * someone able to recompute every hash (the database owner).
 */
#ifndef BM_CLI_AUDIT_H
#define BM_CLI_AUDIT_H

#include "config.h"

/* argv[0] is "audit". Returns the process exit code. */
int cli_audit(const struct config *config, int argc, char **argv);

#endif
