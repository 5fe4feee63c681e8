# mk/keytool.mk - postfix-tls (keytool/) checks.
#
# check-keytool: golden comparison of build/bin/postfix-tls with Debian's
# postfix-tls-script (t/keytool/golden.py); skips when the postfix package,
# openssl(1) or script(1) is missing.
.PHONY: check-keytool
CHECK_STEPS += check-keytool

check-keytool: $(BUILD)/bin/postfix-tls
	python3 t/keytool/golden.py $(BUILD)/bin/postfix-tls
