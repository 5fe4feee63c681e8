/*++
 * NAME
 *	util/config_lines.h - split main.cf text into logical lines
 * SYNOPSIS
 *	#include "util/config_lines.h"
 *
 *	Result<config::MainCfText> t = config::SplitMainCf(text, "main.cf");
 *	for (const config::LogicalLine& l : t->logical) ... l.name, l.value
 * DESCRIPTION
 *	The lexer shared by Config (parsing) and EditMainCf (rewriting).
 *	The text is cut into physical lines (without their newline). A line
 *	that is empty or whitespace only is skipped; a line whose first
 *	non-space character is "#" is a comment; a line that starts with
 *	whitespace continues the previous logical line (it is appended as
 *	is, leading whitespace included, as postconf does); any other line
 *	starts a logical line "name = value". The name ends at the first
 *	whitespace or "="; the value is what follows "=", with leading and
 *	trailing whitespace removed.
 *
 *	Each logical line records the physical lines it was made of, so an
 *	editor can replace or delete exactly those.
 * SECURITY
 *	The input size is bounded (kMaxMainCfBytes); NUL bytes are rejected
 *	(a binary file is not a configuration file).
 * DIAGNOSTICS
 *	Errors read "FILE, line N: reason", N being the first physical line
 *	of the offending logical line. A continuation line with nothing to
 *	continue is skipped with one warning (postconf does the same).
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace pftls::config {

inline constexpr size_t kMaxMainCfBytes = 16u << 20;

struct LogicalLine {
  std::string name;
  std::string value;
  int line = 0;                 // first physical line, 1-based
  std::vector<size_t> physical;  // indexes into MainCfText::lines
};

struct MainCfText {
  std::vector<std::string> lines;  // physical lines, no newline
  bool final_newline = true;       // the text ended with "\n" (or was empty)
  std::vector<LogicalLine> logical;
};

// SplitMainCf - lex text; filename is used in error messages only.
Result<MainCfText> SplitMainCf(std::string_view text, const std::string& filename);

// IsConfigSpace - the whitespace set of main.cf (space, tab, CR, LF, VT, FF).
inline bool IsConfigSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

}  // namespace pftls::config
