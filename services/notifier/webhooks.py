"""Webhook subscriptions for OPD systems that cannot speak AMQP: the public face.

The work is split by purpose, one module each:

- `webhook_routing`: which subscription gets which event (topic patterns, the delivery
  queue filled by the notifier's consumer and by its own events);
- `webhook_schedule`: when a failed delivery is tried again and when an endpoint is given
  up on (pure; Standard Webhooks 1.0's schedule);
- `webhook_sender`: one signed POST to an address the SSRF guard checked;
- `webhook_delivery`: the worker's side: claim due deliveries, send, log every attempt,
  retry, disable on 410 or a long failing streak;
- `webhook_subscriptions`: the use cases of the HTTP API (register, change, rotate the
  secret, delete, the delivery log, redelivery);
- `webhook_settings`: the webhook part of the notifier's settings.

The names the rest of the notifier uses are re-exported here.
"""

from __future__ import annotations

from services.notifier.webhook_delivery import LEASE, deliver_due
from services.notifier.webhook_routing import (
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    enqueue_for_event,
    topic_matches,
)
from services.notifier.webhook_schedule import RETRY_SCHEDULE
from services.notifier.webhook_settings import (
    MAX_GRACE,
    WebhookConfig,
    read_webhook_env,
    webhook_config,
)
from services.notifier.webhook_subscriptions import (
    create_endpoint,
    delete_endpoint,
    etag_of,
    get_delivery,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    redeliver,
    rotate_secret,
    update_endpoint,
)

__all__ = [
    "LEASE",
    "MAX_GRACE",
    "MAX_PATTERNS",
    "MAX_PATTERN_LENGTH",
    "RETRY_SCHEDULE",
    "WebhookConfig",
    "create_endpoint",
    "delete_endpoint",
    "deliver_due",
    "enqueue_for_event",
    "etag_of",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "read_webhook_env",
    "redeliver",
    "rotate_secret",
    "topic_matches",
    "update_endpoint",
    "webhook_config",
]
