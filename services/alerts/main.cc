#include "services/alerts/alerts_server.h"

int main(int argc, char** argv) {
  using namespace peerwell;
  return RunServerMain(argc, argv, alerts::AlertsDefaults(), alerts::BuildAlertsServer);
}
