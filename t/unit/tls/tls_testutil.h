// t/unit/tls/tls_testutil.h - test certificates made with OpenSSL APIs and
// an in-memory TLS handshake between two SSL objects.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "util/handles.h"

namespace pftls::testutil {

// MakeKey - "rsa" (2048) or "ec" (P-256).
EvpPkeyPtr MakeKey(const std::string& kind);
// MakeSelfSigned - a self-signed v3 certificate for cn with key.
X509Ptr MakeSelfSigned(EVP_PKEY* key, const std::string& cn);
// WritePem - write key and/or certificate (in that order) to path.
void WritePem(const std::string& path, EVP_PKEY* key, X509* cert);
// TempDir - a fresh directory under /tmp, removed by the caller with RemoveTree.
std::string TempDir();
void RemoveTree(const std::string& dir);

// Handshake - drive client and server over a BIO pair; true on success.
bool Handshake(SSL* client, SSL* server);
// Connect - new client/server SSL pair joined by a BIO pair.
void Connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SslPtr* client, SslPtr* server);

}  // namespace pftls::testutil
