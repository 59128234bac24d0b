/*
 * The `connections` list: per connection its name, mapping file, time zone,
 * and the bookto and Moneybird groups.
 */
#include "config_loader.h"

#include "cfg_read.h"
#include "config_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef BM_SHARE_DIR
#define CONFIG_SHARE_DIR BM_SHARE_DIR
#else
#define CONFIG_SHARE_DIR "/usr/local/share/bookto-moneybird"
#endif

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
		config_problem(ld, at, "`%s` is empty; name a mapping file such as \"%s\"", key,
		               config_key_default("connections.*.mapping"));
		return NULL;
	}
	if (value[0] == '/') {
		resolved = config_strdup(ld, value);
		if (resolved == NULL)
			return NULL;
		if (!regular_file_exists(resolved)) {
			config_problem(ld, at,
			               "mapping file %s for `%s` does not exist; fix the path",
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
				config_problem(
				    ld, at,
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
			config_problem(ld, at, "mapping file %s for `%s` cannot be read (%s)",
			               resolved, key, strerror(errno));
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
	config_problem(ld, at,
	               "`%s` \"%s\" is not a known time zone; use an IANA name such as "
	               "\"Europe/Amsterdam\" (as found under %s)",
	               key, zone, tzdir);
}

void config_connection_free_fields(struct connection_config *connection)
{
	size_t i;

	free(connection->mapping_path);
	free(connection->time_zone);
	for (i = 0; i < CONFIG_MAX_SECRETS; i++)
		config_secret_free(connection->bookto_signing_secrets[i]);
	free(connection->moneybird_base_url);
	free(connection->moneybird_administration_id);
	config_secret_free(connection->moneybird_api_token);
}

static void load_bookto(struct loader *ld, const config_setting_t *parent, const char *prefix,
                        struct connection_config *connection)
{
	const config_setting_t *group = cfg_get_group(&ld->report, parent, prefix, "bookto");
	const config_setting_t *secrets;
	char path[CONFIG_KEY_MAX];
	char key[CONFIG_KEY_MAX];
	int count;
	int i;

	cfg_key_name(path, sizeof(path), prefix, "bookto");
	config_read_ints(ld, NULL, path, "connections.*.bookto", connection);
	if (group == NULL) {
		if (config_setting_get_member(parent, "bookto") == NULL)
			config_problem(ld, parent,
			               "`%s` is missing; add bookto = { signing_secrets = [ "
			               "\"env:BOOKTO_SIGNING_SECRET\" ]; };",
			               path);
		return;
	}
	config_read_group(ld, group, path, "connections.*.bookto", connection);

	cfg_key_name(key, sizeof(key), path, "signing_secrets");
	secrets = config_setting_get_member(group, "signing_secrets");
	if (secrets == NULL) {
		config_problem(
		    ld, group,
		    "`%s` is missing; add signing_secrets = [ \"env:BOOKTO_SIGNING_SECRET\" ];",
		    key);
		return;
	}
	if (!config_setting_is_array(secrets) && !config_setting_is_list(secrets)) {
		config_problem(
		    ld, secrets,
		    "`%s` must be an array of strings, like [ \"env:BOOKTO_SIGNING_SECRET\" ]",
		    key);
		return;
	}
	count = config_setting_length(secrets);
	if (count == 0) {
		config_problem(ld, secrets, "`%s` is empty; add at least one signing secret", key);
		return;
	}
	if (count > CONFIG_MAX_SECRETS) {
		config_problem(ld, secrets, "`%s` has %d secrets; at most %d are allowed", key,
		               count, CONFIG_MAX_SECRETS);
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
			config_problem(ld, element, "`%s` must be a string in double quotes",
			               element_key);
			continue;
		}
		secret = config_secret_resolve(ld, element, element_key,
		                               config_setting_get_string(element));
		if (secret != NULL)
			connection
			    ->bookto_signing_secrets[connection->bookto_signing_secret_count++] =
			    secret;
	}
}

static void load_moneybird(struct loader *ld, const config_setting_t *parent, const char *prefix,
                           struct connection_config *connection)
{
	const config_setting_t *group = cfg_get_group(&ld->report, parent, prefix, "moneybird");
	const config_setting_t *rate_limit;
	const config_setting_t *at;
	const char *text;
	char path[CONFIG_KEY_MAX];
	char rate_path[CONFIG_KEY_MAX];
	char key[CONFIG_KEY_MAX];

	cfg_key_name(path, sizeof(path), prefix, "moneybird");
	config_read_ints(ld, NULL, path, "connections.*.moneybird.rate_limit", connection);
	config_read_ints(ld, NULL, path, "connections.*.moneybird", connection);
	if (group == NULL) {
		if (config_setting_get_member(parent, "moneybird") == NULL)
			config_problem(
			    ld, parent,
			    "`%s` is missing; add moneybird = { administration_id = \"...\"; "
			    "api_token = \"env:MONEYBIRD_API_TOKEN\"; };",
			    path);
		return;
	}
	config_check_group(ld, group, path, "connections.*.moneybird");
	config_read_ints(ld, group, path, "connections.*.moneybird", connection);

	cfg_key_name(key, sizeof(key), path, "base_url");
	text = cfg_read_string(&ld->report, group, path, "base_url", &at);
	if (at == NULL)
		text = config_key_default("connections.*.moneybird.base_url");
	if (text != NULL) {
		if (!config_base_url_ok(text)) {
			config_problem(
			    ld, at,
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
		config_problem(ld, group,
		               "`%s` is missing; add administration_id = \"123456789\"; (see "
		               "`bookto-moneybird moneybird check`)",
		               key);
	} else if (config_setting_type(at) != CONFIG_TYPE_STRING) {
		config_problem(
		    ld, at, "`%s` must be a string of digits in double quotes, like \"123456789\"",
		    key);
	} else if (!cfg_all_digits(config_setting_get_string(at), 20)) {
		config_problem(ld, at, "`%s` must be 1 to 20 digits, like \"123456789\"", key);
	} else {
		connection->moneybird_administration_id =
		    config_strdup(ld, config_setting_get_string(at));
	}

	cfg_key_name(key, sizeof(key), path, "api_token");
	text = cfg_read_string(&ld->report, group, path, "api_token", &at);
	if (at == NULL)
		config_problem(ld, group,
		               "`%s` is missing; add api_token = \"env:MONEYBIRD_API_TOKEN\";",
		               key);
	else if (text != NULL)
		connection->moneybird_api_token = config_secret_resolve(ld, at, key, text);

	cfg_key_name(rate_path, sizeof(rate_path), path, "rate_limit");
	rate_limit = cfg_get_group(&ld->report, group, path, "rate_limit");
	if (rate_limit != NULL)
		config_read_group(ld, rate_limit, rate_path, "connections.*.moneybird.rate_limit",
		                  connection);
}

static void load_connection(struct loader *ld, const config_setting_t *list, int index,
                            struct connection_config *connections, const char *config_dir)
{
	const config_setting_t *group = config_setting_get_elem(list, (unsigned)index);
	struct connection_config *connection = &connections[index];
	const config_setting_t *at;
	const char *text;
	char prefix[CONFIG_KEY_MAX];
	char key[CONFIG_KEY_MAX];
	int other;

	snprintf(prefix, sizeof(prefix), "connections.[%d]", index);
	if (!config_setting_is_group(group)) {
		config_problem(ld, group, "`%s` must be a group; write { name = \"...\"; ... }",
		               prefix);
		return;
	}
	config_check_group(ld, group, prefix, "connections.*");

	cfg_key_name(key, sizeof(key), prefix, "name");
	text = cfg_read_string(&ld->report, group, prefix, "name", &at);
	if (at == NULL) {
		config_problem(ld, group, "`%s` is missing; add name = \"default\";", key);
	} else if (text != NULL && !connection_name_ok(text)) {
		config_problem(
		    ld, at,
		    "`%s` must be 1 to %d characters of a-z, 0-9, _ and - (it appears in URLs)",
		    key, CONFIG_NAME_MAX);
	} else if (text != NULL) {
		for (other = 0; other < index; other++) {
			const config_setting_t *other_name;

			if (strcmp(connections[other].name, text) != 0)
				continue;
			other_name = config_setting_get_member(
			    config_setting_get_elem(list, (unsigned)other), "name");
			config_problem(
			    ld, at,
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
		text = config_key_default("connections.*.mapping");
		at = group;
	}
	if (text != NULL)
		connection->mapping_path = mapping_resolve(ld, at, key, text, config_dir);

	cfg_key_name(key, sizeof(key), prefix, "time_zone");
	text = cfg_read_string(&ld->report, group, prefix, "time_zone", &at);
	if (at == NULL)
		text = config_key_default("connections.*.time_zone");
	if (text != NULL) {
		time_zone_check(ld, at != NULL ? at : group, key, text);
		connection->time_zone = config_strdup(ld, text);
	}

	load_bookto(ld, group, prefix, connection);
	load_moneybird(ld, group, prefix, connection);
}

void config_load_connections(struct loader *ld, const config_setting_t *root, struct config *config,
                             const char *config_dir)
{
	const config_setting_t *list = config_setting_get_member(root, "connections");
	int count;
	int i;

	if (list == NULL) {
		config_problem(
		    ld, root,
		    "`connections` is missing; add connections = ( { name = \"default\"; ... } );");
		return;
	}
	if (!config_setting_is_list(list)) {
		config_problem(
		    ld, list,
		    "`connections` must be a list of groups; write connections = ( { ... } );");
		return;
	}
	count = config_setting_length(list);
	if (count == 0) {
		config_problem(ld, list,
		               "`connections` is empty; configure at least one connection");
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
