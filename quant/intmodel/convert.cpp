#include "quant/intmodel/convert.h"

#include <typeinfo>

#include "core/autograd.h"
#include "core/error.h"
#include "nn/activations.h"
#include "nn/flatten.h"
#include "nn/pooling.h"
#include "nn/residual.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/intmodel/int_residual.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/math/quantize.h"

namespace qgrad::quant {

Tensor IntModel::forward(const Tensor& x) {
  NoGradGuard no_grad;
  return dequantize(forward_int(quantize(x.detach().contiguous(), input_qparams)), output_qparams);
}

Tensor IntModel::forward_int(const Tensor& q) const {
  // Inside, 4-D activations are channels last (int_modules.h); outside, NCHW like the float model.
  Tensor h = q.dim() == 4 ? q.permute({0, 2, 3, 1}).contiguous() : q;
  for (const auto& l : layers) h = l->run(h);
  return h.dim() == 4 ? h.permute({0, 3, 1, 2}).contiguous() : h;
}

std::string IntModel::options_str() const {
  std::string s;
  for (const auto& l : layers) s += (s.empty() ? "" : ", ") + l->name();
  return s;
}

namespace {
template <class M>
M* child_as(const nn::Sequential& s, size_t j) {
  return j < s.size() ? dynamic_cast<M*>(s[j].get()) : nullptr;
}

// Converts prepared[begin, end) whose input has qparams `current`, appending the integer layers;
// returns the qparams of the output. where: "" at the top level, else "3.body." etc. for messages.
QParams convert_layers(const nn::Sequential& prepared, size_t begin, QParams current, IntLayers& layers,
                       const std::string& where) {
  const size_t n = prepared.size();
  // The FakeQuantize right after position j, which gives the output qparams of what is there.
  auto output_fq = [&](size_t j, const std::string& what) -> FakeQuantize& {
    auto* fq = child_as<FakeQuantize>(prepared, j);
    check(fq != nullptr, "convert", what, " at position ", where, j - 1, " must be followed by a FakeQuantize");
    return *fq;
  };
  for (size_t i = begin; i < n; ++i) {
    nn::Module* m = prepared[i].get();
    if (auto* layer = dynamic_cast<QatLayer*>(m)) {
      const bool relu = child_as<nn::ReLU>(prepared, i + 1) != nullptr;
      const size_t fq_at = i + 1 + (relu ? 1 : 0);
      const QParams out = output_fq(fq_at, m->type_name()).qparams();
      const QParams wq = layer->weight_qparams();
      const auto [w, b] = layer->effective_weight_bias();
      if (auto* conv = dynamic_cast<QatConv2d*>(m)) {
        const auto& o = conv->options();
        check(o.groups == 1 && o.dilation == 1, "convert", "QuantizedConv2d supports groups 1 and dilation 1, "
              "got groups ", o.groups, ", dilation ", o.dilation);
        layers.push_back(std::make_unique<QuantizedConv2d>(w, b, wq, current, out, relu, o.stride, o.padding));
      } else {
        layers.push_back(std::make_unique<QuantizedLinear>(w, b, wq, current, out, relu));
      }
      current = out;
      i = fq_at;
    } else if (m != nullptr && typeid(*m) == typeid(nn::Residual)) {
      // Residual [ReLU] FakeQuantize -> IntResidual: both branches converted from the block's
      // input qparams; the identity shortcut passes the input codes (and qparams) through.
      const std::string here = cat(where, i, ".");
      auto branch = [&](const char* what) -> const nn::Sequential* {
        for (const auto& [name, c] : m->children())
          if (name == what) {
            const auto* seq = dynamic_cast<const nn::Sequential*>(c.get());
            check(seq != nullptr, "convert", "residual ", where, i, ": its ", what, " must be a Sequential (as "
                  "prepare makes it), got ", c->type_name());
            return seq;
          }
        return nullptr;
      };
      const nn::Sequential* body = branch("body");
      const nn::Sequential* shortcut = branch("shortcut");
      check(body != nullptr, "convert", "residual ", where, i, " has no body");
      IntLayers body_layers, shortcut_layers;
      const QParams body_qp = convert_layers(*body, 0, current, body_layers, here + "body.");
      const QParams shortcut_qp =
          shortcut ? convert_layers(*shortcut, 0, current, shortcut_layers, here + "shortcut.") : current;
      const bool relu = child_as<nn::ReLU>(prepared, i + 1) != nullptr;
      const size_t fq_at = i + 1 + (relu ? 1 : 0);
      const QParams out = output_fq(fq_at, "Residual").qparams();
      layers.push_back(std::make_unique<IntResidual>(std::move(body_layers), std::move(shortcut_layers), body_qp,
                                                     shortcut_qp, out, relu));
      current = out;
      i = fq_at;
    } else if (auto* mp = dynamic_cast<nn::MaxPool2d*>(m)) {
      layers.push_back(std::make_unique<IntMaxPool2d>(mp->options()));
    } else if (auto* ap = dynamic_cast<nn::AvgPool2d*>(m)) {
      const QParams out = output_fq(i + 1, "AvgPool2d").qparams();
      layers.push_back(std::make_unique<IntAvgPool2d>(ap->options(), false, current, out));
      current = out;
      ++i;
    } else if (dynamic_cast<nn::GlobalAvgPool*>(m)) {
      const QParams out = output_fq(i + 1, "GlobalAvgPool").qparams();
      layers.push_back(std::make_unique<IntAvgPool2d>(Pool2dOptions{}, true, current, out));
      current = out;
      ++i;
    } else if (dynamic_cast<nn::Flatten*>(m)) {
      layers.push_back(std::make_unique<IntFlatten>());
    } else if (dynamic_cast<nn::ReLU*>(m)) {
      layers.push_back(std::make_unique<IntReLU>(current.zero_point[0]));
    } else {
      fail("convert", "module ", where, i, " (", m->type_name(), ") has no integer version; every Conv2d/Linear "
           "must be quantized (QatConv2d/QatConvBn2d/QatLinear) and followed by its FakeQuantize");
    }
  }
  return current;
}

}  // namespace

std::shared_ptr<IntModel> convert(const nn::Sequential& prepared) {
  auto model = std::make_shared<IntModel>();
  const size_t n = prepared.size();
  // A leading Flatten commutes with quantizing the input, so it runs on the uint8 codes.
  size_t first = 0;
  while (child_as<nn::Flatten>(prepared, first)) {
    model->layers.push_back(std::make_unique<IntFlatten>());
    ++first;
  }
  auto* input = child_as<FakeQuantize>(prepared, first);
  check(input != nullptr, "convert", "the prepared model must start with its input FakeQuantize, got ",
        first < n ? prepared[first]->type_name() : std::string("an empty model"));
  model->input_qparams = input->qparams();
  model->output_qparams = convert_layers(prepared, first + 1, model->input_qparams, model->layers, "");
  model->eval();
  return model;
}

}  // namespace qgrad::quant
