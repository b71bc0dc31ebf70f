#!/usr/bin/env python3
"""Render the Gramine manifest templates in deploy/gramine/ and check them, without Gramine.

Rendering replaces each {{ expression }} with a fixed value (the subset of gramine-manifest's
Jinja2 variables the templates use); an unknown expression is an error. The result must parse
as TOML (Python's tomllib) and satisfy the deployment rules of docs/sgx.md:

  - remote attestation is DCAP; not a debug enclave; EDMM off; ISV product id and SVN set
  - no insecure__ option anywhere (host argv/env, fixed keys, ...), no fs key provisioning
  - fixed argv (loader.argv or an argv file) and only fixed environment values
  - the entrypoint binary is a trusted file; every mount is backed by trusted or allowed files
  - allowed (untrusted) files are only the directories the template declares as host data,
    and none of them is a trusted path (no file is both)
  - sim TEE material (platform.secret, *.sk) is never mounted or allowed

Usage: scripts/check-manifests.py [--out DIR]   (DIR receives the rendered manifests)
       scripts/check-manifests.py --selftest    (each known-bad edit must be caught)
Exit 0 when every template passes; otherwise prints one line per problem and exits 1.
"""
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "deploy" / "gramine"

VALUES = {
    "gramine.libos": "/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so",
    "gramine.runtimedir()": "/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc",
    "arch_libdir": "/lib/x86_64-linux-gnu",
    "prefix": "/usr/local",
    "system_id": "00" * 32,
}

# What each template may leave to the host as untrusted files.
ALLOWED = {
    "narratord.manifest.template": {"file:/etc/narrator/", "file:/var/lib/narrator/",
                                    "file:/run/narrator/"},
    "pin.manifest.template": {"file:/etc/narrator/pin.argv", "file:/var/lib/pin/",
                              "file:/run/narrator/"},
}


def render(text, name, problems):
    def sub(m):
        expr = m.group(1).strip()
        if expr not in VALUES:
            problems.append(f"{name}: unknown template expression {{{{ {expr} }}}}")
            return ""
        return VALUES[expr]
    if "{%" in text:
        problems.append(f"{name}: template statements ({{% %}}) are not supported here")
    return re.sub(r"\{\{(.*?)\}\}", sub, text)


def walk_keys(d, prefix=""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        yield key, v
        if isinstance(v, dict):
            yield from walk_keys(v, key + ".")


def covered(path, entries):
    """path (a host path) is covered by one of the file: URIs (directories end in /)."""
    for e in entries:
        p = e[len("file:"):]
        if p.endswith("/") and (path + "/").startswith(p):
            return True
        if path == p:
            return True
    return False


def check(name, m, problems):
    def bad(msg):
        problems.append(f"{name}: {msg}")

    sgx = m.get("sgx", {})
    if sgx.get("remote_attestation") != "dcap":
        bad('sgx.remote_attestation must be "dcap"')
    if sgx.get("debug") is not False:
        bad("sgx.debug must be false")
    if sgx.get("edmm_enable") is not False:
        bad("sgx.edmm_enable must be false (explicit)")
    for k in ("isvprodid", "isvsvn"):
        if not isinstance(sgx.get(k), int) or sgx.get(k) < 1:
            bad(f"sgx.{k} must be a positive integer")
    for key, _ in walk_keys(m):
        if "insecure__" in key:
            bad(f"{key}: insecure options are not allowed")
    fs = m.get("fs", {})
    if "insecure__keys" in fs or "keys" in fs:
        bad("fs keys must not be provisioned in the manifest")
    loader = m.get("loader", {})
    if "argv" not in loader and "argv_src_file" not in loader:
        bad("loader.argv (or loader.argv_src_file) must fix the arguments")
    for k, v in loader.get("env", {}).items():
        if not isinstance(v, str):
            bad(f"loader.env.{k}: only fixed string values (no passthrough)")
    trusted = sgx.get("trusted_files", [])
    allowed = sgx.get("allowed_files", [])
    for e in trusted + allowed:
        if not isinstance(e, str) or not e.startswith("file:"):
            bad(f"{e!r}: file entries must be file: URIs")
    entry = m.get("libos", {}).get("entrypoint", "")
    if not covered(entry, trusted):
        bad(f"entrypoint {entry} is not a trusted file")
    if loader.get("entrypoint", {}).get("uri") != "file:" + VALUES["gramine.libos"]:
        bad("loader.entrypoint.uri must be the Gramine LibOS")
    if not covered(VALUES["gramine.libos"], trusted):
        bad("the LibOS is not a trusted file")
    want = ALLOWED.get(name, set())
    extra = set(allowed) - want
    if extra:
        bad(f"allowed files beyond the declared host data: {sorted(extra)}")
    for e in allowed:
        if covered(e[len("file:"):].rstrip("/"), trusted):
            bad(f"{e} is both allowed and trusted")
    for mnt in fs.get("mounts", []):
        if mnt.get("type") == "tmpfs":
            continue
        if mnt.get("type") not in (None, "chroot"):
            bad(f"mount {mnt.get('path')}: type {mnt.get('type')} not expected")
        uri = mnt.get("uri", "")
        host = uri[len("file:"):]
        if not uri.startswith("file:"):
            bad(f"mount {mnt.get('path')}: uri must be file:")
        elif not (covered(host, trusted) or covered(host, allowed) or
                  any(t.startswith(uri.rstrip("/") + "/") for t in trusted + allowed)):
            bad(f"mount {mnt.get('path')} ({uri}) holds neither trusted nor allowed files")
    for e in trusted + allowed:
        if re.search(r"platform\.secret|\.sk$|root\.sk", e):
            bad(f"{e}: sim TEE secrets must never be part of an SGX deployment")


MUTATIONS = [
    ("sgx.debug = false", "sgx.debug = true"),
    ('sgx.remote_attestation = "dcap"', 'sgx.remote_attestation = "none"'),
    ("loader.log_level", "loader.insecure__use_host_env = true\nloader.log_level"),
    ('"file:/run/narrator/",\n]', '"file:/run/narrator/",\n  "file:/usr/local/bin/",\n]'),
    ('  "file:{{ prefix }}/bin/narratord",\n', ""),
    ('{{ prefix }}', '{{ nope }}'),
    ("sgx.isvsvn = 1", ""),
    ('"file:/etc/ssl/certs/ca-certificates.crt",', '"file:/srv/sim/platform.secret",'),
]


def selftest():
    t = TEMPLATES / "narratord.manifest.template"
    base = t.read_text()
    failed = 0
    for old, new in MUTATIONS:
        if old not in base:
            print(f"selftest: {old!r} not in the template")
            failed += 1
            continue
        problems = []
        text = render(base.replace(old, new, 1), t.name, problems)
        try:
            check(t.name, tomllib.loads(text), problems)
        except tomllib.TOMLDecodeError as e:
            problems.append(str(e))
        if not problems:
            print(f"selftest: edit {old!r} -> {new!r} was not caught")
            failed += 1
    print(f"check-manifests selftest: {len(MUTATIONS) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--selftest":
        return selftest()
    out = None
    if len(argv) == 3 and argv[1] == "--out":
        out = Path(argv[2])
        out.mkdir(parents=True, exist_ok=True)
    elif len(argv) != 1:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    problems = []
    templates = sorted(TEMPLATES.glob("*.manifest.template"))
    if {t.name for t in templates} != set(ALLOWED):
        problems.append(f"expected templates {sorted(ALLOWED)}, found {[t.name for t in templates]}")
    for t in templates:
        text = render(t.read_text(), t.name, problems)
        if out:
            (out / t.name.replace(".template", "")).write_text(text)
        try:
            m = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            problems.append(f"{t.name}: rendered manifest is not TOML: {e}")
            continue
        check(t.name, m, problems)
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"check-manifests: {len(templates)} templates rendered and checked, 0 problems")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
