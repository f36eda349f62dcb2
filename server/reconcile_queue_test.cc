#include "server/reconcile_queue.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

ReconcileWork Vms(std::set<std::string> vms) {
  ReconcileWork work;
  work.vms = std::move(vms);
  return work;
}

TEST(ReconcileQueue, NamesMergeAndEventsKeepTheirOrder) {
  ReconcileQueue queue;
  queue.Add(Vms({"a", "b"}));
  queue.Add(Vms({"b", "c"}));
  queue.AddVmEvent({"a", clownix::v1::VM_STATE_BOOTING, ""});
  queue.AddVmEvent({"a", clownix::v1::VM_STATE_RUNNING, ""});
  ReconcileWork links;
  links.links = {EndpointRef::Tap("t0"), EndpointRef::Nic("a", 1)};
  queue.Add(links);
  std::optional<ReconcileWork> work = queue.Next();
  ASSERT_TRUE(work.has_value());
  EXPECT_EQ(work->vms, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(work->links.size(), 2u);
  ASSERT_EQ(work->vm_events.size(), 2u);
  EXPECT_EQ(work->vm_events[0].state, clownix::v1::VM_STATE_BOOTING);
  EXPECT_EQ(work->vm_events[1].state, clownix::v1::VM_STATE_RUNNING);
}

TEST(ReconcileQueue, WaitIdleWaitsForTheBatchInHand) {
  ReconcileQueue queue;
  absl::Notification release;
  std::atomic<int> processed{0};
  std::thread consumer([&] {
    while (std::optional<ReconcileWork> work = queue.Next()) {
      release.WaitForNotification();
      processed += static_cast<int>(work->vms.size());
    }
  });
  queue.Add(Vms({"a"}));
  std::atomic<bool> idle{false};
  std::thread waiter([&] {
    queue.WaitIdle();
    idle = true;
  });
  // The work is pending or in the consumer's hands, held by `release`: not idle either way.
  EXPECT_FALSE(idle);
  release.Notify();
  waiter.join();
  EXPECT_EQ(processed, 1);
  queue.Close();
  consumer.join();
}

TEST(ReconcileQueue, WaitIdleWaitsForTheRevision) {
  ReconcileQueue queue;
  std::thread consumer([&] {
    while (queue.Next()) {
    }
  });
  std::atomic<bool> idle{false};
  std::thread waiter([&] {
    queue.WaitIdle(5);
    idle = true;
  });
  queue.AddFromRevision(Vms({"a"}), 4);
  EXPECT_FALSE(idle);  // revision 5 has not been seen
  queue.AddFromRevision(Vms({"b"}), 5);
  waiter.join();
  EXPECT_TRUE(idle);
  queue.Close();
  consumer.join();
}

TEST(ReconcileQueue, EndRevisionsEndsRevisionWaits) {
  ReconcileQueue queue;
  std::thread waiter([&] { queue.WaitIdle(100); });
  queue.EndRevisions();
  waiter.join();
}

TEST(ReconcileQueue, DelayedWorkComesWhenDueAndIsNotPendingBefore) {
  ReconcileQueue queue;
  queue.AddAfter(Vms({"later"}), absl::Hours(1));
  queue.WaitIdle();  // returns at once: the retry is not due
  queue.AddAfter(Vms({"soon"}), absl::Milliseconds(1));
  std::optional<ReconcileWork> work = queue.Next();  // blocks until "soon" is due
  ASSERT_TRUE(work.has_value());
  EXPECT_EQ(work->vms, (std::set<std::string>{"soon"}));
}

TEST(ReconcileQueue, CloseEndsEverything) {
  ReconcileQueue queue;
  queue.Add(Vms({"a"}));
  std::thread waiter([&] { queue.WaitIdle(7); });
  queue.Close();
  waiter.join();
  EXPECT_TRUE(queue.closed());
  queue.Add(Vms({"b"}));
  EXPECT_FALSE(queue.Next().has_value());
}

}  // namespace
}  // namespace clownix::server
