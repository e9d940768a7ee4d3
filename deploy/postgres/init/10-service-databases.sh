#!/bin/sh
# Runs once, when the PostgreSQL data volume is first initialised (docker-entrypoint-initdb.d).
#
# One database and one login per service. CONNECT is revoked from PUBLIC and granted to the
# service's own login only, so a service's credentials cannot open another service's
# database. The password of each login comes from <SERVICE>_DB_PASSWORD (required).
# A database added later (a new service on an existing volume) is created by running this
# script again by hand; it skips what already exists.
set -eu

# SIMPUL_DB_SERVICES narrows the list (the test suite runs the script with throwaway names).
for service in ${SIMPUL_DB_SERVICES:-ppid lapor siber notifier}; do
    password_var="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    eval "password=\${$password_var:-}"
    if [ -z "$password" ]; then
        echo "init: $password_var is not set; refusing to create the $service login" >&2
        exit 1
    fi
    echo "init: database and login for $service"
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        -v name="$service" -v password="$password" <<'SQL'
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') AS create_role \gset
\if :create_role
CREATE ROLE :"name" LOGIN PASSWORD :'password';
\else
ALTER ROLE :"name" LOGIN PASSWORD :'password';
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') AS create_db \gset
\if :create_db
CREATE DATABASE :"name" OWNER :"name";
\endif
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
\connect :"name"
-- The service's migrations create its tables in the public schema, which it owns; nobody
-- else may use it.
ALTER SCHEMA public OWNER TO :"name";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
done
