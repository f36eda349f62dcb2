// libFuzzer target: label selectors (ListRequest.label_selector and the like), fed arbitrary text
// and arbitrary labels.
// Invariants: never crash; a refusal is INVALID_ARGUMENT; and for labels ValidateLabels accepts,
// every label can be selected: "key==value" and "key" match them, "key!=value" and "!key" do not,
// with or without spaces around the terms.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/escaping.h"
#include "google/protobuf/map.h"
#include "server/label_selector.h"
#include "server/names.h"

namespace {

using clownix::server::LabelSelector;
using Labels = google::protobuf::Map<std::string, std::string>;

void Fail(const std::string& what, const std::string& selector) {
  std::cerr << "label_selector_fuzzer: " << what << ": \"" << absl::CHexEscape(selector) << "\"\n";
  abort();
}

// Whether `selector` parses and matches `labels`; a selector built from valid labels must parse.
bool MustMatch(const std::string& selector, const Labels& labels) {
  absl::StatusOr<LabelSelector> parsed = LabelSelector::Parse(selector);
  if (!parsed.ok())
    Fail("a selector of valid labels is refused: " + parsed.status().ToString(), selector);
  return parsed->Matches(labels);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Labels labels;
  const int count = in.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < count; ++i) {
    std::string key = in.ConsumeRandomLengthString(70);
    labels[key] = in.ConsumeRandomLengthString(70);
  }
  const std::string text = in.ConsumeRemainingBytesAsString();

  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(text);
  if (!selector.ok()) {
    if (selector.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("refused with another code than INVALID_ARGUMENT", text);
    }
  } else {
    selector->Matches(labels);
    if (selector->MatchesAll() && !selector->Matches(Labels())) Fail("matches-all does not", text);
  }

  if (!clownix::server::ValidateLabels("fuzz", labels).ok()) return 0;
  std::string all;
  for (const auto& [key, value] : labels) {
    if (!MustMatch(key + "==" + value, labels)) Fail("key==value does not match", key);
    if (!MustMatch(" " + key + " == " + value + " ", labels)) Fail("spaced == does not", key);
    if (!MustMatch(key, labels)) Fail("key does not match", key);
    if (MustMatch(key + "!=" + value, labels)) Fail("key!=value matches", key);
    if (MustMatch("!" + key, labels)) Fail("!key matches", key);
    if ((value.empty() || value[0] != '=') && !MustMatch(key + "=" + value, labels)) {
      Fail("key=value does not match", key);
    }
    all += (all.empty() ? "" : ",") + key + "==" + value;
  }
  if (!MustMatch(all, labels)) Fail("the conjunction of all labels does not match", all);
  return 0;
}
