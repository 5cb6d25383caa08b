-- Time ranges whose raw rows the frozen tier has exported and dropped. Their rollups are final: rows
-- that arrive later for such a range land in a partition of their own, which the next tier run
-- archives and drops after adding their counts to the rollups (add_to_rollups), instead of recomputing
-- the range from the late rows alone.

create table {{schema}}.frozen_ranges (
  range_start  timestamptz not null,
  range_end    timestamptz not null,
  frozen_at    timestamptz not null default now(),
  primary key (range_start, range_end)
);

-- Adds the counts of the raw rows in [p_from, p_to) to the hourly and daily rollups (rows with the
-- same grouping add up when read with sum(events)). Returns the number of raw rows counted.
create function {{schema}}.add_to_rollups(p_from timestamptz, p_to timestamptz)
returns bigint language plpgsql as $fn$
declare
  n bigint;
begin
  perform pg_advisory_xact_lock(hashtext('{{schema}}.rollups'));
  insert into {{schema}}.events_hourly
  select date_trunc('hour', time, 'UTC'), tenant_id, source_type, host_name, severity, category, outcome, count(*)
  from {{schema}}.events
  where time >= p_from and time < p_to
  group by 1, 2, 3, 4, 5, 6, 7;
  insert into {{schema}}.events_daily
  select date_trunc('day', time, 'UTC'), tenant_id, source_type, host_name, severity, category, outcome, count(*)
  from {{schema}}.events
  where time >= p_from and time < p_to
  group by 1, 2, 3, 4, 5, 6, 7;
  select count(*) into n from {{schema}}.events where time >= p_from and time < p_to;
  return n;
end
$fn$;
