-- Sync state: one Moneybird contact per (administration, match_ref), the
-- exactly-once intents of each order, and every Moneybird call attempt.

-- Contacts are shared by every connection that books into one
-- administration, so the key is the administration, not the connection.
CREATE TABLE contacts (
    id                   bigserial PRIMARY KEY,
    administration_id    text NOT NULL,
    match_ref            text NOT NULL,
    customer_id          text NOT NULL,          -- the numeric key derived from match_ref
    moneybird_contact_id text NOT NULL,
    resolution           text NOT NULL CHECK (resolution IN
                           ('created', 'found_by_customer_id', 'adopted_by_search',
                            'found_after_conflict')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (administration_id, match_ref)
);

-- The intents are committed before each create, so a retry after an unknown
-- outcome knows it must look before it creates again.
ALTER TABLE orders
    ADD COLUMN invoice_reference    text,
    ADD COLUMN invoice_intent_at    timestamptz,
    ADD COLUMN invoice_total_cents  bigint,
    ADD COLUMN sent_at              timestamptz,
    ADD COLUMN payment_intent_at    timestamptz,
    ADD COLUMN moneybird_payment_id text;

-- One row per Moneybird call made for an order: what `show` lists.
CREATE TABLE attempts (
    id           bigserial PRIMARY KEY,
    order_pk     bigint NOT NULL REFERENCES orders(id),
    job_attempt  integer NOT NULL,
    endpoint     text NOT NULL,
    outcome      text NOT NULL,
    http_status  integer,
    duration_ms  integer NOT NULL,
    error        text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attempts_order_idx ON attempts (order_pk, id);
