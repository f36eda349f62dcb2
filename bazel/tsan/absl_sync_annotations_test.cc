// Guarded data handed between threads through every absl::Mutex, CondVar and Notification entry
// point that absl_sync_annotations.cc wraps. Under --config=tsan each access pair below would be
// reported as a race if a wrapper were missing or wrong; in the plain build it is an ordinary test.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

struct Guarded {
  absl::Mutex mu;
  int value ABSL_GUARDED_BY(mu) = 0;
  bool ready ABSL_GUARDED_BY(mu) = false;
};

TEST(AbslSyncAnnotationsTest, LockAndReaderLock) {
  Guarded g;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&g] {
      for (int j = 0; j < 100; ++j) {
        absl::MutexLock lock(&g.mu);
        ++g.value;
      }
    });
    threads.emplace_back([&g] {
      for (int j = 0; j < 100; ++j) {
        absl::ReaderMutexLock lock(&g.mu);
        EXPECT_GE(g.value, 0);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::MutexLock lock(&g.mu);
  EXPECT_EQ(g.value, 400);
}

TEST(AbslSyncAnnotationsTest, TryLock) {
  Guarded g;
  std::thread writer([&g] {
    while (!g.mu.TryLock()) {
    }
    g.value = 1;
    g.mu.Unlock();
  });
  writer.join();
  while (!g.mu.ReaderTryLock()) {
  }
  EXPECT_EQ(g.value, 1);
  g.mu.ReaderUnlock();
}

TEST(AbslSyncAnnotationsTest, AwaitAndLockWhen) {
  Guarded g;
  std::thread producer([&g] {
    absl::MutexLock lock(&g.mu);
    g.value = 42;
    g.ready = true;
  });
  {
    absl::MutexLock lock(&g.mu);
    g.mu.Await(absl::Condition(&g.ready));
    EXPECT_EQ(g.value, 42);
    g.ready = false;
  }
  producer.join();

  std::thread again([&g] {
    absl::MutexLock lock(&g.mu);
    g.value = 43;
    g.ready = true;
  });
  EXPECT_TRUE(g.mu.LockWhenWithTimeout(absl::Condition(&g.ready), absl::Seconds(60)));
  EXPECT_EQ(g.value, 43);
  g.ready = false;
  g.mu.Unlock();
  again.join();

  std::thread third([&g] {
    absl::MutexLock lock(&g.mu);
    g.value = 44;
    g.ready = true;
  });
  absl::MutexLock lock(&g.mu);
  EXPECT_TRUE(g.mu.AwaitWithTimeout(absl::Condition(&g.ready), absl::Seconds(60)));
  EXPECT_EQ(g.value, 44);
  third.join();
}

TEST(AbslSyncAnnotationsTest, CondVarWait) {
  Guarded g;
  absl::CondVar cv;
  std::thread producer([&] {
    absl::MutexLock lock(&g.mu);
    g.value = 7;
    g.ready = true;
    cv.Signal();
  });
  {
    absl::MutexLock lock(&g.mu);
    while (!g.ready) cv.WaitWithTimeout(&g.mu, absl::Seconds(60));
    EXPECT_EQ(g.value, 7);
  }
  producer.join();
}

TEST(AbslSyncAnnotationsTest, NotificationPublishes) {
  int plain = 0;  // Not guarded: the notification orders it.
  absl::Notification done;
  std::thread producer([&] {
    plain = 5;
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(plain, 5);
  producer.join();

  int polled = 0;
  absl::Notification flag;
  std::thread setter([&] {
    polled = 6;
    flag.Notify();
  });
  // HasBeenNotified is inline: the one path that needs the release on notified_yet_.
  while (!flag.HasBeenNotified()) {
  }
  EXPECT_EQ(polled, 6);
  setter.join();
}

// A mutex built and locked on one thread, then locked on another that got the object through a
// handover TSAN cannot see: what gRPC does with a reactor (built in the handler, called back on a
// gRPC thread after its uninstrumented completion queue). A relaxed atomic hides the handover here.
// The second Lock is ordered after the first Unlock, so it is ordered after the mutex's
// construction too: no race on the mutex itself, nor on what the first holder wrote under it.
TEST(AbslSyncAnnotationsTest, LockAfterAHandoverTsanCannotSee) {
  std::atomic<Guarded*> handed{nullptr};
  std::thread builder([&handed] {
    auto* g = new Guarded;
    {
      absl::MutexLock lock(&g->mu);
      g->value = 3;
    }
    handed.store(g, std::memory_order_relaxed);
  });
  Guarded* g = nullptr;
  while ((g = handed.load(std::memory_order_relaxed)) == nullptr) std::this_thread::yield();
  {
    absl::MutexLock lock(&g->mu);
    EXPECT_EQ(g->value, 3);
  }
  builder.join();
  delete g;
}

}  // namespace
