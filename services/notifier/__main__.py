"""`python -m services.notifier web|worker|migrate|tick|…`."""

from __future__ import annotations

import argparse
import json
import sys

from services.common.cli import Command, ServiceDefinition, aware_instant, main
from services.common.runtime import Runtime
from services.common.worker import Timer, run_worker
from services.notifier import consumers, handlers, reference
from services.notifier.app import make_runtime
from services.notifier.config import NotifierSettings
from services.notifier.tick import tick


def _configure_tick(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", type=aware_instant, default=None,
                        help="the instant to tick for (default: the current time)")


def _run_tick(rt: Runtime, args: argparse.Namespace) -> int:
    summary = tick(rt, args.now or rt.clock())
    print(json.dumps(summary.to_dict(), ensure_ascii=False, default=str))
    return 0


def _run_worker(rt: Runtime) -> None:
    run_worker(
        rt,
        consumers=[consumers.events_consumer(rt)],
        timers=[
            Timer("tick", rt.settings.tick_seconds, lambda: tick(rt, rt.clock())),
            Timer("reference", rt.settings.reference_republish_seconds,
                  lambda: reference.republish(rt)),
        ],
    )


SERVICE = ServiceDefinition(
    name="notifier",
    settings_class=NotifierSettings,
    build_runtime=make_runtime,
    run_worker=_run_worker,
    seed=handlers.seed,
    commands={
        "tick": Command(
            help="run one tick (breaches, due notifications, digest, webhooks) and print a summary",
            configure=_configure_tick,
            run=_run_tick,
        )
    },
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
