#include "switchcore/mac_table.h"

#include <cstdlib>

namespace clownix::switchcore {

MacTable::MacTable(int capacity, int max_ports, int max_per_port, int64_t aging_ns)
    : per_port_(max_ports, 0), max_per_port_(max_per_port), aging_ns_(aging_ns) {
  uint64_t buckets = 1;
  while (buckets * kWays < static_cast<uint64_t>(capacity)) buckets <<= 1;
  entries_.assign(buckets * kWays, Entry{0, 0, kNoPort});
  bucket_mask_ = buckets - 1;
}

uint64_t MacTable::MacKey(const uint8_t* mac) {
  uint64_t k = 0;
  for (int i = 0; i < 6; ++i) k = (k << 8) | mac[i];
  return k | kValid;
}

MacTable::Entry* MacTable::Bucket(uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  return &entries_[((h >> 32) & bucket_mask_) * kWays];
}

const MacTable::Entry* MacTable::Bucket(uint64_t key) const {
  return const_cast<MacTable*>(this)->Bucket(key);
}

void MacTable::Free(Entry& e) {
  if (e.key == 0) return;
  --per_port_[e.port];
  --size_;
  e = Entry{0, 0, kNoPort};
}

MacTable::LearnResult MacTable::Learn(const uint8_t* mac, int port, int64_t now_ns) {
  if (port < 0 || port >= static_cast<int>(per_port_.size())) abort();  // caller's bug
  if (IsMulticast(mac)) return LearnResult::kNotUnicast;
  uint64_t key = MacKey(mac);
  Entry* b = Bucket(key);
  Entry* free_slot = nullptr;
  for (int i = 0; i < kWays; ++i) {
    Entry& e = b[i];
    if (e.key == key) {
      if (e.port == port) {
        e.last_seen_ns = now_ns;
        return LearnResult::kRefreshed;
      }
      // The MAC moved (or a port spoofs it): follow it, within the new port's quota.
      if (per_port_[port] >= max_per_port_) return LearnResult::kQuotaExceeded;
      --per_port_[e.port];
      ++per_port_[port];
      e.port = port;
      e.last_seen_ns = now_ns;
      return LearnResult::kMoved;
    }
    if (e.key != 0 && now_ns - e.last_seen_ns > aging_ns_) Free(e);
    if (e.key == 0 && free_slot == nullptr) free_slot = &e;
  }
  if (per_port_[port] >= max_per_port_) return LearnResult::kQuotaExceeded;
  if (free_slot == nullptr) {
    // Bucket full of live entries: evict the oldest entry of the heaviest owner in this bucket.
    Entry* victim = &b[0];
    for (int i = 1; i < kWays; ++i) {
      Entry& e = b[i];
      int ce = per_port_[e.port], cv = per_port_[victim->port];
      if (ce > cv || (ce == cv && e.last_seen_ns < victim->last_seen_ns)) victim = &e;
    }
    Free(*victim);
    ++evictions_;
    free_slot = victim;
  }
  *free_slot = Entry{key, now_ns, port};
  ++per_port_[port];
  ++size_;
  return LearnResult::kLearned;
}

int MacTable::Lookup(const uint8_t* mac, int64_t now_ns) const {
  uint64_t key = MacKey(mac);
  const Entry* b = Bucket(key);
  for (int i = 0; i < kWays; ++i) {
    if (b[i].key == key) {
      return now_ns - b[i].last_seen_ns > aging_ns_ ? kNoPort : b[i].port;
    }
  }
  return kNoPort;
}

void MacTable::RemovePort(int port) {
  for (Entry& e : entries_) {
    if (e.key != 0 && e.port == port) Free(e);
  }
}

}  // namespace clownix::switchcore
