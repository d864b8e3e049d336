#include "tests/gateway/http_test_client.h"

#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/write.hpp"
#include "services/gateway/connect.h"

namespace peerwell::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

HttpTestClient::Response ToResponse(const http::response<http::string_body>& message) {
  HttpTestClient::Response response;
  response.status = message.result_int();
  for (const auto& field : message) {
    response.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
  response.body = message.body();
  return response;
}

}  // namespace

HttpTestClient::HttpTestClient(int port) : socket_(io_) {
  error_code error;
  socket_.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, error);
}

template <typename Start>
bool HttpTestClient::RunFor(absl::Duration timeout, Start start) {
  bool done = false;
  io_.restart();
  start(done);
  io_.run_for(absl::ToChronoNanoseconds(timeout));
  if (!done) {
    error_code ignored;
    socket_.cancel(ignored);
    io_.restart();
    io_.run();
  }
  return done;
}

std::optional<HttpTestClient::Response> HttpTestClient::Exchange(
    const std::string& method, const std::string& target,
    const std::map<std::string, std::string>& headers, const std::string& body,
    absl::Duration timeout) {
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  std::string wire;
  {
    std::ostringstream out;
    out << request;
    wire = out.str();
  }
  if (!WriteRaw(wire, timeout)) return std::nullopt;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (method == "HEAD") parser.skip(true);
  error_code result;
  bool done = RunFor(timeout, [&](bool& finished) {
    http::async_read(socket_, buffer_, parser, [&](error_code error, size_t) {
      result = error;
      finished = true;
    });
  });
  if (!done || result) return std::nullopt;
  return ToResponse(parser.get());
}

std::optional<HttpTestClient::Response> HttpTestClient::Unary(const std::string& path,
                                                              const std::string& token,
                                                              const std::string& json) {
  std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return Exchange("POST", path, headers, json);
}

bool HttpTestClient::WriteRaw(const std::string& bytes, absl::Duration timeout) {
  error_code result;
  bool done = RunFor(timeout, [&](bool& finished) {
    net::async_write(socket_, net::buffer(bytes), [&](error_code error, size_t) {
      result = error;
      finished = true;
    });
  });
  return done && !result;
}

bool HttpTestClient::ClosedWithin(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  char scratch[4096];
  while (absl::Now() < deadline) {
    error_code result;
    bool done = RunFor(deadline - absl::Now(), [&](bool& finished) {
      socket_.async_read_some(net::buffer(scratch), [&](error_code error, size_t) {
        result = error;
        finished = true;
      });
    });
    if (!done) return false;
    if (result) return true;  // end of file or reset
  }
  return false;
}

std::string HttpTestClient::ReadUntilClosed(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::string received(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  buffer_.consume(buffer_.size());
  char scratch[4096];
  while (absl::Now() < deadline) {
    error_code result;
    size_t got = 0;
    bool done = RunFor(deadline - absl::Now(), [&](bool& finished) {
      socket_.async_read_some(net::buffer(scratch), [&](error_code error, size_t n) {
        result = error;
        got = n;
        finished = true;
      });
    });
    received.append(scratch, got);
    if (!done || result) break;
  }
  return received;
}

std::optional<HttpTestClient::Response> HttpTestClient::OpenStream(
    const std::string& path, const std::map<std::string, std::string>& headers,
    const std::string& json, absl::Duration timeout) {
  http::request<http::string_body> request{http::verb::post, path, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::content_type, "application/connect+json");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = gateway::Envelope(0, json);
  request.prepare_payload();
  std::ostringstream out;
  out << request;
  if (!WriteRaw(out.str(), timeout)) return std::nullopt;
  stream_.emplace();
  stream_->body_limit(64 << 20);
  stream_consumed_ = 0;
  error_code result;
  bool done = RunFor(timeout, [&](bool& finished) {
    http::async_read_header(socket_, buffer_, *stream_, [&](error_code error, size_t) {
      result = error;
      finished = true;
    });
  });
  if (!done || result) return std::nullopt;
  return ToResponse(stream_->get());
}

std::optional<HttpTestClient::Envelope> HttpTestClient::NextEnvelope(absl::Duration timeout) {
  if (!stream_.has_value()) return std::nullopt;
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const std::string& body = stream_->get().body();
    if (body.size() - stream_consumed_ >= 5) {
      auto envelope = gateway::ParseEnvelope(
          absl::string_view(body).substr(stream_consumed_), 64 << 20);
      if (envelope.ok()) {
        stream_consumed_ += 5 + envelope->payload.size();
        return Envelope{envelope->flags, envelope->payload};
      }
    }
    if (stream_->is_done() || absl::Now() >= deadline) return std::nullopt;
    error_code result;
    bool done = RunFor(deadline - absl::Now(), [&](bool& finished) {
      http::async_read_some(socket_, buffer_, *stream_, [&](error_code error, size_t) {
        result = error;
        finished = true;
      });
    });
    if (!done || (result && result != http::error::need_buffer)) return std::nullopt;
  }
}

void HttpTestClient::Close() {
  error_code ignored;
  socket_.shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string JsonString(const std::string& json, const std::string& name) {
  std::string marker = absl::StrCat("\"", name, "\":\"");
  size_t at = json.find(marker);
  if (at == std::string::npos) return "";
  size_t start = at + marker.size();
  return json.substr(start, json.find('"', start) - start);
}

}  // namespace peerwell::testing
