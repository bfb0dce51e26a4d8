-- Up Migration

-- Rate-limit counters shared by every instance when RATE_LIMIT_STORE=postgres (rate-limiter-flexible's
-- RateLimiterPostgres layout: key = policy + ':' + a hash of the user or IP, points used in the window, window
-- end in epoch milliseconds). Rows of past windows are deleted by the limiter every few minutes.
create table rate_limit (
  key varchar(255) primary key,
  points integer not null default 0,
  expire bigint
);

-- Down Migration
drop table rate_limit;
