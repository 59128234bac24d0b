-- One lock order for every transaction that changes an order: the audit
-- chain's advisory lock first, then the orders row.
--
-- Intake (intake_store_batch) takes the audit lock and then inserts orders
-- with ON CONFLICT DO NOTHING, which waits for any transaction updating the
-- conflicting row. A worker that updated the row and then appended its audit
-- row waited for the audit lock in turn: a deadlock, which PostgreSQL broke
-- by aborting one side (seen in the chaos suite on redelivered orders). Taking
-- the audit lock before the first row of orders is changed removes the cycle;
-- such transactions append an audit row anyway, so they held it until commit
-- already.
CREATE FUNCTION orders_take_audit_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7262818452);
    RETURN NULL;
END $$;

CREATE TRIGGER orders_audit_lock_first BEFORE UPDATE OR DELETE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION orders_take_audit_lock();
