-- Bearer API keys of organisations (handlers, departments, supervisors, intake channels), stored hashed.
CREATE TABLE api_keys (
    key_id     text PRIMARY KEY,           -- public part of the key: listed, used to revoke
    key_hash   text NOT NULL UNIQUE,       -- sha256 hex of the whole key; the key itself is never stored
    org        text NOT NULL,
    role       text NOT NULL CHECK (role IN ('COUNCIL', 'COMMUNITY', 'STREET', 'DEPARTMENT', 'SUPERVISOR', 'INTAKE')),
    channel    text,                       -- intake keys: the channel their reports come through
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((role = 'INTAKE') = (channel IS NOT NULL))
);

CREATE INDEX api_keys_org ON api_keys (org);
