# mk/config.mk - util/config checks.
#
# check-postconf: the differential test of util/config's expansion against
# Debian's postconf(1) over the corpus t/data/postconf/*.cases
# (t/postconf/diff.sh; fails on any single differing case; without
# postconf it fails when CI=true and skips otherwise).
CHECK_STEPS += check-postconf

.PHONY: check-postconf
check-postconf: tools
	t/postconf/diff.sh
