-- Rollups for histograms and for the frozen tier (kept after raw chunks are dropped): hourly and daily
-- event counts by tenant, source type, host, severity, category and outcome, buckets in UTC. Continuous
-- aggregates here; tables with the same columns on plain PostgreSQL. Real-time: a query also counts the
-- raw rows not yet materialized. Refresh policies are configuration (applied after the migrations).

create materialized view {{schema}}.events_hourly
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select time_bucket(interval '1 hour', time) as bucket,
       tenant_id, source_type, host_name, severity, category, outcome,
       count(*) as events
from {{schema}}.events
group by 1, 2, 3, 4, 5, 6, 7
with no data;

-- Hierarchical: the daily counts are sums of the hourly ones, so they survive the raw data.
create materialized view {{schema}}.events_daily
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select time_bucket(interval '1 day', bucket) as bucket,
       tenant_id, source_type, host_name, severity, category, outcome,
       sum(events)::bigint as events
from {{schema}}.events_hourly
group by 1, 2, 3, 4, 5, 6, 7
with no data;

-- No index of our own: TimescaleDB indexes each grouping column with the bucket
-- (timescaledb.create_group_indexes), which includes (tenant_id, bucket).
