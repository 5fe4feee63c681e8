/*++
 * NAME
 *	keytool/getopts.h - option parsing with sh(1) getopts semantics
 * SYNOPSIS
 *	#include "keytool/getopts.h"
 *
 *	Result<ParsedArgs> p = GetOpts(args, "a:b:r:");
 *	if (!p) usage...;
 *	const std::string* a = p->Find('a');
 * DESCRIPTION
 *	GetOpts() parses args (the words after the subcommand) the way the
 *	POSIX shell's "getopts :optstring" loop of postfix-tls-script does:
 *	options may be grouped ("-ab x"), an option argument may be
 *	attached ("-arsa") or the next word; parsing stops at the first
 *	word that does not start with "-", at "-" alone, or after "--"
 *	(which is consumed). A later repetition of an option replaces the
 *	earlier value. An unknown option or a missing option argument is
 *	an error (the caller prints its usage text).
 * SECURITY
 *	Pure string handling.
 * DIAGNOSTICS
 *	The error text names the offending option.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace pftls::keytool {

struct ParsedArgs {
  std::map<char, std::string> options;
  std::vector<std::string> positional;
  const std::string* Find(char opt) const {
    auto it = options.find(opt);
    return it == options.end() ? nullptr : &it->second;
  }
};

Result<ParsedArgs> GetOpts(const std::vector<std::string>& args, std::string_view optstring);

}  // namespace pftls::keytool
