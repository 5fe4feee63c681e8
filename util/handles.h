/*++
 * NAME
 *	util/handles.h - owning smart pointers for C library handles
 * SYNOPSIS
 *	#include "util/handles.h"
 *
 *	SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
 *	SslPtr ssl(SSL_new(ctx.get()));
 *	EventBasePtr base(event_base_new());
 *	EventPtr ev(event_new(base.get(), fd, EV_READ, cb, arg));
 *	SqlitePtr db; SqliteStmtPtr stmt;
 * DESCRIPTION
 *	CPtr<T, F> is std::unique_ptr<T> whose deleter calls the C library's
 *	free function F. One alias per handle type used in pftls: OpenSSL
 *	(SSL, SSL_CTX, SSL_SESSION, EVP_PKEY, EVP_PKEY_CTX, X509, X509_REQ,
 *	X509_NAME, BIO, BIGNUM, EVP_MD_CTX, EVP_CIPHER_CTX, EVP_MAC_CTX,
 *	EVP_MAC, ASN1_INTEGER, STACK_OF(X509) with its members), libevent
 *	(event_base, event, bufferevent, evconnlistener, evbuffer) and
 *	SQLite (sqlite3 via sqlite3_close_v2, sqlite3_stmt).
 *
 *	Declare members so that events are destroyed before the descriptors
 *	they watch (members are destroyed in reverse order of declaration).
 * SECURITY
 *	None beyond exactly-once release.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include <memory>

namespace pftls {

template <auto F>
struct CFree {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p) F(p);
  }
};

template <class T, auto F>
using CPtr = std::unique_ptr<T, CFree<F>>;

inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
inline void CloseSqlite(sqlite3* db) { sqlite3_close_v2(db); }

// OpenSSL
using SslPtr = CPtr<SSL, &SSL_free>;
using SslCtxPtr = CPtr<SSL_CTX, &SSL_CTX_free>;
using SslSessionPtr = CPtr<SSL_SESSION, &SSL_SESSION_free>;
using EvpPkeyPtr = CPtr<EVP_PKEY, &EVP_PKEY_free>;
using EvpPkeyCtxPtr = CPtr<EVP_PKEY_CTX, &EVP_PKEY_CTX_free>;
using X509Ptr = CPtr<X509, &X509_free>;
using X509ReqPtr = CPtr<X509_REQ, &X509_REQ_free>;
using X509NamePtr = CPtr<X509_NAME, &X509_NAME_free>;
using X509StackPtr = CPtr<STACK_OF(X509), &FreeX509Stack>;
using BioPtr = CPtr<BIO, &BIO_free_all>;
using BignumPtr = CPtr<BIGNUM, &BN_free>;
using EvpMdCtxPtr = CPtr<EVP_MD_CTX, &EVP_MD_CTX_free>;
using EvpCipherCtxPtr = CPtr<EVP_CIPHER_CTX, &EVP_CIPHER_CTX_free>;
using EvpMacPtr = CPtr<EVP_MAC, &EVP_MAC_free>;
using EvpMacCtxPtr = CPtr<EVP_MAC_CTX, &EVP_MAC_CTX_free>;
using Asn1IntegerPtr = CPtr<ASN1_INTEGER, &ASN1_INTEGER_free>;

// libevent
using EventBasePtr = CPtr<event_base, &event_base_free>;
using EventPtr = CPtr<event, &event_free>;
using BufferEventPtr = CPtr<bufferevent, &bufferevent_free>;
using EvConnListenerPtr = CPtr<evconnlistener, &evconnlistener_free>;
using EvBufferPtr = CPtr<evbuffer, &evbuffer_free>;

// SQLite
using SqlitePtr = CPtr<sqlite3, &CloseSqlite>;
using SqliteStmtPtr = CPtr<sqlite3_stmt, &sqlite3_finalize>;

}  // namespace pftls
