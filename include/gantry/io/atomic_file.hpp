// SPDX-License-Identifier: MIT
#pragma once
/// Replacing a file atomically (temp file, fsync, rename, fsync of the directory), so a crash never leaves half a checkpoint.

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gantry/core/error.hpp"
#include "gantry/core/quote.hpp"

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

/// A path in a message: control characters escaped (a file name may hold any byte but '/' and NUL).
inline std::string quoted_path(const std::string& path) { return gantry::detail::quoted(path, 4096); }

/// "a FIFO", "a directory", ... for the st_mode of stat(2).
inline const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return S_ISREG(mode) ? "a regular file" : "not a regular file";
}

/// The temporary files of this process that are being written (stale_temporary must not take them).
struct LiveTemporaries {
  std::mutex mutex;
  std::set<std::string> paths;
  static LiveTemporaries& instance() {
    static LiveTemporaries live;
    return live;
  }
};

/// The prefix of every temporary file that replaces `base`: ".<base>.tmp-<host>-"; then "<pid>-<n>" follow.
inline std::string temporary_prefix(const std::string& base) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') host[0] = '?', host[1] = '\0';
  for (char* c = host; *c != '\0'; ++c)
    if (*c == '/' || *c == '-') *c = '_';
  return gantry::detail::message(".", base, ".tmp-", host, "-");
}

/// Whether directory entry `name` is a temporary file for the same target left by a save that died between
/// creating and renaming it: same prefix (so the same host), and its process no longer exists (or is this one,
/// and the file is not one this process is writing now).
inline bool stale_temporary(const std::string& name, const std::string& prefix, const std::string& full_path) {
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  // "<pid>-<n>", both decimal.
  const std::string rest = name.substr(prefix.size());
  const std::size_t dash = rest.find('-');
  const auto decimal = [](std::string_view digits, std::size_t max_digits) {
    return !digits.empty() && digits.size() <= max_digits &&
           digits.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (dash == std::string::npos || !decimal(std::string_view(rest).substr(0, dash), 9) ||
      !decimal(std::string_view(rest).substr(dash + 1), 20))
    return false;
  const long pid = std::stol(rest.substr(0, dash));
  if (pid == static_cast<long>(::getpid())) {
    LiveTemporaries& live = LiveTemporaries::instance();
    const std::lock_guard<std::mutex> lock(live.mutex);
    return live.paths.count(full_path) == 0;
  }
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

/// Removes the temporary files that saves to `directory + base` killed before their rename left behind. Best
/// effort: a directory that cannot be listed, or an entry that cannot be removed, is left as it is.
inline void remove_stale_temporaries(const std::string& directory, const std::string& base) {
  const std::string prefix = temporary_prefix(base);
  DIR* listing = ::opendir(directory.empty() ? "." : directory.c_str());
  if (listing == nullptr) return;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string name = entry->d_name;
    if (stale_temporary(name, prefix, directory + name)) ::unlink((directory + name).c_str());
  }
  ::closedir(listing);
}

/// A symbolic link at the target is refused: rename(2) would replace the link itself by a file, and writing
/// through it would overwrite the older file it points to (`latest -> run-00500`); which one the user wants
/// cannot be guessed. Save to the link's target, or save to a new file and repoint the link.
inline void refuse_symbolic_link(const std::string& target, const char* where) {
  struct stat status {};
  if (::lstat(target.c_str(), &status) != 0 || !S_ISLNK(status.st_mode)) return;
  std::string destination(4096, '\0');
  const ::ssize_t length = ::readlink(target.c_str(), destination.data(), destination.size());
  destination.resize(length > 0 ? static_cast<std::size_t>(length) : 0);
  throw IoError(gantry::detail::message(
      where, ": ", quoted_path(target), " is a symbolic link (to ", quoted_path(destination),
      "), which a save neither replaces nor writes through: save to the link's target, or save to a new file and "
      "repoint the link"));
}

/// An open temporary file that removes itself unless released; the one owner of cleanup on every path.
class TemporaryFile {
 public:
  TemporaryFile(const std::string& target, const char* where) : where_(where), target_(target) {
    const std::size_t slash = target.find_last_of('/');
    const std::string directory = slash == std::string::npos ? std::string() : target.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
    if (base.empty() || base == "." || base == "..")
      throw IoError(gantry::detail::message(where_, ": ", quoted_path(target), " does not name a file"));
    refuse_symbolic_link(target, where_);
    remove_stale_temporaries(directory, base);
    static std::atomic<unsigned long> counter{0};
    const std::string prefix = directory + temporary_prefix(base);
    // O_EXCL on a name of our own rather than mkstemp: mkstemp's mode 0600 would outlive the rename,
    // whereas open(..., 0666) lets the umask decide, as for any file the user creates. The name carries the
    // host and the process, so that a later save to the same target can tell a dead save's file (see above).
    for (int attempt = 0;; ++attempt) {
      path_ = gantry::detail::message(prefix, static_cast<long>(::getpid()), "-", counter.fetch_add(1));
      {
        LiveTemporaries& live = LiveTemporaries::instance();
        const std::lock_guard<std::mutex> lock(live.mutex);
        live.paths.insert(path_);
      }
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      const int error = errno;
      forget();
      if (error != EEXIST || attempt >= 100)
        throw IoError(gantry::detail::message(where_, ": cannot create a temporary file ", quoted_path(path_),
                                              " to replace ", quoted_path(target_), ": ", os_error(error)));
    }
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) {
      ::unlink(path_.c_str());
      forget();
    }
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
    forget();
    path_.clear();
  }

 private:
  void forget() const {
    LiveTemporaries& live = LiveTemporaries::instance();
    const std::lock_guard<std::mutex> lock(live.mutex);
    live.paths.erase(path_);
  }

  [[noreturn]] void fail(const char* what, int error) const {
    throw IoError(gantry::detail::message(where_, ": writing ", quoted_path(target_), ": ", what, " ",
                                          quoted_path(path_), ": ", os_error(error)));
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
///
/// Temporary files are named ".<file>.tmp-<host>-<pid>-<n>". A process killed between writing and renaming
/// (SIGKILL, power loss) leaves its one behind; the next write to the same path removes every such file of
/// a process of this host that no longer runs. (By hand: `rm .<file>.tmp-*` once no save is running.)
/// A symbolic link at path is refused with an IoError (see refuse_symbolic_link): write to its target.
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
