// Parsers for the values users type on the `clownix` command line. Each returns
// INVALID_ARGUMENT with a message that quotes the offending word and shows an accepted form.
// Range checks that belong to the API (names, memory, percentages) are the server's: these only
// turn words into the API's types.
#ifndef CLOWNIX_CLIENTS_CLI_VALUES_H_
#define CLOWNIX_CLIENTS_CLI_VALUES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::cli {

// Repeated `--label key=value` into a map. The key must be non-empty; a key given twice is an
// error (rather than a silent override).
absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& words);

// A NIC as `eth1` or `1` into its index.
absl::StatusOr<uint32_t> ParseNicIndex(absl::string_view word);

// An endpoint at the start of `words`: `tap:NAME` (one word), `VM/NIC` (one word) or `VM NIC`
// (two words). `*used` receives the number of words consumed.
absl::StatusOr<v1::Endpoint> ParseEndpoint(absl::Span<const std::string> words, size_t* used);

// A non-negative integer that fits in 32 bits; `what` names it in errors ("--mem").
absl::StatusOr<uint32_t> ParseUint32(absl::string_view what, absl::string_view word);

// A non-negative 64-bit integer (revisions).
absl::StatusOr<uint64_t> ParseUint64(absl::string_view what, absl::string_view word);

// A duration with a unit ("10ms", "1.5s", "250us"; "0" alone is allowed) into microseconds.
absl::StatusOr<uint32_t> ParseDurationUs(absl::string_view what, absl::string_view word);

// A duration with a unit into milliseconds (for RPC timeouts).
absl::StatusOr<uint32_t> ParseDurationMs(absl::string_view what, absl::string_view word);

// A percentage, "5", "0.5" or "5%".
absl::StatusOr<double> ParsePercent(absl::string_view what, absl::string_view word);

// A rate, "100" (kbit/s), "500kbit", "10mbit" or "1gbit", into kbit/s.
absl::StatusOr<uint64_t> ParseRateKbps(absl::string_view what, absl::string_view word);

// "switch" or "hub".
absl::StatusOr<v1::LanMode> ParseLanMode(absl::string_view word);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_VALUES_H_
