-- Where each compound is: a GeoJSON Polygon ({"type": "Polygon", "coordinates": [[[lon, lat], ...]]}, WGS 84),
-- so a resident's location (or an Open311 request's lat/long) is routed to the compound containing it.
-- NULL for the other kinds of jurisdiction, and for a compound whose boundary is not known yet.
ALTER TABLE jurisdictions ADD COLUMN IF NOT EXISTS boundary jsonb;
