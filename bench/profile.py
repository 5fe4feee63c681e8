#!/usr/bin/env python3
"""profile.py - where pftls's CPU per session goes, role by role.

As root: starts benchsink and one pftls instance (bench/peers.py's Pftls,
ports BENCH_PORT_BASE+0..+3, default 26000), drives it with tlsload and
prints the server's CPU per session from its cgroup (every process,
exited ones included) and, per live process, utime+stime per session by
role (tlsproxy, smtpfront, tlsfront, master, tlsmgr). A role whose
processes exited during the run shows up in the cgroup total only: raise
max_use to see every role.

    bench/profile.py [-e 'max_use = 100000'] [-e ...] [-t wrapper|tlsfront|starttls|raw]
                     [-P haproxy|nginx|hitch|stunnel]
                     [-n 2000] [-- extra tlsload args, e.g. -V 1.3 -r ticket]

-s CMD runs CMD (a shell string; {pids} is replaced by the comma list of
the server's pids, {pid_ROLE} by one pid of ROLE) while the load runs, for
`strace -c -f -p` or `perf record -g -p` (the chroot must be off for perf
symbols: -e 'chroot_off = yes' is not a parameter; write master.cf with
chroot n by -C).
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
import procstat  # noqa: E402

TOP = peers.TOP
TLSLOAD = os.path.join(TOP, "build/bench/tlsload")
SINK = os.path.join(TOP, "build/bench/benchsink")


def per_pid(root):
    out = {}
    for pid in procstat.tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
            comm = s[s.index("(") + 1:s.rindex(")")]
            rest = s[s.rindex(")") + 2:].split()
            cs = 0
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        cs += int(line.split()[1])
            out[pid] = (comm, int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]), cs)
        except (OSError, ValueError):
            pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-e", action="append", default=[], help="extra main.cf line")
    ap.add_argument("-t", default="wrapper", choices=["wrapper", "tlsfront", "starttls", "raw"])
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-k", default="ecdsa")
    ap.add_argument("-C", action="store_true", help="chroot off in master.cf (for perf symbols)")
    ap.add_argument("-s", default="", help="command to run during the load")
    ap.add_argument("-P", default="", choices=["", "haproxy", "nginx", "hitch", "stunnel"],
                    help="profile this peer instead of pftls (implicit TLS to the SMTP sink)")
    ap.add_argument("rest", nargs="*")
    a = ap.parse_args()
    base = int(os.environ.get("BENCH_PORT_BASE", "26000"))
    work = f"/tmp/pftls-profile.{os.getpid()}"
    os.makedirs(work, mode=0o755)
    kind = a.k
    key, crt, pem = (os.path.join(work, f"{kind}.{e}") for e in ("key", "crt", "pem"))
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", crt, "-subj",
                    "/CN=localhost", "-days", "2"], check=True, capture_output=True)
    for p in (key, crt):
        os.chmod(p, 0o644)
    sink = subprocess.Popen([SINK, "-s", f"127.0.0.1:{base + 11}", "-b", f"127.0.0.1:{base + 12}"],
                            start_new_session=True)
    peer = None
    try:
        peers.wait_port(base + 11, sink)
        cert = {"key": key, "crt": crt, "pem": crt, "type": kind}
        if a.P:
            cls = {"haproxy": peers.Haproxy, "nginx": peers.Nginx, "hitch": peers.Hitch, "stunnel": peers.Stunnel}[a.P]
            peer = cls(work, cert, base + 20)
            peer.start(base + 11 if a.t != "raw" else base + 12)
            port = peer.port
        else:
            peer = peers.Pftls(work, cert, base)
            peer.extra_main_cf = "\n".join(a.e)
            peer.chroot = "n" if a.C else "y"
            peer.start(base + 11, base + 12)
            port = {"starttls": base, "wrapper": base + 1, "tlsfront": base + 2, "raw": base + 3}[a.t]
        mode = {"starttls": "starttls", "wrapper": "wrapper", "tlsfront": "wrapper", "raw": "raw"}[a.t]
        # Warm up: pools grow, the ticket key arrives.
        subprocess.run([TLSLOAD, "-M", mode, "-k", kind, "-c", "16", "-n", "200", *a.rest, f"127.0.0.1:{port}"],
                       capture_output=True)
        time.sleep(0.5)
        before = per_pid(peer.root)
        g0, p0 = peer.cpu_seconds()
        side = None
        if a.s:
            cmd = a.s.replace("{pids}", ",".join(str(p) for p in before))
            for pid, (comm, *_) in before.items():
                cmd = cmd.replace("{pid_%s}" % comm, str(pid))
            side = subprocess.Popen(cmd, shell=True)
            time.sleep(1.0)
        r = subprocess.run([TLSLOAD, "-J", "-M", mode, "-k", kind, "-c", "16", "-n", str(a.n), *a.rest,
                            f"127.0.0.1:{port}"], capture_output=True, text=True)
        time.sleep(0.3)
        g1, p1 = peer.cpu_seconds()
        after = per_pid(peer.root)
        if side:
            side.send_signal(2)
            try:
                side.wait(timeout=30)
            except subprocess.TimeoutExpired:
                side.kill()
        print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-800:])
        n = a.n
        total = (g1 - g0) if g0 is not None else (p1 - p0)
        print(f"server CPU per session: {total * 1e6 / n:.0f} us (cgroup), /proc tree {(p1 - p0) * 1e6 / n:.0f} us")
        roles = {}
        for pid, (comm, t1, c1, s1) in after.items():
            t0, c0, s0 = before.get(pid, (comm, 0, 0, 0))[1:]
            d = roles.setdefault(comm, [0, 0, 0, 0])
            d[0] += t1 - t0
            d[1] += c1 - c0
            d[2] += 1
            d[3] += s1 - s0
        exited = [p for p in before if p not in after]
        for comm, (t, c, cnt, cs) in sorted(roles.items(), key=lambda x: -x[1][0]):
            print(f"  {comm:12s} procs={cnt:3d} self {t * 1e6 / procstat.CLK_TCK / n:6.0f} us/session"
                  f"  reaped children {c * 1e6 / procstat.CLK_TCK / n:6.0f} us/session"
                  f"  context switches {cs / n:5.1f}/session")
        print(f"  processes exited during the run: {len(exited)}")
    finally:
        if peer:
            peer.stop()
        sink.kill()
        sink.wait()


if __name__ == "__main__":
    main()
