-- Intake in one statement per batch of deliveries.
--
-- The committer used to send four to six statements per delivery (delivery,
-- order, job, audit row, NOTIFY), each parsed and planned anew. Now it sends
-- one statement per batch: intake_store_batch() gets the batch as a JSON
-- array of intake_delivery records (the raw bodies, which need be neither
-- JSON nor UTF-8, beside it as bytea[]) and writes every row set-based, in the
-- transaction of that one statement, which commits when the statement ends
-- (synchronous_commit stays on: the caller's answer means committed and
-- flushed). The audit rows still go through the audit_log_chain trigger.

CREATE TYPE intake_delivery AS (
    idx                 integer,      -- position in the batch; results carry it
    delivery_key        text,
    connection_id       bigint,
    source              text,
    received_at_ms      bigint,
    event               text,
    signature_timestamp bigint,
    body_sha256         text,
    outcome             text,
    order_id            text,
    has_order           boolean,      -- an order.paid with an order id
    order_number        text,
    is_test_order       boolean,
    payment_provider    text,
    paid_at_epoch       bigint,
    currency            text,
    total_incl_cents    bigint,
    excl_vat_cents      bigint,
    vat_cents           bigint,
    vat_rate            text,
    vat_treatment       text,
    product_name        text,
    product_description text,
    buyer_first_name    text,
    buyer_last_name     text,
    buyer_email         text,
    buyer_company       text,
    buyer_vat_number    text,
    buyer_peppol_id     text,
    buyer_address       text,
    buyer_address2      text,
    buyer_postal_code   text,
    buyer_city          text,
    buyer_country       text,
    custom_fields       jsonb,
    match_ref           text,
    match_ref_derived   boolean,
    park_reason         text          -- set: the order is parked, no job
);

-- Stores a batch (bodies[idx + 1] is the body of record idx); one row per
-- delivery: (idx, result) with result one of
-- new_order, duplicate, duplicate_differs, already_stored, kept.
-- Deduplication as before: a delivery_key seen before is already_stored; a
-- known (connection, order_id) makes the delivery a duplicate, marked and,
-- when its body differs from the first delivery's, audited.
-- Runs in two statements so that the second, with a fresh snapshot, sees an
-- order another transaction committed while the first waited on it.
CREATE FUNCTION intake_store_batch(batch json, bodies bytea[])
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

    IF 'new_order' = ANY (outcomes) THEN
        PERFORM pg_notify('bookto_moneybird_jobs', '');
    END IF;
    RETURN QUERY
        SELECT u.i, coalesce(m.o, u.o)
        FROM unnest(positions, outcomes, delivery_ids) AS u (i, o, d)
        LEFT JOIN unnest(marked_ids, marked_outcomes) AS m (d, o) ON m.d = u.d
        ORDER BY u.i;
END $$;
