"""Locust users for the SIEM gateway. Pick them by class name on the command line, e.g.
`locust -f load-tests/locust/locustfile.py --headless -H http://127.0.0.1:8080 SyslogTcpUser`;
`npm run load -- <scenario>` does that for you (load-tests/README.md)."""

from siemload import options  # noqa: F401 — registers the --siem-* options
from siemload.http_users import CloudHttpUser, QueryUser, TailUser  # noqa: F401
from siemload.stream_users import (  # noqa: F401
    LumberjackUser,
    SyslogTcpOctetUser,
    SyslogTcpUser,
    SyslogTlsUser,
    SyslogUdpUser,
)
