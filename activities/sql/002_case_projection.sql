-- The read model of cases, written only by the case workflow's projection activity.
CREATE SEQUENCE case_number;

CREATE TABLE cases (
    case_id              text PRIMARY KEY,
    status               text NOT NULL,
    level                text NOT NULL,
    severity             text NOT NULL,
    category             text NOT NULL,
    channel              text NOT NULL,
    external_id          text,
    district             text NOT NULL,
    street               text NOT NULL,
    community            text NOT NULL,
    compound             text NOT NULL,
    owner                text NOT NULL,
    description          text NOT NULL,
    reported_at          timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    deadline             timestamptz,
    overdue              boolean NOT NULL DEFAULT false,
    supervision          boolean NOT NULL DEFAULT false,
    resolved_level       text,
    resolved_at          timestamptz,
    closed_at            timestamptz,
    close_reason         text,
    reopen_count         integer NOT NULL DEFAULT 0,
    unsatisfied_count    integer NOT NULL DEFAULT 0,
    first_time_satisfied boolean,
    score                integer,
    whistles             integer NOT NULL DEFAULT 0,
    auto_escalations     integer NOT NULL DEFAULT 0,
    reporters            integer NOT NULL DEFAULT 1,
    last_seq             integer NOT NULL
);

CREATE INDEX cases_owner_open ON cases (owner, deadline) WHERE status <> 'CLOSED';
CREATE INDEX cases_status_level ON cases (status, level, deadline);
CREATE INDEX cases_reported ON cases (reported_at, case_id);
CREATE INDEX cases_street ON cases (street, reported_at);
CREATE INDEX cases_community ON cases (community, reported_at);
CREATE INDEX cases_compound ON cases (compound, reported_at);

-- Append-only timeline; (case_id, seq) makes every write idempotent.
CREATE TABLE case_events (
    case_id text NOT NULL,
    seq     integer NOT NULL,
    at      timestamptz NOT NULL,
    kind    text NOT NULL,
    level   text NOT NULL,
    actor   text,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (case_id, seq)
);

CREATE INDEX case_events_kind_at ON case_events (kind, at);
