/*
 * The transport under the Moneybird client's operations (mb_transport.c):
 * one request through libcurl with the budget hooks, classification of the
 * outcome, and the list/one/write helpers every operation file
 * (mb_contacts.c, mb_invoices.c, mb_reference.c) builds on. Not for use
 * outside moneybird/.
 */
#ifndef BM_MB_TRANSPORT_H
#define BM_MB_TRANSPORT_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "dynbuf.h"
#include "mb_client.h"
#include "mb_json.h"

#define QUERY_MAX 2048
#define PER_PAGE 100 /* the most Moneybird lists on a page */

struct response {
	struct dynbuf body; /* capped at options->max_response_bytes */
	bool too_large;
};

struct headers_seen {
	char retry_after[48];
	char ratelimit_reset[48];
	bool link_next;
};

struct mb_client {
	CURL *curl;
	char *base_url; /* without a trailing slash */
	char *administration_id;
	struct curl_slist *headers_get;
	struct curl_slist *headers_body;
	long connect_timeout_ms;
	long timeout_ms;
	long stall_seconds;
	struct response response;
	struct headers_seen seen;
	struct mb_client_hooks hooks;
	struct mb_call last;
	char curl_error[CURL_ERROR_SIZE];
};

/* One HTTP exchange as the operations describe it. */
struct request {
	const char *endpoint; /* static template for metrics and messages */
	const char *resource; /* prefix of error sentences: "contact", ... */
	const char *method;
	const char *path;  /* after the administration id, without ".json" */
	bool global;       /* path directly under base_url (administrations) */
	const char *query; /* already escaped, or NULL */
	const char *body;  /* JSON, or NULL */
	bool is_write;     /* may change state: decides unknown vs transient */
};

typedef int (*item_parser)(const cJSON *obj, void *out, struct cn_error *err);

/* A typed parser as an item_parser. */
#define PARSER_ADAPTER(name, type, fn)                                                             \
	static int name(const cJSON *obj, void *out, struct cn_error *err)                         \
	{                                                                                          \
		return fn(obj, (type *)out, err);                                                  \
	}

/* Sends one request (through the budget hooks) and classifies the answer;
 * *root (may be NULL) gets the parsed JSON body of a success. */
enum mb_outcome mb_transport_perform(struct mb_client *client, const struct request *req,
                                     cJSON **root, struct cn_error *err);
/* The answer did not have the expected shape (unknown for a write). */
enum mb_outcome mb_transport_bad_shape(struct mb_client *client, const struct request *req,
                                       struct cn_error *err);
/* Refuses a call without sending it (MB_VALIDATION, message in err). */
enum mb_outcome mb_transport_refuse_locally(struct mb_client *client, const char *endpoint,
                                            struct cn_error *err, const char *message);
/* GETs every page of a list (or the one answer when paginate is false). */
enum mb_outcome mb_transport_fetch_list(struct mb_client *client, struct request *req,
                                        const char *base_query, bool paginate, item_parser parse,
                                        size_t item_size, void **out, size_t *count,
                                        struct cn_error *err);
/* The POST .../synchronization read of a list of ids (req->body is set
 * here); a body that cannot be built is MB_VALIDATION without a call. */
enum mb_outcome mb_transport_sync_fetch(struct mb_client *client, struct request *req,
                                        const char *const *ids, size_t id_count, item_parser parse,
                                        size_t item_size, void **out, size_t *count,
                                        struct cn_error *err);
/* Escapes text for a URL path segment or query value; NULL on failure
 * (curl_free() it). */
char *mb_transport_escape(struct mb_client *client, const char *text);
/* GETs one object at path and parses it with parse. */
enum mb_outcome mb_transport_fetch_one(struct mb_client *client, struct request *req,
                                       item_parser parse, void *out, struct cn_error *err);
/* POST/PATCH with a JSON body (freed here), answer parsed with parse. */
enum mb_outcome mb_transport_write_one(struct mb_client *client, struct request *req, char *body,
                                       item_parser parse, void *out, struct cn_error *err);

#endif
