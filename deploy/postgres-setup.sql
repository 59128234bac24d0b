-- bookto-moneybird: PostgreSQL roles and database with least privilege.
--
-- Two roles:
--   bookto_moneybird_owner  owns the schema; `bookto-moneybird migrate` runs as
--                           this role (DDL happens only there).
--   bookto_moneybird_app    what `serve` and the operator commands run as:
--                           reads and writes rows, cannot create, alter or drop
--                           anything, and cannot change or delete audit rows
--                           (nor, by the triggers of migration 0010, rewrite
--                           deliveries or an order's identity and money).
--
-- Run as a superuser; safe to run again (after every `migrate` too, which
-- re-applies the audit_log revoke to a freshly created table):
--
--   sudo -u postgres psql -v ON_ERROR_STOP=1 \
--        -v owner_password="'$(cat /etc/bookto-moneybird/owner-db-password)'" \
--        -v app_password="'$(cat /etc/bookto-moneybird/app-db-password)'" \
--        -f deploy/postgres-setup.sql
--
-- (The passwords are quoted SQL literals; leave them out with peer or
-- certificate authentication: -v owner_password=NULL -v app_password=NULL.)

\set ON_ERROR_STOP on
\if :{?owner_password}
\else
\set owner_password NULL
\endif
\if :{?app_password}
\else
\set app_password NULL
\endif

SELECT 'CREATE ROLE bookto_moneybird_owner LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bookto_moneybird_owner') \gexec
SELECT 'CREATE ROLE bookto_moneybird_app LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bookto_moneybird_app') \gexec
ALTER ROLE bookto_moneybird_owner NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :owner_password;
ALTER ROLE bookto_moneybird_app NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :app_password;
-- A runaway statement of the daemon should not hold locks for minutes. The
-- intake does not rely on it: a webhook handler waits at most
-- http.commit_timeout_ms (3 s) for its commit and then spools, and the
-- intake's own connection lowers statement_timeout to 3 x that (at least
-- 10 s), so a commit its handlers gave up on does not hold the audit lock
-- for long. 60 s covers the workers' and the operator commands' statements.
ALTER ROLE bookto_moneybird_app SET statement_timeout = '60s';
ALTER ROLE bookto_moneybird_app SET idle_in_transaction_session_timeout = '60s';

SELECT 'CREATE DATABASE bookto_moneybird OWNER bookto_moneybird_owner ENCODING ''UTF8'''
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'bookto_moneybird') \gexec

REVOKE ALL ON DATABASE bookto_moneybird FROM PUBLIC;
GRANT CONNECT ON DATABASE bookto_moneybird TO bookto_moneybird_owner, bookto_moneybird_app;

\connect bookto_moneybird

-- Only the owner may create objects (PostgreSQL 15 already revokes CREATE on
-- public from PUBLIC; older versions do not).
ALTER SCHEMA public OWNER TO bookto_moneybird_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO bookto_moneybird_app;

-- Everything `migrate` creates from now on is usable by the app, with DML only.
ALTER DEFAULT PRIVILEGES FOR ROLE bookto_moneybird_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bookto_moneybird_app;
ALTER DEFAULT PRIVILEGES FOR ROLE bookto_moneybird_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO bookto_moneybird_app;
ALTER DEFAULT PRIVILEGES FOR ROLE bookto_moneybird_owner IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO bookto_moneybird_app;

-- What already exists (a re-run after `migrate`): the same grants.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bookto_moneybird_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO bookto_moneybird_app;

-- The audit log is append-only for the app by privilege as well as by trigger;
-- schema_migrations is the owner's alone to write.
DO $$
BEGIN
    IF to_regclass('public.audit_log') IS NOT NULL THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON public.audit_log FROM bookto_moneybird_app;
    END IF;
    IF to_regclass('public.schema_migrations') IS NOT NULL THEN
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.schema_migrations
            FROM bookto_moneybird_app;
    END IF;
END $$;
