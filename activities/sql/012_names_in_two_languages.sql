-- Every name a person reads, in Chinese (name) and English (name_en; NULL: the Chinese name serves both).
ALTER TABLE jurisdictions ADD COLUMN IF NOT EXISTS name_en text;
ALTER TABLE organisations ADD COLUMN IF NOT EXISTS name_en text;
ALTER TABLE volunteers ADD COLUMN IF NOT EXISTS name_en text;
