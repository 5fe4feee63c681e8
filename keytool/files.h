// keytool/files.h - WriteNewFile(path, data, mode): create path exclusively
// (O_CREAT|O_EXCL|O_NOFOLLOW, so an existing file or a symlink is never
// followed or replaced), force mode regardless of the umask, write every
// byte, fsync and check close. Errors name the path and the step.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/result.h"

namespace pftls::keytool {

Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode);

}  // namespace pftls::keytool
