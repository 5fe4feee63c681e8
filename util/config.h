/*++
 * NAME
 *	util/config.h - main.cf and master.cf per postconf(5) and master(5)
 * SYNOPSIS
 *	#include "util/config.h"
 *
 *	std::string dir = config::ConfigDir(dash_c_or_null);
 *	Result<config::Config> cfg = config::Config::Load(dir);
 *	cfg->Override("tlsproxy_tls_loglevel", "1");	// -o name=value
 *	std::string v = cfg->Str("tlsproxy_tls_cert_file");
 *	long t = cfg->TimeSeconds("smtpd_tls_session_cache_timeout");
 *	bool b = cfg->Bool("smtpd_tls_always_issue_session_ids");
 *	Result<std::string> x = cfg->Expand("syslog_name");
 *
 *	Status s = config::EditMainCf(path, {{"smtpd_tls_loglevel", "1"}}, {});
 *	Result<std::vector<config::MasterService>> m = config::ParseMasterCf(path);
 * DESCRIPTION
 *	main.cf: "name = value" logical lines; a line starting with
 *	whitespace continues the previous one; a line whose first non-space
 *	character is "#" is a comment ("#" elsewhere is data); blank lines
 *	end nothing; the last definition of a name wins. Values stay
 *	unexpanded until asked for (lazy), then expand recursively:
 *	$name ${name} $(name) $$ ${name?value} ${name?{value}}
 *	${name:value} ${name:{value}} ${name?{a}:{b}} and the relational
 *	${{a} == {b}?{x}:{y}} with == != < <= >= > (numeric when both sides
 *	are all digits). Undefined names expand to "". Expansion loops and
 *	runaway nesting are detected and reported, never followed forever.
 *	The result equals Debian postconf's "postconf -c DIR -xh NAME".
 *
 *	A built-in parameter table (FindParam) gives every parameter pftls
 *	reads its symbolic default (e.g. tlsproxy_tls_cert_file =
 *	$smtpd_tls_cert_file), its type and, for time values, its default
 *	unit, plus its range. A name absent from main.cf takes that default.
 *
 *	Typed getters (Str, Int, Bool, TimeSeconds, List) expand the value
 *	and validate it; a bad value is fatal (log::Fatal) with a message
 *	naming the file, the line and the parameter, e.g.
 *	"/etc/pftls/main.cf, line 12: bad time value for parameter
 *	tlsproxy_watchdog_timeout: 5x". TryInt/TryBool/TryTime return a
 *	Result instead, for callers that must not exit.
 *
 *	The relational forms also accept the "level" suffix (<level, ==level,
 *	...) comparing compatibility levels N[.N[.N]], as Postfix 3.6+
 *	defaults use. Nesting deeper than kMaxExpansionDepth levels (each
 *	parameter value and each branch is one level, as in postconf) or a
 *	parameter that refers back to itself is "unreasonable macro call
 *	nesting". ValidateAll() expands every defined name up front.
 *
 *	IsExplicit(name) is postconf -n: the name is defined in main.cf (or
 *	overridden with -o), whatever its value.
 *
 *	EditMainCf() is postconf -e / -X: rewrite the definition of each name
 *	in place as "name = value" (like postconf -e, every definition of it,
 *	continuation lines dropped, so the last one is replaced whatever came
 *	before), keep comments and order, append new names at the end,
 *	remove every definition of the names listed in `remove`; multi-line
 *	values are refused; written to a temporary file in the same
 *	directory, fsync'ed, renamed over main.cf, directory fsync'ed; mode
 *	and owner kept. All changes are one atomic edit.
 *
 *	ParseMasterCf() reads master.cf's column format (service type private
 *	unpriv chroot wakeup maxproc command args...), continuation lines,
 *	comments, and "-o name=value" / "-o { name = value }" overrides.
 *
 *	ConfigDir(): the -c argument when given, else $MAIL_CONFIG, else
 *	kDefaultConfigDir.
 * SECURITY
 *	main.cf is trusted input but is parsed defensively: bounded nesting,
 *	bounded expansion size, binary files rejected with a clear error.
 * DIAGNOSTICS
 *	Load/Parse errors name the file and line ("main.cf, line 3: ...").
 * CONFIGURATION PARAMETERS
 *	config_directory (implicit).
 *--*/
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace pftls::config {

inline constexpr const char* kDefaultConfigDir = "/etc/pftls";

enum class ParamType { kString, kInt, kLong, kBool, kTime, kList };

struct ParamSpec {
  const char* name;
  ParamType type;
  const char* default_value;  // symbolic, unexpanded
  char time_unit = 's';       // kTime: default unit (s m h d w)
  long min = 0;               // kInt/kLong/kTime (seconds); min == max == 0: no range
  long max = 0;
};

// FindParam - the built-in table entry for name, or nullptr.
const ParamSpec* FindParam(std::string_view name);
// AllParams - every table entry, sorted by name.
std::vector<const ParamSpec*> AllParams();
// DefaultFor - the unexpanded default of name: the table default, or a
// computed one (myhostname, mydomain from gethostname(); process_id,
// process_name); nullopt for a name the table does not know.
std::optional<std::string> DefaultFor(std::string_view name);

// Session cache timeouts (spec §5.4): <= 0 disables the cache (and, for
// smtpd, tickets); 1..119 is raised to 120; the maximum is 100 days.
inline constexpr long kTlsSessionLifeMin = 120;
inline constexpr long kTlsSessionLifeMax = 100L * 86400;
// SanitizeCacheTimeout - apply those rules to a value in seconds.
long SanitizeCacheTimeout(long seconds);

// Expansion limits: nesting deeper than this is "unreasonable macro call
// nesting" (postconf's limit); expanded text longer than kMaxExpansion is
// an error.
inline constexpr int kMaxExpansionDepth = 100;
inline constexpr size_t kMaxExpansion = 1u << 20;

// Definition - one main.cf definition with where it came from.
struct Definition {
  std::string value;
  std::string file;
  int line = 0;  // 0: -o override or default
};

class Config {
 public:
  // Load - parse DIR/main.cf (a missing file is an empty configuration).
  static Result<Config> Load(const std::string& config_dir);
  // FromString - parse text as if it were the file `filename`.
  static Result<Config> FromString(std::string_view text, std::string filename = "main.cf");

  // Override - a -o name=value setting; wins over main.cf.
  void Override(const std::string& name, const std::string& value);
  // Set - as Override; for tests and for the demo.
  void Set(const std::string& name, const std::string& value) { Override(name, value); }

  bool IsExplicit(std::string_view name) const;
  // Raw - the unexpanded value: -o, else main.cf, else built-in default.
  std::optional<std::string> Raw(std::string_view name) const;
  // Where - where the effective definition came from (nullptr: default/none).
  const Definition* Where(std::string_view name) const;
  // Expand - the fully expanded value of name (postconf -xh name).
  Result<std::string> Expand(std::string_view name) const;
  // ExpandText - expand arbitrary text in this configuration.
  Result<std::string> ExpandText(std::string_view text) const;
  // Names - every name defined in main.cf or by -o, in file order.
  std::vector<std::string> Names() const;
  // ValidateAll - expand every name defined in main.cf or by -o; the first
  // error (naming file, line and parameter), if any.
  Status ValidateAll() const;

  // Typed getters: fatal on error, naming file, line and parameter.
  std::string Str(std::string_view name) const;
  int Int(std::string_view name) const;
  long Long(std::string_view name) const;
  bool Bool(std::string_view name) const;
  long TimeSeconds(std::string_view name) const;
  std::vector<std::string> List(std::string_view name) const;  // comma/space separated
  // Non-fatal variants.
  Result<std::string> TryStr(std::string_view name) const;
  Result<long> TryLong(std::string_view name) const;
  Result<bool> TryBool(std::string_view name) const;
  Result<long> TryTime(std::string_view name) const;
  Result<std::vector<std::string>> TryList(std::string_view name) const;

  const std::string& config_dir() const { return config_dir_; }
  std::string main_cf_path() const { return config_dir_ + "/main.cf"; }

 private:
  std::string config_dir_;
  std::vector<std::string> order_;               // names in first-definition order
  std::map<std::string, Definition, std::less<>> defs_;       // last definition wins
  std::map<std::string, Definition, std::less<>> overrides_;  // -o
  friend class Parser;
};

// ConfigDir - dash_c when non-null/non-empty, else $MAIL_CONFIG, else default.
std::string ConfigDir(const char* dash_c);

// EditMainCf - atomic postconf -e (set) and -X (remove) on the file at path.
Status EditMainCf(const std::string& path,
                  const std::vector<std::pair<std::string, std::string>>& set,
                  const std::vector<std::string>& remove = {});

// ParseTimeValue - "10s", "2m", "3600", with default_unit; seconds or error.
Result<long> ParseTimeValue(std::string_view text, char default_unit);
// ParseBoolValue - yes/no (also true/false); error otherwise.
Result<bool> ParseBoolValue(std::string_view text);
// SplitList - Postfix list syntax: separators are comma and whitespace.
std::vector<std::string> SplitList(std::string_view text);

// master.cf
struct MasterService {
  std::string name;      // service (e.g. "tlsproxy", "127.0.0.1:10025")
  std::string type;      // inet unix unix-dgram fifo pass
  bool private_ = true;  // '-' => y
  bool unpriv = true;    // '-' => y
  bool chroot = true;    // '-' => y (Postfix >= 3.0 default is n; see below)
  bool chroot_default = true;  // the column was '-'
  int wakeup = 0;        // seconds; 0 = none
  bool wakeup_conditional = false;  // "1000?"
  int maxproc = -1;      // -1 = '-' (default_process_limit); 0 = unlimited
  std::string command;   // first word of the command field
  std::vector<std::string> args;  // remaining words, -o already removed
  std::vector<std::pair<std::string, std::string>> overrides;  // -o name=value
  std::string file;
  int line = 0;
};

// ParseMasterCf - parse master.cf; errors name file and line.
Result<std::vector<MasterService>> ParseMasterCf(const std::string& path);
Result<std::vector<MasterService>> ParseMasterCfText(std::string_view text, std::string filename);

}  // namespace pftls::config
