#include "cli_audit.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "store.h"
#include "store_audit.h"

static const char audit_usage[] =
    "Usage: bookto-moneybird audit head\n"
    "       bookto-moneybird audit verify [--expect ID:HASH[,ID:HASH...]]\n";

/* One head the operator kept: "ID:HASH" (as `audit head` prints it) or HASH. */
struct kept_head {
	int64_t id; /* 0 = any row with the hash */
	char hash[STORE_AUDIT_HASH_HEX];
	bool seen;    /* a row with the kept id (or, without one, the hash) */
	bool matches; /* ... and it carries the kept hash */
	int chain;    /* the chain that row is in now */
};

/* What --expect named: one head per chain `audit head` printed, or the empty
 * log's head "0:00" (count 0). */
struct kept_heads {
	bool given;
	int count;
	struct kept_head head[STORE_AUDIT_CHAIN_COUNT];
};

/* What the walk found. */
struct chain_walk {
	int64_t rows;
	int64_t broken_at;                                    /* 0 = intact */
	int64_t last_id;                                      /* of the whole log */
	int chains;                                           /* chains in use */
	struct store_audit_head now[STORE_AUDIT_CHAIN_COUNT]; /* each chain's newest row */
};

/* One "ID:HASH" or "HASH" of len characters (not NUL-terminated). */
static bool parse_one_head(const char *text, size_t len, struct kept_head *out)
{
	const char *colon = memchr(text, ':', len);
	const char *hash = text;
	size_t hash_len = len;

	memset(out, 0, sizeof(*out));
	if (colon != NULL) {
		int64_t id = 0;

		if (colon == text || colon - text > 18)
			return false;
		for (const char *c = text; c < colon; c++) {
			if (!isdigit((unsigned char)*c))
				return false;
			id = id * 10 + (*c - '0');
		}
		out->id = id; /* "0:HASH": any row with that hash */
		hash = colon + 1;
		hash_len = len - (size_t)(colon + 1 - text);
	}
	if (hash_len != 64)
		return false;
	for (size_t i = 0; i < hash_len; i++) {
		if (!isxdigit((unsigned char)hash[i]))
			return false;
		out->hash[i] = (char)tolower((unsigned char)hash[i]);
	}
	out->hash[hash_len] = '\0';
	return true;
}

/* "ID:HASH[,ID:HASH...]", a bare HASH, or the empty log's "0:00". Returns
 * false on a malformed list; *too_many says it had more entries than chains. */
static bool parse_heads(const char *text, struct kept_heads *out, bool *too_many)
{
	int entries = 1;

	memset(out, 0, sizeof(*out));
	*too_many = false;
	out->given = true;
	if (strcmp(text, "0:00") == 0)
		return true;
	for (const char *c = text; *c != '\0'; c++)
		entries += *c == ',';
	if (entries > STORE_AUDIT_CHAIN_COUNT) {
		*too_many = true;
		return false;
	}
	for (const char *entry = text;; entry++) {
		const char *comma = strchr(entry, ',');
		size_t len = comma != NULL ? (size_t)(comma - entry) : strlen(entry);

		if (!parse_one_head(entry, len, &out->head[out->count]))
			return false;
		out->count++;
		if (comma == NULL)
			return true;
		entry = comma;
	}
}

/* Marks the kept heads that link is. */
static void match_kept(struct kept_heads *kept, const struct store_audit_link *link)
{
	for (int k = 0; k < kept->count; k++) {
		struct kept_head *head = &kept->head[k];

		if (head->id > 0 ? link->id != head->id : strcmp(link->row_hash, head->hash) != 0)
			continue;
		head->seen = true;
		head->matches = strcmp(link->row_hash, head->hash) == 0;
		head->chain = link->chain;
	}
}

/* Checks one page; false at the first broken row (walk->broken_at). Within
 * a chain, a row's prev_hash is the previous row's row_hash ("00" for the
 * chain's first); a version-1 digest after a version-2 one (in the whole
 * log) is a downgrade. */
static bool walk_page(const struct store_audit_link *page, int count, struct chain_walk *walk,
                      struct kept_heads *kept, bool *seen_v2)
{
	for (int i = 0; i < count; i++) {
		const struct store_audit_link *link = &page[i];
		struct store_audit_head *chain;

		if (link->chain < 0 || link->chain >= STORE_AUDIT_CHAIN_COUNT) {
			walk->broken_at = link->id;
			return false;
		}
		chain = &walk->now[link->chain];
		if (strcmp(link->prev_hash, chain->hash) != 0 || !link->digest_ok ||
		    (*seen_v2 && link->digest_version < 2)) {
			walk->broken_at = link->id;
			return false;
		}
		*seen_v2 = *seen_v2 || link->digest_version >= 2;
		match_kept(kept, link);
		walk->chains += chain->id == 0;
		chain->id = link->id;
		snprintf(chain->hash, sizeof(chain->hash), "%s", link->row_hash);
		walk->rows++;
		walk->last_id = link->id;
	}
	return true;
}

/* Walks the log in pages, in one snapshot; stops at the first broken row. */
static int walk_chains(PGconn *conn, struct kept_heads *kept, struct chain_walk *walk,
                       struct cn_error *err)
{
	struct store_audit_link *page = calloc(STORE_AUDIT_PAGE, sizeof(*page));
	bool seen_v2 = false;
	int count = 0;
	int rc;

	memset(walk, 0, sizeof(*walk));
	for (int c = 0; c < STORE_AUDIT_CHAIN_COUNT; c++) {
		walk->now[c].chain = c;
		snprintf(walk->now[c].hash, sizeof(walk->now[c].hash), "00"); /* genesis */
	}
	if (page == NULL) {
		error_set(err, "out of memory");
		return CN_ERR;
	}
	rc = store_audit_walk_begin(conn, err);
	while (rc == CN_OK) {
		rc = store_audit_page(conn, walk->last_id, page, &count, err);
		if (rc != CN_OK || !walk_page(page, count, walk, kept, &seen_v2) ||
		    count < STORE_AUDIT_PAGE)
			break;
	}
	store_rollback(conn);
	free(page);
	return rc;
}

/* "ID:HASH,ID:HASH" of the non-empty chains in chain order, or "0:00". */
static void print_heads(const struct store_audit_head *heads, int count)
{
	if (count == 0)
		printf("0:00");
	for (int i = 0; i < count; i++)
		printf("%s%" PRId64 ":%s", i > 0 ? "," : "", heads[i].id, heads[i].hash);
}

/* Prints why each kept head that is not as kept fails; true if all hold. */
static bool kept_heads_hold(const struct kept_heads *kept, const struct chain_walk *walk)
{
	bool hold = true;

	for (int k = 0; k < kept->count; k++) {
		const struct kept_head *head = &kept->head[k];

		if (head->seen && head->matches)
			continue;
		hold = false;
		if (head->seen)
			printf("Row %" PRId64
			       " of the audit log (chain %d) no longer has the hash you "
			       "kept: its chain up to that row was rewritten and its hashes "
			       "recomputed.\n",
			       head->id, head->chain);
		else if (head->id == 0)
			printf("The head you kept (hash %s) is not in the audit log: the log was "
			       "rewritten and its hashes recomputed.\n",
			       head->hash);
		else if (head->id > walk->last_id)
			printf("The audit log ends at row %" PRId64
			       ", before the head you kept (row "
			       "%" PRId64 "): rows were removed from its end.\n",
			       walk->last_id, head->id);
		else
			printf(
			    "Row %" PRId64 ", a head you kept, is no longer in the audit log: rows "
			    "were removed from the end of its chain, or the chain was rewritten.\n",
			    head->id);
	}
	return hold;
}

static int audit_verify(PGconn *conn, struct kept_heads *kept)
{
	struct cn_error err = {""};
	struct store_audit_head heads[STORE_AUDIT_CHAIN_COUNT];
	struct chain_walk walk;
	int count = 0;

	if (walk_chains(conn, kept, &walk, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("cannot read the audit log: %s", err.message);
	}
	if (walk.broken_at != 0) {
		printf("The audit log's hash chain is broken at row %" PRId64
		       ": that row or the one "
		       "before it in its chain was changed, removed or inserted out of order.\n",
		       walk.broken_at);
		return CLI_EXIT_RUNTIME;
	}
	if (kept->given && !kept_heads_hold(kept, &walk))
		return CLI_EXIT_RUNTIME;
	printf("The audit log's hash chains are intact (%" PRId64 " rows): %d chain%s in use.\n",
	       walk.rows, walk.chains, walk.chains == 1 ? "" : "s");
	if (!kept->given)
		return CLI_EXIT_OK;
	for (int c = 0; c < STORE_AUDIT_CHAIN_COUNT; c++)
		if (walk.now[c].id != 0)
			heads[count++] = walk.now[c];
	printf("It still holds %s you kept; its head%s now ",
	       kept->count <= 1 ? "the head" : "the heads", count <= 1 ? " is" : "s are");
	print_heads(heads, count);
	printf(".\n");
	return CLI_EXIT_OK;
}

static int audit_head(PGconn *conn)
{
	struct cn_error err = {""};
	struct store_audit_head heads[STORE_AUDIT_CHAIN_COUNT];
	int count = 0;

	if (store_audit_heads(conn, heads, &count, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("%s", err.message);
	}
	print_heads(heads, count);
	printf("\n");
	return CLI_EXIT_OK;
}

int cli_audit(const struct config *config, int argc, char **argv)
{
	struct kept_heads kept;
	struct cn_error err = {""};
	PGconn *conn = NULL;
	bool head;
	int rc;

	memset(&kept, 0, sizeof(kept));
	if (argc < 2 || (strcmp(argv[1], "head") != 0 && strcmp(argv[1], "verify") != 0))
		return cli_usage(audit_usage, "the audit command takes head or verify");
	head = strcmp(argv[1], "head") == 0;
	for (int i = 2; i < argc; i++) {
		if (!head && strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
			bool too_many = false;
			bool parsed = parse_heads(argv[i + 1], &kept, &too_many);

			if (too_many)
				return cli_usage(audit_usage,
				                 "--expect takes at most %d heads (one per chain), "
				                 "as `audit head` printed them",
				                 STORE_AUDIT_CHAIN_COUNT);
			if (!parsed)
				return cli_usage(
				    audit_usage,
				    "--expect takes the ID:HASH list that `audit head` printed "
				    "(ID:HASH, comma-separated), not \"%.80s\"",
				    argv[i + 1]);
			i++;
		} else {
			return cli_usage(audit_usage, "unexpected argument %.80s", argv[i]);
		}
	}
	if (store_connect(config->database_conninfo, &conn, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("%s (check database.conninfo)", err.message);
	}
	rc = head ? audit_head(conn) : audit_verify(conn, &kept);
	PQfinish(conn);
	return rc;
}
