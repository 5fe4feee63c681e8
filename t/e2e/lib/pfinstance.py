"""pfinstance.py - a throwaway Postfix instance run by Debian's master(8),
with chosen daemons replaced by pftls binaries.

    inst = Instance(ours={"tlsproxy": "build/bin/tlsproxy"}, master_cf=...)
    inst.start(); ...; inst.stop()

The instance lives in a temporary directory: etc/ (main.cf, master.cf, a
self-signed ECDSA certificate), queue/ (private/, public/, pid/), data/,
libexec/ (the daemon_directory: symlinks to /usr/lib/postfix/sbin and to our
binaries) and maillog (maillog_file through postlogd, so every daemon's log
lines, ours included, land in one file). Only 127.0.0.1 is used.
"""
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

POSTFIX_SBIN = "/usr/lib/postfix/sbin"
TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Instance:
    def __init__(self, ours, master_cf, main_cf_extra="", keep=False):
        self.dir = tempfile.mkdtemp(prefix="pftls-e2e-")
        os.chmod(self.dir, 0o755)
        self.ours = ours
        self.keep = keep
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.libexec = os.path.join(self.dir, "libexec")
        self.maillog = os.path.join(self.dir, "maillog")
        self.master = None
        pw = pwd.getpwnam("postfix")
        for d in (self.etc, self.data, self.libexec, os.path.join(self.queue, "pid"),
                  os.path.join(self.queue, "private"), os.path.join(self.queue, "public")):
            os.makedirs(d, exist_ok=True)
        for d in (os.path.join(self.queue, "private"), os.path.join(self.queue, "public"), self.data):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        os.chmod(os.path.join(self.queue, "private"), 0o700)
        os.chown(os.path.join(self.queue, "public"), pw.pw_uid, grp.getgrnam("postdrop").gr_gid)
        os.chmod(os.path.join(self.queue, "public"), 0o710)
        for name in os.listdir(POSTFIX_SBIN):
            os.symlink(os.path.join(POSTFIX_SBIN, name), os.path.join(self.libexec, name))
        for name, path in ours.items():
            target = os.path.join(self.libexec, name)
            if os.path.lexists(target):
                os.unlink(target)
            os.symlink(os.path.abspath(os.path.join(TOP, path)), target)
        self.cert = os.path.join(self.etc, "cert.pem")
        self.key = os.path.join(self.etc, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", self.key, "-out", self.cert, "-subj", "/CN=localhost",
                        "-days", "2"], check=True, capture_output=True)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
daemon_directory = {self.libexec}
command_directory = /usr/sbin
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = localhost.localdomain
mydestination =
maillog_file = {self.maillog}
maillog_file_prefixes = {self.dir}
smtpd_tls_cert_file = {self.cert}
smtpd_tls_key_file = {self.key}
smtpd_tls_security_level = may
smtpd_tls_session_cache_database = btree:{self.data}/smtpd_scache
{main_cf_extra}
""")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master_cf + "\npostlog unix-dgram n - n - 1 postlogd\n")

    def start(self, wait_for=None, timeout=10):
        self.master = subprocess.Popen([os.path.join(POSTFIX_SBIN, "master"), "-c", self.etc, "-d"],
                                       cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "daemon started" in self.log():
                break
            if self.master.poll() is not None:
                raise RuntimeError("master exited: " + self.log())
            time.sleep(0.05)
        else:
            raise RuntimeError("master did not start")
        if wait_for:
            wait_port(*wait_for)

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.log()[start:])
            if m:
                return m
            time.sleep(0.05)
        return None

    def pids(self, name):
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode()
            except OSError:
                continue
            if cmd == name and self.ours.get(name) and exe == os.path.abspath(os.path.join(TOP, self.ours[name])):
                out.append(int(pid))
            elif cmd == name and name not in self.ours and exe.startswith(POSTFIX_SBIN) and self._ours_instance(pid):
                out.append(int(pid))
        return out

    def _ours_instance(self, pid):
        try:
            env = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            return False
        return f"MAIL_CONFIG={self.etc}".encode() in env

    def stop(self):
        if self.master and self.master.poll() is None:
            try:
                os.killpg(self.master.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.master.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.master.pid, signal.SIGKILL)
        # Children that outlive master (draining) are killed too.
        for name in list(self.ours) + ["postscreen", "smtpd", "tlsmgr", "tlsproxy", "postlogd"]:
            for pid in self.pids(name):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# The services smtpd(8) consults at start-up and per session.
SMTPD_SUPPORT = """proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
rewrite unix - - n - - trivial-rewrite
cleanup unix n - n - 0 cleanup
"""


def wait_port(host, port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


class Smtp:
    """A minimal SMTP client with STARTTLS and TLS session reuse."""

    def __init__(self, host, port, timeout=15):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.tls = None

    def _recv(self):
        data = (self.tls or self.sock).recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                self._recv()
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode(errors="replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def cmd(self, text):
        (self.tls or self.sock).sendall(text.encode() + b"\r\n")
        return self.reply()

    def starttls(self, context, session=None):
        code, lines = self.cmd("STARTTLS")
        if code != 220:
            return code, lines
        self.tls = context.wrap_socket(self.sock, server_hostname="localhost", session=session)
        return code, lines

    def close(self):
        try:
            (self.tls or self.sock).close()
        except OSError:
            pass


def client_context(version=None, tickets=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx
