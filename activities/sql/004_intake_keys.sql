-- Idempotent intake: a hotline ticket id or an Idempotency-Key maps to exactly one case.
CREATE TABLE intake_keys (
    key        text PRIMARY KEY,
    case_id    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
