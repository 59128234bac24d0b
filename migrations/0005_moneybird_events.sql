-- Moneybird closing the loop: webhook deliveries kept as received and
-- applied asynchronously, the invoice amounts last seen, the previous webhook
-- secret during a rotation, and the record of reconciliation runs.

-- A second `moneybird webhook register` replaces the stored webhook; pushes
-- of the old one (retries, or Moneybird signing with both secrets during a
-- rotation) must still verify for a while, so the old token and secret are
-- kept next to the new ones. Kept by a trigger so every writer of the row
-- gets it without knowing about it.
ALTER TABLE connections
    ADD COLUMN moneybird_webhook_previous_token  text,
    ADD COLUMN moneybird_webhook_previous_secret text,
    ADD COLUMN moneybird_webhook_rotated_at      timestamptz;

CREATE FUNCTION connections_keep_previous_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.moneybird_webhook_secret IS NOT DISTINCT FROM OLD.moneybird_webhook_secret THEN
        RETURN NEW;
    END IF;
    IF NEW.moneybird_webhook_secret IS NULL THEN
        -- The stored webhook was deleted: nothing of it may verify any more.
        NEW.moneybird_webhook_previous_token := NULL;
        NEW.moneybird_webhook_previous_secret := NULL;
        NEW.moneybird_webhook_rotated_at := NULL;
    ELSIF OLD.moneybird_webhook_secret IS NOT NULL THEN
        NEW.moneybird_webhook_previous_token := OLD.moneybird_webhook_token;
        NEW.moneybird_webhook_previous_secret := OLD.moneybird_webhook_secret;
        NEW.moneybird_webhook_rotated_at := now();
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER connections_keep_previous_webhook BEFORE UPDATE ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_keep_previous_webhook();

-- Every verified Moneybird push, raw bytes included. Moneybird pushes the
-- same event again (also after a 200), always with the same Idempotency-Key.
CREATE TABLE moneybird_events (
    id                  bigserial PRIMARY KEY,
    connection_id       bigint NOT NULL REFERENCES connections(id),
    idempotency_key     text NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    signature_timestamp bigint,
    webhook_id          text NOT NULL DEFAULT '',
    action              text NOT NULL DEFAULT '',
    entity_type         text NOT NULL DEFAULT '',
    entity_id           text NOT NULL DEFAULT '',
    payload_state       text NOT NULL DEFAULT '',
    body                bytea NOT NULL,
    -- pending: not looked at yet; waiting: its invoice is not (yet) stored
    -- on an order, or the order is still being synced; applied; ignored:
    -- not about an invoice the connector made, or an action it does not use.
    status              text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'waiting', 'applied', 'ignored')),
    order_pk            bigint REFERENCES orders(id),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    note                text,
    processed_at        timestamptz,
    UNIQUE (connection_id, idempotency_key)
);
CREATE INDEX moneybird_events_ready_idx ON moneybird_events (next_attempt_at)
    WHERE status IN ('pending', 'waiting');
CREATE INDEX moneybird_events_entity_idx ON moneybird_events (connection_id, entity_id);

-- What Moneybird last said about each order's invoice.
ALTER TABLE orders
    ADD COLUMN invoice_total_paid_cents   bigint,
    ADD COLUMN invoice_total_unpaid_cents bigint,
    ADD COLUMN invoice_version            bigint,
    ADD COLUMN invoice_checked_at         timestamptz;
CREATE INDEX orders_invoice_idx ON orders (connection_id, moneybird_invoice_id);
CREATE INDEX orders_reference_idx ON orders (connection_id, invoice_reference);

CREATE TABLE reconcile_runs (
    id                 bigserial PRIMARY KEY,
    connection_id      bigint NOT NULL REFERENCES connections(id),
    trigger            text NOT NULL CHECK (trigger IN ('command', 'periodic')),
    repair             boolean NOT NULL DEFAULT false,
    since              date,
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    status             text NOT NULL DEFAULT 'running'
                         CHECK (status IN ('running', 'done', 'failed')),
    invoices_checked   integer NOT NULL DEFAULT 0,
    orders_checked     integer NOT NULL DEFAULT 0,
    moneybird_calls    integer NOT NULL DEFAULT 0,
    differences        integer NOT NULL DEFAULT 0,
    repairs_queued     integer NOT NULL DEFAULT 0,
    error              text
);
CREATE INDEX reconcile_runs_connection_idx ON reconcile_runs (connection_id, started_at);

-- One row per difference found, by a run or by a webhook (payment_destroyed
-- on a reconciled order). kind is one of: missing_invoice, not_sent,
-- not_paid, amount_differs, invoice_deleted, invoice_changed,
-- duplicate_invoice, orphan_invoice, stuck, payment_removed.
CREATE TABLE reconcile_differences (
    id                   bigserial PRIMARY KEY,
    run_id               bigint REFERENCES reconcile_runs(id),
    connection_id        bigint NOT NULL REFERENCES connections(id),
    found_at             timestamptz NOT NULL DEFAULT now(),
    source               text NOT NULL CHECK (source IN ('reconcile', 'webhook')),
    kind                 text NOT NULL,
    order_pk             bigint REFERENCES orders(id),
    moneybird_invoice_id text,
    detail               text NOT NULL DEFAULT '',
    repair               text NOT NULL DEFAULT 'none'
                           CHECK (repair IN ('none', 'queued'))
);
CREATE INDEX reconcile_differences_run_idx ON reconcile_differences (run_id);
CREATE INDEX reconcile_differences_order_idx ON reconcile_differences (order_pk);
