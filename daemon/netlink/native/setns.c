// Namespace and ethtool syscalls that Node.js does not expose.
// setns(2) acts on the calling thread only; callers switch and switch back
// synchronously so that no JavaScript runs while the thread is elsewhere.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/nsfs.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <node_api.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errno_error.h"
#include "rtnl.h"

// Throws an Error shaped like Node's system errors (see errno_error.c).
static void throw_errno(napi_env env, int err, const char *syscall) {
  napi_throw(env, errno_error(env, err, syscall));
}

static bool arg_int(napi_env env, napi_callback_info info, size_t index, int32_t *out) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (index >= argc || napi_get_value_int32(env, argv[index], out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an integer argument");
    return false;
  }
  return true;
}

static bool arg_ifname(napi_env env, napi_callback_info info, char name[IFNAMSIZ]) {
  size_t argc = 2, len = 0;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool ok = argc >= 1 && napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) == napi_ok &&
            len > 0 && len < IFNAMSIZ &&
            napi_get_value_string_utf8(env, argv[0], name, IFNAMSIZ, &len) == napi_ok &&
            strlen(name) == len;
  if (!ok) napi_throw_type_error(env, NULL, "expected an interface name of 1 to 15 bytes");
  return ok;
}

// setns(fd): moves the calling thread into the network namespace behind fd.
static napi_value js_setns(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (arg_int(env, info, 0, &fd) && setns(fd, CLONE_NEWNET) != 0) throw_errno(env, errno, "setns");
  return NULL;
}

// restoreNetns(fd): like setns, but failure is fatal: a thread stuck in a pod's
// netns would silently run every later operation there.
static napi_value js_restore_netns(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (arg_int(env, info, 0, &fd) && setns(fd, CLONE_NEWNET) != 0) {
    napi_fatal_error("ovn_multinet_native.restoreNetns", NAPI_AUTO_LENGTH,
                     "cannot return to the host network namespace", NAPI_AUTO_LENGTH);
  }
  return NULL;
}

// nsType(fd): the CLONE_NEW* type of the namespace behind fd (ENOTTY if fd is not a namespace).
static napi_value js_ns_type(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!arg_int(env, info, 0, &fd)) return NULL;
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) {
    throw_errno(env, errno, "ioctl(NS_GET_NSTYPE)");
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, type, &result);
  return result;
}

// One ETHTOOL_GTXCSUM request on an interface of the calling thread's netns.
static int ethtool_txcsum(const char name[IFNAMSIZ], struct ethtool_value *value) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  ifr.ifr_data = (void *)value;
  int rc = ioctl(sock, SIOCETHTOOL, &ifr);
  int saved = errno;
  close(sock);
  errno = saved;
  return rc;
}

// getTxChecksum(ifname): whether TX checksum offload is on.
static napi_value js_get_tx_checksum(napi_env env, napi_callback_info info) {
  char name[IFNAMSIZ] = {0};
  if (!arg_ifname(env, info, name)) return NULL;
  struct ethtool_value value = {.cmd = ETHTOOL_GTXCSUM};
  if (ethtool_txcsum(name, &value) != 0) {
    throw_errno(env, errno, "ioctl(SIOCETHTOOL)");
    return NULL;
  }
  napi_value result;
  napi_get_boolean(env, value.data != 0, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"setns", NULL, js_setns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"restoreNetns", NULL, js_restore_netns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nsType", NULL, js_ns_type, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getTxChecksum", NULL, js_get_tx_checksum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rtnlExchange", NULL, js_rtnl_exchange, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
