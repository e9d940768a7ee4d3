"""`make run` checks the broker first and says what to do in one line."""

from services.common import preflight
from tests.conftest import free_port


def test_an_unreachable_broker_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URL", f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    assert preflight.main() == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "RabbitMQ is not reachable" in err and "rabbitmq-server" in err


def test_a_running_broker_passes(monkeypatch, amqp_url):
    monkeypatch.setenv("AMQP_URL", amqp_url)
    assert preflight.main() == 0
