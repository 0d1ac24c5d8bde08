-- Which case each stored photo belongs to: a photo (client/photos.py, by content hash) is shown only to the
-- people who may see one of its cases. A resident's photos are attached when the report opens (or repeats)
-- the case; an organisation's (a handler's note, a department's evidence) when uploaded for a case it may view.
CREATE TABLE case_photos (
    photo       text NOT NULL,  -- <sha256>.jpg or <sha256>.png
    case_id     text NOT NULL,
    attached_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (photo, case_id)
);
