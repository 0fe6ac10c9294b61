#!/usr/bin/env python3
"""Container lifecycle benchmark: jinn against runc and crun.

Measures, for each runtime, the wall time of
  (a) `run` of a /bin/true container (create + start + wait + delete in one call), and
  (b) `create`, `start`, polling `state` until "stopped", then `delete`,
interleaved: every iteration runs every runtime once, in a rotating order, so
that drift of the machine (caches, CPU frequency, other load) hits all of them
alike. Each runtime has its own --root and every container a unique id.

Also reports the peak RSS (GNU time %M) of one invocation of each runtime: the
maximum over `create`, `start`, `delete` and `run`.

A runtime that fails is reported as failed and left out; the others go on.
Stdlib only; run as root: `sudo python3 scripts/bench.py [--iterations N]`.
"""

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CLONE_NEWNS = 0x00020000
HYBRID_CONTROLLERS = "/sys/fs/cgroup/unified/cgroup.controllers"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GNU_TIME = "/usr/bin/time"


class RuntimeFailed(Exception):
    pass


class MountNsSwitch:
    """Runs crun in a private mount namespace where the cgroup2 controllers file of
    a hybrid host reads empty (crun 1.8 refuses to create containers otherwise).

    A holder process keeps the namespace alive; only this (single-threaded)
    Python process enters it with setns(2) around crun invocations, and goes back
    to its own namespace afterwards.
    """

    def __init__(self):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             f"mount --bind /dev/null {HYBRID_CONTROLLERS} && exec sleep infinity"],
            stdin=subprocess.DEVNULL)
        own = os.readlink("/proc/self/ns/mnt")
        deadline = time.monotonic() + 10
        while True:
            if self.holder.poll() is not None:
                raise RuntimeError("the mount namespace holder exited (unshare/mount failed)")
            try:
                ready = (os.readlink(f"/proc/{self.holder.pid}/ns/mnt") != own
                         and "cgroup.controllers" in open(f"/proc/{self.holder.pid}/mountinfo").read())
            except OSError:
                ready = False
            if ready:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the mount namespace holder did not get ready")
            time.sleep(0.01)
        self.own_fd = os.open("/proc/self/ns/mnt", os.O_RDONLY)
        self.priv_fd = os.open(f"/proc/{self.holder.pid}/ns/mnt", os.O_RDONLY)

    def _setns(self, fd):
        cwd = os.getcwd()
        if self.libc.setns(fd, CLONE_NEWNS) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns: {os.strerror(err)}")
        os.chdir(cwd)  # setns of a mount namespace resets the cwd to its root

    def enter(self):
        self._setns(self.priv_fd)

    def leave(self):
        self._setns(self.own_fd)

    def close(self):
        os.close(self.own_fd)
        os.close(self.priv_fd)
        self.holder.kill()
        self.holder.wait()


class Runtime:
    def __init__(self, name, path, workdir, nsswitch=None):
        self.name = name
        self.path = path
        self.root = os.path.join(workdir, f"root-{name}")
        os.makedirs(self.root, exist_ok=True)
        self.nsswitch = nsswitch
        self.counter = 0
        self.failed = None
        self.samples = {"run": [], "lifecycle": [], "exec": [], "seccomp": []}
        self.rss_kb = None
        self.exec_target = None

    def new_id(self):
        self.counter += 1
        return f"bench-{self.name}-{os.getpid()}-{self.counter}"

    def argv(self, *args):
        return [self.path, "--root", self.root, *args]

    def call(self, *args, timeout=30, prefix=(), capture=False):
        """Runs the runtime; raises RuntimeFailed on a non-zero exit.

        Only `state`/`list` output is captured through a pipe: a container
        inherits the stdio of `create`/`run`, so a pipe there would stay open
        until the container exits. Errors go to a temporary file instead.
        """
        with tempfile.TemporaryFile() as err:
            p = subprocess.run([*prefix, *self.argv(*args)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                               stderr=err, timeout=timeout)
            if p.returncode != 0:
                err.seek(0)
                msg = err.read().decode(errors="replace").strip().splitlines()
                raise RuntimeFailed(f"`{' '.join(args)}` exited {p.returncode}: "
                                    f"{msg[-1] if msg else ''}")
        return p.stdout

    def status(self, cid):
        return json.loads(self.call("state", cid, capture=True))["status"]

    def __enter__(self):
        if self.nsswitch:
            self.nsswitch.enter()
        return self

    def __exit__(self, *exc):
        if self.nsswitch:
            self.nsswitch.leave()
        return False

    def cleanup(self, cid):
        try:
            subprocess.run(self.argv("delete", "--force", cid), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        except subprocess.TimeoutExpired:
            pass

    def bench_run(self, bundle):
        cid = self.new_id()
        settle()
        t0 = time.perf_counter()
        try:
            self.call("run", "--bundle", bundle, cid)
        except Exception:
            self.cleanup(cid)
            raise
        return time.perf_counter() - t0

    def bench_lifecycle(self, bundle):
        cid = self.new_id()
        settle()
        t0 = time.perf_counter()
        try:
            self.call("create", "--bundle", bundle, cid)
            self.call("start", cid)
            deadline = time.monotonic() + 30
            while self.status(cid) != "stopped":
                if time.monotonic() > deadline:
                    raise RuntimeFailed("the container did not stop within 30 s")
            self.call("delete", cid)
        except Exception:
            self.cleanup(cid)
            raise
        return time.perf_counter() - t0

    def bench_exec(self, sleeper):
        """`exec ID /bin/true` into a running container (started once, kept)."""
        if self.exec_target is None:
            cid = self.new_id()
            self.call("run", "--detach", "--bundle", sleeper, cid)
            self.exec_target = cid
        settle()
        t0 = time.perf_counter()
        self.call("exec", self.exec_target, "/bin/true")
        return time.perf_counter() - t0

    def measure_rss(self, bundle):
        """Peak RSS in KiB of one invocation: max over create, start, delete and run."""
        if not os.access(GNU_TIME, os.X_OK):
            return None
        peak = 0
        with tempfile.NamedTemporaryFile(mode="r") as out:
            prefix = (GNU_TIME, "-f", "%M", "-o", out.name)

            def timed(*args):
                nonlocal peak
                self.call(*args, prefix=prefix)
                out.seek(0)
                peak = max(peak, int(out.read().strip().splitlines()[-1]))

            cid = self.new_id()
            try:
                timed("create", "--bundle", bundle, cid)
                timed("start", cid)
                deadline = time.monotonic() + 30
                while self.status(cid) != "stopped":
                    if time.monotonic() > deadline:
                        raise RuntimeFailed("the container did not stop within 30 s")
                timed("delete", cid)
            except Exception:
                self.cleanup(cid)
                raise
            timed("run", "--bundle", bundle, self.new_id())
        return peak


def default_config():
    """`runc spec` when runc is installed, else a minimal equivalent."""
    runc = shutil.which("runc")
    if runc:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([runc, "spec", "--bundle", d], check=True)
            with open(os.path.join(d, "config.json")) as f:
                return json.load(f)
    return {
        "ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/",
                    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "noNewPrivileges": True},
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        ],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]},
    }


def make_bundle(path, args=("/bin/true",), seccomp=False):
    rootfs = os.path.join(path, "rootfs")
    bindir = os.path.join(rootfs, "bin")
    os.makedirs(bindir)
    for d in ("proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(rootfs, d))
    shutil.copy("/bin/busybox", os.path.join(bindir, "busybox"))
    for applet in ("true", "sh", "sleep"):
        os.symlink("busybox", os.path.join(bindir, applet))
    config = default_config()
    config["process"]["terminal"] = False
    config["process"]["args"] = list(args)
    if seccomp:
        caps = set(config["process"]["capabilities"]["bounding"])
        config["linux"]["seccomp"] = podman_seccomp(caps)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


PODMAN_PROFILE = "/usr/share/containers/seccomp.json"


def settle():
    """Wait before a measured step, so that no step rides on kernel state the previous one
    left warm: on a cgroup v1 host the first cgroup.procs write after a quiet spell waits
    for an RCU grace period (~15 ms), later ones within a grace period do not, which would
    favour whatever runs second."""
    time.sleep(0.05)


def podman_seccomp(caps):
    """Podman's default seccomp profile (moby format, from containers-common) resolved
    for x86_64 and `caps`, in OCI form, as podman hands it to the runtime."""
    with open(PODMAN_PROFILE) as f:
        raw = json.load(f)
    x86 = {"amd64", "x86_64", "x32", "x86", "386"}
    syscalls = []
    for s in raw.get("syscalls", []):
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("arches") and not x86 & set(inc["arches"]):
            continue
        if inc.get("caps") and not set(inc["caps"]) <= caps:
            continue
        if exc.get("caps") and set(exc["caps"]) <= caps:
            continue
        e = {"names": s["names"], "action": s["action"]}
        for k in ("args", "errnoRet"):
            if s.get(k) is not None:
                e[k] = s[k]
        syscalls.append(e)
    out = {"defaultAction": raw["defaultAction"], "syscalls": syscalls,
           "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]}
    if "defaultErrnoRet" in raw:
        out["defaultErrnoRet"] = raw["defaultErrnoRet"]
    return out


def ms(seconds):
    return seconds * 1000.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", "-n", type=int, default=30)
    ap.add_argument("--jinn", default=os.path.join(REPO, "target/release/jinn"),
                    help="jinn binary (default: ./target/release/jinn)")
    ap.add_argument("--runtimes", default="jinn,runc,crun",
                    help="comma-separated subset of jinn,runc,crun")
    args = ap.parse_args()

    if os.geteuid() != 0:
        sys.exit("bench.py must run as root (containers need it)")
    if not os.path.exists("/bin/busybox"):
        sys.exit("/bin/busybox is missing: run scripts/install-deps.sh")

    wanted = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    paths = {"jinn": args.jinn if os.access(args.jinn, os.X_OK) else None,
             "runc": shutil.which("runc"), "crun": shutil.which("crun")}

    workdir = tempfile.mkdtemp(prefix="jinn-bench-")
    nsswitch = None
    runtimes = []
    try:
        bundle = os.path.join(workdir, "bundle")
        make_bundle(bundle)
        sleeper = os.path.join(workdir, "sleeper")
        make_bundle(sleeper, ("/bin/sleep", "100000"))
        filtered = None
        if os.path.exists(PODMAN_PROFILE):
            filtered = os.path.join(workdir, "seccomp")
            make_bundle(filtered, seccomp=True)
        for name in wanted:
            if not paths.get(name):
                print(f"{name}: not installed, skipped")
                continue
            ns = None
            if name == "crun" and os.path.exists(HYBRID_CONTROLLERS):
                if nsswitch is None:
                    nsswitch = MountNsSwitch()
                ns = nsswitch
            runtimes.append(Runtime(name, paths[name], workdir, ns))
        if not runtimes:
            sys.exit("no runtime to benchmark")

        print(f"{args.iterations} iterations, interleaved: "
              + ", ".join(f"{r.name} ({r.path})" for r in runtimes))
        for i in range(args.iterations):
            k = i % len(runtimes)
            for rt in runtimes[k:] + runtimes[:k]:
                if rt.failed:
                    continue
                try:
                    with rt:
                        rt.samples["run"].append(rt.bench_run(bundle))
                        rt.samples["lifecycle"].append(rt.bench_lifecycle(bundle))
                        rt.samples["exec"].append(rt.bench_exec(sleeper))
                        if filtered:
                            rt.samples["seccomp"].append(rt.bench_run(filtered))
                except (RuntimeFailed, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
                    rt.failed = str(e)
                    print(f"{rt.name}: FAILED in iteration {i + 1}: {e}", file=sys.stderr)

        for rt in runtimes:
            if rt.exec_target:
                with rt:
                    rt.cleanup(rt.exec_target)
            if rt.failed:
                continue
            try:
                with rt:
                    rt.rss_kb = rt.measure_rss(bundle)
            except (RuntimeFailed, subprocess.TimeoutExpired, OSError, ValueError) as e:
                print(f"{rt.name}: peak RSS measurement failed: {e}", file=sys.stderr)

        print()
        print(f"{'runtime':8} {'run (ms)':>10} {'create+start+wait+delete (ms)':>31} "
              f"{'exec (ms)':>10} {'peak RSS (KiB)':>15}")
        med = {}
        for rt in runtimes:
            if rt.failed:
                print(f"{rt.name:8} FAILED: {rt.failed}")
                continue
            med[rt.name] = {k: statistics.median(v) for k, v in rt.samples.items() if v}
            rss = "n/a" if rt.rss_kb is None else str(rt.rss_kb)
            print(f"{rt.name:8} {ms(med[rt.name]['run']):10.1f} "
                  f"{ms(med[rt.name]['lifecycle']):31.1f} {ms(med[rt.name]['exec']):10.1f} {rss:>15}")
        if "jinn" in med:
            for other in ("runc", "crun"):
                if other in med:
                    r = med["jinn"]["run"] / med[other]["run"]
                    c = med["jinn"]["lifecycle"] / med[other]["lifecycle"]
                    e = med["jinn"]["exec"] / med[other]["exec"]
                    print(f"jinn/{other}: run {r:.2f}x, lifecycle {c:.2f}x, exec {e:.2f}x")
        if filtered:
            print()
            print("cost of Podman's default seccomp profile per container start "
                  "(median run with it minus without):")
            for name, m in med.items():
                if "seccomp" in m:
                    print(f"  {name:6} {ms(m['seccomp']):6.1f} ms with, {ms(m['run']):6.1f} ms without: "
                          f"{ms(m['seccomp'] - m['run']):+.2f} ms")
        elif "runc" in med and "crun" in med:
            r = med["crun"]["run"] / med["runc"]["run"]
            c = med["crun"]["lifecycle"] / med["runc"]["lifecycle"]
            print(f"(no jinn result) crun/runc: run {r:.2f}x, lifecycle {c:.2f}x")
        return 0 if med else 1
    finally:
        for rt in runtimes:
            # Whatever a failed iteration left behind.
            try:
                with rt:
                    ids = rt.call("list", "-q", capture=True).decode().split()
                    for cid in ids:
                        rt.cleanup(cid)
            except Exception:
                pass
        if nsswitch:
            nsswitch.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
