#include "server/topology_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

std::string FreshDir() {
  std::string base = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  std::string dir =
      base + "/store-" + testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
  return dir;
}

Mutation CreateLan(const std::string& name) {
  Mutation m;
  m.mutable_create_lan()->mutable_lan()->set_name(name);
  return m;
}

Mutation CreateVm(const std::string& name) {
  Mutation m;
  m.mutable_create_vm()->mutable_vm()->set_name(name);
  m.mutable_create_vm()->mutable_vm()->set_nic_count(2);
  return m;
}

TopologyStore::Options Opts(const std::string& dir) {
  TopologyStore::Options options;
  options.work_dir = dir;
  return options;
}

TEST(TopologyStore, AcknowledgedMutationsSurviveReopen) {
  std::string dir = FreshDir();
  {
    auto store = TopologyStore::Create(Opts(dir));
    ASSERT_TRUE(store.ok()) << store.status();
    auto lan = (*store)->Mutate(CreateLan("l1"));
    ASSERT_TRUE(lan.ok());
    EXPECT_EQ(lan->revision, 1u);
    ASSERT_TRUE((*store)->Mutate(CreateVm("a")).ok());
    Mutation connect;
    connect.mutable_connect()->mutable_endpoint()->mutable_nic()->set_vm("a");
    connect.mutable_connect()->mutable_endpoint()->mutable_nic()->set_index(1);
    connect.mutable_connect()->set_lan("l1");
    auto linked = (*store)->Mutate(connect);
    ASSERT_TRUE(linked.ok());
    EXPECT_EQ(linked->revision, 3u);
    EXPECT_EQ(linked->event->changes_size(), 2);
    // Refused: changes nothing, takes no revision.
    EXPECT_EQ((*store)->Mutate(CreateLan("l1")).status().code(), absl::StatusCode::kAlreadyExists);
    EXPECT_EQ((*store)->revision(), 3u);
  }
  TopologyStore::Recovery recovery;
  auto store = TopologyStore::Create(Opts(dir), &recovery);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(recovery.journal_records, 3u);
  EXPECT_EQ((*store)->revision(), 3u);
  auto network = (*store)->Snapshot();
  ASSERT_EQ(network.links_size(), 1);
  EXPECT_EQ(network.links(0).lan(), "l1");
  EXPECT_EQ(network.vms(0).nics(1).lan(), "l1");
  // Revisions continue where they stopped.
  EXPECT_EQ((*store)->Mutate(CreateLan("l2"))->revision, 4u);
}

TEST(TopologyStore, SecondOpenOfTheSameWorkDirIsRefused) {
  std::string dir = FreshDir();
  auto first = TopologyStore::Create(Opts(dir));
  ASSERT_TRUE(first.ok());
  auto second = TopologyStore::Create(Opts(dir));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TopologyStore, ConcurrentWritersGetContiguousRevisions) {
  std::string dir = FreshDir();
  auto store = TopologyStore::Create(Opts(dir));
  ASSERT_TRUE(store.ok());
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::vector<uint64_t>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = (*store)->Mutate(CreateLan("t" + std::to_string(t) + "-" + std::to_string(i)));
        ASSERT_TRUE(r.ok());
        seen[t].push_back(r->revision);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<bool> used(kThreads * kEach + 1, false);
  for (const auto& revisions : seen) {
    for (size_t i = 1; i < revisions.size(); ++i) EXPECT_LT(revisions[i - 1], revisions[i]);
    for (uint64_t r : revisions) {
      ASSERT_LE(r, static_cast<uint64_t>(kThreads * kEach));
      EXPECT_FALSE(used[r]) << "revision " << r << " given twice";
      used[r] = true;
    }
  }
  EXPECT_EQ((*store)->revision(), static_cast<uint64_t>(kThreads * kEach));
}

TEST(TopologyStore, CompactionWritesASnapshotAndKeepsEverything) {
  std::string dir = FreshDir();
  TopologyStore::Options options = Opts(dir);
  options.compact_min_bytes = 2000;
  {
    auto store = TopologyStore::Create(options);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE((*store)->Mutate(CreateVm("vm" + std::to_string(i))).ok());
    }
    Mutation del;
    del.mutable_delete_vm()->set_name("vm7");
    ASSERT_TRUE((*store)->Mutate(del).ok());
  }
  struct stat st;
  ASSERT_EQ(stat((dir + "/state.json").c_str(), &st), 0);
  ASSERT_EQ(stat((dir + "/journal.log").c_str(), &st), 0);
  EXPECT_LT(st.st_size, 2 * 2000 + 4096) << "the journal was never compacted";
  TopologyStore::Recovery recovery;
  auto store = TopologyStore::Create(options, &recovery);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_GT(recovery.snapshot_revision, 0u);
  EXPECT_EQ((*store)->revision(), 201u);
  auto network = (*store)->Snapshot();
  EXPECT_EQ(network.vms_size(), 199);
  // VM numbers survive: the freed number 8 is reused first.
  auto created = (*store)->Mutate(CreateVm("new"));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->event->changes(0).vm().number(), 8u);
}

TEST(TopologyStore, TornJournalTailIsCutAndReported) {
  std::string dir = FreshDir();
  {
    auto store = TopologyStore::Create(Opts(dir));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Mutate(CreateLan("a")).ok());
    ASSERT_TRUE((*store)->Mutate(CreateLan("b")).ok());
  }
  std::string journal = dir + "/journal.log";
  struct stat st;
  ASSERT_EQ(stat(journal.c_str(), &st), 0);
  ASSERT_EQ(truncate(journal.c_str(), st.st_size - 3), 0);
  TopologyStore::Recovery recovery;
  auto store = TopologyStore::Create(Opts(dir), &recovery);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_GT(recovery.torn_bytes, 0u);
  EXPECT_EQ((*store)->revision(), 1u);
  EXPECT_EQ((*store)->Mutate(CreateLan("c"))->revision, 2u);
}

TEST(TopologyStore, CorruptSnapshotIsDataLoss) {
  std::string dir = FreshDir();
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  int fd = open((dir + "/state.json").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_EQ(write(fd, "{not json", 9), 9);
  close(fd);
  EXPECT_EQ(TopologyStore::Create(Opts(dir)).status().code(), absl::StatusCode::kDataLoss);
}

TEST(TopologyStore, ResumingWatchersAfterRestartGetReplayedEvents) {
  std::string dir = FreshDir();
  {
    auto store = TopologyStore::Create(Opts(dir));
    for (const char* n : {"a", "b", "c"}) ASSERT_TRUE((*store)->Mutate(CreateLan(n)).ok());
  }
  auto store = TopologyStore::Create(Opts(dir));
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->hub().oldest_revision(), 1u);
  EXPECT_EQ((*store)->hub().last_revision(), 3u);
}

TEST(TopologyStore, SubmitAfterShutdownIsUnavailable) {
  std::string dir = FreshDir();
  auto store = TopologyStore::Create(Opts(dir));
  ASSERT_TRUE(store.ok());
  (*store)->Shutdown();
  EXPECT_EQ((*store)->Mutate(CreateLan("a")).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace clownix::server
