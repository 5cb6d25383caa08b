// k6 load test: the events query API under concurrent analysts (common filters, cursor paging).
//   TARGET=http://127.0.0.1:8080 API_KEY=... VUS=20 DURATION=1m k6 run load-tests/k6/query-api.js

import { check } from 'k6';
import http from 'k6/http';

const TARGET = __ENV.TARGET || 'http://127.0.0.1:8080';
export const options = {
  vus: Number(__ENV.VUS || 10),
  duration: __ENV.DURATION || '30s',
  thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(99)<2000'] },
};

const filters = [
  'severity=3',
  'category=authentication&outcome=failure',
  'src_ip=203.0.113.0/24',
  'host=dc01.corp.example',
  'q=Failed%20password',
];

export default function () {
  const headers = __ENV.API_KEY ? { authorization: `Bearer ${__ENV.API_KEY}` } : {};
  const f = filters[__ITER % filters.length];
  let res = http.get(`${TARGET}/api/v1/events?limit=100&${f}`, { headers });
  check(res, { ok: (r) => r.status === 200 });
  const next = res.status === 200 ? res.json('next') : null;
  if (next) {
    res = http.get(`${TARGET}/api/v1/events?limit=100&${f}&next=${encodeURIComponent(next)}`, { headers });
    check(res, { 'next page ok': (r) => r.status === 200 });
  }
}
