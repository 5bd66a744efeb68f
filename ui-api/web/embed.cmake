# Writes a C fragment that holds every file of the web page (ui-api/web/*.html,
# .css, .js, .svg) as a byte array with its name and a strong ETag, so that
# otelpg-api serves the page without any file on disk. Run by CMake at build
# time; web.c includes the result.
file(GLOB files ${SRC_DIR}/*.html ${SRC_DIR}/*.css ${SRC_DIR}/*.js ${SRC_DIR}/*.svg)
list(SORT files)
set(out "/* generated from ui-api/web by ui-api/web/embed.cmake */\n\n")
set(table "static const struct web_asset web_assets[] = {\n")
set(i 0)
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  file(READ ${f} hex HEX)
  file(SHA1 ${f} sha)
  string(SUBSTRING ${sha} 0 16 etag)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND out "static const unsigned char a${i}[] = {${bytes}0};\n")
  string(APPEND table "    {\"/${name}\", a${i}, ${len}, \"\\\"${etag}\\\"\"},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND table "};\n")
file(WRITE ${OUT}.tmp "${out}\n${table}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
