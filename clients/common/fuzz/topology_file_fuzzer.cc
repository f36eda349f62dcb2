// libFuzzer target: the topology file parser (`clownix apply FILE`), fed arbitrary text, read as
// JSON or YAML as its first character says (ParseTopology), and as YAML whatever it starts with.
// Invariants: never crash; every refusal is INVALID_ARGUMENT naming the file; whatever is accepted
// prints back as JSON (as `clownix topo --json` does) that parses to the same Network.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "clients/common/topology_file.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

namespace {

void Fail(absl::string_view what, absl::string_view detail) {
  std::cerr << "topology_file_fuzzer: " << what << ": " << detail << "\n";
  abort();
}

void Check(const absl::StatusOr<clownix::v1::Network>& network) {
  if (!network.ok()) {
    if (network.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("refused with another code than INVALID_ARGUMENT", network.status().ToString());
    }
    if (!absl::StartsWith(network.status().message(), "fuzz:")) {
      Fail("the refusal does not name the file", network.status().ToString());
    }
    return;
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*network, &json).ok()) {
    Fail("an accepted Network does not print as JSON", network->DebugString());
  }
  absl::StatusOr<clownix::v1::Network> again = clownix::clients::ParseTopologyJson(json, "again");
  if (!again.ok()) Fail("the printed Network does not parse", again.status().ToString());
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);  // YAML's .nan and JSON's "NaN" are fine values
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  if (!differencer.Compare(*network, *again)) {
    Fail("the printed Network parses to another one", json);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  Check(clownix::clients::ParseTopology(text, "fuzz"));
  Check(clownix::clients::ParseTopologyYaml(text, "fuzz"));
  return 0;
}
