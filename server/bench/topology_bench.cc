// topology_bench: how fast clownixd acknowledges durable mutations and delivers watch events.
//
// Starts the real clownixd (path in --clownixd) on a fresh work dir in /tmp and measures, over
// real gRPC on its unix socket:
//   1. durable mutations/s and p50/p99 latency with 1, 8 and 32 concurrent clients, with 100 and
//      with 10,000 objects already in the topology (CreateLan + DeleteLan pairs: the size stays);
//      the peer, measured in the same run, is a unary call that touches no disk (Health/Check);
//   2. event delivery latency p50/p99 (commit time stamped in the event -> received by the
//      watcher) to 100 watchers while writers produce 1,000 and 10,000 events/s;
// and clownixd's resident memory after each phase.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/clownix/v1/topology.grpc.pb.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, clownixd, "server/clownixd", "Path of the clownixd binary.");
ABSL_FLAG(double, seconds, 3, "Duration of each throughput measurement.");
ABSL_FLAG(int, watchers, 100, "Watchers for the delivery measurement.");

namespace {

using clownix::v1::Topology;

struct Server {
  pid_t pid = -1;
  std::string dir;
  std::string address;
};

Server StartServer() {
  Server server;
  char dir[] = "/tmp/clownix-bench.XXXXXX";
  if (!mkdtemp(dir)) abort();
  server.dir = dir;
  server.address = absl::StrCat("unix:", server.dir, "/clownixd.sock");
  std::string binary = absl::GetFlag(FLAGS_clownixd);
  server.pid = fork();
  if (server.pid == 0) {
    execl(binary.c_str(), binary.c_str(), "--work_dir", server.dir.c_str(), "--nobackends",
          nullptr);
    _exit(127);
  }
  auto channel = grpc::CreateChannel(server.address, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(20))) {
    fprintf(stderr, "clownixd did not start\n");
    exit(1);
  }
  return server;
}

void StopServer(const Server& server) {
  kill(server.pid, SIGTERM);
  waitpid(server.pid, nullptr, 0);
  if (system(absl::StrCat("rm -rf ", server.dir).c_str()) != 0) perror("rm");
}

std::string MemoryOf(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line, rss, hwm;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = line.substr(6);
    if (line.rfind("VmHWM:", 0) == 0) hwm = line.substr(6);
  }
  auto trim = [](std::string s) { return s.erase(0, s.find_first_not_of(" \t")); };
  return absl::StrCat("clownixd RSS ", trim(rss), " (peak ", trim(hwm), ")");
}

std::shared_ptr<grpc::Channel> NewChannel(const Server& server) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);  // one connection per client
  return grpc::CreateCustomChannel(server.address, grpc::InsecureChannelCredentials(), args);
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  size_t k = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

// Fills the topology with `count` LANs through Apply (one request, one batch).
void Populate(const Server& server, int count) {
  auto stub = Topology::NewStub(NewChannel(server));
  clownix::v1::ApplyRequest request;
  for (int i = 0; i < count; ++i)
    request.mutable_desired()->add_lans()->set_name(absl::StrCat("base", i));
  grpc::ClientContext context;
  clownix::v1::ApplyResponse response;
  grpc::Status status = stub->Apply(&context, request, &response);
  if (!status.ok()) {
    fprintf(stderr, "populate: %s\n", status.error_message().c_str());
    exit(1);
  }
}

struct Throughput {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

// `clients` threads each loop on `call` for the measurement time; one call = one operation.
template <typename Call>
Throughput Measure(int clients, Call call) {
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  absl::Time start = absl::Now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; !stop; ++i) {
        absl::Time t0 = absl::Now();
        if (!call(c, i)) ++errors;
        latencies[c].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
      }
    });
  }
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  if (errors) fprintf(stderr, "warning: %d failed calls\n", errors.load());
  Throughput result;
  result.per_second = all.size() / elapsed;
  result.p50_ms = Percentile(all, 0.50);
  result.p99_ms = Percentile(all, 0.99);
  return result;
}

void MutationBenchmark(int existing) {
  Server server = StartServer();
  Populate(server, existing);
  printf("\n## Durable mutations, %d objects in the topology\n", existing);
  printf("| clients | mutations/s | p50 ms | p99 ms | Health/Check calls/s (peer) | ratio |\n");
  printf("|---|---|---|---|---|---|\n");
  for (int clients : {1, 8, 32}) {
    std::vector<std::unique_ptr<Topology::Stub>> stubs;
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int c = 0; c < clients; ++c) {
      channels.push_back(NewChannel(server));
      stubs.push_back(Topology::NewStub(channels.back()));
    }
    Throughput mutations = Measure(clients, [&](int c, int i) {
      grpc::ClientContext context;
      std::string name = absl::StrCat("m", clients, "-", c, "-", i / 2);
      if (i % 2 == 0) {
        clownix::v1::CreateLanRequest request;
        request.mutable_lan()->set_name(name);
        clownix::v1::CreateLanResponse response;
        return stubs[c]->CreateLan(&context, request, &response).ok();
      }
      clownix::v1::DeleteLanRequest request;
      request.set_name(name);
      clownix::v1::MutationResponse response;
      return stubs[c]->DeleteLan(&context, request, &response).ok();
    });
    std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health;
    for (auto& channel : channels) health.push_back(grpc::health::v1::Health::NewStub(channel));
    Throughput peer = Measure(clients, [&](int c, int) {
      grpc::ClientContext context;
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
      return health[c]->Check(&context, request, &response).ok();
    });
    printf("| %d | %.0f | %.2f | %.2f | %.0f | %.2f |\n", clients, mutations.per_second,
           mutations.p50_ms, mutations.p99_ms, peer.per_second,
           mutations.per_second / peer.per_second);
    fflush(stdout);
  }
  printf("\n%s\n", MemoryOf(server.pid).c_str());
  StopServer(server);
}

void DeliveryBenchmark(int rate) {
  Server server = StartServer();
  Populate(server, 100);
  const int watchers = absl::GetFlag(FLAGS_watchers);
  std::vector<std::vector<double>> latencies(watchers);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  std::atomic<int64_t> messages{0};
  for (int w = 0; w < watchers; ++w) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    threads.emplace_back([&, w, channel = NewChannel(server)] {
      auto stub = Topology::NewStub(channel);
      clownix::v1::WatchRequest request;
      auto reader = stub->Watch(contexts[w].get(), request);
      clownix::v1::WatchResponse response;
      bool first = true;
      while (reader->Read(&response)) {
        if (first) {
          ++ready;
          first = false;
        }
        ++messages;
        int64_t now_us = absl::ToUnixMicros(absl::Now());
        for (const auto& event : response.events()) {
          latencies[w].push_back((now_us - event.time_us()) / 1000.0);
        }
      }
      reader->Finish();
    });
  }
  while (ready < watchers) absl::SleepFor(absl::Milliseconds(10));

  // Writers pace themselves to `rate` events/s in all (each mutation is one event).
  constexpr int kWriters = 32;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> written{0};
  std::vector<std::thread> writers;
  absl::Time start = absl::Now();
  for (int c = 0; c < kWriters; ++c) {
    writers.emplace_back([&, c, channel = NewChannel(server)] {
      auto stub = Topology::NewStub(channel);
      absl::Duration period = absl::Seconds(1.0 * kWriters / rate);
      absl::Time next = absl::Now();
      for (int i = 0; !stop; ++i) {
        grpc::ClientContext context;
        std::string name = absl::StrCat("d", c, "-", i / 2);
        grpc::Status status;
        if (i % 2 == 0) {
          clownix::v1::CreateLanRequest request;
          request.mutable_lan()->set_name(name);
          clownix::v1::CreateLanResponse response;
          status = stub->CreateLan(&context, request, &response);
        } else {
          clownix::v1::DeleteLanRequest request;
          request.set_name(name);
          clownix::v1::MutationResponse response;
          status = stub->DeleteLan(&context, request, &response);
        }
        if (status.ok()) ++written;
        next += period;
        absl::Time now = absl::Now();
        if (next > now) absl::SleepFor(next - now);
      }
    });
  }
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (auto& t : writers) t.join();
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  absl::SleepFor(absl::Milliseconds(500));  // let the last events arrive
  std::string memory = MemoryOf(server.pid);
  for (auto& c : contexts) c->TryCancel();
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  double achieved = written / elapsed;
  printf("| %d | %d | %.0f | %.0f | %.1f | %.2f | %.2f |\n", rate, watchers, achieved,
         all.size() / elapsed, static_cast<double>(all.size()) / std::max<int64_t>(1, messages),
         Percentile(all, 0.50), Percentile(all, 0.99));
  printf("%s\n", memory.c_str());
  fflush(stdout);
  StopServer(server);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  printf("# clownixd topology benchmark (%d cores)\n",
         static_cast<int>(std::thread::hardware_concurrency()));
  MutationBenchmark(100);
  MutationBenchmark(10000);
  printf("\n## Watch delivery (commit -> watcher), 100 objects\n");
  printf(
      "| target events/s | watchers | events/s achieved | deliveries/s | events per message "
      "| p50 ms | p99 ms |\n|---|---|---|---|---|---|---|\n");
  DeliveryBenchmark(1000);
  DeliveryBenchmark(10000);
  return 0;
}
