// EndpointRef: something that plugs into a LAN (a VM's NIC or a tap), as a typed value.
//
// The runtime keys what it knows per port (the switch's port id, the impairments applied) by it,
// so nothing parses "vm1/eth1" back into its parts. The store keys links by a string
// (EndpointKey in topology_state.h); StoreKey() makes that string at the store's boundary.
#ifndef CLOWNIX_SERVER_ENDPOINT_REF_H_
#define CLOWNIX_SERVER_ENDPOINT_REF_H_

#include <ostream>
#include <string>
#include <tuple>

#include "proto/clownix/v1/resources.pb.h"

namespace clownix::server {

class EndpointRef {
 public:
  // NIC `index` (ethN) of VM `vm`.
  static EndpointRef Nic(std::string vm, int index) { return EndpointRef(std::move(vm), index); }
  // The tap named `tap`.
  static EndpointRef Tap(std::string tap) { return EndpointRef(std::move(tap), kTapIndex); }
  // The endpoint a message names (a nic, else its tap field).
  static EndpointRef FromProto(const clownix::v1::Endpoint& endpoint);

  bool is_tap() const { return index_ == kTapIndex; }
  // NIC: the VM's name and the interface index. Tap: "" and -1.
  const std::string& vm() const { return is_tap() ? empty() : name_; }
  int index() const { return index_; }
  // Tap: its name. NIC: "".
  const std::string& tap() const { return is_tap() ? name_ : empty(); }

  clownix::v1::Endpoint ToProto() const;
  // The store's key of the endpoint's link: "vm1/eth1", "tap:t0" (EndpointKey). Also how logs
  // name it.
  std::string StoreKey() const;

  friend bool operator==(const EndpointRef& a, const EndpointRef& b) {
    return a.index_ == b.index_ && a.name_ == b.name_;
  }
  friend bool operator!=(const EndpointRef& a, const EndpointRef& b) { return !(a == b); }
  friend bool operator<(const EndpointRef& a, const EndpointRef& b) {
    return std::tie(a.name_, a.index_) < std::tie(b.name_, b.index_);
  }
  friend std::ostream& operator<<(std::ostream& out, const EndpointRef& ref) {
    return out << ref.StoreKey();
  }

 private:
  static constexpr int kTapIndex = -1;
  static const std::string& empty();

  EndpointRef(std::string name, int index) : name_(std::move(name)), index_(index) {}

  std::string name_;  // the VM's or the tap's
  int index_;         // ethN, or kTapIndex
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_ENDPOINT_REF_H_
