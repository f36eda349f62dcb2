#include "clients/web/network_model.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace clownix::web {
namespace {

v1::WatchResponse Parse(const char* text) {
  v1::WatchResponse response;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &response)) << text;
  return response;
}

TEST(NetworkModelTest, SnapshotThenEventsThenHeartbeat) {
  NetworkModel model;
  EXPECT_FALSE(model.has_snapshot());
  model.Apply(Parse(R"pb(
    snapshot {
      topology {
        revision: 4
        vms { name: "vm1" }
        lans { name: "lan1" }
        links {
          endpoint { nic { vm: "vm1" index: 1 } }
          lan: "lan1"
        }
      }
    })pb"));
  EXPECT_TRUE(model.has_snapshot());
  EXPECT_EQ(model.revision(), 4u);
  model.Apply(Parse(R"pb(
    events {
      revision: 5
      changes {
        type: CREATED
        lan { name: "lan2" }
      }
    }
    events {
      revision: 6
      changes {
        type: DELETED
        vm { name: "vm1" }
      }
    })pb"));
  v1::Network network = model.ToNetwork();
  EXPECT_EQ(network.revision(), 6u);
  EXPECT_EQ(network.vms_size(), 0);
  EXPECT_EQ(network.links_size(), 0) << "a deleted VM takes its links along";
  ASSERT_EQ(model.LanNames().size(), 2u);
  EXPECT_EQ(model.LanNames()[1], "lan2");
  model.Apply(Parse("heartbeat { revision: 9 }"));
  EXPECT_EQ(model.revision(), 9u);
}

TEST(NetworkModelTest, LinksAreKeyedByEndpoint) {
  NetworkModel model;
  model.Apply(Parse(R"pb(
    snapshot { topology { revision: 1 } }
    events {
      revision: 2
      changes {
        type: CREATED
        link {
          endpoint { tap: "t0" }
          lan: "lan1"
        }
      }
      changes {
        type: UPDATED
        link {
          endpoint { tap: "t0" }
          lan: "lan1"
          up: true
        }
      }
    })pb"));
  v1::Network network = model.ToNetwork();
  ASSERT_EQ(network.links_size(), 1);
  EXPECT_TRUE(network.links(0).up());
  EXPECT_EQ(EndpointKey(network.links(0).endpoint()), "tap:t0");
}

}  // namespace
}  // namespace clownix::web
