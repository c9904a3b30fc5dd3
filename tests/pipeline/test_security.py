"""SASL/TLS settings reach every Kafka client the same way; the password never prints."""

from pathlib import Path

import faust
import pytest

from pipeline.kafka import KafkaSecurity
from pipeline.settings import WorkerSettings


def test_plaintext_is_the_default_and_needs_no_credentials() -> None:
    sec = WorkerSettings().kafka_security()
    assert sec.client_kwargs() == {"security_protocol": "PLAINTEXT"}
    assert sec.faust_credentials() is None


def test_sasl_ssl_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import ssl

    monkeypatch.setenv("ACCESSGUARD_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ACCESSGUARD_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("ACCESSGUARD_SASL_USERNAME", "accessguard")
    monkeypatch.setenv("ACCESSGUARD_SASL_PASSWORD", "s3cr3t-pw")
    settings = WorkerSettings()
    assert "s3cr3t-pw" not in repr(settings) and "s3cr3t-pw" not in repr(
        settings.kafka_security())
    kw = settings.kafka_security().client_kwargs()
    assert kw["security_protocol"] == "SASL_SSL" and kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kw["sasl_plain_username"] == "accessguard" and kw["sasl_plain_password"] == "s3cr3t-pw"
    assert isinstance(kw["ssl_context"], ssl.SSLContext)
    creds = settings.kafka_security().faust_credentials()
    assert isinstance(creds, faust.SASLCredentials) and creds.username == "accessguard"


def test_tls_only_gives_an_ssl_context_and_no_sasl() -> None:
    kw = KafkaSecurity(protocol="SSL").client_kwargs()
    assert set(kw) == {"security_protocol", "ssl_context"}
    assert isinstance(KafkaSecurity(protocol="SSL").faust_credentials(), faust.SSLCredentials)
