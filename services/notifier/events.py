"""The event types the notifier publishes (docs/events/asyncapi.yaml describes their data)."""

from __future__ import annotations

from services.common.events import ROUTE_CASE, ROUTE_NONE, EventCatalogue

CATALOGUE = EventCatalogue("notifier")

CATALOGUE.declare("sla", "reminded", routes_to=ROUTE_CASE,
                  summary="A reminder before a clock's due date went to its recipients.")
CATALOGUE.declare("sla", "breached", routes_to=ROUTE_CASE,
                  summary="A clock passed its due date, or was stopped after it.")
CATALOGUE.declare("sla", "escalated", routes_to=ROUTE_CASE,
                  summary="A breached clock reached the next escalation level.")
CATALOGUE.declare("sla", "met", routes_to=ROUTE_CASE,
                  summary="A clock was stopped in time.")
CATALOGUE.declare("calendar", "updated", routes_to=ROUTE_NONE,
                  summary="The operators' working-day exceptions changed.")
CATALOGUE.declare("directory", "updated", routes_to=ROUTE_CASE,
                  summary="An OPD or a contact in the directory changed.")
CATALOGUE.declare("opds", "updated", routes_to=ROUTE_NONE,
                  summary="The whole OPD list (reference data), after a change and again "
                          "every few seconds for services that joined late.")
CATALOGUE.declare("webhook", "disabled", routes_to=ROUTE_CASE,
                  summary="A failing webhook endpoint was switched off.")
