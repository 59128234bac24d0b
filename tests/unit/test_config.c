/*
 * config_load: the example file, defaults, every validation rule with its
 * file:line, unknown keys at each level, secret indirection, overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "unit_load.h"

static char tmpdir[512];

/* A connection with only the required keys; its first line is the marker target below. */
#define CONNECTION_TEXT                                                                            \
	"connections = (\n"                                                                        \
	"  {\n"                                                                                    \
	"    name = \"shop\";\n"                                                                   \
	"    bookto = { signing_secrets = [ \"literal-bookto-secret\" ]; };\n"                     \
	"    moneybird = { administration_id = \"42\"; api_token = \"literal-token\"; };\n"        \
	"  }\n"                                                                                    \
	");\n"

static const char MAPPING_TEXT[] = "vat_treatments = { standard = { by = \"percentage\"; }; };\n";

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *file = fopen(path, "w");

	assert_non_null(file);
	assert_int_equal(fputs(text, file) >= 0, 1);
	assert_int_equal(fclose(file), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void tmp_path(char *buffer, size_t size, const char *name)
{
	snprintf(buffer, size, "%s/%s", tmpdir, name);
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
	(void)info;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	const char *base = getenv("BM_TEST_TMPDIR");
	char path[600];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX",
	         base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	tmp_path(path, sizeof(path), "mappings");
	if (mkdir(path, 0700) != 0)
		return -1;
	tmp_path(path, sizeof(path), "mappings/default.cfg");
	write_file(path, MAPPING_TEXT, 0644);
	unsetenv("BOOKTO_MONEYBIRD_DATABASE");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void load_path(struct result *result, const char *path)
{
	unit_load_file(result, path, UNIT_CONFIG);
}

static void load_text(struct result *result, const char *text)
{
	char path[600];

	tmp_path(path, sizeof(path), "connector.cfg");
	write_file(path, text, 0600);
	load_path(result, path);
}

/* Loads text that must load. */
static void load_ok(struct result *result, const char *text)
{
	load_text(result, text);
	if (result->status != CN_OK)
		print_error("%s", result->problems);
	assert_int_equal(result->status, CN_OK);
}

/* 1-based number of the line of `text` holding `marker`. */
static unsigned marker_line(const char *text, const char *marker)
{
	const char *at = strstr(text, marker);
	unsigned line = 1;

	assert_non_null(at);
	for (; text < at; text++)
		if (*text == '\n')
			line++;
	return line;
}

static size_t count_lines(const char *text)
{
	size_t lines = 0;

	for (; *text != '\0'; text++)
		if (*text == '\n')
			lines++;
	return lines;
}

/* Loads text; it must fail with a problem on the line marked "#!" naming `needle`. */
static void expect_invalid(const char *text, const char *needle)
{
	struct result result;
	unsigned line = marker_line(text, "#!");

	load_text(&result, text);
	if (result.status != CN_INVALID ||
	    !unit_has_problem(result.problems, result.path, line, needle))
		print_error("expected line %u naming %s; got status %d, problems:\n%s\n", line,
		            needle, result.status, result.problems);
	assert_int_equal(result.status, CN_INVALID);
	assert_true(unit_has_problem(result.problems, result.path, line, needle));
	/* err holds the first problem, exactly as printed */
	assert_int_equal(strncmp(result.problems, result.err.message, strlen(result.err.message)),
	                 0);
	result_free(&result);
}

static void set_example_env(void)
{
	assert_int_equal(setenv("BOOKTO_SIGNING_SECRET", "example-bookto-secret", 1), 0);
	assert_int_equal(setenv("MONEYBIRD_API_TOKEN", "example-moneybird-token", 1), 0);
}

static void clear_example_env(void)
{
	unsetenv("BOOKTO_SIGNING_SECRET");
	unsetenv("MONEYBIRD_API_TOKEN");
}

static void assert_documented_defaults(const struct config *config)
{
	const struct connection_config *connection = &config->connections[0];

	assert_string_equal(config->http_listen_host, "127.0.0.1");
	assert_int_equal(config->http_listen_port, 8080);
	assert_int_equal(config->http_max_body_bytes, 262144);
	assert_int_equal(config->http_max_connections, 2048);
	assert_int_equal(config->http_request_timeout_seconds, 10);
	assert_int_equal(config->http_per_address_max, 256);
	assert_int_equal(config->http_deadline_seconds, 30);
	assert_int_equal(config->http_event_threads, 2);
	assert_int_equal(config->http_handler_threads, 64);
	assert_string_equal(config->database_conninfo, "postgresql:///bookto_moneybird");
	assert_int_equal(config->database_pool_size, 8);
	assert_int_equal(config->workers_count, 2);
	assert_int_equal(config->workers_max_attempts, 15);
	assert_int_equal(config->reconcile_interval_seconds, 900);
	assert_int_equal(config->log_level, LOG_LEVEL_INFO);
	assert_int_equal(config->log_format, LOG_FORMAT_LOGFMT);
	assert_string_equal(config->log_file, "");
	assert_string_equal(config->spool_dir, "/var/lib/bookto-moneybird/spool");
	assert_int_equal(config->connection_count, 1);
	assert_string_equal(connection->time_zone, "Europe/Amsterdam");
	assert_int_equal(connection->bookto_timestamp_tolerance_seconds, 300);
	assert_string_equal(connection->moneybird_base_url, "https://moneybird.com/api/v2");
	assert_int_equal(connection->moneybird_rate_limit_requests, 150);
	assert_int_equal(connection->moneybird_rate_limit_per_seconds, 300);
	assert_int_equal(access(connection->mapping_path, R_OK), 0);
	assert_non_null(strstr(connection->mapping_path, "mappings/default.cfg"));
}

static void test_example_loads_with_documented_defaults(void **state)
{
	const struct connection_config *connection;
	struct result result;
	char path[600];

	(void)state;
	set_example_env();
	unit_load_source(&result, "config.example.cfg", UNIT_CONFIG);
	clear_example_env();
	assert_documented_defaults(result.config);
	assert_string_equal(result.config->path, result.path);

	connection = config_find_connection(result.config, "default");
	assert_ptr_equal(connection, &result.config->connections[0]);
	assert_null(config_find_connection(result.config, "other"));
	assert_null(config_find_connection(NULL, "default"));
	assert_string_equal(connection->name, "default");
	assert_int_equal(connection->bookto_signing_secret_count, 1);
	assert_string_equal(connection->bookto_signing_secrets[0], "example-bookto-secret");
	assert_string_equal(connection->moneybird_api_token, "example-moneybird-token");
	assert_string_equal(connection->moneybird_administration_id, "123456789");
	/* the mapping next to the example, not an installed copy */
	unit_source_path(path, sizeof(path), "mappings/default.cfg");
	assert_string_equal(connection->mapping_path, path);
	result_free(&result);
}

static void test_example_fails_without_env(void **state)
{
	struct result result;
	char path[600];

	(void)state;
	unit_source_path(path, sizeof(path), "config.example.cfg");
	clear_example_env();
	load_path(&result, path);
	assert_int_equal(result.status, CN_INVALID);
	assert_non_null(strstr(result.problems,
	                       "secret `connections.[0].bookto.signing_secrets` refers to "
	                       "environment variable BOOKTO_SIGNING_SECRET, which is not set"));
	assert_non_null(strstr(result.problems, "secret `connections.[0].moneybird.api_token` "
	                                        "refers to environment variable "
	                                        "MONEYBIRD_API_TOKEN, which is not set"));
	assert_int_equal(count_lines(result.problems), 2);
	result_free(&result);
}

static void test_minimal_config_gets_defaults(void **state)
{
	struct result result;

	(void)state;
	load_ok(&result, CONNECTION_TEXT);
	assert_documented_defaults(result.config);
	assert_string_equal(result.config->connections[0].name, "shop");
	assert_string_equal(result.config->connections[0].moneybird_api_token, "literal-token");
	result_free(&result);
}

static void test_all_keys_set(void **state)
{
	static const char text[] =
	    "http = { listen = \"[::1]:9090\"; max_body_bytes = 1024; max_connections = 10000;"
	    " request_timeout_seconds = 3600; };\n"
	    "database = { conninfo = \"host=db dbname=x\"; pool_size = 256; };\n"
	    "workers = { count = 0; max_attempts = 1000; };\n"
	    "reconcile = { interval_seconds = 0; };\n"
	    "log = { level = \"debug\"; format = \"json\"; file = \"/var/log/bm.log\"; };\n"
	    "spool = { dir = \"/srv/spool\"; };\n"
	    "connections = (\n"
	    "  { name = \"a-1_b\"; time_zone = \"UTC\";\n"
	    "    bookto = { signing_secrets = [ \"new\", \"old\" ];"
	    " timestamp_tolerance_seconds = 86400; };\n"
	    "    moneybird = { base_url = \"http://127.0.0.1:4010/api/v2/\";"
	    " administration_id = \"12345678901234567890\"; api_token = \"t\";\n"
	    "      rate_limit = { requests = 100000; per_seconds = 86400; }; }; },\n"
	    "  { name = \"second\";\n"
	    "    bookto = { signing_secrets = [ \"s\" ]; };\n"
	    "    moneybird = { base_url = \"http://[::1]/v2\"; administration_id = \"1\";"
	    " api_token = \"u\"; }; }\n"
	    ");\n";
	const struct connection_config *connection;
	struct result result;

	(void)state;
	load_text(&result, text);
	if (result.status != CN_OK)
		print_error("%s", result.problems);
	assert_int_equal(result.status, CN_OK);
	assert_string_equal(result.config->http_listen_host, "::1");
	assert_int_equal(result.config->http_listen_port, 9090);
	assert_int_equal(result.config->http_max_body_bytes, 1024);
	assert_int_equal(result.config->http_max_connections, 10000);
	assert_int_equal(result.config->http_request_timeout_seconds, 3600);
	assert_string_equal(result.config->database_conninfo, "host=db dbname=x");
	assert_int_equal(result.config->database_pool_size, 256);
	assert_int_equal(result.config->workers_count, 0);
	assert_int_equal(result.config->workers_max_attempts, 1000);
	assert_int_equal(result.config->reconcile_interval_seconds, 0);
	assert_int_equal(result.config->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(result.config->log_format, LOG_FORMAT_JSON);
	assert_string_equal(result.config->log_file, "/var/log/bm.log");
	assert_string_equal(result.config->spool_dir, "/srv/spool");
	assert_int_equal(result.config->connection_count, 2);
	connection = config_find_connection(result.config, "a-1_b");
	assert_non_null(connection);
	assert_string_equal(connection->time_zone, "UTC");
	assert_int_equal(connection->bookto_signing_secret_count, 2);
	assert_string_equal(connection->bookto_signing_secrets[0], "new");
	assert_string_equal(connection->bookto_signing_secrets[1], "old");
	assert_int_equal(connection->bookto_timestamp_tolerance_seconds, 86400);
	/* trailing slash dropped so paths join cleanly */
	assert_string_equal(connection->moneybird_base_url, "http://127.0.0.1:4010/api/v2");
	assert_string_equal(connection->moneybird_administration_id, "12345678901234567890");
	assert_int_equal(connection->moneybird_rate_limit_requests, 100000);
	assert_int_equal(connection->moneybird_rate_limit_per_seconds, 86400);
	connection = config_find_connection(result.config, "second");
	assert_non_null(connection);
	assert_string_equal(connection->moneybird_base_url, "http://[::1]/v2");
	result_free(&result);
}

static void test_listen_forms(void **state)
{
	struct result result;

	(void)state;
	load_ok(&result, "http = { listen = \"localhost:0\"; };\n" CONNECTION_TEXT);
	assert_string_equal(result.config->http_listen_host, "localhost");
	assert_int_equal(result.config->http_listen_port, 0);
	result_free(&result);
	load_ok(&result, "http = { listen = \"0.0.0.0:65535\"; };\n" CONNECTION_TEXT);
	assert_string_equal(result.config->http_listen_host, "0.0.0.0");
	assert_int_equal(result.config->http_listen_port, 65535);
	result_free(&result);
}

struct invalid_case {
	const char *text; /* "#!" marks the line the problem must point at */
	const char *needle;
};

#define TOP(line) line "\n" CONNECTION_TEXT

static const struct invalid_case top_level_cases[] = {
    {TOP("http = { listen = \"example.com:80\"; }; #!"), "`http.listen`"},
    {TOP("http = { listen = \"127.0.0.1:70000\"; }; #!"), "`http.listen`"},
    {TOP("http = { listen = \"127.0.0.1\"; }; #!"), "`http.listen`"},
    {TOP("http = { listen = \"[::1]8080\"; }; #!"), "`http.listen`"},
    {TOP("http = { listen = \"127.0.0.1:-1\"; }; #!"), "`http.listen`"},
    {TOP("http = { listen = 8080; }; #!"), "`http.listen` must be a string"},
    {TOP("http = {\n max_body_bytes = 1023; #!\n};"), "`http.max_body_bytes`"},
    {TOP("http = {\n max_body_bytes = 67108865; #!\n};"), "`http.max_body_bytes`"},
    {TOP("http = { max_body_bytes = \"1M\"; }; #!"), "`http.max_body_bytes` must be a whole"},
    {TOP("http = { max_body_bytes = 2048.0; }; #!"), "`http.max_body_bytes` must be a whole"},
    {TOP("http = { max_connections = 0; }; #!"), "`http.max_connections` must be from 1 to"},
    {TOP("http = { max_connections = 10001; }; #!"), "`http.max_connections`"},
    {TOP("http = { request_timeout_seconds = 0; }; #!"), "`http.request_timeout_seconds`"},
    {TOP("http = { request_timeout_seconds = 3601; }; #!"), "`http.request_timeout_seconds`"},
    {TOP("http = { max_connections_per_address = 0; }; #!"), "`http.max_connections_per_address`"},
    {TOP("http = { request_deadline_seconds = 3601; }; #!"), "`http.request_deadline_seconds`"},
    {TOP("http = { event_threads = 65; }; #!"), "`http.event_threads`"},
    {TOP("http = { handler_threads = 0; }; #!"), "`http.handler_threads`"},
    {TOP("http = 5; #!"), "`http` must be a group"},
    {TOP("database = { conninfo = \"\"; }; #!"), "`database.conninfo` is empty"},
    {TOP("database = { conninfo = 1; }; #!"), "`database.conninfo` must be a string"},
    {TOP("database = { pool_size = 0; }; #!"), "`database.pool_size`"},
    {TOP("database = { pool_size = 257; }; #!"), "`database.pool_size`"},
    {TOP("workers = { count = -1; }; #!"), "`workers.count`"},
    {TOP("workers = { count = 65; }; #!"), "`workers.count` must be from 0 to 64"},
    {TOP("workers = { max_attempts = 0; }; #!"), "`workers.max_attempts`"},
    {TOP("workers = { max_attempts = 1001; }; #!"), "`workers.max_attempts`"},
    {TOP("reconcile = { interval_seconds = 59; }; #!"), "`reconcile.interval_seconds` must be 0"},
    {TOP("reconcile = { interval_seconds = 604801; }; #!"), "`reconcile.interval_seconds`"},
    {TOP("log = { level = \"verbose\"; }; #!"), "`log.level`"},
    {TOP("log = { format = \"text\"; }; #!"), "`log.format`"},
    {TOP("log = { file = 5; }; #!"), "`log.file` must be a string"},
    {TOP("spool = { dir = \"\"; }; #!"), "`spool.dir` is empty"},
    {TOP("spool = { dir = [ \"a\" ]; }; #!"), "`spool.dir` must be a string"},
    /* unknown keys, top level and in each group */
    {TOP("htp = { listen = \"127.0.0.1:1\"; }; #!"), "unknown key `htp` (did you mean `http`?)"},
    {TOP("http = { listn = \"127.0.0.1:1\"; }; #!"),
     "unknown key `http.listn` (did you mean `http.listen`?)"},
    {TOP("database = { password = \"x\"; }; #!"), "unknown key `database.password`; remove it"},
    {TOP("workers = { counts = 2; }; #!"), "unknown key `workers.counts` (did you mean"},
    {TOP("reconcile = { interval = 900; }; #!"), "unknown key `reconcile.interval`"},
    {TOP("log = { levels = \"info\"; }; #!"), "unknown key `log.levels` (did you mean `log.level`"},
    {TOP("spool = { directory = \"/x\"; }; #!"), "unknown key `spool.directory`"},
    {TOP("tls = true; #!"), "unknown key `tls`"},
    /* libconfig 1.5 wraps literals beyond 32 bits; they must not slip through */
    {TOP("http = {\n max_body_bytes = 4294968320; #!\n};"),
     "`http.max_body_bytes` must be from 1024 to 67108864, not 4294968320"},
    {TOP("workers = { count = 2; max_attempts = 99999999999; }; #!"),
     "`workers.max_attempts` must be from 1 to 1000, not 99999999999"},
    {TOP("reconcile = {\n interval_seconds = #!\n -4294966396; };"),
     "`reconcile.interval_seconds`"},
    {TOP("http = { max_body_bytes = 4294968320L; }; #!"), "`http.max_body_bytes`"},
    /* the config file itself does not parse */
    {TOP("http = { listen = ; }; #!"), "syntax error"},
    {TOP("http = { max_connections = 1; max_connections = 2; }; #!"), "duplicate setting"},
};

static void test_top_level_rules(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(top_level_cases) / sizeof(top_level_cases[0]); i++)
		expect_invalid(top_level_cases[i].text, top_level_cases[i].needle);
}

/* One connection built from parts; each part is a line or a few. */
#define CONNECTION(name_line, extra, bookto, moneybird)                                            \
	"connections = (\n  {\n    " name_line "\n    " extra "\n    " bookto "\n    " moneybird   \
	"\n  }\n);\n"
#define NAME_OK "name = \"shop\";"
#define BOOKTO_OK "bookto = { signing_secrets = [ \"s\" ]; };"
#define MONEYBIRD_OK "moneybird = { administration_id = \"42\"; api_token = \"t\"; };"
#define MONEYBIRD_WITH(key_value)                                                                  \
	"moneybird = { administration_id = \"42\"; api_token = \"t\";\n " key_value " #!\n };"

static const struct invalid_case connection_cases[] = {
    {CONNECTION("name = \"Shop!\"; #!", "", BOOKTO_OK, MONEYBIRD_OK), "`connections.[0].name`"},
    {CONNECTION("name = \"abcdefghijabcdefghijabcdefghijabc\"; #!", "", BOOKTO_OK, MONEYBIRD_OK),
     "`connections.[0].name` must be 1 to 32"},
    {CONNECTION("name = \"\"; #!", "", BOOKTO_OK, MONEYBIRD_OK), "`connections.[0].name`"},
    {"connections = (\n  { #!\n " BOOKTO_OK " " MONEYBIRD_OK " }\n);\n",
     "`connections.[0].name` is missing"},
    {CONNECTION(NAME_OK, "nme = \"x\"; #!", BOOKTO_OK, MONEYBIRD_OK),
     "unknown key `connections.[0].nme` (did you mean `connections.[0].name`?)"},
    {CONNECTION(NAME_OK, "time_zone = \"Mars/Olympus_Mons\"; #!", BOOKTO_OK, MONEYBIRD_OK),
     "`connections.[0].time_zone`"},
    {CONNECTION(NAME_OK, "time_zone = \"../../etc/passwd\"; #!", BOOKTO_OK, MONEYBIRD_OK),
     "`connections.[0].time_zone`"},
    {CONNECTION(NAME_OK, "time_zone = \"Europe\"; #!", BOOKTO_OK, MONEYBIRD_OK),
     "`connections.[0].time_zone`"},
    {CONNECTION(NAME_OK, "time_zone = \"\"; #!", BOOKTO_OK, MONEYBIRD_OK),
     "`connections.[0].time_zone`"},
    {CONNECTION(NAME_OK, "mapping = \"mappings/missing.cfg\"; #!", BOOKTO_OK, MONEYBIRD_OK),
     "`connections.[0].mapping`"},
    {CONNECTION(NAME_OK, "mapping = \"/nonexistent/m.cfg\"; #!", BOOKTO_OK, MONEYBIRD_OK),
     "`connections.[0].mapping`"},
    {CONNECTION(NAME_OK, "mapping = \"\"; #!", BOOKTO_OK, MONEYBIRD_OK),
     "`connections.[0].mapping` is empty"},
    /* bookto */
    {CONNECTION(NAME_OK, "", "bookto = { signing_secrets = [ ]; }; #!", MONEYBIRD_OK),
     "`connections.[0].bookto.signing_secrets` is empty"},
    {CONNECTION(NAME_OK, "", "bookto = { signing_secrets = \"s\"; }; #!", MONEYBIRD_OK),
     "`connections.[0].bookto.signing_secrets` must be an array"},
    {CONNECTION(NAME_OK, "",
                "bookto = { signing_secrets = [ \"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","
                "\"9\" ]; }; #!",
                MONEYBIRD_OK),
     "at most 8"},
    {CONNECTION(NAME_OK, "", "bookto = { signing_secrets = [ 1 ]; }; #!", MONEYBIRD_OK),
     "`connections.[0].bookto.signing_secrets` must be a string"},
    {CONNECTION(NAME_OK, "", "bookto = { signing_secrets = [ \"\" ]; }; #!", MONEYBIRD_OK),
     "secret `connections.[0].bookto.signing_secrets` is empty"},
    {CONNECTION(NAME_OK, "", "bookto = { signing_secrets = [ \"a\", \"\" ]; }; #!", MONEYBIRD_OK),
     "secret `connections.[0].bookto.signing_secrets.[1]` is empty"},
    {CONNECTION(NAME_OK, "",
                "bookto = { signing_secrets = [ \"s\" ]; timestamp_tolerance_seconds = 0; }; #!",
                MONEYBIRD_OK),
     "`connections.[0].bookto.timestamp_tolerance_seconds`"},
    {CONNECTION(NAME_OK, "",
                "bookto = { signing_secrets = [ \"s\" ]; timestamp_tolerance_seconds = 86401; "
                "}; #!",
                MONEYBIRD_OK),
     "`connections.[0].bookto.timestamp_tolerance_seconds`"},
    {CONNECTION(NAME_OK, "", "bookto = { signing_secret = [ \"s\" ]; }; #!", MONEYBIRD_OK),
     "unknown key `connections.[0].bookto.signing_secret` (did you mean "
     "`connections.[0].bookto.signing_secrets`?)"},
    {CONNECTION(NAME_OK, "", "bookto = { }; #!", MONEYBIRD_OK),
     "`connections.[0].bookto.signing_secrets` is missing"},
    {CONNECTION(NAME_OK, "", "bookto = 1; #!", MONEYBIRD_OK),
     "`connections.[0].bookto` must be a group"},
    {"connections = (\n  { name = \"x\"; #!\n " MONEYBIRD_OK " }\n);\n",
     "`connections.[0].bookto` is missing"},
    /* moneybird */
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("base_url = \"http://example.com/v2\";")),
     "`connections.[0].moneybird.base_url` must start with https:// (http:// is accepted only "
     "for 127.0.0.1, localhost or [::1]"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK,
                MONEYBIRD_WITH("base_url = \"http://127.0.0.1.example.com/v2\";")),
     "`connections.[0].moneybird.base_url`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK,
                MONEYBIRD_WITH("base_url = \"http://localhost.example.com/\";")),
     "`connections.[0].moneybird.base_url`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("base_url = \"ftp://moneybird.com\";")),
     "`connections.[0].moneybird.base_url`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("base_url = \"https://\";")),
     "`connections.[0].moneybird.base_url`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK,
                MONEYBIRD_WITH("base_url = \"https://moneybird.com/ api\";")),
     "`connections.[0].moneybird.base_url`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK,
                "moneybird = { administration_id = \"12a\"; api_token = \"t\"; }; #!"),
     "`connections.[0].moneybird.administration_id` must be 1 to 20 digits"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK,
                "moneybird = { administration_id = \"123456789012345678901\"; api_token = "
                "\"t\"; }; #!"),
     "`connections.[0].moneybird.administration_id`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK,
                "moneybird = { administration_id = 42; api_token = \"t\"; }; #!"),
     "`connections.[0].moneybird.administration_id` must be a string of digits"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, "moneybird = { api_token = \"t\"; }; #!"),
     "`connections.[0].moneybird.administration_id` is missing"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, "moneybird = { administration_id = \"42\"; }; #!"),
     "`connections.[0].moneybird.api_token` is missing"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("api_tokn = \"t\";")),
     "unknown key `connections.[0].moneybird.api_tokn` (did you mean "
     "`connections.[0].moneybird.api_token`?)"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK,
                MONEYBIRD_WITH("rate_limit = { requests = 0; per_seconds = 300; };")),
     "`connections.[0].moneybird.rate_limit.requests` must be from 1 to 100000"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("rate_limit = { requests = 100001; };")),
     "`connections.[0].moneybird.rate_limit.requests`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("rate_limit = { per_seconds = 0; };")),
     "`connections.[0].moneybird.rate_limit.per_seconds`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("rate_limit = { per_seconds = 86401; };")),
     "`connections.[0].moneybird.rate_limit.per_seconds`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("rate_limit = { burst = 5; };")),
     "unknown key `connections.[0].moneybird.rate_limit.burst`"},
    {CONNECTION(NAME_OK, "", BOOKTO_OK, MONEYBIRD_WITH("rate_limit = 150;")),
     "`connections.[0].moneybird.rate_limit` must be a group"},
    {"connections = (\n  { name = \"x\"; #!\n " BOOKTO_OK " }\n);\n",
     "`connections.[0].moneybird` is missing"},
    /* the list itself */
    {"connections = ( ); #!\n", "`connections` is empty"},
    {"connections = { name = \"x\"; }; #!\n", "`connections` must be a list"},
    {"connections = ( 5 ); #!\n", "`connections.[0]` must be a group"},
    {"#!\nhttp = { };\n", "`connections` is missing"},
};

static void test_connection_rules(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(connection_cases) / sizeof(connection_cases[0]); i++)
		expect_invalid(connection_cases[i].text, connection_cases[i].needle);
}

static void test_duplicate_connection_names(void **state)
{
	static const char text[] = "connections = (\n"
	                           "  { name = \"shop\"; " BOOKTO_OK " " MONEYBIRD_OK " },\n"
	                           "  { name = \"other\"; " BOOKTO_OK " " MONEYBIRD_OK " },\n"
	                           "  { name = \"shop\"; #!\n " BOOKTO_OK " " MONEYBIRD_OK " }\n"
	                           ");\n";

	(void)state;
	expect_invalid(text, "`connections.[2].name` \"shop\" is already used by "
	                     "`connections.[0]` (line 2)");
}

static void test_all_problems_reported(void **state)
{
	static const char text[] =
	    "http = { max_connections = 0; listn = \"x\"; };\n"
	    "workers = { count = 99; };\n"
	    "connections = (\n"
	    "  { name = \"BAD\";\n"
	    "    bookto = { signing_secrets = [ ]; };\n"
	    "    moneybird = { administration_id = \"x\"; api_token = \"t\"; };\n"
	    "  }\n"
	    ");\n";
	struct result result;
	char first[700];

	(void)state;
	load_text(&result, text);
	assert_int_equal(result.status, CN_INVALID);
	assert_int_equal(count_lines(result.problems), 6);
	assert_true(unit_has_problem(result.problems, result.path, 1, "`http.max_connections`"));
	assert_true(unit_has_problem(result.problems, result.path, 1, "`http.listn`"));
	assert_true(unit_has_problem(result.problems, result.path, 2, "`workers.count`"));
	assert_true(unit_has_problem(result.problems, result.path, 4, "`connections.[0].name`"));
	assert_true(unit_has_problem(result.problems, result.path, 5,
	                             "`connections.[0].bookto.signing_secrets`"));
	assert_true(unit_has_problem(result.problems, result.path, 6,
	                             "`connections.[0].moneybird.administration_id`"));
	/* err is the first printed problem */
	snprintf(first, sizeof(first), "%s\n", result.err.message);
	assert_int_equal(strncmp(result.problems, first, strlen(first)), 0);
	result_free(&result);
}

static void test_problems_in_line_order_and_capped(void **state)
{
	struct result result;
	char text[8192];
	size_t used = 0;
	const char *cursor;
	unsigned previous = 0;
	int i;

	(void)state;
	/* the connection (line 1) comes after the http problem (line 2) in reading order */
	load_text(&result, "connections = ( { name = \"X\"; " BOOKTO_OK " " MONEYBIRD_OK " } );\n"
	                   "http = { max_connections = 0; };\n"
	                   "workers = { count = 2; max_attempts = 5L; };\n");
	assert_int_equal(result.status, CN_INVALID);
	assert_int_equal(count_lines(result.problems), 2);
	/* the 64-bit literal 5L is accepted; only the two real problems are listed */
	for (cursor = result.problems; *cursor != '\0'; cursor = strchr(cursor, '\n') + 1) {
		unsigned line = (unsigned)strtoul(cursor + strlen(result.path) + 1, NULL, 10);

		assert_true(line >= previous);
		previous = line;
	}
	result_free(&result);

	for (i = 0; i < 150; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "bogus%d = 1;\n", i);
	snprintf(text + used, sizeof(text) - used, "%s", CONNECTION_TEXT);
	load_text(&result, text);
	assert_int_equal(result.status, CN_INVALID);
	assert_int_equal(count_lines(result.problems), 101);
	assert_non_null(strstr(result.problems, "50 more problems not shown"));
	result_free(&result);
}

static void test_include_reports_included_file(void **state)
{
	struct result result;
	char path[600];

	(void)state;
	tmp_path(path, sizeof(path), "included.cfg");
	write_file(path, "\nworkers = { count = 1000; };\n", 0600);
	/* relative to the config file's folder, not the working directory */
	load_text(&result, "@include \"included.cfg\"\n" CONNECTION_TEXT);
	assert_int_equal(result.status, CN_INVALID);
	assert_true(unit_has_problem(result.problems, path, 2, "`workers.count`"));
	result_free(&result);

	/* oversized literals are caught in included files too */
	write_file(path, "\nworkers = { count = 4294967297; };\n", 0600);
	load_text(&result, "@include \"included.cfg\"\n" CONNECTION_TEXT);
	assert_int_equal(result.status, CN_INVALID);
	assert_true(unit_has_problem(result.problems, path, 2,
	                             "`workers.count` must be from 0 to 64, "
	                             "not 4294967297"));
	result_free(&result);
	unlink(path);
}

static void test_missing_config_file(void **state)
{
	struct config *config = (struct config *)1;
	struct cn_error err;
	char path[600];

	(void)state;
	tmp_path(path, sizeof(path), "does-not-exist.cfg");
	assert_int_equal(config_load(path, &config, NULL, &err), CN_INVALID);
	assert_null(config);
	assert_non_null(strstr(err.message, path));
	assert_non_null(strstr(err.message, "No such file"));
	config_free(NULL);
}

static void test_null_problems_stream(void **state)
{
	struct config *config = NULL;
	struct cn_error err;
	char path[600];

	(void)state;
	tmp_path(path, sizeof(path), "connector.cfg");
	write_file(path, "workers = { count = 99; };\n" CONNECTION_TEXT, 0600);
	assert_int_equal(config_load(path, &config, NULL, &err), CN_INVALID);
	assert_null(config);
	assert_non_null(strstr(err.message, ":1: `workers.count`"));
}

/* A connection whose secrets are given by the caller; api_token is literal. */
static void secrets_config(char *buffer, size_t size, const char *signing, const char *token)
{
	snprintf(buffer, size,
	         "connections = (\n"
	         "  { name = \"shop\";\n"
	         "    bookto = { signing_secrets = [ \"%s\" ]; }; #!\n"
	         "    moneybird = { administration_id = \"42\"; api_token = \"%s\"; };\n"
	         "  }\n"
	         ");\n",
	         signing, token);
}

static void assert_no_leak(const struct result *result, const char *secret)
{
	assert_null(strstr(result->problems, secret));
	assert_null(strstr(result->err.message, secret));
}

static void test_secret_literal_env_file(void **state)
{
	struct result result;
	char secret_path[600];
	char spec[700];
	char text[2048];

	(void)state;
	assert_int_equal(setenv("BM_TEST_SIGNING", "from-the-environment", 1), 0);
	tmp_path(secret_path, sizeof(secret_path), "token.secret");
	write_file(secret_path, "from-a-file\n", 0600);
	snprintf(spec, sizeof(spec), "file:%s", secret_path);
	secrets_config(text, sizeof(text), "env:BM_TEST_SIGNING", spec);
	load_ok(&result, text);
	assert_string_equal(result.config->connections[0].bookto_signing_secrets[0],
	                    "from-the-environment");
	/* exactly one trailing newline is stripped */
	assert_string_equal(result.config->connections[0].moneybird_api_token, "from-a-file");
	result_free(&result);

	write_file(secret_path, "two-newlines\n\n", 0640);
	secrets_config(text, sizeof(text), "literal", spec);
	load_ok(&result, text);
	assert_string_equal(result.config->connections[0].bookto_signing_secrets[0], "literal");
	assert_string_equal(result.config->connections[0].moneybird_api_token, "two-newlines\n");
	result_free(&result);
	unsetenv("BM_TEST_SIGNING");
}

/* A literal secret in a file group or others can read is refused with the
 * chmod that fixes it; env:/file: secrets may sit in such a file. */
static void test_literal_secret_needs_a_private_file(void **state)
{
	static const char secret[] = "LITERAL-SECRET-5678";
	struct result result;
	char path[600];
	char text[2048];
	char expected[900];

	(void)state;
	assert_int_equal(setenv("BM_TEST_SIGNING", "from-the-environment", 1), 0);
	assert_int_equal(setenv("BM_TEST_TOKEN", "token-from-the-environment", 1), 0);
	tmp_path(path, sizeof(path), "open.cfg");
	for (int mode = 0; mode < 3; mode++) {
		mode_t modes[3] = {0640, 0604, 0644};

		secrets_config(text, sizeof(text), secret, "env:BM_TEST_TOKEN");
		write_file(path, text, modes[mode]);
		load_path(&result, path);
		assert_int_equal(result.status, CN_INVALID);
		snprintf(expected, sizeof(expected),
		         "%s:3: secret `connections.[0].bookto.signing_secrets` is written in %s, "
		         "which group or others can read: run `chmod 600 %s`",
		         path, path, path);
		assert_non_null(strstr(result.err.message, expected));
		assert_null(strstr(result.problems, secret));
		result_free(&result);
	}
	/* Two literal secrets in one file: one sentence. */
	secrets_config(text, sizeof(text), secret, "literal-token");
	write_file(path, text, 0644);
	load_path(&result, path);
	assert_int_equal(result.status, CN_INVALID);
	assert_int_equal(count_lines(result.problems), 1);
	result_free(&result);
	/* The same file, private: fine. */
	write_file(path, text, 0600);
	load_path(&result, path);
	assert_int_equal(result.status, CN_OK);
	result_free(&result);
	/* No literal secret: a group-readable file is fine (deploy/ installs 0640). */
	secrets_config(text, sizeof(text), "env:BM_TEST_SIGNING", "env:BM_TEST_TOKEN");
	write_file(path, text, 0644);
	load_path(&result, path);
	assert_int_equal(result.status, CN_OK);
	result_free(&result);
	unsetenv("BM_TEST_SIGNING");
	unsetenv("BM_TEST_TOKEN");
}

static void test_secret_env_missing_or_empty(void **state)
{
	struct result result;
	char text[2048];
	char expected[300];

	(void)state;
	unsetenv("BM_TEST_UNSET_SECRET");
	secrets_config(text, sizeof(text), "env:BM_TEST_UNSET_SECRET", "t");
	load_text(&result, text);
	assert_int_equal(result.status, CN_INVALID);
	snprintf(expected, sizeof(expected),
	         "%s:3: secret `connections.[0].bookto.signing_secrets` refers to environment "
	         "variable BM_TEST_UNSET_SECRET, which is not set",
	         result.path);
	assert_string_equal(result.err.message, expected);
	result_free(&result);

	assert_int_equal(setenv("BM_TEST_UNSET_SECRET", "", 1), 0);
	expect_invalid(text, "environment variable BM_TEST_UNSET_SECRET, which is empty");
	unsetenv("BM_TEST_UNSET_SECRET");

	secrets_config(text, sizeof(text), "env:", "t");
	expect_invalid(text, "secret `connections.[0].bookto.signing_secrets`");
	secrets_config(text, sizeof(text), "env:BAD NAME", "t");
	expect_invalid(text, "secret `connections.[0].bookto.signing_secrets`");
}

static void test_secret_file_refusals(void **state)
{
	static const char secret[] = "SUPER-SECRET-VALUE-1234";
	struct result result;
	char secret_path[600];
	char spec[700];
	char text[2048];
	char big[5000];

	(void)state;
	tmp_path(secret_path, sizeof(secret_path), "world.secret");
	snprintf(spec, sizeof(spec), "file:%s", secret_path);
	secrets_config(text, sizeof(text), spec, "t");

	/* world-readable */
	write_file(secret_path, secret, 0644);
	expect_invalid(text, "chmod o-rwx");
	load_text(&result, text);
	assert_non_null(strstr(result.err.message, "every user can read"));
	assert_no_leak(&result, secret);
	result_free(&result);

	/* unreadable: does not exist */
	assert_int_equal(unlink(secret_path), 0);
	expect_invalid(text, "cannot be read");

	/* empty, and a lone newline */
	write_file(secret_path, "", 0600);
	expect_invalid(text, "which is empty");
	write_file(secret_path, "\n", 0600);
	expect_invalid(text, "which is empty");

	/* over the 4096-byte cap */
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(secret_path, big, 0600);
	expect_invalid(text, "longer than 4096 bytes");
	load_text(&result, text);
	assert_no_leak(&result, "kkkkkkkk");
	result_free(&result);

	/* exactly at the cap, plus its newline, is fine */
	big[4096] = '\n';
	big[4097] = '\0';
	write_file(secret_path, big, 0600);
	load_ok(&result, text);
	assert_int_equal(strlen(result.config->connections[0].bookto_signing_secrets[0]), 4096);
	result_free(&result);

	/* a directory is not a secret file */
	secrets_config(text, sizeof(text), "file:/", "t");
	expect_invalid(text, "not a regular file");
	secrets_config(text, sizeof(text), "file:", "t");
	expect_invalid(text, "secret `connections.[0].bookto.signing_secrets`");
	unlink(secret_path);
}

static void test_secret_values_never_in_errors(void **state)
{
	static const char literal[] = "LITERAL-SECRET-abc";
	static const char env_value[] = "ENV-SECRET-def";
	static const char file_value[] = "FILE-SECRET-ghi";
	struct result result;
	char secret_path[600];
	char text[4096];

	(void)state;
	assert_int_equal(setenv("BM_TEST_LEAK", env_value, 1), 0);
	tmp_path(secret_path, sizeof(secret_path), "leak.secret");
	write_file(secret_path, file_value, 0600);
	/* everything resolves, but every other key is wrong */
	snprintf(
	    text, sizeof(text),
	    "http = { listen = \"nope\"; max_body_bytes = 1; };\n"
	    "connections = (\n"
	    "  { name = \"BAD!\"; time_zone = \"Nowhere/X\";\n"
	    "    bookto = { signing_secrets = [ \"%s\", \"env:BM_TEST_LEAK\", \"file:%s\" ]; "
	    "timestamp_tolerance_seconds = 0; };\n"
	    "    moneybird = { administration_id = \"x\"; api_token = \"%s\"; "
	    "base_url = \"http://evil.example\"; };\n"
	    "  },\n"
	    "  { name = \"b\"; bookto = { signing_secrets = [ \"%s\", \"\" ]; };\n"
	    "    moneybird = { administration_id = \"1\"; api_token = \"env:BM_TEST_NOPE\"; }; }\n"
	    ");\n",
	    literal, secret_path, literal, literal);
	unsetenv("BM_TEST_NOPE");
	load_text(&result, text);
	assert_int_equal(result.status, CN_INVALID);
	assert_true(count_lines(result.problems) >= 8);
	assert_no_leak(&result, literal);
	assert_no_leak(&result, env_value);
	assert_no_leak(&result, file_value);
	unsetenv("BM_TEST_LEAK");
	result_free(&result);

	/* a literal secret with a bad sibling: the secret text appears nowhere */
	secrets_config(text, sizeof(text), literal, literal);
	{
		char with_error[4200];

		snprintf(with_error, sizeof(with_error), "workers = { count = 100; };\n%s", text);
		load_text(&result, with_error);
	}
	assert_int_equal(result.status, CN_INVALID);
	assert_no_leak(&result, literal);
	result_free(&result);
	unlink(secret_path);
}

static void test_database_env_override(void **state)
{
	struct result result;

	(void)state;
	assert_int_equal(setenv("BOOKTO_MONEYBIRD_DATABASE", "host=override dbname=x", 1), 0);
	load_ok(&result, "database = { conninfo = \"host=file\"; };\n" CONNECTION_TEXT);
	assert_string_equal(result.config->database_conninfo, "host=override dbname=x");
	result_free(&result);

	/* empty means unset */
	assert_int_equal(setenv("BOOKTO_MONEYBIRD_DATABASE", "", 1), 0);
	load_ok(&result, "database = { conninfo = \"host=file\"; };\n" CONNECTION_TEXT);
	assert_string_equal(result.config->database_conninfo, "host=file");
	result_free(&result);
	unsetenv("BOOKTO_MONEYBIRD_DATABASE");
}

static void test_mapping_resolution(void **state)
{
	struct result result;
	char dir[600];
	char path[700];
	char text[2048];
	char expected[700];

	(void)state;
	/* relative: next to the config file, not the working directory */
	tmp_path(dir, sizeof(dir), "site");
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/maps", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(expected, sizeof(expected), "%s/maps/shop.cfg", dir);
	write_file(expected, MAPPING_TEXT, 0644);
	snprintf(text, sizeof(text),
	         "connections = ( { name = \"shop\"; mapping = \"maps/shop.cfg\"; " BOOKTO_OK
	         " " MONEYBIRD_OK " } );\n");
	snprintf(path, sizeof(path), "%s/connector.cfg", dir);
	write_file(path, text, 0600);
	load_path(&result, path);
	assert_int_equal(result.status, CN_OK);
	assert_string_equal(result.config->connections[0].mapping_path, expected);
	result_free(&result);

	/* absolute */
	snprintf(text, sizeof(text),
	         "connections = ( { name = \"shop\"; mapping = \"%s\"; " BOOKTO_OK " " MONEYBIRD_OK
	         " } );\n",
	         expected);
	load_ok(&result, text);
	assert_string_equal(result.config->connections[0].mapping_path, expected);
	result_free(&result);

	/* a mapping with a syntax error is reported at its own file:line */
	write_file(expected, "vat_treatments = {\n  standard = \"x\";\n  oops = ;\n};\n", 0644);
	load_path(&result, path);
	assert_int_equal(result.status, CN_INVALID);
	assert_true(unit_has_problem(result.problems, expected, 3, "`connections.[0].mapping`"));
	result_free(&result);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_loads_with_documented_defaults),
	    cmocka_unit_test(test_example_fails_without_env),
	    cmocka_unit_test(test_minimal_config_gets_defaults),
	    cmocka_unit_test(test_all_keys_set),
	    cmocka_unit_test(test_listen_forms),
	    cmocka_unit_test(test_top_level_rules),
	    cmocka_unit_test(test_connection_rules),
	    cmocka_unit_test(test_duplicate_connection_names),
	    cmocka_unit_test(test_all_problems_reported),
	    cmocka_unit_test(test_problems_in_line_order_and_capped),
	    cmocka_unit_test(test_include_reports_included_file),
	    cmocka_unit_test(test_missing_config_file),
	    cmocka_unit_test(test_null_problems_stream),
	    cmocka_unit_test(test_secret_literal_env_file),
	    cmocka_unit_test(test_secret_env_missing_or_empty),
	    cmocka_unit_test(test_secret_file_refusals),
	    cmocka_unit_test(test_secret_values_never_in_errors),
	    cmocka_unit_test(test_literal_secret_needs_a_private_file),
	    cmocka_unit_test(test_database_env_override),
	    cmocka_unit_test(test_mapping_resolution),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
