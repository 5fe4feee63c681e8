"""lib.py - helpers for t/faults/run.py (`make check-faults`).

System: our master (build/bin/master -d) in a throwaway directory with
tlsmgr, tlsproxy, smtpfront STARTTLS and smtpfront wrapper mode, in front
of t/tools/smtp_sink.py; a key and a self-signed certificate made by
openssl. Load: a background thread running STARTTLS and wrapper sessions
that each deliver one message, recording failures and latencies. Probes:
the daemon PIDs (children of master, from /proc) and their fd counts.
Everything listens on 127.0.0.1 only; every process started here is
killed by stop() (process group, then by PID).
"""
import atexit
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.path.join(TOP, "build/bin")


def sh(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_cert(d, name, cn="localhost"):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + cn)
    os.chmod(key, 0o644)
    return key, crt


def wait_port(port, proc, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before port {port} opened")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        if int(st[st.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(d))
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0].decode(errors="replace")
        return os.path.basename(argv0)
    except OSError:
        return ""


def nfds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def unix_sockets():
    """Connected UNIX sockets from `ss -xpn` (root): {inode: (local
    address, peer inode, [pids holding it])}."""
    import re
    socks = {}
    for line in subprocess.run(["ss", "-xpnH"], capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if len(f) < 8 or f[1] != "ESTAB":
            continue
        socks[f[5]] = (f[4], f[7], [int(x) for x in re.findall(r"pid=(\d+)", line)])
    return socks


def tlsmgr_link_fds():
    """{pid: descriptors that are an end of a connection to */private/tlsmgr}."""
    import collections
    socks = unix_sockets()
    out = collections.Counter()
    for addr, peer, pids in socks.values():
        if addr.endswith("/private/tlsmgr") or socks.get(peer, ("",))[0].endswith("/private/tlsmgr"):
            for p in pids:
                out[p] += 1
    return out


def unix_peers(pid):
    """What pid's connected UNIX sockets lead to: {"comm[pid]" or address: count}."""
    import collections
    socks = unix_sockets()
    out = collections.Counter()
    for addr, peer, pids in socks.values():
        if pid not in pids:
            continue
        other = socks.get(peer)
        if other and other[2]:
            out[",".join(f"{comm(p)}[{p}]" for p in other[2] if p != pid) or "itself"] += 1
        else:
            out[other[0] if other else f"peer {peer} gone"] += 1
    return out


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


class System:
    """One pftls instance under our master and one sink."""

    def __init__(self, base_port, extra_main="", extra_services=""):
        self.work = tempfile.mkdtemp(prefix="pftls-faults-")
        self.port_st, self.port_wr, self.port_sink = base_port, base_port + 1, base_port + 2
        # tlsfront (implicit TLS, any protocol) in front of an echo backend
        self.port_tf, self.port_echo = base_port + 5, base_port + 6
        self.extra_main, self.extra_services = extra_main, extra_services
        self.master = self.sink = self.echo = None
        self.key, self.crt = make_cert(self.work, "server")
        atexit.register(self.stop)

    def write_config(self):
        # max_use/max_idle high: the PID checks ("every process survives")
        # must not see the normal exit of a daemon after max_use clients.
        pw = pwd.getpwnam("pftls")
        for d in ("etc", "data", "queue/pid", "queue/private", "queue/public", "spool"):
            os.makedirs(os.path.join(self.work, d), exist_ok=True)
        os.makedirs(os.path.dirname(self.cache_path()), exist_ok=True)
        for d in ("data", "queue/private", "queue/public", "queue/scache"):
            os.chown(os.path.join(self.work, d), pw.pw_uid, pw.pw_gid)
        os.chmod(os.path.join(self.work, "queue/private"), 0o700)
        os.chmod(self.work, 0o755)
        with open(os.path.join(self.work, "etc/main.cf"), "w") as f:
            f.write(f"""queue_directory = {self.work}/queue
data_directory = {self.work}/data
daemon_directory = {BIN}
mail_owner = pftls
syslog_name = pftls-faults
inet_interfaces = loopback-only
myhostname = localhost
smtpfront_relay = inet:127.0.0.1:{self.port_sink}
smtpfront_connection_limit = 5000
smtpfront_client_connection_limit = 0
max_use = 1000000
max_idle = 3600s
smtpfront_tls_timeout = 5s
smtpd_tls_security_level = may
smtpd_tls_cert_file = {self.crt}
smtpd_tls_key_file = {self.key}
smtpd_tls_session_cache_database = sqlite:{self.cache_path()}
{self.extra_main}""")
        with open(os.path.join(self.work, "etc/master.cf"), "w") as f:
            f.write(f"""tlsmgr unix - - y 1000? 1 tlsmgr
tlsproxy unix - - y - 0 tlsproxy
127.0.0.1:{self.port_st} inet n - y - 1 smtpfront
127.0.0.1:{self.port_wr} inet n - y - 1 smtpfront -o smtpfront_tls_wrappermode=yes
127.0.0.1:{self.port_tf} inet n - y - 1 tlsfront -o tlsfront_relay=inet:127.0.0.1:{self.port_echo}
{self.extra_services}""")

    def set_cert(self, key, crt):
        """Point main.cf at another key and certificate and SIGHUP master."""
        self.key, self.crt = key, crt
        self.write_config()
        os.kill(self.master.pid, signal.SIGHUP)

    def start(self):
        self.write_config()
        self.sinklog = open(os.path.join(self.work, "sink.log"), "ab")
        self.sink = subprocess.Popen([sys.executable, os.path.join(TOP, "t/tools/smtp_sink.py"),
                                      "--listen", f"127.0.0.1:{self.port_sink}",
                                      "--spool", os.path.join(self.work, "spool")],
                                     stdout=self.sinklog, stderr=self.sinklog, start_new_session=True)
        wait_port(self.port_sink, self.sink)
        self.echo = subprocess.Popen([sys.executable, os.path.join(TOP, "t/tools/echo_server.py"),
                                      "--listen", f"127.0.0.1:{self.port_echo}"],
                                     stdout=self.sinklog, stderr=self.sinklog, start_new_session=True)
        wait_port(self.port_echo, self.echo)
        self.log = open(self.logpath(), "ab")
        self.master = subprocess.Popen([os.path.join(BIN, "master"), "-c", os.path.join(self.work, "etc"), "-d"],
                                       stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                       start_new_session=True, cwd=self.work)
        wait_port(self.port_st, self.master)
        wait_port(self.port_wr, self.master)
        wait_port(self.port_tf, self.master)

    def cache_path(self):
        # inside the jail (queue_directory), so tlsmgr can recreate it at run time
        return os.path.join(self.work, "queue/scache/smtpd_scache.sqlite")

    def logpath(self):
        return os.path.join(self.work, "master.log")

    def logtext(self):
        with open(self.logpath(), errors="replace") as f:
            return f.read()

    def pids(self, name=None):
        if not self.master:
            return []
        return sorted(p for p in children(self.master.pid) if name is None or comm(p) == name)

    def fds(self):
        """{pid: fd count} of master and each of its children, not counting
        either end of a tlsmgr connection: a tlsproxy keeps at most one,
        made when it first needs tlsmgr and again after a failed request
        (a tlsmgr killed or stopped by a case), so it comes and goes
        without being a leak."""
        links = tlsmgr_link_fds()
        out = {self.master.pid: nfds(self.master.pid)}
        for p in self.pids():
            n = nfds(p)
            out[p] = n - links.get(p, 0) if n >= 0 else n
        return out

    def delivered(self):
        spool = os.path.join(self.work, "spool")
        return sorted(f for f in os.listdir(spool) if f.endswith(".json"))

    def stop(self):
        for proc in (self.master, self.sink, self.echo):
            if proc is None or proc.poll() is not None:
                continue
            kids = children(proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for p in [proc.pid] + kids:
                try:
                    os.kill(p, signal.SIGCONT)
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        self.master = self.sink = self.echo = None

    def cleanup(self, keep):
        self.stop()
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def starttls_session(port, ctx=None, timeout=5, body=b"hello\r\n"):
    """One STARTTLS session delivering one message; returns the ssl socket's
    session and whether it was reused."""
    with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as s:
        s.ehlo("client.example")
        s.starttls(context=ctx or client_ctx())
        s.ehlo("client.example")
        if body is not None:
            s.sendmail("a@example.com", ["b@example.com"], body)
        return s.sock.session, s.sock.session_reused, s.sock.getpeercert(binary_form=True)


def wrapper_session(port, ctx=None, session=None, timeout=5, body=b"hello\r\n"):
    """One implicit-TLS session (optionally resuming session); returns
    (session, reused, peer certificate DER)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout)
    tls = (ctx or client_ctx()).wrap_socket(raw, server_hostname="localhost", session=session)
    s = smtplib.SMTP(timeout=timeout)
    s.sock, s.file = tls, None
    s.file = tls.makefile("rb")
    code, _ = s.getreply()
    if code != 220:
        raise RuntimeError(f"greeting {code}")
    s.ehlo("client.example")
    if body is not None:
        s.sendmail("a@example.com", ["b@example.com"], body)
    res = (tls.session, tls.session_reused, tls.getpeercert(binary_form=True))
    s.quit()
    s.close()
    return res


def tls12_ctx(tickets=True):
    ctx = client_ctx()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


class Load(threading.Thread):
    """Normal clients in a loop: alternating STARTTLS and wrapper sessions,
    each delivering one message. Records (time, kind, ok, latency, error)."""

    def __init__(self, sysm, workers=2):
        super().__init__(daemon=True)
        self.sysm, self.workers = sysm, workers
        self.stop_ev = threading.Event()
        self.go = threading.Event()  # cleared by pause()
        self.go.set()
        self.records = []
        self.lock = threading.Lock()
        self.threads = []

    def run_one(self, i):
        n = 0
        while not self.stop_ev.is_set():
            if not self.go.wait(0.1):
                continue
            kind = "starttls" if (n + i) % 2 == 0 else "wrapper"
            t0 = time.monotonic()
            try:
                if kind == "starttls":
                    starttls_session(self.sysm.port_st)
                else:
                    wrapper_session(self.sysm.port_wr)
                ok, err = True, ""
            except Exception as e:  # noqa: BLE001 - any failure is recorded
                ok, err = False, f"{type(e).__name__}: {e}"
            with self.lock:
                self.records.append((t0, kind, ok, time.monotonic() - t0, err))
            n += 1
            self.stop_ev.wait(0.05)

    def run(self):
        self.threads = [threading.Thread(target=self.run_one, args=(i,), daemon=True) for i in range(self.workers)]
        for t in self.threads:
            t.start()
        for t in self.threads:
            t.join()

    def pause(self):
        """No new sessions until resume() (those under way finish)."""
        self.go.clear()

    def resume(self):
        self.go.set()

    def finish(self):
        self.go.set()
        self.stop_ev.set()
        self.join(timeout=20)
        return self.records

    def summary(self):
        ok = sum(1 for r in self.records if r[2])
        return ok, len(self.records) - ok
