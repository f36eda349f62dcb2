#include "clients/web/web_server.h"

#include <algorithm>
#include <csignal>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "boost/asio.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/websocket.hpp"
#include "clients/web/console_bridge.h"
#include "clients/web/proto_json.h"
#include "clients/web/static_assets.h"
#include "common/file_io.h"
#include "google/protobuf/struct.pb.h"
#include "proto/clownix/v1/switch.grpc.pb.h"

namespace clownix::web {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A page that has this many messages waiting is too slow: it is disconnected (it reconnects and
// gets a snapshot) instead of being buffered without bound.
constexpr size_t kMaxQueuedMessages = 4096;

struct VendorFile {
  const char* path;
  const char* file;  // under --node_modules
  const char* content_type;
};
constexpr VendorFile kVendorFiles[] = {
    {"/vendor/xterm.js", "@xterm/xterm/lib/xterm.js", "text/javascript; charset=utf-8"},
    {"/vendor/xterm.css", "@xterm/xterm/css/xterm.css", "text/css; charset=utf-8"},
    {"/vendor/addon-fit.js", "@xterm/addon-fit/lib/addon-fit.js", "text/javascript; charset=utf-8"},
};

// The string field `name` of a JSON object, "" when absent. INVALID_ARGUMENT for bad JSON.
absl::StatusOr<google::protobuf::Struct> ParseObject(absl::string_view text) {
  google::protobuf::Struct object;
  if (absl::Status status = FromJson(text, "the message", &object); !status.ok()) return status;
  return object;
}

std::string StringField(const google::protobuf::Struct& object, const char* name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? "" : it->second.string_value();
}

// {"rows": R, "columns": C} -> the window size (clownixd checks the range); nullopt without both.
std::optional<v1::ConsoleWindowSize> WindowSizeField(const google::protobuf::Struct& object) {
  auto rows = object.fields().find("rows");
  auto columns = object.fields().find("columns");
  if (rows == object.fields().end() || columns == object.fields().end() ||
      !rows->second.has_number_value() || !columns->second.has_number_value()) {
    return std::nullopt;
  }
  // Out of uint32's range (or negative) becomes 0, which clownixd refuses, naming the size.
  auto cells = [](double v) {
    return v >= 0 && v <= 4294967295.0 ? static_cast<uint32_t>(v) : uint32_t{0};
  };
  v1::ConsoleWindowSize size;
  size.set_rows(cells(rows->second.number_value()));
  size.set_columns(cells(columns->second.number_value()));
  return size;
}

// "Authorization: Bearer T" -> T.
std::string BearerToken(const http::request<http::string_body>& request) {
  auto it = request.find(http::field::authorization);
  if (it == request.end()) return "";
  absl::string_view value(it->value().data(), it->value().size());
  if (!absl::ConsumePrefix(&value, "Bearer ")) return "";
  return std::string(value);
}

std::string EndMessage(const absl::Status& status) {
  return absl::StrCat(
      "{\"type\":\"end\",\"code\":", JsonQuote(absl::StatusCodeToString(status.code())),
      ",\"message\":", JsonQuote(status.message()), "}");
}

}  // namespace

class WebServer::Impl {
 public:
  Impl(const Options& options, WatchHub* hub, ApiHandler* api)
      : options_(options),
        hub_(hub),
        api_(api),
        acceptor_(ioc_),
        workers_(options.api_threads),
        signals_(ioc_, SIGINT, SIGTERM) {}

  absl::Status Bind() {
    const size_t colon = options_.listen.rfind(':');
    int port = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(options_.listen.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("--listen \"", options_.listen, "\" is not HOST:PORT"));
    }
    std::string host = options_.listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(host, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("--listen \"", options_.listen, "\": \"", host, "\" is not an IP address"));
    }
    const tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options_.listen, ": ", ec.message()));
    }
    return absl::OkStatus();
  }

  std::string url() const {
    const tcp::endpoint endpoint = acceptor_.local_endpoint();
    const std::string host = endpoint.address().is_v6()
                                 ? absl::StrCat("[", endpoint.address().to_string(), "]")
                                 : endpoint.address().to_string();
    return absl::StrCat("http://", host, ":", endpoint.port(), "/");
  }

  void Run() {
    signals_.async_wait([this](beast::error_code, int) { ioc_.stop(); });
    Accept();
    ioc_.run();
    workers_.join();
  }

  void Stop() {
    net::post(ioc_, [this] { ioc_.stop(); });
  }

  net::io_context& ioc() { return ioc_; }
  WatchHub* hub() { return hub_; }
  ApiHandler* api() { return api_; }
  std::shared_ptr<grpc::Channel> channel() { return api_->channel(); }
  net::thread_pool& workers() { return workers_; }
  const Options& options() const { return options_; }

 private:
  void Accept();

  const Options options_;
  WatchHub* const hub_;
  ApiHandler* const api_;
  net::io_context ioc_{1};
  tcp::acceptor acceptor_;
  net::thread_pool workers_;
  net::signal_set signals_;
};

namespace {

using Impl = WebServer::Impl;

// A WebSocket page: one read and one write in flight, a queue of messages to write.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, Impl* server) : server_(server), ws_(std::move(socket)) {}
  virtual ~WsSession() = default;

  void Accept(http::request<http::string_body> request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.async_accept(request, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->Read();
    });
  }

  // Queues a message. I/O thread only.
  void Send(std::shared_ptr<const std::string> message, bool binary) {
    if (closed_) return;
    if (queue_.size() >= kMaxQueuedMessages) {
      Close();
      return;
    }
    queue_.emplace_back(std::move(message), binary);
    if (queue_.size() == 1) Write();
  }

  // Posts Send to the I/O thread, from any thread; nothing if the session is gone.
  static void Post(Impl* server, std::weak_ptr<WsSession> weak,
                   std::shared_ptr<const std::string> message, bool binary) {
    net::post(server->ioc(), [weak = std::move(weak), message = std::move(message), binary] {
      if (auto self = weak.lock()) self->Send(message, binary);
    });
  }

 protected:
  virtual void OnMessage(std::string text, bool binary) = 0;
  virtual void OnClosed() = 0;

  void Close() {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) {});
  }

  Impl* server_;

 private:
  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->closed_ = true;
        self->queue_.clear();
        self->OnClosed();
        return;
      }
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      self->OnMessage(std::move(text), !self->ws_.got_text());
      self->Read();
    });
  }

  void Write() {
    ws_.binary(queue_.front().second);
    ws_.async_write(net::buffer(*queue_.front().first),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec || self->queue_.empty()) return;
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->Write();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::pair<std::shared_ptr<const std::string>, bool>> queue_;
  bool closed_ = false;
};

// /ws/topology: the hub's messages, once the page's token may read.
class TopologySession : public WsSession {
 public:
  using WsSession::WsSession;

 protected:
  void OnMessage(std::string text, bool) override {
    if (subscribed_ || checking_) return;
    absl::StatusOr<google::protobuf::Struct> hello = ParseObject(text);
    if (!hello.ok()) {
      Send(std::make_shared<const std::string>(EndMessage(hello.status())), false);
      return;
    }
    checking_ = true;
    std::string token = StringField(*hello, "token");
    std::weak_ptr<WsSession> weak = weak_from_this();
    Impl* server = server_;
    // The check is a call to clownixd: on a worker, then back on the I/O thread.
    net::post(server->workers(), [server, weak, token] {
      absl::Status status = server->api()->CheckRead(token);
      net::post(server->ioc(), [server, weak, token, status] {
        auto self = std::static_pointer_cast<TopologySession>(weak.lock());
        if (self == nullptr) return;
        self->checking_ = false;
        if (!status.ok()) {
          self->Send(std::make_shared<const std::string>(
                         absl::StrCat("{\"type\":\"auth\",\"code\":",
                                      JsonQuote(absl::StatusCodeToString(status.code())),
                                      ",\"message\":", JsonQuote(status.message()), "}")),
                     false);
          return;
        }
        server->hub()->OfferToken(token);
        self->subscribed_ = true;
        self->id_ = server->hub()->Subscribe([server, weak](std::shared_ptr<const std::string> m) {
          WsSession::Post(server, weak, std::move(m), false);
        });
      });
    });
  }

  void OnClosed() override {
    if (subscribed_) server_->hub()->Unsubscribe(id_);
    subscribed_ = false;
  }

 private:
  bool checking_ = false;
  bool subscribed_ = false;
  uint64_t id_ = 0;
};

// /ws/console: one ConsoleBridge.
class ConsoleSession : public WsSession {
 public:
  using WsSession::WsSession;
  ~ConsoleSession() override {
    if (bridge_ != nullptr) bridge_->Close();
  }

 protected:
  // Binary messages are keys. Text ones are JSON: the first {"vm", "token", "rows", "columns"}
  // (rows and columns: the terminal's size, optional), later ones {"rows", "columns"} when the
  // terminal's size changes.
  void OnMessage(std::string text, bool binary) override {
    if (bridge_ != nullptr && binary) {
      bridge_->Send(std::move(text));
      return;
    }
    if (binary) return;  // Keys before the console is named: nothing to type them into.
    absl::StatusOr<google::protobuf::Struct> message = ParseObject(text);
    if (!message.ok()) {
      if (bridge_ != nullptr) bridge_->Close();
      Send(std::make_shared<const std::string>(EndMessage(message.status())), false);
      Close();
      return;
    }
    std::optional<v1::ConsoleWindowSize> size = WindowSizeField(*message);
    if (bridge_ != nullptr) {
      if (size) bridge_->Resize(*std::move(size));
      return;
    }
    bridge_ = ConsoleBridge::Start(server_->api()->machines(), StringField(*message, "vm"),
                                   StringField(*message, "token"), std::move(size),
                                   std::make_shared<Sink>(server_, weak_from_this()));
  }

  void OnClosed() override {
    if (bridge_ != nullptr) bridge_->Close();
  }

 private:
  class Sink : public ConsoleBridge::Sink {
   public:
    Sink(Impl* server, std::weak_ptr<WsSession> session)
        : server_(server), session_(std::move(session)) {}
    void OnOutput(std::string bytes) override {
      WsSession::Post(server_, session_, std::make_shared<const std::string>(std::move(bytes)),
                      true);
    }
    void OnEnd(absl::Status status) override {
      auto message = std::make_shared<const std::string>(EndMessage(status));
      net::post(server_->ioc(), [weak = session_, message] {
        auto self = std::static_pointer_cast<ConsoleSession>(weak.lock());
        if (self == nullptr) return;
        self->Send(message, false);
        self->Close();
      });
    }

   private:
    Impl* server_;
    std::weak_ptr<WsSession> session_;
  };

  std::shared_ptr<ConsoleBridge> bridge_;
};

// The value of `key` in the query of `target` ("/api/capture?lan=lan1&filter=icmp"), %-decoded;
// "" when absent.
std::string QueryValue(absl::string_view target, absl::string_view key) {
  const size_t q = target.find('?');
  if (q == absl::string_view::npos) return "";
  for (absl::string_view pair : absl::StrSplit(target.substr(q + 1), '&')) {
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key || eq == absl::string_view::npos) continue;
    std::string out;
    absl::string_view v = pair.substr(eq + 1);
    for (size_t i = 0; i < v.size(); ++i) {
      int hex = 0;
      if (v[i] == '%' && i + 2 < v.size() && absl::SimpleHexAtoi(v.substr(i + 1, 2), &hex)) {
        out += static_cast<char>(hex);
        i += 2;
      } else {
        out += v[i] == '+' ? ' ' : v[i];
      }
    }
    return out;
  }
  return "";
}

// GET /api/capture?lan=L | vm=V&nic=N [&filter=F][&seconds=S][&token=T]: Switch.Capture streamed
// to the browser as a pcapng download (chunked). A thread reads the gRPC stream and posts each
// chunk to the I/O thread; it waits while 64 chunks are unwritten, so a slow browser slows the
// stream (the switch then drops capture frames, never forwarded ones). Errors before the first
// bytes are an HTTP error with the server's message; the download ends with the capture.
class CaptureDownload : public std::enable_shared_from_this<CaptureDownload> {
 public:
  CaptureDownload(tcp::socket socket, Impl* server) : stream_(std::move(socket)), server_(server) {}

  void Start(const http::request<http::string_body>& request) {
    version_ = request.version();
    const std::string target(request.target());
    v1::CaptureRequest capture;
    std::string lan = QueryValue(target, "lan");
    std::string vm = QueryValue(target, "vm");
    uint32_t nic = 0;
    if (!lan.empty()) {
      capture.set_lan(lan);
      filename_ = absl::StrCat("clownix-", lan, ".pcapng");
    } else {
      capture.mutable_endpoint()->mutable_nic()->set_vm(vm);
      if (!absl::SimpleAtoi(QueryValue(target, "nic"), &nic)) nic = 1;
      capture.mutable_endpoint()->mutable_nic()->set_index(nic);
      filename_ = absl::StrCat("clownix-", vm, "-eth", nic, ".pcapng");
    }
    capture.set_filter(QueryValue(target, "filter"));
    uint32_t seconds = 0;
    if (absl::SimpleAtoi(QueryValue(target, "seconds"), &seconds) && seconds > 0) {
      capture.set_duration_ms(std::min<uint32_t>(seconds, 3600) * 1000);
    }
    AddToken(&context_, QueryValue(target, "token"));
    std::thread([self = shared_from_this(), capture] { self->ReadLoop(capture); }).detach();
  }

 private:
  void ReadLoop(const v1::CaptureRequest& request) {
    std::unique_ptr<v1::Switch::Stub> stub = v1::Switch::NewStub(server_->channel());
    std::unique_ptr<grpc::ClientReader<v1::CaptureResponse>> reader =
        stub->Capture(&context_, request);
    v1::CaptureResponse response;
    bool first = true;
    while (reader->Read(&response)) {
      auto data = std::make_shared<std::string>(std::move(*response.mutable_data()));
      {
        absl::MutexLock lock(&mu_);
        auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return unwritten_ < 64 || failed_;
        };
        mu_.Await(absl::Condition(&drained));
        if (failed_) break;
        ++unwritten_;
      }
      net::post(server_->ioc(), [self = shared_from_this(), data, first] {
        if (first) self->WriteHeader();
        self->Queue(data);
      });
      first = false;
    }
    if (first) {
      // Nothing was sent: an HTTP error with the server's message.
      absl::Status status = FromGrpc(reader->Finish());
      if (status.ok()) status = absl::UnavailableError("the capture ended before it started");
      net::post(server_->ioc(), [self = shared_from_this(), status] { self->Fail(status); });
      return;
    }
    // How the capture ended is in its last pcapng blocks; the status only says why.
    reader->Finish().ok();
    net::post(server_->ioc(), [self = shared_from_this()] { self->Queue(nullptr); });
  }

  void WriteHeader() {
    header_.emplace(http::status::ok, version_);
    header_->set(http::field::server, "clownix-web");
    header_->set(http::field::content_type, "application/octet-stream");
    header_->set(http::field::content_disposition,
                 absl::StrCat("attachment; filename=\"", filename_, "\""));
    header_->chunked(true);
    serializer_.emplace(*header_);
    writing_ = true;
    http::async_write_header(stream_, *serializer_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->writing_ = false;
                               if (ec) return self->Broken();
                               self->WriteNext();
                             });
  }

  // Queues a chunk; null ends the download. I/O thread.
  void Queue(std::shared_ptr<std::string> data) {
    queue_.push_back(std::move(data));
    if (!writing_ && header_.has_value()) WriteNext();
  }

  void WriteNext() {
    if (queue_.empty() || broken_) return;
    writing_ = true;
    std::shared_ptr<std::string> data = queue_.front();
    queue_.pop_front();
    auto done = [self = shared_from_this(), data](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (data != nullptr) {
        absl::MutexLock lock(&self->mu_);
        --self->unwritten_;
      }
      if (ec) return self->Broken();
      if (data == nullptr) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->WriteNext();
    };
    if (data == nullptr) {
      net::async_write(stream_, http::make_chunk_last(), std::move(done));
    } else if (data->empty()) {
      writing_ = false;
      {
        absl::MutexLock lock(&mu_);
        --unwritten_;
      }
      WriteNext();
    } else {
      net::async_write(stream_, http::make_chunk(net::buffer(*data)), std::move(done));
    }
  }

  // The browser went away (download cancelled): end the capture.
  void Broken() {
    broken_ = true;
    queue_.clear();
    absl::MutexLock lock(&mu_);
    failed_ = true;
    context_.TryCancel();
  }

  void Fail(const absl::Status& status) {
    ApiReply reply = ErrorReply(status);
    auto response = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.http_status), version_);
    response->set(http::field::content_type, "application/json");
    response->body() = reply.json;
    response->keep_alive(false);
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code, size_t) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  beast::tcp_stream stream_;
  Impl* server_;
  unsigned version_ = 11;
  std::string filename_;
  grpc::ClientContext context_;
  std::optional<http::response<http::empty_body>> header_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  std::deque<std::shared_ptr<std::string>> queue_;  // I/O thread only
  bool writing_ = false;                            // I/O thread only
  bool broken_ = false;                             // I/O thread only

  absl::Mutex mu_;
  int unwritten_ ABSL_GUARDED_BY(mu_) = 0;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
};

// One HTTP connection: requests in order; hands WebSocket upgrades to their sessions.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Impl* server) : stream_(std::move(socket)), server_(server) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(16 << 20);  // a topology file of a large lab fits
    stream_.expires_after(std::chrono::minutes(2));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         beast::error_code ignored;
                         self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                         return;
                       }
                       self->Handle(self->parser_->release());
                     });
  }

 private:
  void Handle(http::request<http::string_body> request) {
    const std::string target(request.target());
    if (websocket::is_upgrade(request)) {
      stream_.expires_never();
      std::shared_ptr<WsSession> session;
      if (target == "/ws/topology") {
        session = std::make_shared<TopologySession>(stream_.release_socket(), server_);
      } else if (target == "/ws/console") {
        session = std::make_shared<ConsoleSession>(stream_.release_socket(), server_);
      } else {
        Reply(request, http::status::not_found, "text/plain", "no such WebSocket\n");
        return;
      }
      session->Accept(std::move(request));
      return;
    }
    if (request.method() == http::verb::post && absl::StartsWith(target, "/api/")) {
      const std::string op = target.substr(5);
      // The session waits for the reply: the worker's lambda keeps it alive.
      auto self = shared_from_this();
      auto shared_request = std::make_shared<http::request<http::string_body>>(std::move(request));
      net::post(server_->workers(), [self, op, shared_request] {
        ApiReply reply =
            self->server_->api()->Handle(op, shared_request->body(), BearerToken(*shared_request));
        net::post(self->server_->ioc(), [self, shared_request, reply = std::move(reply)] {
          self->Reply(*shared_request, static_cast<http::status>(reply.http_status),
                      "application/json", reply.json);
        });
      });
      return;
    }
    if (request.method() == http::verb::get && absl::StartsWith(target, "/api/capture?")) {
      stream_.expires_never();
      std::make_shared<CaptureDownload>(stream_.release_socket(), server_)->Start(request);
      return;
    }
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      Reply(request, http::status::method_not_allowed, "text/plain", "GET or POST /api/...\n");
      return;
    }
    std::string path = target.substr(0, target.find('?'));
    if (const StaticAsset* asset = FindStaticAsset(path); asset != nullptr) {
      Reply(request, http::status::ok, std::string(asset->content_type), std::string(asset->data));
      return;
    }
    for (const VendorFile& vendor : kVendorFiles) {
      if (path != vendor.path) continue;
      absl::StatusOr<std::string> data =
          common::ReadFile(absl::StrCat(server_->options().node_modules, "/", vendor.file));
      if (!data.ok()) {
        Reply(request, http::status::internal_server_error, "text/plain",
              absl::StrCat(data.status().message(), " (run tools/setup.sh)\n"));
        return;
      }
      Reply(request, http::status::ok, vendor.content_type, *std::move(data));
      return;
    }
    Reply(request, http::status::not_found, "text/plain", "not found\n");
  }

  void Reply(const http::request<http::string_body>& request, http::status status,
             const std::string& content_type, std::string body) {
    auto response = std::make_shared<http::response<http::string_body>>(status, request.version());
    response->set(http::field::server, "clownix-web");
    response->set(http::field::content_type, content_type);
    response->set(http::field::cache_control, "no-store");
    response->keep_alive(request.keep_alive());
    if (request.method() != http::verb::head) response->body() = std::move(body);
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (!response->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->Read();
                      });
  }

  beast::tcp_stream stream_;
  Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void WebServer::Impl::Accept() {
  acceptor_.async_accept(ioc_, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;  // stopping
    if (!ec) std::make_shared<HttpSession>(std::move(socket), this)->Read();
    // Another accept error (a connection reset before it was accepted, too many open files)
    // concerns that connection: keep accepting.
    Accept();
  });
}

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Create(const Options& options, WatchHub* hub,
                                                             ApiHandler* api) {
  auto impl = std::make_unique<Impl>(options, hub, api);
  if (absl::Status status = impl->Bind(); !status.ok()) return status;
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebServer::~WebServer() = default;
std::string WebServer::url() const { return impl_->url(); }
void WebServer::Run() { impl_->Run(); }
void WebServer::Stop() { impl_->Stop(); }

}  // namespace clownix::web
