# Writes a C source holding the bytes of IN as `const char NAME[]` (NUL-
# terminated) and `const unsigned long NAME_len`. Run by the build (cmake -P).
file(READ "${IN}" hex HEX)
get_filename_component(src "${IN}" NAME)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* generated from ${src} by scripts/embed-data.cmake; do not edit */\n"
  "const char ${NAME}[] = {\n${bytes}0x00};\n"
  "const unsigned long ${NAME}_len = ${len};\n")
