"""Notifier: SLA clocks, reminders and escalations across OPDs, and the OPD directory."""
