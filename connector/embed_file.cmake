# Turns one file into a C array and its length: -DINPUT=file -DOUTPUT=file.c
# -DSYMBOL=name gives `const char name[]` (NUL-terminated) and
# `const size_t name_len` (without the NUL). For the console's stylesheet.
file(READ ${INPUT} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
set(body "/* Generated from ${INPUT} by embed_file.cmake. */\n#include <stddef.h>\n\n")
string(APPEND body "extern const char ${SYMBOL}[];\nextern const size_t ${SYMBOL}_len;\n")
string(APPEND body "const char ${SYMBOL}[] = {${bytes} 0};\n")
string(APPEND body "const size_t ${SYMBOL}_len = sizeof(${SYMBOL}) - 1;\n")
file(WRITE ${OUTPUT}.tmp "${body}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
