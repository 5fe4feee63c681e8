// front/smtp_text.cc - see front/smtp_text.h.
#include "front/smtp_text.h"

#include <strings.h>

#include <cctype>

namespace pftls::front {
namespace {

std::string_view StripEol(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Keyword - the first word of an EHLO reply line after "250-"/"250 ".
std::string_view Keyword(std::string_view line) {
  if (line.size() < 4) return {};
  std::string_view rest = line.substr(4);
  size_t sp = rest.find(' ');
  return sp == std::string_view::npos ? rest : rest.substr(0, sp);
}

}  // namespace

SmtpCommand ClassifyCommand(std::string_view line) {
  static const struct { const char* name; Verb verb; } kVerbs[] = {
      {"STARTTLS", Verb::kStartTls}, {"EHLO", Verb::kEhlo}, {"HELO", Verb::kHelo}, {"MAIL", Verb::kMail},
      {"RCPT", Verb::kRcpt},         {"DATA", Verb::kData}, {"BDAT", Verb::kBdat}, {"RSET", Verb::kRset},
      {"NOOP", Verb::kNoop},         {"QUIT", Verb::kQuit}, {"AUTH", Verb::kAuth}, {"XCLIENT", Verb::kXclient},
  };
  SmtpCommand out;
  std::string_view s = StripEol(line);
  size_t sp = s.find(' ');
  std::string_view verb = sp == std::string_view::npos ? s : s.substr(0, sp);
  if (sp != std::string_view::npos) {
    std::string_view args = s.substr(sp);
    while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
    while (!args.empty() && (args.back() == ' ' || args.back() == '\t')) args.remove_suffix(1);
    out.args = std::string(args);
    out.has_args = !args.empty();
  }
  for (const auto& v : kVerbs) {
    if (IEquals(verb, v.name)) {
      out.verb = v.verb;
      break;
    }
  }
  return out;
}

void ReplyAssembler::Feed(std::string_view bytes) { buf_.append(bytes); }

bool ReplyAssembler::Overflowed() const {
  // Called once Next() has taken every complete reply: what is left is one
  // incomplete reply, and only that is limited (a pipelined batch of many
  // complete replies in one read is fine).
  size_t lines = 0;
  for (char c : buf_) lines += c == '\n';
  return buf_.size() > kMaxReplyBytes || lines > kMaxReplyLines;
}

std::optional<SmtpReply> ReplyAssembler::Next() {
  size_t pos = 0;
  SmtpReply r;
  for (;;) {
    size_t nl = buf_.find('\n', pos);
    if (nl == std::string::npos) return std::nullopt;
    std::string_view line = StripEol(std::string_view(buf_).substr(pos, nl + 1 - pos));
    r.lines.emplace_back(line);
    pos = nl + 1;
    bool more = line.size() >= 4 && line[3] == '-';
    if (!more) break;
  }
  r.raw = buf_.substr(0, pos);
  buf_.erase(0, pos);
  if (buf_.empty()) std::string().swap(buf_);  // an idle session keeps no reply storage
  const std::string& first = r.lines.front();
  if (first.size() >= 3 && isdigit(static_cast<unsigned char>(first[0])) &&
      isdigit(static_cast<unsigned char>(first[1])) && isdigit(static_cast<unsigned char>(first[2])))
    r.code = (first[0] - '0') * 100 + (first[1] - '0') * 10 + (first[2] - '0');
  return r;
}

EhloInfo InspectEhloReply(const SmtpReply& reply) {
  EhloInfo info;
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view kw = Keyword(reply.lines[i]);
    if (IEquals(kw, "STARTTLS")) info.starttls = true;
    if (IEquals(kw, "XCLIENT")) {
      info.xclient = true;
      std::string_view rest = std::string_view(reply.lines[i]).substr(4 + kw.size());
      size_t p = 0;
      while (p < rest.size()) {
        while (p < rest.size() && rest[p] == ' ') ++p;
        size_t e = rest.find(' ', p);
        if (e == std::string_view::npos) e = rest.size();
        if (e > p) info.xclient_attrs.emplace_back(rest.substr(p, e - p));
        p = e;
      }
    }
  }
  return info;
}

std::string RewriteEhloReply(const SmtpReply& reply, bool offer_starttls) {
  if (reply.code != 250 || reply.lines.empty()) return reply.raw;
  // (XCLIENT and XFORWARD are removed as well: see below.)
  std::vector<std::string> keep;
  std::string code = reply.lines.front().substr(0, 3);
  keep.push_back(reply.lines.front().size() > 4 ? reply.lines.front().substr(4) : std::string());
  bool have = false;
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view kw = Keyword(reply.lines[i]);
    if (IEquals(kw, "STARTTLS")) {
      have = true;
      if (!offer_starttls) continue;
    }
    // The backend trusts us for these; a client must never see or use them.
    if (IEquals(kw, "XCLIENT") || IEquals(kw, "XFORWARD")) continue;
    keep.push_back(reply.lines[i].size() > 4 ? reply.lines[i].substr(4) : std::string());
  }
  if (offer_starttls && !have) keep.push_back("STARTTLS");
  std::string out;
  for (size_t i = 0; i < keep.size(); ++i) out += code + (i + 1 < keep.size() ? "-" : " ") + keep[i] + "\r\n";
  return out;
}

}  // namespace pftls::front
