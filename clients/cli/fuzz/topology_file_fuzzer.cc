// libFuzzer target: the topology file parser (`clownix apply FILE`), fed arbitrary text.
// Invariants: never crash; every refusal is INVALID_ARGUMENT naming the file; whatever is accepted
// prints back as JSON (as `clownix topo --json` does) that parses to the same Network.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "clients/cli/topology_file.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

namespace {

void Fail(absl::string_view what, absl::string_view detail) {
  std::cerr << "topology_file_fuzzer: " << what << ": " << detail << "\n";
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<clownix::v1::Network> network = clownix::cli::ParseTopologyJson(text, "fuzz.json");
  if (!network.ok()) {
    if (network.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("refused with another code than INVALID_ARGUMENT", network.status().ToString());
    }
    if (!absl::StartsWith(network.status().message(), "fuzz.json: ")) {
      Fail("the refusal does not name the file", network.status().ToString());
    }
    return 0;
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*network, &json).ok()) {
    Fail("an accepted Network does not print as JSON", network->DebugString());
  }
  absl::StatusOr<clownix::v1::Network> again = clownix::cli::ParseTopologyJson(json, "again");
  if (!again.ok()) Fail("the printed Network does not parse", again.status().ToString());
  if (!google::protobuf::util::MessageDifferencer::Equals(*network, *again)) {
    Fail("the printed Network parses to another one", json);
  }
  return 0;
}
