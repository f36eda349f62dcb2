#include "clients/cli/lab/lab_dep.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace clownix::cli {
namespace {

struct Edge {
  std::string to;
  int line = 0;
};

bool IsName(absl::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '-';
  });
}

}  // namespace

absl::StatusOr<std::vector<std::vector<std::string>>> ParseLabDep(
    absl::string_view text, absl::string_view source, const std::vector<std::string>& machines) {
  const std::set<std::string> known(machines.begin(), machines.end());
  std::map<std::string, std::vector<Edge>> depends_on;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = absl::StrCat(source, ":", line_number);
    const size_t colon = line.find(':');
    std::vector<absl::string_view> deps;
    absl::string_view machine;
    if (colon != absl::string_view::npos) {
      machine = absl::StripAsciiWhitespace(line.substr(0, colon));
      deps = absl::StrSplit(line.substr(colon + 1), absl::ByAnyChar(" \t"), absl::SkipEmpty());
    }
    if (!IsName(machine) || deps.empty() ||
        !std::all_of(deps.begin(), deps.end(), [](absl::string_view d) { return IsName(d); })) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": \"", line, "\" is not MACHINE: MACHINE... (a machine and those it waits for)"));
    }
    for (absl::string_view name : deps) {
      for (absl::string_view one : {machine, name}) {
        if (known.count(std::string(one)) == 0) {
          return absl::InvalidArgumentError(absl::StrCat(where, ": unknown machine \"", one,
                                                         "\" (the lab has ",
                                                         absl::StrJoin(machines, ", "), ")"));
        }
      }
      depends_on[std::string(machine)].push_back(Edge{std::string(name), line_number});
    }
  }

  // Cycles first, by depth-first search, so that the message can name one.
  std::map<std::string, int> color;  // 0 unvisited, 1 on the stack, 2 done
  std::vector<std::string> stack;
  std::vector<int> stack_lines;
  absl::Status cycle = absl::OkStatus();
  std::function<void(const std::string&)> visit = [&](const std::string& node) {
    color[node] = 1;
    stack.push_back(node);
    for (const Edge& edge : depends_on[node]) {
      if (!cycle.ok()) return;
      stack_lines.push_back(edge.line);
      if (color[edge.to] == 1) {
        const size_t start = std::find(stack.begin(), stack.end(), edge.to) - stack.begin();
        std::vector<std::string> around(stack.begin() + start, stack.end());
        around.push_back(edge.to);
        cycle = absl::InvalidArgumentError(
            absl::StrCat(source, ":", stack_lines[start], ": a dependency cycle: ",
                         absl::StrJoin(around, " waits for "), "; nothing was started"));
        return;
      }
      if (color[edge.to] == 0) visit(edge.to);
      stack_lines.pop_back();
    }
    stack.pop_back();
    color[node] = 2;
  };
  for (const std::string& machine : machines) {
    if (color[machine] == 0) visit(machine);
    if (!cycle.ok()) return cycle;
  }

  std::map<std::string, int> wave_of;
  std::vector<std::vector<std::string>> waves;
  while (wave_of.size() < machines.size()) {
    std::vector<std::string> wave;
    for (const std::string& machine : machines) {
      if (wave_of.count(machine) > 0) continue;
      const std::vector<Edge>& edges = depends_on[machine];
      if (std::all_of(edges.begin(), edges.end(), [&](const Edge& edge) {
            auto it = wave_of.find(edge.to);
            return it != wave_of.end() && it->second < static_cast<int>(waves.size());
          })) {
        wave.push_back(machine);
      }
    }
    for (const std::string& machine : wave) wave_of[machine] = static_cast<int>(waves.size());
    waves.push_back(std::move(wave));
  }
  return waves;
}

}  // namespace clownix::cli
