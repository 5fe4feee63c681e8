# mk/ipc.mk - ipc/ check steps.
#
# check-ipc-interop: our blocking client (build/t/bin/tlsmgr_client) against
# the real Debian tlsmgr launched outside master(8) (t/e2e/ipc_interop.sh).
# Needs root; skips with a message otherwise.

.PHONY: check-ipc-interop
check-ipc-interop: $(BUILD)/t/bin/tlsmgr_client
	t/e2e/ipc_interop.sh

CHECK_STEPS += check-ipc-interop
