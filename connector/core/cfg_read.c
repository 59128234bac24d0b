/* Typed readers of one libconfig key for both loaders (see cfg_read.h). */
#include "cfg_read.h"

#include <string.h>

/* Member `name` of group; NULL when either is absent. */
static const config_setting_t *member_of(const config_setting_t *group, const char *name)
{
	return group != NULL ? config_setting_get_member(group, name) : NULL;
}

void cfg_read_int(struct cfg_report *report, const config_setting_t *group, const char *prefix,
                  const char *name, long long min, long long max, long long *value,
                  cfg_written_fn written, void *ctx)
{
	const config_setting_t *member;
	const char *as_written;
	long long number;
	char key[CFG_KEY_MAX];

	member = member_of(group, name);
	if (member == NULL)
		return;
	cfg_key_name(key, sizeof(key), prefix, name);
	if (config_setting_type(member) != CONFIG_TYPE_INT &&
	    config_setting_type(member) != CONFIG_TYPE_INT64) {
		cfg_report_at(report, member,
		              "`%s` must be a whole number from %lld to %lld, without quotes", key,
		              min, max);
		return;
	}
	as_written = written != NULL ? written(ctx, member) : NULL;
	if (as_written != NULL) {
		cfg_report_at(report, member, "`%s` must be from %lld to %lld, not %s", key, min,
		              max, as_written);
		return;
	}
	number = config_setting_get_int64(member);
	if (number < min || number > max) {
		cfg_report_at(report, member, "`%s` must be from %lld to %lld, not %lld", key, min,
		              max, number);
		return;
	}
	*value = number;
}

void cfg_read_bool(struct cfg_report *report, const config_setting_t *group, const char *prefix,
                   const char *name, bool *value)
{
	const config_setting_t *member;
	char key[CFG_KEY_MAX];

	member = member_of(group, name);
	if (member == NULL)
		return;
	if (config_setting_type(member) != CONFIG_TYPE_BOOL) {
		cfg_key_name(key, sizeof(key), prefix, name);
		cfg_report_at(report, member, "`%s` must be true or false, without quotes", key);
		return;
	}
	*value = config_setting_get_bool(member) != 0;
}

const char *cfg_read_string(struct cfg_report *report, const config_setting_t *group,
                            const char *prefix, const char *name, const config_setting_t **at)
{
	const config_setting_t *member;
	char key[CFG_KEY_MAX];

	if (at != NULL)
		*at = NULL;
	member = member_of(group, name);
	if (member == NULL)
		return NULL;
	if (at != NULL)
		*at = member;
	if (config_setting_type(member) != CONFIG_TYPE_STRING) {
		cfg_key_name(key, sizeof(key), prefix, name);
		cfg_report_at(report, member, "`%s` must be a string in double quotes", key);
		return NULL;
	}
	return config_setting_get_string(member);
}

bool cfg_all_digits(const char *text, size_t max_length)
{
	size_t length = strlen(text);
	size_t i;

	if (length == 0 || length > max_length)
		return false;
	for (i = 0; i < length; i++)
		if (text[i] < '0' || text[i] > '9')
			return false;
	return true;
}
