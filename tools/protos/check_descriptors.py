#!/usr/bin/env python3
"""Checks tensorserve's hand-written .proto files against the descriptors that TensorFlow and
TF Serving ship in their PyPI wheels.

Field names and numbers are the wire contract with every TF Serving client, so they must be
exactly upstream's. The wheels carry compiled descriptors (inside their `*_pb2.py` modules),
which makes them an authoritative reference without a TensorFlow source checkout.

What is compared, by fully-qualified name:
  * every message we declare: each field's name, number, label, type, type name, oneof,
    proto3 `optional`, and effective packed encoding; reserved ranges and names; upstream
    fields we lack (only allowed for whole messages listed in TRIMMED_MESSAGES);
  * every enum we declare: each value's name and number;
  * every service we declare: each method's name, request, response and streaming flags;
  * each file's package and syntax, and upstream messages missing from a file we have.

Usage (see tools/protos/README.md):
    python tools/protos/check_descriptors.py [--wheels DIR] [--protoc PATH]

Exit status 0 when everything matches, 1 on any difference, 2 on a setup problem.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_ROOT = os.path.join(REPO, "crates", "proto", "proto")

# The upstream modules whose file closure is our reference.
REFERENCE_MODULES = [
    "tensorflow_serving.apis.prediction_service_pb2",
    "tensorflow_serving.apis.model_service_pb2",
    "grpc_health.v1.health_pb2",
]

# Wheels (by file-name prefix) whose `_pb2.py` modules are extracted.
WHEEL_PREFIXES = ("tensorflow-", "tensorflow_serving_api-", "grpcio_health_checking-")

# Our file name -> upstream file name, where the two differ. The Python health package
# compiles grpc's health.proto under another directory; its package is the same.
FILE_ALIASES = {"grpc/health/v1/health.proto": "grpc_health/v1/health.proto"}

# Upstream messages deliberately left out of a file we do have. Leaving out a whole message is
# wire-safe as long as no message we declare refers to it (protoc would refuse to compile
# otherwise); fields of declared messages are never trimmed.
TRIMMED_MESSAGES = {
    "tensorflow.MetaGraphDef": "SavedModel graph container; the serving API only uses SignatureDef",
    "tensorflow.CollectionDef": "only referenced by MetaGraphDef",
    "tensorflow.AssetFileDef": "only referenced by MetaGraphDef",
}


def die(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def find_protoc(explicit: str | None) -> list[str]:
    """Returns the command that runs protoc: an explicit path, the binary that the
    protoc-bin-vendored crate unpacked into cargo's registry, or grpcio-tools' module."""
    if explicit:
        return [explicit]
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = sorted(
        glob.glob(os.path.join(home, "registry", "src", "*", "protoc-bin-vendored-linux-x86_64-*", "bin", "protoc"))
    )
    if found:
        return [found[-1]]
    try:
        import grpc_tools  # noqa: F401

        return [sys.executable, "-m", "grpc_tools.protoc"]
    except ImportError:
        die("no protoc found: pass --protoc, build the crate once, or pip install grpcio-tools")
    return []


def well_known_include(protoc: list[str]) -> str:
    """Directory holding google/protobuf/*.proto for the chosen protoc."""
    if protoc[0] == sys.executable:
        import grpc_tools

        return os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    # protoc-bin-vendored ships the well-known types beside its binary: <crate>/bin/protoc and
    # <crate>/include/google/protobuf/*.proto.
    include = os.path.join(os.path.dirname(os.path.dirname(protoc[0])), "include")
    if not os.path.isfile(os.path.join(include, "google", "protobuf", "any.proto")):
        die(f"no google/protobuf include directory next to {protoc[0]}; pass --protoc of a full install")
    return include


def our_descriptors(protoc: list[str], proto_root: str):
    from google.protobuf import descriptor_pb2

    files = sorted(
        os.path.relpath(p, proto_root) for p in glob.glob(os.path.join(proto_root, "**", "*.proto"), recursive=True)
    )
    if not files:
        die(f"no .proto files under {proto_root}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ours.pb")
        cmd = protoc + [
            f"-I{proto_root}",
            f"-I{well_known_include(protoc)}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            *files,
        ]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            die("protoc failed:\n" + res.stderr)
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())
    return [f for f in fds.file if not f.name.startswith("google/protobuf/")]


def reference_descriptors(wheel_dir: str, workdir: str):
    """Extracts the wheels' `_pb2.py` modules (nothing else: importing TensorFlow itself is not
    needed) and returns upstream's FileDescriptorProtos by file name."""
    from google.protobuf import descriptor_pb2

    wheels = [w for w in sorted(glob.glob(os.path.join(wheel_dir, "*.whl"))) if os.path.basename(w).startswith(WHEEL_PREFIXES)]
    for prefix in WHEEL_PREFIXES[:2]:
        if not any(os.path.basename(w).startswith(prefix) for w in wheels):
            die(f"no {prefix}*.whl in {wheel_dir} (see tools/protos/README.md)")
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.endswith("_pb2.py"):
                    z.extract(name, workdir)
        print(f"reference wheel: {os.path.basename(wheel)}")
    for root, _dirs, _files in os.walk(workdir):
        init = os.path.join(root, "__init__.py")
        if not os.path.exists(init):
            open(init, "w").close()
    sys.path.insert(0, workdir)

    by_name = {}

    def walk(fd):
        if fd.name in by_name:
            return
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        by_name[fd.name] = proto
        for dep in fd.dependencies:
            walk(dep)

    for module in REFERENCE_MODULES:
        try:
            walk(importlib.import_module(module).DESCRIPTOR)
        except ImportError as e:
            if module.startswith("grpc_health"):
                # Fall back to an installed grpcio-health-checking.
                sys.path.remove(workdir)
                try:
                    walk(importlib.import_module(module).DESCRIPTOR)
                except ImportError:
                    die(f"cannot import {module}: {e} (pip download --no-deps grpcio-health-checking)")
                finally:
                    sys.path.insert(0, workdir)
            else:
                die(f"cannot import {module}: {e}")
    return {k: v for k, v in by_name.items() if not k.startswith("google/protobuf/")}


def index(files):
    """Maps fully-qualified names to (kind, descriptor, file) for messages, enums, services."""
    table = {}

    def add_msg(prefix, m, fname):
        full = f"{prefix}.{m.name}"
        table[full] = ("message", m, fname)
        for n in m.nested_type:
            add_msg(full, n, fname)
        for e in m.enum_type:
            table[f"{full}.{e.name}"] = ("enum", e, fname)

    for f in files:
        prefix = f".{f.package}" if f.package else ""
        for m in f.message_type:
            add_msg(prefix, m, f.name)
        for e in f.enum_type:
            table[f"{prefix}.{e.name}"] = ("enum", e, f.name)
        for s in f.service:
            table[f"{prefix}.{s.name}"] = ("service", s, f.name)
    return table


def effective_packed(field, syntax: str) -> bool:
    from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

    if field.label != F.LABEL_REPEATED or field.type in (F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_MESSAGE, F.TYPE_GROUP):
        return False
    if field.options.HasField("packed"):
        return field.options.packed
    return syntax == "proto3"


def field_sig(msg, field, syntax):
    from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

    oneof = msg.oneof_decl[field.oneof_index].name if field.HasField("oneof_index") else None
    return {
        "name": field.name,
        "label": F.Label.Name(field.label),
        "type": F.Type.Name(field.type),
        "type_name": field.type_name,
        "oneof": oneof,
        "proto3_optional": field.proto3_optional,
        "packed": effective_packed(field, syntax),
    }


def compare(ours, ref):
    errors, notes = [], []
    ours_ix, ref_ix = index(ours), index(list(ref.values()))
    ours_syntax = {f.name: f.syntax or "proto2" for f in ours}
    ref_syntax = {f.name: f.syntax or "proto2" for f in ref.values()}
    counts = {"message": 0, "enum": 0, "service": 0, "field": 0, "value": 0, "method": 0}

    for f in ours:
        ref_name = FILE_ALIASES.get(f.name, f.name)
        if ref_name not in ref:
            errors.append(f"{f.name}: no upstream file of that name")
            continue
        rf = ref[ref_name]
        if f.package != rf.package:
            errors.append(f"{f.name}: package {f.package!r}, upstream {rf.package!r}")
        if (f.syntax or "proto2") != (rf.syntax or "proto2"):
            errors.append(f"{f.name}: syntax {f.syntax!r}, upstream {rf.syntax!r}")
        # Upstream top-level messages missing from this file.
        have = {m.name for m in f.message_type}
        for m in rf.message_type:
            full = f".{rf.package}.{m.name}"
            if m.name not in have:
                if full[1:] in TRIMMED_MESSAGES:
                    notes.append(f"trimmed on purpose: {full[1:]} ({TRIMMED_MESSAGES[full[1:]]})")
                else:
                    errors.append(f"{f.name}: upstream message {full[1:]} is missing")
        if ref_name != f.name:
            notes.append(f"{f.name} is upstream's {ref_name} (same package)")

    for full, (kind, ours_d, fname) in sorted(ours_ix.items()):
        if full not in ref_ix:
            errors.append(f"{full}: not defined upstream")
            continue
        rkind, ref_d, rfname = ref_ix[full]
        if kind != rkind:
            errors.append(f"{full}: is a {kind}, upstream a {rkind}")
            continue
        counts[kind] += 1
        where = f"{full[1:]}"
        if kind == "message":
            ofields = {fl.number: fl for fl in ours_d.field}
            rfields = {fl.number: fl for fl in ref_d.field}
            for num in sorted(set(ofields) | set(rfields)):
                if num not in rfields:
                    errors.append(f"{where}: field {ofields[num].name}={num} not upstream")
                elif num not in ofields:
                    errors.append(f"{where}: upstream field {rfields[num].name}={num} missing")
                else:
                    counts["field"] += 1
                    a = field_sig(ours_d, ofields[num], ours_syntax[fname])
                    b = field_sig(ref_d, rfields[num], ref_syntax[rfname])
                    for key in a:
                        if a[key] != b[key]:
                            errors.append(f"{where}.{b['name']} (#{num}): {key} {a[key]!r}, upstream {b[key]!r}")
            if ours_d.options.map_entry != ref_d.options.map_entry:
                errors.append(f"{where}: map_entry differs")
            ores = sorted((r.start, r.end) for r in ours_d.reserved_range)
            rres = sorted((r.start, r.end) for r in ref_d.reserved_range)
            if ores != rres:
                errors.append(f"{where}: reserved ranges {ores}, upstream {rres}")
            if sorted(ours_d.reserved_name) != sorted(ref_d.reserved_name):
                errors.append(f"{where}: reserved names differ")
            # Nested types upstream that we lack.
            for n in ref_d.nested_type:
                if f"{full}.{n.name}" not in ours_ix:
                    errors.append(f"{where}: upstream nested message {n.name} missing")
            for e in ref_d.enum_type:
                if f"{full}.{e.name}" not in ours_ix:
                    errors.append(f"{where}: upstream nested enum {e.name} missing")
        elif kind == "enum":
            ov = [(v.name, v.number) for v in ours_d.value]
            rv = [(v.name, v.number) for v in ref_d.value]
            counts["value"] += len(rv)
            if sorted(ov) != sorted(rv):
                errors.append(f"{where}: values differ: only ours {sorted(set(ov) - set(rv))}, only upstream {sorted(set(rv) - set(ov))}")
            ores = sorted((r.start, r.end) for r in ours_d.reserved_range)
            rres = sorted((r.start, r.end) for r in ref_d.reserved_range)
            if ores != rres:
                errors.append(f"{where}: reserved ranges {ores}, upstream {rres}")
        else:
            om = {m.name: m for m in ours_d.method}
            rm = {m.name: m for m in ref_d.method}
            if set(om) != set(rm):
                errors.append(f"{where}: methods {sorted(om)}, upstream {sorted(rm)}")
            for name in sorted(set(om) & set(rm)):
                counts["method"] += 1
                a, b = om[name], rm[name]
                for key in ("input_type", "output_type", "client_streaming", "server_streaming"):
                    if getattr(a, key) != getattr(b, key):
                        errors.append(f"{where}/{name}: {key} {getattr(a, key)!r}, upstream {getattr(b, key)!r}")

    omitted = sorted(set(ref) - {FILE_ALIASES.get(f.name, f.name) for f in ours})
    return errors, notes, counts, omitted


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheels", default="/work/venv-protos/wheels", help="directory with the downloaded wheels")
    ap.add_argument("--proto-root", default=PROTO_ROOT, help="root of the .proto files to check")
    ap.add_argument("--protoc", help="protoc binary (default: protoc-bin-vendored's, then grpcio-tools)")
    args = ap.parse_args()

    try:
        import google.protobuf  # noqa: F401
    except ImportError:
        die("the `protobuf` Python package is required (see tools/protos/README.md)")

    protoc = find_protoc(args.protoc)
    print(f"protoc: {' '.join(protoc)}")
    workdir = tempfile.mkdtemp(prefix="tensorserve-pb2-")
    try:
        ref = reference_descriptors(args.wheels, workdir)
        ours = our_descriptors(protoc, args.proto_root)
        errors, notes, counts, omitted = compare(ours, ref)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"our files: {len(ours)}; upstream closure of the served services: {len(ref)} files")
    print(
        "compared: {message} messages ({field} fields), {enum} enums ({value} values), "
        "{service} services ({method} methods)".format(**counts)
    )
    for n in notes:
        print(f"note: {n}")
    if omitted:
        print("upstream files not declared here (reachable only through trimmed messages, or empty):")
        for name in omitted:
            print(f"  {name}")
    if errors:
        print(f"\n{len(errors)} difference(s):")
        for e in errors:
            print(f"  {e}")
        return 1
    print("OK: every declared message, field, enum and method matches upstream")
    return 0


if __name__ == "__main__":
    sys.exit(main())
