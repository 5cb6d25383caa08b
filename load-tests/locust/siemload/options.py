"""Command-line options of the locustfiles. Locust hands the master's values to every worker, so a
distributed run (Kubernetes) is configured on the master alone."""

from locust import events


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    g = parser.add_argument_group("siem", "SIEM gateway load options")
    g.add_argument("--siem-payloads", default="", help="payload file: one frame (syslog line, JSON document or record) per line")
    g.add_argument("--siem-run-id", default="run", help="run marker written into every event (host or user name)")
    g.add_argument("--siem-markers", type=int, default=16, help="distinct marker names per run (spreads Kafka keys)")
    g.add_argument("--siem-intake-host", default="", help="host of the stream intakes (default: the host of -H, the API URL)")
    g.add_argument("--siem-port", type=int, default=0, help="intake port (syslog, Lumberjack); 0: the protocol default")
    g.add_argument("--siem-batch", type=int, default=500, help="events per request (write, window, HTTP batch)")
    g.add_argument("--siem-rate", type=float, default=0.0, help="events/s offered by all users together; 0: as fast as possible")
    g.add_argument("--siem-api", default="", help="API base URL, e.g. http://gw:8080 (default: http://<host>:8080)")
    g.add_argument("--siem-api-key", default="", help="bearer token (ingest/read/tail scope); none for keyless loopback")
    g.add_argument(
        "--siem-send-seconds",
        type=float,
        default=0.0,
        help="senders stop sending this long after they start (0: when Locust stops them); run Locust a few "
        "seconds longer (-t) so every worker has reported its last requests before the master quits",
    )
    g.add_argument("--siem-senders", type=int, default=0, help="users sharing --siem-rate (0: all users)")
    g.add_argument("--siem-tail-clients", type=int, default=2, help="live-tail users when TailUser runs beside a sender")
    g.add_argument("--siem-pages", type=int, default=3, help="query user: pages followed with the cursor per query")


@events.init.add_listener
def fix_tail_clients(environment, **_kwargs):
    # The master dispatches users: a fixed count makes the tail clients a set number beside the senders
    from .http_users import TailUser

    if environment.parsed_options is not None:
        TailUser.fixed_count = environment.parsed_options.siem_tail_clients
