"""Open-loop pacing: each user sends its share of --siem-rate on a fixed schedule (a late send does
not shift the ones after it), or back to back when no rate is set."""

import time


class Pacer:
    def __init__(self, rate_events, users, batch, send_seconds=0.0):
        # Senders stop on their own after send_seconds instead of when Locust stops them: a headless
        # master quits 0.5 s after telling the workers to, and a worker reports its statistics every
        # 3 s, so the last requests before a stop would be missing from the totals the thresholds
        # check. Counted from the first send, not from the user's set-up (building batches takes seconds).
        self.send_seconds = send_seconds
        self.until = None
        per_user = rate_events / max(1, users) if rate_events > 0 else 0.0
        self.interval = batch / per_user if per_user > 0 else 0.0
        self.due = None

    def done(self):
        if self.send_seconds <= 0:
            return False
        if self.until is None:
            self.until = time.monotonic() + self.send_seconds
        return time.monotonic() >= self.until

    def wait(self):
        if self.done():
            return 1.0
        if self.interval == 0.0:
            return 0.0
        now = time.monotonic()
        if self.due is None:
            self.due = now
        self.due += self.interval
        return max(0.0, self.due - now)
