/* httplisten.c - a libmicrohttpd daemon on HOST:PORT (see httplisten.h). */
#include "runtime/httplisten.h"

#include "runtime/core/error.h"
#include "runtime/core/log.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    sw_warn("webhook", "libmicrohttpd (%s): %s", (const char *)cls, msg);
}

int sw_listen_start(struct MHD_Daemon **out, const char *what, const char *listen,
                    unsigned int max_connections, MHD_AccessHandlerCallback handler, void *cls,
                    MHD_RequestCompletedCallback completed, void *completed_cls)
{
    const char *colon = strrchr(listen, ':');
    char host[256];
    struct addrinfo hints = {0}, *ai = NULL;
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_ERROR_LOG;
    int rc;

    *out = NULL;
    if (colon == NULL) {
        return sw_error_set(SW_EINVALID, "%s '%s' is not HOST:PORT", what, listen);
    }
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= sizeof(host)) {
        return sw_error_set(SW_EINVALID, "%s '%s' is too long", what, listen);
    }
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if ((rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai)) != 0) {
        return sw_error_set(SW_EINVALID, "%s '%s': %s", what, listen, gai_strerror(rc));
    }
    if (ai->ai_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    *out = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, cls, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, (void *)what,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
        MHD_OPTION_CONNECTION_LIMIT, max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)30, MHD_OPTION_THREAD_STACK_SIZE, (size_t)1 << 20,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (*out == NULL) {
        return sw_error_set(SW_EIO, "cannot listen on %s %s (is the port in use?)", what,
                            listen);
    }
    return 0;
}
