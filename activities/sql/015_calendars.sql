-- Working calendars: a zone, the working hours of each weekday, and the dates that differ from that week
-- (public holidays, swapped working days 调休, administrators' overrides). Deadlines counted in working time
-- use the calendar of the organisation that owns the level: its own, else the city's.
CREATE TABLE calendars (
    code    text PRIMARY KEY,
    name    text NOT NULL,
    name_en text,
    zone    text NOT NULL,
    week    jsonb NOT NULL,  -- {"MON": [{"start": "09:00:00", "end": "12:00:00"}, ...], ...}; a missing day rests
    source  text,            -- 'chinese_calendar': holidays and swapped days seeded from the State Council's notices
    city    boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX calendars_one_city ON calendars (city) WHERE city;

CREATE TABLE calendar_days (
    calendar   text NOT NULL REFERENCES calendars (code),
    day        date NOT NULL,
    hours      jsonb NOT NULL,  -- [] for a rest day
    holiday    text,            -- the holiday it rests for, or that a swapped working day pays for
    source     text NOT NULL CHECK (source IN ('seed', 'override')),  -- a seed never replaces an override
    changed_by text,
    reason     text,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (calendar, day)
);

ALTER TABLE organisations ADD COLUMN calendar text REFERENCES calendars (code);

INSERT INTO calendars (code, name, name_en, zone, week, source, city) VALUES (
    'CN', '国家法定工作日历', 'China statutory working calendar', 'Asia/Shanghai',
    (SELECT jsonb_object_agg(d, '[{"start": "09:00:00", "end": "12:00:00"}, {"start": "13:30:00", "end": "18:00:00"}]'::jsonb)
       FROM unnest(ARRAY['MON', 'TUE', 'WED', 'THU', 'FRI']) AS d),
    'chinese_calendar', true
);
