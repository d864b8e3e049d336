#include "services/webhooks/webhooks_server.h"

int main(int argc, char** argv) {
  using namespace peerwell;
  return RunServerMain(argc, argv, webhooks::WebhooksDefaults(), webhooks::BuildWebhooksServer);
}
