-- bookto-moneybird: the first schema.
-- Connections, raw deliveries, orders (money in integer cents), the job
-- queue, the append-only hash-chained audit log, and the sync_status view.

CREATE TABLE connections (
    id                         bigserial PRIMARY KEY,
    name                       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_-]{1,32}$'),
    moneybird_administration_id text NOT NULL,
    moneybird_webhook_id       text,
    moneybird_webhook_token    text,
    moneybird_webhook_secret   text,
    paused_reason              text,
    paused_at                  timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);

-- Every delivery as received, raw bytes included, whatever became of it.
CREATE TABLE deliveries (
    id                  bigserial PRIMARY KEY,
    delivery_key        text NOT NULL UNIQUE,          -- request id; makes spool drains idempotent
    connection_id       bigint NOT NULL REFERENCES connections(id),
    source              text NOT NULL CHECK (source IN ('bookto', 'spool', 'replay')),
    received_at         timestamptz NOT NULL,
    stored_at           timestamptz NOT NULL DEFAULT now(),
    event               text,
    signature_timestamp bigint,
    body                bytea NOT NULL,
    body_sha256         text NOT NULL,
    outcome             text NOT NULL CHECK (outcome IN
                          ('accepted', 'duplicate', 'duplicate_differs', 'ignored', 'invalid_json')),
    order_id            text
);
CREATE INDEX deliveries_order_idx ON deliveries (connection_id, order_id);

CREATE TABLE orders (
    id                    bigserial PRIMARY KEY,
    connection_id         bigint NOT NULL REFERENCES connections(id),
    order_id              text NOT NULL,
    order_number          text NOT NULL DEFAULT '',
    is_test_order         boolean NOT NULL DEFAULT false,
    payment_provider      text NOT NULL DEFAULT '',
    paid_at               timestamptz,
    currency              text NOT NULL DEFAULT '',
    total_incl_cents      bigint NOT NULL DEFAULT 0,
    excl_vat_cents        bigint NOT NULL DEFAULT 0,
    vat_cents             bigint NOT NULL DEFAULT 0,
    vat_rate              text NOT NULL DEFAULT '',
    vat_treatment         text NOT NULL DEFAULT '',
    product_name          text NOT NULL DEFAULT '',
    product_description   text NOT NULL DEFAULT '',
    buyer_first_name      text NOT NULL DEFAULT '',
    buyer_last_name       text NOT NULL DEFAULT '',
    buyer_email           text NOT NULL DEFAULT '',
    buyer_company         text NOT NULL DEFAULT '',
    buyer_vat_number      text NOT NULL DEFAULT '',
    buyer_peppol_id       text NOT NULL DEFAULT '',
    buyer_address         text NOT NULL DEFAULT '',
    buyer_address2        text NOT NULL DEFAULT '',
    buyer_postal_code     text NOT NULL DEFAULT '',
    buyer_city            text NOT NULL DEFAULT '',
    buyer_country         text NOT NULL DEFAULT '',
    custom_fields         jsonb NOT NULL DEFAULT '[]',
    match_ref             text NOT NULL DEFAULT '',
    match_ref_derived     boolean NOT NULL DEFAULT false,
    first_delivery_id     bigint NOT NULL REFERENCES deliveries(id),
    state                 text NOT NULL CHECK (state IN ('queued', 'in_progress', 'retrying',
                            'needs_attention', 'skipped', 'synced', 'reconciled')),
    attempts              integer NOT NULL DEFAULT 0,
    last_error            text,
    moneybird_contact_id  text,
    moneybird_invoice_id  text,
    invoice_state         text,
    received_at           timestamptz NOT NULL,
    synced_at             timestamptz,
    paid_confirmed_at     timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (connection_id, order_id)
);
CREATE INDEX orders_state_idx ON orders (state);

-- The work queue: one row per unit of work, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL DEFAULT 'sync_order',
    order_pk         bigint REFERENCES orders(id),
    priority         smallint NOT NULL DEFAULT 0,      -- lower runs first: live orders 0, backfill 10
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'parked')),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    step             text,                             -- the exactly-once intent (later issues)
    intent           jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_ready_idx ON jobs (priority, next_attempt_at) WHERE state = 'pending';
CREATE UNIQUE INDEX jobs_one_sync_per_order ON jobs (order_pk) WHERE kind = 'sync_order';

-- Append-only audit log. Each row's row_hash covers its own content and the
-- previous row's hash, so any edit, deletion or reordering breaks the chain.
-- Rows carry ids, states and outcomes only -- never personal data -- so buyer
-- data can be erased from orders without breaking the chain.
CREATE TABLE audit_log (
    id            bigint PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor         text NOT NULL,                       -- intake, worker, operator, reconcile, spool
    action        text NOT NULL,
    connection_id bigint,
    order_pk      bigint,
    from_state    text,
    to_state      text,
    detail        jsonb NOT NULL DEFAULT '{}',
    prev_hash     bytea NOT NULL,
    row_hash      bytea NOT NULL
);
CREATE SEQUENCE audit_log_id_seq;
CREATE INDEX audit_log_order_idx ON audit_log (order_pk);

CREATE FUNCTION audit_row_digest(prev bytea, a audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(concat_ws(E'\x1f',
        a.id::text,
        to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.actor, a.action,
        coalesce(a.connection_id::text, ''), coalesce(a.order_pk::text, ''),
        coalesce(a.from_state, ''), coalesce(a.to_state, ''),
        a.detail::text), 'UTF8'))
$$;

-- Appends are serialised by a transaction-scoped advisory lock so that ids
-- follow chain order; the id is taken after the lock for the same reason.
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(7262818452);
    SELECT row_hash INTO previous FROM audit_log ORDER BY id DESC LIMIT 1;
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    NEW.prev_hash := coalesce(previous, '\x00'::bytea);
    NEW.row_hash := audit_row_digest(NEW.prev_hash, NEW);
    RETURN NEW;
END $$;

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- The first row whose hash does not follow from its predecessor, or NULL.
CREATE FUNCTION audit_first_broken_row() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    r audit_log;
    previous bytea := '\x00'::bytea;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        IF r.prev_hash <> previous OR r.row_hash <> audit_row_digest(previous, r) THEN
            RETURN r.id;
        END IF;
        previous := r.row_hash;
    END LOOP;
    RETURN NULL;
END $$;

CREATE VIEW sync_status AS
SELECT c.name                 AS connection,
       o.order_id,
       o.order_number,
       o.is_test_order,
       o.state,
       o.match_ref,
       o.moneybird_contact_id,
       o.moneybird_invoice_id,
       o.invoice_state,
       o.attempts,
       o.last_error,
       o.received_at,
       o.synced_at,
       o.paid_confirmed_at,
       o.updated_at
FROM orders o
JOIN connections c ON c.id = o.connection_id;
