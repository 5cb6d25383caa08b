-- The normalized-event table as a TimescaleDB hypertable. {{schema}} is replaced by the configured
-- schema (storage.schema, default siem). Chunk width and tier policies are configuration: the
-- migration runner applies them after the migrations (set_chunk_time_interval, policies).

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
  -- One index serves tenant+time filters, newest-first (time, event_id) cursors, and idempotent
  -- writes: a replayed row has the same tenant, time and id, and ON CONFLICT DO NOTHING skips it.
  constraint events_pkey primary key (tenant_id, time, event_id)
);

select create_hypertable('{{schema}}.events', by_range('time', interval '1 day'), create_default_indexes => false);

-- Selective lookups of the query API, each within a tenant and newest first. Partial: rows without
-- the field cost nothing. Severity, category, action and outcome are low-cardinality filters applied
-- on the tenant+time scan, except the rare high severities, which get a small index of their own.
create index events_host_idx on {{schema}}.events (tenant_id, host_name, time) where host_name is not null;
create index events_user_idx on {{schema}}.events (tenant_id, user_name, time) where user_name is not null;
create index events_src_ip_idx on {{schema}}.events (tenant_id, src_ip, time) where src_ip is not null;
create index events_dst_ip_idx on {{schema}}.events (tenant_id, dst_ip, time) where dst_ip is not null;
create index events_event_code_idx on {{schema}}.events (tenant_id, event_code, time) where event_code is not null;
create index events_severe_idx on {{schema}}.events (tenant_id, time) where severity <= 3;

-- Warm tier: columnstore, one segment per tenant, ordered by time.
alter table {{schema}}.events set (
  timescaledb.enable_columnstore = true,
  timescaledb.segmentby = 'tenant_id',
  timescaledb.orderby = 'time desc, event_id desc'
);
