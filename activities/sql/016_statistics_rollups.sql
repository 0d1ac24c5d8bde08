-- Statistics roll-ups: per local report day (WHISTLE_TIMEZONE) × compound (with its community, street and
-- district), one count per (figure, level, org). No figure is sliced by category or severity, and keying by
-- them made more rows than there are events (a cell per case): they are left out until a figure needs them. Written by the case projection in the
-- transaction that inserts the case's events (activities/rollups.py); a period's figure is a sum over days.
-- '' stands for "no level" / "no organisation" so that the key can be a primary key.
CREATE TABLE statistics_rollups (
    day       date   NOT NULL,
    compound  text   NOT NULL,
    community text   NOT NULL,
    street    text   NOT NULL,
    district  text   NOT NULL,
    figure    text   NOT NULL,
    level     text   NOT NULL DEFAULT '',
    org       text   NOT NULL DEFAULT '',
    n         bigint NOT NULL,
    PRIMARY KEY (day, compound, figure, level, org)
);

CREATE INDEX statistics_rollups_district ON statistics_rollups (district, day);
CREATE INDEX statistics_rollups_street ON statistics_rollups (street, day);
CREATE INDEX statistics_rollups_community ON statistics_rollups (community, day);
CREATE INDEX statistics_rollups_compound ON statistics_rollups (compound, day);

-- The cases whose history is in the roll-ups (the projection adds its own case here when it first writes it,
-- so a backfill running beside live traffic never counts a case twice), with the local day they are filed under
-- and the zone that day is of: every later change of the case goes to the same day, and figures are read from
-- the roll-ups only while every case is filed in the deployment's zone.
CREATE TABLE statistics_rolled_up (
    case_id text PRIMARY KEY,
    day     date NOT NULL,
    zone    text NOT NULL
);

CREATE INDEX statistics_rolled_up_zone ON statistics_rolled_up (zone);

-- Cases written before this migration are not in the roll-ups until `whistle stats backfill` has added them:
-- until then a row of no zone ('') makes `statistics()` count in one pass (the backfill removes it when done).
INSERT INTO statistics_rolled_up (case_id, day, zone) SELECT '', 'infinity', '' WHERE EXISTS (SELECT 1 FROM cases);
