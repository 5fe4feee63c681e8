# mk/tlsfront.mk - tlsfront(8) acceptance.
#
# check-tlsfront: our master with tlsmgr, tlsproxy and four tlsfront
#                 services on 127.0.0.1:21000-21003 in front of local
#                 backends: curl body byte-exact, ALPN h2 (s_client) and its
#                 log line, 64 MiB down/upload by SHA-256, PROXY v2/v1
#                 headers parsed, half-close (t/e2e/tlsfront.py; root).

.PHONY: check-tlsfront
check-tlsfront: $(BUILD)/bin/master $(BUILD)/bin/tlsfront $(BUILD)/bin/tlsproxy $(BUILD)/bin/tlsmgr $(BUILD)/bin/postfix-tls
	timeout 150 python3 t/e2e/tlsfront.py

CHECK_STEPS += check-tlsfront
