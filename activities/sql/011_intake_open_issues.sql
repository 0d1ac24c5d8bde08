-- An Idempotency-Key answers only a repeat of the same report: the report's sha256 is kept with it.
ALTER TABLE intake_keys ADD COLUMN fingerprint text;

-- The case intake opened last for an issue (compound, category), recorded under the issue's lock once
-- the case has started, so the next report of that issue follows it before the read model shows it.
CREATE TABLE open_issues (
    compound  text NOT NULL,
    category  text NOT NULL,
    case_id   text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (compound, category)
);
