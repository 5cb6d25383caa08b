"""Raw-socket users for the stream intakes: syslog over TCP (LF or octet-counted), TLS and UDP, and
Beats/Lumberjack v2. gevent (patched in by Locust) makes the sockets cooperative; each request is
one pre-built batch written with one sendall, so a worker core spends its time in the kernel, not in
Python.

A request's events count as acknowledged when:
- syslog TCP/TLS: the whole batch was written (syslog has no application ACK; what the gateway took
  and did not store shows up in the far-side count);
- syslog UDP: the datagrams were sent (UDP has no ACK at all: the far-side count is the only check);
- Lumberjack: the ACK of the window's last sequence number arrived (a partial ACK fails the request).
"""

import socket
import ssl
import struct
import time
from urllib.parse import urlparse

from locust import User, task

from .pacing import Pacer
from .payloads import DISTINCT_BATCHES, payloads_for, lf_batch, lumberjack_window, octet_batch


class ProtocolError(Exception):
    pass


def tcp_connection(host, port, timeout):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class _BatchUser(User):
    """One pre-built batch per request: connect when there is no connection, transmit, count."""

    abstract = True
    kind = "syslog"
    default_port = 5514
    request_type = "SYSLOG"
    request_name = "batch"

    def on_start(self):
        o = self.environment.parsed_options
        self.batch = o.siem_batch
        self.port = o.siem_port or self.default_port
        # -H is the API base URL (shared with the HTTP users); the stream intakes are on its host
        # unless they have their own (a Kubernetes Service apart from the API's)
        self.target = o.siem_intake_host or urlparse(self.host or "http://127.0.0.1").hostname or "127.0.0.1"
        payloads = payloads_for(o.siem_payloads, self.kind, o.siem_run_id, o.siem_markers)
        self.batches = [self.build(payloads.take(self.batch)) for _ in range(DISTINCT_BATCHES)]
        self.turn = 0
        self.pacer = Pacer(o.siem_rate, o.siem_senders or o.num_users or 1, self.batch, o.siem_send_seconds)
        self.sock = None

    def wait_time(self):
        return self.pacer.wait()

    def build(self, frames):
        raise NotImplementedError

    def connect(self):
        return tcp_connection(self.target, self.port, 30)

    def transmit(self, data):
        """Sends one batch; returns the bytes sent. Raises OSError or ProtocolError on failure."""
        self.sock.sendall(data)
        return len(data)

    @task
    def send(self):
        if self.pacer.done():
            return
        data = self.batches[self.turn]
        self.turn = (self.turn + 1) % len(self.batches)
        started = time.perf_counter()
        try:
            if self.sock is None:
                self.sock = self.connect()
            self.fire(started, self.transmit(data))
        except (OSError, ProtocolError) as e:
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            self.fire(started, 0, e)

    def fire(self, started, length, exc=None):
        self.environment.events.request.fire(
            request_type=self.request_type,
            name=self.request_name,
            response_time=(time.perf_counter() - started) * 1000.0,
            response_length=length,
            exception=exc,
            context={},
        )

    def on_stop(self):
        if self.sock is not None:
            try:
                # FIN, then wait for the gateway to close: every byte written has been read by then
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.settimeout(10)
                while self.sock.recv(65536):
                    pass
            except OSError:
                pass
            self.sock.close()
            self.sock = None


class SyslogTcpUser(_BatchUser):
    """Syslog over TCP, LF-terminated frames (RFC 6587 non-transparent framing)."""

    request_name = "syslog-tcp lf batch"

    def build(self, frames):
        return lf_batch(frames)


class SyslogTcpOctetUser(_BatchUser):
    """Syslog over TCP, octet-counted frames (RFC 6587 / RFC 5425 framing)."""

    request_name = "syslog-tcp octet batch"

    def build(self, frames):
        return octet_batch(frames)


class SyslogTlsUser(_BatchUser):
    """Syslog over TLS (RFC 5425, octet-counted). The test gateway's certificate is self-signed:
    verification is off, the handshake and encryption cost is what is measured."""

    request_name = "syslog-tls batch"
    default_port = 6514

    def build(self, frames):
        return octet_batch(frames)

    def connect(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx.wrap_socket(super().connect(), server_hostname=self.target)


class SyslogUdpUser(_BatchUser):
    """Syslog over UDP, one frame per datagram (RFC 5426)."""

    request_name = "syslog-udp batch"

    def build(self, frames):
        return frames

    def connect(self):
        s = socket.socket(socket.AF_INET6 if ":" in self.target else socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((self.target, self.port))
        return s

    def transmit(self, frames):
        return sum(self.sock.send(f) for f in frames)

    def on_stop(self):
        if self.sock is not None:
            self.sock.close()


class LumberjackUser(_BatchUser):
    """Beats/Lumberjack v2 as Winlogbeat sends it: a request is one window (window frame, one
    compressed frame of JSON frames), done when the ACK of its last event arrives."""

    kind = "winlogbeat"
    request_name = "lumberjack window"
    default_port = 5515
    request_type = "LUMBERJACK"

    def build(self, docs):
        return lumberjack_window(docs)

    def connect(self):
        return tcp_connection(self.target, self.port, 60)

    def transmit(self, data):
        self.sock.sendall(data)
        buf = b""
        while True:
            chunk = self.sock.recv(6 - len(buf))
            if not chunk:
                raise ProtocolError("connection closed before the ACK of %d" % self.batch)
            buf += chunk
            if len(buf) < 6:
                continue
            version, kind, seq = struct.unpack(">ccI", buf)
            buf = b""
            if version != b"2" or kind != b"A":
                raise ProtocolError("unexpected frame %r%r" % (version, kind))
            # 0 is a keepalive, smaller is a partial ACK: wait for the window's last one
            if seq == self.batch:
                return len(data)
