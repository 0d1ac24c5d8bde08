-- The case projection's first statement (activities/rollups.py): take the case's lock, then read what the roll-ups
-- need. A function, because a VOLATILE PL/pgSQL function takes a fresh snapshot for each query it runs: the reads
-- see whatever a projection of the same case committed while this one waited for the lock (one plain statement
-- would read its snapshot from before the wait). Replaced, never altered, so running this again changes nothing.
--
-- It also makes the rest of the projection's transaction use each statement's generic plan: PostgreSQL otherwise
-- plans the projection's write (several data-modifying CTEs over unnested arrays) afresh on every call, which
-- costs more than running it.
CREATE OR REPLACE FUNCTION statistics_case_locked(
    _case text, _seqs integer[], _kinds text[], _zone text, _reported_at timestamptz, _compound text, _district text)
RETURNS TABLE (company text, centre text, old jsonb, earlier jsonb, stored integer[], day date, has_tasks boolean)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('plan_cache_mode', 'force_generic_plan', true), pg_advisory_xact_lock(hashtextextended(_case, 16));
    RETURN QUERY
    SELECT (SELECT p.council_owner FROM compound_parties p WHERE p.compound = _compound),
           (SELECT o.code FROM organisations o WHERE o.jurisdiction = _district AND o.kind = 'DISTRICT_CENTRE'
             LIMIT 1),
           (SELECT jsonb_build_object(
                       'case_id', c.case_id, 'compound', c.compound, 'community', c.community, 'street', c.street,
                       'district', c.district, 'status', c.status, 'level', c.level, 'close_reason', c.close_reason,
                       'resolved_level', c.resolved_level, 'whistles', c.whistles,
                       'auto_escalations', c.auto_escalations, 'first_time_satisfied', c.first_time_satisfied,
                       'score', c.score, 'reopen_count', c.reopen_count, 'supervision', c.supervision,
                       'last_seq', c.last_seq)
              FROM cases c WHERE c.case_id = _case),
           -- the case's events of `_kinds` (none asked when the projection brings no event of those kinds)
           CASE WHEN cardinality(_kinds) > 0 THEN
               (SELECT jsonb_agg(jsonb_build_object('seq', e.seq, 'kind', e.kind, 'level', e.level, 'details', e.details))
                  FROM case_events e WHERE e.case_id = _case AND e.kind = ANY(_kinds)) END,
           (SELECT array_agg(e.seq) FROM case_events e WHERE e.case_id = _case AND e.seq = ANY(_seqs)),
           -- the day the case is filed under; a new case's day to file it under; none for a case the backfill adds
           CASE WHEN EXISTS (SELECT FROM cases c WHERE c.case_id = _case)
                THEN (SELECT r.day FROM statistics_rolled_up r WHERE r.case_id = _case)
                WHEN NOT EXISTS (SELECT FROM statistics_rolled_up r WHERE r.case_id = _case)
                THEN (_reported_at AT TIME ZONE _zone)::date END,
           EXISTS (SELECT FROM department_tasks t WHERE t.case_id = _case);
END
$$;
