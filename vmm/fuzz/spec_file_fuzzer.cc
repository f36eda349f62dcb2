// libFuzzer target: the spec file parser (spec_file.h), which a restarted clownixd runs on every
// VM's WORK/vms/NAME/spec, fed arbitrary text.
// Invariants: never crash; a refusal is DATA_LOSS; what is accepted obeys the seed's rules (name,
// number, NIC indices, no NIC twice, non-empty single-line control paths) and is written back by
// Encode to a file that parses to the same contents.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "common/seed_rules.h"
#include "vmm/spec_file.h"

namespace {

using clownix::vmm::NicSpec;
using clownix::vmm::SpecFile;

void Fail(const std::string& what, absl::string_view text) {
  std::cerr << "spec_file_fuzzer: " << what << ": \"" << absl::CHexEscape(text.substr(0, 600))
            << "\"\n";
  abort();
}

bool NicsValid(const std::vector<NicSpec>& nics) {
  std::set<int> indexes;
  for (const NicSpec& nic : nics) {
    if (!clownix::common::ValidateNicIndex(nic.index).ok() || !indexes.insert(nic.index).second ||
        nic.ctl_path.empty() || nic.ctl_path.find('\n') != std::string::npos) {
      return false;
    }
  }
  return true;
}

bool Same(const SpecFile::Contents& a, const SpecFile::Contents& b) {
  return a.spec.name == b.spec.name && a.spec.number == b.spec.number &&
         a.spec.mem_mib == b.spec.mem_mib && a.spec.nics == b.spec.nics &&
         a.boot_nics == b.boot_nics;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<SpecFile::Contents> contents = SpecFile::Parse(text);
  if (!contents.ok()) {
    if (contents.status().code() != absl::StatusCode::kDataLoss) {
      Fail("refused with another code than DATA_LOSS: " + contents.status().ToString(), text);
    }
    return 0;
  }
  if (!clownix::common::ValidateName("vm", contents->spec.name).ok() ||
      !clownix::common::ValidateVmNumber(contents->spec.number).ok() ||
      contents->spec.mem_mib <= 0 || !NicsValid(contents->spec.nics) ||
      !NicsValid(contents->boot_nics)) {
    Fail("accepts a spec the seed's rules refuse", text);
  }
  const std::string encoded = SpecFile::Encode(*contents);
  absl::StatusOr<SpecFile::Contents> again = SpecFile::Parse(encoded);
  if (!again.ok()) Fail("its own encoding is refused: " + again.status().ToString(), encoded);
  if (!Same(*contents, *again)) Fail("its own encoding reads back differently", encoded);
  return 0;
}
