# Protocol core unit tests (codec and state machine over an in-memory network).
if(TARGET nr_core)
  nr_unit_test(test_core SOURCES test_core.c LIBS nr_core)
  nr_unit_test(test_wire SOURCES test_wire.c LIBS nr_core)
  nr_unit_test(test_core_epoch SOURCES test_core_epoch.c LIBS nr_core)
  # stages schedules against internals (src/core/se_internal.h)
  nr_unit_test(test_core_regress SOURCES test_core_regress.c LIBS nr_core)
endif()
