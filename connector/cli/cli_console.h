/*
 * `console user add|passwd|remove|list`: the console's users, managed from
 * the command line. A password is read from standard input (a prompt
 * without echo on a TTY, asked twice), never from an argument, and only its
 * PBKDF2 hash is stored.
 */
#ifndef BM_CLI_CONSOLE_H
#define BM_CLI_CONSOLE_H

#include "config.h"

/* argv[0] is "user". Returns the exit code. */
int cli_console(const struct config *config, int argc, char **argv);

#endif
