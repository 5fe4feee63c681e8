// ipc/tlsmgr_routes.cc - see ipc/tlsmgr_routes.h.
#include "ipc/tlsmgr_routes.h"

#include "ipc/msg_announce.h"
#include "util/log.h"

namespace pftls::ipc {
namespace {

// SendReply - encode and queue; an encoding failure is our bug.
template <class Reply>
void SendReply(Connection& c, const Reply& reply) {
  Result<std::string> bytes = reply.Encode();
  if (!bytes) log::Panic("%s: cannot encode reply: %s", c.name().c_str(), bytes.error().c_str());
  c.Send(*bytes);
}

template <class Req, class Fn>
Route MakeRoute(Fn fn) {
  return Route{std::string(Req::kName), [fn](Connection& c, const Record& rec) -> Next {
                 Result<Req> req = DecodeAs<Req>(rec);
                 if (!req) {
                   log::Warn("%s: %s; dropping connection", c.name().c_str(), req.error().c_str());
                   SendReply(c, StatusReply::Fail());
                   return Next::kClose;
                 }
                 if (Status s = req->Validate(); !s) {
                   log::Warn("%s: %s in \"%s\" request", c.name().c_str(), s.error().c_str(),
                             std::string(Req::kName).c_str());
                   SendReply(c, Req::Reply::Fail());
                   return Next::kContinue;
                 }
                 SendReply(c, fn(*req));
                 return Next::kContinue;
               }};
}

}  // namespace

std::vector<Route> TlsmgrRoutes(TlsmgrService& svc) {
  TlsmgrService* s = &svc;
  return {
      MakeRoute<SeedRequest>([s](const SeedRequest& r) { return s->Seed(r); }),
      MakeRoute<PolicyRequest>([s](const PolicyRequest& r) { return s->Policy(r); }),
      MakeRoute<LookupRequest>([s](const LookupRequest& r) { return s->Lookup(r); }),
      MakeRoute<UpdateRequest>([s](const UpdateRequest& r) { return s->Update(r); }),
      MakeRoute<DeleteRequest>([s](const DeleteRequest& r) { return s->Delete(r); }),
      MakeRoute<TktkeyRequest>([s](const TktkeyRequest& r) { return s->Tktkey(r); }),
  };
}

ServerOptions TlsmgrServerOptions() {
  ServerOptions o;
  o.service = "tlsmgr";
  o.protocol = std::string(kTlsmgrProtocol);
  o.route_attr = "request";
  o.unknown = [](Connection& c, const Record& rec) -> Next {
    log::Warn("%s: unknown request \"%s\"; dropping connection", c.name().c_str(),
              rec.front().value.substr(0, kMaxNameLen).c_str());
    SendReply(c, StatusReply::Fail());
    return Next::kClose;
  };
  return o;
}

}  // namespace pftls::ipc
