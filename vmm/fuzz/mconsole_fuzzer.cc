// libFuzzer target: what UML (or a hostile guest kernel) sends clownix over mconsole
// (mconsole_wire.h): reply datagrams, notifications, and whole replies to MconsoleClient::Send.
// Invariants: never crash or read past a datagram; what DecodeReply and DecodeNotify accept lies
// inside the datagram and the limits of the wire format; EncodeRequest accepts exactly 1..512
// bytes; Send returns what its datagrams say (the text up to the last part, the VM's error as
// FAILED_PRECONDITION, a malformed or endless reply as INTERNAL), and returns promptly.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "vmm/mconsole_client.h"
#include "vmm/mconsole_wire.h"

namespace {

using clownix::vmm::MconsoleClient;
namespace wire = clownix::vmm::mconsole_wire;

void Fail(const std::string& what, absl::string_view input) {
  std::cerr << "mconsole_fuzzer: " << what << ": \"" << absl::CHexEscape(input.substr(0, 600))
            << "\"\n";
  abort();
}

void CheckDatagram(const std::string& d) {
  bool more = false, error = false;
  absl::StatusOr<std::string> text = MconsoleClient::DecodeReply(d, &more, &error);
  if (text.ok()) {
    wire::Reply header;
    memcpy(&header, d.data(), offsetof(wire::Reply, data));
    if (d.size() < 12 || header.len > wire::kMaxData || 12 + header.len > d.size() ||
        text->size() > header.len || (!text->empty() && text->back() == '\0') ||
        more != (header.more != 0) || error != (header.err != 0) ||
        d.compare(12, text->size(), *text) != 0) {
      Fail("DecodeReply accepts a lie", d);
    }
  } else if (text.status().code() != absl::StatusCode::kInternal) {
    Fail("DecodeReply refuses oddly", d);
  }
  absl::StatusOr<MconsoleClient::Notification> note = MconsoleClient::DecodeNotify(d);
  if (note.ok()) {
    wire::Notify header;
    memcpy(&header, d.data(), offsetof(wire::Notify, data));
    if (header.magic != wire::kMagic || header.len < 0 ||
        16 + static_cast<size_t>(header.len) > d.size() || note->data.size() > header.len ||
        note->type < wire::kNotifySocket || note->type > wire::kNotifyUser ||
        (!note->data.empty() && (note->data.back() == '\0' || note->data.back() == '\n'))) {
      Fail("DecodeNotify accepts a lie", d);
    }
  }
  absl::StatusOr<wire::Request> request = MconsoleClient::EncodeRequest(d);
  if (request.ok() != (!d.empty() && d.size() <= wire::kMaxData)) Fail("EncodeRequest", d);
  if (request.ok() && (request->magic != wire::kMagic || request->len != d.size() ||
                       memcmp(request->data, d.data(), d.size()) != 0)) {
    Fail("EncodeRequest writes another command", d);
  }
}

// A stand-in for the VM's mconsole socket, bound once for the whole run.
struct FakeVm {
  std::string dir;
  std::string path;
  int fd = -1;
};

FakeVm& Vm() {
  static FakeVm* vm = [] {
    auto* v = new FakeVm;
    char dir[] = "/tmp/mconsole-fuzz.XXXXXX";
    if (!mkdtemp(dir)) abort();
    v->dir = dir;
    v->path = v->dir + "/mconsole";
    v->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, v->path.data(), v->path.size());
    if (bind(v->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) abort();
    atexit([] {  // libFuzzer ends its runs with exit().
      unlink(Vm().path.c_str());
      rmdir(Vm().dir.c_str());
    });
    return v;
  }();
  return *vm;
}

// The VM answers the next request with `datagrams`, as they are.
void Answer(const std::vector<std::string>& datagrams) {
  char request[sizeof(wire::Request)];
  sockaddr_un from = {};
  socklen_t from_len = sizeof(from);
  if (recvfrom(Vm().fd, request, sizeof(request), 0, reinterpret_cast<sockaddr*>(&from),
               &from_len) < 12) {
    abort();
  }
  for (const std::string& d : datagrams) {
    // The client may have given up already (it returns at the first error or malformed part).
    if (sendto(Vm().fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len) < 0) {
      return;
    }
  }
}

void CheckSend(FuzzedDataProvider& in) {
  std::vector<std::string> datagrams;
  // What Send must return, as the wire format says, worked out part by part.
  absl::StatusCode expected_code = absl::StatusCode::kOk;
  std::string expected;
  bool final = false;
  while (in.remaining_bytes() > 0 && datagrams.size() < 200 && !final) {
    std::string d = in.ConsumeRandomLengthString(sizeof(wire::Reply) + 8);
    bool more = false, error = false;
    absl::StatusOr<std::string> text = MconsoleClient::DecodeReply(d, &more, &error);
    final = true;
    if (!text.ok()) {
      expected_code = absl::StatusCode::kInternal;
    } else if (expected.size() + text->size() > MconsoleClient::kMaxReplyBytes) {
      expected_code = absl::StatusCode::kInternal;
    } else if (error) {
      expected_code = absl::StatusCode::kFailedPrecondition;
    } else {
      final = !more;
    }
    if (text.ok()) expected += *text;
    datagrams.push_back(std::move(d));
  }
  if (!final) {  // The VM ends its reply: Send must not wait for its timeout here.
    wire::Reply last = {};
    datagrams.emplace_back(reinterpret_cast<const char*>(&last), 12);
  }
  std::thread vm([&] { Answer(datagrams); });
  absl::StatusOr<std::string> reply = MconsoleClient::Send(Vm().path, "version", absl::Seconds(10));
  vm.join();
  std::string all;
  for (const std::string& d : datagrams) all += absl::StrCat(d.size(), ":", d, " ");
  if (reply.status().code() != expected_code) {
    Fail("Send returns " + reply.status().ToString() + ", not " +
             absl::StatusCodeToString(expected_code),
         all);
  }
  if (reply.ok() && *reply != expected) Fail("Send returns another text than sent", all);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    CheckDatagram(in.ConsumeRemainingBytesAsString());
  } else {
    CheckSend(in);
  }
  return 0;
}
