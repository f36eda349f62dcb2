#include "clients/cli/lab/lab_plan.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"

namespace clownix::cli {
namespace {

using Labels = google::protobuf::Map<std::string, std::string>;

bool InLab(const Labels& labels, const std::string& lab) {
  auto it = labels.find(kLabLabel);
  return it != labels.end() && it->second == lab;
}

std::string Owner(const Labels& labels) {
  auto it = labels.find(kLabLabel);
  return it == labels.end() ? "no lab" : absl::StrCat("lab ", it->second);
}

// Appends a conflict for each of `wanted` that `existing` has with another owner.
template <typename T, typename Container>
void AddConflicts(const char* kind, const Container& wanted, const Container& existing,
                  const std::string& lab, std::vector<std::string>* conflicts) {
  std::map<std::string, const T*> by_name;
  for (const T& object : existing) by_name[object.name()] = &object;
  for (const T& object : wanted) {
    auto it = by_name.find(object.name());
    if (it != by_name.end() && !InLab(it->second->labels(), lab)) {
      conflicts->push_back(
          absl::StrCat(kind, " \"", object.name(), "\" (", Owner(it->second->labels()), ")"));
    }
  }
}

}  // namespace

v1::Network LabObjects(const v1::Network& network, const std::string& lab_name) {
  v1::Network objects;
  for (const v1::Vm& vm : network.vms()) {
    if (InLab(vm.labels(), lab_name)) *objects.add_vms() = vm;
  }
  for (const v1::Lan& lan : network.lans()) {
    if (InLab(lan.labels(), lab_name)) *objects.add_lans() = lan;
  }
  for (const v1::Tap& tap : network.taps()) {
    if (InLab(tap.labels(), lab_name)) *objects.add_taps() = tap;
  }
  return objects;
}

std::vector<std::string> LabConflicts(const Lab& lab, const v1::Network& current) {
  std::vector<std::string> conflicts;
  AddConflicts<v1::Vm>("vm", lab.network.vms(), current.vms(), lab.name, &conflicts);
  AddConflicts<v1::Lan>("lan", lab.network.lans(), current.lans(), lab.name, &conflicts);
  AddConflicts<v1::Tap>("tap", lab.network.taps(), current.taps(), lab.name, &conflicts);
  return conflicts;
}

v1::Network LabUpToWave(const Lab& lab, size_t last) {
  std::set<std::string> machines;
  for (size_t i = 0; i <= last && i < lab.waves.size(); ++i) {
    machines.insert(lab.waves[i].begin(), lab.waves[i].end());
  }
  v1::Network desired;
  *desired.mutable_lans() = lab.network.lans();
  *desired.mutable_taps() = lab.network.taps();
  for (const v1::Vm& vm : lab.network.vms()) {
    if (machines.count(vm.name()) > 0) *desired.add_vms() = vm;
  }
  for (const v1::Link& link : lab.network.links()) {
    if (link.endpoint().has_tap() || machines.count(link.endpoint().nic().vm()) > 0) {
      *desired.add_links() = link;
    }
  }
  return desired;
}

}  // namespace clownix::cli
