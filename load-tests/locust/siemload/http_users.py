"""HTTP and WebSocket users: the cloud intake, the events query API and the live tail. The host (-H)
is the API's base URL, e.g. http://127.0.0.1:8080."""

import gzip
import json
import time
from datetime import datetime
from urllib.parse import urlencode

import websocket
from locust import User, task
from locust.contrib.fasthttp import FastHttpUser

from .pacing import Pacer
from .payloads import DISTINCT_BATCHES, payloads_for, marker_names


def auth_headers(options):
    return {"authorization": "Bearer " + options.siem_api_key} if options.siem_api_key else {}


class CloudHttpUser(FastHttpUser):
    """CloudTrail batches, gzip-compressed, to POST /api/v1/ingest/cloudtrail; a request's records
    count as acknowledged on 202 (the gateway answers 202 only once the batch is in its buffer)."""

    def on_start(self):
        o = self.environment.parsed_options
        self.batch = o.siem_batch
        payloads = payloads_for(o.siem_payloads, "cloudtrail", o.siem_run_id, o.siem_markers)
        self.bodies = [
            gzip.compress(b'{"Records":[' + b",".join(payloads.take(self.batch)) + b"]}", 6)
            for _ in range(DISTINCT_BATCHES)
        ]
        self.turn = 0
        self.headers = {"content-type": "application/json", "content-encoding": "gzip", **auth_headers(o)}
        self.pacer = Pacer(o.siem_rate, o.siem_senders or o.num_users or 1, self.batch, o.siem_send_seconds)

    def wait_time(self):
        return self.pacer.wait()

    @task
    def post_batch(self):
        if self.pacer.done():
            return
        body = self.bodies[self.turn]
        self.turn = (self.turn + 1) % len(self.bodies)
        with self.client.post(
            "/api/v1/ingest/cloudtrail", data=body, headers=self.headers, name="cloud-http batch", catch_response=True
        ) as r:
            if r.status_code != 202:
                r.failure("HTTP %s: %s" % (r.status_code, (r.text or "")[:200]))


# The filters analysts use most (libs/api/src/filters.ts), each followed through --siem-pages pages.
QUERY_FILTERS = [
    ("severity", [("min_severity", "warning")]),
    ("auth failures", [("category", "authentication"), ("outcome", "failure")]),
    ("src network", [("src_ip", "203.0.113.0/24")]),
    ("host", [("host", "web01")]),
    ("text", [("q", "Failed password")]),
    ("source type", [("source_type", "syslog")]),
]


class QueryUser(FastHttpUser):
    """An analyst paging through GET /api/v1/events with the common filters (cursor paging)."""

    def on_start(self):
        o = self.environment.parsed_options
        self.pages = max(1, o.siem_pages)
        self.headers = auth_headers(o)
        self.turn = 0

    def wait_time(self):
        return 0.5

    @task
    def query(self):
        label, params = QUERY_FILTERS[self.turn]
        self.turn = (self.turn + 1) % len(QUERY_FILTERS)
        cursor = None
        for page in range(self.pages):
            q = params + [("limit", "100")] + ([("next", cursor)] if cursor else [])
            name = "events %s page %d" % (label, 1 if page == 0 else 2)
            with self.client.get("/api/v1/events?" + urlencode(q), headers=self.headers, name=name, catch_response=True) as r:
                if r.status_code != 200:
                    r.failure("HTTP %s: %s" % (r.status_code, (r.text or "")[:200]))
                    return
                cursor = r.json().get("next")
            if not cursor:
                return


class TailUser(User):
    """A live-tail client filtered on this run's marker hosts. Reports "tail events" (response_length:
    events in the message; response_time: from the newest event's receivedAt to now) and "tail
    dropped" (response_length: events the server dropped for this client)."""

    def on_start(self):
        o = self.environment.parsed_options
        base = (self.host or "http://127.0.0.1:8080").replace("http://", "ws://").replace("https://", "wss://")
        query = urlencode([("host", h) for h in marker_names(o.siem_run_id, o.siem_markers)])
        header = ["%s: %s" % kv for kv in auth_headers(o).items()]
        started = time.perf_counter()
        try:
            self.ws = websocket.create_connection(base + "/api/v1/tail?" + query, header=header, timeout=10)
            self.ws.settimeout(1.0)
            self.fire("tail connect", (time.perf_counter() - started) * 1000, 0)
        except Exception as e:  # noqa: BLE001 — any failure to connect is a failed request
            self.ws = None
            self.fire("tail connect", (time.perf_counter() - started) * 1000, 0, e)

    def fire(self, name, ms, length, exc=None):
        self.environment.events.request.fire(
            request_type="WS", name=name, response_time=ms, response_length=length, exception=exc, context={}
        )

    def wait_time(self):
        return 0

    @task
    def read(self):
        if self.ws is None:
            time.sleep(1)
            return
        try:
            msg = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return
        except Exception as e:  # noqa: BLE001 — a broken tail is a failure, reconnecting would hide it
            self.fire("tail receive", 0, 0, e)
            self.ws = None
            return
        m = json.loads(msg)
        if m.get("type") == "events" and m.get("events"):
            newest = max(e["receivedAt"] for e in m["events"])
            lag = (time.time() - datetime.fromisoformat(newest.replace("Z", "+00:00")).timestamp()) * 1000
            self.fire("tail events", max(0.0, lag), len(m["events"]))
        elif m.get("type") == "dropped":
            self.fire("tail dropped", 0, int(m.get("count", 0)))

    def on_stop(self):
        if self.ws is not None:
            # short: the server keeps streaming while it answers the close
            self.ws.close(timeout=1)
