/* xwindow.c: a test helper that watches the instant-ngp window from outside, as a user would.
 * It waits until a window on $DISPLAY titled "instant-ngp - SCENE - step N..." shows step N or
 * more, then, with --close, asks it to close the way the window's close button does (a
 * WM_DELETE_WINDOW client message, which GLFW turns into glfwWindowShouldClose).
 *
 *   ngp-test-xwindow --step N [--close] [--pid PID] [--timeout SECONDS]
 *
 * Exits 0 once done; 1 on a timeout, when process PID has exited first, or without a display,
 * printing the last title seen. */
#define _POSIX_C_SOURCE 200809L
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* Windows may go away between listing them and reading their title: ignore such errors. */
static int ignore_x_error(Display *d, XErrorEvent *e) {
  (void)d;
  (void)e;
  return 0;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The window's title (_NET_WM_NAME, else WM_NAME) into buf; false if it has none. */
static int window_title(Display *d, Window w, char *buf, size_t n) {
  Atom net_name = XInternAtom(d, "_NET_WM_NAME", False), utf8 = XInternAtom(d, "UTF8_STRING", False), type;
  int format;
  unsigned long items, after;
  unsigned char *data = NULL;
  buf[0] = '\0';
  if (XGetWindowProperty(d, w, net_name, 0, 1024, False, utf8, &type, &format, &items, &after, &data) == Success &&
      data && type == utf8) {
    snprintf(buf, n, "%s", (const char *)data);
    XFree(data);
    return 1;
  }
  if (data) XFree(data);
  char *name = NULL;
  if (XFetchName(d, w, &name) && name) {
    snprintf(buf, n, "%s", name);
    XFree(name);
    return 1;
  }
  return 0;
}

/* The instant-ngp window with its step (-1 while the title shows none); None if there is none. */
static Window find_window(Display *d, long *step, char *title, size_t n) {
  Window root_ret, parent, *kids = NULL, found = None;
  unsigned int nk = 0;
  *step = -1;
  if (!XQueryTree(d, DefaultRootWindow(d), &root_ret, &parent, &kids, &nk)) return None;
  for (unsigned int i = 0; i < nk && found == None; i++) {
    char t[512];
    if (!window_title(d, kids[i], t, sizeof t) || strncmp(t, "instant-ngp", 11) != 0) continue;
    found = kids[i];
    snprintf(title, n, "%s", t);
    const char *s = strstr(t, " - step ");
    if (s) *step = strtol(s + 8, NULL, 10);
  }
  if (kids) XFree(kids);
  return found;
}

/* Whether process pid still runs (a zombie, not yet reaped by the shell, does not). */
static int process_alive(long pid) {
  if (kill((pid_t)pid, 0) != 0) return 0;
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *paren = strrchr(buf, ')'); /* "pid (comm) S ...": comm may hold spaces */
  return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

int main(int argc, char **argv) {
  long want = -1;
  int close_it = 0;
  long pid = 0;
  double timeout = 300.0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--step") && i + 1 < argc)
      want = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--close"))
      close_it = 1;
    else if (!strcmp(argv[i], "--pid") && i + 1 < argc)
      pid = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
      timeout = strtod(argv[++i], NULL);
    else {
      fprintf(stderr, "usage: %s --step N [--close] [--pid PID] [--timeout SECONDS]\n", argv[0]);
      return 2;
    }
  }
  if (want < 0) {
    fprintf(stderr, "ngp-test-xwindow: --step N is required\n");
    return 2;
  }
  Display *d = XOpenDisplay(NULL);
  if (!d) {
    fprintf(stderr, "ngp-test-xwindow: cannot open the display '%s'\n", getenv("DISPLAY") ? getenv("DISPLAY") : "");
    return 1;
  }
  XSetErrorHandler(ignore_x_error);
  double t0 = now_s();
  char title[512] = "(no instant-ngp window)";
  for (;;) {
    long step;
    Window w = find_window(d, &step, title, sizeof title);
    if (w != None && step >= want) {
      printf("ngp-test-xwindow: \"%s\"\n", title);
      if (close_it) {
        XEvent ev;
        memset(&ev, 0, sizeof ev);
        ev.xclient.type = ClientMessage;
        ev.xclient.window = w;
        ev.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
        ev.xclient.format = 32;
        ev.xclient.data.l[0] = (long)XInternAtom(d, "WM_DELETE_WINDOW", False);
        ev.xclient.data.l[1] = CurrentTime;
        XSendEvent(d, w, False, NoEventMask, &ev);
        XSync(d, False);
        printf("ngp-test-xwindow: asked the window to close\n");
      }
      XCloseDisplay(d);
      return 0;
    }
    if (pid > 0 && !process_alive(pid)) {
      fprintf(stderr, "ngp-test-xwindow: process %ld exited before step %ld; last title: %s\n", pid, want, title);
      break;
    }
    if (now_s() - t0 > timeout) {
      fprintf(stderr, "ngp-test-xwindow: no step %ld after %.0f s; last title: %s\n", want, timeout, title);
      break;
    }
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  XCloseDisplay(d);
  return 1;
}
