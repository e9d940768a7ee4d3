"""Who a step tells, and which staff role reads it in the app (from the registry of
services, so the notifier names none)."""

import ast
from pathlib import Path

import pytest

from services.common.registry import load_registry, parse_registry
from services.notifier.recipients import Recipient, inbox_address, resolve_recipients, staff_role

# A registry listing the services still to come, with the staff roles their issues name.
WITH_LAPOR_AND_SIBER = parse_registry({
    "coordinator_opd": "diskominfo",
    "services": {
        "ppid": {"port": 8001, "staff_roles": {"officer": "ppid_pelaksana", "coordinator": "ppid_utama"}},
        "lapor": {"port": 8002, "staff_roles": {"officer": "lapor_liaison", "coordinator": "lapor_admin"}},
        "siber": {"port": 8003, "staff_roles": {"officer": "humas", "coordinator": "siber_editor"}},
    },
})


def test_recipients_bind_to_the_clock_opd_unless_named():
    got = resolve_recipients(["officer", "head@diskominfo", "coordinator", "sekda"], "dinkes")
    assert got == [Recipient("officer", "dinkes"), Recipient("head", "diskominfo"),
                   Recipient("coordinator", None), Recipient("sekda", None)]


def test_a_clock_without_opd_tells_the_coordinator_instead_of_an_officer():
    assert resolve_recipients(["officer", "head", "coordinator"], None) == [
        Recipient("coordinator", None)
    ]


@pytest.mark.parametrize(
    "role, service, staff",
    [("officer", "ppid", "ppid_pelaksana"), ("officer", "lapor", "lapor_liaison"),
     ("officer", "siber", "humas"), ("head", "ppid", "opd_head"),
     ("coordinator", "ppid", "ppid_utama"), ("coordinator", "lapor", "lapor_admin"),
     ("coordinator", "siber", "siber_editor"), ("sekda", "lapor", "sekda")],
)
def test_inbox_addresses_use_the_staff_roles_the_registry_names(role, service, staff):
    assert staff_role(role, service, WITH_LAPOR_AND_SIBER) == staff


@pytest.mark.parametrize(
    "role, service, staff",
    [("officer", "ppid", "ppid_pelaksana"), ("coordinator", "ppid", "ppid_utama"),
     ("officer", "arsip", "admin"), ("coordinator", "arsip", "admin"),
     ("head", "arsip", "opd_head"), ("sekda", "arsip", "sekda")],
)
def test_the_shipped_registry_keeps_ppid_and_gives_unlisted_services_to_admin(role, service, staff):
    assert staff_role(role, service, load_registry()) == staff


def test_an_inbox_address_is_opd_bound_for_officers_and_heads_only():
    registry = load_registry()
    assert inbox_address(Recipient("officer", "dinkes"), "ppid", registry) == ("ppid_pelaksana", "dinkes")
    assert inbox_address(Recipient("head", "dinkes"), "ppid", registry) == ("opd_head", "dinkes")
    assert inbox_address(Recipient("coordinator", None), "ppid", registry) == ("ppid_utama", None)


def _code_strings(path):
    """String constants of a module's code, leaving out its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_the_notifier_names_no_service_and_no_service_staff_role():
    registry = WITH_LAPOR_AND_SIBER
    names = set(registry.names)
    roles = {role for entry in registry.services.values() for role in entry.staff_roles.values()}
    package = Path(__file__).resolve().parents[2] / "services" / "notifier"
    found = {
        (path.name, value)
        for path in package.glob("*.py")
        for value in _code_strings(path)
        if value in names | roles or value == registry.coordinator_opd
    }
    assert found == set()


def test_the_one_who_must_act_comes_first_and_is_the_policys_officer():
    from services.notifier.recipients import actor

    registry = load_registry()
    utama = actor("ppid_utama", "diskominfo", "ppid", registry)
    assert utama == Recipient("coordinator", None, "ppid_utama", None)
    got = resolve_recipients(["officer", "head"], "diskominfo", actor=utama)
    # Never Diskominfo's officer (a Pelaksana who cannot open an unassigned request).
    assert got == [utama, Recipient("head", "diskominfo")]
    assert inbox_address(utama, "ppid", registry) == ("ppid_utama", None)
    pelaksana = actor("ppid_pelaksana", "dinkes", "ppid", registry)
    assert resolve_recipients(["officer", "sekda"], "dinkes", actor=pelaksana) == [
        Recipient("officer", "dinkes", "ppid_pelaksana", "dinkes"), Recipient("sekda", None)]
    atasan = actor("atasan_ppid", "dinkes", "ppid", registry)
    assert (atasan.role, inbox_address(atasan, "ppid", registry)) == ("actor", ("atasan_ppid", "dinkes"))
    assert actor(None, "dinkes", "ppid", registry) is None
