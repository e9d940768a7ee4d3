"""Broker logins on the real local RabbitMQ: what an OPD's or a worker's login may and may not do."""

from __future__ import annotations

import uuid
from urllib.parse import quote, urlparse

import pika
import pika.exceptions
import pytest

from services.common import broker_admin
from services.common.broker_admin import (
    BrokerAdminError,
    Rabbitmqctl,
    create_opd_login,
    opd_grant,
    revoke_opd_login,
    service_grant,
    setup_service_logins,
)
from services.common.consumer import declare_consumer_queue
from services.common.events import DEAD_EXCHANGE, EXCHANGE
from services.common.registry import load_registry, parse_registry

REFUSED = 403


@pytest.fixture
def code():
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def ctl(amqp_url, code):
    ctl = Rabbitmqctl()
    # As the operator's setup does before any login is used (a new broker has neither).
    broker_admin.declare_exchanges(ctl)
    yield ctl
    # Only what this test made: the broker is shared with other tests running meanwhile.
    for user in ctl.users():
        if code in user:
            ctl.delete_user(user)
    for queue in ctl.queues():
        if code in queue:
            ctl.delete_queue(queue)


def connect(amqp_url: str, user: str, password: str) -> pika.BlockingConnection:
    admin = urlparse(amqp_url)
    url = f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{admin.hostname}:{admin.port}/%2F"
    return pika.BlockingConnection(pika.URLParameters(url))


def publish_unsent(channel, exchange: str, routing_key: str) -> None:
    """Publish in a transaction rolled back: the broker checks the permissions at the publish,
    and nothing reaches the real subscribers of `simpul.events` (the notifier binds `#`)."""
    channel.tx_select()
    channel.basic_publish(exchange, routing_key, b"{}")
    channel.tx_rollback()  # answers only if the publish left the channel open


def refused(connection: pika.BlockingConnection, action) -> bool:
    channel = connection.channel()
    try:
        action(channel)
    except pika.exceptions.ChannelClosedByBroker as exc:
        assert exc.reply_code == REFUSED, exc
        return True
    channel.close()
    return False


def test_opd_binding_keys_must_end_in_its_own_code():
    import re

    pattern = re.compile(opd_grant("dinkes").topic_read)
    for allowed in ("#.dinkes", "*.*.*.dinkes", "ppid.#.dinkes", "ppid.request.*.dinkes"):
        assert pattern.search(allowed), allowed
    for refused_key in ("#", "#.disdik", "*.*.*.*", "#.dinkes.#", "#.xdinkes", "ppid.#", "dinkes.#"):
        assert not pattern.search(refused_key), refused_key


def test_an_opd_code_that_is_not_one_is_refused():
    for bad in ("DINKES", "a", "none", "din.kes", "din kes", ".*"):
        with pytest.raises(BrokerAdminError):
            opd_grant(bad)


def test_an_opd_login_declares_and_binds_only_its_own(ctl, amqp_url, code):
    user, password = create_opd_login(ctl, code)
    assert user == f"opd-{code}"
    conn = connect(amqp_url, user, password)
    try:
        channel = conn.channel()
        channel.queue_declare(f"opd.{code}.events", durable=True, arguments={"x-queue-type": "quorum"})
        for key in (f"#.{code}", f"*.*.*.{code}", f"ppid.#.{code}"):
            channel.queue_bind(f"opd.{code}.events", EXCHANGE, routing_key=key)
        channel.basic_consume(f"opd.{code}.events", lambda *_: None, auto_ack=False)
        channel.close()

        queue = f"opd.{code}.events"
        for key in ("#", "#.disdik", "*.*.*.*", f"#.{code}.#", "ppid.#"):
            assert refused(conn, lambda ch, key=key: ch.queue_bind(queue, EXCHANGE, routing_key=key)), key
        other = "u" + code[1:]
        assert refused(conn, lambda ch: ch.queue_declare(f"opd.{other}.events", durable=True))
        assert refused(conn, lambda ch: ch.queue_declare("notifier.events", passive=False, durable=True))
        assert refused(conn, lambda ch: ch.exchange_declare("mine", exchange_type="topic"))

        assert refused(conn, lambda ch: publish_unsent(ch, EXCHANGE, f"ppid.request.submitted.{code}"))
    finally:
        conn.close()


def test_a_second_login_for_the_same_opd_is_refused(ctl, code):
    create_opd_login(ctl, code)
    with pytest.raises(BrokerAdminError, match="exists"):
        create_opd_login(ctl, code)


def test_revoking_closes_its_connections_and_locks_it_out(ctl, amqp_url, code):
    user, password = create_opd_login(ctl, code)
    conn = connect(amqp_url, user, password)
    channel = conn.channel()
    for name in ("a", "b"):
        channel.queue_declare(f"opd.{code}.{name}", durable=True)
    other = f"opd.{code}x.kept"  # another OPD whose code starts with this one's
    admin = pika.BlockingConnection(pika.URLParameters(amqp_url))
    admin.channel().queue_declare(other, durable=True)
    admin.close()

    assert revoke_opd_login(ctl, code) == []
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        for _ in range(50):
            conn.process_data_events(time_limit=0.1)
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        connect(amqp_url, user, password)
    assert {f"opd.{code}.a", f"opd.{code}.b"} <= set(ctl.queues())

    assert sorted(revoke_opd_login(ctl, code, delete_queues=True)) == [f"opd.{code}.a", f"opd.{code}.b"]
    assert other in ctl.queues()
    assert f"opd.{code}.a" not in ctl.queues()


def test_the_command_prints_the_password_once_and_revokes(ctl, amqp_url, code, capsys):
    assert broker_admin.main(["create-opd", code]) == 0
    out = capsys.readouterr().out
    password = next(line.split()[1] for line in out.splitlines() if line.startswith("password:"))
    connect(amqp_url, f"opd-{code}", password).close()

    assert broker_admin.main(["create-opd", code]) == 1
    assert "exists" in capsys.readouterr().err
    assert broker_admin.main(["revoke-opd", code]) == 0
    assert f"opd-{code}" not in ctl.users()
    assert broker_admin.main(["create-opd", "NOT-A-CODE"]) == 1


def _services(*names: str):
    return parse_registry({
        "coordinator_opd": "diskominfo",
        "services": {name: {"port": 9000 + i} for i, name in enumerate(names)},
    })


def test_a_worker_login_runs_its_own_declarations_and_no_other_services(ctl, amqp_url, code):
    mine, theirs = f"{code}a", f"{code}b"
    env = {f"{mine.upper()}_AMQP_PASSWORD": "pw-" + code, f"{theirs.upper()}_AMQP_PASSWORD": "other"}
    assert setup_service_logins(ctl, _services(mine, theirs), env) == [f"{mine}-worker", f"{theirs}-worker"]
    # Their consumer's queue exists, as it would once their worker ran.
    admin = pika.BlockingConnection(pika.URLParameters(amqp_url))
    declare_consumer_queue(admin.channel(), f"{theirs}.events", [f"{theirs}.none.#"], delivery_limit=5)
    admin.close()

    conn = connect(amqp_url, f"{mine}-worker", "pw-" + code)
    try:
        channel = conn.channel()
        # What the consumer does: checks both exchanges, declares the quorum queue, its dead
        # twin, bindings.
        declare_consumer_queue(channel, f"{mine}.calendar", [f"{mine}.none.#"], delivery_limit=5,
                               declare_exchanges=False)
        channel.basic_consume(f"{mine}.calendar", lambda *_: None)
        # A dead letter, confirmed; then the relay's publish, checked without reaching anyone.
        publisher = conn.channel()
        publisher.confirm_delivery()
        publisher.exchange_declare(EXCHANGE, exchange_type="topic", durable=True, passive=True)
        publisher.basic_publish(DEAD_EXCHANGE, f"{mine}.calendar", b"{}", mandatory=True)
        publisher.close()
        publish_unsent(conn.channel(), EXCHANGE, f"{mine}.thing.done.none")
        channel.close()

        assert refused(conn, lambda ch: ch.basic_consume(f"{theirs}.events", lambda *_: None))
        assert refused(conn, lambda ch: ch.basic_get(f"{theirs}.events.dead"))
        assert refused(conn, lambda ch: ch.queue_declare(f"{theirs}.mine", durable=True))
        # The shared exchanges are the operator's: no worker redeclares or deletes them.
        assert refused(conn, lambda ch: ch.exchange_declare(EXCHANGE, exchange_type="topic", durable=True))
        assert refused(conn, lambda ch: ch.exchange_delete(DEAD_EXCHANGE))

        assert refused(conn, lambda ch: publish_unsent(ch, EXCHANGE, f"{theirs}.thing.done.none"))
    finally:
        conn.close()

    # Run again with a new password: the login is updated, not duplicated.
    env[f"{mine.upper()}_AMQP_PASSWORD"] = "changed"
    setup_service_logins(ctl, _services(mine, theirs), env)
    connect(amqp_url, f"{mine}-worker", "changed").close()


def test_every_registered_worker_needs_its_password(ctl):
    registry = load_registry()
    with pytest.raises(BrokerAdminError, match="PPID_AMQP_PASSWORD"):
        setup_service_logins(ctl, registry, {"NOTIFIER_AMQP_PASSWORD": "x"})
    assert "ppid-worker" not in ctl.users()


def test_worker_grants_follow_the_registry():
    grants = {name: service_grant(name) for name in load_registry().names}
    assert grants["ppid"].user == "ppid-worker"
    assert grants["ppid"].topic_write == r"^ppid\."
    assert "ppid" not in grants["notifier"].configure


def test_the_command_sets_up_every_registered_worker_from_the_env_file(ctl, amqp_url, tmp_path, monkeypatch):
    services = [e.name for e in load_registry().services.values() if "worker" in e.processes]
    for service in services:
        monkeypatch.delenv(broker_admin.password_variable(service), raising=False)
    assert broker_admin.main(["setup-services", "--env-file", str(tmp_path / "missing")]) == 1
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{broker_admin.password_variable(s)}={s}-pw-1\n" for s in services)
                        + "SMTP_FROM=Simpul <simpul@localhost>\n")
    try:
        assert broker_admin.main(["setup-services", "--env-file", str(env_file)]) == 0
        for service in services:
            connect(amqp_url, f"{service}-worker", f"{service}-pw-1").close()
        assert {EXCHANGE: "topic", DEAD_EXCHANGE: "direct"}.items() <= ctl.exchanges().items()
    finally:
        for service in services:
            if f"{service}-worker" in ctl.users():
                ctl.delete_user(f"{service}-worker")


def test_a_service_named_like_the_opd_queues_gets_no_login(ctl):
    with pytest.raises(BrokerAdminError, match="opd"):
        setup_service_logins(ctl, _services("opd"), {"OPD_AMQP_PASSWORD": "x"})
    assert "opd-worker" not in ctl.users()


def test_a_web_process_never_opens_a_broker_connection(tmp_path):
    """Why compose gives web containers no broker login: their events go through the outbox."""
    import socket
    import threading

    from tests.ppid.support import PpidClient, build_env

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    env = build_env(f"sqlite:///{tmp_path / 'ppid.db'}", "sqlite",
                    AMQP_URL=f"amqp://nobody:nothing@127.0.0.1:{port}/%2F")
    try:
        PpidClient(env).submit()  # a state change with its events in the outbox
        for path in ("/healthz", "/readyz", "/openapi.json"):
            env.client.get(path)
    finally:
        env.rt.dispose()
        stop.set()
        thread.join()
        listener.close()
    assert accepted == []


def test_the_operator_declares_the_two_exchanges_once_and_again(code):
    """`setup-services` declares the exchanges the workers then only check, on an empty
    virtual host too, and running it again changes nothing."""
    Rabbitmqctl().run("add_vhost", code)
    try:
        ctl = Rabbitmqctl(vhost=code)
        assert EXCHANGE not in ctl.exchanges()
        broker_admin.declare_exchanges(ctl)
        broker_admin.declare_exchanges(ctl)
        listed = ctl.exchanges()
        assert (listed[EXCHANGE], listed[DEAD_EXCHANGE]) == ("topic", "direct")
    finally:
        Rabbitmqctl().run("delete_vhost", code)
