#include "nn/module.h"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "core/autograd.h"

namespace qgrad::nn {

namespace {

// While summary() runs, operator() reports each call here (one summary per thread at a time).
struct SummaryTrace {
  std::map<const Module*, std::string> paths;
  struct Row {
    std::string path, type;
    Shape out_shape;
    int64_t own_params = 0;
  };
  std::vector<Row> rows;
};
thread_local SummaryTrace* active_trace = nullptr;

struct TraceScope {
  explicit TraceScope(SummaryTrace* t) { active_trace = t; }
  ~TraceScope() { active_trace = nullptr; }
};

int64_t own_parameter_count(const Module& m) {
  int64_t total = m.num_parameters();
  for (const auto& [name, child] : m.children()) total -= child->num_parameters();
  return total;
}

}  // namespace

thread_local CallObserver* active_observer = nullptr;

CallObserver* set_call_observer(CallObserver* observer) {
  CallObserver* previous = active_observer;
  active_observer = observer;
  return previous;
}

CallObserver* call_observer() { return active_observer; }

Tensor Module::operator()(const Tensor& x) {
  CallObserver* observer = active_observer;
  if (observer) observer->enter(*this);
  Tensor y;
  SummaryTrace* trace = active_trace;
  auto it = trace ? trace->paths.find(this) : std::map<const Module*, std::string>::iterator();
  if (trace == nullptr || it == trace->paths.end()) {
    y = forward(x);
  } else {
    // Reserve the row before running the children so the table reads top-down.
    size_t row = trace->rows.size();
    trace->rows.push_back({it->second, type_name(), {}, own_parameter_count(*this)});
    y = forward(x);
    trace->rows[row].out_shape = y.shape();
  }
  if (observer) observer->exit(*this, {x}, y);
  return y;
}

void Module::check_new_name(const std::string& name) const {
  check(!name.empty() && name.find('.') == std::string::npos, "Module::register",
        "name '", name, "' must be non-empty and contain no '.'");
  auto taken = [&](const auto& list) {
    for (const auto& [n, v] : list)
      if (n == name) return true;
    return false;
  };
  // No type_name() here: this runs inside constructors, where it may still be pure virtual.
  check(!taken(params_) && !taken(buffers_) && !taken(children_), "Module::register", "name '",
        name, "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name);
  check(t.defined() && t.dtype() == DType::Float32, "Module::register_parameter", "parameter '",
        name, "' must be a defined float32 tensor");
  t.requires_grad_(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  check(t.defined(), "Module::register_buffer", "buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name);
  check(m != nullptr, "Module::register_module", "module '", name, "' is null");
  m->train(training_);
  children_.emplace_back(name, std::move(m));
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> m) {
  check(m != nullptr, "Module::replace_module", "module '", name, "' is null");
  for (auto& [n, child] : children_) {
    if (n == name) {
      m->train(training_);
      child = std::move(m);
      return;
    }
  }
  fail("Module::replace_module", "no child module named '", name, "' to replace");
}

void Module::collect(const std::string& prefix, bool buffers,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : buffers ? buffers_ : params_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", buffers, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child);
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(name + "." + sub, m);
  }
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

Module& Module::to(Device device) {
  for (auto& [name, t] : named_parameters()) t.to_(device);
  for (auto& [name, t] : named_buffers()) t.to_(device);
  return *this;
}

Device Module::device() const {
  for (const auto& [name, t] : named_parameters()) return t.device();
  for (const auto& [name, t] : named_buffers()) return t.device();
  return Device::CPU;
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

StateDict Module::state_dict() const {
  StateDict sd;
  for (auto& [name, t] : named_parameters()) sd[name] = t.detach();
  for (auto& [name, t] : named_buffers()) sd[name] = t.detach();
  return sd;
}

void Module::load_state_dict(const StateDict& sd) {
  auto own = named_parameters();
  for (auto& entry : named_buffers()) own.push_back(entry);
  std::set<std::string> expected;
  for (const auto& [name, t] : own) {
    require_entry(sd, name, t.shape(), t.dtype(), "load_state_dict");
    expected.insert(name);
  }
  for (const auto& [name, t] : sd)
    check(expected.count(name) == 1, "load_state_dict", "unexpected tensor '", name, "' (",
          type_name(), " has no parameter or buffer of that name)");
  for (auto& [name, t] : own) assign(t, sd.at(name));
}

std::string Module::repr() const {
  const std::string options = options_str();
  if (children_.empty()) return type_name() + "(" + options + ")";
  std::string s = type_name() + "(" + (options.empty() ? "" : options + ",") + "\n";
  for (const auto& [name, child] : children_) {
    std::string sub = child->repr();
    std::string indented;
    for (char c : sub) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
    s += "  (" + name + "): " + indented + "\n";
  }
  return s + ")";
}

void Module::summary(const Shape& input_shape, std::ostream& os) {
  SummaryTrace trace;
  for (const auto& [path, m] : named_modules()) trace.paths[m.get()] = path;
  trace.paths[this] = "";
  // Run in eval mode so the probe input leaves BatchNorm's running statistics alone, then
  // restore each module's own mode.
  std::vector<std::pair<Module*, bool>> modes{{this, training_}};
  for (const auto& [path, m] : named_modules()) modes.emplace_back(m.get(), m->training_);
  eval();
  Tensor out;
  try {
    NoGradGuard no_grad;
    TraceScope scope(&trace);
    out = (*this)(zeros(input_shape, DType::Float32, device()));
  } catch (...) {
    for (auto [m, on] : modes) m->training_ = on;
    throw;
  }
  for (auto [m, on] : modes) m->training_ = on;
  const int w_name = 36, w_shape = 22;
  os << std::left << std::setw(w_name) << "Layer (type)" << std::setw(w_shape) << "Output shape"
     << "Params\n"
     << std::string(w_name + w_shape + 10, '-') << "\n";
  os << std::setw(w_name) << "input" << std::setw(w_shape) << shape_str(input_shape) << "0\n";
  for (const auto& r : trace.rows) {
    if (r.path.empty()) continue;
    int64_t depth = std::count(r.path.begin(), r.path.end(), '.');
    std::string label = std::string(2 * depth, ' ') + r.path + " (" + r.type + ")";
    os << std::setw(w_name) << label << std::setw(w_shape) << shape_str(r.out_shape)
       << r.own_params << "\n";
  }
  os << std::string(w_name + w_shape + 10, '-') << "\n"
     << "Output: " << shape_str(out.shape()) << "\n"
     << "Total parameters: " << num_parameters() << "\n";
}

void Module::summary(const Shape& input_shape) { summary(input_shape, std::cout); }

}  // namespace qgrad::nn
