#include "services/checkin/checkin_server.h"

int main(int argc, char** argv) {
  using namespace peerwell;
  return RunServerMain(argc, argv, checkin::CheckinDefaults(), checkin::BuildCheckinServer);
}
