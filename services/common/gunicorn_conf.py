"""gunicorn settings shared by every service's web process (and by `docker compose`).

The app is created in each worker after the fork (no preload), so no database or broker
connection is ever inherited by a child process.
"""

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
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
