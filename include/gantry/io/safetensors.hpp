// SPDX-License-Identifier: MIT
#pragma once
/// Reading and writing tensors in the safetensors format (Hugging Face), validated in full before any value is used.
///
/// Layout: 8 bytes little-endian u64 N; N bytes of UTF-8 JSON (an object mapping each tensor name to
/// {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional "__metadata__" object of strings),
/// padded with spaces; then the data section, whose tensors are row-major and little-endian, with
/// offsets relative to the start of the data section.
///
/// What this reader accepts, stricter than some readers and no looser than the format's reference:
/// - the header is at most 100 MB (the reference implementation's limit) and begins with '{';
/// - each entry has exactly the fields dtype, shape and data_offsets; dtypes are those of DType;
/// - shape entries are non-negative integers whose product (times the dtype size) does not overflow;
/// - end - begin equals product(shape) * dtype size, and end lies inside the data section;
/// - the tensors tile the data section exactly: no overlap, and no gap or trailing byte either, since
///   the format requires the byte buffer to be entirely indexed (a hole could hide a second file);
/// - names are unique (duplicate JSON keys are refused) and metadata values are strings.
/// Values are checked when read: copy_to refuses a NaN or an infinity in a float tensor.

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gantry/core/error.hpp"
#include "gantry/core/quote.hpp"
#include "gantry/io/atomic_file.hpp"
#include "gantry/io/json.hpp"

namespace gantry::io {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4, "safetensors F32 needs IEEE-754 binary32");
static_assert(std::numeric_limits<double>::is_iec559 && sizeof(double) == 8, "safetensors F64 needs IEEE-754 binary64");

/// The element types gantry reads and writes (a subset of the format's).
enum class DType { F32, F64, I64, U64, U8 };

/// The format's name of a dtype ("F32", ...).
inline const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::U64: return "U64";
    case DType::U8: return "U8";
  }
  return "?";
}

/// Bytes per element.
inline std::size_t dtype_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I64: return 8;
    case DType::U64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

inline std::optional<DType> dtype_from_name(std::string_view name) noexcept {
  for (DType dtype : {DType::F32, DType::F64, DType::I64, DType::U64, DType::U8})
    if (name == dtype_name(dtype)) return dtype;
  return std::nullopt;
}

namespace detail {

template <class T>
struct DTypeOf {
  static_assert(sizeof(T) == 0, "gantry::io: safetensors element type must be float, double, std::int64_t, "
                                "std::uint64_t or std::uint8_t");
};
template <>
struct DTypeOf<float> : std::integral_constant<DType, DType::F32> {};
template <>
struct DTypeOf<double> : std::integral_constant<DType, DType::F64> {};
template <>
struct DTypeOf<std::int64_t> : std::integral_constant<DType, DType::I64> {};
template <>
struct DTypeOf<std::uint64_t> : std::integral_constant<DType, DType::U64> {};
template <>
struct DTypeOf<std::uint8_t> : std::integral_constant<DType, DType::U8> {};

template <std::size_t Size>
struct UnsignedOfSize;
template <>
struct UnsignedOfSize<1> {
  using type = std::uint8_t;
};
template <>
struct UnsignedOfSize<4> {
  using type = std::uint32_t;
};
template <>
struct UnsignedOfSize<8> {
  using type = std::uint64_t;
};

// Byte by byte, so the files are little-endian whatever the host's byte order.
template <class T>
void append_little_endian(std::string& out, T value) {
  using Bits = typename UnsignedOfSize<sizeof(T)>::type;
  Bits bits;
  std::memcpy(&bits, &value, sizeof(T));
  for (std::size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((bits >> (8 * i)) & 0xFFu);
}

template <class T>
T load_little_endian(const char* bytes) {
  using Bits = typename UnsignedOfSize<sizeof(T)>::type;
  Bits bits = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    bits = static_cast<Bits>(bits | (static_cast<Bits>(static_cast<unsigned char>(bytes[i])) << (8 * i)));
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

/// "[4, 16]"; a shape read from a file may have any number of dimensions, so a message shows the first 8.
inline std::string shape_text(const std::vector<std::int64_t>& shape) {
  constexpr std::size_t shown = 8;
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size() && i < shown; ++i) text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() > shown) text += ", ... (" + std::to_string(shape.size()) + " dimensions)";
  return text + "]";
}

/// product(shape), or nothing if some dimension is negative or the byte count would overflow size_t.
inline std::optional<std::size_t> element_count(const std::vector<std::int64_t>& shape, DType dtype) {
  for (const std::int64_t dim : shape)
    if (dim < 0) return std::nullopt;
  for (const std::int64_t dim : shape)
    if (dim == 0) return 0;  // an empty tensor, however large its other dimensions
  const std::size_t max_count = std::numeric_limits<std::size_t>::max() / dtype_size(dtype);
  std::size_t count = 1;
  for (const std::int64_t dim : shape) {
    const auto d = static_cast<std::uint64_t>(dim);
    if (d > max_count || count > max_count / static_cast<std::size_t>(d)) return std::nullopt;
    count *= static_cast<std::size_t>(d);
  }
  return count;
}

}  // namespace detail

/// Upper bound on the JSON header, against hostile files (the limit of the reference implementation).
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

/// A tensor to write: `bytes` bytes at `data` holding row-major elements of `dtype` in host byte order.
struct TensorView {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  const std::uint8_t* data = nullptr;
  std::size_t bytes = 0;
};

/// Collects tensors and metadata, then emits a safetensors file. Each add copies the values (converted
/// to little-endian), so the caller's buffers need not outlive the writer; checkpoints of small MLPs
/// make the copy cheap. Tensors are written in the order added, contiguous, after a header padded
/// with spaces to a multiple of 8 bytes so that the data section is 8-byte aligned.
class SafetensorsWriter {
 public:
  /// Adds a tensor of product(shape) elements read from data (row-major; shape {} is a scalar).
  /// Throws IoError for a repeated or reserved name, a negative or overflowing shape, a null data
  /// pointer for a non-empty tensor, or a non-finite float (such a file could not be read back).
  void add(std::string name, const float* data, std::vector<std::int64_t> shape) {
    add_elements(std::move(name), data, std::move(shape));
  }
  void add(std::string name, const double* data, std::vector<std::int64_t> shape) {
    add_elements(std::move(name), data, std::move(shape));
  }
  void add(std::string name, const std::int64_t* data, std::vector<std::int64_t> shape) {
    add_elements(std::move(name), data, std::move(shape));
  }
  void add(std::string name, const std::uint64_t* data, std::vector<std::int64_t> shape) {
    add_elements(std::move(name), data, std::move(shape));
  }
  void add(std::string name, const std::uint8_t* data, std::vector<std::int64_t> shape) {
    add_elements(std::move(name), data, std::move(shape));
  }
  /// Adds a tensor given as raw host-order bytes; tensor.bytes must equal product(shape) * dtype size.
  void add(std::string name, const TensorView& tensor) {
    const std::size_t count = checked_count(name, tensor.shape, tensor.dtype);
    if (tensor.bytes != count * dtype_size(tensor.dtype))
      fail(name, "holds ", tensor.bytes, " bytes, but dtype ", dtype_name(tensor.dtype), " and shape ",
           detail::shape_text(tensor.shape), " need ", count * dtype_size(tensor.dtype));
    switch (tensor.dtype) {
      case DType::F32: return add_raw<float>(std::move(name), tensor, count);
      case DType::F64: return add_raw<double>(std::move(name), tensor, count);
      case DType::I64: return add_raw<std::int64_t>(std::move(name), tensor, count);
      case DType::U64: return add_raw<std::uint64_t>(std::move(name), tensor, count);
      case DType::U8: return add_raw<std::uint8_t>(std::move(name), tensor, count);
    }
  }

  /// Sets a "__metadata__" entry (replacing a previous value of key). Both must be valid UTF-8.
  void set_metadata(std::string key, std::string value) {
    for (const std::string* text : {&key, &value})
      if (const std::optional<std::size_t> bad = detail::find_invalid_utf8(*text))
        throw IoError(gantry::detail::message("gantry::io::SafetensorsWriter::set_metadata: metadata ",
                                              text == &key ? "key" : "value", " has invalid UTF-8 at byte ", *bad));
    metadata_[std::move(key)] = std::move(value);
  }

  std::size_t size() const noexcept { return tensors_.size(); }

  /// The whole file.
  std::string to_bytes() const {
    std::string bytes = header_bytes();
    for (const Tensor& tensor : tensors_) bytes += tensor.bytes;
    return bytes;
  }

  /// Writes the file with write_file_atomically: path keeps its old content if anything fails.
  void write_atomically(const std::string& path) const {
    const std::string header = header_bytes();
    write_file_atomically(path, [&](const ByteSink& sink) {
      sink(header.data(), header.size());
      for (const Tensor& tensor : tensors_) sink(tensor.bytes.data(), tensor.bytes.size());
    });
  }

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::string bytes;  // little-endian
  };

  template <class... Parts>
  [[noreturn]] static void fail(const std::string& name, Parts&&... parts) {
    throw IoError(gantry::detail::message("gantry::io::SafetensorsWriter::add: tensor '", name, "' ",
                                          std::forward<Parts>(parts)...));
  }

  std::size_t checked_count(const std::string& name, const std::vector<std::int64_t>& shape, DType dtype) const {
    if (name.empty()) fail(name, "has an empty name");
    if (name == "__metadata__") fail(name, "has the name reserved for the metadata");
    if (const std::optional<std::size_t> bad = detail::find_invalid_utf8(name))
      fail(name, "has a name with invalid UTF-8 at byte ", *bad);
    if (names_.count(name) != 0) fail(name, "was already added");
    const std::optional<std::size_t> count = detail::element_count(shape, dtype);
    if (!count) fail(name, "has shape ", detail::shape_text(shape), ", which is negative or overflows");
    return *count;
  }

  template <class T>
  static void check_finite(const std::string& name, T value, std::size_t index) {
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(value)) fail(name, "has a non-finite value ", value, " at flat index ", index);
    }
  }

  template <class T>
  void add_elements(std::string name, const T* data, std::vector<std::int64_t> shape) {
    const std::size_t count = checked_count(name, shape, detail::DTypeOf<T>::value);
    if (data == nullptr && count > 0) fail(name, "has a null data pointer for ", count, " elements");
    std::string bytes;
    bytes.reserve(count * sizeof(T));
    for (std::size_t i = 0; i < count; ++i) {
      check_finite(name, data[i], i);
      detail::append_little_endian(bytes, data[i]);
    }
    push(std::move(name), detail::DTypeOf<T>::value, std::move(shape), std::move(bytes));
  }

  template <class T>
  void add_raw(std::string name, const TensorView& tensor, std::size_t count) {
    if (tensor.data == nullptr && count > 0) fail(name, "has a null data pointer for ", count, " elements");
    std::string bytes;
    bytes.reserve(count * sizeof(T));
    for (std::size_t i = 0; i < count; ++i) {
      T value;  // memcpy: the view's bytes need not be aligned for T
      std::memcpy(&value, tensor.data + i * sizeof(T), sizeof(T));
      check_finite(name, value, i);
      detail::append_little_endian(bytes, value);
    }
    push(std::move(name), tensor.dtype, tensor.shape, std::move(bytes));
  }

  void push(std::string name, DType dtype, std::vector<std::int64_t> shape, std::string bytes) {
    names_.insert(name);
    tensors_.push_back(Tensor{std::move(name), dtype, std::move(shape), std::move(bytes)});
  }

  // The 8-byte length followed by the padded JSON header.
  std::string header_bytes() const {
    JsonValue header = JsonValue::object();
    if (!metadata_.empty()) {
      JsonValue metadata = JsonValue::object();
      for (const auto& [key, value] : metadata_) metadata.set(key, JsonValue(value));
      header.set("__metadata__", std::move(metadata));
    }
    std::uint64_t offset = 0;
    for (const Tensor& tensor : tensors_) {
      JsonValue entry = JsonValue::object();
      entry.set("dtype", JsonValue(dtype_name(tensor.dtype)));
      JsonValue shape = JsonValue::array();
      for (const std::int64_t dim : tensor.shape) shape.push_back(JsonValue(dim));
      entry.set("shape", std::move(shape));
      const std::uint64_t end = offset + tensor.bytes.size();
      entry.set("data_offsets", JsonValue::array({JsonValue(offset), JsonValue(end)}));
      header.set(tensor.name, std::move(entry));
      offset = end;
    }
    std::string json = to_json(header);
    json.append((8 - json.size() % 8) % 8, ' ');
    std::string bytes;
    bytes.reserve(8 + json.size());
    detail::append_little_endian(bytes, static_cast<std::uint64_t>(json.size()));
    return bytes + json;
  }

  std::vector<Tensor> tensors_;
  std::set<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

/// A safetensors file held in memory, parsed and validated in full at construction (see the rules at
/// the top of this header). Every error is an IoError naming the source, the tensor and the problem.
class SafetensorsFile {
 public:
  /// Parses the bytes of a whole file; source_name names it in messages (usually its path).
  static SafetensorsFile parse(std::string bytes, std::string source_name) {
    SafetensorsFile file;
    file.bytes_ = std::move(bytes);
    file.source_ = std::move(source_name);
    file.validate();
    return file;
  }

  /// Reads and parses the file at path, which must be a regular file (a symbolic link to one is followed):
  /// a FIFO, a device such as /dev/zero or a directory is refused before anything is read, and no more than
  /// the size the file had when opened is read.
  static SafetensorsFile read(const std::string& path) {
    constexpr const char* where = "gantry::io::SafetensorsFile::read";
    const auto os_failure = [&](const char* what, int error) {
      return IoError(gantry::detail::message(where, ": cannot ", what, " ", detail::quoted_path(path), ": ",
                                             detail::os_error(error)));
    };
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer; it is refused right after, by fstat.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw os_failure("open", errno);
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } const closer{fd};
    struct stat status {};
    if (::fstat(fd, &status) != 0) throw os_failure("stat", errno);
    if (!S_ISREG(status.st_mode))
      throw IoError(gantry::detail::message(where, ": ", detail::quoted_path(path), " is ",
                                            detail::file_kind(status.st_mode), ", not a regular file"));
    const auto size = static_cast<std::size_t>(status.st_size);
    std::string bytes(size, '\0');
    std::size_t done = 0;
    while (done < size) {  // a file that shrinks meanwhile ends early, and the format check then refuses it
      const ::ssize_t got = ::read(fd, bytes.data() + done, size - done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw os_failure("read", errno);
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    bytes.resize(done);
    return parse(std::move(bytes), path);
  }

  const std::string& source() const noexcept { return source_; }
  bool contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }
  /// Tensor names in header order.
  const std::vector<std::string>& names() const noexcept { return names_; }
  DType dtype(std::string_view name) const { return entry(name, "dtype").dtype; }
  const std::vector<std::int64_t>& shape(std::string_view name) const { return entry(name, "shape").shape; }
  std::size_t element_count(std::string_view name) const { return entry(name, "element_count").count; }
  /// The "__metadata__" entries (empty if the file has none).
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

  /// Copies tensor name into out[0, count). T must match its dtype exactly (no silent conversion),
  /// count must equal its element count, and a float tensor must be finite; out is left untouched
  /// if any check fails.
  template <class T>
  void copy_to(std::string_view name, T* out, std::size_t count) const {
    constexpr DType wanted = detail::DTypeOf<T>::value;
    const Entry& tensor = entry(name, "copy_to");
    if (tensor.dtype != wanted)
      fail("copy_to", "tensor ", gantry::detail::quoted(name), " has dtype ", dtype_name(tensor.dtype),
           ", cannot be read as ", dtype_name(wanted));
    if (count != tensor.count)
      fail("copy_to", "tensor ", gantry::detail::quoted(name), " has ", tensor.count, " elements (shape ",
           detail::shape_text(tensor.shape), "), the destination has ", count);
    if (out == nullptr && count > 0)
      fail("copy_to", "tensor ", gantry::detail::quoted(name), ": the destination is a null pointer");
    const char* data = bytes_.data() + tensor.begin;
    if constexpr (std::is_floating_point_v<T>) {
      // A checkpoint with a NaN weight would poison training silently: refuse it, naming where.
      for (std::size_t i = 0; i < count; ++i) {
        const T value = detail::load_little_endian<T>(data + i * sizeof(T));
        if (!std::isfinite(value))
          fail("copy_to", "tensor ", gantry::detail::quoted(name), " has a non-finite value ", value, " at flat index ",
               i, " (row-major)");
      }
    }
    for (std::size_t i = 0; i < count; ++i) out[i] = detail::load_little_endian<T>(data + i * sizeof(T));
  }

  /// The values of tensor name (see copy_to).
  template <class T>
  std::vector<T> to_vector(std::string_view name) const {
    std::vector<T> values(element_count(name));
    copy_to(name, values.data(), values.size());
    return values;
  }

 private:
  struct Entry {
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::size_t count = 0;
    std::size_t begin = 0;  // absolute offsets into bytes_
    std::size_t end = 0;
  };

  SafetensorsFile() = default;

  template <class... Parts>
  [[noreturn]] void fail(const char* function, Parts&&... parts) const {
    throw IoError(gantry::detail::message("gantry::io::SafetensorsFile::", function, ": ",
                                          gantry::detail::escaped(source_, 4096), ": ", std::forward<Parts>(parts)...));
  }

  const Entry& entry(std::string_view name, const char* function) const {
    const auto found = entries_.find(name);
    if (found == entries_.end()) fail(function, "has no tensor named ", gantry::detail::quoted(name));
    return found->second;
  }

  void validate() {
    constexpr const char* where = "parse";
    if (bytes_.size() < 8)
      fail(where, "file is ", bytes_.size(), " bytes, shorter than the 8-byte header length");
    const auto header_length = detail::load_little_endian<std::uint64_t>(bytes_.data());
    if (header_length > safetensors_max_header_bytes)
      fail(where, "header length ", header_length, " is absurdly large (the limit is ", safetensors_max_header_bytes,
           " bytes)");
    if (header_length > bytes_.size() - 8)
      fail(where, "header length ", header_length, " reaches beyond the end of the file (", bytes_.size() - 8,
           " bytes follow the length)");
    const std::string_view header_text(bytes_.data() + 8, static_cast<std::size_t>(header_length));
    if (header_text.empty() || header_text.front() != '{')
      fail(where, "header is not a JSON object (it must begin with '{')");

    JsonParseOptions options;
    options.source = source_ + " (header)";
    options.byte_offset_base = 8;
    options.max_depth = 8;  // the format nests three deep: header, entry, shape
    const JsonValue header = parse_json(header_text, options);
    if (!header.is_object()) fail(where, "header is not a JSON object");

    const std::size_t data_begin = 8 + static_cast<std::size_t>(header_length);
    const std::size_t data_size = bytes_.size() - data_begin;
    for (const JsonMember& member : header.members()) {
      if (member.key == "__metadata__") {
        read_metadata(member.value);
      } else {
        entries_.emplace(member.key, read_entry(member.key, member.value, data_size, data_begin));
        names_.push_back(member.key);
      }
    }
    check_coverage(data_begin, data_size);
  }

  void read_metadata(const JsonValue& value) {
    if (!value.is_object())
      fail("parse", "__metadata__ is ", JsonValue::kind_name(value.kind()), ", expected an object of strings");
    for (const JsonMember& member : value.members()) {
      if (!member.value.is_string())
        fail("parse", "__metadata__ value of key ", gantry::detail::quoted(member.key), " is ",
             JsonValue::kind_name(member.value.kind()), ", expected a string");
      metadata_.emplace(member.key, member.value.as_string());
    }
  }

  Entry read_entry(const std::string& name, const JsonValue& value, std::size_t data_size,
                   std::size_t data_begin) const {
    constexpr const char* where = "parse";
    if (!value.is_object())
      fail(where, "tensor ", gantry::detail::quoted(name), ": entry is ", JsonValue::kind_name(value.kind()),
           ", expected an object");
    for (const JsonMember& field : value.members())
      if (field.key != "dtype" && field.key != "shape" && field.key != "data_offsets")
        fail(where, "tensor ", gantry::detail::quoted(name), ": unknown field ", gantry::detail::quoted(field.key),
             " (expected dtype, shape, data_offsets)");
    const auto field = [&](const char* key, JsonValue::Kind kind, const char* expected) -> const JsonValue& {
      const JsonValue* found = value.find(key);
      if (found == nullptr) fail(where, "tensor ", gantry::detail::quoted(name), ": missing field '", key, "'");
      if (found->kind() != kind)
        fail(where, "tensor ", gantry::detail::quoted(name), ": field '", key, "' is ",
             JsonValue::kind_name(found->kind()), ", expected ", expected);
      return *found;
    };

    Entry tensor;
    const std::string& dtype_text = field("dtype", JsonValue::Kind::String, "a string").as_string();
    const std::optional<DType> dtype = dtype_from_name(dtype_text);
    if (!dtype)
      fail(where, "tensor ", gantry::detail::quoted(name), ": unknown or unsupported dtype ",
           gantry::detail::quoted(dtype_text), " (gantry reads F32, F64, I64, U64, U8)");
    tensor.dtype = *dtype;

    const std::vector<JsonValue>& dims = field("shape", JsonValue::Kind::Array, "an array").as_array();
    for (std::size_t i = 0; i < dims.size(); ++i) {
      const std::optional<std::int64_t> dim = dims[i].as_int64();
      if (!dim || *dim < 0) {
        const bool negative = dims[i].is_number() && dims[i].as_double() < 0;
        fail(where, "tensor ", gantry::detail::quoted(name), ": shape[", i,
             "] = ", dims[i].is_number() ? to_json(dims[i]) : "non-number",
             negative ? " is negative" : " is not an integer in [0, 2^63)");
      }
      tensor.shape.push_back(*dim);
    }
    const std::optional<std::size_t> count = detail::element_count(tensor.shape, tensor.dtype);
    if (!count)
      fail(where, "tensor ", gantry::detail::quoted(name), ": shape ", detail::shape_text(tensor.shape), " of ",
           dtype_name(tensor.dtype), " overflows (its byte size does not fit in 64 bits)");
    tensor.count = *count;

    const std::vector<JsonValue>& offsets =
        field("data_offsets", JsonValue::Kind::Array, "an array [begin, end]").as_array();
    if (offsets.size() != 2)
      fail(where, "tensor ", gantry::detail::quoted(name), ": data_offsets has ", offsets.size(),
           " entries, expected 2 [begin, end]");
    std::uint64_t bounds[2] = {0, 0};
    for (std::size_t i = 0; i < 2; ++i) {
      const std::optional<std::uint64_t> bound = offsets[i].as_uint64();
      if (!bound)
        fail(where, "tensor ", gantry::detail::quoted(name), ": data_offsets[", i, "] = ",
             offsets[i].is_number() ? to_json(offsets[i]) : "non-number", " is not a non-negative integer");
      bounds[i] = *bound;
    }
    const auto [begin, end] = bounds;
    if (begin > end)
      fail(where, "tensor ", gantry::detail::quoted(name), ": data_offsets [", begin, ", ", end, "] has begin > end");
    if (end > data_size)
      fail(where, "tensor ", gantry::detail::quoted(name), ": data_offsets [", begin, ", ", end,
           "] reach beyond the data section of ", data_size, " bytes");
    const std::size_t needed = tensor.count * dtype_size(tensor.dtype);
    if (end - begin != needed)
      fail(where, "tensor ", gantry::detail::quoted(name), ": data_offsets [", begin, ", ", end, "] span ", end - begin,
           " bytes, but dtype ", dtype_name(tensor.dtype), " and shape ", detail::shape_text(tensor.shape), " need ",
           needed, " (byte length mismatch)");
    tensor.begin = data_begin + static_cast<std::size_t>(begin);
    tensor.end = data_begin + static_cast<std::size_t>(end);
    return tensor;
  }

  // Sorted by range, the tensors must follow each other with no overlap and no hole, and end with the file.
  void check_coverage(std::size_t data_begin, std::size_t data_size) const {
    std::vector<const std::pair<const std::string, Entry>*> sorted;
    sorted.reserve(entries_.size());
    for (const auto& item : entries_) sorted.push_back(&item);
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
      return a->second.begin != b->second.begin ? a->second.begin < b->second.begin : a->second.end < b->second.end;
    });
    std::size_t cursor = data_begin;
    const std::pair<const std::string, Entry>* previous = nullptr;
    for (const auto* item : sorted) {
      const Entry& tensor = item->second;
      if (tensor.begin < cursor)
        fail("parse", "tensors ", gantry::detail::quoted(previous->first), " (data_offsets [",
             previous->second.begin - data_begin, ", ", previous->second.end - data_begin, "]) and ",
             gantry::detail::quoted(item->first), " (data_offsets [", tensor.begin - data_begin, ", ",
             tensor.end - data_begin, "]) overlap");
      if (tensor.begin > cursor)
        fail("parse", "bytes [", cursor - data_begin, ", ", tensor.begin - data_begin,
             ") of the data section belong to no tensor (gaps are not allowed)");
      cursor = tensor.end;
      previous = item;
    }
    if (cursor != data_begin + data_size)
      fail("parse", "bytes [", cursor - data_begin, ", ", data_size,
           ") at the end of the data section belong to no tensor (gaps are not allowed)");
  }

  std::string bytes_;
  std::string source_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace gantry::io
