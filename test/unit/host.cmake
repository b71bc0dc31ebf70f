# narratord host shell: unit tests (config parser, sealed store). Included from CMakeLists.txt.
if(TARGET nr_host_base)
  nr_unit_test(test_config SOURCES test_config.c LIBS nr_host_base)
endif()
if(TARGET nr_host_collateral)
  nr_unit_test(test_collateral SOURCES test_collateral.c LIBS nr_host_collateral)
  target_compile_definitions(test_collateral PRIVATE
                             NR_SGX_VECTORS_DIR="${PROJECT_SOURCE_DIR}/../shared/vectors/sgx")
endif()
if(TARGET nr_host_store)
  nr_unit_test(test_store SOURCES test_store.c LIBS nr_host_store)
endif()

# Daemon integration tests live in test/integration/host (need every module's targets).
add_subdirectory(${PROJECT_SOURCE_DIR}/test/integration/host
                 ${PROJECT_BINARY_DIR}/test/integration/host)
