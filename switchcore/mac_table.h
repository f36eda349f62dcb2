// MacTable: where each MAC address was last seen, for one LAN.
//
// Design (after Open vSwitch's mac-learning):
// - Fixed capacity, allocated once: a set-associative table of kWays-entry buckets, indexed by a
//   hash of the MAC. Learning and lookup touch one bucket (8 entries of 24 bytes: three or four
//   cache lines) and never allocate, so the forwarding path stays allocation-free.
// - Aging: an entry not refreshed for `aging` is dead; lookups ignore it and learning reuses it.
// - Size bound and MAC floods: each port may own at most `max_per_port` entries. A port at its
//   quota learns nothing new (its frames are still forwarded, replies to unknown MACs flooded), so
//   a port spraying random source MACs cannot exhaust the table. When a bucket is full, the victim
//   is the bucket's entry whose port owns the most entries in the whole table (the oldest of
//   those on a tie): a flooder evicts its own entries before anyone else's.
// - Multicast/broadcast source MACs are never learned.
// Not thread-safe: owned by the switch's single event loop.
#ifndef CLOWNIX_SWITCHCORE_MAC_TABLE_H_
#define CLOWNIX_SWITCHCORE_MAC_TABLE_H_

#include <cstdint>
#include <vector>

namespace clownix::switchcore {

class MacTable {
 public:
  static constexpr int kWays = 8;
  static constexpr int kNoPort = -1;

  enum class LearnResult { kRefreshed, kLearned, kMoved, kQuotaExceeded, kNotUnicast };

  // `capacity` is rounded up to a multiple of kWays (power-of-two buckets); `max_ports` bounds the
  // port indexes passed in; `aging_ns` is how long an entry lives without being refreshed.
  MacTable(int capacity, int max_ports, int max_per_port, int64_t aging_ns);

  // Records that `mac` (6 bytes) was seen as a source on `port` at `now_ns`.
  LearnResult Learn(const uint8_t* mac, int port, int64_t now_ns);
  // The port `mac` was last seen on, or kNoPort if unknown or aged out.
  int Lookup(const uint8_t* mac, int64_t now_ns) const;
  // Forgets every entry of `port` (the port went away).
  void RemovePort(int port);

  int size() const { return size_; }
  int capacity() const { return static_cast<int>(entries_.size()); }
  int CountForPort(int port) const { return per_port_[port]; }
  uint64_t evictions() const { return evictions_; }

  static uint64_t MacKey(const uint8_t* mac);
  static bool IsMulticast(const uint8_t* mac) { return mac[0] & 1; }

 private:
  struct Entry {
    uint64_t key;  // 48-bit MAC | kValid, 0 when free
    int64_t last_seen_ns;
    int32_t port;
  };
  static constexpr uint64_t kValid = 1ull << 63;

  Entry* Bucket(uint64_t key);
  const Entry* Bucket(uint64_t key) const;
  void Free(Entry& e);

  std::vector<Entry> entries_;
  std::vector<int> per_port_;
  uint64_t bucket_mask_;
  int max_per_port_;
  int64_t aging_ns_;
  int size_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_MAC_TABLE_H_
