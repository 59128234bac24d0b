-- Evidence that holds.
--
-- 1. Every column of an audit row counts, unambiguously. The first digest
--    (audit_row_digest, version 1) joined the fields with a separator and
--    turned NULL into '': a from_state or to_state changed from NULL to ''
--    (or text moved across the separator) kept the hash. Rows appended from
--    now on carry digest_version 2: SHA-256 over the previous hash and a JSON
--    array of every column (NULL stays null, strings are escaped), the
--    version included. Rows written before this migration keep version 1 and
--    are verified with the digest they were written with, so an intact old
--    log stays intact; a version-1 row after a version-2 row is a break.
-- 2. Stored evidence cannot be rewritten by the runtime role: a delivery's
--    body, hash and identity, and an order's identity, buyer and money
--    fields, are refused to every role but a superuser (who can bypass any
--    trigger anyway), and so are deletions of deliveries and orders. The
--    connector changes none of them; it updates only a delivery's outcome
--    and an order's workflow columns, each with its audit row. The owner of
--    the tables can still disable these triggers: only the chain head kept
--    outside the database (`audit head`, `audit verify --expect`) shows that.

ALTER TABLE audit_log ADD COLUMN digest_version smallint NOT NULL DEFAULT 1;

CREATE FUNCTION audit_row_digest_v2(prev bytea, a audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(jsonb_build_array(
        a.digest_version, a.id,
        to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.actor, a.action, a.connection_id, a.order_pk, a.from_state, a.to_state,
        a.detail)::text, 'UTF8'))
$$;

-- The digest a row was written with; NULL (never equal) for an unknown version.
CREATE FUNCTION audit_row_hash(prev bytea, a audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE a.digest_version
               WHEN 1 THEN audit_row_digest(prev, a)
               WHEN 2 THEN audit_row_digest_v2(prev, a)
           END
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
    NEW.row_hash := audit_row_digest_v2(NEW.prev_hash, NEW);
    RETURN NEW;
END $$;

-- The first row whose hash does not follow from its predecessor, or NULL.
-- (`audit verify` walks the log in pages instead; this one statement is for
-- small logs and tests.)
CREATE OR REPLACE FUNCTION audit_first_broken_row() RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r audit_log;
    previous bytea := '\x00'::bytea;
    seen_v2 boolean := false;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        IF r.prev_hash <> previous OR r.row_hash IS DISTINCT FROM audit_row_hash(previous, r)
           OR (seen_v2 AND r.digest_version < 2) THEN
            RETURN r.id;
        END IF;
        seen_v2 := seen_v2 OR r.digest_version >= 2;
        previous := r.row_hash;
    END LOOP;
    RETURN NULL;
END $$;

-- True for a superuser: it may change anything (it could disable the
-- triggers anyway), e.g. to erase a buyer's personal data on request.
-- The guards fix their search_path: a session's cannot put another pg_roles
-- or function in their way.
CREATE FUNCTION evidence_may_rewrite() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $$
    SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
$$;

CREATE FUNCTION evidence_refuse(what text, op text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is stored evidence: % refused', what, op
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Only the delivery outcome and an order''s workflow columns may change.';
END $$;

-- Deliveries: only the outcome (duplicate marking) may change.
CREATE FUNCTION deliveries_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT evidence_may_rewrite() THEN
            PERFORM evidence_refuse('a delivery', 'DELETE');
        END IF;
        RETURN OLD;
    END IF;
    IF (NEW.id, NEW.delivery_key, NEW.connection_id, NEW.source, NEW.received_at,
        NEW.stored_at, NEW.event, NEW.signature_timestamp, NEW.body, NEW.body_sha256,
        NEW.order_id)
       IS DISTINCT FROM
       (OLD.id, OLD.delivery_key, OLD.connection_id, OLD.source, OLD.received_at,
        OLD.stored_at, OLD.event, OLD.signature_timestamp, OLD.body, OLD.body_sha256,
        OLD.order_id) AND NOT evidence_may_rewrite() THEN
        PERFORM evidence_refuse('a delivery''s body, hash and identity', 'UPDATE');
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER deliveries_evidence BEFORE UPDATE OR DELETE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION deliveries_guard();

-- Orders: identity, buyer and money as parsed from the first delivery.
CREATE FUNCTION orders_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
DECLARE
    protected constant text[] := ARRAY[
        'id', 'connection_id', 'order_id', 'order_number', 'is_test_order',
        'payment_provider', 'paid_at', 'currency', 'total_incl_cents', 'excl_vat_cents',
        'vat_cents', 'vat_rate', 'vat_treatment', 'product_name', 'product_description',
        'buyer_first_name', 'buyer_last_name', 'buyer_email', 'buyer_company',
        'buyer_vat_number', 'buyer_peppol_id', 'buyer_address', 'buyer_address2',
        'buyer_postal_code', 'buyer_city', 'buyer_country', 'custom_fields', 'match_ref',
        'match_ref_derived', 'first_delivery_id', 'received_at'];
    old_row jsonb;
    new_row jsonb;
    col text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT evidence_may_rewrite() THEN
            PERFORM evidence_refuse('an order', 'DELETE');
        END IF;
        RETURN OLD;
    END IF;
    -- The usual update (a workflow step) changes none of them: no catalog
    -- lookup then.
    old_row := to_jsonb(OLD);
    new_row := to_jsonb(NEW);
    FOREACH col IN ARRAY protected LOOP
        IF (old_row -> col) IS DISTINCT FROM (new_row -> col)
           AND NOT evidence_may_rewrite() THEN
            PERFORM evidence_refuse(format('orders.%s', col), 'UPDATE');
        END IF;
    END LOOP;
    RETURN NEW;
END $$;

CREATE TRIGGER orders_evidence BEFORE UPDATE OR DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_guard();

-- What `audit verify` reads, one page at a time: each row's place in the
-- chain and whether its hash follows from its content and its prev_hash.
CREATE FUNCTION audit_chain_page(after_id bigint, page_size integer)
RETURNS TABLE (id bigint, digest_version smallint, prev_hash bytea, row_hash bytea,
               digest_ok boolean)
LANGUAGE sql STABLE AS $$
    SELECT a.id, a.digest_version, a.prev_hash, a.row_hash,
           coalesce(a.row_hash = audit_row_hash(a.prev_hash, a), false)
    FROM audit_log a
    WHERE a.id > after_id
    ORDER BY a.id
    LIMIT page_size
$$;

-- 3. /metrics without scanning the orders. A scrape used to count every
--    order by state and scan every synced order for the latency histogram,
--    work that grew with history (and a scrape times out after 2 s). The
--    counts are now maintained by statement triggers (one small upsert per
--    statement that inserts or changes orders; such statements hold the
--    audit chain's lock already, so the counter rows add no waiting), and a
--    scrape reads a few rows.
CREATE TABLE order_state_counts (
    connection_id bigint NOT NULL,
    state         text NOT NULL,
    n             bigint NOT NULL,
    PRIMARY KEY (connection_id, state)
);

-- The received -> synced latency, per histogram bucket (not cumulative):
-- le is the bucket's upper bound in seconds (the bounds /metrics publishes).
CREATE TABLE sync_latency_counts (
    le          float8 PRIMARY KEY,
    n           bigint NOT NULL,
    sum_seconds float8 NOT NULL
);

CREATE FUNCTION sync_latency_bucket(seconds float8) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(min(b), 'Infinity'::float8)
    FROM unnest(ARRAY[1, 5, 15, 60, 300, 900, 3600, 21600, 86400, 604800]::float8[]) b
    WHERE seconds <= b
$$;

-- Adds the deltas (one element per order row: its connection, state,
-- latency or NULL, and +1 or -1) to the counters.
CREATE FUNCTION order_counts_apply(connection_ids bigint[], states text[], latencies float8[],
                                   signs integer[]) RETURNS void
LANGUAGE sql AS $$
    WITH deltas AS (
        SELECT * FROM unnest(connection_ids, states, latencies, signs) AS d (c, s, l, sign)
    ), counted AS (
        INSERT INTO order_state_counts AS oc (connection_id, state, n)
        SELECT c, s, sum(sign) FROM deltas GROUP BY 1, 2
        ON CONFLICT (connection_id, state) DO UPDATE SET n = oc.n + excluded.n
    )
    INSERT INTO sync_latency_counts AS lc (le, n, sum_seconds)
    SELECT sync_latency_bucket(l), sum(sign), sum(sign * l)
    FROM deltas WHERE l IS NOT NULL GROUP BY 1
    ON CONFLICT (le) DO UPDATE SET n = lc.n + excluded.n,
                                   sum_seconds = lc.sum_seconds + excluded.sum_seconds
$$;

-- One function for the three statement triggers: the rows a statement
-- added count +1, the rows it removed -1; an UPDATE moves only the rows
-- whose state or latency changed (most steps change neither).
CREATE FUNCTION orders_count_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c bigint[];
    s text[];
    l float8[];
    sign integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(connection_id), array_agg(state),
               array_agg(extract(epoch FROM synced_at - received_at)::float8),
               array_agg(1)
        INTO c, s, l, sign FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(connection_id), array_agg(state),
               array_agg(extract(epoch FROM synced_at - received_at)::float8),
               array_agg(-1)
        INTO c, s, l, sign FROM old_rows;
    ELSE
        WITH changed AS (
            SELECT o.connection_id AS oc, o.state AS os,
                   extract(epoch FROM o.synced_at - o.received_at)::float8 AS ol,
                   n.connection_id AS nc, n.state AS ns,
                   extract(epoch FROM n.synced_at - n.received_at)::float8 AS nl
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.connection_id, o.state, o.synced_at, o.received_at)
                  IS DISTINCT FROM (n.connection_id, n.state, n.synced_at, n.received_at)
        ), deltas AS (
            SELECT oc AS dc, os AS ds, ol AS dl, -1 AS dsign FROM changed
            UNION ALL
            SELECT nc, ns, nl, 1 FROM changed
        )
        SELECT array_agg(dc), array_agg(ds), array_agg(dl), array_agg(dsign)
        INTO c, s, l, sign FROM deltas;
    END IF;
    IF c IS NOT NULL THEN
        PERFORM order_counts_apply(c, s, l, sign);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER orders_count_insert AFTER INSERT ON orders
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_count_changes();
CREATE TRIGGER orders_count_update AFTER UPDATE ON orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_count_changes();
CREATE TRIGGER orders_count_delete AFTER DELETE ON orders
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_count_changes();

-- The counts of the orders already stored (the triggers above exist from
-- this transaction's commit on, and CREATE TRIGGER kept writers out since).
INSERT INTO order_state_counts (connection_id, state, n)
SELECT connection_id, state, count(*) FROM orders GROUP BY 1, 2;
INSERT INTO sync_latency_counts (le, n, sum_seconds)
SELECT sync_latency_bucket(s), count(*), sum(s)
FROM (SELECT extract(epoch FROM synced_at - received_at)::float8 AS s
      FROM orders WHERE synced_at IS NOT NULL) latency
GROUP BY 1;
