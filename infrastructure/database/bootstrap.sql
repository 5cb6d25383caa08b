-- One-time bootstrap of the production database, run by an administrator with psql:
--   psql "$ADMIN_URL" -v writer_password=… -v reader_password=… -v cold_location=/mnt/cold -f bootstrap.sql
-- Everything after this (schema, hypertable, indexes, rollups, tier policies) is created by
-- `siem migrate` (the Helm chart runs it as a pre-install/pre-upgrade Job) as the siem_writer role.

-- The normalizers' role: runs the migrations, writes events, runs the tier jobs.
create role siem_writer login password :'writer_password';
-- Read-only role for analysts' tools that query the database directly (the query API uses siem_writer's pool).
create role siem_reader login password :'reader_password';

create database siem owner siem_writer;
\connect siem

-- TimescaleDB (hot/warm/cold/frozen tiers by chunk). Without the extension the normalizers fall back to
-- native partitions maintained by their scheduler; nothing else changes.
create extension if not exists timescaledb;

-- Optional cold tier on cheaper storage: storage.tiers.cold_tablespace: siem_cold moves chunks (or
-- partitions) there once they reach the cold boundary (storage.tiers cold_after). Skip when there is no such volume.
create tablespace siem_cold owner siem_writer location :'cold_location';

-- Readers see whatever the migrations create in schema siem, now and later.
alter default privileges for role siem_writer in schema public grant select on tables to siem_reader;
create schema if not exists siem authorization siem_writer;
grant usage on schema siem to siem_reader;
alter default privileges for role siem_writer in schema siem grant select on tables to siem_reader;
