// WebServer: clownix-web's HTTP and WebSocket server (Boost.Beast), on one I/O thread.
//
//   GET  /, /app.js, /app.css        the page (static_assets.h)
//   GET  /vendor/xterm.js, /vendor/xterm.css, /vendor/addon-fit.js
//                                    npm files from --node_modules (the setup's pinned install)
//   POST /api/OP                     an action (api_handler.h), run on a small worker pool
//   WS   /ws/topology                the page sends {"token":"..."}; once clownixd accepts that
//                                    token for reading, it gets WatchHub's messages (watch_hub.h),
//                                    else {"type":"auth","code":C,"message":M}
//   WS   /ws/console                 the page sends {"vm":"vm1","token":"...","rows":R,
//                                    "columns":C} (its terminal's size, optional), then binary
//                                    frames both ways (keys in, console output out) and, when its
//                                    terminal changes size, text {"rows":R,"columns":C}; a last
//                                    text frame {"type":"end","code":C,"message":M} says why it
//                                    ended
//
// Sessions live on the I/O thread; other threads (the hub, gRPC, the workers) only post to it.
// A page that reads too slowly is disconnected (it reconnects and gets a fresh snapshot) rather
// than buffered without bound.
#ifndef CLOWNIX_CLIENTS_WEB_WEB_SERVER_H_
#define CLOWNIX_CLIENTS_WEB_WEB_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "clients/web/api_handler.h"
#include "clients/web/watch_hub.h"

namespace clownix::web {

class WebServer {
 public:
  struct Options {
    // HOST:PORT to listen on; port 0 picks a free one (address() tells which).
    std::string listen = "127.0.0.1:8420";
    // Where the setup installed the npm packages (xterm.js).
    std::string node_modules = "/var/cache/clownix/web/node_modules";
    // Threads that run the page's API calls.
    int api_threads = 4;
  };

  // Binds the listening socket. INVALID_ARGUMENT for a malformed address, the bind error
  // (UNAVAILABLE: in use, ...) naming it. `hub` and `api` outlive the server.
  static absl::StatusOr<std::unique_ptr<WebServer>> Create(const Options& options, WatchHub* hub,
                                                           ApiHandler* api);
  ~WebServer();

  // "http://HOST:PORT/".
  std::string url() const;

  // Serves on the calling thread until SIGINT or SIGTERM, or Stop().
  void Run();
  // Makes Run return. Thread-safe.
  void Stop();

  class Impl;

 private:
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace clownix::web

#endif  // CLOWNIX_CLIENTS_WEB_WEB_SERVER_H_
