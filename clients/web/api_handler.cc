#include "clients/web/api_handler.h"

#include <chrono>
#include <functional>

#include "absl/strings/str_cat.h"
#include "clients/common/topology_file.h"
#include "clients/web/proto_json.h"
#include "google/protobuf/struct.pb.h"

namespace clownix::web {
namespace {

template <typename Request, typename Response>
using Call = std::function<grpc::Status(grpc::ClientContext*, const Request&, Response*)>;

// Parses the body as `Request`, calls, and turns the answer into JSON.
template <typename Request, typename Response>
ApiReply Unary(absl::string_view body, const std::string& token, std::chrono::seconds deadline,
               Call<Request, Response> call) {
  Request request;
  if (absl::Status status = FromJson(body, "the request", &request); !status.ok()) {
    return ErrorReply(status);
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  AddToken(&context, token);
  Response response;
  grpc::Status status = call(&context, request, &response);
  if (!status.ok()) return ErrorReply(FromGrpc(status));
  return {200, ToJson(response)};
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

}  // namespace

ApiReply ErrorReply(const absl::Status& status) {
  return {HttpStatusFor(status.code()),
          absl::StrCat("{\"error\":{\"code\":", JsonQuote(absl::StatusCodeToString(status.code())),
                       ",\"message\":", JsonQuote(status.message()), "}}")};
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

void AddToken(grpc::ClientContext* context, const std::string& token) {
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

ApiHandler::ApiHandler(std::shared_ptr<grpc::Channel> channel)
    : channel_(channel),
      topology_(v1::Topology::NewStub(channel)),
      machines_(v1::Machines::NewStub(channel)) {}

absl::Status ApiHandler::CheckRead(const std::string& token) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  AddToken(&context, token);
  v1::ListRequest request;
  v1::ListLansResponse response;
  return FromGrpc(topology_->ListLans(&context, request, &response));
}

ApiReply ApiHandler::Handle(absl::string_view op, absl::string_view body,
                            const std::string& token) {
  using std::chrono::seconds;
  v1::Topology::Stub* t = topology_.get();
  v1::Machines::Stub* m = machines_.get();
  if (op == "vm/create") {
    return Unary<v1::CreateVmRequest, v1::CreateVmResponse>(
        body, token, seconds(60),
        [t](auto* c, const auto& r, auto* o) { return t->CreateVm(c, r, o); });
  }
  if (op == "vm/delete") {
    return Unary<v1::DeleteVmRequest, v1::MutationResponse>(
        body, token, seconds(60),
        [t](auto* c, const auto& r, auto* o) { return t->DeleteVm(c, r, o); });
  }
  if (op == "vm/start") {
    return Unary<v1::StartRequest, v1::VmResponse>(
        body, token, seconds(60),
        [m](auto* c, const auto& r, auto* o) { return m->Start(c, r, o); });
  }
  if (op == "vm/halt") {
    return Unary<v1::HaltRequest, v1::VmResponse>(
        body, token, seconds(120),
        [m](auto* c, const auto& r, auto* o) { return m->Halt(c, r, o); });
  }
  if (op == "vm/reboot") {
    return Unary<v1::RebootRequest, v1::VmResponse>(
        body, token, seconds(60),
        [m](auto* c, const auto& r, auto* o) { return m->Reboot(c, r, o); });
  }
  if (op == "lan/create") {
    return Unary<v1::CreateLanRequest, v1::CreateLanResponse>(
        body, token, seconds(30),
        [t](auto* c, const auto& r, auto* o) { return t->CreateLan(c, r, o); });
  }
  if (op == "lan/delete") {
    return Unary<v1::DeleteLanRequest, v1::MutationResponse>(
        body, token, seconds(30),
        [t](auto* c, const auto& r, auto* o) { return t->DeleteLan(c, r, o); });
  }
  if (op == "connect") {
    return Unary<v1::ConnectRequest, v1::MutationResponse>(
        body, token, seconds(30),
        [t](auto* c, const auto& r, auto* o) { return t->Connect(c, r, o); });
  }
  if (op == "disconnect") {
    return Unary<v1::DisconnectRequest, v1::MutationResponse>(
        body, token, seconds(30),
        [t](auto* c, const auto& r, auto* o) { return t->Disconnect(c, r, o); });
  }
  if (op == "impair") {
    return Unary<v1::SetImpairmentRequest, v1::MutationResponse>(
        body, token, seconds(30),
        [t](auto* c, const auto& r, auto* o) { return t->SetImpairment(c, r, o); });
  }
  if (op == "apply") {
    google::protobuf::Struct wrapper;
    if (absl::Status status = FromJson(body, "the apply request", &wrapper); !status.ok()) {
      return ErrorReply(status);
    }
    const auto& fields = wrapper.fields();
    auto file = fields.find("file");
    if (file == fields.end() || !file->second.has_string_value()) {
      return ErrorReply(absl::InvalidArgumentError("the apply request has no \"file\" text"));
    }
    auto name = fields.find("name");
    const std::string file_name = name != fields.end() && !name->second.string_value().empty()
                                      ? name->second.string_value()
                                      : "the uploaded file";
    absl::StatusOr<v1::Network> desired =
        clients::ParseTopologyFile(file->second.string_value(), file_name);
    if (!desired.ok()) return ErrorReply(desired.status());
    v1::ApplyRequest request;
    *request.mutable_desired() = *std::move(desired);
    auto flag = [&](const char* name) {
      auto it = fields.find(name);
      return it != fields.end() && it->second.bool_value();
    };
    request.set_dry_run(flag("dry_run"));
    request.set_prune(flag("prune"));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + seconds(600));
    AddToken(&context, token);
    v1::ApplyResponse response;
    grpc::Status status = t->Apply(&context, request, &response);
    if (!status.ok()) return ErrorReply(FromGrpc(status));
    return {200, ToJson(response)};
  }
  return ErrorReply(absl::NotFoundError(absl::StrCat("no such action \"", op, "\"")));
}

}  // namespace clownix::web
