#include "clients/cli/frame_summary.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace clownix::cli {
namespace {

uint8_t At(absl::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
uint16_t Be16(absl::string_view s, size_t i) {
  return static_cast<uint16_t>(At(s, i) << 8 | At(s, i + 1));
}

std::string Mac(absl::string_view s, size_t at) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", At(s, at), At(s, at + 1), At(s, at + 2),
                         At(s, at + 3), At(s, at + 4), At(s, at + 5));
}

std::string Ipv4(absl::string_view s, size_t at) {
  return absl::StrFormat("%d.%d.%d.%d", At(s, at), At(s, at + 1), At(s, at + 2), At(s, at + 3));
}

std::string Ipv6(absl::string_view s, size_t at) {
  std::string out;
  for (int i = 0; i < 8; ++i) absl::StrAppend(&out, i ? ":" : "", absl::Hex(Be16(s, at + 2 * i)));
  return out;
}

// ICMP, TCP or UDP at `at` of `frame`.
std::string Transport(absl::string_view frame, size_t at, int protocol) {
  if (protocol == 1 || protocol == 58) {
    if (frame.size() < at + 2) return protocol == 1 ? " ICMP truncated" : " ICMPv6 truncated";
    int type = At(frame, at);
    if (protocol == 1) {
      if (type == 8) return " ICMP echo request";
      if (type == 0) return " ICMP echo reply";
      return absl::StrCat(" ICMP type ", type);
    }
    if (type == 128) return " ICMPv6 echo request";
    if (type == 129) return " ICMPv6 echo reply";
    if (type == 135) return " ICMPv6 neighbor solicitation";
    if (type == 136) return " ICMPv6 neighbor advertisement";
    return absl::StrCat(" ICMPv6 type ", type);
  }
  if (protocol == 6 || protocol == 17) {
    const char* name = protocol == 6 ? "TCP" : "UDP";
    if (frame.size() < at + 4) return absl::StrCat(" ", name, " truncated");
    return absl::StrCat(" ", name, " ", Be16(frame, at), " > ", Be16(frame, at + 2));
  }
  return absl::StrCat(" protocol ", protocol);
}

std::string Payload(absl::string_view frame, size_t at, uint16_t ethertype) {
  switch (ethertype) {
    case 0x0800: {
      if (frame.size() < at + 20) return "IPv4 truncated";
      size_t header = (At(frame, at) & 0x0f) * 4;
      return absl::StrCat("IPv4 ", Ipv4(frame, at + 12), " > ", Ipv4(frame, at + 16),
                          Transport(frame, at + header, At(frame, at + 9)));
    }
    case 0x86dd:
      if (frame.size() < at + 40) return "IPv6 truncated";
      return absl::StrCat("IPv6 ", Ipv6(frame, at + 8), " > ", Ipv6(frame, at + 24),
                          Transport(frame, at + 40, At(frame, at + 6)));
    case 0x0806: {
      if (frame.size() < at + 28) return "ARP truncated";
      uint16_t op = Be16(frame, at + 6);
      if (op == 1) {
        return absl::StrCat("ARP who-has ", Ipv4(frame, at + 24), " tell ", Ipv4(frame, at + 14));
      }
      if (op == 2) {
        return absl::StrCat("ARP ", Ipv4(frame, at + 14), " is-at ", Mac(frame, at + 8));
      }
      return absl::StrCat("ARP op ", op);
    }
    default:
      return absl::StrFormat("ethertype 0x%04x", ethertype);
  }
}

}  // namespace

std::string FrameSummary(const CaptureFileReader::Frame& frame, absl::TimeZone zone) {
  const absl::Time time = absl::FromUnixNanos(frame.timestamp_ns);
  const char* direction = frame.direction == 1 ? "in " : frame.direction == 2 ? "out" : "-  ";
  std::string line = absl::StrCat(absl::FormatTime("%H:%M:%E9S", time, zone), " ",
                                  frame.interface.empty() ? "-" : frame.interface, " ", direction,
                                  " ", frame.wire_length);
  absl::string_view data = frame.data;
  if (data.size() < 14) return absl::StrCat(line, " truncated");
  absl::StrAppend(&line, " ", Mac(data, 6), " > ", Mac(data, 0), " ");
  uint16_t ethertype = Be16(data, 12);
  size_t at = 14;
  if (ethertype == 0x8100 && data.size() >= 18) {
    absl::StrAppend(&line, "vlan ", Be16(data, 14) & 0x0fff, " ");
    ethertype = Be16(data, 16);
    at = 18;
  }
  absl::StrAppend(&line, Payload(data, at, ethertype));
  return line;
}

}  // namespace clownix::cli
