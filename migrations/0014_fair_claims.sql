-- Budget-aware, fair claims (issue 15). The claim picks a connection first
-- (round-robin among those that have a due job and rate budget to spend now)
-- and then that connection's next job, so a backlog waiting for its budget is
-- never claimed, rewritten or audited while it waits, and an order of an idle
-- connection is claimed at once whatever another connection's backlog is.

-- Jobs carry their connection (copied from the order on insert), so both
-- steps of the claim are index lookups that never scan a backlog.
ALTER TABLE jobs ADD COLUMN connection_id bigint REFERENCES connections(id);
UPDATE jobs j SET connection_id = o.connection_id FROM orders o WHERE o.id = j.order_pk;

CREATE FUNCTION jobs_copy_connection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.connection_id IS NULL AND NEW.order_pk IS NOT NULL THEN
        SELECT o.connection_id INTO NEW.connection_id FROM orders o WHERE o.id = NEW.order_pk;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER jobs_copy_connection BEFORE INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_copy_connection();

-- A connection's next job in claim order, and its earliest due job.
CREATE INDEX jobs_connection_claim_idx ON jobs (connection_id, priority, next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX jobs_connection_due_idx ON jobs (connection_id, next_attempt_at)
    WHERE state = 'pending';
-- The queue-wide index goes: the per-connection ones cover the same rows, and
-- left in place the planner may read a connection's next job through it,
-- filtering past every other connection's backlog.
DROP INDEX jobs_ready_idx;
-- The jobs under a lease (a handful per connection): in flight, or left by a
-- crashed worker until the lease expires.
CREATE INDEX jobs_connection_leased_idx ON jobs (connection_id, lease_expires_at)
    WHERE state = 'pending' AND lease_owner IS NOT NULL;

-- Per connection: its rate budget (the token's key and the live limit, written
-- by `serve` at start; NULL = unknown, the claim then ignores the budget) and
-- when a job of it was last claimed (the round-robin order).
CREATE TABLE connection_claims (
    connection_id   bigint PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    budget_key      text CHECK (budget_key ~ '^[0-9a-f]{64}$'),
    budget_requests integer CHECK (budget_requests >= 1),
    budget_window   interval,
    last_claimed_at timestamptz NOT NULL DEFAULT '-infinity'
);

-- Calls the budget of p_key still allows now (p_allowed per p_window, none
-- while a 429 pause lasts); a huge number when the budget is unknown.
CREATE FUNCTION claim_budget_free(p_key text, p_allowed integer, p_window interval)
RETURNS integer LANGUAGE plpgsql VOLATILE COST 500 AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_used integer;
BEGIN
    IF p_key IS NULL OR p_allowed IS NULL OR p_window IS NULL THEN
        RETURN 1000000000;
    END IF;
    IF EXISTS (SELECT 1 FROM rate_budgets b WHERE b.token_key = p_key
               AND b.paused_until > v_now) THEN
        RETURN 0;
    END IF;
    SELECT count(*) INTO v_used FROM rate_budget_calls c
        WHERE c.token_key = p_key AND c.at > v_now - p_window;
    RETURN greatest(p_allowed - v_used, 0);
END $$;

-- When the budget of p_key allows p_need calls (now when it already does; the
-- pause's end at the earliest): the (used - allowed + need)-th oldest call
-- leaving the window. p_need above p_allowed is never met: one window on.
CREATE FUNCTION claim_budget_at(p_key text, p_allowed integer, p_window interval,
                                p_need integer)
RETURNS timestamptz LANGUAGE plpgsql VOLATILE COST 500 AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_paused timestamptz;
    v_used integer;
    v_at timestamptz;
BEGIN
    IF p_key IS NULL OR p_allowed IS NULL OR p_window IS NULL THEN
        RETURN v_now;
    END IF;
    IF p_need > p_allowed THEN
        RETURN v_now + p_window;
    END IF;
    SELECT b.paused_until INTO v_paused FROM rate_budgets b WHERE b.token_key = p_key;
    SELECT count(*) INTO v_used FROM rate_budget_calls c
        WHERE c.token_key = p_key AND c.at > v_now - p_window;
    IF p_allowed - v_used >= p_need THEN
        v_at := v_now;
    ELSE
        SELECT c.at + p_window INTO v_at FROM rate_budget_calls c
            WHERE c.token_key = p_key AND c.at > v_now - p_window
            ORDER BY c.at OFFSET v_used - p_allowed + p_need - 1 LIMIT 1;
    END IF;
    RETURN greatest(coalesce(v_at, v_now), coalesce(v_paused, v_now));
END $$;
