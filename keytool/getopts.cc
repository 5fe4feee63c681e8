// keytool/getopts.cc - see keytool/getopts.h.
#include "keytool/getopts.h"

namespace pftls::keytool {

Result<ParsedArgs> GetOpts(const std::vector<std::string>& args, std::string_view optstring) {
  ParsedArgs out;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word.size() < 2 || word[0] != '-') break;
    if (word == "--") {
      ++i;
      break;
    }
    for (size_t j = 1; j < word.size(); ++j) {
      char c = word[j];
      size_t pos = c == ':' ? std::string_view::npos : optstring.find(c);
      if (pos == std::string_view::npos) return MakeError(std::string("illegal option -- ") + c);
      bool takes_arg = pos + 1 < optstring.size() && optstring[pos + 1] == ':';
      if (!takes_arg) {
        out.options[c] = "";
        continue;
      }
      if (j + 1 < word.size()) {
        out.options[c] = word.substr(j + 1);
      } else if (i + 1 < args.size()) {
        out.options[c] = args[++i];
      } else {
        return MakeError(std::string("option requires an argument -- ") + c);
      }
      break;
    }
  }
  out.positional.assign(args.begin() + static_cast<long>(i), args.end());
  return out;
}

}  // namespace pftls::keytool
