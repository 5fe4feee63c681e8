# mk/mgr.mk - tlsmgr end-to-end check.
#
# check-mgr-smtpd: Debian's master(8) + smtpd(8) with our tlsmgr: resumption
#                  three ways, no tlsmgr warning in smtpd's log, and the PRNG
#                  exchange file on a full tmpfs (t/e2e/mgr_smtpd.py; root).

.PHONY: check-mgr-smtpd
check-mgr-smtpd: $(BUILD)/bin/tlsmgr
	python3 t/e2e/mgr_smtpd.py

CHECK_STEPS += check-mgr-smtpd
