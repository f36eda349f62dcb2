#include "clients/cli/impair_command.h"

#include "absl/strings/str_cat.h"
#include "clients/cli/format.h"
#include "clients/cli/values.h"
#include "google/protobuf/util/message_differencer.h"

namespace clownix::cli {
namespace {

// The flags of one invocation, applied on top of a direction's current impairment.
struct ImpairFlags {
  std::string delay, jitter, loss, duplicate, corrupt, reorder, rate;
};

absl::Status Overlay(const ArgParser& parser, const ImpairFlags& flags, v1::Impairment& out) {
  if (parser.IsSet("delay")) {
    absl::StatusOr<uint32_t> v = ParseDurationUs("--delay", flags.delay);
    if (!v.ok()) return v.status();
    out.set_delay_us(*v);
  }
  if (parser.IsSet("jitter")) {
    absl::StatusOr<uint32_t> v = ParseDurationUs("--jitter", flags.jitter);
    if (!v.ok()) return v.status();
    out.set_jitter_us(*v);
  }
  struct Percent {
    const char* flag;
    const std::string& word;
    void (v1::Impairment::*set)(double);
  };
  const Percent percents[] = {
      {"loss", flags.loss, &v1::Impairment::set_loss_percent},
      {"duplicate", flags.duplicate, &v1::Impairment::set_duplicate_percent},
      {"corrupt", flags.corrupt, &v1::Impairment::set_corrupt_percent},
      {"reorder", flags.reorder, &v1::Impairment::set_reorder_percent},
  };
  for (const Percent& p : percents) {
    if (!parser.IsSet(p.flag)) continue;
    absl::StatusOr<double> v = ParsePercent(std::string("--") + p.flag, p.word);
    if (!v.ok()) return v.status();
    (out.*p.set)(*v);
  }
  if (parser.IsSet("rate")) {
    absl::StatusOr<uint64_t> v = ParseRateKbps("--rate", flags.rate);
    if (!v.ok()) return v.status();
    out.set_rate_kbps(*v);
  }
  return absl::OkStatus();
}

}  // namespace

int RunImpairCommand(CommandEnv& env, const std::vector<std::string>& args) {
  ImpairFlags flags;
  std::string direction = "both";
  bool clear = false;
  ArgParser parser(
      "clownix impair ENDPOINT [--direction both|to-lan|from-lan] [--delay D] [--jitter D]\n"
      "       [--loss P] [--duplicate P] [--corrupt P] [--reorder P] [--rate R] [--clear]",
      "Sets the impairments of a connected endpoint's link (ENDPOINT: VM NIC, VM/NIC or "
      "tap:NAME).\nFlags given change the chosen direction(s); everything else is kept. "
      "With no flag, shows them.\nto-lan: frames the endpoint sends; from-lan: frames it "
      "receives.");
  parser.AddString("direction", "DIR", "both (default), to-lan or from-lan", &direction);
  parser.AddString("delay", "D", "one-way delay, e.g. 20ms", &flags.delay);
  parser.AddString("jitter", "D", "random extra delay up to D (at most --delay)", &flags.jitter);
  parser.AddString("loss", "P", "percentage of frames lost, e.g. 5 or 0.5%", &flags.loss);
  parser.AddString("duplicate", "P", "percentage of frames duplicated", &flags.duplicate);
  parser.AddString("corrupt", "P", "percentage of frames with one bit flipped", &flags.corrupt);
  parser.AddString("reorder", "P", "percentage of frames reordered", &flags.reorder);
  parser.AddString("rate", "R", "rate limit: kbit/s, or 500kbit, 10mbit, 1gbit; 0 = none",
                   &flags.rate);
  parser.AddBool("clear", "start from a perfect link instead of the current settings", &clear);
  if (int code = ParseOrExit(env, "impair", parser, args); code >= 0) return code;
  const std::vector<std::string>& words = parser.positionals();
  size_t used = 0;
  absl::StatusOr<v1::Endpoint> endpoint = ParseEndpoint(words, &used);
  absl::Status usage = endpoint.status();
  if (usage.ok() && words.size() != used) {
    usage = absl::InvalidArgumentError("too many arguments: expected VM NIC or tap:NAME");
  }
  if (usage.ok() && direction != "both" && direction != "to-lan" && direction != "from-lan") {
    usage = absl::InvalidArgumentError(
        absl::StrCat("bad --direction \"", direction, "\": expected both, to-lan or from-lan"));
  }
  v1::Impairment validated;
  if (usage.ok()) usage = Overlay(parser, flags, validated);
  if (!usage.ok()) return env.UsageError("impair", usage);

  // The request replaces both directions: start from the link's current settings.
  v1::Network network;
  grpc::ClientContext get_context;
  env.client().SetDeadline(get_context);
  grpc::Status status =
      env.client().topology().GetTopology(&get_context, v1::GetTopologyRequest(), &network);
  if (!status.ok()) return env.RpcError(status);
  const v1::Link* current = nullptr;
  for (const v1::Link& link : network.links()) {
    if (google::protobuf::util::MessageDifferencer::Equals(link.endpoint(), *endpoint)) {
      current = &link;
    }
  }
  bool any_flag = clear;
  for (const char* name : {"delay", "jitter", "loss", "duplicate", "corrupt", "reorder", "rate"}) {
    any_flag = any_flag || parser.IsSet(name);
  }
  if (!any_flag) {
    if (current == nullptr) {
      return env.Error(absl::NotFoundError(
          absl::StrCat(EndpointText(*endpoint), " is not connected to any LAN")));
    }
    env.out() << EndpointText(*endpoint) << " -> " << current->lan()
              << "\n  to-lan:   " << ImpairmentText(current->to_lan())
              << "\n  from-lan: " << ImpairmentText(current->from_lan()) << "\n";
    return kExitOk;
  }

  v1::SetImpairmentRequest request;
  *request.mutable_endpoint() = *endpoint;
  if (current != nullptr && !clear) {
    *request.mutable_to_lan() = current->to_lan();
    *request.mutable_from_lan() = current->from_lan();
  }
  for (v1::Impairment* side : {request.mutable_to_lan(), request.mutable_from_lan()}) {
    bool chosen =
        direction == "both" || (direction == "to-lan") == (side == request.mutable_to_lan());
    if (!chosen) continue;
    if (clear) side->Clear();
    // Re-applying the flags (already validated) onto this side.
    (void)Overlay(parser, flags, *side);
  }
  v1::MutationResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  status = env.client().topology().SetImpairment(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  env.out() << EndpointText(*endpoint) << ": to-lan " << ImpairmentText(request.to_lan())
            << ", from-lan " << ImpairmentText(request.from_lan()) << " at revision "
            << response.revision() << "\n";
  return kExitOk;
}

}  // namespace clownix::cli
