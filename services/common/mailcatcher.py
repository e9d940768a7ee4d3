"""The local SMTP catcher of `make run`: every mail the development notifier sends is kept as
one `.eml` file under `var/mail/` instead of leaving the machine.

    python -m services.common.mailcatcher [--host 127.0.0.1] [--port 1025] [--dir var/mail]

It listens where `SMTP_HOST`/`SMTP_PORT` point (the Makefile sets both for every process of
`make run`), so the notifier and the catcher cannot disagree. A file opens in any mail
program; its `X-RcptTo` header names the envelope recipients, which a Bcc hides from `To`.
A development tool (aiosmtpd is a `dev` dependency): containers use mailpit instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message as EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from services.common.logs import configure_logging

log = logging.getLogger("simpul.mailcatcher")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1025
DEFAULT_DIR = Path("var") / "mail"


class EmlDirectory(Message):
    """aiosmtpd handler writing each message, with its envelope headers, to its own file."""

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def handle_message(self, message: EmailMessage) -> None:
        # Named by arrival time, so `ls` lists the mail in the order it came.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:6]}.eml"
        with open(path, "xb") as out:
            out.write(message.as_bytes())
        # The file, not the log, holds the addresses: logs carry no personal data.
        log.info("mail kept", extra={"subject": _readable(message["Subject"]), "file": str(path)})


def _readable(header: str | None) -> str:
    return str(make_header(decode_header(header))) if header else ""


def start(directory: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> Controller:
    """Starts the catcher in a background thread; `stop()` the returned controller."""
    controller = Controller(EmlDirectory(directory), hostname=host, port=port,
                            enable_SMTPUTF8=True)
    controller.start()
    return controller


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.mailcatcher")
    parser.add_argument("--host", default=os.environ.get("SMTP_HOST") or DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=int(os.environ.get("SMTP_PORT") or DEFAULT_PORT))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the .eml files go")
    args = parser.parse_args(argv)
    configure_logging("mail", os.environ.get("LOG_LEVEL", "INFO"))
    # aiosmtpd logs every connection and command at INFO; the terminal gets one line a mail.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        controller = start(args.dir, args.host, args.port)
    except (OSError, RuntimeError) as exc:
        print(f"simpul: the mail catcher cannot listen on {args.host}:{args.port} ({exc}); "
              "set SMTP_PORT to a free port", file=sys.stderr)
        return 1
    log.info("mail catcher listening",
             extra={"address": f"{args.host}:{args.port}", "directory": str(args.dir.resolve())})
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
