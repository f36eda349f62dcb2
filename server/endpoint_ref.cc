#include "server/endpoint_ref.h"

#include "server/topology_state.h"

namespace clownix::server {

EndpointRef EndpointRef::FromProto(const clownix::v1::Endpoint& endpoint) {
  if (endpoint.has_nic()) {
    return Nic(endpoint.nic().vm(), static_cast<int>(endpoint.nic().index()));
  }
  return Tap(endpoint.tap());
}

clownix::v1::Endpoint EndpointRef::ToProto() const {
  clownix::v1::Endpoint endpoint;
  if (is_tap()) {
    endpoint.set_tap(name_);
  } else {
    endpoint.mutable_nic()->set_vm(name_);
    endpoint.mutable_nic()->set_index(static_cast<uint32_t>(index_));
  }
  return endpoint;
}

std::string EndpointRef::StoreKey() const { return EndpointKey(ToProto()); }

const std::string& EndpointRef::empty() {
  static const std::string* const kEmpty = new std::string();
  return *kEmpty;
}

}  // namespace clownix::server
