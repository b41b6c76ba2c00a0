// The thread pool behind parallel_chunks() (see core/parallel.h for why it exists).
//
// One job runs at a time. A job is published in three words, each tagged with the job's id in
// its upper 32 bits so that a worker that wakes late can never touch the next job by mistake:
//   generation_  the id of the newest job; idle workers wait for it to change;
//   slots_       id | slots still free: a worker joins by taking one (the caller is slot 0);
//   next_        id | chunks not yet claimed: chunk remaining-1 is claimed by a compare-exchange.
// The body and the chunk count are read only after a claim succeeds; the job cannot finish
// before that chunk is done, so they are still the job's own. done_ counts finished chunks, and
// the caller returns when it reaches the chunk count, without waiting for the workers to leave.
// Every wait spins for at most kSpin and then sleeps on a condition variable.
#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/threads.h"

namespace qgrad {

namespace {

// More chunks than threads, so a thread that loses its core leaves its share to the others.
constexpr int64_t kChunksPerThread = 4;
// How long a thread spins before it sleeps: long enough to catch the next op's loop in a run of
// small ops, short enough that a core shared with another process is soon given back.
constexpr auto kSpin = std::chrono::microseconds(50);

thread_local bool t_in_parallel = false;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until ready() holds or kSpin has passed; returns ready().
template <class Ready>
bool spin_until(Ready&& ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (unsigned i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) return ready();
  }
}

constexpr uint64_t kLow = 0xffffffffu;
uint64_t tagged(uint32_t job, uint64_t count) { return uint64_t{job} << 32 | count; }
uint32_t job_of(uint64_t word) { return static_cast<uint32_t>(word >> 32); }

class Pool {
 public:
  void run(int64_t chunks, int threads, detail::ChunkBody body) {
    std::unique_lock busy(run_mu_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another application thread owns the pool: work alone
      run_serially(chunks, body);
      return;
    }
    grow(threads - 1);
    const uint32_t job = ++last_job_ == 0 ? ++last_job_ : last_job_;
    body_ = body;
    chunks_ = chunks;
    done_.store(0, std::memory_order_relaxed);
    slots_.store(tagged(job, threads - 1), std::memory_order_release);
    next_.store(tagged(job, static_cast<uint64_t>(chunks)), std::memory_order_release);
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      generation_.store(job, std::memory_order_release);
      wake = sleepers_ > 0;
    }
    if (wake) wake_.notify_all();

    t_in_parallel = true;
    work(job, 0);
    t_in_parallel = false;
    auto finished = [&] { return done_.load(std::memory_order_acquire) == chunks; };
    if (!spin_until(finished)) {
      std::unique_lock lock(mu_);
      caller_sleeping_ = true;
      finished_.wait(lock, finished);
      caller_sleeping_ = false;
    }
    std::exception_ptr error;
    {
      std::lock_guard lock(mu_);
      std::swap(error, error_);
    }
    if (error) std::rethrow_exception(error);
  }

  static void run_serially(int64_t chunks, detail::ChunkBody body) {
    for (int64_t c = 0; c < chunks; ++c) body.fn(body.ctx, c, 0);
  }

 private:
  // Starts workers until there are `count` (the pool never shrinks; extra workers stay asleep).
  void grow(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      workers_.emplace_back([this, seen = generation_.load()] { worker_loop(seen); });
      workers_.back().detach();  // the pool lives until the process ends (never destroyed)
    }
  }

  void worker_loop(uint32_t seen) {
    t_in_parallel = true;
    for (;;) {
      auto posted = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      if (!spin_until(posted)) {
        std::unique_lock lock(mu_);
        ++sleepers_;
        wake_.wait(lock, posted);
        --sleepers_;
      }
      seen = generation_.load(std::memory_order_acquire);
      uint64_t s = slots_.load(std::memory_order_acquire);
      while (job_of(s) == seen && (s & kLow) > 0) {
        if (slots_.compare_exchange_weak(s, s - 1, std::memory_order_acq_rel)) {
          work(seen, static_cast<int>(s & kLow));
          break;
        }
      }
    }
  }

  // Claims and runs chunks of `job` until none is left.
  void work(uint32_t job, int slot) {
    uint64_t s = next_.load(std::memory_order_acquire);
    while (job_of(s) == job && (s & kLow) > 0) {
      if (!next_.compare_exchange_weak(s, s - 1, std::memory_order_acq_rel)) continue;
      const int64_t chunks = chunks_;
      try {
        body_.fn(body_.ctx, static_cast<int64_t>(s & kLow) - 1, slot);
      } catch (...) {
        std::lock_guard lock(mu_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
        bool wake = false;
        {
          std::lock_guard lock(mu_);
          wake = caller_sleeping_;
        }
        if (wake) finished_.notify_one();
      }
      s = next_.load(std::memory_order_acquire);
    }
  }

  std::mutex run_mu_;  // held by the caller of the running job
  std::mutex mu_;      // guards the sleeping flags and error_
  std::condition_variable wake_, finished_;
  int sleepers_ = 0;
  bool caller_sleeping_ = false;
  std::exception_ptr error_;
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint64_t> slots_{0}, next_{0};
  std::atomic<int64_t> done_{0};
  uint32_t last_job_ = 0;
  detail::ChunkBody body_{};
  int64_t chunks_ = 0;
  std::vector<std::thread> workers_;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: detached workers may still sleep inside it at exit
  return *p;
}

}  // namespace

int64_t chunk_count(int64_t n, int64_t grain) {
  const int64_t threads = get_num_threads();
  if (threads <= 1 || n <= grain) return 1;
  const int64_t by_grain = (n + grain - 1) / std::max<int64_t>(grain, 1);
  return std::min(by_grain, threads * kChunksPerThread);
}

int parallel_slots(int64_t chunks) {
  return static_cast<int>(std::clamp<int64_t>(chunks, 1, get_num_threads()));
}

bool in_parallel() { return t_in_parallel; }

namespace detail {

void run_chunks(int64_t chunks, ChunkBody body) {
  if (chunks <= 0) return;
  const int threads = parallel_slots(chunks);
  if (threads <= 1 || t_in_parallel) {
    Pool::run_serially(chunks, body);
    return;
  }
  pool().run(chunks, threads, body);
}

}  // namespace detail

}  // namespace qgrad
