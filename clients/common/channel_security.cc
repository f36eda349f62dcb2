#include "clients/common/channel_security.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_io.h"

namespace clownix::clients {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

std::string Env(absl::FunctionRef<const char*(const char*)> getenv, const char* name) {
  const char* value = getenv(name);
  return value == nullptr ? "" : value;
}

absl::StatusOr<std::string> ReadNamed(const std::string& path, absl::string_view what) {
  absl::StatusOr<std::string> text = common::ReadFile(path, kMaxFileBytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(what, ": ", text.status().message()));
  }
  return text;
}

}  // namespace

ChannelSecurity ChooseChannelSecurity(const ChannelSecurity& flags,
                                      absl::FunctionRef<const char*(const char*)> getenv) {
  ChannelSecurity chosen = flags;
  if (chosen.ca_file.empty()) chosen.ca_file = Env(getenv, "CLOWNIX_CA");
  if (chosen.cert_file.empty()) chosen.cert_file = Env(getenv, "CLOWNIX_CERT");
  if (chosen.key_file.empty()) chosen.key_file = Env(getenv, "CLOWNIX_KEY");
  if (chosen.token.empty() && chosen.token_file.empty()) {
    chosen.token = Env(getenv, "CLOWNIX_TOKEN");
    if (chosen.token.empty()) chosen.token_file = Env(getenv, "CLOWNIX_TOKEN_FILE");
  }
  return chosen;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    absl::string_view target, const ChannelSecurity& security) {
  if (security.cert_file.empty() != security.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs its key and the reverse: give both --cert and --key "
        "($CLOWNIX_CERT and $CLOWNIX_KEY)");
  }
  if (!security.token.empty() && !security.token_file.empty()) {
    return absl::InvalidArgumentError("give a token or a token file, not both");
  }
  std::string token = security.token;
  if (!security.token_file.empty()) {
    absl::StatusOr<std::string> text = ReadNamed(security.token_file, "token file");
    if (!text.ok()) return text.status();
    token = std::string(absl::StripAsciiWhitespace(text->substr(0, text->find('\n'))));
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token file ", security.token_file, " holds no token"));
    }
  }
  std::shared_ptr<grpc::ChannelCredentials> channel;
  const bool unix_socket = absl::StartsWith(target, "unix:");
  if (!unix_socket && (!security.ca_file.empty() || !security.cert_file.empty())) {
    grpc::SslCredentialsOptions tls;
    if (!security.ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadNamed(security.ca_file, "CA");
      if (!ca.ok()) return ca.status();
      tls.pem_root_certs = *std::move(ca);
    }
    if (!security.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadNamed(security.cert_file, "client certificate");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadNamed(security.key_file, "client key");
      if (!key.ok()) return key.status();
      tls.pem_cert_chain = *std::move(cert);
      tls.pem_private_key = *std::move(key);
    }
    channel = grpc::SslCredentials(tls);
  } else {
    // Local credentials are plaintext on the wire, like insecure ones, but let gRPC send call
    // credentials (the token); LOCAL_TCP also refuses to connect off loopback.
    channel = grpc::experimental::LocalCredentials(unix_socket ? UDS : LOCAL_TCP);
  }
  if (token.empty()) return channel;
  return grpc::CompositeChannelCredentials(channel, grpc::AccessTokenCredentials(token));
}

}  // namespace clownix::clients
