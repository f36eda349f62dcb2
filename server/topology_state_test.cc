#include "server/topology_state.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using clownix::v1::Change;
using clownix::v1::Event;
using clownix::v1::Network;

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

Event VmEvent(uint64_t revision, Change::Type type, const std::string& name, uint32_t number) {
  return Parse<Event>(absl::StrCat("revision: ", revision,
                                   " changes { type: ", Change::Type_Name(type), " vm { name: \"",
                                   name, "\" number: ", number, " } }"));
}

TEST(TopologyStateTest, ApplyUpsertsAndErasesAndMovesTheRevision) {
  TopologyState state;
  state.Apply(VmEvent(1, Change::CREATED, "a", 1));
  state.Apply(Parse<Event>(R"pb(
    revision: 2
    changes {
      type: CREATED
      lan { name: "l" }
    }
    changes {
      type: CREATED
      link {
        endpoint { nic { vm: "a" index: 1 } }
        lan: "l"
      }
    }
  )pb"));
  EXPECT_EQ(state.revision(), 2u);
  ASSERT_NE(state.FindVm("a"), nullptr);
  ASSERT_NE(state.FindLink("a/eth1"), nullptr);
  EXPECT_EQ(state.LinksOnLan("l"), std::set<std::string>{"a/eth1"});
  state.Apply(Parse<Event>(R"pb(
    revision: 3
    changes {
      type: DELETED
      link {
        endpoint { nic { vm: "a" index: 1 } }
        lan: "l"
      }
    }
    changes {
      type: DELETED
      lan { name: "l" }
    }
  )pb"));
  EXPECT_EQ(state.FindLink("a/eth1"), nullptr);
  EXPECT_EQ(state.FindLan("l"), nullptr);
  EXPECT_TRUE(state.LinksOnLan("l").empty());
}

TEST(TopologyStateTest, ALinkMovedToAnotherLanLeavesTheOldLansIndex) {
  TopologyState state;
  state.Apply(Parse<Event>(R"pb(
    revision: 1
    changes {
      type: CREATED
      tap { name: "t" }
    }
    changes {
      type: CREATED
      lan { name: "x" }
    }
    changes {
      type: CREATED
      lan { name: "y" }
    }
    changes {
      type: CREATED
      link {
        endpoint { tap: "t" }
        lan: "x"
      }
    }
  )pb"));
  state.Apply(Parse<Event>(R"pb(
    revision: 2
    changes {
      type: UPDATED
      link {
        endpoint { tap: "t" }
        lan: "y"
      }
    }
  )pb"));
  EXPECT_TRUE(state.LinksOnLan("x").empty());
  EXPECT_EQ(state.LinksOnLan("y"), std::set<std::string>{"tap:t"});
}

TEST(TopologyStateTest, FreedVmNumbersAreReusedSmallestFirst) {
  TopologyState state;
  EXPECT_EQ(state.NextVmNumber(), 1u);
  state.Apply(VmEvent(1, Change::CREATED, "a", 1));
  state.Apply(VmEvent(2, Change::CREATED, "b", 2));
  state.Apply(VmEvent(3, Change::CREATED, "c", 3));
  EXPECT_EQ(state.NextVmNumber(), 4u);
  state.Apply(VmEvent(4, Change::DELETED, "c", 3));
  state.Apply(VmEvent(5, Change::DELETED, "a", 1));
  EXPECT_EQ(state.NextVmNumber(), 1u);
  state.Apply(VmEvent(6, Change::CREATED, "d", 1));
  EXPECT_EQ(state.NextVmNumber(), 3u);
}

TEST(TopologyStateTest, NetworkRoundTrip) {
  Network network = Parse<Network>(R"pb(
    revision: 42
    vms { name: "a" number: 1 admin: true image: "tiny" }
    vms { name: "b" number: 5 admin: false image: "debian" }
    lans { name: "l" }
    taps { name: "t" lan: "l" }
    links {
      endpoint { nic { vm: "b" index: 2 } }
      lan: "l"
    }
    links {
      endpoint { tap: "t" }
      lan: "l"
    }
  )pb");
  absl::StatusOr<TopologyState> state = TopologyState::FromNetwork(network);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->revision(), 42u);
  EXPECT_EQ(state->NextVmNumber(), 2u) << "numbers 2..4 are free";
  EXPECT_EQ(state->LinksOnLan("l").size(), 2u);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(state->ToNetwork(), network))
      << state->ToNetwork().DebugString();
}

TEST(TopologyStateTest, AVmRecordedBeforeTheAdminFieldHasTheAdminNetwork) {
  TopologyState state;
  state.Apply(VmEvent(1, Change::CREATED, "a", 1));
  ASSERT_TRUE(state.FindVm("a")->has_admin());
  EXPECT_TRUE(state.FindVm("a")->admin());
  state.Apply(Parse<Event>(R"pb(
    revision: 2
    changes {
      type: UPDATED
      vm { name: "a" number: 1 admin: false }
    }
  )pb"));
  EXPECT_FALSE(state.FindVm("a")->admin());
  absl::StatusOr<TopologyState> old =
      TopologyState::FromNetwork(Parse<Network>(R"pb(vms { name: "b" number: 1 })pb"));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->FindVm("b")->has_admin() && old->FindVm("b")->admin());
}

TEST(TopologyStateTest, AVmRecordedBeforeTheImageFieldRunsTheBuiltinImage) {
  TopologyState state;
  state.Apply(VmEvent(1, Change::CREATED, "a", 1));
  EXPECT_EQ(state.FindVm("a")->image(), kBuiltinImage);
  absl::StatusOr<TopologyState> old =
      TopologyState::FromNetwork(Parse<Network>(R"pb(vms { name: "b" number: 1 })pb"));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->FindVm("b")->image(), "tiny");
}

TEST(TopologyStateTest, FromNetworkRefusesABrokenSnapshot) {
  for (const char* text : {
           R"pb(vms { name: "a" number: 1 }
                vms { name: "b" number: 1 })pb",
           R"pb(vms { name: "a" number: 1 }
                vms { name: "a" number: 2 })pb",
           R"pb(vms { name: "a" })pb",
           R"pb(lans { name: "l" }
                links {
                  endpoint { nic { vm: "x" index: 1 } }
                  lan: "l"
                })pb",
           R"pb(taps { name: "t" }
                links {
                  endpoint { tap: "t" }
                  lan: "nowhere"
                })pb",
       }) {
    absl::StatusOr<TopologyState> state = TopologyState::FromNetwork(Parse<Network>(text));
    EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace clownix::server
