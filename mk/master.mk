# mk/master.mk - end-to-end checks of master/ and the daemon skeleton
# (util/daemon.h): our master supervising the echosvc test service, and
# echosvc under Debian's real Postfix master(8). Both need root and skip
# with a message otherwise.
CHECK_STEPS += check-master

.PHONY: check-master
check-master: $(BUILD)/bin/master $(BUILD)/t/bin/echosvc
	timeout 60 t/e2e/skeleton_test.sh
	timeout 180 t/e2e/master_test.sh
	timeout 120 t/e2e/debian_master_test.sh
