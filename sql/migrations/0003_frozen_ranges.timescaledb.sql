-- Time ranges whose raw rows the frozen tier has exported and dropped. Their rollups are final: rows
-- that arrive later for such a range get a chunk of their own, which the next tier run archives and
-- drops without refreshing the continuous aggregates over it (a refresh would recompute the range from
-- the late rows alone and lose the counts it holds).

create table {{schema}}.frozen_ranges (
  range_start  timestamptz not null,
  range_end    timestamptz not null,
  frozen_at    timestamptz not null default now(),
  primary key (range_start, range_end)
);
