// SPDX-License-Identifier: MIT
#include "gantry/io/atomic_file.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catch.hpp"
#include "support/messages.hpp"
#include "support/scratch.hpp"

namespace fs = std::filesystem;
using gantry::IoError;
using gantry::io::ByteSink;
using gantry::io::write_file_atomically;
using namespace gantry::test;  // NOLINT(google-build-using-namespace): test helpers only

TEST_CASE("write_file_atomically creates a file with the given bytes", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  const std::string path = dir.file("new.bin");
  const std::string bytes("binary\0data\xff", 12);
  write_file_atomically(path, bytes);
  CHECK(slurp(path) == bytes);
  CHECK(dir.entries() == std::vector<std::string>{"new.bin"});

  write_file_atomically(dir.file("empty.bin"), std::string());
  CHECK(slurp(dir.file("empty.bin")).empty());
}

TEST_CASE("write_file_atomically gives the new file the umask's permissions", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  const ::mode_t mask = ::umask(022);
  ::umask(mask);
  write_file_atomically(dir.file("mode.bin"), "x");
  struct ::stat status {};
  REQUIRE(::stat(dir.file("mode.bin").c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == (0666 & ~mask));  // not mkstemp's 0600
}

TEST_CASE("write_file_atomically replaces an existing file", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  const std::string path = dir.file("target.bin");
  spill(path, "an old and longer content that must disappear entirely");
  write_file_atomically(path, "new");
  CHECK(slurp(path) == "new");
  CHECK(dir.entries() == std::vector<std::string>{"target.bin"});
}

TEST_CASE("write_file_atomically streams chunks from a producer", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  const std::string path = dir.file("chunks.bin");
  write_file_atomically(path, [](const ByteSink& sink) {
    sink("abc", 3);
    sink("", 0);
    sink("defg", 4);
  });
  CHECK(slurp(path) == "abcdefg");
}

TEST_CASE("a producer that throws half way leaves the old file intact and no temporary file", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  const std::string path = dir.file("checkpoint.bin");
  const std::string old_bytes("old checkpoint \x01\x02\x03", 18);
  spill(path, old_bytes);
  bool wrote_half = false;
  const auto failing_producer = [&](const ByteSink& sink) {
    sink("first half of the new content, ", 31);
    wrote_half = true;
    throw std::runtime_error("data source failed");
  };
  CHECK_THROWS_WITH(write_file_atomically(path, failing_producer), "data source failed");
  CHECK(wrote_half);
  CHECK(slurp(path) == old_bytes);
  CHECK(dir.entries() == std::vector<std::string>{"checkpoint.bin"});
}

TEST_CASE("a failing rename leaves the target intact and no temporary file", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  // rename(2) of a file over a non-empty directory fails (EISDIR) even for root, unlike permission tricks.
  const std::string target = dir.file("occupied");
  fs::create_directories(target);
  spill(dir.file("occupied/keep.txt"), "kept");
  const std::string message = gantry::test::message_of<IoError>([&] { write_file_atomically(target, "content"); });
  CHECK(message.find("gantry::io::write_file_atomically") == 0);
  CHECK(message.find("'" + target + "'") != std::string::npos);
  CHECK(message.find("rename") != std::string::npos);
  CHECK(message.find("Is a directory") != std::string::npos);
  CHECK(slurp(dir.file("occupied/keep.txt")) == "kept");
  CHECK(dir.entries() == std::vector<std::string>{"occupied"});
}

TEST_CASE("a missing directory is an IoError naming the path and the OS error", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  const std::string path = dir.file("no/such/dir/file.bin");
  const std::string message = gantry::test::message_of<IoError>([&] { write_file_atomically(path, "x"); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("No such file or directory") != std::string::npos);
  CHECK(dir.entries().empty());
}

TEST_CASE("a path that names no file is refused", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  const std::string message = gantry::test::message_of<IoError>([&] { write_file_atomically(dir.path().string() + "/", "x"); });
  CHECK(message.find("does not name a file") != std::string::npos);
}

TEST_CASE("a read-only directory is an IoError and the old file stays", "[io][atomic_file]") {
  if (::geteuid() == 0) {
    WARN("running as root: directory permissions do not stop root, skipping this case");
    return;
  }
  ScratchDirectory dir("gantry_atomic_file_test");
  const std::string path = dir.file("locked.bin");
  spill(path, "old");
  fs::permissions(dir.path(), fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  const std::string message = gantry::test::message_of<IoError>([&] { write_file_atomically(path, "new"); });
  CHECK(message.find("Permission denied") != std::string::npos);
  CHECK(slurp(path) == "old");
  CHECK(dir.entries() == std::vector<std::string>{"locked.bin"});
}

namespace {

// A temporary file name for `base` as a save by process `pid` would make it: ".<base>.tmp-<host>-<pid>-<n>",
// with '-' and '/' of the host name replaced by '_'.
std::string temporary_for(const std::string& base, long pid, int n) {
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  std::string name = host;
  std::replace(name.begin(), name.end(), '-', '_');
  std::replace(name.begin(), name.end(), '/', '_');
  return "." + base + ".tmp-" + name + "-" + std::to_string(pid) + "-" + std::to_string(n);
}

}  // namespace

TEST_CASE("the next write removes the temporary files that dead saves to the same path left", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  const std::string path = dir.file("run.safetensors");
  // A save killed between creating its temporary file and renaming it: a child that exits mid-write.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    try {
      write_file_atomically(path, [](const ByteSink& sink) {
        sink("half", 4);
        ::_exit(0);
      });
    } catch (...) {
    }
    ::_exit(1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(dir.entries() == std::vector<std::string>{temporary_for("run.safetensors", child, 0)});

  // Kept: a live process's (the parent of this test is alive), another target's, a name of another form.
  const std::vector<std::string> kept = {temporary_for("run.safetensors", ::getppid(), 3),
                                         temporary_for("other.safetensors", child, 1),
                                         ".run.safetensors.tmp-x", ".run.safetensors.tmp-notes.txt"};
  for (const std::string& name : kept) spill(dir.file(name), "x");
  // Removed too: one of this process that no save of it is writing (a save that threw before its cleanup).
  spill(dir.file(temporary_for("run.safetensors", ::getpid(), 999999)), "x");

  write_file_atomically(path, "complete");
  std::vector<std::string> expected = kept;
  expected.push_back("run.safetensors");
  std::sort(expected.begin(), expected.end());
  CHECK(dir.entries() == expected);
  CHECK(slurp(path) == "complete");
}

TEST_CASE("a symbolic link at the target is refused and left as it is", "[io][atomic_file]") {
  ScratchDirectory dir("gantry_atomic_file_test");
  spill(dir.file("run-00500"), "old");
  fs::create_symlink("run-00500", dir.file("latest"));
  const std::string message = gantry::test::message_of<IoError>([&] { write_file_atomically(dir.file("latest"), "new"); });
  CHECK(message.find("'" + dir.file("latest") + "' is a symbolic link (to 'run-00500')") != std::string::npos);
  CHECK(fs::is_symlink(dir.file("latest")));
  CHECK(slurp(dir.file("run-00500")) == "old");
  CHECK(dir.entries() == std::vector<std::string>{"latest", "run-00500"});
  // A dangling link too: replacing it would silently turn it into a file.
  fs::create_symlink("nowhere", dir.file("dangling"));
  CHECK(gantry::test::message_of<IoError>([&] { write_file_atomically(dir.file("dangling"), "new"); }).find("is a symbolic link") !=
        std::string::npos);
  CHECK(fs::is_symlink(dir.file("dangling")));
}
