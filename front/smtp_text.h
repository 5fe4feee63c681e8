/*++
 * NAME
 *	front/smtp_text.h - the SMTP text smtpfront looks at: client command
 *	lines and server replies
 * SYNOPSIS
 *	#include "front/smtp_text.h"
 *
 *	SmtpCommand c = ClassifyCommand("STARTTLS\r\n");
 *	ReplyAssembler r; r.Feed(bytes); while (auto rep = r.Next()) ...
 *	std::string out = RewriteEhloReply(reply, offer_starttls);
 * DESCRIPTION
 *	ClassifyCommand() names the verb of one command line (case
 *	insensitive, trailing CRLF or LF ignored) and whether it had
 *	arguments: STARTTLS, EHLO, HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP,
 *	QUIT, AUTH, XCLIENT or OTHER.
 *
 *	ReplyAssembler collects complete SMTP replies (all lines of a
 *	multi-line "250-..." reply up to the final "250 ...") from a byte
 *	stream; Overflowed() bounds the size and line count of the one
 *	incomplete reply it may hold.
 *
 *	RewriteEhloReply() returns a 250 EHLO reply with STARTTLS added
 *	(offer_starttls, when absent) or removed (otherwise), always
 *	removes XCLIENT and XFORWARD (the backend trusts the front end for
 *	them, never the client), and keeps the other lines in order with
 *	correct continuation markers. It also
 *	reports whether the reply offered XCLIENT and which attributes.
 * SECURITY
 *	All input is from remote peers or the backend: bounded, never
 *	trusted for lengths.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pftls::front {

inline constexpr size_t kMaxReplyBytes = 64 * 1024;
inline constexpr size_t kMaxReplyLines = 256;

enum class Verb { kStartTls, kEhlo, kHelo, kMail, kRcpt, kData, kBdat, kRset, kNoop, kQuit, kAuth, kXclient, kOther };

struct SmtpCommand {
  Verb verb = Verb::kOther;
  bool has_args = false;
  std::string args;  // after the verb and one or more spaces, without CRLF
};

SmtpCommand ClassifyCommand(std::string_view line);

struct SmtpReply {
  int code = 0;                    // 0 when malformed
  std::vector<std::string> lines;  // each line without CRLF
  std::string raw;                 // the bytes as received
};

class ReplyAssembler {
 public:
  // Feed - append bytes.
  void Feed(std::string_view bytes);
  // Overflowed - after Next() returned nothing: the incomplete reply left
  // is past kMaxReplyBytes or kMaxReplyLines.
  bool Overflowed() const;
  std::optional<SmtpReply> Next();
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
};

struct EhloInfo {
  bool starttls = false;
  bool xclient = false;
  std::vector<std::string> xclient_attrs;  // e.g. NAME ADDR PORT PROTO HELO
};

EhloInfo InspectEhloReply(const SmtpReply& reply);
std::string RewriteEhloReply(const SmtpReply& reply, bool offer_starttls);

}  // namespace pftls::front
