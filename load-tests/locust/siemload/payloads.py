"""Payloads: frames read from a file (what `siem emit-sample --out` writes), marked with the run's
marker names so the far side can count exactly this run's events, and packed into pre-built batches
so that a send costs one big write and no per-event Python work."""

import json
import re
import zlib
import struct
import time

# The host field of the syslog header: RFC 5424 (`<PRI>1 TIMESTAMP HOST`), RFC 3164 with its
# fixed-width timestamp (`<PRI>Mmm dd hh:mm:ss HOST`) or with an ISO timestamp.
_SYSLOG_HOST = (
    re.compile(rb"^(<\d{1,3}>\d{1,2} \S+ )(\S+)( .*)$", re.S),
    # the PRI may be missing or followed by a space, the year may follow the day (Cisco ASA)
    re.compile(rb"^((?:<\d{1,3}> ?)?[A-Z][a-z]{2} [ \d]\d(?: \d{4})? \d\d:\d\d:\d\d )(\S+)( .*)$", re.S),
    re.compile(rb"^((?:<\d{1,3}> ?)?\d{4}-\d\d-\d\dT\S+ )(\S+)( .*)$", re.S),
)


# Fields the normalizers prefer to the header's host (libs/normalize/src/syslog): CEF's dvchost and
# FortiGate's devname. They carry the marker too, or the far side would miss those events.
_BODY_HOST = (
    re.compile(rb"(?<=\sdvchost=)\S+"),
    re.compile(rb'(?<=\sdevname=)(?:"[^"]*"|\S+)'),
)


def marker_names(run_id, count):
    """The names a run stamps into its events (host or user); the far side filters on them."""
    return ["lt-%s-%d" % (run_id, i) for i in range(count)]


def read_lines(path):
    with open(path, "rb") as f:
        return [line.rstrip(b"\r\n") for line in f if line.strip()]


def mark_syslog(frame, host):
    """The frame with its host replaced (header host, and the body fields normalizers prefer), or
    None when it has no host to replace (a 3164 line whose tag follows the timestamp)."""
    marked = False
    for pattern in _SYSLOG_HOST:
        m = pattern.match(frame)
        if m is not None:
            token = m.group(2)
            if not (token.endswith(b":") or b"[" in token):
                frame = m.group(1) + host + m.group(3)
                marked = True
            break
    for body in _BODY_HOST:
        frame, n = body.subn(host, frame)
        marked = marked or n > 0
    return frame if marked else None


def mark_winlogbeat(doc_line, host):
    doc = json.loads(doc_line)
    doc.setdefault("winlog", {})["computer_name"] = host.decode()
    h = doc.setdefault("host", {})
    h["name"] = h["hostname"] = host.decode()
    return json.dumps(doc, separators=(",", ":")).encode()


def mark_cloudtrail(record_line, user, now_iso):
    """A CloudTrail record acting as `user`, at `now_iso` (the far side counts by user and time)."""
    rec = json.loads(record_line)
    if isinstance(rec, dict) and ("entries" in rec or "records" in rec):
        return []  # a GCP or Azure batch (the generator writes all three kinds): not CloudTrail
    recs = rec["Records"] if isinstance(rec, dict) and "Records" in rec else [rec]
    out = []
    for r in recs:
        ui = r.setdefault("userIdentity", {"type": "IAMUser"})
        ui["userName"] = user.decode()
        r["eventTime"] = now_iso
        out.append(json.dumps(r, separators=(",", ":")).encode())
    return out


class Payloads:
    """Marked frames of one kind, cycled so every marker name gets its share."""

    def __init__(self, path, kind, run_id, markers):
        names = [n.encode() for n in marker_names(run_id, markers)]
        lines = read_lines(path)
        now_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.frames = []
        self.unmarked = 0
        for i, line in enumerate(lines):
            name = names[i % len(names)]
            if kind == "syslog":
                f = mark_syslog(line, name)
                if f is None:
                    self.unmarked += 1
                else:
                    self.frames.append(f)
            elif kind == "winlogbeat":
                self.frames.append(mark_winlogbeat(line, name))
            elif kind == "cloudtrail":
                records = mark_cloudtrail(line, name, now_iso)
                self.frames.extend(records)
                self.unmarked += 0 if records else 1
            else:
                raise ValueError("unknown payload kind %r" % kind)
        if not self.frames:
            raise ValueError("%s: no usable %s frame (%d without a host field)" % (path, kind, self.unmarked))
        self._next = 0

    def take(self, n):
        out = []
        for _ in range(n):
            out.append(self.frames[self._next])
            self._next = (self._next + 1) % len(self.frames)
        return out


_loaded = {}


def payloads_for(path, kind, run_id, markers):
    """One Payloads per worker process: reading and marking the file is done once, not per user
    (users start together, and gevent runs their set-up one after the other)."""
    key = (path, kind, run_id, markers)
    if key not in _loaded:
        _loaded[key] = Payloads(path, kind, run_id, markers)
    return _loaded[key]


# How many distinct pre-built batches a user cycles through: enough that the payload file's variety
# reaches the gateway, few enough that building them costs nothing next to a run.
DISTINCT_BATCHES = 16


def lf_batch(frames):
    return b"".join(f + b"\n" for f in frames)


def octet_batch(frames):
    return b"".join(b"%d %s" % (len(f), f) for f in frames)


def lumberjack_window(docs):
    """One Lumberjack v2 window: the window frame, then the JSON frames (sequence 1…n) in one
    compressed frame — what Winlogbeat sends (libs/windows/src/lumberjack.ts)."""
    inner = b"".join(struct.pack(">2sII", b"2J", seq, len(d)) + d for seq, d in enumerate(docs, 1))
    z = zlib.compress(inner, 3)
    return struct.pack(">2sI", b"2W", len(docs)) + struct.pack(">2sI", b"2C", len(z)) + z
