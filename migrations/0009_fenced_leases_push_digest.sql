-- Fenced leases and replay-proof Moneybird pushes.

-- Every claim of a job increments its lease generation (a fencing token). A
-- worker commits an invoice or payment intent only while the job still
-- carries the generation it claimed, in the same statement, so a worker that
-- stalled past its lease while another took the job over cannot start a
-- second create; owner names alone cannot tell two claims apart.
ALTER TABLE jobs ADD COLUMN lease_generation bigint NOT NULL DEFAULT 0;

-- The Idempotency-Key of a push is not signed: a captured push replayed
-- with a new key verifies. The SHA-256 of the signed body is, so a body is
-- stored (and applied) once per connection whatever its key. Rows stored
-- before this migration keep a digest only for the first of each body, so
-- earlier replays cannot make the unique index fail.
ALTER TABLE moneybird_events ADD COLUMN body_sha256 text;
UPDATE moneybird_events SET body_sha256 = encode(sha256(body), 'hex')
    WHERE id IN (SELECT min(id) FROM moneybird_events
                 GROUP BY connection_id, sha256(body));
CREATE UNIQUE INDEX moneybird_events_body_once
    ON moneybird_events (connection_id, body_sha256);
