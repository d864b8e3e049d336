#include "services/gateway/http_server.h"

#include <array>
#include <deque>
#include <optional>
#include <utility>


#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"
#include "services/common/call.h"
#include "services/common/encryption.h"
#include "services/common/log.h"
#include "services/gateway/connect.h"
#include "services/gateway/http_rules.h"
#include "services/gateway/rest_routes.h"

namespace peerwell::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

GatewayMetrics::GatewayMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("peerwell_gateway_http_requests_total")
                    .Help("HTTP requests answered, by route and HTTP status")
                    .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("peerwell_gateway_http_request_duration_seconds")
                   .Help("Time from a request's last byte to its answer's, by route; streams "
                         "are counted in requests_total but not timed")
                   .Register(registry)),
      connections_(prometheus::BuildGauge()
                       .Name("peerwell_gateway_open_connections")
                       .Help("HTTP connections open")
                       .Register(registry)
                       .Add({})),
      streams_(prometheus::BuildGauge()
                   .Name("peerwell_gateway_open_streams")
                   .Help("Streaming calls open")
                   .Register(registry)
                   .Add({})) {}

void GatewayMetrics::Observe(const std::string& route, int http_status, absl::Duration latency) {
  requests_.Add({{"route", route}, {"status", absl::StrCat(http_status)}}).Increment();
  if (latency >= absl::ZeroDuration()) {
    static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    seconds_.Add({{"route", route}}, *buckets).Observe(absl::ToDoubleSeconds(latency));
  }
}

bool StreamQuota::TryAcquire(const std::string& credential) {
  absl::MutexLock lock(&mu_);
  int& open = open_[credential];
  if (open >= max_) return false;
  ++open;
  return true;
}

void StreamQuota::Release(const std::string& credential) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(credential);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

struct HttpServer::Impl {
  Impl(const GatewayConfig& config, Backends& backends, GatewayMetrics& metrics,
       const StaticFiles& files)
      : config(config),
        backends(backends),
        metrics(metrics),
        files(files),
        quota(config.limits.max_streams_per_credential),
        io(config.http_threads),
        acceptor(net::make_strand(io)),
        accept_retry(acceptor.get_executor()) {}

  void Accept();
  void Register(const std::shared_ptr<HttpSession>& session);
  void Unregister(HttpSession* session);
  std::vector<std::shared_ptr<HttpSession>> Sessions();
  void RequestBegan();
  void RequestEnded();

  const GatewayConfig config;
  Backends& backends;
  GatewayMetrics& metrics;
  const StaticFiles& files;
  StreamQuota quota;
  std::atomic<bool> draining{false};
  std::atomic<int> connections{0};

  absl::Mutex mu;
  absl::flat_hash_map<HttpSession*, std::weak_ptr<HttpSession>> sessions ABSL_GUARDED_BY(mu);
  int requests_in_flight ABSL_GUARDED_BY(mu) = 0;

  // Last, so that the sessions its pending handlers hold are destroyed before what they use.
  net::io_context io;
  tcp::acceptor acceptor;
  net::steady_timer accept_retry;
  std::vector<std::thread> threads;
};

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

absl::string_view HeaderOf(const Request& request, absl::string_view name) {
  auto it = request.find(beast::string_view(name.data(), name.size()));
  if (it == request.end()) return {};
  beast::string_view value = it->value();
  return absl::string_view(value.data(), value.size());
}

absl::string_view PathOf(absl::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

absl::string_view QueryOf(absl::string_view target) {
  size_t question = target.find('?');
  if (question == absl::string_view::npos) return {};
  absl::string_view query = target.substr(question + 1);
  return query.substr(0, query.find('#'));
}

// A strong validator of a body: the first 16 bytes of its SHA-256, in hex and quotes.
std::string EntityTag(absl::string_view body) {
  return absl::StrCat("\"", absl::BytesToHexString(Sha256(body).substr(0, 16)), "\"");
}

}  // namespace

// One client connection: reads a request, answers it, and waits for the next one. Everything
// happens on the connection's strand; gRPC's callbacks are posted to it.
class HttpSession final : public std::enable_shared_from_this<HttpSession>,
                          public ServerStreamCall::Reader {
 public:
  HttpSession(HttpServer::Impl& server, tcp::socket socket)
      : server_(server),
        socket_(std::move(socket)),
        read_timer_(socket_.get_executor()),
        write_timer_(socket_.get_executor()) {}

  ~HttpSession() override {
    server_.connections.fetch_sub(1);
    server_.metrics.open_connections().Decrement();
  }

  void Start() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->AwaitRequest(); });
  }

  // On shutdown: an idle connection closes now, a stream ends with UNAVAILABLE so that its
  // client reconnects elsewhere, and a call in flight is answered first.
  void Drain() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::kAwaiting) {
        self->Close();
      } else if (self->phase_ == Phase::kStreaming && self->call_ != nullptr) {
        self->stream_end_override_ =
            grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway is shutting down; reconnect");
        self->call_->Cancel();
      }
    });
  }

  // After the grace period: whatever is left is cut off.
  void Abort() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->call_ != nullptr) self->call_->Cancel();
      if (self->unary_context_ != nullptr) self->unary_context_->TryCancel();
      self->Close();
    });
  }

  void OnStreamLive() override {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::kStreaming && self->stream_head_ == nullptr) {
        self->StartStreamResponse();
      }
    });
  }

  void OnStreamMessage(std::string message) override {
    net::post(socket_.get_executor(), [self = shared_from_this(), message = std::move(message)] {
      self->SendStreamMessage(message);
    });
  }

  void OnStreamDone(const grpc::Status& status) override {
    net::post(socket_.get_executor(),
              [self = shared_from_this(), status] { self->EndStream(status); });
  }

 private:
  enum class Phase { kAwaiting, kReading, kCalling, kStreaming, kWriting, kLingering, kClosed };
  static constexpr absl::Duration kLinger = absl::Seconds(2);

  // --- Reading -------------------------------------------------------------------------------

  void AwaitRequest() {
    if (phase_ == Phase::kClosed) return;
    if (server_.draining.load()) {
      Close();
      return;
    }
    phase_ = Phase::kAwaiting;
    parser_.emplace();
    parser_->body_limit(server_.config.limits.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_.config.limits.max_header_bytes));
    if (buffer_.size() > 0) {
      ReadRequest();
      return;
    }
    Arm(read_timer_, server_.config.limits.idle_timeout);
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code error) {
      if (error || self->phase_ != Phase::kAwaiting) return self->Close();
      self->ReadRequest();
    });
  }

  void ReadRequest() {
    phase_ = Phase::kReading;
    Arm(read_timer_, server_.config.limits.read_timeout);
    http::async_read_header(
        socket_, buffer_, *parser_, [self = shared_from_this()](error_code error, size_t) {
          if (error) {
            Disarm(self->read_timer_);
            return self->OnRequestRead(error);
          }
          // curl and others wait for this before sending a larger body.
          if (absl::EqualsIgnoreCase(HeaderOf(self->parser_->get(), "Expect"), "100-continue")) {
            static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
            return net::async_write(self->socket_, net::buffer(kContinue, sizeof kContinue - 1),
                                    [self](error_code error, size_t) {
                                      if (error) return self->OnRequestRead(error);
                                      self->ReadBody();
                                    });
          }
          self->ReadBody();
        });
  }

  void ReadBody() {
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code error, size_t) {
                       Disarm(self->read_timer_);
                       self->OnRequestRead(error);
                     });
  }

  void OnRequestRead(error_code error) {
    if (phase_ == Phase::kClosed) return;
    if (error == http::error::body_limit) {
      return RefuseRequest(http::status::payload_too_large,
                           absl::StrCat("the request body is larger than ",
                                        server_.config.limits.max_body_bytes, " bytes"));
    }
    if (error == http::error::header_limit) {
      return RefuseRequest(http::status::request_header_fields_too_large,
                           absl::StrCat("the request head is larger than ",
                                        server_.config.limits.max_header_bytes, " bytes"));
    }
    if (error && error.category() == http::make_error_code(http::error::bad_target).category() &&
        error != http::error::end_of_stream && error != http::error::partial_message) {
      return RefuseRequest(http::status::bad_request, "the request is not valid HTTP/1.1");
    }
    if (error) return Close();  // the client left, or was too slow (the timer closed the socket)
    request_ = parser_->release();
    BeginRequest();
    Route();
  }

  // A request that cannot be read to its end: answered, and the connection closed, because what
  // follows on it cannot be trusted to start a new request.
  void RefuseRequest(http::status status, const std::string& message) {
    // Not the previous request's method, version or origin: this one was never read whole.
    request_ = Request{};
    request_.version(11);
    BeginRequest();
    keep_alive_ = false;
    grpc::StatusCode code = status == http::status::bad_request
                                ? grpc::StatusCode::INVALID_ARGUMENT
                                : grpc::StatusCode::RESOURCE_EXHAUSTED;
    Respond(status, "application/json", ConnectErrorJson(grpc::Status(code, message)));
  }

  void BeginRequest() {
    received_ = absl::Now();
    route_ = "unmatched";
    keep_alive_ = request_.keep_alive();
    origin_ = std::string(HeaderOf(request_, "Origin"));
    content_type_ = ConnectContentType{};
    rest_.reset();
    server_.RequestBegan();
    in_request_ = true;
  }

  // --- Routing -------------------------------------------------------------------------------

  void Route() {
    absl::string_view target(request_.target().data(), request_.target().size());
    absl::string_view path = PathOf(target);
    if (request_.method() == http::verb::options) return Preflight();
    if (path == "/healthz") {
      route_ = "/healthz";
      if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
        return RespondMethodNotAllowed("GET, HEAD");
      }
      bool serving = !server_.draining.load();
      return Respond(serving ? http::status::ok : http::status::service_unavailable,
                     "application/json",
                     serving ? R"({"status":"SERVING"})" : R"({"status":"NOT_SERVING"})");
    }
    if (auto method = FindMethod(path); method.ok()) {
      route_ = method->path;
      if (request_.method() != http::verb::post) return RespondMethodNotAllowed("POST");
      return StartCall(*std::move(method));
    }
    if (auto rest = MatchRestRoute(path, QueryOf(target), absl::Now(), server_.config.public_url);
        rest.has_value()) {
      return StartRestCall(*std::move(rest));
    }
    if (request_.method() == http::verb::get || request_.method() == http::verb::head) {
      if (const StaticFile* file = server_.files.Find(path); file != nullptr) {
        route_ = "static";
        return Respond(http::status::ok, file->content_type, std::string(file->body),
                       "no-cache");
      }
      // A page's folder typed without its slash ("/volunteer"): the page's own address.
      if (std::string folder = absl::StrCat(path, "/"); server_.files.Find(folder) != nullptr) {
        route_ = "static";
        Response response{http::status::permanent_redirect, request_.version()};
        response.set(http::field::location, folder);
        return Send(std::move(response), "no-cache");
      }
    }
    RespondError(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such route"),
                 http::status::not_found);
  }

  void Preflight() {
    route_ = "preflight";
    if (!OriginAllowed(server_.config.cors_allowed_origins, origin_)) {
      return Respond(http::status::forbidden, "application/json",
                     ConnectErrorJson(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                                   "this origin may not call the API")));
    }
    Response response{http::status::no_content, request_.version()};
    for (const auto& [name, value] : CorsPreflightHeaders(origin_)) response.set(name, value);
    Send(std::move(response), "no-store");
  }

  void RespondMethodNotAllowed(const char* allowed) {
    Response response{http::status::method_not_allowed, request_.version()};
    response.set(http::field::allow, allowed);
    response.set(http::field::content_type, "application/json");
    response.body() = ConnectErrorJson(grpc::Status(
        grpc::StatusCode::UNIMPLEMENTED, absl::StrCat("use ", allowed, " on this path")));
    Send(std::move(response), "no-store");
  }

  // --- Connect calls -------------------------------------------------------------------------

  void StartCall(RpcMethod method) {
    method_ = std::move(method);
    auto type = ParseConnectContentType(HeaderOf(request_, "Content-Type"));
    if (!type.ok()) {
      return RespondError(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                       std::string(type.status().message())),
                          http::status::unsupported_media_type);
    }
    content_type_ = *type;
    if (content_type_.streaming != method_.server_streaming) {
      content_type_.streaming = false;  // the error answers as a unary call would
      return RespondError(
          grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                       method_.server_streaming
                           ? "this is a streaming call: send application/connect+json"
                           : "this is a unary call: send application/json"),
          http::status::unsupported_media_type);
    }
    if (auto version = HeaderOf(request_, "Connect-Protocol-Version");
        !version.empty() && version != "1") {
      return RespondError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                       "Connect-Protocol-Version: only 1 is spoken here"));
    }
    absl::string_view encoding = HeaderOf(
        request_, content_type_.streaming ? "Connect-Content-Encoding" : "Content-Encoding");
    if (!encoding.empty() && !absl::EqualsIgnoreCase(encoding, "identity")) {
      return RespondError(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                       "compressed requests are not accepted"));
    }
    ForwardedCall call;
    auto credential = ForwardCredentials(call);
    if (!credential.ok()) return RespondError(ToGrpcStatus(credential.status(), route_));

    std::optional<absl::string_view> timeout_header;
    if (request_.find("Connect-Timeout-Ms") != request_.end()) {
      timeout_header = HeaderOf(request_, "Connect-Timeout-Ms");
    }
    auto timeout = ParseConnectTimeout(timeout_header);
    if (!timeout.ok()) {
      return RespondError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                       std::string(timeout.status().message())));
    }
    // A unary call gets at most max_call_timeout; a stream as long as its client asks.
    if (method_.server_streaming) {
      if (timeout->has_value()) call.deadline = received_ + **timeout;
    } else {
      call.deadline = received_ + std::min(timeout->value_or(server_.config.limits.max_call_timeout),
                                           server_.config.limits.max_call_timeout);
    }

    std::string body = std::move(request_.body());
    if (content_type_.streaming) {
      auto envelope = ParseEnvelope(body, server_.config.limits.max_body_bytes);
      if (!envelope.ok()) {
        return RespondError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                         std::string(envelope.status().message())));
      }
      if (envelope->flags != 0) {
        return RespondError(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                         "compressed messages are not accepted"));
      }
      body = std::move(envelope->payload);
    }
    std::string request_bytes;
    if (content_type_.json) {
      auto bytes = JsonToRequest(method_, body);
      if (!bytes.ok()) {
        return RespondError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                         std::string(bytes.status().message())));
      }
      request_bytes = *std::move(bytes);
    } else {
      request_bytes = std::move(body);
    }
    if (!server_.backends.Serves(method_)) {
      return RespondError(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                       "this service is not reachable through this gateway"));
    }
    if (content_type_.streaming) return OpenStream(*std::move(credential), request_bytes, call);
    CallUnary(std::move(request_bytes), call, &HttpSession::OnUnaryDone);
  }

  // The request's credentials, passed on as they came (the services decide what they allow);
  // returns the one that keys the cap on open streams. UNAUTHENTICATED without any, or with
  // bytes gRPC metadata cannot carry.
  absl::StatusOr<std::string> ForwardCredentials(ForwardedCall& call) {
    absl::string_view authorization = HeaderOf(request_, "Authorization");
    absl::string_view api_key = HeaderOf(request_, "x-api-key");
    if (!IsPrintableAscii(authorization) || !IsPrintableAscii(api_key)) {
      return absl::UnauthenticatedError("credentials must be printable ASCII");
    }
    std::optional<std::string> credential = CredentialOf(authorization, api_key);
    if (!credential.has_value()) {
      return absl::UnauthenticatedError(
          "credentials required: Authorization: Bearer <token>, or x-api-key: <key>");
    }
    if (!authorization.empty()) call.metadata.emplace_back("authorization", authorization);
    if (!api_key.empty()) call.metadata.emplace_back("x-api-key", api_key);
    return *std::move(credential);
  }

  // A unary call of method_; `done` runs on the connection's strand.
  void CallUnary(std::string request_bytes, const ForwardedCall& call,
                 void (HttpSession::*done)(const grpc::Status&, const std::string&)) {

    phase_ = Phase::kCalling;
    unary_context_ = server_.backends.CallUnary(
        method_, std::move(request_bytes), call,
        [self = shared_from_this(), done](const grpc::Status& status,
                                          std::string response) mutable {
          auto session = std::move(self);
          net::post(session->socket_.get_executor(),
                    [session, done, status, response = std::move(response)] {
                      ((*session).*done)(status, response);
                    });
        });
  }

  // --- GET routes beside Connect (rest_routes.h) ---------------------------------------------

  void StartRestCall(RestRoute route) {
    route_ = route.label;
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      return RespondMethodNotAllowed("GET, HEAD");
    }
    rest_ = std::move(route);
    if (rest_->answer.has_value()) return RespondRest(*rest_->answer);
    ForwardedCall call;
    if (rest_->forwards_credentials) {
      if (auto credential = ForwardCredentials(call); !credential.ok()) {
        return RespondRest(rest_->render_error(ToGrpcStatus(credential.status(), route_)));
      }
    }
    call.deadline = received_ + server_.config.limits.max_call_timeout;
    auto method = FindMethod(rest_->rpc);
    if (!method.ok() || !server_.backends.Serves(*method)) {
      return RespondRest(rest_->render_error(grpc::Status(
          grpc::StatusCode::UNIMPLEMENTED, "this service is not reachable through this gateway")));
    }
    method_ = *std::move(method);
    CallUnary(std::move(rest_->request), call, &HttpSession::OnRestDone);
  }

  void OnRestDone(const grpc::Status& status, const std::string& response) {
    unary_context_ = nullptr;
    if (phase_ == Phase::kClosed) return EndRequest(499);
    RespondRest(status.ok() ? rest_->render(response) : rest_->render_error(status));
  }

  void RespondRest(HttpAnswer answer) {
    Response response{static_cast<http::status>(answer.status), request_.version()};
    response.set(http::field::content_type, answer.content_type);
    if (answer.etag && answer.status == 200) {
      std::string tag = EntityTag(answer.body);
      response.set(http::field::etag, tag);
      if (IfNoneMatchMatches(HeaderOf(request_, "If-None-Match"), tag)) {
        response.result(http::status::not_modified);
        return Send(std::move(response), answer.cache_control);
      }
    }
    response.body() = std::move(answer.body);
    Send(std::move(response), answer.cache_control);
  }

  void OnUnaryDone(const grpc::Status& status, const std::string& response) {
    unary_context_ = nullptr;
    if (phase_ == Phase::kClosed) return EndRequest(499);
    if (!status.ok()) return RespondError(status);
    if (!content_type_.json) {
      return Respond(http::status::ok, ContentTypeOf(content_type_), response);
    }
    auto json = ResponseToJson(method_, response);
    if (!json.ok()) {
      return RespondError(
          grpc::Status(grpc::StatusCode::INTERNAL, std::string(json.status().message())));
    }
    Respond(http::status::ok, "application/json", *json);
  }

  // A Connect error: for a unary call as its JSON body with the code's HTTP status (or
  // `http_status` when the request never reached Connect), for a stream as its end message.
  void RespondError(const grpc::Status& status, std::optional<http::status> http_status = {}) {
    if (content_type_.streaming && !http_status.has_value()) {
      phase_ = Phase::kStreaming;
      return EndStream(status);
    }
    Respond(http_status.value_or(static_cast<http::status>(ConnectHttpStatus(status.error_code()))),
            "application/json", ConnectErrorJson(status));
  }

  // --- Streams -------------------------------------------------------------------------------

  void OpenStream(std::string credential, const std::string& request, const ForwardedCall& call) {
    if (server_.draining.load()) {
      return RespondError(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                       "the gateway is shutting down; reconnect"));
    }
    if (!server_.quota.TryAcquire(credential)) {
      return RespondError(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("this credential already holds ",
                       server_.config.limits.max_streams_per_credential,
                       " open streams; close one first")));
    }
    stream_credential_ = std::move(credential);
    server_.metrics.open_streams().Increment();
    // The response starts once the service's stream is live (its initial metadata), so that a
    // client that has the response headers knows it will see every event from then on.
    phase_ = Phase::kStreaming;
    ++streams_opened_;
    call_ = ServerStreamCall::Start(server_.backends, method_, request, call, shared_from_this());
    WatchForHangUp();
  }

  // A client that goes away must not hold its call (and its place under the stream cap) until
  // the next message: the socket turns readable with nothing to read. Bytes a client sends
  // meanwhile (a pipelined request) wait in the buffer for their turn, up to one request's worth.
  // A readiness report with nothing to read and the connection open is a late one, for bytes the
  // request's read already took: the watch goes on. The watch belongs to one stream: a report
  // that arrives after its stream ended acts on no later stream of the connection.
  void WatchForHangUp() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this(),
                                                stream = streams_opened_](error_code error) {
      if (self->phase_ != Phase::kStreaming || self->stream_ending_ ||
          stream != self->streams_opened_) {
        return;
      }
      PeerState peer = error ? PeerState::kGone : ProbePeer(self->socket_.native_handle());
      if (peer == PeerState::kIdle) return self->WatchForHangUp();
      error_code status;
      size_t waiting = peer == PeerState::kSending ? self->socket_.available(status) : 0;
      const HttpLimits& limits = self->server_.config.limits;
      if (waiting > 0 && !status &&
          self->buffer_.size() + waiting <= limits.max_header_bytes + limits.max_body_bytes) {
        size_t read = self->socket_.read_some(self->buffer_.prepare(waiting), status);
        self->buffer_.commit(read);
        // A client that sent its last bytes and left at once reported both in one readiness
        // report: its end is not reported again.
        if (!status && ProbePeer(self->socket_.native_handle()) != PeerState::kGone) {
          return self->WatchForHangUp();
        }
      }
      self->client_gone_ = true;
      if (self->call_ != nullptr) self->call_->Cancel();
    });
  }

  void StartStreamResponse() {
    phase_ = Phase::kStreaming;
    http::response<http::empty_body> head{http::status::ok, request_.version()};
    head.set(http::field::content_type, ContentTypeOf(content_type_));
    // HTTP/1.0 has no chunks: the stream's end is the connection's.
    chunked_ = request_.version() >= 11;
    if (!chunked_) keep_alive_ = false;
    Decorate(head, "no-store");
    head.chunked(chunked_);
    stream_head_ = std::make_unique<http::response<http::empty_body>>(std::move(head));
    stream_serializer_ =
        std::make_unique<http::response_serializer<http::empty_body>>(*stream_head_);
    writing_ = true;
    Arm(write_timer_, server_.config.limits.write_timeout);
    http::async_write_header(socket_, *stream_serializer_,
                             [self = shared_from_this()](error_code error, size_t) {
                               self->OnStreamWritten(error);
                             });
  }

  void SendStreamMessage(const std::string& message) {
    if (phase_ != Phase::kStreaming || client_gone_ || stream_ending_) {
      if (call_ != nullptr) call_->ReadNext();  // dropped; the reads end with the cancellation
      return;
    }
    std::string payload = message;
    if (content_type_.json) {
      auto json = ResponseToJson(method_, message);
      if (!json.ok()) {
        stream_end_override_ =
            grpc::Status(grpc::StatusCode::INTERNAL, std::string(json.status().message()));
        call_->Cancel();
        call_->ReadNext();
        return;
      }
      payload = *std::move(json);
    }
    QueueChunk(Envelope(0, payload), /*last=*/false);
  }

  void EndStream(const grpc::Status& status) {
    if (call_ != nullptr) {
      call_ = nullptr;
      server_.quota.Release(stream_credential_);
      server_.metrics.open_streams().Decrement();
    }
    if (phase_ == Phase::kClosed || client_gone_) {
      Close();
      // A write still in flight ends the request when it completes (OnStreamWritten): the
      // serializer it uses must live until then.
      if (!writing_) EndRequest(499);
      return;
    }
    stream_ending_ = true;
    if (stream_head_ == nullptr) StartStreamResponse();
    grpc::Status end = stream_end_override_.value_or(status);
    QueueChunk(Envelope(kEndStreamFlag, EndStreamJson(end)), /*last=*/true);
  }

  void QueueChunk(std::string chunk, bool last) {
    outbox_.push_back({std::move(chunk), last});
    if (!writing_) WriteNextChunk();
  }

  void WriteNextChunk() {
    if (outbox_.empty() || phase_ == Phase::kClosed) return;
    writing_ = true;
    auto chunk = std::make_shared<PendingChunk>(std::move(outbox_.front()));
    outbox_.pop_front();
    Arm(write_timer_, server_.config.limits.write_timeout);
    auto done = [self = shared_from_this(), chunk](error_code error, size_t) {
      self->OnStreamWritten(error, chunk->last, !chunk->last);
    };
    if (!chunked_) {
      net::async_write(socket_, net::buffer(chunk->data), std::move(done));
    } else if (chunk->last) {
      net::async_write(
          socket_,
          beast::buffers_cat(http::make_chunk(net::buffer(chunk->data)), http::make_chunk_last()),
          std::move(done));
    } else {
      net::async_write(socket_, http::make_chunk(net::buffer(chunk->data)), std::move(done));
    }
  }

  void OnStreamWritten(error_code error, bool was_last = false, bool ask_next = false) {
    Disarm(write_timer_);
    writing_ = false;
    if (phase_ == Phase::kClosed) {
      // Close() left the request to whoever finished last: this write, or the stream's end.
      if (call_ == nullptr) EndRequest(499);
      return;
    }
    if (error) {
      client_gone_ = true;
      if (call_ != nullptr) {
        call_->Cancel();
        return;  // EndStream closes and ends the request
      }
      Close();
      return EndRequest(499);
    }
    if (was_last) {
      EndRequest(200);
      return AfterResponse();
    }
    if (!outbox_.empty()) return WriteNextChunk();
    if (ask_next && call_ != nullptr) call_->ReadNext();
  }

  // --- Writing -------------------------------------------------------------------------------

  void Respond(http::status status, absl::string_view content_type, std::string body,
               const char* cache_control = "no-store") {
    Response response{status, request_.version()};
    response.set(http::field::content_type,
                 beast::string_view(content_type.data(), content_type.size()));
    response.body() = std::move(body);
    Send(std::move(response), cache_control);
  }

  template <class Body>
  void Decorate(http::response<Body>& response, const char* cache_control) {
    for (const auto& [name, value] : SecurityHeaders()) response.set(name, value);
    response.set(http::field::cache_control, cache_control);
    if (OriginAllowed(server_.config.cors_allowed_origins, origin_)) {
      response.set(http::field::access_control_allow_origin, origin_);
      response.set(http::field::vary, "Origin");
    }
    if (server_.draining.load()) keep_alive_ = false;
    response.keep_alive(keep_alive_);
  }

  void Send(Response response, const char* cache_control) {
    phase_ = Phase::kWriting;
    Decorate(response, cache_control);
    bool head = request_.method() == http::verb::head;
    response.prepare_payload();
    if (head) response.body().clear();
    response_status_ = response.result_int();
    auto shared = std::make_shared<Response>(std::move(response));
    Arm(write_timer_, server_.config.limits.write_timeout);
    auto done = [self = shared_from_this(), shared](error_code error, size_t) {
      Disarm(self->write_timer_);
      self->EndRequest(error ? 499 : self->response_status_);
      if (error) return self->Close();
      self->AfterResponse();
    };
    if (head) {
      auto serializer = std::make_shared<http::response_serializer<http::string_body>>(*shared);
      http::async_write_header(socket_, *serializer,
                               [done, serializer](error_code error, size_t n) { done(error, n); });
    } else {
      http::async_write(socket_, *shared, std::move(done));
    }
  }

  void AfterResponse() {
    if (!keep_alive_ || server_.draining.load()) {
      error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      phase_ = Phase::kLingering;
      Arm(read_timer_, std::min(server_.config.limits.read_timeout, kLinger));
      return Linger();
    }
    AwaitRequest();
  }

  // Closing a socket with unread bytes in it makes the kernel reset the connection, and a reset
  // can destroy the answer before the client reads it (a 413 sent while the client is still
  // sending its body). So the rest of what the client sends is read and dropped until it closes
  // its side, or for a moment at most (the timer closes the socket).
  void Linger() {
    socket_.async_read_some(net::buffer(linger_scratch_),
                            [self = shared_from_this()](error_code error, size_t) {
                              if (self->phase_ != Phase::kLingering) return;
                              if (error) return self->Close();
                              self->Linger();
                            });
  }

  void EndRequest(int http_status) {
    if (!in_request_) return;
    in_request_ = false;
    // A stream's duration is its client's, not the gateway's latency.
    absl::Duration latency = stream_head_ != nullptr ? -absl::Seconds(1) : absl::Now() - received_;
    server_.metrics.Observe(route_, http_status, latency);
    stream_head_.reset();
    stream_serializer_.reset();
    stream_ending_ = false;
    stream_end_override_.reset();
    server_.RequestEnded();
  }

  // A deadline for what the connection waits for now. A handler may already be queued when the
  // timer is re-armed or disarmed (cancel() cannot recall it), so it acts only if the deadline it
  // finds has really passed: a later request's deadline lies in the future.
  void Arm(net::steady_timer& timer, absl::Duration timeout) {
    timer.expires_after(absl::ToChronoNanoseconds(timeout));
    timer.async_wait([self = shared_from_this(), &timer](error_code error) {
      if (!error && timer.expiry() <= net::steady_timer::clock_type::now()) self->Close();
    });
  }

  static void Disarm(net::steady_timer& timer) {
    timer.expires_at(net::steady_timer::time_point::max());
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    error_code ignored;
    Disarm(read_timer_);
    Disarm(write_timer_);
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (call_ != nullptr) {
      client_gone_ = true;
      call_->Cancel();
    }
    if (unary_context_ != nullptr) unary_context_->TryCancel();
    if (!writing_ && call_ == nullptr) EndRequest(499);
    server_.Unregister(this);
  }

  std::array<char, 4096> linger_scratch_{};

  struct PendingChunk {
    std::string data;
    bool last = false;
  };

  HttpServer::Impl& server_;
  tcp::socket socket_;
  net::steady_timer read_timer_;
  net::steady_timer write_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Phase phase_ = Phase::kAwaiting;

  Request request_;
  absl::Time received_;
  std::string route_;
  std::string origin_;
  bool keep_alive_ = true;
  bool in_request_ = false;
  int response_status_ = 0;

  RpcMethod method_;
  std::optional<RestRoute> rest_;
  ConnectContentType content_type_;
  std::shared_ptr<grpc::ClientContext> unary_context_;
  std::shared_ptr<ServerStreamCall> call_;
  std::string stream_credential_;
  std::unique_ptr<http::response<http::empty_body>> stream_head_;
  std::unique_ptr<http::response_serializer<http::empty_body>> stream_serializer_;
  std::deque<PendingChunk> outbox_;
  bool writing_ = false;
  bool chunked_ = true;
  bool client_gone_ = false;
  bool stream_ending_ = false;
  int streams_opened_ = 0;  // on this connection; tells a stream's hang-up watch from a later one's
  std::optional<grpc::Status> stream_end_override_;
};

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(io), [this](error_code error, tcp::socket socket) {
    if (error) {
      if (error == net::error::operation_aborted || !acceptor.is_open()) return;
      // Out of file descriptors, most likely: retrying at once would spin and flood the log.
      Log(Severity::kWarning, "accept failed", {Field("error", error.message())});
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](error_code waited) {
        if (!waited) Accept();
      });
      return;
    }
    if (connections.fetch_add(1) >= config.limits.max_connections || draining.load()) {
      connections.fetch_sub(1);
      error_code ignored;
      socket.close(ignored);
      return Accept();
    }
    metrics.open_connections().Increment();
    auto session = std::make_shared<HttpSession>(*this, std::move(socket));
    Register(session);
    session->Start();
    Accept();
  });
}

void HttpServer::Impl::Register(const std::shared_ptr<HttpSession>& session) {
  absl::MutexLock lock(&mu);
  sessions.emplace(session.get(), session);
}

void HttpServer::Impl::Unregister(HttpSession* session) {
  absl::MutexLock lock(&mu);
  sessions.erase(session);
}

std::vector<std::shared_ptr<HttpSession>> HttpServer::Impl::Sessions() {
  absl::MutexLock lock(&mu);
  std::vector<std::shared_ptr<HttpSession>> live;
  for (const auto& [pointer, weak] : sessions) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

void HttpServer::Impl::RequestBegan() {
  absl::MutexLock lock(&mu);
  ++requests_in_flight;
}

void HttpServer::Impl::RequestEnded() {
  absl::MutexLock lock(&mu);
  --requests_in_flight;
}

HttpServer::HttpServer(const GatewayConfig& config, Backends& backends, GatewayMetrics& metrics,
                       const StaticFiles& files)
    : impl_(std::make_unique<Impl>(config, backends, metrics, files)) {}

HttpServer::~HttpServer() {
  if (!impl_->threads.empty()) Shutdown(absl::ZeroDuration());
}

absl::StatusOr<int> HttpServer::Start() {
  const std::string& address = impl_->config.listen_addr;
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot bind ", address));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  error_code error;
  auto ip = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat("cannot bind ", address, ": ", error.message()));
  tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(net::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(net::socket_base::max_listen_connections, error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot bind ", address, ": ", error.message()));
  int bound = acceptor.local_endpoint().port();
  impl_->Accept();
  for (int i = 0; i < impl_->config.http_threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
  Log(Severity::kInfo, "serving", {NumberField("port", bound)});
  return bound;
}

void HttpServer::Shutdown(absl::Duration grace) {
  Impl& impl = *impl_;
  if (impl.threads.empty()) return;
  impl.draining.store(true);
  net::post(impl.acceptor.get_executor(), [&impl] {
    error_code ignored;
    impl.acceptor.close(ignored);
    impl.accept_retry.cancel();
  });
  for (const auto& session : impl.Sessions()) session->Drain();
  {
    absl::MutexLock lock(&impl.mu);
    auto idle = [&impl]() ABSL_SHARED_LOCKS_REQUIRED(impl.mu) {
      return impl.requests_in_flight == 0;
    };
    impl.mu.AwaitWithTimeout(absl::Condition(&idle), grace);
  }
  for (const auto& session : impl.Sessions()) session->Abort();
  impl.backends.WaitForCallsToEnd(absl::Seconds(5));
  impl.io.stop();
  for (std::thread& thread : impl.threads) thread.join();
  impl.threads.clear();
}

}  // namespace peerwell::gateway
