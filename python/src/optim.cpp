// qgrad.optim: the optimizers and learning-rate schedules of nn/optim/*.h.
//
//   Python                                                        C++
//   SGD(params, lr=0.01, momentum=0, dampening=0,                 SGD(params, SGDOptions{lr, momentum,
//       nesterov=False, weight_decay=0)                               dampening, nesterov, weight_decay})
//   Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,           Adam(params, AdamOptions{lr, beta1,
//        weight_decay=0)                                              beta2, eps, weight_decay})
//   AdamW(params, ..., weight_decay=0.01)                         AdamW(params, AdamOptions{...})
//   opt.step(), opt.zero_grad(), opt.lr (settable), opt.params,   Optimizer::step, zero_grad, lr/set_lr,
//   opt.state_dict(), opt.load_state_dict(d)                      params, state_dict, load_state_dict
//   StepLR(base_lr, step_size, gamma=0.1)                         StepLR(StepLROptions{...})
//   CosineAnnealing(base_lr, t_max, eta_min=0)                    CosineAnnealing(CosineAnnealingOptions)
//   LinearWarmup(after, warmup=5, start_factor=0.1)               LinearWarmup(LinearWarmupOptions, after)
//   s.lr_at(t), s.t (settable), s.set_t(t), s.apply(opt),         LRSchedule::lr_at, t, set_t, apply,
//   s.step(opt)                                                   step
// An optimizer holds handles to its parameter tensors, so they stay alive with it.
#include "bindings.h"

namespace qgrad::python {

namespace {

// params: any iterable of Tensors (a list, model.parameters(), a generator).
std::vector<Tensor> params_arg(const py::iterable& params, const char* op) {
  std::vector<Tensor> out;
  for (py::handle h : params) {
    if (!py::isinstance<Tensor>(h))
      throw py::type_error(cat("qgrad.optim.", op, ": params must be Tensors, got ",
                               std::string(py::str(py::type::of(h).attr("__name__")))));
    out.push_back(h.cast<Tensor>());
  }
  return out;
}

optim::AdamOptions adam_options(float lr, std::pair<float, float> betas, float eps, float wd) {
  return {.lr = lr, .beta1 = betas.first, .beta2 = betas.second, .eps = eps, .weight_decay = wd};
}

}  // namespace

void bind_optim(py::module_& m) {
  py::class_<optim::Optimizer, std::shared_ptr<optim::Optimizer>>(m, "Optimizer",
                                                                   "The base of SGD, Adam, AdamW (nn/optim/optimizer.h)")
      .def("step", &optim::Optimizer::step, release_gil())
      .def("zero_grad", &optim::Optimizer::zero_grad, release_gil(), "drops every parameter's .grad")
      .def_property("lr", &optim::Optimizer::lr, &optim::Optimizer::set_lr)
      .def_property_readonly("params", [](const optim::Optimizer& o) { return o.params(); })
      .def("state_dict", &optim::Optimizer::state_dict,
           "'<i>.<slot>', '<i>.step' and 'lr' -> tensor (sharing memory with the optimizer)")
      .def("load_state_dict", [](optim::Optimizer& o, const py::dict& d) { o.load_state_dict(state_dict_arg(d)); }, py::arg("state_dict"), "Strict: every entry present with its shape and dtype, no others");

  py::class_<optim::SGD, optim::Optimizer, std::shared_ptr<optim::SGD>>(m, "SGD", "torch.optim.SGD's update (nn/optim/sgd.h)")
      .def(py::init([](const py::iterable& params, float lr, float momentum, float dampening, bool nesterov, float wd) {
             return std::make_shared<optim::SGD>(params_arg(params, "SGD"),
                                                 optim::SGDOptions{.lr = lr, .momentum = momentum, .dampening = dampening,
                                                                   .nesterov = nesterov, .weight_decay = wd});
           }), py::arg("params"), py::arg("lr") = 0.01f, py::arg("momentum") = 0.f, py::arg("dampening") = 0.f,
           py::arg("nesterov") = false, py::arg("weight_decay") = 0.f);

  py::class_<optim::Adam, optim::Optimizer, std::shared_ptr<optim::Adam>>(m, "Adam", "Adam with L2 decay (nn/optim/adam.h)")
      .def(py::init([](const py::iterable& params, float lr, std::pair<float, float> betas, float eps, float wd) {
             return std::make_shared<optim::Adam>(params_arg(params, "Adam"), adam_options(lr, betas, eps, wd));
           }), py::arg("params"), py::arg("lr") = 1e-3f, py::arg("betas") = std::make_pair(0.9f, 0.999f),
           py::arg("eps") = 1e-8f, py::arg("weight_decay") = 0.f);

  py::class_<optim::AdamW, optim::Adam, std::shared_ptr<optim::AdamW>>(m, "AdamW", "Adam with decoupled decay (nn/optim/adam.h)")
      .def(py::init([](const py::iterable& params, float lr, std::pair<float, float> betas, float eps, float wd) {
             return std::make_shared<optim::AdamW>(params_arg(params, "AdamW"), adam_options(lr, betas, eps, wd));
           }), py::arg("params"), py::arg("lr") = 1e-3f, py::arg("betas") = std::make_pair(0.9f, 0.999f),
           py::arg("eps") = 1e-8f, py::arg("weight_decay") = 1e-2f);

  // --- learning-rate schedules (nn/optim/lr_schedule.h): pure functions of t, plus a counter
  py::class_<optim::LRSchedule, std::shared_ptr<optim::LRSchedule>>(m, "LRSchedule")
      .def("lr_at", &optim::LRSchedule::lr_at, py::arg("t"))
      .def_property("t", &optim::LRSchedule::t, &optim::LRSchedule::set_t)
      .def("set_t", &optim::LRSchedule::set_t, py::arg("t"))
      .def("apply", &optim::LRSchedule::apply, py::arg("optimizer"), "sets the optimizer's lr to lr_at(t)")
      .def("step", &optim::LRSchedule::step, py::arg("optimizer"), "t += 1, then apply");

  py::class_<optim::StepLR, optim::LRSchedule, std::shared_ptr<optim::StepLR>>(m, "StepLR")
      .def(py::init([](float base_lr, int64_t step_size, float gamma) {
             return std::make_shared<optim::StepLR>(
                 optim::StepLROptions{.base_lr = base_lr, .step_size = step_size, .gamma = gamma});
           }), py::arg("base_lr"), py::arg("step_size"), py::arg("gamma") = 0.1f);
  py::class_<optim::CosineAnnealing, optim::LRSchedule, std::shared_ptr<optim::CosineAnnealing>>(m, "CosineAnnealing")
      .def(py::init([](float base_lr, int64_t t_max, float eta_min) {
             return std::make_shared<optim::CosineAnnealing>(
                 optim::CosineAnnealingOptions{.base_lr = base_lr, .t_max = t_max, .eta_min = eta_min});
           }), py::arg("base_lr"), py::arg("t_max"), py::arg("eta_min") = 0.f);
  py::class_<optim::LinearWarmup, optim::LRSchedule, std::shared_ptr<optim::LinearWarmup>>(m, "LinearWarmup")
      .def(py::init([](std::shared_ptr<optim::LRSchedule> after, int64_t warmup, float start_factor) {
             if (!after) throw py::type_error("qgrad.optim.LinearWarmup: after must be a schedule");
             return std::make_shared<optim::LinearWarmup>(
                 optim::LinearWarmupOptions{.warmup = warmup, .start_factor = start_factor},
                 std::shared_ptr<const optim::LRSchedule>(after));
           }), py::arg("after"), py::arg("warmup") = 5, py::arg("start_factor") = 0.1f);
}

}  // namespace qgrad::python
