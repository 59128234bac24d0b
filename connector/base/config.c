#include "config.h"

#include "cfg_read.h"
#include "cfg_report.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef BM_SHARE_DIR
#define CONFIG_SHARE_DIR BM_SHARE_DIR
#else
#define CONFIG_SHARE_DIR "/usr/local/share/bookto-moneybird"
#endif

#define CONFIG_SECRET_MAX_BYTES 4096
#define CONFIG_KEY_MAX CFG_KEY_MAX
#define CONFIG_FILE_MAX_BYTES (1024 * 1024)
#define CONFIG_OVERSIZED_MAX 32

#define DEFAULT_LISTEN_HOST "127.0.0.1"
#define DEFAULT_LISTEN_PORT 8080
#define DEFAULT_CONNINFO "postgresql:///bookto_moneybird"
#define DEFAULT_SPOOL_DIR "/var/lib/bookto-moneybird/spool"
#define DEFAULT_MAPPING "mappings/default.cfg"
#define DEFAULT_TIME_ZONE "Europe/Amsterdam"
#define DEFAULT_BASE_URL "https://moneybird.com/api/v2"

/* Collects problems while a file is checked, so the operator sees all at once. */
struct loader {
	struct cfg_report report; /* the path, its folder (for @include) and the problems */
	int out_of_memory;
	/* Integers libconfig 1.5 silently wrapped: where, and as written. */
	struct oversized {
		const char *source; /* libconfig's file name, as in config_setting_source_file */
		unsigned line;
		char name[CONFIG_KEY_MAX];
		char text[64];
	} oversized[CONFIG_OVERSIZED_MAX];
	size_t oversized_count;
	const char *scanned[CONFIG_OVERSIZED_MAX]; /* files oversized_scan has read */
	size_t scanned_count;
	const char *exposed[CONFIG_OVERSIZED_MAX]; /* files reported as too open */
	size_t exposed_count;
};

/* Reports a problem at the file and line where setting `at` was written. */
static void problem(struct loader *ld, const config_setting_t *at, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static void problem(struct loader *ld, const config_setting_t *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_report_vat(&ld->report, at, fmt, ap);
	va_end(ap);
}

static char *loader_strdup(struct loader *ld, const char *text)
{
	char *copy = strdup(text);

	if (copy == NULL)
		ld->out_of_memory = 1;
	return copy;
}

/* "dir/name"; NULL (and out_of_memory) on allocation failure. */
static char *path_join(struct loader *ld, const char *dir, const char *name)
{
	size_t size = strlen(dir) + 1 + strlen(name) + 1;
	char *joined = malloc(size);

	if (joined == NULL) {
		ld->out_of_memory = 1;
		return NULL;
	}
	snprintf(joined, size, "%s/%s", dir, name);
	return joined;
}

/* The folder holding `path`: "." for a bare file name. Caller frees. */
static char *path_dirname(struct loader *ld, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	size_t length;

	if (slash == NULL)
		return loader_strdup(ld, ".");
	length = slash == path ? 1 : (size_t)(slash - path);
	dir = malloc(length + 1);
	if (dir == NULL) {
		ld->out_of_memory = 1;
		return NULL;
	}
	memcpy(dir, path, length);
	dir[length] = '\0';
	return dir;
}

/* The literal as written when libconfig wrapped this setting's value, else NULL. */
static const char *oversized_text(const struct loader *ld, const config_setting_t *member)
{
	size_t i;

	if (config_setting_type(member) != CONFIG_TYPE_INT)
		return NULL;
	for (i = 0; i < ld->oversized_count; i++)
		if (ld->oversized[i].line == config_setting_source_line(member) &&
		    strcmp(ld->oversized[i].source, cfg_setting_source(&ld->report, member)) == 0 &&
		    strcmp(ld->oversized[i].name, config_setting_name(member)) == 0)
			return ld->oversized[i].text;
	return NULL;
}

/* Checks one number token; text[0..length) holds it, sign included. */
static void number_check(struct loader *ld, const char *source, const char *text, size_t length,
                         unsigned line, const char *last_name)
{
	char token[64];
	char *end = NULL;
	long long value;
	size_t i;
	int hex;

	if (length >= sizeof(token))
		length = sizeof(token) - 1; /* far out of range either way */
	memcpy(token, text, length);
	token[length] = '\0';
	hex = strstr(token, "0x") != NULL || strstr(token, "0X") != NULL;
	if (token[length - 1] == 'L' || token[length - 1] == 'l')
		return; /* an explicit 64-bit integer is read correctly */
	for (i = 0; i < length; i++)
		if (token[i] == '.' || (!hex && (token[i] == 'e' || token[i] == 'E')))
			return; /* a float; read_int reports it as not a whole number */
	errno = 0;
	value = strtoll(token, &end, hex ? 16 : 10);
	if (errno == 0 && *end == '\0' && value >= INT32_MIN && value <= INT32_MAX)
		return;
	if (ld->oversized_count < CONFIG_OVERSIZED_MAX) {
		struct oversized *entry = &ld->oversized[ld->oversized_count++];

		entry->source = source;
		entry->line = line;
		snprintf(entry->name, sizeof(entry->name), "%s", last_name);
		snprintf(entry->text, sizeof(entry->text), "%s", token);
	}
}

/*
 * libconfig 1.5 wraps integer literals beyond 32 bits without an error (so
 * 4294968320 reads as 1024). This pass over the raw text finds such literals
 * so read_int reports them instead of accepting the wrapped value.
 */
static void oversized_scan(struct loader *ld, const char *source, const char *text, size_t size)
{
	char last_name[CONFIG_KEY_MAX] = "value";
	unsigned line = 1;
	unsigned name_line = 1;
	size_t i = 0;

	while (i < size) {
		char c = text[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < size && text[i + 1] == '/')) {
			while (i < size && text[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < size && text[i + 1] == '*') {
			for (i += 2;
			     i < size && !(text[i] == '*' && i + 1 < size && text[i + 1] == '/');
			     i++)
				if (text[i] == '\n')
					line++;
			i += 2;
		} else if (c == '"') {
			for (i++; i < size && text[i] != '"'; i++) {
				if (text[i] == '\\')
					i++;
				else if (text[i] == '\n')
					line++;
			}
			i++;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*' ||
		           c == '@') {
			size_t start = i;
			size_t length;

			while (i < size && ((text[i] >= 'A' && text[i] <= 'Z') ||
			                    (text[i] >= 'a' && text[i] <= 'z') ||
			                    (text[i] >= '0' && text[i] <= '9') || text[i] == '_' ||
			                    text[i] == '-' || text[i] == '*' || text[i] == '@'))
				i++;
			length = i - start;
			if (length >= sizeof(last_name))
				length = sizeof(last_name) - 1;
			memcpy(last_name, text + start, length);
			last_name[length] = '\0';
			name_line = line;
		} else if ((c >= '0' && c <= '9') || ((c == '-' || c == '+') && i + 1 < size &&
		                                      text[i + 1] >= '0' && text[i + 1] <= '9')) {
			size_t start = i;

			for (i++; i < size; i++) {
				char d = text[i];
				char previous = text[i - 1];

				if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') ||
				    (d >= 'A' && d <= 'Z') || d == '.' || d == '_')
					continue;
				if ((d == '+' || d == '-') && (previous == 'e' || previous == 'E'))
					continue;
				break;
			}
			/* Report at the setting's line, where libconfig puts it too. */
			number_check(ld, source, text + start, i - start, name_line, last_name);
		} else {
			i++;
		}
	}
}

/* Runs oversized_scan once over the file `member` came from; a file over the cap is refused. */
static void oversized_scan_source(struct loader *ld, const config_setting_t *member)
{
	const char *source = cfg_setting_source(&ld->report, member);
	char path[1024];
	char *text = NULL;
	FILE *file = NULL;
	size_t size;
	size_t i;

	for (i = 0; i < ld->scanned_count; i++)
		if (strcmp(ld->scanned[i], source) == 0)
			return;
	if (ld->scanned_count == CONFIG_OVERSIZED_MAX)
		return;
	ld->scanned[ld->scanned_count++] = source;
	cfg_source_path(&ld->report, source, path, sizeof(path));
	file = fopen(path, "r");
	if (file == NULL)
		return; /* libconfig read it a moment ago; nothing to add */
	text = malloc(CONFIG_FILE_MAX_BYTES + 1);
	if (text == NULL) {
		ld->out_of_memory = 1;
		goto out;
	}
	size = fread(text, 1, CONFIG_FILE_MAX_BYTES + 1, file);
	if (size > CONFIG_FILE_MAX_BYTES) {
		cfg_report_line(
		    &ld->report, path, 1, 1,
		    "the file is larger than %d bytes; it cannot be a real configuration",
		    CONFIG_FILE_MAX_BYTES);
		goto out;
	}
	oversized_scan(ld, source, text, size);
out:
	free(text);
	fclose(file);
}

/* cfg_read_int's view of the integers libconfig wrapped. */
static const char *wrapped_text(void *ctx, const config_setting_t *member)
{
	struct loader *ld = ctx;

	oversized_scan_source(ld, member);
	return oversized_text(ld, member);
}

static void read_int(struct loader *ld, const config_setting_t *group, const char *prefix,
                     const char *name, long long min, long long max, long long *value)
{
	cfg_read_int(&ld->report, group, prefix, name, min, max, value, wrapped_text, ld);
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
static int base_url_ok(const char *url)
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

static int connection_name_ok(const char *name)
{
	size_t length = strlen(name);
	size_t i;

	if (length == 0 || length > CONFIG_NAME_MAX)
		return 0;
	for (i = 0; i < length; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int env_name_ok(const char *name)
{
	size_t i;

	if (name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return 0;
	}
	return 1;
}

static void secret_free(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* Reads a "file:" secret; NULL after reporting. The value never reaches a message. */
static char *secret_read_file(struct loader *ld, const config_setting_t *at, const char *key,
                              const char *path)
{
	char buffer[CONFIG_SECRET_MAX_BYTES + 2];
	char *secret = NULL;
	size_t length = 0;
	struct stat info;
	int fd;

	if (path[0] == '\0') {
		problem(ld, at, "secret `%s` says file: but names no file; write \"file:/path\"",
		        key);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		problem(ld, at,
		        "secret `%s` refers to file %s, which cannot be read (%s); fix the path or "
		        "its permissions",
		        key, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
		problem(ld, at, "secret `%s` refers to %s, which is not a regular file", key, path);
		goto out;
	}
	if ((info.st_mode & S_IROTH) != 0) {
		problem(
		    ld, at,
		    "secret `%s` refers to file %s, which every user can read; run chmod o-rwx %s",
		    key, path, path);
		goto out;
	}
	while (length < sizeof(buffer)) {
		ssize_t got = read(fd, buffer + length, sizeof(buffer) - length);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			problem(ld, at, "secret `%s` refers to file %s, which cannot be read (%s)",
			        key, path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		length += (size_t)got;
	}
	/* One trailing newline is what editors and `echo` add; it is not part of the secret. */
	if (length > 0 && buffer[length - 1] == '\n') {
		length--;
		if (length > 0 && buffer[length - 1] == '\r')
			length--;
	}
	if (length > CONFIG_SECRET_MAX_BYTES) {
		problem(ld, at, "secret `%s` in file %s is longer than %d bytes", key, path,
		        CONFIG_SECRET_MAX_BYTES);
		goto out;
	}
	if (memchr(buffer, '\0', length) != NULL) {
		problem(ld, at, "secret `%s` in file %s contains a NUL byte", key, path);
		goto out;
	}
	if (length == 0) {
		problem(ld, at,
		        "secret `%s` refers to file %s, which is empty; put the secret in it", key,
		        path);
		goto out;
	}
	secret = malloc(length + 1);
	if (secret == NULL) {
		ld->out_of_memory = 1;
		goto out;
	}
	memcpy(secret, buffer, length);
	secret[length] = '\0';
out:
	explicit_bzero(buffer, sizeof(buffer));
	close(fd);
	return secret;
}

/*
 * A literal secret may only sit in a file that group and others cannot
 * read: reported once per file, with the command that fixes it.
 */
static void literal_secret_check(struct loader *ld, const config_setting_t *at, const char *key)
{
	const char *file = config_setting_source_file(at);
	struct stat info;

	if (file == NULL || stat(file, &info) != 0 || (info.st_mode & (S_IRGRP | S_IROTH)) == 0)
		return;
	for (size_t i = 0; i < ld->exposed_count; i++)
		if (strcmp(ld->exposed[i], file) == 0)
			return;
	if (ld->exposed_count < CONFIG_OVERSIZED_MAX)
		ld->exposed[ld->exposed_count++] = file;
	problem(ld, at,
	        "secret `%s` is written in %s, which group or others can read: run `chmod 600 %s`"
	        " (or give the secret as \"env:NAME\" or \"file:/path\")",
	        key, file, file);
}

/* Resolves a literal, "env:NAME" or "file:/path" secret; NULL after reporting. */
static char *secret_resolve(struct loader *ld, const config_setting_t *at, const char *key,
                            const char *spec)
{
	if (strncmp(spec, "env:", 4) == 0) {
		const char *name = spec + 4;
		const char *value;

		if (!env_name_ok(name)) {
			problem(
			    ld, at,
			    "secret `%s` says env: but `%s` is not an environment variable name; "
			    "write \"env:NAME\"",
			    key, name);
			return NULL;
		}
		value = getenv(name);
		if (value == NULL) {
			problem(ld, at,
			        "secret `%s` refers to environment variable %s, which is not set",
			        key, name);
			return NULL;
		}
		if (value[0] == '\0') {
			problem(ld, at,
			        "secret `%s` refers to environment variable %s, which is empty",
			        key, name);
			return NULL;
		}
		if (strlen(value) > CONFIG_SECRET_MAX_BYTES) {
			problem(ld, at,
			        "secret `%s` in environment variable %s is longer than %d bytes",
			        key, name, CONFIG_SECRET_MAX_BYTES);
			return NULL;
		}
		return loader_strdup(ld, value);
	}
	if (strncmp(spec, "file:", 5) == 0)
		return secret_read_file(ld, at, key, spec + 5);
	if (spec[0] == '\0') {
		problem(ld, at, "secret `%s` is empty; set a value, \"env:NAME\" or \"file:/path\"",
		        key);
		return NULL;
	}
	if (strlen(spec) > CONFIG_SECRET_MAX_BYTES) {
		problem(ld, at, "secret `%s` is longer than %d bytes", key,
		        CONFIG_SECRET_MAX_BYTES);
		return NULL;
	}
	literal_secret_check(ld, at, key);
	return loader_strdup(ld, spec);
}

static int regular_file_exists(const char *path)
{
	struct stat info;

	return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

/*
 * Finds the mapping file (relative: next to the config, then the share folder)
 * and checks it parses. Returns the resolved path, or NULL after reporting.
 */
static char *mapping_resolve(struct loader *ld, const config_setting_t *at, const char *key,
                             const char *value, const char *config_dir)
{
	char *resolved = NULL;
	char *share = NULL;
	config_t mapping;

	if (value[0] == '\0') {
		problem(ld, at, "`%s` is empty; name a mapping file such as \"%s\"", key,
		        DEFAULT_MAPPING);
		return NULL;
	}
	if (value[0] == '/') {
		resolved = loader_strdup(ld, value);
		if (resolved == NULL)
			return NULL;
		if (!regular_file_exists(resolved)) {
			problem(ld, at, "mapping file %s for `%s` does not exist; fix the path",
			        value, key);
			goto fail;
		}
	} else {
		resolved = path_join(ld, config_dir, value);
		share = path_join(ld, CONFIG_SHARE_DIR, value);
		if (resolved == NULL || share == NULL)
			goto fail;
		if (!regular_file_exists(resolved)) {
			if (!regular_file_exists(share)) {
				problem(ld, at,
				        "mapping file `%s` for `%s` was found neither as %s nor as "
				        "%s; fix the path",
				        value, key, resolved, share);
				goto fail;
			}
			free(resolved);
			resolved = share;
			share = NULL;
		}
	}
	config_init(&mapping);
	if (config_read_file(&mapping, resolved) != CONFIG_TRUE) {
		if (config_error_type(&mapping) == CONFIG_ERR_PARSE) {
			const char *file = config_error_file(&mapping);

			cfg_report_line(&ld->report, file != NULL ? file : resolved,
			                (unsigned)config_error_line(&mapping), cfg_setting_line(at),
			                "%s in the mapping file of `%s`",
			                config_error_text(&mapping), key);
		} else {
			problem(ld, at, "mapping file %s for `%s` cannot be read (%s)", resolved,
			        key, strerror(errno));
		}
		config_destroy(&mapping);
		goto fail;
	}
	config_destroy(&mapping);
	free(share);
	return resolved;
fail:
	free(resolved);
	free(share);
	return NULL;
}

static void time_zone_check(struct loader *ld, const config_setting_t *at, const char *key,
                            const char *zone)
{
	const char *tzdir = getenv("TZDIR");
	char path[512];
	size_t i;
	int bad = zone[0] == '\0' || zone[0] == '/' || strstr(zone, "..") != NULL;

	for (i = 0; !bad && zone[i] != '\0'; i++) {
		char c = zone[i];

		bad = !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		        (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '+' || c == '-');
	}
	if (!bad && strcmp(zone, "UTC") == 0)
		return;
	if (tzdir == NULL || tzdir[0] == '\0')
		tzdir = "/usr/share/zoneinfo";
	if (!bad) {
		snprintf(path, sizeof(path), "%s/%s", tzdir, zone);
		if (regular_file_exists(path))
			return;
	}
	problem(ld, at,
	        "`%s` \"%s\" is not a known time zone; use an IANA name such as "
	        "\"Europe/Amsterdam\" (as found under %s)",
	        key, zone, tzdir);
}

static void connection_free_fields(struct connection_config *connection)
{
	size_t i;

	free(connection->mapping_path);
	free(connection->time_zone);
	for (i = 0; i < CONFIG_MAX_SECRETS; i++)
		secret_free(connection->bookto_signing_secrets[i]);
	free(connection->moneybird_base_url);
	free(connection->moneybird_administration_id);
	secret_free(connection->moneybird_api_token);
}

static void load_bookto(struct loader *ld, const config_setting_t *parent, const char *prefix,
                        struct connection_config *connection)
{
	static const char *const keys[] = {"signing_secrets", "timestamp_tolerance_seconds", NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, parent, prefix, "bookto");
	const config_setting_t *secrets;
	char path[CONFIG_KEY_MAX];
	char key[CONFIG_KEY_MAX];
	long long tolerance = 300;
	int count;
	int i;

	cfg_key_name(path, sizeof(path), prefix, "bookto");
	connection->bookto_timestamp_tolerance_seconds = (int)tolerance;
	if (group == NULL) {
		if (config_setting_get_member(parent, "bookto") == NULL)
			problem(ld, parent,
			        "`%s` is missing; add bookto = { signing_secrets = [ "
			        "\"env:BOOKTO_SIGNING_SECRET\" ]; };",
			        path);
		return;
	}
	cfg_check_keys(&ld->report, group, path, keys);
	read_int(ld, group, path, "timestamp_tolerance_seconds", 1, 86400, &tolerance);
	connection->bookto_timestamp_tolerance_seconds = (int)tolerance;

	cfg_key_name(key, sizeof(key), path, "signing_secrets");
	secrets = config_setting_get_member(group, "signing_secrets");
	if (secrets == NULL) {
		problem(ld, group,
		        "`%s` is missing; add signing_secrets = [ \"env:BOOKTO_SIGNING_SECRET\" ];",
		        key);
		return;
	}
	if (!config_setting_is_array(secrets) && !config_setting_is_list(secrets)) {
		problem(ld, secrets,
		        "`%s` must be an array of strings, like [ \"env:BOOKTO_SIGNING_SECRET\" ]",
		        key);
		return;
	}
	count = config_setting_length(secrets);
	if (count == 0) {
		problem(ld, secrets, "`%s` is empty; add at least one signing secret", key);
		return;
	}
	if (count > CONFIG_MAX_SECRETS) {
		problem(ld, secrets, "`%s` has %d secrets; at most %d are allowed", key, count,
		        CONFIG_MAX_SECRETS);
		return;
	}
	for (i = 0; i < count; i++) {
		const config_setting_t *element = config_setting_get_elem(secrets, (unsigned)i);
		char element_key[CONFIG_KEY_MAX];
		char *secret;

		/* The index only helps when there are several. */
		if (count > 1)
			snprintf(element_key, sizeof(element_key), "%s.[%d]", key, i);
		else
			snprintf(element_key, sizeof(element_key), "%s", key);
		if (config_setting_type(element) != CONFIG_TYPE_STRING) {
			problem(ld, element, "`%s` must be a string in double quotes", element_key);
			continue;
		}
		secret =
		    secret_resolve(ld, element, element_key, config_setting_get_string(element));
		if (secret != NULL)
			connection
			    ->bookto_signing_secrets[connection->bookto_signing_secret_count++] =
			    secret;
	}
}

static void load_moneybird(struct loader *ld, const config_setting_t *parent, const char *prefix,
                           struct connection_config *connection)
{
	static const char *const keys[] = {"base_url", "administration_id", "api_token",
	                                   "rate_limit", NULL};
	static const char *const rate_keys[] = {"requests", "per_seconds", NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, parent, prefix, "moneybird");
	const config_setting_t *rate_limit;
	const config_setting_t *at;
	const char *text;
	char path[CONFIG_KEY_MAX];
	char rate_path[CONFIG_KEY_MAX];
	char key[CONFIG_KEY_MAX];
	long long requests = 150;
	long long per_seconds = 300;

	cfg_key_name(path, sizeof(path), prefix, "moneybird");
	connection->moneybird_rate_limit_requests = (int)requests;
	connection->moneybird_rate_limit_per_seconds = (int)per_seconds;
	if (group == NULL) {
		if (config_setting_get_member(parent, "moneybird") == NULL)
			problem(ld, parent,
			        "`%s` is missing; add moneybird = { administration_id = \"...\"; "
			        "api_token = \"env:MONEYBIRD_API_TOKEN\"; };",
			        path);
		return;
	}
	cfg_check_keys(&ld->report, group, path, keys);

	cfg_key_name(key, sizeof(key), path, "base_url");
	text = cfg_read_string(&ld->report, group, path, "base_url", &at);
	if (at == NULL)
		text = DEFAULT_BASE_URL;
	if (text != NULL) {
		if (!base_url_ok(text)) {
			problem(ld, at,
			        "`%s` must start with https:// (http:// is accepted only for "
			        "127.0.0.1, localhost or [::1], for local tests)",
			        key);
		} else {
			size_t length = strlen(text);

			/* Stored without trailing slashes so request paths join cleanly. */
			while (length > 0 && text[length - 1] == '/')
				length--;
			connection->moneybird_base_url = strndup(text, length);
			if (connection->moneybird_base_url == NULL)
				ld->out_of_memory = 1;
		}
	}

	cfg_key_name(key, sizeof(key), path, "administration_id");
	at = config_setting_get_member(group, "administration_id");
	if (at == NULL) {
		problem(ld, group,
		        "`%s` is missing; add administration_id = \"123456789\"; (see "
		        "`bookto-moneybird moneybird check`)",
		        key);
	} else if (config_setting_type(at) != CONFIG_TYPE_STRING) {
		problem(ld, at,
		        "`%s` must be a string of digits in double quotes, like \"123456789\"",
		        key);
	} else if (!cfg_all_digits(config_setting_get_string(at), 20)) {
		problem(ld, at, "`%s` must be 1 to 20 digits, like \"123456789\"", key);
	} else {
		connection->moneybird_administration_id =
		    loader_strdup(ld, config_setting_get_string(at));
	}

	cfg_key_name(key, sizeof(key), path, "api_token");
	text = cfg_read_string(&ld->report, group, path, "api_token", &at);
	if (at == NULL)
		problem(ld, group, "`%s` is missing; add api_token = \"env:MONEYBIRD_API_TOKEN\";",
		        key);
	else if (text != NULL)
		connection->moneybird_api_token = secret_resolve(ld, at, key, text);

	cfg_key_name(rate_path, sizeof(rate_path), path, "rate_limit");
	rate_limit = cfg_get_group(&ld->report, group, path, "rate_limit");
	if (rate_limit != NULL) {
		cfg_check_keys(&ld->report, rate_limit, rate_path, rate_keys);
		read_int(ld, rate_limit, rate_path, "requests", 1, 100000, &requests);
		read_int(ld, rate_limit, rate_path, "per_seconds", 1, 86400, &per_seconds);
	}
	connection->moneybird_rate_limit_requests = (int)requests;
	connection->moneybird_rate_limit_per_seconds = (int)per_seconds;
}

static void load_connection(struct loader *ld, const config_setting_t *list, int index,
                            struct connection_config *connections, const char *config_dir)
{
	static const char *const keys[] = {"name",   "mapping",   "time_zone",
	                                   "bookto", "moneybird", NULL};
	const config_setting_t *group = config_setting_get_elem(list, (unsigned)index);
	struct connection_config *connection = &connections[index];
	const config_setting_t *at;
	const char *text;
	char prefix[CONFIG_KEY_MAX];
	char key[CONFIG_KEY_MAX];
	int other;

	snprintf(prefix, sizeof(prefix), "connections.[%d]", index);
	if (!config_setting_is_group(group)) {
		problem(ld, group, "`%s` must be a group; write { name = \"...\"; ... }", prefix);
		return;
	}
	cfg_check_keys(&ld->report, group, prefix, keys);

	cfg_key_name(key, sizeof(key), prefix, "name");
	text = cfg_read_string(&ld->report, group, prefix, "name", &at);
	if (at == NULL) {
		problem(ld, group, "`%s` is missing; add name = \"default\";", key);
	} else if (text != NULL && !connection_name_ok(text)) {
		problem(ld, at,
		        "`%s` must be 1 to %d characters of a-z, 0-9, _ and - (it appears in URLs)",
		        key, CONFIG_NAME_MAX);
	} else if (text != NULL) {
		for (other = 0; other < index; other++) {
			const config_setting_t *other_name;

			if (strcmp(connections[other].name, text) != 0)
				continue;
			other_name = config_setting_get_member(
			    config_setting_get_elem(list, (unsigned)other), "name");
			problem(ld, at,
			        "`%s` \"%s\" is already used by `connections.[%d]` (line %u); "
			        "connection names must be unique",
			        key, text, other,
			        other_name != NULL ? config_setting_source_line(other_name) : 0);
			break;
		}
		memcpy(connection->name, text, strlen(text) + 1);
	}

	cfg_key_name(key, sizeof(key), prefix, "mapping");
	text = cfg_read_string(&ld->report, group, prefix, "mapping", &at);
	if (at == NULL) {
		text = DEFAULT_MAPPING;
		at = group;
	}
	if (text != NULL)
		connection->mapping_path = mapping_resolve(ld, at, key, text, config_dir);

	cfg_key_name(key, sizeof(key), prefix, "time_zone");
	text = cfg_read_string(&ld->report, group, prefix, "time_zone", &at);
	if (at == NULL)
		text = DEFAULT_TIME_ZONE;
	if (text != NULL) {
		time_zone_check(ld, at != NULL ? at : group, key, text);
		connection->time_zone = loader_strdup(ld, text);
	}

	load_bookto(ld, group, prefix, connection);
	load_moneybird(ld, group, prefix, connection);
}

static void load_connections(struct loader *ld, const config_setting_t *root, struct config *config,
                             const char *config_dir)
{
	const config_setting_t *list = config_setting_get_member(root, "connections");
	int count;
	int i;

	if (list == NULL) {
		problem(
		    ld, root,
		    "`connections` is missing; add connections = ( { name = \"default\"; ... } );");
		return;
	}
	if (!config_setting_is_list(list)) {
		problem(ld, list,
		        "`connections` must be a list of groups; write connections = ( { ... } );");
		return;
	}
	count = config_setting_length(list);
	if (count == 0) {
		problem(ld, list, "`connections` is empty; configure at least one connection");
		return;
	}
	config->connections = calloc((size_t)count, sizeof(*config->connections));
	if (config->connections == NULL) {
		ld->out_of_memory = 1;
		return;
	}
	config->connection_count = (size_t)count;
	for (i = 0; i < count && !ld->out_of_memory; i++)
		load_connection(ld, list, i, config->connections, config_dir);
}

static void load_http(struct loader *ld, const config_setting_t *root, struct config *config)
{
	static const char *const keys[] = {"listen",
	                                   "max_body_bytes",
	                                   "max_connections",
	                                   "request_timeout_seconds",
	                                   "commit_timeout_ms",
	                                   NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "http");
	const config_setting_t *at;
	const char *listen;
	char host[256];
	long long max_body_bytes = 262144;
	long long max_connections = 256;
	long long request_timeout = 10;
	long long commit_timeout_ms = 3000;
	int port = DEFAULT_LISTEN_PORT;
	const char *host_text = DEFAULT_LISTEN_HOST;

	if (group != NULL)
		cfg_check_keys(&ld->report, group, "http", keys);
	listen = cfg_read_string(&ld->report, group, "http", "listen", &at);
	if (listen != NULL) {
		int status = listen_parse(listen, host, sizeof(host), &port);

		if (status == -1)
			problem(ld, at,
			        "`http.listen` host must be an IPv4 address, localhost or a "
			        "bracketed IPv6 address such as [::1], like \"127.0.0.1:8080\"");
		else if (status == -2)
			problem(ld, at,
			        "`http.listen` must end with :PORT, a port from 0 to 65535, like "
			        "\"127.0.0.1:8080\"");
		else
			host_text = host;
	}
	config->http_listen_host = loader_strdup(ld, host_text);
	config->http_listen_port = port;
	read_int(ld, group, "http", "max_body_bytes", 1024, 67108864, &max_body_bytes);
	read_int(ld, group, "http", "max_connections", 1, 10000, &max_connections);
	read_int(ld, group, "http", "request_timeout_seconds", 1, 3600, &request_timeout);
	config->http_max_body_bytes = (long)max_body_bytes;
	config->http_max_connections = (int)max_connections;
	config->http_request_timeout_seconds = (int)request_timeout;
	read_int(ld, group, "http", "commit_timeout_ms", 100, 60000, &commit_timeout_ms);
	config->http_commit_timeout_ms = (int)commit_timeout_ms;
}

static void load_database(struct loader *ld, const config_setting_t *root, struct config *config)
{
	static const char *const keys[] = {"conninfo", "pool_size", NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "database");
	const config_setting_t *at;
	const char *conninfo;
	const char *override = getenv("BOOKTO_MONEYBIRD_DATABASE");
	long long pool_size = 8;

	if (group != NULL)
		cfg_check_keys(&ld->report, group, "database", keys);
	conninfo = cfg_read_string(&ld->report, group, "database", "conninfo", &at);
	if (at == NULL)
		conninfo = DEFAULT_CONNINFO;
	if (conninfo != NULL && conninfo[0] == '\0') {
		problem(ld, at, "`database.conninfo` is empty; set a libpq conninfo such as \"%s\"",
		        DEFAULT_CONNINFO);
		conninfo = NULL;
	}
	/* The environment wins so deployments can keep the password out of the file. */
	if (override != NULL && override[0] != '\0')
		conninfo = override;
	if (conninfo != NULL)
		config->database_conninfo = loader_strdup(ld, conninfo);
	read_int(ld, group, "database", "pool_size", 1, 256, &pool_size);
	config->database_pool_size = (int)pool_size;
}

static void load_small_groups(struct loader *ld, const config_setting_t *root,
                              struct config *config)
{
	static const char *const worker_keys[] = {"count", "max_attempts", NULL};
	static const char *const reconcile_keys[] = {"interval_seconds", NULL};
	static const char *const log_keys[] = {"level", "format", "file", NULL};
	static const char *const spool_keys[] = {"dir", NULL};
	const config_setting_t *group;
	const config_setting_t *at;
	const char *text;
	long long count = 2;
	long long max_attempts = 15;
	long long interval = 900;

	group = cfg_get_group(&ld->report, root, "", "workers");
	if (group != NULL)
		cfg_check_keys(&ld->report, group, "workers", worker_keys);
	read_int(ld, group, "workers", "count", 0, 64, &count);
	read_int(ld, group, "workers", "max_attempts", 1, 1000, &max_attempts);
	config->workers_count = (int)count;
	config->workers_max_attempts = (int)max_attempts;

	group = cfg_get_group(&ld->report, root, "", "reconcile");
	if (group != NULL)
		cfg_check_keys(&ld->report, group, "reconcile", reconcile_keys);
	read_int(ld, group, "reconcile", "interval_seconds", 0, 604800, &interval);
	if (interval > 0 && interval < 60) {
		problem(
		    ld, config_setting_get_member(group, "interval_seconds"),
		    "`reconcile.interval_seconds` must be 0 (off) or from 60 to 604800, not %lld",
		    interval);
		interval = 900;
	}
	config->reconcile_interval_seconds = (int)interval;

	group = cfg_get_group(&ld->report, root, "", "log");
	if (group != NULL)
		cfg_check_keys(&ld->report, group, "log", log_keys);
	config->log_level = LOG_LEVEL_INFO;
	config->log_format = LOG_FORMAT_LOGFMT;
	text = cfg_read_string(&ld->report, group, "log", "level", &at);
	if (text != NULL) {
		int level = level_parse(text);

		if (level < 0)
			problem(ld, at,
			        "`log.level` must be \"debug\", \"info\", \"warn\" or \"error\"");
		else
			config->log_level = (enum log_level)level;
	}
	text = cfg_read_string(&ld->report, group, "log", "format", &at);
	if (text != NULL) {
		int format = format_parse(text);

		if (format < 0)
			problem(ld, at, "`log.format` must be \"logfmt\" or \"json\"");
		else
			config->log_format = (enum log_format)format;
	}
	text = cfg_read_string(&ld->report, group, "log", "file", &at);
	config->log_file = loader_strdup(ld, text != NULL ? text : "");

	group = cfg_get_group(&ld->report, root, "", "spool");
	if (group != NULL)
		cfg_check_keys(&ld->report, group, "spool", spool_keys);
	text = cfg_read_string(&ld->report, group, "spool", "dir", &at);
	if (at == NULL)
		text = DEFAULT_SPOOL_DIR;
	if (text != NULL && text[0] == '\0')
		problem(ld, at, "`spool.dir` is empty; set a folder such as \"%s\"",
		        DEFAULT_SPOOL_DIR);
	config->spool_dir = loader_strdup(ld, text != NULL ? text : DEFAULT_SPOOL_DIR);
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
	static const char *const keys[] = {
	    "webhook_url",      "sendmail",          "email_to",        "email_from",
	    "interval_seconds", "spool_age_seconds", "timeout_seconds", NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "notify");
	const config_setting_t *at;
	long long interval = 900, spool_age = 600, timeout = 10;
	const char *text;
	bool channel = false;

	config->notify_interval_seconds = (int)interval;
	config->notify_spool_age_seconds = (int)spool_age;
	config->notify_timeout_seconds = (int)timeout;
	if (group == NULL)
		return;
	cfg_check_keys(&ld->report, group, "notify", keys);
	read_int(ld, group, "notify", "interval_seconds", 1, 86400, &interval);
	read_int(ld, group, "notify", "spool_age_seconds", 1, 86400, &spool_age);
	read_int(ld, group, "notify", "timeout_seconds", 1, 120, &timeout);
	config->notify_interval_seconds = (int)interval;
	config->notify_spool_age_seconds = (int)spool_age;
	config->notify_timeout_seconds = (int)timeout;

	text = cfg_read_string(&ld->report, group, "notify", "webhook_url", &at);
	if (text != NULL && text[0] != '\0') {
		channel = true;
		config->notify_webhook_url = secret_resolve(ld, at, "notify.webhook_url", text);
		if (config->notify_webhook_url != NULL && !base_url_ok(config->notify_webhook_url))
			problem(ld, at,
			        "`notify.webhook_url` must be an https:// URL (http:// only to "
			        "127.0.0.1, localhost or [::1])");
	}
	text = cfg_read_string(&ld->report, group, "notify", "sendmail", &at);
	if (text != NULL && text[0] != '\0') {
		channel = true;
		if (text[0] != '/')
			problem(ld, at,
			        "`notify.sendmail` must be an absolute path such as "
			        "\"/usr/sbin/sendmail\", not \"%s\"",
			        text);
		config->notify_sendmail = loader_strdup(ld, text);
	}
	text = cfg_read_string(&ld->report, group, "notify", "email_to", &at);
	if (text != NULL && !email_ok(text))
		problem(ld, at,
		        "`notify.email_to` must be one address such as \"ops@example.com\"");
	else if (text != NULL)
		config->notify_email_to = loader_strdup(ld, text);
	if (config->notify_sendmail != NULL && text == NULL)
		problem(ld, group, "`notify.sendmail` needs `notify.email_to`");
	text = cfg_read_string(&ld->report, group, "notify", "email_from", &at);
	if (text != NULL && !email_ok(text))
		problem(
		    ld, at,
		    "`notify.email_from` must be one address such as \"connector@example.com\"");
	config->notify_email_from = loader_strdup(ld, text != NULL ? text : "bookto-moneybird");
	if (!channel)
		problem(ld, group,
		        "`notify` needs `webhook_url` or `sendmail` (or remove the group)");
}

/* The optional console group: listen ("" = off), session length, cookies. */
static void load_console(struct loader *ld, const config_setting_t *root, struct config *config)
{
	static const char *const keys[] = {"listen", "session_minutes", "secure_cookies", NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "console");
	const config_setting_t *at = group;
	const char *listen;
	char host[256];
	int port = 8081;
	long long minutes = 480;
	bool secure = false;

	if (group != NULL)
		cfg_check_keys(&ld->report, group, "console", keys);
	listen = cfg_read_string(&ld->report, group, "console", "listen", &at);
	if (listen == NULL)
		listen = "127.0.0.1:8081";
	if (listen[0] != '\0' && listen_parse(listen, host, sizeof(host), &port) != 0)
		problem(ld, at,
		        "`console.listen` must be \"\" (off) or HOST:PORT with an IPv4 address, "
		        "localhost or a bracketed IPv6 address, like \"127.0.0.1:8081\"");
	else if (listen[0] != '\0')
		config->console_listen_host = loader_strdup(ld, host);
	config->console_listen_port = port;
	read_int(ld, group, "console", "session_minutes", 5, 10080, &minutes);
	config->console_session_minutes = (int)minutes;
	cfg_read_bool(&ld->report, group, "console", "secure_cookies", &secure);
	config->console_secure_cookies = secure;
}

int config_load(const char *path, struct config **out, FILE *problems, struct cn_error *err)
{
	static const char *const top_keys[] = {"http",    "database", "workers",     "reconcile",
	                                       "log",     "spool",    "connections", "notify",
	                                       "console", NULL};
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
		const char *file = config_error_file(&tree);

		cfg_report_line(&ld.report, file != NULL ? file : path,
		                (unsigned)config_error_line(&tree), 1, "%s%s",
		                config_error_text(&tree),
		                strcmp(config_error_text(&tree), "syntax error") == 0
		                    ? " (check this line and the end of the one before it: a "
		                      "missing `;`, `=`, quote or bracket)"
		                    : "");
		goto out;
	}

	config = calloc(1, sizeof(*config));
	if (config == NULL) {
		ld.out_of_memory = 1;
		goto out;
	}
	config->path = loader_strdup(&ld, path);
	root = config_root_setting(&tree);
	cfg_check_keys(&ld.report, root, "", top_keys);
	load_http(&ld, root, config);
	load_database(&ld, root, config);
	load_small_groups(&ld, root, config);
	load_connections(&ld, root, config, config_dir);
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
		connection_free_fields(&config->connections[i]);
	free(config->connections);
	free(config->path);
	free(config->http_listen_host);
	secret_free(config->database_conninfo); /* may hold a password */
	free(config->log_file);
	free(config->spool_dir);
	secret_free(config->notify_webhook_url);
	free(config->notify_sendmail);
	free(config->notify_email_to);
	free(config->notify_email_from);
	free(config->console_listen_host);
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
