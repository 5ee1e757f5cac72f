// A cache of large CPU output buffers (see output_cache.h).
#include "output_cache.h"

#include <ATen/EmptyTensor.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sys/mman.h>
#endif

namespace datagen_gpu {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Buffers are rounded up so that a few sizes serve many shapes: to 64 KiB,
// and from 2 MiB on to whole (transparent) huge pages.
size_t rounded(size_t n) {
  const size_t unit = n >= kHugePage ? kHugePage : (size_t{64} << 10);
  return (n + unit - 1) / unit * unit;
}

int64_t limit_from_env() {
  const char* v = std::getenv("DATAGEN_GPU_CPU_CACHE_MB");
  if (v == nullptr || *v == '\0') return kDefaultCacheLimit;
  char* end = nullptr;
  const long long mb = std::strtoll(v, &end, 10);
  if (end == v || *end != '\0' || mb < 0 || mb > (int64_t{1} << 40)) {
    TORCH_WARN("DATAGEN_GPU_CPU_CACHE_MB: expected a whole number of MiB >= 0, got '", v,
               "'; using the default, ", kDefaultCacheLimit >> 20, " MiB");
    return kDefaultCacheLimit;
  }
  return static_cast<int64_t>(mb) << 20;
}

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free;  // rounded size -> idle buffer
  int64_t cached = 0;                 // bytes held in `free`
  std::atomic<int64_t> limit{limit_from_env()};
};

std::atomic<Cache*> g_cache{nullptr};

Cache& cache() {
  Cache* c = g_cache.load();
  if (c == nullptr) {  // never destroyed: outputs may outlive static teardown
    Cache* fresh = new Cache();
    if (g_cache.compare_exchange_strong(c, fresh)) return *fresh;
    delete fresh;
  }
  return *c;
}

#if defined(__linux__)
// A child forked while another thread held the lock (or was changing the free
// list) must not touch that state: it starts a new, empty cache with the same
// limit; the parent's idle buffers stay mapped in the child, unused.
void reset_after_fork() {
  Cache* old = g_cache.load();
  if (old == nullptr) return;
  Cache* c = new Cache();
  c->limit.store(old->limit.load());
  g_cache.store(c);
}

const bool g_atfork = [] {
  pthread_atfork(nullptr, nullptr, reset_after_fork);
  return true;
}();
#endif

struct Block {
  void* ptr;
  size_t bytes;  // rounded
};

void* fresh_buffer(size_t bytes) {
  void* p = nullptr;
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  if (posix_memalign(&p, align, bytes) != 0) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= kHugePage) madvise(p, bytes, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
  return p;
}

void release(void* ctx) {
  Block* b = static_cast<Block*>(ctx);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached + static_cast<int64_t>(b->bytes) <= c.limit.load()) {
      c.free.emplace(b->bytes, b->ptr);
      c.cached += static_cast<int64_t>(b->bytes);
      b->ptr = nullptr;
    }
  }
  std::free(b->ptr);
  delete b;
}

class CachingAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) override {
    if (n < kMinCachedBytes) return c10::GetDefaultCPUAllocator()->allocate(n);
    const size_t bytes = rounded(n);
    void* p = nullptr;
    Cache& c = cache();
    {
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.free.find(bytes);
      if (it != c.free.end()) {
        p = it->second;
        c.free.erase(it);
        c.cached -= static_cast<int64_t>(bytes);
      }
    }
    if (p == nullptr) p = fresh_buffer(bytes);
    TORCH_CHECK(p != nullptr, "datagen_gpu: out of memory allocating ", bytes, " bytes");
    return {p, new Block{p, bytes}, &release, c10::Device(c10::DeviceType::CPU)};
  }

  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

CachingAllocator g_allocator;

void drop_idle(Cache& c, int64_t keep) {
  std::vector<void*> drop;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    while (c.cached > keep && !c.free.empty()) {
      auto it = std::prev(c.free.end());  // the largest first
      c.cached -= static_cast<int64_t>(it->first);
      drop.push_back(it->second);
      c.free.erase(it);
    }
  }
  for (void* p : drop) std::free(p);
}

}  // namespace

at::Tensor cached_empty(at::IntArrayRef sizes, at::ScalarType dtype, bool channels_last) {
  const auto fmt = channels_last ? c10::MemoryFormat::ChannelsLast : c10::MemoryFormat::Contiguous;
  return at::detail::empty_generic(sizes, &g_allocator, c10::DispatchKeySet(c10::DispatchKey::CPU),
                                   dtype, fmt);
}

std::vector<int64_t> cpu_output_cache(int64_t limit) {
  Cache& c = cache();
  if (limit >= 0) {
    c.limit.store(limit);
    drop_idle(c, limit);
  } else if (limit == kEmptyCache) {
    drop_idle(c, 0);
  }
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.cached, c.limit.load()};
}

at::Tensor cpu_cached_empty(int64_t numel, at::ScalarType dtype) {
  TORCH_CHECK(numel >= 0, "numel: expected >= 0, got ", numel);
  return cached_empty({numel}, dtype, false);
}

}  // namespace datagen_gpu
