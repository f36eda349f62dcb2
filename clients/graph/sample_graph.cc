// sample_graph: prints the DOT picture of SampleNetwork(), for the example in docs/graph.md:
//   bazel run //clients/graph:sample_graph | dot -Tsvg > docs/graph-example.svg
#include <iostream>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "clients/graph/dot_builder.h"
#include "clients/graph/sample_network.h"

int main() {
  clownix::graph::DotBuilder::Options options;
  options.time = absl::FromCivil(absl::CivilSecond(2025, 1, 15, 10, 3, 8), absl::UTCTimeZone());
  options.time_is_revision_time = true;
  std::cout << clownix::graph::DotBuilder(options).Build(clownix::graph::SampleNetwork());
  return 0;
}
