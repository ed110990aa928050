"""Compose file, Kubernetes manifests and the worker Dockerfile: no Docker engine or
cluster runs here, so these check what can be checked without one: the YAML parses,
every file they reference exists, environment variables are ones blindar reads, ports
and probes line up, and the ConfigMaps carry the committed configuration."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from monitor.service.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def blindar_env_names() -> set[str]:
    """Every environment variable name the monitor's code reads."""
    names: set[str] = set()
    for path in (REPO_ROOT / "monitor").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r'"((?:BLINDAR|KAFKA|REDIS)_[A-Z_]+)"', text))
        # secrets are read as NAME or from the file named in NAME_FILE
        secrets = re.findall(r'secret\w*\("([A-Z_]+)"\)', text)
        names |= {f"{name}_FILE" for name in secrets}
    return names


def compose() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE / "compose.yaml").read_text())


def k8s_objects() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    objects = []
    for resource in kustomization["resources"]:
        objects += [d for d in yaml.safe_load_all((K8S / resource).read_text()) if d]
    return objects


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def test_every_deploy_yaml_parses() -> None:
    files = [p for p in DEPLOY.rglob("*.y*ml") if p.suffix in (".yml", ".yaml")]
    assert len(files) >= 10
    for path in files:
        assert list(yaml.safe_load_all(path.read_text())), path


def test_compose_has_the_whole_stack_and_its_files_exist() -> None:
    services = compose()["services"]
    assert {
        "kafka", "redis", "prometheus", "alertmanager", "grafana",
        "worker-1", "worker-2", "simulator", "topics", "canary",
    } <= set(services)  # fmt: skip
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE / source).exists(), f"{name}: {source} missing"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        build = service.get("build")
        if build:
            assert (COMPOSE / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    known = blindar_env_names()
    for name in ("worker-1", "worker-2", "simulator", "topics"):
        env = services[name]["environment"]
        assert set(env) <= known, f"{name}: unknown variables {set(env) - known}"
        assert services[name]["image"] == "blindar:local"


def test_prometheus_scrapes_the_compose_workers_and_uses_its_alertmanager() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {t for sc in jobs["blindar"]["static_configs"] for t in sc["targets"]}
    assert targets == {"worker-1:6066", "worker-2:6066"}
    [canary] = [t for sc in jobs["blindar-canary"]["static_configs"] for t in sc["targets"]]
    assert canary.split(":")[0] in compose()["services"]
    services = compose()["services"]
    [am] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am.split(":")[0] in services
    assert services["worker-1"]["environment"]["BLINDAR_ALERTMANAGER_URL"] == f"http://{am}"
    datasource = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/blindar.yml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"


def test_k8s_worker_deployment_probes_and_metrics_service() -> None:
    objects = k8s_objects()
    deployment = one(objects, "Deployment", "blindar-worker")
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]
    assert (
        pod["metadata"]["labels"].items() >= deployment["spec"]["selector"]["matchLabels"].items()
    )
    [container] = pod["spec"]["containers"]
    # Probes carry no token: the two pages that need none (monitor/service/app.py OPEN_PATHS).
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    [port] = container["ports"]
    assert port == {"name": "metrics", "containerPort": 6066}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert set(env) <= blindar_env_names(), set(env) - blindar_env_names()
    assert env["BLINDAR_WEB_HOST"] == "0.0.0.0" and env["BLINDAR_ENV"] == "production"
    service = one(objects, "Service", "blindar-worker-metrics")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert service["spec"]["publishNotReadyAddresses"] is True
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["config"] == env["BLINDAR_CONFIG_DIR"]
    assert env["BLINDAR_PSEUDONYM_KEY_FILE"].startswith(mounts["secrets"])
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    config_maps = {s["configMap"]["name"] for s in volumes["config"]["projected"]["sources"]}
    assert config_maps == {"blindar-channels", "blindar-detectors", "blindar-canary"}
    for name in config_maps:
        one(objects, "ConfigMap", name)


def test_dockerfile_copies_what_exists_and_runs_the_worker() -> None:
    text = DOCKERFILE.read_text()
    for source in re.findall(r"^COPY (?!--)(.+) \S+$", text, flags=re.M):
        for part in source.split():
            assert (REPO_ROOT / part).exists(), f"COPY {part}: missing"
    assert 'ENTRYPOINT ["blindar"]' in text and 'CMD ["worker"]' in text
    assert "/livez" in text
    assert re.search(r"^USER \d+", text, flags=re.M), "runs as a non-root user"
    for name in re.findall(r"\b(BLINDAR_[A-Z_]+)=", text):
        assert name in blindar_env_names()


def test_sink_variables_are_documented_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for name in blindar_env_names():
        if name.startswith(("BLINDAR_ALERTMANAGER", "BLINDAR_WEBHOOK", "BLINDAR_DELIVERY")):
            assert name in readme, f"{name} not documented"


def test_the_image_install_includes_every_package_and_no_test() -> None:
    """The Dockerfile runs a regular (not editable) `pip install .`: build that wheel and
    check it holds every package directory (one per detector folder) and no test module
    (a detector's tests live beside it, setup.py leaves them out)."""
    import subprocess
    import sys
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, str(REPO_ROOT)],
            check=True,
            timeout=240,
        )
        [wheel] = Path(out).glob("blindar-*.whl")
        names = zipfile.ZipFile(wheel).namelist()
    packages = {
        name.rsplit("/", 1)[0].replace("/", ".") for name in names if name.endswith("/__init__.py")
    }
    found = {
        ".".join(init.parent.relative_to(REPO_ROOT).parts)
        for top in ("monitor", "detectors", "simulator")
        for init in (REPO_ROOT / top).rglob("__init__.py")
    }
    assert found <= packages, f"not installed in the image: {found - packages}"
    tests = [name for name in names if name.rsplit("/", 1)[-1].startswith("test_")]
    assert tests == [], f"tests in the image: {tests}"
    assert "detectors/state/shared/guarded_sum.lua" in names
