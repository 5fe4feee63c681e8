// t/fuzz/attr0_fuzz.cc - libFuzzer target for the attr0 parser and every
// message decoder.
//
// The first input byte selects what is exercised; the rest is the record:
//   0: ParseRecord + strict/lenient Reader walks over every attribute
//   1: streaming Attr0Parser, fed in pieces whose sizes come from the input
//   2: DecodeTlsmgrRequest (+ Validate, re-encode, re-decode must match)
//   3..7: seed/policy/lookup/status/tktkey replies (+ TicketKey::Parse)
//   8: TlsproxyRequest   9: TlsproxyStatus   10: TlsContext   11: Announce
// Invariant checks abort (a fuzzer finding) when a decoded message does
// not re-encode to a record that decodes again.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ipc/attr0.h"
#include "ipc/msg_announce.h"
#include "ipc/msg_context.h"
#include "ipc/msg_tlsmgr.h"
#include "ipc/msg_tlsproxy.h"

using namespace pftls;
using namespace pftls::ipc;

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

void WalkAll(const Record& rec, Reader::Mode mode) {
  Reader r(rec, mode);
  for (const Attr& a : rec) {
    if (a.is_group) {
      (void)r.Group();
      continue;
    }
    switch (a.value.size() % 4) {
      case 0: (void)r.Data(a.name); break;
      case 1: (void)r.Int(a.name); break;
      case 2: (void)r.Long(a.name); break;
      default: (void)r.Str(a.name); break;
    }
  }
  (void)r.End();
}

template <class T>
void RoundTrip(const Record& rec) {
  Result<T> v = T::Decode(rec);
  if (!v) return;
  (void)v->Validate();
  Result<std::string> enc = v->Encode();
  if (!enc) return;  // e.g. a decoded string that cannot be re-encoded
  Result<Record> again = ParseRecord(*enc);
  Require(again.ok());
  Require(T::Decode(*again).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t sel = data[0];
  std::span<const uint8_t> body(data + 1, size - 1);

  if (sel % 12 == 1) {
    Attr0Parser p;
    size_t off = 0, step = 1 + (sel >> 4);
    while (off < body.size()) {
      size_t n = std::min(step, body.size() - off);
      Result<size_t> used = p.Feed(body.subspan(off, n));
      if (!used) return 0;
      Require(*used <= n);
      off += *used;
      if (p.done()) WalkAll(p.Take(), Reader::kStrict);
      step = step * 3 % 17 + 1;
    }
    return 0;
  }

  Result<Record> rec = ParseRecord(body);
  if (!rec) return 0;
  switch (sel % 12) {
    case 0:
      WalkAll(*rec, Reader::kStrict);
      WalkAll(*rec, Reader::kLenient);
      break;
    case 2: {
      Result<TlsmgrRequest> req = DecodeTlsmgrRequest(*rec);
      if (!req) break;
      std::visit(
          [](const auto& m) {
            (void)m.Validate();
            Result<std::string> enc = m.Encode();
            if (!enc) return;
            Result<Record> again = ParseRecord(*enc);
            Require(again.ok());
            Require(DecodeTlsmgrRequest(*again).ok());
          },
          *req);
      break;
    }
    case 3: RoundTrip<SeedReply>(*rec); break;
    case 4: RoundTrip<PolicyReply>(*rec); break;
    case 5: RoundTrip<LookupReply>(*rec); break;
    case 6: RoundTrip<StatusReply>(*rec); break;
    case 7: {
      RoundTrip<TktkeyReply>(*rec);
      Result<TktkeyReply> k = TktkeyReply::Decode(*rec);
      if (k) {
        Result<TicketKey> key = TicketKey::Parse(k->keybuf.span());
        if (key) {
          SecretBytes again = key->Serialize();
          Require(again.Equal(k->keybuf));
        }
      }
      break;
    }
    case 8: RoundTrip<TlsproxyRequest>(*rec); break;
    case 9: RoundTrip<TlsproxyStatus>(*rec); break;
    case 10: RoundTrip<TlsContext>(*rec); break;
    case 11: {
      Result<Announce> a = Announce::Decode(*rec);
      if (a) (void)a->Validate(kTlsmgrProtocol);
      break;
    }
    default: break;
  }
  return 0;
}
