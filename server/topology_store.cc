#include "server/topology_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_io.h"
#include "google/protobuf/util/json_util.h"
#include "server/label_selector.h"
#include "server/log.h"

namespace clownix::server {
namespace {

constexpr char kSnapshotFile[] = "state.json";
constexpr char kJournalFile[] = "journal.log";
constexpr char kLockFile[] = "clownixd.lock";

}  // namespace

TopologyStore::TopologyStore(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<TopologyStore>> TopologyStore::Create(Options options,
                                                                     Recovery* recovery) {
  if (mkdir(options.work_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("create work dir ", options.work_dir));
  }
  std::unique_ptr<TopologyStore> store(new TopologyStore(std::move(options)));
  Recovery local;
  if (absl::Status s = store->Recover(recovery ? recovery : &local); !s.ok()) return s;
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  store->publisher_ = std::thread([s = store.get()] { s->PublisherLoop(); });
  return store;
}

absl::Status TopologyStore::Recover(Recovery* recovery) {
  const std::string& dir = options_.work_dir;
  std::string lock_path = absl::StrCat(dir, "/", kLockFile);
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", lock_path));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "work dir ", dir, " is in use by another clownixd (", lock_path, " is locked)"));
  }

  absl::StatusOr<std::string> snapshot =
      common::ReadFileIfExists(absl::StrCat(dir, "/", kSnapshotFile));
  if (!snapshot.ok()) return snapshot.status();
  if (!snapshot->empty()) {
    clownix::v1::Network network;
    google::protobuf::util::JsonParseOptions parse_options;
    if (auto s = google::protobuf::util::JsonStringToMessage(*snapshot, &network, parse_options);
        !s.ok()) {
      return absl::DataLossError(
          absl::StrCat(dir, "/", kSnapshotFile, " is not a valid snapshot: ", s.ToString()));
    }
    absl::StatusOr<TopologyState> state = TopologyState::FromNetwork(network);
    if (!state.ok()) {
      return absl::DataLossError(
          absl::StrCat(dir, "/", kSnapshotFile, ": ", state.status().message()));
    }
    working_ = *std::move(state);
    snapshot_bytes_ = snapshot->size();
  }
  recovery->snapshot_revision = working_.revision();

  std::vector<EventPtr> replayed;
  Journal::ReplayResult replay;
  auto on_record = [&](absl::string_view payload) -> absl::Status {
    auto event = std::make_shared<clownix::v1::Event>();
    if (!event->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return absl::DataLossError(absl::StrCat(kJournalFile, ": a record is not an event"));
    }
    // Records up to the snapshot were compacted into it (a crash between the two steps).
    if (event->revision() <= working_.revision()) return absl::OkStatus();
    if (event->revision() != working_.revision() + 1) {
      return absl::DataLossError(absl::StrCat(kJournalFile, ": event ", event->revision(),
                                              " follows revision ", working_.revision()));
    }
    working_.Apply(*event);
    replayed.push_back(std::move(event));
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<Journal>> journal =
      Journal::Create(absl::StrCat(dir, "/", kJournalFile), on_record, &replay);
  if (!journal.ok()) return journal.status();
  journal_ = *std::move(journal);
  recovery->journal_records = replay.records;
  recovery->torn_bytes = replay.torn_bytes;
  if (replay.torn_bytes > 0) {
    Log(LogLevel::kWarning, absl::StrCat(kJournalFile, ": cut off a torn last record of ",
                                         replay.torn_bytes, " bytes (never acknowledged)"));
  }
  {
    absl::MutexLock lock(&state_mu_);
    committed_ = working_;
  }
  hub_ = std::make_unique<WatchHub>(options_.watch, [this] { return revision(); });
  hub_->Seed(working_.revision(), replayed);
  return absl::OkStatus();
}

TopologyStore::~TopologyStore() {
  Shutdown();
  if (lock_fd_ >= 0) close(lock_fd_);
}

void TopologyStore::Shutdown() {
  {
    absl::MutexLock lock(&queue_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  {
    absl::MutexLock lock(&publish_mu_);
    publisher_stopping_ = true;
  }
  if (publisher_.joinable()) publisher_.join();
  if (hub_) hub_->Shutdown();
}

void TopologyStore::Submit(Mutation mutation, Done done) {
  {
    absl::MutexLock lock(&queue_mu_);
    if (!stopping_) {
      queue_.push_back({std::move(mutation), std::move(done)});
      return;
    }
  }
  done(absl::UnavailableError("clownixd is shutting down"));
}

absl::StatusOr<TopologyStore::Committed> TopologyStore::Mutate(Mutation mutation) {
  absl::Mutex mu;
  bool finished = false;
  absl::StatusOr<Committed> result;
  Submit(std::move(mutation), [&](absl::StatusOr<Committed> r) {
    absl::MutexLock lock(&mu);
    result = std::move(r);
    finished = true;
  });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&finished));
  return result;
}

void TopologyStore::WriterLoop() {
  std::vector<Pending> batch;
  while (true) {
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return stopping_ || !queue_.empty();
      };
      queue_mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, and everything queued is done
      batch.swap(queue_);
    }
    ProcessBatch(batch);
    batch.clear();
  }
}

void TopologyStore::ProcessBatch(std::vector<Pending>& batch) {
  std::vector<absl::StatusOr<EventPtr>> results;
  results.reserve(batch.size());
  std::vector<EventPtr> events;
  int64_t now_us = absl::ToUnixMicros(absl::Now());
  std::string record;
  for (Pending& pending : batch) {
    absl::StatusOr<std::vector<clownix::v1::Change>> changes =
        ComputeChanges(working_, pending.mutation, options_.rules);
    if (changes.ok() && options_.check_change && !pending.mutation.has_vm_status() &&
        !pending.mutation.has_link_status()) {
      for (const clownix::v1::Change& change : *changes) {
        if (absl::Status s = options_.check_change(change); !s.ok()) {
          changes = s;
          break;
        }
      }
    }
    if (!changes.ok()) {
      results.push_back(changes.status());
      continue;
    }
    if (changes->empty()) {
      results.push_back(EventPtr());
      continue;
    }
    auto event = std::make_shared<clownix::v1::Event>();
    event->set_revision(working_.revision() + 1);
    event->set_time_us(now_us);
    for (auto& change : *changes) *event->add_changes() = std::move(change);
    working_.Apply(*event);
    record.clear();
    event->SerializeToString(&record);
    journal_->Append(record);
    events.push_back(event);
    results.push_back(EventPtr(event));
  }

  absl::Status flushed = absl::OkStatus();
  if (!events.empty()) flushed = journal_->Sync();
  if (!flushed.ok()) {
    Log(LogLevel::kError,
        absl::StrCat("journal flush failed, batch refused: ", flushed.ToString()));
    absl::MutexLock lock(&state_mu_);
    working_ = committed_;
  } else if (!events.empty()) {
    {
      absl::MutexLock lock(&state_mu_);
      for (const EventPtr& event : events) committed_.Apply(*event);
    }
    absl::MutexLock lock(&publish_mu_);
    to_publish_.insert(to_publish_.end(), events.begin(), events.end());
  }

  uint64_t current = working_.revision();
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::StatusOr<EventPtr>& result = results[i];
    if (!result.ok()) {
      batch[i].done(result.status());
    } else if (*result && !flushed.ok()) {
      batch[i].done(flushed);
    } else {
      batch[i].done(Committed{*result ? (*result)->revision() : current, *result});
    }
  }

  if (flushed.ok() &&
      journal_->size() > std::max<uint64_t>(options_.compact_min_bytes, 2 * snapshot_bytes_)) {
    if (absl::Status s = WriteSnapshot(); !s.ok()) {
      // The journal still holds everything: the next batch tries again.
      Log(LogLevel::kError, absl::StrCat("compaction failed: ", s.ToString()));
    }
  }
}

void TopologyStore::PublisherLoop() {
  std::vector<EventPtr> events;
  while (true) {
    {
      absl::MutexLock lock(&publish_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(publish_mu_) {
        return publisher_stopping_ || !to_publish_.empty();
      };
      publish_mu_.Await(absl::Condition(&ready));
      if (to_publish_.empty()) return;  // stopping, everything published
      events.swap(to_publish_);
    }
    // Everything committed since the last round goes out as one batch: under load, watchers
    // get fewer, larger messages instead of falling behind.
    hub_->Publish(events);
    events.clear();
  }
}

absl::Status TopologyStore::WriteSnapshot() {
  std::string json;
  google::protobuf::util::JsonPrintOptions print_options;
  print_options.preserve_proto_field_names = true;
  auto s = google::protobuf::util::MessageToJsonString(working_.ToNetwork(), &json, print_options);
  if (!s.ok()) return absl::InternalError(absl::StrCat("snapshot to JSON: ", s.ToString()));
  if (absl::Status w =
          common::WriteFileDurably(absl::StrCat(options_.work_dir, "/", kSnapshotFile), json);
      !w.ok())
    return w;
  snapshot_bytes_ = json.size();
  // The snapshot now holds every journaled event: a crash before this reset replays them as
  // no-ops (their revisions are not above the snapshot's).
  return journal_->Reset();
}

void TopologyStore::Read(const std::function<void(const TopologyState&)>& reader) const {
  absl::ReaderMutexLock lock(&state_mu_);
  reader(committed_);
}

clownix::v1::Network TopologyStore::Snapshot(const LabelSelector* selector) const {
  absl::ReaderMutexLock lock(&state_mu_);
  return committed_.ToNetwork(selector);
}

uint64_t TopologyStore::revision() const {
  absl::ReaderMutexLock lock(&state_mu_);
  return committed_.revision();
}

}  // namespace clownix::server
