import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Everything /metrics exposes, in one registry per app so tests and cluster workers don't share state. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['operation', 'status'] as const;
  return {
    registry,
    requests: new Counter({ name: 'taskflow_http_requests_total', help: 'HTTP requests by operationId and status', labelNames, registers: [registry] }),
    duration: new Histogram({
      name: 'taskflow_http_request_duration_seconds',
      help: 'HTTP request duration by operationId and status',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    poolConnections: new Gauge({ name: 'taskflow_db_pool_connections', help: 'Database pool connections by state', labelNames: ['state'], registers: [registry] }),
    jwksAge: new Gauge({ name: 'taskflow_jwks_cache_age_seconds', help: 'Age of the cached JWKS (seconds since the last successful fetch)', registers: [registry] }),
    jwksStale: new Gauge({ name: 'taskflow_jwks_cache_stale', help: '1 while verifying tokens with keys kept past their max age because the SSO is unreachable', registers: [registry] }),
    jwksRefreshFailures: new Counter({ name: 'taskflow_jwks_refresh_failures_total', help: 'Failed JWKS fetches', registers: [registry] }),
    admissionShed: new Counter({
      name: 'taskflow_admission_shed_total',
      help: 'Requests answered 503 overloaded without being served, by reason (queue_full, queue_timeout)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    admissionInFlight: new Gauge({ name: 'taskflow_admission_in_flight', help: 'Requests admitted and not yet answered', registers: [registry] }),
    admissionQueued: new Gauge({ name: 'taskflow_admission_queued', help: 'Requests waiting for a slot', registers: [registry] }),
    admissionQueueWait: new Histogram({
      name: 'taskflow_admission_queue_wait_seconds',
      help: 'How long admitted requests waited for a slot',
      buckets: [0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    rateLimitStoreUp: new Gauge({
      name: 'taskflow_rate_limit_store_up',
      help: '1 while the shared rate-limit store (RATE_LIMIT_STORE) answers, 0 while limits are counted locally; absent with the memory store',
      registers: [registry],
    }),
    rateLimitLocalDecisions: new Counter({
      name: 'taskflow_rate_limit_local_decisions_total',
      help: 'Rate-limit decisions made by the local fallback limiter because the shared store was unreachable',
      registers: [registry],
    }),
    eventStreamsOpen: new Gauge({ name: 'taskflow_event_streams_open', help: 'Server-Sent Event streams open on this instance', registers: [registry] }),
    eventStreamsCut: new Counter({
      name: 'taskflow_event_streams_cut_total',
      help: 'Event streams disconnected because the client did not read (EVENTS_STREAM_BUFFER_BYTES unsent); the client resumes with Last-Event-ID',
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
