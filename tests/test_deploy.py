"""deploy/ agrees with the code: every service's command, port and variable is one the code reads,
the load balancer routes to the ports the services listen on, and no secret is in the image or
on a command line. No container runtime is needed: the files are read and the settings built
from them, as the containers would build them."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Mapping

import pytest
import yaml

from tooling import serve
from bot.channels.wechat.gateway import PATH as WECHAT_PATH
from tooling.launch import SERVICES
from core.settings import ROOT, Settings, redis_parts
from bot.settings import tracker_store_config
from handoff.settings import DeskSettings

DEPLOY = ROOT / "deploy"
SECRETISH = re.compile(r"TOKEN|SECRET|PASSWORD|AES_KEY|APPID")
#: Variables read by the libraries rather than Renben's code.
THIRD_PARTY = {"SANIC_PROXIES_COUNT"}
#: Each service's port: the variable and the settings that read it.
PORTS = {
    "rasa": ("RASA_PORT", lambda env: Settings.from_env(env).rasa_port),
    "actions": ("ACTIONS_PORT", lambda env: Settings.from_env(env).actions_port),
    "wechat": ("WECHAT_PORT", lambda env: Settings.from_env(env).wechat_port),
    "desk": ("DESK_PORT", lambda env: DeskSettings.from_env(env).port),
}


def source_text() -> str:
    return "\n".join(path.read_text() for folder in ("core", "bot", "handoff", "actions", "tooling")
                     for path in (ROOT / folder).rglob("*.py"))


SOURCE = source_text()


def read_by_code(name: str) -> bool:
    """Named in Renben's code (settings classes read some names built from a prefix, and list
    them in their docstrings), or read by a library."""
    return name in THIRD_PARTY or re.search(rf"\b{name}\b", SOURCE) is not None


def image_env() -> Dict[str, str]:
    """The ENV of deploy/Dockerfile."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    env: Dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} becomes the default, ${VAR:?message} a stand-in secret."""
    value = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m[2], str(value))
    return re.sub(r"\$\{(\w+)(:\?[^}]*)?\}", lambda m: f"given-{m[1].lower()}-0123456789", value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def renben_services(compose: dict) -> Dict[str, dict]:
    return {name: spec for name, spec in compose["services"].items()
            if "RENBEN_IMAGE" in str(spec.get("image"))}


def service_env(spec: dict) -> Dict[str, str]:
    return {**image_env(), **{k: interpolate(v) for k, v in (spec.get("environment") or {}).items()}}


# ----------------------------------------------------------------------------- compose

def test_compose_runs_every_service_with_the_launcher_s_commands(compose):
    services = renben_services(compose)
    assert sorted(spec["command"][0] for spec in services.values()) == sorted(SERVICES)
    for name, spec in services.items():
        service = spec["command"][0]
        env = service_env(spec)
        assert serve.missing(service, env) == [], name
        command = serve.command(service, Settings.from_env(env), Path("/app/models/m.tar.gz"))
        assert command[1:3] == ["-m", {"actions": "actions.server", "rasa": "bot.rasa_server",
                                       "wechat": "bot.channels.wechat.gateway", "desk": "handoff",
                                       "retention": "core.privacy"}[service]]
        for module in command[2:3]:
            assert (ROOT / module.replace(".", "/")).with_suffix(".py").exists() or \
                (ROOT / module.replace(".", "/") / "__main__.py").exists()


def test_each_service_listens_where_its_health_check_and_nginx_look(compose):
    nginx = (DEPLOY / "nginx.conf").read_text()
    for name, spec in renben_services(compose).items():
        service = spec["command"][0]
        if service not in PORTS:
            assert "healthcheck" not in spec  # the retention job has no port
            continue
        variable, port_of = PORTS[service]
        env = service_env(spec)
        port = port_of(env)
        assert variable in spec["environment"] and int(env[variable]) == port
        assert f"os.environ['{variable}']" in " ".join(spec["healthcheck"]["test"]) and \
            "/health" in " ".join(spec["healthcheck"]["test"])
        host = Settings.from_env(env).host if service != "desk" else DeskSettings.from_env(env).host
        assert host == "0.0.0.0", name  # reachable on the private network
        if service != "actions":  # the action servers are reached by Rasa alone, never via nginx
            assert f"server {name}:{port};" in nginx
        else:
            assert f"{name}:" not in nginx


def test_rasa_reaches_the_action_servers_and_the_desks_reach_rasa(compose):
    services = renben_services(compose)
    rasa = Settings.from_env(service_env(services["rasa"]))
    actions = Settings.from_env(service_env(services["actions"]))
    assert rasa.action_server_url == f"http://actions:{actions.actions_port}"
    desk = DeskSettings.from_env(service_env(services["desk"]))
    assert desk.rasa_url == "http://nginx:5005"
    assert re.search(r"listen 5005;\s*location / \{ proxy_pass http://rasa; \}", (DEPLOY / "nginx.conf").read_text())
    assert "5005" not in str(compose["services"]["nginx"]["ports"])  # Rasa's API stays private


def test_every_process_uses_the_one_redis_and_postgresql(compose):
    postgres = compose["services"]["postgres"]["environment"]
    for spec in renben_services(compose).values():
        env = service_env(spec)
        redis = redis_parts(env["REDIS_URL"])
        assert (redis["host"], redis["port"], redis["password"]) == ("redis", 6379, "given-redis_password-0123456789")
        if "TRACKER_STORE_URL" in env:
            store = tracker_store_config(Settings.from_env(env))
            assert (store["dialect"], store["url"], store["db"], store["username"], store["password"]) == \
                ("postgresql", "postgres", postgres["POSTGRES_DB"], postgres["POSTGRES_USER"],
                 "given-postgres_password-0123456789")


def test_every_variable_given_is_one_the_code_reads(compose):
    for name, spec in renben_services(compose).items():
        for variable in spec.get("environment") or {}:
            assert read_by_code(variable), f"{name}: nothing reads {variable}"
    for variable in image_env():
        assert read_by_code(variable) or variable in {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
                                                      "TF_CPP_MIN_LOG_LEVEL", "RASA_TELEMETRY_ENABLED",
                                                      "SQLALCHEMY_SILENCE_UBER_WARNING"}, variable


def test_secrets_come_from_the_environment_file_never_from_the_files_or_command_lines(compose):
    for name, spec in compose["services"].items():
        for variable, value in (spec.get("environment") or {}).items():
            if SECRETISH.search(variable) or variable.endswith("_URL") and "@" in str(value):
                assert "${" in str(value), f"{name}: {variable} is written into compose.yaml"
        command = " ".join(spec.get("command") or []) if isinstance(spec.get("command"), list) else ""
        assert "--requirepass" not in command
    redis_command = " ".join(compose["services"]["redis"]["command"])
    assert "redis-server /tmp/redis.conf" in redis_command and "aof-use-rdb-preamble no" in redis_command
    example = (DEPLOY / "env.example").read_text()
    for line in example.splitlines():
        if SECRETISH.search(line.split("=")[0]) and "=" in line and not line.startswith("#"):
            assert line.split("=", 1)[1] == "", f"env.example gives a value to {line.split('=')[0]}"
    used = set(re.findall(r"\$\{(\w+)", (DEPLOY / "compose.yaml").read_text()))
    documented = set(re.findall(r"^(\w+)=", example, flags=re.M))
    assert used <= documented, used - documented


def test_the_rasa_servers_share_the_widget_key_and_trust_nginx_for_the_client_address(compose):
    env = renben_services(compose)["rasa"]["environment"]
    assert "RENBEN_WEB_SECRET" in env and env["SANIC_PROXIES_COUNT"] == "1"
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in (DEPLOY / "nginx.conf").read_text()


# ----------------------------------------------------------------------------- image

def test_the_image_runs_bot_serve_as_a_numbered_user_with_no_secret_built_in():
    text = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "tooling.serve"]' in text
    assert re.search(r'^CMD \["(\w+)"\]', text, re.M)[1] in SERVICES
    user = re.search(r"^USER (\S+)", text, re.M)[1]
    assert user.isdigit() and int(user) > 0
    for line in text.splitlines():
        if line.startswith(("ENV", "ARG")):
            assert not SECRETISH.search(line), line
    for source in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path
    exposed = {int(p) for p in re.search(r"^EXPOSE (.+)$", text, re.M)[1].split()}
    defaults = Settings()
    assert exposed == {defaults.rasa_port, defaults.actions_port, defaults.wechat_port, defaults.desk_port}
    assert image_env()["RENBEN_HOST"] == "0.0.0.0"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"var", ".venv", "deploy/.env", "models"} <= set(ignored)


# ----------------------------------------------------------------------------- nginx

def test_nginx_routes_the_claimants_door_to_the_channels_and_nothing_else():
    text = (DEPLOY / "nginx.conf").read_text()
    public = re.search(r"listen 80;(.*?)\n  \}", text, re.S)[1]
    routes = dict(re.findall(r"location (\S+)\s+\{ (?:proxy_pass http://(\w+)|return 404)", public))
    from bot.channels.rest import RestChannel
    from bot.channels.web.channel import WebChannel

    assert routes[f"/webhooks/{WebChannel.name()}/"] == "rasa"
    assert routes[f"/webhooks/{RestChannel.name()}/"] == "rasa"
    assert WECHAT_PATH.startswith("/webhooks/wechat/") and routes["/webhooks/wechat/"] == "wechat"
    assert routes["/"] == ""  # Rasa's /conversations API and anything else: 404


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_nginx_accepts_the_configuration(tmp_path):
    text = (DEPLOY / "nginx.conf").read_text()
    for host in ("rasa", "wechat", "desk"):  # compose's names resolve only on its network
        text = text.replace(f"server {host}:", "server 127.0.0.1:")
    (tmp_path / "nginx.conf").write_text(text)
    result = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------- Kubernetes

@pytest.fixture(scope="module")
def manifests() -> List[dict]:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [doc for doc in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()) if doc]
    return docs


def of_kind(manifests: List[dict], kind: str) -> Dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in manifests if doc["kind"] == kind}


def container_env(container: dict) -> Dict[str, str]:
    env = dict(image_env())
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif not item["valueFrom"]["secretKeyRef"].get("optional"):
            env[item["name"]] = "postgresql://u:p@db:5432/renben" if item["name"] == "TRACKER_STORE_URL" else \
                "redis://:p@redis:6379/0" if item["name"] == "REDIS_URL" else "a-secret-of-sixteen-bytes"
    return env


def test_kubernetes_runs_every_service_with_its_port_and_probes(manifests):
    deployments = of_kind(manifests, "Deployment")
    services = of_kind(manifests, "Service")
    assert sorted(d["spec"]["template"]["spec"]["containers"][0]["args"][0] for d in deployments.values()) == \
        sorted(SERVICES)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        (container,) = pod["spec"]["containers"]
        service = container["args"][0]
        env = container_env(container)
        assert serve.missing(service, env) == [], name
        for item in container.get("env", []):
            assert read_by_code(item["name"]), f"{name}: nothing reads {item['name']}"
            if SECRETISH.search(item["name"]) or item["name"] in ("REDIS_URL", "TRACKER_STORE_URL"):
                assert "secretKeyRef" in item.get("valueFrom", {}), f"{name}: {item['name']} is not from a Secret"
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        if service not in PORTS:
            assert "ports" not in container
            continue
        port = PORTS[service][1](env)
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
        (svc,) = [s for s in services.values() if s["spec"]["selector"].items() <= pod["metadata"]["labels"].items()]
        assert svc["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]


def test_kubernetes_services_reach_each_other_by_name(manifests):
    deployments = of_kind(manifests, "Deployment")
    services = of_kind(manifests, "Service")
    rasa = container_env(deployments["renben-rasa"]["spec"]["template"]["spec"]["containers"][0])
    desk = container_env(deployments["renben-desk"]["spec"]["template"]["spec"]["containers"][0])
    port = services["renben-actions"]["spec"]["ports"][0]["port"]
    assert Settings.from_env(rasa).action_server_url == f"http://renben-actions:{port}"
    assert DeskSettings.from_env(desk).rasa_url == f"http://renben-rasa:{services['renben-rasa']['spec']['ports'][0]['port']}"
    ingress = of_kind(manifests, "Ingress")["renben"]
    routes = {path["path"]: path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"]
              for path in rule["http"]["paths"]}
    assert routes == {"/webhooks/web/": "renben-rasa", "/webhooks/rest/": "renben-rasa",
                      "/webhooks/wechat/": "renben-wechat", "/": "renben-desk"}
    policy = of_kind(manifests, "NetworkPolicy")["renben-actions-from-rasa"]
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/component": "actions"}
    assert policy["spec"]["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "rasa"}}}]


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed")
def test_the_manifests_build_with_kustomize():
    result = subprocess.run(["kubectl", "kustomize", str(DEPLOY / "k8s")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert kinds.count("Deployment") == len(SERVICES) and kinds.count("Service") == 4


# ----------------------------------------------------------------------------- tooling.serve

PRODUCTION: Mapping[str, str] = {
    "REDIS_URL": "redis://:redis-pw@redis:6379/0", "TRACKER_STORE_URL": "postgresql://renben:pg-pw@postgres/renben",
    "RASA_AUTH_TOKEN": "api-token-123", "RENBEN_ACTIONS_TOKEN": "actions-token-456",
    "RENBEN_WEB_SECRET": "web-secret-0123456789", "RASA_URL": "http://nginx:5005", "ACTIONS_URL": "http://actions:5055",
}


def test_a_service_without_its_shared_settings_does_not_start(capsys, tmp_path):
    env = {**PRODUCTION, "RENBEN_VAR_DIR": str(tmp_path)}
    del env["RENBEN_WEB_SECRET"], env["REDIS_URL"]
    assert serve.main(["rasa"], env) == 2
    error = capsys.readouterr().err
    assert "REDIS_URL" in error and "RENBEN_WEB_SECRET" in error
    assert not (tmp_path / "auth_token").exists()  # nothing generated: it would differ per container
    assert serve.main(["nonsense"], env) == 2


@pytest.mark.parametrize("service", SERVICES)
def test_serve_runs_the_launcher_s_command_with_no_secret_on_it(service, tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    from tooling import model_store

    model = model_store.model_path(models)
    model.write_bytes(b"model")
    env = {**PRODUCTION, "RENBEN_VAR_DIR": str(tmp_path / "var"), "RENBEN_MODELS_DIR": str(models),
           "RENBEN_HOST": "0.0.0.0"}
    ran = {}
    monkeypatch.setattr(os, "execve", lambda path, argv, environ: ran.update(argv=argv, env=environ))
    monkeypatch.setattr(os, "chdir", lambda path: ran.update(cwd=path))
    monkeypatch.setattr(os, "umask", lambda mask: 0)
    assert serve.main([service], env) == 0
    assert ran["argv"] == serve.command(service, Settings.from_env(env), model)
    assert ran["cwd"] == ROOT and ran["env"]["RASA_AUTH_TOKEN"] == "api-token-123"
    for secret in ("redis-pw", "pg-pw", "api-token-123", "actions-token-456", "web-secret"):
        assert not any(secret in part for part in ran["argv"])
    endpoints_file = tmp_path / "var" / "endpoints.yml"
    if service == "rasa":
        assert f"--model {model}" in " ".join(ran["argv"])
        assert endpoints_file.stat().st_mode & 0o777 == 0o600
        written = yaml.safe_load(endpoints_file.read_text())
        assert written["action_endpoint"]["url"] == "http://actions:5055/webhook"
        assert written["tracker_store"]["url"] == "postgres" and written["lock_store"]["url"] == "redis"
    else:
        assert not endpoints_file.exists()


def test_rasa_does_not_start_without_the_model_built_into_the_image(tmp_path, capsys):
    env = {**PRODUCTION, "RENBEN_VAR_DIR": str(tmp_path / "var"), "RENBEN_MODELS_DIR": str(tmp_path)}
    assert serve.main(["rasa"], env) == 2
    assert "no model" in capsys.readouterr().err


# ----------------------------------------------------------------------------- metrics

#: The processes that serve /metrics (core/monitoring/door.py), with where compose names them.
METRICS_SERVICES = ("rasa", "wechat", "desk")
#: Series Prometheus makes itself, which an expression may name besides Renben's.
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "rate", "increase", "histogram_quantile", "by", "without",
                "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}


def exposed_names() -> set:
    """Every sample name a Renben process exposes: Renben's own and the process collectors'."""
    from core.monitoring import definitions, door

    names = set(definitions.sample_names()) | PROMETHEUS_OWN
    for component in definitions.COMPONENTS:
        for family in door.registry_for(component).collect():
            names |= {sample.name for sample in family.samples}
    return names


def metric_names(expression: str) -> List[str]:
    """The series a PromQL expression reads: what is left once strings, label matchers, ranges,
    grouping clauses and function names are taken out."""
    text = re.sub(r'"[^"]*"', "", expression)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w.])([A-Za-z_:][\w:]*)\b(?!\s*\()", text)
    return [name for name in names if name not in PROMQL_WORDS]


def dashboard_expressions() -> List[str]:
    import json

    dashboard = json.loads((DEPLOY / "grafana" / "renben.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def alert_expressions() -> List[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_the_expression_reader_finds_the_series_and_nothing_else():
    assert metric_names('sum by (le, channel) (rate(renben_turn_seconds_bucket{channel="web"}[5m])) > 0.5') == \
        ["renben_turn_seconds_bucket"]
    assert metric_names('(a_total > 0) unless on (language) max by (language) (b{state=~"x|y"}) > 0') == \
        ["a_total", "b"]


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_expression_names_only_metrics_that_exist(source):
    expressions = dashboard_expressions() if source == "dashboard" else alert_expressions()
    known = exposed_names()
    assert len(expressions) >= 10
    for expression in expressions:
        names = metric_names(expression)
        assert names, expression
        for name in names:
            assert name in known, f"{name} in {expression!r} is exposed by no Renben process"


def test_the_dashboard_and_the_alerts_read_every_renben_metric():
    from core.monitoring import definitions

    used = {name for expression in dashboard_expressions() + alert_expressions() for name in metric_names(expression)}
    bases = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in used}
    for name in definitions.sample_names():
        assert re.sub(r"_(bucket|count|sum|total)$", "", name) in bases, f"nothing shows {name}"


def test_prometheus_scrapes_every_process_with_metrics_at_its_port_with_the_token(compose):
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    prometheus = compose["services"]["prometheus"]
    assert "monitoring" in prometheus["profiles"] and prometheus["secrets"] == ["metrics_token"]
    assert compose["secrets"]["metrics_token"] == {"environment": "RENBEN_METRICS_TOKEN"}
    assert all(port.startswith("127.0.0.1:") for port in prometheus["ports"])  # never on the public network
    mounted = {volume.split(":")[1] for volume in prometheus["volumes"]}
    assert "/etc/prometheus/prometheus.yml" in mounted and set(config["rule_files"]) <= mounted
    services = renben_services(compose)
    for name in METRICS_SERVICES:
        job = jobs[f"renben-{name}"]
        assert job["authorization"] == {"credentials_file": "/run/secrets/metrics_token"}
        assert job.get("metrics_path", "/metrics") == "/metrics"
        (target,) = job["dns_sd_configs"]
        env = service_env(services[name])
        assert target["names"] == [name] and target["port"] == PORTS[name][1](env)
        assert services[name]["environment"]["RENBEN_METRICS_TOKEN"] == "${RENBEN_METRICS_TOKEN:-}"
        assert Settings.from_env(env).metrics_token is None  # the example's empty token: metrics off
    for name in set(services) - set(METRICS_SERVICES):
        assert "RENBEN_METRICS_TOKEN" not in (services[name].get("environment") or {}), name


def test_kubernetes_pods_with_metrics_are_annotated_for_prometheus_and_given_the_token(manifests):
    for deployment in of_kind(manifests, "Deployment").values():
        pod = deployment["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        annotations = pod["metadata"].get("annotations") or {}
        names = {item["name"]: item for item in container.get("env", [])}
        if container["args"][0] not in METRICS_SERVICES:
            assert "prometheus.io/scrape" not in annotations and "RENBEN_METRICS_TOKEN" not in names
            continue
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics",
                               "prometheus.io/port": str(container["ports"][0]["containerPort"])}
        assert names["RENBEN_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"] == \
            {"name": "renben", "key": "RENBEN_METRICS_TOKEN", "optional": True}


def test_no_public_door_of_nginx_leads_to_the_metrics():
    text = (DEPLOY / "nginx.conf").read_text()
    claimants = re.search(r"listen 80;(.*?)\n  \}", text, re.S)[1]
    assert all(path.startswith("/webhooks/") for path in re.findall(r"location (/\S+)\s+\{ proxy_pass", claimants))
    agents = re.search(r"listen 8077;(.*?)\n  \}", text, re.S)[1]
    assert "location = /metrics { return 404; }" in agents


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")
def test_promtool_accepts_the_scrape_configuration_the_alerts_and_the_dashboard_s_queries(tmp_path):
    rules = subprocess.run(["promtool", "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
                           capture_output=True, text=True)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    queries = [{"record": f"renben:dashboard_{n}", "expr": expression}
               for n, expression in enumerate(dashboard_expressions())]
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": queries}]}))
    parsed = subprocess.run(["promtool", "check", "rules", str(tmp_path / "dashboard.yml")],
                            capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    (tmp_path / "token").write_text("a-token")
    (tmp_path / "alerts.yml").write_text((DEPLOY / "prometheus" / "alerts.yml").read_text())
    config = config.replace("/run/secrets/metrics_token", str(tmp_path / "token")) \
        .replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml"))
    (tmp_path / "prometheus.yml").write_text(config)
    checked = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
