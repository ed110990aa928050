"""Kafka and Redis security settings: one set of variables, both client configs, no
secret in a repr or an error."""

from __future__ import annotations

import pytest

from monitor.service.security import KafkaSecurity, RedisAuth
from monitor.service.settings import Settings, SettingsError
from monitor.service.sinks.settings import SinkSettings

SECRET = "s3cret-value-123"


def test_plaintext_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    security = KafkaSecurity.from_env()
    assert security.librdkafka() == {} and security.faust_options() == {}


def test_sasl_ssl_gives_both_clients_the_same_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not used for the mapping")
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\n")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "blindar")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(secret_file))
    monkeypatch.setenv("KAFKA_SSL_CAFILE", str(ca))
    security = KafkaSecurity.from_env()
    assert security.librdkafka() == {
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "blindar",
        "sasl.password": SECRET,
        "ssl.ca.location": str(ca),
        "ssl.endpoint.identification.algorithm": "https",
    }
    assert security.mechanism == "SCRAM-SHA-512" and security.password == SECRET
    assert SECRET not in repr(security)


def test_settings_repr_holds_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "blindar")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", SECRET)
    monkeypatch.setenv("REDIS_PASSWORD", SECRET + "r")
    monkeypatch.setenv("BLINDAR_WEB_TOKEN", SECRET + "w")
    monkeypatch.setenv("BLINDAR_PSEUDONYM_KEY", SECRET + "-pseudonym")
    settings = Settings.from_env()
    assert SECRET not in repr(settings)
    assert RedisAuth.from_env().client_options("redis://x")["password"] == SECRET + "r"
    assert settings.web_token == SECRET + "w"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL: must be one of"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "MD5"},
            "KAFKA_SASL_MECHANISM: must be one of",
        ),
        ({"KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"}, "KAFKA_SSL_CAFILE: no such file"),
        ({"REDIS_PASSWORD_FILE": "/nonexistent/pw"}, "REDIS_PASSWORD_FILE: cannot read"),
    ],
)
def test_bad_security_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_key_files_are_read_as_bytes_and_errors_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    key = bytes(range(200, 232))  # not UTF-8: fine for an HMAC key
    (tmp_path / "key").write_bytes(key + b"\n")
    monkeypatch.delenv("BLINDAR_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("BLINDAR_PSEUDONYM_KEY_FILE", str(tmp_path / "key"))
    assert Settings.from_env().pseudonym_key == key
    monkeypatch.setenv("BLINDAR_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("BLINDAR_WEBHOOK_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="BLINDAR_WEBHOOK_SECRET_FILE: cannot read"):
        SinkSettings.from_env()
    monkeypatch.setenv("BLINDAR_WEB_TOKEN_FILE", str(tmp_path / "key"))
    with pytest.raises(SettingsError, match="BLINDAR_WEB_TOKEN: not UTF-8"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("production", "host", "token", "refused"),
    [
        (True, "0.0.0.0", "", True),
        (True, "::", "", True),
        (True, "10.0.0.7", "", True),
        (True, "worker.internal", "", True),
        (True, "", "", True),  # every interface
        (True, "0.0.0.0", SECRET, False),
        (True, "127.0.0.1", "", False),
        (True, "127.0.0.2", "", False),
        (True, "::1", "", False),
        (True, "localhost", "", False),
        (False, "0.0.0.0", "", False),  # development: the operator's choice
    ],
)
def test_production_pages_beyond_loopback_need_the_token(
    production: bool, host: str, token: str, refused: bool
) -> None:
    settings = Settings(production=production, web_host=host, web_token=token)
    if not refused:
        settings.check_web_guard()
        return
    with pytest.raises(SettingsError) as caught:
        settings.check_web_guard()
    message = str(caught.value)
    assert "production mode requires BLINDAR_WEB_TOKEN or BLINDAR_WEB_TOKEN_FILE" in message
    assert f"BLINDAR_WEB_HOST={host!r}" in message
