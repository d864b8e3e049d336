#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace peerwell::testing {

// A partner's webhook receiver on 127.0.0.1, one connection at a time: answers the n-th request
// with the n-th of `statuses` (the last one for every request after), and keeps what it was sent.
// A status of kHold reads the request and never answers: the connection stays open until the
// sender gives up or dies. `on_request`, when given, sees each request as it arrives (on the
// receiver's thread).
class TestReceiver {
 public:
  static constexpr int kHold = 0;
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  explicit TestReceiver(std::vector<int> statuses,
                        std::function<void(const Request&)> on_request = nullptr)
      : statuses_(std::move(statuses)),
        on_request_(std::move(on_request)),
        acceptor_(io_, {boost::asio::ip::tcp::v4(), 0}) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestReceiver() {
    stopping_ = true;
    // A blocking accept wakes for a connection, not for a close from another thread.
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket wake(io);
    boost::beast::error_code ignored;
    wake.connect({boost::asio::ip::address_v4::loopback(), static_cast<unsigned short>(port())},
                 ignored);
    thread_.join();
  }

  int port() const { return acceptor_.local_endpoint().port(); }
  std::vector<Request> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    namespace http = boost::beast::http;
    for (size_t served = 0; !stopping_;) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::beast::error_code error;
      acceptor_.accept(socket, error);
      if (error || stopping_) return;
      ++connections_;
      boost::beast::flat_buffer buffer;
      Request request;
      http::read(socket, buffer, request, error);
      if (error) continue;
      if (on_request_) on_request_(request);
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(request);
      }
      int status = statuses_[std::min(served++, statuses_.size() - 1)];
      if (status == kHold) {
        char byte;
        socket.read_some(boost::asio::buffer(&byte, 1), error);
        continue;
      }
      http::response<http::string_body> response{static_cast<http::status>(status), 11};
      if (response.result() != http::status::no_content) response.body() = "ok";
      response.prepare_payload();
      http::write(socket, response, error);
    }
  }

  std::vector<int> statuses_;
  std::function<void(const Request&)> on_request_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  absl::Mutex mu_;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace peerwell::testing
