-- Several audit chains, one per writer lane (issues 14 and 15).
--
-- Until now the audit log was one hash chain behind one advisory lock, and a
-- transaction that appends to it (or changes an order: migration 0007) held
-- that lock until its commit had been flushed. Every writer of the connector
-- therefore committed one after another, one WAL flush each: the intake's
-- batches, and each of the workers' steps. Measured, half of the workers'
-- database time was spent waiting for that lock.
--
-- Now the log holds up to 16 chains. A connection names its chain in the
-- session setting bookto_moneybird.audit_chain (store_audit_chain.h gives
-- each lane of serve its own: the intake's committer, each worker, the
-- Moneybird events thread, periodic reconcile); a connection that sets none
-- (the command line, psql, the console) writes to chain 0. Each chain has its
-- own lock, taken exactly where the one lock was taken before, and links its
-- rows exactly as the one chain did: a row's prev_hash is the row_hash of the
-- previous row of its chain (in id order), or \x00 for a chain's first row.
-- The rows written so far form chain 0, unchanged. Writers on different
-- chains no longer wait on each other, so their commits share WAL flushes.
--
-- What still holds:
-- - Every row is chained under its chain's lock, held until commit, so within
--   a chain ids follow commit order; removing, changing or inserting a row
--   breaks its chain at the next row of that chain (`audit verify`).
-- - A chain starts with \x00: moving some of a chain's rows to another
--   chain, or merging two chains, breaks. (The chain number is not in the
--   digest: renumbering a whole chain to an unused number goes unnoticed, and
--   changes nothing the log proves.)
-- - Across chains, a lower id may commit after a higher one. The one reader
--   that relied on "no lower id can become visible later" (the notifier's
--   cursor) now reads only up to audit_settled_id() (store_notify.c), and
--   `audit verify` reads the whole log in one snapshot.
-- - `audit head` prints the newest row of every chain; `audit verify --expect`
--   checks each of them.
--
-- Lock order (migration 0007's rule, per chain): a transaction takes its
-- chain's lock before its first orders row. A transaction only ever takes its
-- own chain's lock, so chain locks cannot form a cycle. The counter rows
-- (order_state_counts, sync_latency_counts), which every statement on orders
-- upserts, get a stripe per chain, changed only under that chain's lock, so
-- two chains never wait on a counter row either; readers add the stripes.

ALTER TABLE audit_log ADD COLUMN chain smallint NOT NULL DEFAULT 0
    CHECK (chain BETWEEN 0 AND 15);
CREATE INDEX audit_log_chain_idx ON audit_log (chain, id);

-- Takes the lock of the session's chain (held until the transaction ends)
-- and returns the chain's number.
CREATE FUNCTION audit_chain_lock() RETURNS smallint LANGUAGE plpgsql AS $$
DECLARE
    lane smallint := coalesce(nullif(current_setting('bookto_moneybird.audit_chain', true),
                                     ''), '0')::smallint;
BEGIN
    IF lane NOT BETWEEN 0 AND 15 THEN
        RAISE EXCEPTION 'bookto_moneybird.audit_chain must be 0..15, not %', lane;
    END IF;
    PERFORM pg_advisory_xact_lock(7262818456000 + lane);
    RETURN lane;
END $$;

CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    NEW.chain := audit_chain_lock();
    SELECT a.row_hash INTO previous FROM audit_log a
    WHERE a.chain = NEW.chain ORDER BY a.id DESC LIMIT 1;
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    NEW.digest_version := 2;
    NEW.prev_hash := coalesce(previous, '\x00'::bytea);
    NEW.row_hash := audit_digest_v2_of(NEW.prev_hash, NEW.id, NEW.at, NEW.actor, NEW.action,
                                       NEW.connection_id, NEW.order_pk, NEW.from_state,
                                       NEW.to_state, NEW.detail);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION orders_take_audit_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_chain_lock();
    RETURN NULL;
END $$;

-- The counters, striped by chain.
ALTER TABLE order_state_counts ADD COLUMN stripe smallint NOT NULL DEFAULT 0;
ALTER TABLE order_state_counts DROP CONSTRAINT order_state_counts_pkey;
ALTER TABLE order_state_counts ADD PRIMARY KEY (connection_id, state, stripe);
ALTER TABLE sync_latency_counts ADD COLUMN stripe smallint NOT NULL DEFAULT 0;
ALTER TABLE sync_latency_counts DROP CONSTRAINT sync_latency_counts_pkey;
ALTER TABLE sync_latency_counts ADD PRIMARY KEY (le, stripe);

-- As migration 0010's, into the stripe of the caller's chain (whose lock the
-- statement on orders holds already; taking it again costs nothing).
CREATE OR REPLACE FUNCTION order_counts_apply(connection_ids bigint[], states text[],
                                              latencies float8[], signs integer[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lane smallint := audit_chain_lock();
BEGIN
    WITH deltas AS (
        SELECT * FROM unnest(connection_ids, states, latencies, signs) AS d (c, s, l, sign)
    ), counted AS (
        INSERT INTO order_state_counts AS oc (connection_id, state, stripe, n)
        SELECT c, s, lane, sum(sign) FROM deltas GROUP BY 1, 2
        ON CONFLICT (connection_id, state, stripe) DO UPDATE SET n = oc.n + excluded.n
    )
    INSERT INTO sync_latency_counts AS lc (le, stripe, n, sum_seconds)
    SELECT sync_latency_bucket(l), lane, sum(sign), sum(sign * l)
    FROM deltas WHERE l IS NOT NULL GROUP BY 1
    ON CONFLICT (le, stripe) DO UPDATE SET n = lc.n + excluded.n,
                                           sum_seconds = lc.sum_seconds + excluded.sum_seconds;
END $$;

-- What `audit verify` reads: as migration 0010's, with each row's chain.
DROP FUNCTION audit_chain_page(bigint, integer);
CREATE FUNCTION audit_chain_page(after_id bigint, page_size integer)
RETURNS TABLE (id bigint, chain smallint, digest_version smallint, prev_hash bytea,
               row_hash bytea, digest_ok boolean)
LANGUAGE sql STABLE AS $$
    SELECT a.id, a.chain, a.digest_version, a.prev_hash, a.row_hash,
           coalesce(a.row_hash = audit_row_hash(a.prev_hash, a), false)
    FROM audit_log a
    WHERE a.id > after_id
    ORDER BY a.id
    LIMIT page_size
$$;

-- As migration 0010's, per chain.
CREATE OR REPLACE FUNCTION audit_first_broken_row() RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r audit_log;
    previous bytea[] := array_fill('\x00'::bytea, ARRAY[16], ARRAY[0]);
    seen_v2 boolean := false;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        IF r.prev_hash <> previous[r.chain]
           OR r.row_hash IS DISTINCT FROM audit_row_hash(previous[r.chain], r)
           OR (seen_v2 AND r.digest_version < 2) THEN
            RETURN r.id;
        END IF;
        seen_v2 := seen_v2 OR r.digest_version >= 2;
        previous[r.chain] := r.row_hash;
    END LOOP;
    RETURN NULL;
END $$;

-- The newest row of each chain (`audit head`).
CREATE FUNCTION audit_chain_heads()
RETURNS TABLE (chain smallint, id bigint, row_hash bytea) LANGUAGE sql STABLE AS $$
    SELECT g::smallint, h.id, h.row_hash
    FROM generate_series(0, 15) g
    CROSS JOIN LATERAL (SELECT a.id, a.row_hash FROM audit_log a
                        WHERE a.chain = g ORDER BY a.id DESC LIMIT 1) h
    ORDER BY g
$$;

-- The newest audit id below which no row can still become visible: every id
-- handed out so far belongs to a committed or rolled-back row once each
-- chain's transaction in flight at the start has ended (an id is handed out
-- under its chain's lock, held until commit). Waits for those transactions,
-- one chain at a time, without holding any lock afterwards.
CREATE FUNCTION audit_settled_id() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    handed_out bigint;
BEGIN
    SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END INTO handed_out
    FROM audit_log_id_seq s;
    FOR lane IN 0..15 LOOP
        PERFORM pg_advisory_lock_shared(7262818456000 + lane);
        PERFORM pg_advisory_unlock_shared(7262818456000 + lane);
    END LOOP;
    RETURN handed_out;
END $$;

-- As migration 0006's, except: the lock of the session's chain instead of
-- the one lock; deliveries and orders inserted in key order, so that two
-- batches (of two hosts) with a delivery or an order in common wait on each
-- other in the same order; and no NOTIFY (a NOTIFY holds a database-wide lock
-- from before the commit until it is flushed and signals every listener: the
-- committer rings the workers' bell after its commits, one NOTIFY for all the
-- batches stored while the previous one was sent).
CREATE OR REPLACE FUNCTION intake_store_batch(batch json, bodies bytea[])
RETURNS TABLE (idx integer, result text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    input intake_delivery[];
    positions integer[];
    outcomes text[];
    delivery_ids bigint[];
    known bigint[];
    marked_ids bigint[];
    marked_outcomes text[];
BEGIN
    -- The chain's lock first, so that batches of one lane never wait on each
    -- other halfway (and so can never deadlock on it).
    PERFORM audit_chain_lock();
    input := ARRAY(SELECT r FROM json_populate_recordset(NULL::intake_delivery, batch) AS r
                   ORDER BY r.idx);

    WITH batch_rows AS (
        SELECT * FROM unnest(input)
    ), first_of_key AS (
        -- The same delivery twice in one batch: the second is already_stored.
        SELECT DISTINCT ON (b.delivery_key) * FROM batch_rows b ORDER BY b.delivery_key, b.idx
    ), stored AS (
        INSERT INTO deliveries (delivery_key, connection_id, source, received_at, event,
                                signature_timestamp, body, body_sha256, outcome, order_id)
        SELECT f.delivery_key, f.connection_id, f.source,
               to_timestamp(f.received_at_ms::double precision / 1000), f.event,
               f.signature_timestamp, bodies[f.idx + 1], f.body_sha256, f.outcome,
               f.order_id
        FROM first_of_key f ORDER BY f.delivery_key
        ON CONFLICT (delivery_key) DO NOTHING
        RETURNING deliveries.id, deliveries.delivery_key
    ), stored_rows AS (
        SELECT f.*, s.id AS delivery_id
        FROM stored s JOIN first_of_key f ON f.delivery_key = s.delivery_key
    ), created AS (
        INSERT INTO orders (connection_id, order_id, order_number, is_test_order,
                            payment_provider, paid_at, currency, total_incl_cents,
                            excl_vat_cents, vat_cents, vat_rate, vat_treatment, product_name,
                            product_description, buyer_first_name, buyer_last_name,
                            buyer_email, buyer_company, buyer_vat_number, buyer_peppol_id,
                            buyer_address, buyer_address2, buyer_postal_code, buyer_city,
                            buyer_country, custom_fields, match_ref, match_ref_derived,
                            first_delivery_id, state, last_error, received_at)
        SELECT s.connection_id, s.order_id, s.order_number, s.is_test_order,
               s.payment_provider, to_timestamp(s.paid_at_epoch::double precision),
               s.currency, s.total_incl_cents, s.excl_vat_cents, s.vat_cents, s.vat_rate,
               s.vat_treatment, s.product_name, s.product_description, s.buyer_first_name,
               s.buyer_last_name, s.buyer_email, s.buyer_company, s.buyer_vat_number,
               s.buyer_peppol_id, s.buyer_address, s.buyer_address2, s.buyer_postal_code,
               s.buyer_city, s.buyer_country, s.custom_fields, s.match_ref,
               s.match_ref_derived, s.delivery_id,
               CASE WHEN s.park_reason IS NULL THEN 'queued' ELSE 'needs_attention' END,
               s.park_reason, to_timestamp(s.received_at_ms::double precision / 1000)
        FROM stored_rows s WHERE s.has_order ORDER BY s.connection_id, s.order_id, s.idx
        ON CONFLICT (connection_id, order_id) DO NOTHING
        RETURNING orders.id, orders.first_delivery_id, orders.state
    ), created_rows AS (
        SELECT s.*, c.id AS order_pk, c.state
        FROM created c JOIN stored_rows s ON s.delivery_id = c.first_delivery_id
    ), queued AS (
        INSERT INTO jobs (order_pk, priority)
        SELECT c.order_pk, CASE WHEN c.source = 'replay' THEN 10 ELSE 0 END
        FROM created_rows c WHERE c.park_reason IS NULL ORDER BY c.idx
    ), audited AS (
        INSERT INTO audit_log (actor, action, connection_id, order_pk, to_state, detail)
        SELECT 'intake', 'order_received', c.connection_id, c.order_pk, c.state,
               jsonb_build_object('delivery_id', c.delivery_id, 'order_id', c.order_id,
                                  'source', c.source)
        FROM created_rows c ORDER BY c.idx
    )
    SELECT array_agg(b.idx ORDER BY b.idx),
           array_agg(CASE WHEN s.delivery_id IS NULL THEN 'already_stored'
                          WHEN NOT coalesce(b.has_order, false) THEN 'kept'
                          WHEN c.order_pk IS NOT NULL THEN 'new_order'
                          ELSE 'known' END ORDER BY b.idx),
           array_agg(s.delivery_id ORDER BY b.idx),
           array_agg(s.delivery_id) FILTER (WHERE s.delivery_id IS NOT NULL
                                            AND b.has_order AND c.order_pk IS NULL)
    INTO positions, outcomes, delivery_ids, known
    FROM batch_rows b
    LEFT JOIN stored_rows s ON s.idx = b.idx
    LEFT JOIN created_rows c ON c.idx = b.idx;

    IF known IS NOT NULL THEN
        -- Deliveries of orders already stored: compare with the order's
        -- first delivery, mark, and audit the ones whose body differs.
        WITH marked AS (
            UPDATE deliveries d
            SET outcome = CASE WHEN f.body_sha256 <> d.body_sha256
                               THEN 'duplicate_differs' ELSE 'duplicate' END
            FROM orders o JOIN deliveries f ON f.id = o.first_delivery_id
            WHERE d.id = ANY (known) AND o.connection_id = d.connection_id
              AND o.order_id = d.order_id
            RETURNING d.id, d.outcome, d.connection_id, d.source, o.id AS order_pk
        ), audited AS (
            INSERT INTO audit_log (actor, action, connection_id, order_pk, detail)
            SELECT 'intake', 'redelivery_differs', m.connection_id, m.order_pk,
                   jsonb_build_object('delivery_id', m.id, 'source', m.source)
            FROM marked m WHERE m.outcome = 'duplicate_differs' ORDER BY m.id
        )
        SELECT array_agg(m.id), array_agg(m.outcome) INTO marked_ids, marked_outcomes
        FROM marked m;
        IF coalesce(cardinality(marked_ids), 0) <> cardinality(known) THEN
            RAISE EXCEPTION 'an order vanished while storing its redelivery'
                USING ERRCODE = 'serialization_failure';
        END IF;
    END IF;

    RETURN QUERY
        SELECT u.i, coalesce(m.o, u.o)
        FROM unnest(positions, outcomes, delivery_ids) AS u (i, o, d)
        LEFT JOIN unnest(marked_ids, marked_outcomes) AS m (d, o) ON m.d = u.d
        ORDER BY u.i;
END $$;
