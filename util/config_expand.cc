// config_expand.cc - lazy recursive $-expansion of main.cf values as
// postconf(5) describes it (and as Debian's postconf 3.7 behaves):
//   $name ${name} $(name) $$
//   ${name?value} ${name?{value}} ${name:value} ${name:{value}}
//   ${name?{a}:{b}} ${name?{a}:b}
//   ${{a} OP {b}} ${{a} OP {b}?{x}:{y}} with OP one of == != < <= > >=
//   (numeric when both sides are all digits) or the same followed by
//   "level" (compatibility levels N[.N[.N]]).
// The condition of ${name?...} tests the unexpanded value for emptiness.
// A value is expanded in the same way (recursively); each parameter value
// and each branch is one nesting level; deeper than kMaxExpansionDepth, or
// a parameter that refers back to itself, is an error.
#include <cctype>
#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include "util/config.h"
#include "util/config_lines.h"

namespace pftls::config {
namespace {

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Context shown in messages: "...before>>>after".
std::string At(std::string_view body, size_t p) {
  std::string before(body.substr(0, p));
  return "\"..." + before + ">>>" + std::string(body.substr(p)) + "\"";
}

size_t SkipSpace(std::string_view s, size_t p) {
  while (p < s.size() && IsConfigSpace(s[p])) ++p;
  return p;
}

// Position just past the group that opens at s[p] (open/close pair),
// or npos when it is not terminated.
size_t MatchGroup(std::string_view s, size_t p, char open, char close) {
  int depth = 0;
  for (size_t i = p; i < s.size(); ++i) {
    if (s[i] == open) ++depth;
    else if (s[i] == close && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool ToLong(std::string_view s, long& out) {
  long v = 0;
  for (char c : s) {
    int d = c - '0';
    if (v > (LONG_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// Compatibility level "N", "N.N" or "N.N.N" as three numbers.
bool ToLevel(std::string_view s, long out[3]) {
  out[0] = out[1] = out[2] = 0;
  int n = 0;
  size_t p = 0;
  for (;;) {
    size_t e = p;
    while (e < s.size() && s[e] >= '0' && s[e] <= '9') ++e;
    if (e == p || n == 3 || !ToLong(s.substr(p, e - p), out[n])) return false;
    ++n;
    if (e == s.size()) return true;
    if (s[e] != '.') return false;
    p = e + 1;
  }
}

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };

bool Compare(Op op, int cmp) {
  switch (op) {
    case Op::kEq: return cmp == 0;
    case Op::kNe: return cmp != 0;
    case Op::kLt: return cmp < 0;
    case Op::kLe: return cmp <= 0;
    case Op::kGt: return cmp > 0;
    case Op::kGe: return cmp >= 0;
  }
  return false;
}

class Expander {
 public:
  explicit Expander(const Config& cfg) : cfg_(cfg) {}

  // Name - expand the value of name as text of nesting level `level`.
  Status Name(std::string_view name, int level, std::string& out) {
    for (const std::string& s : stack_) {
      if (s == name) {
        std::string chain;
        for (const std::string& t : stack_) chain += t + " -> ";
        return Fail("unreasonable macro call nesting (expansion loop " + chain + std::string(name) + ")");
      }
    }
    std::optional<std::string> v = cfg_.Raw(name);
    if (!v) return Status::Ok();  // undefined: empty
    stack_.emplace_back(name);
    Status s = Text(*v, level, out);
    stack_.pop_back();
    return s;
  }

  Status Text(std::string_view t, int level, std::string& out) {
    if (level > kMaxExpansionDepth)
      return Fail("unreasonable macro call nesting (deeper than " + std::to_string(kMaxExpansionDepth) + " levels)");
    size_t i = 0;
    while (i < t.size()) {
      size_t d = t.find('$', i);
      if (d == std::string_view::npos) d = t.size();
      if (Status s = Append(out, t.substr(i, d - i)); !s) return s;
      if (d == t.size()) break;
      if (d + 1 >= t.size()) return Fail("empty macro name: \"" + std::string(t) + "\"");
      char c = t[d + 1];
      if (c == '$') {
        if (Status s = Append(out, "$"); !s) return s;
        i = d + 2;
      } else if (c == '{' || c == '(') {
        size_t end = MatchGroup(t, d + 1, c, c == '{' ? '}' : ')');
        if (end == std::string_view::npos)
          return Fail("truncated macro reference: \"" + std::string(t.substr(d)) + "\"");
        if (Status s = Ref(t.substr(d + 2, end - d - 3), level, out); !s) return s;
        i = end;
      } else if (IsNameChar(c)) {
        size_t e = d + 1;
        while (e < t.size() && IsNameChar(t[e])) ++e;
        if (Status s = Name(t.substr(d + 1, e - d - 1), level + 1, out); !s) return s;
        i = e;
      } else {
        return Fail("empty macro name: \"" + std::string(t) + "\"");
      }
    }
    return Status::Ok();
  }

  // Fail - an error located at the innermost parameter being expanded.
  Error Fail(const std::string& what) {
    if (stack_.empty()) return MakeError(what);
    const std::string& name = stack_.back();
    const Definition* def = cfg_.Where(name);
    if (def && def->line > 0) return MakeError(def->file + ", line " + std::to_string(def->line) + ": parameter " + name + ": " + what);
    if (def) return MakeError("parameter " + name + " (-o " + name + "=...): " + what);
    return MakeError("parameter " + name + " (default value): " + what);
  }

 private:
  Status Append(std::string& out, std::string_view s) {
    if (out.size() + s.size() > kMaxExpansion)
      return Fail("expansion result longer than " + std::to_string(kMaxExpansion) + " bytes");
    out.append(s);
    return Status::Ok();
  }

  // Braced group at body[p] == '{': its content, p moved past it.
  Result<std::string_view> Group(std::string_view body, size_t& p) {
    size_t end = MatchGroup(body, p, '{', '}');
    if (end == std::string_view::npos) return Fail("unbalanced \"{\" at: " + At(body, p));
    std::string_view g = body.substr(p + 1, end - p - 2);
    p = end;
    return g;
  }

  // Ref - the inside of ${...} or $(...).
  Status Ref(std::string_view body, int level, std::string& out) {
    size_t p = SkipSpace(body, 0);
    bool relational = p < body.size() && body[p] == '{';
    std::string name;
    bool cond = false;
    if (relational) {
      Result<bool> r = Relational(body, p, level);
      if (!r) return Error{r.error()};
      cond = *r;
    } else {
      size_t e = p;
      while (e < body.size() && IsNameChar(body[e])) ++e;
      if (e == p) return Fail("attribute name syntax error at: " + At(body, p));
      name = std::string(body.substr(p, e - p));
      p = e;
      std::optional<std::string> v = cfg_.Raw(name);
      cond = v && !v->empty();
    }
    p = SkipSpace(body, p);
    if (p == body.size()) {
      if (relational) return Append(out, cond ? "true" : "");
      return Name(name, level + 1, out);
    }
    std::optional<std::string_view> if_set, if_unset;
    if (body[p] == '?') {
      size_t q = SkipSpace(body, p + 1);
      if (q < body.size() && body[q] == '{') {
        Result<std::string_view> g = Group(body, q);
        if (!g) return Error{g.error()};
        if_set = *g;
        q = SkipSpace(body, q);
        if (q < body.size()) {
          if (body[q] != ':') return Fail("\":\" expected at: " + At(body, q));
          Result<std::string_view> u = Else(body, q + 1);
          if (!u) return Error{u.error()};
          if_unset = *u;
        }
      } else {
        if_set = body.substr(p + 1);
      }
    } else if (body[p] == ':') {
      Result<std::string_view> u = Else(body, p + 1);
      if (!u) return Error{u.error()};
      if_unset = *u;
    } else {
      return Fail(relational ? "\"?\" or \":\" expected at: " + At(body, p)
                             : "attribute name syntax error at: " + At(body, p));
    }
    const std::optional<std::string_view>& pick = cond ? if_set : if_unset;
    if (!pick) return Status::Ok();
    return Text(*pick, level + 1, out);
  }

  // Else - the value after ':' starting at p: "{...}" (then only
  // whitespace) or the literal rest.
  Result<std::string_view> Else(std::string_view body, size_t p) {
    size_t q = SkipSpace(body, p);
    if (q < body.size() && body[q] == '{') {
      Result<std::string_view> g = Group(body, q);
      if (!g) return g;
      q = SkipSpace(body, q);
      if (q != body.size()) return Fail("unexpected input at: " + At(body, q));
      return g;
    }
    return body.substr(p);
  }

  // Relational - {a} OP {b} at body[p]; p moves past {b}.
  Result<bool> Relational(std::string_view body, size_t& p, int level) {
    Result<std::string_view> a = Group(body, p);
    if (!a) return Error{a.error()};
    p = SkipSpace(body, p);
    Op op;
    std::string_view rest = body.substr(p);
    size_t len = 2;
    if (rest.substr(0, 2) == "==") op = Op::kEq;
    else if (rest.substr(0, 2) == "!=") op = Op::kNe;
    else if (rest.substr(0, 2) == "<=") op = Op::kLe;
    else if (rest.substr(0, 2) == ">=") op = Op::kGe;
    else if (rest.substr(0, 1) == "<") op = Op::kLt, len = 1;
    else if (rest.substr(0, 1) == ">") op = Op::kGt, len = 1;
    else
      return Fail("\"==\" or \"!=\" or \"<\" or \"<=\" or \">=\" or \">\" expected at: " + At(body, p));
    p += len;
    bool level_cmp = false;
    if (p < body.size() && IsNameChar(body[p])) {
      size_t e = p;
      while (e < body.size() && IsNameChar(body[e])) ++e;
      if (body.substr(p, e - p) != "level") return Fail("bad operator suffix at: " + At(body, p));
      level_cmp = true;
      p = e;
    }
    p = SkipSpace(body, p);
    if (p >= body.size() || body[p] != '{') return Fail("\"{\" expected at: " + At(body, p));
    Result<std::string_view> b = Group(body, p);
    if (!b) return Error{b.error()};
    std::string left, right;
    if (Status s = Text(*a, level + 1, left); !s) return Error{s.error()};
    if (Status s = Text(*b, level + 1, right); !s) return Error{s.error()};
    int cmp;
    if (level_cmp) {
      long l[3], r[3];
      if (!ToLevel(left, l)) return Fail("malformed compatibility level syntax: \"" + left + "\"");
      if (!ToLevel(right, r)) return Fail("malformed compatibility level syntax: \"" + right + "\"");
      cmp = 0;
      for (int i = 0; i < 3 && cmp == 0; ++i) cmp = l[i] < r[i] ? -1 : l[i] > r[i] ? 1 : 0;
    } else if (AllDigits(left) && AllDigits(right)) {
      long l, r;
      if (!ToLong(left, l)) return Fail("bad numerical value (out of range): \"" + left + "\"");
      if (!ToLong(right, r)) return Fail("bad numerical value (out of range): \"" + right + "\"");
      cmp = l < r ? -1 : l > r ? 1 : 0;
    } else {
      int c = left.compare(right);
      cmp = c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return Compare(op, cmp);
  }

  const Config& cfg_;
  std::vector<std::string> stack_;
};

}  // namespace

Result<std::string> Config::Expand(std::string_view name) const {
  Expander x(*this);
  std::string out;
  if (Status s = x.Name(name, 0, out); !s) return Error{s.error()};
  return out;
}

Result<std::string> Config::ExpandText(std::string_view text) const {
  Expander x(*this);
  std::string out;
  if (Status s = x.Text(text, 0, out); !s) return Error{s.error()};
  return out;
}

}  // namespace pftls::config
