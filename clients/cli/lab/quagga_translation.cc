#include "clients/cli/lab/quagga_translation.h"

#include <algorithm>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace clownix::cli {
namespace {

constexpr char kQuaggaDir[] = "/etc/quagga/";
constexpr char kFrrConf[] = "/etc/frr/frr.conf";
constexpr char kFrrDaemons[] = "/etc/frr/daemons";

// FRR has these; Quagga's zebra always runs in FRR, so it needs no line.
constexpr const char* kFrrDaemonNames[] = {"bgpd",   "ospfd", "ospf6d", "ripd",
                                           "ripngd", "isisd", "babeld", "pimd"};

std::string Contents(const v1::GuestFile& file) {
  return file.has_data() ? file.data() : file.text();
}

// Quagga's per-daemon vty passwords mean nothing to vtysh, which FRR's start feeds frr.conf to.
std::string FrrConfFrom(absl::string_view path, absl::string_view conf) {
  std::string out = absl::StrCat("! from ", path, "\n");
  for (absl::string_view line : absl::StrSplit(conf, '\n')) {
    absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(trimmed, "password ") || absl::StartsWith(trimmed, "enable password ")) {
      continue;
    }
    absl::StrAppend(&out, absl::StrReplaceAll(line, {{"/var/log/quagga", "/var/log/frr"}}), "\n");
  }
  return out;
}

}  // namespace

QuaggaFiles TranslateQuaggaFiles(std::vector<v1::GuestFile>* files) {
  QuaggaFiles result;
  bool has_frr_conf = false;
  bool has_frr_daemons = false;
  std::vector<const v1::GuestFile*> confs;
  const v1::GuestFile* daemons = nullptr;
  for (const v1::GuestFile& file : *files) {
    has_frr_conf |= file.path() == kFrrConf;
    has_frr_daemons |= file.path() == kFrrDaemons;
    if (!absl::StartsWith(file.path(), kQuaggaDir)) continue;
    absl::string_view name = absl::string_view(file.path()).substr(sizeof(kQuaggaDir) - 1);
    if (name == "daemons") {
      daemons = &file;
    } else if (absl::EndsWith(name, ".conf") && name.find('/') == absl::string_view::npos &&
               name != "vtysh.conf") {
      confs.push_back(&file);
    }
  }
  if (daemons == nullptr && confs.empty()) return result;
  result.translated = true;
  if (daemons != nullptr) {
    for (absl::string_view line : absl::StrSplit(Contents(*daemons), '\n')) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, '=');
      absl::string_view value = absl::StripAsciiWhitespace(kv.second);
      absl::ConsumePrefix(&value, "\"");
      absl::ConsumeSuffix(&value, "\"");
      const std::string daemon(absl::StripAsciiWhitespace(kv.first));
      if (value != "yes") continue;
      if (std::find(std::begin(kFrrDaemonNames), std::end(kFrrDaemonNames), daemon) !=
          std::end(kFrrDaemonNames)) {
        result.daemons.push_back(daemon);
      }
    }
    if (has_frr_daemons) {
      result.notes.push_back(
          "/etc/quagga/daemons is dropped: the lab gives /etc/frr/daemons as well");
      result.daemons.clear();
    } else {
      result.notes.push_back(absl::StrCat(
          "/etc/quagga/daemons turns on ",
          result.daemons.empty() ? "no daemon but zebra" : absl::StrJoin(result.daemons, ", "),
          " in FRR's /etc/frr/daemons"));
    }
  }
  std::string merged;
  if (!confs.empty()) {
    std::sort(confs.begin(), confs.end(), [](const v1::GuestFile* a, const v1::GuestFile* b) {
      const bool a_zebra = absl::EndsWith(a->path(), "/zebra.conf");
      const bool b_zebra = absl::EndsWith(b->path(), "/zebra.conf");
      if (a_zebra != b_zebra) return a_zebra;
      return a->path() < b->path();
    });
    std::vector<std::string> paths;
    merged = "log file /var/log/frr/frr.log informational\n";
    for (const v1::GuestFile* conf : confs) {
      paths.push_back(conf->path());
      absl::StrAppend(&merged, FrrConfFrom(conf->path(), Contents(*conf)));
    }
    result.notes.push_back(
        has_frr_conf
            ? absl::StrCat(absl::StrJoin(paths, ", "), " dropped: the lab gives /etc/frr/frr.conf")
            : absl::StrCat(absl::StrJoin(paths, ", "), " merged into FRR's /etc/frr/frr.conf"));
  }
  files->erase(std::remove_if(files->begin(), files->end(),
                              [](const v1::GuestFile& file) {
                                return absl::StartsWith(file.path(), kQuaggaDir);
                              }),
               files->end());
  if (!merged.empty() && !has_frr_conf) {
    v1::GuestFile frr_conf;
    frr_conf.set_path(kFrrConf);
    frr_conf.set_text(merged);
    frr_conf.set_mode("0640");
    files->push_back(std::move(frr_conf));
  }
  return result;
}

std::string RewriteQuaggaCommands(absl::string_view script, absl::string_view source,
                                  std::vector<std::string>* notes) {
  static const std::regex* const kRules[] = {
      new std::regex(R"((/etc/init\.d/)(quagga|zebra)\b)"),
      new std::regex(R"(\b(service\s+)quagga\b)"),
      new std::regex(R"(\b(systemctl\s+(?:-\S+\s+)*[a-z-]+\s+)quagga(\.service)?\b)"),
  };
  static const std::regex kDaemonStart(
      R"(^(\s*)(/etc/init\.d/(bgpd|ospfd|ospf6d|ripd|ripngd|isisd)\s+(start|restart))\s*$)");
  std::string out;
  int line_number = 0;
  std::vector<absl::string_view> lines = absl::StrSplit(script, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    ++line_number;
    const std::string line(lines[i]);
    std::string rewritten = line;
    std::smatch match;
    if (std::regex_match(line, match, kDaemonStart)) {
      rewritten = absl::StrCat(match[1].str(), "true  # clownix: FRR's start runs ", match[3].str(),
                               " (was: ", match[2].str(), ")");
    } else {
      rewritten = std::regex_replace(rewritten, *kRules[0], "$1frr");
      rewritten = std::regex_replace(rewritten, *kRules[1], "$1frr");
      rewritten = std::regex_replace(rewritten, *kRules[2], "$1frr");
    }
    if (rewritten != line) {
      notes->push_back(absl::StrCat(
          source, ":", line_number, ": \"", absl::StripAsciiWhitespace(line), "\" becomes \"",
          absl::StripAsciiWhitespace(rewritten), "\" (Quagga runs as FRR)"));
    }
    absl::StrAppend(&out, rewritten, i + 1 < lines.size() ? "\n" : "");
  }
  return out;
}

std::string FrrDaemonsCommands(const std::vector<std::string>& daemons) {
  std::string out;
  for (const std::string& daemon : daemons) {
    absl::StrAppend(&out, "sed -i 's/^", daemon, "=no/", daemon, "=yes/' /etc/frr/daemons\n");
  }
  return out;
}

}  // namespace clownix::cli
