// Whole-system tests of clownixd's topology service: the real binary, real gRPC over its socket.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "integration_tests/server/clownixd_process.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::testing {
namespace {

using clownix::v1::Change;
using clownix::v1::Topology;
using clownix::v1::WatchResponse;

grpc::Status CreateLan(Topology::Stub* stub, const std::string& name, uint64_t* revision) {
  grpc::ClientContext context;
  clownix::v1::CreateLanRequest request;
  request.mutable_lan()->set_name(name);
  clownix::v1::CreateLanResponse response;
  grpc::Status status = stub->CreateLan(&context, request, &response);
  *revision = response.revision();
  return status;
}

grpc::Status DeleteLan(Topology::Stub* stub, const std::string& name, uint64_t* revision) {
  grpc::ClientContext context;
  clownix::v1::DeleteLanRequest request;
  request.set_name(name);
  clownix::v1::MutationResponse response;
  grpc::Status status = stub->DeleteLan(&context, request, &response);
  *revision = response.revision();
  return status;
}

// What a watcher saw: its snapshot's LANs and revision, then every event revision in order.
struct WatchLog {
  uint64_t snapshot_revision = 0;
  std::set<std::string> lans;
  std::vector<uint64_t> revisions;
  int snapshots = 0;
  std::string error;
};

// Reads a watch until it has seen `*target` (set later by the test) or the stream ends.
void RunWatcher(std::shared_ptr<grpc::Channel> channel, grpc::ClientContext* context,
                const std::atomic<uint64_t>* target, WatchLog* log) {
  auto stub = Topology::NewStub(channel);
  clownix::v1::WatchRequest request;
  auto reader = stub->Watch(context, request);
  WatchResponse response;
  uint64_t seen = 0;
  while (reader->Read(&response)) {
    if (response.has_snapshot()) {
      ++log->snapshots;
      log->snapshot_revision = response.snapshot().topology().revision();
      log->lans.clear();
      for (const auto& lan : response.snapshot().topology().lans()) log->lans.insert(lan.name());
      seen = log->snapshot_revision;
    }
    for (const auto& event : response.events()) {
      log->revisions.push_back(event.revision());
      seen = event.revision();
      for (const Change& change : event.changes()) {
        if (!change.has_lan()) continue;
        if (change.type() == Change::DELETED) {
          log->lans.erase(change.lan().name());
        } else {
          log->lans.insert(change.lan().name());
        }
      }
    }
    uint64_t want = target->load();
    if (want != 0 && seen >= want) break;
  }
  context->TryCancel();
  grpc::Status status = reader->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    log->error = status.error_message();
  }
}

TEST(TopologyIntegration, FiftyWatchersSeeEveryEventOnceAndInOrderWhileEightWritersMutate) {
  auto server = ClownixdProcess::Start(ClownixdProcess::MakeWorkDir(), {"--nobackends"});
  ASSERT_TRUE(server.ok()) << server.status();
  constexpr int kWatchers = 50, kWriters = 8, kLansEach = 60;

  std::atomic<uint64_t> target{0};
  std::vector<WatchLog> logs(kWatchers);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::thread> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    watchers.emplace_back(RunWatcher, (*server)->NewChannel(), contexts.back().get(), &target,
                          &logs[i]);
  }

  // Each writer creates its LANs, then deletes every other one.
  absl::Mutex mu;
  std::map<uint64_t, std::string> acked;  // revision -> what it did
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto stub = Topology::NewStub((*server)->NewChannel());
      for (int i = 0; i < kLansEach; ++i) {
        std::string name = absl::StrCat("w", w, "-", i);
        uint64_t revision;
        if (!CreateLan(stub.get(), name, &revision).ok()) ++failures;
        absl::MutexLock lock(&mu);
        if (!acked.emplace(revision, "+" + name).second) ++failures;
      }
      for (int i = 0; i < kLansEach; i += 2) {
        std::string name = absl::StrCat("w", w, "-", i);
        uint64_t revision;
        if (!DeleteLan(stub.get(), name, &revision).ok()) ++failures;
        absl::MutexLock lock(&mu);
        if (!acked.emplace(revision, "-" + name).second) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);
  const uint64_t total = kWriters * (kLansEach + kLansEach / 2);
  ASSERT_EQ(acked.size(), total);
  EXPECT_EQ(acked.begin()->first, 1u);
  EXPECT_EQ(acked.rbegin()->first, total) << "acknowledged revisions are not 1..N";
  target = total;
  for (auto& t : watchers) t.join();

  std::set<std::string> expected_lans;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 1; i < kLansEach; i += 2) expected_lans.insert(absl::StrCat("w", w, "-", i));
  }
  for (int i = 0; i < kWatchers; ++i) {
    SCOPED_TRACE(absl::StrCat("watcher ", i));
    const WatchLog& log = logs[i];
    EXPECT_EQ(log.error, "");
    EXPECT_EQ(log.snapshots, 1);
    ASSERT_EQ(log.revisions.size(), total - log.snapshot_revision);
    for (size_t k = 0; k < log.revisions.size(); ++k) {
      ASSERT_EQ(log.revisions[k], log.snapshot_revision + 1 + k) << "gap or duplicate";
    }
    EXPECT_EQ(log.lans, expected_lans);
  }
}

TEST(TopologyIntegration, AResumedWatchGetsExactlyTheMissedEvents) {
  auto server = ClownixdProcess::Start(ClownixdProcess::MakeWorkDir(), {"--nobackends"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = Topology::NewStub((*server)->NewChannel());
  uint64_t revision;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(CreateLan(stub.get(), absl::StrCat("a", i), &revision).ok());

  // A watcher reads up to revision 5 and goes away.
  {
    grpc::ClientContext context;
    auto reader = stub->Watch(&context, {});
    WatchResponse response;
    ASSERT_TRUE(reader->Read(&response));
    EXPECT_EQ(response.snapshot().topology().revision(), 5u);
    context.TryCancel();
    reader->Finish();
  }
  std::vector<std::string> missed;
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(CreateLan(stub.get(), absl::StrCat("b", i), &revision).ok());
    missed.push_back(absl::StrCat("b", i));
  }
  ASSERT_TRUE(DeleteLan(stub.get(), "a0", &revision).ok());

  grpc::ClientContext context;
  clownix::v1::WatchRequest request;
  request.set_since_revision(5);
  auto reader = stub->Watch(&context, request);
  std::vector<uint64_t> revisions;
  std::vector<std::string> names;
  WatchResponse response;
  while (revisions.size() < 8 && reader->Read(&response)) {
    EXPECT_FALSE(response.has_snapshot());
    for (const auto& event : response.events()) {
      revisions.push_back(event.revision());
      names.push_back(event.changes(0).lan().name());
    }
  }
  EXPECT_EQ(revisions, (std::vector<uint64_t>{6, 7, 8, 9, 10, 11, 12, 13}));
  missed.push_back("a0");
  EXPECT_EQ(names, missed);
  // Then live ones, and nothing else in between.
  ASSERT_TRUE(CreateLan(stub.get(), "live", &revision).ok());
  ASSERT_TRUE(reader->Read(&response));
  ASSERT_EQ(response.events_size(), 1);
  EXPECT_EQ(response.events(0).revision(), 14u);
  context.TryCancel();
  reader->Finish();
}

TEST(TopologyIntegration, KillNineDuringABurstLosesNoAcknowledgedMutation) {
  std::string dir = ClownixdProcess::MakeWorkDir();
  auto server = ClownixdProcess::Start(dir, {"--nobackends"});
  ASSERT_TRUE(server.ok()) << server.status();
  constexpr int kClients = 8;
  absl::Mutex mu;
  std::map<uint64_t, std::string> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c, channel = (*server)->NewChannel()] {
      auto stub = Topology::NewStub(channel);
      for (int i = 0; !stop; ++i) {
        std::string name = absl::StrCat("c", c, "-", i);
        uint64_t revision;
        if (!CreateLan(stub.get(), name, &revision).ok()) return;  // the server died
        absl::MutexLock lock(&mu);
        acked.emplace(revision, name);
      }
    });
  }
  // Kill once a good number of mutations are acknowledged: mid-burst, by construction.
  {
    absl::MutexLock lock(&mu);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return acked.size() >= 2000; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(120)));
  }
  (*server)->Kill();
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_GE(acked.size(), 2000u);

  // Keep the work dir: start a new server on it.
  std::string kept = dir + "-kept";
  ASSERT_EQ(rename(dir.c_str(), kept.c_str()), 0);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);  // for the first server's cleanup to remove
  auto restarted = ClownixdProcess::Start(kept, {"--nobackends"});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  auto stub = Topology::NewStub((*restarted)->NewChannel());
  clownix::v1::Network network;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->GetTopology(&context, {}, &network).ok());
  }
  EXPECT_GE(network.revision(), acked.rbegin()->first);
  std::set<std::string> lans;
  for (const auto& lan : network.lans()) lans.insert(lan.name());
  for (const auto& [revision, name] : acked) {
    EXPECT_TRUE(lans.count(name)) << "acknowledged lan " << name << " (revision " << revision
                                  << ") was lost";
  }
  // Revision numbers are exactly as acknowledged: replay the history and compare.
  grpc::ClientContext context;
  clownix::v1::WatchRequest request;
  request.set_since_revision(0);
  auto reader = stub->Watch(&context, request);
  WatchResponse first;
  ASSERT_TRUE(reader->Read(&first));
  context.TryCancel();
  reader->Finish();
  // Revision 1 is in the snapshot's past: resume after it, check it by name above.
  grpc::ClientContext history_context;
  request.set_since_revision(1);
  auto history = stub->Watch(&history_context, request);
  std::map<uint64_t, std::string> replayed;
  WatchResponse response;
  while (replayed.size() < network.revision() - 1 && history->Read(&response)) {
    ASSERT_FALSE(response.has_snapshot());
    for (const auto& event : response.events()) {
      replayed[event.revision()] = event.changes(0).lan().name();
    }
  }
  history_context.TryCancel();
  history->Finish();
  for (const auto& [revision, name] : acked) {
    if (revision == 1) continue;
    ASSERT_EQ(replayed[revision], name) << "revision " << revision;
  }
}

TEST(TopologyIntegration, AStuckWatcherBlocksNobodyAndIsResyncedWithASnapshot) {
  auto server = ClownixdProcess::Start(ClownixdProcess::MakeWorkDir(),
                                       {"--nobackends", "--watch_queue_limit", "200"});
  ASSERT_TRUE(server.ok()) << server.status();
  // The stuck watcher's client advertises a tiny HTTP/2 window and never grows it: once it
  // stops reading, the server cannot send it more than about a kilobyte.
  grpc::ChannelArguments tiny_window;
  tiny_window.SetInt("grpc.http2.lookahead_bytes", 1024);
  tiny_window.SetInt("grpc.http2.bdp_probe", 0);
  tiny_window.SetInt("grpc.use_local_subchannel_pool", 1);
  auto stuck_channel = grpc::CreateCustomChannel((*server)->address(),
                                                 grpc::InsecureChannelCredentials(), tiny_window);
  auto stuck_stub = Topology::NewStub(stuck_channel);
  grpc::ClientContext stuck_context;
  auto stuck = stuck_stub->Watch(&stuck_context, {});
  WatchResponse response;
  ASSERT_TRUE(stuck->Read(&response));
  ASSERT_TRUE(response.has_snapshot());

  // A healthy watcher, reading all along.
  std::atomic<uint64_t> target{0};
  WatchLog healthy;
  grpc::ClientContext healthy_context;
  std::thread healthy_thread(RunWatcher, (*server)->NewChannel(), &healthy_context, &target,
                             &healthy);

  // 1,000 mutations from 4 writers: none waits for the stuck watcher.
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto stub = Topology::NewStub((*server)->NewChannel());
      for (int i = 0; i < 250; ++i) {
        uint64_t ignored;
        if (!CreateLan(stub.get(), absl::StrCat("s", w, "-", i), &ignored).ok()) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);
  const uint64_t revision = 1000;
  target = revision;
  healthy_thread.join();
  EXPECT_EQ(healthy.error, "");
  EXPECT_EQ(healthy.snapshots, 1) << "the healthy watcher fell behind";
  ASSERT_EQ(healthy.revisions.size(), revision - healthy.snapshot_revision);
  for (size_t k = 0; k < healthy.revisions.size(); ++k) {
    ASSERT_EQ(healthy.revisions[k], healthy.snapshot_revision + 1 + k);
  }

  // The stuck watcher reads again: what it missed comes as a FELL_BEHIND snapshot, then the
  // stream goes on without a gap.
  bool resynced = false;
  uint64_t seen = 0;
  size_t events = 0;
  while (seen < revision && stuck->Read(&response)) {
    if (response.has_snapshot()) {
      EXPECT_EQ(response.snapshot().reason(), clownix::v1::Snapshot::FELL_BEHIND);
      resynced = true;
      seen = response.snapshot().topology().revision();
    }
    for (const auto& event : response.events()) {
      ASSERT_EQ(event.revision(), seen + 1) << "gap or duplicate";
      seen = event.revision();
      ++events;
    }
  }
  EXPECT_TRUE(resynced);
  EXPECT_EQ(seen, revision);
  EXPECT_LT(events, revision);
  stuck_context.TryCancel();
  stuck->Finish();
}

TEST(TopologyIntegration, SigtermStopsCleanlyAndRemovesTheSocket) {
  std::string dir = ClownixdProcess::MakeWorkDir();
  auto server = ClownixdProcess::Start(dir, {"--nobackends", "--insecure_listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  // An open watch must not hold the shutdown up.
  auto stub = Topology::NewStub((*server)->NewChannel());
  grpc::ClientContext context;
  auto reader = stub->Watch(&context, {});
  WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  int status = (*server)->Terminate();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  struct stat st;
  EXPECT_NE(stat((dir + "/clownixd.sock").c_str(), &st), 0);
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(TopologyIntegration, ASecondServerOnTheSameWorkDirIsRefused) {
  std::string dir = ClownixdProcess::MakeWorkDir();
  auto server = ClownixdProcess::Start(dir, {"--nobackends"});
  ASSERT_TRUE(server.ok()) << server.status();
  std::string output;
  int status = ClownixdProcess::RunToExit({"--work_dir", dir, "--nobackends"}, &output);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(output.find("in use by another clownixd"), std::string::npos) << output;
  // The first server still serves.
  auto stub = Topology::NewStub((*server)->NewChannel());
  uint64_t revision;
  EXPECT_TRUE(CreateLan(stub.get(), "still-here", &revision).ok());
}

TEST(TopologyIntegration, BadFlagsAreRefusedWithAMessage) {
  std::string output;
  int status = ClownixdProcess::RunToExit({"--work_dir", "/tmp/x", "--listen", "99999"}, &output);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(output.find("99999"), std::string::npos) << output;
  status = ClownixdProcess::RunToExit({"4500", "1"}, &output);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(output.find("7 positional arguments"), std::string::npos) << output;
}

}  // namespace
}  // namespace clownix::testing
