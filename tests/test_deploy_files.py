"""The deploy/ files validate without a cluster: Kubernetes manifests against the Kubernetes schemas, the
production dagster.yaml and the Helm values' launcher, coordinator and log manager against Dagster's own
config schemas, and the compose file, Dockerfile and ConfigMaps name commands, paths, settings that exist."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from dagster._config import process_config

from xget_pipelines.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
K8S_VERSION = "1.33.0"
BIN = Path(sys.executable).parent


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _check(config_type, config: dict) -> None:
    result = process_config(config_type, config)
    assert result.success, [e.message for e in result.errors]


def _snake(values: dict) -> dict:
    """Helm's camelCase keys -> Dagster's snake_case config keys (what the chart's templates do)."""
    return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): v for k, v in values.items()}


@pytest.mark.parametrize("path", sorted((DEPLOY / "k8s").glob("*.yaml")), ids=lambda p: p.name)
def test_kubernetes_manifests_validate_against_the_schemas(path):
    docs = _docs(path)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_a_broken_manifest_is_caught():
    (deployment,) = [d for d in _docs(DEPLOY / "k8s" / "api.yaml") if d["kind"] == "Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = ["http"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_api_probes_and_secrets():
    docs = {d["kind"]: d for d in _docs(DEPLOY / "k8s" / "api.yaml")}
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"secretRef": {"name": "xget-secrets"}} in container["envFrom"]
    assert set(docs) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "NetworkPolicy"}


def test_production_dagster_yaml_validates_with_dagsters_schema(tmp_path, monkeypatch):
    from dagster._core.instance.config import dagster_instance_config

    for name in (
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_DB",
        "DAGSTER_PG_USER",
        "DAGSTER_PG_PASSWORD",
        "XGET_COMPUTE_LOGS_BUCKET",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
    ):
        monkeypatch.setenv(name, "x")
    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text())
    config, _ = dagster_instance_config(str(tmp_path))
    assert "postgres" in config["storage"]
    for section in ("run_coordinator", "compute_logs"):
        klass = getattr(importlib.import_module(config[section]["module"]), config[section]["class"])
        _check(klass.config_type(), config[section]["config"])
    assert config["run_monitoring"]["enabled"] is True
    assert config["concurrency"]["pools"]["default_limit"] >= 1


def test_helm_values_match_dagsters_launcher_coordinator_and_log_manager():
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_k8s import K8sRunLauncher

    values = yaml.safe_load((DEPLOY / "helm" / "dagster-values.yaml").read_text())
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    config = _snake(launcher)
    config["env_config_maps"] = [m["name"] for m in launcher["envConfigMaps"]]
    config["env_secrets"] = [s["name"] for s in launcher["envSecrets"]]
    config["run_k8s_config"] = {"pod_spec_config": launcher["runK8sConfig"]["podSpecConfig"]}
    # what the chart itself fills in
    config.update(
        instance_config_map="dagster-instance",
        service_account_name="dagster",
        dagster_home="/opt/dagster/dagster_home",
        postgres_password_secret="xget-dagster-postgresql",
    )
    _check(K8sRunLauncher.config_type(), config)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "run"},
        "spec": {
            **launcher["runK8sConfig"]["podSpecConfig"],
            "containers": [{"name": "run", "image": "xget", "resources": launcher["resources"]}],
        },
    }
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)

    queued = _snake(values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"])
    queued["tag_concurrency_limits"] = [
        {**limit, "value": {"applyLimitPerUniqueValue": True}} for limit in queued["tag_concurrency_limits"]
    ]
    _check(QueuedRunCoordinator.config_type(), queued)
    _check(
        S3ComputeLogManager.config_type(),
        _snake(values["computeLogManager"]["config"]["s3ComputeLogManager"]),
    )


def test_user_deployment_serves_the_xget_definitions():
    (deployment,) = yaml.safe_load((DEPLOY / "helm" / "user-deployments-values.yaml").read_text())[
        "deployments"
    ]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    assert hasattr(importlib.import_module(module), "defs")
    assert {"name": "xget-secrets"} in deployment["envSecrets"]


def _settings_named(text: str) -> set[str]:
    return set(re.findall(r"\b(XGET_[A-Z0-9_]+)\b", text))


def test_every_xget_variable_in_deploy_files_is_a_real_setting():
    known = {f"XGET_{name.upper()}" for name in Settings.model_fields} | {"XGET_COMPUTE_LOGS_BUCKET"}
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.suffix in {".yaml", ".yml", ".example", ""}:
            unknown = _settings_named(path.read_text()) - known
            assert not unknown, f"{path.relative_to(DEPLOY)} names settings XGet does not have: {unknown}"


def test_compose_commands_and_mounts_exist():
    compose_dir = DEPLOY / "compose"
    compose = yaml.safe_load((compose_dir / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "minio", "code-server", "webserver", "daemon", "api", "prometheus", "grafana"} <= set(
        services
    )
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (compose_dir / source).exists(), f"{name} mounts {source}, which does not exist"
        command = service.get("command")
        if service.get("image") == "xget:latest":
            assert (BIN / command[0]).exists(), f"{name} runs {command[0]}, which the image does not install"
            help_text = subprocess.run(
                [str(BIN / command[0]), *command[1:2], "--help"]
                if command[0] == "xget"
                else [str(BIN / command[0]), "--help"],
                capture_output=True,
                text=True,
            ).stdout
            assert help_text, f"{name}: {command[0]} --help printed nothing"
    workspace = yaml.safe_load((compose_dir / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["grpc_server"]["host"] == "code-server"


def test_dockerfile_copies_what_exists_and_runs_the_code_server():
    repo = DEPLOY.parent
    text = (DEPLOY / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (?!--from)(?:--chown=\S+ )?(.+)$", text, flags=re.M):
        *sources, _dest = line.split()
        for source in sources:
            assert (repo / source).exists(), f"the Dockerfile copies {source}, which does not exist"
    assert "USER 10001" in text and "torch==2.13.0" in text and "dbt parse" in text
    cmd = re.search(r"^CMD (\[.*\])$", text, flags=re.M).group(1)
    args = yaml.safe_load(cmd)
    module = args[args.index("--module-name") + 1]
    assert hasattr(importlib.import_module(module), "defs")
