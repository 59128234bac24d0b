/*
 * The `moneybird` command: `moneybird [--connection NAME] check` verifies the
 * API token and administration and prints the tax rates, ledger accounts,
 * financial accounts, workflows and document styles a mapping refers to;
 * `moneybird [--connection NAME] webhook register URL | list | delete ID`
 * manages the Moneybird webhook subscription and keeps its token and signing
 * secret in the connection's database row (the secret is printed masked only).
 * Every call goes through the shared rate budget like the daemon's.
 */
#ifndef BM_CLI_MONEYBIRD_H
#define BM_CLI_MONEYBIRD_H

#include "config.h"

/* argv[0] is the word "moneybird"; returns the process exit code: 0 ok,
 * 1 runtime failure, 2 usage error. */
int cli_moneybird(const struct config *config, int argc, char **argv);

#endif
