#pragma once

#include <utility>
#include <vector>

#include "absl/strings/match.h"
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
  // The file at `path`; a folder's path ("/", "/volunteer/") is its index.html.
  const StaticFile* Find(absl::string_view path) const {
    bool folder = absl::EndsWith(path, "/");
    for (const StaticFile& file : files_) {
      if (folder ? (absl::StartsWith(file.path, path) &&
                    file.path.substr(path.size()) == "index.html")
                 : file.path == path) {
        return &file;
      }
    }
    return nullptr;
  }

 private:
  std::vector<StaticFile> files_;
};

// The dashboard and the volunteers' app (services/gateway/web), embedded at build time.
const StaticFiles& WebFiles();

}  // namespace peerwell::gateway
