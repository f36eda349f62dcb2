#include "server/api_access.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_io.h"
#include "server/api_authorizer.h"
#include "server/log.h"

namespace clownix::server {
namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

absl::StatusOr<gid_t> FindGroup(const std::string& name) {
  struct group entry;
  struct group* found = nullptr;
  std::vector<char> buffer(16384);
  int error;
  while ((error = getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
             ERANGE &&
         buffer.size() < (1 << 24)) {
    buffer.resize(buffer.size() * 2);
  }
  if (found != nullptr) return found->gr_gid;
  gid_t gid;
  if (!name.empty() && absl::c_all_of(name, absl::ascii_isdigit) && absl::SimpleAtoi(name, &gid)) {
    return gid;
  }
  if (error != 0)
    return absl::ErrnoToStatus(error, absl::StrCat("looking up group \"", name, "\""));
  return absl::InvalidArgumentError(absl::StrCat(
      "--socket_group \"", name, "\": no such group (create it with: groupadd ", name, ")"));
}

// A PEM file for `flag`: its text, which must hold at least one PEM block.
absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> text = common::ReadFile(path, kMaxPemBytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(flag, ": ", text.status().message()));
  }
  if (!absl::StrContains(*text, "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, " is not a PEM file"));
  }
  return text;
}

// The group must be able to reach the socket: give it the right to traverse the work dir (not
// to list it) when neither it nor everyone has it yet.
absl::Status LetGroupTraverse(const std::string& dir, gid_t gid) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return absl::ErrnoToStatus(errno, dir);
  if ((st.st_mode & S_IXOTH) != 0 || (st.st_gid == gid && (st.st_mode & S_IXGRP) != 0)) {
    return absl::OkStatus();
  }
  if (chown(dir.c_str(), -1, gid) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("giving ", dir, " to group ", gid));
  }
  if (chmod(dir.c_str(), (st.st_mode & 07777) | S_IXGRP) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("chmod g+x ", dir));
  }
  Log(LogLevel::kInfo,
      absl::StrCat("work dir ", dir, ": group ", gid, " may traverse it now, to reach the socket"));
  return absl::OkStatus();
}

}  // namespace

std::optional<Role> TokenlessRole(Listener listener, const ServerOptions& options) {
  if (options.tokens_file.empty()) {
    // Nothing else tells callers apart: whoever the transport lets in is trusted. For TLS,
    // server_options.cc requires --client_ca then, so it is a client with a verified certificate.
    return Role::kAdmin;
  }
  // With tokens, only the owner-only socket trusts its callers: the kernel lets no one else in.
  if (listener == Listener::kUnixSocket && options.socket_group.empty()) return Role::kAdmin;
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<ApiAccess>> ApiAccess::Create(const ServerOptions& options) {
  std::unique_ptr<ApiAccess> access(new ApiAccess(options));
  if (!options.tokens_file.empty()) {
    absl::StatusOr<TokenTable> tokens = TokenTable::Load(options.tokens_file);
    if (!tokens.ok()) return tokens.status();
    access->tokens_ = std::make_shared<const TokenTable>(*std::move(tokens));
  }
  if (!options.socket_group.empty()) {
    absl::StatusOr<gid_t> gid = FindGroup(options.socket_group);
    if (!gid.ok()) return gid.status();
    access->socket_gid_ = *gid;
  }
  if (!options.listen.empty()) {
    absl::StatusOr<std::string> cert = ReadPem(options.tls_cert, "--tls_cert");
    if (!cert.ok()) return cert.status();
    access->tls_cert_ = *std::move(cert);
    absl::StatusOr<std::string> key = ReadPem(options.tls_key, "--tls_key");
    if (!key.ok()) return key.status();
    access->tls_key_ = *std::move(key);
    if (!options.client_ca.empty()) {
      absl::StatusOr<std::string> pem = ReadPem(options.client_ca, "--client_ca");
      if (!pem.ok()) return pem.status();
      access->client_ca_ = *std::move(pem);
    }
  }
  return access;
}

void ApiAccess::AddListeningPorts(grpc::ServerBuilder& builder, int* tcp_port) const {
  // A second process on the same port must fail to bind, not share the port's calls with us.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Local credentials send no bytes of their own: plaintext clients (grpcurl -plaintext, any
  // insecure channel) work as before, and the authorizer runs on every call.
  std::shared_ptr<grpc::ServerCredentials> unix_credentials =
      grpc::experimental::LocalServerCredentials(UDS);
  unix_credentials->SetAuthMetadataProcessor(
      std::make_shared<ApiAuthorizer>(tokens_, TokenlessRole(Listener::kUnixSocket, options_)));
  builder.AddListeningPort(absl::StrCat("unix:", options_.socket_path()), unix_credentials);
  if (!options_.listen.empty()) {
    grpc::SslServerCredentialsOptions tls(
        client_ca_.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                           : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = client_ca_;
    tls.pem_key_cert_pairs.push_back({tls_key_, tls_cert_});
    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(tls);
    credentials->SetAuthMetadataProcessor(
        std::make_shared<ApiAuthorizer>(tokens_, TokenlessRole(Listener::kTls, options_)));
    builder.AddListeningPort(options_.listen, credentials, tcp_port);
  } else if (!options_.insecure_listen.empty()) {
    // LOCAL_TCP also refuses any peer that is not on loopback.
    std::shared_ptr<grpc::ServerCredentials> credentials =
        grpc::experimental::LocalServerCredentials(LOCAL_TCP);
    credentials->SetAuthMetadataProcessor(
        std::make_shared<ApiAuthorizer>(tokens_, TokenlessRole(Listener::kInsecureTcp, options_)));
    builder.AddListeningPort(options_.insecure_listen, credentials, tcp_port);
  }
}

absl::Status ApiAccess::SecureSocket() const {
  std::string path = options_.socket_path();
  if (!socket_gid_) {
    if (chmod(path.c_str(), 0600) != 0) return absl::ErrnoToStatus(errno, "chmod " + path);
    return absl::OkStatus();
  }
  if (chown(path.c_str(), -1, *socket_gid_) != 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("giving ", path, " to group \"", options_.socket_group, "\""));
  }
  if (chmod(path.c_str(), 0660) != 0) return absl::ErrnoToStatus(errno, "chmod " + path);
  return LetGroupTraverse(options_.work_dir, *socket_gid_);
}

std::string ApiAccess::Describe(int tcp_port) const {
  std::string text =
      absl::StrCat("unix:", options_.socket_path(),
                   socket_gid_ ? absl::StrCat(" (group ", options_.socket_group, ")") : "");
  if (!options_.listen.empty()) {
    absl::StrAppend(&text, " and TLS port ", tcp_port,
                    client_ca_.empty() ? "" : " (client certificates required)");
  } else if (!options_.insecure_listen.empty()) {
    absl::StrAppend(&text, " and plaintext loopback port ", tcp_port);
  }
  if (tokens_ != nullptr) absl::StrAppend(&text, "; ", tokens_->entries().size(), " tokens");
  return text;
}

}  // namespace clownix::server
