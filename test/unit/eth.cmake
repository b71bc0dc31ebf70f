# Unit tests of src/eth (included from test/unit/CMakeLists.txt). The Ethereum vectors live in
# ../shared/vectors/ethereum next to the project; a missing file fails the tests.
pkg_check_modules(NR_ETH_TEST_CJSON QUIET IMPORTED_TARGET libcjson)
if(TARGET nr_eth AND NR_ETH_TEST_CJSON_FOUND)
  set(NR_ETH_VECTORS_DIR ${PROJECT_SOURCE_DIR}/../shared/vectors/ethereum)
  foreach(area keccak rlp tx abi)
    set(t test_eth_${area})
    add_executable(${t} ${t}.c test_eth_vectors.c)
    target_link_libraries(${t} PRIVATE nr_eth PkgConfig::NR_ETH_TEST_CJSON PkgConfig::CMOCKA)
    target_compile_options(${t} PRIVATE ${NR_WARNINGS})
    target_compile_definitions(${t} PRIVATE NR_ETH_VECTORS_DIR="${NR_ETH_VECTORS_DIR}")
    target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
    add_test(NAME ${t} COMMAND ${t})
    set_tests_properties(${t} PROPERTIES LABELS unit)
  endforeach()
endif()

# Fuzz targets of the eth parsers (test/fuzz/fuzz_rlp.c, fuzz_abi.c): a replay executable over
# each committed corpus always (CTest label fuzz), and the libFuzzer binary under NR_FUZZ with
# clang. Run it on a scratch copy (libFuzzer writes new inputs into its first directory):
#   mkdir -p /tmp/c && build/test/unit/fuzz_rlp /tmp/c test/fuzz/corpus/rlp -max_total_time=60
set(NR_ETH_FUZZ_DIR ${PROJECT_SOURCE_DIR}/test/fuzz)
foreach(target rlp abi)
  set(src ${NR_ETH_FUZZ_DIR}/fuzz_${target}.c)
  if(TARGET nr_eth)
    add_executable(nr_eth_fuzz_${target}_replay ${src})
    target_link_libraries(nr_eth_fuzz_${target}_replay PRIVATE nr_eth)
    target_compile_definitions(nr_eth_fuzz_${target}_replay PRIVATE NR_FUZZ_REPLAY)
    target_compile_options(nr_eth_fuzz_${target}_replay PRIVATE ${NR_WARNINGS})
    add_test(NAME fuzz_${target}_replay
             COMMAND nr_eth_fuzz_${target}_replay ${NR_ETH_FUZZ_DIR}/corpus/${target})
    set_tests_properties(fuzz_${target}_replay PROPERTIES LABELS fuzz)
    if(NR_FUZZ AND NOT TARGET fuzz_${target})
      if(CMAKE_C_COMPILER_ID MATCHES "Clang")
        # The parsers are compiled into the fuzzer itself so that libFuzzer sees their coverage.
        pkg_check_modules(NR_ETH_FUZZ_NETTLE REQUIRED IMPORTED_TARGET nettle)
        set(eth ${PROJECT_SOURCE_DIR}/src/eth)
        add_executable(fuzz_${target} ${src} ${eth}/keccak.c ${eth}/u256.c ${eth}/rlp.c ${eth}/abi.c)
        target_link_libraries(fuzz_${target} PRIVATE nr_common PkgConfig::NR_ETH_FUZZ_NETTLE)
        target_compile_options(fuzz_${target} PRIVATE ${NR_WARNINGS} -fsanitize=fuzzer,address,undefined)
        target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
      else()
        message(WARNING "NR_FUZZ needs clang (CMAKE_C_COMPILER=clang); fuzz_${target} not built")
      endif()
    endif()
  endif()
endforeach()

# The chain-evidence verifier (src/eth/mpt.c, evidence.c) on anvil answers captured in
# test/vectors/evidence_genesis.json (scripts/gen-evidence-vectors.js regenerates it).
if(TARGET nr_eth AND NR_ETH_TEST_CJSON_FOUND)
  add_executable(test_eth_evidence test_eth_evidence.c test_eth_vectors.c)
  target_link_libraries(test_eth_evidence PRIVATE nr_eth PkgConfig::NR_ETH_TEST_CJSON PkgConfig::CMOCKA)
  target_compile_options(test_eth_evidence PRIVATE ${NR_WARNINGS})
  target_compile_definitions(test_eth_evidence PRIVATE
                             NR_ETH_VECTORS_DIR="${PROJECT_SOURCE_DIR}/test/vectors")
  target_include_directories(test_eth_evidence PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  add_test(NAME test_eth_evidence COMMAND test_eth_evidence)
  set_tests_properties(test_eth_evidence PROPERTIES LABELS unit)
endif()
