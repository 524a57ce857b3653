// SPDX-License-Identifier: MIT
#pragma once
/// JSON: one value type, a strict reader into it and a writer of it (or of a document streamed piece by piece).

#include "gantry/io/json_reader.hpp"
#include "gantry/io/json_value.hpp"
#include "gantry/io/json_writer.hpp"
