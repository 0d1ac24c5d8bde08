"""One patch for the leaner case (issue 14), so a new case pays for a single marker.

Every `workflow.patched` records a marker and upserts the SDK's `TemporalChangeVersion` search attribute;
one id for all of these changes costs a new workflow two events instead of two per change. Behind it:
the case builds its state from the context intake passed (no `resolve_context` activity), upserts no search
attributes (intake sets the fixed ones at the start), and keeps one timer per deadline; a department task
keeps one timer per deadline and does not signal its own summons back to the case. Histories recorded
before take the old path in each place.
"""

LEAN_CASE = "lean-case"
