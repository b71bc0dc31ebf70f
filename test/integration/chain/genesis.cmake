# test_chain_genesis (label integration): recordGenesis against a real anvil, the storage layout
# read back with eth_getStorageAt, and the host's chain-evidence fetcher with the verifier over
# one and two anvil chains. Included from src/host/CMakeLists.txt, where nr_host_chain exists.
file(GLOB NR_GENESIS_ANVIL ${PROJECT_SOURCE_DIR}/node_modules/@foundry-rs/anvil-*/bin/anvil)
if(TARGET nr_chain_fixture AND TARGET nr_chain_se AND TARGET nr_contract AND NR_GENESIS_ANVIL)
  set(t test_chain_genesis)
  add_executable(${t} ${PROJECT_SOURCE_DIR}/test/integration/chain/${t}.c)
  target_link_libraries(${t} PRIVATE nr_host_chain nr_chain_se nr_chain_fixture PkgConfig::CMOCKA
                                     PkgConfig::SODIUM)
  target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${t} PRIVATE ${NR_WARNINGS})
  target_compile_definitions(${t} PRIVATE
                             NR_REGISTRY_BIN="${PROJECT_BINARY_DIR}/contracts/NarratorRegistry.bin")
  add_dependencies(${t} nr_contract)
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES LABELS integration TIMEOUT 300)
endif()
