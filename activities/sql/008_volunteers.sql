-- 三单制: in-service party members registered with a community (双报到), and the points they earn.
CREATE TABLE volunteers (
    code      text PRIMARY KEY,
    community text NOT NULL REFERENCES jurisdictions (code),
    name      text NOT NULL,
    employer  text,
    points    integer NOT NULL DEFAULT 0
);

-- One credit per case: retries of the crediting activity never pay twice.
CREATE TABLE volunteer_credits (
    case_id     text PRIMARY KEY,
    volunteer   text NOT NULL REFERENCES volunteers (code),
    points      integer NOT NULL,
    credited_at timestamptz NOT NULL DEFAULT now()
);
