-- Case lists stay fast at a million cases (measured in docs/statistics.md): each index serves one keyset
-- order of `activities/search.py` exactly, so a page reads its 50 rows instead of sorting the jurisdiction.

-- sort=deadline (overdue first, then the soonest deadline, then the id) within a district; closed cases
-- have no deadline and sort last, so open ones come first without a partial index.
CREATE INDEX cases_district_deadline_order
    ON cases (district, (NOT overdue), (coalesce(deadline, 'infinity'::timestamptz)), case_id);

-- sort=oldest/newest by (reported_at, case_id) within a jurisdiction; they replace the (x, reported_at)
-- indexes of 002, which could not give the id order.
CREATE INDEX cases_district_time ON cases (district, reported_at, case_id);
CREATE INDEX cases_street_time ON cases (street, reported_at, case_id);
CREATE INDEX cases_community_time ON cases (community, reported_at, case_id);
CREATE INDEX cases_compound_time ON cases (compound, reported_at, case_id);
DROP INDEX cases_street;
DROP INDEX cases_community;
DROP INDEX cases_compound;

-- overdue now: open cases past their deadline
CREATE INDEX cases_open_deadline ON cases (deadline) WHERE status IN ('REPORTED', 'IN_PROGRESS', 'REOPENED');
