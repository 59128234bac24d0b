/*
 * mapping_load: the file, its top-level keys and the readers the other
 * mapping_*.c loaders share (mapping_loader.h).
 */
#include "cfg_read.h"
#include "cfg_report.h"
#include "mapping_loader.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void *mapping_list_room(struct loader *ld, const config_setting_t *list, const char *name,
                        size_t size, int *count)
{
	void *room;

	*count = config_setting_length(list);
	if (*count > MAPPING_LIST_MAX)
		mapping_problem(ld, list, "`%s` has %d entries; at most %d are allowed", name,
		                *count, MAPPING_LIST_MAX);
	if (*count > MAPPING_LIST_MAX || *count == 0)
		return NULL;
	room = calloc((size_t)*count, size);
	if (room == NULL)
		ld->out_of_memory = true;
	return room;
}

/*
 * An optional Moneybird id: absent or "" leaves *out NULL; otherwise it must
 * be digits. `listing` names the place `moneybird check` shows the ids.
 */
void mapping_read_id(struct loader *ld, const config_setting_t *group, const char *prefix,
                     const char *name, const char *listing, char **out)
{
	const config_setting_t *at;
	const char *text = cfg_read_string(&ld->report, group, prefix, name, &at);
	char key[MAPPING_KEY_MAX];

	if (text == NULL || text[0] == '\0')
		return;
	if (!cfg_all_digits(text, MAPPING_ID_MAX_DIGITS)) {
		cfg_key_name(key, sizeof(key), prefix, name);
		mapping_problem(
		    ld, at,
		    "`%s` must be a Moneybird id of 1 to %d digits in double quotes (see the %s "
		    "listed by `bookto-moneybird moneybird check`), or \"\" for none",
		    key, MAPPING_ID_MAX_DIGITS, listing);
		return;
	}
	*out = mapping_strdup(ld, text);
}

/* Text that may not be empty and stays below a sane size. */
const char *mapping_read_name(struct loader *ld, const config_setting_t *group, const char *prefix,
                              const char *name, const config_setting_t **at)
{
	const char *text = cfg_read_string(&ld->report, group, prefix, name, at);
	char key[MAPPING_KEY_MAX];

	if (text == NULL)
		return NULL;
	cfg_key_name(key, sizeof(key), prefix, name);
	if (text[0] == '\0') {
		mapping_problem(
		    ld, *at, "`%s` is empty; write the name as Moneybird or bookto shows it", key);
		return NULL;
	}
	if (strlen(text) > MAPPING_NAME_MAX_BYTES) {
		mapping_problem(ld, *at, "`%s` is longer than %d bytes", key,
		                MAPPING_NAME_MAX_BYTES);
		return NULL;
	}
	return text;
}

/* price_basis, or the deprecated prices_are_incl_tax read onto it. */
static void load_price_basis(struct loader *ld, const config_setting_t *root,
                             struct mapping *mapping)
{
	const config_setting_t *at = NULL;
	const config_setting_t *old = config_setting_get_member(root, "prices_are_incl_tax");
	const char *text = cfg_read_string(&ld->report, root, "", "price_basis", &at);
	bool incl = false;

	mapping->price_basis = MAPPING_PRICE_AUTO;
	if (text != NULL && !mapping_price_basis_parse(text, &mapping->price_basis))
		mapping_problem(
		    ld, at, "`price_basis` must be \"auto\", \"incl\" or \"excl\", not \"%.40s\"",
		    text);
	if (old == NULL)
		return;
	if (at != NULL) {
		mapping_problem(
		    ld, old,
		    "`prices_are_incl_tax` is deprecated and `price_basis` is set too; remove "
		    "`prices_are_incl_tax`");
		return;
	}
	if (config_setting_type(old) != CONFIG_TYPE_BOOL) {
		mapping_problem(ld, old,
		                "`prices_are_incl_tax` must be true or false, without quotes");
		return;
	}
	cfg_read_bool(&ld->report, root, "", "prices_are_incl_tax", &incl);
	mapping->price_basis = incl ? MAPPING_PRICE_INCL : MAPPING_PRICE_EXCL;
	mapping->deprecated_incl_tax_line = (int)config_setting_source_line(old);
}

static void load_top_level(struct loader *ld, const config_setting_t *root, struct mapping *mapping)
{
	static const char *const contact_keys[] = {"search_existing", NULL};
	const config_setting_t *at;
	const config_setting_t *contacts;
	const char *text;

	load_price_basis(ld, root, mapping);

	mapping->send_method = MAPPING_SEND_MANUAL;
	text = cfg_read_string(&ld->report, root, "", "send_method", &at);
	if (text != NULL)
		mapping_parse_send_method(ld, at, "send_method", text, &mapping->send_method);

	mapping->test_orders = MAPPING_TEST_ORDERS_SKIP;
	text = cfg_read_string(&ld->report, root, "", "test_orders", &at);
	if (text != NULL) {
		if (strcmp(text, "skip") == 0)
			mapping->test_orders = MAPPING_TEST_ORDERS_SKIP;
		else if (strcmp(text, "sync") == 0)
			mapping->test_orders = MAPPING_TEST_ORDERS_SYNC;
		else
			mapping_problem(ld, at,
			                "`test_orders` must be \"skip\" or \"sync\", not \"%.40s\"",
			                text);
	}

	mapping->search_existing_contacts = true;
	contacts = cfg_get_group(&ld->report, root, "", "contacts");
	if (contacts != NULL) {
		cfg_check_keys(&ld->report, contacts, "contacts", contact_keys);
		cfg_read_bool(&ld->report, contacts, "contacts", "search_existing",
		              &mapping->search_existing_contacts);
	}
}

int mapping_load(const char *path, struct mapping **out, FILE *problems, struct cn_error *err)
{
	static const char *const top_keys[] = {
	    "vat_treatments",  "price_basis", "prices_are_incl_tax",
	    "ledger_accounts", "invoice",     "send_method",
	    "delivery_rules",  "payment",     "test_orders",
	    "contacts",        NULL};
	struct loader ld = {.report = {.path = path}};
	struct mapping *mapping = NULL;
	config_t tree;
	const config_setting_t *root;
	FILE *probe;
	int status = CN_INVALID;
	bool tree_ready = false;

	*out = NULL;
	/* libconfig only says "file I/O error"; open it first to name the real cause. */
	probe = fopen(path, "r");
	if (probe == NULL) {
		error_set(err,
		          "%s: cannot read the mapping file (%s); fix the connection's `mapping`",
		          path, strerror(errno));
		if (problems != NULL)
			fprintf(problems, "%s\n", err != NULL ? err->message : path);
		goto out;
	}
	fclose(probe);

	config_init(&tree);
	tree_ready = true;
	if (config_read_file(&tree, path) != CONFIG_TRUE) {
		cfg_report_read_error(&ld.report, &tree, path, (unsigned)config_error_line(&tree));
		goto out;
	}

	mapping = calloc(1, sizeof(*mapping));
	if (mapping == NULL) {
		ld.out_of_memory = true;
		goto out;
	}
	mapping->path = mapping_strdup(&ld, path);
	root = config_root_setting(&tree);
	cfg_check_keys(&ld.report, root, "", top_keys);
	mapping_load_vat_treatments(&ld, root, mapping);
	load_top_level(&ld, root, mapping);
	mapping_load_delivery_rules(&ld, root, mapping);
	mapping_load_ledger_accounts(&ld, root, mapping);
	mapping_load_invoice(&ld, root, mapping);
	mapping_load_payment(&ld, root, mapping);

	if (ld.out_of_memory || ld.report.count > 0)
		goto out;
	*out = mapping;
	mapping = NULL;
	status = CN_OK;
out:
	if (ld.out_of_memory || ld.report.out_of_memory) {
		status = CN_ERR;
		error_set(err, "%s: out of memory while loading the mapping", path);
	} else {
		cfg_report_flush(&ld.report, problems, err);
	}
	cfg_report_free(&ld.report);
	if (tree_ready)
		config_destroy(&tree);
	mapping_free(mapping);
	return status;
}
