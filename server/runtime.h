// The seams between the topology and what runs it. clownixd owns the truth; these backends act on
// it: the VM runtime (vmm) boots and talks to machines, the switch (switchcore) moves frames.
// Until one is attached, the services say so (FAILED_PRECONDITION / UNAVAILABLE) and VMs stay
// DEFINED: nothing pretends to run.
#ifndef CLOWNIX_SERVER_RUNTIME_H_
#define CLOWNIX_SERVER_RUNTIME_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/clownix/v1/machines.pb.h"
#include "proto/clownix/v1/switch.pb.h"
#include "switchcore/ctl/capture_session.h"

namespace clownix::server {

// Runs VMs. Methods may block (they talk to processes) and are called from service threads.
class MachineRuntime {
 public:
  virtual ~MachineRuntime() = default;
  virtual absl::Status Start(const std::string& vm) = 0;
  virtual absl::Status Halt(const std::string& vm, absl::Duration grace) = 0;
  virtual absl::Status Reboot(const std::string& vm) = 0;
  virtual absl::StatusOr<clownix::v1::ExecResponse> Exec(const std::string& vm,
                                                         const std::string& command,
                                                         absl::Duration timeout) = 0;

  // A console attachment: output arrives through the callback given to AttachConsole until the
  // attachment is destroyed; Write types into the console; SetWindowSize sets the console's
  // terminal size (rows, columns both >= 1) for the VM, whoever is attached.
  class ConsoleAttachment {
   public:
    virtual ~ConsoleAttachment() = default;
    virtual absl::Status Write(const std::string& bytes) = 0;
    virtual absl::Status SetWindowSize(uint16_t rows, uint16_t columns) = 0;
  };
  virtual absl::StatusOr<std::unique_ptr<ConsoleAttachment>> AttachConsole(
      const std::string& vm, std::function<void(const std::string&)> on_output) = 0;

  // The host's VM memory budget, its use and the boot queue: every field of ServerInfo.
  virtual clownix::v1::ServerInfo GetServerInfo() = 0;

  // Blocks until the runtime has acted on the topology up to `revision` (a NIC connected to a
  // running VM exists in its guest, with its addresses), or until `deadline`. A runtime that acts
  // synchronously (or not at all) returns at once.
  virtual void WaitApplied(uint64_t revision, absl::Time deadline) {}
};

// The data plane, as the Switch service sees it.
class SwitchBackend {
 public:
  virtual ~SwitchBackend() = default;
  virtual absl::StatusOr<clownix::v1::LanStats> GetLanStats(const std::string& lan) = 0;

  // A packet capture running in the switch, with what the service needs to write its file.
  // Thread-safety: as CaptureSession's (read from one thread); the rest from any thread.
  class Capture {
   public:
    // Stops the capture.
    virtual ~Capture() = default;
    // The switch's capture (capture_session.h).
    virtual switchcore::CaptureSession& session() = 0;
    // True for a capture of a whole LAN, false for one endpoint.
    virtual bool whole_lan() const = 0;
    // The name of port `port_id` as a capture interface: "vm1.eth1", "tap0" ("port 7" when the
    // port is not known). For one endpoint, the endpoint's name whatever the port.
    virtual std::string PortName(uint64_t port_id) = 0;
    // OK while the capture's target is in the topology; then why it is not: ABORTED (the VM or
    // tap was deleted, the NIC disconnected or moved), NOT_FOUND (the LAN was deleted),
    // UNAVAILABLE (clownixd is stopping). The switch's session goes on until it is stopped.
    virtual absl::Status TopologyStatus() const = 0;
  };
  // Starts the capture `request` asks for (proto/clownix/v1/switch.proto, Capture: its errors).
  // Blocks until the switch runs it.
  virtual absl::StatusOr<std::unique_ptr<Capture>> StartCapture(
      const clownix::v1::CaptureRequest& request) = 0;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_RUNTIME_H_
