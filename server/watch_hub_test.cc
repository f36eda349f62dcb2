#include "server/watch_hub.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

EventPtr MakeEvent(uint64_t revision) {
  auto event = std::make_shared<clownix::v1::Event>();
  event->set_revision(revision);
  return event;
}

std::vector<EventPtr> Events(uint64_t from, uint64_t to) {
  std::vector<EventPtr> events;
  for (uint64_t r = from; r <= to; ++r) events.push_back(MakeEvent(r));
  return events;
}

class Recorder : public WatchSubscriber {
 public:
  void OnEvents(const std::vector<EventPtr>& events) override {
    for (const auto& e : events) revisions.push_back(e->revision());
  }
  void OnTick(absl::Time, uint64_t revision) override {
    last_tick_revision = revision;
    if (!ticked.HasBeenNotified()) ticked.Notify();
  }
  void OnHubShutdown() override { shut_down = true; }

  std::vector<uint64_t> revisions;
  std::atomic<uint64_t> last_tick_revision{0};
  absl::Notification ticked;
  bool shut_down = false;
};

class WatchHubTest : public testing::Test {
 protected:
  WatchHubTest() : hub_(Options(), [this] { return committed_.load(); }) {}
  static WatchHub::Options Options() {
    WatchHub::Options options;
    options.history_limit = 10;
    options.tick = absl::Milliseconds(10);
    return options;
  }
  void Publish(uint64_t from, uint64_t to) {
    committed_ = to;
    hub_.Publish(Events(from, to));
  }

  std::atomic<uint64_t> committed_{0};
  WatchHub hub_;
};

TEST_F(WatchHubTest, FromZeroNeedsAnInitialSnapshotThenGetsLiveEvents) {
  Publish(1, 3);
  Recorder r;
  auto start = hub_.Subscribe(&r, 0);
  EXPECT_TRUE(start.needs_snapshot);
  EXPECT_EQ(start.reason, clownix::v1::Snapshot::INITIAL);
  Publish(4, 5);
  EXPECT_EQ(r.revisions, (std::vector<uint64_t>{4, 5}));
  hub_.Unsubscribe(&r);
  Publish(6, 6);
  EXPECT_EQ(r.revisions.size(), 2u);
}

TEST_F(WatchHubTest, ResumeReplaysExactlyTheMissedEvents) {
  Publish(1, 8);
  Recorder r;
  auto start = hub_.Subscribe(&r, 5);
  EXPECT_FALSE(start.needs_snapshot);
  Publish(9, 9);
  EXPECT_EQ(r.revisions, (std::vector<uint64_t>{6, 7, 8, 9}));
  hub_.Unsubscribe(&r);
}

TEST_F(WatchHubTest, ResumeAtTheHeadReplaysNothing) {
  Publish(1, 8);
  Recorder r;
  EXPECT_FALSE(hub_.Subscribe(&r, 8).needs_snapshot);
  EXPECT_TRUE(r.revisions.empty());
  hub_.Unsubscribe(&r);
}

TEST_F(WatchHubTest, ResumeBeforeTheHistoryNeedsASnapshot) {
  Publish(1, 30);  // history keeps 21..30
  EXPECT_EQ(hub_.oldest_revision(), 21u);
  Recorder r;
  EXPECT_FALSE(hub_.Subscribe(&r, 20).needs_snapshot);  // 21.. still there
  hub_.Unsubscribe(&r);
  Recorder old;
  auto start = hub_.Subscribe(&old, 19);
  EXPECT_TRUE(start.needs_snapshot);
  EXPECT_EQ(start.reason, clownix::v1::Snapshot::HISTORY_EXPIRED);
  EXPECT_TRUE(old.revisions.empty());
  hub_.Unsubscribe(&old);
}

// Events carry whole objects (a VM with its guest config): the history is bounded in bytes too.
TEST(WatchHubBytesTest, TheHistoryKeepsAtMostItsBytesLimit) {
  auto big_event = [](uint64_t revision) {
    auto event = std::make_shared<clownix::v1::Event>();
    event->set_revision(revision);
    event->add_changes()->mutable_vm()->set_state_reason(std::string(1000, 'x'));
    return EventPtr(event);
  };
  const size_t each = big_event(1)->ByteSizeLong();
  WatchHub::Options options;
  options.history_bytes_limit = 3 * each;  // three events' worth
  WatchHub hub(options, [] { return uint64_t{5}; });
  std::vector<EventPtr> events;
  for (uint64_t r = 1; r <= 5; ++r) events.push_back(big_event(r));
  hub.Publish(events);
  EXPECT_EQ(hub.oldest_revision(), 3u);  // 3, 4, 5
  Recorder recent;
  EXPECT_FALSE(hub.Subscribe(&recent, 2).needs_snapshot);
  EXPECT_EQ(recent.revisions, (std::vector<uint64_t>{3, 4, 5}));
  hub.Unsubscribe(&recent);
  Recorder old;
  auto start = hub.Subscribe(&old, 1);
  EXPECT_TRUE(start.needs_snapshot);
  EXPECT_EQ(start.reason, clownix::v1::Snapshot::HISTORY_EXPIRED);
  hub.Unsubscribe(&old);
  // An event larger than the whole limit is not kept: a resume before it takes a snapshot.
  auto huge = std::make_shared<clownix::v1::Event>();
  huge->set_revision(6);
  huge->add_changes()->mutable_vm()->set_state_reason(std::string(4 * each, 'y'));
  hub.Publish({huge});
  EXPECT_EQ(hub.oldest_revision(), 0u);
  EXPECT_EQ(hub.last_revision(), 6u);
}

TEST_F(WatchHubTest, ResumeFromTheFutureNeedsASnapshot) {
  Publish(1, 3);
  Recorder r;
  auto start = hub_.Subscribe(&r, 99);
  EXPECT_TRUE(start.needs_snapshot);
  EXPECT_EQ(start.reason, clownix::v1::Snapshot::HISTORY_EXPIRED);
  hub_.Unsubscribe(&r);
}

TEST_F(WatchHubTest, ResumeFromCommittedButUnpublishedWaitsForPublish) {
  Publish(1, 3);
  committed_ = 5;  // the store committed 4 and 5 and is about to publish them
  Recorder r;
  EXPECT_FALSE(hub_.Subscribe(&r, 5).needs_snapshot);
  hub_.Publish(Events(4, 6));
  // The subscriber gets 4..6 and skips what it already has; the hub does not filter.
  EXPECT_EQ(r.revisions, (std::vector<uint64_t>{4, 5, 6}));
  hub_.Unsubscribe(&r);
}

TEST_F(WatchHubTest, SeedServesResumesAfterRestart) {
  WatchHub hub(Options(), [] { return uint64_t{7}; });
  hub.Seed(7, Events(5, 7));
  Recorder r;
  EXPECT_FALSE(hub.Subscribe(&r, 4).needs_snapshot);
  EXPECT_EQ(r.revisions, (std::vector<uint64_t>{5, 6, 7}));
  hub.Unsubscribe(&r);
  Recorder old;
  EXPECT_TRUE(hub.Subscribe(&old, 3).needs_snapshot);
  hub.Unsubscribe(&old);
}

TEST_F(WatchHubTest, TicksCarryTheRevisionWhileSubscribed) {
  Publish(1, 4);
  Recorder r;
  hub_.Subscribe(&r, 4);
  ASSERT_TRUE(r.ticked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(r.last_tick_revision.load(), 4u);
  hub_.Unsubscribe(&r);
}

TEST_F(WatchHubTest, ShutdownEndsSubscriptionsAndRefusesNewOnes) {
  Recorder r;
  hub_.Subscribe(&r, 0);
  hub_.Shutdown();
  EXPECT_TRUE(r.shut_down);
  EXPECT_EQ(hub_.subscriber_count(), 0u);
  Recorder late;
  EXPECT_FALSE(hub_.Subscribe(&late, 0).needs_snapshot);
  EXPECT_TRUE(late.shut_down);
}

}  // namespace
}  // namespace clownix::server
