// deleteLink(name): RTM_DELLINK by name on a libuv threadpool thread, resolving to whether the
// link existed. rtnetlink runs a request inside the sender's sendmsg(), and destroying a veth
// pair waits for an RCU grace period (~20 ms): done on the event loop's thread, every other
// request would stall behind it. Pool threads are in the host netns (started before any setns).
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dellink.h"

typedef struct {
  char name[IFNAMSIZ];
  int err;      // 0, or a positive errno
  bool existed;
  napi_deferred deferred;
  napi_async_work work;
} dellink_t;

static int rtnl_dellink(const char *name) {
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
    char attrs[RTA_SPACE(IFNAMSIZ)];
  } req;
  memset(&req, 0, sizeof req);
  size_t len = strlen(name) + 1;
  struct rtattr *rta = (struct rtattr *)req.attrs;
  rta->rta_type = IFLA_IFNAME;
  rta->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(rta), name, len);
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi) + RTA_ALIGN(rta->rta_len);
  req.nh.nlmsg_type = RTM_DELLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;

  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0) return errno;
  int err = 0;
  if (send(sock, &req, req.nh.nlmsg_len, 0) < 0) {
    err = errno;
  } else {
    char buf[4096];
    ssize_t n = recv(sock, buf, sizeof buf, 0);
    if (n < 0) {
      err = errno;
    } else {
      struct nlmsghdr *reply = (struct nlmsghdr *)buf;
      if (!NLMSG_OK(reply, (size_t)n) || reply->nlmsg_type != NLMSG_ERROR) err = EPROTO;
      else err = -((struct nlmsgerr *)NLMSG_DATA(reply))->error;
    }
  }
  close(sock);
  return err;
}

static void execute(napi_env env, void *data) {
  (void)env;
  dellink_t *job = data;
  int err = rtnl_dellink(job->name);
  job->existed = err == 0;
  job->err = err == ENODEV ? 0 : err;
}

static void complete(napi_env env, napi_status status, void *data) {
  dellink_t *job = data;
  napi_value result;
  if (status == napi_ok && job->err == 0) {
    napi_get_boolean(env, job->existed, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    int err = status == napi_ok ? job->err : ECANCELED;
    napi_value code, msg;
    const char *errname = strerrorname_np(err);
    napi_create_string_utf8(env, errname != NULL ? errname : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &result);
    napi_value errnum, sys;
    napi_create_int32(env, err, &errnum);
    napi_create_string_utf8(env, "RTM_DELLINK", NAPI_AUTO_LENGTH, &sys);
    napi_set_named_property(env, result, "errno", errnum);
    napi_set_named_property(env, result, "syscall", sys);
    napi_reject_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

napi_value js_delete_link(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1], promise, resource;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  dellink_t *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], job->name, IFNAMSIZ, &len) != napi_ok || len == 0 ||
      len >= IFNAMSIZ || strlen(job->name) != len) {
    free(job);
    napi_throw_type_error(env, NULL, "expected an interface name of 1 to 15 bytes");
    return NULL;
  }
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "ovn_multinet.deleteLink", NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(env, NULL, resource, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}
