// `clownix capture VM NIC | tap:NAME | TAP | LAN`: a live packet capture (Switch.Capture), written
// as a pcapng/pcap file (-w FILE, or -w - to pipe into tshark or Wireshark) or printed a line per
// frame.
#ifndef CLOWNIX_CLIENTS_CLI_CAPTURE_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_CAPTURE_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunCaptureCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_CAPTURE_COMMAND_H_
