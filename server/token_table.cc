#include "server/token_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace clownix::server {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 512;
constexpr size_t kMaxNameLength = 64;

bool IsNameChar(char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-';
}

// RFC 6750's b64token: what an "authorization: Bearer" header can carry as is.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '/' || c == '=';
}

bool AllOf(absl::string_view text, bool (*pred)(char)) {
  for (char c : text) {
    if (!pred(c)) return false;
  }
  return true;
}

}  // namespace

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Walks b whole whatever a holds, without a data-dependent branch.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    unsigned char stored = a.empty() ? 0 : static_cast<unsigned char>(a[i % a.size()]);
    diff |= stored ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text, absl::string_view source) {
  TokenTable table;
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> tokens;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto bad = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", line_number, ": ", what));
    };
    absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || stripped[0] == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(stripped, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 3) {
      return bad(absl::StrCat("expected ROLE NAME TOKEN, got ", fields.size(), " field",
                              fields.size() == 1 ? "" : "s"));
    }
    std::optional<Role> role = ParseRole(fields[0]);
    if (!role) {
      return bad(absl::StrCat("unknown role \"", fields[0], "\" (viewer, operator or admin)"));
    }
    absl::string_view name = fields[1];
    if (name.size() > kMaxNameLength || !AllOf(name, IsNameChar)) {
      return bad(
          absl::StrCat("name \"", name, "\" is not 1-", kMaxNameLength, " of A-Za-z0-9._@-"));
    }
    absl::string_view token = fields[2];
    // The token itself is never quoted: error messages end up in logs.
    if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
      return bad(absl::StrCat("the token of \"", name, "\" has ", token.size(),
                              " characters; it needs ", kMinTokenLength, "..", kMaxTokenLength,
                              " (make one with: openssl rand -hex 24)"));
    }
    if (!AllOf(token, IsTokenChar)) {
      return bad(
          absl::StrCat("the token of \"", name, "\" has a character outside A-Za-z0-9-._~+/="));
    }
    if (!names.insert(std::string(name)).second) {
      return bad(absl::StrCat("name \"", name, "\" is given twice"));
    }
    if (!tokens.insert(std::string(token)).second) {
      return bad(absl::StrCat("the token of \"", name, "\" is also another name's token"));
    }
    table.entries_.push_back(Entry{*role, std::string(name), std::string(token)});
  }
  if (table.entries_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no token (lines of ROLE NAME TOKEN)"));
  }
  return table;
}

absl::StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  // One descriptor for the checks and the read: what is checked is what is read.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("tokens file ", path));
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("tokens file ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::PermissionDeniedError(absl::StrCat("tokens file ", path, " is not a file"));
  }
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "tokens file ", path, " belongs to uid ", st.st_uid, ": it must belong to root or to ",
        "clownixd's user (uid ", geteuid(), "), or anyone who can change it is admin"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        absl::StrFormat("tokens file %s has mode %04o: its group or others have access to it "
                        "(chmod 600 %s)",
                        path, st.st_mode & 07777, path));
  }
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokens file ", path, " is larger than ", kMaxFileBytes, " bytes"));
  }
  std::string text;
  char buffer[4096];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("reading tokens file ", path));
    if (n == 0) break;
    text.append(buffer, n);
    if (text.size() > kMaxFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens file ", path, " is larger than ", kMaxFileBytes, " bytes"));
    }
  }
  return Parse(text, path);
}

const TokenTable::Entry* TokenTable::Find(absl::string_view token) const {
  const Entry* found = nullptr;
  // Every entry is compared, so the time does not tell which one matched.
  for (const Entry& entry : entries_) {
    if (ConstantTimeEquals(entry.token, token)) found = &entry;
  }
  return found;
}

}  // namespace clownix::server
