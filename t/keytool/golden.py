#!/usr/bin/env python3
"""golden.py - compare build/bin/postfix-tls with Debian's postfix-tls-script.

Runs both tools on identical throwaway configuration directories and checks
that they agree (spec §6): TLSA output byte for byte, main.cf edits as a set,
all-default-* exit codes, certificate/CSR fields as printed by openssl(1)
(the test may run openssl; the keytool itself never does), key file formats
and modes, and every message and exit status of §6.5-§6.6 as seen on a
terminal (both run under script(1), so stderr is a tty).

The real script is run the way postfix(1)/postfix-script would run it: with
config_directory, command_directory, daemon_directory, data_directory,
MAIL_CONFIG and MAIL_LOGTAG exported. command_directory is a private
directory with postlog and a postconf wrapper whose only change is that
"postconf -dh config_directory" names the throwaway directory (so the
script's openssl_path lookup does not need /etc/postfix/main.cf).

Usage: golden.py path/to/postfix-tls   (exit 0: all passed or skipped)
"""
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

REAL = "/usr/lib/postfix/sbin/postfix-tls-script"
PREFIX = "postfix/postfix-tls-script: "
STAMP = re.compile(r"\d{8}-\d{6}")

failures = []
passes = 0
lock = threading.Lock()
# The real script sleeps a second on every fatal error and runs postconf a
# dozen times per call: independent cases run in parallel (mostly waiting).
WORKERS = 8


def check(name, ok, detail=""):
    global passes
    with lock:
        if ok:
            passes += 1
        else:
            failures.append(name)
            print("FAIL: %s%s" % (name, ("\n" + detail) if detail else ""))


def parallel(fn, items):
    with ThreadPoolExecutor(max_workers=WORKERS) as ex:
        for f in [ex.submit(fn, i) for i in items]:
            f.result()


def skip(msg):
    print("check-keytool: SKIP: " + msg)
    sys.exit(0)


class Env:
    def __init__(self, ours):
        self.ours = os.path.abspath(ours)
        self.top = tempfile.mkdtemp(prefix="pftls-keytool-")
        self.cmd = os.path.join(self.top, "cmd")
        os.mkdir(self.cmd)
        os.symlink("/usr/sbin/postlog", os.path.join(self.cmd, "postlog"))
        wrapper = os.path.join(self.cmd, "postconf")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nif [ "$*" = "-dh config_directory" ]; then echo "$MAIL_CONFIG"; exit 0; fi\n'
                    'exec /usr/sbin/postconf "$@"\n')
        os.chmod(wrapper, 0o755)
        self.n = 0

    def newdir(self, tag, maincf):
        with lock:
            self.n += 1
            d = os.path.join(self.top, "%s%d" % (tag, self.n))
        os.mkdir(d)
        with open(os.path.join(d, "main.cf"), "w") as f:
            f.write(maincf)
        if os.path.exists("/etc/postfix/master.cf"):
            shutil.copy("/etc/postfix/master.cf", d)
        else:
            open(os.path.join(d, "master.cf"), "w").close()
        return d

    def pair(self, maincf="myhostname = mx.example.test\n"):
        return self.newdir("real", maincf), self.newdir("ours", maincf)

    def argv(self, which, d, args):
        if which == "real":
            return ["env", "MAIL_CONFIG=" + d, "config_directory=" + d, "command_directory=" + self.cmd,
                    "daemon_directory=/usr/lib/postfix/sbin", "data_directory=/var/lib/postfix",
                    "MAIL_LOGTAG=postfix", REAL] + args
        return [self.ours, "-c", d] + args

    def run(self, which, d, args, stdin=None):
        """Plain run (stderr not a tty): rc, stdout, stderr."""
        p = subprocess.run(self.argv(which, d, args), capture_output=True, text=True, cwd=self.top,
                           stdin=subprocess.DEVNULL, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def tty(self, which, d, args):
        """Run under script(1): rc, stdout (redirected to a file), tty lines."""
        fd, out = tempfile.mkstemp(prefix="stdout-%s-" % which, dir=self.top)
        os.close(fd)
        cmd = " ".join(shq(a) for a in self.argv(which, d, args)) + " >" + shq(out)
        p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                           cwd=self.top, stdin=subprocess.DEVNULL, timeout=120)
        lines = [l for l in p.stdout.replace("\r", "").split("\n") if l.startswith(PREFIX)]
        with open(out) as f:
            stdout = f.read()
        os.unlink(out)
        return p.returncode, stdout, lines


def shq(s):
    return "'" + s.replace("'", "'\\''") + "'"


def norm(text, *dirs):
    """Replace the directory names and time stamps."""
    if isinstance(text, list):
        return [norm(t, *dirs) for t in text]
    for d in dirs:
        text = text.replace(d, "DIR")
    return STAMP.sub("STAMP", text)


def maincf_lines(d):
    with open(os.path.join(d, "main.cf")) as f:
        return f.read().splitlines()


def added_lines(d, before):
    return set(l for l in maincf_lines(d) if l not in before)


def files(d, prefix):
    return sorted(f for f in os.listdir(d) if f.startswith(prefix))


def openssl_text(kind, path):
    p = subprocess.run(["openssl", kind, "-in", path, "-text", "-noout"], capture_output=True, text=True)
    return p.stdout


HEXDUMP = re.compile(r"^\s+([0-9a-fA-F]{2}:)*[0-9a-fA-F]{2}:?$")


def fields(text, keep_ski=True):
    """openssl -text output without serial, dates, key material and signature."""
    out = []
    skip_next = False
    for line in text.splitlines():
        if skip_next:
            skip_next = False
            if HEXDUMP.match(line) or re.match(r"^\s+[0-9a-fA-F:]+$", line):
                continue
        if HEXDUMP.match(line):
            continue
        s = line.strip()
        if s.startswith("Serial Number"):
            skip_next = not s.endswith(")") and ":" in s and s.endswith(":")
            continue
        if s.startswith("Not Before") or s.startswith("Not After"):
            continue
        if s.startswith("Signature Value"):
            continue
        if not keep_ski and re.match(r"^([0-9A-F]{2}:){19}[0-9A-F]{2}$", s):
            continue
        out.append(line.rstrip())
    return out


def validity_days(cert):
    p = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-startdate", "-enddate"],
                       capture_output=True, text=True)
    vals = dict(l.split("=", 1) for l in p.stdout.splitlines())
    fmt = "%b %d %H:%M:%S %Y %Z"
    nb = datetime.datetime.strptime(re.sub(r"\s+", " ", vals["notBefore"]), fmt)
    na = datetime.datetime.strptime(re.sub(r"\s+", " ", vals["notAfter"]), fmt)
    return (na - nb).total_seconds() / 86400.0


def both(env, args, maincf="myhostname = mx.example.test\n", setup=None):
    real, ours = env.pair(maincf)
    if setup:
        setup(real)
        setup(ours)
    r = env.tty("real", real, args)
    o = env.tty("ours", ours, args)
    return real, ours, r, o


def same_tty(env, name, args, maincf="myhostname = mx.example.test\n", setup=None, only_fatal=False):
    real, ours, r, o = both(env, args, maincf, setup)
    rl, ol = norm(r[2], real), norm(o[2], ours)
    if only_fatal:
        rl = [l for l in rl if ": fatal: " in l]
        ol = [l for l in ol if ": fatal: " in l]
    ok = r[0] == o[0] and rl == ol and norm(r[1], real) == norm(o[1], ours)
    check(name, ok, "real rc=%d %r stdout=%r\nours rc=%d %r stdout=%r" % (r[0], rl, r[1], o[0], ol, o[1]))
    return real, ours


def main():
    if len(sys.argv) != 2:
        print("usage: golden.py path/to/postfix-tls")
        return 2
    for need in (REAL, "/usr/sbin/postconf", "/usr/sbin/postlog"):
        if not os.path.exists(need):
            skip("%s not installed (Debian package postfix)" % need)
    for prog in ("openssl", "script"):
        if shutil.which(prog) is None:
            skip("%s not found" % prog)
    env = Env(sys.argv[1])
    try:
        run_all(env)
    finally:
        shutil.rmtree(env.top, ignore_errors=True)
    print("check-keytool: %d passed, %d failed" % (passes, len(failures)))
    return 1 if failures else 0


def gen_keys(env):
    """A pool of key files from three sources: openssl(1), Postfix, pftls."""
    pool = os.path.join(env.top, "keys")
    os.mkdir(pool)
    keys = []
    for i in range(2):
        k = os.path.join(pool, "ossl-rsa%d.pem" % i)
        subprocess.run(["openssl", "genrsa", "-out", k, "2048"], capture_output=True, check=True)
        keys.append(k)
        k = os.path.join(pool, "ossl-ec%d.pem" % i)
        subprocess.run(["openssl", "ecparam", "-param_enc", "named_curve", "-genkey", "-name", "secp384r1",
                        "-out", k], capture_output=True, check=True)
        keys.append(k)
    for which in ("real", "ours"):
        d = env.newdir("keys" + which, "myhostname = mx.example.test\n")
        for alg in ("rsa", "ecdsa"):
            rc, _, err = env.run(which, d, ["new-server-key", "-a", alg])
            check("%s new-server-key -a %s rc" % (which, alg), rc == 0, err)
        for f in files(d, ""):
            if f.endswith(".pem") and "key" in f:
                dst = os.path.join(pool, which + "-" + f)
                shutil.copy(os.path.join(d, f), dst)
                keys.append(dst)
    # An RSA key written after its certificate in one file (combined file).
    comb = os.path.join(pool, "combined.pem")
    k0 = keys[0]
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", k0, "-subj", "/CN=x", "-days", "1", "-out",
                    comb + ".crt"], capture_output=True, check=True)
    with open(comb, "w") as f:
        f.write(open(comb + ".crt").read() + open(k0).read())
    keys.append(comb)
    return keys


def test_tlsa(env, keys):
    real, ours = env.pair()

    def one_key(k):
        for args in (["output-server-tlsa", k], ["output-server-tlsa", "-h", "mail.example.org", k],
                     ["output-server-tlsa", "-hmx2.example", k]):
            r, o = env.run("real", real, args), env.run("ours", ours, args)
            check("tlsa %s" % " ".join(args[1:]).replace(env.top, ""), r[:2] == o[:2] and r[0] == 0,
                  "real %r\nours %r" % (r[:2], o[:2]))
    parallel(one_key, keys)
    args = ["output-server-tlsa", "-h", "many.example"] + keys
    r, o = env.run("real", real, args), env.run("ours", ours, args)
    check("tlsa all keys in one call", r[:2] == o[:2] and r[1].count("IN TLSA") == len(keys),
          "real %r\nours %r" % (r[:2], o[:2]))
    # Relative names are relative to config_directory; "none" is skipped.
    for d in (real, ours):
        shutil.copy(keys[0], os.path.join(d, "rel.pem"))
    args = ["output-server-tlsa", "rel.pem", "none", ""]
    r, o = env.run("real", real, args), env.run("ours", ours, args)
    check("tlsa relative + none", norm(r[1], real) == norm(o[1], ours) and r[0] == o[0] == 0,
          "real %r\nours %r" % (r[:2], o[:2]))
    # The configured keys: rsa and ecdsa (explicit parameters only).
    parallel(lambda cfg: tlsa_configured(env, cfg), ("smtpd_tls_key_file = %s\nsmtpd_tls_eckey_file = %s\n" % (keys[0], keys[1]),
                "smtpd_tls_eckey_file = %s\n" % keys[3],
                "smtpd_tls_key_file = none\nsmtpd_tls_eckey_file = %s\n" % keys[1],
                "smtpd_tls_cert_file = %s\n" % keys[0],
                "mydir = %s\nsmtpd_tls_key_file = $mydir/%s\n" % (os.path.dirname(keys[0]),
                                                                   os.path.basename(keys[0]))))
    tlsa_hostfile(env, keys)


def tlsa_configured(env, cfg):
    if True:
        real, ours = env.pair("myhostname = mx.example.test\n" + cfg)
        for args in (["output-server-tlsa"], ["output-server-tlsa", "-h", "h.example"],
                     ["output-server-tlsa", "ecdsa", "rsa"]):
            r, o = env.run("real", real, args), env.run("ours", ours, args)
            check("tlsa configured %r %s" % (cfg.replace(env.top, "").strip(), args[1:]),
                  r[:2] == o[:2], "real %r\nours %r" % (r, o))


def tlsa_hostfile(env, keys):
    # myhostname naming a file.
    hf = os.path.join(env.top, "hostname.txt")
    with open(hf, "w") as f:
        f.write("file-host.example\n")
    real, ours = env.pair("myhostname = %s\nsmtpd_tls_key_file = %s\n" % (hf, keys[0]))
    r, o = env.run("real", real, ["output-server-tlsa"]), env.run("ours", ours, ["output-server-tlsa"])
    check("tlsa myhostname from file", r[:2] == o[:2] and "file-host.example" in o[1], "%r\n%r" % (r, o))


def test_maincf(env, keys):
    before = ["myhostname = mx.example.test"]
    parallel(lambda args: maincf_case(env, before, args),
             (["enable-server"], ["enable-server", "-a", "ecdsa"], ["enable-server", "-r", "dev:/dev/random"],
              ["enable-server", "-b", "3072", "a.example", "b.example"], ["enable-client"],
              ["enable-client", "-r", "egd:/var/run/egd"]))
    deploy_cases(env, before)


def maincf_case(env, before, args):
    if True:
        real, ours = env.pair()
        r, o = env.tty("real", real, args), env.tty("ours", ours, args)
        ra, oa = set(norm(list(added_lines(real, before)), real)), set(norm(list(added_lines(ours, before)), ours))
        check("main.cf edits: %s" % " ".join(args), r[0] == o[0] == 0 and ra == oa and ra,
              "real %r\nours %r" % (sorted(ra), sorted(oa)))
        check("messages: %s" % " ".join(args), norm(r[2], real) == norm(o[2], ours),
              "real %r\nours %r" % (norm(r[2], real), norm(o[2], ours)))
        if args[0] == "enable-server":
            for d in (real, ours):
                kf = [f for f in files(d, "") if "key-" in f]
                cf = [f for f in files(d, "") if "cert-" in f]
                check("enable-server files %s" % d.replace(env.top, ""), len(kf) == 1 and len(cf) == 1 and
                      (os.stat(os.path.join(d, kf[0])).st_mode & 0o777) == 0o600 and
                      (os.stat(os.path.join(d, cf[0])).st_mode & 0o777) == 0o644, repr((kf, cf)))


def deploy_cases(env, before):
    # deploy-server-cert of one identical pair, absolute and relative names.
    d = env.newdir("src", "myhostname = mx.example.test\n")
    env.run("ours", d, ["new-server-key", "-a", "ecdsa"])
    env.run("ours", d, ["new-server-key", "-a", "rsa"])
    pairs = [(os.path.join(d, c), os.path.join(d, k)) for c, k in
             zip(files(d, "eccert-") + files(d, "cert-"), files(d, "eckey-") + files(d, "key-"))]
    parallel(lambda c: deploy_case(env, before, *c), [(c, k, rel) for c, k in pairs for rel in (False, True)])


def deploy_case(env, before, cert, key, rel):
    if True:
        if True:
            real, ours = env.pair()
            args = ["deploy-server-cert", cert, key]
            if rel:
                for x in (real, ours):
                    shutil.copy(cert, os.path.join(x, "c.pem"))
                    shutil.copy(key, os.path.join(x, "k.pem"))
                args = ["deploy-server-cert", "c.pem", "k.pem"]
            r, o = env.tty("real", real, args), env.tty("ours", ours, args)
            ra = set(norm(list(added_lines(real, before)), real))
            oa = set(norm(list(added_lines(ours, before)), ours))
            check("deploy-server-cert %s%s" % (os.path.basename(key), " (relative)" if rel else ""),
                  r[0] == o[0] == 0 and ra == oa and len(ra) == 2 and norm(r[2], real) == norm(o[2], ours),
                  "real %r %r\nours %r %r" % (sorted(ra), r, sorted(oa), o))


ALL_DEFAULT_CASES = [
    "",
    "smtpd_tls_security_level = may\n",
    "smtpd_use_tls = no\n",
    "smtpd_tls_cert_file =\n",
    "smtpd_tls_cert_file = $nothing\n",
    "smtp_tls_security_level = none\n",
    "smtp_tls_dcert_file = /x/y\n",
    "smtpd_tls_eccert_file = /x/y\n",
    "#smtpd_tls_security_level = may\n#smtp_tls_security_level = may\n",
    "smtpd_tls_key_file = /x/key.pem\nsmtpd_tls_loglevel = 1\n",
    "smtp_enforce_tls = yes\n",
    "smtp_tls_enforce_peername = no\n",
    "smtpd_enforce_tls =\n   yes\n",
    "smtp_tls_cert_file = /a\nsmtpd_tls_dcert_file = /b\n",
    "smtp_tls_session_cache_database = btree:/x\nsmtp_tls_loglevel = 1\n",
]


def test_all_default(env):
    parallel(lambda cfg: all_default_case(env, cfg), ALL_DEFAULT_CASES)


def all_default_case(env, cfg):
    if True:
        real, ours = env.pair(cfg)
        for cmd in ("all-default-client", "all-default-server"):
            r, o = env.run("real", real, [cmd]), env.run("ours", ours, [cmd])
            check("%s on %r" % (cmd, cfg), r[0] == o[0], "real %d ours %d" % (r[0], o[0]))
        # enable-* on the same main.cf: change or suggestions, identically.
        for cmd in ("enable-client",):
            r, o = env.tty("real", real, [cmd]), env.tty("ours", ours, [cmd])
            check("%s on %r" % (cmd, cfg), r[0] == o[0] and norm(r[2], real) == norm(o[2], ours) and
                  set(norm(maincf_lines(real), real)) == set(norm(maincf_lines(ours), ours)),
                  "real %r\nours %r" % (r, o))


def test_cert_csr(env, keys):
    # new-server-cert re-uses the configured key: with the same key on both
    # sides everything but serial, dates and signature must be equal.
    combos = [(alg, key, hosts) for alg, key in (("rsa", keys[0]), ("ecdsa", keys[1]))
              for hosts in ([], ["a.example"], ["a.example", "b.example", "c.example"])]
    parallel(lambda c: reuse_case(env, *c), combos)
    parallel(lambda c: fresh_case(env, *c),
             (("rsa", []), ("ecdsa", ["x.example", "y.example"]), ("ecdsa", ["-b", "secp384r1"])))


def reuse_case(env, alg, key, hosts):
    param = "smtpd_tls_key_file" if alg == "rsa" else "smtpd_tls_eckey_file"
    if True:
        if True:
            real, ours = env.pair("myhostname = mx.example.test\n%s = %s\n" % (param, key))
            r = env.tty("real", real, ["new-server-cert", "-a", alg] + hosts)
            o = env.tty("ours", ours, ["new-server-cert", "-a", alg] + hosts)
            check("new-server-cert -a %s %s messages" % (alg, hosts),
                  r[0] == o[0] == 0 and norm(r[2], real) == norm(o[2], ours), "real %r\nours %r" % (r, o))
            pre = "cert-" if alg == "rsa" else "eccert-"
            kpre = "key-" if alg == "rsa" else "eckey-"
            rc, oc = files(real, pre), files(ours, pre)
            rk, ok_ = files(real, kpre), files(ours, kpre)
            if len(rc) != 1 or len(oc) != 1 or len(rk) != 1 or len(ok_) != 1:
                check("new-server-cert files", False, repr((rc, oc, rk, ok_)))
                return
            rt = fields(openssl_text("x509", os.path.join(real, rc[0])))
            ot = fields(openssl_text("x509", os.path.join(ours, oc[0])))
            check("cert fields %s %s" % (alg, hosts), rt == ot and rt, "\n".join(
                "%-60s | %s" % p for p in zip(rt + [""] * 40, ot + [""] * 40) if p != ("", "")))
            days = validity_days(os.path.join(ours, oc[0]))
            check("cert validity %s %s" % (alg, hosts),
                  days == validity_days(os.path.join(real, rc[0])) == 36525, "%r" % days)
            rb = open(os.path.join(real, rk[0]), "rb").read()
            ob = open(os.path.join(ours, ok_[0]), "rb").read()
            check("copied key file identical %s" % alg, rb == ob and
                  (os.stat(os.path.join(ours, ok_[0])).st_mode & 0o777) == 0o600, "%r\n%r" % (rb[:60], ob[:60]))
            # CSR for the same key and names.
            args = ["output-server-csr", "-k", key] + hosts
            rr, orr = env.run("real", real, args), env.run("ours", ours, args)
            tr = os.path.join(real, "r.csr")
            to = os.path.join(ours, "o.csr")
            open(tr, "w").write(rr[1])
            open(to, "w").write(orr[1])
            rt, ot = fields(openssl_text("req", tr)), fields(openssl_text("req", to))
            check("csr fields %s %s" % (alg, hosts), rr[0] == orr[0] == 0 and rt == ot and rt,
                  "\n".join("%-60s | %s" % p for p in zip(rt + [""] * 40, ot + [""] * 40) if p != ("", "")))
            v = subprocess.run(["openssl", "req", "-in", to, "-verify", "-noout"], capture_output=True, text=True)
            check("csr signature verifies %s" % alg, v.returncode == 0, v.stderr)


def fresh_case(env, alg, hosts):
    # Fresh keys (new-server-key): formats, modes and certificate fields
    # apart from the key-dependent SKI.
    if True:
        real, ours = env.pair()
        r = env.tty("real", real, ["new-server-key", "-a", alg] + hosts)
        o = env.tty("ours", ours, ["new-server-key", "-a", alg] + hosts)
        check("new-server-key -a %s %s messages" % (alg, hosts),
              r[0] == o[0] == 0 and norm(r[2], real) == norm(o[2], ours), "real %r\nours %r" % (r, o))
        kpre, cpre = ("key-", "cert-") if alg == "rsa" else ("eckey-", "eccert-")
        rk, ok_ = files(real, kpre), files(ours, kpre)
        rc, oc = files(real, cpre), files(ours, cpre)
        if not (rk and ok_ and rc and oc):
            check("new-server-key files %s" % alg, False, repr((rk, ok_, rc, oc)))
            return
        heads = []
        for d, k in ((real, rk[0]), (ours, ok_[0])):
            heads.append([l for l in open(os.path.join(d, k)).read().splitlines() if l.startswith("-----")])
        check("key file PEM structure %s" % alg, heads[0] == heads[1], repr(heads))
        check("key file mode %s" % alg, (os.stat(os.path.join(ours, ok_[0])).st_mode & 0o7777) == 0o600 ==
              (os.stat(os.path.join(real, rk[0])).st_mode & 0o7777))
        check("cert file mode %s" % alg, (os.stat(os.path.join(ours, oc[0])).st_mode & 0o7777) == 0o644 ==
              (os.stat(os.path.join(real, rc[0])).st_mode & 0o7777))
        if alg == "ecdsa":
            ep = [open(os.path.join(d, k)).read().split("-----END EC PARAMETERS-----")[0]
                  for d, k in ((real, rk[0]), (ours, ok_[0]))]
            check("EC PARAMETERS block identical %s" % hosts, ep[0] == ep[1], repr(ep))
        rt = fields(openssl_text("x509", os.path.join(real, rc[0])), keep_ski=False)
        ot = fields(openssl_text("x509", os.path.join(ours, oc[0])), keep_ski=False)
        check("fresh cert fields %s %s" % (alg, hosts), rt == ot and rt, "\n".join(
            "%-60s | %s" % p for p in zip(rt + [""] * 40, ot + [""] * 40) if p != ("", "")))
        v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(ours, oc[0]), os.path.join(ours, oc[0])],
                           capture_output=True, text=True)
        check("self-signed cert verifies %s" % alg, v.returncode == 0, v.stdout + v.stderr)


def test_errors(env, keys):
    garbage = os.path.join(env.top, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("not a key\n")
    bad_cases = [
        ["bogus"], [],
        ["enable-client", "-x"], ["enable-client", "extra"], ["enable-client", "-r"],
        ["enable-server", "-x"], ["enable-server", "-a"],
        ["new-server-key", "-r", "x"], ["new-server-cert", "-x"],
        ["output-server-csr", "-x"], ["output-server-tlsa", "-x"], ["output-server-tlsa", "-h"],
        ["deploy-server-cert"], ["deploy-server-cert", "a"], ["deploy-server-cert", "a", "b", "c"],
        ["all-default-client", "x"], ["all-default-server", "--"],
        ["enable-server", "-a", "dsa"], ["new-server-key", "-a", "dsa"], ["new-server-cert", "-a", "dsa"],
        ["enable-server", "-a", ""], ["new-server-key", "-a", ""], ["new-server-cert", "-a", ""],
        ["output-server-tlsa"], ["output-server-tlsa", "rsa", "ecdsa"], ["output-server-csr"],
        ["output-server-csr", "-k", "ecdsa"], ["output-server-csr", "-k", "/nonexistent/key.pem"],
        ["output-server-tlsa", garbage], ["output-server-tlsa", keys[0], garbage, keys[1]],
        ["output-server-tlsa", "/nonexistent/key.pem"],
        ["deploy-server-cert", "/nonexistent/cert.pem", garbage],
        ["deploy-server-cert", "/nonexistent/cert.pem", keys[0]],
        ["deploy-server-cert", garbage, keys[0]],
    ]
    parallel(lambda args: same_tty(env, "error case %r" % [a.replace(env.top, "") for a in args], args),
             bad_cases)
    # Key generation failures: openssl's own text differs, the fatal line not.
    def keygen_failure(args):
        real, ours = same_tty(env, "keygen failure %r" % args, args, only_fatal=True)
        check("keygen failure leaves no files %r" % args,
              not [f for f in os.listdir(ours) if f.endswith(".pem")] and
              not [f for f in os.listdir(real) if f.endswith(".pem")])
    parallel(keygen_failure, (["new-server-key", "-b", "100"], ["new-server-key", "-a", "ecdsa", "-b", "nosuchcurve"],
                              ["enable-server", "-b", "abc"]))
    # Certificate and key that do not match.
    d = env.newdir("mm", "myhostname = mx.example.test\n")
    env.run("ours", d, ["new-server-key"])
    cert = os.path.join(d, files(d, "cert-")[0])

    # A file name for this second (and the next few) already exists.
    def occupy(prefix):
        def setup(d):
            now = datetime.datetime.now(datetime.timezone.utc)
            for s in range(0, 8):
                t = (now + datetime.timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S")
                open(os.path.join(d, "%s-%s.pem" % (prefix, t)), "w").close()
        return setup
    mx = "myhostname = mx.example.test\n"
    cases = [
        ("deploy mismatch", ["deploy-server-cert", cert, keys[2]], mx, None),
        ("deploy mismatch (ec key)", ["deploy-server-cert", cert, keys[1]], mx, None),
        # Non-default settings: suggestions only, exit 0, main.cf unchanged.
        ("enable-server non-default", ["enable-server"], mx + "smtpd_tls_security_level = may\n", None),
        ("enable-client non-default", ["enable-client"], mx + "smtp_tls_security_level = encrypt\n", None),
        # new-server-cert whose configured key is missing or of the wrong type.
        ("new-server-cert missing key", ["new-server-cert"], mx + "smtpd_tls_key_file = /nonexistent/key.pem\n", None),
        ("new-server-cert wrong key type", ["new-server-cert"], mx + "smtpd_tls_key_file = %s\n" % keys[1], None),
        ("new-server-cert unreadable key", ["new-server-cert"], mx + "smtpd_tls_key_file = %s\n" % garbage, None),
        ("new-server-cert ecdsa, no key configured", ["new-server-cert", "-a", "ecdsa", "n.example"], mx, None),
        ("key file exists", ["new-server-key"], mx, occupy("key")),
        ("cert file exists", ["new-server-key", "-a", "ecdsa"], mx, occupy("eccert")),
    ]
    parallel(lambda c: same_tty(env, c[0], c[1], c[2], setup=c[3]), cases)
    # A configuration directory that does not exist: the script cannot even
    # log (postlog needs main.cf); ours says what it means to say.
    nodir = os.path.join(env.top, "nodir")
    r = env.tty("real", nodir, ["all-default-server"])
    o = env.tty("ours", nodir, ["all-default-server"])
    check("missing config directory", r[0] == o[0] == 1 and
          o[2] == [PREFIX + "fatal: no Postfix configuration directory %s!" % nodir], "real %r\nours %r" % (r, o))


def test_additions(env, keys):
    """pftls additions (not compared with Postfix)."""
    d = env.newdir("add", "myhostname = mx.example.test\n")
    rc, out, err = env.run("ours", d, ["output-server-tlsa", "-p", "465", keys[0]])
    rr, rout, _ = env.run("ours", d, ["output-server-tlsa", keys[0]])
    check("tlsa -p 465", rc == 0 and out == rout.replace("_25._tcp.", "_465._tcp."), out + err)
    rc, out, lines = env.tty("ours", d, ["output-server-tlsa", "-p", "0", keys[0]])
    check("tlsa -p 0 rejected", rc == 1 and "port" in "".join(lines), repr(lines))
    rc, _, err = env.run("ours", d, ["new-server-key", "-a", "ed25519", "ed.example"])
    ek = files(d, "edkey-")
    ec = files(d, "edcert-")
    check("new-server-key -a ed25519", rc == 0 and len(ek) == 1 and len(ec) == 1, err)
    if ek and ec:
        t = openssl_text("x509", os.path.join(d, ec[0]))
        check("ed25519 cert", "ED25519" in t and "DNS:ed.example" in t, t)
        rc, out, err = env.run("ours", d, ["output-server-tlsa", ek[0]])
        p = subprocess.run("openssl pkey -in %s -pubout -outform DER | openssl dgst -sha256 -r" %
                           shq(os.path.join(d, ek[0])), shell=True, capture_output=True, text=True)
        check("ed25519 tlsa digest", rc == 0 and p.stdout.split()[0] in out, out + err)
        rc, _, err = env.run("ours", d, ["deploy-server-cert", ec[0], ek[0]])
        cf = "\n".join(maincf_lines(d))
        check("ed25519 deploy via smtpd_tls_chain_files", rc == 0 and "smtpd_tls_chain_files = " in cf, cf + err)
    # Expired and not-yet-valid certificates are refused.
    # Expired certificates are refused (Postfix deploys them).
    key = keys[0]
    crt = os.path.join(env.top, "expired.crt")
    csr = os.path.join(env.top, "expired.csr")
    subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=x", "-out", csr], capture_output=True)
    p = subprocess.run(["openssl", "x509", "-req", "-in", csr, "-signkey", key, "-days", "-1", "-out", crt],
                       capture_output=True, text=True)
    if p.returncode == 0:
        rc, _, lines = env.tty("ours", d, ["deploy-server-cert", crt, key])
        check("expired certificate refused", lines == [PREFIX + "fatal: Certificate in %s has expired" % crt]
              and rc == 1, repr(lines))
        rc, _, _ = env.run("real", env.newdir("x", ""), ["deploy-server-cert", crt, key])
        check("(Postfix deploys the expired one)", rc == 0)


def run_all(env):
    keys = gen_keys(env)
    test_tlsa(env, keys)
    test_maincf(env, keys)
    test_all_default(env)
    test_cert_csr(env, keys)
    test_errors(env, keys)
    test_additions(env, keys)


if __name__ == "__main__":
    sys.exit(main())
