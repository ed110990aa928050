"""The worker process refuses to start on bad configuration or missing secrets, naming
the file, the key path and the reason on stderr; by default it listens on loopback only."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from monitor.service.settings import DEFAULT_CONFIG_DIR, REPO_ROOT


def run_worker(config_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": "/usr/bin:/bin",
        "BLINDAR_CONFIG_DIR": str(config_dir),
        # Nothing listens here: a worker that got past validation would hang, not exit.
        "KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "worker"],
        cwd=REPO_ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def config_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    shutil.copytree(DEFAULT_CONFIG_DIR, tmp_path / "config")
    path = tmp_path / "config" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return tmp_path / "config"


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            "detectors.yaml",
            "  enumeration:\n",
            "  bulk_exports:\n    threshold_records: 5\n  enumeration:\n",
            "detectors.yaml: detectors.bulk_exports: unknown detector",
        ),
        (
            "detectors.yaml",
            "window_minutes: 15",
            "window_minutes: -15",
            "detectors.yaml: detectors.bulk_export.window_minutes: must be a positive integer",
        ),
        (
            "detectors.yaml",
            "threshold_distinct: 300",
            "threshold_distinct: 300\n    allowlist_actors: ['agent-(']",
            "detectors.yaml: detectors.enumeration.allowlist_actors: unknown key",
        ),
        (
            "channels.yaml",
            "  backoffice: {}\n",
            "  backoffice: {}\n  crm:\n    mapping:\n      user.login: actor.login\n",
            "channels.yaml: channels.crm.mapping.user.login: unknown contract field",
        ),
    ],
    ids=["unknown_detector", "negative_window", "allowlist_key", "unknown_mapping_field"],
)
def test_bad_config_stops_start_up_with_key_path_and_reason(
    tmp_path: Path, name: str, old: str, new: str, message: str
) -> None:
    result = run_worker(config_with(tmp_path, name, old, new))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_production_mode_without_pseudonym_key_refuses_to_start(tmp_path: Path) -> None:
    result = run_worker(DEFAULT_CONFIG_DIR, BLINDAR_ENV="production")
    assert result.returncode == 2
    assert "BLINDAR_PSEUDONYM_KEY or BLINDAR_PSEUDONYM_KEY_FILE must be set" in result.stderr


def test_sasl_without_password_refuses_to_start() -> None:
    result = run_worker(
        DEFAULT_CONFIG_DIR, KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_USERNAME="blindar"
    )
    assert result.returncode == 2
    assert "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD" in result.stderr


def test_web_pages_bind_loopback_by_default() -> None:
    from monitor.service.app import Worker
    from monitor.service.settings import Settings

    worker = Worker.from_settings(Settings())
    assert worker.app.conf.web_bind == "127.0.0.1"


def test_production_worker_on_all_interfaces_without_token_refuses_to_start(
    tmp_path: Path,
) -> None:
    key = {"BLINDAR_ENV": "production", "BLINDAR_PSEUDONYM_KEY": "k" * 32}
    result = run_worker(DEFAULT_CONFIG_DIR, BLINDAR_WEB_HOST="0.0.0.0", **key)
    assert result.returncode == 2, result.stderr
    assert "BLINDAR_WEB_HOST='0.0.0.0' serves /metrics and /health beyond this host" in (
        result.stderr
    )
    assert "requires BLINDAR_WEB_TOKEN or BLINDAR_WEB_TOKEN_FILE" in result.stderr
    assert "Traceback" not in result.stderr
    # with the token (here from a file, as the k8s Secret mounts it) it passes this check
    # and stops at the next one: a bad detectors.yaml
    token = tmp_path / "web-token"
    token.write_text("t" * 32 + "\n")
    env = dict(key, BLINDAR_WEB_HOST="0.0.0.0", BLINDAR_WEB_TOKEN_FILE=str(token))
    bad = config_with(tmp_path, "detectors.yaml", "window_minutes: 15", "window_minutes: -15")
    result = run_worker(bad, **env)
    assert result.returncode == 2 and "window_minutes" in result.stderr, result.stderr
    assert "BLINDAR_WEB_TOKEN" not in result.stderr


def test_faust_data_directory_stays_out_of_the_working_directory() -> None:
    from monitor.service.app import Worker
    from monitor.service.settings import Settings

    worker = Worker.from_settings(Settings(group_id="t-datadir"))
    datadir = Path(worker.app.conf.datadir)
    assert datadir.is_absolute()
    assert datadir.is_relative_to(tempfile.gettempdir())
    assert not datadir.is_relative_to(Path.cwd())
