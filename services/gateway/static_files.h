#pragma once

#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace peerwell::gateway {

// A file the gateway serves as it is, compiled into the binary.
struct StaticFile {
  absl::string_view path;  // "/index.html"
  absl::string_view content_type;
  absl::string_view body;
};

class StaticFiles {
 public:
  explicit StaticFiles(std::vector<StaticFile> files) : files_(std::move(files)) {}
  // The file at `path`; "/" is "/index.html".
  const StaticFile* Find(absl::string_view path) const {
    if (path == "/") path = "/index.html";
    for (const StaticFile& file : files_) {
      if (file.path == path) return &file;
    }
    return nullptr;
  }

 private:
  std::vector<StaticFile> files_;
};

// The dashboard (services/gateway/dashboard), embedded at build time.
const StaticFiles& DashboardFiles();

}  // namespace peerwell::gateway
