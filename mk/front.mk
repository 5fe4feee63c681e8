# mk/front.mk - front end checks.
#
# check-smtpfront: smtpfront + our tlsproxy + our tlsmgr under Debian's
#                  master(8), in front of t/tools/smtp_sink.py: swaks, smtplib,
#                  openssl s_client, gnutls-cli, posttls-finger, injection,
#                  levels, 454 fallback (t/e2e/smtpfront.py; root).

.PHONY: check-smtpfront
check-smtpfront: $(BUILD)/bin/smtpfront $(BUILD)/bin/tlsproxy $(BUILD)/bin/tlsmgr
	python3 t/e2e/smtpfront.py

CHECK_STEPS += check-smtpfront

# check-run: `make run`'s demo from a fresh directory: swaks --tls/--tlsc
# deliver, curl through tlsfront on 10443, Ctrl-C leaves no process
# (t/e2e/make_run.sh; root).
.PHONY: check-run
check-run: $(BUILD)/bin/master $(BUILD)/bin/smtpfront $(BUILD)/bin/tlsfront $(BUILD)/bin/tlsproxy $(BUILD)/bin/tlsmgr $(BUILD)/bin/postfix-tls
	t/e2e/make_run.sh

CHECK_STEPS += check-run
