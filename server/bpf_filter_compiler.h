// CompileCaptureFilter: a capture filter in tcpdump's syntax, compiled by libpcap into the
// classic BPF program the switch runs on each frame (switchcore::CaptureSpec::program).
//
// libpcap compiles against a "dead" handle (pcap_open_dead, DLT_EN10MB): no device is opened,
// nothing needs privileges. Its compiler keeps global state and is not reentrant in older
// releases, so calls are serialized here.
#ifndef CLOWNIX_SERVER_BPF_FILTER_COMPILER_H_
#define CLOWNIX_SERVER_BPF_FILTER_COMPILER_H_

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace clownix::server {

// The program for `filter` on Ethernet frames cut at `snaplen` bytes (1..65535). An empty (or
// all-blank) filter gives an empty program: every frame. INVALID_ARGUMENT with libpcap's message
// for a filter it cannot compile; INTERNAL if libpcap cannot make a handle. Thread-safe.
absl::StatusOr<std::vector<sock_filter>> CompileCaptureFilter(const std::string& filter,
                                                              uint32_t snaplen);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_BPF_FILTER_COMPILER_H_
