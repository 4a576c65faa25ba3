"""What the rendered manifests of deploy/k8s must say, as functions over plain objects (the dicts
`kubectl kustomize` prints): each returns the problems it finds, [] when there are none."""

PROBES = {"startupProbe": "/livez", "livenessProbe": "/livez", "readinessProbe": "/readyz"}
UID = 10001
BROKER_PORTS = {5671, 5672}
OUTSIDE_PORTS = {25, 465, 587, 443, 80}
PRIVATE = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def container_problems(deployment: dict) -> list[str]:
    """Probes on the metrics port, requests and limits, non-root on a read-only root filesystem
    with no privilege to gain, /tmp an emptyDir, no service-account token."""
    pod, wrong = deployment["spec"]["template"]["spec"], []
    name = deployment["metadata"]["name"]
    if pod.get("automountServiceAccountToken") is not False or not pod.get("serviceAccountName"):
        wrong.append(f"{name}: a ServiceAccount of its own, with no token mounted")
    tmp = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    pod_security = pod.get("securityContext", {})
    for c in pod["containers"] + pod.get("initContainers", []):
        where = f"{name}/{c['name']}"
        for probe, path in PROBES.items():
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
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = labels["app.kubernetes.io/name"]
    policies = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if selects(p["spec"]["podSelector"], labels) and "Egress" in p["spec"]["policyTypes"]
    ]
    reached, wrong = set(), []
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            kind = _destination(rule, f"oms-{service}-db")
            if kind is None or (kind == "outside" and not outside):
                wrong.append(f"{service}: egress in {policy['metadata']['name']} goes to {rule}")
            reached.add(kind)
    needed = {"broker", "own database", "dns"} | ({"outside"} if outside else set())
    if not needed <= reached:
        wrong.append(f"{service}: cannot reach {sorted(needed - reached)}")
    if not any(p["spec"]["podSelector"] == {} and not p["spec"].get("egress") for p in policies):
        wrong.append(f"{service}: no default-deny policy applies to it")
    return wrong


def _destination(rule: dict, own_database: str) -> str | None:
    """What an egress rule leads to, if it is one of the allowed kinds."""
    ports = {p.get("port") for p in rule.get("ports", [])}
    (peer,) = rule.get("to") or [None]  # no `to`: everywhere (never allowed)
    if peer is None or not ports:
        return None
    pods, namespaces = peer.get("podSelector", {}), peer.get("namespaceSelector")
    if pods == {"matchLabels": {"app.kubernetes.io/name": "oms-rabbitmq"}} and not namespaces:
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


def env_problems(objects: list[dict], deployment: dict, secrets: dict[str, set]) -> list[str]:
    """Every ConfigMap the containers read exists in `objects`; every Secret key they read is
    in `secrets` ({name: keys})."""
    config_maps = {
        c["metadata"]["name"]: set(c.get("data", {})) for c in of_kind(objects, "ConfigMap")
    }
    wrong, name = [], deployment["metadata"]["name"]
    for c in deployment["spec"]["template"]["spec"]["containers"]:
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
