#!/usr/bin/env python3
"""postfix_daemon.py - run one real Postfix daemon outside master(8).

Usage: postfix_daemon.py --workdir DIR --service NAME --daemon PATH
                         [--pidfile FILE] [--] [daemon args...]

Creates DIR/config/main.cf (a throwaway configuration: queue and data
directories under DIR, a btree session cache, /dev/urandom as entropy
source), a listening UNIX socket DIR/queue/private/NAME, and starts the
daemon with the master(8) conventions of spec §9.1 / Appendix A: fd 3/4 =
flow-control pipe, fd 5 = status pipe (write side), fd 6 = the listener,
GENERATION=1 and MAIL_CONFIG. The daemon's stderr goes to DIR/daemon.log.
The launcher stays in the foreground, keeps the status pipe's read side
open (EOF on it tells the daemon that master went away), and on SIGTERM
or SIGINT stops the daemon and exits. It prints "ready <socket>" on stdout
once the daemon runs.
"""
import argparse
import os
import pwd
import signal
import socket
import subprocess
import sys
import time


def write_main_cf(workdir, service):
    cfg = os.path.join(workdir, "config")
    queue = os.path.join(workdir, "queue")
    data = os.path.join(workdir, "data")
    for d in (cfg, queue, os.path.join(queue, "private"), data):
        os.makedirs(d, exist_ok=True)
    pw = pwd.getpwnam("postfix")
    os.chown(data, pw.pw_uid, pw.pw_gid)
    os.chmod(data, 0o700)
    os.chmod(os.path.join(queue, "private"), 0o700)
    with open(os.path.join(cfg, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
mail_owner = postfix
myhostname = localhost.localdomain
mydomain = localdomain
inet_protocols = ipv4
smtpd_tls_session_cache_database = btree:{data}/smtpd_scache
smtpd_tls_session_cache_timeout = 3600s
tls_random_source = dev:/dev/urandom
tls_random_exchange_name = {data}/prng_exch
{service}_service_name = {service}
""")
    with open(os.path.join(cfg, "master.cf"), "w") as f:
        f.write("")
    return cfg, os.path.join(queue, "private", service)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()

    cfg, sock_path = write_main_cf(a.workdir, a.service)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    os.chmod(sock_path, 0o666)
    listener.listen(64)
    listener.setblocking(False)
    flow_r, flow_w = os.pipe()
    stat_r, stat_w = os.pipe()
    sources = [flow_r, flow_w, stat_w, listener.fileno()]

    def child_fds():
        high = [os.dup(fd) for fd in sources]
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i)
            os.close(fd)

    env = dict(os.environ, GENERATION="1", MAIL_CONFIG=cfg)
    log = open(os.path.join(a.workdir, "daemon.log"), "ab")
    proc = subprocess.Popen([a.daemon] + a.args, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log, preexec_fn=child_fds, pass_fds=(3, 4, 5, 6), close_fds=True,
                            cwd=os.path.join(a.workdir, "queue"))
    # The child has its copies; keep only the status pipe's read side.
    for fd in (flow_r, flow_w, stat_w):
        os.close(fd)
    listener.close()
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write(f"{proc.pid}\n")

    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    time.sleep(0.3)
    if proc.poll() is not None:
        print(f"daemon exited early with status {proc.returncode}", flush=True)
        return 1
    print(f"ready {sock_path}", flush=True)
    while not stopping and proc.poll() is None:
        time.sleep(0.1)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    os.close(stat_r)
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
