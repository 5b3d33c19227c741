# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The deployment artifacts: deploy/kubernetes (kustomize), deploy/Dockerfile
and deploy/systemd/odtrace.service. They grant the agent exactly the
capabilities and host mounts it needs, probe it where it answers, hand it a
configuration it accepts, build it with the steps the README documents, and
install the libraries the binary links, no more."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile

import pytest
import yaml

from conftest import ODTRACE, REPO, build_info

DEPLOY = os.path.join(REPO, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")
UNIT = os.path.join(DEPLOY, "systemd", "odtrace.service")
# The repository's own build: `make integration` points ODTRACE at the ASan
# one, whose libraries are not the ones an image ships.
BINARY = os.path.join(REPO, "odtrace")



def agent_capabilities(which):
    """The agent's own word (user/agent/privs.c, printed by `odtrace run --help`):
    what the default families need to start, or what it keeps once
    attached, without the CAP_ prefix. Both deployments grant the start set
    (each entry is explained next to it in daemonset.yaml and the unit); the
    agent drops the rest of it itself."""
    out = subprocess.run([ODTRACE, "run", "--help"], capture_output=True, text=True,
                         check=True).stdout
    (line,) = re.findall(rf"^  {which}: (.*)$", out, re.M)
    return {c.removeprefix("CAP_") for c in line.split()}


# hostPath -> where the agent looks for it (the same path: it has no option to
# look elsewhere), all read-only.
HOST_MOUNTS = {p: p for p in ("/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup",
                              "/var/log/pods", "/var/log/containers")}
PORT = 9472
SOCKET_DIR = "/run/odtrace"  # the agent's default socket's directory


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kustomizations():
    return sorted(os.path.join(d, "kustomization.yaml") for d, _, files in os.walk(K8S)
                  if "kustomization.yaml" in files)


def manifests():
    """Every object of every file a kustomization lists, components included."""
    out = []
    for k in kustomizations():
        for r in load(k)[0].get("resources", []):
            out += load(os.path.join(os.path.dirname(k), r))
    return out


def one(kind):
    found = [m for m in manifests() if m["kind"] == kind]
    assert len(found) == 1, f"one {kind} expected, found {len(found)}"
    return found[0]


def pod():
    return one("DaemonSet")["spec"]["template"]


def container():
    (c,) = pod()["spec"]["containers"]
    return c


def config_text():
    return one("ConfigMap")["data"]["odtrace.yaml"]


def print_config(text):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(text)
        f.flush()
        return subprocess.run([ODTRACE, "run", "--config", f.name, "--print-config"],
                              capture_output=True, text=True, timeout=60)


# -- Kubernetes ---------------------------------------------------------------

def test_every_yaml_parses_and_every_kustomization_lists_its_directory():
    assert os.path.join(K8S, "kustomization.yaml") in kustomizations()
    for k in kustomizations():
        d = os.path.dirname(k)
        (kust,) = load(k)
        listed = set(kust.get("resources", []))
        files = {f for f in os.listdir(d) if f.endswith((".yaml", ".yml"))} - {"kustomization.yaml"}
        assert listed == files, f"{k} lists {sorted(listed)}, its directory has {sorted(files)}"
        for f in files:
            for doc in load(os.path.join(d, f)):
                assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), (f, doc)
        for sub in sorted(os.listdir(d)):
            if os.path.isdir(os.path.join(d, sub)) and sub != "components":
                assert os.path.exists(os.path.join(d, sub, "kustomization.yaml")), sub


def test_the_podmonitor_is_an_optional_component():
    """`kubectl apply -k deploy/kubernetes` must work on a cluster without the
    Prometheus Operator's CRDs: the PodMonitor is only in a component, which
    the base names (commented) for those who have them."""
    (base,) = load(os.path.join(K8S, "kustomization.yaml"))
    assert base["namespace"] == "odtrace"
    assert "components" not in base
    assert "components/podmonitor" in open(os.path.join(K8S, "kustomization.yaml")).read()
    (comp,) = load(os.path.join(K8S, "components", "podmonitor", "kustomization.yaml"))
    assert comp["kind"] == "Component" and comp["apiVersion"].startswith("kustomize.config.k8s.io/")
    base_kinds = {d["kind"] for r in base["resources"] for d in load(os.path.join(K8S, r))}
    assert "PodMonitor" not in base_kinds
    assert base_kinds >= {"Namespace", "ServiceAccount", "ConfigMap", "DaemonSet", "Service"}
    assert one("Namespace")["metadata"]["name"] == "odtrace"


def test_daemonset_runs_on_every_node_in_the_hosts_pid_namespace():
    spec = pod()["spec"]
    ds = one("DaemonSet")["spec"]
    assert spec["hostPID"] is True
    assert not spec.get("hostNetwork"), "the pod IP is scraped; the probes see every netns anyway"
    assert {"operator": "Exists"} in spec["tolerations"], "every node, tainted ones included"
    assert spec["priorityClassName"] == "system-node-critical"
    assert ds["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    assert ds["selector"]["matchLabels"].items() <= pod()["metadata"]["labels"].items()
    assert spec["serviceAccountName"] == one("ServiceAccount")["metadata"]["name"]
    assert spec["automountServiceAccountToken"] is False
    assert one("ServiceAccount")["automountServiceAccountToken"] is False
    # the grace period covers the agent's last export and queue flush
    flush = re.search(r"^flush_timeout: (\d+)s$", config_text(), re.M)
    assert flush and spec["terminationGracePeriodSeconds"] > int(flush.group(1)) + 5


def test_container_holds_exactly_the_capabilities_it_needs_as_uid_0():
    sc = container()["securityContext"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    add = sc["capabilities"]["add"]
    assert len(add) == len(set(add)) and set(add) == agent_capabilities("start"), add
    assert agent_capabilities("keeps") < agent_capabilities("start")
    # Kubernetes' spelling; the API refuses "CAP_SYS_ADMIN" next to
    # allowPrivilegeEscalation: false
    assert not [c for c in add if c.startswith("CAP_")]
    assert sc["privileged"] is False
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    # uid 0: the kernel gives root the bounding set as effective capabilities;
    # a non-root container would hold none (no ambient capabilities)
    assert sc["runAsUser"] == 0 and sc["runAsNonRoot"] is False
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["appArmorProfile"] == {"type": "Unconfined"}


def test_host_paths_are_mounted_read_only_where_the_agent_looks():
    c, vols = container(), {v["name"]: v for v in pod()["spec"]["volumes"]}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    writable = {m["mountPath"] for m in mounts.values() if m.get("readOnly") is not True}
    assert writable == {SOCKET_DIR}, "the agent writes its socket, and nothing else"
    assert set(mounts) == set(vols)
    host = {vols[n]["hostPath"]["path"]: m["mountPath"] for n, m in mounts.items() if "hostPath" in vols[n]}
    assert host == {**HOST_MOUNTS, SOCKET_DIR: SOCKET_DIR}, "the node's CLI finds the agent"
    for v in vols.values():
        if "hostPath" in v:
            want = "DirectoryOrCreate" if v["hostPath"]["path"] == SOCKET_DIR else "Directory"
            assert v["hostPath"]["type"] == want, v
        assert "emptyDir" not in v, "nothing writable"
    assert "/sys/fs/bpf" not in host, "nothing is pinned"
    # the agent reads the kubelet's containers/ links beside pods_dir
    assert re.search(r"^pods_dir: /var/log/pods$", config_text(), re.M)
    assert os.path.join(os.path.dirname("/var/log/pods"), "containers") in host.values()


def test_config_and_credentials_volumes():
    c, vols = container(), {v["name"]: v for v in pod()["spec"]["volumes"]}
    cm = one("ConfigMap")
    (cfg,) = [m for m in c["volumeMounts"] if m["mountPath"] == "/etc/odtrace"]
    assert vols[cfg["name"]]["configMap"]["name"] == cm["metadata"]["name"]
    assert "odtrace.yaml" in cm["data"]
    secrets = [v["secret"] for v in vols.values() if "secret" in v]
    assert secrets and all(s["optional"] is True for s in secrets), "a Secret nobody created must not block the pod"
    # libpq ignores a passfile that group or others can read
    assert all(s["defaultMode"] == 0o400 for s in secrets)


def test_command_and_node_name():
    c = container()
    assert c["command"] + c["args"] == ["odtrace", "run", "--config", "/etc/odtrace/odtrace.yaml"]
    (env,) = [e for e in c["env"] if e["name"] == "NODE_NAME"]
    assert env["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}


def test_probes_ask_healthz_on_the_metrics_port():
    c = container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": PORT}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == "/healthz", probe
        assert ports.get(get["port"], get["port"]) == PORT, probe


def test_resources():
    r = container()["resources"]
    assert r["requests"] == {"cpu": "50m", "memory": "64Mi"}
    assert r["limits"] == {"cpu": "500m", "memory": "256Mi"}


def test_configmap_is_a_config_the_agent_accepts():
    r = print_config(config_text())
    assert r.returncode == 0, r.stderr
    # reachable from Prometheus and the kubelet's probes, on the probed port
    assert f'listen: "0.0.0.0:{PORT}"' in r.stdout
    assert 'pods_dir: "/var/log/pods"' in r.stdout
    assert '"/kubepods.slice"' in r.stdout, "sys and runq trace the node's pods"


def test_the_configmaps_commented_examples_are_accepted_too():
    text = config_text()
    sinks = re.findall(r"^#  - (\S+)$", text, re.M)
    conninfo = re.search(r"^  # (conninfo: .*)$", text, re.M)
    assert len(sinks) >= 3 and conninfo
    text = text.replace("exports: []", "exports:\n" + "".join(f"  - {s}\n" for s in sinks))
    text = text.replace("pg:\n", f"pg:\n  {conninfo.group(1)}\n", 1)
    r = print_config(text)
    assert r.returncode == 0, r.stderr
    for s in sinks:
        assert s in r.stdout, (s, r.stdout)


def test_service_and_podmonitor_select_the_agent_pods_and_port():
    labels = pod()["metadata"]["labels"]
    svc = one("Service")["spec"]
    assert svc["clusterIP"] == "None"
    assert svc["selector"].items() <= labels.items()
    (port,) = svc["ports"]
    assert port == {"name": "metrics", "port": PORT, "targetPort": "metrics", "protocol": "TCP"}
    pm = one("PodMonitor")
    assert pm["apiVersion"] == "monitoring.coreos.com/v1"
    assert pm["metadata"]["namespace"] == load(os.path.join(K8S, "kustomization.yaml"))[0]["namespace"]
    assert pm["spec"]["selector"]["matchLabels"].items() <= labels.items()
    names = {p["name"] for p in container()["ports"]}
    for ep in pm["spec"]["podMetricsEndpoints"]:
        assert ep["port"] in names and ep["path"] == "/metrics"


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl (with kustomize) is not installed")
def test_kustomize_builds_with_and_without_the_component(tmp_path):
    def build(d):
        r = subprocess.run(["kubectl", "kustomize", d], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return {(m["kind"], m["metadata"].get("namespace")) for m in yaml.safe_load_all(r.stdout)}

    plain = build(K8S)
    assert ("PodMonitor", "odtrace") not in plain
    assert {ns for kind, ns in plain if kind != "Namespace"} == {"odtrace"}
    copy = shutil.copytree(K8S, tmp_path / "kubernetes")
    k = copy / "kustomization.yaml"
    k.write_text(re.sub(r"^# components:\n#   - components/podmonitor$", "components:\n  - components/podmonitor",
                        k.read_text(), flags=re.M))
    assert build(str(copy)) == plain | {("PodMonitor", "odtrace")}


# -- Dockerfile ---------------------------------------------------------------

def dockerfile_stages():
    """[(FROM line, [(instruction, arguments)])], continuation lines joined."""
    stages = []
    text = re.sub(r"\\\n", " ", open(DOCKERFILE).read())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        if op.upper() == "FROM":
            stages.append((rest.strip(), []))
        else:
            stages[-1][1].append((op.upper(), rest.strip()))
    return stages


def test_dockerfile_builds_with_the_documented_steps(tmp_path):
    """The build stage runs scripts/deps.sh --build (`make deps DEPS=--build`)
    and `make`, as README says a machine does; replayed here on the build
    stage's COPY set alone, it builds an odtrace that runs."""
    (build_from, build), (run_from, runtime) = dockerfile_stages()
    assert build_from == "debian:bookworm AS build"
    runs = [a for op, a in build if op == "RUN"]
    assert runs == ["scripts/deps.sh --build", 'make -j"$(nproc)"'], runs
    makefile = open(os.path.join(REPO, "Makefile")).read()
    assert re.search(r"^deps:\n\t\$\(Q\)scripts/deps\.sh \$\(DEPS\)$", makefile, re.M)
    readme = open(os.path.join(REPO, "README.md")).read()
    assert "`make deps`" in readme and "make deps DEPS=--build" in readme and "`make`" in readme
    # only the build's inputs, never the context's own .output/ or ./odtrace
    copies = [shlex.split(a) for op, a in build if op == "COPY"]
    assert not [c for c in copies if ".output" in c or "odtrace" in c]
    assert [a for op, a in build if op == "WORKDIR"] == ["/src"]
    root = tmp_path / "src"
    for op, a in build:
        if op == "COPY":
            *srcs, dest = shlex.split(a)
            for s in srcs:
                src, dst = os.path.join(REPO, s), root / dest
                dst.parent.mkdir(parents=True, exist_ok=True)
                (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, dst)
        elif op == "RUN":
            r = subprocess.run(["sh", "-c", a], cwd=root, capture_output=True, text=True, timeout=600)
            assert r.returncode == 0, (a, r.stdout[-2000:], r.stderr[-2000:])
    (copy_bin,) = [a for op, a in runtime if op == "COPY"]
    assert copy_bin == "--from=build /src/odtrace /usr/local/bin/odtrace"
    r = subprocess.run([str(root / "odtrace"), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "run" in r.stdout
    # no .git in the image's build: the Makefile's VERSION, no commit (README "Version")
    base = re.search(r"^VERSION := (\S+)$", makefile, re.M).group(1)
    info = build_info(str(root / "odtrace"))
    assert (info["version"], info["revision"]) == (base, "unknown"), info


def runtime_packages():
    (_, runtime) = dockerfile_stages()[1]
    (install,) = [a for op, a in runtime if op == "RUN" and "apt-get install" in a]
    words = shlex.split(install.split("apt-get install", 1)[1].split("&&")[0])
    return {w for w in words if not w.startswith("-")}


def package_of(path):
    # usrmerge: dpkg may know the file under /usr/lib or /lib
    for p in dict.fromkeys([path, os.path.realpath(path), "/usr" + path, path.removeprefix("/usr")]):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    raise AssertionError(f"no Debian package holds {path}")


def test_runtime_image_installs_the_libraries_the_binary_links_and_nothing_else():
    (run_from, runtime) = dockerfile_stages()[1]
    assert run_from == "debian:bookworm-slim"
    needed = re.findall(r"\(NEEDED\).*\[(.+)\]",
                        subprocess.run(["readelf", "-d", BINARY], capture_output=True, text=True,
                                       check=True).stdout)
    ldd = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(["ldd", BINARY], capture_output=True,
                                                                 text=True, check=True).stdout, re.M))
    assert needed and set(needed) <= set(ldd), (needed, ldd)
    linked = {package_of(ldd[lib]) for lib in needed}
    # libc6 is in the base image; ca-certificates: the TLS exports' trust store
    assert runtime_packages() == (linked - {"libc6"}) | {"ca-certificates"}, linked


def test_image_runs_the_agent_as_uid_0():
    (_, runtime) = dockerfile_stages()[1]
    instr = dict(runtime)
    assert instr["USER"] in ("0", "0:0", "root")
    assert instr["ENTRYPOINT"] == '["odtrace"]'
    assert instr["CMD"].startswith('["run"')
    assert "rm -rf /var/lib/apt/lists/*" in instr["RUN"]


# -- systemd ------------------------------------------------------------------

def unit_settings():
    """{key: [values]} of the [Service] section (a key may repeat)."""
    out, section = {}, None
    for line in open(UNIT):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


def test_systemd_unit_grants_the_same_capabilities_and_sandboxes_the_rest():
    s = unit_settings()
    want = {"CAP_" + c for c in agent_capabilities("start")}
    (bounding,) = s["CapabilityBoundingSet"]
    (ambient,) = s["AmbientCapabilities"]
    assert set(bounding.split()) == set(ambient.split()) == want
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("ProtectKernelTunables", "yes"),
                       ("ProtectKernelModules", "yes"), ("ProtectKernelLogs", "yes"),
                       ("ProtectControlGroups", "yes"), ("RestrictNamespaces", "yes"),
                       ("RestrictRealtime", "yes"), ("RestrictSUIDSGID", "yes"),
                       ("MemoryDenyWriteExecute", "yes"), ("SystemCallArchitectures", "native"),
                       ("LockPersonality", "yes")]:
        assert s.get(key) == [value], key
    # the agent reads every /proc/PID and writes nowhere but its socket's directory
    assert "ProtectProc" not in s and "ReadWritePaths" not in s
    assert s["RuntimeDirectory"] == [os.path.basename(SOCKET_DIR)]
    assert s["RuntimeDirectoryMode"] == ["0755"], "the CLI reaches the socket; its own mode guards it"
    (syscalls,) = s["SystemCallFilter"]
    assert {"bpf", "perf_event_open", "open_by_handle_at"} <= set(syscalls.split())
    (exec_start,) = s["ExecStart"]
    assert exec_start.split()[0] == "/usr/local/bin/odtrace", "where `make install` puts it"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_unit_passes_systemd_analyze(tmp_path):
    subprocess.run(["make", "-s", "-C", REPO, "install", f"DESTDIR={tmp_path}"], check=True,
                   capture_output=True, timeout=300)
    unit = tmp_path / "etc/systemd/system/odtrace.service"
    unit.parent.mkdir(parents=True)
    shutil.copy(UNIT, unit)
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={tmp_path}", str(unit)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # an unknown or misspelled setting is reported, not silently ignored
    assert "Unknown key" not in r.stderr and "Unknown lvalue" not in r.stderr, r.stderr
    level = re.search(r"Overall exposure level for odtrace\.service: ([\d.]+)", r.stdout)
    assert level and float(level.group(1)) <= 4.0, r.stdout[-3000:]
