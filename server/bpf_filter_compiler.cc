#include "server/bpf_filter_compiler.h"

#include <pcap/pcap.h>

#include "absl/base/const_init.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace clownix::server {
namespace {

ABSL_CONST_INIT absl::Mutex compile_mu(absl::kConstInit);

}  // namespace

absl::StatusOr<std::vector<sock_filter>> CompileCaptureFilter(const std::string& filter,
                                                              uint32_t snaplen) {
  if (absl::StripAsciiWhitespace(filter).empty()) return std::vector<sock_filter>();
  absl::MutexLock lock(&compile_mu);
  pcap_t* handle = pcap_open_dead(DLT_EN10MB, static_cast<int>(snaplen));
  if (handle == nullptr) return absl::InternalError("libpcap: pcap_open_dead failed");
  struct bpf_program program;
  // Optimized, and no netmask: "ip broadcast" is refused, as tcpdump does without a device.
  if (pcap_compile(handle, &program, filter.c_str(), /*optimize=*/1, PCAP_NETMASK_UNKNOWN) != 0) {
    absl::Status error =
        absl::InvalidArgumentError(absl::StrCat("filter \"", filter, "\": ", pcap_geterr(handle)));
    pcap_close(handle);
    return error;
  }
  std::vector<sock_filter> out;
  out.reserve(program.bf_len);
  for (u_int i = 0; i < program.bf_len; ++i) {
    const struct bpf_insn& insn = program.bf_insns[i];
    out.push_back(sock_filter{insn.code, insn.jt, insn.jf, insn.k});
  }
  pcap_freecode(&program);
  pcap_close(handle);
  return out;
}

}  // namespace clownix::server
