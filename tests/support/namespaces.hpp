// SPDX-License-Identifier: MIT
#pragma once
/// The short names tests give gantry's namespaces, declared once (each test file used to repeat the list).

namespace gantry::data {}
namespace gantry::io {}
namespace gantry::loss {}
namespace gantry::metrics {}
namespace gantry::nn {}
namespace gantry::optim {}
namespace gantry::train {}

namespace data = gantry::data;
namespace io = gantry::io;
namespace loss = gantry::loss;
namespace metrics = gantry::metrics;
namespace nn = gantry::nn;
namespace optim = gantry::optim;
namespace train = gantry::train;
