// DotBuilder: a clownix network as a Graphviz DOT picture. Pure: the same network and options
// always give the same bytes, so pictures can be diffed and tests can compare text.
//
// What the picture shows:
// - a header (graph label, top left): title, revision and time, counts, an optional notice (for
//   example "clownixd unreachable"), and a legend of the state colours and line styles;
// - VMs as rounded boxes filled by state (running green, booting yellow, stopping orange, crashed
//   red, stopped grey, defined white), with name, number, state, admin IP, memory, NIC count,
//   labels and the reason of a crash or stop;
// - LANs as blue ellipses (name, mode, port count), host taps as purple arrows;
// - links as edges labelled with the NIC (eth1) and impairments, solid when up and dashed when
//   down, orange when impaired.
// Layout: dot, left to right. Edges are oriented along a breadth-first walk from the LANs (in name
// order), so a router sits between its LANs and a chain of LANs reads left to right.
#ifndef CLOWNIX_CLIENTS_GRAPH_DOT_BUILDER_H_
#define CLOWNIX_CLIENTS_GRAPH_DOT_BUILDER_H_

#include <string>

#include "absl/time/time.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::graph {

class DotBuilder {
 public:
  struct Options {
    // First words of the header.
    std::string title = "clownix";
    // The time shown beside the revision; InfinitePast shows none.
    absl::Time time = absl::InfinitePast();
    // True: `time` is when the revision was made ("at"); false: when the picture was ("as of").
    bool time_is_revision_time = false;
    // Zone `time` is shown in, with its abbreviation.
    absl::TimeZone zone = absl::UTCTimeZone();
    // A warning line in the header, in red; empty shows none.
    std::string notice;
  };

  explicit DotBuilder(Options options) : options_(std::move(options)) {}

  // The DOT text (an undirected `graph`) for `network`. Links or NICs naming a VM, LAN or tap the
  // network does not hold (a label selector filtered it out) get a dotted placeholder node.
  std::string Build(const v1::Network& network) const;

 private:
  Options options_;
};

}  // namespace clownix::graph

#endif  // CLOWNIX_CLIENTS_GRAPH_DOT_BUILDER_H_
