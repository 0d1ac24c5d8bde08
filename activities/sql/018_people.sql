-- People who sign in to the web pages, their sessions, and failed sign-ins per typed account.
CREATE TABLE people (
    account              text PRIMARY KEY,
    name                 text NOT NULL,
    org                  text NOT NULL REFERENCES organisations (code),
    role                 text NOT NULL CHECK (role IN ('COUNCIL', 'COMMUNITY', 'STREET', 'DEPARTMENT', 'SUPERVISOR', 'ADMIN')),
    password_hash        text NOT NULL,                  -- argon2 (pwdlib); the password itself is never stored
    must_change_password boolean NOT NULL DEFAULT true,  -- set by creation and an administrator's reset
    disabled_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX people_org ON people (org);

-- Failures are counted per account *as typed*, existing or not, so a lock-out answers alike for every name
-- and tells an attacker nothing about which accounts exist.
CREATE TABLE sign_in_failures (
    account         text PRIMARY KEY,
    failed_attempts integer NOT NULL,
    locked_until    timestamptz,
    last_failed_at  timestamptz NOT NULL
);

CREATE TABLE sessions (
    id_hash      text PRIMARY KEY,                   -- sha256 hex of the cookie's 32 random bytes
    account      text NOT NULL REFERENCES people (account),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),  -- for the idle limit
    expires_at   timestamptz NOT NULL,               -- the absolute limit
    revoked_at   timestamptz
);

CREATE INDEX sessions_account ON sessions (account) WHERE revoked_at IS NULL;
