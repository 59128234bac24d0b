#include "cfg_report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void cfg_report_vline(struct cfg_report *report, const char *file, unsigned line,
                      unsigned sort_line, const char *fmt, va_list ap)
{
	struct cfg_problem *entry;
	char sentence[400];

	report->count++;
	if (report->entry_count == CFG_PROBLEMS_MAX)
		return;
	if (report->entries == NULL) {
		report->entries = calloc(CFG_PROBLEMS_MAX, sizeof(*report->entries));
		if (report->entries == NULL) {
			report->out_of_memory = true;
			return;
		}
	}
	entry = &report->entries[report->entry_count];
	entry->sort_line = sort_line;
	entry->sequence = (unsigned)report->entry_count;
	report->entry_count++;
	vsnprintf(sentence, sizeof(sentence), fmt, ap);
	snprintf(entry->message, sizeof(entry->message), "%s:%u: %s", file, line, sentence);
}

void cfg_report_line(struct cfg_report *report, const char *file, unsigned line, unsigned sort_line,
                     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_report_vline(report, file, line, sort_line, fmt, ap);
	va_end(ap);
}

unsigned cfg_setting_line(const config_setting_t *at)
{
	if (at == NULL || config_setting_source_line(at) == 0)
		return 1;
	return config_setting_source_line(at);
}

const char *cfg_setting_source(const struct cfg_report *report, const config_setting_t *at)
{
	if (at == NULL || config_setting_source_file(at) == NULL)
		return report->path;
	return config_setting_source_file(at);
}

void cfg_source_path(const struct cfg_report *report, const char *source, char *buffer, size_t size)
{
	if (strcmp(source, report->path) == 0 || source[0] == '/' || report->config_dir == NULL ||
	    strcmp(report->config_dir, ".") == 0)
		snprintf(buffer, size, "%s", source);
	else
		snprintf(buffer, size, "%s/%s", report->config_dir, source);
}

void cfg_report_vat(struct cfg_report *report, const config_setting_t *at, const char *fmt,
                    va_list ap)
{
	char file[1024];

	cfg_source_path(report, cfg_setting_source(report, at), file, sizeof(file));
	cfg_report_vline(report, file, cfg_setting_line(at), cfg_setting_line(at), fmt, ap);
}

void cfg_report_at(struct cfg_report *report, const config_setting_t *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_report_vat(report, at, fmt, ap);
	va_end(ap);
}

static int problem_compare(const void *left, const void *right)
{
	const struct cfg_problem *a = left;
	const struct cfg_problem *b = right;

	if (a->sort_line != b->sort_line)
		return a->sort_line < b->sort_line ? -1 : 1;
	return a->sequence < b->sequence ? -1 : (a->sequence > b->sequence ? 1 : 0);
}

void cfg_report_flush(struct cfg_report *report, FILE *out, struct cn_error *err)
{
	if (report->entry_count == 0)
		return;
	qsort(report->entries, report->entry_count, sizeof(*report->entries), problem_compare);
	error_set(err, "%s", report->entries[0].message);
	for (size_t i = 0; out != NULL && i < report->entry_count; i++)
		fprintf(out, "%s\n", report->entries[i].message);
	if (out != NULL && report->count > report->entry_count)
		fprintf(out, "%s: %u more problems not shown; fix the ones above first\n",
		        report->path, report->count - (unsigned)report->entry_count);
}

void cfg_report_free(struct cfg_report *report)
{
	free(report->entries);
	report->entries = NULL;
	report->entry_count = 0;
}

void cfg_key_name(char *buffer, size_t size, const char *prefix, const char *name)
{
	if (prefix == NULL || prefix[0] == '\0')
		snprintf(buffer, size, "%s", name);
	else
		snprintf(buffer, size, "%s.%s", prefix, name);
}

/* Levenshtein distance of two short key names, capped at CFG_KEY_MAX. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t row[CFG_KEY_MAX + 1];
	size_t a_length = strnlen(a, CFG_KEY_MAX);
	size_t b_length = strnlen(b, CFG_KEY_MAX);

	for (size_t j = 0; j <= b_length; j++)
		row[j] = j;
	for (size_t i = 1; i <= a_length; i++) {
		size_t diagonal = row[0];

		row[0] = i;
		for (size_t j = 1; j <= b_length; j++) {
			size_t above = row[j];
			size_t best = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (above + 1 < best)
				best = above + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diagonal = above;
		}
	}
	return row[b_length];
}

/* One unknown key: a suggestion when a known key is a typo away, else the list. */
static void report_unknown_key(struct cfg_report *report, const config_setting_t *member,
                               const char *prefix, const char *name, const char *const *allowed)
{
	const char *suggestion = NULL;
	size_t best = SIZE_MAX;
	char key[CFG_KEY_MAX];
	char list[400] = "";
	size_t used = 0;

	for (size_t k = 0; allowed[k] != NULL; k++) {
		size_t distance = edit_distance(name, allowed[k]);

		if (distance < best) {
			best = distance;
			suggestion = allowed[k];
		}
	}
	cfg_key_name(key, sizeof(key), prefix, name);
	if (suggestion != NULL && best <= 2 && best < strlen(suggestion)) {
		char suggested[CFG_KEY_MAX];

		cfg_key_name(suggested, sizeof(suggested), prefix, suggestion);
		cfg_report_at(report, member, "unknown key `%s` (did you mean `%s`?)", key,
		              suggested);
		return;
	}
	for (size_t k = 0; allowed[k] != NULL && used < sizeof(list); k++) {
		int written = snprintf(list + used, sizeof(list) - used, "%s%s", k == 0 ? "" : ", ",
		                       allowed[k]);

		if (written < 0)
			break;
		used += (size_t)written;
	}
	cfg_report_at(report, member, "unknown key `%s`; remove it (allowed here: %s)", key, list);
}

void cfg_check_keys(struct cfg_report *report, const config_setting_t *group, const char *prefix,
                    const char *const *allowed)
{
	int count = config_setting_length(group);

	for (int i = 0; i < count; i++) {
		const config_setting_t *member = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(member);
		bool known = false;

		if (name == NULL)
			continue;
		for (size_t k = 0; allowed[k] != NULL && !known; k++)
			known = strcmp(name, allowed[k]) == 0;
		if (!known)
			report_unknown_key(report, member, prefix, name, allowed);
	}
}

const config_setting_t *cfg_get_group(struct cfg_report *report, const config_setting_t *parent,
                                      const char *prefix, const char *name)
{
	const config_setting_t *member;
	char key[CFG_KEY_MAX];

	if (parent == NULL)
		return NULL;
	member = config_setting_get_member(parent, name);
	if (member == NULL)
		return NULL;
	if (!config_setting_is_group(member)) {
		cfg_key_name(key, sizeof(key), prefix, name);
		cfg_report_at(report, member, "`%s` must be a group; write %s = { ... };", key,
		              name);
		return NULL;
	}
	return member;
}

void cfg_report_read_error(struct cfg_report *report, const config_t *tree, const char *path,
                           unsigned sort_line)
{
	const char *file = config_error_file(tree);
	const char *text = config_error_text(tree);

	cfg_report_line(report, file != NULL ? file : path, (unsigned)config_error_line(tree),
	                sort_line, "%s%s", text != NULL ? text : "cannot be parsed",
	                text != NULL && strcmp(text, "syntax error") == 0
	                    ? " (check this line and the end of the one before it: a "
	                      "missing `;`, `=`, quote or bracket)"
	                    : "");
}
