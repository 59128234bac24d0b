-- The shared Moneybird rate budget: a sliding log of calls per API token, so
-- every thread, process and host that uses one token together stays under
-- `requests` calls in any window of `per_seconds`. The token itself is never
-- stored: token_key is the hex SHA-256 of it.

CREATE TABLE rate_budgets (
    token_key            text PRIMARY KEY CHECK (token_key ~ '^[0-9a-f]{64}$'),
    paused_until         timestamptz,          -- set from a 429's reset epoch
    last_rate_limited_at timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- One row per call granted; rows older than the window are pruned on the
-- next acquire for that token.
CREATE TABLE rate_budget_calls (
    token_key text NOT NULL REFERENCES rate_budgets(token_key) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    priority  smallint NOT NULL DEFAULT 0
);
CREATE INDEX rate_budget_calls_key_at ON rate_budget_calls (token_key, at);

-- Grants one call when fewer than p_allowed calls were granted in the last
-- p_window and the token is not paused. The per-token row lock serialises
-- the check and the insert across all sessions. When refused, retry_at is
-- the earliest moment a slot frees (or the pause ends). Times are the
-- database's clock, the one clock every host shares.
CREATE FUNCTION rate_budget_take(p_key text, p_allowed integer, p_window interval,
                                 p_priority smallint)
RETURNS TABLE (granted boolean, retry_at timestamptz, used integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_now    timestamptz;
    v_paused timestamptz;
    v_used   integer;
    v_frees  timestamptz;
BEGIN
    INSERT INTO rate_budgets (token_key) VALUES (p_key) ON CONFLICT (token_key) DO NOTHING;
    SELECT b.paused_until INTO v_paused FROM rate_budgets b WHERE b.token_key = p_key FOR UPDATE;
    v_now := clock_timestamp();
    DELETE FROM rate_budget_calls c WHERE c.token_key = p_key AND c.at <= v_now - p_window;
    SELECT count(*) INTO v_used FROM rate_budget_calls c WHERE c.token_key = p_key;
    IF v_paused IS NOT NULL AND v_paused > v_now THEN
        RETURN QUERY SELECT false, v_paused, v_used;
        RETURN;
    END IF;
    IF v_used < p_allowed THEN
        INSERT INTO rate_budget_calls (token_key, at, priority) VALUES (p_key, v_now, p_priority);
        RETURN QUERY SELECT true, v_now, v_used + 1;
        RETURN;
    END IF;
    -- Used drops below p_allowed once the (used - allowed + 1)-th oldest expires.
    SELECT c.at + p_window INTO v_frees FROM rate_budget_calls c WHERE c.token_key = p_key
        ORDER BY c.at OFFSET greatest(v_used - p_allowed, 0) LIMIT 1;
    RETURN QUERY SELECT false, coalesce(v_frees, v_now + p_window), v_used;
END $$;
