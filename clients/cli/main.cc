// clownix: the command-line client of clownixd. See cli.h.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "clients/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return clownix::cli::RunCli(args, std::getenv("CLOWNIX_SERVER"), std::getenv("CLOWNIX_WORK_DIR"),
                              std::cout, std::cerr, std::getenv);
}
