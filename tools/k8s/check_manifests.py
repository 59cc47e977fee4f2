#!/usr/bin/env python3
"""Checks on the Kubernetes manifests that no schema validation catches.

    python3 tools/k8s/check_manifests.py                  # renders with kubectl itself
    python3 tools/k8s/check_manifests.py --rendered DIR   # uses validate.sh's renderings

kubernetes-validate proves each object is well-formed; this proves the objects
fit together and fit the server:

* Deployment selectors match their pod labels; Service, PodDisruptionBudget,
  NetworkPolicy, topology-spread and PodMonitor selectors match the pods;
* every Service targetPort is a containerPort (by name or number) of the pods
  it selects; probe, NetworkPolicy and scrape ports exist; nodePort in range;
* every ConfigMap (and key) the pods use exists; every $(VAR) in args resolves;
  every volumeMount names a volume;
* the HPA targets a Deployment of the same rendering, min <= max, CPU requests
  are set when it scales on CPU utilisation, and (under deploy/) the
  Deployment leaves spec.replicas to it;
* every probe and scrape path is served by the server (docs/served-paths.txt,
  or the built-in list below);
* every metric the autoscaling overlay uses -- HPA metrics and Prometheus
  Adapter rules -- is exported by the server (docs/metrics.md, or the
  built-in list below);
* the shutdown budget: terminationGracePeriodSeconds covers the preStop sleep,
  the server's drain delay and its shutdown grace;
* the pods run as the image's user (Dockerfile USER) on the image's ports
  (EXPOSE), and every checkov skip carries a reason;
* the lab (yaml/) and the overlays keep the properties the docs promise.

Plain asserts-style script, no pytest: prints one line per check group and
exits 1 if anything failed. A self-test first breaks each property on purpose
and makes sure the checks notice.
"""

from __future__ import annotations

import argparse
import copy
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# The paths the server serves, used when docs/served-paths.txt (owned by the
# server crate) does not exist yet. Placeholders like <name> match one path
# segment.
BUILTIN_SERVED_PATHS = [
    "/v2/health/live",
    "/v2/health/ready",
    "/v1/models/<name>",
    "/monitoring/prometheus/metrics",
]
# The metrics the server exports, used when docs/metrics.md does not exist yet.
BUILTIN_METRICS = [
    "tensorserve_requests_in_flight",
    "tensorserve_requests_queued",
]
# The server's shutdown defaults (flags --drain_delay_seconds and
# --shutdown_grace_seconds).
DEFAULT_DRAIN_DELAY = 5.0
DEFAULT_SHUTDOWN_GRACE = 20.0
NODE_PORT_RANGE = range(30000, 32768)
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


# ---------------------------------------------------------------------------
# What the server and the image provide.

def served_paths() -> tuple[list[str], str]:
    """Paths served by the server, and where the list came from."""
    f = ROOT / "docs" / "served-paths.txt"
    if f.exists():
        paths = []
        for line in f.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            # Accept an optional method in front: "GET /v2/health/live".
            path = line.split()[-1]
            if path.startswith("/"):
                paths.append(path)
        return paths, str(f.relative_to(ROOT))
    return BUILTIN_SERVED_PATHS, "built-in list (docs/served-paths.txt does not exist)"


def path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(<[^>]+>|\{[^}]+\})", template)
    rx = "".join("[^/]+" if p.startswith(("<", "{")) else re.escape(p) for p in parts)
    return re.compile(rx + r"/?")


def is_served(path: str, served: list[str]) -> bool:
    path = path.split("?", 1)[0]
    return any(path_pattern(t).fullmatch(path) for t in served)


def exported_metrics() -> tuple[set[str], str]:
    """Metric names the server exports, and where the list came from.

    docs/metrics.md: a Markdown table whose first column holds the metric
    name, in backticks or not, optionally followed by its labels in braces.
    """
    f = ROOT / "docs" / "metrics.md"
    if f.exists():
        names = set()
        for line in f.read_text().splitlines():
            line = line.strip()
            if not line.startswith("|"):
                continue
            cell = line.strip("|").split("|", 1)[0].strip().strip("`").strip()
            m = METRIC_NAME.match(cell)
            if m and set(cell) - set("-: ") and m.group(0).lower() not in ("metric", "name"):
                names.add(m.group(0))
        return names, str(f.relative_to(ROOT))
    return set(BUILTIN_METRICS), "built-in list (docs/metrics.md does not exist)"


def image_facts() -> dict:
    """USER and EXPOSE of the final stage of Dockerfile (and Containerfile.local)."""
    facts = {}
    for name in ("Dockerfile", "Containerfile.local"):
        text = (ROOT / name).read_text()
        final = re.split(r"(?im)^FROM\s", text)[-1]
        user = re.search(r"(?im)^USER\s+(\S+)", final)
        ports = set()
        for m in re.finditer(r"(?im)^EXPOSE\s+(.+)$", final):
            ports |= {int(p.split("/")[0]) for p in m.group(1).split()}
        facts[name] = {"user": user.group(1) if user else None, "ports": ports}
    return facts


# ---------------------------------------------------------------------------
# Helpers over rendered objects.

def load(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def ns(obj: dict) -> str:
    return obj.get("metadata", {}).get("namespace", "default")


def ident(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against labels."""
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_labels(dep: dict) -> dict:
    return dep["spec"]["template"].get("metadata", {}).get("labels") or {}


def pod_spec(dep: dict) -> dict:
    return dep["spec"]["template"]["spec"]


def container_ports(dep: dict) -> list[dict]:
    return [p for c in pod_spec(dep)["containers"] for p in c.get("ports", [])]


def port_exists(port, dep: dict) -> bool:
    """A port reference (number or name) against the pods' containerPorts."""
    ports = container_ports(dep)
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return any(p["containerPort"] == int(port) for p in ports)
    return any(p.get("name") == port for p in ports)


def flag_value(container: dict, flag: str, default: float) -> float:
    for a in (container.get("command") or []) + (container.get("args") or []):
        if isinstance(a, str) and a.startswith(f"--{flag}="):
            return float(a.split("=", 1)[1])
    return default


# ---------------------------------------------------------------------------
# The checks. Each takes the documents of one rendering and returns errors.

def check_selectors(docs: list[dict]) -> list[str]:
    errors = []
    deps = of_kind(docs, "Deployment")
    for d in deps:
        sel = d["spec"].get("selector")
        if not selector_matches(sel, pod_labels(d)):
            errors.append(f"{ident(d)}: selector {sel} does not match its pod labels {pod_labels(d)}")
        for t in pod_spec(d).get("topologySpreadConstraints", []):
            if not selector_matches(t.get("labelSelector"), pod_labels(d)):
                errors.append(f"{ident(d)}: topologySpreadConstraint on {t['topologyKey']} selects none of its pods")
    for kind, get in (
        ("Service", lambda o: {"matchLabels": o["spec"].get("selector")} if o["spec"].get("selector") else None),
        ("PodDisruptionBudget", lambda o: o["spec"].get("selector")),
        ("NetworkPolicy", lambda o: o["spec"].get("podSelector")),
    ):
        for o in of_kind(docs, kind):
            sel = get(o)
            hits = [d for d in deps if ns(d) == ns(o) and selector_matches(sel, pod_labels(d))]
            if not hits:
                errors.append(f"{ident(o)}: selector {sel} matches the pods of no Deployment")
    return errors


def check_service_ports(docs: list[dict]) -> list[str]:
    errors = []
    deps = of_kind(docs, "Deployment")
    for s in of_kind(docs, "Service"):
        sel = s["spec"].get("selector") or {}
        targets = [d for d in deps if ns(d) == ns(s) and selector_matches({"matchLabels": sel}, pod_labels(d))]
        for p in s["spec"].get("ports", []):
            tp = p.get("targetPort", p["port"])
            for d in targets:
                if not port_exists(tp, d):
                    errors.append(f"{ident(s)}: port {p.get('name', p['port'])} targets {tp!r}, "
                                  f"not a containerPort of {ident(d)}")
            if "nodePort" in p:
                if s["spec"].get("type") not in ("NodePort", "LoadBalancer"):
                    errors.append(f"{ident(s)}: nodePort on a Service of type {s['spec'].get('type', 'ClusterIP')}")
                if p["nodePort"] not in NODE_PORT_RANGE:
                    errors.append(f"{ident(s)}: nodePort {p['nodePort']} outside 30000-32767")
    for d in deps:
        for c in pod_spec(d)["containers"]:
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = c.get(kind) or {}
                for how in ("httpGet", "tcpSocket", "grpc"):
                    if how in probe and not port_exists(probe[how]["port"], d):
                        errors.append(f"{ident(d)}: {kind} port {probe[how]['port']!r} is not a containerPort")
    for n in of_kind(docs, "NetworkPolicy"):
        hits = [d for d in deps if ns(d) == ns(n) and selector_matches(n["spec"].get("podSelector"), pod_labels(d))]
        for rule in n["spec"].get("ingress") or []:
            for p in rule.get("ports") or []:
                for d in hits:
                    if "port" in p and not port_exists(p["port"], d):
                        errors.append(f"{ident(n)}: ingress port {p['port']!r} is not a containerPort of {ident(d)}")
    return errors


def check_config_refs(docs: list[dict]) -> list[str]:
    errors = []
    cms = {(ns(c), c["metadata"]["name"]): c.get("data") or {} for c in of_kind(docs, "ConfigMap")}
    for d in of_kind(docs, "Deployment"):
        spec = pod_spec(d)
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            if "configMap" in v and not v["configMap"].get("optional"):
                name = v["configMap"]["name"]
                if (ns(d), name) not in cms:
                    errors.append(f"{ident(d)}: volume {v['name']} uses ConfigMap {name}, which does not exist")
                for item in v["configMap"].get("items", []):
                    if item["key"] not in cms.get((ns(d), name), {}):
                        errors.append(f"{ident(d)}: volume {v['name']} uses key {item['key']} missing from {name}")
        for c in spec.get("initContainers", []) + spec["containers"]:
            env_names = set()
            for ref in c.get("envFrom", []):
                cm = ref.get("configMapRef")
                if not cm:
                    continue
                if (ns(d), cm["name"]) not in cms:
                    if not cm.get("optional"):
                        errors.append(f"{ident(d)}: container {c['name']} envFrom ConfigMap {cm['name']}, which does not exist")
                    continue
                env_names |= {ref.get("prefix", "") + k for k in cms[(ns(d), cm["name"])]}
            for e in c.get("env", []):
                env_names.add(e["name"])
                key_ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if key_ref and not key_ref.get("optional"):
                    data = cms.get((ns(d), key_ref["name"]))
                    if data is None:
                        errors.append(f"{ident(d)}: env {e['name']} uses ConfigMap {key_ref['name']}, which does not exist")
                    elif key_ref["key"] not in data:
                        errors.append(f"{ident(d)}: env {e['name']} uses key {key_ref['key']} missing from {key_ref['name']}")
            for a in (c.get("command") or []) + (c.get("args") or []):
                for var in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(a)):
                    if var not in env_names:
                        errors.append(f"{ident(d)}: container {c['name']} argument {a!r} uses $({var}), which is not set")
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes:
                    errors.append(f"{ident(d)}: container {c['name']} mounts volume {m['name']}, which is not declared")
    return errors


def check_hpa(docs: list[dict], hpa_owns_replicas: bool) -> list[str]:
    errors = []
    deps = {(ns(d), d["metadata"]["name"]): d for d in of_kind(docs, "Deployment")}
    for h in of_kind(docs, "HorizontalPodAutoscaler"):
        ref = h["spec"]["scaleTargetRef"]
        target = deps.get((ns(h), ref["name"]))
        if ref.get("kind") != "Deployment" or ref.get("apiVersion") != "apps/v1" or target is None:
            errors.append(f"{ident(h)}: scaleTargetRef {ref} names no Deployment of this rendering")
            continue
        lo, hi = h["spec"].get("minReplicas", 1), h["spec"]["maxReplicas"]
        if not 1 <= lo <= hi:
            errors.append(f"{ident(h)}: minReplicas {lo} / maxReplicas {hi}")
        uses_cpu = "targetCPUUtilizationPercentage" in h["spec"] or any(
            m.get("type") == "Resource" and m["resource"]["name"] == "cpu"
            and m["resource"]["target"]["type"] == "Utilization"
            for m in h["spec"].get("metrics", []))
        if uses_cpu:
            for c in pod_spec(target)["containers"]:
                if "cpu" not in (c.get("resources", {}).get("requests") or {}):
                    errors.append(f"{ident(h)}: scales on CPU utilisation but {c['name']} has no CPU request")
        if hpa_owns_replicas and "replicas" in target["spec"]:
            errors.append(f"{ident(target)}: sets spec.replicas although {ident(h)} manages it "
                          "(every apply would reset the HPA's count)")
    return errors


def check_paths(docs: list[dict], served: list[str]) -> list[str]:
    errors = []
    for d in of_kind(docs, "Deployment"):
        for c in pod_spec(d)["containers"]:
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                get = (c.get(kind) or {}).get("httpGet")
                if get and not is_served(get.get("path", "/"), served):
                    errors.append(f"{ident(d)}: {kind} GET {get.get('path', '/')} is not served by the server")
        ann = d["spec"]["template"].get("metadata", {}).get("annotations") or {}
        if ann.get("prometheus.io/scrape") == "true":
            path = ann.get("prometheus.io/path", "/metrics")
            if not is_served(path, served):
                errors.append(f"{ident(d)}: prometheus.io/path {path} is not served by the server")
            port = ann.get("prometheus.io/port")
            if port is None or not port_exists(port, d):
                errors.append(f"{ident(d)}: prometheus.io/port {port!r} is not a containerPort")
    return errors


def check_shutdown(docs: list[dict]) -> list[str]:
    errors = []
    for d in of_kind(docs, "Deployment"):
        spec = pod_spec(d)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        for c in spec["containers"]:
            pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0)
            need = (pre + flag_value(c, "drain_delay_seconds", DEFAULT_DRAIN_DELAY)
                    + flag_value(c, "shutdown_grace_seconds", DEFAULT_SHUTDOWN_GRACE))
            if grace < need:
                errors.append(f"{ident(d)}: terminationGracePeriodSeconds {grace} < preStop {pre} + drain + "
                              f"shutdown grace = {need:g}: the kubelet would SIGKILL a draining server")
    return errors


def check_image_fit(docs: list[dict], image: dict, hardened: bool) -> list[str]:
    errors = []
    users = {f["user"] for f in image.values()}
    exposed = set.intersection(*(f["ports"] for f in image.values()))
    if len(users) != 1 or None in users:
        errors.append(f"Dockerfile and Containerfile.local disagree on USER: {users}")
    uid = next(iter(users)).split(":")[0] if users else None
    for d in of_kind(docs, "Deployment"):
        spec = pod_spec(d)
        for c in spec["containers"]:
            for where, sc in (("pod", spec.get("securityContext")), (c["name"], c.get("securityContext"))):
                run_as = (sc or {}).get("runAsUser")
                if run_as is not None and str(run_as) != uid:
                    errors.append(f"{ident(d)}: {where} runAsUser {run_as} differs from the image's USER {uid}")
            for p in c.get("ports", []):
                if p["containerPort"] not in exposed:
                    errors.append(f"{ident(d)}: containerPort {p['containerPort']} is not EXPOSEd by the image")
            if hardened:
                sc = c.get("securityContext") or {}
                psc = spec.get("securityContext") or {}
                want = {
                    "readOnlyRootFilesystem": sc.get("readOnlyRootFilesystem") is True,
                    "allowPrivilegeEscalation false": sc.get("allowPrivilegeEscalation") is False,
                    "runAsNonRoot": sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True,
                    "capabilities drop ALL": "ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
                    "seccomp RuntimeDefault": (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
                    "automountServiceAccountToken false": spec.get("automountServiceAccountToken") is False,
                }
                for what, good in want.items():
                    if not good:
                        errors.append(f"{ident(d)}: container {c['name']} lacks {what}")
    return errors


def check_checkov_skips(docs: list[dict]) -> list[str]:
    errors = []
    for o in docs:
        for k, v in (o.get("metadata", {}).get("annotations") or {}).items():
            if "checkov.io/skip" in k:
                parts = str(v).split("=")
                if len(parts) != 2 or not re.fullmatch(r"CKV2?_[A-Z0-9_]+", parts[0]) or len(parts[1].strip()) < 10:
                    errors.append(f"{ident(o)}: annotation {k}: {v!r} is not 'CHECK_ID=reason' "
                                  "(checkov splits on '=', so the reason may hold none)")
    return errors


def lab_skip_comments() -> list[str]:
    errors = []
    for f in sorted((ROOT / "yaml").glob("*.yaml")):
        for line in f.read_text().splitlines():
            m = re.match(r"#\s+skip (\S+?):(.*)$", line)
            if m and (not re.fullmatch(r"CKV2?_[A-Z0-9_]+", m.group(1)) or len(m.group(2).strip()) < 10):
                errors.append(f"yaml/{f.name}: skip comment {line!r} has no check id or no reason")
    return errors


# The autoscaling overlay's metrics: HPA metric names and adapter rules.

def hpa_custom_metrics(docs: list[dict]) -> list[str]:
    names = []
    for h in of_kind(docs, "HorizontalPodAutoscaler"):
        for m in h["spec"].get("metrics", []):
            if m["type"] in ("Pods", "Object", "External"):
                names.append(m[m["type"].lower()]["metric"]["name"])
    return names


def check_metrics(docs: list[dict], adapter: dict, exported: set[str]) -> list[str]:
    errors = []
    rules = (adapter.get("rules") or {}).get("custom") or []
    if not rules:
        errors.append("prometheus-adapter-values.yaml: no rules.custom")
    served_by_adapter = set()
    for r in rules:
        series = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?=\{)", r.get("seriesQuery", "")))
        series |= set(re.findall(r'__name__\s*=~?\s*"\^?([a-zA-Z_:][a-zA-Z0-9_:]*)\$?"', r.get("seriesQuery", "")))
        if not series:
            errors.append(f"adapter rule {r.get('seriesQuery')!r}: names no metric")
        for s in series:
            if s not in exported:
                errors.append(f"adapter rule reads {s}, which the server does not export")
        over = (r.get("resources") or {}).get("overrides") or {}
        if {v.get("resource") for v in over.values()} < {"namespace", "pod"}:
            errors.append(f"adapter rule for {sorted(series)}: must map labels to namespace and pod for a Pods metric")
        if "<<.Series>>" not in r.get("metricsQuery", "") or "<<.LabelMatchers>>" not in r.get("metricsQuery", ""):
            errors.append(f"adapter rule for {sorted(series)}: metricsQuery lacks <<.Series>>/<<.LabelMatchers>>")
        name = r.get("name") or {}
        for s in series:
            # The adapter's `as` refers to capture groups as $1; Python's re as \1.
            as_ = re.sub(r"\$(\d+)", r"\\\1", name.get("as") or "")
            served_by_adapter.add(re.sub(name.get("matches", "^$^"), as_, s) if as_ else s)
    used = hpa_custom_metrics(docs)
    if not used:
        errors.append("autoscale-inflight: its HPA uses no custom metric")
    for m in used:
        if m not in served_by_adapter:
            errors.append(f"HPA metric {m} is published by no adapter rule (rules publish {sorted(served_by_adapter)})")
    return errors


def check_podmonitor(pm: dict, docs: list[dict], served: list[str]) -> list[str]:
    errors = []
    deps = [d for d in of_kind(docs, "Deployment") if selector_matches(pm["spec"].get("selector"), pod_labels(d))]
    if not deps:
        errors.append("podmonitor.yaml: its selector matches no pod of autoscale-inflight")
    if deps and pm["metadata"].get("namespace") != ns(deps[0]):
        errors.append(f"podmonitor.yaml: namespace {pm['metadata'].get('namespace')} is not the pods' {ns(deps[0])}")
    for ep in pm["spec"].get("podMetricsEndpoints", []):
        if not is_served(ep.get("path", "/metrics"), served):
            errors.append(f"podmonitor.yaml: path {ep.get('path')} is not served")
        for d in deps:
            if not port_exists(ep.get("port"), d):
                errors.append(f"podmonitor.yaml: port {ep.get('port')!r} is not a named containerPort")
    return errors


# What the docs promise about each rendering.

def check_lab(docs: list[dict]) -> list[str]:
    errors = []
    want = {("ConfigMap", "tfserving-configs"), ("Deployment", "tf-serving-deployment"),
            ("Service", "tf-serving-service"), ("HorizontalPodAutoscaler", "tf-serving-hpa")}
    have = {(d["kind"], d["metadata"]["name"]) for d in docs}
    if have != want:
        errors.append(f"yaml/: objects {sorted(have)}, the lab has {sorted(want)}")
        return errors
    cm = of_kind(docs, "ConfigMap")[0]
    if cm.get("data") != {"MODEL_NAME": "half_plus_two", "MODEL_PATH": "/models/half_plus_two"}:
        errors.append(f"yaml/configmap.yaml: data {cm.get('data')} differs from the lab's")
    dep = of_kind(docs, "Deployment")[0]
    c = pod_spec(dep)["containers"][0]
    if c["image"] != "tensorserve:latest" or c.get("imagePullPolicy") not in ("Never", "IfNotPresent"):
        errors.append(f"yaml/deployment.yaml: image {c['image']} pull {c.get('imagePullPolicy')}: "
                      "want tensorserve:latest, Never or IfNotPresent (minikube image load)")
    if dep["spec"].get("replicas") != 1:
        errors.append("yaml/deployment.yaml: the lab starts one replica")
    vols = {v["name"]: v for v in pod_spec(dep).get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    hp = vols.get(mounts.get("/models/half_plus_two"), {}).get("hostPath", {})
    if hp.get("path") != "/var/tmp/saved_model_half_plus_two_cpu":
        errors.append("yaml/deployment.yaml: the model must come from hostPath /var/tmp/saved_model_half_plus_two_cpu "
                      "mounted at /models/half_plus_two")
    svc = of_kind(docs, "Service")[0]
    ports = svc["spec"]["ports"]
    if svc["spec"].get("type") != "NodePort" or [(p.get("nodePort"), p.get("targetPort")) for p in ports] != [(30001, 8501)]:
        errors.append("yaml/service.yaml: the lab's Service is NodePort 30001 -> 8501")
    hpa = of_kind(docs, "HorizontalPodAutoscaler")[0]
    if (hpa["apiVersion"], hpa["spec"].get("minReplicas"), hpa["spec"]["maxReplicas"]) != ("autoscaling/v1", 1, 3):
        errors.append("yaml/autoscale.yaml: the lab's HPA is autoscaling/v1, 1..3")
    return errors


def check_overlay_promises(name: str, docs: list[dict]) -> list[str]:
    errors = []
    deps = of_kind(docs, "Deployment")
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    if len(deps) != 1 or len(hpas) != 1:
        return [f"{name}: expected one Deployment and one HPA, found {len(deps)} and {len(hpas)}"]
    dep, hpa = deps[0], hpas[0]
    spec = pod_spec(dep)
    c = spec["containers"][0]
    hostpaths = [v for v in spec.get("volumes", []) if "hostPath" in v]
    kinds = {d["kind"] for d in docs}
    if name == "minikube":
        svc = of_kind(docs, "Service")[0]
        if svc["spec"].get("type") != "NodePort" or 30001 not in [p.get("nodePort") for p in svc["spec"]["ports"]]:
            errors.append("minikube: the Service must be NodePort 30001, as in the lab")
        if c.get("imagePullPolicy") != "Never":
            errors.append("minikube: imagePullPolicy must be Never (minikube image load)")
        if not hostpaths:
            errors.append("minikube: the model comes from the node's /var/tmp (hostPath), as in the lab")
        if hpa["apiVersion"] != "autoscaling/v1" or (hpa["spec"].get("minReplicas"), hpa["spec"]["maxReplicas"]) != (1, 3):
            errors.append("minikube: the lab's HPA is autoscaling/v1, 1..3")
    else:
        if hostpaths:
            errors.append(f"{name}: hostPath volumes are forbidden by the restricted Pod Security Standard")
        if ns(dep) == "default":
            errors.append(f"{name}: must not run in the default namespace")
        nss = [d for d in of_kind(docs, "Namespace") if d["metadata"]["name"] == ns(dep)]
        if not nss or (nss[0]["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce") != "restricted":
            errors.append(f"{name}: namespace {ns(dep)} must be created with pod-security.kubernetes.io/enforce: restricted")
        if hpa["apiVersion"] != "autoscaling/v2" or not {"scaleUp", "scaleDown"} <= set(hpa["spec"].get("behavior") or {}):
            errors.append(f"{name}: HPA must be autoscaling/v2 with explicit scaleUp and scaleDown behavior")
        if hpa["spec"].get("minReplicas", 1) < 2:
            errors.append(f"{name}: at least 2 replicas, so one can be disrupted")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if probe not in c:
                errors.append(f"{name}: container lacks a {probe}")
        if not ((c.get("lifecycle") or {}).get("preStop")):
            errors.append(f"{name}: container lacks a preStop hook")
        res = c.get("resources") or {}
        for what in ("cpu", "memory"):
            if what not in (res.get("requests") or {}) or what not in (res.get("limits") or {}):
                errors.append(f"{name}: {what} request and limit must both be set")
        if "PodDisruptionBudget" not in kinds:
            errors.append(f"{name}: no PodDisruptionBudget")
        if not spec.get("topologySpreadConstraints"):
            errors.append(f"{name}: no topologySpreadConstraints")
        if name == "autoscale-inflight" and not hpa_custom_metrics(docs):
            errors.append("autoscale-inflight: the HPA must scale on requests in flight")
    return errors


# ---------------------------------------------------------------------------

def render_all(kubectl: str) -> dict[str, list[dict]]:
    out = {}
    for k in sorted((ROOT / "deploy").rglob("kustomization.yaml")):
        rel = k.parent.relative_to(ROOT)
        text = subprocess.run([kubectl, "kustomize", str(k.parent)], check=True, capture_output=True, text=True).stdout
        out["_".join(rel.parts)] = [d for d in yaml.safe_load_all(text) if d]
    with tempfile.TemporaryDirectory() as tmp:
        files = sorted((ROOT / "yaml").glob("*.yaml"))
        for f in files:
            (Path(tmp) / f.name).write_text(f.read_text())
        (Path(tmp) / "kustomization.yaml").write_text("resources:\n" + "".join(f"  - {f.name}\n" for f in files))
        text = subprocess.run([kubectl, "kustomize", tmp], check=True, capture_output=True, text=True).stdout
        out["yaml"] = [d for d in yaml.safe_load_all(text) if d]
    return out


def run_checks(renderings: dict[str, list[dict]], served: list[str], exported: set[str],
               adapter: dict, podmonitor: dict, image: dict) -> dict[str, list[str]]:
    results: dict[str, list[str]] = {}

    def add(group: str, errors: list[str]) -> None:
        results.setdefault(group, []).extend(errors)

    for name, docs in renderings.items():
        in_deploy = name.startswith("deploy_")
        add("selectors match pod labels", [f"[{name}] {e}" for e in check_selectors(docs)])
        add("ports: Service targetPort, probes, NetworkPolicy, nodePort", [f"[{name}] {e}" for e in check_service_ports(docs)])
        add("ConfigMaps, keys, $(VARS) and volumes exist", [f"[{name}] {e}" for e in check_config_refs(docs)])
        add("HPA targets the Deployment", [f"[{name}] {e}" for e in check_hpa(docs, hpa_owns_replicas=in_deploy)])
        add("probe and scrape paths are served", [f"[{name}] {e}" for e in check_paths(docs, served)])
        add("shutdown budget fits terminationGracePeriodSeconds", [f"[{name}] {e}" for e in check_shutdown(docs)])
        add("pods fit the image (USER, EXPOSE, security context)",
            [f"[{name}] {e}" for e in check_image_fit(docs, image, hardened=in_deploy)])
        add("checkov skips carry a reason", [f"[{name}] {e}" for e in check_checkov_skips(docs)])
    add("checkov skips carry a reason", lab_skip_comments())
    inflight = renderings.get("deploy_overlays_autoscale-inflight", [])
    add("autoscaling metrics are exported by the server", check_metrics(inflight, adapter, exported))
    add("PodMonitor fits the pods", check_podmonitor(podmonitor, inflight, served))
    add("the lab (yaml/) is the lab", check_lab(renderings.get("yaml", [])))
    for overlay in ("minikube", "production", "autoscale-inflight"):
        key = f"deploy_overlays_{overlay}"
        if key not in renderings:
            add("overlays keep their promises", [f"{key}: not rendered"])
        else:
            add("overlays keep their promises", check_overlay_promises(overlay, renderings[key]))
    return results


def self_test(renderings, served, exported, adapter, podmonitor, image) -> list[str]:
    """Breaks one property at a time and checks that the checks notice."""
    problems = []

    def expect(what: str, mutate, needle: str) -> None:
        r = copy.deepcopy(renderings)
        a, p = copy.deepcopy(adapter), copy.deepcopy(podmonitor)
        try:
            mutate(r, a, p)
        except (KeyError, IndexError, TypeError) as e:
            problems.append(f"self-test: could not break {what}: {type(e).__name__} {e} (rendering missing?)")
            return
        errs = [e for group in run_checks(r, served, exported, a, p, image).values() for e in group]
        if not any(needle in e for e in errs):
            problems.append(f"self-test: breaking {what} went unnoticed (expected an error containing {needle!r})")

    def dep(r, key):
        return of_kind(r[key], "Deployment")[0]

    def first(r, key, kind):
        return of_kind(r[key], kind)[0]

    prod = "deploy_overlays_production"
    infl = "deploy_overlays_autoscale-inflight"
    expect("a Service targetPort", lambda r, a, p: first(r, prod, "Service")["spec"]["ports"][0].update(targetPort="htp"),
           "targets 'htp'")
    expect("the lab's targetPort number", lambda r, a, p: first(r, "yaml", "Service")["spec"]["ports"][0].update(targetPort=8502),
           "targets 8502")
    expect("a Service selector", lambda r, a, p: first(r, prod, "Service")["spec"].update(selector={"app": "nope"}),
           "matches the pods of no Deployment")
    expect("a Deployment selector", lambda r, a, p: dep(r, "yaml")["spec"]["selector"]["matchLabels"].update(app="x"),
           "does not match its pod labels")
    expect("a ConfigMap reference", lambda r, a, p: pod_spec(dep(r, "yaml"))["containers"][0]["envFrom"][0]["configMapRef"].update(name="gone"),
           "ConfigMap gone, which does not exist")
    expect("a ConfigMap key", lambda r, a, p: pod_spec(dep(r, prod))["containers"][0].setdefault("env", []).append(
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": first(r, prod, "ConfigMap")["metadata"]["name"], "key": "NOPE"}}}),
           "key NOPE missing")
    expect("an argument variable", lambda r, a, p: pod_spec(dep(r, prod))["containers"][0].update(args=["--model_name=$(MODEL_NAM)"]),
           "$(MODEL_NAM)")
    expect("the HPA target", lambda r, a, p: first(r, "yaml", "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(name="tf-serving"),
           "names no Deployment")
    expect("spec.replicas under an HPA", lambda r, a, p: dep(r, prod)["spec"].update(replicas=2), "sets spec.replicas")
    expect("a probe path", lambda r, a, p: pod_spec(dep(r, prod))["containers"][0]["livenessProbe"]["httpGet"].update(path="/healthz"),
           "GET /healthz is not served")
    expect("a probe port", lambda r, a, p: pod_spec(dep(r, prod))["containers"][0]["readinessProbe"]["httpGet"].update(port="rest"),
           "readinessProbe port 'rest'")
    expect("the HPA metric", lambda r, a, p: first(r, infl, "HorizontalPodAutoscaler")["spec"]["metrics"][0]["pods"]["metric"].update(name="tensorserve_inflight"),
           "HPA metric tensorserve_inflight")
    expect("the adapter's series", lambda r, a, p: a["rules"]["custom"][0].update(seriesQuery='tensorserve_in_flight{namespace!="",pod!=""}'),
           "reads tensorserve_in_flight, which the server does not export")
    expect("the scrape path", lambda r, a, p: dep(r, infl)["spec"]["template"]["metadata"]["annotations"].update({"prometheus.io/path": "/metrics"}),
           "prometheus.io/path /metrics")
    expect("the grace period", lambda r, a, p: pod_spec(dep(r, prod)).update(terminationGracePeriodSeconds=10),
           "terminationGracePeriodSeconds 10")
    expect("runAsUser", lambda r, a, p: pod_spec(dep(r, prod))["securityContext"].update(runAsUser=1000), "pod runAsUser 1000")
    expect("readOnlyRootFilesystem", lambda r, a, p: pod_spec(dep(r, prod))["containers"][0]["securityContext"].update(readOnlyRootFilesystem=False),
           "lacks readOnlyRootFilesystem")
    expect("a hostPath in production", lambda r, a, p: pod_spec(dep(r, prod)).setdefault("volumes", []).append(
        {"name": "m", "hostPath": {"path": "/var/tmp"}}), "hostPath volumes are forbidden")
    expect("a checkov skip reason", lambda r, a, p: dep(r, prod)["metadata"]["annotations"].update({"checkov.io/skip9": "CKV_K8S_1"}),
           "is not 'CHECK_ID=reason'")
    expect("the PodMonitor port", lambda r, a, p: p["spec"]["podMetricsEndpoints"][0].update(port="metrics"), "port 'metrics'")
    expect("the lab's NodePort", lambda r, a, p: first(r, "yaml", "Service")["spec"]["ports"][0].update(nodePort=30002),
           "NodePort 30001")
    expect("a nodePort range", lambda r, a, p: first(r, "deploy_overlays_minikube", "Service")["spec"]["ports"][0].update(nodePort=8080),
           "outside 30000-32767")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rendered", type=Path, help="directory of renderings written by validate.sh")
    ap.add_argument("--kubectl", default="kubectl", help="kubectl to render with (without --rendered)")
    args = ap.parse_args()

    if args.rendered:
        renderings = {f.stem: load(f) for f in sorted(args.rendered.glob("*.yaml"))}
    else:
        renderings = render_all(args.kubectl)
    served, served_src = served_paths()
    exported, metrics_src = exported_metrics()
    overlay = ROOT / "deploy" / "overlays" / "autoscale-inflight"
    adapter = yaml.safe_load((overlay / "prometheus-adapter-values.yaml").read_text())
    podmonitor = yaml.safe_load((overlay / "podmonitor.yaml").read_text())
    image = image_facts()
    print(f"renderings: {', '.join(renderings)}")
    print(f"served paths from {served_src}: {', '.join(served)}")
    print(f"exported metrics from {metrics_src}: {', '.join(sorted(exported))}")

    results = run_checks(renderings, served, exported, adapter, podmonitor, image)
    results["self-test: each check notices a broken manifest"] = self_test(
        renderings, served, exported, adapter, podmonitor, image)
    failed = 0
    for group, errors in results.items():
        print(f"{'FAIL' if errors else 'ok  '} {group}")
        for e in errors:
            print(f"       {e}")
        failed += bool(errors)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
