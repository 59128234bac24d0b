-- The audit chain extended once per intake batch (issue 14: throughput).
--
-- Intake holds the chain's lock from the start of a batch until its commit
-- has been flushed, so what a batch costs inside the database is paid
-- serially; the largest single part was the audit_log_chain row trigger: per
-- audit row a plpgsql call, the lock call, an index lookup of the newest
-- row's hash and the digest through a SQL function that takes the row as a
-- composite. Now:
--
-- 1. intake_store_batch() appends its order_received rows with
--    audit_append_chained(): one statement that looks the head up once and
--    computes the rows' prev_hash and row_hash in a recursive query, with
--    the same digest (version 2) as before.
-- 2. The row trigger runs only for rows that come without a row_hash (every
--    other writer, unchanged), and computes the digest inline.
-- 3. Every INSERT statement is then checked by audit_log_check_chain(), a
--    statement trigger over the rows it added: they must carry digest
--    version 2 and hashes that follow from their content, link to each
--    other in id order, and start at the chain's head as it was (the newest
--    row before them, nothing after them). A statement that does not extend
--    the chain exactly is refused, so supplying the hashes gives no way
--    around the chain. The log itself, its digests and `audit verify` do not
--    change.

-- = audit_row_digest_v2(prev, a), from the columns. STABLE, not IMMUTABLE: to_char
-- is stable, and PostgreSQL inlines a SQL function only when its body is no
-- more volatile than declared.
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

DROP TRIGGER audit_log_chain ON audit_log;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.row_hash IS NULL) EXECUTE FUNCTION audit_log_chain();

CREATE FUNCTION audit_log_check_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first_id bigint;
    added bigint;
    first_prev bytea;
    broken bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7262818452);
    SELECT min(s.id), count(*), (array_agg(s.prev_hash ORDER BY s.id))[1],
           min(s.id) FILTER (WHERE NOT s.ok)
    INTO first_id, added, first_prev, broken
    FROM (SELECT a.id, a.prev_hash,
                 coalesce(a.digest_version = 2
                          AND a.row_hash = audit_digest_v2_of(a.prev_hash, a.id, a.at, a.actor,
                                                              a.action, a.connection_id,
                                                              a.order_pk, a.from_state,
                                                              a.to_state, a.detail)
                          AND a.prev_hash = coalesce(lag(a.row_hash) OVER (ORDER BY a.id),
                                                     a.prev_hash), false) AS ok
          FROM new_rows a) s;
    IF added = 0 THEN
        RETURN NULL;    -- e.g. INSERT ... SELECT of nothing
    END IF;
    IF broken IS NOT NULL
       OR first_prev IS DISTINCT FROM
          coalesce((SELECT a.row_hash FROM audit_log a WHERE a.id < first_id
                    ORDER BY a.id DESC LIMIT 1), '\x00'::bytea)
       OR (SELECT count(*) FROM audit_log a WHERE a.id >= first_id) <> added THEN
        RAISE EXCEPTION 'audit_log rows must extend the hash chain at its head (row %)',
                        coalesce(broken, first_id)
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER audit_log_check_chain AFTER INSERT ON audit_log
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_check_chain();

-- Appends one row per element (connection, order, to_state, detail) in
-- array order, chained onto the head: ids taken under the lock, so they
-- follow chain order.
CREATE FUNCTION audit_append_chained(actor_name text, action_name text,
                                     connection_ids bigint[], order_pks bigint[],
                                     to_states text[], details jsonb[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    head bytea;
    ids bigint[];
BEGIN
    PERFORM pg_advisory_xact_lock(7262818452);
    SELECT a.row_hash INTO head FROM audit_log a ORDER BY a.id DESC LIMIT 1;
    head := coalesce(head, '\x00'::bytea);
    ids := ARRAY(SELECT nextval('audit_log_id_seq') FROM generate_series(1, cardinality(order_pks))
                 ORDER BY 1);
    INSERT INTO audit_log (id, at, actor, action, connection_id, order_pk, to_state, detail,
                           digest_version, prev_hash, row_hash)
    WITH RECURSIVE chain AS (
        SELECT 1 AS n, ids[1] AS id, t.at, head AS prev_hash,
               audit_digest_v2_of(head, ids[1], t.at, actor_name, action_name,
                                  connection_ids[1], order_pks[1], NULL, to_states[1],
                                  details[1]) AS row_hash
        FROM (SELECT clock_timestamp() AS at) t
        UNION ALL
        SELECT c.n + 1, ids[c.n + 1], t.at, c.row_hash,
               audit_digest_v2_of(c.row_hash, ids[c.n + 1], t.at, actor_name, action_name,
                                  connection_ids[c.n + 1], order_pks[c.n + 1], NULL,
                                  to_states[c.n + 1], details[c.n + 1])
        FROM chain c CROSS JOIN LATERAL (SELECT clock_timestamp() AS at) t
        WHERE c.n < cardinality(ids)
    )
    SELECT c.id, c.at, actor_name, action_name, connection_ids[c.n], order_pks[c.n],
           to_states[c.n], details[c.n], 2, c.prev_hash, c.row_hash
    FROM chain c ORDER BY c.n;
END $$;

-- Intake as in migration 0006, but the new orders' audit rows are appended by
-- audit_append_chained() after the batch's rows are in.
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
    new_connections bigint[];
    new_orders bigint[];
    new_states text[];
    new_details jsonb[];
BEGIN
    -- The audit chain's lock first, so that batches never wait on each
    -- other halfway (and so can never deadlock on it).
    PERFORM pg_advisory_xact_lock(7262818452);
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
        FROM first_of_key f ORDER BY f.idx
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
        FROM stored_rows s WHERE s.has_order ORDER BY s.idx
        ON CONFLICT (connection_id, order_id) DO NOTHING
        RETURNING orders.id, orders.first_delivery_id, orders.state
    ), created_rows AS (
        SELECT s.*, c.id AS order_pk, c.state
        FROM created c JOIN stored_rows s ON s.delivery_id = c.first_delivery_id
    ), queued AS (
        INSERT INTO jobs (order_pk, priority)
        SELECT c.order_pk, CASE WHEN c.source = 'replay' THEN 10 ELSE 0 END
        FROM created_rows c WHERE c.park_reason IS NULL ORDER BY c.idx
    )
    SELECT array_agg(b.idx ORDER BY b.idx),
           array_agg(CASE WHEN s.delivery_id IS NULL THEN 'already_stored'
                          WHEN NOT coalesce(b.has_order, false) THEN 'kept'
                          WHEN c.order_pk IS NOT NULL THEN 'new_order'
                          ELSE 'known' END ORDER BY b.idx),
           array_agg(s.delivery_id ORDER BY b.idx),
           array_agg(s.delivery_id) FILTER (WHERE s.delivery_id IS NOT NULL
                                            AND b.has_order AND c.order_pk IS NULL),
           array_agg(c.connection_id ORDER BY b.idx) FILTER (WHERE c.order_pk IS NOT NULL),
           array_agg(c.order_pk ORDER BY b.idx) FILTER (WHERE c.order_pk IS NOT NULL),
           array_agg(c.state ORDER BY b.idx) FILTER (WHERE c.order_pk IS NOT NULL),
           array_agg(jsonb_build_object('delivery_id', c.delivery_id, 'order_id', c.order_id,
                                        'source', c.source) ORDER BY b.idx)
               FILTER (WHERE c.order_pk IS NOT NULL)
    INTO positions, outcomes, delivery_ids, known, new_connections, new_orders, new_states,
         new_details
    FROM batch_rows b
    LEFT JOIN stored_rows s ON s.idx = b.idx
    LEFT JOIN created_rows c ON c.idx = b.idx;

    -- The new orders' audit rows, chained here in one statement (the lock is
    -- held since the start); audit_log_check_chain checks them.
    IF new_orders IS NOT NULL THEN
        PERFORM audit_append_chained('intake', 'order_received', new_connections, new_orders,
                                     new_states, new_details);
    END IF;

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

    IF 'new_order' = ANY (outcomes) THEN
        PERFORM pg_notify('bookto_moneybird_jobs', '');
    END IF;
    RETURN QUERY
        SELECT u.i, coalesce(m.o, u.o)
        FROM unnest(positions, outcomes, delivery_ids) AS u (i, o, d)
        LEFT JOIN unnest(marked_ids, marked_outcomes) AS m (d, o) ON m.d = u.d
        ORDER BY u.i;
END $$;
