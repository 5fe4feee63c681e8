# mk/proxy.mk - tlsproxy end-to-end checks.
#
# check-proxy-handoff:    stand-alone tlsproxy, C++ hand-off driver, 1 MiB
#                         each way + KeyUpdate (t/e2e/proxy_handoff.sh).
# check-proxy-postscreen: Debian's master(8) + postscreen(8) + tlsmgr(8) with
#                         our tlsproxy (t/e2e/proxy_postscreen.py; root).

.PHONY: check-proxy-handoff check-proxy-postscreen
check-proxy-handoff: $(BUILD)/bin/tlsproxy $(BUILD)/t/bin/handoff_drive
	t/e2e/proxy_handoff.sh

check-proxy-postscreen: $(BUILD)/bin/tlsproxy
	python3 t/e2e/proxy_postscreen.py

CHECK_STEPS += check-proxy-handoff check-proxy-postscreen
