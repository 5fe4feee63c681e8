// t/unit/mgr/test_util.h - temp directories and log capture for mgr tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "util/log.h"

namespace pftls::mgr::testing {

// TempDir - a fresh directory removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pftls-mgr-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// LogCapture - records log lines while alive.
class LogCapture {
 public:
  LogCapture() {
    log::SetCaptureForTest([this](log::Level l, std::string_view t) { lines_.emplace_back(l, std::string(t)); });
  }
  ~LogCapture() { log::SetCaptureForTest(nullptr); }
  size_t Count(log::Level level, const std::string& needle = "") const {
    size_t n = 0;
    for (const auto& [l, t] : lines_)
      if (l == level && t.find(needle) != std::string::npos) n++;
    return n;
  }
  bool Has(const std::string& needle) const {
    for (const auto& [l, t] : lines_)
      if (t.find(needle) != std::string::npos) return true;
    return false;
  }
  const std::vector<std::pair<log::Level, std::string>>& lines() const { return lines_; }
  void Clear() { lines_.clear(); }

 private:
  std::vector<std::pair<log::Level, std::string>> lines_;
};

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

inline std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

}  // namespace pftls::mgr::testing
