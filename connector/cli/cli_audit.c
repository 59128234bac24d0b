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

static const char audit_usage[] = "Usage: bookto-moneybird audit head\n"
                                  "       bookto-moneybird audit verify [--expect ID:HASH]\n";

/* A head the operator kept: "ID:HASH" (as `audit head` prints it) or HASH. */
struct kept_head {
	bool given;
	int64_t id; /* 0 = any row */
	char hash[STORE_AUDIT_HASH_HEX];
};

/* What the walk found. */
struct chain_walk {
	int64_t rows;
	int64_t broken_at; /* 0 = intact */
	int64_t last_id;
	char last_hash[STORE_AUDIT_HASH_HEX];
	bool head_seen;    /* a row with the kept id (or, without one, the hash) */
	bool head_matches; /* ... and it carries the kept hash */
};

static bool parse_head(const char *text, struct kept_head *out)
{
	const char *colon = strchr(text, ':');
	const char *hash = text;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (colon != NULL) {
		char *end = NULL;
		long long id;

		if (colon == text || !isdigit((unsigned char)text[0]))
			return false;
		id = strtoll(text, &end, 10);
		if (end != colon || id < 0)
			return false;
		out->id = id;
		hash = colon + 1;
	}
	len = strlen(hash);
	if (len != 64 && !(len == 2 && out->id == 0 && colon != NULL))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)hash[i]))
			return false;
		out->hash[i] = (char)tolower((unsigned char)hash[i]);
	}
	out->hash[len] = '\0';
	out->given = true;
	return true;
}

/* Walks the chain in pages; stops at the first broken row. */
static int walk_chain(PGconn *conn, const struct kept_head *kept, struct chain_walk *walk,
                      struct cn_error *err)
{
	struct store_audit_link *page = calloc(STORE_AUDIT_PAGE, sizeof(*page));
	char previous[STORE_AUDIT_HASH_HEX] = "00"; /* the genesis hash */
	bool seen_v2 = false;
	int count = 0;
	int rc = CN_OK;

	memset(walk, 0, sizeof(*walk));
	snprintf(walk->last_hash, sizeof(walk->last_hash), "00");
	if (page == NULL) {
		error_set(err, "out of memory");
		return CN_ERR;
	}
	if (kept->given && kept->id == 0 && strcmp(kept->hash, "00") == 0)
		walk->head_seen = walk->head_matches = true; /* the empty log's head */
	do {
		rc = store_audit_page(conn, walk->last_id, page, &count, err);
		if (rc != CN_OK)
			break;
		for (int i = 0; i < count; i++) {
			const struct store_audit_link *link = &page[i];

			/* A version-1 digest after a version-2 one is a downgrade. */
			if (strcmp(link->prev_hash, previous) != 0 || !link->digest_ok ||
			    (seen_v2 && link->digest_version < 2)) {
				walk->broken_at = link->id;
				goto out;
			}
			seen_v2 = seen_v2 || link->digest_version >= 2;
			if (kept->given && kept->id > 0 && link->id == kept->id) {
				walk->head_seen = true;
				walk->head_matches = strcmp(link->row_hash, kept->hash) == 0;
			} else if (kept->given && kept->id == 0 &&
			           strcmp(link->row_hash, kept->hash) == 0) {
				walk->head_seen = walk->head_matches = true;
			}
			snprintf(previous, sizeof(previous), "%s", link->row_hash);
			walk->rows++;
			walk->last_id = link->id;
			snprintf(walk->last_hash, sizeof(walk->last_hash), "%s", link->row_hash);
		}
	} while (count == STORE_AUDIT_PAGE);
out:
	free(page);
	return rc;
}

static int audit_verify(PGconn *conn, const struct kept_head *kept)
{
	struct cn_error err = {""};
	struct chain_walk walk;

	if (walk_chain(conn, kept, &walk, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("cannot read the audit log: %s", err.message);
	}
	if (walk.broken_at != 0) {
		printf("The audit log's hash chain is broken at row %" PRId64
		       ": that row or the one "
		       "before it was changed, removed or inserted out of order.\n",
		       walk.broken_at);
		return CLI_EXIT_RUNTIME;
	}
	if (kept->given && !walk.head_seen) {
		if (kept->id > walk.last_id)
			printf("The audit log ends at row %" PRId64
			       ", before the head you kept (row "
			       "%" PRId64 "): rows were removed from its end.\n",
			       walk.last_id, kept->id);
		else
			printf("The head you kept (%s%.*s) is not in the audit log: the log was "
			       "rewritten and its hashes recomputed.\n",
			       kept->id > 0 ? "row " : "hash ", kept->id > 0 ? 20 : 64,
			       kept->id > 0 ? "" : kept->hash);
		return CLI_EXIT_RUNTIME;
	}
	if (kept->given && !walk.head_matches) {
		printf("Row %" PRId64
		       " of the audit log no longer has the hash you kept: the log up "
		       "to that row was rewritten and its hashes recomputed.\n",
		       kept->id);
		return CLI_EXIT_RUNTIME;
	}
	printf("The audit log's hash chain is intact (%" PRId64 " rows).\n", walk.rows);
	if (kept->given)
		printf("It still holds the head you kept; its head is now %" PRId64 ":%s.\n",
		       walk.last_id, walk.last_hash);
	return CLI_EXIT_OK;
}

static int audit_head(PGconn *conn)
{
	struct cn_error err = {""};
	char hash[STORE_AUDIT_HASH_HEX];
	int64_t id = 0;

	if (store_audit_head(conn, &id, hash, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("%s", err.message);
	}
	printf("%" PRId64 ":%s\n", id, hash);
	return CLI_EXIT_OK;
}

int cli_audit(const struct config *config, int argc, char **argv)
{
	struct kept_head kept;
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
			if (!parse_head(argv[i + 1], &kept))
				return cli_usage(
				    audit_usage,
				    "--expect takes the ID:HASH that `audit head` printed, "
				    "not \"%.80s\"",
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
