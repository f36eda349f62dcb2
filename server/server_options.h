// What clownixd is told at start: flags, or the seed's positional form
//   <port> <num_tap> <ip_admin> <work_dir> <bulk_dir> <rsa_public> <rsa_private> [--root_fs]
// which maps onto the same options (the port becomes --insecure_listen 127.0.0.1:PORT, the seed's
// plaintext loopback port). <rsa_private> is accepted so that the seed's command line still works,
// and ignored (OptionWarnings says so).
#ifndef CLOWNIX_SERVER_SERVER_OPTIONS_H_
#define CLOWNIX_SERVER_SERVER_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace clownix::server {

struct ServerOptions {
  std::string work_dir;
  // The unix socket's group: empty keeps the socket 0600 (clownixd's user only); a group name (or
  // number) makes it 0660, owned by that group.
  std::string socket_group;
  // TLS TCP address to listen on as well as the unix socket, e.g. "0.0.0.0:4500"; empty: none.
  // Needs tls_cert and tls_key, and client_ca or tokens_file (api_access.h).
  std::string listen;
  // PEM files: the server's certificate (chain) and key for `listen`, and the CA that client
  // certificates must be signed by (empty: no client certificates asked for).
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  // Plaintext TCP address, loopback only (127.0.0.1, [::1] or localhost); not with `listen`.
  std::string insecure_listen;
  // Tokens and roles (token_table.h); empty: none.
  std::string tokens_file;
  uint32_t num_tap = 0;
  // The host's admin address; VMs get X.Y.vm/100.vm%100 from its first two bytes.
  std::string ip_admin;
  std::string bulk_dir;
  // Where images are (image_catalog.h): one directory NAME/ per image. BULK_DIR/images, when
  // there, comes first.
  std::string image_dir = "/var/cache/clownix/images";
  // The image of a VM created without one (Vm.image).
  std::string default_image = "tiny";
  // Public key file put into every VM; empty: a key pair is generated into the work dir.
  std::string rsa_public;
  // Accepted for the seed's command line and never read: clownixd only installs public keys.
  std::string rsa_private;
  bool root_fs = false;
  // Run the network (switch and VMs). Off: clownixd keeps the topology only and VMs stay
  // DEFINED, for tools and tests of the topology alone.
  bool backends = true;
  // Network namespace (existing) that gets the admin tap and ip_admin; empty: the host's.
  std::string admin_netns;
  // Events a watcher may fall behind before it is resynced with a snapshot.
  uint32_t watch_queue_limit = 20000;
  // Name of the host tap that carries ip_admin.
  std::string admin_tap = "clownix0";
  // Whether a VM created without saying (Vm.admin absent) gets the admin network (eth0).
  bool admin_default = true;
  // VM n runs as user and group vm_uid_base + n (vmm/vm_confinement.h); 0: as clownixd's user.
  // The default lies above the users of a Debian system and below 2^31, in a range nothing
  // else allocates.
  uint32_t vm_uid_base = 2100000000;
  // Whether the VMs' UML processes get a randomized address layout (vmm::ConfinementPolicy says
  // what it costs).
  bool vm_address_randomization = false;
  // The VMs' host memory budget in MiB (server/memory_budget.h); 0: the host's memory minus an
  // eighth (at least 1 GiB) for the rest.
  int64_t vm_memory_budget_mib = 0;
  // At most this many VMs boot at once (server/boot_pacer.h); 0: no limit. The default is where
  // booting 10 and 50 VMs took least time in total on a 2-core host (docs/benchmarks/scale.md).
  uint32_t max_booting_vms = 6;

  std::string socket_path() const { return work_dir + "/clownixd.sock"; }
  // X.Y of ip_admin, when set.
  std::optional<std::pair<uint8_t, uint8_t>> admin_prefix() const;
};

// Completes and checks options given as flags (`flags`) plus positional arguments (`positional`,
// the seed's form, or none). INVALID_ARGUMENT naming the bad value.
absl::StatusOr<ServerOptions> ResolveServerOptions(ServerOptions flags,
                                                   const std::vector<std::string>& positional);

// What clownixd should warn about at start in otherwise valid options (one message each): a given
// rsa_private, which is accepted and ignored; a listener that makes every caller admin beyond
// clownixd's own user (a socket group or a plaintext port without a tokens file).
std::vector<std::string> OptionWarnings(const ServerOptions& options);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_SERVER_OPTIONS_H_
