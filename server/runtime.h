// The seams between the topology and what runs it. clownixd owns the truth; these backends act on
// it: the VM runtime (vmm) boots and talks to machines, the switch (switchcore) moves frames.
// Until one is attached, the services say so (FAILED_PRECONDITION / UNAVAILABLE) and VMs stay
// DEFINED: nothing pretends to run.
#ifndef CLOWNIX_SERVER_RUNTIME_H_
#define CLOWNIX_SERVER_RUNTIME_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/clownix/v1/machines.pb.h"
#include "proto/clownix/v1/switch.pb.h"

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
  // attachment is destroyed; Write types into the console.
  class ConsoleAttachment {
   public:
    virtual ~ConsoleAttachment() = default;
    virtual absl::Status Write(const std::string& bytes) = 0;
  };
  virtual absl::StatusOr<std::unique_ptr<ConsoleAttachment>> AttachConsole(
      const std::string& vm, std::function<void(const std::string&)> on_output) = 0;
};

// The data plane, as the Switch service sees it.
class SwitchBackend {
 public:
  virtual ~SwitchBackend() = default;
  virtual absl::StatusOr<clownix::v1::LanStats> GetLanStats(const std::string& lan) = 0;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_RUNTIME_H_
