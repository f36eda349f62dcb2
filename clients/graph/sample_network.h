// SampleNetwork: a campus of 20 VMs on 5 LANs (a core LAN, four routers, four edge LANs of four
// hosts each, a host tap on the core) in every VM state, with an impaired link and a down link.
// For the layout tests and the example picture in docs/graph.md.
#ifndef CLOWNIX_CLIENTS_GRAPH_SAMPLE_NETWORK_H_
#define CLOWNIX_CLIENTS_GRAPH_SAMPLE_NETWORK_H_

#include "proto/clownix/v1/resources.pb.h"

namespace clownix::graph {

v1::Network SampleNetwork();

}  // namespace clownix::graph

#endif  // CLOWNIX_CLIENTS_GRAPH_SAMPLE_NETWORK_H_
