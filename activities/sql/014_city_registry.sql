-- A city's registry, imported and edited: councils with fewer parties, routing per district, retirement,
-- compound boundaries, and an audit of every change with who made it.

-- 三无/无物管 old compounds: no property company (the community stands in as the council's owner) or no
-- owners' committee. The community committee always sits on the council.
ALTER TABLE compound_parties ALTER COLUMN owners_committee DROP NOT NULL;
ALTER TABLE compound_parties ALTER COLUMN property_company DROP NOT NULL;
-- Who answers for the council level (as schemas.registry.council_owner): the property company, else the community.
ALTER TABLE compound_parties
    ADD COLUMN council_owner text GENERATED ALWAYS AS (coalesce(property_company, community_committee)) STORED;

-- Also added by 013 (compound boundaries as GeoJSON); either migration may come first.
ALTER TABLE jurisdictions ADD COLUMN IF NOT EXISTS boundary jsonb;

-- Department codes are unique across the city, so each district routes each category to departments of its own.
CREATE TABLE category_routing (
    category text NOT NULL REFERENCES categories (code),
    district text NOT NULL REFERENCES jurisdictions (code),
    lead     text NOT NULL REFERENCES organisations (code),
    assist   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (category, district)
);

INSERT INTO category_routing (category, district, lead, assist)
SELECT c.code, o.jurisdiction, o.code,
       ARRAY(SELECT jsonb_array_elements_text(coalesce(c.definition->'routing'->'assist', '[]'::jsonb)))
  FROM categories c JOIN organisations o ON o.code = c.definition->'routing'->>'lead';
UPDATE categories SET definition = definition - 'routing';

-- Retired organisations and categories stay for the names in old cases' timelines; nothing new may use them.
ALTER TABLE organisations ADD COLUMN retired_at timestamptz;
ALTER TABLE categories ADD COLUMN retired_at timestamptz;

-- A registry administrator's key is issued to a district command centre.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('COUNCIL', 'COMMUNITY', 'STREET', 'DEPARTMENT', 'SUPERVISOR', 'INTAKE', 'ADMIN'));

-- Every change to the registry: what it was before and after, who made it and through what.
CREATE TABLE registry_changes (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,
    key_id text,
    via    text NOT NULL CHECK (via IN ('IMPORT', 'API')),
    part   text NOT NULL,
    key    text NOT NULL,
    action text NOT NULL CHECK (action IN ('ADDED', 'CHANGED', 'RETIRED')),
    before jsonb,
    after  jsonb
);

CREATE INDEX registry_changes_key ON registry_changes (part, key, at);
