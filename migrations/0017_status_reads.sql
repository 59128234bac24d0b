-- `status` (and the console's overview) count each connection's
-- redeliveries whose body differed. Without an index of their own that
-- count read every delivery of the connection (deliveries_order_idx leads
-- with connection_id), work that grew with history. These deliveries are
-- rare, so the partial index costs the intake nothing for the others.
CREATE INDEX deliveries_differ_idx ON deliveries (connection_id)
    WHERE outcome = 'duplicate_differs';
