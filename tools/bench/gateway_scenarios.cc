// The gateway's scenario: the suite as browsers and partners reach it, over HTTP/1.1 and the
// Connect protocol's JSON, so that what the gateway adds to a call (HTTP, transcoding, a second
// hop) and its memory under load are measured by the same tool as the services.
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"
#include "services/gateway/connect.h"
#include "tools/bench/people.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

// The status of an answer: OK, or the code of its Connect error body.
grpc::Status StatusOf(int http_status, const std::string& body) {
  if (http_status == 200) return grpc::Status::OK;
  static constexpr char kMarker[] = "\"code\":\"";
  size_t at = body.find(kMarker);
  if (at == std::string::npos) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, absl::StrCat("HTTP ", http_status));
  }
  size_t start = at + sizeof kMarker - 1;
  absl::string_view name = absl::string_view(body).substr(start, body.find('"', start) - start);
  return grpc::Status(gateway::ConnectCodeFromName(name), body);
}

// Keep-alive HTTP/1.1 connections to the gateway, one call at a time each (HTTP/1.1 has no
// multiplexing), made as calls need them and kept for the next: a closed loop of N calls settles
// on N connections, as N browsers would hold.
class HttpCallPool {
 public:
  explicit HttpCallPool(tcp::endpoint gateway)
      : gateway_(gateway), work_(net::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

  ~HttpCallPool() {
    net::post(io_, [this] {
      for (auto& connection : idle_) connection->socket.close();
      idle_.clear();
    });
    work_.reset();
    thread_.join();
  }

  using Done = std::function<void(grpc::Status)>;

  void Call(std::string request, std::chrono::system_clock::time_point deadline, Done done) {
    net::post(io_, [this, request = std::move(request), deadline, done = std::move(done)]() mutable {
      std::shared_ptr<Connection> connection;
      if (!idle_.empty()) {
        connection = std::move(idle_.back());
        idle_.pop_back();
      } else {
        connection = std::make_shared<Connection>(io_);
      }
      Start(connection, std::move(request), deadline, std::move(done));
    });
  }

 private:
  struct Connection {
    explicit Connection(net::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    net::steady_timer timer;
    beast::flat_buffer buffer;
    std::string request;
    std::optional<http::response_parser<http::string_body>> parser;
    bool timed_out = false;
  };

  void Start(std::shared_ptr<Connection> connection, std::string request,
             std::chrono::system_clock::time_point deadline, Done done) {
    connection->request = std::move(request);
    connection->timed_out = false;
    connection->timer.expires_after(deadline - std::chrono::system_clock::now());
    connection->timer.async_wait([connection](error_code error) {
      if (error) return;
      connection->timed_out = true;
      error_code ignored;
      connection->socket.close(ignored);
    });
    auto send = [this, connection, done = std::move(done)]() mutable {
      net::async_write(connection->socket, net::buffer(connection->request),
                       [this, connection, done = std::move(done)](error_code error,
                                                                  size_t) mutable {
                         if (error) return Finish(connection, std::move(done), error, false);
                         Read(connection, std::move(done));
                       });
    };
    if (connection->socket.is_open()) return send();
    connection->socket.async_connect(
        gateway_, [connection, send = std::move(send)](error_code error) mutable {
          if (error) {
            // The done of a failed connect is in `send`, which we run to report the error.
            error_code ignored;
            connection->socket.close(ignored);
          }
          send();
        });
  }

  void Read(std::shared_ptr<Connection> connection, Done done) {
    connection->parser.emplace();
    connection->parser->body_limit(64 << 20);
    http::async_read(connection->socket, connection->buffer, *connection->parser,
                     [this, connection, done = std::move(done)](error_code error,
                                                                size_t) mutable {
                       Finish(connection, std::move(done), error, true);
                     });
  }

  void Finish(std::shared_ptr<Connection> connection, Done done, error_code error, bool read) {
    connection->timer.cancel();
    if (error || !read) {
      error_code ignored;
      connection->socket.close(ignored);
      connection->buffer.clear();
      done(connection->timed_out
               ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer in time")
               : grpc::Status(grpc::StatusCode::UNAVAILABLE, error.message()));
      return;
    }
    const auto& response = connection->parser->get();
    grpc::Status status = StatusOf(response.result_int(), response.body());
    if (response.keep_alive()) {
      idle_.push_back(connection);
    } else {
      error_code ignored;
      connection->socket.close(ignored);
    }
    done(status);
  }

  const tcp::endpoint gateway_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::shared_ptr<Connection>> idle_;  // only on io_'s thread
  std::thread thread_;
};

// GetPerson of the caller in JSON through the gateway: a directory read (the volunteer's own
// record, a token check and one Redis read) behind HTTP, JSON transcoding and the second hop.
class GatewayGetPersonScenario final : public Scenario {
 public:
  GatewayGetPersonScenario(tcp::endpoint gateway, std::string host,
                           std::vector<BenchVolunteer> volunteers)
      : pool_(gateway), host_(std::move(host)), volunteers_(std::move(volunteers)) {}

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      const BenchVolunteer& caller = volunteers_[static_cast<size_t>(slot) % volunteers_.size()];
      std::string body = absl::StrCat(R"({"personId":")", caller.person_id, R"("})");
      std::string request = absl::StrCat(
          "POST /peerwell.directory.v1.DirectoryService/GetPerson HTTP/1.1\r\nHost: ", host_,
          "\r\nContent-Type: application/json\r\nAuthorization: ", caller.authorization,
          "\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
      pool_.Call(std::move(request), context->deadline(), std::move(done));
    };
  }

  std::vector<std::string> Notes() override {
    return {absl::StrFormat(
        "GetPerson in JSON through the gateway, %d volunteers' tokens, one keep-alive HTTP/1.1 "
        "connection per call in flight",
        static_cast<int>(volunteers_.size()))};
  }

 private:
  HttpCallPool pool_;
  const std::string host_;
  const std::vector<BenchVolunteer> volunteers_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> MakeGatewayGetPersonScenario(
    const ScenarioContext& context) {
  size_t colon = context.gateway_addr.rfind(':');
  int port = 0;
  error_code error;
  auto address = net::ip::make_address(
      colon == std::string::npos ? "" : context.gateway_addr.substr(0, colon), error);
  if (colon == std::string::npos || error ||
      !absl::SimpleAtoi(context.gateway_addr.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--gateway_addr: expected a numeric host:port, got '", context.gateway_addr, "'"));
  }
  auto organisations = CreateOrganisations(context, 1, context.volunteers);
  if (!organisations.ok()) return organisations.status();
  return std::make_unique<GatewayGetPersonScenario>(
      tcp::endpoint(address, static_cast<unsigned short>(port)), context.gateway_addr,
      std::move(organisations->front().volunteers));
}

}  // namespace peerwell::bench
