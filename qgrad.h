// The umbrella header: everything a program needs, in one include.
#pragma once
#include "core/autograd.h"
#include "core/ops/activation.h"
#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"
#include "core/random.h"
#include "core/tensor.h"
#include "core/threads.h"
