// SPDX-License-Identifier: MIT
#pragma once
/// Replacing a file atomically (temp file, fsync, rename, fsync of the directory), so a crash never leaves half a checkpoint.

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "gantry/core/error.hpp"

namespace gantry::io {

/// Receives the bytes of the new file, in order; may be called any number of times.
using ByteSink = std::function<void(const char* data, std::size_t size)>;

namespace detail {

inline std::string os_error(int error_number) { return std::error_code(error_number, std::generic_category()).message(); }

/// The directory holding path ("." for a bare name), where the temporary file must live: rename(2) is
/// atomic only within one file system.
inline std::string parent_directory(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

/// An open temporary file that removes itself unless released; the one owner of cleanup on every path.
class TemporaryFile {
 public:
  TemporaryFile(const std::string& target, const char* where) : where_(where), target_(target) {
    const std::size_t slash = target.find_last_of('/');
    const std::string directory = slash == std::string::npos ? std::string() : target.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
    if (base.empty() || base == "." || base == "..")
      throw IoError(gantry::detail::message(where_, ": '", target, "' does not name a file"));
    static std::atomic<unsigned long> counter{0};
    // O_EXCL on a name of our own rather than mkstemp: mkstemp's mode 0600 would outlive the rename,
    // whereas open(..., 0666) lets the umask decide, as for any file the user creates.
    for (int attempt = 0;; ++attempt) {
      path_ = gantry::detail::message(directory, ".", base, ".tmp-", static_cast<long>(::getpid()), "-",
                                      counter.fetch_add(1));
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      const int error = errno;
      if (error != EEXIST || attempt >= 100)
        throw IoError(gantry::detail::message(where_, ": cannot create a temporary file '", path_, "' to replace '",
                                              target_, "': ", os_error(error)));
    }
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  void write(const char* data, std::size_t size) {
    while (size > 0) {
      const ::ssize_t written = ::write(fd_, data, size);
      if (written < 0) {
        if (errno == EINTR) continue;
        fail("cannot write the temporary file", errno);
      }
      data += written;
      size -= static_cast<std::size_t>(written);
    }
  }

  /// Makes the content durable, then moves it over the target; afterwards there is nothing to remove.
  void commit() {
    if (::fsync(fd_) != 0) fail("cannot fsync the temporary file", errno);
    const int fd = fd_;
    fd_ = -1;
    // close() can report a deferred write error (NFS), so it is checked, not left to the destructor.
    if (::close(fd) != 0) fail("cannot close the temporary file", errno);
    if (::rename(path_.c_str(), target_.c_str()) != 0) fail("cannot rename over it the temporary file", errno);
    path_.clear();
  }

 private:
  [[noreturn]] void fail(const char* what, int error) const {
    throw IoError(gantry::detail::message(where_, ": writing '", target_, "': ", what, " '", path_, "': ",
                                          os_error(error)));
  }

  const char* where_;
  std::string target_;
  std::string path_;
  int fd_ = -1;
};

/// After rename the directory entry itself must reach the disk, or a crash may bring back the old file.
inline void sync_directory(const std::string& directory, const std::string& target, const char* where) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    throw IoError(gantry::detail::message(where, ": '", target, "' was replaced, but its directory '", directory,
                                          "' cannot be opened to fsync it: ", os_error(error)));
  }
  const int status = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot fsync a directory (EINVAL); there is nothing more to be done there.
  if (status != 0 && error != EINVAL)
    throw IoError(gantry::detail::message(where, ": '", target, "' was replaced, but fsync of its directory '",
                                          directory, "' failed: ", os_error(error)));
}

}  // namespace detail

/// Replaces (or creates) the file at path with what produce writes into its sink. The bytes go to a
/// temporary file in the same directory, which is fsynced and renamed over path, then the directory
/// is fsynced. If anything fails before the rename, the temporary file is removed and path keeps its
/// previous content byte for byte; an OS failure throws IoError naming path and the OS error, and an
/// exception thrown by produce itself propagates unchanged. POSIX only.
inline void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce) {
  constexpr const char* where = "gantry::io::write_file_atomically";
  detail::TemporaryFile temporary(path, where);
  produce([&temporary](const char* data, std::size_t size) { temporary.write(data, size); });
  temporary.commit();
  detail::sync_directory(detail::parent_directory(path), path, where);
}

/// Replaces (or creates) the file at path with bytes, atomically (see the overload above).
inline void write_file_atomically(const std::string& path, std::string_view bytes) {
  write_file_atomically(path, [bytes](const ByteSink& sink) { sink(bytes.data(), bytes.size()); });
}

}  // namespace gantry::io
