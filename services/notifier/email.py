"""The email channel: Bahasa Indonesia templates (plain text and HTML) sent over SMTP.

Templates are Jinja2 with autoescaping for HTML: a case number or a label is data, and
data never becomes markup. Every message is multipart/alternative (text first, HTML
second), marked `Auto-Submitted: auto-generated` (RFC 3834) so that auto-responders stay
quiet.

Sending is the chassis mailer's (`services.common.mailer`): the SMTP settings, the message
headers, and the sorting of SMTP failures into permanent and temporary (retried later).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from services.common.mailer import Mailer as ChassisMailer
from services.common.mailer import MailError, Sent, compose, mail_templates  # noqa: F401 - MailError: the notifier's callers catch it from here
from services.notifier.config import NotifierSettings
from services.notifier.messages import Notice

log = logging.getLogger(__name__)

_env = mail_templates("services.notifier")
TEMPLATES = {"remind": "sla_notice", "breach": "sla_notice", "escalate": "sla_notice",
             "digest": "digest"}


def render(notice: Notice) -> tuple[str, str]:
    """(plain text, HTML) of a notice."""
    html = _env.get_template(f"{TEMPLATES[notice.kind]}.html").render(**notice.context)
    return render_text(notice), html


def render_text(notice: Notice) -> str:
    """The plain text of a notice alone: what an in-app message shows."""
    return _env.get_template(f"{TEMPLATES[notice.kind]}.txt").render(**notice.context)


def build_message(settings: NotifierSettings, to: str, notice: Notice) -> EmailMessage:
    text, html = render(notice)
    return compose(settings, to, notice.title, text, html)


class Mailer(ChassisMailer):
    """The chassis mailer (one SMTP connection per batch, reused), sending notices.

    Use as a context manager around a batch (a tick); not thread-safe.
    """

    def send(self, to: str, notice: Notice) -> Sent:
        return self.send_message(build_message(self.settings, to, notice))
