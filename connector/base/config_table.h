/*
 * Every configuration key as one row of a table (as PgBouncer's CF_ABS rows):
 * its dotted path, type, default, range, where it lands in struct config or
 * struct connection_config, and a one-line doc. The loader takes the allowed
 * keys of each group, the integers' defaults and ranges, and the string
 * defaults from here; tests/unit/test_config_documented.c checks that
 * config.example.cfg documents exactly these keys.
 *
 * Adding a key: append one row to config_keys[] in config_table.c (an int
 * with a field is read by the generic loader; any other type needs its
 * reading in config_load.c or config_connections.c), add the field to
 * config.h, and document the key in config.example.cfg.
 */
#ifndef BM_CONFIG_TABLE_H
#define BM_CONFIG_TABLE_H

#include <stddef.h>
#include <stdio.h>

enum config_type {
	CONFIG_GROUP,   /* a { ... } group of keys */
	CONFIG_LIST,    /* a ( { ... }, ... ) list of groups */
	CONFIG_INT,     /* an integer in [min, max] */
	CONFIG_STRING,  /* a string, checked by its own reader */
	CONFIG_SECRET,  /* a literal, "env:NAME" or "file:/path" secret */
	CONFIG_SECRETS, /* an array of such secrets */
	CONFIG_BOOL,    /* true or false, read by its group's reader */
};

/* Row flags. */
#define CONFIG_REQUIRED 1u      /* no default: the key must be written */
#define CONFIG_TEST_ONLY 2u     /* for the test suite only (the `testing` group) */
#define CONFIG_IN_CONNECTION 4u /* offset is into struct connection_config */

/* offset of a key with no field of its own (read by its own reader). */
#define CONFIG_NO_FIELD ((size_t)-1)

struct config_key {
	const char *path; /* "http.max_body_bytes"; "connections.*." for each connection */
	enum config_type type;
	const char *default_text; /* as config.example.cfg writes it; NULL = none */
	long long min, max;       /* CONFIG_INT only */
	size_t offset;            /* where a CONFIG_INT lands, or CONFIG_NO_FIELD */
	size_t size;              /* sizeof that field: int or long */
	unsigned flags;
	const char *doc;
};

extern const struct config_key config_keys[];
extern const size_t config_key_count;

/* The row of `path` (e.g. "spool.dir", "connections.*.time_zone"), or NULL. */
const struct config_key *config_key_find(const char *path);

/* The default text of `path`; the row must exist and have one. */
const char *config_key_default(const char *path);

/* The integer default of CONFIG_INT row `key`. */
long long config_key_int_default(const struct config_key *key);

/* Stores value into the int or long field CONFIG_INT row `key` describes in base. */
void config_key_store_int(const struct config_key *key, void *base, long long value);

/*
 * The leaf names of the keys directly inside group `group_path` ("" = the
 * top level, "connections.*" = one connection), NULL-terminated, into names
 * (at most max - 1). Returns how many.
 */
size_t config_key_children(const char *group_path, const char **names, size_t max);

/* The table as "path type default range flags doc" lines, for `config keys`. */
void config_keys_print(FILE *out);

#endif
