-- The bookkeeper's console (serve's second listener): its users, their
-- server-side sessions and the failed logins that rate-limit guessing.
--
-- A password is stored only as a PBKDF2-SHA256 hash string
-- ("pbkdf2-sha256$ITERATIONS$SALT$HASH", base64); a session row holds the
-- SHA-256 of the session id the browser keeps, so a database reader cannot
-- take over a session. Removing a user removes their sessions.
CREATE TABLE console_users (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
    role           text NOT NULL CHECK (role IN ('viewer', 'operator')),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    password_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz
);

CREATE TABLE console_sessions (
    id_sha256   text PRIMARY KEY,                -- hex SHA-256 of the cookie's id
    user_id     bigint NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,                   -- echoed by every form
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_id);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);

-- One row per failed login; a login is refused while too many recent rows
-- name the same user or come from the same address. Old rows are pruned.
CREATE TABLE console_login_failures (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    address   text NOT NULL
);
CREATE INDEX console_login_failures_user_idx ON console_login_failures (username, at);
CREATE INDEX console_login_failures_address_idx ON console_login_failures (address, at);

-- A reconciliation started from the console is recorded as such.
ALTER TABLE reconcile_runs DROP CONSTRAINT IF EXISTS reconcile_runs_trigger_check;
ALTER TABLE reconcile_runs ADD CONSTRAINT reconcile_runs_trigger_check
    CHECK (trigger IN ('command', 'periodic', 'console'));
