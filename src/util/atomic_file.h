#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace udp {

// Replaces `path` with `contents` so that readers see the old file or the new one, never a part:
// a temporary file in the same directory, fsync, rename, fsync of the directory. Never follows a
// symlink at the temporary name.
Result<void> writeFileAtomically(const std::string& path, std::string_view contents,
                                 unsigned mode = 0644);

}  // namespace udp
