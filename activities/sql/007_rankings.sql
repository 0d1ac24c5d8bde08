-- The red/black list (红黑榜) per period: every ranked organisation's score, and its place on a list.
CREATE TABLE rankings (
    period              text NOT NULL,
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    org                 text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('PROPERTY_COMPANY', 'DEPARTMENT')),
    score               double precision NOT NULL CHECK (score BETWEEN 0 AND 100),
    entry               jsonb NOT NULL,
    board               text CHECK (board IN ('RED', 'BLACK')),
    position            integer,
    computed_at         timestamptz NOT NULL,
    PRIMARY KEY (period, org),
    CHECK ((board IS NULL) = (position IS NULL))
);

CREATE INDEX rankings_latest ON rankings (period_end DESC, period);

