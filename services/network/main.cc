#include "services/network/network_server.h"

int main(int argc, char** argv) {
  using namespace peerwell;
  return RunServerMain(argc, argv, network::NetworkDefaults(), network::BuildNetworkServer);
}
