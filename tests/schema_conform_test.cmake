# Holds a schema against its baseline: `flatc --conform BASELINE SCHEMA` must accept SCHEMA as an evolution of
# BASELINE (fields only appended; none removed, retyped, reordered or given a new default), so bytes written by
# any earlier sagadb still decode. Fails on a non-zero exit and on any output, which flatc uses for problems.
#
#   cmake -DFLATC=/path/to/flatc -DBASELINE=schema/baseline/disk.fbs -DSCHEMA=schema/disk.fbs -P this-file
foreach(var FLATC BASELINE SCHEMA)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "schema_conform_test: ${var} is not set")
  endif()
endforeach()
foreach(file ${BASELINE} ${SCHEMA})
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "schema_conform_test: ${file} does not exist")
  endif()
endforeach()

execute_process(
  COMMAND ${FLATC} --conform ${BASELINE} ${SCHEMA}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)

if(NOT result EQUAL 0 OR NOT output STREQUAL "")
  message(FATAL_ERROR "${SCHEMA} does not conform to ${BASELINE} (flatc exit: ${result}):\n${output}\n"
                      "Records must evolve only by appending fields. If the baseline itself must change, that is a "
                      "format break: bump kSchemaVersion and migrate.")
endif()
message(STATUS "${SCHEMA} conforms to ${BASELINE}")
