/* stb_impl.c: the one translation unit that compiles stb_image and stb_image_write (headers from
 * the system's stb package, found through pkg-config). Compiled without our warning flags.
 *
 * stb's allocations are zeroed. stb_image 2.27 (Debian 12's) decodes with state it never set on
 * some corrupt files, for example a Huffman table no DHT segment defined, which reads whatever the
 * allocator left there (found by fuzz_image). image.c refuses the cases it knows before stb sees
 * the file; zeroed memory makes whatever is left deterministic and in bounds: an all-zero Huffman
 * table decodes every code as symbol 0 without consuming bits, which ends each block at once. */
#include <stdlib.h>

/* Only the formats a scene can sensibly hold are compiled: PNG and JPEG (what NeRF datasets use),
 * and the uncompressed BMP, TGA and PNM. GIF, PSD, PIC and HDR are left out: no scene uses them,
 * and each decoder is code that reads untrusted files (stb_image 2.27's have known bugs). */
#define STBI_NO_GIF
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_HDR

#define STBI_MALLOC(sz) calloc(1, (sz))
#define STBI_REALLOC(p, newsz) realloc((p), (newsz))
#define STBI_FREE(p) free(p)

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#include <stb_image_write.h>
