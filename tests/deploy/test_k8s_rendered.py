"""The Kubernetes manifests as `kubectl kustomize` renders them, after the steps the docs
give (deploy/k8s/kustomization.yaml): locked as shipped (issue 20). The web token is a
Secret made by the kustomization and mounted as a file, the workers run in production
mode on 0.0.0.0 only with it, Prometheus sends it, and the probes need none."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.service.settings import REPO_ROOT
from monitor.service.web import OPEN_PATHS

K8S = REPO_ROOT / "deploy" / "k8s"
PROM_K8S = REPO_ROOT / "deploy" / "prometheus" / "prometheus-k8s.yml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl not found: deploy/local/packages.sh installs it (make test)"
    work = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, work)
    # the documented step: (umask 077; openssl rand -hex 32 > deploy/k8s/secrets/web-token)
    (work / "secrets" / "web-token").write_text("f" * 64 + "\n")
    done = subprocess.run(
        [kubectl, "kustomize", str(work)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def worker_container(objects: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    pod = one(objects, "Deployment", "blindar-worker")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    return pod, container


def test_the_token_secret_is_made_and_mounted_as_a_file(rendered: list[dict[str, Any]]) -> None:
    secret = one(rendered, "Secret", "blindar-web-token")
    assert secret["metadata"]["namespace"] == "blindar" and set(secret["data"]) == {"token"}
    pod, container = worker_container(rendered)
    volumes = {v["name"]: v for v in pod["volumes"]}
    [volume] = [
        v for v in volumes.values() if v.get("secret", {}).get("secretName") == "blindar-web-token"
    ]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BLINDAR_WEB_TOKEN_FILE"] == f"{mount['mountPath']}/token"
    assert "BLINDAR_WEB_TOKEN" not in env  # never as a literal in the manifest


def test_production_mode_beyond_loopback_comes_with_the_token(
    rendered: list[dict[str, Any]],
) -> None:
    _, container = worker_container(rendered)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BLINDAR_ENV"] == "production" and env["BLINDAR_WEB_HOST"] == "0.0.0.0"
    assert env["BLINDAR_WEB_TOKEN_FILE"]


def test_prometheus_scrape_sends_the_mounted_token() -> None:
    config = yaml.safe_load(PROM_K8S.read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "blindar"]
    auth = job["authorization"]
    assert auth.get("type", "Bearer") == "Bearer"
    # where the Prometheus Operator mounts a Secret listed in `secrets:`, and its key
    assert auth["credentials_file"] == "/etc/prometheus/secrets/blindar-web-token/token"
    assert "credentials" not in auth and "bearer_token" not in job


def test_probes_hit_only_the_open_pages_and_send_no_header(
    rendered: list[dict[str, Any]],
) -> None:
    _, container = worker_container(rendered)
    probes = [container[p] for p in ("startupProbe", "livenessProbe", "readinessProbe")]
    for probe in probes:
        assert probe["httpGet"]["path"] in OPEN_PATHS
        assert "httpHeaders" not in probe["httpGet"]
    assert {p["httpGet"]["path"] for p in probes} == {"/livez", "/readyz"}


def test_the_kustomization_needs_the_token_file(tmp_path: Path) -> None:
    """Without the documented step nothing renders: no deployment without a token."""
    kubectl = shutil.which("kubectl")
    assert kubectl
    shutil.copytree(K8S, tmp_path / "k8s")
    (tmp_path / "k8s" / "secrets" / "web-token").unlink(missing_ok=True)
    done = subprocess.run(
        [kubectl, "kustomize", str(tmp_path / "k8s")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "web-token" in done.stderr
