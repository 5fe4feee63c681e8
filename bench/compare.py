#!/usr/bin/env python3
"""compare.py - `make bench-compare`: pftls side by side with its peers.

As root, on 127.0.0.1 only: makes an RSA-2048 and an ECDSA P-256
certificate, starts benchsink (SMTP sink and bulk backend), then for each
key type starts pftls (our master: tlsmgr, tlsproxy, smtpfront STARTTLS and
wrapper, tlsfront when built), Debian's Postfix (smtpd STARTTLS, smtpd
wrapper mode, postscreen + tlsproxy) and the generic TLS fronts (haproxy,
nginx stream, hitch, stunnel4), drives each with build/bench/tlsload and
measures the server's CPU (utime+stime over its whole process tree,
exited children included, from /proc) per session, sessions/s, bulk
MB/s and CPU per MB, and memory per idle TLS connection (Rss and Pss
delta over the tree). Several repetitions, medians and spreads; writes
bench/results/<date>.md and bench/results/latest.md.

Environment: BENCH_QUICK=1 (one repetition, small counts: development),
BENCH_REPS, BENCH_PORT_BASE (24000), BENCH_ONLY (comma list of sections:
floor,handshake,starttls,bulk,idle,tlsmgr), BENCH_PEERS (comma list).
"""
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
import procstat  # noqa: E402
import report  # noqa: E402

TOP = peers.TOP
TLSLOAD = os.path.join(TOP, "build/bench/tlsload")
SINK = os.path.join(TOP, "build/bench/benchsink")
FLOOR = os.path.join(TOP, "build/bench/ssl_floor")
MGRBENCH = os.path.join(TOP, "build/bench/tlsmgr_bench")
QUICK = os.environ.get("BENCH_QUICK") == "1"
REPS = int(os.environ.get("BENCH_REPS", "1" if QUICK else "3"))
BASE = int(os.environ.get("BENCH_PORT_BASE", "24000"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
PEERS = set(filter(None, os.environ.get("BENCH_PEERS", "").split(",")))
N_FULL = 150 if QUICK else 800
N_RESUMED = 300 if QUICK else 1200
N_POSTSCREEN = 150 if QUICK else 300
BULK_BYTES = (16 if QUICK else 64) << 20
BULK_SESSIONS = 4 if QUICK else 8
IDLE = 200 if QUICK else 1000
CONC = 16

HANDSHAKE_CASES = [("1.2", "none"), ("1.3", "none"), ("1.2", "ticket"), ("1.2", "id"), ("1.3", "ticket")]


def want(section):
    return not ONLY or section in ONLY


def want_peer(name):
    return not PEERS or name in PEERS


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def make_certs(work):
    out = {}
    for kind, newkey in (("rsa", ["-newkey", "rsa:2048"]),
                         ("ecdsa", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])):
        key, crt, pem = (os.path.join(work, f"{kind}.{e}") for e in ("key", "crt", "pem"))
        subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", crt,
                        "-subj", "/CN=localhost", "-days", "2"], check=True, capture_output=True)
        with open(pem, "w") as f:
            f.write(open(crt).read() + open(key).read())
        for p in (key, crt, pem):
            os.chmod(p, 0o644)  # the peers read them after dropping privileges
        out[kind] = {"key": key, "crt": crt, "pem": pem, "type": kind}
    return out


def tlsload(port, args, stdin=None):
    argv = [TLSLOAD, "-J", *args, f"127.0.0.1:{port}"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError(f"tlsload failed: {' '.join(argv)}: {r.stderr[-500:]}")


def measured(peer, port, args):
    """One run: server tree CPU before/after, tlsload's JSON plus cpu fields."""
    g0, p0 = peer.cpu_seconds()
    res = tlsload(port, args)
    time.sleep(0.3)  # let the server finish its closes and reap exited children
    g1, p1 = peer.cpu_seconds()
    n = max(res["sessions"], 1)
    res["proc_cpu_s"] = p1 - p0
    res["proc_cpu_us"] = (p1 - p0) * 1e6 / n
    res["server_cpu_s"] = (g1 - g0) if g0 is not None else (p1 - p0)
    res["cpu_source"] = "cgroup" if g0 is not None else "proc"
    res["cpu_us"] = res["server_cpu_s"] * 1e6 / n
    return res


def load_args(ver, resume, key, mode="wrapper", n=N_FULL):
    a = ["-M", mode, "-V", ver, "-k", key, "-c", str(CONC), "-n", str(n), "-T", "15"]
    if resume != "none":
        a += ["-r", resume]
    return a


class Bench:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="pftls-bench.")
        os.chmod(self.work, 0o755)
        self.rows = []  # dicts: section, case, peer, runs
        self.notes = []
        self.floor = []
        self.running = []
        self.sink = None

    # --- processes ---
    def start_sink(self):
        self.p_sink, self.p_bulk = BASE + 1, BASE + 2
        self.sink = subprocess.Popen([SINK, "-s", f"127.0.0.1:{self.p_sink}", "-b", f"127.0.0.1:{self.p_bulk}"],
                                     start_new_session=True)
        peers.wait_port(self.p_sink, self.sink)

    def start(self, cls, cert, port, *args):
        p = cls(self.work, cert, port)
        try:
            p.start(*args)
        except (RuntimeError, OSError, FileNotFoundError) as e:
            self.notes.append(f"{cls.name} did not start ({cert['type']}): {str(e).splitlines()[0]}")
            log(f"SKIP {cls.name}: {e}")
            return None
        self.running.append(p)
        return p

    def stop(self, p):
        if p:
            p.stop()
            self.running.remove(p)

    def cleanup(self):
        for p in list(self.running):
            self.stop(p)
        if self.sink:
            self.sink.kill()
            self.sink.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    # --- sections ---
    def run_floor(self):
        r = subprocess.run([FLOOR, "-J", "-n", "300" if QUICK else "2000"], capture_output=True, text=True)
        self.floor = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
        log(f"floor: {len(self.floor)} cases")

    def cases_over(self, section, targets, cases, key, n_of=None):
        """targets: [(label, peer, port, mode)]; cases: [(ver, resume)]. Repetitions interleave peers."""
        for ver, resume in cases:
            case = f"{key} TLS{ver} {'full' if resume == 'none' else 'resumed/' + resume}"
            runs = {label: [] for label, *_ in targets}
            for rep in range(REPS + 1):  # rep 0 warms up (pools grow, caches fill)
                for label, peer, port, mode in targets:
                    n = n_of(label, resume) if n_of else (N_FULL if resume == "none" else N_RESUMED)
                    if rep == 0:
                        n = max(n // 5, 30)
                    try:
                        res = measured(peer, port, load_args(ver, resume, key, mode, n))
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        log(f"{section} {case} {label}: {e}")
                        continue
                    if rep > 0:
                        runs[label].append(res)
            for label, r in runs.items():
                if r:
                    self.rows.append({"section": section, "case": case, "peer": label, "runs": r})
                    log(f"{section} {case} {label}: " + report.brief(r))

    def handshakes(self, certs):
        for key in ("ecdsa", "rsa"):
            cert = certs[key]
            targets, started = [], []
            port = BASE + 10
            if want_peer("pftls"):
                p = self.start(peers.Pftls, cert, port, self.p_sink, self.p_bulk)
                if p:
                    started.append(p)
                    targets.append(("pftls smtpfront", p, p.ports["wrapper"], "wrapper"))
                    if "tlsfront" in p.ports:
                        targets.append(("pftls tlsfront", p, p.ports["tlsfront"], "wrapper"))
                    elif key == "ecdsa":
                        self.notes.append("build/bin/tlsfront is not built: the pftls tlsfront rows are missing")
            port += 10
            for cls in peers.GENERIC:
                if want_peer(cls.name):
                    p = self.start(cls, cert, port, self.p_sink)
                    if p:
                        started.append(p)
                        targets.append((cls.name, p, p.ports["wrapper"], "wrapper"))
                port += 10
            if want_peer("postfix"):
                p = self.start(peers.Postfix, cert, port)
                if p:
                    started.append(p)
                    targets.append(("postfix smtpd wrapper", p, p.ports["wrapper"], "wrapper"))
            self.cases_over("handshake", targets, HANDSHAKE_CASES, key)
            for p in started:
                self.stop(p)

    def starttls(self, certs):
        key = "ecdsa"
        cert = certs[key]
        targets, started = [], []
        if want_peer("pftls"):
            p = self.start(peers.Pftls, cert, BASE + 10, self.p_sink, self.p_bulk)
            if p:
                started.append(p)
                targets.append(("pftls smtpfront", p, p.ports["starttls"], "starttls"))
        if want_peer("postfix"):
            p = self.start(peers.Postfix, cert, BASE + 70)
            if p:
                started.append(p)
                targets.append(("postfix smtpd", p, p.ports["starttls"], "starttls"))
                targets.append(("postfix postscreen+tlsproxy", p, p.ports["postscreen"], "starttls"))

        def n_of(label, resume):
            return N_POSTSCREEN if "postscreen" in label else (N_FULL if resume == "none" else N_RESUMED)
        global CONC
        saved, CONC = CONC, 64  # postscreen holds each client for postscreen_greet_wait (1 s)
        self.cases_over("starttls", targets, [("1.2", "none"), ("1.3", "none"), ("1.3", "ticket")], key, n_of)
        CONC = saved
        for p in started:
            self.stop(p)

    def generic_targets(self, cert, backend):
        targets = []
        if want_peer("pftls"):
            p = self.start(peers.Pftls, cert, BASE + 10, self.p_sink, self.p_bulk)
            if p and ("raw" in p.ports if backend == self.p_bulk else True):
                targets.append(("pftls tlsfront" if backend == self.p_bulk else "pftls smtpfront", p,
                                p.ports["raw" if backend == self.p_bulk else "wrapper"]))
            elif p:
                self.stop(p)
        port = BASE + 20
        for cls in peers.GENERIC:
            if want_peer(cls.name):
                p = self.start(cls, cert, port, backend)
                if p:
                    targets.append((cls.name, p, p.ports["raw"]))
            port += 10
        return targets

    def bulk(self, certs):
        targets = self.generic_targets(certs["ecdsa"], self.p_bulk)
        for direction in ("up", "down"):
            case = f"ecdsa TLS1.3 {BULK_SESSIONS}x{BULK_BYTES >> 20} MiB {direction}"
            runs = {label: [] for label, *_ in targets}
            for rep in range(REPS):
                for label, p, port in targets:
                    args = ["-M", "raw", "-V", "1.3", "-c", "2", "-n", str(BULK_SESSIONS), "-b", str(BULK_BYTES),
                            "-d", direction, "-T", "120"]
                    try:
                        res = measured(p, port, args)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        log(f"bulk {case} {label}: {e}")
                        continue
                    mb = (res["bytes_up"] + res["bytes_down"]) / 1e6
                    res["mb"] = mb
                    res["mb_per_cpu_s"] = mb / res["server_cpu_s"] if res["server_cpu_s"] > 0 else 0
                    runs[label].append(res)
            for label, r in runs.items():
                if r:
                    self.rows.append({"section": "bulk", "case": case, "peer": label, "runs": r})
                    log(f"bulk {case} {label}: " + report.brief(r, bulk=True))
        for _, p, _ in targets:
            self.stop(p)

    def idle(self, certs):
        """Each server in a fresh instance, alone: pftls's two fronts share
        tlsproxy, and measured one after the other in one instance the
        second reused the heap the first had grown (tlsfront showed 2.7 kB
        per connection against 17 kB measured fresh)."""
        cert = certs["ecdsa"]
        case = f"ecdsa TLS1.3, {IDLE} idle connections"
        plan = []
        if want_peer("pftls"):
            for label, key in (("pftls smtpfront", "wrapper"), ("pftls tlsfront", "tlsfront")):
                plan.append((label, key, lambda: self.start(peers.Pftls, cert, BASE + 10, self.p_sink, self.p_bulk)))
        port = BASE + 20
        for cls in peers.GENERIC:
            if want_peer(cls.name):
                plan.append((cls.name, "raw", lambda cls=cls, port=port: self.start(cls, cert, port, self.p_sink)))
            port += 10
        for label, key, start in plan:
            p = start()
            if not p:
                continue
            try:
                if key in p.ports:
                    self.idle_one(case, label, p, p.ports[key])
            finally:
                self.stop(p)

    def idle_one(self, case, label, p, port):
        try:
            measured(p, port, load_args("1.3", "none", "ecdsa", "wrapper", 50))  # warm-up
            rss0, pss0 = procstat.memory_kb(p.root)
            argv = [TLSLOAD, "-J", "-M", "idle", "-V", "1.3", "-c", "50", "-n", str(IDLE), "-H", "120",
                    "-T", "30", f"127.0.0.1:{port}"]
            gen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True)
            ready = json.loads(gen.stdout.readline())
            time.sleep(1.0)
            rss1, pss1 = procstat.memory_kb(p.root)
            gen.stdin.close()
            gen.wait(timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError, ValueError) as e:
            log(f"idle {label}: {e}")
            return
        held = max(ready.get("held", 0), 1)
        r = {"held": ready.get("held", 0), "rss_kb_per_conn": (rss1 - rss0) / held,
             "pss_kb_per_conn": (pss1 - pss0) / held, "rss_kb_before": rss0, "pss_kb_before": pss0}
        self.rows.append({"section": "idle", "case": case, "peer": label, "runs": [r]})
        log(f"idle {label}: held {r['held']}, rss {r['rss_kb_per_conn']:.1f} kB/conn, "
            f"pss {r['pss_kb_per_conn']:.1f} kB/conn")

    def tlsmgr(self, certs):
        p = self.start(peers.Pftls, certs["ecdsa"], BASE + 10, self.p_sink, self.p_bulk)
        if not p:
            return
        try:
            # tlsmgr starts on demand: one TLS session through tlsproxy wakes it.
            tlsload(p.ports["starttls"], ["-M", "starttls", "-n", "2", "-c", "1", "-r", "id", "-V", "1.2"])
            for _ in range(50):
                if os.path.exists(p.tlsmgr_socket()):
                    break
                time.sleep(0.1)
            for window in ("1", "16"):
                runs = []
                for _ in range(REPS):
                    r = subprocess.run([MGRBENCH, "-c", "2", "-w", window, "-n", "5000" if QUICK else "20000",
                                        p.tlsmgr_socket()], capture_output=True, text=True, timeout=300)
                    line = (r.stdout + r.stderr).strip().splitlines()[-1]
                    fields = dict(x.split("=", 1) for x in line.split() if "=" in x)
                    runs.append({"requests_per_s": float(fields.get("requests/s", 0)),
                                 "errors": int(fields.get("errors", 0)), "line": line})
                    log(f"tlsmgr: {line}")
                case = "2 clients, one request at a time" if window == "1" else "2 clients, pipelined 16 deep"
                self.rows.append({"section": "tlsmgr", "case": case, "peer": "pftls tlsmgr", "runs": runs})
        except (RuntimeError, subprocess.TimeoutExpired, IndexError, ValueError) as e:
            log(f"tlsmgr bench: {e}")
        self.stop(p)


def leftovers(work):
    """Processes whose command line or working directory is inside work."""
    left = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if work in cmd or cwd.startswith(work):
            left.append((int(pid), cmd))
    return left


def main():
    if os.geteuid() != 0:
        print("bench-compare: needs root (Postfix's and our master(8) drop privileges)", file=sys.stderr)
        return 1
    for f in (TLSLOAD, SINK, FLOOR, MGRBENCH, os.path.join(TOP, "build/bin/master")):
        if not os.access(f, os.X_OK):
            print(f"bench-compare: {f} is not built (make all bench)", file=sys.stderr)
            return 1
    t0 = time.time()
    b = Bench()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    meta = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "quick": QUICK, "reps": REPS,
            "load": open("/proc/loadavg").read().split()[:3]}
    try:
        certs = make_certs(b.work)
        b.start_sink()
        if want("floor"):
            b.run_floor()
        if want("handshake"):
            b.handshakes(certs)
        if want("starttls"):
            b.starttls(certs)
        if want("bulk"):
            b.bulk(certs)
        if want("idle"):
            b.idle(certs)
        if want("tlsmgr"):
            b.tlsmgr(certs)
    finally:
        work = b.work
        b.cleanup()
        time.sleep(0.5)
        left = leftovers(work)
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            b.notes.append(f"{len(left)} processes were left behind and killed: " +
                           "; ".join(c[:60] for _, c in left[:5]))
    meta["seconds"] = round(time.time() - t0)
    meta["cpu_source"] = next((x.get("cpu_source") for r in b.rows for x in r["runs"] if "cpu_source" in x), "?")
    meta["load_after"] = open("/proc/loadavg").read().split()[:3]
    text = report.render(meta, b.floor, b.rows, b.notes)
    outdir = os.path.join(TOP, "bench/results")
    os.makedirs(outdir, exist_ok=True)
    # A quick run is for development: bench/results/quick.md (not kept in git),
    # never latest.md.
    stamp = "quick" if QUICK else datetime.datetime.utcnow().strftime("%Y-%m-%d-%H%M")
    for name in (f"{stamp}.md",) + (() if QUICK else ("latest.md",)):
        with open(os.path.join(outdir, name), "w") as f:
            f.write(text)
    with open(os.path.join(outdir, f"{stamp}.json"), "w") as f:
        json.dump({"meta": meta, "floor": b.floor, "rows": b.rows, "notes": b.notes}, f, indent=1)
    print(text)
    log(f"bench-compare: {meta['seconds']} s; bench/results/{stamp}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
