#include "store_audit_chain.h"

#include <stdio.h>

#include "store.h"

int store_audit_chain_of_worker(int index)
{
	const int workers = STORE_AUDIT_CHAIN_COUNT - STORE_AUDIT_CHAIN_WORKERS_FIRST;

	return STORE_AUDIT_CHAIN_WORKERS_FIRST + (index < 0 ? 0 : index % workers);
}

int store_connect_on_chain(const char *conninfo, int chain, PGconn **out, struct cn_error *err)
{
	char value[8];
	const char *values[1] = {value};
	PGresult *res = NULL;
	int rc;

	rc = store_connect(conninfo, out, err);
	if (rc != CN_OK)
		return rc;
	snprintf(value, sizeof(value), "%d", chain);
	rc = store_query(*out, "SELECT set_config('bookto_moneybird.audit_chain', $1, false)", 1,
	                 values, "naming the connection's audit chain", &res, err);
	PQclear(res);
	if (rc != CN_OK) {
		PQfinish(*out);
		*out = NULL;
	}
	return rc;
}
