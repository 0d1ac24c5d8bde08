#!/bin/sh
# One-shot, before the Temporal server starts: create or upgrade its schemas in its own databases (as its
# own role), with the admin-tools image of the server's version. Safe to run on every `up`.
set -eu
for database in temporal temporal_visibility; do
    schema=$([ "$database" = temporal ] && echo temporal || echo visibility)
    temporal-sql-tool --plugin postgres12 --ep postgres -p 5432 -u temporal --db "$database" setup-schema -v 0.0
    temporal-sql-tool --plugin postgres12 --ep postgres -p 5432 -u temporal --db "$database" \
        update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
