#include "clients/cli/watch_command.h"

#include <algorithm>
#include <memory>

#include "clients/cli/format.h"
#include "clients/cli/values.h"

namespace clownix::cli {
namespace {

// Prints one stream message. Human: one line per change. JSON: one line per snapshot, event or
// heartbeat, each a WatchResponse holding only that item, so that lines are comparable whatever
// batching the server chose. Returns the highest revision the message shows.
// Events after `until` (when not 0) are not printed.
uint64_t Print(CommandEnv& env, const v1::WatchResponse& message, bool json, bool heartbeats,
               uint64_t until) {
  uint64_t revision = 0;
  if (message.has_snapshot()) {
    const v1::Network& network = message.snapshot().topology();
    revision = network.revision();
    if (json) {
      v1::WatchResponse line;
      *line.mutable_snapshot() = message.snapshot();
      env.out() << ToJson(line, /*pretty=*/false) << "\n";
    } else {
      env.out() << "r" << revision << " snapshot ("
                << SnapshotReasonText(message.snapshot().reason()) << "): " << network.vms_size()
                << " vms, " << network.lans_size() << " lans, " << network.taps_size() << " taps, "
                << network.links_size() << " links\n";
    }
  }
  for (const v1::Event& event : message.events()) {
    if (until != 0 && event.revision() > until) break;
    revision = std::max(revision, event.revision());
    if (json) {
      v1::WatchResponse line;
      *line.add_events() = event;
      env.out() << ToJson(line, /*pretty=*/false) << "\n";
      continue;
    }
    const std::string prefix =
        "r" + std::to_string(event.revision()) + " " + TimeText(event.time_us());
    if (event.changes_size() == 0) env.out() << prefix << " (no change)\n";
    for (const v1::Change& change : event.changes()) {
      env.out() << prefix << " " << ChangeText(change) << "\n";
    }
  }
  if (message.has_heartbeat()) {
    revision = std::max(revision, message.heartbeat().revision());
    if (heartbeats) {
      if (json) {
        v1::WatchResponse line;
        *line.mutable_heartbeat() = message.heartbeat();
        env.out() << ToJson(line, /*pretty=*/false) << "\n";
      } else {
        env.out() << "r" << message.heartbeat().revision() << " heartbeat\n";
      }
    }
  }
  env.out().flush();
  return revision;
}

}  // namespace

int RunWatchCommand(CommandEnv& env, const std::vector<std::string>& args) {
  std::string since = "0";
  std::string until;
  std::string selector;
  std::string heartbeat_interval;
  bool json = false;
  bool heartbeats = false;
  bool omit_guest_config = false;
  ArgParser parser(
      "clownix watch [--since R] [--json [--omit-guest-config]] [--selector S] [--until R] "
      "[--heartbeats]",
      "Prints topology changes as they happen. Without --since, starts with a snapshot of the\n"
      "whole topology; with --since R, prints exactly the changes after revision R, then live "
      "ones\n(or a snapshot when R is no longer in the server's history). Runs until "
      "interrupted,\nthe server ends the stream, or --until is reached.");
  parser.AddString("since", "R", "resume after revision R (0: start with a snapshot)", &since);
  parser.AddBool("json", "one JSON WatchResponse per line (snapshot, event or heartbeat)", &json);
  parser.AddString("selector", "S", "only changes to objects whose labels match", &selector);
  parser.AddString("until", "R", "print up to revision R, then exit", &until);
  parser.AddBool("heartbeats", "also print heartbeats", &heartbeats);
  parser.AddBool("omit-guest-config",
                 "with --json: VMs without their guest config (files, scripts; a line per change "
                 "never shows it)",
                 &omit_guest_config);
  parser.AddString("heartbeat-interval", "D", "idle heartbeat period, 100ms..60s (default 5s)",
                   &heartbeat_interval);
  if (int code = ParseOrExit(env, "watch", parser, args); code >= 0) return code;

  v1::WatchRequest request;
  request.set_label_selector(selector);
  // A line per change shows no guest config; --json prints the objects whole unless asked.
  request.set_omit_guest_config(!json || omit_guest_config);
  absl::Status usage = parser.ExpectPositionals(0, 0, "no arguments");
  absl::StatusOr<uint64_t> since_revision = ParseUint64("--since", since);
  if (usage.ok()) usage = since_revision.status();
  absl::StatusOr<uint64_t> until_revision = 0;
  if (usage.ok() && !until.empty()) {
    until_revision = ParseUint64("--until", until);
    usage = until_revision.status();
  }
  if (usage.ok() && !heartbeat_interval.empty()) {
    absl::StatusOr<uint32_t> ms = ParseDurationMs("--heartbeat-interval", heartbeat_interval);
    if (ms.ok()) request.set_heartbeat_interval_ms(*ms);
    usage = ms.status();
  }
  if (!usage.ok()) return env.UsageError("watch", usage);
  request.set_since_revision(*since_revision);

  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> stream =
      env.client().topology().Watch(&context, request);
  v1::WatchResponse message;
  // The last revision printed from a snapshot or an event: where a new watch would resume.
  uint64_t resume_at = *since_revision;
  while (stream->Read(&message)) {
    uint64_t revision = Print(env, message, json, heartbeats, until.empty() ? 0 : *until_revision);
    if (message.has_snapshot()) resume_at = message.snapshot().topology().revision();
    for (const v1::Event& event : message.events()) {
      if (until.empty() || event.revision() <= *until_revision) resume_at = event.revision();
    }
    if (!until.empty() && revision >= *until_revision) {
      context.TryCancel();
      // Drain what is already in flight; the status is CANCELLED by our own doing.
      while (stream->Read(&message)) {
      }
      stream->Finish();
      return kExitOk;
    }
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    int code = env.RpcError(status);
    env.err() << "clownix: resume with: clownix watch --since " << resume_at << "\n";
    return code;
  }
  return kExitOk;
}

}  // namespace clownix::cli
