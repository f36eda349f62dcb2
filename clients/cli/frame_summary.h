// FrameSummary: one line about a captured frame, as `clownix capture` prints it without -w:
//   12:04:05.123456789 a.eth1 in  98 02:00:00:01:00:01 > 02:00:00:02:00:01 IPv4 10.9.1.1 >
//   10.9.1.2 ICMP echo request
// (time of day, port, direction, length, MACs, then what the headers say: ARP, IPv4, IPv6 with
// ICMP, TCP or UDP ports, a VLAN tag; else the ethertype). Decoded by hand, headers only, and
// safe on any bytes (a short frame says "truncated").
#ifndef CLOWNIX_CLIENTS_CLI_FRAME_SUMMARY_H_
#define CLOWNIX_CLIENTS_CLI_FRAME_SUMMARY_H_

#include <string>

#include "absl/time/time.h"
#include "clients/cli/capture_file_reader.h"

namespace clownix::cli {

// The line, without a newline; the time is in `zone`.
std::string FrameSummary(const CaptureFileReader::Frame& frame, absl::TimeZone zone);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_FRAME_SUMMARY_H_
