#!/usr/bin/env python3
"""Offline checks of the KServe runtime manifests in deploy/kserve/.

    python3 tools/k8s/check_kserve.py [--kubernetes-validate BIN]

KServe's kinds (ServingRuntime, InferenceService) have no schema here, so
kubernetes-validate cannot take them as they are. This script checks what
matters for them to work with tensorserve:

* the runtime is a serving.kserve.io/v1alpha1 ServingRuntime (or
  ClusterServingRuntime) whose model formats and protocol versions are ones
  tensorserve serves, and whose one container is `kserve-container`;
* every flag in the container's args is a tensorserve flag (docs/flags.md), the
  model comes from KServe's /mnt/models, and --rest_api_port is the
  container's one port, which the Prometheus annotations point at too;
* probe and metrics paths are served (docs/served-paths.txt), the container
  runs as the image's user (Dockerfile USER) with a read-only root filesystem;
* the container itself is a valid core/v1 Container: it is wrapped in a Pod and
  validated strictly by kubernetes-validate when its binary is given;
* the example InferenceService names the runtime, one of its model formats and
  one of its protocol versions.

Then a self-test breaks each property once and makes sure it is noticed.
Prints one line per check group; exits 1 on any failure.
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
KSERVE = ROOT / "deploy" / "kserve"
FORMATS = {"tensorflow", "onnx"}
# v1: TF Serving's REST API; v2: the Open Inference Protocol (REST); grpc-*: on --port.
PROTOCOLS = {"v1", "v2", "grpc-v1", "grpc-v2"}
K8S_VERSION = "1.29.0"


def known_flags() -> set[str]:
    text = (ROOT / "docs" / "flags.md").read_text()
    return set(re.findall(r"^\| `--([a-z_]+)` \|", text, re.M))


def served_paths() -> list[re.Pattern[str]]:
    lines = (ROOT / "docs" / "served-paths.txt").read_text().splitlines()
    paths = [l.split()[1] for l in lines if l.startswith("GET ")]
    return [re.compile("^" + re.sub(r"<[^>]+>", "[^/]+", re.escape(p).replace(r"\<", "<").replace(r"\>", ">")) + "$")
            for p in paths]


def image_user() -> str | None:
    final = re.split(r"(?im)^FROM\s", (ROOT / "Dockerfile").read_text())[-1]
    m = re.search(r"(?im)^USER\s+(\S+)", final)
    return m.group(1) if m else None


def args_of(container: dict) -> dict[str, str]:
    out = {}
    for a in container.get("args", []):
        name, _, value = a.removeprefix("--").partition("=")
        out[name] = value
    return out


def check_runtime(rt: dict, flags: set[str], served, user: str | None) -> list[str]:
    errors = []
    if rt.get("apiVersion") != "serving.kserve.io/v1alpha1" or rt.get("kind") not in ("ServingRuntime", "ClusterServingRuntime"):
        errors.append(f"runtime is {rt.get('apiVersion')} {rt.get('kind')}, not a serving.kserve.io/v1alpha1 ServingRuntime")
    spec = rt.get("spec", {})
    for f in spec.get("supportedModelFormats", []):
        if f.get("name") not in FORMATS:
            errors.append(f"model format {f.get('name')!r} is not one tensorserve loads ({sorted(FORMATS)})")
    for p in spec.get("protocolVersions", []):
        if p not in PROTOCOLS:
            errors.append(f"protocol version {p!r} is not one tensorserve serves ({sorted(PROTOCOLS)})")
    containers = spec.get("containers", [])
    if [c.get("name") for c in containers] != ["kserve-container"]:
        errors.append("the runtime must have exactly one container, named kserve-container")
        return errors
    c = containers[0]
    args = args_of(c)
    for name in args:
        if name not in flags:
            errors.append(f"arg --{name} is not a tensorserve flag (docs/flags.md)")
    if args.get("model_base_path") != "/mnt/models":
        errors.append(f"--model_base_path is {args.get('model_base_path')!r}; KServe puts the model in /mnt/models")
    if args.get("model_name") != "{{.Name}}":
        errors.append("--model_name must be KServe's {{.Name}}, the InferenceService's name")
    ports = [p.get("containerPort") for p in c.get("ports", [])]
    rest = args.get("rest_api_port")
    if len(ports) != 1 or str(ports[0]) != rest:
        errors.append(f"containerPorts {ports} must be the one --rest_api_port ({rest})")
    ann = spec.get("annotations", {})
    if ann.get("prometheus.kserve.io/port") != rest:
        errors.append(f"prometheus.kserve.io/port {ann.get('prometheus.kserve.io/port')!r} is not --rest_api_port ({rest})")
    paths = [("prometheus.kserve.io/path", ann.get("prometheus.kserve.io/path", "/metrics"))]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = (c.get(probe) or {}).get("httpGet")
        if get:
            paths.append((probe, get.get("path", "/")))
            if str(get.get("port")) != rest:
                errors.append(f"{probe} port {get.get('port')!r} is not --rest_api_port ({rest})")
    for what, path in paths:
        if not any(p.match(path) for p in served):
            errors.append(f"{what} {path} is not served by the server (docs/served-paths.txt)")
    sc = c.get("securityContext", {})
    if user is not None and str(sc.get("runAsUser")) != user.split(":")[0]:
        errors.append(f"runAsUser {sc.get('runAsUser')!r} is not the image's USER {user}")
    if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False:
        errors.append("the container needs readOnlyRootFilesystem and no privilege escalation")
    return errors


def check_inference_service(isvc: dict, rt: dict) -> list[str]:
    errors = []
    if isvc.get("apiVersion") != "serving.kserve.io/v1beta1" or isvc.get("kind") != "InferenceService":
        errors.append("the example is not a serving.kserve.io/v1beta1 InferenceService")
    model = isvc.get("spec", {}).get("predictor", {}).get("model", {})
    spec = rt.get("spec", {})
    if model.get("runtime") != rt.get("metadata", {}).get("name"):
        errors.append(f"InferenceService runtime {model.get('runtime')!r} is not the runtime's name")
    formats = {f.get("name") for f in spec.get("supportedModelFormats", [])}
    if model.get("modelFormat", {}).get("name") not in formats:
        errors.append(f"InferenceService model format {model.get('modelFormat')} is not one the runtime supports")
    if model.get("protocolVersion", "v1") not in spec.get("protocolVersions", []):
        errors.append(f"InferenceService protocolVersion {model.get('protocolVersion')!r} is not one the runtime lists")
    return errors


def validate_container(rt: dict, kubernetes_validate: str | None) -> list[str]:
    """The runtime's container, as the Pod KServe will make of it, validated strictly."""
    if kubernetes_validate is None:
        return []
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kserve-runtime-check"},
           "spec": {"containers": rt["spec"]["containers"]}}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(pod, f)
        f.flush()
        run = subprocess.run([kubernetes_validate, "--strict", "-k", K8S_VERSION, f.name],
                             capture_output=True, text=True)
    if run.returncode != 0:
        return [f"the container is not a valid core/v1 Container: {(run.stdout + run.stderr).strip()}"]
    return []


def run_checks(rt, isvc, flags, served, user, kubernetes_validate) -> dict[str, list[str]]:
    return {
        "runtime fits tensorserve (formats, protocols, flags, ports, paths, user)": check_runtime(rt, flags, served, user),
        "runtime container is a valid core/v1 Container": validate_container(rt, kubernetes_validate),
        "example InferenceService uses the runtime": check_inference_service(isvc, rt),
    }


def self_test(rt, isvc, flags, served, user, kubernetes_validate) -> list[str]:
    problems = []

    def expect(what: str, mutate, needle: str, validator=None) -> None:
        r, i = copy.deepcopy(rt), copy.deepcopy(isvc)
        mutate(r, i)
        errs = [e for group in run_checks(r, i, flags, served, user, validator).values() for e in group]
        if not any(needle in e for e in errs):
            problems.append(f"self-test: breaking {what} went unnoticed (expected {needle!r})")

    c = lambda r: r["spec"]["containers"][0]  # noqa: E731
    expect("an arg", lambda r, i: c(r)["args"].append("--rest_api_threads=4"), "--rest_api_threads is not a tensorserve flag")
    expect("the model path", lambda r, i: c(r)["args"].__setitem__(1, "--model_base_path=/models"), "/mnt/models")
    expect("the port", lambda r, i: c(r)["ports"][0].update(containerPort=8501), "must be the one --rest_api_port")
    expect("a probe path", lambda r, i: c(r)["readinessProbe"]["httpGet"].update(path="/healthz"), "/healthz is not served")
    expect("the metrics path", lambda r, i: r["spec"]["annotations"].update({"prometheus.kserve.io/path": "/metrics"}), "/metrics is not served")
    expect("a format", lambda r, i: r["spec"]["supportedModelFormats"].append({"name": "pytorch"}), "'pytorch'")
    expect("a protocol", lambda r, i: r["spec"]["protocolVersions"].append("v3"), "'v3'")
    expect("the user", lambda r, i: c(r)["securityContext"].update(runAsUser=0), "runAsUser 0")
    expect("the runtime name", lambda r, i: i["spec"]["predictor"]["model"].update(runtime="triton"), "'triton'")
    expect("the InferenceService protocol", lambda r, i: i["spec"]["predictor"]["model"].update(protocolVersion="grpc-v2"),
           "'grpc-v2' is not one the runtime lists")
    if kubernetes_validate is not None:
        expect("the container schema", lambda r, i: c(r).update(bogus=1), "'bogus' was unexpected", kubernetes_validate)
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kubernetes-validate", help="kubernetes-validate binary, to validate the container strictly")
    args = ap.parse_args()
    rt = yaml.safe_load((KSERVE / "servingruntime.yaml").read_text())
    isvc = yaml.safe_load((KSERVE / "inferenceservice.yaml").read_text())
    flags, served, user = known_flags(), served_paths(), image_user()
    results = run_checks(rt, isvc, flags, served, user, args.kubernetes_validate)
    results["self-test: each check notices a broken manifest"] = self_test(
        rt, isvc, flags, served, user, args.kubernetes_validate)
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
