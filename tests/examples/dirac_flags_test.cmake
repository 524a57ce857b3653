# cmake -DDIRAC=<dirac executable> -DOUT=<scratch directory> -P dirac_flags_test.cmake
# The Dirac-GAN study's choices: --methods, --loss, --generator-first and per-player learning rates reach the runs,
# the table names each row's loss, the JSON holds every run's trajectory; a bad choice exits 2 naming it.
cmake_minimum_required(VERSION 3.21)
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")

function(run_dirac json)  # ARGN: the flags
  execute_process(COMMAND "${DIRAC}" --steps 100 --svg-dir "" --json "${OUT}/${json}" ${ARGN}
    RESULT_VARIABLE status OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "dirac ${ARGN}: status ${status}\n${stderr}")
  endif()
  set(stdout "${stdout}" PARENT_SCOPE)
  file(READ "${OUT}/${json}" text)
  set(json "${text}" PARENT_SCOPE)
endfunction()

function(require condition_text)
  if(NOT (${ARGN}))
    message(FATAL_ERROR "${condition_text}")
  endif()
endfunction()

run_dirac(split.json --methods r1,consensus --loss minimax --generator-first --lr-critic 0.05 --lr-generator 0.1)
string(REGEX MATCHALL "\n(r1|consensus) +minimax +(simultaneous|alternating) " rows "${stdout}")
list(LENGTH rows row_count)
require("the table should have 6 minimax rows of r1 and consensus:\n${stdout}" row_count EQUAL 6)
string(REGEX MATCH "\n(gan|ns_gan|wgan_clip|wgan_gp|r2|instance_noise) " other "${stdout}")
string(LENGTH "${other}" other_length)
require("--methods r1,consensus ran another method:\n${stdout}" other_length EQUAL 0)
require("the header should name both learning rates and the order:\n${stdout}"
  stdout MATCHES "lr critic 0.05, generator 0.1, 100 iterations.*, generator first\n")
string(JSON loss GET "${json}" settings loss)
string(JSON first GET "${json}" settings generator_first)
string(JSON count LENGTH "${json}" rows)
string(JSON row_loss GET "${json}" rows 0 loss)
string(JSON points LENGTH "${json}" rows 0 trajectory)
require("JSON settings/rows wrong: ${loss} ${first} ${count} ${row_loss} ${points}"
  loss STREQUAL "minimax" AND first STREQUAL "ON" AND count EQUAL 6 AND row_loss STREQUAL "minimax" AND points EQUAL 101)
string(JSON split_theta GET "${json}" rows 0 trajectory 1 0)
string(JSON split_psi GET "${json}" rows 0 trajectory 1 1)
string(JSON split_alternating GET "${json}" rows 1 trajectory 1 0)

# A simultaneous step moves theta by the generator's rate alone and psi by the critic's.
run_dirac(same.json --methods r1,consensus --loss minimax --lr 0.1)
string(JSON same_theta GET "${json}" rows 0 trajectory 1 0)
string(JSON same_psi GET "${json}" rows 0 trajectory 1 1)
string(JSON same_alternating GET "${json}" rows 1 trajectory 1 0)
require("theta after one simultaneous step should depend on --lr-generator only: ${split_theta} vs ${same_theta}"
  split_theta STREQUAL same_theta)
require("psi after one simultaneous step should depend on --lr-critic: ${split_psi} vs ${same_psi}"
  NOT split_psi STREQUAL same_psi)
# Generator first (alternating): the first point is the generator's step at the start, not after a critic step.
require("--generator-first should change the alternating run's first point"
  NOT split_alternating STREQUAL same_alternating)

run_dirac(ns.json --methods r1)
require("--loss defaults to non-saturating:\n${stdout}" stdout MATCHES "\nr1 +non_saturating +simultaneous ")

foreach(bad "--methods;r5" "--loss;hinge" "--lr-critic;0" "--generator-first=yes" "--steps;1000000000000"
            "--batch;9223372036854775807")
  execute_process(COMMAND "${DIRAC}" ${bad} RESULT_VARIABLE status ERROR_VARIABLE stderr OUTPUT_QUIET)
  list(GET bad 0 flag)
  string(REGEX REPLACE "=.*" "" flag "${flag}")
  string(FIND "${stderr}" "${flag}" at)
  require("dirac ${bad}: status ${status}, stderr ${stderr}" status EQUAL 2 AND NOT at EQUAL -1)
endforeach()
