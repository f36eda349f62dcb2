#include "vmm/spec_file.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_io.h"
#include "common/seed_rules.h"

namespace clownix::vmm {
namespace {

constexpr int kFormat = 2;
constexpr size_t kMaxFileBytes = 64 * 1024;  // A spec is a few hundred bytes.

absl::Status LineError(int line_number, absl::string_view line, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("line ", line_number, " \"", absl::CHexEscape(line), "\": ", what));
}

}  // namespace

std::string SpecFile::Encode(const Contents& contents) {
  const VmSpec& spec = contents.spec;
  std::string text = absl::StrCat("format=", kFormat, "\nname=", spec.name,
                                  "\nnumber=", spec.number, "\nmem=", spec.mem_mib, "\n");
  if (!spec.root_fs.empty()) absl::StrAppend(&text, "rootfs=", spec.root_fs, "\n");
  for (const NicSpec& nic : spec.nics)
    absl::StrAppend(&text, "nic=", nic.index, " ", nic.ctl_path, "\n");
  for (const NicSpec& nic : contents.boot_nics) {
    absl::StrAppend(&text, "bootnic=", nic.index, " ", nic.ctl_path, "\n");
  }
  for (const auto& [index, mac] : spec.macs) absl::StrAppend(&text, "mac=", index, " ", mac, "\n");
  absl::StrAppend(&text, "end\n");
  return text;
}

absl::StatusOr<SpecFile::Contents> SpecFile::Parse(absl::string_view text) {
  Contents contents;
  std::set<std::string> seen;
  bool has_format = false;
  bool ended = false;
  bool has_boot_nics = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    if (ended) return LineError(line_number, line, "text after the end line");
    if (line == "end") {
      ended = true;
      continue;
    }
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    const absl::string_view key = kv.first;
    const absl::string_view value = kv.second;
    if (key == "nic" || key == "bootnic") {
      std::pair<absl::string_view, absl::string_view> fields =
          absl::StrSplit(value, absl::MaxSplits(' ', 1));
      NicSpec nic;
      if (!absl::SimpleAtoi(fields.first, &nic.index) || fields.second.empty()) {
        return LineError(line_number, line, "not INDEX CTL_PATH");
      }
      if (absl::Status s = common::ValidateNicIndex(nic.index); !s.ok()) {
        return LineError(line_number, line, s.message());
      }
      nic.ctl_path = std::string(fields.second);
      std::vector<NicSpec>& nics = key == "nic" ? contents.spec.nics : contents.boot_nics;
      for (const NicSpec& other : nics) {
        if (other.index == nic.index) return LineError(line_number, line, "NIC given twice");
      }
      nics.push_back(std::move(nic));
      has_boot_nics |= key == "bootnic";
      continue;
    }
    if (key == "mac") {
      std::pair<absl::string_view, absl::string_view> fields =
          absl::StrSplit(value, absl::MaxSplits(' ', 1));
      int index = 0;
      if (!absl::SimpleAtoi(fields.first, &index))
        return LineError(line_number, line, "not INDEX MAC");
      if (absl::Status s = common::ValidateNicIndex(index); !s.ok()) {
        return LineError(line_number, line, s.message());
      }
      absl::StatusOr<std::string> mac = common::ParseChosenMac(fields.second);
      if (!mac.ok()) return LineError(line_number, line, mac.status().message());
      if (!contents.spec.macs.emplace(index, *std::move(mac)).second) {
        return LineError(line_number, line, "MAC given twice");
      }
      continue;
    }
    if (!seen.insert(std::string(key)).second) {
      return LineError(line_number, line, "key given twice");
    }
    if (key == "format") {
      int format = 0;
      if (line_number != 1 || !absl::SimpleAtoi(value, &format) || format != kFormat) {
        return LineError(line_number, line,
                         absl::StrCat("only format ", kFormat, ", first, is known"));
      }
      has_format = true;
    } else if (key == "name") {
      if (absl::Status s = common::ValidateName("vm", value); !s.ok()) {
        return LineError(line_number, line, s.message());
      }
      contents.spec.name = std::string(value);
    } else if (key == "number") {
      if (!absl::SimpleAtoi(value, &contents.spec.number)) {
        return LineError(line_number, line, "not a number");
      }
      if (absl::Status s = common::ValidateVmNumber(contents.spec.number); !s.ok()) {
        return LineError(line_number, line, s.message());
      }
    } else if (key == "mem") {
      // Not held to today's limit: a VM that runs with more was allowed to when it booted.
      if (!absl::SimpleAtoi(value, &contents.spec.mem_mib) || contents.spec.mem_mib <= 0) {
        return LineError(line_number, line, "not a positive number");
      }
    } else if (key == "rootfs") {
      if (!absl::StartsWith(value, "/")) return LineError(line_number, line, "not absolute");
      contents.spec.root_fs = std::string(value);
    } else {
      return LineError(line_number, line, "unknown key");
    }
  }
  for (const char* key : {"name", "number", "mem"}) {
    if (!seen.count(key)) return absl::DataLossError(absl::StrCat("no ", key, "= line"));
  }
  if (has_format && !ended) {
    return absl::DataLossError("no end line: the file was cut short");
  }
  // Files from before boot NICs were recorded: the VM still has the NICs it booted with, as far
  // as anyone can tell.
  if (!has_format && !has_boot_nics) contents.boot_nics = contents.spec.nics;
  return contents;
}

absl::Status SpecFile::Write(const std::string& path, const Contents& contents) {
  return common::WriteFileDurably(path, Encode(contents), 0644);
}

absl::StatusOr<SpecFile::Contents> SpecFile::Read(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path, kMaxFileBytes);
  if (!text.ok()) return text.status();
  absl::StatusOr<Contents> contents = Parse(*text);
  if (!contents.ok()) {
    return absl::Status(contents.status().code(),
                        absl::StrCat(path, ": ", contents.status().message()));
  }
  return contents;
}

}  // namespace clownix::vmm
