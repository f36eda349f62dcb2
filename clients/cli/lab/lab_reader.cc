#include "clients/cli/lab/lab_reader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "clients/cli/lab/lab_conf.h"
#include "clients/cli/lab/lab_dep.h"
#include "clients/cli/lab/lab_files.h"
#include "clients/cli/lab/lab_images.h"
#include "clients/cli/lab/lab_script.h"
#include "clients/cli/lab/quagga_translation.h"
#include "common/file_io.h"
#include "common/guest_config.h"
#include "common/seed_rules.h"

namespace clownix::cli {
namespace {

namespace fs = std::filesystem;

// Options that have no clownix meaning, and why (the warning says it).
struct IgnoredOption {
  const char* name;
  const char* why;
};
constexpr IgnoredOption kIgnoredOptions[] = {
    {"num_terms", "clownix opens no terminal windows: `clownix console VM` attaches to one"},
    {"shell", "`clownix console VM` gives the guest's root shell, bash"},
    {"port",
     "clownix forwards no host port into a guest: reach it through a bridged NIC (a host tap)"},
    {"cpus", "a UML VM has one CPU"},
    {"con0", "consoles: `clownix console VM` attaches to a machine's console"},
    {"con1", "consoles: `clownix console VM` attaches to a machine's console"},
    {"xterm", "clownix opens no terminal windows: `clownix console VM` attaches to one"},
    {"kernel", "clownix boots its own UML kernel"},
    {"filesystem", "clownix boots its own images (`image` chooses among them)"},
    {"model-fs", "clownix boots its own images (`image` chooses among them)"},
    {"append", "the kernel command line is clownix's"},
    {"modules", "the images carry the kernel's modules"},
    {"hostfs", "clownix never hands a host directory to a guest (docs/security.md)"},
    {"hosthome", "clownix never hands a host directory to a guest (docs/security.md)"},
    {"nohosthome", "clownix never hands a host directory to a guest anyway"},
    {"privileged", "a Docker option; a UML guest's root is root in the guest only"},
    {"ulimit", "a Docker option with no UML equivalent"},
    {"entrypoint", "a Docker option: the startup script is what runs"},
    {"volume", "clownix never hands a host directory to a guest (docs/security.md)"},
};

// Kathará's runtime conventions that labs rely on without saying so.
// Kathará sets them on every device: forwarding on, reverse-path filtering off, and no ICMP rate
// limit (traceroute through a chain of routers answers at every hop).
const std::pair<const char*, const char*> kConventionSysctls[] = {
    {"net.ipv4.ip_forward", "1"},         {"net.ipv6.conf.all.forwarding", "1"},
    {"net.ipv4.conf.all.rp_filter", "0"}, {"net.ipv4.conf.default.rp_filter", "0"},
    {"net.ipv4.conf.lo.rp_filter", "0"},  {"net.ipv4.icmp_ratelimit", "0"},
    {"net.ipv6.icmp.ratelimit", "0"},
};

constexpr char kFrrPrelude[] =
    "# Kathara gives FRR's configuration to the frr user, mode 0640\n"
    "if [ -d /etc/frr ]; then chown -R frr:frr /etc/frr; "
    "find /etc/frr -maxdepth 1 -type f -exec chmod 640 {} +; fi\n";

// Enough of FRR's daemons for a router: docs/images.md, "an FRR router needs mem=80M or more".
constexpr uint32_t kFrrMinMemMib = 80;

std::string Where(absl::string_view file, int line) { return absl::StrCat(file, ":", line); }

// Kathará's strtobool.
std::optional<bool> ParseBool(absl::string_view value) {
  const std::string lower = absl::AsciiStrToLower(value);
  for (const char* yes : {"y", "yes", "t", "true", "on", "1"}) {
    if (lower == yes) return true;
  }
  for (const char* no : {"n", "no", "f", "false", "off", "0"}) {
    if (lower == no) return false;
  }
  return std::nullopt;
}

// "128" (MiB), "128m", "1g", "131072k", "134217728b" -> MiB, rounded up.
std::optional<uint32_t> ParseMem(absl::string_view value) {
  if (value.empty()) return std::nullopt;
  uint64_t scale_kib = 1024;
  const char unit = absl::ascii_tolower(value.back());
  if (!absl::ascii_isdigit(value.back())) {
    value.remove_suffix(1);
    switch (unit) {
      case 'b':
        scale_kib = 0;
        break;
      case 'k':
        scale_kib = 1;
        break;
      case 'm':
        scale_kib = 1024;
        break;
      case 'g':
        scale_kib = 1024 * 1024;
        break;
      default:
        return std::nullopt;
    }
  }
  uint64_t number = 0;
  if (!absl::SimpleAtoi(value, &number) || number > (uint64_t{1} << 40)) return std::nullopt;
  const uint64_t kib = scale_kib == 0 ? (number + 1023) / 1024 : number * scale_kib;
  const uint64_t mib = (kib + 1023) / 1024;
  if (mib > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(mib);
}

// A name lab.conf gives, as a clownix VM or LAN name: lower case. INVALID_ARGUMENT when even
// that is not a valid name.
absl::StatusOr<std::string> ClownixName(absl::string_view kind, absl::string_view name,
                                        absl::string_view where) {
  std::string lower = absl::AsciiStrToLower(name);
  if (absl::Status valid = common::ValidateName(kind, lower); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", kind, " \"", name, "\" cannot be a clownix name: ", valid.message()));
  }
  return lower;
}

// The lab name as a label value: printable, no blanks or commas, at most 63 characters.
std::string LabelValue(absl::string_view name) {
  std::string out;
  for (char c : name) {
    if (out.size() == 63) break;
    out.push_back(c > ' ' && c < 127 && c != ',' ? c : '_');
  }
  return out.empty() ? "lab" : out;
}

// A name for something the lab makes (its bridged LAN, its tap): from the lab's name, with a hash
// of it so that two labs whose names start alike do not meet. At most `max` characters.
std::string DerivedName(absl::string_view lab_name, absl::string_view kind, size_t max) {
  uint32_t hash = 2166136261u;
  for (char c : lab_name) hash = (hash ^ static_cast<uint8_t>(c)) * 16777619u;
  std::string base;
  for (char c : absl::AsciiStrToLower(lab_name)) {
    base.push_back(absl::ascii_isalnum(c) || c == '_' || c == '-' ? c : '-');
  }
  while (!base.empty() && !absl::ascii_isalnum(base[0])) base.erase(0, 1);
  if (base.empty()) base = "lab";
  const std::string suffix = absl::StrFormat("%s%06x", kind, hash & 0xffffff);
  base.resize(std::min(base.size(), max - suffix.size() - 1));
  return absl::StrCat(base, "-", suffix);
}

// Reads the lab's file `name` (lab.conf, lab.dep, a script), "" when it does not exist. A
// symbolic link may point only inside the lab directory: a lab written by someone else must not
// carry a host file (`r1.startup -> /etc/shadow`) into a guest. INVALID_ARGUMENT naming it then.
std::string ReadText(const std::string& dir, const std::string& name, absl::Status* status) {
  const fs::path path = fs::path(dir) / name;
  std::error_code error;
  if (fs::is_symlink(fs::symlink_status(path, error))) {
    const fs::path target = fs::weakly_canonical(path, error);
    const fs::path root = fs::weakly_canonical(dir, error);
    const fs::path inside = target.lexically_relative(root);
    if (error || inside.empty() || *inside.begin() == "..") {
      *status = absl::InvalidArgumentError(
          absl::StrCat(name, ": a symbolic link out of the lab directory (to ", target.string(),
                       "): not read (copy the file into the lab)"));
      return "";
    }
  }
  absl::StatusOr<std::string> text = common::ReadFileIfExists(path.string());
  if (!text.ok()) {
    *status = text.status();
    return "";
  }
  return absl::StrReplaceAll(*text, {{"\r\n", "\n"}});
}

size_t FileBytes(const v1::GuestFile& file) {
  return file.has_data() ? file.data().size() : file.text().size();
}

// INVALID_ARGUMENT when the machine's guest config is over the limits, naming the biggest files.
absl::Status CheckSize(const std::string& machine, const v1::GuestConfig& guest,
                       const std::map<std::string, std::string>& origin_of) {
  size_t total = guest.startup().size() + guest.shutdown().size();
  std::vector<std::pair<size_t, std::string>> sizes;
  for (const v1::GuestFile& file : guest.files()) {
    total += FileBytes(file);
    auto it = origin_of.find(file.path());
    sizes.push_back({FileBytes(file), it == origin_of.end() ? file.path() : it->second});
  }
  const bool too_many = static_cast<size_t>(guest.files_size()) > common::kMaxGuestFiles;
  if (total <= common::kMaxGuestConfigBytes && !too_many) return absl::OkStatus();
  std::sort(sizes.rbegin(), sizes.rend());
  std::vector<std::string> biggest;
  for (size_t i = 0; i < sizes.size() && i < 5; ++i) {
    biggest.push_back(absl::StrCat(sizes[i].second, " (", (sizes[i].first + 1023) / 1024, " KiB)"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "machine ", machine, ": its files and scripts are ", guest.files_size(), " files, ",
      (total + 1023) / 1024, " KiB; a VM's guest config holds at most ", common::kMaxGuestFiles,
      " files and ", common::kMaxGuestConfigBytes / 1024,
      " KiB (clownix copies them on the VM's config disk). The biggest: ",
      absl::StrJoin(biggest, ", "),
      ". Leave big files out of the lab and fetch or build them in the startup script"));
}

void AddLabel(google::protobuf::Map<std::string, std::string>* labels, const std::string& lab) {
  (*labels)[kLabLabel] = lab;
}

// Everything one machine becomes.
class MachineBuilder {
 public:
  MachineBuilder(const std::string& dir, Lab* lab, const std::vector<TreeFile>& shared_files)
      : dir_(dir), lab_(lab), shared_files_(shared_files) {}

  absl::Status Build(const ConfMachine& conf, const std::string& name, bool* bridged,
                     std::vector<std::pair<int, ConfInterface>>* taps);

 private:
  void Warn(std::string warning) { lab_->warnings.push_back(std::move(warning)); }

  const std::string& dir_;
  Lab* lab_;
  const std::vector<TreeFile>& shared_files_;
};

absl::Status MachineBuilder::Build(const ConfMachine& conf, const std::string& name, bool* bridged,
                                   std::vector<std::pair<int, ConfInterface>>* taps) {
  v1::Vm& vm = *lab_->network.add_vms();
  vm.set_name(name);
  vm.set_admin(false);
  AddLabel(vm.mutable_labels(), lab_->name);
  v1::GuestConfig& guest = *vm.mutable_guest();
  for (const auto& [key, value] : kConventionSysctls) (*guest.mutable_sysctls())[key] = value;

  std::string lab_image = kDefaultLabImage;
  std::map<std::string, int> single_seen;
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> exec_lines;
  std::vector<int> exec_line_numbers;
  std::optional<uint32_t> mem;
  *bridged = false;
  for (const ConfOption& option : conf.options) {
    const std::string where = Where("lab.conf", option.line);
    const std::string& key = option.name;
    if (key == "image" || key == "mem" || key == "ipv6" || key == "bridged") {
      auto [it, first] = single_seen.emplace(key, option.line);
      if (!first) {
        Warn(absl::StrCat(where, ": ", conf.name, "[", key, "] again: this value replaces line ",
                          it->second, "'s"));
        it->second = option.line;
      }
    }
    if (key == "image") {
      lab_image = option.value;
    } else if (key == "mem") {
      mem = ParseMem(option.value);
      if (!mem.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": ", conf.name, "[mem]=\"", option.value,
            "\" is not a memory size: MiB (\"128\") or a number with b, k, m or g (\"1g\")"));
      }
    } else if (key == "ipv6") {
      std::optional<bool> on = ParseBool(option.value);
      if (!on.has_value()) {
        Warn(absl::StrCat(where, ": ", conf.name, "[ipv6]=\"", option.value,
                          "\" is not true or false: ignored"));
        continue;
      }
      const std::string disable = *on ? "0" : "1";
      (*guest.mutable_sysctls())["net.ipv6.conf.all.disable_ipv6"] = disable;
      (*guest.mutable_sysctls())["net.ipv6.conf.default.disable_ipv6"] = disable;
    } else if (key == "bridged") {
      std::optional<bool> on = ParseBool(option.value);
      if (!on.has_value()) {
        Warn(absl::StrCat(where, ": ", conf.name, "[bridged]=\"", option.value,
                          "\" is not true or false: ignored"));
        continue;
      }
      *bridged = *on;
    } else if (key == "exec") {
      exec_lines.push_back(option.value);
      exec_line_numbers.push_back(option.line);
    } else if (key == "sysctl") {
      const size_t equals = option.value.find('=');
      std::string sysctl_name(absl::StripAsciiWhitespace(option.value.substr(0, equals)));
      if (equals == std::string::npos || sysctl_name.empty()) {
        Warn(absl::StrCat(where, ": ", conf.name, "[sysctl]=\"", option.value,
                          "\" is not NAME=VALUE: ignored"));
        continue;
      }
      (*guest.mutable_sysctls())[sysctl_name] =
          std::string(absl::StripAsciiWhitespace(option.value.substr(equals + 1)));
    } else if (key == "env") {
      const size_t equals = option.value.find('=');
      std::string env_name(absl::StripAsciiWhitespace(option.value.substr(0, equals)));
      const bool valid_name = !env_name.empty() && !absl::ascii_isdigit(env_name[0]) &&
                              std::all_of(env_name.begin(), env_name.end(), [](char c) {
                                return absl::ascii_isalnum(c) || c == '_';
                              });
      if (equals == std::string::npos || !valid_name) {
        Warn(absl::StrCat(where, ": ", conf.name, "[env]=\"", option.value,
                          "\" is not NAME=VALUE: ignored"));
        continue;
      }
      env.push_back(
          {env_name, std::string(absl::StripAsciiWhitespace(option.value.substr(equals + 1)))});
    } else if (key == "M") {
      // Netkit's vstart -M is --mem.
      mem = ParseMem(option.value);
      if (!mem.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", conf.name, "[M]=\"", option.value, "\" is not MiB"));
      }
    } else {
      const IgnoredOption* ignored = nullptr;
      for (const IgnoredOption& entry : kIgnoredOptions) {
        if (key == entry.name) ignored = &entry;
      }
      Warn(ignored != nullptr
               ? absl::StrCat(where, ": ", conf.name, "[", key, "] does not apply: ", ignored->why,
                              "; ignored")
               : absl::StrCat(where, ": ", conf.name, "[", key, "]: unknown option, ignored"));
    }
  }

  const LabImage image = MapLabImage(lab_image);
  vm.set_image(image.image);
  if (!image.known) {
    Warn(absl::StrCat(
        "lab.conf:", single_seen.count("image") ? single_seen["image"] : conf.first_line, ": ",
        conf.name, ": image \"", lab_image,
        "\" is not one clownix knows: it runs on the debian image"));
  } else if (!image.note.empty()) {
    Warn(absl::StrCat(
        "lab.conf:", single_seen.count("image") ? single_seen["image"] : conf.first_line, ": ",
        conf.name, ": image \"", lab_image, "\" runs on clownix's ", image.image, ": ",
        image.note));
  }
  if (mem.has_value()) vm.set_mem_mib(*mem);

  // NICs: ethN as lab.conf numbers them; a bridged machine's NIC to the host comes last.
  int highest = -1;
  for (const auto& [index, interface] : conf.interfaces) {
    highest = std::max(highest, index);
    if (!interface.mac.empty()) (*vm.mutable_nic_macs())[index] = interface.mac;
    if (interface.netkit_tap) {
      taps->push_back({index, interface});
      continue;
    }
    absl::StatusOr<std::string> lan =
        ClownixName("lan", interface.domain, Where("lab.conf", interface.line));
    if (!lan.ok()) return lan.status();
    v1::Link& link = *lab_->network.add_links();
    link.mutable_endpoint()->mutable_nic()->set_vm(name);
    link.mutable_endpoint()->mutable_nic()->set_index(index);
    link.set_lan(*lan);
  }
  if (*bridged) {
    if (highest + 1 > kMaxLabNicIndex) {
      return absl::InvalidArgumentError(
          absl::StrCat("lab.conf:", single_seen["bridged"], ": ", conf.name,
                       "[bridged]: its NIC to the host would be eth", highest + 1,
                       ", and a clownix VM has eth0..eth", kMaxLabNicIndex));
    }
    taps->push_back({highest + 1, ConfInterface{}});
    ++highest;
  }
  vm.set_nic_count(std::max(1, highest + 1));

  // Files: shared/ into / and /shared, then the machine's own directory, which wins.
  std::vector<std::string> warnings;
  absl::StatusOr<std::vector<TreeFile>> own = ReadTree(dir_, conf.name, "", &warnings);
  if (!own.ok()) return own.status();
  for (std::string& warning : warnings) Warn(std::move(warning));
  std::vector<TreeFile> all;
  for (const TreeFile& file : shared_files_) {
    all.push_back(file);
    TreeFile mounted = file;
    mounted.file.set_path(absl::StrCat("/shared", file.file.path()));
    all.push_back(std::move(mounted));
  }
  for (TreeFile& file : *own) all.push_back(std::move(file));
  std::map<std::string, std::string> origin_of;
  std::vector<v1::GuestFile> files;
  {
    std::map<std::string, size_t> last;
    for (size_t i = 0; i < all.size(); ++i) last[all[i].file.path()] = i;
    for (size_t i = 0; i < all.size(); ++i) {
      if (last[all[i].file.path()] != i) continue;
      origin_of[all[i].file.path()] = all[i].origin;
      files.push_back(all[i].file);
    }
  }
  std::vector<std::string> notes;
  QuaggaFiles quagga = TranslateQuaggaFiles(&files);
  for (const std::string& note : quagga.notes) notes.push_back(absl::StrCat(conf.name, ": ", note));
  bool frr = false;
  for (const v1::GuestFile& file : files) {
    frr |= absl::StartsWith(file.path(), "/etc/frr/");
    *guest.add_files() = file;
  }

  // Scripts.
  absl::Status read_status = absl::OkStatus();
  std::vector<ScriptPart> startup;
  for (const std::string& source : {std::string("shared.startup"), conf.name + ".startup"}) {
    std::string body = ReadText(dir_, source, &read_status);
    if (!read_status.ok()) return read_status;
    if (body.empty()) continue;
    startup.push_back({source, RewriteQuaggaCommands(body, source, &notes)});
  }
  if (!exec_lines.empty()) {
    std::string body;
    for (size_t i = 0; i < exec_lines.size(); ++i) {
      absl::StrAppend(
          &body,
          RewriteQuaggaCommands(exec_lines[i], Where("lab.conf", exec_line_numbers[i]), &notes),
          "\n");
    }
    startup.push_back({"lab.conf exec", body});
  }
  std::vector<ScriptPart> shutdown;
  for (const std::string& source : {conf.name + ".shutdown", std::string("shared.shutdown")}) {
    std::string body = ReadText(dir_, source, &read_status);
    if (!read_status.ok()) return read_status;
    if (body.empty()) continue;
    shutdown.push_back({source, RewriteQuaggaCommands(body, source, &notes)});
  }
  for (std::string& note : notes) Warn(std::move(note));
  const std::string interpreter = image.image == "tiny" ? "/bin/sh" : "/bin/bash";
  // Kathará's interfaces (Docker's) are up when the startup runs, and its labs set addresses
  // without `ip link set up`; a UML guest's are down until something brings them up.
  std::string prelude;
  if (highest >= 0) {
    absl::StrAppend(&prelude, "# Kathara's interfaces are up before the startup runs\n",
                    "for nic in");
    for (int index = 0; index <= highest; ++index) absl::StrAppend(&prelude, " eth", index);
    absl::StrAppend(&prelude, "; do ip link set dev $nic up 2>/dev/null; done\n");
  }
  if (frr) absl::StrAppend(&prelude, kFrrPrelude);
  absl::StrAppend(&prelude, FrrDaemonsCommands(quagga.daemons));
  const std::string header = absl::StrCat("clownix lab ", lab_->name, ", machine ", conf.name,
                                          ": generated from the lab by `clownix lab`");
  guest.set_startup(AssembleLabScript(interpreter, header, env, prelude, startup));
  guest.set_shutdown(AssembleLabScript(interpreter, header, env, "", shutdown));
  if (frr && vm.mem_mib() != 0 && vm.mem_mib() < kFrrMinMemMib) {
    Warn(absl::StrCat("lab.conf:", single_seen["mem"], ": ", conf.name, " runs FRR with ",
                      vm.mem_mib(), " MiB: FRR's daemons want ", kFrrMinMemMib,
                      " MiB or more (docs/images.md)"));
  }
  return CheckSize(name, guest, origin_of);
}

// The machines of a lab without lab.conf: its subdirectories.
LabConf MachinesFromDirectories(const std::string& dir, std::vector<std::string>* warnings) {
  LabConf conf;
  std::vector<std::string> names;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    const std::string base = entry.path().filename().string();
    if (!entry.is_directory() || base == "shared" || base[0] == '.' || base[0] == '_') continue;
    names.push_back(base);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) conf.machines.push_back(ConfMachine{name, 0, {}, {}});
  warnings->push_back(absl::StrCat(
      "lab.conf: none: every directory is a machine (", absl::StrJoin(names, ", "),
      "), and no machine is linked to another (lab.conf's dev[N]=DOMAIN lines say that)"));
  return conf;
}

}  // namespace

absl::StatusOr<Lab> ReadLab(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("lab directory ", dir, " does not exist"));
  }
  Lab lab;
  lab.dir = dir;
  absl::Status read_status = absl::OkStatus();
  const bool has_conf = fs::exists(fs::path(dir) / "lab.conf", error);
  const std::string conf_text = ReadText(dir, "lab.conf", &read_status);
  if (!read_status.ok()) return read_status;
  LabConf conf;
  if (has_conf) {
    absl::StatusOr<LabConf> parsed = ParseLabConf(conf_text, "lab.conf");
    if (!parsed.ok()) return parsed.status();
    conf = *std::move(parsed);
    lab.warnings = conf.warnings;
  } else {
    conf = MachinesFromDirectories(dir, &lab.warnings);
  }
  if (conf.machines.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir, ": no machines (lab.conf names none, or, without lab.conf, no directory)"));
  }
  for (const auto& [key, value] : conf.metadata) lab.metadata[key] = value.second;
  fs::path absolute = fs::absolute(dir, error).lexically_normal();
  if (absolute.filename().empty()) absolute = absolute.parent_path();
  std::string name = absolute.filename().string();
  if (auto it = conf.metadata.find("LAB_NAME");
      it != conf.metadata.end() && !it->second.second.empty()) {
    name = it->second.second;
  }
  lab.name = LabelValue(name);

  // Machine names.
  std::map<std::string, std::string> by_clownix_name;
  std::vector<std::string> original_order;
  for (const ConfMachine& machine : conf.machines) {
    const std::string where =
        machine.first_line > 0 ? Where("lab.conf", machine.first_line) : machine.name + "/";
    absl::StatusOr<std::string> clownix_name = ClownixName("vm", machine.name, where);
    if (!clownix_name.ok()) return clownix_name.status();
    if (auto [it, inserted] = by_clownix_name.emplace(*clownix_name, machine.name); !inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": machines \"", it->second, "\" and \"", machine.name,
                       "\" would both be \"", *clownix_name, "\" (clownix names are lower case)"));
    }
    if (*clownix_name != machine.name) {
      lab.warnings.push_back(absl::StrCat(where, ": machine \"", machine.name, "\" is \"",
                                          *clownix_name, "\" in clownix (names are lower case)"));
    }
    lab.machines.push_back(*clownix_name);
    lab.original_names[*clownix_name] = machine.name;
    original_order.push_back(machine.name);
  }
  // LAN names, warned about once each.
  std::map<std::string, int> lan_first_line;
  std::vector<std::string> lan_order;
  for (const ConfMachine& machine : conf.machines) {
    for (const auto& [index, interface] : machine.interfaces) {
      if (interface.netkit_tap) continue;
      if (lan_first_line.emplace(interface.domain, interface.line).second) {
        lan_order.push_back(interface.domain);
      }
    }
  }
  std::map<std::string, std::string> lan_names;
  for (const std::string& domain : lan_order) {
    const std::string where = Where("lab.conf", lan_first_line[domain]);
    absl::StatusOr<std::string> lan = ClownixName("lan", domain, where);
    if (!lan.ok()) return lan.status();
    for (const auto& [other, other_lan] : lan_names) {
      if (other_lan == *lan) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": collision domains \"", other, "\" and \"", domain,
                         "\" would both be LAN \"", *lan, "\" (clownix names are lower case)"));
      }
    }
    if (*lan != domain) {
      lab.warnings.push_back(absl::StrCat(where, ": collision domain \"", domain, "\" is LAN \"",
                                          *lan, "\" in clownix (names are lower case)"));
    }
    lan_names[domain] = *lan;
    v1::Lan& new_lan = *lab.network.add_lans();
    new_lan.set_name(*lan);
    AddLabel(new_lan.mutable_labels(), lab.name);
  }

  // Files and directories that belong to no machine.
  {
    std::set<std::string> machine_names(original_order.begin(), original_order.end());
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
      const std::string base = entry.path().filename().string();
      if (base.empty() || base[0] == '.' || base[0] == '_') continue;
      if (entry.is_directory() && base != "shared" && machine_names.count(base) == 0) {
        lab.warnings.push_back(absl::StrCat(base, "/: not a machine of lab.conf: not copied"));
      }
      for (const char* suffix : {".startup", ".shutdown"}) {
        if (absl::EndsWith(base, suffix) && entry.is_regular_file()) {
          const std::string machine = base.substr(0, base.size() - strlen(suffix));
          if (machine != "shared" && machine_names.count(machine) == 0) {
            lab.warnings.push_back(
                absl::StrCat(base, ": not a machine of lab.conf: not run anywhere"));
          }
        }
      }
    }
  }

  std::vector<std::string> warnings;
  absl::StatusOr<std::vector<TreeFile>> shared = ReadTree(dir, "shared", "", &warnings);
  if (!shared.ok()) return shared.status();
  for (std::string& warning : warnings) lab.warnings.push_back(std::move(warning));

  MachineBuilder builder(dir, &lab, *shared);
  std::vector<std::string> bridged_machines;
  std::string bridged_lan;
  std::string tap_name;
  for (size_t i = 0; i < conf.machines.size(); ++i) {
    const ConfMachine& machine = conf.machines[i];
    // Interfaces name collision domains; the builder needs their clownix names.
    ConfMachine mapped = machine;
    for (auto& [index, interface] : mapped.interfaces) {
      if (!interface.netkit_tap) interface.domain = lan_names[interface.domain];
    }
    bool bridged = false;
    std::vector<std::pair<int, ConfInterface>> taps;
    if (absl::Status built = builder.Build(mapped, lab.machines[i], &bridged, &taps); !built.ok()) {
      return built;
    }
    if (taps.empty()) continue;
    if (bridged_lan.empty()) {
      bridged_lan = DerivedName(lab.name, "br", common::kMaxNameLength);
      tap_name = DerivedName(lab.name, "t", common::kMaxTapNameLength);
      v1::Lan& lan = *lab.network.add_lans();
      lan.set_name(bridged_lan);
      AddLabel(lan.mutable_labels(), lab.name);
      v1::Tap& tap = *lab.network.add_taps();
      tap.set_name(tap_name);
      AddLabel(tap.mutable_labels(), lab.name);
      v1::Link& link = *lab.network.add_links();
      link.mutable_endpoint()->set_tap(tap_name);
      link.set_lan(bridged_lan);
    }
    for (const auto& [index, interface] : taps) {
      v1::Link& link = *lab.network.add_links();
      link.mutable_endpoint()->mutable_nic()->set_vm(lab.machines[i]);
      link.mutable_endpoint()->mutable_nic()->set_index(index);
      link.set_lan(bridged_lan);
      lab.warnings.push_back(
          interface.netkit_tap
              ? absl::StrCat("lab.conf:", interface.line, ": ", machine.name, "[", index,
                             "]: Netkit's tap: eth", index, " is on LAN ", bridged_lan,
                             " with the host tap ", tap_name,
                             " (in clownixd's network namespace); clownix sets no address on "
                             "either side: the guest's ",
                             interface.tap_guest_ip, " goes in its startup, the host's ",
                             interface.tap_host_ip, " on ", tap_name)
              : absl::StrCat(machine.name, ": bridged: eth", index, " is on LAN ", bridged_lan,
                             " with the host tap ", tap_name,
                             " (in clownixd's network namespace); clownix gives it no address "
                             "(Kathará's Docker bridge did): docs/labs.md"));
    }
  }

  // Boot waves.
  const bool has_dep = fs::exists(fs::path(dir) / "lab.dep", error);
  const std::string dep_text = ReadText(dir, "lab.dep", &read_status);
  if (!read_status.ok()) return read_status;
  if (has_dep) {
    absl::StatusOr<std::vector<std::vector<std::string>>> waves =
        ParseLabDep(dep_text, "lab.dep", original_order);
    if (!waves.ok()) return waves.status();
    for (const std::vector<std::string>& wave : *waves) {
      std::vector<std::string> mapped;
      for (const std::string& original : wave) {
        mapped.push_back(
            lab.machines[std::find(original_order.begin(), original_order.end(), original) -
                         original_order.begin()]);
      }
      lab.waves.push_back(std::move(mapped));
    }
  } else {
    lab.waves.push_back(lab.machines);
  }
  return lab;
}

}  // namespace clownix::cli
