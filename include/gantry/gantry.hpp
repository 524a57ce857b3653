// SPDX-License-Identifier: MIT
#pragma once
/// Everything gantry offers, in one include.

#include "gantry/version.hpp"

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/quote.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/share_pool.hpp"
#include "gantry/core/threads.hpp"
#include "gantry/core/types.hpp"

#include "gantry/nn/activation.hpp"
#include "gantry/nn/dense.hpp"
#include "gantry/nn/gradient_penalty.hpp"
#include "gantry/nn/hessian_vector.hpp"
#include "gantry/nn/init.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/nn/tape.hpp"

#include "gantry/loss/consensus.hpp"
#include "gantry/loss/gradient_penalty.hpp"
#include "gantry/loss/instance_noise.hpp"
#include "gantry/loss/objective.hpp"
#include "gantry/loss/regularizer.hpp"
#include "gantry/loss/weight_clipping.hpp"
#include "gantry/policy.hpp"

#include "gantry/optim/adam.hpp"
#include "gantry/optim/optimizer.hpp"
#include "gantry/optim/rmsprop.hpp"
#include "gantry/optim/sgd.hpp"

#include "gantry/data/constant_noise.hpp"
#include "gantry/data/csv_samples.hpp"
#include "gantry/data/sampler.hpp"
#include "gantry/data/toy2d.hpp"

#include "gantry/metrics/dirac.hpp"
#include "gantry/metrics/gradient_norms.hpp"
#include "gantry/metrics/mode_coverage.hpp"
#include "gantry/metrics/wasserstein.hpp"

#include "gantry/train/batch.hpp"
#include "gantry/train/callbacks.hpp"
#include "gantry/train/evaluation.hpp"
#include "gantry/train/evaluation_parts.hpp"
#include "gantry/train/evaluator.hpp"
#include "gantry/train/schedule.hpp"
#include "gantry/train/step_stats.hpp"
#include "gantry/train/trainer.hpp"

#include "gantry/io/atomic_file.hpp"
#include "gantry/io/json.hpp"
#include "gantry/io/json_writer.hpp"
#include "gantry/io/plots.hpp"
#include "gantry/io/safetensors.hpp"
#include "gantry/io/svg.hpp"
