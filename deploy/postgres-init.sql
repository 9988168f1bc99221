-- Each project connects as its own role, which owns its own database and nothing else:
-- no superuser, no CREATEDB or CREATEROLE, and no CONNECT on another project's database
-- (PUBLIC's default CONNECT is revoked). A leaked products password reads no user.
--
-- docker-compose.yml mounts this into the postgres image, which runs it with psql as the
-- superuser on a new data directory; elsewhere (a managed server, Kubernetes) run it once
-- yourself (docs/operations.md, "PostgreSQL"):
--   GATEWAY_DB_PASSWORD=... USERS_DB_PASSWORD=... PRODUCTS_DB_PASSWORD=... \
--   ORDERS_DB_PASSWORD=... psql -v ON_ERROR_STOP=1 "$ADMIN_URL" -f deploy/postgres-init.sql
-- The passwords come from the environment (psql 15's \getenv): one that is not set leaves
-- its variable unset and stops the script at that role, so no role has a default password.
\set ON_ERROR_STOP on

\getenv users_password USERS_DB_PASSWORD
CREATE ROLE users LOGIN PASSWORD :'users_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE users OWNER users;
REVOKE ALL ON DATABASE users FROM PUBLIC;

\getenv products_password PRODUCTS_DB_PASSWORD
CREATE ROLE products LOGIN PASSWORD :'products_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE products OWNER products;
REVOKE ALL ON DATABASE products FROM PUBLIC;

\getenv orders_password ORDERS_DB_PASSWORD
CREATE ROLE orders LOGIN PASSWORD :'orders_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE orders OWNER orders;
REVOKE ALL ON DATABASE orders FROM PUBLIC;

\getenv gateway_password GATEWAY_DB_PASSWORD
CREATE ROLE gateway LOGIN PASSWORD :'gateway_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE gateway OWNER gateway;
REVOKE ALL ON DATABASE gateway FROM PUBLIC;
