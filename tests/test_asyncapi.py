"""The event catalogue (docs/events/asyncapi.yaml) is valid AsyncAPI 3 and matches the code.

Every event type a service declares in its catalogue (`services/<name>/events.py`, the one
place a service's event types are written) must have its message in the document, with a
channel and a send operation, and every message in the document must be declared; the
envelope the code builds must satisfy the envelope schema the document promises.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from services.common import sla
from services.common.events import (
    NO_OPD,
    ROUTE_CASE,
    ROUTE_MOVE,
    ROUTE_NONE,
    EventCatalogue,
    EventType,
    event_catalogue,
    new_event,
)
from services.common.registry import load_registry
from tests.conftest import schema_validator

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "events" / "asyncapi.yaml"
SERVICES = ROOT / "services"
# Messages that describe plumbing rather than an event type a service publishes.
PLUMBING_MESSAGES = {"deadLetter"}


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


def _messages(document: dict) -> dict[str, dict]:
    return (document.get("components") or {}).get("messages") or {}


def _resolve(document: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _with_components(document: dict, schema: dict) -> jsonschema.protocols.Validator:
    """A draft-7 validator for a schema inside the document, its local $refs resolvable."""
    root = {"allOf": [schema], "components": document["components"]}
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def declared_event_types() -> dict[str, EventType]:
    """Every event type the registered services declare in `services/<name>/events.py`."""
    out: dict[str, EventType] = {}
    for service in load_registry().names:
        importlib.import_module(f"services.{service}.events")
        catalogue = event_catalogue(service)
        assert catalogue is not None, f"services/{service}/events.py declares no CATALOGUE"
        out.update(catalogue.types)
    return out


def _documented_types(document: dict) -> set[str]:
    return {key for key in _messages(document) if key not in PLUMBING_MESSAGES}


def _payload_property(document: dict, message: dict, name: str) -> dict:
    payload = message.get("payload") or {}
    for part in payload.get("allOf", [payload]):
        if "$ref" in part:
            part = _resolve(document, part["$ref"])
        found = (part.get("properties") or {}).get(name)
        if found and "const" in found:
            return found
    return {}


def test_document_is_valid_asyncapi_3(schemas_dir, document):
    schema = json.loads((schemas_dir / "asyncapi-3.0.0.json").read_text())
    errors = sorted(schema_validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{e.json_path}: {e.message[:300]}" for e in errors)


def test_document_describes_the_exchange_and_routing(document):
    assert document["asyncapi"] == "3.0.0"
    exchange = document["components"]["channelBindings"]["simpulEvents"]["amqp"]["exchange"]
    assert exchange == {"name": "simpul.events", "type": "topic", "durable": True,
                        "autoDelete": False, "vhost": "/"}
    published = document["components"]["operationTraits"]["published"]["bindings"]["amqp"]
    assert published["deliveryMode"] == 2 and published["mandatory"] is True
    assert document["servers"]["rabbitmq"]["protocol"] == "amqp"
    assert "simpul.dead" in document["channels"]["deadLetters"]["description"]
    assert document["channels"]["deadLetters"]["address"] == "{queue}.dead"


def test_every_declared_event_type_is_in_the_catalogue(document):
    declared = declared_event_types()
    assert declared, "no service declares an event type"
    missing = sorted(set(declared) - _documented_types(document))
    assert not missing, f"declared in services/*/events.py but absent from {DOCUMENT.name}: {missing}"


def test_every_documented_event_type_is_declared(document):
    undeclared = sorted(_documented_types(document) - set(declared_event_types()))
    assert not undeclared, f"in {DOCUMENT.name} but declared by no service: {undeclared}"


def test_the_document_routes_each_type_as_declared(document):
    # A type that always goes to `none` says so in its payload; one routed by OPD does not.
    problems = []
    for name, declared in declared_event_types().items():
        message = _messages(document).get(name)
        if message is None:
            continue
        pinned = _payload_property(document, message, "opd").get("const")
        expected = NO_OPD if declared.routes_to == ROUTE_NONE else None
        if pinned != expected:
            problems.append(f"{name}: declared routes_to={declared.routes_to}, document pins opd to {pinned!r}")
    assert not problems, problems


def _requires(document: dict, message: dict, name: str) -> bool:
    payload = message.get("payload") or {}
    for part in payload.get("allOf", [payload]):
        if "$ref" in part:
            part = _resolve(document, part["$ref"])
        if name in (part.get("required") or []):
            return True
    return False


def test_a_move_is_documented_as_routed_to_both_opds(document):
    # The rule itself, where an OPD system's integrator reads first.
    info = " ".join(document["info"]["description"].split())
    assert "routes to the OPD it leaves and the one it reaches" in info
    assert "`fromopd`" in info
    declared = declared_event_types()
    moves = sorted(name for name, t in declared.items() if t.routes_to == ROUTE_MOVE)
    assert {"ppid.request.assigned", "ppid.request.reassigned"} <= set(moves)
    problems = []
    for name, declared_type in declared.items():
        message = _messages(document).get(name)
        if message is None:
            continue
        says = "routes to the OPD it leaves and the one it reaches" in " ".join(
            str(message.get("description", "")).split())
        requires = _requires(document, message, "fromopd")
        if (declared_type.routes_to == ROUTE_MOVE) != says or says != requires:
            problems.append(f"{name}: declared routes_to={declared_type.routes_to}, document "
                            f"says it moves: {says}, requires fromopd: {requires}")
    assert not problems, problems


def test_every_instant_in_the_document_is_utc_with_z(document):
    # The one time-zone convention of every service's events (the chassis writes it).
    utc = document["components"]["schemas"]["CloudEvent"]["properties"]["time"]["pattern"]
    loose, examples = [], []

    def walk(node, path):
        if isinstance(node, dict):
            if node.get("format") == "date-time" and node.get("pattern") != utc:
                loose.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")
        elif isinstance(node, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", node) and not node.endswith("Z"):
            examples.append(f"{path}: {node}")

    walk(document, "#")
    assert not loose, f"date-time without the UTC pattern: {loose}"
    assert not examples, f"instants not in UTC with Z: {examples}"
    assert re.match(utc, "2026-03-16T16:59:59Z") and not re.match(utc, "2026-03-16T23:59:59+07:00")


def test_services_build_events_only_through_their_catalogue():
    # new_event would build a type no catalogue declares; only the chassis' catalogue calls it.
    direct = []
    for path in sorted(SERVICES.rglob("*.py")):
        if path == SERVICES / "common" / "events.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name == "new_event":
                    direct.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not direct, f"events built with new_event instead of the service's CATALOGUE: {direct}"


def _declared_elsewhere(service: str) -> EventCatalogue:
    namespace = {"EventCatalogue": EventCatalogue, "__name__": "services.other.events"}
    exec(f"CATALOGUE = EventCatalogue({service!r})", namespace)
    return namespace["CATALOGUE"]


def test_a_catalogue_is_declared_by_one_module():
    service = f"t{uuid.uuid4().hex[:8]}"
    first = EventCatalogue(service)
    first.declare("report", "dispatched", routes_to=ROUTE_CASE)
    # The same module imported again (a reload, or after an import that failed) starts over.
    again = EventCatalogue(service)
    assert event_catalogue(service) is again and again.types == {}
    with pytest.raises(ValueError, match=f"already has an event catalogue, in {__name__}"):
        _declared_elsewhere(service)


def test_a_catalogue_refuses_what_it_does_not_declare():
    catalogue = EventCatalogue(f"t{uuid.uuid4().hex[:8]}")
    catalogue.declare("report", "dispatched", routes_to=ROUTE_CASE)
    catalogue.declare("feed", "rebuilt", routes_to=ROUTE_NONE)
    built = catalogue.event("report", "dispatched", subject="reports/1", opd="dinkes")
    assert built.type == f"{catalogue.service}.report.dispatched" and built.opd == "dinkes"
    assert catalogue.event("feed", "rebuilt", subject="feed", opd=None).opd == NO_OPD
    with pytest.raises(ValueError, match="not declared"):
        catalogue.event("report", "archived", subject="reports/1", opd="dinkes")
    with pytest.raises(ValueError, match="routed to none"):
        catalogue.event("feed", "rebuilt", subject="feed", opd="dinkes")
    with pytest.raises(ValueError, match="declared twice"):
        catalogue.declare("report", "dispatched", routes_to=ROUTE_CASE)
    with pytest.raises(ValueError, match="routes_to"):
        catalogue.declare("report", "closed", routes_to="everywhere")
    with pytest.raises(ValueError, match="already has"):
        _declared_elsewhere(catalogue.service)
    assert set(event_catalogue(catalogue.service).types) == {
        f"{catalogue.service}.report.dispatched", f"{catalogue.service}.feed.rebuilt",
    }


def test_a_move_names_the_opd_it_leaves_and_only_a_move_does():
    catalogue = EventCatalogue(f"t{uuid.uuid4().hex[:8]}")
    catalogue.declare("report", "redisposed", routes_to=ROUTE_MOVE)
    catalogue.declare("report", "dispatched", routes_to=ROUTE_CASE)
    moved = catalogue.event("report", "redisposed", subject="reports/1", opd="disdik", from_opd="dinkes")
    assert moved.routing_keys == (f"{catalogue.service}.report.redisposed.disdik",
                                  f"{catalogue.service}.report.redisposed.dinkes")
    # From nobody: the case leaves `none`, where its earlier events were routed.
    first = catalogue.event("report", "redisposed", subject="reports/1", opd="disdik", from_opd=None)
    assert first.from_opd == NO_OPD and first.routing_keys[1].endswith(".none")
    with pytest.raises(ValueError, match="name the OPD it leaves"):
        catalogue.event("report", "redisposed", subject="reports/1", opd="disdik")
    with pytest.raises(ValueError, match="takes no from_opd"):
        catalogue.event("report", "dispatched", subject="reports/1", opd="disdik", from_opd="dinkes")
    with pytest.raises(ValueError, match="leaves one OPD for another"):
        catalogue.event("report", "redisposed", subject="reports/1", opd="dinkes", from_opd="dinkes")


def test_each_event_message_has_a_channel_and_a_send_operation(document):
    problems = []
    channels = document.get("channels") or {}
    operations = document.get("operations") or {}
    for key, message in _messages(document).items():
        if key in PLUMBING_MESSAGES:
            continue
        if message.get("name") != key:
            problems.append(f"message {key}: name must be {key!r}")
        channel = channels.get(key)
        if channel is None:
            problems.append(f"message {key}: no channel {key!r}")
            continue
        if channel.get("address") != f"{key}.{{opd}}":
            problems.append(f"channel {key}: address must be {key}.{{opd}}")
        refs = [m.get("$ref") for m in (channel.get("messages") or {}).values()]
        if f"#/components/messages/{key}" not in refs:
            problems.append(f"channel {key}: does not carry components/messages/{key}")
        operation = operations.get(key)
        if operation is None or operation.get("action") != "send":
            problems.append(f"message {key}: no send operation {key!r}")
        elif operation.get("channel", {}).get("$ref") != f"#/channels/{key}":
            problems.append(f"operation {key}: channel must be #/channels/{key}")
        type_const = _payload_type(document, message)
        if type_const != key:
            problems.append(f"message {key}: payload type is {type_const!r}, expected {key!r}")
    assert not problems, "\n".join(problems)


def _payload_type(document: dict, message: dict) -> str | None:
    payload = message.get("payload") or {}
    parts = payload.get("allOf", [payload])
    for part in parts:
        if "$ref" in part:
            part = _resolve(document, part["$ref"])
        const = (part.get("properties") or {}).get("type", {}).get("const")
        if const:
            return const
    return None


def test_every_ref_resolves(document):
    broken = []

    def walk(node, path):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    _resolve(document, ref)
                except (KeyError, TypeError, AssertionError):
                    broken.append(f"{path}: {ref}")
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(document, "#")
    assert not broken, broken


def test_envelope_built_by_the_code_satisfies_the_documented_schema(document, schemas_dir):
    event = new_event(
        "lapor", "report", "dispatched",
        subject="reports/LPR-2026-000123", opd="DINKES",
        data={"number": "LPR-2026-000123",
              "sla": {"start": [{"clock": "lapor.follow_up",
                                 "due_at": datetime(2026, 3, 31, 9, tzinfo=UTC),
                                 "opd": "dinkes"}],
                      "stop": [{"clock": "lapor.verification"}]}},
    )
    envelope = json.loads(event.to_json())
    documented = _with_components(document, {"$ref": "#/components/schemas/CloudEvent"})
    errors = list(documented.iter_errors(envelope))
    assert not errors, [e.message for e in errors]
    assert event.routing_key == "lapor.report.dispatched.dinkes"

    cloudevents = json.loads((schemas_dir / "cloudevents.json").read_text())
    assert not list(schema_validator(cloudevents).iter_errors(envelope))


def test_clock_instructions_built_by_the_chassis_satisfy_the_schema(document):
    due = datetime(2026, 3, 31, 9, tzinfo=UTC)
    data = {"sla": sla.instructions(
        sla.start("lapor.follow_up", due, opd="dinkes", role="lapor_liaison", counting=sla.CALENDAR_DAYS,
                  started_at=datetime(2026, 3, 2, 9, tzinfo=UTC)),
        sla.restart("lapor.verification", due, opd="diskominfo", role="lapor_admin"),
        sla.stop("lapor.clarification"),
        sla.pause("lapor.completion"),
        sla.resume("lapor.rating", due, opd="dinkes", party=sla.CITIZEN),
    )}
    envelope = json.loads(new_event("lapor", "report", "dispatched", subject="reports/1", opd="dinkes",
                                    data=data).to_json())
    documented = _with_components(document, {"$ref": "#/components/schemas/CloudEvent"})
    assert not [e.message for e in documented.iter_errors(envelope)]
    assert set(envelope["data"]["sla"]) == {"start", "stop", "pause", "resume"}
    wrong = json.loads(json.dumps(envelope))
    wrong["data"]["sla"]["start"][0]["party"] = "opd"
    assert not documented.is_valid(wrong)
    wrong["data"]["sla"]["start"][0]["party"] = "staff"
    wrong["data"]["sla"]["resume"][0].pop("due_at")
    assert not documented.is_valid(wrong)


def test_documented_schema_rejects_what_the_code_never_sends(document):
    documented = _with_components(document, {"$ref": "#/components/schemas/CloudEvent"})
    good = new_event("ppid", "request", "submitted", subject="requests/X", opd=None).envelope()
    good = json.loads(json.dumps(good, default=str))
    assert documented.is_valid(good)
    assert not documented.is_valid({**good, "opd": "Dinkes"})
    assert not documented.is_valid({**good, "type": "ppid.request"})
    assert not documented.is_valid({**good, "data": {"sla": {"start": [{"due_at": "2026-01-01T00:00:00Z"}]}}})
    assert not documented.is_valid({k: v for k, v in good.items() if k != "subject"})


def test_examples_in_the_document_are_valid(document, schemas_dir):
    cloudevents = schema_validator(json.loads((schemas_dir / "cloudevents.json").read_text()))
    envelope_schema = document["components"]["schemas"]["CloudEvent"]
    samples = [(f"CloudEvent example {i}", envelope_schema, ex)
               for i, ex in enumerate(envelope_schema.get("examples", []))]
    for key, message in _messages(document).items():
        for i, example in enumerate(message.get("examples") or []):
            if "payload" in example:
                samples.append((f"message {key} example {i}", message["payload"], example["payload"]))
    problems = []
    for label, schema, sample in samples:
        problems += [f"{label}: {e.message}" for e in _with_components(document, schema).iter_errors(sample)]
        problems += [f"{label} (CloudEvents): {e.message}" for e in cloudevents.iter_errors(sample)]
    assert not problems, "\n".join(problems)
