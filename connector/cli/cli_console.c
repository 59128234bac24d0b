#include "cli_console.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_ops_common.h"
#include "password.h"
#include "random_token.h"
#include "store_console.h"

static const char usage_text[] =
    "usage: bookto-moneybird console user add NAME --role viewer|operator\n"
    "       bookto-moneybird console user passwd NAME\n"
    "       bookto-moneybird console user remove NAME\n"
    "       bookto-moneybird console user list [--json]\n"
    "The password is read from standard input (a prompt on a terminal).\n";

static bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._@-", *p) != NULL))
			return false;
	return true;
}

/* Reads one line (without its newline) into out; on a TTY with echo off. */
static bool read_line(const char *prompt, char *out, size_t size)
{
	bool tty = isatty(STDIN_FILENO) == 1;
	struct termios old_mode, quiet;
	bool got;
	size_t len;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		tcgetattr(STDIN_FILENO, &old_mode);
		quiet = old_mode;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	got = fgets(out, (int)size, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
		fputs("\n", stderr);
	}
	if (!got)
		return false;
	len = strlen(out);
	if (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	else if (len + 1 >= size)
		return false; /* longer than the buffer: refused, not cut */
	if (len > 0 && out[len - 1] == '\r')
		out[--len] = '\0';
	return true;
}

/* Reads and checks a new password, and hashes it into hash. */
static int new_password_hash(char hash[PASSWORD_STRING_MAX])
{
	char password[PASSWORD_MAX_LENGTH + 2], again[PASSWORD_MAX_LENGTH + 2];
	unsigned char salt[PASSWORD_SALT_BYTES];
	const char *weakness;
	int rc = CLI_EXIT_OK;

	if (!read_line("New password: ", password, sizeof(password)))
		return cli_usage(usage_text,
		                 "no password on standard input (or one longer than %d "
		                 "characters)",
		                 PASSWORD_MAX_LENGTH);
	weakness = password_weakness(password);
	if (weakness != NULL) {
		rc = cli_usage(usage_text, "%s", weakness);
		goto out;
	}
	if (isatty(STDIN_FILENO) == 1 &&
	    (!read_line("Again: ", again, sizeof(again)) || strcmp(password, again) != 0)) {
		rc = cli_usage(usage_text, "the two passwords differ; nothing was changed");
		goto out;
	}
	if (random_bytes(salt, sizeof(salt)) != CN_OK ||
	    password_hash(password, salt, PASSWORD_ITERATIONS, hash) != CN_OK)
		rc = cli_fail("cannot hash the password (OpenSSL failed)");
out:
	memset(password, 0, sizeof(password));
	memset(again, 0, sizeof(again));
	return rc;
}

static int user_list(PGconn *conn, bool json)
{
	static const char *const headers[] = {"NAME", "ROLE", "CREATED_AT", "LAST_LOGIN_AT"};
	struct store_ops_table users = {0};
	struct cn_error err = {""};
	struct cli_table table;

	if (store_console_user_list(conn, &users, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("%s", err.message);
	}
	if (json) {
		cJSON *list = cJSON_CreateArray();

		for (size_t r = 0; r < users.rows; r++) {
			cJSON *user = cJSON_CreateObject();
			const char *last = store_ops_cell(&users, r, 3);

			cJSON_AddStringToObject(user, "name", store_ops_cell(&users, r, 0));
			cJSON_AddStringToObject(user, "role", store_ops_cell(&users, r, 1));
			cJSON_AddStringToObject(user, "created_at", store_ops_cell(&users, r, 2));
			if (last != NULL)
				cJSON_AddStringToObject(user, "last_login_at", last);
			else
				cJSON_AddNullToObject(user, "last_login_at");
			cJSON_AddItemToArray(list, user);
		}
		cli_ops_print_json(list);
		cJSON_Delete(list);
	} else {
		memset(&table, 0, sizeof(table));
		table.columns = 4;
		for (size_t c = 0; c < 4; c++)
			table.headers[c] = headers[c];
		for (size_t r = 0; r < users.rows; r++) {
			const char *cells[4] = {
			    store_ops_cell(&users, r, 0), store_ops_cell(&users, r, 1),
			    store_ops_cell(&users, r, 2), store_ops_cell(&users, r, 3)};

			cli_table_add(&table, cells);
		}
		cli_table_print(&table, "(no console users; add one with `console user add`)",
		                stdout);
		cli_table_free(&table);
	}
	store_ops_table_free(&users);
	return CLI_EXIT_OK;
}

/* add / passwd / remove of one named user. */
static int user_change(PGconn *conn, const char *verb, const char *name, const char *role)
{
	char hash[PASSWORD_STRING_MAX] = "";
	struct cn_error err = {""};
	int rc = CLI_EXIT_OK, db;

	if (strcmp(verb, "remove") != 0) {
		rc = new_password_hash(hash);
		if (rc != CLI_EXIT_OK)
			return rc;
	}
	if (strcmp(verb, "add") == 0)
		db = store_console_user_add(conn, name, role, hash, &err);
	else if (strcmp(verb, "passwd") == 0)
		db = store_console_user_passwd(conn, name, hash, &err);
	else
		db = store_console_user_remove(conn, name, &err);
	if (db == CN_DUPLICATE)
		return cli_fail("a console user named %s exists already; set a new password with "
		                "`console user passwd %s`",
		                name, name);
	if (db == CN_NOT_FOUND)
		return cli_fail("there is no console user named %s (see `console user list`)",
		                name);
	if (db != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("%s", err.message);
	}
	if (strcmp(verb, "add") == 0)
		printf("Console user %s added (role %s).\n", name, role);
	else if (strcmp(verb, "passwd") == 0)
		printf("Password of %s changed; their sessions were ended.\n", name);
	else
		printf("Console user %s removed; their sessions were ended.\n", name);
	return CLI_EXIT_OK;
}

int cli_console(const struct config *config, int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "";
	const char *name = NULL, *role = NULL;
	bool json = false;
	PGconn *conn = NULL;
	int rc;

	if (argc < 2 || strcmp(argv[0], "user") != 0)
		return cli_usage(usage_text,
		                 "the console command takes: user add|passwd|remove|list");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return cli_usage(usage_text, "unexpected argument %s", argv[i]);
	}
	if (strcmp(verb, "list") == 0 ? name != NULL || role != NULL
	                              : strcmp(verb, "add") != 0 && strcmp(verb, "passwd") != 0 &&
	                                    strcmp(verb, "remove") != 0)
		return cli_usage(usage_text, "unknown or malformed `console user %s`", verb);
	if (strcmp(verb, "list") != 0 && (name == NULL || !name_ok(name)))
		return cli_usage(usage_text, "NAME must be 1 to 64 letters, digits or . _ @ -");
	if (strcmp(verb, "add") == 0 &&
	    (role == NULL || (strcmp(role, "viewer") != 0 && strcmp(role, "operator") != 0)))
		return cli_usage(usage_text,
		                 "`console user add` needs --role viewer or --role operator");
	if (strcmp(verb, "add") != 0 && role != NULL)
		return cli_usage(usage_text, "--role is only for `console user add`");
	rc = cli_ops_connect_database(config, &conn);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc =
	    strcmp(verb, "list") == 0 ? user_list(conn, json) : user_change(conn, verb, name, role);
	PQfinish(conn);
	return rc;
}
