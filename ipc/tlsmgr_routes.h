/*++
 * NAME
 *	ipc/tlsmgr_routes.h - the tlsmgr server's routing table
 * SYNOPSIS
 *	#include "ipc/tlsmgr_routes.h"
 *
 *	class Mgr : public TlsmgrService { ... };
 *	Mgr mgr;
 *	ServerOptions o = TlsmgrServerOptions();
 *	Server srv(base, std::move(fd), o, TlsmgrRoutes(mgr));
 * DESCRIPTION
 *	The tlsmgr role accepts exactly the six requests of msg_tlsmgr.h,
 *	routed by the value of the leading "request" attribute:
 *
 *	    seed -> Seed()   policy -> Policy()   lookup -> Lookup()
 *	    update -> Update()   delete -> Delete()   tktkey -> Tktkey()
 *
 *	Each route decodes the record strictly as its request type, runs
 *	Validate(), and calls the TlsmgrService method with a valid request;
 *	the method's reply is encoded and sent, and the connection stays
 *	open for the next request.
 *
 *	A request that fails Validate() (bogus seed length, key name of the
 *	wrong length, unknown cache type, ...) gets the request's Fail() reply
 *	(status -2) and a warning, as Postfix does; the connection stays open.
 *	A record that does not decode (missing, extra or misordered
 *	attributes, bad numbers or base64) and an unknown request name get
 *	"status=-2" and the connection is closed after the reply.
 *
 *	TlsmgrServerOptions() - ServerOptions for the role: service "tlsmgr",
 *	announcement tlsmgr_protocol, routing attribute "request", and the
 *	unknown-request handler above.
 * SECURITY
 *	Requests reach TlsmgrService only after Validate(); no request
 *	carries a descriptor.
 * DIAGNOSTICS
 *	"warning: tlsmgr[N]: <reason>" for each rejected request.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <vector>

#include "ipc/msg_tlsmgr.h"
#include "ipc/server.h"

namespace pftls::ipc {

class TlsmgrService {
 public:
  virtual ~TlsmgrService() = default;
  virtual SeedReply Seed(const SeedRequest& req) = 0;
  virtual PolicyReply Policy(const PolicyRequest& req) = 0;
  virtual LookupReply Lookup(const LookupRequest& req) = 0;
  virtual StatusReply Update(const UpdateRequest& req) = 0;
  virtual StatusReply Delete(const DeleteRequest& req) = 0;
  virtual TktkeyReply Tktkey(const TktkeyRequest& req) = 0;
};

// TlsmgrRoutes - the routing table bound to svc (which must outlive it).
std::vector<Route> TlsmgrRoutes(TlsmgrService& svc);

// TlsmgrServerOptions - see DESCRIPTION.
ServerOptions TlsmgrServerOptions();

}  // namespace pftls::ipc
