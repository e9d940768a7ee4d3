"""gunicorn settings shared by every service's web process (and by `docker compose`).

The app is created in each worker after the fork (no preload), so no database or broker
connection is ever inherited by a child process.
"""

import json
import os

from gunicorn import util

# os rather than multiprocessing: what the master imports, every worker it forks carries.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 8)))
threads = int(os.environ.get("WEB_THREADS", "1"))
preload_app = False
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None  # the app writes its own JSON access line with the request id
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket defaults to one path per user, which several services' web
# processes on one machine would fight over; nothing here uses it.
control_socket_disable = True


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's `util.write_error` in the one error shape of the services.

    gunicorn answers some requests itself, before any app sees them: a request line or
    headers beyond its limits (414, 431), a malformed request (400). Its own answer is an
    HTML page quoting the offending input; this one is the JSON every client already reads,
    in Indonesian, and quotes nothing (gunicorn's warning log keeps the detail).
    """
    # The app is loaded in every worker by the time a request fails, so this costs nothing.
    from services.common.http import error_body

    body = json.dumps(error_body(status_int), ensure_ascii=False).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


def post_worker_init(worker) -> None:
    # A worker writes its own refusals through `util.write_error`, looked up on the module at
    # each call: replaced in each worker once it has started, it covers every worker class.
    util.write_error = write_json_error
