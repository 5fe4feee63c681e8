// config.cc - Config: loading main.cf, -o overrides, raw lookups, typed
// getters with file/line diagnostics, and the value syntaxes (time, bool,
// list). Lexing is in config_parse.cc, expansion in config_expand.cc.
#include "util/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "util/config_lines.h"
#include "util/fd.h"
#include "util/log.h"

namespace pftls::config {

class Parser {
 public:
  static Result<Config> Parse(std::string_view text, const std::string& filename, std::string dir) {
    Result<MainCfText> t = SplitMainCf(text, filename);
    if (!t) return Error{t.error()};
    Config c;
    c.config_dir_ = std::move(dir);
    for (LogicalLine& l : t->logical) {
      auto it = c.defs_.find(l.name);
      if (it == c.defs_.end()) {
        c.order_.push_back(l.name);
        c.defs_.emplace(l.name, Definition{std::move(l.value), filename, l.line});
      } else {
        it->second = Definition{std::move(l.value), filename, l.line};  // last one wins
      }
    }
    return c;
  }
};

namespace {

// ReadBounded - the whole file, at most `limit` bytes; ENOENT -> nullopt.
Result<std::optional<std::string>> ReadBounded(const std::string& path, size_t limit) {
  int raw = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (raw < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return MakeError("open " + path + ": " + std::strerror(errno));
  }
  UniqueFd fd(raw);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError("read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > limit)
      return MakeError(path + ": file too large (limit " + std::to_string(limit) + " bytes)");
  }
  return std::optional<std::string>(std::move(data));
}

bool EqualNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

Result<long> ParseLong(std::string_view s) {
  size_t p = 0;
  bool neg = false;
  if (p < s.size() && (s[p] == '-' || s[p] == '+')) neg = s[p++] == '-';
  if (p == s.size()) return MakeError("not a number");
  long v = 0;
  for (; p < s.size(); ++p) {
    if (s[p] < '0' || s[p] > '9') return MakeError("not a number");
    int d = s[p] - '0';
    if (v > (LONG_MAX - d) / 10) return MakeError("number out of range");
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

bool HasRange(const ParamSpec* p) { return p && (p->min != 0 || p->max != 0); }

std::string Seconds(long v) { return std::to_string(v) + "s"; }

}  // namespace

Result<Config> Config::Load(const std::string& config_dir) {
  std::string path = config_dir + "/main.cf";
  Result<std::optional<std::string>> data = ReadBounded(path, kMaxMainCfBytes);
  if (!data) return Error{data.error()};
  if (!data->has_value()) {
    Config c;
    c.config_dir_ = config_dir;
    return c;
  }
  return Parser::Parse(**data, path, config_dir);
}

Result<Config> Config::FromString(std::string_view text, std::string filename) {
  return Parser::Parse(text, filename, "");
}

void Config::Override(const std::string& name, const std::string& value) {
  if (!defs_.count(name) && !overrides_.count(name)) order_.push_back(name);
  overrides_[name] = Definition{value, "", 0};
}

bool Config::IsExplicit(std::string_view name) const {
  return overrides_.find(name) != overrides_.end() || defs_.find(name) != defs_.end();
}

const Definition* Config::Where(std::string_view name) const {
  if (auto it = overrides_.find(name); it != overrides_.end()) return &it->second;
  if (auto it = defs_.find(name); it != defs_.end()) return &it->second;
  return nullptr;
}

std::optional<std::string> Config::Raw(std::string_view name) const {
  if (const Definition* d = Where(name)) return d->value;
  if (name == "config_directory" && !config_dir_.empty()) return config_dir_;
  return DefaultFor(name);
}

std::vector<std::string> Config::Names() const { return order_; }

Status Config::ValidateAll() const {
  for (const std::string& n : order_) {
    Result<std::string> r = Expand(n);
    if (!r) return Error{r.error()};
  }
  return Status::Ok();
}

namespace {

// Where a bad value came from, for messages: "FILE, line N: " etc.
std::string Origin(const Config& c, std::string_view name) {
  const Definition* d = c.Where(name);
  if (d && d->line > 0) return d->file + ", line " + std::to_string(d->line) + ": ";
  if (d) return "-o " + std::string(name) + ": ";
  return "default value: ";
}

Error Bad(const Config& c, std::string_view name, const char* what, const std::string& value,
          const std::string& why) {
  return MakeError(Origin(c, name) + "bad " + what + " value for parameter " + std::string(name) + ": \"" + value +
                   "\"" + (why.empty() ? "" : " (" + why + ")"));
}

template <class T>
T OrFatal(Result<T> r) {
  if (!r) log::Fatal("%s", r.error().c_str());
  return std::move(r).value();
}

}  // namespace

Result<std::string> Config::TryStr(std::string_view name) const { return Expand(name); }

Result<long> Config::TryLong(std::string_view name) const {
  Result<std::string> v = Expand(name);
  if (!v) return Error{v.error()};
  Result<long> n = ParseLong(*v);
  if (!n) return Bad(*this, name, "numerical", *v, n.error());
  const ParamSpec* p = FindParam(name);
  if (HasRange(p) && *n < p->min)
    return Bad(*this, name, "numerical", *v, "must be at least " + std::to_string(p->min));
  if (HasRange(p) && p->max != 0 && *n > p->max)
    return Bad(*this, name, "numerical", *v, "must be at most " + std::to_string(p->max));
  return n;
}

Result<bool> Config::TryBool(std::string_view name) const {
  Result<std::string> v = Expand(name);
  if (!v) return Error{v.error()};
  Result<bool> b = ParseBoolValue(*v);
  if (!b) return Bad(*this, name, "boolean", *v, "use yes or no");
  return b;
}

Result<long> Config::TryTime(std::string_view name) const {
  Result<std::string> v = Expand(name);
  if (!v) return Error{v.error()};
  const ParamSpec* p = FindParam(name);
  char unit = p && p->type == ParamType::kTime ? p->time_unit : 's';
  Result<long> t = ParseTimeValue(*v, unit);
  if (!t) return Bad(*this, name, "time", *v, t.error());
  if (HasRange(p) && *t < p->min) return Bad(*this, name, "time", *v, "must be at least " + Seconds(p->min));
  if (HasRange(p) && p->max != 0 && *t > p->max)
    return Bad(*this, name, "time", *v, "must be at most " + Seconds(p->max));
  return t;
}

Result<std::vector<std::string>> Config::TryList(std::string_view name) const {
  Result<std::string> v = Expand(name);
  if (!v) return Error{v.error()};
  return SplitList(*v);
}

std::string Config::Str(std::string_view name) const { return OrFatal(TryStr(name)); }
long Config::Long(std::string_view name) const { return OrFatal(TryLong(name)); }
int Config::Int(std::string_view name) const {
  long v = Long(name);
  if (v < INT_MIN || v > INT_MAX)
    log::Fatal("%sbad numerical value for parameter %.*s: %ld (out of range)", Origin(*this, name).c_str(),
               static_cast<int>(name.size()), name.data(), v);
  return static_cast<int>(v);
}
bool Config::Bool(std::string_view name) const { return OrFatal(TryBool(name)); }
long Config::TimeSeconds(std::string_view name) const { return OrFatal(TryTime(name)); }
std::vector<std::string> Config::List(std::string_view name) const { return OrFatal(TryList(name)); }

std::string ConfigDir(const char* dash_c) {
  if (dash_c && *dash_c) return dash_c;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) return env;
  return kDefaultConfigDir;
}

Result<long> ParseTimeValue(std::string_view text, char default_unit) {
  if (text.empty()) return MakeError("empty time value");
  char unit = default_unit;
  std::string_view digits = text;
  char last = text.back();
  if (!(last >= '0' && last <= '9')) {
    unit = last;
    digits = text.substr(0, text.size() - 1);
  }
  long mult;
  switch (unit) {
    case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    case 'w': mult = 7 * 86400; break;
    default: return MakeError(std::string("unknown time unit \"") + unit + "\" (use s, m, h, d or w)");
  }
  Result<long> n = ParseLong(digits);
  if (!n) return Error{n.error()};
  if (*n > LONG_MAX / mult || *n < LONG_MIN / mult) return MakeError("time value out of range");
  return *n * mult;
}

Result<bool> ParseBoolValue(std::string_view text) {
  if (EqualNoCase(text, "yes") || EqualNoCase(text, "true")) return true;
  if (EqualNoCase(text, "no") || EqualNoCase(text, "false")) return false;
  return MakeError("bad boolean value \"" + std::string(text) + "\" (use yes or no)");
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p < text.size()) {
    while (p < text.size() && (text[p] == ',' || IsConfigSpace(text[p]))) ++p;
    size_t e = p;
    while (e < text.size() && text[e] != ',' && !IsConfigSpace(text[e])) ++e;
    if (e > p) out.emplace_back(text.substr(p, e - p));
    p = e;
  }
  return out;
}

}  // namespace pftls::config
