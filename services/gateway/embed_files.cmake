# Writes OUTPUT, a C++ source defining peerwell::gateway::WebFiles() with every file under
# ROOT, each served at its path below ROOT with a content type from its extension.
file(GLOB_RECURSE files RELATIVE ${ROOT} ${ROOT}/*)
list(SORT files)
set(arrays "")
set(entries "")
set(index 0)
foreach(file IN LISTS files)
  file(READ ${ROOT}/${file} hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  get_filename_component(extension ${file} LAST_EXT)
  set(type "application/octet-stream")
  if(extension STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(extension STREQUAL ".js" OR extension STREQUAL ".mjs")
    set(type "text/javascript; charset=utf-8")
  elseif(extension STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(extension STREQUAL ".svg")
    set(type "image/svg+xml")
  elseif(extension STREQUAL ".png")
    set(type "image/png")
  elseif(extension STREQUAL ".json")
    set(type "application/json")
  elseif(extension STREQUAL ".webmanifest")
    set(type "application/manifest+json")
  elseif(extension STREQUAL ".ico")
    set(type "image/x-icon")
  endif()
  string(APPEND arrays "const unsigned char kFile${index}[] = {${bytes}0};\n")
  string(APPEND entries
    "      {\"/${file}\", \"${type}\", absl::string_view(reinterpret_cast<const char*>(kFile${index}), ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE ${OUTPUT}.tmp "// Generated from services/gateway/web by embed_files.cmake.
#include \"services/gateway/static_files.h\"

namespace peerwell::gateway {
namespace {
${arrays}}  // namespace

const StaticFiles& WebFiles() {
  static const auto* files = new StaticFiles({
${entries}  });
  return *files;
}

}  // namespace peerwell::gateway
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
