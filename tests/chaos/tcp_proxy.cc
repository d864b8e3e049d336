#include "tests/chaos/tcp_proxy.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace peerwell::chaos {
namespace {

// Writes all of `data` (a blocking socket; Redis replies and commands are small).
bool WriteAll(int fd, const char* data, ssize_t size) {
  while (size > 0) {
    ssize_t written = send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
    if (written <= 0) return false;
    data += written;
    size -= written;
  }
  return true;
}

int ConnectUnix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A reset rather than an orderly close, as a dropped link looks to the peer.
void Reset(int fd) {
  linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  close(fd);
}

}  // namespace

TcpProxy::TcpProxy(std::string unix_socket_path) : target_(std::move(unix_socket_path)) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener_, 64) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      pipe2(wake_, O_CLOEXEC) != 0) {
    throw std::runtime_error("tcp proxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { Loop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  SetMode(Mode::kCut);
  thread_.join();
  CloseAll();
  close(listener_);
  close(wake_[0]);
  close(wake_[1]);
}

void TcpProxy::Heal() { SetMode(Mode::kForward); }
void TcpProxy::Cut() { SetMode(Mode::kCut); }
void TcpProxy::BlackHole() { SetMode(Mode::kBlackHole); }

void TcpProxy::SetMode(Mode mode) {
  mode_ = mode;
  char byte = 1;
  (void)write(wake_[1], &byte, 1);
}

void TcpProxy::CloseAll() {
  for (const Link& link : links_) {
    Reset(link.client);
    if (link.server >= 0) Reset(link.server);
  }
  links_.clear();
}

void TcpProxy::Loop() {
  char buffer[64 * 1024];
  while (!stopping_) {
    const Mode mode = mode_.load();
    if (mode == Mode::kCut) CloseAll();
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
    // Black-holed: nothing is read or accepted, so what was sent waits in the kernel's buffers.
    if (mode != Mode::kBlackHole) {
      fds.push_back({listener_, POLLIN, 0});
      for (const Link& link : links_) {
        fds.push_back({link.client, POLLIN, 0});
        fds.push_back({link.server, POLLIN, 0});
      }
    }
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) {
      (void)read(wake_[0], buffer, sizeof(buffer));
      continue;  // the mode changed: look again
    }
    if (mode == Mode::kBlackHole) continue;
    // The links polled this pass; one accepted below waits for the next.
    const size_t polled = links_.size();
    if (fds[1].revents != 0) {
      int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        int server = mode == Mode::kForward ? ConnectUnix(target_) : -1;
        if (server < 0) {
          Reset(client);  // cut, or Redis itself is down: refused
        } else {
          int on = 1;
          setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
          links_.push_back({client, server});
        }
      }
    }
    std::vector<Link> kept;
    for (size_t i = 0; i < links_.size(); ++i) {
      const Link& link = links_[i];
      if (i >= polled) {
        kept.push_back(link);
        continue;
      }
      bool open = true;
      for (int side = 0; side < 2 && open; ++side) {
        const pollfd& ready = fds[2 + 2 * i + side];
        if (ready.revents == 0) continue;
        int from = side == 0 ? link.client : link.server;
        int to = side == 0 ? link.server : link.client;
        ssize_t got = recv(from, buffer, sizeof(buffer), 0);
        open = got > 0 && WriteAll(to, buffer, got);
      }
      if (open) {
        kept.push_back(link);
      } else {
        Reset(link.client);
        Reset(link.server);
      }
    }
    links_ = std::move(kept);
  }
}

}  // namespace peerwell::chaos
