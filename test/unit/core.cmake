# Protocol core unit tests (codec and state machine over an in-memory network).
if(TARGET nr_core)
  nr_unit_test(test_core SOURCES test_core.c LIBS nr_core)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_wire.c)
    nr_unit_test(test_wire SOURCES test_wire.c LIBS nr_core)
  endif()
endif()
