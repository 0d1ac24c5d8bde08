-- Jurisdictions, organisations, categories and SLA policies: configuration, not case state.
CREATE TABLE jurisdictions (
    code        text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('DISTRICT', 'STREET', 'COMMUNITY', 'COMPOUND')),
    name        text NOT NULL,
    parent      text REFERENCES jurisdictions (code)
);

CREATE TABLE organisations (
    code         text PRIMARY KEY,
    kind         text NOT NULL,
    name         text NOT NULL,
    jurisdiction text NOT NULL REFERENCES jurisdictions (code),
    duties       text
);

CREATE TABLE compound_parties (
    compound            text PRIMARY KEY REFERENCES jurisdictions (code),
    community_committee text NOT NULL REFERENCES organisations (code),
    owners_committee    text NOT NULL REFERENCES organisations (code),
    property_company    text NOT NULL REFERENCES organisations (code)
);

CREATE TABLE categories (
    code       text PRIMARY KEY,
    definition jsonb NOT NULL
);

CREATE TABLE sla_policies (
    name       text PRIMARY KEY,
    definition jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
