#include "server/capture_reactor.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/capture_file_writer.h"
#include "server/grpc_status.h"

namespace clownix::server {
namespace {

using clownix::v1::CaptureEnd;

// Frames asked of the switch per Read.
constexpr size_t kFramesPerRead = 256;

// How a capture ended: the last message's `end`, and the call's status.
struct Ending {
  CaptureEnd::Reason reason = CaptureEnd::REASON_UNSPECIFIED;
  absl::Status status;
};

// The switch ended the session (capture_session.h's statuses).
Ending FromSwitch(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kAborted:
      return {CaptureEnd::PORT_DOWN, status};
    case absl::StatusCode::kNotFound:
      return {CaptureEnd::LAN_DELETED, status};
    case absl::StatusCode::kUnavailable:
      return {CaptureEnd::SWITCH_RESTARTED, status};
    default:
      return {CaptureEnd::REASON_UNSPECIFIED, status};
  }
}

// The target left the topology (SwitchBackend::Capture::TopologyStatus's statuses).
Ending FromTopology(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return {CaptureEnd::LAN_DELETED, status};
    case absl::StatusCode::kUnavailable:
      return {CaptureEnd::SERVER_STOPPING, status};
    default:
      return {CaptureEnd::ENDPOINT_REMOVED, status};
  }
}

// A frame kept until its port has an interface (the port's name is asked after the Read).
struct HeldFrame {
  uint64_t port_id;
  CaptureFileWriter::Direction direction;
  int64_t timestamp_ns;
  uint32_t wire_length;
  std::vector<uint8_t> data;
};

CaptureFileWriter::Direction DirectionOf(switchcore::ctl::Direction direction) {
  return direction == switchcore::ctl::Direction::kIngress
             ? CaptureFileWriter::Direction::kInbound
             : CaptureFileWriter::Direction::kOutbound;
}

}  // namespace

CaptureReactor::CaptureReactor(clownix::v1::CaptureRequest request, Starter start, Options options)
    : request_(std::move(request)), start_(std::move(start)), options_(options) {
  absl::MutexLock lock(&mu_);
  worker_ = std::thread([this] { Run(); });
}

void CaptureReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  write_ok_ = ok;
}

void CaptureReactor::OnCancel() {
  std::shared_ptr<SwitchBackend::Capture> capture;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    capture = capture_;
  }
  if (capture) capture->session().Stop();  // a blocked Read returns
}

void CaptureReactor::OnDone() {
  std::thread worker;
  {
    absl::MutexLock lock(&mu_);
    worker = std::move(worker_);
  }
  // The worker's last act is Finish: it is done with this object, or about to be.
  if (worker.get_id() == std::this_thread::get_id()) {
    worker.detach();
  } else if (worker.joinable()) {
    worker.join();
  }
  delete this;
}

bool CaptureReactor::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool CaptureReactor::Send(clownix::v1::CaptureResponse response) {
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_ || !write_ok_) return false;
    response_ = std::move(response);
    writing_ = true;
  }
  StartWrite(&response_);
  absl::MutexLock lock(&mu_);
  auto written = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !writing_; };
  mu_.Await(absl::Condition(&written));
  return write_ok_;
}

void CaptureReactor::Run() {
  { absl::MutexLock lock(&mu_); }  // the constructor has stored worker_
  absl::StatusOr<std::unique_ptr<SwitchBackend::Capture>> started = start_(request_);
  if (!started.ok()) {
    Finish(ToGrpcStatus(started.status()));
    return;
  }
  std::shared_ptr<SwitchBackend::Capture> capture = *std::move(started);
  {
    absl::MutexLock lock(&mu_);
    capture_ = capture;
  }
  switchcore::CaptureSession& session = capture->session();
  if (cancelled()) session.Stop();

  const uint32_t snaplen = request_.snaplen() ? request_.snaplen() : 65535;
  CaptureFileWriter writer(request_.format() == clownix::v1::CAPTURE_FORMAT_PCAP
                               ? CaptureFileWriter::Format::kPcap
                               : CaptureFileWriter::Format::kPcapng,
                           snaplen);
  const bool whole_lan = capture->whole_lan();
  std::map<uint64_t, uint32_t> interface_of;  // whole LAN: port id -> interface
  std::vector<uint64_t> delivered;            // frames written, per interface
  if (!whole_lan) {
    writer.AddInterface(capture->PortName(session.bound_port()));
    delivered.push_back(0);
  }
  uint64_t written = 0;
  auto message = [&] {
    clownix::v1::CaptureResponse response;
    response.set_data(writer.Take());
    response.set_frames_written(written);
    response.set_frames_dropped(session.dropped());
    return response;
  };
  auto write_frame = [&](uint32_t interface, CaptureFileWriter::Direction direction,
                         int64_t timestamp_ns, uint32_t wire_length,
                         absl::Span<const uint8_t> data) {
    writer.AddFrame(interface, timestamp_ns, direction, wire_length, data);
    ++delivered[interface];
    ++written;
  };

  // The header first: the client knows the capture runs.
  bool client_gone = !Send(message());
  const uint64_t max_frames = request_.max_frames();
  const absl::Time end_time = request_.duration_ms()
                                  ? absl::Now() + absl::Milliseconds(request_.duration_ms())
                                  : absl::InfiniteFuture();
  absl::Time oldest_unsent = absl::InfiniteFuture();
  std::optional<Ending> ending;  // set when we stop the session: drain, then end
  std::vector<HeldFrame> held;
  while (!client_gone) {
    absl::Time now = absl::Now();
    if (!ending) {
      if (absl::Status gone = capture->TopologyStatus(); !gone.ok()) {
        ending = FromTopology(gone);
      } else if (now >= end_time) {
        ending = Ending{CaptureEnd::DURATION_LIMIT, absl::OkStatus()};
      }
      if (ending) session.Stop();  // what the switch captured until now still comes
    }
    absl::Time deadline =
        std::min(end_time, writer.pending() > 0 ? oldest_unsent + options_.flush_after
                                                : now + options_.idle_wait);
    size_t want = kFramesPerRead;
    if (max_frames > 0) want = static_cast<size_t>(std::min<uint64_t>(want, max_frames - written));
    absl::Status read = session.Read(deadline, want, [&](const switchcore::CapturedFrame& frame) {
      const CaptureFileWriter::Direction direction = DirectionOf(frame.direction);
      if (!whole_lan) {
        write_frame(0, direction, frame.timestamp_ns, frame.wire_length, frame.data);
        return;
      }
      auto it = interface_of.find(frame.port_id);
      if (it == interface_of.end() || !held.empty()) {
        // A new port: it is named once the Read is over (not from inside the switch's
        // callback); this frame and those after it wait, in order.
        held.push_back(HeldFrame{frame.port_id, direction, frame.timestamp_ns, frame.wire_length,
                                 std::vector<uint8_t>(frame.data.begin(), frame.data.end())});
        return;
      }
      write_frame(it->second, direction, frame.timestamp_ns, frame.wire_length, frame.data);
    });
    for (const HeldFrame& frame : held) {
      auto [it, added] = interface_of.emplace(frame.port_id, 0);
      if (added) {
        it->second = writer.AddInterface(capture->PortName(frame.port_id));
        delivered.push_back(0);
      }
      write_frame(it->second, frame.direction, frame.timestamp_ns, frame.wire_length, frame.data);
    }
    held.clear();
    now = absl::Now();
    if (writer.pending() > 0 && oldest_unsent == absl::InfiniteFuture()) oldest_unsent = now;
    if (max_frames > 0 && written >= max_frames) {
      ending = Ending{CaptureEnd::FRAME_LIMIT, absl::OkStatus()};
      break;
    }
    if (!read.ok()) {
      if (cancelled()) client_gone = true;
      if (!ending) {
        // The switch ended it; the topology's reason, when there is one, says more (a deleted
        // VM's port goes down too).
        absl::Status gone = capture->TopologyStatus();
        ending = gone.ok() ? FromSwitch(read) : FromTopology(gone);
      }
      break;
    }
    if (writer.pending() >= options_.chunk_bytes ||
        (writer.pending() > 0 && now >= oldest_unsent + options_.flush_after)) {
      client_gone = !Send(message());
      oldest_unsent = absl::InfiniteFuture();
    }
  }

  grpc::Status status = grpc::Status::CANCELLED;
  if (!client_gone && ending) {
    const int64_t now_ns = absl::ToUnixNanos(absl::Now());
    for (uint32_t i = 0; i < writer.interface_count(); ++i) {
      // Drops are per capture: known per interface only when there is one port.
      std::optional<uint64_t> dropped;
      if (!whole_lan) dropped = session.dropped();
      writer.AddStatistics(i, now_ns, delivered[i], dropped);
    }
    clownix::v1::CaptureResponse last = message();
    last.mutable_end()->set_reason(ending->reason);
    std::string why(ending->status.message());
    if (ending->reason == CaptureEnd::FRAME_LIMIT) why = absl::StrCat(written, " frames captured");
    if (ending->reason == CaptureEnd::DURATION_LIMIT) {
      why = absl::StrCat(request_.duration_ms(), " ms passed");
    }
    last.mutable_end()->set_message(why);
    status = Send(std::move(last)) ? ToGrpcStatus(ending->status) : grpc::Status::CANCELLED;
  }
  {
    absl::MutexLock lock(&mu_);
    capture_.reset();
  }
  capture.reset();  // stops the capture in the switch (unless OnCancel still holds it)
  Finish(status);
}

}  // namespace clownix::server
