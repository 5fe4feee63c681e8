# mk/sandbox.mk - issue 8 acceptance: seccomp/Landlock death tests per role
# and the jailed daemons inspected through /proc while they serve a client
# (t/e2e/sandbox_test.sh; root, skips otherwise).

.PHONY: check-sandbox
check-sandbox: $(BUILD)/bin/master $(BUILD)/bin/tlsproxy $(BUILD)/bin/tlsmgr $(BUILD)/bin/smtpfront
	t/e2e/sandbox_test.sh

CHECK_STEPS += check-sandbox
