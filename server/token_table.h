// TokenTable: the API's bearer tokens and their roles, from clownixd's --tokens_file.
//
// The file has one token per line, `ROLE NAME TOKEN`, separated by spaces or tabs:
//   # who may do what on clownixd (chmod 600)
//   viewer   alice  4f1c0e8a2b7d94c3a1e0f5b6
//   admin    teacher 9a8b7c6d5e4f30211f2e3d4c
// ROLE is viewer, operator or admin (server/api_roles.h); NAME (1-64 of A-Za-z0-9._@-) names the
// holder in messages; TOKEN is 16-512 characters of A-Za-z0-9-._~+/= (what an HTTP bearer token
// may hold; `openssl rand -hex 24` makes a good one). Blank lines and lines starting with `#` are
// skipped. Names and tokens are unique. Find compares in constant time (in the table's size and
// the presented token's length), so how long a wrong guess takes tells nothing about the tokens.
#ifndef CLOWNIX_SERVER_TOKEN_TABLE_H_
#define CLOWNIX_SERVER_TOKEN_TABLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/api_roles.h"

namespace clownix::server {

class TokenTable {
 public:
  struct Entry {
    Role role;
    std::string name;
    std::string token;
  };

  // Parses the text of a tokens file; `source` names it in errors ("FILE:LINE: what").
  // INVALID_ARGUMENT for a malformed line, a duplicate name or token, or no token at all.
  static absl::StatusOr<TokenTable> Parse(absl::string_view text, absl::string_view source);

  // Reads and parses the tokens file at `path`, refusing it (PERMISSION_DENIED, saying what to
  // do) when it is not a regular file owned by root or by this process's user, or when its group
  // or others have any permission on it. NOT_FOUND and other read errors name the path.
  static absl::StatusOr<TokenTable> Load(const std::string& path);

  // The entry whose token is `token`, or null. Constant time (see above). Thread-safe.
  const Entry* Find(absl::string_view token) const;

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Whether `a` and `b` are equal, in a time that depends on b's length only (b is the presented
// secret, a the stored one).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_TOKEN_TABLE_H_
