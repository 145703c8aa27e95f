/* busybox.h - a tiny image for tests that run containers: Debian's static
 * busybox alone, built on the engine when it is missing. */
#ifndef SW_TEST_BUSYBOX_H
#define SW_TEST_BUSYBOX_H

#define SW_TEST_BUSYBOX_IMAGE "slipway-test/busybox:latest"

/* Makes sure SW_TEST_BUSYBOX_IMAGE is on the engine ($SLIPWAY_DOCKER_SOCKET, else
 * /var/run/docker.sock) and returns its name. When it is missing it is built
 * through POST /build from an in-memory tar (FROM scratch, COPY busybox
 * /bin/busybox, RUN busybox --install -s /bin). Fails the running test with
 * the reason when the engine cannot be reached or the build fails. */
const char *sw_test_busybox_image(void);

#endif
