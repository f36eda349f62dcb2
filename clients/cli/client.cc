#include "clients/cli/client.h"

namespace clownix::cli {

Client::Client(const std::string& target, std::shared_ptr<grpc::ChannelCredentials> credentials,
               absl::Duration timeout)
    : timeout_(timeout),
      channel_(grpc::CreateChannel(target, std::move(credentials))),
      topology_(v1::Topology::NewStub(channel_)),
      machines_(v1::Machines::NewStub(channel_)),
      switch_(v1::Switch::NewStub(channel_)) {}

bool Client::connected() const {
  return channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

void Client::SetDeadline(grpc::ClientContext& context, absl::Duration extra) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_ + extra));
}

}  // namespace clownix::cli
