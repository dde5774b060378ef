/* stb_impl.c: the one translation unit that compiles stb_image and stb_image_write (headers from
 * the system's stb package, found through pkg-config). Compiled without our warning flags.
 *
 * stb's allocations are zeroed. stb_image 2.27 (Debian 12's) decodes with state it never set on
 * some corrupt files, for example a Huffman table no DHT segment defined, which reads whatever the
 * allocator left there (found by fuzz_image). image.c refuses the cases it knows before stb sees
 * the file; zeroed memory makes whatever is left deterministic and in bounds: an all-zero Huffman
 * table decodes every code as symbol 0 without consuming bits, which ends each block at once. */
#include <stdlib.h>

#define STBI_MALLOC(sz) calloc(1, (sz))
#define STBI_REALLOC(p, newsz) realloc((p), (newsz))
#define STBI_FREE(p) free(p)

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#include <stb_image_write.h>
