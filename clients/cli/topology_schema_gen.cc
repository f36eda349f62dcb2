// topology_schema_gen DESCRIPTOR_SET [ROOT]: prints the JSON Schema of topology files
// (topology_schema.h) made from a descriptor set built with --include_source_info. The build
// runs it (//clients/cli:topology_schema_json); topology_schema_test compares its output with
// docs/topology.schema.json.
#include <fstream>
#include <iostream>

#include "clients/cli/topology_schema.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: topology_schema_gen DESCRIPTOR_SET [ROOT]\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  google::protobuf::FileDescriptorSet files;
  if (!in || !files.ParseFromIstream(&in)) {
    std::cerr << "topology_schema_gen: cannot read a FileDescriptorSet from " << argv[1] << "\n";
    return 1;
  }
  absl::StatusOr<std::string> schema =
      clownix::cli::TopologySchema(files, argc == 3 ? argv[2] : "clownix.v1.Network");
  if (!schema.ok()) {
    std::cerr << "topology_schema_gen: " << schema.status().message() << "\n";
    return 1;
  }
  std::cout << *schema;
  return std::cout.good() ? 0 : 1;
}
