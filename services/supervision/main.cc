#include "services/supervision/supervision_server.h"

int main(int argc, char** argv) {
  using namespace peerwell;
  return RunServerMain(argc, argv, supervision::SupervisionDefaults(),
                       supervision::BuildSupervisionServer);
}
