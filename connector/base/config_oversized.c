/*
 * libconfig 1.5 wraps integer literals beyond 32 bits without an error (so
 * 4294968320 reads as 1024). This pass over the raw text of each file the
 * config came from finds such literals, so cfg_read_int reports them as
 * written instead of accepting the wrapped value.
 */
#include "config_loader.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FILE_MAX_BYTES (1024 * 1024)

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

const char *config_wrapped_text(void *ctx, const config_setting_t *member)
{
	struct loader *ld = ctx;

	oversized_scan_source(ld, member);
	return oversized_text(ld, member);
}
