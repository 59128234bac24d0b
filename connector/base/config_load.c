/*
 * config_load: the file's top level and its small groups (http, database,
 * workers, reconcile, log, spool, notify). The keys, their defaults and
 * ranges come from the table (config_table.c); connections are read in
 * config_connections.c, secrets in config_secret.c.
 */
#include "config.h"

#include "cfg_read.h"
#include "cfg_report.h"
#include "config_loader.h"
#include "config_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_CHILDREN_MAX 32

/* The folder holding `path`: "." for a bare file name. Caller frees. */
static char *path_dirname(struct loader *ld, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return config_strdup(ld, ".");
	return text_copy_n(path, slash == path ? 1 : (size_t)(slash - path), &ld->out_of_memory);
}

void config_check_group(struct loader *ld, const config_setting_t *group, const char *prefix,
                        const char *table_path)
{
	const char *names[CONFIG_CHILDREN_MAX];

	if (group == NULL)
		return;
	config_key_children(table_path, names, CONFIG_CHILDREN_MAX);
	cfg_check_keys(&ld->report, group, prefix, names);
}

void config_read_ints(struct loader *ld, const config_setting_t *group, const char *prefix,
                      const char *table_path, void *base)
{
	size_t path_length = strlen(table_path);

	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *key = &config_keys[i];
		long long value;

		if (key->type != CONFIG_INT || key->offset == CONFIG_NO_FIELD ||
		    strncmp(key->path, table_path, path_length) != 0 ||
		    key->path[path_length] != '.' ||
		    strchr(key->path + path_length + 1, '.') != NULL)
			continue;
		value = config_key_int_default(key);
		cfg_read_int(&ld->report, group, prefix, key->path + path_length + 1, key->min,
		             key->max, &value, config_wrapped_text, ld);
		config_key_store_int(key, base, value);
	}
}

void config_read_group(struct loader *ld, const config_setting_t *group, const char *prefix,
                       const char *table_path, void *base)
{
	config_check_group(ld, group, prefix, table_path);
	config_read_ints(ld, group, prefix, table_path, base);
}

static int level_parse(const char *text)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	static const enum log_level levels[] = {LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN,
	                                        LOG_LEVEL_ERROR};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(text, names[i]) == 0)
			return (int)levels[i];
	return -1;
}

static int format_parse(const char *text)
{
	if (strcmp(text, "logfmt") == 0)
		return LOG_FORMAT_LOGFMT;
	if (strcmp(text, "json") == 0)
		return LOG_FORMAT_JSON;
	return -1;
}

/* Parses "host:port" (host: IPv4, "localhost" or "[IPv6]"); 0 ok, -1 bad host, -2 bad port. */
static int listen_parse(const char *text, char *host, size_t host_size, int *port)
{
	const char *port_text;
	const char *host_start = text;
	size_t host_length;
	unsigned char address[16];
	char *end = NULL;
	long number;
	int family = AF_INET;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		host_start = text + 1;
		host_length = (size_t)(close - host_start);
		port_text = close + 2;
		family = AF_INET6;
	} else {
		const char *colon = strrchr(text, ':');

		if (colon == NULL)
			return -2;
		host_length = (size_t)(colon - text);
		port_text = colon + 1;
	}
	if (host_length == 0 || host_length >= host_size)
		return -1;
	memcpy(host, host_start, host_length);
	host[host_length] = '\0';
	if (!(family == AF_INET && strcmp(host, "localhost") == 0) &&
	    inet_pton(family, host, address) != 1)
		return -1;
	if (port_text[0] < '0' || port_text[0] > '9' || strlen(port_text) > 5)
		return -2;
	errno = 0;
	number = strtol(port_text, &end, 10);
	if (errno != 0 || *end != '\0' || number < 0 || number > 65535)
		return -2;
	*port = (int)number;
	return 0;
}

/* https://host..., or http:// to a loopback host only. */
int config_base_url_ok(const char *url)
{
	static const char *const loopback[] = {"127.0.0.1", "localhost", "[::1]"};
	const char *host;
	size_t host_length;
	size_t i;

	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return 0;
	if (strncasecmp(url, "https://", 8) == 0)
		return url[8] != '\0' && url[8] != '/' && url[8] != ':';
	if (strncasecmp(url, "http://", 7) != 0)
		return 0;
	host = url + 7;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');

		if (close == NULL)
			return 0;
		host_length = (size_t)(close - host) + 1;
	} else {
		host_length = strcspn(host, ":/?#");
	}
	if (host[host_length] != '\0' && strchr(":/?#", host[host_length]) == NULL)
		return 0;
	for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		if (strlen(loopback[i]) == host_length &&
		    strncasecmp(host, loopback[i], host_length) == 0)
			return 1;
	return 0;
}

static void load_http(struct loader *ld, const config_setting_t *root, struct config *config)
{
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "http");
	const config_setting_t *at;
	const char *listen;
	char host[256];
	int port = 0;
	int status;

	config_check_group(ld, group, "http", "http");
	listen = cfg_read_string(&ld->report, group, "http", "listen", &at);
	if (listen == NULL) {
		listen = config_key_default("http.listen");
		at = NULL;
	}
	status = listen_parse(listen, host, sizeof(host), &port);
	if (status == -1)
		config_problem(ld, at,
		               "`http.listen` host must be an IPv4 address, localhost or a "
		               "bracketed IPv6 address such as [::1], like \"127.0.0.1:8080\"");
	else if (status == -2)
		config_problem(ld, at,
		               "`http.listen` must end with :PORT, a port from 0 to 65535, like "
		               "\"127.0.0.1:8080\"");
	if (status != 0) /* the default is valid */
		(void)listen_parse(config_key_default("http.listen"), host, sizeof(host), &port);
	config->http_listen_host = config_strdup(ld, host);
	config->http_listen_port = port;
	config_read_ints(ld, group, "http", "http", config);
}

static void load_database(struct loader *ld, const config_setting_t *root, struct config *config)
{
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "database");
	const config_setting_t *at;
	const char *conninfo;
	const char *override = getenv("BOOKTO_MONEYBIRD_DATABASE");
	const char *fallback = config_key_default("database.conninfo");

	config_check_group(ld, group, "database", "database");
	conninfo = cfg_read_string(&ld->report, group, "database", "conninfo", &at);
	if (at == NULL)
		conninfo = fallback;
	if (conninfo != NULL && conninfo[0] == '\0') {
		config_problem(ld, at,
		               "`database.conninfo` is empty; set a libpq conninfo such as \"%s\"",
		               fallback);
		conninfo = NULL;
	}
	/* The environment wins so deployments can keep the password out of the file. */
	if (override != NULL && override[0] != '\0')
		conninfo = override;
	if (conninfo != NULL)
		config->database_conninfo = config_strdup(ld, conninfo);
	config_read_ints(ld, group, "database", "database", config);
}

static void load_reconcile(struct loader *ld, const config_setting_t *root, struct config *config)
{
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "reconcile");

	config_read_group(ld, group, "reconcile", "reconcile", config);
	/* 1..59 would hammer Moneybird; the table's range cannot say "0 or 60..". */
	if (config->reconcile_interval_seconds > 0 && config->reconcile_interval_seconds < 60) {
		config_problem(
		    ld, config_setting_get_member(group, "interval_seconds"),
		    "`reconcile.interval_seconds` must be 0 (off) or from 60 to 604800, not %d",
		    config->reconcile_interval_seconds);
		config->reconcile_interval_seconds =
		    (int)config_key_int_default(config_key_find("reconcile.interval_seconds"));
	}
}

static void load_log(struct loader *ld, const config_setting_t *root, struct config *config)
{
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "log");
	const config_setting_t *at;
	const char *text;
	int level;
	int format;

	config_read_group(ld, group, "log", "log", config);
	config->log_level = (enum log_level)level_parse(config_key_default("log.level"));
	config->log_format = (enum log_format)format_parse(config_key_default("log.format"));
	text = cfg_read_string(&ld->report, group, "log", "level", &at);
	if (text != NULL) {
		level = level_parse(text);
		if (level < 0)
			config_problem(
			    ld, at,
			    "`log.level` must be \"debug\", \"info\", \"warn\" or \"error\"");
		else
			config->log_level = (enum log_level)level;
	}
	text = cfg_read_string(&ld->report, group, "log", "format", &at);
	if (text != NULL) {
		format = format_parse(text);
		if (format < 0)
			config_problem(ld, at, "`log.format` must be \"logfmt\" or \"json\"");
		else
			config->log_format = (enum log_format)format;
	}
	text = cfg_read_string(&ld->report, group, "log", "file", &at);
	config->log_file = config_strdup(ld, text != NULL ? text : config_key_default("log.file"));
}

static void load_small_groups(struct loader *ld, const config_setting_t *root,
                              struct config *config)
{
	const config_setting_t *group;
	const config_setting_t *at;
	const char *text;
	const char *fallback = config_key_default("spool.dir");

	group = cfg_get_group(&ld->report, root, "", "workers");
	config_read_group(ld, group, "workers", "workers", config);
	load_reconcile(ld, root, config);
	load_log(ld, root, config);

	group = cfg_get_group(&ld->report, root, "", "testing");
	config_read_group(ld, group, "testing", "testing", config);

	group = cfg_get_group(&ld->report, root, "", "spool");
	config_read_group(ld, group, "spool", "spool", config);
	text = cfg_read_string(&ld->report, group, "spool", "dir", &at);
	if (at == NULL)
		text = fallback;
	if (text != NULL && text[0] == '\0')
		config_problem(ld, at, "`spool.dir` is empty; set a folder such as \"%s\"",
		               fallback);
	config->spool_dir = config_strdup(ld, text != NULL ? text : fallback);
}

/* An email address for a header: local@domain, no blanks, quotes or separators. */
static int email_ok(const char *text)
{
	const char *at = strchr(text, '@');

	if (at == NULL || at == text || at[1] == '\0' || strlen(text) > 254)
		return 0;
	for (const char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("<>,;\"()\\", *p))
			return 0;
	return strchr(at + 1, '@') == NULL;
}

/* The optional notify group: a webhook URL (a secret) and/or sendmail. */
static void load_notify(struct loader *ld, const config_setting_t *root, struct config *config)
{
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "notify");
	const config_setting_t *at;
	const char *text;
	bool channel = false;

	config_read_group(ld, group, "notify", "notify", config);
	if (group == NULL)
		return;
	text = cfg_read_string(&ld->report, group, "notify", "webhook_url", &at);
	if (text != NULL && text[0] != '\0') {
		channel = true;
		config->notify_webhook_url =
		    config_secret_resolve(ld, at, "notify.webhook_url", text);
		if (config->notify_webhook_url != NULL &&
		    !config_base_url_ok(config->notify_webhook_url))
			config_problem(
			    ld, at,
			    "`notify.webhook_url` must be an https:// URL (http:// only to "
			    "127.0.0.1, localhost or [::1])");
	}
	text = cfg_read_string(&ld->report, group, "notify", "sendmail", &at);
	if (text != NULL && text[0] != '\0') {
		channel = true;
		if (text[0] != '/')
			config_problem(ld, at,
			               "`notify.sendmail` must be an absolute path such as "
			               "\"/usr/sbin/sendmail\", not \"%s\"",
			               text);
		config->notify_sendmail = config_strdup(ld, text);
	}
	text = cfg_read_string(&ld->report, group, "notify", "email_to", &at);
	if (text != NULL && !email_ok(text))
		config_problem(ld, at,
		               "`notify.email_to` must be one address such as \"ops@example.com\"");
	else if (text != NULL)
		config->notify_email_to = config_strdup(ld, text);
	if (config->notify_sendmail != NULL && text == NULL)
		config_problem(ld, group, "`notify.sendmail` needs `notify.email_to`");
	text = cfg_read_string(&ld->report, group, "notify", "email_from", &at);
	if (text != NULL && !email_ok(text))
		config_problem(
		    ld, at,
		    "`notify.email_from` must be one address such as \"connector@example.com\"");
	config->notify_email_from =
	    config_strdup(ld, text != NULL ? text : config_key_default("notify.email_from"));
	if (!channel)
		config_problem(ld, group,
		               "`notify` needs `webhook_url` or `sendmail` (or remove the group)");
}

/* The optional console group: listen ("" = off), session length, cookies. */
static void load_console(struct loader *ld, const config_setting_t *root, struct config *config)
{
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "console");
	const config_setting_t *at = group;
	const char *listen;
	char host[256];
	int port = 0;
	bool secure = false;

	config_read_group(ld, group, "console", "console", config);
	listen = cfg_read_string(&ld->report, group, "console", "listen", &at);
	if (listen == NULL)
		listen = config_key_default("console.listen");
	if (listen[0] != '\0' && listen_parse(listen, host, sizeof(host), &port) != 0)
		config_problem(ld, at,
		               "`console.listen` must be \"\" (off) or HOST:PORT with an IPv4 "
		               "address, localhost or a bracketed IPv6 address, like "
		               "\"127.0.0.1:8081\"");
	else if (listen[0] != '\0')
		config->console_listen_host = config_strdup(ld, host);
	config->console_listen_port = port;
	cfg_read_bool(&ld->report, group, "console", "secure_cookies", &secure);
	config->console_secure_cookies = secure;
}

int config_load(const char *path, struct config **out, FILE *problems, struct cn_error *err)
{
	struct loader ld = {.report = {.path = path}};
	struct config *config = NULL;
	char *config_dir = NULL;
	config_t tree;
	const config_setting_t *root;
	FILE *probe;
	int status = CN_INVALID;
	int tree_ready = 0;

	*out = NULL;
	/* libconfig only says "file I/O error"; open it first to name the real cause. */
	probe = fopen(path, "r");
	if (probe == NULL) {
		char message[sizeof(err->message)];

		snprintf(message, sizeof(message),
		         "%s: cannot read the config file (%s); pass the right one with -c FILE",
		         path, strerror(errno));
		error_set(err, "%s", message);
		if (problems != NULL)
			fprintf(problems, "%s\n", message);
		goto out;
	}
	fclose(probe);

	config_dir = path_dirname(&ld, path);
	if (config_dir == NULL)
		goto out;
	ld.report.config_dir = config_dir;
	config_init(&tree);
	tree_ready = 1;
	config_set_include_dir(&tree, config_dir);
	if (config_read_file(&tree, path) != CONFIG_TRUE) {
		cfg_report_read_error(&ld.report, &tree, path, 1);
		goto out;
	}

	config = calloc(1, sizeof(*config));
	if (config == NULL) {
		ld.out_of_memory = 1;
		goto out;
	}
	config->path = config_strdup(&ld, path);
	root = config_root_setting(&tree);
	config_check_group(&ld, root, "", "");
	load_http(&ld, root, config);
	load_database(&ld, root, config);
	load_small_groups(&ld, root, config);
	config_load_connections(&ld, root, config, config_dir);
	load_notify(&ld, root, config);
	load_console(&ld, root, config);

	if (ld.report.count > 0)
		goto out;
	*out = config;
	config = NULL;
	status = CN_OK;
out:
	if (ld.out_of_memory || ld.report.out_of_memory) {
		config_free(*out);
		*out = NULL;
		status = CN_ERR;
	}
	cfg_report_flush(&ld.report, problems, err);
	if (ld.out_of_memory || ld.report.out_of_memory)
		error_set(err, "%s: out of memory while loading the config", path);
	cfg_report_free(&ld.report);
	if (tree_ready)
		config_destroy(&tree);
	free(config_dir);
	config_free(config);
	return status;
}

void config_free(struct config *config)
{
	size_t i;

	if (config == NULL)
		return;
	for (i = 0; i < config->connection_count; i++)
		config_connection_free_fields(&config->connections[i]);
	free(config->connections);
	free(config->path);
	free(config->http_listen_host);
	free(config->console_listen_host);
	config_secret_free(config->database_conninfo); /* may hold a password */
	free(config->log_file);
	free(config->spool_dir);
	config_secret_free(config->notify_webhook_url);
	free(config->notify_sendmail);
	free(config->notify_email_to);
	free(config->notify_email_from);
	free(config);
}

const struct connection_config *config_find_connection(const struct config *config,
                                                       const char *name)
{
	size_t i;

	if (config == NULL || name == NULL)
		return NULL;
	for (i = 0; i < config->connection_count; i++)
		if (strcmp(config->connections[i].name, name) == 0)
			return &config->connections[i];
	return NULL;
}
