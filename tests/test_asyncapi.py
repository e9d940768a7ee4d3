"""The event catalogue (docs/events/asyncapi.yaml) is valid AsyncAPI 3 and matches the code.

Every event type the services publish (`new_event("svc", "entity", "action", …)` in
services/) must have its message in the document, with a channel and a send operation, and
the envelope the code builds must satisfy the envelope schema the document promises.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from services.common.events import new_event
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


def _literals(expr: ast.expr | None) -> set[str] | None:
    """The strings an expression can be when it is made of literals only, else None."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        body, orelse = _literals(expr.body), _literals(expr.orelse)
        return body | orelse if body is not None and orelse is not None else None
    return None


def _assigned_literals(scope: ast.AST, *, top_level_only: bool) -> dict[str, set[str] | None]:
    """Names bound to literal strings in a scope; None for a name also bound to anything else."""
    out: dict[str, set[str] | None] = {}
    nodes = scope.body if top_level_only else ast.walk(scope)
    for node in nodes:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                values = _literals(value)
                known = out.get(target.id, set())
                out[target.id] = None if values is None or known is None else known | values
    return out


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


@dataclass
class _Module:
    path: Path
    tree: ast.Module
    constants: dict[str, set[str] | None]
    tables: dict[str, set[str]]  # module-level dicts whose values are all literal strings
    imported: dict[str, tuple[str, str]]  # local name -> (module stem, function name)
    parents: dict[int, ast.AST]

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(ROOT)}:{node.lineno}"

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while id(node) in self.parents:
            node = self.parents[id(node)]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def resolve(self, expr: ast.expr, call: ast.AST, params: list[str] = ()) -> set[str] | str | None:
        """Literal values of an argument; a parameter's name when it is one of `params`."""
        values = _literals(expr)
        if values is not None:
            return values
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
            return self.tables.get(expr.value.id)
        if not isinstance(expr, ast.Name):
            return None
        if expr.id in params:
            return expr.id
        fn = self.function_of(call)
        if fn is not None:
            local = _assigned_literals(fn, top_level_only=False)
            if expr.id in local:
                return local[expr.id]
        return self.constants.get(expr.id)


@dataclass
class _Wrapper:
    """A function that passes some of its parameters on as new_event's type parts."""

    params: list[str]
    parts: list[set[str] | str]  # literal values, or the name of the parameter passed on


def _parse(path: Path) -> _Module:
    tree = ast.parse(path.read_text(), filename=str(path))
    imported, parents = {}, {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                imported[alias.asname or alias.name] = (node.module.rsplit(".", 1)[-1], alias.name)
    constants = _assigned_literals(tree, top_level_only=True)
    tables = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            values = [_literals(v) for v in node.value.values]
            if values and all(v is not None for v in values):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        tables[target.id] = set().union(*values)
    return _Module(path, tree, constants, tables, imported, parents)


def _types(parts: list[set[str]]) -> list[str]:
    out = [""]
    for values in parts:
        out = [f"{prefix}.{v}" if prefix else v for prefix in out for v in sorted(values)]
    return out


def published_event_types() -> tuple[dict[str, list[str]], list[str]]:
    """Event types built with new_event in services/, and the calls whose type is not literal.

    A type part may be a string literal, a choice between literals (`"met" if … else
    "breached"`), a local or module-level name bound only to such values, or an item of a
    module-level dict whose values are all literals (`ACTIONS[kind]`). A function that
    hands its own parameters to new_event (`def event(entity, action, …): return
    new_event(SERVICE, entity, action, …)`) is followed one level: its callers are checked
    the same way.
    """
    modules = [_parse(p) for p in sorted(SERVICES.rglob("*.py"))
               if p != SERVICES / "common" / "events.py"]
    types: dict[str, list[str]] = {}
    opaque: list[str] = []
    wrappers: dict[tuple[str, str], _Wrapper] = {}
    inside_wrappers: set[int] = set()

    def record(module: _Module, call: ast.Call, parts: list) -> None:
        if len(parts) == 3 and all(isinstance(p, set) and p for p in parts):
            for name in _types(parts):
                types.setdefault(name, []).append(module.where(call))
        else:
            opaque.append(module.where(call))

    for module in modules:
        for call in ast.walk(module.tree):
            if not (isinstance(call, ast.Call) and _called_name(call) == "new_event"):
                continue
            fn = module.function_of(call)
            if fn is None:
                continue
            params = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
            parts = [module.resolve(a, call, params) for a in call.args[:3]]
            if len(parts) == 3 and all(parts) and any(isinstance(p, str) for p in parts):
                wrappers[(module.path.stem, fn.name)] = _Wrapper(params, parts)
                inside_wrappers.add(id(call))

    for module in modules:
        for call in ast.walk(module.tree):
            if not isinstance(call, ast.Call):
                continue
            name = _called_name(call)
            if name == "new_event":
                if id(call) not in inside_wrappers:
                    record(module, call, [module.resolve(a, call) for a in call.args[:3]])
                continue
            if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
                key = (call.func.value.id, call.func.attr)
            elif isinstance(call.func, ast.Name):
                key = module.imported.get(name, (module.path.stem, name))
            else:
                continue
            wrapper = wrappers.get(key)
            if wrapper is None:
                continue
            given = dict(zip(wrapper.params, call.args, strict=False))
            given.update({k.arg: k.value for k in call.keywords if k.arg})
            parts = [
                part if isinstance(part, set)
                else module.resolve(given[part], call) if part in given else None
                for part in wrapper.parts
            ]
            record(module, call, parts)
    return types, opaque


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


def test_every_published_event_type_is_in_the_catalogue(document):
    types, _ = published_event_types()
    names = set(_messages(document))
    names |= {m.get("name") for m in _messages(document).values() if isinstance(m, dict)}
    missing = {t: where for t, where in types.items() if t not in names}
    assert not missing, (
        "event types published in code but absent from docs/events/asyncapi.yaml "
        f"components/messages: {json.dumps(missing, indent=1)}"
    )


def test_event_types_in_code_are_literal():
    # The catalogue test can only see a type spelled out in the call (or in a module constant).
    _, opaque = published_event_types()
    assert not opaque, (
        "new_event calls whose service/entity/action are not string literals or module "
        f"constants, so the catalogue test cannot check them: {opaque}"
    )


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
