"""Who the notifier serves: the staff roles of each endpoint and whose OPDs each role sees.

A token's `opd` alone decides nothing: every endpoint names the roles it serves, and a token
without an OPD is regency-level only for a regency role (a PPID Pelaksana whose account lost
its OPD, or a news editor, does not read every OPD's clocks). The table, with the reasons, is
in docs/notifier.md ("Who may do what"); tests/notifier/test_notifier_roles.py walks it.
"""

from __future__ import annotations

from services.common.registry import load_registry
from services.common.scope import ScopeRule

# The regency's own roles (docs/chassis.md); every other role belongs to a service and comes
# from the registry, so a new service's staff are served once its entry names them.
ADMIN = "admin"
SEKDA = "sekda"
OPD_HEAD = "opd_head"
_REGISTRY = load_registry()
# The coordinators of the case services see every OPD whatever their token names (theirs
# often names Diskominfo, where they sit), as in PPID's own rule.
DUTY_COORDINATORS = _REGISTRY.coordinator_roles()
# The services' officers and the roles like them: their own OPD only.
OPD_STAFF = _REGISTRY.opd_roles()

# Every staff role of the regency: the inbox, the policies and the working-day calendar,
# which hold no OPD's cases, are theirs to read.
STAFF = (ADMIN, SEKDA, OPD_HEAD, *DUTY_COORDINATORS, *OPD_STAFF)

# Clocks, the notification log (it names the staff told, with their addresses) and the
# compliance dashboard: the people who answer for deadlines.
# Regency-level readers: only with a token that names no OPD.
DUTY_REGENCY = (ADMIN, SEKDA)
# An OPD's officers and its head: their own OPD only.
DUTY_OPD = (*OPD_STAFF, OPD_HEAD)
DUTY_READERS = (*DUTY_COORDINATORS, *DUTY_REGENCY, *DUTY_OPD)
DUTY_SCOPE = ScopeRule.of(everywhere=DUTY_COORDINATORS, regency=DUTY_REGENCY, own_opd=DUTY_OPD)

# Webhook endpoints: an OPD's staff manage their own OPD's (the OPD's systems receive its
# events); of the regency, only the administrator, every one.
WEBHOOK_OPD = (*OPD_STAFF, OPD_HEAD)
WEBHOOK_MANAGERS = (ADMIN, *WEBHOOK_OPD)
WEBHOOK_SCOPE = ScopeRule.of(regency={ADMIN}, own_opd=WEBHOOK_OPD)

NO_OPD_SCOPE = (
    "Peran Anda tidak mencakup data OPD mana pun: staf OPD memerlukan token yang menyebut "
    "OPD-nya, dan token tanpa OPD hanya berlaku untuk peran tingkat kabupaten."
)
