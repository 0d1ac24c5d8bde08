-- Notification outbox, written in the same transaction as the case projection; one row per
-- (case, event, recipient), so a retried projection never adds a second one.
CREATE TABLE notifications (
    case_id         text NOT NULL,
    seq             integer NOT NULL,
    recipient       text NOT NULL,  -- an organisation code, or resident:<case_id>
    topic           text NOT NULL,
    level           text NOT NULL,
    occurred_at     timestamptz NOT NULL,  -- the event's time on the workflow clock
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    delivered_at    timestamptz,
    channel         text,  -- how it was delivered: log or webhook
    PRIMARY KEY (case_id, seq, recipient)
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX notifications_recipient ON notifications (recipient, created_at);

-- Where an organisation's notifications go: its own subscription, else the '*' one, else the log.
-- 'resident' receives the residents' notifications (recipient resident:<case_id>).
CREATE TABLE webhook_subscriptions (
    org        text PRIMARY KEY,
    url        text NOT NULL,
    secret     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
