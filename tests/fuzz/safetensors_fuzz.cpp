// SPDX-License-Identifier: MIT
// libFuzzer target for gantry::io::SafetensorsFile::parse: arbitrary bytes must either parse or throw
// gantry::IoError, never crash, hang or read out of bounds. A file that parses must also survive a
// round trip through SafetensorsWriter with the same names, dtypes, shapes, values and metadata.
//
// Build and run (from the repository root):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//     -Iinclude tests/fuzz/safetensors_fuzz.cpp -o /tmp/safetensors_fuzz
//   mkdir -p /tmp/fuzz_corpus
//   /tmp/safetensors_fuzz -max_total_time=30 -max_len=4096 /tmp/fuzz_corpus tests/fuzz/corpus
// (the first directory receives new inputs; tests/fuzz/corpus is the committed seed corpus, read only)

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "gantry/io/safetensors.hpp"

namespace {

using gantry::io::DType;
using gantry::io::SafetensorsFile;
using gantry::io::SafetensorsWriter;

// Copies tensor name of file into writer; false if its values are not finite (the writer refuses those).
template <class T>
bool copy_tensor(const SafetensorsFile& file, const std::string& name, SafetensorsWriter& writer) {
  std::vector<T> values;
  try {
    values = file.to_vector<T>(name);
  } catch (const gantry::IoError&) {
    return false;
  }
  writer.add(name, values.data(), file.shape(name));
  return true;
}

template <class T>
void require_same_values(const SafetensorsFile& a, const SafetensorsFile& b, const std::string& name) {
  const std::vector<T> x = a.to_vector<T>(name);
  const std::vector<T> y = b.to_vector<T>(name);
  // Bitwise, so that -0.0 and 0.0 count as different.
  if (x.size() != y.size() || (!x.empty() && std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) != 0))
    std::abort();
}

void round_trip(const SafetensorsFile& file) {
  SafetensorsWriter writer;
  try {
    for (const std::string& name : file.names()) {
      bool copied = false;
      switch (file.dtype(name)) {
        case DType::F32: copied = copy_tensor<float>(file, name, writer); break;
        case DType::F64: copied = copy_tensor<double>(file, name, writer); break;
        case DType::I64: copied = copy_tensor<std::int64_t>(file, name, writer); break;
        case DType::U64: copied = copy_tensor<std::uint64_t>(file, name, writer); break;
        case DType::U8: copied = copy_tensor<std::uint8_t>(file, name, writer); break;
      }
      if (!copied) return;  // a non-finite float: refused by copy_to, as it must be
    }
    for (const auto& [key, value] : file.metadata()) writer.set_metadata(key, value);
  } catch (const gantry::IoError&) {
    return;  // the writer is stricter than the reader: it refuses the empty name, which the format allows
  }

  // What the writer emits, the reader must accept, with the same content.
  std::optional<SafetensorsFile> again;
  try {
    again.emplace(SafetensorsFile::parse(writer.to_bytes(), "round trip"));
  } catch (const gantry::IoError&) {
    std::abort();
  }
  if (again->names() != file.names() || again->metadata() != file.metadata()) std::abort();
  for (const std::string& name : file.names()) {
    if (again->dtype(name) != file.dtype(name) || again->shape(name) != file.shape(name)) std::abort();
    switch (file.dtype(name)) {
      case DType::F32: require_same_values<float>(file, *again, name); break;
      case DType::F64: require_same_values<double>(file, *again, name); break;
      case DType::I64: require_same_values<std::int64_t>(file, *again, name); break;
      case DType::U64: require_same_values<std::uint64_t>(file, *again, name); break;
      case DType::U8: require_same_values<std::uint8_t>(file, *again, name); break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const SafetensorsFile file = SafetensorsFile::parse(std::move(bytes), "fuzz input");
    round_trip(file);
  } catch (const gantry::IoError&) {
    // Every refusal must be an IoError; any other exception escapes and libFuzzer reports it.
  }
  return 0;
}
