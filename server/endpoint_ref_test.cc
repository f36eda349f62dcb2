#include "server/endpoint_ref.h"

#include <set>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

TEST(EndpointRef, NicAndTapKeepTheirParts) {
  EndpointRef nic = EndpointRef::Nic("vm1", 2);
  EXPECT_FALSE(nic.is_tap());
  EXPECT_EQ(nic.vm(), "vm1");
  EXPECT_EQ(nic.index(), 2);
  EXPECT_EQ(nic.tap(), "");
  EndpointRef tap = EndpointRef::Tap("t0");
  EXPECT_TRUE(tap.is_tap());
  EXPECT_EQ(tap.tap(), "t0");
  EXPECT_EQ(tap.vm(), "");
}

TEST(EndpointRef, StoreKeyIsTheLinksKey) {
  EXPECT_EQ(EndpointRef::Nic("vm1", 1).StoreKey(), "vm1/eth1");
  EXPECT_EQ(EndpointRef::Tap("t0").StoreKey(), "tap:t0");
}

TEST(EndpointRef, RoundTripsThroughTheMessage) {
  for (const EndpointRef& ref :
       {EndpointRef::Nic("a", 0), EndpointRef::Nic("b", 7), EndpointRef::Tap("tap0")}) {
    EXPECT_EQ(EndpointRef::FromProto(ref.ToProto()), ref) << ref;
  }
  clownix::v1::Endpoint message;
  message.mutable_nic()->set_vm("r");
  message.mutable_nic()->set_index(3);
  EXPECT_EQ(EndpointRef::FromProto(message), EndpointRef::Nic("r", 3));
}

TEST(EndpointRef, ATapAndAVmOfTheSameNameDiffer) {
  std::set<EndpointRef> refs = {EndpointRef::Tap("x"), EndpointRef::Nic("x", 0),
                                EndpointRef::Nic("x", 1), EndpointRef::Tap("x")};
  EXPECT_EQ(refs.size(), 3u);
  EXPECT_NE(EndpointRef::Tap("x"), EndpointRef::Nic("x", 0));
}

}  // namespace
}  // namespace clownix::server
