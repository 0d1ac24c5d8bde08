-- What keeps a case fully viewable after Temporal's namespace retention deletes its closed workflow,
-- written with every projection (only when newer): the `view` query's answer without its timeline
-- (case_events holds that), as json so it reads back exactly as written, and the token hashes of the
-- residents who may read it (sha256 hex -> REPORTER | FOLLOWER; never the tokens).
CREATE TABLE case_views (
    case_id   text PRIMARY KEY,
    last_seq  integer NOT NULL,
    view      json NOT NULL,
    residents jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- The one part of a department task's view its row lacked.
ALTER TABLE department_tasks ADD COLUMN evidence_urls jsonb NOT NULL DEFAULT '[]'::jsonb;
