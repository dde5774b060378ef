/* stb_impl.c: the one translation unit that compiles stb_image and stb_image_write (headers from
 * the system's stb package, found through pkg-config). Compiled without our warning flags. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#include <stb_image_write.h>
