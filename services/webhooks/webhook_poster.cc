#include "services/webhooks/webhook_poster.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "services/common/encryption.h"

namespace peerwell::webhooks {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// Only the status matters; a receiver that answers with a large body is not read to its end.
constexpr size_t kMaxResponseBodyBytes = 64 << 10;
constexpr char kUserAgent[] = "PeerWell-Webhooks/1";

http::request<http::string_body> MakeRequest(
    const WebhookUrl& url, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> request{http::verb::post, url.target, 11};
  bool default_port = url.port == (url.tls ? 443 : 80);
  std::string host = url.host.find(':') != std::string::npos ? absl::StrCat("[", url.host, "]")
                                                             : url.host;
  request.set(http::field::host, default_port ? host : absl::StrCat(host, ":", url.port));
  request.set(http::field::user_agent, kUserAgent);
  request.set(http::field::content_type, "application/json");  // every payload is JSON
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.keep_alive(false);
  request.prepare_payload();
  return request;
}

}  // namespace

struct WebhookPoster::Tls {
  Tls() : context(ssl::context::tls_client) {
    context.set_verify_mode(ssl::verify_peer);
    context.set_default_verify_paths();
  }
  ssl::context context;
};

WebhookPoster::WebhookPoster(Options options)
    : options_(std::move(options)), tls_(std::make_unique<Tls>()) {}
WebhookPoster::~WebhookPoster() = default;

std::string SignatureHeader(absl::string_view secret, int64_t unix_seconds,
                            absl::string_view body) {
  std::string signed_text = absl::StrCat(unix_seconds, ".", body);
  return absl::StrCat("t=", unix_seconds, ",v1=",
                      absl::BytesToHexString(HmacSha256(secret, signed_text)));
}

PostResult WebhookPoster::Post(const WebhookUrl& url, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers)
    const {
  absl::Time started = absl::Now();
  PostResult result;
  auto finish = [&](std::string error) {
    result.error = std::move(error);
    result.duration = absl::Now() - started;
    return result;
  };

  net::io_context io;
  tcp::resolver resolver(io);
  std::optional<tcp::resolver::results_type> resolved;
  beast::error_code error;
  resolver.async_resolve(url.host, std::to_string(url.port),
                         [&](beast::error_code e, tcp::resolver::results_type r) {
                           error = e;
                           if (!e) resolved = std::move(r);
                         });
  io.run_for(absl::ToChronoNanoseconds(options_.timeout));
  if (!resolved.has_value()) {
    resolver.cancel();
    return finish(error ? absl::StrCat("cannot resolve ", url.host, ": ", error.message())
                        : absl::StrCat("resolving ", url.host, " timed out"));
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : *resolved) {
    if (options_.allow_private || IsPublicAddress(entry.endpoint().address().to_string())) {
      endpoints.push_back(entry.endpoint());
    }
  }
  if (endpoints.empty()) {
    return finish(absl::StrCat(url.host, " resolves only to loopback, link-local or private "
                                         "addresses, where webhooks are not delivered"));
  }

  absl::Duration left = options_.timeout - (absl::Now() - started);
  io.restart();
  beast::tcp_stream tcp_stream(io);
  std::optional<ssl::stream<beast::tcp_stream&>> tls_stream;
  tcp_stream.expires_after(absl::ToChronoNanoseconds(left));
  http::request<http::string_body> request = MakeRequest(url, body, headers);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBodyBytes);
  std::string failure;

  auto on_read = [&](beast::error_code e, size_t) {
    if (e && e != http::error::body_limit) {
      failure = absl::StrCat("no answer: ", e.message());
      return;
    }
    result.http_status = static_cast<int>(parser.get().result_int());
  };
  auto send = [&](auto& stream) {
    http::async_write(stream, request, [&](beast::error_code e, size_t) {
      if (e) {
        failure = absl::StrCat("cannot send: ", e.message());
        return;
      }
      http::async_read(stream, buffer, parser, on_read);
    });
  };
  tcp_stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      failure = absl::StrCat("cannot connect to ", url.host, ": ", e.message());
      return;
    }
    if (!url.tls) return send(tcp_stream);
    tls_stream.emplace(tcp_stream, tls_->context);
    // SNI, and the certificate must name the host.
    SSL_set_tlsext_host_name(tls_stream->native_handle(), url.host.c_str());
    tls_stream->set_verify_callback(ssl::host_name_verification(url.host));
    tls_stream->async_handshake(ssl::stream_base::client, [&](beast::error_code handshake) {
      if (handshake) {
        failure = absl::StrCat("TLS with ", url.host, " failed: ", handshake.message());
        return;
      }
      send(*tls_stream);
    });
  });
  io.run();
  if (result.http_status != 0) return finish("");
  return finish(failure.empty() ? "no answer in time" : failure);
}

PostResult WebhookPoster::Post(const std::string& url, const std::string& body,
                               const Headers& headers, const std::string& secret) const {
  auto parsed = ParseWebhookUrl(url, options_.allow_private, options_.allow_private);
  if (!parsed.ok()) return {0, absl::ZeroDuration(), std::string(parsed.status().message())};
  Headers signed_headers = headers;
  signed_headers.emplace_back("PeerWell-Signature",
                              SignatureHeader(secret, absl::ToUnixSeconds(absl::Now()), body));
  return Post(*parsed, body, signed_headers);
}

}  // namespace peerwell::webhooks
