#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"

namespace peerwell::testing {

// An HTTP/1.1 client for the gateway's tests, on one connection, every operation bounded by a
// timeout (Boost.Beast's parser, so that what is checked is the server's HTTP, not ours).
class HttpTestClient {
 public:
  struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string Header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };

  explicit HttpTestClient(int port);

  // A whole request and its response; nullopt when none came in time.
  std::optional<Response> Exchange(const std::string& method, const std::string& target,
                                   const std::map<std::string, std::string>& headers,
                                   const std::string& body = "",
                                   absl::Duration timeout = absl::Seconds(10));
  // A JSON POST of a Connect unary call, with a bearer token unless `token` is empty.
  std::optional<Response> Unary(const std::string& path, const std::string& token,
                                const std::string& json);

  // Bytes as they are, for requests the client library would not write.
  bool WriteRaw(const std::string& bytes, absl::Duration timeout = absl::Seconds(5));
  // Whether the server closed the connection within `timeout` (reading and dropping anything it
  // sent before).
  bool ClosedWithin(absl::Duration timeout);
  // Everything the server sends until it closes the connection (or `timeout` passes).
  std::string ReadUntilClosed(absl::Duration timeout);

  // A Connect streaming call: sends the request (one envelope) and reads the response head.
  std::optional<Response> OpenStream(const std::string& path,
                                     const std::map<std::string, std::string>& headers,
                                     const std::string& json,
                                     absl::Duration timeout = absl::Seconds(10));
  struct Envelope {
    int flags = 0;
    std::string json;
  };
  // The stream's next envelope; nullopt if none came in time (or the stream ended).
  std::optional<Envelope> NextEnvelope(absl::Duration timeout = absl::Seconds(10));

  void Close();

 private:
  template <typename Start>
  bool RunFor(absl::Duration timeout, Start start);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> stream_;
  size_t stream_consumed_ = 0;
};

// The first "name":"value" string of a JSON text; empty when absent.
std::string JsonString(const std::string& json, const std::string& name);

}  // namespace peerwell::testing
