-- Statistics at a city's scale: the roll-ups of migration 016 also per local month (a period of many months sums
-- months, not days), one trend row per day and compound (the dashboard's per-day chart reads a row per day, not one
-- per figure, level and organisation), and the department task figures (written by the task projection as well as
-- the case's: activities/rollups.py). Same keys as statistics_rollups; `month` is the first day of a local month.
CREATE TABLE statistics_rollups_monthly (
    month     date   NOT NULL,
    compound  text   NOT NULL,
    community text   NOT NULL,
    street    text   NOT NULL,
    district  text   NOT NULL,
    figure    text   NOT NULL,
    level     text   NOT NULL DEFAULT '',
    org       text   NOT NULL DEFAULT '',
    n         bigint NOT NULL,
    PRIMARY KEY (month, compound, figure, level, org)
);

CREATE INDEX statistics_rollups_monthly_district ON statistics_rollups_monthly (district, month);
CREATE INDEX statistics_rollups_monthly_street ON statistics_rollups_monthly (street, month);
CREATE INDEX statistics_rollups_monthly_community ON statistics_rollups_monthly (community, month);
CREATE INDEX statistics_rollups_monthly_compound ON statistics_rollups_monthly (compound, month);

CREATE TABLE statistics_trend (
    day       date   NOT NULL,
    compound  text   NOT NULL,
    community text   NOT NULL,
    street    text   NOT NULL,
    district  text   NOT NULL,
    reported  bigint NOT NULL,
    stints    bigint NOT NULL,
    breaches  bigint NOT NULL,
    PRIMARY KEY (day, compound)
);

CREATE INDEX statistics_trend_district ON statistics_trend (district, day);
CREATE INDEX statistics_trend_street ON statistics_trend (street, day);
CREATE INDEX statistics_trend_community ON statistics_trend (community, day);
CREATE INDEX statistics_trend_compound ON statistics_trend (compound, day);

-- "Open now" of a compound: its open cases only (the (compound, reported_at) index reads every case it ever had).
CREATE INDEX cases_open_compound ON cases (compound, level) WHERE status IN ('REPORTED', 'IN_PROGRESS', 'REOPENED');

-- The department task figures of cases already rolled up are not in statistics_rollups: start again, and count in
-- one pass until `whistle stats backfill` is through (the row of no zone, as in migration 016).
TRUNCATE statistics_rollups, statistics_rolled_up;
INSERT INTO statistics_rolled_up (case_id, day, zone) SELECT '', 'infinity', '' WHERE EXISTS (SELECT 1 FROM cases);
