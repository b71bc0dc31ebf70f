# Sessions of libnarrator (many records and pipelined requests over one channel) against a
# real 3-node network (label e2e). Included from src/client/CMakeLists.txt at the end of the
# top-level directory, when every target exists.
if(NOT (TARGET narratord AND TARGET narrator_cli AND TARGET narrator))
  message(STATUS "session tests: waiting for narratord, the narrator CLI and libnarrator")
  return()
endif()

add_executable(test_session_api ${CMAKE_CURRENT_LIST_DIR}/test_session_api.c)
target_link_libraries(test_session_api PRIVATE narrator PkgConfig::SODIUM PkgConfig::CMOCKA)
target_compile_options(test_session_api PRIVATE ${NR_WARNINGS})

add_test(NAME e2e_session_api COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/session_api.sh)
set_tests_properties(
  e2e_session_api
  PROPERTIES LABELS e2e TIMEOUT 300 RUN_SERIAL TRUE
             ENVIRONMENT "SESSION_API_TEST=$<TARGET_FILE:test_session_api>;NARRATOR=$<TARGET_FILE:narrator_cli>;NARRATORD=$<TARGET_FILE:narratord>")
