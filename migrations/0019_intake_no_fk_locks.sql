-- Intake (issue 14): no row lock per delivery on the rows the same statement
-- has just inserted.
--
-- A delivery's order points at the delivery (orders.first_delivery_id) and
-- its job at the order (jobs.order_pk). A foreign key check locks the row it
-- points at (SELECT ... FOR KEY SHARE), and locking a row this transaction
-- has just inserted rewrites that row's header and writes a WAL record of its
-- own. Measured on intake_store_batch() alone (batches of 16): the two checks
-- were about a third of the database's time per delivery.
--
-- What the two foreign keys guaranteed still holds, by other means:
-- * the reference is valid when written: intake_store_batch() takes both ids
--   from its own INSERT ... RETURNING in the same statement, and the only
--   other writer of jobs, store_order_requeue() (`retry`, the console's
--   Retry, reconcile's repair), inserts from orders, so never for a missing
--   order; the columns themselves cannot be changed afterwards (the evidence
--   guards of migration 0010 protect both ids; nothing updates jobs.order_pk);
-- * the referenced row stays: deliveries and orders are evidence, which
--   nobody but a superuser may delete (migration 0010), and the guards below
--   now refuse even a superuser's DELETE while a reference to the row exists,
--   as the foreign keys did. (That check reads orders by first_delivery_id,
--   which has no index: a superuser's DELETE of a delivery scans orders.)
ALTER TABLE orders DROP CONSTRAINT orders_first_delivery_id_fkey;
ALTER TABLE jobs DROP CONSTRAINT jobs_order_pk_fkey;

-- Refuses deleting OLD while other_rows_exist: what a foreign key's
-- ON DELETE NO ACTION said, with its error code.
CREATE FUNCTION evidence_refuse_referenced(what text, other_rows_exist boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF other_rows_exist THEN
        RAISE EXCEPTION '% is still referenced: DELETE refused', what
            USING ERRCODE = 'foreign_key_violation';
    END IF;
END $$;

CREATE FUNCTION deliveries_keep_referenced() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM evidence_refuse_referenced(
        format('delivery %s (the first delivery of an order)', OLD.id),
        EXISTS (SELECT 1 FROM orders o WHERE o.first_delivery_id = OLD.id));
    RETURN OLD;
END $$;

CREATE FUNCTION orders_keep_referenced() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM evidence_refuse_referenced(
        format('order %s (it has a job)', OLD.id),
        EXISTS (SELECT 1 FROM jobs j WHERE j.order_pk = OLD.id));
    RETURN OLD;
END $$;

-- After the evidence guards (triggers fire in name order), so a non-superuser
-- still gets the evidence error first.
CREATE TRIGGER deliveries_keep_referenced BEFORE DELETE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION deliveries_keep_referenced();
CREATE TRIGGER orders_keep_referenced BEFORE DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_keep_referenced();

-- TRUNCATE deliveries was refused by the foreign key while orders existed,
-- and still is. (TRUNCATE orders stays refused by the foreign keys that
-- remain on it: attempts, Moneybird events, reconcile differences.)
CREATE FUNCTION deliveries_keep_referenced_on_truncate() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM evidence_refuse_referenced('the deliveries table (orders point at it)',
                                       EXISTS (SELECT 1 FROM orders));
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_keep_referenced_on_truncate BEFORE TRUNCATE ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_keep_referenced_on_truncate();

-- The job's connection comes with the job, so the copy trigger of migration
-- 0014 (a plpgsql call and a lookup of the order per job) only runs for a job
-- inserted without it. intake_store_batch() as in migration 0018, except that
-- its jobs carry their order's connection.
CREATE OR REPLACE TRIGGER jobs_copy_connection BEFORE INSERT ON jobs
    FOR EACH ROW WHEN (NEW.connection_id IS NULL) EXECUTE FUNCTION jobs_copy_connection();

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
        INSERT INTO jobs (order_pk, connection_id, priority)
        SELECT c.order_pk, c.connection_id, CASE WHEN c.source = 'replay' THEN 10 ELSE 0 END
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
