#!/bin/sh
# First start of an empty PostgreSQL volume (docker-entrypoint-initdb.d): one role for Temporal and one for
# Whistle, each owning only its own databases; neither is a superuser. Passwords come from the env file.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v temporal_password="$TEMPORAL_DB_PASSWORD" -v whistle_password="$WHISTLE_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE ROLE whistle LOGIN PASSWORD :'whistle_password';
CREATE DATABASE whistle OWNER whistle;
REVOKE ALL ON DATABASE temporal, temporal_visibility, whistle FROM PUBLIC;
SQL
