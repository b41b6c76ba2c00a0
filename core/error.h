// qgrad::Error — the one exception type the framework throws for misuse.
// Every message names the operation and the offending shapes/dtypes/values, e.g.
//   "qgrad::add: shapes [2, 3] and [4] cannot be broadcast"
// so a user can find the bad call without a debugger.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace qgrad {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates anything printable into one string: cat("got ", 3, " dims").
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Throws qgrad::Error with the message "qgrad::<op>: <what...>".
template <class... Args>
[[noreturn]] void fail(const char* op, const Args&... what) {
  throw Error(cat("qgrad::", op, ": ", what...));
}

// check(cond, "op", "message parts"...): fail unless cond holds. The message is only
// formatted on failure, so checks cost nothing on the hot path.
template <class... Args>
inline void check(bool cond, const char* op, const Args&... what) {
  if (!cond) fail(op, what...);
}

}  // namespace qgrad
