-- A cheaper audit chain trigger and fewer index entries per new order
-- (issue 14: intake throughput).
--
-- Intake holds the chain's lock from the start of a batch until its commit
-- has been flushed, so what a batch costs inside the database is paid
-- serially, and the audit_log_chain row trigger was its largest single part.
-- Its digest went through audit_row_digest_v2(prev, row), a SQL function
-- declared IMMUTABLE whose body calls to_char (only STABLE): PostgreSQL
-- inlines a SQL function only when its body is no more volatile than
-- declared, so every audit row paid a SQL-function call with the row as a
-- composite. The trigger now computes the same digest (version 2) through
-- audit_digest_v2_of(), which takes the columns and is declared STABLE, so
-- it is inlined. Rows, hashes, the lock and `audit verify` do not change.
--
-- (Tried and not kept: appending a batch's audit rows in one recursive
-- statement with the hashes computed there, checked by a statement trigger;
-- the check cost what the row trigger saved.)

-- = audit_row_digest_v2(prev, a), from the columns.
CREATE FUNCTION audit_digest_v2_of(prev bytea, id bigint, at timestamptz, actor text,
                                   action text, connection_id bigint, order_pk bigint,
                                   from_state text, to_state text, detail jsonb)
RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(prev || convert_to(jsonb_build_array(
        2::smallint, id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        actor, action, connection_id, order_pk, from_state, to_state, detail)::text, 'UTF8'))
$$;

CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(7262818452);
    SELECT row_hash INTO previous FROM audit_log ORDER BY id DESC LIMIT 1;
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    NEW.digest_version := 2;
    NEW.prev_hash := coalesce(previous, '\x00'::bytea);
    NEW.row_hash := audit_digest_v2_of(NEW.prev_hash, NEW.id, NEW.at, NEW.actor, NEW.action,
                                       NEW.connection_id, NEW.order_pk, NEW.from_state,
                                       NEW.to_state, NEW.detail);
    RETURN NEW;
END $$;

-- Fewer index entries per new order: the two lookups by Moneybird invoice id
-- and by invoice reference (reconcile, by equality, which a partial index
-- serves) leave out the orders that have neither yet: every order as intake
-- stores it.
DROP INDEX orders_invoice_idx;
CREATE INDEX orders_invoice_idx ON orders (connection_id, moneybird_invoice_id)
    WHERE moneybird_invoice_id IS NOT NULL;
DROP INDEX orders_reference_idx;
CREATE INDEX orders_reference_idx ON orders (connection_id, invoice_reference)
    WHERE invoice_reference IS NOT NULL;
