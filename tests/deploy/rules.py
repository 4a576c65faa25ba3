"""What the rendered manifests of deploy/k8s must say, as functions over plain objects (the dicts
`kubectl kustomize` prints): each returns the problems it finds, [] when there are none."""

import base64
import json
from urllib.parse import unquote, urlsplit

PROBES = {"startupProbe": "/livez", "livenessProbe": "/livez", "readinessProbe": "/readyz"}
UID = 10001
BROKER_PORTS = {5671, 5672}
MANAGEMENT_PORT = 15672  # the broker's HTTP API: the broker-setup Job's, no service's
OUR_NAMESPACE = {"kubernetes.io/metadata.name": "oms"}  # its labels
OUTSIDE_PORTS = {25, 465, 587, 443, 80}
PRIVATE = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def container_problems(workload: dict) -> list[str]:
    """Probes on the metrics port (a Job instead: a deadline and a bounded number of retries),
    requests and limits, non-root on a read-only root filesystem with no privilege to gain, /tmp
    an emptyDir, no service-account token."""
    pod, wrong = workload["spec"]["template"]["spec"], []
    name = workload["metadata"]["name"]
    job = workload["kind"] == "Job"
    if job:  # nothing to probe in a one-off; a deadline ends one that hangs
        for key in ("activeDeadlineSeconds", "backoffLimit"):
            if not isinstance(workload["spec"].get(key), int):
                wrong.append(f"{name}: a Job must set {key}")
    if pod.get("automountServiceAccountToken") is not False or not pod.get("serviceAccountName"):
        wrong.append(f"{name}: a ServiceAccount of its own, with no token mounted")
    tmp = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    pod_security = pod.get("securityContext", {})
    for c in pod["containers"] + pod.get("initContainers", []):
        where = f"{name}/{c['name']}"
        for probe, path in PROBES.items() if not job else ():
            got = c.get(probe, {}).get("httpGet", {})
            if (got.get("path"), got.get("port")) != (path, "metrics"):
                wrong.append(f"{where}: {probe} is not GET {path} on the metrics port")
        for bound in ("requests", "limits"):
            if set(c.get("resources", {}).get(bound, {})) != {"cpu", "memory"}:
                wrong.append(f"{where}: resources.{bound} must give cpu and memory")
        sc = c.get("securityContext", {})
        expected = {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
        }
        for key, value in expected.items():
            if sc.get(key) != value:
                wrong.append(f"{where}: securityContext.{key} must be {value}")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            wrong.append(f"{where}: capabilities must drop ALL")
        seccomp = sc.get("seccompProfile") or pod_security.get("seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            wrong.append(f"{where}: seccompProfile must be RuntimeDefault")
        if not any(
            m["mountPath"] == "/tmp" and m["name"] in tmp for m in c.get("volumeMounts", [])
        ):
            wrong.append(f"{where}: /tmp must be an emptyDir")
    return wrong


def selects(selector: dict, labels: dict) -> bool:
    """Whether a label selector (matchLabels, matchExpressions with Exists/In) picks `labels`."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        if e["operator"] == "Exists" and e["key"] not in labels:
            return False
        if e["operator"] == "In" and labels.get(e["key"]) not in e["values"]:
            return False
        if e["operator"] not in ("Exists", "In"):
            raise ValueError(f"selector operator {e['operator']} is not understood here")
    return True


def egress_problems(objects: list[dict], deployment: dict, outside: bool) -> list[str]:
    """Every egress rule that applies to the Deployment's pods leads to the broker (AMQP), its own
    database (5432), DNS, or — only when `outside` — the internet on mail and web ports."""
    needed = {"broker", "own database", "dns"} | ({"outside"} if outside else set())
    return _egress_problems(objects, deployment, needed)


def setup_egress_problems(objects: list[dict], job: dict) -> list[str]:
    """The broker-setup Job's pods reach the broker's management API and DNS, nothing else."""
    return _egress_problems(objects, job, {"management", "dns"})


def _egress_problems(objects: list[dict], workload: dict, allowed: set[str]) -> list[str]:
    """Every egress rule that applies to the workload's pods leads to one of `allowed`, and each
    of them is reached; a default-deny policy applies to the pods."""
    labels = workload["spec"]["template"]["metadata"]["labels"]
    name = labels["app.kubernetes.io/name"]
    policies = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], labels) and "Egress" in p["spec"]["policyTypes"]
    ]
    reached, wrong = set(), []
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            kind = _destination(rule, f"oms-{name}-db")
            if kind not in allowed:
                wrong.append(f"{name}: egress in {policy['metadata']['name']} goes to {rule}")
            reached.add(kind)
    if not allowed <= reached:
        wrong.append(f"{name}: cannot reach {sorted(allowed - reached)}")
    if not any(p["spec"]["podSelector"] == {} and not p["spec"].get("egress") for p in policies):
        wrong.append(f"{name}: no default-deny policy applies to it")
    return wrong


def management_admits(objects: list[dict], labels: dict) -> bool:
    """Whether the broker's pods let pods of ours with `labels` in on the management port."""
    broker = {"app.kubernetes.io/name": "oms-rabbitmq"}
    for policy in of_kind(objects, "NetworkPolicy"):
        if not selects(policy["spec"]["podSelector"], broker):
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = {p.get("port") for p in rule.get("ports", [])}
            if ports and MANAGEMENT_PORT not in ports:
                continue
            for peer in rule.get("from") or [{}]:  # no `from`: from everywhere
                if "ipBlock" in peer:
                    continue  # addresses are not checked here (the policies name pods)
                namespaces = peer.get("namespaceSelector")
                if namespaces is not None and not selects(namespaces, OUR_NAMESPACE):
                    continue  # other namespaces' pods (the operator's)
                if selects(peer.get("podSelector", {}), labels):
                    return True
    return False


def _destination(rule: dict, own_database: str) -> str | None:
    """What an egress rule leads to, if it is one of the allowed kinds."""
    ports = {p.get("port") for p in rule.get("ports", [])}
    (peer,) = rule.get("to") or [None]  # no `to`: everywhere (never allowed)
    if peer is None or not ports:
        return None
    pods, namespaces = peer.get("podSelector", {}), peer.get("namespaceSelector")
    if pods == {"matchLabels": {"app.kubernetes.io/name": "oms-rabbitmq"}} and not namespaces:
        if ports == {MANAGEMENT_PORT}:
            return "management"
        return "broker" if ports <= BROKER_PORTS else None
    if pods == {"matchLabels": {"cnpg.io/cluster": own_database}} and not namespaces:
        return "own database" if ports == {5432} else None
    kube_system = {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
    if pods == {"matchLabels": {"k8s-app": "kube-dns"}} and namespaces == kube_system:
        return "dns" if ports == {53} else None
    block = peer.get("ipBlock", {})
    if block.get("cidr") == "0.0.0.0/0" and PRIVATE <= set(block.get("except", [])):
        return "outside" if ports <= OUTSIDE_PORTS else None
    return None


def env_problems(objects: list[dict], workload: dict, secrets: dict[str, set]) -> list[str]:
    """Every ConfigMap the containers read exists in `objects`; every Secret key they read (in
    their environment or a volume) is in `secrets` ({name: keys})."""
    config_maps = {
        c["metadata"]["name"]: set(c.get("data", {})) for c in of_kind(objects, "ConfigMap")
    }
    wrong, name = [], workload["metadata"]["name"]
    pod = workload["spec"]["template"]["spec"]
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            ref = volume["secret"]
            keys = {i["key"] for i in ref.get("items", [])}
            if ref["secretName"] not in secrets or not keys <= secrets[ref["secretName"]]:
                wrong.append(f"{name}: volume {volume['name']} reads {ref['secretName']} {keys}")
    for c in pod["containers"]:
        for source in c.get("envFrom", []):
            ref = source.get("configMapRef") or source.get("secretRef")
            known = config_maps if "configMapRef" in source else secrets
            if ref["name"] not in known:
                wrong.append(f"{name}: envFrom {ref['name']} does not exist")
        for var in c.get("env", []):
            value_from = var.get("valueFrom", {})
            for ref_kind, known in (("secretKeyRef", secrets), ("configMapKeyRef", config_maps)):
                ref = value_from.get(ref_kind)
                if ref and ref["key"] not in known.get(ref["name"], set()):
                    wrong.append(f"{name}: {var['name']} reads {ref['name']}/{ref['key']}: missing")
    return wrong


def secret_keys(objects: list[dict]) -> dict[str, set]:
    return {
        s["metadata"]["name"]: set(s.get("data", {})) | set(s.get("stringData", {}))
        for s in of_kind(objects, "Secret")
    }


def secret_values(secret: dict) -> dict[str, str]:
    """A Secret's values as the pod sees them: `data` decoded, `stringData` over it."""
    values = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    return values | secret.get("stringData", {})


def amqp_problems(objects: list[dict], deployment: dict, rendered_secrets: bool) -> list[str]:
    """The service logs in to the broker as itself: every `*AMQP_URI` it reads comes from its own
    Secret `oms-<service>-amqp`, key `uri`. With `rendered_secrets` (the local overlay) the URI's
    user is the service's name and its password the one the broker-setup Job gives that user
    (Secret `oms-broker-users`, `passwords.json`)."""
    service = deployment["metadata"]["name"]
    own, wrong = {"name": f"oms-{service}-amqp", "key": "uri"}, []
    env = [
        e for c in deployment["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
    ]
    uris = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in env}
    uris = {k: v for k, v in uris.items() if k.endswith("AMQP_URI")}
    if "OMS_AMQP_URI" not in uris:
        wrong.append(f"{service}: no OMS_AMQP_URI")
    wrong += [f"{service}: {k} reads {v}, not {own}" for k, v in uris.items() if v != own]
    if not rendered_secrets:
        return wrong
    secrets = {s["metadata"]["name"]: s for s in of_kind(objects, "Secret")}
    if own["name"] not in secrets or "oms-broker-users" not in secrets:
        return wrong + [f"{service}: {own['name']} or oms-broker-users is missing"]
    uri = urlsplit(secret_values(secrets[own["name"]])["uri"])
    passwords = json.loads(secret_values(secrets["oms-broker-users"])["passwords.json"])
    user, password = (unquote(x) if x else x for x in (uri.username, uri.password))
    if user != service:
        wrong.append(f"{service}: logs in to the broker as {user}")
    elif password != passwords.get(service):
        wrong.append(f"{service}: its URI's password is not the one oms-broker-users gives it")
    return wrong
