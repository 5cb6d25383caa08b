-- The normalized-event table on plain PostgreSQL: native range partitions by time, created ahead by
-- the normalizer's tier job (and on demand by the writer) through ensure_partitions().

create table {{schema}}.events (
  time          timestamptz not null,
  received_at   timestamptz not null,
  tenant_id     text        not null,
  event_id      uuid        not null,   -- time-ordered (UUIDv7) id given by the gateway
  source_type   text        not null,
  host_name     text,
  host_ip       inet,
  app_name      text,
  severity      smallint    not null check (severity between 0 and 7),
  category      text        not null,
  action        text,
  outcome       text        not null,
  user_name     text,
  src_ip        inet,
  src_port      integer     check (src_port between 0 and 65535),
  dst_ip        inet,
  dst_port      integer     check (dst_port between 0 and 65535),
  process_name  text,
  process_pid   bigint,
  event_code    text,
  message       text,
  attrs         jsonb       not null default '{}',
  raw           text        not null,
  class_uid     integer,
  -- tenant+time filters, newest-first cursors, and idempotent writes (ON CONFLICT DO NOTHING).
  constraint events_pkey primary key (tenant_id, time, event_id)
) partition by range (time);

-- Each partition with its bounds, its tablespace and how many secondary indexes it still has.
create function {{schema}}.event_partitions()
returns table (partition regclass, range_start timestamptz, range_end timestamptz, tablespace name, secondary_indexes integer)
language sql stable as $fn$
  select c.oid::regclass,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz,
         coalesce(t.spcname, 'pg_default'),
         (select count(*)::integer from pg_index x where x.indrelid = c.oid and not x.indisprimary)
  from pg_inherits i
  join pg_class c on c.oid = i.inhrelid
  left join pg_tablespace t on t.oid = c.reltablespace
  where i.inhparent = '{{schema}}.events'::regclass
$fn$;

-- The secondary indexes live on each partition (not on the parent), so the warm tier can drop them
-- from old partitions. Same set and reasoning as the TimescaleDB layout: selective lookups within a
-- tenant, newest first; partial, so rows without the field cost nothing.
create function {{schema}}.create_secondary_indexes(p regclass)
returns void language plpgsql as $fn$
declare
  n text := (select relname from pg_class where oid = p);
begin
  execute format('create index if not exists %I on %s (tenant_id, host_name, time) where host_name is not null', n || '_host_idx', p);
  execute format('create index if not exists %I on %s (tenant_id, user_name, time) where user_name is not null', n || '_user_idx', p);
  execute format('create index if not exists %I on %s (tenant_id, src_ip, time) where src_ip is not null', n || '_src_ip_idx', p);
  execute format('create index if not exists %I on %s (tenant_id, dst_ip, time) where dst_ip is not null', n || '_dst_ip_idx', p);
  execute format('create index if not exists %I on %s (tenant_id, event_code, time) where event_code is not null', n || '_event_code_idx', p);
  execute format('create index if not exists %I on %s (tenant_id, time) where severity <= 3', n || '_severe_idx', p);
end
$fn$;

create function {{schema}}.drop_secondary_indexes(p regclass)
returns integer language plpgsql as $fn$
declare
  i regclass;
  dropped integer := 0;
begin
  for i in select indexrelid::regclass from pg_index where indrelid = p and not indisprimary loop
    execute format('drop index %s', i);
    dropped := dropped + 1;
  end loop;
  return dropped;
end
$fn$;

-- Creates the partitions that hold the given times (one partition per time not yet covered), aligned
-- on p_interval from 2000-01-01 UTC and clipped to their neighbours when the width changed. Returns
-- how many it created. Serialized by a transaction-level advisory lock.
create function {{schema}}.ensure_partitions(p_times timestamptz[], p_interval interval)
returns integer language plpgsql as $fn$
declare
  t timestamptz;
  lo timestamptz;
  hi timestamptz;
  n text;
  created integer := 0;
begin
  perform pg_advisory_xact_lock(hashtext('{{schema}}.events:partitions'));
  for t in select distinct x from unnest(p_times) x where x is not null order by x loop
    if exists (select 1 from {{schema}}.event_partitions() p where t >= p.range_start and t < p.range_end) then
      continue;
    end if;
    lo := date_bin(p_interval, t, timestamptz '2000-01-01 00:00:00+00');
    hi := lo + p_interval;
    select greatest(lo, coalesce(max(p.range_end), lo)) into lo from {{schema}}.event_partitions() p where p.range_end <= t;
    select least(hi, coalesce(min(p.range_start), hi)) into hi from {{schema}}.event_partitions() p where p.range_start > t;
    n := 'events_p' || to_char(lo at time zone 'UTC', 'YYYYMMDD"_"HH24MI');
    execute format('create table {{schema}}.%I partition of {{schema}}.events for values from (%L) to (%L)', n, lo, hi);
    perform {{schema}}.create_secondary_indexes(format('{{schema}}.%I', n)::regclass);
    created := created + 1;
  end loop;
  return created;
end
$fn$;
