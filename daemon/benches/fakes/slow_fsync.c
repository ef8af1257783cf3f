/* A fake slow disk, for the ingest benchmark only: loaded with LD_PRELOAD, it makes every fsync and fdatasync take
 * BELLHOP_FAKE_FSYNC_MS milliseconds longer (default 5), as a gateway's eMMC or SD card does. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void slow_down(void) {
    const char *value = getenv("BELLHOP_FAKE_FSYNC_MS");
    long ms = value ? atol(value) : 5;
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0) {
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int result = real(fd);
    slow_down();
    return result;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int result = real(fd);
    slow_down();
    return result;
}
