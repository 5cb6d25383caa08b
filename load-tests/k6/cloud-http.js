// k6 load test: batches of CloudTrail records to the cloud intake (POST /api/v1/ingest/cloudtrail),
// gzip-compressed, authenticated with an `ingest`-scope API key. Plain k6, no extension needed.
//
//   TARGET=http://127.0.0.1:8080 API_KEY=... RATE=2000 RECORDS=100 DURATION=1m k6 run load-tests/k6/cloud-http.js

import { check } from 'k6';
import http from 'k6/http';
import { Counter } from 'k6/metrics';

const TARGET = __ENV.TARGET || 'http://127.0.0.1:8080';
const RECORDS = Number(__ENV.RECORDS || 100); // records per request
const accepted = new Counter('siem_events_accepted');

export const options = {
  scenarios: {
    cloud: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 200), // requests per second
      timeUnit: '1s',
      duration: __ENV.DURATION || '1m',
      preAllocatedVUs: Number(__ENV.VUS || 20),
      maxVUs: Number(__ENV.MAX_VUS || 200),
    },
  },
  thresholds: { http_req_failed: ['rate<0.001'] },
};

function record(i) {
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', userName: `user-${i % 50}`, accountId: '123456789012' },
    eventTime: new Date().toISOString(),
    eventSource: 'signin.amazonaws.com',
    eventName: i % 10 === 0 ? 'ConsoleLogin' : 'DescribeInstances',
    awsRegion: 'eu-west-1',
    sourceIPAddress: `198.51.100.${i % 250}`,
    userAgent: 'k6',
    recipientAccountId: '123456789012',
  };
}

export default function () {
  const body = JSON.stringify({
    Records: Array.from({ length: RECORDS }, (_, i) => record(__ITER * RECORDS + i)),
  });
  const res = http.post(`${TARGET}/api/v1/ingest/cloudtrail`, body, {
    headers: {
      'content-type': 'application/json',
      ...(__ENV.API_KEY ? { authorization: `Bearer ${__ENV.API_KEY}` } : {}),
    },
    compression: 'gzip',
  });
  if (check(res, { 'accepted (202)': (r) => r.status === 202 })) accepted.add(RECORDS);
}
