#include "services/directory/directory_server.h"

int main(int argc, char** argv) {
  using namespace peerwell;
  return RunServerMain(argc, argv, directory::DirectoryDefaults(), directory::BuildDirectoryServer);
}
