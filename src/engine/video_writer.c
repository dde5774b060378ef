/* video_writer.c: a video's frames into ffmpeg or into numbered PNGs (see video_writer.h).
 *
 * ffmpeg reads raw RGB frames on its standard input. That input is one end of a socket pair rather
 * than a pipe: writes use send(MSG_NOSIGNAL), so an ffmpeg that dies early gives an error here
 * (EPIPE) instead of a SIGPIPE that would kill the program. */
#define _POSIX_C_SOURCE 200809L
#include "engine/video_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fs.h"
#include "ngp/image.h"

typedef enum { OUT_FFMPEG, OUT_PNG_DIR, OUT_PNG_PATTERN } out_kind;

struct ngp_video_writer {
  out_kind kind;
  int width, height;
  char *output;  /* the video file, the PNG folder, or the pattern */
  char *tmp;     /* ffmpeg's temporary output */
  int fd;        /* our end of ffmpeg's standard input */
  pid_t pid;     /* ffmpeg */
  uint8_t *rgba; /* a PNG frame */
  char describe[4400];
};

ngp_status ngp_video_check_pattern(const char *output, ngp_error *err) {
  int conversions = 0;
  for (const char *p = output; *p; p++) {
    if (*p != '%') continue;
    if (p[1] == '%') {
      p++;
      continue;
    }
    const char *q = p + 1;
    if (*q == '0') q++;
    while (*q >= '0' && *q <= '9')
      q++;
    if (*q != 'd' && *q != 'i' && *q != 'u')
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "--video-output %s: '%%' starts a frame-number conversion, which must read like %%04d "
                           "(write %%%% for a percent sign)",
                           output);
    if (q - p > 4)
      return ngp_error_set(err, NGP_ERR_INVALID, "--video-output %s: the frame number's width is too large", output);
    conversions++;
    p = q;
  }
  if (conversions > 1)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "--video-output %s: more than one frame-number conversion; use one, e.g. %%04d", output);
  return NGP_OK;
}

static bool has_conversion(const char *output) {
  for (const char *p = output; *p; p++) {
    if (*p != '%') continue;
    if (p[1] == '%') {
      p++;
      continue;
    }
    return true;
  }
  return false;
}

static bool names_dir(const char *output) {
  size_t n = strlen(output);
  return (n > 0 && output[n - 1] == '/') || ngp_path_is_dir(output);
}

bool ngp_video_output_is_file(const char *output) { return !names_dir(output) && !has_conversion(output); }

bool ngp_video_have_ffmpeg(void) {
  const char *path = getenv("PATH");
  if (!path || !*path) return false;
  char buf[4200];
  for (const char *p = path;;) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == 0)
      snprintf(buf, sizeof buf, "ffmpeg");
    else
      snprintf(buf, sizeof buf, "%.*s/ffmpeg", (int)n, p);
    if (access(buf, X_OK) == 0 && ngp_path_is_file(buf)) return true;
    if (!end) return false;
    p = end + 1;
  }
}

/* "dir/name.mp4" -> "dir/name.tmp.<pid>.mp4": beside the output, with its extension (ffmpeg picks
 * the container by it). */
static char *tmp_name(const char *output) {
  const char *ext = ngp_path_extension(output);
  size_t stem = strlen(output) - strlen(ext);
  size_t n = strlen(output) + 48;
  char *t = malloc(n);
  if (t) snprintf(t, n, "%.*s.tmp.%ld%s", (int)stem, output, (long)getpid(), ext);
  return t;
}

static ngp_status start_ffmpeg(ngp_video_writer *vw, double fps, ngp_error *err) {
  char size[32], rate[32];
  snprintf(size, sizeof size, "%dx%d", vw->width, vw->height);
  snprintf(rate, sizeof rate, "%.9g", fps);
  bool no_ext = ngp_path_extension(vw->output)[0] == '\0';
  const char *argv[] = {"ffmpeg",
                        "-hide_banner",
                        "-loglevel",
                        "error",
                        "-y",
                        "-f",
                        "rawvideo",
                        "-pix_fmt",
                        "rgb24",
                        "-s",
                        size,
                        "-framerate",
                        rate,
                        "-i",
                        "pipe:0",
                        "-an",
                        "-c:v",
                        "libx264",
                        "-pix_fmt",
                        "yuv420p",
                        "-crf",
                        "18",
                        no_ext ? "-f" : vw->tmp,
                        no_ext ? "mp4" : NULL,
                        no_ext ? vw->tmp : NULL,
                        NULL};
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return ngp_error_set(err, NGP_ERR_IO, "ffmpeg: cannot make its input: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    return ngp_error_set(err, NGP_ERR_IO, "ffmpeg: cannot start it: %s", strerror(e));
  }
  if (pid == 0) {
    /* The child: the socket's other end as standard input, stdout closed to /dev/null; stderr stays
     * (ffmpeg's own error lines). */
    dup2(sv[1], STDIN_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    signal(SIGPIPE, SIG_DFL);
    execvp("ffmpeg", (char *const *)argv);
    _exit(127);
  }
  close(sv[1]);
  shutdown(sv[0], SHUT_RD);
  vw->fd = sv[0];
  vw->pid = pid;
  return NGP_OK;
}

ngp_status ngp_video_writer_open(ngp_video_writer **out, const char *output, int width, int height, double fps,
                                 ngp_error *err) {
  *out = NULL;
  ngp_status st = ngp_video_check_pattern(output, err);
  if (st != NGP_OK) return st;
  ngp_video_writer *vw = calloc(1, sizeof *vw);
  if (!vw) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  vw->width = width;
  vw->height = height;
  vw->fd = -1;
  vw->pid = -1;
  if (names_dir(output)) {
    vw->kind = OUT_PNG_DIR;
    vw->output = ngp_strdup(output);
    snprintf(vw->describe, sizeof vw->describe, "PNG frames into %s", output);
  } else if (has_conversion(output)) {
    vw->kind = OUT_PNG_PATTERN;
    vw->output = ngp_strdup(output);
    snprintf(vw->describe, sizeof vw->describe, "PNG frames named %s", output);
  } else if (!ngp_video_have_ffmpeg()) {
    /* "video.mp4" -> "video/" */
    vw->kind = OUT_PNG_DIR;
    const char *ext = ngp_path_extension(output);
    size_t stem = strlen(output) - strlen(ext);
    vw->output = malloc(stem + 2);
    if (vw->output) snprintf(vw->output, stem + 2, "%.*s/", (int)stem, output);
    snprintf(vw->describe, sizeof vw->describe,
             "PNG frames into %s (ffmpeg is not on PATH, so no %s; install ffmpeg for H.264 videos)",
             vw->output ? vw->output : "?", output);
  } else {
    vw->kind = OUT_FFMPEG;
    vw->output = ngp_strdup(output);
    vw->tmp = tmp_name(output);
    snprintf(vw->describe, sizeof vw->describe, "H.264 through ffmpeg into %s", output);
  }
  if (!vw->output || (vw->kind == OUT_FFMPEG && !vw->tmp)) {
    ngp_video_writer_abort(vw);
    return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  }
  if (vw->kind != OUT_FFMPEG && (width <= 0 || height <= 0)) {
    ngp_video_writer_abort(vw);
    return ngp_error_set(err, NGP_ERR_INVALID, "video frames of %dx%d pixels", width, height);
  }
  if (vw->kind == OUT_FFMPEG && (width % 2 || height % 2)) {
    ngp_video_writer_abort(vw);
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: H.264 (yuv420p) needs an even width and height, not %dx%d; change --width/--height, or "
                         "write PNG frames (--video-output DIR/)",
                         output, width, height);
  }
  /* The folder the frames or the video go into. */
  char *dir = vw->kind == OUT_PNG_DIR ? ngp_strdup(vw->output) : ngp_path_dirname(vw->output);
  st = dir ? ngp_mkdir_p(dir, err) : ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  free(dir);
  if (st == NGP_OK && vw->kind != OUT_FFMPEG) {
    vw->rgba = malloc((size_t)width * (size_t)height * 4);
    if (!vw->rgba) st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for a %dx%d frame", width, height);
  }
  if (st == NGP_OK && vw->kind == OUT_FFMPEG) st = start_ffmpeg(vw, fps, err);
  if (st != NGP_OK) {
    ngp_video_writer_abort(vw);
    return st;
  }
  *out = vw;
  return NGP_OK;
}

const char *ngp_video_writer_describe(const ngp_video_writer *vw) { return vw->describe; }
const char *ngp_video_writer_output(const ngp_video_writer *vw) { return vw->output; }

/* Waits for ffmpeg; its exit status, or -1. */
static int reap(ngp_video_writer *vw) {
  if (vw->fd >= 0) close(vw->fd);
  vw->fd = -1;
  if (vw->pid <= 0) return -1;
  int status = 0;
  pid_t r;
  do
    r = waitpid(vw->pid, &status, 0);
  while (r < 0 && errno == EINTR);
  vw->pid = -1;
  if (r < 0) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

ngp_status ngp_video_writer_frame(ngp_video_writer *vw, int index, const uint8_t *rgb, ngp_error *err) {
  size_t n_px = (size_t)vw->width * (size_t)vw->height;
  if (vw->kind == OUT_FFMPEG) {
    size_t len = n_px * 3, off = 0;
    while (off < len) {
      ssize_t w = send(vw->fd, rgb + off, len - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        int e = errno;
        int code = reap(vw);
        return ngp_error_set(err, NGP_ERR_IO,
                             "%s: ffmpeg stopped reading frames (%s; exit status %d; its messages are above)",
                             vw->output, strerror(e), code);
      }
      off += (size_t)w;
    }
    return NGP_OK;
  }
  char path[4400];
  ngp_video_writer_frame_path(vw, index, path, sizeof path);
  for (size_t p = 0; p < n_px; p++) {
    memcpy(vw->rgba + p * 4, rgb + p * 3, 3);
    vw->rgba[p * 4 + 3] = 255;
  }
  ngp_image img = {vw->width, vw->height, 4, vw->rgba};
  return ngp_image_write_png(path, &img, err);
}

bool ngp_video_writer_frame_path(const ngp_video_writer *vw, int index, char *path, size_t size) {
  if (vw->kind == OUT_FFMPEG) return false;
  if (vw->kind == OUT_PNG_DIR) {
    size_t n = strlen(vw->output);
    snprintf(path, size, "%s%s%04d.png", vw->output, n && vw->output[n - 1] == '/' ? "" : "/", index);
  } else {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
    snprintf(path, size, vw->output, index); /* checked by ngp_video_check_pattern */
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  }
  return true;
}

static void writer_free(ngp_video_writer *vw) {
  free(vw->output);
  free(vw->tmp);
  free(vw->rgba);
  free(vw);
}

ngp_status ngp_video_writer_close(ngp_video_writer *vw, ngp_error *err) {
  ngp_status st = NGP_OK;
  if (vw->kind == OUT_FFMPEG) {
    int code = reap(vw);
    if (code != 0) {
      st = ngp_error_set(err, NGP_ERR_IO,
                         code == 127 ? "%s: ffmpeg could not be run (exit status %d)"
                                     : "%s: ffmpeg failed (exit status %d; its messages are above)",
                         vw->output, code);
      unlink(vw->tmp);
    } else if (rename(vw->tmp, vw->output) != 0) {
      st = ngp_error_set(err, NGP_ERR_IO, "%s: cannot rename %s into place: %s", vw->output, vw->tmp, strerror(errno));
      unlink(vw->tmp);
    }
  }
  writer_free(vw);
  return st;
}

void ngp_video_writer_abort(ngp_video_writer *vw) {
  if (!vw) return;
  if (vw->kind == OUT_FFMPEG && vw->tmp) {
    reap(vw); /* ffmpeg (if still running) sees the end of its input and finishes */
    unlink(vw->tmp);
  }
  writer_free(vw);
}
