#pragma once

// A small TCP proxy on 127.0.0.1 in front of a Unix socket (the test's redis-server), for the
// network faults a Kubernetes pod meets on its way to Redis: the link cut (every connection
// reset, new ones refused) or black-holed (connections stay open and nothing passes either way,
// as when packets are dropped; what was sent waits, as TCP would retransmit it, and passes once
// the link heals).

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace peerwell::chaos {

class TcpProxy {
 public:
  explicit TcpProxy(std::string unix_socket_path);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void Heal();       // forward everything again
  void Cut();        // reset every connection; refuse new ones until healed
  void BlackHole();  // pass nothing, either way, until healed

 private:
  enum class Mode { kForward, kCut, kBlackHole };
  struct Link {
    int client;
    int server;
  };
  void SetMode(Mode mode);
  void Loop();
  void CloseAll();

  const std::string target_;
  int listener_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<Mode> mode_{Mode::kForward};
  std::atomic<bool> stopping_{false};
  std::vector<Link> links_;  // the loop's thread only
  std::thread thread_;
};

}  // namespace peerwell::chaos
