/*
 * The `reconcile` command: its arguments, a progress bar on a terminal, the
 * report as aligned text or --json, and with --repair the wait for the
 * queued repairs. The comparison itself is engine/reconcile.h.
 */
#ifndef BM_CLI_RECONCILE_H
#define BM_CLI_RECONCILE_H

#include "config.h"

/* `reconcile [--connection NAME] [--since DATE] [--repair] [--json]`:
 * argv[0] is "reconcile". Returns the exit code (0, 1, 2, or 3 when
 * differences remain). */
int cli_reconcile(const struct config *config, int argc, char **argv);

#endif
