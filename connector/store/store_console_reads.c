#include "store_console_reads.h"

#include <inttypes.h>
#include <stdio.h>

#include "store.h"

#define ISO_UTC(column) "to_char((" column ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* A read whose one parameter is a number. */
static int query_with_number(PGconn *conn, const char *sql, int64_t number, const char *what,
                             struct store_ops_table *out, struct cn_error *err)
{
	struct store_number text;
	const char *values[1] = {store_number_text(&text, number)};

	return store_ops_query(conn, sql, 1, values, what, out, err);
}

int store_console_orders(PGconn *conn, const struct store_console_order_filter *filter,
                         struct store_ops_table *out, struct cn_error *err)
{
	char offset[24], limit[24];
	const char *values[5] = {filter->state, filter->connection, filter->query, offset, limit};

	snprintf(offset, sizeof(offset), "%zu", filter->offset);
	snprintf(limit, sizeof(limit), "%zu", filter->limit);
	return store_ops_query(
	    conn,
	    "SELECT c.name AS connection, o.order_id, o.order_number, o.state,"
	    " o.total_incl_cents, o.currency,"
	    " concat_ws(' · ', NULLIF(trim(o.buyer_first_name || ' ' || o.buyer_last_name), ''),"
	    " NULLIF(o.buyer_company, '')) AS buyer, o.buyer_email, o.last_error, " ISO_UTC(
	        "o.received_at") " AS received_at, o.is_test_order"
	                         " FROM orders o JOIN connections c ON c.id = o.connection_id"
	                         " WHERE (coalesce($1, '') = '' OR o.state = $1)"
	                         " AND (coalesce($2, '') = '' OR c.name = $2)"
	                         " AND (coalesce($3, '') = ''"
	                         " OR o.order_number = $3 OR o.order_id = $3"
	                         " OR strpos(lower(o.match_ref), lower($3)) > 0"
	                         " OR strpos(lower(o.buyer_email), lower($3)) > 0"
	                         " OR strpos(lower(o.buyer_first_name || ' ' || o.buyer_last_name),"
	                         " lower($3)) > 0"
	                         " OR strpos(lower(o.buyer_company), lower($3)) > 0"
	                         " OR strpos(lower(o.order_number), lower($3)) > 0)"
	                         " ORDER BY o.received_at DESC, o.id DESC"
	                         " OFFSET $4::bigint LIMIT $5::bigint",
	    5, values, "listing the orders", out, err);
}

int store_console_order_party(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                              struct cn_error *err)
{
	return query_with_number(
	    conn,
	    "SELECT label, value FROM orders o, LATERAL (VALUES"
	    " (1, 'Buyer', trim(o.buyer_first_name || ' ' || o.buyer_last_name)),"
	    " (2, 'Company', o.buyer_company), (3, 'Email', o.buyer_email),"
	    " (4, 'VAT number', o.buyer_vat_number), (5, 'Peppol id', o.buyer_peppol_id),"
	    " (6, 'Address', concat_ws(', ', NULLIF(o.buyer_address, ''),"
	    " NULLIF(o.buyer_address2, ''), NULLIF(trim(o.buyer_postal_code || ' ' ||"
	    " o.buyer_city), ''), NULLIF(o.buyer_country, ''))),"
	    " (7, 'Product', o.product_name), (8, 'Description', o.product_description),"
	    " (9, 'Payment provider', o.payment_provider)) AS f(n, label, value)"
	    " WHERE o.id = $1 AND value <> ''"
	    " UNION ALL SELECT 'Custom field', concat(f->>'label', ': ', f->>'value')"
	    " FROM orders o, jsonb_array_elements(CASE jsonb_typeof(o.custom_fields)"
	    " WHEN 'array' THEN o.custom_fields ELSE '[]' END) f WHERE o.id = $1",
	    order_pk, "reading the buyer and product", out, err);
}

int store_console_reconcile_runs(PGconn *conn, int limit, struct store_ops_table *out,
                                 struct cn_error *err)
{
	return query_with_number(
	    conn,
	    "SELECT r.id, c.name AS connection, r.trigger, r.repair, " ISO_UTC(
	        "r.started_at") " AS started_at, " ISO_UTC("r.finished_at") " AS finished_at, "
	                                                                    "r.status, "
	                                                                    "r.invoices_checked, "
	                                                                    "r.orders_checked,"
	                                                                    " r.differences, "
	                                                                    "r.repairs_queued, "
	                                                                    "r.error"
	                                                                    " FROM reconcile_runs "
	                                                                    "r JOIN connections c "
	                                                                    "ON c.id = "
	                                                                    "r.connection_id"
	                                                                    " ORDER BY r.id DESC "
	                                                                    "LIMIT $1::int",
	    limit, "listing the reconcile runs", out, err);
}

int store_console_reconcile_differences(PGconn *conn, int runs, struct store_ops_table *out,
                                        struct cn_error *err)
{
	return query_with_number(
	    conn,
	    "SELECT d.run_id, d.kind, o.order_id, o.order_number, c.name AS connection,"
	    " d.moneybird_invoice_id, d.detail, d.repair FROM reconcile_differences d"
	    " JOIN connections c ON c.id = d.connection_id"
	    " LEFT JOIN orders o ON o.id = d.order_pk"
	    " WHERE d.run_id IN (SELECT id FROM reconcile_runs ORDER BY id DESC LIMIT $1::int)"
	    " ORDER BY d.run_id DESC, d.id LIMIT 500",
	    runs, "listing the reconcile differences", out, err);
}
