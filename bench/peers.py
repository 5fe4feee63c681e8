"""peers.py - start and stop the TLS servers that bench/compare.py measures.

Every server runs in the foreground as a child of this process, in its own
process group (start_new_session), listening on 127.0.0.1 only, with the
bench's certificate and the bench's backend (benchsink). stop() kills the
whole group and then any process still in the tree; the caller verifies
that nothing is left.

A Peer has .name, .root (the pid whose process tree is measured) and
.ports: {"wrapper": port, "starttls": port, "raw": port} for what it
serves. Generic TLS fronts (haproxy, nginx stream, hitch, stunnel, pftls
tlsfront) relay to one backend port, chosen at start (the SMTP sink for
SMTP over implicit TLS, the bulk port for raw throughput). SMTP servers
(pftls smtpfront, Postfix) serve wrapper and STARTTLS ports at once.
"""
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import time

import procstat

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
POSTFIX_SBIN = "/usr/lib/postfix/sbin"


def wait_port(port, proc, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class Peer:
    name = "?"
    generic = False  # a TLS front relaying to one backend

    def __init__(self, work, cert, port):
        self.work = os.path.join(work, self.name)
        os.makedirs(self.work, exist_ok=True)
        os.chmod(self.work, 0o755)
        self.cert = cert  # {"key", "crt", "pem", "type"}
        self.port = port
        self.proc = None
        self.ports = {}

    @property
    def root(self):
        return self.proc.pid

    def spawn(self, argv, wait_ports, env=None, cwd=None):
        self.log = open(os.path.join(self.work, "stderr.log"), "ab")
        # The server's stdout and stderr are a pipe to a log writer outside
        # the measured tree, as a syslog daemon would be: what a server logs
        # costs it the write, not the storing (pftls's master would
        # otherwise copy every child's lines from a pipe into a regular
        # file, in the tree; the peers log nothing per connection).
        self.logger = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=self.log,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        self.group = procstat.CpuGroup(f"{self.name}-{os.getpid()}-{self.port}")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logger.stdin,
                                     stderr=self.logger.stdin, start_new_session=True, env=env,
                                     cwd=cwd or self.work, preexec_fn=self.group.attach_self)
        try:
            for p in wait_ports:
                wait_port(p, self.proc)
        except RuntimeError as e:
            self.stop()
            tail = open(os.path.join(self.work, "stderr.log"), errors="replace").read()[-1500:]
            raise RuntimeError(f"{self.name}: {e}\n{tail}")

    def stop(self):
        if not self.proc:
            return
        pids = procstat.tree(self.proc.pid) if self.proc.poll() is None else []
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for p in pids:  # children that left the group (setsid) die too
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None
        self.logger.stdin.close()
        try:
            self.logger.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.logger.kill()
            self.logger.wait()
        self.log.close()
        self.group.remove()

    def cpu_seconds(self):
        """(precise, proc): the cgroup's counter (None without one) and the
        /proc tree sum."""
        return self.group.cpu_seconds(), procstat.cpu_seconds(self.root)


class Haproxy(Peer):
    name = "haproxy"
    generic = True

    def start(self, backend):
        cfg = os.path.join(self.work, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
    nbthread 2
    maxconn 9000
    ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
    mode tcp
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend fe
    bind 127.0.0.1:{self.port} ssl crt {self.cert['pem']}
    default_backend be
backend be
    server s1 127.0.0.1:{backend}
""")
        self.spawn(["haproxy", "-db", "-f", cfg], [self.port])
        self.ports = {"wrapper": self.port, "raw": self.port}


class Nginx(Peer):
    name = "nginx"
    generic = True

    def start(self, backend):
        cfg = os.path.join(self.work, "nginx.conf")
        with open(cfg, "w") as f:
            f.write(f"""load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile 40000;
pid {self.work}/nginx.pid;
error_log {self.work}/error.log;
events {{ worker_connections 20000; }}
stream {{
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {self.cert['crt']};
        ssl_certificate_key {self.cert['key']};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:20m;
        ssl_session_tickets on;
        proxy_pass 127.0.0.1:{backend};
    }}
}}
""")
        self.spawn(["nginx", "-e", f"{self.work}/error.log", "-p", self.work, "-c", cfg], [self.port])
        self.ports = {"wrapper": self.port, "raw": self.port}


class Hitch(Peer):
    name = "hitch"
    generic = True

    def start(self, backend):
        cfg = os.path.join(self.work, "hitch.conf")
        with open(cfg, "w") as f:
            f.write(f"""frontend = "[127.0.0.1]:{self.port}"
backend = "[127.0.0.1]:{backend}"
pem-file = "{self.cert['pem']}"
workers = 2
daemon = off
tls-protos = TLSv1.2 TLSv1.3
syslog = off
log-level = 0
user = "nobody"
""")
        self.spawn(["hitch", f"--config={cfg}"], [self.port])
        self.ports = {"wrapper": self.port, "raw": self.port}


class Stunnel(Peer):
    name = "stunnel"
    generic = True

    def start(self, backend):
        cfg = os.path.join(self.work, "stunnel.conf")
        with open(cfg, "w") as f:
            f.write(f"""foreground = yes
pid =
syslog = no
output = {self.work}/stunnel.log
debug = 0
[bench]
accept = 127.0.0.1:{self.port}
connect = 127.0.0.1:{backend}
cert = {self.cert['crt']}
key = {self.cert['key']}
sslVersionMin = TLSv1.2
sessionCacheSize = 20000
""")
        self.spawn(["stunnel4", cfg], [self.port])
        self.ports = {"wrapper": self.port, "raw": self.port}


def _queue_dirs(top, owner):
    pw = pwd.getpwnam(owner)
    for d in ("etc", "data", "queue/pid", "queue/private", "queue/public"):
        os.makedirs(os.path.join(top, d), exist_ok=True)
    os.chown(os.path.join(top, "data"), pw.pw_uid, pw.pw_gid)
    os.chown(os.path.join(top, "queue/private"), pw.pw_uid, pw.pw_gid)
    os.chmod(os.path.join(top, "queue/private"), 0o700)
    os.chown(os.path.join(top, "queue/public"), pw.pw_uid, pw.pw_gid)
    return pw


class Pftls(Peer):
    """Our master with tlsmgr, tlsproxy, smtpfront (STARTTLS and wrapper)
    and, when it is built, tlsfront (generic implicit TLS)."""
    name = "pftls"

    def start(self, sink, bulk):
        shutil.rmtree(os.path.join(self.work, "queue"), ignore_errors=True)
        _queue_dirs(self.work, "pftls")
        p_st, p_wr, p_tf, p_tb = self.port, self.port + 1, self.port + 2, self.port + 3
        tlsfront = os.path.exists(os.path.join(TOP, "build/bin/tlsfront"))
        with open(os.path.join(self.work, "etc/main.cf"), "w") as f:
            f.write(f"""queue_directory = {self.work}/queue
data_directory = {self.work}/data
daemon_directory = {TOP}/build/bin
mail_owner = pftls
syslog_name = pftls-bench
inet_interfaces = loopback-only
myhostname = localhost
smtpfront_relay = inet:127.0.0.1:{sink}
smtpfront_connection_limit = 20000
smtpfront_client_connection_limit = 0
smtpd_tls_security_level = may
smtpd_tls_cert_file = {self.cert['crt']}
smtpd_tls_key_file = {self.cert['key']}
smtpd_tls_session_cache_database = btree:${{data_directory}}/smtpd_scache
{getattr(self, "extra_main_cf", "")}
""")
        services = f"""tlsmgr unix - - y 1000? 1 tlsmgr
tlsproxy unix - - y - 0 tlsproxy
127.0.0.1:{p_st} inet n - y - 1 smtpfront
127.0.0.1:{p_wr} inet n - y - 1 smtpfront -o smtpfront_tls_wrappermode=yes
"""
        waits = [p_st, p_wr]
        self.ports = {"starttls": p_st, "wrapper": p_wr}
        if tlsfront:
            services += f"""127.0.0.1:{p_tf} inet n - y - 1 tlsfront -o tlsfront_relay=inet:127.0.0.1:{sink}
127.0.0.1:{p_tb} inet n - y - 1 tlsfront -o tlsfront_relay=inet:127.0.0.1:{bulk}
"""
            waits += [p_tf, p_tb]
            self.ports.update({"tlsfront": p_tf, "raw": p_tb})
        chroot = getattr(self, "chroot", "y")  # bench/profile.py -C: "n", for perf's symbols
        services = services.replace(" y - ", f" {chroot} - ").replace(" y 1000? ", f" {chroot} 1000? ")
        with open(os.path.join(self.work, "etc/master.cf"), "w") as f:
            f.write(services)
        self.spawn([os.path.join(TOP, "build/bin/master"), "-c", os.path.join(self.work, "etc"), "-d"], waits)

    def tlsmgr_socket(self):
        return os.path.join(self.work, "queue/private/tlsmgr")


class Postfix(Peer):
    """Debian's Postfix in a private instance: smtpd with STARTTLS, smtpd in
    wrapper mode, postscreen + tlsproxy (STARTTLS by postscreen's SMTP
    engine, deep protocol tests on so that postscreen itself answers)."""
    name = "postfix"

    def start(self):
        shutil.rmtree(os.path.join(self.work, "queue"), ignore_errors=True)
        _queue_dirs(self.work, "postfix")
        os.chown(os.path.join(self.work, "queue/public"), -1, grp.getgrnam("postdrop").gr_gid)
        os.chmod(os.path.join(self.work, "queue/public"), 0o710)
        p_st, p_wr, p_ps = self.port, self.port + 1, self.port + 2
        etc = os.path.join(self.work, "etc")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.work}/queue
data_directory = {self.work}/data
daemon_directory = {POSTFIX_SBIN}
command_directory = /usr/sbin
mail_owner = postfix
syslog_name = postfix-bench
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = localhost.localdomain
mydestination =
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_peername_lookup = no
smtpd_tls_cert_file = {self.cert['crt']}
smtpd_tls_key_file = {self.cert['key']}
smtpd_tls_security_level = may
smtpd_tls_session_cache_database = btree:${{data_directory}}/smtpd_scache
postscreen_tls_security_level = may
postscreen_pipelining_enable = yes
postscreen_access_list =
postscreen_greet_wait = 1s
postscreen_greet_ttl = 1s
postscreen_pipelining_ttl = 1s
postscreen_non_smtp_command_ttl = 1s
postscreen_bare_newline_ttl = 1s
postscreen_client_connection_count_limit = 0
postscreen_pre_queue_limit = 2000
postscreen_post_queue_limit = 2000
""")
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(f"""127.0.0.1:{p_st} inet n - n - - smtpd
127.0.0.1:{p_wr} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
127.0.0.1:{p_ps} inet n - n - 1 postscreen
smtpd pass - - n - - smtpd
tlsproxy unix - - n - 0 tlsproxy
tlsmgr unix - - n 1000? 1 tlsmgr
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
rewrite unix - - n - - trivial-rewrite
cleanup unix n - n - 0 cleanup
""")
        self.spawn([os.path.join(POSTFIX_SBIN, "master"), "-c", etc, "-d"], [p_st, p_wr, p_ps],
                   env=dict(os.environ, MAIL_CONFIG=etc))
        self.ports = {"starttls": p_st, "wrapper": p_wr, "postscreen": p_ps}


GENERIC = [Haproxy, Nginx, Hitch, Stunnel]
