-- The app role: owns nothing, cannot bypass row-level security.
CREATE ROLE pnyx_app LOGIN PASSWORD 'pnyx_app' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
