#!/usr/bin/env python3
"""mgr_smtpd.py - Debian's real smtpd(8) with OUR tlsmgr on private/tlsmgr,
both under Debian's master(8) (issue 5 acceptance).

Cases: openssl s_client -starttls smtp resumption by TLS 1.3 ticket, TLS 1.2
ticket and TLS 1.2 session id (-no_ticket), each "Reused"; smtpd logs no
tlsmgr warning; with the PRNG exchange file on a full tmpfs, tlsmgr only
warns and smtpd keeps completing STARTTLS. Needs root; skips otherwise.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import pfinstance  # noqa: E402

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        failures.append(name)


def s_client(port, args, sess_out=None, sess_in=None):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", "smtp", "-crlf", "-ign_eof"] + args
    if sess_out:
        cmd += ["-sess_out", sess_out]
    if sess_in:
        cmd += ["-sess_in", sess_in]
    r = subprocess.run(cmd, input="EHLO client.example\nQUIT\n", capture_output=True, text=True, timeout=30)
    for line in r.stdout.splitlines():
        if line.startswith(("New,", "Reused,")):
            return line
    return r.stdout[-200:] + r.stderr[-200:]


def resumption(port, tmp):
    for label, args in (("TLS 1.3 ticket", ["-tls1_3"]), ("TLS 1.2 ticket", ["-tls1_2"]),
                        ("TLS 1.2 session id", ["-tls1_2", "-no_ticket"])):
        sess = os.path.join(tmp, "sess.pem")
        first = s_client(port, args, sess_out=sess)
        second = s_client(port, args, sess_in=sess) if os.path.exists(sess) else "no session saved"
        check(f"smtpd + our tlsmgr: {label} resumption", second.startswith("Reused,"), f"{first} / {second}")


def run(extra, label_suffix=""):
    port = pfinstance.free_port()
    inst = pfinstance.Instance(
        ours={"tlsmgr": "build/bin/tlsmgr"},
        master_cf=f"""127.0.0.1:{port} inet n - n - - smtpd
tlsmgr unix - - n 1000? 1 tlsmgr
""" + pfinstance.SMTPD_SUPPORT,
        main_cf_extra="smtpd_tls_loglevel = 1\n" + extra)
    try:
        inst.start(wait_for=("127.0.0.1", port))
        return inst, port
    except Exception:
        print(inst.log())
        inst.stop()
        raise


def main():
    if os.geteuid() != 0:
        print("skip: mgr_smtpd needs root (runs Debian's master(8))")
        return 0
    tmp = tempfile.mkdtemp(prefix="pftls-mgr-")
    inst, port = run("")
    try:
        resumption(port, tmp)
        check("the tlsmgr that served them is ours", bool(inst.pids("tlsmgr")), str(inst.pids("tlsmgr")))
        log = inst.log()
        bad = [l for l in log.splitlines() if "postfix/smtpd[" in l and "warning" in l and "tlsmgr" in l]
        check("smtpd logs no tlsmgr warning", not bad, "; ".join(bad[:3]))
    finally:
        if failures:
            print("\n".join(inst.log().splitlines()[-40:]))
        inst.stop()
    # Exchange file on a full tmpfs.
    mnt = tempfile.mkdtemp(prefix="pftls-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], check=True)
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={mnt}/fill", "bs=4k", "count=64"], capture_output=True)
        inst, port = run(f"tls_random_exchange_name = {mnt}/prng_exch\n")
        try:
            line = s_client(port, ["-tls1_3"])
            check("exchange file on a full tmpfs: STARTTLS still completes", line.startswith("New,"), line)
            log = inst.log()
            warn = [l for l in log.splitlines() if "postfix/tlsmgr[" in l and "warning" in l and "prng_exch" in l]
            check("exchange file on a full tmpfs: tlsmgr warns, does not die",
                  bool(warn) and "fatal" not in log, warn[0] if warn else "no exchange-file warning")
        finally:
            inst.stop()
    finally:
        subprocess.run(["umount", mnt])
        os.rmdir(mnt)
    print(f"mgr_smtpd: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
