# Configures, builds and runs tests/package/consumer against gantry in one MODE; see CMakeLists.txt for the
# variables it receives. Any step that fails stops the script with that step's full output.
cmake_minimum_required(VERSION 3.21)

foreach(required MODE CONSUMER_SOURCE_DIR WORK_DIR GANTRY_SOURCE_DIR GANTRY_BINARY_DIR GENERATOR CXX_COMPILER
        CTEST_COMMAND)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${required}=... is required")
  endif()
endforeach()

# run_step(<description> <command>...): runs the command, prints its output, stops on a non-zero result.
function(run_step description)
  message(STATUS "[${MODE}] ${description}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    list(JOIN ARGN " " command_line)
    message(FATAL_ERROR "[${MODE}] ${description} failed (${result}):\n  ${command_line}\n${output}")
  endif()
  message("${output}")
endfunction()

string(REPLACE "|" ";" prefix_path "${PREFIX_PATH}")
set(consumer_build "${WORK_DIR}/consumer-build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(config_args)
if(NOT "${CONFIG}" STREQUAL "")
  set(config_args --config "${CONFIG}")
endif()

set(consumer_args
  -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_BUILD_TYPE=${CONFIG}"
  "-DGANTRY_CONSUMER_MODE=${MODE}"
  "-DGANTRY_CONSUMER_WARNINGS_AS_ERRORS=${WARNINGS_AS_ERRORS}")
if(NOT "${GENERATOR_PLATFORM}" STREQUAL "")
  list(APPEND consumer_args -A "${GENERATOR_PLATFORM}")
endif()
if(NOT "${GENERATOR_TOOLSET}" STREQUAL "")
  list(APPEND consumer_args -T "${GENERATOR_TOOLSET}")
endif()
if(NOT "${MAKE_PROGRAM}" STREQUAL "")
  list(APPEND consumer_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

if(MODE STREQUAL "find_package")
  # Install this very build tree, then let the consumer find it there and nowhere else.
  set(prefix "${WORK_DIR}/prefix")
  run_step("install gantry into ${prefix}"
    "${CMAKE_COMMAND}" --install "${GANTRY_BINARY_DIR}" --prefix "${prefix}" ${config_args})
  list(PREPEND prefix_path "${prefix}")
  list(APPEND consumer_args "-DGANTRY_CONSUMER_EXPECTED_PREFIX=${prefix}")
elseif(MODE STREQUAL "add_subdirectory" OR MODE STREQUAL "FetchContent")
  list(APPEND consumer_args "-DGANTRY_CONSUMER_GANTRY_DIR=${GANTRY_SOURCE_DIR}")
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}' (expected find_package, add_subdirectory, FetchContent)")
endif()
# Where Eigen and fmt were found for gantry, the consumer must be able to look too; it gets no *_DIR hints.
# An initial-cache script carries the list, whose ';' a -D argument would not keep.
set(initial_cache "${WORK_DIR}/initial-cache.cmake")
file(WRITE "${initial_cache}" "set(CMAKE_PREFIX_PATH [==[${prefix_path}]==] CACHE STRING \"\")\n")
list(APPEND consumer_args -C "${initial_cache}")

run_step("configure the consumer" "${CMAKE_COMMAND}" ${consumer_args})
run_step("build the consumer" "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})
set(ctest_config)
if(NOT "${CONFIG}" STREQUAL "")
  set(ctest_config -C "${CONFIG}")
endif()
run_step("run the consumer" "${CTEST_COMMAND}" --test-dir "${consumer_build}" ${ctest_config} --output-on-failure)
