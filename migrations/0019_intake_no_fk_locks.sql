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

-- What a foreign key's ON DELETE NO ACTION said, with its error code: the row
-- (or, on TRUNCATE, the table) is refused while a row of the referencing
-- table TG_ARGV[0] points at it through column TG_ARGV[1]. Deletes of
-- evidence are a superuser's rare repair, so the dynamic query is no cost.
CREATE FUNCTION evidence_keep_referenced() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
DECLARE
    referenced boolean;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', TG_ARGV[0]) INTO referenced;
        IF referenced THEN
            RAISE EXCEPTION 'the table % is still referenced by %.%: TRUNCATE refused',
                TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1] USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', TG_ARGV[0], TG_ARGV[1])
        INTO referenced USING OLD.id;
    IF referenced THEN
        RAISE EXCEPTION '% row % is still referenced by %.%: DELETE refused', TG_TABLE_NAME,
            OLD.id, TG_ARGV[0], TG_ARGV[1] USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;

-- After the evidence guards (triggers fire in name order), so a non-superuser
-- still gets the evidence error first. TRUNCATE orders stays refused by the
-- foreign keys that remain on it (attempts, Moneybird events, reconcile
-- differences).
CREATE TRIGGER deliveries_keep_referenced BEFORE DELETE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION evidence_keep_referenced('orders', 'first_delivery_id');
CREATE TRIGGER deliveries_keep_referenced_on_truncate BEFORE TRUNCATE ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_keep_referenced('orders', 'first_delivery_id');
CREATE TRIGGER orders_keep_referenced BEFORE DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION evidence_keep_referenced('jobs', 'order_pk');
