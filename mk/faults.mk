# mk/faults.mk - fault tolerance and hostile input (issue 11).
#
# check-faults: the real system under our master on 127.0.0.1 (ports
#               25000-25099) with a load of normal STARTTLS and wrapper
#               clients; one line per case with its figure
#               (t/faults/run.py; root).

.PHONY: check-faults
check-faults: $(BUILD)/bin/master $(BUILD)/bin/smtpfront $(BUILD)/bin/tlsfront $(BUILD)/bin/tlsproxy $(BUILD)/bin/tlsmgr
	python3 t/faults/run.py

CHECK_STEPS += check-faults
