#!/usr/bin/env bash
# Create (or recreate) a database with its owner role and its app role on the local cluster.
# The app role: LOGIN NOSUPERUSER NOBYPASSRLS, owns nothing; the tests connect as it.
set -euo pipefail
db="${1:-pnyx_test}"
psql_admin() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
psql_admin <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pnyx_owner') THEN
    CREATE ROLE pnyx_owner LOGIN PASSWORD 'pnyx_owner' NOSUPERUSER NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pnyx_app') THEN
    CREATE ROLE pnyx_app LOGIN PASSWORD 'pnyx_app' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
  END IF;
END \$\$;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid();
DROP DATABASE IF EXISTS $db;
CREATE DATABASE $db OWNER pnyx_owner;
SQL
psql_admin -d "$db" -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO pnyx_owner;"
