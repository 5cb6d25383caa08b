-- Rollups for histograms and for the frozen tier (kept after raw partitions are dropped): hourly and
-- daily event counts by tenant, source type, host, severity, category and outcome, buckets in UTC.
-- Same columns as the TimescaleDB continuous aggregates; maintained by refresh_rollups() from the tier job.

create table {{schema}}.events_hourly (
  bucket       timestamptz not null,
  tenant_id    text        not null,
  source_type  text        not null,
  host_name    text,
  severity     smallint    not null,
  category     text        not null,
  outcome      text        not null,
  events       bigint      not null
);
create index events_hourly_tenant_bucket_idx on {{schema}}.events_hourly (tenant_id, bucket);

create table {{schema}}.events_daily (like {{schema}}.events_hourly);
create index events_daily_tenant_bucket_idx on {{schema}}.events_daily (tenant_id, bucket);

-- How far the rollups have been computed; the tier job refreshes from here (or its lookback) to now.
create table {{schema}}.rollup_state (
  id            boolean primary key default true check (id),
  refreshed_to  timestamptz
);
insert into {{schema}}.rollup_state values (true, null);

-- Recomputes the hourly buckets of [p_from, p_to) from the raw rows, never before the oldest partition
-- still present (older buckets only survive in the rollups), then the daily buckets they touch from
-- the hourly ones. Returns the number of hourly rows written.
create function {{schema}}.refresh_rollups(p_from timestamptz, p_to timestamptz)
returns bigint language plpgsql as $fn$
declare
  h_from timestamptz := date_trunc('hour', p_from, 'UTC');
  h_to   timestamptz := date_trunc('hour', p_to - interval '1 microsecond', 'UTC') + interval '1 hour';
  oldest timestamptz := (select min(range_start) from {{schema}}.event_partitions());
  d_from timestamptz;
  d_to   timestamptz;
  n bigint := 0;
begin
  perform pg_advisory_xact_lock(hashtext('{{schema}}.rollups'));
  if oldest is null then
    return 0;
  end if;
  h_from := greatest(h_from, oldest);
  if h_from >= h_to then
    return 0;
  end if;
  delete from {{schema}}.events_hourly where bucket >= h_from and bucket < h_to;
  insert into {{schema}}.events_hourly
  select date_trunc('hour', time, 'UTC'), tenant_id, source_type, host_name, severity, category, outcome, count(*)
  from {{schema}}.events
  where time >= h_from and time < h_to
  group by 1, 2, 3, 4, 5, 6, 7;
  get diagnostics n = row_count;
  d_from := date_trunc('day', h_from, 'UTC');
  d_to   := date_trunc('day', h_to - interval '1 microsecond', 'UTC') + interval '1 day';
  delete from {{schema}}.events_daily where bucket >= d_from and bucket < d_to;
  insert into {{schema}}.events_daily
  select date_trunc('day', bucket, 'UTC'), tenant_id, source_type, host_name, severity, category, outcome, sum(events)::bigint
  from {{schema}}.events_hourly
  where bucket >= d_from and bucket < d_to
  group by 1, 2, 3, 4, 5, 6, 7;
  return n;
end
$fn$;
