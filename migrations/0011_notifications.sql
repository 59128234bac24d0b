-- Notifications (the optional `notify` config section): messages to a chat
-- webhook and/or by email when an order is parked, a connection pauses or
-- resumes, or a reconciliation finds differences.
--
-- serve's notifier reads the audit log and the finished reconcile runs after
-- its cursors (one row, locked while a notifier works, so several hosts never
-- queue the same event twice) and queues one message per cause: while a
-- message of a cause waits, further events of that cause are added to it
-- (counted, the first lines kept), and a cause's next message is due no
-- sooner than the configured interval after its last one. A message is sent
-- inside the transaction that claims it, so a restart neither loses nor
-- repeats it (only a crash between the receiver's answer and the commit
-- can repeat one).
CREATE TABLE notify_cursor (
    id                boolean PRIMARY KEY DEFAULT true CHECK (id),
    audit_id          bigint NOT NULL,   -- last audit_log row looked at
    reconcile_run_id  bigint NOT NULL    -- last finished reconcile run looked at
);
-- Start at the present: history is not announced.
INSERT INTO notify_cursor (audit_id, reconcile_run_id)
SELECT (SELECT coalesce(max(id), 0) FROM audit_log),
       (SELECT coalesce(max(id), 0) FROM reconcile_runs);

CREATE TABLE notifications (
    id               bigserial PRIMARY KEY,
    cause            text NOT NULL,          -- e.g. parked:shop, paused:shop, reconcile:shop
    created_at       timestamptz NOT NULL DEFAULT now(),
    due_at           timestamptz NOT NULL,   -- not before the cause's interval has passed
    events           integer NOT NULL DEFAULT 1,
    lines            text[] NOT NULL,        -- the first events, one line each
    webhook_sent_at  timestamptz,            -- per channel, so a retry never repeats one
    email_sent_at    timestamptz,
    sent_at          timestamptz,            -- every configured channel done
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    given_up_at      timestamptz             -- after too many failed attempts
);
-- At most one waiting message per cause: new events join it.
CREATE UNIQUE INDEX notifications_waiting_idx ON notifications (cause)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
CREATE INDEX notifications_cause_sent_idx ON notifications (cause, sent_at);
