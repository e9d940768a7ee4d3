"""The process list `make run` hands to honcho, written from the service registry.

Every registered service's long-running processes (`<service>-web`, `<service>-worker`) and
the local mail catcher that receives the development notifier's mail. Nobody edits the list
by hand: a service joins it by its entry in `config/services.json`.

    python -m services.common.procfile -o var/Procfile
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.common.registry import Registry, load_registry

# `python` is the one first on PATH: `make run` puts the virtualenv's bin there.
MAIL_CATCHER = "python -m services.common.mailcatcher"


def process_list(registry: Registry) -> dict[str, str]:
    """Process name -> command, services in registry order, the mail catcher first so that
    it listens before the notifier's worker sends anything."""
    processes = {"mail": MAIL_CATCHER}
    for entry in registry.services.values():
        for process in entry.processes:
            processes[f"{entry.name}-{process}"] = f"python -m services.{entry.name} {process}"
    return processes


def render(processes: dict[str, str]) -> str:
    header = "# Written by `python -m services.common.procfile` from config/services.json.\n"
    return header + "".join(f"{name}: {command}\n" for name, command in processes.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.procfile")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = render(process_list(load_registry()))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
